"""The video preview: paints the newest captured frame, never a queue of them.

A timer at the source's frame rate picks ``capture.latest``; when the window is busy
the timer fires late and intermediate frames are simply skipped.

Over the video it draws what viewers see around theirs (``widgets.stream_overlay``): the
pinned product's card with its price and deal countdown, and the featured comment or
review. That overlay is an image redrawn only when its words or the video's size change.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from console import protocol
from media.capture import Capture
from widgets.stream_overlay import ShowOverlay, render_overlay

#: What a product dragged from the products dock carries (its id).
PRODUCT_MIME = "application/x-shopcast-product"


class VideoPreview(QWidget):
    """Also a drop target: a product dragged onto the video gets pinned."""

    product_dropped = Signal(str)

    def __init__(self, capture: Capture, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._capture = capture
        self._image: QImage | None = None
        self._shown = -1
        self.setAccessibleName("Video preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._poll)
        self._timer.start(33)
        #: What viewers see over and beside the video, from the hub's ``show`` state.
        self.overlay = ShowOverlay(self)
        self.overlay.changed.connect(self._overlay_changed)
        self._overlay_image: QImage | None = None

    def show_state(self, state: protocol.ShowState, clock_offset: float) -> None:
        """The hub's ``show`` state; ``clock_offset`` is the hub's clock minus ours."""
        self.overlay.show(state, clock_offset)

    def set_stock(self, product_id: str, sku: str, stock: int) -> None:
        self.overlay.set_stock(product_id, sku, stock)

    def _overlay_changed(self) -> None:
        self._overlay_image = None
        self.update()

    def _poll(self) -> None:
        frame = self._capture.latest
        if frame is None or (frame.number == self._shown and self._image is not None):
            return
        height, width = frame.image.shape[:2]
        # The QImage borrows the array's memory; keep the frame alive alongside it.
        self._frame = frame
        self._image = QImage(
            frame.image.data, width, height, width * 3, QImage.Format.Format_RGB888
        )
        self._shown = frame.number
        self.update()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(PRODUCT_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData().data(PRODUCT_MIME)
        if data:
            self.product_dropped.emit(bytes(data.data()).decode())
            event.acceptProposedAction()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(8, 8, 10))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Starting video…")
            return
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        badge = QRect(target.left() + 8, target.top() + 8 + target.height() // 30, 86, 22)
        painter.fillRect(badge, QColor(0, 0, 0, 160))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "PREVIEW")
        below_badge = badge.bottom() + 8 - target.top()
        painter.drawImage(target.topLeft(), self._overlay_for(target.size(), below_badge))

    def _overlay_for(self, size: QSize, featured_top: int) -> QImage:
        """The overlay image for the video's size on screen, drawn again only on change."""
        image = self._overlay_image
        if image is None or image.size() != size:
            image = render_overlay(self.overlay.view(), size, featured_top)
            self._overlay_image = image
        return image
