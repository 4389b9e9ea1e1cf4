"""A hub with a live broadcast in this process, for stream tests and benchmarks.

It runs on an asyncio loop in a background thread, so a synchronous Playwright driver
can work in the main thread while the test still reaches inside (peers, keyframes).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from console.hub.server import Hub
from console.store import Store
from media.capture import Capture
from media.encoder import PRESETS
from media.ice import configure_ice_hosts
from media.webrtc import Broadcast

T = TypeVar("T")

# Keep a handle on the page's peer connections so the test can read getStats().
CAPTURE_PEERS_JS = """
window.__peers = [];
const NativePeer = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const peer = new NativePeer(...args);
  window.__peers.push(peer);
  return peer;
};
window.RTCPeerConnection.prototype = NativePeer.prototype;
"""


class LiveHub:
    """A hub with a live broadcast, on an asyncio loop in a background thread."""

    def __init__(self, data_dir: Path, preset: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._data_dir = data_dir
        self._preset = preset
        self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        configure_ice_hosts(["127.0.0.1"])
        self.store = Store.open(self._data_dir)
        self.capture = Capture("test")
        self.capture.start()
        self.broadcast = Broadcast(self.capture, PRESETS[self._preset])
        self.hub = Hub(self.store, stream=self.broadcast, tick=0.01)
        await self.hub.start("127.0.0.1", 0)
        await self.set_live(True)

    async def set_live(self, live: bool) -> None:
        if live:
            self.broadcast.start()
        else:
            await self.broadcast.stop()
        self.hub.set_live(live)

    async def _stop(self) -> None:
        await self.broadcast.stop()
        await self.hub.stop()
        self.capture.stop()
        self.store.close()

    def close(self) -> None:
        self.call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        configure_ice_hosts([])

    @property
    def keyframes(self) -> int:
        encoder = self.broadcast.video_encoder
        return encoder.stats.keyframes if encoder else 0
