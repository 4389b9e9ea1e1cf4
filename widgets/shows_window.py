"""The Shows window (issue 18 point 3): every past show with its headline figures and a
sparkline of its viewers, its report one double-click away, two shows side by side.

The figures come from :mod:`console.report.shows` (no Qt there), read from the data
folder in a worker thread so a long history never freezes the console. The window is
non-modal and never runs a nested loop: opening a report writes it in a thread too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDesktopServices,
    QKeySequence,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.errors import ShopcastError
from console.report.shows import COLUMNS, ShowFigures, compare, pick_two

log = logging.getLogger(__name__)

#: Sorting uses this role: dates, durations and amounts sort as numbers.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Each row's first cell holds its show's figures.
FIGURES_ROLE = Qt.ItemDataRole.UserRole + 2
SPARKLINE_TITLE = "Viewers over time"
SPARKLINE_SIZE = QSize(120, 28)
SHORTCUT = "Ctrl+Shift+H"
_BETTER = QColor("#1a7f37")
_WORSE = QColor("#c62828")

Row = tuple[ShowFigures, bytes]


class ShowsWindow(QDialog):
    """The list of shows and the comparison of two; the caller loads the rows."""

    refresh_requested = Signal()
    report_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shows-window")
        self.setWindowTitle("Shows")
        self.setModal(False)
        self.resize(1120, 680)
        #: What loads the rows and writes reports; kept here so the window keeps it alive.
        self.controller: ShowsController | None = None
        column = QVBoxLayout(self)

        top = QHBoxLayout()
        self.status = QLabel("Loading the shows\u2026", self)
        self.status.setObjectName("shows-status")
        self.status.setWordWrap(True)
        top.addWidget(self.status, 1)
        self.open_report = QPushButton("Open &report", self)
        self.open_report.setToolTip("Write the selected show's report and open it (double-click)")
        self.compare_button = QPushButton("&Compare", self)
        self.compare_button.setToolTip("Select two shows (Ctrl+click) to see them side by side")
        self.refresh = QPushButton("Re&fresh", self)
        for button in (self.open_report, self.compare_button, self.refresh):
            top.addWidget(button)
        column.addLayout(top)

        self.model = QStandardItemModel(0, len(COLUMNS) + 1, self)
        self.model.setHorizontalHeaderLabels([c.title for c in COLUMNS] + [SPARKLINE_TITLE])
        for index, spec in enumerate(COLUMNS):
            if spec.tip:
                header = self.model.horizontalHeaderItem(index)
                header.setToolTip(spec.tip)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setObjectName("shows-table")
        self.table.setAccessibleName("Past shows")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(SPARKLINE_SIZE)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(SPARKLINE_SIZE.height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS), QHeaderView.ResizeMode.Stretch)

        self.comparison = QTableWidget(0, 4, self)
        self.comparison.setObjectName("shows-comparison")
        self.comparison.setAccessibleName("Two shows side by side")
        self.comparison.setHorizontalHeaderLabels(["Figure", "", "", "Change"])
        self.comparison.verticalHeader().setVisible(False)
        self.comparison.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.comparison.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.comparison.horizontalHeader().setStretchLastSection(True)
        self.comparison.verticalHeader().setDefaultSectionSize(26)
        self.comparison_title = QLabel("Select two shows and press Compare.", self)
        self.comparison_title.setObjectName("shows-comparison-title")
        side = QWidget(self)
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(self.comparison_title)
        side_column.addWidget(self.comparison, 1)

        # The list above, the full width for its sparklines; the two shows compared below.
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setSizes([280, 360])
        column.addWidget(splitter, 1)

        self.open_report.clicked.connect(self._request_report)
        self.compare_button.clicked.connect(self.compare_selected)
        self.refresh.clicked.connect(self.refresh_requested)
        self.table.doubleClicked.connect(lambda _index: self._request_report())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()

    # ------------------------------------------------------------ filling

    def set_shows(self, rows: Sequence[Row]) -> None:
        """Show these shows (newest first as given; the user may sort by any column)."""
        self.model.removeRows(0, self.model.rowCount())
        for figures, sparkline in rows:
            items = []
            for spec in COLUMNS:
                item = QStandardItem(spec.text(figures))
                item.setData(spec.key(figures), SORT_ROLE)
                if spec.tip:
                    item.setToolTip(spec.tip)
                items.append(item)
            items[0].setData(figures, FIGURES_ROLE)
            line = QStandardItem()
            pixmap = QPixmap()
            pixmap.loadFromData(sparkline, "PNG")
            line.setData(pixmap, Qt.ItemDataRole.DecorationRole)
            line.setData(figures.peak_viewers, SORT_ROLE)
            line.setToolTip(
                f"Viewers who commented or bought, per {figures.bucket / 60:.0f} minutes"
            )
            items.append(line)
            for item in items:
                item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
            self.model.appendRow(items)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # newest first
        if rows:
            self.status.setText(
                f"{len(rows)} show{'s' if len(rows) != 1 else ''}. Double-click one to open "
                "its report; select two and press Compare to see them side by side."
            )
        else:
            self.status.setText("No show has gone live yet: the list fills when one ends.")
        self._selection_changed()

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    # ------------------------------------------------------------ selection

    def selected(self) -> list[ShowFigures]:
        """The selected shows, in the table's order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.proxy.index(row, 0).data(FIGURES_ROLE) for row in rows]

    def select_shows(self, *show_ids: int) -> None:
        """Select these shows' rows (the keyboard and tests use it as a click would)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in range(self.proxy.rowCount()):
            figures = self.proxy.index(row, 0).data(FIGURES_ROLE)
            if figures.show_id in show_ids:
                selection.select(
                    self.proxy.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )

    def _selection_changed(self, *_args: Any) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.open_report.setEnabled(count == 1)
        self.compare_button.setEnabled(count == 2)

    def _request_report(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            self.report_requested.emit(chosen[0].show_id)

    # ------------------------------------------------------------ comparing

    def compare_selected(self) -> None:
        pair = pick_two(self.selected())
        if pair is None:
            return
        first, second = pair
        lines = compare(first, second)
        self.comparison.setHorizontalHeaderLabels(
            ["Figure", f"#{first.show_id}", f"#{second.show_id}", "Change"]
        )
        self.comparison.setRowCount(len(lines))
        for row, line in enumerate(lines):
            for col, text in enumerate((line.label, line.first, line.second, line.change)):
                item = QTableWidgetItem(text)
                if col == 3 and line.better is not None:
                    item.setForeground(QBrush(_BETTER if line.better else _WORSE))
                    item.setToolTip("better" if line.better else "worse")
                self.comparison.setItem(row, col, item)
        self.comparison_title.setText(
            f"Show #{second.show_id} against show #{first.show_id} (green: better)."
        )


def load(data_dir: Path) -> list[Row]:
    """Every show's figures and sparkline (blocking, for a worker thread). matplotlib is
    imported here, so a console that never opens the window never pays for it."""
    from console.report.charts import sparkline
    from console.report.shows import read_shows

    return [(figures, sparkline(figures.viewers)) for figures in read_shows(data_dir)]


class ShowsController:
    """Wires the window to a data folder: loads the shows when it opens, writes and
    opens a report when asked, each in a worker thread."""

    def __init__(self, window: ShowsWindow, data_dir: Path) -> None:
        self.window = window
        self.data_dir = data_dir
        window.controller = self
        self._tasks: set[asyncio.Task[Any]] = set()
        #: How a written report is opened: the desktop's browser.
        self.opener: Callable[[QUrl], object] = QDesktopServices.openUrl
        window.refresh_requested.connect(lambda: self._spawn(self.reload()))
        window.report_requested.connect(lambda show: self._spawn(self.open_report(show)))

    def open(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.table.setFocus()
        self._spawn(self.reload())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> None:
        self.window.set_status("Loading the shows\u2026")
        try:
            rows = await asyncio.to_thread(load, self.data_dir)
        except ShopcastError as exc:
            self.window.set_status(str(exc))
            return
        self.window.set_shows(rows)

    async def open_report(self, show_id: int) -> Path | None:
        """Write show ``show_id``'s report (again: an open show has grown) and open it."""
        from console.report import write_report

        self.window.set_status(f"Writing the report of show #{show_id}\u2026")
        try:
            files = await asyncio.to_thread(write_report, self.data_dir, show_id)
        except ShopcastError as exc:
            self.window.set_status(str(exc))
            return None
        page = files[0]
        self.window.set_status(f"Show #{show_id}'s report: {page}")
        self.opener(QUrl.fromLocalFile(str(page)))
        return page


def install(main_window: QMainWindow, data_dir: Path) -> ShowsController:
    """Add "Shows…" to the console's File menu (after "Orders…"), bound to :data:`SHORTCUT`."""
    controller = ShowsController(ShowsWindow(main_window), data_dir)
    action = QAction("S&hows\u2026", main_window)
    action.setObjectName("shows-action")
    action.setShortcut(QKeySequence(SHORTCUT))
    action.triggered.connect(controller.open)
    menus = [a.menu() for a in main_window.menuBar().actions() if a.menu() is not None]
    file_menu = next((m for m in menus if m.title() == "&File"), None)
    if file_menu is None:
        file_menu = main_window.menuBar().addMenu("&File")
    actions = file_menu.actions()
    after = next((i for i, a in enumerate(actions) if a.text() == "&Orders\u2026"), None)
    if after is not None and after + 1 < len(actions):
        file_menu.insertAction(actions[after + 1], action)
    else:
        file_menu.addAction(action)
    return controller
