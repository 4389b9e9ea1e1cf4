"""The stream controls in a window over real encoders, for Record and WHIP tests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable

from PySide6.QtWidgets import QMainWindow

from media.capture import Capture
from media.encoder import PRESETS
from media.webrtc import Broadcast
from widgets.stream_controls import StreamControls


@contextlib.asynccontextmanager
async def controls_on_air() -> AsyncIterator[tuple[StreamControls, Broadcast]]:
    """Stream controls in a window, with real encoders; the show is not live yet."""
    capture = Capture("test")
    capture.start()
    broadcast = Broadcast(capture, PRESETS["360p"])
    holder: list[StreamControls] = []

    async def set_live(live: bool) -> None:
        # As console.app does.
        if live:
            broadcast.start()
            holder[0].start_outputs()
        else:
            await broadcast.stop()

    window = QMainWindow()
    controls = StreamControls(broadcast, set_live)
    holder.append(controls)
    window.setCentralWidget(controls)
    window.show()
    try:
        yield controls, broadcast
    finally:
        await broadcast.stop()
        window.close()
        window.deleteLater()
        # Qt objects go on the GUI thread, not wherever the garbage collector runs.
        await asyncio.sleep(0.05)
        holder.clear()
        del window, controls
        gc.collect()
        capture.stop()


async def end_show(controls: StreamControls) -> None:
    """Click End show and confirm it, as a host does: ending a live show asks first."""
    controls.button.click()
    await until(lambda: controls.end_question is not None)
    assert controls.end_question is not None
    [confirm] = [b for b in controls.end_question.buttons() if b.text() == "End show"]
    confirm.click()


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
