"""What the live stream is sent to besides the viewers: the recorder, WHIP.

Every output gets the packets the shared encoders made, so adding one costs no encode.
``push`` runs on the event loop for each packet and must return at once: an output with
slow work (a disk, a network) hands it to a thread or a task of its own.

An output may also send the VP8 rendition (``Vp8Output``: a WHIP publish with a second
video stream, for an SFU's viewers whose browser has no H.264). That one does cost an
encode, so the broadcast runs its VP8 encoder only while such an output says it sends
VP8 (``sends_vp8``) or a VP8 viewer watches.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

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


@runtime_checkable
class Vp8Output(Output, Protocol):
    @property
    def sends_vp8(self) -> bool:
        """Whether it sends the VP8 rendition now; it tells the broadcast when that changes."""
        ...

    def push_vp8(self, packet: av.Packet) -> None:
        """Take one packet of the shared VP8 encoder, as ``push`` does."""
        ...
