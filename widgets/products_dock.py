"""The products dock: the room's catalogue with image, title, price and stock.

Images come from the hub over HTTP (``/images/<file>``), so a remote console shows
the same shelf as the host's without a copy of the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QUrl,
)
from PySide6.QtGui import QPixmap
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, format_money

_Index = QModelIndex | QPersistentModelIndex
THUMB = 48


class Column(IntEnum):
    PRODUCT = 0
    PRICE = 1
    STOCK = 2


def price_text(product: protocol.Product) -> str:
    prices = [v.price for v in product.variants]
    if not prices:
        return "—"
    low, high = min(prices), max(prices)
    text = format_money(Money(low, product.currency))
    return text if low == high else f"from {text}"


def stock_text(product: protocol.Product) -> str:
    total = sum(v.stock for v in product.variants)
    return "Sold out" if total == 0 else str(total)


def stock_tooltip(product: protocol.Product) -> str:
    lines = [
        f"{' / '.join(v.options.values()) or v.sku}: "
        + (f"{v.stock} left" if v.stock else "sold out")
        for v in product.variants
    ]
    return "\n".join(lines)


class ProductsModel(QAbstractTableModel):
    def __init__(self, network: QNetworkAccessManager) -> None:
        super().__init__()
        self._products: list[protocol.Product] = []
        self._images: dict[str, QPixmap] = {}
        self._network = network
        self.image_base = ""

    def set_products(self, products: Sequence[protocol.Product]) -> None:
        self.beginResetModel()
        self._products = list(products)
        self.endResetModel()
        for product in self._products:
            if product.image and product.image not in self._images:
                self._fetch(product.image)

    def product(self, row: int) -> protocol.Product:
        return self._products[row]

    def _fetch(self, image: str) -> None:
        if not self.image_base:
            return
        reply = self._network.get(QNetworkRequest(QUrl(self.image_base + image)))
        reply.finished.connect(lambda: self._image_arrived(image, reply))

    def _image_arrived(self, image: str, reply: QNetworkReply) -> None:
        reply.deleteLater()
        if reply.error() != QNetworkReply.NetworkError.NoError:
            return
        pixmap = QPixmap()
        if pixmap.loadFromData(reply.readAll().data()):
            self._images[image] = pixmap.scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            for row, product in enumerate(self._products):
                if product.image == image:
                    index = self.index(row, Column.PRODUCT)
                    self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._products)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return ("Product", "Price", "Stock")[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        product = self._products[index.row()]
        column = Column(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column is Column.PRODUCT:
                return product.title
            if column is Column.PRICE:
                return price_text(product)
            return stock_text(product)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.PRODUCT:
            return self._images.get(product.image or "")
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.STOCK:
                return stock_tooltip(product)
            return f"{product.title} — {product.vendor}\n{product.description}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column is not Column.PRODUCT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return product.id
        return None


class ProductsDock(QDockWidget):
    def __init__(self, network: QNetworkAccessManager, parent: QWidget | None = None) -> None:
        super().__init__("Products", parent)
        self.setObjectName("products-dock")
        self.model = ProductsModel(network)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(Column.PRODUCT)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(body)
        self.search.setPlaceholderText("Search products…")
        self.search.setAccessibleName("Search products")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        layout.addWidget(self.search)

        self.table = QTableView(body)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Product catalogue")
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.PRODUCT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(Column.PRICE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.STOCK, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
