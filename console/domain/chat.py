"""Chat rules: what a comment or a display name may be, and how fast one may post.

Pure functions and small state machines; the hub feeds them data and the current time
and applies the decision, so every rule is tested without sockets or clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

MAX_COMMENT_CHARS = 500
MAX_NAME_CHARS = 40


class ChatRuleError(ValueError):
    """A comment or name breaks a rule; the message tells the viewer what to change."""


#: Every character that steers the direction of the text around it: the embeddings and
#: overrides (U+202A-U+202E), the isolates (U+2066-U+2069) and the marks (U+200E,
#: U+200F, U+061C). One viewer's unclosed U+202E would otherwise flip the rest of every
#: line their text appears in ("\u202eMallory just bought" reads "thguob tsuj yrollaM"),
#: and a lone mark can move the punctuation of the text beside it. Hebrew and Arabic
#: still read right without them: the page shows each piece of user text isolated
#: (``<bdi>``), and the Unicode algorithm orders the letters inside.
BIDI_CONTROLS: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_NO_BIDI: Final = dict.fromkeys(map(ord, BIDI_CONTROLS))
#: What :func:`_fold` does in one pass over the text: direction controls dropped, other
#: control characters and line separators spaced (a comment is folded on every reading).
_FOLDED: Final = {
    **dict.fromkeys([*range(0x20), 0x7F, 0x2028, 0x2029], " "),
    **_NO_BIDI,
}


def strip_bidi(text: str) -> str:
    """The text without :data:`BIDI_CONTROLS`; everything else, line breaks too, kept.

    For text that keeps its lines (a product description); chat text goes through
    :func:`clean_comment` or :func:`clean_name`, which strip these as well.
    """
    return text.translate(_NO_BIDI)


def _fold(text: str) -> str:
    """Fold control characters and runs of white space into single spaces.

    Line breaks in a one-line chat would let one viewer push everyone's history off
    screen, and control characters can reorder or hide text in other viewers' pages
    (the direction controls are dropped, not spaced: one inside a word hides nothing).
    """
    return " ".join(text.translate(_FOLDED).split())


def clean_comment(text: str) -> str:
    """Return the comment as it will be stored and shown, or raise :class:`ChatRuleError`."""
    folded = _fold(text)
    if not folded:
        raise ChatRuleError("The comment is empty; type something before sending.")
    if len(folded) > MAX_COMMENT_CHARS:
        raise ChatRuleError(
            f"The comment has {len(folded)} characters; the limit is {MAX_COMMENT_CHARS}. "
            "Shorten it or split it in two."
        )
    return folded


def clean_name(name: str) -> str:
    """Return the display name as it will be shown, or raise :class:`ChatRuleError`."""
    folded = _fold(name)
    if not folded:
        raise ChatRuleError("The display name is empty; choose a name to chat.")
    if len(folded) > MAX_NAME_CHARS:
        raise ChatRuleError(
            f"The display name has {len(folded)} characters; the limit is {MAX_NAME_CHARS}."
        )
    return folded


@dataclass(slots=True)
class RateLimiter:
    """A token bucket: ``burst`` posts at once, then ``rate`` posts per second.

    ``allow`` returns 0.0 when the post may go, else the seconds to wait, so the hub can
    tell the viewer exactly when they may post again.
    """

    rate: float
    burst: float
    _tokens: float = field(init=False)
    _last: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._tokens = self.burst

    def allow(self, now: float) -> float:
        if self._last is not None:
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate
