"""Who is watching now: a searchable list of viewers; Enter or a double-click opens one.

The hub answers ``who`` with the viewers connected at that moment. The dock asks when it
is shown and every few seconds while it stays visible (a tabbed-away dock asks nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from console import protocol

#: How often the list is asked for again while it is visible.
REFRESH_MS = 4000
VIEWER_ID = Qt.ItemDataRole.UserRole + 1


class ViewerListDock(QDockWidget):
    refresh_requested = Signal()
    viewer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Watching", parent)
        self.setObjectName("viewer-list-dock")
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(body)
        self.search.setPlaceholderText("Search viewers by name or id")
        self.search.setAccessibleName("Search viewers watching now")
        self.search.setClearButtonEnabled(True)
        column.addWidget(self.search)
        self.count = QLabel("Nobody is watching yet.", body)
        self.count.setAccessibleName("Viewers shown")
        column.addWidget(self.count)

        self.model = QStandardItemModel(0, 1, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterRole(Qt.ItemDataRole.ToolTipRole)
        self.view = QListView(body)
        self.view.setAccessibleName("Viewers watching now")
        self.view.setToolTip("Double-click or Enter: open the viewer's profile")
        self.view.setModel(self.proxy)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.activated.connect(self._activated)
        column.addWidget(self.view, 1)
        self.setWidget(body)

        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._open_first)
        QShortcut(
            QKeySequence(Qt.Key.Key_Down), self.search, context=Qt.ShortcutContext.WidgetShortcut
        ).activated.connect(self.view.setFocus)
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh_requested)
        self.visibilityChanged.connect(self._visibility)

    def _visibility(self, visible: bool) -> None:
        if visible:
            self.refresh_requested.emit()
            self._timer.start()
        else:
            self._timer.stop()

    def set_viewers(self, viewers: Sequence[protocol.WatchingViewer]) -> None:
        """Show this list (the hub's, as of now); the search and the selection stay."""
        current = self.current_viewer()
        self.model.removeRows(0, self.model.rowCount())
        for viewer in viewers:
            item = QStandardItem(viewer.name or "(no name yet)")
            item.setData(viewer.viewer_id, VIEWER_ID)
            item.setToolTip(f"{viewer.name} · {viewer.viewer_id}")
            self.model.appendRow(item)
        self.proxy.sort(0)
        self._filter(self.search.text())
        if current is not None:
            for row in range(self.proxy.rowCount()):
                index = self.proxy.index(row, 0)
                if index.data(VIEWER_ID) == current:
                    self.view.setCurrentIndex(index)
                    break

    def failed(self, text: str) -> None:
        self.count.setText(f"Could not ask who is watching: {text}")

    def current_viewer(self) -> str | None:
        index = self.view.currentIndex()
        return str(index.data(VIEWER_ID)) if index.isValid() else None

    def names(self) -> list[str]:
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if not total:
            self.count.setText("Nobody is watching now.")
        else:
            self.count.setText(
                f"{shown} of {total} watching" if shown != total else f"{total} watching"
            )

    def _activated(self, index: QModelIndex) -> None:
        viewer_id = index.data(VIEWER_ID)
        if viewer_id:
            self.viewer_activated.emit(str(viewer_id))

    def _open_first(self) -> None:
        if self.proxy.rowCount():
            self._activated(self.proxy.index(0, 0))
