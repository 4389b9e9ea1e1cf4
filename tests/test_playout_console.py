"""The host's health line says what delay viewers see, as their pages report it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clients import RawClient
from tests.test_window import running_console, until

pytestmark = pytest.mark.qasync


async def test_the_health_line_says_how_late_viewers_see_the_show(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, hub):
        controls = window.stream
        assert controls is not None
        controls.button.click()
        await until(lambda: controls.live and "on video" in controls.health.text(), timeout=10)
        assert "viewers see" not in controls.health.text(), "no page reported yet"
        viewers = [await RawClient.viewer(hub.local_ws_url, name=None) for _ in range(3)]
        for viewer, delay in zip(viewers, (150, 240, 180), strict=True):
            await viewer.send({"t": "playout", "delay_ms": delay})
        await until(lambda: "viewers see ≈ 180 ms (p95 240 ms)" in controls.health.text(), 10)
        tip = controls.health.toolTip()
        assert "viewers see:" in tip and "p95" in tip and "round trip" in tip
        for viewer in viewers:
            await viewer.close()
        await until(lambda: "viewers see" not in controls.health.text(), timeout=10)
