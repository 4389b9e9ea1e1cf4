"""The Shows window (issue 18 point 3): every past show with its figures and a sparkline,
a show's report opened from it, two shows compared side by side.

The shows are the report tests' two (:func:`tests.test_report.simulated_show`), written
through the store's API: show 1 sold four scarves to four viewers in ten minutes; show 2
sold three orders (two scarves to Alice, one to Bob, a mug to Carol) to its three active
viewers, and answered one of its two questions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QKeySequence

from console import protocol
from console.report.shows import compare, duration, read_shows
from tests.test_report import T0, simulated_show
from tests.test_window import until
from widgets.main_window import MainWindow
from widgets.shows_window import COLUMNS, SHORTCUT, SPARKLINE_TITLE, ShowsWindow, install


class FakeClient:
    """A staff session that answers nothing: the Shows window reads the data folder."""

    url = "ws://127.0.0.1:9/ws"

    async def request(self, message: protocol.ClientMessage, timeout: float = 10) -> None:
        return None


def test_each_show_has_the_figures_the_store_holds(data_dir: Path) -> None:
    simulated_show(data_dir, ended=True)
    second, first = read_shows(data_dir)  # newest first
    assert (first.show_id, second.show_id) == (1, 2)
    assert (first.duration, first.orders, first.units, first.revenue) == (600.0, 4, 4, 4 * 4900)
    assert (first.comments, first.peak_viewers, first.conversion) == (4, 4, 1.0)
    assert first.started == T0 - 86_400 and first.ended
    assert (second.duration, second.orders, second.units) == (600.0, 3, 4)
    assert second.revenue == 2 * 4900 + 4900 + 1500
    assert (second.comments, second.questions, second.answered) == (5, 2, 0.5)
    assert second.conversion == 1.0
    # Minute by minute, viewers who commented or bought: Alice's comment in minute 1 (Bob's
    # and Carol's lost their viewer id when the show ended: they did not choose "Remember
    # me"), Alice's and Bob's orders in minute 2, Carol's in minute 5, Alice's "bye!" in 9.
    assert second.viewers == (0, 1, 2, 0, 0, 1, 0, 0, 0, 1, 0)
    assert second.peak_viewers == 2


def test_two_shows_compare_figure_by_figure_with_the_change(data_dir: Path) -> None:
    simulated_show(data_dir, ended=True)
    second, first = read_shows(data_dir)
    lines = {line.label: line for line in compare(first, second)}
    revenue = lines["Revenue"]
    assert (revenue.first, revenue.second, revenue.change, revenue.better) == (
        "€196.00",
        "€162.00",
        "-17%",
        False,
    )
    assert (lines["Orders"].change, lines["Orders"].better) == ("-25%", False)
    assert (lines["Comments"].change, lines["Comments"].better) == ("+25%", True)
    assert (lines["Duration"].change, lines["Duration"].better) == ("+0%", None)
    assert lines["Conversion"].change == "+0 pts"
    assert lines["Questions answered"].change == "\u2013", "show 1 had no question"


def test_a_duration_reads_in_hours_minutes_or_seconds() -> None:
    assert [duration(s) for s in (40, 600, 3900, 10_800)] == [
        "40 s",
        "10 min",
        "1 h 05 min",
        "3 h 00 min",
    ]


def _console(tmp_path: Path, qtbot: Any) -> MainWindow:
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(FakeClient(), None, "http://127.0.0.1:9/", settings, None, None)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    return window


def _cells(shows: ShowsWindow, row: int) -> list[str]:
    return [shows.proxy.index(row, col).data() or "" for col in range(len(COLUMNS))]


@pytest.mark.qasync
async def test_the_shows_window_opens_from_the_menu_compares_two_and_opens_a_report(
    data_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    simulated_show(data_dir, ended=True)
    window = _console(tmp_path, qtbot)
    controller = install(window, data_dir)
    opened: list[QUrl] = []
    controller.opener = opened.append
    shows = controller.window
    menus = {a.menu().title(): a.menu() for a in window.menuBar().actions() if a.menu()}
    titles = [a.text() for a in menus["&File"].actions()]
    assert titles[titles.index("&Orders\u2026") + 1] == "S&hows\u2026"
    action = next(a for a in menus["&File"].actions() if a.text() == "S&hows\u2026")
    assert action.shortcut() == QKeySequence(SHORTCUT)

    action.trigger()
    assert shows.isVisible() and not shows.isModal()
    await until(lambda: shows.model.rowCount() == 2, timeout=60)
    assert _cells(shows, 0)[:2] == ["#2", _cells(shows, 0)[1]]
    assert _cells(shows, 0)[2:] == ["10 min", "2", "5", "3", "€162.00", "100%", "50%"]
    assert _cells(shows, 1)[2:] == ["10 min", "4", "4", "4", "€196.00", "100%", "\u2013"]
    sparkline = shows.proxy.index(0, len(COLUMNS)).data(Qt.ItemDataRole.DecorationRole)
    assert shows.model.horizontalHeaderItem(len(COLUMNS)).text() == SPARKLINE_TITLE
    assert not sparkline.isNull() and sparkline.width() == 120

    assert not shows.compare_button.isEnabled()
    shows.select_shows(1, 2)
    assert shows.compare_button.isEnabled() and not shows.open_report.isEnabled()
    qtbot.mouseClick(shows.compare_button, Qt.MouseButton.LeftButton)
    header = [shows.comparison.horizontalHeaderItem(c).text() for c in range(4)]
    assert header == ["Figure", "#1", "#2", "Change"]
    rows = {
        shows.comparison.item(r, 0).text(): [shows.comparison.item(r, c).text() for c in (1, 2, 3)]
        for r in range(shows.comparison.rowCount())
    }
    assert rows["Revenue"] == ["€196.00", "€162.00", "-17%"]
    assert rows["Units"] == ["4", "4", "+0%"]

    shows.select_shows(1)
    assert shows.open_report.isEnabled()
    qtbot.mouseClick(shows.open_report, Qt.MouseButton.LeftButton)
    await until(lambda: bool(opened), timeout=120)
    page = Path(opened[0].toLocalFile())
    assert page.name == "report.html" and page.parent.name == "show-1"
    assert "<title>Show #1 report</title>" in page.read_text(encoding="utf-8")
    assert "report.html" in shows.status.text()

    if os.environ.get("SHOPCAST_SHOWS_SCREENSHOT"):
        shows.resize(1120, 680)
        shows.grab().save(os.environ["SHOPCAST_SHOWS_SCREENSHOT"])
    window.close()


@pytest.mark.qasync
async def test_an_empty_data_folder_says_no_show_has_gone_live(tmp_path: Path, qtbot: Any) -> None:
    data_dir = tmp_path / "data"
    from console.store import Store

    Store.open(data_dir).close()
    window = _console(tmp_path, qtbot)
    controller = install(window, data_dir)
    controller.open()
    await until(lambda: "No show" in controller.window.status.text(), timeout=60)
    assert controller.window.model.rowCount() == 0
    window.close()
