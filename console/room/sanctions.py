"""A moderator's time-out, ban or unban in the room core: a decision without I/O.

The command, the name the store knows the viewer by and the hub's time go in; out come
the sanction to store, what a ban does to the viewer's held comments, and the standing
their pages are told, on whichever hub they are.
"""

from __future__ import annotations

from typing import TypeAlias

from console import protocol
from console.domain.moderation import ModerationRuleError, check_timeout, clean_reason
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    Decision,
    DenyHeld,
    Refuse,
    SanctionAction,
    SetSanction,
    TellViewer,
)

SanctionCommand: TypeAlias = protocol.TimeoutViewer | protocol.BanViewer | protocol.UnbanViewer


def decide_sanction(command: SanctionCommand, known_name: str | None, now: float) -> Decision:
    """Store and tell a time-out, a ban or its lifting, at the hub's time ``now``.

    ``known_name`` is the viewer's name as the store has it; ``None`` when the store never
    saw them, since a sanction names whom it hits in the mod log.
    """
    viewer_id = command.viewer_id
    if known_name is None:
        return Decision(
            Refuse(ErrorCode.NOT_FOUND, f"No viewer with id {viewer_id!r} was seen here.")
        )
    if viewer_id.startswith("staff-"):
        return Decision(
            Refuse(
                ErrorCode.INVALID, "Staff are not moderated; the host revokes their access instead."
            )
        )
    action: SanctionAction
    until: float | None = None
    try:
        reason = clean_reason(command.reason)
        match command:
            case protocol.TimeoutViewer():
                action, until = "timeout", now + check_timeout(command.seconds)
            case protocol.BanViewer():
                action = "ban"
            case protocol.UnbanViewer():
                action = "unban"
    except ModerationRuleError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    stored = SetSanction(viewer_id, known_name, action, until, reason, now)
    denied = (DenyHeld(viewer_id, "The author was banned.", now),) if action == "ban" else ()
    standing = protocol.Standing(banned=action == "ban", muted_until=until, reason=reason)
    return Decision(Acknowledge(), (stored, *denied), (TellViewer(viewer_id, standing),))
