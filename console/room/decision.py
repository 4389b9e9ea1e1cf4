"""What the room core decides about a command, for the hub shell to carry out.

The core cannot number events (the store assigns the seq in the writing transaction), so
a decision names the events to append and the shell appends them, in order, before it
replies: every write a user would miss is committed before it is acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from console import protocol
from console.domain.questions import Question
from console.errors import ProtocolError
from console.room.show import ShowState


@dataclass(frozen=True, slots=True)
class PostComment:
    """Append the comment for everyone; the sender's acknowledgement carries its seq."""

    viewer_id: str
    name: str
    role: protocol.Role
    text: str
    ts: float


@dataclass(frozen=True, slots=True)
class HoldComment:
    """Put the comment in the Held queue: its author and staff see it, nobody else."""

    viewer_id: str
    name: str
    role: protocol.Role
    text: str
    #: The rule that held it and the words its author reads (``Verdict``).
    rule: str
    reason: str
    ts: float


@dataclass(frozen=True, slots=True)
class LogAutoDelete:
    """A "delete" term refused the text: the mod log records it as the policy's doing."""

    viewer_id: str
    name: str
    text: str
    reason: str
    ts: float


SanctionAction: TypeAlias = Literal["timeout", "ban", "unban"]


@dataclass(frozen=True, slots=True)
class SetSanction:
    """Store the viewer's new standing with its mod-log entry, under the acting
    moderator's name (the shell's: the core knows no sessions)."""

    viewer_id: str
    #: The name the store knows the viewer by, for the mod log.
    name: str
    action: SanctionAction
    #: When a time-out ends (the hub's clock); ``None`` for a ban or an unban.
    until: float | None
    reason: str
    ts: float


@dataclass(frozen=True, slots=True)
class DenyHeld:
    """Deny the viewer's comments waiting in the Held queue, each with its mod-log entry.

    Left in the queue after a ban, they waited for a moderator to deny them one by one,
    and approving one by mistake would publish a banned viewer's words.
    """

    viewer_id: str
    reason: str
    ts: float


#: Why a deal ended: its clock ran out, its last unit sold, or the host ended it.
DealEndReason: TypeAlias = Literal["time", "sold", "host"]


@dataclass(frozen=True, slots=True)
class StopDeal:
    """End the deal on ``product_id`` ending at ``ends`` in the store, unless a hub
    ended it first: the store decides, so a deal ends once, whoever ends it.

    With ``announce``, the show without the deal is stored after, when this hub ended
    it; a new pin stores its own show instead.
    """

    product_id: str
    ends: float
    reason: DealEndReason
    ts: float
    announce: bool


@dataclass(frozen=True, slots=True)
class SaveShow:
    """Store ``show`` as the show's new state; the shell draws its products as the
    catalogue has them now (prices, stock and reviews are not the show's)."""

    show: ShowState


@dataclass(frozen=True, slots=True)
class AddQuestion:
    """Queue the viewer's comment as a question in ``group`` (its id is the comment's seq)."""

    comment: protocol.Comment
    group: str


@dataclass(frozen=True, slots=True)
class SaveQuestion:
    """Store ``question`` as the next state of ``was``, only if the stored question is
    still as ``was`` has it: the store decides between agents acting on one question
    through two hubs, and the shell decides again on the state it stores instead."""

    was: Question
    question: Question
    ts: float


@dataclass(frozen=True, slots=True)
class OpenThread:
    """Store a closed thread for a comment never queued, for a reply to thread under:
    done and unanswered, it never shows in the queue or counts in the answer times."""

    comment: protocol.Comment
    group: str


@dataclass(frozen=True, slots=True)
class SendAnswer:
    """Store the agent's answer under the question the steps before it stored, and send
    it: in public, or to the asker alone."""

    question_id: int
    agent: str
    text: str
    private: bool
    ts: float


@dataclass(frozen=True, slots=True)
class AnnounceGiveaway:
    """Store the giveaway's new public state (its start, draw or cancellation) for
    everyone; the draw's reveals the seed and the entries it was drawn from."""

    event: protocol.GiveawayState


@dataclass(frozen=True, slots=True)
class AddEntry:
    """Store the viewer's entry, told to them and to staff only."""

    entry: protocol.GiveawayEntry


@dataclass(frozen=True, slots=True)
class LogGiveaway:
    """A line in the mod log under the acting host's name (the shell's): who won the draw
    and how to check it, or that the giveaway was cancelled."""

    viewer_id: str
    name: str
    text: str
    ts: float


Append: TypeAlias = (
    PostComment
    | HoldComment
    | LogAutoDelete
    | SetSanction
    | DenyHeld
    | StopDeal
    | SaveShow
    | AddQuestion
    | SaveQuestion
    | OpenThread
    | SendAnswer
    | AnnounceGiveaway
    | AddEntry
    | LogGiveaway
)


@dataclass(frozen=True, slots=True)
class TellViewer:
    """A message for one viewer's pages, on whichever hub holds them (a bus notice)."""

    viewer_id: str
    message: protocol.Standing


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """The command was taken; ``held`` when it waits for a moderator."""

    held: bool = False


@dataclass(frozen=True, slots=True)
class Refuse:
    """The command was refused; ``code`` is stable for clients, ``reason`` for people."""

    code: str
    reason: str
    retry_after: float | None = None

    def error(self) -> ProtocolError:
        """The error the shell raises to tell the sender."""
        return ProtocolError(self.code, self.reason, retry_after=self.retry_after)


Reply: TypeAlias = Acknowledge | Refuse


@dataclass(frozen=True, slots=True)
class Decision:
    """The core's answer to one command: events to append, then the reply to the sender
    and the notices for particular sessions."""

    reply: Reply
    append: tuple[Append, ...] = ()
    notices: tuple[TellViewer, ...] = ()
