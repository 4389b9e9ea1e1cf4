"""Moderation in the hub: the chat policy's decisions applied, stored, then announced.

The rules (terms, modes, slow mode, floods) live in :mod:`console.domain.moderation`;
this module keeps their state (the stored settings and every viewer's sanction in
memory), writes each action with its mod-log entry in one transaction before it takes
effect, and publishes the events: public ones (a deleted comment, the modes), staff
ones (the mod log) and private ones (a held comment, to its author).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from console import protocol
from console.domain.chat import ChatRuleError
from console.domain.moderation import (
    Author,
    BlockedTerm,
    ChatPolicy,
    ModerationRuleError,
    RoomModes,
    TextKind,
    Verdict,
    check_modes,
    check_timeout,
    clean_reason,
)
from console.domain.modlog import describe_modes
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.store.api import Store
from console.store.records import Actor, Published, Sanction

#: How a refusal reads to a client: a stable code per rule of the policy.
REFUSAL_CODES = {
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

MODES_KEY = "modes"
TERMS_KEY = "terms"


class Moderation:
    def __init__(
        self,
        store: Store,
        publish: Callable[[list[Published]], None],
        clock: Callable[[], float],
        is_buyer: Callable[[str], bool],
    ) -> None:
        self.records = store.team
        self._store = store
        self._publish = publish
        self._clock = clock
        self._is_buyer = is_buyer
        self._sanctions: dict[str, Sanction] = {}
        self.policy = ChatPolicy()
        self.replicate()

    def replicate(self) -> None:
        """Take the sanctions, modes and blocked terms from the store.

        Every hub of a room judges by the same rules: a moderator's action on one hub is
        a stored ``mod`` event, and each hub that sees it come over the bus reads them
        again (the chat's own windows, who repeated what, stay as they are).
        """
        self._sanctions = self.records.sanctions()
        modes = self.records.setting(MODES_KEY, protocol.SetModes)
        terms = self.records.setting(TERMS_KEY, protocol.SetTerms)
        self.policy.set_modes(_modes(modes) if modes else RoomModes())
        self.policy.set_terms([_term(t) for t in terms.terms] if terms else ())
        self.policy.block_links = terms.block_links if terms else True

    # ------------------------------------------------------------ judging comments

    def judge(
        self,
        viewer_id: str,
        is_staff: bool,
        text: str,
        kind: TextKind = "comment",
        *,
        address: str = "",
        first_seen: float | None = None,
    ) -> Verdict:
        """The policy's verdict on a viewer's comment, review or name (see ``RULES``);
        a comment's ``address`` and ``first_seen`` feed the rules that rotating viewer
        ids must not walk around, and the "new chatters are held" mode."""
        now = self._clock()
        sanction = self._sanctions.get(viewer_id)
        author = Author(
            viewer_id=viewer_id,
            is_staff=is_staff,
            is_buyer=(not is_staff and self.policy.modes.buyers_only and self._is_buyer(viewer_id)),
            banned=sanction is not None and sanction.banned,
            muted_until=sanction.muted_until if sanction else None,
            address=address,
            first_seen=first_seen,
        )
        return self.policy.judge(author, text, now, kind)

    def announced_name(self, viewer_id: str, name: str) -> str:
        """The name a sale or a review may show everyone: "" when the judge says no (a
        banned or timed-out buyer, or a name a blocked term added since refuses)."""
        verdict = self.judge(viewer_id, False, name, "buyer_name")
        return name if verdict.action == "publish" else ""

    def refuse(self, verdict: Verdict, viewer_id: str, name: str, text: str) -> ProtocolError:
        """The error for a refused comment; a "delete" term also goes to the mod log."""
        if verdict.automatic_delete:
            self._publish(self.records.refuse(viewer_id, name, text, verdict.reason, self._clock()))
        code = REFUSAL_CODES.get(verdict.rule, ErrorCode.FORBIDDEN)
        return ProtocolError(code, verdict.reason, retry_after=verdict.retry_after)

    def hold(
        self,
        verdict: Verdict,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        review: protocol.SubmitReview | None = None,
    ) -> None:
        """Put a comment, or an owner's ``review``, in the Held queue."""
        self._publish(
            self.records.hold(
                viewer_id,
                name,
                role,
                text,
                verdict.rule,
                verdict.reason,
                self._clock(),
                product_id=review.product_id if review else None,
                rating=review.rating if review else None,
            )
        )

    def standing(self, viewer_id: str) -> protocol.Standing | None:
        """What a joining viewer is told about their own sanction, if they have one."""
        sanction = self._sanctions.get(viewer_id)
        if sanction is None or not self._active(sanction):
            return None
        return protocol.Standing(
            banned=sanction.banned, muted_until=sanction.muted_until, reason=sanction.reason
        )

    def _active(self, sanction: Sanction) -> bool:
        return sanction.banned or (
            sanction.muted_until is not None and sanction.muted_until > self._clock()
        )

    def modes_event(self) -> protocol.Modes:
        modes = self.policy.modes
        return protocol.Modes(
            seq=0,
            slow_seconds=modes.slow_seconds,
            buyers_only=modes.buyers_only,
            emoji_only=modes.emoji_only,
            paused=modes.paused,
            hold_new_minutes=modes.hold_new_minutes,
        )

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
    ) -> Sanction:
        """Store and apply a time-out, a ban or its lifting; return the viewer's new standing."""
        profile = self._store.profile(message.viewer_id, last_comments=0)
        if profile is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"No viewer with id {message.viewer_id!r} was seen here."
            )
        if message.viewer_id.startswith("staff-"):
            raise ProtocolError(
                ErrorCode.INVALID, "Staff are not moderated; the host revokes their access instead."
            )
        reason = _reason(message.reason)
        now = self._clock()
        until: float | None = None
        match message:
            case protocol.TimeoutViewer():
                try:
                    until = now + check_timeout(message.seconds)
                except ModerationRuleError as exc:
                    raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
                action: protocol.ModAction = "timeout"
            case protocol.BanViewer():
                action = "ban"
            case _:
                action = "unban"
        sanction, published = self.records.sanction(
            message.viewer_id, profile.name, action, until, actor, reason, now
        )
        self._sanctions[message.viewer_id] = sanction
        if action == "unban":
            self.policy.forget(message.viewer_id)
        self._publish(published)
        if action == "ban":
            self._deny_waiting(message.viewer_id, actor, now)
        return sanction

    def _deny_waiting(self, viewer_id: str, actor: Actor, now: float) -> None:
        """A ban denies the viewer's held comments, each with its mod-log entry.

        Left in the queue, they waited for a moderator to deny them one by one, and
        approving one by mistake would publish a banned viewer's words.
        """
        for waiting in self.records.waiting():
            held = self.records.held(waiting.held_id) if waiting.viewer_id == viewer_id else None
            if held is not None:
                self._publish(
                    self.records.resolve_held(
                        held, False, actor, "The author was banned.", now, False
                    )
                )

    def set_modes(self, actor: Actor, message: protocol.SetModes) -> None:
        try:
            modes = check_modes(_modes(message))
        except ModerationRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        self.policy.set_modes(modes)
        self._publish(
            self.records.put_setting(
                MODES_KEY,
                _without_ref(message),
                actor,
                self._clock(),
                "modes",
                describe_modes(modes),
                event=self.modes_event(),
            )
        )

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


def _modes(message: protocol.SetModes) -> RoomModes:
    return RoomModes(
        slow_seconds=message.slow_seconds,
        buyers_only=message.buyers_only,
        emoji_only=message.emoji_only,
        paused=message.paused,
        hold_new_minutes=message.hold_new_minutes,
    )


def _without_ref(message: protocol.SetModes | protocol.SetTerms) -> msgspec.Struct:
    """The setting as stored: the client's ``ref`` is not part of it."""
    return msgspec.structs.replace(message, ref=None)
