"""The chat path of the room core: a viewer's comment and the room's state in, a decision out.

The rules themselves are the domain's (:mod:`console.domain.chat` for what a comment may
be, :class:`~console.domain.moderation.ChatPolicy` for the verdict); this module holds
the order they apply in, how the room's replicated state feeds them, and how each
verdict reads to a client. What the chat remembers of its recent traffic (who posted
what lately, each author's comment bucket) is not an event: it is one hub's, kept in
:class:`ChatWindows`, as presence and limiters are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from console import protocol
from console.domain.chat import ChatRuleError, RateLimiter, clean_comment
from console.domain.moderation import Author, ChatPolicy, TextKind, Verdict
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    Decision,
    HoldComment,
    LogAutoDelete,
    PostComment,
    Refuse,
)
from console.room.state import RoomState

#: How a refusal reads to a client: a stable code per rule of the policy.
REFUSAL_CODES: Final = {
    "banned": ErrorCode.BANNED,
    "timeout": ErrorCode.TIMED_OUT,
    "paused": ErrorCode.CHAT_PAUSED,
    "slow": ErrorCode.SLOW_MODE,
    "buyers_only": ErrorCode.BUYERS_ONLY,
    "emoji_only": ErrorCode.EMOJI_ONLY,
    "term": ErrorCode.BLOCKED,
    "repeat": ErrorCode.REPEATED,
    "flood": ErrorCode.RATE_LIMITED,
}


@dataclass(frozen=True, slots=True)
class CommentRate:
    """A comment bucket's size: ``burst`` comments at once, then ``per_second``."""

    per_second: float
    burst: float


@dataclass(frozen=True, slots=True)
class CommentCommand:
    """A ``comment`` command with what the shell knows of its sender."""

    viewer_id: str
    #: The sender's display name; ``None`` until they choose one.
    name: str | None
    role: protocol.Role
    #: As typed: the core cleans it.
    text: str
    #: Where the sender connects from, and when the hub first knew their id (see
    #: :class:`~console.domain.moderation.Author`).
    address: str = ""
    first_seen: float | None = None
    #: Whether the sender bought from the shop. Asking costs a store read, so the shell
    #: asks only while buyers-only mode is on (``RoomState.modes``); otherwise False.
    buyer: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in protocol.STAFF_ROLES


class ChatWindows:
    """One hub's memory of the chat's recent traffic, which the decisions update.

    The policy's repeat, flood and slow-mode windows and each present author's comment
    bucket. Leaving and coming back frees the bucket but not the windows: a reload must
    not reset slow mode.
    """

    def __init__(self, policy: ChatPolicy, viewers: CommentRate, staff: CommentRate) -> None:
        self.policy = policy
        self._viewers = viewers
        self._staff = staff
        self._buckets: dict[str, RateLimiter] = {}

    def bucket(self, viewer_id: str, is_staff: bool) -> RateLimiter:
        bucket = self._buckets.get(viewer_id)
        if bucket is None:
            rate = self._staff if is_staff else self._viewers
            bucket = self._buckets[viewer_id] = RateLimiter(rate.per_second, rate.burst)
        return bucket

    def left(self, viewer_id: str) -> None:
        """The author's last page left: their bucket goes."""
        self._buckets.pop(viewer_id, None)


def judge(
    state: RoomState,
    policy: ChatPolicy,
    viewer_id: str,
    is_staff: bool,
    text: str,
    now: float,
    kind: TextKind = "comment",
    *,
    buyer: bool = False,
    address: str = "",
    first_seen: float | None = None,
) -> Verdict:
    """The policy's verdict on a viewer's ``text`` of ``kind``, by the room's state.

    The policy judges by the replica's modes: they are handed to it when an event
    changed them, so the policy never keeps modes of its own that the room has not.
    """
    if policy.modes is not state.modes:
        policy.set_modes(state.modes)
    sanction = state.sanctions.get(viewer_id)
    author = Author(
        viewer_id=viewer_id,
        is_staff=is_staff,
        is_buyer=buyer,
        banned=sanction is not None and sanction.banned,
        muted_until=sanction.muted_until if sanction else None,
        address=address,
        first_seen=first_seen,
    )
    return policy.judge(author, text, now, kind)


def refused(verdict: Verdict) -> Refuse:
    """How a verdict of "refuse" reads to its author."""
    return Refuse(
        REFUSAL_CODES.get(verdict.rule, ErrorCode.FORBIDDEN), verdict.reason, verdict.retry_after
    )


def logged_refusal(
    verdict: Verdict, viewer_id: str, name: str, text: str, now: float
) -> tuple[LogAutoDelete, ...]:
    """What a refusal appends: a "delete" term's refusal goes to the mod log, as made by
    the policy, so moderators see what it removed; any other refusal appends nothing."""
    if not verdict.automatic_delete:
        return ()
    return (LogAutoDelete(viewer_id, name, text, verdict.reason, now),)


def decide_comment(
    comment: CommentCommand, state: RoomState, windows: ChatWindows, now: float
) -> Decision:
    """Post, hold or refuse a comment at the hub's time ``now``.

    In this order: a name is needed, the text must be a comment (not empty, not too
    long), the judge decides (bans, time-outs, modes, terms, links, repeats, floods, new
    chatters), then the author's comment bucket. The bucket is asked last so that a
    comment the judge refused costs none of it; what the judge let through counts in
    its windows even when the bucket then refuses it, as it always has.
    """
    if comment.name is None:
        return Decision(
            Refuse(ErrorCode.NAME_REQUIRED, "Choose a display name before you comment.")
        )
    try:
        text = clean_comment(comment.text)
    except ChatRuleError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    verdict = judge(
        state,
        windows.policy,
        comment.viewer_id,
        comment.is_staff,
        text,
        now,
        buyer=comment.buyer,
        address=comment.address,
        first_seen=comment.first_seen,
    )
    if verdict.action == "refuse":
        logged = logged_refusal(verdict, comment.viewer_id, comment.name, text, now)
        return Decision(refused(verdict), logged)
    wait = windows.bucket(comment.viewer_id, comment.is_staff).allow(now)
    if wait:
        return Decision(
            Refuse(
                ErrorCode.RATE_LIMITED,
                f"Slow down: you can post again in {max(1, round(wait))} s.",
                retry_after=wait,
            )
        )
    if verdict.action == "hold":
        held = HoldComment(
            comment.viewer_id, comment.name, comment.role, text, verdict.rule, verdict.reason, now
        )
        return Decision(Acknowledge(held=True), (held,))
    posted = PostComment(comment.viewer_id, comment.name, comment.role, text, now)
    return Decision(Acknowledge(), (posted,))
