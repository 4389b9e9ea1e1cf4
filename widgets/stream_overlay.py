"""What viewers see around the video, drawn over the host's preview.

The viewer page shows the pinned product's card (its price, the price before the deal,
the flash deal's countdown, the stock) and, over the video, the featured comment or
review. The host must see what the room sees, so the preview draws the same things from
the same ``show`` state and by the same rules: the price is the one a viewer pays for a
unit now (``deals.unit_price``), the time left is ``deals.seconds_left`` on the hub's
clock, amounts are ``format_money``'s, and the variant priced is the one a viewer's page
selects first (the first in stock).

Three parts: ``overlay_view`` decides the words (state and the hub's time in, a value
out; no Qt); ``render_overlay`` draws them into a transparent image, which the preview
keeps until the words or its size change, so a preview repainting 30 times a second
only copies it; ``ShowOverlay`` holds the state and ticks four times a second, and only
while a countdown runs. None of it touches the capture or the encoder: viewers' pages
draw their own overlay, the video stays clean.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import msgspec
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath

from console import protocol
from console.domain.deals import Deal, deal_is_active, deal_units_left, seconds_left, unit_price
from console.domain.money import Money, format_money
from console.domain.reviews import stars

#: As the viewer page (``shop.js``): "Only 5 left" from here down.
LOW_STOCK = 5
#: As the viewer page: "Deal ended" stays this long after the hub ends a deal.
DEAL_ENDED_SHOW = 8.0
#: How often the countdown is re-read (the page's timer runs at the same rate).
TICK_MS = 250
#: The viewer page's accent (``--accent`` in ``style.css``).
ACCENT = QColor("#e11d48")


@dataclass(frozen=True, slots=True)
class CardView:
    """The pinned product's card, in the words a viewer reads."""

    title: str
    price: str
    #: Struck through after the price: the regular price during a deal, or the
    #: compare-at price; None when there is none.
    was: str | None
    on_deal: bool
    #: The countdown ("01:35") while the deal runs, "Deal ended" for a while after it;
    #: None when there is no deal on this product.
    deal: str | None
    #: "7 of 20 left at this price", "All deal units are gone", or "".
    deal_units: str
    #: "In stock", "Only 3 left" or "Sold out".
    stock: str


@dataclass(frozen=True, slots=True)
class FeaturedView:
    """The featured comment or review, as over the viewer's video."""

    #: "Owner review ★★★★☆" or "From the chat".
    kind: str
    text: str
    author: str
    #: "Verified owner", "Owner" or "".
    mark: str


@dataclass(frozen=True, slots=True)
class OverlayView:
    card: CardView | None = None
    featured: FeaturedView | None = None


def countdown_text(seconds: float) -> str:
    """ "01:35", or "1:02:05" past an hour; whole seconds rounded up, as on the page."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _deal(info: protocol.DealInfo) -> Deal:
    """The domain's deal for the hub's ``DealInfo``. The hub sends no start: a deal in a
    ``show`` state has started, so any start before the hub's ``now`` reads the same."""
    return Deal(
        product_id=info.product_id,
        price=Money(info.price, info.currency),
        starts=0.0,
        ends=info.ends,
        max_units=info.max_units,
        sold=info.sold,
    )


def _card(
    pinned: protocol.Product, info: protocol.DealInfo | None, now: float, ended: bool
) -> CardView:
    variant = next((v for v in pinned.variants if v.stock > 0), None) or (
        pinned.variants[0] if pinned.variants else None
    )
    deal = _deal(info) if info is not None and info.product_id == pinned.id else None
    price, was, on_deal = "—", None, False
    if variant is not None:
        regular = Money(variant.price, pinned.currency)
        paid = unit_price(deal, pinned.id, regular, 1, now)
        on_deal = paid < regular
        if on_deal:
            was = format_money(regular)
        elif variant.compare_at is not None and variant.compare_at > variant.price:
            was = format_money(Money(variant.compare_at, pinned.currency))
        price = format_money(paid)
    countdown, units = None, ""
    if deal is not None:
        left = deal_units_left(deal)
        if deal_is_active(deal, now):
            countdown = countdown_text(seconds_left(deal, now))
            if left is not None and deal.max_units is not None:
                units = f"{left} of {deal.max_units} left at this price"
        else:
            # The hub's clock ran out; its new state (without the deal) follows.
            countdown = "Deal ended"
            units = "All deal units are gone" if left == 0 else ""
    elif ended:
        countdown = "Deal ended"
    stock = variant.stock if variant is not None else 0
    if stock <= 0:
        note = "Sold out"
    elif stock <= LOW_STOCK:
        note = f"Only {stock} left"
    else:
        note = "In stock"
    return CardView(pinned.title, price, was, on_deal, countdown, units, note)


def _featured(item: protocol.FeaturedItem) -> FeaturedView:
    if item.kind == "review":
        rating = f" {stars(max(0, min(5, item.rating)))}" if item.rating is not None else ""
        return FeaturedView(
            f"Owner review{rating}",
            item.text,
            item.author,
            "Verified owner" if item.verified_owner else "",
        )
    return FeaturedView("From the chat", item.text, item.author, "Owner" if item.owner else "")


def overlay_view(
    state: protocol.ShowState, now: float, deal_ended_at: float | None = None
) -> OverlayView:
    """What the room sees at ``now`` (the hub's clock) in ``state``.

    ``deal_ended_at`` is when the hub ended a deal on the product still pinned: the
    page then says "Deal ended" for ``DEAL_ENDED_SHOW`` seconds.
    """
    ended = deal_ended_at is not None and now - deal_ended_at < DEAL_ENDED_SHOW
    card = _card(state.pinned, state.deal, now, ended) if state.pinned is not None else None
    featured = _featured(state.featured) if state.featured is not None else None
    return OverlayView(card, featured)


class ShowOverlay(QObject):
    """The show state the preview draws, kept up to date; ``changed`` when the words do."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = protocol.ShowState(seq=0)
        self._clock_offset = 0.0
        self._deal_ended_at: float | None = None
        self._view = OverlayView()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._refresh)

    def hub_now(self) -> float:
        return time.time() + self._clock_offset

    def view(self) -> OverlayView:
        return self._view

    def show(self, state: protocol.ShowState, clock_offset: float) -> None:
        """A new ``show`` state; ``clock_offset`` is the hub's clock minus this machine's."""
        self._clock_offset = clock_offset
        old = self._state
        was_pinned = old.pinned.id if old.pinned is not None else None
        pinned = state.pinned.id if state.pinned is not None else None
        if state.deal is not None or pinned is None or pinned != was_pinned:
            self._deal_ended_at = None
        elif old.deal is not None and old.deal.product_id == pinned:
            # As on the page: the deal ended on the product still pinned.
            self._deal_ended_at = self.hub_now()
        # A copy: the On stream dock changes its own in place (a sale's stock, a deal's end).
        self._state = copy.deepcopy(state)
        self._refresh()

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        """A variant's stock changed (a sale, an edit); the state is copied, not changed."""
        pinned = self._state.pinned
        if pinned is None or pinned.id != product_id:
            return
        variants = [
            msgspec.structs.replace(v, stock=stock) if v.sku == sku else v for v in pinned.variants
        ]
        self._state = msgspec.structs.replace(
            self._state, pinned=msgspec.structs.replace(pinned, variants=variants)
        )
        self._refresh()

    def _refresh(self) -> None:
        view = overlay_view(self._state, self.hub_now(), self._deal_ended_at)
        card = view.card
        # Tick only while the words can change with time: a countdown or its end note.
        if card is not None and card.deal is not None:
            self._timer.start()
        else:
            self._timer.stop()
        if view != self._view:
            self._view = view
            self.changed.emit()


# ------------------------------------------------------------------ drawing

_CARD_BG = QColor(14, 14, 20, 220)
_WHITE = QColor(255, 255, 255)
_MUTED = QColor(176, 178, 192)
_INK = QColor("#17171c")
_INK_MUTED = QColor("#5f6170")
_LOW = QColor("#fbbf24")


def _font(size: float, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(size)))
    font.setWeight(weight)
    return font


def _lines(text: str, font: QFont, width: float, most: int) -> list[str]:
    """``text`` wrapped at words into at most ``most`` lines, the last elided if cut."""
    metrics = QFontMetricsF(font)
    lines: list[str] = []
    words = text.split()
    current = ""
    for index, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if metrics.horizontalAdvance(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == most - 1:
            current = " ".join(words[index:])
            break
    if current:
        lines.append(current)
    return [metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in lines]


def _fit(widest: float, unit: float, most: float) -> float:
    """A box's inner width: its widest line, from 12 units up to ``most``."""
    return max(min(unit * 12, most), min(widest, most))


def _advance(font: QFont, text: str) -> float:
    return QFontMetricsF(font).horizontalAdvance(text)


def _rounded(painter: QPainter, rect: QRectF, radius: float, color: QColor) -> None:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    painter.fillPath(path, color)


def _draw_featured(painter: QPainter, featured: FeaturedView, unit: float, top: float) -> None:
    """A white note at the top left, as over the viewer's video (accent bar on its left)."""
    pad = unit * 0.8
    kind_font = _font(unit * 0.8, QFont.Weight.Bold)
    text_font = _font(unit * 1.05, QFont.Weight.DemiBold)
    author_font = _font(unit * 0.9)
    quoted = f"“{featured.text}”"
    author = " · ".join(part for part in (featured.author, featured.mark) if part)
    widest = max(
        _advance(kind_font, featured.kind.upper()),
        _advance(text_font, quoted),
        _advance(author_font, author),
    )
    most = min(unit * 30, painter.device().width() - 2 * unit) - 2 * pad - unit * 0.3
    inner = _fit(widest + 1, unit, most)
    width = inner + 2 * pad + unit * 0.3
    text = _lines(quoted, text_font, inner, 3)
    heights = (
        QFontMetricsF(kind_font).height(),
        QFontMetricsF(text_font).height() * len(text),
        QFontMetricsF(author_font).height(),
    )
    box = QRectF(unit, top, width, sum(heights) + 2 * pad + unit * 0.4)
    _rounded(painter, box, unit * 0.8, _WHITE)
    bar = QPainterPath()
    bar.addRoundedRect(QRectF(box.left(), box.top(), unit * 0.3, box.height()), 2, 2)
    painter.fillPath(bar, ACCENT)
    x = box.left() + pad + unit * 0.3
    y = box.top() + pad
    painter.setFont(kind_font)
    painter.setPen(ACCENT.darker(115))
    painter.drawText(
        QRectF(x, y, inner, heights[0]), Qt.AlignmentFlag.AlignLeft, featured.kind.upper()
    )
    y += heights[0] + unit * 0.2
    painter.setFont(text_font)
    painter.setPen(_INK)
    line_height = QFontMetricsF(text_font).height()
    for line in text:
        painter.drawText(QRectF(x, y, inner, line_height), Qt.AlignmentFlag.AlignLeft, line)
        y += line_height
    y += unit * 0.2
    painter.setFont(author_font)
    painter.setPen(_INK_MUTED)
    painter.drawText(
        QRectF(x, y, inner, heights[2]),
        Qt.AlignmentFlag.AlignLeft,
        QFontMetricsF(author_font).elidedText(author, Qt.TextElideMode.ElideRight, inner),
    )


def _pill(
    painter: QPainter,
    x: float,
    y: float,
    text: str,
    font: QFont,
    fill: QColor,
    ink: QColor,
    unit: float,
) -> float:
    """A rounded tag at (x, y); returns its right edge."""
    metrics = QFontMetricsF(font)
    rect = QRectF(x, y, metrics.horizontalAdvance(text) + unit, metrics.height() + unit * 0.2)
    _rounded(painter, rect, unit * 0.35, fill)
    painter.setFont(font)
    painter.setPen(ink)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    return rect.right()


def _draw_card(painter: QPainter, card: CardView, unit: float) -> None:
    """The pinned product's card at the bottom right: title, price, deal, stock."""
    size = painter.device()
    pad = unit * 0.9
    title_font = _font(unit * 1.05, QFont.Weight.Bold)
    price_font = _font(unit * 1.5, QFont.Weight.Bold)
    was_font = _font(unit * 0.95)
    was_font.setStrikeOut(True)
    small_font = _font(unit * 0.85)
    tag_font = _font(unit * 0.75, QFont.Weight.Bold)
    count_font = _font(unit * 0.9, QFont.Weight.Bold)
    count_font.setStyleHint(QFont.StyleHint.Monospace)
    price_w = _advance(price_font, card.price)
    if card.was is not None:
        price_w += unit * 0.6 + _advance(was_font, card.was)
    widest = max(
        _advance(title_font, card.title),
        price_w,
        _advance(small_font, card.deal_units),
        _advance(small_font, card.stock),
        _advance(tag_font, "FLASH DEAL") + _advance(count_font, card.deal or "") + unit * 2.4,
    )
    inner = _fit(widest + 1, unit, min(unit * 22, size.width() - 2 * unit) - 2 * pad)
    width = inner + 2 * pad
    title = _lines(card.title, title_font, inner, 2)
    title_h = QFontMetricsF(title_font).height()
    price_h = QFontMetricsF(price_font).height()
    tag_h = max(QFontMetricsF(tag_font).height(), QFontMetricsF(count_font).height()) + unit * 0.2
    small_h = QFontMetricsF(small_font).height()
    deal_h = tag_h + unit * 0.4 if card.deal is not None else 0.0
    units_h = small_h if card.deal_units else 0.0
    height = title_h * len(title) + price_h + deal_h + units_h + small_h + 2 * pad + unit * 0.4
    box = QRectF(size.width() - unit - width, size.height() - unit - height, width, height)
    _rounded(painter, box, unit * 0.8, _CARD_BG)
    x, y = box.left() + pad, box.top() + pad
    painter.setFont(title_font)
    painter.setPen(_WHITE)
    for line in title:
        painter.drawText(QRectF(x, y, inner, title_h), Qt.AlignmentFlag.AlignLeft, line)
        y += title_h
    y += unit * 0.2
    painter.setFont(price_font)
    painter.setPen(ACCENT.lighter(135) if card.on_deal else _WHITE)
    painter.drawText(QRectF(x, y, inner, price_h), Qt.AlignmentFlag.AlignLeft, card.price)
    if card.was is not None:
        after = x + QFontMetricsF(price_font).horizontalAdvance(card.price) + unit * 0.6
        painter.setFont(was_font)
        painter.setPen(_MUTED)
        painter.drawText(
            QRectF(after, y, max(0.0, x + inner - after), price_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            card.was,
        )
    y += price_h
    if card.deal is not None:
        y += unit * 0.2
        ended = card.deal == "Deal ended"
        right = _pill(
            painter, x, y, "FLASH DEAL", tag_font, _MUTED if ended else ACCENT, _WHITE, unit
        )
        _pill(painter, right + unit * 0.4, y, card.deal, count_font, _WHITE, _INK, unit)
        y += tag_h + unit * 0.2
    painter.setFont(small_font)
    if card.deal_units:
        painter.setPen(_WHITE)
        painter.drawText(QRectF(x, y, inner, small_h), Qt.AlignmentFlag.AlignLeft, card.deal_units)
        y += units_h
    painter.setPen(
        ACCENT.lighter(135)
        if card.stock == "Sold out"
        else _LOW
        if card.stock.startswith("Only")
        else _MUTED
    )
    painter.drawText(
        QRectF(x, y + unit * 0.2, inner, small_h), Qt.AlignmentFlag.AlignLeft, card.stock
    )


def render_overlay(view: OverlayView, size: QSize, featured_top: float) -> QImage:
    """The overlay for a video shown at ``size``, on a transparent image of that size.

    Sizes follow the video's height, as the page's overlay keeps its proportion to a
    phone's screen; ``featured_top`` leaves room for the preview's own badge above it.
    """
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    if view.card is None and view.featured is None:
        return image
    unit = max(10.0, min(16.0, size.height() / 30))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    if view.featured is not None:
        _draw_featured(painter, view.featured, unit, featured_top)
    if view.card is not None:
        _draw_card(painter, view.card, unit)
    painter.end()
    return image
