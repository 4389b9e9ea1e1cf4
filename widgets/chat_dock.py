"""The chat dock: the room's comments, the host's input, and the way into a profile.

While the reader is scrolled up, new comments wait in a bounded buffer and a "N new
comments" button counts them, so the text under the reader's eyes never moves; at the
bottom, the view follows the newest comment. In a flood, batches that arrive within one
frame are shown together: each change makes the view lay out every row again.
"""

from __future__ import annotations

import itertools
import math
import time
import zlib
from collections import deque
from collections.abc import Collection, Iterable, Sequence

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from widgets.chat_model import (
    DEFAULT_CAPACITY,
    ChatEntry,
    ChatModel,
    ChatRole,
    author,
    erase_entry,
    replying_to,
)

_PAD = 8
_Index = QModelIndex | QPersistentModelIndex

_ROLE_LABELS = {"host": "HOST", "agent": "AGENT", "moderator": "MOD"}
#: The badge of a team member's answer to a viewer's question, as on the viewers' pages.
TEAM_LABEL = "TEAM"
#: Time-out presets on Ctrl+1 to Ctrl+4, as (label, seconds).
TIMEOUTS = (("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0), ("24 h", 86400.0))
#: Shown next to a viewer who bought the pinned product, so others can ask them.
OWNER_LABEL = "OWNER"
#: New comments reach the view at most this often (25 frames a second): a layout of the
#: whole list costs about 10 ms, and the hub sends a batch every 30 ms in a flood.
SHOW_INTERVAL_S = 0.04


#: Hues far enough apart to tell neighbours in the chat apart at a glance.
_HUES = (0, 28, 48, 95, 140, 170, 195, 215, 250, 275, 300, 330)


def author_colour(viewer_id: str, palette: QPalette) -> QColor:
    """A stable colour per viewer, readable on the current theme's background."""
    hue = _HUES[zlib.crc32(viewer_id.encode()) % len(_HUES)]
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    return QColor.fromHsl(hue, 170, 170 if dark else 80)


class ChatDelegate(QStyledItemDelegate):
    """Paints a comment as a small card: author (and staff badge) over the wrapped text;
    an answer also shows, between the two, who asked what.

    Sizes are cached per comment and width, as Chatterino caches message layouts: each
    batch of a flood makes the view lay out every row again, and wrapping a thousand
    texts with font metrics each time would stall the window.
    """

    def __init__(self, model: ChatModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: The view calls sizeHint for every row on each layout, so it reads the comment
        #: straight from the model instead of through one ``data()`` call per role.
        self._model = model
        self._sizes: dict[tuple[int, int], QSize] = {}
        self._font: QFont | None = None
        self._bold = QFont()
        self._small = QFont()
        self._text_metrics = QFontMetrics(QFont())
        self._author_metrics = QFontMetrics(QFont())
        self._small_metrics = QFontMetrics(QFont())

    def author_rect(self, option: QStyleOptionViewItem, index: _Index) -> QRect:
        self._use_font(option.font)  # type: ignore[attr-defined]
        return self._author_rect(option.rect, author(self._model.comment(index.row())))  # type: ignore[attr-defined]

    def _author_rect(self, rect: QRect, name: str) -> QRect:
        fm = self._author_metrics
        return QRect(
            rect.left() + _PAD, rect.top() + _PAD // 2, fm.horizontalAdvance(name), fm.height()
        )

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        self._use_font(option.font)  # type: ignore[attr-defined]
        width = max(80, option.rect.width() - 2 * _PAD)  # type: ignore[attr-defined]
        return self._size(self._model.comment(index.row()), width)

    def measure(self, comments: Iterable[ChatEntry], font: QFont, width: int) -> None:
        """Size comments as they arrive, a batch at a time.

        Otherwise a reader who comes back from scrolling up releases up to a thousand
        unmeasured comments into one layout, which stalled the window for 70 ms.
        """
        self._use_font(font)
        width = max(80, width - 2 * _PAD)
        for comment in comments:
            self._size(comment, width)

    def _use_font(self, font: QFont) -> None:
        """Derive the fonts and metrics once per view font, not once per row and paint."""
        if self._font is not None and font == self._font:
            return
        self._font = QFont(font)
        self._bold = QFont(font)
        self._bold.setBold(True)
        self._small = QFont(font)
        self._small.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        self._text_metrics = QFontMetrics(self._font)
        self._author_metrics = QFontMetrics(self._bold)
        self._small_metrics = QFontMetrics(self._small)
        self._sizes.clear()

    def _size(self, comment: ChatEntry, width: int) -> QSize:
        key = (comment.seq, width)
        size = self._sizes.get(key)
        if size is None:
            self._forget_oldest()
            text = self._text_metrics.boundingRect(
                QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, comment.text
            )
            quote = self._small_metrics.height() if replying_to(comment) else 0
            size = self._sizes[key] = QSize(
                width, self._author_metrics.height() + quote + text.height() + _PAD + 2
            )
        return size

    def _forget_oldest(self) -> None:
        """Drop the sizes of comments that left the view, oldest first.

        Clearing the whole cache instead made the next layout measure every row again:
        a 50 to 100 ms stall every few thousand comments in a flood.
        """
        keep = 2 * max(DEFAULT_CAPACITY, self._model.rowCount())
        if len(self._sizes) > 2 * keep:
            for key in list(itertools.islice(self._sizes, len(self._sizes) - keep)):
                del self._sizes[key]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        self._use_font(option.font)  # type: ignore[attr-defined]
        comment = self._model.comment(index.row())
        rect: QRect = option.rect  # type: ignore[attr-defined]
        palette: QPalette = option.palette  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        painter.save()
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight).darker(110))
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.AlternateBase))
        text_colour = palette.color(
            QPalette.ColorRole.HighlightedText
            if state & QStyle.StateFlag.State_Selected
            else QPalette.ColorRole.Text
        )
        name = author(comment)
        author_rect = self._author_rect(rect, name)
        painter.setFont(self._bold)
        selected = bool(state & QStyle.StateFlag.State_Selected)
        colour_key = comment.agent if isinstance(comment, protocol.Answer) else comment.viewer_id
        painter.setPen(text_colour if selected else author_colour(colour_key, palette))
        painter.drawText(author_rect, Qt.AlignmentFlag.AlignLeft, name)
        x = author_rect.right() + 8
        painter.setFont(self._small)
        fm_small = self._small_metrics
        link = palette.color(QPalette.ColorRole.Link)
        if isinstance(comment, protocol.Answer):
            badges = [(TEAM_LABEL, link)]
        else:
            badges = [(_ROLE_LABELS.get(comment.role), link)]
            if comment.owner:
                badges.append((OWNER_LABEL, QColor(46, 160, 67)))
        for badge, colour in badges:
            if not badge:
                continue
            badge_rect = QRect(
                x,
                author_rect.top() + 2,
                fm_small.horizontalAdvance(badge) + 10,
                author_rect.height() - 4,
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(badge_rect, 4, 4)
            painter.setPen(palette.color(QPalette.ColorRole.BrightText))
            painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
            x = badge_rect.right() + 8
        painter.setPen(
            text_colour if selected else palette.color(QPalette.ColorRole.PlaceholderText)
        )
        stamp = time.strftime("%H:%M", time.localtime(comment.ts))
        painter.drawText(
            QRect(x, author_rect.top(), rect.right() - x - _PAD, author_rect.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            stamp,
        )
        top = author_rect.bottom() + 1
        quote = replying_to(comment)
        if quote:
            line = QRect(rect.left() + _PAD, top, rect.width() - 2 * _PAD, fm_small.height())
            elided = fm_small.elidedText("↳ " + quote, Qt.TextElideMode.ElideRight, line.width())
            painter.drawText(line, Qt.AlignmentFlag.AlignLeft, elided)
            top = line.bottom() + 1
        painter.setFont(self._font)
        painter.setPen(text_colour)
        body = QRect(rect.left() + _PAD, top, rect.width() - 2 * _PAD, rect.bottom() - top)
        painter.drawText(body, Qt.TextFlag.TextWordWrap, comment.text)
        painter.restore()


class ChatView(QListView):
    """A list of comments; clicking an author (or Enter on a comment) opens their profile."""

    author_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(False)
        self.setWordWrap(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setAccessibleName("Chat messages")
        self.setAccessibleDescription(
            "Comments from viewers, newest at the bottom. Press Enter on a comment to open "
            "its author's profile."
        )

    def author_at(self, pos: object) -> str | None:
        index = self.indexAt(pos)  # type: ignore[arg-type]
        if not index.isValid():
            return None
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = self.visualRect(index)  # type: ignore[attr-defined]
        delegate = self.itemDelegate()
        assert isinstance(delegate, ChatDelegate)
        if delegate.author_rect(option, index).contains(pos):  # type: ignore[arg-type]
            return str(index.data(ChatRole.VIEWER_ID))
        return None

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            viewer_id = self.author_at(event.position().toPoint())
            if viewer_id:
                self.author_activated.emit(viewer_id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        over_author = bool(self.author_at(event.position().toPoint()))
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor if over_author else Qt.CursorShape.ArrowCursor
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            viewer_id = str(self.currentIndex().data(ChatRole.VIEWER_ID))
            if viewer_id:  # an answer's or a deleted viewer's row opens no profile
                self.author_activated.emit(viewer_id)
            return
        super().keyPressEvent(event)


class ChatDock(QDockWidget):
    viewer_activated = Signal(str)
    send_requested = Signal(str)
    #: The host wants this comment (its seq) shown over the video.
    feature_requested = Signal(int)
    #: A moderator acts on the selected comment: (action, comment, seconds for a time-out;
    #: 0 asks for the length and a reason).
    moderation_requested = Signal(str, object, float)

    def __init__(self, parent: QWidget | None = None, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__("Chat", parent)
        self.setObjectName("chat-dock")
        self.model = ChatModel(capacity)
        #: Comments not in the view yet: waiting for the next frame, or for a reader who
        #: scrolled up. ``_held_total`` counts them all, beyond the buffer's bound too.
        self._held: deque[ChatEntry] = deque(maxlen=capacity)
        self._held_total = 0
        self._shown_at = 0.0
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.timeout.connect(self._show_held)
        #: Whether the reader is at the newest comment. Only scrolling changes it: the
        #: scroll bar lags the layout during a flood, so it cannot be asked per batch.
        self.following = True

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.view = ChatView(body)
        self._delegate = ChatDelegate(self.model, self.view)
        self.view.setItemDelegate(self._delegate)
        self.view.setModel(self.model)
        self.view.author_activated.connect(self.viewer_activated)
        self.view.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        feature = QAction("Feature on stream", self.view)
        feature.setShortcut(QKeySequence("Ctrl+Shift+F"))
        feature.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        feature.triggered.connect(self._feature_current)
        self.view.addAction(feature)
        profile = QAction("Open viewer profile", self.view)
        profile.triggered.connect(
            lambda: (
                self.view.currentIndex().isValid()
                and self.view.currentIndex().data(ChatRole.VIEWER_ID)
                and self.viewer_activated.emit(
                    str(self.view.currentIndex().data(ChatRole.VIEWER_ID))
                )
            )
        )
        self.view.addAction(profile)
        layout.addWidget(self.view, 1)

        self.new_comments = QPushButton(body)
        self.new_comments.setObjectName("new-comments")
        self.new_comments.setAccessibleName("Show new comments")
        self.new_comments.clicked.connect(self.follow)
        self.new_comments.hide()
        layout.addWidget(self.new_comments, 0, Qt.AlignmentFlag.AlignHCenter)

        row = QHBoxLayout()
        self.input = QLineEdit(body)
        self.input.setPlaceholderText("Say something to the room as host…")
        self.input.setAccessibleName("Comment as host")
        self.input.setMaxLength(500)
        self.input.returnPressed.connect(self._send)
        self.send_button = QPushButton("Send", body)
        self.send_button.setAccessibleName("Send comment")
        self.send_button.clicked.connect(self._send)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self.setWidget(body)
        self.setFocusProxy(self.input)

    # ------------------------------------------------------------ incoming

    def at_bottom(self) -> bool:
        bar = self.view.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def add_comments(self, comments: Sequence[ChatEntry]) -> None:
        if not comments:
            return
        self._delegate.measure(comments, self.view.font(), self.view.viewport().width())
        self._held.extend(comments)
        self._held_total += len(comments)
        if self.following:
            self._schedule_show()
        else:
            self._count_held()

    def _schedule_show(self) -> None:
        if self._show_timer.isActive():
            return
        wait_ms = math.ceil((self._shown_at + SHOW_INTERVAL_S - time.monotonic()) * 1000)
        if wait_ms <= 0:
            self._show_held()
        else:
            self._show_timer.start(wait_ms)

    def _show_held(self) -> None:
        if self.following:
            self.follow()
        else:
            self._count_held()

    def _count_held(self) -> None:
        self.new_comments.setText(f"{self._held_total} new comments ↓")
        self.new_comments.show()

    def follow(self) -> None:
        """Release held comments and jump to the newest."""
        self._show_timer.stop()
        self._shown_at = time.monotonic()
        if self._held:
            self.model.append(list(self._held))
            self._held.clear()
        self._held_total = 0
        self.following = True
        self.new_comments.hide()
        self.view.scrollToBottom()

    def remove(self, seq: int) -> None:
        """A moderator deleted this comment: nobody's console shows it, nor answers
        quoting it, any more."""
        self.model.remove(seq)
        kept = [
            c
            for c in self._held
            if not (c.seq == seq if isinstance(c, protocol.Comment) else c.question == seq)
        ]
        if len(kept) != len(self._held):
            self._held = deque(kept, maxlen=self._held.maxlen)

    def erase(self, comment_seqs: Collection[int], name: str) -> None:
        """A viewer's data was deleted: what they wrote is signed ``name`` at once."""
        self.model.erase(comment_seqs, name)
        self._held = deque(
            (erase_entry(c, comment_seqs, name) for c in self._held), maxlen=self._held.maxlen
        )

    def enable_moderation(self) -> None:
        """Add the moderators' actions, with the shortcuts fast chat clients use."""
        actions = [
            ("Delete message", "Del", "delete", 0.0),
            *(
                (f"Time out {label}", f"Ctrl+{n}", "timeout", seconds)
                for n, (label, seconds) in enumerate(TIMEOUTS, start=1)
            ),
            ("Time out for…", "Ctrl+T", "timeout", 0.0),
            ("Ban viewer…", "Ctrl+B", "ban", 0.0),
            ("Lift ban or time-out", "Ctrl+Shift+B", "unban", 0.0),
        ]
        separator = QAction(self.view)
        separator.setSeparator(True)
        self.view.addAction(separator)
        for text, keys, action, seconds in actions:
            item = QAction(text, self.view)
            item.setShortcut(QKeySequence(keys))
            item.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            item.triggered.connect(lambda _=False, a=action, s=seconds: self._moderate(a, s))
            self.view.addAction(item)

    def _moderate(self, action: str, seconds: float) -> None:
        index = self.view.currentIndex()
        entry = self.model.comment(index.row()) if index.isValid() else None
        if isinstance(entry, protocol.Comment):
            self.moderation_requested.emit(action, entry, seconds)

    def clear(self) -> None:
        self.model.clear()
        self._held.clear()
        self._held_total = 0
        self._show_timer.stop()
        self.new_comments.hide()

    def _scrolled(self, _value: int) -> None:
        self.following = self.at_bottom()
        if self.following and self._held:
            self._schedule_show()

    # ------------------------------------------------------------ outgoing

    def _feature_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid() and isinstance(self.model.comment(index.row()), protocol.Comment):
            self.feature_requested.emit(int(index.data(ChatRole.SEQ)))

    def _send(self) -> None:
        text = self.input.text().strip()
        if text:
            self.send_requested.emit(text)

    def sent(self) -> None:
        self.input.clear()
