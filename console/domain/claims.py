"""Comment to claim: reading "sold blue M" as a claim on one variant of the pinned product.

With claims on, every comment on the pinned product passes through :func:`read_claim`,
which answers one of three things:

- :class:`ClaimRequest`: the comment names one variant (and a quantity); the hub
  reserves it (:mod:`console.domain.waitlist`).
- :class:`ClaimQuestion`: the comment asks to claim but does not say which variant, or
  names one the product does not have, or says more than a claim ("sold my old M on
  vinted"); the viewer gets a question back with the comment to type. Never a guess: a
  wrong claim takes stock from somebody else and charges the viewer for what they did
  not want, a question costs one more comment.
- :data:`NOT_A_CLAIM`: ordinary chat ("it sold out so fast", "is M sold out?").

What counts as a claim is a claim word ("sold", "claim", and their forms in the languages
of our shows, or a weaker "mine" / "I'll take" that must stand alone with the variant)
that is not part of a sentence about something else: not "sold out", not a question,
not "it sold", not "my claim". Sizes and colours are matched against the product's own
variant values, in any case and with accents folded, through the usual ways of writing
them ("medium", "talla M", "Größe L", "x-large", "gray" for "Grey"); one typo is tolerated
in a longer word when it can only mean one value and is not a common word itself
("bleu", "terracota"; never "while" for White).

No I/O, no clock: the product comes in, a reading goes out.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from console.domain.catalogue import Product, Variant
from console.domain.checkout import MAX_QUANTITY
from console.domain.moderation import simplify

__all__ = [
    "NOT_A_CLAIM",
    "ClaimQuestion",
    "ClaimReading",
    "ClaimRequest",
    "NotAClaim",
    "read_claim",
]


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """The comment claims ``quantity`` units of the variant ``sku``."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ClaimQuestion:
    """The comment asks to claim, but the hub must ask back before it reserves anything.

    ``message`` is the sentence for the viewer, with the comment to type. ``option`` is the
    option asked about ("Colour"), None when the question is not about one option (a
    quantity, a comment that says more than a claim); ``choices`` are that option's values
    the viewer can pick from, or the example comments to type.
    """

    message: str
    option: str | None
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotAClaim:
    """Ordinary chat: the comment goes on to the chat and the question queue as usual."""


NOT_A_CLAIM: Final = NotAClaim()

ClaimReading = ClaimRequest | ClaimQuestion | NotAClaim


def _set(words: str) -> frozenset[str]:
    """A word set written as text, so the long lists below stay readable."""
    return frozenset(words.split())


# --- Claim words ------------------------------------------------------------------

#: Words that claim on their own, wherever the variant is written.
_STRONG: Final = _set(
    """sold claim claiming claimed vendido vendida verkauft vendu vendue venduto venduta
    verkocht"""
)
#: Past forms: after a subject or an auxiliary they tell a story ("it sold", "I sold
#: mine", "was claimed") instead of claiming.
_PAST: Final = _set("sold claimed vendido vendida verkauft vendu vendue venduto venduta verkocht")
#: Words before a past form that make it a story, not a claim.
_STORY_BEFORE: Final = _set(
    """i you u they we he she it its who that what which is are was were be been being
    got get gets has have had already all just almost nearly not never no dont didnt
    isnt wasnt arent werent havent hasnt wont cant cannot ist sind war wurde schon est
    ya fue"""
)
#: Words before "claim" that make it a noun ("my claim expired") or a refusal.
_NOUN_BEFORE: Final = _set(
    """my your the a his her our their this that no not never dont didnt cant cannot wont"""
)
#: Words after a claim word that make it a story: "sold out", "sold already", "sold by".
_STORY_AFTER: Final = _set("out already yet before by fast quick quickly again")
#: Claims that must stand alone with the variant: "mine M" claims, "mine arrived" does not.
_WEAK: Final[tuple[tuple[str, ...], ...]] = (
    ("mine",),
    ("ill", "take"),
    ("i", "will", "take"),
    ("i", "take"),
    ("ill", "have"),
    ("je", "prends"),
    ("ich", "nehme"),
    ("lo", "quiero"),
    ("la", "quiero"),
    ("me", "lo", "llevo"),
    ("me", "la", "llevo"),
    ("lo", "prendo"),
    ("la", "prendo"),
)
#: "Sold out" in the languages above: a comment with one of these is never a claim.
_SOLD_OUT: Final = _set(
    """soldout ausverkauft agotado agotada agotados agotadas epuise epuisee epuises esaurito
    esaurita esauriti uitverkocht"""
)
#: A comment that opens with one of these asks something ("is M sold out", "can I claim").
_ASKS: Final = _set(
    """is are was were did does do has have had how what whats when where who why which
    will would could can should any anyone anybody hay como cual cuando donde ist sind
    gibt wie wo wann combien quand"""
)

# --- Words that neither claim nor name a variant -----------------------------------

#: Politeness, pronouns, articles, "size"/"colour" in several languages, chat noise: a
#: claim may carry any number of these ("sold the blue one in M please!! 😍").
_NEUTRAL: Final = _set(
    """a an the one ones in of for to me my i im id ive and plus also too now asap pls
    please plz thx thanks thank ty you u it this that these those yes yay yas yass omg ok
    okay oh wow lol haha hehe love need want so x y e et und o or mine ill take get her him
    his hers
    size sizes sz talla taille pointure grosse groesse gr taglia maat rozmiar tamano razmer
    размер
    colour color colours colors farbe couleur colore kleur
    en de el la le les un une uno una ein eine einen einer im von por favor bitte svp
    sil vous plait grazie gracias danke merci hi hey hello girl babe hun sis pretty cute
    gorgeous"""
)

#: Common words that are never read as a typo of a variant value, though one letter
#: away from one: "while" is not White, "back" not Black, "alive" not Olive.
_NEVER_A_TYPO: Final = _set(
    """about above after again alive also back bake band bank black blank bleak blend
    blind block blood blow brow brown crown brand brave bread break bring broke cake
    call came care cash cast cold come cool could crew cute dark date deal dear does
    done door down each else even ever fast feather fine fire five four free from full
    gift give glad gold gone good great green greet grew half hand happy hard have head
    hear heart heather help here high hold home hope hour idea just keep kind know land
    large last late leather left less life like line live long look lose loss lost love
    made make many mean meet mind miss more most moral move much must name near need
    never next nice only open over part past pick plate please point post price pull
    quite rate read real rest ride right road rock sale same sand save says seal seen
    sell send shape short should show side sign since size slack slate slave small smoke
    some soon sort spoke stand start state stay steal steam steel step still stock stop
    store such sure take talk tall team tell than that their them then there these they
    thing think this those time tired tonight true try turn very wait walk want warm
    wash watch water wave wavy weather week well went were what when where which while
    whine white whole will wish with word work world would write year your"""
)

#: "2" and "4" written for "to" and "for" before a person ("sold M 4 my sister").
_FOR_TO: Final = _set("2 4")
_PEOPLE: Final = _set("me my u you her him us mom mum sis bff")
#: Number words a quantity may be written as ("sold two M").
_NUMBERS: Final[dict[str, int]] = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "zwei": 2,
    "drei": 3, "vier": 4, "funf": 5, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "twee": 2,
}  # fmt: skip
_QUANTITY: Final = re.compile(r"(?:x(\d{1,3})|(\d{1,3})(?:x|pcs|pc|pieces|piece|stk|units)?)")

# --- Ways of writing sizes and colours --------------------------------------------

#: Size words (compacted: "x-large" and "extra large" both read "xlarge") and the letter
#: size they mean; a variant value reading as the same size matches.
_SIZE_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("xxs", "2xs", "xxsmall"), "xxs"),
    **dict.fromkeys(("xs", "xsmall", "extrasmall", "xsm"), "xs"),
    **dict.fromkeys(
        ("s", "sm", "sml", "small", "klein", "kleine", "petit", "pequeno", "pequena"), "s"
    ),
    **dict.fromkeys(_set("m med medium mittel mediano mediana media medio moyen moyenne"), "m"),
    # Not "grosse": "Größe" is German for size.
    **dict.fromkeys(("l", "lg", "lrg", "large", "gross", "grande", "grand"), "l"),
    **dict.fromkeys(("xl", "xlarge", "extralarge", "xlg"), "xl"),
    **dict.fromkeys(("xxl", "2xl", "xxlarge"), "xxl"),
    **dict.fromkeys(("xxxl", "3xl", "xxxlarge"), "xxxl"),
}
#: Sizes written in two or three words ("x-large" reads as the words "x", "large").
_SIZE_PHRASES: Final[dict[tuple[str, ...], str]] = {
    ("extra", "small"): "xs", ("x", "small"): "xs", ("xx", "small"): "xxs",
    ("extra", "large"): "xl", ("x", "large"): "xl", ("xx", "large"): "xxl",
    ("extra", "extra", "large"): "xxl", ("xxx", "large"): "xxxl",
}  # fmt: skip
#: Colour words in the languages of our shows, read as the English colour.
_COLOUR_WORDS: Final[dict[str, str]] = {
    **{c: c for c in _set(
        """black white blue red green grey pink purple yellow orange brown beige navy cream
        ivory tan olive khaki gold silver sage sand camel burgundy""")},
    "gray": "grey", "negro": "black", "negra": "black", "schwarz": "black", "noir": "black",
    "noire": "black", "nero": "black", "nera": "black", "zwart": "black", "blanco": "white",
    "blanca": "white", "weiss": "white", "blanc": "white", "blanche": "white",
    "bianco": "white", "bianca": "white", "wit": "white", "azul": "blue", "blau": "blue",
    "bleu": "blue", "blu": "blue", "blauw": "blue", "rojo": "red", "roja": "red",
    "rot": "red", "rouge": "red", "rosso": "red", "rossa": "red", "rood": "red",
    "verde": "green", "grun": "green", "vert": "green", "verte": "green", "groen": "green",
    "gris": "grey", "grau": "grey", "grigio": "grey", "grijs": "grey", "rosa": "pink",
    "marron": "brown", "braun": "brown", "marrone": "brown", "bruin": "brown",
    "marine": "navy", "marino": "navy",
}  # fmt: skip
#: The longest value, in words, matched as one phrase ("Amber & Smoke", "extra large").
_MAX_PHRASE: Final = 4
#: Unknown words a claim that opens or ends with its claim word may carry ("sold M for my
#: sister"); with more, the comment says something else too and the viewer is asked.
_MAX_UNKNOWN: Final = 1

# Apostrophes (straight, curly, grave, acute) go: "I'll" reads "ill", "it's" reads "its".
_APOSTROPHES: Final = str.maketrans("", "", "'\u2019`\u00b4")
# "M*2" and the multiplication sign (U+00D7) read as the x of "M x2".
_TIMES: Final = str.maketrans({"\u00d7": " x", "*": " x"})
_TOKEN: Final = re.compile(r"[^\W_]+")
_STRETCHED: Final = re.compile(r"(.)\1{2,}")
#: Question marks, the full-width one of CJK keyboards and Spanish's opening one.
_QUESTION_MARKS: Final = ("?", "\uff1f", "\u00bf")

Pair = tuple[str, str]
_Kind = Literal["claim", "neutral", "value", "quantity", "absent", "unknown"]


def _compact(text: str) -> str:
    """One form for a value however it is spaced or punctuated: "15 ml", "15ml" -> "15ml"."""
    return "".join(_TOKEN.findall(simplify(text)))


def _canon(compact: str) -> str | None:
    """What a size or colour word means ("talla mediana" -> "size:m"), None for others."""
    if compact in _SIZE_WORDS:
        return "size:" + _SIZE_WORDS[compact]
    if compact in _COLOUR_WORDS:
        return "colour:" + _COLOUR_WORDS[compact]
    return None


def _unstretch(token: str) -> str:
    """ "soooold", "pleaseee" -> "sold", "please"; only for claim and filler words, since
    "xxxl" is a size."""
    return _STRETCHED.sub(r"\1", token)


def _near(typed: str, word: str) -> bool:
    """One typo away: a letter missing, extra or wrong, or two neighbours swapped.

    A four-letter word only forgives a swap ("sgae") or a doubled letter ("navvy"): one
    wrong letter in four is too often another word ("same", "sale" for Sage).
    """
    if typed == word:
        return False
    if len(typed) == len(word) + 1 and any(
        typed[i] == typed[i + 1] and typed[:i] + typed[i + 1 :] == word
        for i in range(len(typed) - 1)
    ):
        return True
    if len(typed) == len(word):
        diff = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i, j = diff
            return typed[i] == word[j] and typed[j] == word[i]
        return len(diff) == 1 and len(word) >= 5
    if len(word) < 5 or abs(len(typed) - len(word)) != 1:
        return False
    short, long = sorted((typed, word), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True, slots=True)
class _Index:
    """A product's option values, looked up every way a comment may write them."""

    product: Product
    #: Option names in the product's order, without the "Default" of a one-variant product.
    options: tuple[str, ...]
    #: Compacted whole value -> the (option, value) pairs written that way.
    whole: dict[str, frozenset[Pair]]
    #: The words of a value of several words ("sea", "salt") -> pairs.
    phrases: dict[tuple[str, ...], frozenset[Pair]]
    #: Size or colour meaning of a whole value -> pairs.
    meaning: dict[str, frozenset[Pair]]
    #: One word of a longer value ("grey" of "Heather Grey"), or its meaning -> pairs.
    words: dict[str, frozenset[Pair]]
    #: Words a typo or a beginning ("terra") may stand for -> pairs.
    spellings: dict[str, frozenset[Pair]] = field(default_factory=dict)
    longest: int = 1


def _grouped(entries: Iterable[tuple[str, Pair]]) -> dict[str, frozenset[Pair]]:
    found: dict[str, set[Pair]] = {}
    for key, pair in entries:
        found.setdefault(key, set()).add(pair)
    return {key: frozenset(pairs) for key, pairs in found.items()}


@functools.lru_cache(maxsize=64)
def _index(product: Product) -> _Index:
    options = tuple(name for name in product.options if name != "Default")
    pairs = list(
        dict.fromkeys(
            (name, value) for v in product.variants for name, value in v.options if name in options
        )
    )
    whole = _grouped((_compact(value), pair) for pair in pairs for value in [pair[1]])
    phrases = _grouped(
        (words, pair)
        for pair in pairs
        if len(words := tuple(_TOKEN.findall(simplify(pair[1])))) > 1
    )
    meaning = _grouped((m, pair) for pair in pairs if (m := _canon(_compact(pair[1]))) is not None)
    word_entries: list[tuple[str, Pair]] = []
    for pair in pairs:
        words = _TOKEN.findall(simplify(pair[1]))
        if len(words) < 2:
            continue
        for word in words:
            word_entries.append((word, pair))
            if (m := _canon(word)) is not None:
                word_entries.append((m, pair))
    spelling_entries = [
        (word, pair)
        for pair in pairs
        for word in _TOKEN.findall(simplify(pair[1]))
        if word.isalpha() and len(word) >= 4
    ]
    # "meduim" is a typo of "medium", which the product writes "M".
    spelling_entries += [
        (word, pair)
        for word in (*_SIZE_WORDS, *_COLOUR_WORDS)
        if word.isalpha() and len(word) >= 4
        for pair in meaning.get(_canon(word) or "", ())
    ]
    longest = max((len(words) for words in phrases), default=1)
    return _Index(
        product=product,
        options=options,
        whole=whole,
        phrases=phrases,
        meaning=meaning,
        words=_grouped(word_entries),
        spellings=_grouped(spelling_entries),
        longest=max(longest, 3),
    )


def _phrase(index: _Index, tokens: Sequence[str]) -> frozenset[Pair]:
    """The values a run of tokens writes out whole ("heather grey", "15ml", "gray").

    Words join only as the value writes them: "2 XL" is two XL, not a 2XL.
    """
    if len(tokens) == 1:
        token = tokens[0]
        meaning = _canon(token)
    else:
        key = tuple(tokens)
        if key in index.phrases:
            return index.phrases[key]
        token = ""
        meaning = "size:" + _SIZE_PHRASES[key] if key in _SIZE_PHRASES else None
    if token in index.whole:
        return index.whole[token]
    if meaning is not None and meaning in index.meaning:
        return index.meaning[meaning]
    return frozenset()


def _word(index: _Index, token: str) -> frozenset[Pair]:
    """The values a single word is part of ("grey" of Heather Grey), or a typo of."""
    if token in index.words:
        return index.words[token]
    meaning = _canon(token)
    if meaning is not None:
        return index.words.get(meaning, frozenset())
    if not token.isalpha() or len(token) < 3 or token in _NEVER_A_TYPO:
        return frozenset()
    found = frozenset(
        pair
        for word, pairs in index.spellings.items()
        if _near(token, word) or (len(token) >= 4 and word.startswith(token) and word != token)
        for pair in pairs
    )
    return found if len(found) == 1 else frozenset()


def _quantity(token: str) -> int | None:
    if token in _NUMBERS:
        return _NUMBERS[token]
    match = _QUANTITY.fullmatch(token)
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


@dataclass(frozen=True, slots=True)
class _ClaimWord:
    start: int
    end: int
    strong: bool


def _claim_word(tokens: Sequence[str]) -> _ClaimWord | None:
    """Where the comment says "sold" (or "claim", "mine", "I'll take"), if it does."""
    plain = [_unstretch(t) for t in tokens]
    for i, token in enumerate(plain):
        before = plain[i - 1] if i else ""
        after = plain[i + 1] if i + 1 < len(plain) else ""
        if token in _STRONG and after not in _STORY_AFTER:
            if token in _PAST and before in _STORY_BEFORE:
                continue
            if not token.startswith("claim") or before not in _NOUN_BEFORE:
                return _ClaimWord(i, i + 1, strong=True)
        for phrase in _WEAK:
            if tuple(plain[i : i + len(phrase)]) == phrase:
                return _ClaimWord(i, i + len(phrase), strong=False)
    return None


def _choices_text(values: Sequence[str]) -> str:
    """ "White or Sage", "S, M, L or XL"."""
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + " or " + values[-1]


def _example(values: Iterable[str]) -> str:
    return '"sold ' + " ".join(values) + '"'


def _ask_option(
    index: _Index,
    option: str,
    choices: Sequence[str],
    named: dict[str, str],
    lead: str = "",
) -> ClaimQuestion:
    """Ask which value of ``option``, with the comment to type for each choice."""
    rest = [value for name, value in named.items() if name != option]
    examples = [_example([choice, *rest]) for choice in choices[:3]]
    message = (
        f"{lead}Which {option.lower()} would you like: {_choices_text(list(choices))}? "
        f"Comment {' or '.join(examples)}."
    )
    return ClaimQuestion(message=message, option=option, choices=tuple(choices))


def _distinct(variants: Iterable[Variant], option: str) -> list[str]:
    return list(dict.fromkeys(v.option(option) for v in variants))


def _resolve(
    index: _Index, groups: list[frozenset[Pair]], absent: list[str], quantity: int
) -> ClaimRequest | ClaimQuestion:
    """The one variant the named values leave, or the question that narrows them."""
    product = index.product
    named: dict[str, list[str]] = {}
    for group in groups:
        if len(group) == 1:
            ((option, value),) = group
            if value not in named.setdefault(option, []):
                named[option].append(value)
    for option in index.options:
        values = named.get(option, [])
        if len(values) > 1:
            return _ask_option(
                index,
                option,
                values,
                {},
                lead=f"One {option.lower()} per comment, please. ",
            )
    single = {option: values[0] for option, values in named.items()}

    def fits(variant: Variant, skip: str | None = None) -> bool:
        return all(
            any(variant.option(option) == value for option, value in group if option != skip)
            or all(option == skip for option, _ in group)
            for group in groups
        )

    left = [v for v in product.variants if fits(v)]
    # "navy blue", "sage green": a second colour word beside a value named is a qualifier.
    absent = [word for word in absent if _option_of(index, word) not in single]
    if absent:
        lead = f"{product.title} has no {absent[0].title()}. "
        option = _option_of(index, absent[0])
        if option is not None and option not in single and len(_distinct(left, option)) > 1:
            return _ask_option(index, option, _distinct(left, option), single, lead)
        if len(left) == 1 and index.options:
            example = _example(v for _, v in left[0].options)
            return ClaimQuestion(f"{lead}To claim it, comment {example}.", None, (example,))
        for option in index.options:
            if option not in single and len(_distinct(left, option)) > 1:
                return _ask_option(index, option, _distinct(left, option), single, lead)
        return ClaimQuestion(f'{lead}To claim it, comment "sold".', None, ('"sold"',))
    if not left:
        for option in reversed(index.options):
            if option in single:
                others = [v for v in product.variants if fits(v, skip=option)]
                if others:
                    combo = " ".join(single.values())
                    lead = f"There is no {combo} {product.title}. "
                    rest = {k: v for k, v in single.items() if k != option}
                    return _ask_option(index, option, _distinct(others, option), rest, lead)
        return ClaimQuestion(
            f"There is no such {product.title}; comment one of its variants.", None, ()
        )
    if len(left) == 1:
        return ClaimRequest(left[0].sku, quantity)
    for option in index.options:
        values = _distinct(left, option)
        if len(values) > 1:
            return _ask_option(index, option, values, single)
    raise AssertionError(f"two variants of {product.id!r} share every option value")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(simplify(text).translate(_APOSTROPHES).translate(_TIMES))


def read_claim(text: str, product: Product) -> ClaimReading:
    """Read a comment on ``product`` (the pinned one) as a claim, a question, or chat."""
    tokens = _tokens(text)
    if not tokens or any(_unstretch(t) in _SOLD_OUT for t in tokens):
        return NOT_A_CLAIM
    if any(_unstretch(a) == "sold" and b == "out" for a, b in itertools.pairwise(tokens)):
        return NOT_A_CLAIM
    claim = _claim_word(tokens)
    if claim is None:
        return NOT_A_CLAIM
    index = _index(product)
    kinds: list[_Kind] = ["neutral"] * len(tokens)
    groups: list[frozenset[Pair]] = []
    numbered: list[tuple[int, frozenset[Pair]]] = []
    quantities: list[int] = []
    absent: list[str] = []
    i = 0
    while i < len(tokens):
        if claim.start <= i < claim.end:
            kinds[i] = "claim"
            i += 1
            continue
        for n in range(min(index.longest, _MAX_PHRASE, len(tokens) - i), 0, -1):
            run = tokens[i : i + n]
            if claim.start < i + n and i < claim.end:
                continue
            pairs = _phrase(index, run)
            if pairs:
                groups.append(pairs)
                if n == 1 and run[0].isdigit():
                    numbered.append((i, pairs))
                kinds[i : i + n] = ["value"] * n
                i += n
                break
        else:
            if tokens[i] in _FOR_TO and tokens[i + 1 : i + 2] and tokens[i + 1] in _PEOPLE:
                kinds[i] = "neutral"  # "sold M 4 my sister": for, not four
            else:
                kinds[i] = _classify(index, tokens[i], groups, quantities, absent)
            i += 1
    # "sold 2 4" with sizes 2, 4 and 6: the first number is how many, the second the size.
    if len(numbered) >= 2 and not quantities:
        first_at, first = numbered[0]
        options = {option for option, _ in first}
        if any({o for o, _ in pairs} == options for _, pairs in numbered[1:]):
            value = int(tokens[first_at])
            if 1 <= value <= MAX_QUANTITY:
                groups.remove(first)
                quantities.append(value)
                kinds[first_at] = "quantity"
    meaningful = [k for k, kind in enumerate(kinds) if kind != "neutral"]
    opens = meaningful[0] == claim.start
    ends = meaningful[-1] == claim.end - 1
    if tokens[meaningful[0]] in _ASKS:
        return NOT_A_CLAIM
    if text.rstrip().endswith(_QUESTION_MARKS) and not opens:
        return NOT_A_CLAIM
    unknown = kinds.count("unknown")
    if unknown and (not claim.strong or not (opens or ends)):
        return NOT_A_CLAIM
    if unknown > _MAX_UNKNOWN:
        if not groups and not absent:
            return NOT_A_CLAIM
        return _confirm(index, groups)
    if len(set(quantities)) > 1:
        return ClaimQuestion(
            'How many would you like? Comment the number once, e.g. "sold 2".', None, ()
        )
    quantity = quantities[0] if quantities else 1
    if not 1 <= quantity <= MAX_QUANTITY:
        return ClaimQuestion(
            f'You can claim 1 to {MAX_QUANTITY} at a time; comment how many, e.g. "sold 2".',
            None,
            (),
        )
    return _resolve(index, groups, absent, quantity)


def _classify(
    index: _Index,
    token: str,
    groups: list[frozenset[Pair]],
    quantities: list[int],
    absent: list[str],
) -> _Kind:
    """What a token that writes out no whole value is: a quantity, filler, part of a
    value, a size or colour the product lacks, or an unknown word."""
    plain = _unstretch(token)
    if plain in _NEUTRAL or plain in _STRONG:
        return "neutral"
    pairs = _word(index, token)
    if pairs:
        groups.append(pairs)
        return "value"
    quantity = _quantity(token)
    if quantity is not None and (quantity <= MAX_QUANTITY or not _numbered(index)):
        quantities.append(quantity)
        return "quantity"
    if _canon(token) is not None or (token.isdigit() and _numbered(index)):
        absent.append(token)
        return "absent"
    return "unknown"


#: Option names that hold sizes or colours, for a product whose values do not tell
#: ("Strap", "Scent" hold neither; "Size" may hold 37 to 45).
_OPTION_NAMES: Final[dict[str, frozenset[str]]] = {
    "size": _set("size sizes talla taille pointure grosse groesse taglia maat rozmiar tamano"),
    "colour": _set("colour color colours colors farbe couleur colore kleur"),
}


def _option_of(index: _Index, word: str) -> str | None:
    """The product's option a size or colour word it lacks would belong to."""
    meaning = _canon(word)
    kind = meaning.split(":", 1)[0] if meaning is not None else "size"
    for option in index.options:
        if _compact(option) in _OPTION_NAMES[kind] or any(
            key.startswith(kind + ":") and any(o == option for o, _ in pairs)
            for key, pairs in index.meaning.items()
        ):
            return option
    return None


def _numbered(index: _Index) -> bool:
    """Whether some option is written in numbers (shoe sizes): then "46" names a size."""
    return any(key.isdigit() for key in index.whole)


def _confirm(index: _Index, groups: list[frozenset[Pair]]) -> ClaimQuestion:
    """Ask a comment that says more than a claim to say only the claim."""
    left = [
        v
        for v in index.product.variants
        if all(any(v.option(option) == value for option, value in g) for g in groups)
    ]
    if len(left) == 1 and index.options:
        example = _example(value for _, value in left[0].options)
        return ClaimQuestion(
            f"Would you like to claim {left[0].title}? Comment just {example}.",
            None,
            (example,),
        )
    return ClaimQuestion(
        'To claim, comment just "sold" with the size or colour, e.g. "sold M".', None, ()
    )
