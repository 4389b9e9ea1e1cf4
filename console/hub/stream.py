"""What the hub needs from the live stream, without knowing how it is made.

The console's media layer (``media.webrtc.Broadcast``) provides it in the embedded
console; a headless hub has none, and viewers' offers then get ``not_live``.
"""

from __future__ import annotations

from typing import Protocol


class StreamGateway(Protocol):
    @property
    def live(self) -> bool: ...

    async def answer(self, key: str, offer_sdp: str) -> str:
        """Answer a viewer's WebRTC offer (raise ShopcastError with a reason if not)."""
        ...

    async def close_viewer(self, key: str) -> None:
        """Forget a viewer's peer connection (it left or re-offered)."""
        ...
