"""Blockers: what the chat says stands between viewers and paying, in six groups.

A host reads "too expensive", "ship to Canada?" and "my card got declined" one at a time
and cannot count them. :func:`groups` puts a comment in the groups it raises, from word
lists that say why, and :class:`BlockerBoard` counts them with a trend and an example.

How a comment is read (each step is a rule a person can check by hand):

1. The text is read once the way the question queue reads it
   (:func:`~console.domain.questions.plain_text`: case, accents, links and @mentions
   gone), split into sentences at ``? ! ;`` and full stops, and each sentence into
   clauses at commas, "and", "but", "also", "plus".
2. Each clause is matched against the cue lists below, longest phrase first and never
   overlapping, so "cash on delivery" is about paying and not delivery. A word of six
   letters or more one typing slip away from a cue ("shiping", "paymnet", "expencive")
   reads as the cue.
3. A cue is one of four kinds:

   - a **problem** says something is wrong on its own ("too expensive", "sold out",
     "declined", "scam", "runs small"): it counts, unless a "not", "no", "never" or
     "isn't" stands just before it ("not expensive at all") and the clause asks nothing;
   - a **subject** names the matter only ("shipping", "size", "paypal", "refund"): it
     counts in a question ("do you ship to Canada?"), or in a statement that says
     something is wrong (:data:`TROUBLE`: "shipping is crazy", "checkout isn't
     working", a 😭 or 🙄 in the sentence); "shipping was fast" raises nothing;
   - a **qualifier** is a subject that only qualifies another group's matter: "how
     much is shipping" is about shipping, "is Klarna available" about paying, "out of
     stock in my size" about stock (:data:`YIELDS_TO`);
   - **praise** ("great price", "looks expensive", "fits perfectly") cancels its group
     in a statement.

Questions are spotted by the queue's own rule (:func:`~console.domain.questions.is_question`).
The figures on the labelled comments of ``tests/data/blockers*.tsv`` are in the note of
the test that measures them (``tests/test_insight_blockers.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from console.domain.insight.events import Commented, Person, named
from console.domain.moderation import fold
from console.domain.profile import Consent
from console.domain.questions import plain_asks, plain_text, split_words

Group = Literal["price", "size", "shipping", "stock", "payment", "trust"]
GROUPS: Final[tuple[Group, ...]] = ("price", "size", "shipping", "stock", "payment", "trust")
LABELS: Final[Mapping[Group, str]] = {
    "price": "Price",
    "size": "Size and fit",
    "shipping": "Shipping and delivery",
    "stock": "Stock",
    "payment": "Payment",
    "trust": "Trust",
}

CueKind = Literal["problem", "subject", "qualifier", "praise"]


def _word_set(words: str) -> frozenset[str]:
    """A word set written as text, as the question queue writes its lists."""
    return frozenset(words.split())


def _phrases(text: str) -> tuple[str, ...]:
    """A cue list written as comma-separated phrases, so the lists below stay readable."""
    return tuple(phrase.strip() for phrase in text.split(",") if phrase.strip())


#: The cue lists. Phrases are matched on whole words, after the reading of step 1 (so
#: "can't" is written "cant", and "5'4" reads "54").
CUES: Final[Mapping[Group, Mapping[CueKind, tuple[str, ...]]]] = {
    "price": {
        "problem": _phrases(
            """expensive, too expensive, pricey, pricy, overpriced, over priced, steep,
            afford, cant afford, cannot afford, cheaper, not worth, isnt worth, elsewhere,
            rip off, ripoff, a lot of money, so much money, too much, more than the website,
            more than the site, more than online, out of my budget, half the price"""
        ),
        "subject": _phrases(
            """priced, pricing, discounted, code, codes, promo, promos, promo code, coupon,
            coupons, voucher, sale, on sale, deal, deals, bundle, cheapest, worth, budget,
            wallet, money, bucks, black friday, better price, sale price, normal price"""
        ),
        "qualifier": _phrases(
            "price, prices, cost, costs, how much, discount, discounts, fee, fees, extra"
        ),
        "praise": _phrases(
            """great price, good price, fair price, best price, great deal, good deal,
            amazing deal, great value, good value, steal, bargain, looks expensive,
            look expensive, worth it, so worth, affordable"""
        ),
    },
    "size": {
        "problem": _phrases(
            """runs small, run small, running small, runs big, run big, runs large,
            run large, too small, too big, too tight, too loose, too short, too long,
            too wide, too narrow, way too big, way too small, way too tight, doesnt fit,
            didnt fit, dont fit, wont fit, does not fit, did not fit, between sizes,
            tiny sizes, only goes up to, was huge, were huge, huge on me, swimming in it,
            all over the place"""
        ),
        "subject": _phrases(
            """sizing, sizeing, sized, siez, sise, fit, fits, fitting, fitted, true to size,
            tts, measurements, measurement, measure, size chart, size guide, chart, inseam,
            length, sleeves, waist, hips, chest, bust, shoulders, tall, height, petite,
            plus size, plus sizes, curvy, wide fit, wide feet, narrow, how long is it,
            how long are, goes up to, size up, size down, what size, which size,
            size comparison, lbs, kg, cm, inch, inches"""
        ),
        "qualifier": _phrases("size, sizes, my size, xxs, xs, xl, xxl, xxxl, 2xl, 3xl, 4xl"),
        "praise": _phrases(
            "fits perfectly, fit perfectly, perfect fit, fits great, fits like a glove"
        ),
    },
    "shipping": {
        "problem": _phrases(
            """takes forever, took forever, takes ages, took ages, never arrived, never came,
            never got, hasnt arrived, hasnt come, didnt arrive, didnt come, still waiting,
            no tracking, not shipping"""
        ),
        "subject": _phrases(
            """ship, ships, shipping, shipped, shipment, ship to, deliver, delivers, delivery,
            delivered, deliveries, arrive, arrives, arrival, arrived, in time, customs,
            duties, duty, import tax, pay customs, pay duties, pay duty, tracking, track,
            tracking number, courier, parcel, package, postage, post office, po box,
            po boxes, pick up, pickup, pick it up, collect, click and collect, international,
            internationally, express, next day, same day, how many days, how long for,
            how long does, how long will, be here by, get here, my order, dispatch,
            dispatched"""
        ),
        "qualifier": (),
        "praise": _phrases(
            """fast shipping, quick shipping, fast delivery, quick delivery, arrived quickly,
            came fast, lightning fast"""
        ),
    },
    "stock": {
        "problem": _phrases(
            """sold out, soldout, sells out, out of stock, out of stok, outta stock, no stock,
            unavailable, not available, isnt available, restock, missed it, gone already,
            all gone, none left, nothing left, no more, not in stock, cant select,
            cant add it, is it out"""
        ),
        "subject": _phrases(
            """stock, stok, in stock, back in stock, restocked, left, any left, left in stock,
            more coming, more of, any more, come back, comes back, last one, limited,
            limited edition, gone, out of the, still got, still have, have more"""
        ),
        "qualifier": _phrases("available, availability"),
        "praise": _phrases("before they sold out, before it sold out, got the last, got one"),
    },
    "payment": {
        "problem": _phrases(
            """declined, declines, decline, payment failed, failed payment, charged me twice,
            charged twice, double charged, insufficient funds, invalid, blocked, wont accept,
            doesnt accept, not accepting, crashing, crashes, crashed, freezes, frozen,
            nothing happens, error"""
        ),
        "subject": _phrases(
            """pay, paying, payment, payments, paid, card, cards, credit card, debit card, debit,
            gift card, paypal, apple pay, google pay, gpay, klarna, afterpay, affirm, venmo,
            amex, visa, mastercard, instalments, installments, instalment, installment,
            pay in 4, pay in 3, pay later, split the payment, checkout, pay button,
            cash on delivery, cash, bank, charged, charge, postcode, post code, zip code,
            zip, address field, form, transaction, other options"""
        ),
        "qualifier": (),
        "praise": _phrases("so smooth, so easy, super easy"),
    },
    "trust": {
        "problem": _phrases(
            """scam, scams, scammy, fake, fakes, sketchy, shady, knockoff, knock off, dupe,
            counterfeit, fell apart, falls apart, came apart, comes apart, comes loose,
            came loose, broke, broken, breaks, damaged, ripped, rips, torn, defective,
            looks cheap, look cheap, feels cheap, cheaply made, cheap quality, poor quality,
            bad quality, bad things, bad reviews, too good to be true, never buying again,
            never again, dont trust, not legit, better not"""
        ),
        "subject": _phrases(
            """legit, real brand, the real, authentic, authenticity, genuine, original, copy,
            quality, reviews, return, returns, return policy, returned, refund, refunds,
            exchange, exchanges, warranty, guarantee, guaranteed, safe, trust, trustworthy,
            how do i know, actually send, will it last, last long, durable, stitching,
            seams, zipper, customer service"""
        ),
        "qualifier": (),
        "praise": _phrases("great quality, amazing quality, love the quality, well made"),
    },
}

#: A qualifier yields when the clause also names one of these groups' matters: the
#: cost of shipping is a shipping question, "is pay in 4 available" is about paying,
#: and "out of stock in my size" about stock.
YIELDS_TO: Final[Mapping[Group, frozenset[Group]]] = {
    "price": frozenset({"shipping", "payment"}),
    "stock": frozenset({"shipping", "payment"}),
    "size": frozenset({"stock"}),
}

#: Words that say something is wrong, which make a subject count in a statement.
TROUBLE: Final = _word_set(
    """not no never cant cannot wont doesnt dont didnt isnt arent wasnt werent hasnt havent
    couldnt nope nothing error problem problems issue issues fail fails failed failing crazy
    insane ridiculous mad forever ages weird wrong bad terrible awful worst horrible still
    again keeps killed stuck sad sadly hate ugh help waiting wait too crying annoying
    typical sucks"""
)
#: Trouble only for one group: "weeks" is slow delivery, "tiny" a short size range,
#: "poor" and "meh" doubtful quality.
TROUBLE_IN: Final[Mapping[Group, frozenset[str]]] = {
    "shipping": frozenset({"weeks", "months", "late", "slow", "lost"}),
    "size": frozenset({"tiny", "huge", "only"}),
    "trust": frozenset({"poor", "meh", "cheap"}),
}
#: Emoji that turn a sentence sour or sarcastic ("sold out again 🙄").
TROUBLE_EMOJI: Final = frozenset("😭😢😩🙄😬😤😡😠🙃😞😔☹🙁💔😒😑")
#: Emoji that are a problem of their own.
EMOJI_PROBLEMS: Final[Mapping[str, Group]] = {"💸": "price"}
#: Words that, just before a problem cue, deny it ("not expensive", "never sold out").
NEGATORS: Final = _word_set("not no never isnt wasnt arent nothing hardly")
NEGATION_REACH: Final = 2

#: Prices written as amounts count as price subjects ("$120 for a tshirt??", "£90 is
#: mad"), and a budget as a price problem ("I'd pay 40 max", "if it was 30 I'd buy").
_AMOUNT: Final = re.compile(
    r"[$€£¥]\s?\d|\d\s?(?:[$€£]|eur|euros?|usd|dollars?|bucks|quid|pounds?|gbp)\b"
    r"|\d\s?%|\b\d+\s+for\s+\w+"
)
_BUDGET: Final = re.compile(
    r"\b\d+\s?max\b|\bmax\s?[$€£]?\d|\bif (?:it|they) (?:was|were) [$€£]?\d"
)
#: Heights and weights ("5'4", "130lbs") are sizing talk.
_BODY: Final = re.compile(r"\b\d['\u2019]\s?\d|\b\d+\s?(?:lbs?|kg|cm)\b")
#: What each of the three above needs somewhere, with no word boundary asked: a text it
#: does not find in has no amount, budget or body. Most chat with a digit has none (a
#: quantity, an order number), and this one search answers it in a fifth of the time.
_MAY_NUMBER: Final = re.compile(r"[$€£¥]|\d(?:\s?[$€£%a-z'\u2019]|\s+for)|max|if ")

#: A clause asks when the queue's rule says so, and also when it requests ("size chart
#: pls") or opens with a verb that asks ("does shipping cost extra", "is pay in 4
#: available"): the queue wants a subject after the verb, but a blocker needs no more.
_REQUESTS: Final = frozenset({"pls", "plz", "please"})
_ASKING_VERBS: Final = frozenset({"does", "do", "is", "are", "can", "could"})

_SENTENCE: Final = re.compile(r"([!?¿;…\n]+|\.(?=\s|$))")
_CLAUSE: Final = re.compile(r",|\b(?:and|but|also|plus)\b")

#: Real words one slip away from a cue, which must not read as it: "shopping" is not
#: "shipping", nor "custom" "customs".
NOT_TYPOS: Final = _word_set(
    """shopping shopped shopper shoppers custom expansive cracking trucking tacking racking
    siding sliding seizing stopping slipping skipping whipping chipping chipped sipping
    sipped tipped shaping sitting hitting fitter switching broker reclined crushing crushed
    crushes clashing trashing change changed changes changing playing"""
)
FUZZY_MIN: Final = 6


@dataclass(frozen=True, slots=True)
class _Cue:
    group: Group
    kind: CueKind
    length: int


def _cue_table() -> dict[tuple[str, ...], _Cue]:
    table: dict[tuple[str, ...], _Cue] = {}
    for group, kinds in CUES.items():
        for kind, phrases in kinds.items():
            for phrase in phrases:
                words = tuple(phrase.split())
                table[words] = _Cue(group, kind, len(words))
    return table


_TABLE: Final = _cue_table()
#: The lengths of the cues each word starts, longest first: most words start none.
_LENGTHS: Final[Mapping[str, tuple[int, ...]]] = {
    first: tuple(sorted({len(w) for w in _TABLE if w[0] == first}, reverse=True))
    for first in {words[0] for words in _TABLE}
}
_KNOWN: Final = frozenset(word for words in _TABLE for word in words) | TROUBLE | NEGATORS


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _fuzzy_index() -> dict[str, str]:
    """Each long one-word cue, and each form of it missing one letter, to the cue."""
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for words in _TABLE:
        if len(words) != 1 or len(words[0]) < FUZZY_MIN:
            continue
        cue = words[0]
        for form in {cue} | _deletions(cue):
            if index.get(form, cue) != cue:
                ambiguous.add(form)
            index[form] = cue
    return {form: cue for form, cue in index.items() if form not in ambiguous}


_FUZZY: Final = _fuzzy_index()


def _cues(said: list[str]) -> list[str]:
    """Each word as the cue it was meant to be (:func:`_as_cue`).

    Short words, known words and numbers are themselves, answered here without a call:
    a show's chat is mostly such words, and its numbers ("#1234", order numbers, prices)
    are nearly all different, so caching them would only push real typos out.
    """
    return [
        word if len(word) < FUZZY_MIN - 1 or word in _KNOWN or word.isdigit() else _as_cue(word)
        for word in said
    ]


@lru_cache(maxsize=20_000)
def _as_cue(token: str) -> str:
    """The cue a word was meant to be, when it is one slip (a letter missing, extra,
    swapped or wrong, after stretched letters are folded) from a long cue; else itself.

    A number ("#1234", "size 10") is itself: folding leaves digits alone when no letter
    is near, and every cue is letters, so it is answered without folding.
    """
    if token in _KNOWN or token in NOT_TYPOS or len(token) < FUZZY_MIN - 1 or token.isdigit():
        return token
    folded = fold(token)
    if folded in _KNOWN:
        return folded
    candidates = {_FUZZY[folded]} if folded in _FUZZY else set()
    candidates |= {_FUZZY[form] for form in _deletions(folded) if form in _FUZZY}
    return candidates.pop() if len(candidates) == 1 else token


def _matches(words: list[str]) -> list[tuple[_Cue, int]]:
    """Cues in the clause with where they start, leftmost and longest first, never
    overlapping."""
    found: list[tuple[_Cue, int]] = []
    index = 0
    count = len(words)
    while index < count:
        lengths = _LENGTHS.get(words[index])
        if lengths is not None:
            for length in lengths:
                cue = _TABLE.get(tuple(words[index : index + length]))
                if cue is not None:
                    found.append((cue, index))
                    index += length - 1
                    break
        index += 1
    return found


class _Sentence:
    """A sentence of a comment, asked only once whether it is a question, and only when
    a clause of it names a matter (most chat names none, and asking costs most)."""

    __slots__ = ("_asks", "sour", "text")

    def __init__(self, text: str, ending: str, emoji: bool) -> None:
        self.text = text
        self._asks: bool | None = True if "?" in ending else None
        self.sour = emoji and not (
            TROUBLE_EMOJI.isdisjoint(text) and TROUBLE_EMOJI.isdisjoint(ending)
        )

    def asks(self, clause: str, words: list[str]) -> bool:
        if self._asks is None:
            self._asks = _asks(self.text, split_words(self.text))
        return self._asks or _asks(clause, words)


def _asks(clause: str, words: list[str]) -> bool:
    """Does the plain ``clause`` (its ``words``) ask? The queue's rule, or a request."""
    return bool(words) and (
        words[0] in _ASKING_VERBS or bool(_REQUESTS.intersection(words)) or plain_asks(clause)
    )


def _extra_cues(clause: str, emoji: bool) -> list[tuple[Group, CueKind, int]]:
    """The cues that are not words: amounts, budgets, heights and weights, emoji. Most
    clauses have none, which one search (:data:`_MAY_NUMBER`) and :meth:`str.isascii` say."""
    extra: list[tuple[Group, CueKind, int]] = []
    if _MAY_NUMBER.search(clause):
        if _AMOUNT.search(clause):
            extra.append(("price", "qualifier", -1))
        if _BUDGET.search(clause):
            extra.append(("price", "problem", -1))
        if _BODY.search(clause):
            extra.append(("size", "subject", -1))
    if emoji:
        extra += [(group, "problem", -1) for e, group in EMOJI_PROBLEMS.items() if e in clause]
    return extra


def _clause_groups(clause: str, sentence: _Sentence, emoji: bool) -> set[Group]:
    said = split_words(clause)
    words = _cues(said)
    matches = _matches(words)
    extra = _extra_cues(clause, emoji)
    if not matches and not extra:
        return set()
    cues = [(cue.group, cue.kind, start) for cue, start in matches] + extra

    asks = sentence.asks(clause, said)
    covered = {i for cue, start in matches for i in range(start, start + cue.length)}
    free = {word for i, word in enumerate(words) if i not in covered}
    named_here = {group for group, kind, _ in cues if kind != "qualifier"}
    praised = {group for group, kind, _ in cues if kind == "praise"} if not asks else set()
    raised: set[Group] = set()
    for group, kind, start in cues:
        if group in praised or kind == "praise":
            continue
        if kind == "problem":
            before = words[max(0, start - NEGATION_REACH) : start] if start > 0 else []
            if asks or not NEGATORS.intersection(before):
                raised.add(group)
            continue
        if kind == "qualifier" and named_here & YIELDS_TO.get(group, frozenset()):
            continue
        troubled = sentence.sour or bool(free & (TROUBLE | TROUBLE_IN.get(group, frozenset())))
        if asks or troubled:
            raised.add(group)
    return raised


@lru_cache(maxsize=8_192)
def groups(text: str) -> frozenset[Group]:
    """The blocker groups a comment raises (empty for praise, chatter, a purchase made).

    Cached: a show's chat repeats itself ("sold out", "price?", "link pls").
    """
    raised: set[Group] = set()
    plain = plain_text(text)
    # Every emoji the rules read is outside ASCII, as most chat is not.
    emoji = not plain.isascii()
    pieces = _SENTENCE.split(plain)
    for index in range(0, len(pieces), 2):
        if not pieces[index].strip():
            continue
        ending = pieces[index + 1] if index + 1 < len(pieces) else ""
        sentence = _Sentence(pieces[index], ending, emoji)
        for clause in _CLAUSE.split(sentence.text):
            if clause.strip():
                raised |= _clause_groups(clause, sentence, emoji)
    return frozenset(raised)


# --- Counting during a show ----------------------------------------------------------

#: The trend compares the last five minutes with the five before: long enough that a
#: burst of three comments is not a trend, short enough to see a change within a segment.
TREND_SECONDS: Final = 300.0
#: "Rising" needs half as many again, and at least this many more comments.
TREND_RATIO: Final = 1.5
TREND_MIN_CHANGE: Final = 3
#: Comments kept per group for "the comments behind it".
KEPT_PER_GROUP: Final = 500

Trend = Literal["rising", "falling", "steady"]


@dataclass(frozen=True, slots=True)
class BlockerComment:
    """One comment behind a group; ``author`` is None unless they chose "Remember me"."""

    id: int
    ts: float
    text: str
    author: Person | None


@dataclass(frozen=True, slots=True)
class BlockerSummary:
    group: Group
    label: str
    #: Comments that raised the group, and the viewers who wrote them (everyone counts).
    comments: int
    viewers: int
    #: Comments in the last :data:`TREND_SECONDS`, and in the same span before.
    recent: int
    previous: int
    trend: Trend
    #: The latest comment's text, with no name: what the host reads out.
    example: str


def trend(recent: int, previous: int) -> Trend:
    """Rising or falling by half again and by :data:`TREND_MIN_CHANGE`; else steady."""
    if recent >= previous * TREND_RATIO and recent - previous >= TREND_MIN_CHANGE:
        return "rising"
    if previous >= recent * TREND_RATIO and previous - recent >= TREND_MIN_CHANGE:
        return "falling"
    return "steady"


class BlockerBoard:
    """Blocker groups of a show's comments, counted as they come.

    Each comment is read once (:func:`groups`); a comment seen again (a replayed event,
    same id) is not counted twice. Times are the events' own, so the live dock and the
    report of a past show count the same way.
    """

    def __init__(self, read: Callable[[str], frozenset[Group]] = groups) -> None:
        #: How a comment's groups are read: :func:`groups`, or a table of them read
        #: beforehand (the report reads a big show's on two cores).
        self._read = read
        self._seen: set[int] = set()
        self._counts: dict[Group, int] = dict.fromkeys(GROUPS, 0)
        self._viewers: dict[Group, set[str]] = {group: set() for group in GROUPS}
        self._times: dict[Group, list[float]] = {group: [] for group in GROUPS}
        self._kept: dict[Group, deque[Commented]] = {
            group: deque(maxlen=KEPT_PER_GROUP) for group in GROUPS
        }

    def add(self, comment: Commented) -> frozenset[Group] | None:
        """Count a comment; returns the groups it raised, or None when seen before."""
        if comment.id in self._seen:
            return None
        self._seen.add(comment.id)
        raised = self._read(comment.text)
        for group in raised:
            self._counts[group] += 1
            self._viewers[group].add(comment.viewer)
            insort(self._times[group], comment.ts)
            self._kept[group].append(comment)
        return raised

    def add_all(self, comments: Iterable[Commented]) -> None:
        for comment in comments:
            self.add(comment)

    def summary(self, now: float) -> list[BlockerSummary]:
        """The groups heard so far, the most heard first (ties in :data:`GROUPS` order)."""
        found = []
        for group in GROUPS:
            if not self._counts[group]:
                continue
            times = self._times[group]
            upto, split, since = (
                bisect_right(times, at)
                for at in (now, now - TREND_SECONDS, now - 2 * TREND_SECONDS)
            )
            recent, previous = upto - split, split - since
            found.append(
                BlockerSummary(
                    group,
                    LABELS[group],
                    self._counts[group],
                    len(self._viewers[group]),
                    recent,
                    previous,
                    trend(recent, previous),
                    self._kept[group][-1].text,
                )
            )
        return sorted(found, key=lambda s: (-s.comments, GROUPS.index(s.group)))

    def comments(self, group: Group, consent: Mapping[str, Consent]) -> list[BlockerComment]:
        """The comments behind a group, newest first, named only with the author's consent."""
        return [
            BlockerComment(c.id, c.ts, c.text, named(c.viewer, c.name, consent))
            for c in reversed(self._kept[group])
        ]
