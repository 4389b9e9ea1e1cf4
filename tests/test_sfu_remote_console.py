"""A host console joined to an SFU hub shows the SFU path in its health line.

The hub brokers viewers to a stand-in Janus (tests/test_sfu_hub.py) and hands the
console a WHIP endpoint nobody listens on: the line must say how WHIP goes (here: it
retries), how many pages watch through the SFU, and the delay they report.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from websockets.asyncio.server import serve

from console.app import _serve_remote
from console.hub.room import Limits
from console.hub.server import Hub
from console.hub.sfu import SfuBroker
from console.protocol import WhipTarget
from console.settings import Settings
from console.store import Store
from tests.support.clients import RawClient
from tests.test_sfu_hub import ROOM, SECRET, StandInJanus
from tests.test_window import until
from widgets.main_window import MainWindow

pytestmark = pytest.mark.qasync


async def test_a_remote_host_consoles_health_line_says_whip_sfu_viewers_and_their_delay(
    tmp_path: Path,
) -> None:
    janus = StandInJanus()
    janus.server = await serve(
        janus.handle, "127.0.0.1", 0, subprotocols=["janus-protocol"], compression=None
    )
    janus.publishers.append(77)
    store = Store.open(tmp_path / "data")
    hub = Hub(
        store,
        tick=0.01,
        limits=Limits(),
        sfu=lambda on_live: SfuBroker(janus.url, SECRET, ROOM, on_live),
    )
    # Port 9 (discard) refuses: WHIP retries, and the health line says so.
    hub.room.whip = WhipTarget("http://127.0.0.1:9/whip/endpoint/show", "t0ken")
    await hub.start("127.0.0.1", 0)
    settings = Settings(
        connect=hub.local_ws_url, token=hub.host_token(), source="test", audio="none", live=True
    )
    team = QSettings(str(tmp_path / "team.ini"), QSettings.Format.IniFormat)
    console = asyncio.create_task(_serve_remote(settings, team))
    try:

        def remote_window() -> MainWindow | None:
            for widget in QApplication.topLevelWidgets():
                if isinstance(widget, MainWindow) and widget.client.url == hub.local_ws_url:
                    return widget
            return None

        await until(lambda: (w := remote_window()) is not None and w.stream is not None, 10)
        window = remote_window()
        assert window is not None and window.stream is not None
        health = window.stream.health
        await until(lambda: "0 on video via the SFU" in health.text(), timeout=15)
        assert "WHIP" in health.text()
        assert "viewers see" not in health.text()

        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send({"t": "watch", "ref": "stream"})
        await ann.wait_for("watch_offer", ref="stream")
        await ann.send({"t": "playout", "delay_ms": 120})
        await until(lambda: "1 on video via the SFU" in health.text(), timeout=10)
        await until(lambda: "viewers see ≈ 120 ms (p95 120 ms)" in health.text(), timeout=10)
        await ann.close()
        await until(lambda: "0 on video via the SFU" in health.text(), timeout=10)
        window.close_now()
        assert await asyncio.wait_for(console, 15) == 0
    finally:
        if not console.done():
            console.cancel()
        await hub.stop()
        store.close()
        janus.server.close()
