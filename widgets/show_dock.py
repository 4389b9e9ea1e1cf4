"""The "On stream" dock: what viewers see now, and the host's controls for it.

It shows the hub's ``show`` state (pinned product, deal, featured item, shelf) and turns
the host's clicks into requests; it never changes that state by itself, so every staff
console shows the same show. The deal countdown runs on the hub's clock (the offset
measured at ``welcome``), like the viewers' countdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, MoneyError, format_money, parse_decimal
from console.domain.reviews import stars, summarise
from console.domain.selling import countdown
from widgets.products_dock import price_text

_REVIEW_ID = Qt.ItemDataRole.UserRole
_PRODUCT_ID = Qt.ItemDataRole.UserRole
#: Narrowest a row's small buttons ("Up", "Remove") may get when the dock is narrow.
SMALL_BUTTON_WIDTH = 56
#: The deal price field's example while nothing is pinned.
NO_EXAMPLE_PRICE = "e.g. 19.99"


def example_deal_price(product: protocol.Product) -> str:
    """The price field's example: a fifth off the lowest regular price.

    It has to be a price the hub would take (above zero, under the regular price), in
    the product's currency: "e.g. €0.00" was refused when typed.
    """
    low = min((v.price for v in product.variants), default=0)
    example = low * 4 // 5
    if example <= 0:
        return NO_EXAMPLE_PRICE
    return f"e.g. {format_money(Money(example, product.currency))}"


class ShowDock(QDockWidget):
    pin_requested = Signal(str)
    unpin_requested = Signal()
    shelf_requested = Signal(list)
    #: price (minor units), seconds, max units (0: no cap)
    deal_requested = Signal(int, float, int)
    end_deal_requested = Signal()
    feature_review_requested = Signal(str)
    clear_featured_requested = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("On stream", parent)
        self.setObjectName("show-dock")
        self.state = protocol.ShowState(seq=0)
        self.clock_offset = 0.0
        #: The open "end the deal?" question, while the host has not answered it.
        self.deal_question: QMessageBox | None = None
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self._build_pinned(body))
        column.addWidget(self._build_deal(body))
        column.addWidget(self._build_reviews(body), 1)
        column.addWidget(self._build_shelf(body))
        # On a laptop screen the controls are taller than the dock: scroll, never squash.
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(250)
        self.apply(self.state)

    # ------------------------------------------------------------ building

    def _build_pinned(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Pinned", parent)
        layout = QVBoxLayout(box)
        self.pinned_title = QLabel(box)
        self.pinned_title.setObjectName("pinned-title")
        self.pinned_title.setAccessibleName("Pinned product")
        self.pinned_title.setWordWrap(True)
        font = self.pinned_title.font()
        font.setBold(True)
        self.pinned_title.setFont(font)
        layout.addWidget(self.pinned_title)
        self.pinned_detail = QLabel(box)
        self.pinned_detail.setAccessibleName("Pinned product price and stock")
        self.pinned_detail.setWordWrap(True)  # on one line, it widened the whole dock
        layout.addWidget(self.pinned_detail)
        self.featured = QLabel(box)
        self.featured.setAccessibleName("Featured on stream")
        self.featured.setWordWrap(True)
        layout.addWidget(self.featured)
        row = QHBoxLayout()
        self.unpin_button = QPushButton("Unpin", box)
        self.unpin_button.setToolTip("Take the product off the stream (Ctrl+U)")
        self.unpin_button.setShortcut(QKeySequence("Ctrl+U"))
        self.unpin_button.clicked.connect(self._unpin)
        row.addWidget(self.unpin_button)
        self.clear_featured = QPushButton("Clear featured", box)
        self.clear_featured.setToolTip("Remove the featured review or comment from the video")
        self.clear_featured.clicked.connect(self.clear_featured_requested)
        row.addWidget(self.clear_featured)
        row.addStretch(1)
        layout.addLayout(row)
        return box

    def _build_deal(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Flash deal", parent)
        form = QFormLayout(box)
        self.deal_price = QLineEdit(box)
        self.deal_price.setPlaceholderText(NO_EXAMPLE_PRICE)
        self.deal_price.setAccessibleName("Deal price")
        form.addRow("Price", self.deal_price)
        self.deal_seconds = QSpinBox(box)
        self.deal_seconds.setRange(5, 3600)
        self.deal_seconds.setValue(60)
        self.deal_seconds.setSuffix(" s")
        self.deal_seconds.setAccessibleName("Deal duration in seconds")
        form.addRow("Duration", self.deal_seconds)
        self.deal_max = QSpinBox(box)
        self.deal_max.setRange(0, 100_000)
        self.deal_max.setSpecialValueText("no cap")
        self.deal_max.setAccessibleName("Units at the deal price (0 for no cap)")
        form.addRow("Units", self.deal_max)
        row = QHBoxLayout()
        self.deal_start = QPushButton("Start deal", box)
        self.deal_start.setShortcut(QKeySequence("Ctrl+D"))
        self.deal_start.setToolTip("Start the deal on the pinned product (Ctrl+D)")
        self.deal_start.clicked.connect(self._start_deal)
        row.addWidget(self.deal_start)
        self.deal_end = QPushButton("End deal", box)
        self.deal_end.clicked.connect(self.end_deal_requested)
        row.addWidget(self.deal_end)
        form.addRow(row)
        self.countdown = QLabel(box)
        self.countdown.setObjectName("deal-countdown")
        self.countdown.setAccessibleName("Deal time left")
        form.addRow(self.countdown)
        return box

    def _build_reviews(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Reviews of the pinned product", parent)
        layout = QVBoxLayout(box)
        self.review_summary = QLabel(box)
        self.review_summary.setAccessibleName("Review summary")
        self.review_summary.setTextFormat(Qt.TextFormat.PlainText)
        self.review_summary.setWordWrap(True)
        layout.addWidget(self.review_summary)
        self.reviews = QListWidget(box)
        self.reviews.setAccessibleName("Reviews")
        self.reviews.setMinimumHeight(140)
        self.reviews.setWordWrap(True)
        self.reviews.itemActivated.connect(self._feature_item)
        layout.addWidget(self.reviews, 1)
        self.feature_button = QPushButton("Feature on stream", box)
        self.feature_button.setToolTip("Show the selected review over the video (Enter)")
        self.feature_button.clicked.connect(lambda: self._feature_item(self.reviews.currentItem()))
        layout.addWidget(self.feature_button)
        return box

    def _build_shelf(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("Shelf (keys 1 to 9 pin)", parent)
        layout = QVBoxLayout(box)
        self.shelf = QListWidget(box)
        self.shelf.setAccessibleName("Products on the shelf")
        self.shelf.setMaximumHeight(150)
        self.shelf.itemActivated.connect(
            lambda item: self.pin_requested.emit(item.data(_PRODUCT_ID))
        )
        layout.addWidget(self.shelf)
        row = QHBoxLayout()
        buttons = []
        for text, step in (("Up", -1), ("Down", 1)):
            button = QPushButton(text, box)
            button.clicked.connect(lambda _=False, s=step: self._move(s))
            buttons.append(button)
        remove = QPushButton("Remove", box)
        remove.clicked.connect(self._remove)
        buttons.append(remove)
        for button in buttons:
            # The style's 80 px per button made this row wider than the dock at its
            # narrowest, and the whole dock then scrolled sideways.
            button.setMinimumWidth(SMALL_BUTTON_WIDTH)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        return box

    # ------------------------------------------------------------ state from the hub

    def set_clock(self, hub_now: float) -> None:
        self.clock_offset = hub_now - time.time()

    def apply(self, state: protocol.ShowState) -> None:
        self.state = state
        pinned = state.pinned
        self.unpin_button.setEnabled(pinned is not None)
        self.deal_start.setEnabled(pinned is not None)
        self.deal_end.setEnabled(state.deal is not None)
        if pinned is None:
            self.pinned_title.setText("Nothing pinned")
            self.pinned_detail.setText(
                "Pin a product: Enter in Products, drag it to the video, or keys 1 to 9."
            )
            self.deal_price.setPlaceholderText(NO_EXAMPLE_PRICE)
        else:
            self.pinned_title.setText(pinned.title)
            self._show_detail()
            self.deal_price.setPlaceholderText(example_deal_price(pinned))
        featured = state.featured
        self.clear_featured.setEnabled(featured is not None)
        if featured is None:
            self.featured.setText("")
        else:
            lead = stars(featured.rating or 0) if featured.kind == "review" else "Comment"
            self.featured.setText(f"On the video: {lead} “{featured.text}” — {featured.author}")
        self._fill_reviews(pinned)
        self._fill_shelf(state.shelf)
        self._tick()

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        for product in (self.state.pinned, *self.state.shelf):
            if product is not None and product.id == product_id:
                for variant in product.variants:
                    if variant.sku == sku:
                        variant.stock = stock
        self._show_detail()

    def add_review(self, product_id: str, review: protocol.Review) -> None:
        pinned = self.state.pinned
        if pinned is not None and pinned.id == product_id:
            pinned.reviews.insert(0, review)
            self._fill_reviews(pinned)

    def deal_ended(self, product_id: str) -> None:
        """A deal ended; the one shown goes only if it is that deal (a ``show`` follows)."""
        if self.state.deal is None or self.state.deal.product_id != product_id:
            return
        self.state.deal = None
        self.deal_end.setEnabled(False)
        self._show_detail()
        self._tick()

    def _show_detail(self) -> None:
        pinned = self.state.pinned
        if pinned is None:
            return
        left = sum(v.stock for v in pinned.variants)
        stock = "sold out" if left == 0 else f"{left} left"
        price = price_text(pinned)
        deal = self.state.deal
        if deal is not None and deal.product_id == pinned.id:
            price = f"deal {format_money(Money(deal.price, deal.currency))} (regular {price})"
        self.pinned_detail.setText(f"{price} · {stock}")

    def _fill_reviews(self, product: protocol.Product | None) -> None:
        self.reviews.clear()
        reviews = product.reviews if product is not None else []
        summary = summarise(reviews)
        self.feature_button.setEnabled(bool(reviews))
        if summary.average is None:
            self.review_summary.setText("No reviews yet.")
            return
        bars = "\n".join(
            f"{n}★ {'█' * round(10 * count / summary.count):<10} {count}"
            for n, count in summary.distribution.items()
        )
        self.review_summary.setText(
            f"{summary.average:.1f} ★ from {summary.count} reviews "
            f"({summary.owners} verified owners)\n{bars}"
        )
        picks = []
        if summary.latest is not None:
            picks.append(("Latest", summary.latest))
        if summary.most_critical is not None and summary.most_critical is not summary.latest:
            picks.append(("Most critical", summary.most_critical))
        shown = {review.id for _, review in picks}
        picks += [("", r) for r in reviews if r.id not in shown]
        for label, review in picks:
            owner = " · Verified owner" if review.verified_owner else ""
            lead = f"{label}: " if label else ""
            item = QListWidgetItem(
                f"{lead}{stars(review.rating)} {review.author}{owner}\n{review.text}"
            )
            item.setData(_REVIEW_ID, review.id)
            self.reviews.addItem(item)

    def _fill_shelf(self, shelf: list[protocol.Product]) -> None:
        self.shelf.clear()
        for number, product in enumerate(shelf, start=1):
            key = f"{number}. " if number <= 9 else "    "
            item = QListWidgetItem(f"{key}{product.title} — {price_text(product)}")
            item.setData(_PRODUCT_ID, product.id)
            self.shelf.addItem(item)

    def _left(self, deal: protocol.DealInfo) -> str:
        """The deal's time left by the hub's clock, as the countdown shows it ("1:35")."""
        return countdown(deal.ends, time.time() + self.clock_offset)

    def _tick(self) -> None:
        deal = self.state.deal
        if deal is None:
            self.countdown.setText("No deal running.")
            return
        cap = f" · {deal.sold}/{deal.max_units} sold" if deal.max_units else f" · {deal.sold} sold"
        price = format_money(Money(deal.price, deal.currency))
        self.countdown.setText(f"DEAL {price} · {self._left(deal)} left{cap}")

    # ------------------------------------------------------------ host actions

    def confirm_pin(self, product_id: str, title: str, pin: Callable[[bool], None]) -> None:
        """Pin at once, or first ask the host when the pin would end the running deal.

        ``pin`` gets whether the host agreed to end the deal (the hub refuses a pin
        that would end one without it). The question is a non-modal dialog: a shelf key
        pressed by mistake with 1:35 left must not end the deal, and a modal ``exec()``
        would stall the asyncio loop under qasync.
        """
        deal, pinned = self.state.deal, self.state.pinned
        if deal is None or deal.product_id == product_id or (pinned and pinned.id == product_id):
            pin(False)
            return
        on_deal = pinned.title if pinned is not None and pinned.id == deal.product_id else ""
        self._ask_end_deal(
            f"A flash deal on {on_deal or 'the pinned product'} is running "
            f"({self._left(deal)} left). Pinning {title} ends it.",
            f"End deal and pin {title}",
            lambda: pin(True),
        )

    def _unpin(self) -> None:
        if self.state.deal is None:
            self.unpin_requested.emit()
            return
        self._ask_end_deal(
            f"A flash deal is running ({self._left(self.state.deal)} left). Unpinning ends it.",
            "End deal and unpin",
            self.unpin_requested.emit,
        )

    def _ask_end_deal(self, text: str, end_label: str, then: Callable[[], None]) -> None:
        if self.deal_question is not None:
            self.deal_question.done(QMessageBox.StandardButton.Cancel)
        box = QMessageBox(QMessageBox.Icon.Question, "End the flash deal?", text, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        end = box.addButton(end_label, QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep the deal", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)

        def answered() -> None:
            self.deal_question = None
            if box.clickedButton() is end:
                then()

        box.finished.connect(answered)
        self.deal_question = box
        box.open()

    def shelf_ids(self) -> list[str]:
        return [self.shelf.item(i).data(_PRODUCT_ID) for i in range(self.shelf.count())]

    def pin_shelf_slot(self, number: int) -> None:
        ids = self.shelf_ids()
        if 1 <= number <= len(ids):
            self.pin_requested.emit(ids[number - 1])
        else:
            self.message.emit(f"The shelf has no product {number}; add some from Products.")

    def add_to_shelf(self, product_id: str) -> None:
        ids = self.shelf_ids()
        if product_id in ids:
            self.message.emit("That product is already on the shelf.")
            return
        if len(ids) >= 10:
            self.message.emit("The shelf holds 10 products; remove one first.")
            return
        self.shelf_requested.emit([*ids, product_id])

    def _move(self, step: int) -> None:
        row = self.shelf.currentRow()
        ids = self.shelf_ids()
        target = row + step
        if row < 0 or not 0 <= target < len(ids):
            return
        ids[row], ids[target] = ids[target], ids[row]
        self.shelf_requested.emit(ids)

    def _remove(self) -> None:
        row = self.shelf.currentRow()
        if row >= 0:
            ids = self.shelf_ids()
            del ids[row]
            self.shelf_requested.emit(ids)

    def _start_deal(self) -> None:
        pinned = self.state.pinned
        if pinned is None:
            self.message.emit("Pin a product first; a deal is on the pinned product.")
            return
        try:
            price = parse_decimal(self.deal_price.text(), pinned.currency).amount
        except MoneyError as exc:
            self.message.emit(f"Deal price: {exc}")
            self.deal_price.setFocus()
            return
        self.deal_requested.emit(price, float(self.deal_seconds.value()), self.deal_max.value())

    def _feature_item(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.feature_review_requested.emit(item.data(_REVIEW_ID))
