"""What the live stream is sent to besides the viewers: the recorder, WHIP.

Every output gets the packets the shared encoders made, so adding one costs no encode.
``push`` runs on the event loop for each packet and must return at once: an output with
slow work (a disk, a network) hands it to a thread or a task of its own.
"""

from __future__ import annotations

from typing import Literal, Protocol

import av

MediaKind = Literal["video", "audio"]


class Output(Protocol):
    #: Shown to the host, e.g. in the stream's health line.
    name: str

    def push(self, kind: MediaKind, packet: av.Packet) -> None:
        """Take one shared packet; never block, never change the packet (others read it)."""
        ...

    async def close(self) -> None:
        """Stop, finishing what the output owes (a file's index, a WHIP DELETE)."""
        ...
