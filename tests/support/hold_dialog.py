"""A console that keeps an import error box open while its keep-alive pings, then quits.

Run as ``python -m tests.support.hold_dialog FOLDER``; it exits 0 when every step ran.
A process of its own, because the defect it guards against hangs the process: a modal
``exec()`` in a task leaves every other task (the keep-alive, the one that would close
the box and quit) never resumed, so the test that starts it can only time it out.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from console.client import StaffClient
from console.hub.server import Hub
from console.store import Store
from tests.support.stream import until
from widgets.main_window import MainWindow

#: Seconds between keep-alive pings: many pings while the box is open.
PING_INTERVAL = 0.05
#: How long the box stays open, as a host reading it would.
HOLD = 1.0


def _open_box() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    return next((box for box in boxes if box.isVisible()), None)


async def hold_and_quit(folder: Path) -> int:
    store = Store.open(folder / "data")
    hub = Hub(store, tick=0.01)
    await hub.start("127.0.0.1", 0)
    holder: list[MainWindow] = []
    client = StaffClient(
        hub.local_ws_url,
        hub.issue_token("host", "Host"),
        on_messages=lambda messages: holder[0].on_messages(messages) if holder else None,
        ping_interval=PING_INTERVAL,
    )
    settings = QSettings(str(folder / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, None, hub.viewer_url, settings, None, None)
    holder.append(window)
    client.start()
    window.show()
    await client.wait_connected()
    bad = folder / "catalogue.json"
    bad.write_text("{ this is not JSON", encoding="utf-8")
    importing = asyncio.ensure_future(window.import_file(bad))
    await until(lambda: _open_box() is not None)
    box = _open_box()
    assert box is not None and "Nothing was imported" in box.text()
    connection = client._ws
    assert connection is not None
    await asyncio.sleep(HOLD)
    assert connection.latency > 0, "no keep-alive pong while the box was open"
    box.accept()
    await importing
    window.close()
    await asyncio.wait_for(client.close(), 3)
    await asyncio.wait_for(hub.stop(), 3)
    store.close()
    return 0


def main() -> int:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(hold_and_quit(Path(sys.argv[1])))


if __name__ == "__main__":
    sys.exit(main())
