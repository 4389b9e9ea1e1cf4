"""A real Chromium page watching the embedded stream reports the delay its viewer sees,
and the host's console hears it (real WebRTC over 127.0.0.1, as in test_stream_browser)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import protocol
from console.client import StaffClient
from tests.support.browser import Chromium, chromium
from tests.support.live import CAPTURE_PEERS_JS, LiveHub

pytestmark = pytest.mark.browser

#: Keeps what the page sends on its WebSocket, to compare with what the host hears.
CAPTURE_SENT_JS = """
window.__sent = [];
const nativeSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  window.__sent.push(String(data));
  return nativeSend.call(this, data);
};
"""


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


class HostConsole:
    """The console's own staff session to the hub, keeping every message it hears."""

    def __init__(self, url: str, token: str) -> None:
        self.messages: list[protocol.ServerMessage] = []
        self.client = StaffClient(url, token, on_messages=self.messages.extend)

    async def start(self) -> HostConsole:
        self.client.start()
        await self.client.wait_connected()
        return self

    async def first_figure(self) -> protocol.Playout:
        while True:
            for message in self.messages:
                if isinstance(message, protocol.Playout) and message.viewers:
                    return message
            await asyncio.sleep(0.05)


def test_the_host_console_hears_the_delay_a_watching_page_reports(
    tmp_path: Path, browsers: Chromium
) -> None:
    live = LiveHub(tmp_path / "data", "360p")
    try:
        host = live.call(HostConsole(live.hub.local_ws_url, live.hub.host_token()).start())
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS + CAPTURE_SENT_JS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(live.hub.viewer_url)
        figure = live.call(host.first_figure(), timeout=30)
        sent = [json.loads(data) for data in page.evaluate("window.__sent")]
        reports = [m["delay_ms"] for m in sent if m["t"] == "playout"]
        assert figure.viewers == 1
        assert figure.median_ms in reports and figure.p95_ms == figure.median_ms, (figure, reports)
        assert all(isinstance(ms, int) and ms > 0 for ms in reports), reports
        frames = page.evaluate(
            """async () => {
              let frames = 0;
              (await window.__peers.at(-1).getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded;
              });
              return frames;
            }"""
        )
        assert frames > 0, "the page reported while it played the video"
        live.call(host.client.close())
    finally:
        live.close()
