"""The products dock: the room's catalogue with image, title, price and stock.

Images come from the hub over HTTP (``/images/<file>``), so a remote console shows
the same shelf as the host's without a copy of the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, MoneyError, format_money, parse_decimal
from widgets.preview import PRODUCT_MIME

_Index = QModelIndex | QPersistentModelIndex
THUMB = 48
LOW_STOCK = 5


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

    def product_by_id(self, product_id: str) -> protocol.Product | None:
        return next((p for p in self._products if p.id == product_id), None)

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        """Apply a ``stock`` event: one variant's units left, as the hub counts them."""
        for row, product in enumerate(self._products):
            if product.id != product_id:
                continue
            for variant in product.variants:
                if variant.sku == sku:
                    variant.stock = stock
            index = self.index(row, Column.STOCK)
            self.dataChanged.emit(index, index)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return [PRODUCT_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        if indexes:
            product = self._products[indexes[0].row()]
            data.setData(PRODUCT_MIME, QByteArray(product.id.encode()))
            data.setText(product.title)
        return data

    def _fetch(self, image: str) -> None:
        if not self.image_base:
            return
        # An imported product's picture is a link to the shop's CDN; demo ones are files.
        url = image if image.startswith("https://") else self.image_base + image
        reply = self._network.get(QNetworkRequest(QUrl(url)))
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


class StockFilter(QSortFilterProxyModel):
    """Search by title, vendor or SKU, and filter by how much stock is left."""

    MODES = ("All products", "In stock", f"Low stock (≤ {LOW_STOCK})", "Sold out")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._mode = 0

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.casefold().strip()
        self.endFilterChange()

    def set_mode(self, mode: int) -> None:
        self.beginFilterChange()
        self._mode = mode
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: _Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, ProductsModel)
        product = model.product(row)
        if self._text:
            haystack = " ".join(
                (product.title, product.vendor, *(v.sku for v in product.variants))
            ).casefold()
            if self._text not in haystack:
                return False
        total = sum(v.stock for v in product.variants)
        return (
            self._mode == 0
            or (self._mode == 1 and total > 0)
            or (self._mode == 2 and 0 < total <= LOW_STOCK)
            or (self._mode == 3 and total == 0)
        )


class VariantColumn(IntEnum):
    VARIANT = 0
    PRICE = 1
    STOCK = 2


class VariantsModel(QAbstractTableModel):
    """The selected product's variants; price and stock are edited in place.

    An edit is not applied here: it becomes a request to the hub, and the table shows
    the new value when the hub's answer (or its ``stock`` event) comes back.
    """

    edit_requested = Signal(str, object, object)
    edit_failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.product: protocol.Product | None = None

    def set_product(self, product: protocol.Product | None) -> None:
        self.beginResetModel()
        self.product = product
        self.endResetModel()

    def refresh(self) -> None:
        if self.product is not None and self.product.variants:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.product.variants) - 1, len(VariantColumn) - 1)
            )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self.product is None:
            return 0
        return len(self.product.variants)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(VariantColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return ("Variant", "Price", "Stock")[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() != VariantColumn.VARIANT:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self.product is None:
            return None
        variant = self.product.variants[index.row()]
        column = VariantColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column is VariantColumn.VARIANT:
                return " / ".join(variant.options.values()) or variant.sku
            if column is VariantColumn.PRICE:
                return format_money(Money(variant.price, self.product.currency))
            return str(variant.stock) if variant.stock else "Sold out"
        if role == Qt.ItemDataRole.EditRole:
            if column is VariantColumn.PRICE:
                return format_money(Money(variant.price, self.product.currency))
            if column is VariantColumn.STOCK:
                return variant.stock
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is VariantColumn.VARIANT:
                return f"SKU {variant.sku}"
            return "Double-click or F2 to edit"
        if role == Qt.ItemDataRole.TextAlignmentRole and column is not VariantColumn.VARIANT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: _Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or self.product is None or not index.isValid():
            return False
        variant = self.product.variants[index.row()]
        if index.column() == VariantColumn.STOCK:
            if not isinstance(value, int) or value < 0 or value == variant.stock:
                return False
            self.edit_requested.emit(variant.sku, None, value)
            return True
        if index.column() == VariantColumn.PRICE:
            try:
                price = parse_decimal(str(value), self.product.currency).amount
            except MoneyError as exc:
                self.edit_failed.emit(str(exc))
                return False
            if price != variant.price:
                self.edit_requested.emit(variant.sku, price, None)
            return True
        return False


class ProductsDock(QDockWidget):
    """The catalogue: search and filter, pin (Enter, double-click, or drag to the video),
    put products on the show's shelf, edit a variant's price and stock in place, import.
    """

    pin_requested = Signal(str)
    shelf_requested = Signal(str)
    import_requested = Signal()

    def __init__(self, network: QNetworkAccessManager, parent: QWidget | None = None) -> None:
        super().__init__("Products", parent)
        self.setObjectName("products-dock")
        self.model = ProductsModel(network)
        self.proxy = StockFilter(self)
        self.proxy.setSourceModel(self.model)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.search = QLineEdit(body)
        self.search.setPlaceholderText("Search title, vendor or SKU…")
        self.search.setAccessibleName("Search products")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        row.addWidget(self.search, 1)
        self.filter = QComboBox(body)
        self.filter.addItems(StockFilter.MODES)
        self.filter.setAccessibleName("Filter products by stock")
        self.filter.currentIndexChanged.connect(self.proxy.set_mode)
        row.addWidget(self.filter)
        layout.addLayout(row)

        self.table = QTableView(body)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Product catalogue")
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setDragEnabled(True)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.table.setSortingEnabled(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.PRODUCT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(Column.PRICE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.STOCK, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _index: self._pin_selected())
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        layout.addWidget(self.table, 3)

        buttons = QHBoxLayout()
        self.pin_button = QPushButton("Pin", body)
        self.pin_button.setToolTip(
            "Pin the selected product on stream (Enter, or drag it to the video)"
        )
        self.pin_button.clicked.connect(self._pin_selected)
        buttons.addWidget(self.pin_button)
        self.shelf_button = QPushButton("Add to shelf", body)
        self.shelf_button.setToolTip("Add to the show's shelf (keys 1 to 9 pin shelf products)")
        self.shelf_button.clicked.connect(self._shelve_selected)
        buttons.addWidget(self.shelf_button)
        buttons.addStretch(1)
        self.import_button = QPushButton("Import…", body)
        self.import_button.setToolTip(
            "Import a Shopify product CSV or a Shopcast JSON file (Ctrl+I)"
        )
        self.import_button.clicked.connect(self.import_requested)
        buttons.addWidget(self.import_button)
        layout.addLayout(buttons)

        self.variants = VariantsModel()
        self.variants_table = QTableView(body)
        self.variants_table.setModel(self.variants)
        self.variants_table.setAccessibleName("Variants of the selected product")
        self.variants_table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.variants_table.verticalHeader().hide()
        self.variants_table.setShowGrid(False)
        vheader = self.variants_table.horizontalHeader()
        vheader.setSectionResizeMode(VariantColumn.VARIANT, QHeaderView.ResizeMode.Stretch)
        vheader.setSectionResizeMode(VariantColumn.PRICE, QHeaderView.ResizeMode.ResizeToContents)
        vheader.setSectionResizeMode(VariantColumn.STOCK, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.variants_table, 2)
        self.setWidget(body)

    def selected_product(self) -> protocol.Product | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.product(self.proxy.mapToSource(index).row())

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        product = (
            self.model.product(self.proxy.mapToSource(current).row()) if current.isValid() else None
        )
        self.variants.set_product(product)

    def _pin_selected(self) -> None:
        product = self.selected_product()
        if product is not None:
            self.pin_requested.emit(product.id)

    def _shelve_selected(self) -> None:
        product = self.selected_product()
        if product is not None:
            self.shelf_requested.emit(product.id)

    def set_products(self, products: Sequence[protocol.Product]) -> None:
        selected = self.selected_product()
        self.model.set_products(products)
        if selected is not None:
            for row in range(self.model.rowCount()):
                if self.model.product(row).id == selected.id:
                    self.table.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row, 0)))
                    break
        elif self.proxy.rowCount() > 0:
            # The first product starts selected, so its variants are there to edit.
            self.table.setCurrentIndex(self.proxy.index(0, 0))

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        self.model.set_stock(product_id, sku, stock)
        if self.variants.product is not None and self.variants.product.id == product_id:
            self.variants.refresh()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.hasFocus():
            self._pin_selected()
            return
        super().keyPressEvent(event)
