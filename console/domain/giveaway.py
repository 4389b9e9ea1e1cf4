"""Giveaways: a prize, a few minutes to enter, and a draw that anyone can check.

Fairness is checkable, not promised. The hub draws a random seed when the giveaway
starts (``secrets.token_bytes(32)``, in the shell: nothing here makes randomness) and
publishes only its SHA-256, the *commitment*. At the draw it reveals the seed; the winner
then follows from the seed and the list of entrants by the rule below, so the viewer page
(or anybody with the two) can recompute it, and can check that the seed is the one
committed to before anybody entered. The host cannot pick the winner: changing the seed
after the start breaks the commitment, and changing the entrants changes the list that
everyone sees at the draw.

The winner rule, written for the page's ``crypto.subtle.digest("SHA-256", ...)``:

1. ``entries``: the entrants' viewer ids, each once, sorted by character code (viewer
   ids are ASCII, so JavaScript's default ``sort()`` gives the same order as Python's).
2. ``digest = SHA-256(seed + b"\\n" + "\\n".join(entries).encode("utf-8"))``: the seed's
   bytes, one newline byte, the ids joined by newlines.
3. ``index = int.from_bytes(digest, "big") % len(entries)``: in JavaScript,
   ``BigInt("0x" + hex(digest)) % BigInt(entries.length)``. With 256 bits against a
   list of at most millions, every entrant's chance differs from the others' by less
   than 2^-200.
4. ``winner = entries[index]``; no entrants, no winner.

The shell keeps the seed to itself between start and draw (the log's start event carries
only the commitment); every other change is an event that :func:`replay` turns back into
the same :class:`Giveaway`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from console.domain.chat import strip_bidi
from console.domain.moderation import simplify
from console.errors import ShopcastError

__all__ = [
    "MAX_GIVEAWAY_SECONDS",
    "MAX_PRIZE_CHARS",
    "MIN_GIVEAWAY_SECONDS",
    "SEED_BYTES",
    "Eligibility",
    "Giveaway",
    "GiveawayCancelled",
    "GiveawayDecision",
    "GiveawayDrawn",
    "GiveawayEntered",
    "GiveawayError",
    "GiveawayEvent",
    "GiveawayStarted",
    "NotEligibleError",
    "apply",
    "cancel",
    "commitment_of",
    "draw",
    "enter",
    "is_entry",
    "replay",
    "seconds_left",
    "start_giveaway",
    "winner_of",
]

#: Who may enter: anybody watching, viewers who commented during this show, or buyers of
#: this show (then a purchase is necessary, and the page must not say otherwise).
Eligibility = Literal["everyone", "commented", "bought"]
_ELIGIBILITIES: Final = get_args(Eligibility)

#: Live giveaways run while the host talks about the prize: five minutes at most.
MAX_GIVEAWAY_SECONDS: Final = 300
#: Shorter, viewers a few seconds behind the stream cannot enter in time.
MIN_GIVEAWAY_SECONDS: Final = 10
#: The seed's length: what ``secrets.token_bytes(32)`` gives, and SHA-256's own width,
#: so the seed cannot be guessed from its commitment by trying seeds.
SEED_BYTES: Final = 32
#: The prize fits on one line of the giveaway card.
MAX_PRIZE_CHARS: Final = 120
MAX_KEYWORD_CHARS: Final = 30
_KEYWORD: Final = re.compile(r"[^\W_]+")


class GiveawayError(ShopcastError):
    """A giveaway cannot start, take an entry, or be drawn as asked; the message says why
    and what to do."""


class NotEligibleError(GiveawayError):
    """The viewer may not enter this giveaway (banned, or not a commenter or buyer)."""


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class GiveawayStarted:
    """A giveaway opened; ``commitment`` is the hex SHA-256 of the seed kept back."""

    giveaway_id: str
    prize: str
    eligibility: Eligibility
    keyword: str | None
    starts: float
    ends: float
    commitment: str


@dataclass(frozen=True, slots=True)
class GiveawayEntered:
    giveaway_id: str
    viewer_id: str
    at: float


@dataclass(frozen=True, slots=True)
class GiveawayDrawn:
    """The draw: the seed revealed (hex), the sorted entries it was drawn from, and the
    winner (None without entries), so the page can check all three."""

    giveaway_id: str
    seed: str
    entries: tuple[str, ...]
    winner: str | None
    at: float


@dataclass(frozen=True, slots=True)
class GiveawayCancelled:
    giveaway_id: str
    at: float


GiveawayEvent = GiveawayStarted | GiveawayEntered | GiveawayDrawn | GiveawayCancelled


# ---------------------------------------------------------------- the state


@dataclass(frozen=True, slots=True)
class Giveaway:
    """One giveaway, from its start to its draw (or cancellation)."""

    id: str
    prize: str
    eligibility: Eligibility
    #: A word that enters a viewer who comments it; None: only the page's button enters.
    keyword: str | None
    starts: float
    ends: float
    commitment: str
    #: Who entered, in the order they did (the draw sorts them).
    entrants: tuple[str, ...] = ()
    status: Literal["open", "drawn", "cancelled"] = "open"
    #: Revealed at the draw (hex).
    seed: str | None = None
    winner: str | None = None
    _entered: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    @property
    def no_purchase_necessary(self) -> bool:
        """Shown on the giveaway card whenever entering does not require buying."""
        return self.eligibility != "bought"

    def has_entered(self, viewer_id: str) -> bool:
        return viewer_id in self._entered

    def is_open(self, now: float) -> bool:
        """Entries count until ``ends`` (the end instant is already closed)."""
        return self.status == "open" and self.starts <= now < self.ends


@dataclass(frozen=True, slots=True)
class GiveawayDecision:
    """The giveaway after a decision, and the events to log that make it."""

    giveaway: Giveaway
    events: tuple[GiveawayEvent, ...]


def apply(giveaway: Giveaway | None, event: GiveawayEvent) -> Giveaway:
    """The giveaway after one event: the only place it changes, so replay agrees."""
    if isinstance(event, GiveawayStarted):
        return Giveaway(
            id=event.giveaway_id,
            prize=event.prize,
            eligibility=event.eligibility,
            keyword=event.keyword,
            starts=event.starts,
            ends=event.ends,
            commitment=event.commitment,
        )
    if giveaway is None or giveaway.id != event.giveaway_id:
        raise GiveawayError(f"event {event!r} is for another giveaway than {giveaway!r}")
    match event:
        case GiveawayEntered(viewer_id=viewer_id):
            return dataclasses.replace(
                giveaway,
                entrants=(*giveaway.entrants, viewer_id),
                _entered=giveaway._entered | {viewer_id},
            )
        case GiveawayDrawn(seed=seed, winner=winner):
            return dataclasses.replace(giveaway, status="drawn", seed=seed, winner=winner)
        case GiveawayCancelled():
            return dataclasses.replace(giveaway, status="cancelled")
    raise TypeError(f"not a giveaway event: {event!r}")


def replay(events: Iterable[GiveawayEvent]) -> Giveaway | None:
    """The giveaway the logged ``events`` lead to; None before one started."""
    giveaway: Giveaway | None = None
    for event in events:
        giveaway = apply(giveaway, event)
    return giveaway


def _decided(giveaway: Giveaway | None, *events: GiveawayEvent) -> GiveawayDecision:
    state = giveaway
    for event in events:
        state = apply(state, event)
    assert state is not None
    return GiveawayDecision(state, events)


# ---------------------------------------------------------------- the rule


def commitment_of(seed: bytes) -> str:
    """What is published at the start: the seed's SHA-256, in hex."""
    return hashlib.sha256(seed).hexdigest()


def winner_of(seed: bytes, entrants: Iterable[str]) -> str | None:
    """The winner by the rule in this module's docstring; None without entrants."""
    entries = sorted(set(entrants))
    if not entries:
        return None
    digest = hashlib.sha256(seed + b"\n" + "\n".join(entries).encode("utf-8")).digest()
    return entries[int.from_bytes(digest, "big") % len(entries)]


# ---------------------------------------------------------------- decisions


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise GiveawayError(
            f"The seed must be {SEED_BYTES} random bytes (secrets.token_bytes({SEED_BYTES}))."
        )


def start_giveaway(
    giveaway_id: str,
    prize: str,
    seconds: float,
    eligibility: Eligibility,
    seed: bytes,
    now: float,
    keyword: str | None = None,
) -> GiveawayDecision:
    """Check what the host asked for and open the giveaway at ``now``.

    ``seed`` is the shell's secret for the draw; only its commitment goes in the event.
    """
    text = " ".join(strip_bidi(prize).split()) if isinstance(prize, str) else ""
    if not text:
        raise GiveawayError("Name the prize, e.g. 'Linen shirt in any size'.")
    if len(text) > MAX_PRIZE_CHARS:
        raise GiveawayError(
            f"The prize is {len(text)} characters; shorten it to {MAX_PRIZE_CHARS} so it "
            "fits on the giveaway card."
        )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not MIN_GIVEAWAY_SECONDS <= seconds <= MAX_GIVEAWAY_SECONDS
    ):
        raise GiveawayError(
            f"A giveaway runs from {MIN_GIVEAWAY_SECONDS} seconds to "
            f"{MAX_GIVEAWAY_SECONDS // 60} minutes; enter a duration in that range, not "
            f"{seconds!r}."
        )
    if eligibility not in _ELIGIBILITIES:
        raise GiveawayError(
            f"Choose who may enter: {', '.join(_ELIGIBILITIES)}; not {eligibility!r}."
        )
    _check_seed(seed)
    word = None
    if keyword is not None:
        words = _KEYWORD.findall(simplify(keyword))
        if len(words) != 1 or len(words[0]) > MAX_KEYWORD_CHARS:
            raise GiveawayError(
                f"The entry keyword is one word of up to {MAX_KEYWORD_CHARS} letters or "
                f"digits, such as 'WIN'; not {keyword!r}."
            )
        word = words[0]
    started = GiveawayStarted(
        giveaway_id=giveaway_id,
        prize=text,
        eligibility=eligibility,
        keyword=word,
        starts=now,
        ends=now + seconds,
        commitment=commitment_of(seed),
    )
    return _decided(None, started)


def is_entry(giveaway: Giveaway, text: str) -> bool:
    """Whether a comment enters: it says the keyword as a word ("WIN!", "win pls")."""
    return giveaway.keyword is not None and giveaway.keyword in _KEYWORD.findall(simplify(text))


def enter(
    giveaway: Giveaway,
    viewer_id: str,
    now: float,
    *,
    commented: bool,
    bought: bool,
    banned: bool,
) -> GiveawayDecision:
    """A viewer enters (button or keyword). The hub says what it knows of them: whether
    they commented and bought during this show, and whether they are banned.

    Entering twice keeps the one entry (no event).
    """
    if not giveaway.is_open(now):
        raise GiveawayError("This giveaway has closed; watch for the next one.")
    if banned:
        raise NotEligibleError("You cannot enter giveaways in this room.")
    if giveaway.eligibility == "commented" and not commented:
        raise NotEligibleError("This giveaway is for viewers who commented: comment, then enter.")
    if giveaway.eligibility == "bought" and not bought:
        raise NotEligibleError("This giveaway is for viewers who bought during this show.")
    if not viewer_id.isascii() or not viewer_id or "\n" in viewer_id:
        raise GiveawayError(f"{viewer_id!r} is not a viewer id; reload the page.")
    if giveaway.has_entered(viewer_id):
        return GiveawayDecision(giveaway, ())
    return _decided(giveaway, GiveawayEntered(giveaway.id, viewer_id, now))


def draw(giveaway: Giveaway, seed: bytes, now: float) -> GiveawayDecision:
    """Reveal the seed and draw the winner, once entries have closed at ``ends``.

    The seed must be the one committed to: a shell that lost or swapped it cannot draw.
    """
    if giveaway.status != "open":
        raise GiveawayError(f"This giveaway was already {giveaway.status}.")
    if now < giveaway.ends:
        raise GiveawayError(
            f"Entries are open for {giveaway.ends - now:.0f} more seconds; draw when they close."
        )
    _check_seed(seed)
    if commitment_of(seed) != giveaway.commitment:
        raise GiveawayError(
            "This is not the seed committed to when the giveaway started; the draw needs "
            "that seed. Cancel the giveaway if it is lost."
        )
    entries = tuple(sorted(set(giveaway.entrants)))
    drawn = GiveawayDrawn(giveaway.id, seed.hex(), entries, winner_of(seed, entries), now)
    return _decided(giveaway, drawn)


def cancel(giveaway: Giveaway, now: float) -> GiveawayDecision:
    """The host calls it off before the draw; nobody wins."""
    if giveaway.status != "open":
        raise GiveawayError(f"This giveaway was already {giveaway.status}.")
    return _decided(giveaway, GiveawayCancelled(giveaway.id, now))


def seconds_left(giveaway: Giveaway, now: float) -> float:
    """What the countdown shows: 0 once entries have closed."""
    if giveaway.status != "open":
        return 0.0
    return max(0.0, giveaway.ends - max(now, giveaway.starts))
