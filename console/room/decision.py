"""What the room core decides about a command, for the hub shell to carry out.

The core cannot number events (the store assigns the seq in the writing transaction), so
a decision names the events to append and the shell appends them, in order, before it
replies: every write a user would miss is committed before it is acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from console import protocol
from console.errors import ProtocolError


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


Append: TypeAlias = PostComment | HoldComment | LogAutoDelete


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
    """The core's answer to one command: events to append, then the reply to the sender."""

    reply: Reply
    append: tuple[Append, ...] = ()
