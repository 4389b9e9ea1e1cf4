"""The blocker grouping as it was read before the report had to be quick (issue 18).

A frozen copy of :func:`console.domain.insight.blockers.groups` as first written, step
by step and with no shortcut, on the same cue tables: the quick reading must give the
same groups on any text (``tests/test_insight_blockers_quick.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.domain.insight.blockers import (
    _AMOUNT,
    _ASKING_VERBS,
    _BODY,
    _BUDGET,
    _CLAUSE,
    _FUZZY,
    _KNOWN,
    _LENGTHS,
    _REQUESTS,
    _SENTENCE,
    _TABLE,
    EMOJI_PROBLEMS,
    FUZZY_MIN,
    NEGATION_REACH,
    NEGATORS,
    NOT_TYPOS,
    TROUBLE,
    TROUBLE_EMOJI,
    TROUBLE_IN,
    YIELDS_TO,
    CueKind,
    Group,
    _Cue,
    _deletions,
)
from console.domain.moderation import fold
from console.domain.questions import plain_asks, plain_text

_DIGIT = re.compile(r"\d")


def _split_words(plain: str) -> list[str]:
    return re.findall(r"\w+", plain.replace("'", "").replace("\u2019", ""))


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


@dataclass(frozen=True, slots=True)
class _Match:
    cue: _Cue
    start: int


def _matches(words: list[str]) -> list[_Match]:
    """Cues in the clause, leftmost and longest first, never overlapping."""
    found: list[_Match] = []
    index = 0
    while index < len(words):
        for length in _LENGTHS.get(words[index], ()):
            cue = _TABLE.get(tuple(words[index : index + length]))
            if cue is not None:
                found.append(_Match(cue, index))
                index += length
                break
        else:
            index += 1
    return found


class _Sentence:
    """A sentence of a comment, asked only once whether it is a question, and only when
    a clause of it names a matter (most chat names none, and asking costs most)."""

    def __init__(self, text: str, ending: str) -> None:
        self.text = text
        self._asks: bool | None = True if "?" in ending else None
        self.sour = not TROUBLE_EMOJI.isdisjoint(text + ending)

    def asks(self, clause: str, words: list[str]) -> bool:
        if self._asks is None:
            self._asks = _asks(self.text, _split_words(self.text))
        return self._asks or _asks(clause, words)


def _asks(clause: str, words: list[str]) -> bool:
    """Does the plain ``clause`` (its ``words``) ask? The queue's rule, or a request."""
    return bool(words) and (
        words[0] in _ASKING_VERBS or bool(_REQUESTS.intersection(words)) or plain_asks(clause)
    )


def _clause_groups(clause: str, sentence: _Sentence) -> set[Group]:
    said = _split_words(clause)
    words = [_as_cue(word) for word in said]
    matches = _matches(words)
    extra: list[tuple[Group, CueKind]] = []
    if _DIGIT.search(clause):
        if _AMOUNT.search(clause):
            extra.append(("price", "qualifier"))
        if _BUDGET.search(clause):
            extra.append(("price", "problem"))
        if _BODY.search(clause):
            extra.append(("size", "subject"))
    extra += [(group, "problem") for emoji, group in EMOJI_PROBLEMS.items() if emoji in clause]
    cues = [(m.cue.group, m.cue.kind, m.start) for m in matches] + [
        (group, kind, -1) for group, kind in extra
    ]
    if not cues:
        return set()

    asks = sentence.asks(clause, said)
    covered = {i for m in matches for i in range(m.start, m.start + m.cue.length)}
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


def groups(text: str) -> frozenset[Group]:
    """The blocker groups a comment raises (empty for praise, chatter, a purchase made).

    Cached: a show's chat repeats itself ("sold out", "price?", "link pls").
    """
    raised: set[Group] = set()
    pieces = _SENTENCE.split(plain_text(text))
    for index in range(0, len(pieces), 2):
        if not pieces[index].strip():
            continue
        sentence = _Sentence(pieces[index], pieces[index + 1] if index + 1 < len(pieces) else "")
        for clause in _CLAUSE.split(sentence.text):
            if clause.strip():
                raised |= _clause_groups(clause, sentence)
    return frozenset(raised)
