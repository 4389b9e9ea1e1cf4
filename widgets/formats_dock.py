"""The "Selling" dock: comment to claim, auctions and giveaways, for the host.

Its mnemonics avoid the letters of what shows beside it (the menus, Go live, Record,
Approve, Deny, Profile), so Alt and a letter reaches one control.

Three tabs follow the hub's events (claims as they land, a cart per viewer and the
waitlist; the auction's state and each bid; the giveaway and its entries) and turn the
host's clicks into commands. Nothing changes here before the hub says so: every staff
console shows the same sale. What the lines say is :mod:`console.domain.selling`'s; the
countdowns run on the hub's clock (the offset measured at ``welcome``).

A command is sent by the window (``command``), which reports the outcome back with
:meth:`SellingDock.report`: a refusal appears here, in words, beside the controls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain import auction as auction_rules
from console.domain import giveaway as giveaway_rules
from console.domain import waitlist
from console.domain.money import Money, MoneyError, format_money, parse_decimal
from console.domain.selling import (
    AuctionBoard,
    ClaimBoard,
    GiveawayBoard,
    auction_detail,
    cart_line,
    claim_line,
    claims_mode_text,
    clock_time,
    draw_check,
    eligibility_choices,
    giveaway_headline,
    giveaway_terms,
)

#: Remembered between shows (QSettings keys).
INCREMENT_KEY = "selling/auction_increment"
AUCTION_SECONDS_KEY = "selling/auction_seconds"
ANTI_SNIPE_KEY = "selling/auction_anti_snipe"
CHECKOUT_SECONDS_KEY = "selling/auction_checkout_seconds"
GIVEAWAY_SECONDS_KEY = "selling/giveaway_seconds"
#: The defaults before the host chose: a minute of bidding, ten seconds of anti-snipe.
DEFAULT_INCREMENT = "1.00"
DEFAULT_AUCTION_SECONDS = 60
DEFAULT_ANTI_SNIPE = 10
DEFAULT_GIVEAWAY_SECONDS = 60
DEFAULT_HOLD_MINUTES = 10


def _bold(label: QLabel) -> QLabel:
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _wrapping(text: str, parent: QWidget, name: str) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAccessibleName(name)
    return label


def _captioned(caption: str, widget: QWidget) -> QWidget:
    """A list under its caption: three unlabelled lists in a column read as one."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 2, 0, 0)
    column.setSpacing(2)
    label = QLabel(caption, box)
    label.setBuddy(widget)
    column.addWidget(label)
    widget.setMinimumHeight(40)
    column.addWidget(widget, 1)
    return box


class SellingDock(QDockWidget):
    #: A command to send, what to say once done, what to call it if refused.
    command = Signal(object, str, str)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__("Selling", parent)
        self.setObjectName("selling-dock")
        self._settings = settings
        #: This machine's clock; a test gives the hub's fake one, so both run as one.
        self.wall: Callable[[], float] = time.time
        self.clock_offset = 0.0
        self.pinned: protocol.Product | None = None
        self.claims_mode = protocol.ClaimsMode(seq=0)
        self.claims = ClaimBoard()
        self.auction = AuctionBoard()
        self.giveaway = GiveawayBoard()
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.tabs = QTabWidget(body)
        self.tabs.addTab(self._build_claims(), "Claims")
        self.tabs.addTab(self._build_auction(), "Auction")
        self.tabs.addTab(self._build_giveaway(), "Giveaway")
        column.addWidget(self.tabs, 1)
        self.outcome = _wrapping("", body, "Outcome of the last selling command")
        self.outcome.setObjectName("selling-outcome")
        column.addWidget(self.outcome)
        self.setWidget(body)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(250)
        #: A burst of claims (hundreds in a second) redraws the lists once, not per claim.
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(0)
        self._redraw.timeout.connect(self._fill_claims)
        self._show_claims_mode()
        self._fill_claims()
        self._fill_auction()
        self._fill_giveaway()

    # ------------------------------------------------------------ building

    def _build_claims(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.claims_on = QCheckBox("Co&mments claim the pinned product", page)
        self.claims_on.setToolTip('Viewers comment "sold M" to hold one until they pay')
        self.claims_on.toggled.connect(self._toggle_claims)
        row.addWidget(self.claims_on, 1)
        hold = QLabel("H&old", page)
        row.addWidget(hold)
        self.claims_hold = QSpinBox(page)
        self.claims_hold.setRange(
            int(waitlist.MIN_HOLD_SECONDS // 60), int(waitlist.MAX_HOLD_SECONDS // 60)
        )
        self.claims_hold.setValue(DEFAULT_HOLD_MINUTES)
        self.claims_hold.setSuffix(" min")
        self.claims_hold.setAccessibleName("How long a claim holds its units, in minutes")
        hold.setBuddy(self.claims_hold)
        row.addWidget(self.claims_hold)
        layout.addLayout(row)
        self.claims_state = _wrapping("", page, "Claims mode")
        layout.addWidget(self.claims_state)
        split = QSplitter(Qt.Orientation.Vertical, page)
        split.setChildrenCollapsible(False)
        self.claims_list = QListWidget()
        self.claims_list.setAccessibleName("Claims as they land, newest first")
        self.carts = QTreeWidget()
        self.carts.setAccessibleName("Carts: claims per viewer with their total")
        self.carts.setHeaderHidden(True)
        self.waitlist = QListWidget()
        self.waitlist.setAccessibleName("Waitlist per variant")
        for caption, widget, stretch in (
            ("Landing (newest first)", self.claims_list, 2),
            ("Carts per viewer", self.carts, 3),
            ("Waitlist (sold-out variants)", self.waitlist, 1),
        ):
            split.addWidget(_captioned(caption, widget))
            split.setStretchFactor(split.count() - 1, stretch)
        layout.addWidget(split, 1)
        return page

    def _build_auction(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.lot = QComboBox(page)
        self.lot.setAccessibleName("Variant to auction")
        form.addRow("&Lot", self.lot)
        prices = QHBoxLayout()
        self.start_price = QLineEdit(page)
        self.start_price.setAccessibleName("Start price")
        self.start_price.setPlaceholderText("e.g. 10.00")
        prices.addWidget(self.start_price)
        prices.addWidget(QLabel("rising by", page))
        self.increment = QLineEdit(self._remembered(INCREMENT_KEY, DEFAULT_INCREMENT), page)
        self.increment.setAccessibleName("Bid increment")
        self.increment.setToolTip("Each bid raises the price by at least this much")
        prices.addWidget(self.increment)
        start_label = QLabel("Start pr&ice", page)
        start_label.setBuddy(self.start_price)
        form.addRow(start_label, prices)
        times = QHBoxLayout()
        self.auction_seconds = QSpinBox(page)
        self.auction_seconds.setRange(
            auction_rules.MIN_AUCTION_SECONDS, auction_rules.MAX_AUCTION_SECONDS
        )
        self.auction_seconds.setValue(
            self._remembered_seconds(AUCTION_SECONDS_KEY, DEFAULT_AUCTION_SECONDS)
        )
        self.auction_seconds.setSuffix(" s")
        self.auction_seconds.setAccessibleName("Auction duration in seconds")
        times.addWidget(self.auction_seconds)
        self.anti_snipe = QSpinBox(page)
        self.anti_snipe.setRange(0, auction_rules.MAX_ANTI_SNIPE_SECONDS)
        self.anti_snipe.setValue(self._remembered_seconds(ANTI_SNIPE_KEY, DEFAULT_ANTI_SNIPE))
        self.anti_snipe.setPrefix("late bid +")
        self.anti_snipe.setSuffix(" s")
        self.anti_snipe.setSpecialValueText("sudden death")
        self.anti_snipe.setAccessibleName("Anti-snipe: seconds a late bid adds (0: sudden death)")
        self.anti_snipe.setToolTip("A bid in the last seconds extends the auction by this much")
        times.addWidget(self.anti_snipe)
        duration = QLabel("&Time", page)
        duration.setBuddy(self.auction_seconds)
        form.addRow(duration, times)
        self.checkout_seconds = QSpinBox(page)
        self.checkout_seconds.setRange(
            auction_rules.MIN_CHECKOUT_SECONDS, auction_rules.MAX_CHECKOUT_SECONDS
        )
        self.checkout_seconds.setSingleStep(30)
        self.checkout_seconds.setValue(
            self._remembered_seconds(CHECKOUT_SECONDS_KEY, auction_rules.DEFAULT_CHECKOUT_SECONDS)
        )
        self.checkout_seconds.setSuffix(" s")
        self.checkout_seconds.setAccessibleName("Seconds the winner has to pay")
        self.checkout_seconds.setToolTip(
            "The winner has this long to pay; then the next bidder may buy the lot"
        )
        pay_within = QLabel("Pa&y within", page)
        pay_within.setBuddy(self.checkout_seconds)
        form.addRow(pay_within, self.checkout_seconds)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.auction_start = QPushButton("Start a&uction", page)
        self.auction_start.setToolTip(
            "Auction one unit of the chosen variant of the pinned product"
        )
        self.auction_start.clicked.connect(self._start_auction)
        row.addWidget(self.auction_start)
        self.auction_cancel = QPushButton("Call &off", page)
        self.auction_cancel.setToolTip("Cancel while bidding is open; the unit goes back on sale")
        self.auction_cancel.clicked.connect(
            lambda: self.command.emit(
                protocol.CancelAuction(), "Auction called off.", "Auction not called off"
            )
        )
        row.addWidget(self.auction_cancel)
        row.addStretch(1)
        layout.addLayout(row)
        self.auction_state = _bold(_wrapping("", page, "Auction state"))
        self.auction_state.setObjectName("auction-state")
        layout.addWidget(self.auction_state)
        self.auction_detail = _wrapping("", page, "Next bid, or until when the winner may pay")
        layout.addWidget(self.auction_detail)
        self.ladder = QTreeWidget(page)
        self.ladder.setAccessibleName("Bid ladder, newest first")
        self.ladder.setHeaderLabels(["Time", "Bidder", "Up to", ""])
        self.ladder.setRootIsDecorated(False)
        header = self.ladder.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col in (0, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.ladder, 1)
        return page

    def _build_giveaway(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.prize = QLineEdit(page)
        self.prize.setMaxLength(giveaway_rules.MAX_PRIZE_CHARS)
        self.prize.setAccessibleName("Prize")
        self.prize.setPlaceholderText("the pinned product")
        form.addRow("Pri&ze", self.prize)
        self.giveaway_seconds = QSpinBox(page)
        self.giveaway_seconds.setRange(
            giveaway_rules.MIN_GIVEAWAY_SECONDS, giveaway_rules.MAX_GIVEAWAY_SECONDS
        )
        self.giveaway_seconds.setValue(
            self._remembered_seconds(GIVEAWAY_SECONDS_KEY, DEFAULT_GIVEAWAY_SECONDS)
        )
        self.giveaway_seconds.setSuffix(" s")
        self.giveaway_seconds.setAccessibleName("Giveaway entry time in seconds")
        form.addRow("Entr&y time", self.giveaway_seconds)
        self.eligibility = QComboBox(page)
        self.eligibility.setAccessibleName("Who may enter")
        for name, text in eligibility_choices():
            self.eligibility.addItem(text, name)
        form.addRow("Open &to", self.eligibility)
        self.keyword = QLineEdit(page)
        self.keyword.setMaxLength(giveaway_rules.MAX_KEYWORD_CHARS)
        self.keyword.setAccessibleName("Keyword that enters by comment (optional)")
        self.keyword.setPlaceholderText("optional, e.g. win")
        form.addRow("&Keyword", self.keyword)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.giveaway_start = QPushButton("Start g&iveaway", page)
        self.giveaway_start.clicked.connect(self._start_giveaway)
        row.addWidget(self.giveaway_start)
        self.draw = QPushButton("Draw &winner", page)
        self.draw.setToolTip("Draw once entries closed")
        self.draw.clicked.connect(
            lambda: self.command.emit(protocol.DrawGiveaway(), "Winner drawn.", "Not drawn")
        )
        row.addWidget(self.draw)
        self.giveaway_cancel = QPushButton("Ca&ncel", page)
        self.giveaway_cancel.setToolTip("Call the giveaway off")
        self.giveaway_cancel.clicked.connect(
            lambda: self.command.emit(
                protocol.CancelGiveaway(), "Giveaway cancelled.", "Giveaway not cancelled"
            )
        )
        row.addWidget(self.giveaway_cancel)
        row.addStretch(1)
        layout.addLayout(row)
        self.giveaway_state = _bold(_wrapping("", page, "Giveaway state"))
        self.giveaway_state.setObjectName("giveaway-state")
        layout.addWidget(self.giveaway_state)
        self.giveaway_terms = _wrapping("", page, "Who may enter and how")
        layout.addWidget(self.giveaway_terms)
        self.giveaway_check = _wrapping("", page, "The draw's seed and its check")
        self.giveaway_check.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.giveaway_check)
        self.seed = QLineEdit(page)
        self.seed.setReadOnly(True)
        self.seed.setAccessibleName("The draw's seed, in hex, to copy")
        self.seed.setVisible(False)
        layout.addWidget(self.seed)
        layout.addStretch(1)
        return page

    def _remembered(self, key: str, default: object) -> str:
        if self._settings is None:
            return str(default)
        return str(self._settings.value(key, default))

    def _remembered_seconds(self, key: str, default: int) -> int:
        """A remembered duration; a settings file edited by hand falls back to the default
        (the spin box keeps it in range)."""
        try:
            return int(self._remembered(key, default))
        except ValueError:
            return default

    def _remember(self, key: str, value: object) -> None:
        if self._settings is not None:
            self._settings.setValue(key, value)

    # ------------------------------------------------------------ from the hub

    def hub_now(self) -> float:
        return self.wall() + self.clock_offset

    def set_clock(self, hub_now: float) -> None:
        """The hub's welcome: its clock, and a fresh start for the open claims (the hub
        restates each one, and each place in line, right after it)."""
        self.clock_offset = hub_now - self.wall()
        self.claims.clear()
        self._fill_claims()

    def apply_show(self, state: protocol.ShowState) -> None:
        """The pinned product: the lots an auction may sell, the giveaway's default prize."""
        self.pinned = state.pinned
        self._fill_lots()
        self.prize.setPlaceholderText(
            state.pinned.title if state.pinned is not None else "e.g. Linen shirt"
        )
        self._show_claims_mode()
        self._enable()

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        pinned = self.pinned
        if pinned is None or pinned.id != product_id:
            return
        for variant in pinned.variants:
            if variant.sku == sku:
                variant.stock = stock
        self._fill_lots()

    def set_claims(self, mode: protocol.ClaimsMode) -> None:
        """The hub's claims mode; the switch follows it, never the click alone."""
        self.claims_mode = mode
        self.claims_on.blockSignals(True)
        self.claims_on.setChecked(mode.on)
        self.claims_on.blockSignals(False)
        self.claims_hold.setValue(max(1, round(mode.hold_seconds / 60)))
        self._show_claims_mode()

    def claim_changed(
        self,
        event: protocol.ClaimCard
        | protocol.ClaimEnded
        | protocol.ClaimWaiting
        | protocol.ClaimWaitEnded,
    ) -> None:
        """A claim landed (or came from the waitlist), closed, or a viewer joined or left
        a line."""
        match event:
            case protocol.ClaimCard():
                self.claims.land(event)
            case protocol.ClaimEnded():
                self.claims.end(event.claim_id)
            case protocol.ClaimWaiting():
                self.claims.wait(event)
            case protocol.ClaimWaitEnded():
                self.claims.leave(event.viewer_id, event.sku)
        if not self._redraw.isActive():
            self._redraw.start()

    def auction_changed(self, event: protocol.AuctionState | protocol.AuctionBid) -> None:
        if isinstance(event, protocol.AuctionBid):
            self.auction.add_bid(event)
        else:
            self.auction.update(event)
        self._fill_auction()

    def giveaway_changed(self, event: protocol.GiveawayState | protocol.GiveawayEntry) -> None:
        if isinstance(event, protocol.GiveawayEntry):
            self.giveaway.enter(event)
        else:
            self.giveaway.update(event)
        self._fill_giveaway()

    def report(self, ok: bool, text: str) -> None:
        """The window's word on a command: done, or the hub's refusal in words."""
        self.outcome.setText(text)
        self.outcome.setProperty("refused", not ok)
        self.outcome.setStyleSheet("" if ok else "color: #e5484d;")

    # ------------------------------------------------------------ rendering

    def _show_claims_mode(self) -> None:
        mode, pinned = self.claims_mode, self.pinned
        self.claims_state.setText(
            claims_mode_text(
                mode.on,
                mode.product_id,
                mode.hold_seconds,
                (pinned.id, pinned.title) if pinned is not None else None,
                self.claims.summary(),
            )
        )

    def _fill_claims(self) -> None:
        now = self.hub_now()
        self.claims_list.clear()
        for card in self.claims.landed():
            self.claims_list.addItem(claim_line(card, now))
        self.carts.clear()
        for cart in self.claims.carts():
            top = QTreeWidgetItem([cart.heading()])
            top.addChildren([QTreeWidgetItem([cart_line(card)]) for card in cart.claims])
            self.carts.addTopLevelItem(top)
            top.setExpanded(True)
        self.waitlist.clear()
        lines = self.claims.lines()
        for line in lines:
            self.waitlist.addItem(line.text())
        if not lines:
            self.waitlist.addItem("Nobody is waiting for a sold-out variant.")
        self._show_claims_mode()

    def _fill_lots(self) -> None:
        chosen = self.lot.currentData()
        self.lot.clear()
        pinned = self.pinned
        if pinned is None:
            self.lot.addItem("Pin a product to auction it", None)
            self._enable()
            return
        for variant in pinned.variants:
            values = " / ".join(variant.options.values()) or variant.sku
            price = format_money(Money(variant.price, pinned.currency))
            self.lot.addItem(f"{values} · {price} · {variant.stock} left", variant.sku)
        index = self.lot.findData(chosen)
        if index < 0:
            index = next((i for i, v in enumerate(pinned.variants) if v.stock > 0), 0)
        self.lot.setCurrentIndex(index)
        self._enable()

    def _fill_auction(self) -> None:
        self.ladder.clear()
        for row in self.auction.ladder():
            item = QTreeWidgetItem(
                [
                    clock_time(row.at, self.clock_offset),
                    row.name,
                    row.maximum,
                    row.mark,
                ]
            )
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.ladder.addTopLevelItem(item)
        self._tick()

    def _fill_giveaway(self) -> None:
        state = self.giveaway.state
        self.giveaway_terms.setText(giveaway_terms(state) if state is not None else "")
        self.giveaway_check.setText(draw_check(state) if state is not None else "")
        seed = state.seed if state is not None else None
        self.seed.setText(seed or "")
        self.seed.setCursorPosition(0)  # its first digits, as the check line gives them
        self.seed.setVisible(seed is not None)
        self._tick()

    def _tick(self) -> None:
        """The countdowns, by the hub's clock."""
        now = self.hub_now()
        if not self._redraw.isActive():  # else the rows are the board's before the burst
            for row, card in enumerate(self.claims.landed()):
                item = self.claims_list.item(row)
                if item is not None:
                    item.setText(claim_line(card, now))
        state = self.auction.state
        self.auction_state.setText(self.auction.headline(now))
        self.auction_detail.setText(
            auction_detail(state, self.clock_offset) if state is not None else ""
        )
        self.giveaway_state.setText(giveaway_headline(self.giveaway, now))
        self._enable()

    def _enable(self) -> None:
        now = self.hub_now()
        pinned = self.pinned is not None
        self.auction_start.setEnabled(pinned and not self.auction.is_running())
        self.auction_cancel.setEnabled(self.auction.is_open())
        self.giveaway_start.setEnabled(not self.giveaway.is_open())
        self.draw.setEnabled(self.giveaway.can_draw(now))
        self.giveaway_cancel.setEnabled(self.giveaway.is_open())

    # ------------------------------------------------------------ host actions

    def _toggle_claims(self, on: bool) -> None:
        # Back as it was until the hub's claims mode says it changed (it may refuse).
        self.claims_on.blockSignals(True)
        self.claims_on.setChecked(not on)
        self.claims_on.blockSignals(False)
        minutes = float(self.claims_hold.value())
        self.command.emit(
            protocol.SetClaims(on=on, hold_minutes=minutes),
            f"Claims on: a claim holds for {minutes:.0f} min." if on else "Claims off.",
            "Claims not turned on" if on else "Claims not turned off",
        )

    def _start_auction(self) -> None:
        pinned = self.pinned
        if pinned is None:
            self.report(False, "Pin a product first; an auction sells one of the pinned product.")
            return
        try:
            start = parse_decimal(self.start_price.text(), pinned.currency).amount
        except MoneyError as exc:
            self.report(False, f"Start price: {exc}")
            self.start_price.setFocus()
            return
        try:
            step = parse_decimal(self.increment.text(), pinned.currency).amount
        except MoneyError as exc:
            self.report(False, f"Increment: {exc}")
            self.increment.setFocus()
            return
        seconds, snipe = self.auction_seconds.value(), self.anti_snipe.value()
        to_pay = self.checkout_seconds.value()
        self._remember(INCREMENT_KEY, self.increment.text().strip())
        self._remember(AUCTION_SECONDS_KEY, seconds)
        self._remember(ANTI_SNIPE_KEY, snipe)
        self._remember(CHECKOUT_SECONDS_KEY, to_pay)
        self.command.emit(
            protocol.StartAuction(
                start_price=start,
                increment=step,
                seconds=float(seconds),
                sku=self.lot.currentData(),
                anti_snipe=snipe or None,
                checkout_seconds=to_pay,
            ),
            "Auction started.",
            "Auction not started",
        )

    def _start_giveaway(self) -> None:
        prize = self.prize.text().strip() or (self.pinned.title if self.pinned else "")
        if not prize:
            self.report(False, "Giveaway not started: name the prize (or pin it).")
            self.prize.setFocus()
            return
        seconds = self.giveaway_seconds.value()
        self._remember(GIVEAWAY_SECONDS_KEY, seconds)
        self.command.emit(
            protocol.StartGiveaway(
                prize=prize,
                seconds=float(seconds),
                eligibility=self.eligibility.currentData(),
                keyword=self.keyword.text().strip() or None,
            ),
            f"Giveaway of {prize} started.",
            "Giveaway not started",
        )
