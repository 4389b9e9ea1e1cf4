"""The room's chat state as a replica: the modes and the sanctions, folded from events.

Every hub of a show folds the same stored events (its own as it appends them, the
others' as the bus or the log brings them), so every hub judges by the same modes and
sanctions without reading the store again. Each part remembers the seq of the event
that set it and gives way only to a later one: the hub applies its own events before
the bus brings them back, and an older event arriving after a newer one (another hub's,
through the bus) must not undo it. So the fold is the same in any order and any number
of repeats, which a replica fed at least once needs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, TypeAlias

from console import protocol
from console.domain.moderation import RoomModes
from console.room.events import event_reader

#: The stored events the state folds: the modes, and the mod log's sanctions.
StateEvent: TypeAlias = protocol.Modes | protocol.ModEntry

SANCTIONS: Final = frozenset({"ban", "timeout", "unban"})

_read = event_reader(protocol.Modes, protocol.ModEntry)


@dataclass(frozen=True, slots=True)
class Sanction:
    """A viewer's standing as the last ban, time-out or unban left it.

    A lifted one stays (neither banned nor muted) with the seq of its unban, so that the
    ban it lifted cannot come back when that older event arrives late.
    """

    banned: bool
    #: When the time-out ends (the hub's clock); ``None`` when not timed out.
    muted_until: float | None
    reason: str
    #: The event that set it; for one read from the store, the last seq the hub had
    #: when it read it (every later event is folded on top).
    seq: int = 0

    def active(self, now: float) -> bool:
        """Whether the viewer is kept from posting at ``now``."""
        return self.banned or (self.muted_until is not None and self.muted_until > now)


@dataclass(frozen=True, slots=True)
class RoomState:
    """What the chat judges by that every hub holds alike; values never change in place."""

    modes: RoomModes = field(default_factory=RoomModes)
    #: The event that set the modes.
    modes_seq: int = 0
    sanctions: Mapping[str, Sanction] = field(default_factory=dict)

    def apply(self, event: StateEvent) -> RoomState:
        """The state after ``event``; itself when the event changes nothing here, or is
        older than what it would change."""
        match event:
            case protocol.Modes() if event.seq > self.modes_seq:
                return replace(self, modes=modes_of(event), modes_seq=event.seq)
            case protocol.ModEntry(action=action, viewer_id=viewer_id) if (
                action in SANCTIONS and viewer_id
            ):
                held = self.sanctions.get(viewer_id)
                if held is not None and held.seq >= event.seq:
                    return self
                sanction = Sanction(
                    banned=action == "ban",
                    muted_until=event.until if action == "timeout" else None,
                    reason=event.reason,
                    seq=event.seq,
                )
                return replace(self, sanctions={**self.sanctions, viewer_id: sanction})
        return self

    @classmethod
    def from_events(cls, events: Iterable[StateEvent], start: RoomState | None = None) -> RoomState:
        """Fold ``events`` (any order, repeats allowed) onto ``start`` or an empty room."""
        return functools.reduce(RoomState.apply, events, start or cls())

    def standing(self, viewer_id: str, now: float) -> Sanction | None:
        """The viewer's sanction while it keeps them from posting; ``None`` otherwise."""
        sanction = self.sanctions.get(viewer_id)
        return sanction if sanction is not None and sanction.active(now) else None


def state_event(body: bytes) -> StateEvent | None:
    """The stored event ``body`` as the state folds it; ``None`` for every other kind.

    Most of a show's events are comments: they are told apart by their first bytes,
    without decoding them.
    """
    return _read(body)


def modes_of(source: protocol.Modes | protocol.SetModes) -> RoomModes:
    """The chat modes a ``modes`` event, or the command (and stored setting) that set
    them, carries."""
    return RoomModes(
        slow_seconds=source.slow_seconds,
        buyers_only=source.buyers_only,
        emoji_only=source.emoji_only,
        paused=source.paused,
        hold_new_minutes=source.hold_new_minutes,
    )
