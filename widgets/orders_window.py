"""Every order of the show in one sortable, searchable table, with the CSV export at hand.

The Sales dock ticks the latest orders; this window is where the host (or whoever
handles a buyer's "where is my order?") looks one up by buyer, email, product or id.
Rows are the hub's stored records (``GetOrders``), fetched again while the window is
open and an order arrives, so the table shows the buyer details the live events leave
out.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, format_money

COLUMNS = ("Time", "Order", "Buyer", "Email", "Country", "Product", "SKU", "Qty", "Total", "Status")
#: Sorting uses this role: times and amounts sort as numbers, not as their text.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The buyer's viewer id, on every row's first cell (a double-click opens their profile).
VIEWER_ROLE = Qt.ItemDataRole.UserRole + 2
#: Orders arriving in a burst (a flash drop) cause one fetch, not one each.
REFRESH_DELAY_MS = 500


class OrdersWindow(QDialog):
    refresh_requested = Signal()
    export_requested = Signal()
    viewer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("orders-window")
        self.setWindowTitle("Orders")
        self.setModal(False)
        self.resize(960, 520)
        column = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search by buyer, email, product, SKU or order id")
        self.search.setAccessibleName("Search orders")
        self.search.setClearButtonEnabled(True)
        top.addWidget(self.search, 1)
        self.count = QLabel(self)
        self.count.setAccessibleName("Orders shown")
        top.addWidget(self.count)
        column.addLayout(top)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.textChanged.connect(self._filter)
        self.table = QTableView(self)
        self.table.setAccessibleName("Orders")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setToolTip("Double-click or Enter: open the buyer's viewer profile")
        self.table.activated.connect(
            lambda index: self.viewer_activated.emit(
                str(index.siblingAtColumn(0).data(VIEWER_ROLE) or "")
            )
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Product"), QHeaderView.ResizeMode.Stretch)
        column.addWidget(self.table, 1)

        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.export_button = QPushButton("Export orders (CSV)…", self)
        self.export_button.clicked.connect(self.export_requested)
        bottom.addWidget(self.export_button)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        bottom.addWidget(close)
        column.addLayout(bottom)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)

        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh.timeout.connect(self.refresh_requested)

    def set_orders(self, orders: Sequence[protocol.OrderRecord]) -> None:
        """Show these records (the hub's, newest first); the sort and search stay as set."""
        self.model.removeRows(0, self.model.rowCount())
        for order in orders:
            self.model.appendRow(_row(order))
        self._filter(self.search.text())

    def order_arrived(self) -> None:
        """A new order was placed: fetch the records again soon, if anyone is looking."""
        if self.isVisible():
            self._refresh.start()

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total}" if shown != total else f"{total} orders")


def _row(order: protocol.OrderRecord) -> list[QStandardItem]:
    when = datetime.datetime.fromtimestamp(order.ts).strftime("%Y-%m-%d %H:%M:%S")
    status = order.status + (" (deal)" if order.deal else "")
    cells: list[tuple[str, object]] = [
        (when, order.ts),
        (order.order_id, order.order_id),
        (order.name, order.name.casefold()),
        (order.email, order.email.casefold()),
        (order.country, order.country),
        (order.title, order.title.casefold()),
        (order.sku, order.sku),
        (str(order.quantity), order.quantity),
        (format_money(Money(order.total, order.currency)), order.total),
        (status, status),
    ]
    items = []
    for text, key in cells:
        item = QStandardItem(text)
        item.setData(key, SORT_ROLE)
        items.append(item)
    items[0].setData(order.viewer_id, VIEWER_ROLE)
    for index in (COLUMNS.index("Qty"), COLUMNS.index("Total")):
        items[index].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return items
