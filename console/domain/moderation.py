"""Moderation policy: blocked terms, room modes, rate limits, and the verdict on a comment.

The hub asks :meth:`ChatPolicy.judge` about every viewer comment and applies the answer
(publish, hold for a moderator, or refuse with a reason). Everything here is pure: time
comes in as ``now``, so every rule, and the order in which the rules apply, is tested
without sockets or clocks.

Matching runs on :func:`fold`-ed text, so the usual ways around a word list (capitals,
accents, leetspeak, zero-width characters, stretched letters, spelling a word out letter
by letter) do not slip past it. Look-alike letters from other scripts (a Cyrillic letter
drawn like a Latin one) are not folded; a regex term can list them.
"""

from __future__ import annotations

import math
import re
import re._constants as sre_constants  # the parsed-pattern vocabulary (see _regex_cost)
import re._parser as sre_parser  # no public API parses a pattern; sre_parse is deprecated
import unicodedata
import warnings
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from publicsuffixlist import PublicSuffixList

from console.domain.chat import MAX_COMMENT_CHARS, _fold

TermKind = Literal["word", "wildcard", "regex"]
TermAction = Literal["hold", "delete"]
VerdictAction = Literal["publish", "hold", "refuse"]
#: What a viewer's text is for: a chat comment, an owner's review, the display name they
#: choose, or that name on the public "just bought" line of a sale.
TextKind = Literal["comment", "review", "name", "buyer_name"]
Rule = Literal[
    "banned",
    "timeout",
    "paused",
    "buyers_only",
    "slow",
    "emoji_only",
    "term",
    "link",
    "repeat",
    "flood",
    "new_chatter",
]

MAX_TERM_CHARS: Final = 200
MAX_TERMS: Final = 1_000
MAX_SLOW_SECONDS: Final = 3_600
#: Longest "new chatters are held" age: a day.
MAX_HOLD_NEW_MINUTES: Final = 24 * 60
MIN_TIMEOUT: Final = 1.0
MAX_TIMEOUT: Final = 14 * 86_400.0
MAX_REASON_CHARS: Final = 200

#: Buttons on the viewer card; the moderator may also type any length
#: :func:`check_timeout` accepts.
TIMEOUT_PRESETS: dict[str, float] = {"1 min": 60, "10 min": 600, "1 h": 3600, "24 h": 86400}

#: Posts remembered per viewer for the repeat and flood rules. A viewer inside the flood
#: limit cannot post more than this in the repeat window at the default settings.
HISTORY_PER_VIEWER: Final = 100
#: Viewers remembered at once; past this the least recently active is forgotten first,
#: so a show with a huge audience cannot grow the policy without bound. The same bounds
#: the addresses and, in slow mode, the room's recent texts.
MAX_TRACKED_VIEWERS: Final = 100_000
#: One network address chats as much as this many viewers under slow mode, the repeat
#: rule and the flood rule: a family, a shared flat, a small office or strangers on one
#: phone network's address chat side by side, and a script that makes a new viewer id
#: for every message gets no more than they do.
ADDRESS_SHARE: Final = 5
MAX_ADDRESS_SHARE: Final = 100


class ModerationRuleError(ValueError):
    """A moderation setting cannot be used; the message names it and says what to fix."""


@dataclass(frozen=True, slots=True)
class BlockedTerm:
    pattern: str
    kind: TermKind = "word"
    action: TermAction = "hold"


@dataclass(frozen=True, slots=True)
class RoomModes:
    slow_seconds: int = 0
    buyers_only: bool = False
    emoji_only: bool = False
    paused: bool = False
    #: "New chatters are held": comments of viewer ids the hub has known for less than
    #: this many minutes wait in the Held queue; 0 is off.
    hold_new_minutes: int = 0


@dataclass(frozen=True, slots=True)
class Author:
    viewer_id: str
    is_staff: bool = False
    is_buyer: bool = False
    banned: bool = False
    #: When the viewer's timeout ends (same clock as ``now``); ``None`` when not timed out.
    muted_until: float | None = None
    #: The network address the author writes from (see :mod:`console.domain.limits`);
    #: "" when unknown, and then nothing is counted per address.
    address: str = ""
    #: When the hub first knew this viewer id (same clock as ``now``); ``None`` for an
    #: id it meets only now. The "new chatters are held" mode reads it.
    first_seen: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    action: VerdictAction
    #: Words for the author and the moderation log, saying what to do next.
    reason: str = ""
    #: Which rule decided; stable for clients and tests (see :meth:`ChatPolicy.judge`).
    rule: str = ""
    #: Seconds until the author may post again (timeout, slow mode, flood).
    retry_after: float | None = None
    term: BlockedTerm | None = None
    #: A "delete" term matched: the comment is refused and the log records the deletion
    #: as made by the policy, not by a person.
    automatic_delete: bool = False


PUBLISH: Final = Verdict("publish")

#: The rules that judge each kind of text, in the order they apply. The chat's own
#: traffic rules (pause, buyers only, slow mode, emoji only, repeats, floods) are for
#: comments; what a viewer says to everyone, anywhere, passes the ban, the time-out, the
#: blocked terms and the link filter. A name is checked when it is chosen, where a ban
#: does not apply (a banned buyer still needs one to buy), and again on a sale's public
#: line, where it does.
RULES: Final[dict[TextKind, tuple[Rule, ...]]] = {
    "comment": get_args(Rule),
    "review": ("banned", "timeout", "term", "link"),
    "name": ("term", "link"),
    "buyer_name": ("banned", "timeout", "term", "link"),
}
#: How each kind is called in the sentences its author reads.
_NOUN: Final[dict[TextKind, str]] = {
    "comment": "message",
    "review": "review",
    "name": "name",
    "buyer_name": "name",
}


# --- Text folding -------------------------------------------------------------------

_DROPPED_CATEGORIES: Final = frozenset({"Mn", "Me", "Cf"})
_LEET: Final = str.maketrans("013457@$!|", "oieastasii")
#: A leet token: letters, digits and the symbols that stand in for letters.
_TOKEN: Final = re.compile(r"[\w@$!|]+")
_STRETCHED: Final = re.compile(r"([^\W\d_])\1{2,}")


def simplify(text: str) -> str:
    """Casefold, strip accents and invisible characters, and fold white space.

    This is the reading shared by moderation and the question queue: "Größe?" and
    "grosse ?" read alike, and a zero-width space cannot split a word in two.
    """
    if text.isascii():  # most chat: nothing to decompose or drop
        return _fold(text.lower())
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return _fold(kept)


def _unleet(token: str) -> str:
    """Read digits and symbols as letters, but only inside a word that has letters.

    So "sp4m", "$pam" and "sh!t" read as words while "size 10", "$5" and "wow!" stay
    as typed: a "!" or "|" at either end of a word is punctuation, not an "i".
    """
    if token.isalpha() or not any(ch.isalpha() for ch in token):
        return token
    head = len(token) - len(token.lstrip("!|"))
    tail = len(token.rstrip("!|"))
    if head >= tail:
        return token
    return token[:head] + token[head:tail].translate(_LEET) + token[tail:]


def fold(text: str) -> str:
    """The form blocked terms match against: "Sp4m", "SPAM" and "spåm" all fold to "spam".

    On top of :func:`simplify`: leetspeak inside words (0→o 1→i 3→e 4→a 5→s 7→t @→a $→s,
    and ! or | between letters → i), then letters repeated three or more times collapse
    to two. Two, not one, because English doubles letters ("free", "good", "ass") and
    never triples them: "freeeee" folds to "free" without "good" folding to "god". A
    stretched single letter ("spaaam") folds to "spaam"; a wildcard term ("spa*m")
    catches that. Folding twice changes nothing.
    """
    return _unleet_and_unstretch(simplify(text))


def _unleet_and_unstretch(simplified: str) -> str:
    unleeted = _TOKEN.sub(lambda m: _unleet(m.group()), simplified)
    return _STRETCHED.sub(r"\1\1", unleeted)


# --- Blocked terms ------------------------------------------------------------------

_WORD: Final = re.compile(r"\w+")
_GLOB_PART: Final = re.compile(r"[\w*?]+")

#: Two unguarded "repeat anything" parts (".*x.*y") take about 0.2 s on a 500-character
#: comment in the worst case here; a third took 19 s. The estimate below counts the
#: backtracking choices a pattern can make and refuses more than that.
_REGEX_BUDGET: Final = MAX_COMMENT_CHARS**3

_CATEGORY_CLASSES: Final = {
    "CATEGORY_DIGIT": re.compile(r"\d"),
    "CATEGORY_NOT_DIGIT": re.compile(r"\D"),
    "CATEGORY_SPACE": re.compile(r"\s"),
    "CATEGORY_NOT_SPACE": re.compile(r"\S"),
    "CATEGORY_WORD": re.compile(r"\w"),
    "CATEGORY_NOT_WORD": re.compile(r"\W"),
}
_REPEATS: Final = (
    sre_constants.MAX_REPEAT,
    sre_constants.MIN_REPEAT,
    sre_constants.POSSESSIVE_REPEAT,
)
_SINGLE_CHAR_OPS: Final = (
    sre_constants.LITERAL,
    sre_constants.NOT_LITERAL,
    sre_constants.ANY,
    sre_constants.IN,
)


class _SlowRegex(Exception):
    """Why a pattern could take too long; :func:`check_term` words it for the moderator."""


def _may_match_char(op: object, av: object, ch: str) -> bool:
    """Could the one-character item ``(op, av)`` match ``ch`` (either case)?

    Answers True when unsure, which only makes the cost estimate more careful.
    """
    cases = {ch, ch.lower(), ch.upper()}
    if op is sre_constants.LITERAL:
        return any(ord(c) == av for c in cases)
    if op is sre_constants.NOT_LITERAL:
        return any(ord(c) != av for c in cases)
    if op is sre_constants.IN and isinstance(av, list):
        if any(item_op is sre_constants.NEGATE for item_op, _ in av):
            return True
        return any(_in_item_matches(item_op, item_av, c) for item_op, item_av in av for c in cases)
    return True


def _in_item_matches(op: object, av: object, ch: str) -> bool:
    if op is sre_constants.LITERAL:
        return ord(ch) == av
    if op is sre_constants.RANGE and isinstance(av, tuple):
        return av[0] <= ord(ch) <= av[1]
    if op is sre_constants.CATEGORY:
        pattern = _CATEGORY_CLASSES.get(str(av))
        return pattern is None or pattern.fullmatch(ch) is not None
    return True


def _has_choice(items: sre_parser.SubPattern | list[tuple[object, object]]) -> bool:
    """Does the pattern contain a variable repeat or an alternation anywhere inside?"""
    for op, av in items:
        if op in _REPEATS and isinstance(av, tuple) and (av[0] != av[1] or _has_choice(av[2])):
            return True
        if op is sre_constants.BRANCH:
            return True
        for sub in _subpatterns(op, av):
            if _has_choice(sub):
                return True
    return False


def _subpatterns(op: object, av: object) -> list[sre_parser.SubPattern]:
    if op is sre_constants.SUBPATTERN and isinstance(av, tuple):
        return [av[3]]
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT) and isinstance(av, tuple):
        return [av[1]]
    if op is sre_constants.ATOMIC_GROUP:
        return [av]  # type: ignore[list-item]
    return []


def _regex_cost(items: sre_parser.SubPattern | list[tuple[object, object]]) -> int:
    """Estimate how many ways the pattern can try to match from one starting position.

    A repeat of one character followed by a literal it cannot match ("\\W*r") gives
    back no choices (the engine stops where the literal is), so "f\\W*r\\W*e\\W*e" is
    cheap; ".*x.*y" is not. Nested repetition ("(a+)+", "(a|ab)*") is exponential, and
    back-references are worse, so they are refused outright.
    """
    seq = list(items)
    total = 1
    for index, (op, av) in enumerate(seq):
        following = seq[index + 1] if index + 1 < len(seq) else None
        total = min(total * _item_cost(op, av, following), _REGEX_BUDGET + 1)
    return total


def _item_cost(op: object, av: object, following: tuple[object, object] | None) -> int:
    if op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
        raise _SlowRegex("back-references (\\1, (?(1)...)) are not allowed")
    if op is sre_constants.BRANCH and isinstance(av, tuple):
        return sum(_regex_cost(alternative) for alternative in av[1])
    if op in _REPEATS and isinstance(av, tuple):
        low, high, body = av
        if high > 1 and _has_choice(body):
            raise _SlowRegex(
                "it repeats a part that itself repeats or has alternatives, like (a+)+ "
                "or (a|ab)*; write the repeat once, e.g. a+ or (?:a|b)"
            )
        choices = min(high - low + 1, MAX_COMMENT_CHARS)
        body_items = list(body)
        guarded = (
            len(body_items) == 1
            and body_items[0][0] in _SINGLE_CHAR_OPS
            and following is not None
            and following[0] is sre_constants.LITERAL
            and not _may_match_char(*body_items[0], chr(following[1]))  # type: ignore[arg-type]
        )
        return _regex_cost(body) * (1 if guarded else choices)
    return math.prod(_regex_cost(sub) for sub in _subpatterns(op, av))


def _compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a moderator's regex, or raise :class:`ModerationRuleError` saying why not."""
    hint = "Fix it, or use a word or wildcard term."
    try:
        with warnings.catch_warnings():
            # re warns about ambiguous sets like "[[a]"; they are mistakes here.
            warnings.simplefilter("error")
            parsed = sre_parser.parse(pattern, re.IGNORECASE)
            compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ModerationRuleError(
            f"The regex {pattern!r} is not valid: {exc.msg}{where}. {hint}"
        ) from None
    except (Warning, OverflowError, RecursionError, ValueError) as exc:
        raise ModerationRuleError(f"The regex {pattern!r} is not valid: {exc}. {hint}") from None
    try:
        cost = MAX_COMMENT_CHARS * _regex_cost(parsed)
    except _SlowRegex as exc:
        raise ModerationRuleError(
            f"The regex {pattern!r} could take minutes to check one comment: {exc}."
        ) from None
    if cost > _REGEX_BUDGET:
        raise ModerationRuleError(
            f"The regex {pattern!r} could take too long to check a long comment: it has "
            "too many parts like .* or \\w+ that can match the same letters. Use at most "
            "two, or split it into several terms."
        )
    if compiled.search("") is not None:
        raise ModerationRuleError(
            f"The regex {pattern!r} matches an empty comment, so it would catch every "
            "comment; make at least one letter required."
        )
    return compiled


def check_term(term: BlockedTerm) -> BlockedTerm:
    """Return the term as it will be matched, or raise :class:`ModerationRuleError`.

    Word and wildcard patterns come back folded ("Sp4m" → "spam"), so the term list a
    moderator sees shows what is actually matched. Regexes are kept as typed; they run
    case-insensitively on folded text (lower case, no accents, leetspeak read as letters).
    """
    if term.kind not in get_args(TermKind):
        raise ModerationRuleError(
            f"Unknown kind of blocked term {term.kind!r}; use word, wildcard or regex."
        )
    if term.action not in get_args(TermAction):
        raise ModerationRuleError(
            f"Unknown action for a blocked term {term.action!r}; use hold or delete."
        )
    if not isinstance(term.pattern, str) or not term.pattern.strip():
        raise ModerationRuleError("The blocked term is empty; type a word, wildcard or regex.")
    raw = term.pattern.strip()
    if len(raw) > MAX_TERM_CHARS:
        raise ModerationRuleError(
            f"The blocked term has {len(raw)} characters; the limit is {MAX_TERM_CHARS}."
        )
    if term.kind == "regex":
        _compile_regex(raw)
        return BlockedTerm(raw, "regex", term.action)
    if term.kind == "word":
        words = _WORD.findall(fold(raw))
        if not words:
            raise ModerationRuleError(
                f"The word term {raw!r} has no letters or digits; use a regex term for symbols."
            )
        return BlockedTerm(" ".join(words), "word", term.action)
    parts = [re.sub(r"\*+", "*", part) for part in _GLOB_PART.findall(fold(raw))]
    if not parts or any(not _WORD.search(part) for part in parts):
        raise ModerationRuleError(
            f"The wildcard term {raw!r} needs a letter or digit in every word; "
            "* alone would match every word."
        )
    return BlockedTerm(" ".join(parts), "wildcard", term.action)


def _glob(pattern: str, word: str) -> bool:
    """Match one word against ``*`` (any run of letters) and ``?`` (one letter).

    The two-pointer walk takes at most len(pattern) x len(word) steps, where a regex
    with several ``\\w*`` could take far longer.
    """
    p = w = 0
    star = -1
    resume = 0
    while w < len(word):
        if p < len(pattern) and pattern[p] in ("?", word[w]):
            p += 1
            w += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, w
            p += 1
        elif star >= 0:
            resume += 1
            p, w = star + 1, resume
        else:
            return False
    return all(ch == "*" for ch in pattern[p:])


def _tokens(folded: str) -> list[list[str]]:
    """The word lists a term is matched against: the words, and, when a word is spelt
    out letter by letter ("s p a m", "f.r.e.e"), the words with those letters joined.

    Only runs of three or more single letters are joined, so "a" and "i" stay words.
    """
    words = _WORD.findall(folded)
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        joined.extend(["".join(run)] if len(run) >= 3 else run)
        run = []
        if word:
            joined.append(word)
    return [words, joined] if joined != words else [words]


class TermMatcher:
    """The blocked-term list, checked once and ready to match many comments."""

    def __init__(self, terms: Sequence[BlockedTerm]) -> None:
        if len(terms) > MAX_TERMS:
            raise ModerationRuleError(
                f"There are {len(terms)} blocked terms; the limit is {MAX_TERMS:,}. "
                "Remove some, or combine them with wildcards."
            )
        self._terms = tuple(check_term(term) for term in terms)
        self._words: dict[str, list[tuple[int, list[str]]]] = {}
        self._globs: list[tuple[int, list[str]]] = []
        self._regexes: list[tuple[int, re.Pattern[str]]] = []
        for index, term in enumerate(self._terms):
            if term.kind == "word":
                words = term.pattern.split(" ")
                self._words.setdefault(words[0], []).append((index, words))
            elif term.kind == "wildcard":
                self._globs.append((index, term.pattern.split(" ")))
            else:
                self._regexes.append((index, re.compile(term.pattern, re.IGNORECASE)))

    @property
    def terms(self) -> tuple[BlockedTerm, ...]:
        return self._terms

    def match(self, text: str) -> BlockedTerm | None:
        """The most severe term the text matches: a "delete" term beats a "hold" term,
        and among equals the first in the list wins. ``None`` when nothing matches.

        The text is folded and cut to :data:`MAX_COMMENT_CHARS` first, which bounds
        the time a regex may take.
        """
        return self._match_folded(fold(text))

    def _match_folded(self, folded: str) -> BlockedTerm | None:
        if not self._terms:
            return None
        folded = folded[:MAX_COMMENT_CHARS]
        hits: set[int] = set()
        for words in _tokens(folded):
            for start, word in enumerate(words):
                for index, term_words in self._words.get(word, ()):
                    if words[start : start + len(term_words)] == term_words:
                        hits.add(index)
                for index, globs in self._globs:
                    window = words[start : start + len(globs)]
                    if len(window) == len(globs) and all(map(_glob, globs, window)):
                        hits.add(index)
        hits.update(index for index, regex in self._regexes if regex.search(folded))
        if not hits:
            return None
        best = min(hits, key=lambda i: (self._terms[i].action != "delete", i))
        return self._terms[best]


# --- Modes, timeouts, reasons ---------------------------------------------------------


def check_modes(modes: RoomModes) -> RoomModes:
    """Return the modes unchanged, or raise :class:`ModerationRuleError` naming the bad one."""
    slow = modes.slow_seconds
    if not isinstance(slow, int) or isinstance(slow, bool) or not 0 <= slow <= MAX_SLOW_SECONDS:
        raise ModerationRuleError(
            f"Slow mode must be 1 to {MAX_SLOW_SECONDS} seconds (one hour), or 0 for off; "
            f"got {slow!r}."
        )
    for name in ("buyers_only", "emoji_only", "paused"):
        if not isinstance(getattr(modes, name), bool):
            raise ModerationRuleError(f"{name} must be on or off (true or false).")
    hold = modes.hold_new_minutes
    if not isinstance(hold, int) or isinstance(hold, bool) or not 0 <= hold <= MAX_HOLD_NEW_MINUTES:
        raise ModerationRuleError(
            f"Holding new chatters lasts 1 to {MAX_HOLD_NEW_MINUTES} minutes (a day), or 0 "
            f"for off; got {hold!r}."
        )
    return modes


def check_timeout(seconds: float) -> float:
    """Return a timeout length in seconds, or raise :class:`ModerationRuleError`."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT
    ):
        raise ModerationRuleError(
            f"A timeout must last from 1 second to 14 days; got {seconds!r}. Use a ban for longer."
        )
    return float(seconds)


def clean_reason(reason: str | None) -> str:
    """Return a moderator's reason as it will be logged and shown ("" for none)."""
    if reason is None:
        return ""
    folded = _fold(reason)
    if len(folded) > MAX_REASON_CHARS:
        raise ModerationRuleError(
            f"The reason has {len(folded)} characters; the limit is {MAX_REASON_CHARS}."
        )
    return folded


def format_wait(seconds: float) -> str:
    """Say a duration the way a person reads a countdown: "45 s", "1 min 20 s", "2 h"."""
    if not math.isfinite(seconds):
        return "a long time"
    total = max(0, math.ceil(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0 s"


# --- Links and emoji ------------------------------------------------------------------

#: Where domains end: the ICANN part of the Public Suffix List as the package ships it
#: (read from its own file once, here; it never goes to the network). Private suffixes
#: ("github.io") add nothing: they all end in an ICANN one.
_SUFFIXES: Final = PublicSuffixList(accept_unknown=False, only_icann=True)
#: Endings reserved for examples, tests and local networks (RFC 2606, 6761, 6762): not
#: on the list, since nobody may register under them, but links all the same.
_SPECIAL_USE: Final = frozenset({"example", "invalid", "local", "localhost", "test"})
#: Endings that are everyday words. A sentence whose space after the full stop is missing
#: ("loved it.it is soft", "wow.so cute") reads as a domain with one of these; the two
#: words are read as words when both are plain letters. A path ("spam.me/x"), a second
#: dot, a digit or a hyphen, or a one-letter name ("t.me") still makes it a link.
_WORD_ENDINGS: Final = frozenset(
    {"am", "as", "at", "be", "by", "do", "in", "is", "it", "me", "my", "no", "so", "to", "us"}
    | {"love", "new", "now", "top"}
)
_SCHEME: Final = re.compile(r"\b(?:https?|ftp)://|\bwww\.")
#: Names joined by dots, in any script ("shop.example.co.uk", "пример.рф"), then maybe
#: a path. Ideographic full stops count as dots, as they do in a browser's address bar.
_DOTTED: Final = re.compile(
    r"(?<![\w.-])((?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?)(/\S)?"
)
#: A domain spelt out: "spam dot example", "spam (dot) co [dot] uk".
_SPELT: Final = re.compile(r"\b[^\W_][\w-]*(?:\s*[(\[{]?\s*\bdot\b\s*[)\]}]?\s*[^\W\d_]+\b)+")
_SPELT_DOT: Final = re.compile(r"\s*[(\[{]?\s*\bdot\b\s*[)\]}]?\s*")


def _is_domain(name: str, path: bool) -> bool:
    """Whether dotted ``name`` (lower case) is a host a browser would go to."""
    labels = name.split(".")
    ending = labels[-1]
    if path and len(ending) >= 2 and ending.isalpha():
        return True
    if ending not in _SPECIAL_USE and _SUFFIXES.privatesuffix(name) is None:
        return False
    words = len(labels) == 2 and all(label.isalpha() for label in labels)
    return not (words and len(labels[0]) > 1 and ending in _WORD_ENDINGS)


def has_link(text: str) -> bool:
    """Whether the text names a place on the web: a scheme, "www.", a domain under a
    public suffix (bare, or with a path), or one spelt out with "dot".

    Reads simplified text (see :func:`simplify`), so capitals, accents and full-width
    letters do not hide a domain; the first :data:`MAX_COMMENT_CHARS` characters count.
    """
    plain = text[:MAX_COMMENT_CHARS].replace("\u3002", ".")
    if _SCHEME.search(plain):
        return True
    for match in _DOTTED.finditer(plain):
        if _is_domain(match.group(1), match.group(2) is not None):
            return True
    return any(
        _is_domain(_SPELT_DOT.sub(".", match.group()), False) for match in _SPELT.finditer(plain)
    )


_SHORTCODE: Final = re.compile(r":[a-z0-9_+-]{1,32}:", re.IGNORECASE)
#: Joiners, variation selectors and the keycap mark that hold emoji sequences together.
_EMOJI_GLUE: Final = frozenset("\u200d\ufe0e\ufe0f\u20e3")


def _is_emoji_char(ch: str) -> bool:
    if ch in _EMOJI_GLUE or "\U000e0020" <= ch <= "\U000e007f":  # flag tag letters
        return True
    # "So" is pictographs, symbols and flag letters; "Sk" holds the skin-tone modifiers.
    return unicodedata.category(ch) == "So" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def is_emoji_only(text: str) -> bool:
    """Emoji and white space only, with at least one emoji.

    Shortcodes like ":fire:" count as emoji (the viewer page may show them as one), and
    a digit, # or * counts only as the start of a keycap ("1️⃣").
    """
    rest = _SHORTCODE.sub("", text)
    found = len(rest) < len(text)
    for index, ch in enumerate(rest):
        if ch.isspace():
            continue
        if ch in "0123456789#*" and "\u20e3" in rest[index + 1 : index + 3]:
            found = True
            continue
        if not _is_emoji_char(ch):
            return False
        found = found or ch not in _EMOJI_GLUE
    return found


# --- The policy -----------------------------------------------------------------------


@dataclass(slots=True)
class _Viewer:
    """What the policy remembers about one viewer's, or one address's, recent accepted
    posts."""

    posts: deque[tuple[float, str]]
    last_post: float


def _said(history: _Viewer | None, folded: str, now: float, window: float) -> int:
    if history is None:
        return 0
    return sum(1 for ts, key in history.posts if key == folded and now - ts < window)


def _wait_for(history: _Viewer | None, limit: int, window: float, now: float) -> float:
    """Seconds until ``history`` has fewer than ``limit`` posts in the last ``window``."""
    if history is None:
        return 0.0
    recent = sorted(ts for ts, _ in history.posts if now - ts < window)
    if len(recent) < limit:
        return 0.0
    return max(0.0, recent[len(recent) - limit] + window - now)


class ChatPolicy:
    """Decides what happens to each comment; the hub applies the :class:`Verdict`.

    Rules apply in this order, the first that objects decides: banned, timeout, paused,
    buyers only, slow mode, emoji only, blocked term, link, repeat, flood, new chatter.
    Staff always publish. Only "publish" and "hold" count as posts for slow mode, repeat
    and flood, so a refused comment never makes the wait longer.

    Slow mode, the repeat rule and the flood rule count each viewer id and also each
    author's address, which gets ``address_share`` viewers' allowance: a script that
    makes a new viewer id for every message still waits as its address waits. In slow
    mode the same text from anyone counts as one author's repeats, so copies sent under
    many ids and addresses are refused too.
    """

    def __init__(
        self,
        *,
        terms: Sequence[BlockedTerm] = (),
        modes: RoomModes = RoomModes(),  # frozen: one shared default is safe
        block_links: bool = True,
        repeat_limit: int = 3,
        repeat_window: float = 60.0,
        flood_limit: int = 8,
        flood_window: float = 10.0,
        address_share: int = ADDRESS_SHARE,
    ) -> None:
        for name, count in (("repeat_limit", repeat_limit), ("flood_limit", flood_limit)):
            if not 1 <= count <= HISTORY_PER_VIEWER:
                raise ModerationRuleError(f"{name} must be 1 to {HISTORY_PER_VIEWER}.")
        for name, window in (("repeat_window", repeat_window), ("flood_window", flood_window)):
            if not 0 < window <= 86_400:
                raise ModerationRuleError(f"{name} must be more than 0 and at most a day.")
        if not 1 <= address_share <= MAX_ADDRESS_SHARE:
            raise ModerationRuleError(f"address_share must be 1 to {MAX_ADDRESS_SHARE}.")
        self._matcher = TermMatcher(terms)
        self._modes = check_modes(modes)
        self._block_links = block_links
        self._repeat_limit = repeat_limit
        self._repeat_window = repeat_window
        self._flood_limit = flood_limit
        self._flood_window = flood_window
        self._share = address_share
        self._viewers: OrderedDict[str, _Viewer] = OrderedDict()
        self._addresses: OrderedDict[str, _Viewer] = OrderedDict()
        #: In slow mode, when each text was last posted (by anyone), oldest first.
        self._texts: OrderedDict[str, deque[float]] = OrderedDict()

    @property
    def terms(self) -> tuple[BlockedTerm, ...]:
        return self._matcher.terms

    @property
    def modes(self) -> RoomModes:
        return self._modes

    @property
    def address_share(self) -> int:
        """How many viewers' allowance one address has (see :data:`ADDRESS_SHARE`)."""
        return self._share

    @property
    def block_links(self) -> bool:
        """Hold comments with links for a moderator; a moderator may switch it off."""
        return self._block_links

    @block_links.setter
    def block_links(self, value: bool) -> None:
        self._block_links = bool(value)

    def set_terms(self, terms: Sequence[BlockedTerm]) -> None:
        """Replace the term list; on a bad term nothing changes and the error names it."""
        self._matcher = TermMatcher(terms)

    def set_modes(self, modes: RoomModes) -> None:
        self._modes = check_modes(modes)

    def forget(self, viewer_id: str) -> None:
        """Drop what the policy remembers about a viewer (they left, or were unbanned).

        Their address keeps its count: a fresh start for one viewer is not one for the
        network they write from.
        """
        self._viewers.pop(viewer_id, None)

    def tracked_viewers(self) -> int:
        """How many viewers the policy remembers; for tests and the hub's health page."""
        return len(self._viewers)

    def tracked_addresses(self) -> int:
        """How many addresses the policy remembers; for tests."""
        return len(self._addresses)

    def slow_wait(self, viewer_id: str, now: float, address: str = "") -> float:
        """Seconds before the viewer may post under slow mode (0 when they may): the
        longer of their own wait and their address's."""
        return max(self._own_slow_wait(viewer_id, now), self._address_slow_wait(address, now))

    def _own_slow_wait(self, viewer_id: str, now: float) -> float:
        slow = self._modes.slow_seconds
        viewer = self._viewers.get(viewer_id)
        if not slow or viewer is None:
            return 0.0
        return min(float(slow), max(0.0, viewer.last_post + slow - now))

    def _address_slow_wait(self, address: str, now: float) -> float:
        slow = self._modes.slow_seconds
        if not slow or not address:
            return 0.0
        return _wait_for(self._addresses.get(address), self._share, slow, now)

    def judge(self, author: Author, text: str, now: float, kind: TextKind = "comment") -> Verdict:
        """Decide what happens to ``text`` of ``kind`` from ``author`` at time ``now``.

        This is the one judge of viewer text: comments, reviews and display names all
        come here, and :data:`RULES` says which rules each kind passes. ``rule`` names
        the rule that decided ("banned", "timeout", "paused", "buyers_only", "slow",
        "emoji_only", "term", "link", "repeat", "flood", "new_chatter"), or is "" when
        the text is published. A name cannot wait in the Held queue, so where a comment
        would be held, a name is refused and its author asked for another.
        """
        if author.is_staff:
            return PUBLISH
        self._prune(now)
        plain = simplify(text)
        folded = _unleet_and_unstretch(plain)
        verdict = self._first_objection(author, text, plain, folded, now, kind)
        if kind in ("name", "buyer_name") and verdict.action == "hold":
            verdict = Verdict("refuse", verdict.reason, verdict.rule, term=verdict.term)
        if kind == "comment" and verdict.action != "refuse":
            self._record(author, folded, now)
        return verdict

    def _first_objection(
        self, author: Author, text: str, plain: str, folded: str, now: float, kind: TextKind
    ) -> Verdict:
        """The verdict of the first rule that objects; ``plain`` is the simplified text
        (links are read on it, since folding turns "$" into "s"), ``folded`` the folded."""
        rules = RULES[kind]
        noun = _NOUN[kind]
        named = kind in ("name", "buyer_name")
        chat = kind == "comment"
        if "banned" in rules and author.banned:
            what = "chat" if chat else f"post a {noun}"
            return Verdict("refuse", f"You can't {what} in this room.", "banned")
        if "timeout" in rules and author.muted_until is not None and author.muted_until > now:
            wait = author.muted_until - now
            what = "chat" if chat else f"post a {noun}"
            return Verdict(
                "refuse",
                f"You're timed out; you can {what} again in {format_wait(wait)}.",
                "timeout",
                retry_after=wait,
            )
        modes = self._modes
        if "paused" in rules and modes.paused:
            return Verdict("refuse", "Chat is paused by the moderators; try again soon.", "paused")
        if "buyers_only" in rules and modes.buyers_only and not author.is_buyer:
            return Verdict(
                "refuse",
                "Only buyers can chat right now; buy from the show to join in.",
                "buyers_only",
            )
        if "slow" in rules:
            slow = self._slow_objection(author, now)
            if slow is not None:
                return slow
        if "emoji_only" in rules and modes.emoji_only and not is_emoji_only(text):
            return Verdict("refuse", "Emoji-only mode is on: send emoji only.", "emoji_only")
        term = self._matcher._match_folded(folded) if "term" in rules else None
        if term is not None and named:
            return Verdict(
                "refuse", "That name contains a blocked word; choose another.", "term", term=term
            )
        if term is not None and term.action == "delete":
            return Verdict(
                "refuse",
                f"Your {noun} was removed: it contains a blocked word.",
                "term",
                term=term,
                automatic_delete=True,
            )
        if term is not None:
            return Verdict("hold", f"Your {noun} is waiting for a moderator.", "term", term=term)
        if "link" in rules and self._block_links and has_link(plain):
            if named:
                return Verdict("refuse", "A name can't be a web address; choose another.", "link")
            reason = (
                "Links wait for a moderator before everyone sees them."
                if chat
                else f"A {noun} with a link waits for a moderator before everyone sees it."
            )
            return Verdict("hold", reason, "link")
        if not chat:
            return PUBLISH
        return self._rate_objection(author, folded, now) or self._new_chatter(author, now)

    def _slow_objection(self, author: Author, now: float) -> Verdict | None:
        slow = self._modes.slow_seconds
        own = self._own_slow_wait(author.viewer_id, now)
        shared = self._address_slow_wait(author.address, now)
        if own <= 0 and shared <= 0:
            return None
        if own >= shared:
            why = f"one message every {format_wait(slow)}"
        else:
            why = (
                f"{self._share} messages every {format_wait(slow)} for everyone on your "
                "network, and they were just sent"
            )
        wait = max(own, shared)
        return Verdict(
            "refuse",
            f"Slow mode is on: {why}; you can post again in {format_wait(wait)}.",
            "slow",
            retry_after=wait,
        )

    def _rate_objection(self, author: Author, folded: str, now: float) -> Verdict | None:
        viewer = self._viewers.get(author.viewer_id)
        address = self._addresses.get(author.address) if author.address else None
        window = self._repeat_window
        if _said(viewer, folded, now, window) >= self._repeat_limit:
            return Verdict("refuse", "You already said that; say something new.", "repeat")
        if _said(address, folded, now, window) >= self._repeat_limit * self._share:
            return Verdict(
                "refuse", "That was just said from your network; say something new.", "repeat"
            )
        if self._modes.slow_seconds and self._said_by_anyone(folded, now) >= self._repeat_limit:
            return Verdict("refuse", "Someone just said that; say something new.", "repeat")
        for history, limit, who in (
            (viewer, self._flood_limit, "You're"),
            (address, self._flood_limit * self._share, "Your network is"),
        ):
            wait = _wait_for(history, limit, self._flood_window, now)
            if wait > 0:
                return Verdict(
                    "refuse",
                    f"{who} sending messages too fast; wait {format_wait(wait)}.",
                    "flood",
                    retry_after=wait,
                )
        return None

    def _said_by_anyone(self, folded: str, now: float) -> int:
        times = self._texts.get(folded)
        return 0 if times is None else sum(1 for ts in times if now - ts < self._repeat_window)

    def _new_chatter(self, author: Author, now: float) -> Verdict:
        minutes = self._modes.hold_new_minutes
        if not minutes:
            return PUBLISH
        known = 0.0 if author.first_seen is None else now - author.first_seen
        if known >= minutes * 60:
            return PUBLISH
        return Verdict(
            "hold",
            "Your message is waiting for a moderator: new chatters' messages are checked "
            f"for their first {format_wait(minutes * 60)}.",
            "new_chatter",
        )

    def _record(self, author: Author, folded: str, now: float) -> None:
        cap = max(HISTORY_PER_VIEWER, self._repeat_limit, self._flood_limit)
        _remember(self._viewers, author.viewer_id, cap, folded, now)
        if author.address:
            _remember(self._addresses, author.address, cap * self._share, folded, now)
        if self._modes.slow_seconds:
            times = self._texts.get(folded)
            if times is None:
                times = self._texts[folded] = deque(maxlen=self._repeat_limit)
                if len(self._texts) > MAX_TRACKED_VIEWERS:
                    self._texts.popitem(last=False)
            else:
                self._texts.move_to_end(folded)
            times.append(now)

    def _prune(self, now: float) -> None:
        """Forget viewers and addresses whose last post is older than every window that
        could use it, and texts older than the repeat window.

        Each is kept in order of its last post, so this stops at the first one still
        needed: the work is proportional to what it drops.
        """
        horizon = max(self._repeat_window, self._flood_window, self._modes.slow_seconds)
        for remembered in (self._viewers, self._addresses):
            while remembered:
                key, history = next(iter(remembered.items()))
                if now - history.last_post <= horizon:
                    break
                del remembered[key]
        while self._texts:
            text, times = next(iter(self._texts.items()))
            if now - times[-1] <= self._repeat_window:
                break
            del self._texts[text]


def _remember(
    remembered: OrderedDict[str, _Viewer], key: str, cap: int, folded: str, now: float
) -> None:
    history = remembered.get(key)
    if history is None:
        history = remembered[key] = _Viewer(deque(maxlen=cap), now)
        if len(remembered) > MAX_TRACKED_VIEWERS:
            remembered.popitem(last=False)
    else:
        remembered.move_to_end(key)
    history.posts.append((now, folded))
    history.last_post = now
