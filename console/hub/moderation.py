"""Moderation in the hub: the chat policy's decisions applied, stored, then announced.

The rules live in :mod:`console.domain.moderation` and the order they judge a comment
in, in :mod:`console.room.chat`; the modes and sanctions they judge by are the room's
replica (:class:`~console.room.state.RoomState`), which this module keeps current by
folding every mod and modes event: its own as it stores them, the other hubs' as they
come. It writes each action with its mod-log entry in one transaction before it takes
effect, and publishes the events: public ones (a deleted comment, the modes), staff
ones (the mod log) and private ones (a held comment, to its author).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from console import protocol
from console.bus import RoomEvent
from console.domain.chat import ChatRuleError
from console.domain.moderation import (
    BlockedTerm,
    ChatPolicy,
    ModerationRuleError,
    RoomModes,
    TextKind,
    Verdict,
    check_modes,
    clean_reason,
)
from console.domain.modlog import describe_modes
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.room.chat import ChatWindows, CommentRate, judge, logged_refusal, refused
from console.room.decision import (
    Decision,
    DenyHeld,
    HoldComment,
    LogAutoDelete,
    Refuse,
    SetSanction,
)
from console.room.sanctions import decide_sanction
from console.room.state import RoomState, Sanction, modes_of, state_event
from console.store.api import Store
from console.store.records import Actor, Published

MODES_KEY = "modes"
TERMS_KEY = "terms"


class Moderation:
    def __init__(
        self,
        store: Store,
        publish: Callable[[list[Published]], None],
        clock: Callable[[], float],
        is_buyer: Callable[[str], bool],
        *,
        since: int,
        viewer_comments: CommentRate,
        staff_comments: CommentRate,
    ) -> None:
        """``since`` is the last seq the hub had before this reads the store: every
        event after it is folded on top of what is read here."""
        self.records = store.team
        self._store = store
        self._publish = publish
        self._clock = clock
        self._is_buyer = is_buyer
        self.chat = ChatWindows(ChatPolicy(), viewer_comments, staff_comments)
        self.policy = self.chat.policy
        self.state = self._stored_state(since)
        self._read_terms()

    def _stored_state(self, since: int) -> RoomState:
        """The replica's start: the sanctions and modes as the store's tables hold them.

        Not a fold of the whole log: deleting a viewer's data signs off their stored mod
        events (:func:`console.domain.retention.signed_off` clears the viewer id) while
        their ban stays in the sanctions table, so a fold of the log would lift the ban
        on that id. Every event after ``since`` is folded on top (:meth:`follow`); one
        the tables already show changes nothing when folded again.
        """
        modes = self.records.setting(MODES_KEY, protocol.SetModes)
        return RoomState(
            modes=modes_of(modes) if modes else RoomModes(),
            modes_seq=since,
            sanctions={
                viewer_id: Sanction(s.banned, s.muted_until, s.reason, since)
                for viewer_id, s in self.records.sanctions().items()
            },
        )

    def _read_terms(self) -> None:
        """Take the blocked terms from the store: the only part of the rules not folded
        from events, because their mod-log entry carries a summary ("3 blocked terms;
        links held"), not the terms."""
        terms = self.records.setting(TERMS_KEY, protocol.SetTerms)
        self.policy.set_terms([_term(t) for t in terms.terms] if terms else ())
        self.policy.block_links = terms.block_links if terms else True

    def follow(self, event: RoomEvent) -> None:
        """Fold a committed event into the replica, once the feed has it in seq order
        (another hub's, or this hub's own coming back); a terms entry reads the terms."""
        folded = state_event(event.body)
        if folded is None:
            return
        self.state = self.state.apply(folded)
        if isinstance(folded, protocol.ModEntry) and folded.action == "terms":
            self._read_terms()

    def _apply_own(self, published: list[Published]) -> None:
        """Fold the events this hub just stored, before the bus brings them back: the
        next comment here is judged by them at once."""
        for seq, body, audience in published:
            self.follow(RoomEvent(seq, body, audience))

    # ------------------------------------------------------------ judging comments

    def buyer(self, viewer_id: str, is_staff: bool) -> bool:
        """Whether the author counts as a buyer: the store is asked only while
        buyers-only mode needs the answer, so a comment costs no read otherwise."""
        return not is_staff and self.state.modes.buyers_only and self._is_buyer(viewer_id)

    def judge(self, viewer_id: str, is_staff: bool, text: str, kind: TextKind) -> Verdict:
        """The judge's verdict on a viewer's review or name (see ``RULES``: buyers-only
        mode is not among their rules, so the store is not asked who bought); comments are
        decided in full by :func:`console.room.chat.decide_comment`."""
        return judge(self.state, self.policy, viewer_id, is_staff, text, self._clock(), kind)

    def announced_name(self, viewer_id: str, name: str) -> str:
        """The name a sale or a review may show everyone: "" when the judge says no (a
        banned or timed-out buyer, or a name a blocked term added since refuses)."""
        verdict = self.judge(viewer_id, False, name, "buyer_name")
        return name if verdict.action == "publish" else ""

    def refuse(self, verdict: Verdict, viewer_id: str, name: str, text: str) -> ProtocolError:
        """The error for refused text; what the refusal logs is stored first."""
        for step in logged_refusal(verdict, viewer_id, name, text, self._clock()):
            self.carry_out(step)
        return refused(verdict).error()

    def carry_out(self, step: HoldComment | LogAutoDelete) -> None:
        """Carry out a moderation step of a decision: stored, then published."""
        match step:
            case HoldComment():
                published = self.records.hold(
                    step.viewer_id, step.name, step.role, step.text, step.rule, step.reason, step.ts
                )
            case LogAutoDelete():
                published = self.records.refuse(
                    step.viewer_id, step.name, step.text, step.reason, step.ts
                )
        self._publish(published)

    def hold_review(
        self, verdict: Verdict, viewer_id: str, name: str, review: protocol.SubmitReview, text: str
    ) -> None:
        """Put an owner's review in the Held queue."""
        self._publish(
            self.records.hold(
                viewer_id,
                name,
                "viewer",
                text,
                verdict.rule,
                verdict.reason,
                self._clock(),
                product_id=review.product_id,
                rating=review.rating,
            )
        )

    def standing(self, viewer_id: str) -> protocol.Standing | None:
        """What a joining viewer is told about their own sanction, if they have one."""
        sanction = self.state.standing(viewer_id, self._clock())
        if sanction is None:
            return None
        return protocol.Standing(
            banned=sanction.banned, muted_until=sanction.muted_until, reason=sanction.reason
        )

    def modes_event(self) -> protocol.Modes:
        return _modes_event(self.state.modes)

    # ------------------------------------------------------------ staff actions

    def delete(self, actor: Actor, message: protocol.DeleteComment) -> None:
        if self.records.is_deleted(message.seq):
            raise ProtocolError(ErrorCode.INVALID, "This comment was already deleted.")
        comment = self._store.comment(message.seq)
        if comment is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"There is no comment number {message.seq}.")
        reason = _reason(message.reason)
        self._publish(self.records.delete_comment(comment, actor, reason, self._clock()))

    def sanction(
        self,
        actor: Actor,
        message: protocol.TimeoutViewer | protocol.BanViewer | protocol.UnbanViewer,
    ) -> Decision:
        """Decide a time-out, a ban or its lifting, and store it; the decision's notices
        are the room's to send (the viewer's pages may be on any hub)."""
        profile = self._store.profile(message.viewer_id, last_comments=0)
        decision = decide_sanction(message, profile.name if profile else None, self._clock())
        if isinstance(decision.reply, Refuse):
            raise decision.reply.error()
        for step in decision.append:
            match step:
                case SetSanction():
                    self._store_sanction(step, actor)
                case DenyHeld():
                    self._deny_waiting(step, actor)
        return decision

    def _store_sanction(self, step: SetSanction, actor: Actor) -> None:
        """Store, fold and publish the sanction. An unban is a fresh start in this hub's
        chat windows too; the viewer's network keeps its count."""
        _, published = self.records.sanction(
            step.viewer_id, step.name, step.action, step.until, actor, step.reason, step.ts
        )
        self._apply_own(published)
        if step.action == "unban":
            self.policy.forget(step.viewer_id)
        self._publish(published)

    def _deny_waiting(self, step: DenyHeld, actor: Actor) -> None:
        for waiting in self.records.waiting():
            held = (
                self.records.held(waiting.held_id) if waiting.viewer_id == step.viewer_id else None
            )
            if held is not None:
                self._publish(
                    self.records.resolve_held(held, False, actor, step.reason, step.ts, False)
                )

    def set_modes(self, actor: Actor, message: protocol.SetModes) -> None:
        try:
            modes = check_modes(modes_of(message))
        except ModerationRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        published = self.records.put_setting(
            MODES_KEY,
            _without_ref(message),
            actor,
            self._clock(),
            "modes",
            describe_modes(modes),
            event=_modes_event(modes),
        )
        self._apply_own(published)
        self._publish(published)

    def set_terms(self, actor: Actor, message: protocol.SetTerms) -> None:
        try:
            self.policy.set_terms([_term(t) for t in message.terms])
        except ModerationRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self.policy.block_links = message.block_links
        links = "held" if message.block_links else "allowed"
        summary = f"{len(message.terms)} blocked terms; links {links}"
        self._publish(
            self.records.put_setting(
                TERMS_KEY, _without_ref(message), actor, self._clock(), "terms", summary
            )
        )

    def terms(self) -> protocol.Terms:
        return protocol.Terms(
            terms=[
                protocol.TermSpec(pattern=t.pattern, kind=t.kind, action=t.action)
                for t in self.policy.terms
            ],
            block_links=self.policy.block_links,
        )

    def resolve_held(self, actor: Actor, message: protocol.ResolveHeld, owner: bool) -> None:
        held = self.records.held(message.held_id)
        if held is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No held comment {message.held_id}.")
        if held.status != "held":
            raise ProtocolError(
                ErrorCode.CONFLICT, f"This comment was already {held.status} by another moderator."
            )
        reason = _reason(message.reason)
        self._publish(
            self.records.resolve_held(held, message.approve, actor, reason, self._clock(), owner)
        )


def _reason(text: str) -> str:
    try:
        return clean_reason(text)
    except (ModerationRuleError, ChatRuleError) as exc:
        raise ProtocolError(ErrorCode.INVALID, str(exc)) from None


def _term(spec: protocol.TermSpec) -> BlockedTerm:
    return BlockedTerm(pattern=spec.pattern, kind=spec.kind, action=spec.action)


def _modes_event(modes: RoomModes) -> protocol.Modes:
    return protocol.Modes(
        seq=0,
        slow_seconds=modes.slow_seconds,
        buyers_only=modes.buyers_only,
        emoji_only=modes.emoji_only,
        paused=modes.paused,
        hold_new_minutes=modes.hold_new_minutes,
    )


def _without_ref(message: protocol.SetModes | protocol.SetTerms) -> msgspec.Struct:
    """The setting as stored: the client's ``ref`` is not part of it."""
    return msgspec.structs.replace(message, ref=None)
