"""The console window's life: going live and ending, recording, quitting, its first layout."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from console.client import StaffClient
from console.hub.server import Hub
from media.recorder import Recorder
from tests.support.stream import controls_on_air
from tests.test_window import running_console, until
from widgets.main_window import MainWindow
from widgets.stream_controls import StreamControls

pytestmark = pytest.mark.qasync


def answer(box: QMessageBox | None, text: str) -> None:
    """Click the button of ``box`` that says ``text``."""
    assert box is not None and box.isVisible(), "no question is open"
    [button] = [b for b in box.buttons() if b.text() == text]
    button.click()


def no_modal_dialog() -> bool:
    return QApplication.activeModalWidget() is None or not isinstance(
        QApplication.activeModalWidget(), QMessageBox
    )


async def activate(window: QMainWindow) -> None:
    window.activateWindow()
    await until(lambda: QApplication.activeWindow() is window)


def press(window: QMainWindow, key: Qt.Key) -> None:
    QTest.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)


def recordings(controls: StreamControls) -> list[Recorder]:
    return [o for o in controls._broadcast.outputs if isinstance(o, Recorder)]


async def test_ctrl_l_and_ctrl_r_work_every_time_and_ending_asks_first(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        controls = window.stream
        assert controls is not None
        controls.record_target = tmp_path / "recordings"
        for _ in range(3):
            # The question closed: a desktop gives the window back the keyboard.
            await activate(window)
            press(window, Qt.Key.Key_L)
            await until(lambda: controls.live and controls.button.text() == "End show")
            for recording in (True, False, True):
                press(window, Qt.Key.Key_R)
                await until(lambda on=recording: bool(recordings(controls)) == on)
            press(window, Qt.Key.Key_L)
            await until(lambda: controls.end_question is not None)
            assert controls.live, "Ctrl+L while live asks; the show goes on meanwhile"
            answer(controls.end_question, "End show")
            await until(lambda: not controls.live and controls.button.isEnabled())
            assert controls.button.text() == "Go live"


async def test_end_show_asks_and_keep_streaming_keeps_the_show_on(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        controls = window.stream
        assert controls is not None
        controls.button.click()
        await until(lambda: controls.live and controls.button.isEnabled())
        controls.button.click()
        await until(lambda: controls.end_question is not None)
        answer(controls.end_question, "Keep streaming")
        await until(lambda: controls.end_question is None)
        await asyncio.sleep(0.2)
        assert controls.live
        controls.button.click()
        answer(controls.end_question, "End show")
        await until(lambda: not controls.live)


async def test_quitting_a_live_show_asks_and_quits_once_confirmed(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        controls = window.stream
        assert controls is not None
        closed: list[bool] = []
        window.closed.connect(lambda: closed.append(True))
        controls.button.click()
        await until(lambda: controls.live)
        await activate(window)
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: window.quit_question is not None)
        assert window.isVisible() and not closed, "Ctrl+Q while live quit at once"
        answer(window.quit_question, "Keep streaming")
        await until(lambda: window.quit_question is None)
        assert window.isVisible() and controls.live and not closed
        window.close()
        answer(window.quit_question, "End show and quit")
        await until(lambda: bool(closed))
        assert not window.isVisible()


async def test_the_stream_menu_holds_go_live_end_show_and_record_with_their_keys(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, _hub):
        [menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Stream"]
        actions = {a.text(): a.shortcut().toString() for a in menu.actions() if a.text()}
        assert actions["&Go live"] == "Ctrl+L"
        assert actions["&Record"] == "Ctrl+R"
        assert "Stream &settings…" in actions
        assert window.stream is not None
        window.stream.live_action.trigger()
        await until(lambda: window.stream is not None and window.stream.live)
        window.stream.refresh()
        assert {a.text() for a in menu.actions()} >= {"&End show…", "&Record"}
        assert window.stream.record_action.isEnabled()


async def test_recording_to_the_default_place_creates_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new user's videos folder has no Shopcast folder yet (nor, here, a Videos one).
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    async with controls_on_air() as (controls, broadcast):
        assert controls.record_target is None, "no --record: the default place"
        assert controls.recordings_folder() == tmp_path / "Videos" / "Shopcast"
        controls.button.click()
        await until(lambda: broadcast.live and controls.record_button.isEnabled())
        controls.record_button.click()
        assert controls.record_button.isChecked(), controls.problem.text()
        assert not controls.problem.isVisible()
        [recorder] = recordings(controls)
        assert recorder.path.parent == tmp_path / "Videos" / "Shopcast"
        assert recorder.path.exists()


async def test_a_recording_that_fails_says_why_in_the_strip_until_one_starts(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    async with controls_on_air() as (controls, broadcast):
        controls.record_target = blocker / "show.mkv"
        controls.button.click()
        await until(lambda: broadcast.live and controls.record_button.isEnabled())
        controls.record_button.click()
        assert controls.problem.isVisible()
        assert str(blocker) in controls.problem.text()
        assert "a file, not a folder" in controls.problem.text()
        controls.record_target = tmp_path / "show.mkv"
        controls.record_button.click()
        assert controls.record_button.isChecked()
        assert not controls.problem.isVisible()


async def test_the_health_line_is_whole_while_recording_and_its_tooltip_explains_it(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, _hub):
        window.resize(1444, 850)
        controls = window.stream
        assert controls is not None
        controls.record_target = tmp_path / "a show with a long name, recorded today.mkv"
        controls.button.click()
        await until(lambda: controls.live and controls.record_button.isEnabled())
        controls.record_button.click()
        await until(lambda: "fps" in controls.health.text(), timeout=10)
        assert controls.recording.text().startswith("REC ")
        health = controls.health
        assert health.fontMetrics().horizontalAdvance(health.text()) <= health.width()
        tip = health.toolTip()
        assert tip != health.text()
        for part in ("fps", "Mb/s", "encoder", "dropped", "on video"):
            assert f"{part}:" in tip


async def test_the_first_layout_gives_the_chat_the_room_and_tabs_the_viewer_panel(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, _hub):
        window.resize(1444, 850)
        await asyncio.sleep(0.2)
        below = window.team.moderation
        assert window.dockWidgetArea(below) == window.dockWidgetArea(window.chat)
        assert window.chat.height() >= 1.5 * below.height()
        assert window.profile.visibleRegion().isEmpty(), "an empty Viewer panel shows"
        window.open_profile("ann-viewer-1")
        await until(lambda: not window.profile.visibleRegion().isEmpty())


@contextlib.asynccontextmanager
async def remote_console(hub: Hub, token: str, tmp_path: Path) -> AsyncIterator[MainWindow]:
    """A staff console of another machine (``--connect``): no video, the hub's docks."""
    holder: list[MainWindow] = []
    client = StaffClient(
        hub.local_ws_url,
        token,
        role="staff",
        on_messages=lambda m: holder[0].on_messages(m) if holder else None,
        on_state=lambda s, t: holder[0].on_connection_state(s, t) if holder else None,
    )
    settings = QSettings(str(tmp_path / "team.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, None, hub.viewer_url, settings, None, None)
    holder.append(window)
    window.show()
    client.start()
    try:
        yield window
    finally:
        await client.close()
        window.close()
        window.deleteLater()
        await asyncio.sleep(0.05)
        holder.clear()
        del window
        gc.collect()


async def test_a_refused_remote_console_shows_why_and_no_role_until_welcomed(
    hub: Hub, tmp_path: Path
) -> None:
    async with remote_console(hub, "not-a-token", tmp_path) as window:
        waiting = window.waiting
        assert waiting is not None and window.centralWidget() is waiting
        await until(lambda: "Cannot join the show" in waiting.text())
        assert "token" in waiting.text()
        assert no_modal_dialog(), "the refusal must not be a modal box over the window"
        assert not any(dock.isVisible() for dock in window._docks()), "a role's docks show"
        assert not any(action.isVisible() for action in window._host_actions)

    async with remote_console(hub, hub.issue_token("moderator", "Mo"), tmp_path) as window:
        await until(lambda: window.chat.isVisible())
        assert window.waiting is None and window.centralWidget() is None
        assert window.chat.input.placeholderText() == "Say something to the room as moderator…"
        assert not window.products.isVisible()
