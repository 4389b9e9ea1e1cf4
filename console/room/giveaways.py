"""The room's giveaway in the room core: a replica folded from its events, and decisions.

Each ``giveaway`` event (start, draw, cancel) carries the giveaway's whole public state and
each ``giveaway_entry`` one entrant with their name, so a hub that folds them holds the
giveaway as every hub does, entries taken through any hub included. The public state gives
way only to a later seq; an entry counts for the giveaway it names, so delivery that is
late, repeated, shuffled or restarted folds alike (giveaways never overlap in the log: the
next starts after the last is drawn or cancelled).

The seed is no part of the replica: the hub that starts a giveaway keeps it to itself
until the draw reveals it (:mod:`console.domain.giveaway`), so only that hub can draw and
the shell passes it in. The rules are the domain's; this module holds what each command
asks of them, in which order, and how a refusal reads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias, cast

from console import protocol
from console.domain import giveaway as rules
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    AddEntry,
    AnnounceGiveaway,
    Decision,
    LogGiveaway,
    Refuse,
)
from console.room.events import event_reader

#: The stored events the giveaway folds.
GiveawayEvent: TypeAlias = protocol.GiveawayState | protocol.GiveawayEntry

_read = event_reader(protocol.GiveawayState, protocol.GiveawayEntry)

#: What the draw says when this hub holds no seed for the open giveaway.
NO_SEED: Final = (
    "The hub restarted since this giveaway began and its seed is gone (it is never stored "
    "before the draw); cancel it and start another."
)


@dataclass(frozen=True, slots=True)
class Entrant:
    """What the shell knows of a viewer who asks to enter; the core reads no store."""

    viewer_id: str
    name: str
    #: They commented while this hub ran (``commented`` giveaways).
    commented: bool
    #: They bought during this show (``bought`` giveaways).
    bought: bool
    banned: bool


@dataclass(frozen=True, slots=True)
class GiveawayState:
    """The room's last giveaway as every hub holds it; values never change in place."""

    #: The last ``giveaway`` event by seq: the giveaway's start, draw or cancellation.
    last: protocol.GiveawayState | None = None
    #: The entries of that giveaway, and any of a later one whose start is still on its
    #: way, by (giveaway, viewer); each keeps the first entry's event.
    entries: Mapping[tuple[str, str], protocol.GiveawayEntry] = field(default_factory=dict)
    #: The domain's giveaway the events above make (derived, kept to be read cheaply).
    giveaway: rules.Giveaway | None = None

    def apply(self, event: GiveawayEvent) -> GiveawayState:
        """The giveaway after ``event``; itself when the event changes nothing it holds.

        The giveaway held is carried one event on when the event follows the ones it
        holds, as the feed brings them; otherwise it is made again from all of them.
        """
        held, last = self.giveaway, self.last
        match event:
            case protocol.GiveawayState():
                if last is not None and last.seq >= event.seq:
                    return self
                entries = {
                    key: entry
                    for key, entry in self.entries.items()
                    if entry.giveaway_id == event.giveaway_id or entry.seq > event.seq
                }
                end = _end_of(event)
                if held is not None and held.id == event.giveaway_id and held.status == "open":
                    giveaway = held if end is None else rules.apply(held, end)
                    return GiveawayState(event, entries, giveaway)
                return GiveawayState(event, entries, _giveaway_of(event, entries))
            case protocol.GiveawayEntry():
                key = (event.giveaway_id, event.viewer_id)
                known = self.entries.get(key)
                if (known is not None and known.seq <= event.seq) or _over(event, last):
                    return self
                entries = {**self.entries, key: event}
                if held is not None and held.id == event.giveaway_id and self._newest(event):
                    entered = rules.GiveawayEntered(event.giveaway_id, event.viewer_id, event.at)
                    return GiveawayState(last, entries, rules.apply(held, entered))
                return GiveawayState(last, entries, _giveaway_of(last, entries))
        return self

    def _newest(self, entry: protocol.GiveawayEntry) -> bool:
        """Whether ``entry`` comes after every entry of the giveaway held, so that it
        joins the end of the entrants as a fold in seq order puts it."""
        held = self.giveaway
        if held is None or not held.entrants:
            return True
        return self.entries[(held.id, held.entrants[-1])].seq < entry.seq

    @classmethod
    def from_events(
        cls, events: Iterable[GiveawayEvent], start: GiveawayState | None = None
    ) -> GiveawayState:
        """Fold ``events`` (any order, repeats allowed) onto ``start`` or no giveaway."""
        return functools.reduce(GiveawayState.apply, events, start or cls())

    def name_of(self, viewer_id: str) -> str:
        """The name the viewer entered the giveaway under; empty if they did not."""
        if self.giveaway is None:
            return ""
        entry = self.entries.get((self.giveaway.id, viewer_id))
        return entry.name if entry is not None else ""

    def current(self) -> protocol.GiveawayState | None:
        """The giveaway for a page or console that joins (``seq`` 0)."""
        if self.last is None or self.giveaway is None:
            return None
        return public_of(self, self.giveaway, self.last.why, self.last.at)

    def own_entry(self, viewer_id: str | None) -> protocol.GiveawayEntry | None:
        """The viewer's own entry, restated after ``welcome``."""
        giveaway = self.giveaway
        if giveaway is None or viewer_id is None or not giveaway.has_entered(viewer_id):
            return None
        return protocol.GiveawayEntry(
            seq=0,
            giveaway_id=giveaway.id,
            viewer_id=viewer_id,
            name=self.name_of(viewer_id),
            at=giveaway.starts,
        )


def _over(entry: protocol.GiveawayEntry, last: protocol.GiveawayState | None) -> bool:
    """An entry of a giveaway that ended before the one held: it no longer counts."""
    return last is not None and entry.giveaway_id != last.giveaway_id and entry.seq < last.seq


def public_of(
    state: GiveawayState, giveaway: rules.Giveaway, why: str, at: float
) -> protocol.GiveawayState:
    """``giveaway`` as everyone sees it, the winner named as they entered in ``state``."""
    drawn = giveaway.status == "drawn"
    return protocol.GiveawayState(
        seq=0,
        giveaway_id=giveaway.id,
        prize=giveaway.prize,
        eligibility=giveaway.eligibility,
        starts=giveaway.starts,
        ends=giveaway.ends,
        commitment=giveaway.commitment,
        status=giveaway.status,
        why=why,
        at=at,
        no_purchase_necessary=giveaway.no_purchase_necessary,
        keyword=giveaway.keyword,
        entrants=len(giveaway.entrants),
        seed=giveaway.seed if drawn else None,
        entries=sorted(set(giveaway.entrants)) if drawn else [],
        winner_id=giveaway.winner,
        winner=_entered_name(state, giveaway.id, giveaway.winner),
    )


def _entered_name(state: GiveawayState, giveaway_id: str, viewer_id: str | None) -> str | None:
    entry = state.entries.get((giveaway_id, viewer_id)) if viewer_id else None
    return entry.name if entry is not None else None


def _giveaway_of(
    last: protocol.GiveawayState | None,
    entries: Mapping[tuple[str, str], protocol.GiveawayEntry],
) -> rules.Giveaway | None:
    """The domain's giveaway from its last public event and its entries in seq order,
    through the domain's own events: :func:`console.domain.giveaway.apply` stays the one
    place a giveaway changes. Used when the hub starts and for an event out of order;
    the feed's events carry the giveaway held one event on (:meth:`GiveawayState.apply`)."""
    if last is None:
        return None
    started = rules.GiveawayStarted(
        giveaway_id=last.giveaway_id,
        prize=last.prize,
        eligibility=cast(rules.Eligibility, last.eligibility),
        keyword=last.keyword,
        starts=last.starts,
        ends=last.ends,
        commitment=last.commitment,
    )
    mine = sorted(
        (entry for entry in entries.values() if entry.giveaway_id == last.giveaway_id),
        key=lambda entry: entry.seq,
    )
    end = _end_of(last)
    return rules.replay(
        [
            started,
            *(rules.GiveawayEntered(e.giveaway_id, e.viewer_id, e.at) for e in mine),
            *([] if end is None else [end]),
        ]
    )


def _end_of(event: protocol.GiveawayState) -> rules.GiveawayDrawn | rules.GiveawayCancelled | None:
    """The domain's event for a draw or a cancellation; None for a start."""
    if event.status == "drawn" and event.seed:
        return rules.GiveawayDrawn(
            event.giveaway_id, event.seed, tuple(event.entries), event.winner_id, event.at
        )
    if event.status == "cancelled":
        return rules.GiveawayCancelled(event.giveaway_id, event.at)
    return None


def giveaway_event(body: bytes) -> GiveawayEvent | None:
    """The stored event ``body`` as the giveaway folds it; ``None`` for every other kind,
    told apart by their first bytes without decoding them."""
    return _read(body)


# ---------------------------------------------------------------- decisions


def _open(state: GiveawayState) -> rules.Giveaway | Refuse:
    if state.giveaway is None or state.giveaway.status != "open":
        return Refuse(ErrorCode.NOT_FOUND, "No giveaway is open.")
    return state.giveaway


def decide_start(
    command: protocol.StartGiveaway,
    state: GiveawayState,
    giveaway_id: str,
    seed: bytes,
    now: float,
) -> Decision:
    """The host opens a giveaway; ``giveaway_id`` and ``seed`` are the shell's randomness.

    One giveaway at a time: the open one is drawn or cancelled first.
    """
    if state.giveaway is not None and state.giveaway.status == "open":
        return Decision(
            Refuse(ErrorCode.CONFLICT, "A giveaway is open; draw or cancel it before the next.")
        )
    try:
        started = rules.start_giveaway(
            giveaway_id,
            command.prize,
            command.seconds,
            command.eligibility,
            seed,
            now,
            keyword=command.keyword,
        )
    except rules.GiveawayError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    opened = public_of(GiveawayState(), started.giveaway, "start", now)
    return Decision(Acknowledge(), (AnnounceGiveaway(opened),))


def decide_enter(
    entrant: Entrant, giveaway_id: str | None, state: GiveawayState, now: float
) -> Decision:
    """A viewer's button; ``giveaway_id`` is the one their page showed (None: the open one).

    Entering twice keeps the one entry: acknowledged, nothing stored.
    """
    giveaway = _open(state)
    if isinstance(giveaway, Refuse):
        return Decision(giveaway)
    if giveaway_id is not None and giveaway_id != giveaway.id:
        return Decision(Refuse(ErrorCode.INVALID, "That giveaway is over; enter the one shown."))
    try:
        entered = rules.enter(
            giveaway,
            entrant.viewer_id,
            now,
            commented=entrant.commented,
            bought=entrant.bought,
            banned=entrant.banned,
        )
    except rules.GiveawayError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    if not entered.events:
        return Decision(Acknowledge())
    entry = protocol.GiveawayEntry(
        seq=0, giveaway_id=giveaway.id, viewer_id=entrant.viewer_id, name=entrant.name, at=now
    )
    return Decision(Acknowledge(), (AddEntry(entry),))


def is_keyword_entry(text: str, state: GiveawayState, now: float) -> bool:
    """Whether a viewer's published comment asks to enter: it says the keyword of a
    giveaway open at ``now``. Then :func:`decide_enter` decides it as the button; the
    shell asks first so that a comment that does not reads no facts from the store."""
    giveaway = state.giveaway
    return giveaway is not None and giveaway.is_open(now) and rules.is_entry(giveaway, text)


def decide_draw(state: GiveawayState, seed: bytes | None, now: float) -> Decision:
    """The host draws once entries have closed; ``seed`` is the one this hub kept for the
    open giveaway (None: it holds none). The mod log says who won and how to check it."""
    giveaway = _open(state)
    if isinstance(giveaway, Refuse):
        return Decision(giveaway)
    if seed is None:
        return Decision(Refuse(ErrorCode.INVALID, NO_SEED))
    try:
        drawn = rules.draw(giveaway, seed, now).giveaway
    except rules.GiveawayError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    winner = drawn.winner or ""
    name = state.name_of(winner) if winner else ""
    among = f"among {len(drawn.entrants)} entrant(s), seed {drawn.seed}"
    who = f"{name or winner} won" if winner else "no winner"
    text = f"{drawn.prize} ({drawn.id}): {who} {among}"
    return Decision(
        Acknowledge(),
        (
            AnnounceGiveaway(public_of(state, drawn, "draw", now)),
            LogGiveaway(winner, name, text, now),
        ),
    )


def decide_cancel(state: GiveawayState, now: float) -> Decision:
    """The host calls the open giveaway off; nobody wins, and the mod log says so."""
    giveaway = _open(state)
    if isinstance(giveaway, Refuse):
        return Decision(giveaway)
    cancelled = rules.cancel(giveaway, now).giveaway
    text = f"{giveaway.prize} ({giveaway.id}): cancelled, {len(giveaway.entrants)} entrant(s)"
    return Decision(
        Acknowledge(),
        (
            AnnounceGiveaway(public_of(state, cancelled, "cancel", now)),
            LogGiveaway("", "", text, now),
        ),
    )
