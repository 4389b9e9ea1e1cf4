"""The "Sales" dock: orders, units and revenue ticking live, per product and for the show.

Figures come from the hub's ``order`` events (counted once each by order id, so a
reconnect's replay never doubles them) after the console loads the stored orders once;
the export asks the hub for the full records, with the buyers' details, as CSV.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, format_money
from console.domain.profile import DELETED_NAME
from console.domain.sales import SalesBoard
from console.domain.words import counted

TICKER_LENGTH = 30
#: A ticker line's order: (order id, title, quantity, total, currency, time).
_ORDER = Qt.ItemDataRole.UserRole


class SalesDock(QDockWidget):
    export_requested = Signal()
    orders_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sales", parent)
        self.setObjectName("sales-dock")
        self.board = SalesBoard()
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.totals = QLabel(body)
        self.totals.setObjectName("sales-totals")
        self.totals.setAccessibleName("Show sales totals")
        font = self.totals.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.totals.setFont(font)
        column.addWidget(self.totals)

        self.table = QTableWidget(0, 4, body)
        self.table.setAccessibleName("Sales per product")
        self.table.setHorizontalHeaderLabels(("Product", "Orders", "Units", "Revenue"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        column.addWidget(self.table, 1)

        column.addWidget(QLabel("Latest orders", body))
        self.ticker = QListWidget(body)
        self.ticker.setAccessibleName("Latest orders")
        column.addWidget(self.ticker, 1)
        row = QHBoxLayout()
        self.orders_button = QPushButton("All orders…", body)
        self.orders_button.setToolTip("Every order with the buyer details, sortable (Ctrl+Shift+O)")
        self.orders_button.clicked.connect(self.orders_requested)
        row.addWidget(self.orders_button)
        row.addStretch(1)
        self.export_button = QPushButton("Export orders (CSV)…", body)
        self.export_button.setToolTip("Save every order with the buyers' details as CSV (Ctrl+E)")
        self.export_button.clicked.connect(self.export_requested)
        row.addWidget(self.export_button)
        column.addLayout(row)
        self.setWidget(body)
        self._refresh()

    def load(self, orders: Iterable[protocol.OrderRecord]) -> None:
        """The stored orders, newest first, as the hub returns them."""
        ordered = sorted(orders, key=lambda o: o.ts)
        for order in ordered:
            if self.board.add(order):
                # A deleted viewer's stored orders keep no name.
                self._tick(order, order.name or DELETED_NAME)
        self._refresh()

    def add_orders(self, orders: Iterable[protocol.OrderPlaced]) -> None:
        changed = False
        for order in orders:
            if self.board.add(order):
                changed = True
                self._tick(order, order.name)
        if changed:
            self._refresh()

    def erase(self, order_ids: Collection[str], name: str) -> None:
        """A buyer's data was deleted: their lines in the ticker are signed ``name``."""
        for row in range(self.ticker.count()):
            item = self.ticker.item(row)
            order = item.data(_ORDER)
            if order[0] in order_ids:
                item.setText(_line(name, *order[1:]))

    def _tick(self, order: protocol.OrderPlaced | protocol.OrderRecord, name: str) -> None:
        line = (order.order_id, order.title, order.quantity, order.total, order.currency, order.ts)
        item = QListWidgetItem(_line(name, *line[1:]))
        item.setData(_ORDER, line)
        self.ticker.insertItem(0, item)
        while self.ticker.count() > TICKER_LENGTH:
            self.ticker.takeItem(self.ticker.count() - 1)

    def _refresh(self) -> None:
        board = self.board
        self.totals.setText(
            f"{counted(board.orders, 'order')} · {counted(board.units, 'unit')} · "
            f"{board.revenue_text()}"
        )
        lines = sorted(board.products.values(), key=lambda p: p.revenue, reverse=True)
        self.table.setRowCount(len(lines))
        for row, line in enumerate(lines):
            cells = (
                line.title,
                str(line.orders),
                str(line.units),
                format_money(Money(line.revenue, line.currency)),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, col, item)


def _line(name: str, title: str, quantity: int, total: int, currency: str, ts: float) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(ts))
    money = format_money(Money(total, currency))
    return f"{when}  {name} — {quantity} x {title} — {money}"
