"""The viewer panel: what the room knows of one viewer, in a dock at the side.

Chatterino's user card grown into a customer profile. The header says who it is at a
glance (avatar, badges, identity, consent, tags, the actions the console's role allows);
the tabs below hold the history, newest first, with counts in their titles.

The dock only shows a :class:`protocol.Profile` and turns its buttons into protocol
commands (``command_requested``); :class:`ProfileController` does the asking: it opens a
profile from wherever a viewer appears (chat, questions, orders, held comments, the
viewer list), reloads it when the room says something about that viewer, and shows the
host who looked at whose profile.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.money import Money, format_money
from console.domain.retention import recorded
from console.domain.words import counted
from console.errors import ShopcastError
from widgets.chat_dock import author_colour
from widgets.viewer_list import ViewerListDock

if TYPE_CHECKING:
    from widgets.main_window import MainWindow

DELETED_TEXT = "This viewer's data was deleted at the viewer's request."
SESSION_ONLY_TEXT = "Only this stream is shown: the viewer did not ask to be remembered."
#: Streams attended and watch time of a viewer the retention table does not measure.
NOT_RECORDED = "not recorded (no consent)"
#: Tags offered in the Tag menu; any other is typed in.
SUGGESTED_TAGS = ("VIP", "wholesale", "press")
#: Time-out lengths offered on the panel (label, seconds).
TIMEOUTS = (("1 minute", 60.0), ("10 minutes", 600.0), ("1 hour", 3600.0), ("24 hours", 86400.0))
BADGES = {
    "new": ("New", "#2f8f5b"),
    "returning": ("Returning", "#3b6fb6"),
    "vip": ("VIP", "#b7791f"),
    "owner": ("Owner", "#8a4fc0"),
}
MOD_ACTIONS = {
    "timeout": "Timed out",
    "ban": "Banned",
    "unban": "Unbanned",
    "delete": "Comment deleted",
    "auto_delete": "Comment deleted by a rule",
    "hold": "Comment held",
    "approve": "Held comment approved",
    "deny": "Held comment denied",
}
CHECKOUT_STATES = {"open": "started", "abandoned": "abandoned", "completed": "completed"}
_QUESTION = Qt.ItemDataRole.UserRole
#: The seq of the comment a row of the Comments tab shows (none once deleted).
_COMMENT = Qt.ItemDataRole.UserRole + 1


def _when(ts: float) -> str:
    return time.strftime("%d %b %Y, %H:%M", time.localtime(ts))


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


def _duration(seconds: float) -> str:
    minutes = int(seconds) // 60
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _money(amount: int, currency: str) -> str:
    try:
        return format_money(Money(amount, currency))
    except (ShopcastError, KeyError, ValueError):
        return f"{amount / 100:.2f} {currency}".strip()


def _titled(title: str, count: int) -> str:
    return f"{title} ({count})"


class Avatar(QWidget):
    """A round badge with the viewer's initial, in their chat colour; sized by the font."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._initial = "?"
        self._colour = QColor("gray")
        self.setAccessibleName("Avatar")
        self._resize()

    def _resize(self) -> None:
        side = round(self.fontMetrics().height() * 2.8)
        self.setFixedSize(side, side)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._resize()

    @property
    def initial(self) -> str:
        return self._initial

    def set_viewer(self, initial: str, viewer_id: str) -> None:
        self._initial = (initial[:1] or "?").upper()
        self._colour = author_colour(viewer_id, self.palette())
        self.setAccessibleDescription(f"Initial {self._initial}")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        painter.drawEllipse(self.rect().adjusted(1, 1, -1, -1))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._initial)


class _FittingScrollArea(QScrollArea):
    """Asks for its content's whole height; it scrolls only when the dock is short."""

    def sizeHint(self) -> QSize:
        inner = self.widget()
        return inner.sizeHint() if inner is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.fontMetrics().height() * 5)


def _badge(text: str, colour: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("profile-badge")
    label.setAccessibleName(f"Badge: {text}")
    label.setStyleSheet(
        f"QLabel {{ background: {colour}; color: white; border-radius: 0.5em;"
        " padding: 0.1em 0.6em; font-weight: bold; }"
    )
    return label


class ProfileSection(QWidget):
    """One history tab: optional controls above, a list (or a sentence when empty)."""

    def __init__(self, title: str, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(4, 4, 4, 4)
        self._stack = QStackedWidget(self)
        self.empty = QLabel(empty_text, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAccessibleName(title)
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.list)
        self.column.addWidget(self._stack, 1)

    def set_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        """Show ``(text, tooltip)`` rows, newest first; an empty list shows the sentence."""
        self.list.clear()
        for text, tip in rows:
            item = QListWidgetItem(text)
            item.setToolTip(tip)
            self.list.addItem(item)
        self._stack.setCurrentWidget(self.list if rows else self.empty)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


class PrivateReply(QWidget):
    """A line to answer the selected item so that only this viewer sees it."""

    sent = Signal(str)

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(f"Private answer to the selected {what}…")
        self.line.setAccessibleName(f"Private answer to the selected {what}")
        self.line.returnPressed.connect(self._send)
        self.button = QPushButton("Answer &privately", self)
        self.button.setAccessibleName("Send the private answer")
        self.button.setToolTip(f"Only this viewer sees the answer, under their {what}")
        self.button.clicked.connect(self._send)
        row.addWidget(self.line, 1)
        row.addWidget(self.button)
        self.set_target(False)

    def set_target(self, selected: bool) -> None:
        self.line.setEnabled(selected)
        self.button.setEnabled(selected)

    def _send(self) -> None:
        text = self.line.text().strip()
        if text and self.button.isEnabled():
            self.sent.emit(text)
            self.line.clear()


class ProfileDock(QDockWidget):
    #: A hub command to send and the sentence the status bar says when it is done.
    command_requested = Signal(object, str)
    #: Reply in public: fill the chat input with "@name ".
    reply_requested = Signal(str)
    #: Open another viewer (a linked id).
    open_requested = Signal(str)
    view_log_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Viewer", parent)
        self.setObjectName("profile-dock")
        self.viewer_id: str | None = None
        self.profile: protocol.Profile | None = None
        self.role = "host"

        self._pages = QStackedWidget(self)
        self.placeholder = QLabel(
            "Click a name in the chat, or open a viewer from the questions, orders, held "
            "comments or the list of who is watching, to see what the room knows of them.",
            self,
        )
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setAccessibleName("Viewer panel message")
        self._pages.addWidget(self.placeholder)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        # In a short dock the header scrolls and the history keeps its room; the
        # splitter lets the reader give either more.
        split = QSplitter(Qt.Orientation.Vertical, body)
        split.setChildrenCollapsible(False)
        self.header_scroll = _FittingScrollArea(split)
        self.header_scroll.setWidget(self._build_header(self.header_scroll))
        self.header_scroll.setWidgetResizable(True)
        self.header_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.header_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.header_scroll.setAccessibleName("Who this viewer is, and actions")
        split.addWidget(self.header_scroll)
        lower = QWidget(split)
        lower_column = QVBoxLayout(lower)
        lower_column.setContentsMargins(0, 0, 0, 0)
        lower_column.addWidget(self._build_actions(lower))
        lower_column.addWidget(self._build_tabs(lower), 1)
        split.addWidget(lower)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        self._pages.addWidget(body)
        self._body = body
        self.setWidget(self._pages)
        self._tab_shortcuts()
        self._scale_fonts()
        self.set_role("host")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._scale_fonts()

    def _scale_fonts(self) -> None:
        """Sizes relative to the dock's font, so the panel follows the system font size."""
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name.setFont(font)
        self.avatar.setFont(self.font())
        self.note_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 8)

    # ------------------------------------------------------------ building

    def _build_header(self, parent: QWidget) -> QWidget:
        header = QWidget(parent)
        column = QVBoxLayout(header)
        column.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.avatar = Avatar(header)
        top.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
        names = QVBoxLayout()
        self.name = QLabel(header)
        self.name.setObjectName("viewer-name")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name.setAccessibleName("Viewer name")
        self.presence = QLabel(header)
        self.presence.setAccessibleName("Presence")
        self.badges = QHBoxLayout()
        self.badges.setSpacing(4)
        self.badges.addStretch(1)
        self._badge_labels: list[QLabel] = []
        names.addWidget(self.name)
        names.addWidget(self.presence)
        names.addLayout(self.badges)
        top.addLayout(names, 1)
        column.addLayout(top)

        self.consent = QLabel(header)
        self.consent.setWordWrap(True)
        self.consent.setAccessibleName("Consent")
        column.addWidget(self.consent)

        identity_row = QHBoxLayout()
        self.identity = QLabel(header)
        self.identity.setWordWrap(True)
        self.identity.setAccessibleName("Identity")
        self.identity.setTextFormat(Qt.TextFormat.RichText)
        self.identity.linkActivated.connect(self.open_requested)
        self.unlink_button = QPushButton("Un&link", header)
        self.unlink_button.setAccessibleName("Unlink this viewer from the customer")
        self.unlink_button.setToolTip("Undo a wrong merge: this viewer id leaves the customer")
        self.unlink_button.clicked.connect(self._unlink)
        identity_row.addWidget(self.identity, 1)
        identity_row.addWidget(self.unlink_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(identity_row)

        facts = QFormLayout()
        facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.first_seen = QLabel(header)
        self.last_seen = QLabel(header)
        self.streams = QLabel(header)
        self.watch_time = QLabel(header)
        self.comment_count = QLabel(header)
        self.standing = QLabel(header)
        self.viewer_id_label = QLabel(header)
        self.viewer_id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label, widget in (
            ("First seen", self.first_seen),
            ("Last seen", self.last_seen),
            ("Streams attended", self.streams),
            ("Watch time this stream", self.watch_time),
            ("Comments", self.comment_count),
            ("Chat standing", self.standing),
            ("Viewer id", self.viewer_id_label),
        ):
            widget.setAccessibleName(label)
            facts.addRow(label + ":", widget)
        column.addLayout(facts)

        tags_row = QHBoxLayout()
        self.tags = QLabel(header)
        self.tags.setWordWrap(True)
        self.tags.setAccessibleName("Tags")
        self.tag_button = QToolButton(header)
        self.tag_button.setText("&Tag")
        self.tag_button.setAccessibleName("Add or remove a tag")
        self.tag_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tag_menu = QMenu(self.tag_button)
        self.tag_menu.aboutToShow.connect(self._fill_tag_menu)
        self.tag_button.setMenu(self.tag_menu)
        tags_row.addWidget(self.tags, 1)
        tags_row.addWidget(self.tag_button)
        column.addLayout(tags_row)
        return header

    def _build_actions(self, parent: QWidget) -> QWidget:
        bar = QWidget(parent)
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.reply_button = QPushButton("&Reply", bar)
        self.reply_button.setAccessibleName("Reply in the chat with @name")
        self.reply_button.setToolTip("Fill the chat input with @name and focus it")
        self.reply_button.clicked.connect(
            lambda: self.profile and self.reply_requested.emit(self.profile.name)
        )
        self.timeout_button = QToolButton(bar)
        self.timeout_button.setText("Time &out")
        self.timeout_button.setAccessibleName("Time this viewer out")
        self.timeout_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        timeouts = QMenu(self.timeout_button)
        for label, seconds in TIMEOUTS:
            action = timeouts.addAction(label)
            action.triggered.connect(lambda _c=False, s=seconds, t=label: self._timeout(s, t))
        self.timeout_button.setMenu(timeouts)
        self.ban_button = QPushButton("&Ban…", bar)
        self.ban_button.setAccessibleName("Ban this viewer from the chat")
        self.ban_button.clicked.connect(self._ban)
        self.unban_button = QPushButton("&Unban", bar)
        self.unban_button.setAccessibleName("Lift this viewer's ban or time-out")
        self.unban_button.clicked.connect(self._unban)
        self.view_log_button = QPushButton("&Who looked…", bar)
        self.view_log_button.setAccessibleName("Who looked at viewers' profiles")
        self.view_log_button.setToolTip("Every opening of a viewer's profile, by whom and when")
        self.view_log_button.clicked.connect(self.view_log_requested)
        for widget in (
            self.reply_button,
            self.timeout_button,
            self.ban_button,
            self.unban_button,
            self.view_log_button,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        return bar

    def _build_tabs(self, parent: QWidget) -> QTabWidget:
        self.tabs = QTabWidget(parent)
        self.tabs.setAccessibleName("Viewer history")
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setDocumentMode(True)
        self.sections = {
            "comments": ProfileSection("Comments", "No comments yet."),
            "questions": ProfileSection("Questions", "No questions yet."),
            "orders": ProfileSection("Orders", "No orders yet."),
            "watched": ProfileSection(
                "Watched", "No product was pinned while they watched that they did not buy."
            ),
            "checkouts": ProfileSection("Checkouts", "No checkouts started."),
            "reviews": ProfileSection("Reviews", "No reviews written."),
            "moderation": ProfileSection("Moderation", "No moderation actions."),
            "notes": ProfileSection("Notes", "No staff notes yet."),
        }
        comments = self.sections["comments"]
        self.all_streams = QCheckBox("Show &all streams", comments)
        self.all_streams.setAccessibleName("Show comments from all streams")
        self.all_streams.setToolTip("Off: this stream's comments only")
        self.all_streams.toggled.connect(self._fill_comments)
        comments.column.insertWidget(0, self.all_streams)
        comments.list.currentItemChanged.connect(
            lambda item, _: self.comment_reply.set_target(
                item is not None and item.data(_COMMENT) is not None
            )
        )
        self.comment_reply = PrivateReply("comment", comments)
        self.comment_reply.sent.connect(self._reply_privately)
        comments.column.addWidget(self.comment_reply)

        questions = self.sections["questions"]
        self.question_tree = QTreeWidget(questions)
        self.question_tree.setAccessibleName("Questions with their answers")
        self.question_tree.setHeaderLabels(("Question / answer", "When"))
        self.question_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.question_tree.header().setStretchLastSection(False)
        self.question_tree.setWordWrap(True)
        self.question_tree.currentItemChanged.connect(self._question_selected)
        questions._stack.addWidget(self.question_tree)
        self.private_box = PrivateReply("question", questions)
        self.private_box.sent.connect(self._answer_privately)
        questions.column.addWidget(self.private_box)

        orders = self.sections["orders"]
        self.order_summary = QLabel(orders)
        self.order_summary.setWordWrap(True)
        self.order_summary.setAccessibleName("Order totals")
        orders.column.insertWidget(0, self.order_summary)

        checkouts = self.sections["checkouts"]
        self.checkout_summary = QLabel(checkouts)
        self.checkout_summary.setAccessibleName("Checkout totals")
        checkouts.column.insertWidget(0, self.checkout_summary)

        notes = self.sections["notes"]
        self.note_edit = QPlainTextEdit(notes)
        self.note_edit.setPlaceholderText(
            "A private note for the team (never shown to the viewer)… Ctrl+Enter saves"
        )
        self.note_edit.setAccessibleName("New staff note")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 4)
        QShortcut(
            QKeySequence("Ctrl+Return"), self.note_edit, context=Qt.ShortcutContext.WidgetShortcut
        ).activated.connect(self._add_note)
        self.note_button = QPushButton("&Save note", notes)
        self.note_button.setAccessibleName("Save the staff note")
        self.note_button.clicked.connect(self._add_note)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_edit, 1)
        note_row.addWidget(self.note_button, 0, Qt.AlignmentFlag.AlignBottom)
        notes.column.addLayout(note_row)

        for section in self.sections.values():
            self.tabs.addTab(section, section.title)
        return self.tabs

    def _tab_shortcuts(self) -> None:
        """Alt+Shift+1…8 open the tabs (Ctrl+PgUp/PgDn step through them too)."""
        for number in range(1, self.tabs.count() + 1):
            shortcut = QShortcut(QKeySequence(f"Alt+Shift+{number}"), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda n=number: self._open_tab(n - 1))
        for index, section in enumerate(self.sections.values(), start=1):
            self.tabs.setTabToolTip(index - 1, f"{section.title} (Alt+Shift+{index})")

    def _open_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)
        self.tabs.currentWidget().setFocus()

    # ------------------------------------------------------------ the role

    def set_role(self, role: str) -> None:
        """Show the actions this console's role may take (the hub checks them too)."""
        self.role = role
        moderates = role in ("moderator", "host")
        for widget in (self.timeout_button, self.ban_button, self.unban_button):
            widget.setVisible(moderates)
        self.private_box.setVisible(role in ("agent", "host"))
        self.comment_reply.setVisible(role in ("agent", "host"))
        self.view_log_button.setVisible(role == "host")

    # ------------------------------------------------------------ showing

    def show_profile(self, profile: protocol.Profile) -> None:
        same = self.viewer_id == profile.viewer_id
        self.viewer_id = profile.viewer_id
        self.profile = profile
        self.avatar.set_viewer(
            profile.initial if profile.initial != "?" else profile.name, profile.viewer_id
        )
        self.name.setText(profile.name)
        self.presence.setText("● watching now" if profile.online else "not in the room")
        self._set_badges(profile.segments)
        self._set_consent(profile.consent)
        self._set_identity(profile)
        self.first_seen.setText(_when(profile.first_seen))
        self.last_seen.setText(_when(profile.last_seen))
        if recorded("browsing", profile.consent):
            self.streams.setText(str(profile.streams_attended))
            self.watch_time.setText(_duration(profile.watch_seconds))
        else:
            # "0 min" would read as a measurement: without consent nothing was measured.
            self.streams.setText(NOT_RECORDED)
            self.watch_time.setText(NOT_RECORDED)
        self.comment_count.setText(str(profile.comment_count))
        self.standing.setText(self._standing(profile))
        self.viewer_id_label.setText(profile.viewer_id)
        self.tags.setText(
            "Tags: " + ", ".join(t.tag for t in profile.tags) if profile.tags else "No tags."
        )
        self.tags.setToolTip(
            "\n".join(f"{t.tag} — added by {t.author}, {_when(t.ts)}" for t in profile.tags)
        )
        if not same:
            self.all_streams.setChecked(False)
            self.private_box.line.clear()
            self.comment_reply.line.clear()
            self.note_edit.clear()
        self.all_streams.setEnabled(profile.consent == "remember")
        self._fill_comments()
        self._fill_questions(profile.questions)
        self._fill_orders(profile)
        self._fill(
            "watched",
            [(f"{_clock(v.ts)}  {v.title}", _when(v.ts)) for v in profile.watched_not_bought],
        )
        self._fill_checkouts(profile.checkouts)
        self._fill(
            "reviews",
            [
                (
                    f"{'★' * r.rating}{'☆' * (5 - r.rating)}  {r.text}",
                    f"{r.product_id}, {r.created}",
                )
                for r in profile.reviews
            ],
        )
        self._fill("moderation", [self._mod_row(m) for m in profile.moderation])
        self._fill(
            "notes",
            [(f"{n.author}, {_when(n.ts)}:  {n.text}", n.text) for n in profile.notes],
        )
        self._pages.setCurrentWidget(self._body)
        self.setWindowTitle(f"Viewer — {profile.name}")

    def show_message(self, text: str) -> None:
        self.placeholder.setText(text)
        self._pages.setCurrentWidget(self.placeholder)

    def viewer_deleted(self, viewer_id: str) -> bool:
        """The viewer asked to be forgotten: the panel says so instead of the profile."""
        if viewer_id != self.viewer_id:
            return False
        self.profile = None
        self.show_message(DELETED_TEXT)
        self.setWindowTitle("Viewer — deleted")
        return True

    @property
    def deleted(self) -> bool:
        return self.placeholder.text() == DELETED_TEXT and self.profile is None

    def _set_badges(self, segments: Iterable[str]) -> None:
        for label in self._badge_labels:
            self.badges.removeWidget(label)
            label.deleteLater()
        self._badge_labels = []
        for segment in segments:
            text, colour = BADGES.get(segment, (segment.title(), "#666a73"))
            label = _badge(text, colour, self._body)
            self.badges.insertWidget(self.badges.count() - 1, label)
            self._badge_labels.append(label)

    def badge_texts(self) -> list[str]:
        return [label.text() for label in self._badge_labels]

    def _set_consent(self, consent: str) -> None:
        if consent == "remember":
            self.consent.setText("Consent: remember (history across streams is kept).")
            self.consent.setStyleSheet("")
        else:
            self.consent.setText(SESSION_ONLY_TEXT)
            self.consent.setStyleSheet("QLabel { font-weight: bold; }")
        why = {"unknown": "has not chosen yet", "session": "said no"}.get(consent, consent)
        self.consent.setToolTip(
            f"Consent: {consent}" + ("" if consent == "remember" else f" ({why})")
        )

    def _set_identity(self, profile: protocol.Profile) -> None:
        # A customer known by one device is linked too: the hub lists no other ids then.
        if profile.identity == "linked":
            others = [v for v in profile.linked_viewer_ids if v != profile.viewer_id]
            links = ", ".join(f'<a href="{v}">{v}</a>' for v in others)
            self.identity.setText(
                f"Linked to a customer by checkout email; the same customer: {links}"
                if links
                else "Linked to a customer by checkout email (no other device yet)."
            )
            self.unlink_button.setVisible(True)
        else:
            self.identity.setText("Anonymous (not linked to a customer).")
            self.unlink_button.setVisible(False)

    @staticmethod
    def _standing(profile: protocol.Profile) -> str:
        if profile.banned:
            return "banned"
        if profile.muted_until and profile.muted_until > time.time():
            return f"timed out until {_clock(profile.muted_until)}"
        return "may chat"

    def _fill(self, key: str, rows: Sequence[tuple[str, str]], count: int | None = None) -> None:
        section = self.sections[key]
        section.set_rows(rows)
        index = self.tabs.indexOf(section)
        self.tabs.setTabText(index, _titled(section.title, len(rows) if count is None else count))

    def _fill_comments(self) -> None:
        profile = self.profile
        if profile is None:
            return
        everything = self.all_streams.isChecked()
        shown = [c for c in profile.comments if everything or c.this_stream]
        rows = [
            (
                f"{_clock(c.ts)}  {'(deleted) ' if c.deleted else ''}{c.text}",
                _when(c.ts) + ("" if c.this_stream else " (an earlier stream)"),
            )
            for c in shown
        ]
        count = profile.comment_count if everything else profile.comment_count_stream or len(shown)
        self._fill("comments", rows, max(count, len(shown)))
        listed = self.sections["comments"].list
        for row, comment in enumerate(shown):
            if not comment.deleted:
                listed.item(row).setData(_COMMENT, comment.seq)

    def _fill_questions(self, questions: Sequence[protocol.ProfileQuestion]) -> None:
        section = self.sections["questions"]
        self.question_tree.clear()
        for question in questions:
            state = (
                "done"
                if question.done
                else (f"claimed by {question.claimed_by}" if question.claimed_by else "waiting")
            )
            item = QTreeWidgetItem(self.question_tree, (question.text, _clock(question.ts)))
            item.setData(0, _QUESTION, question.id)
            item.setToolTip(0, f"{question.text}\n{state}, asked {_when(question.ts)}")
            for answer in question.answers:
                who = f"{answer.agent} (private)" if answer.private else answer.agent
                child = QTreeWidgetItem(item, (f"↳ {who}: {answer.text}", _clock(answer.ts)))
                child.setToolTip(0, answer.text)
            item.setExpanded(True)
        section._stack.setCurrentWidget(self.question_tree if questions else section.empty)
        self.tabs.setTabText(self.tabs.indexOf(section), _titled("Questions", len(questions)))
        if questions:
            self.question_tree.setCurrentItem(self.question_tree.topLevelItem(0))
        self._question_selected()

    def _fill_orders(self, profile: protocol.Profile) -> None:
        rows = []
        for order in profile.orders:
            total = _money(order.total, order.currency)
            deal = " (deal)" if order.deal else ""
            rows.append(
                (
                    f"{_clock(order.ts)}  {order.quantity} x {order.title} — {total}, "
                    f"{order.status}{deal}",
                    f"Order {order.order_id}, SKU {order.sku}, {_when(order.ts)}",
                )
            )
        count = max(profile.order_count, len(profile.orders))
        self._fill("orders", rows, count)
        if profile.paid_orders and profile.currency:
            average = (
                _money(profile.average_order, profile.currency)
                if profile.average_order is not None
                else "—"
            )
            self.order_summary.setText(
                f"{profile.paid_orders} paid of {count} · lifetime value "
                f"{_money(profile.lifetime_value, profile.currency)} · average order {average}"
            )
        else:
            self.order_summary.setText(
                f"{counted(count, 'order')} · nothing paid yet" if count else ""
            )
        self.order_summary.setVisible(bool(self.order_summary.text()))

    def _fill_checkouts(self, checkouts: Sequence[protocol.ProfileCheckout]) -> None:
        rows = []
        for checkout in checkouts:
            state = CHECKOUT_STATES.get(checkout.state, checkout.state)
            order = f", order {checkout.order_id}" if checkout.order_id else ""
            rows.append(
                (f"{_clock(checkout.ts)}  {checkout.sku} — {state}{order}", _when(checkout.ts))
            )
        self._fill("checkouts", rows)
        counts = {label: 0 for label in CHECKOUT_STATES.values()}
        for checkout in checkouts:
            label = CHECKOUT_STATES.get(checkout.state, checkout.state)
            counts[label] = counts.get(label, 0) + 1
        self.checkout_summary.setText(
            " · ".join(f"{n} {label}" for label, n in counts.items()) if checkouts else ""
        )
        self.checkout_summary.setVisible(bool(checkouts))

    @staticmethod
    def _mod_row(entry: protocol.ProfileModeration) -> tuple[str, str]:
        action = MOD_ACTIONS.get(entry.action, entry.action)
        if entry.action == "timeout" and entry.until:
            action += f" until {_clock(entry.until)}"
        why = f" — {entry.reason}" if entry.reason else ""
        text = f" “{entry.text}”" if entry.text else ""
        return (
            f"{_clock(entry.ts)}  {action} by {entry.actor} ({entry.actor_role}){why}{text}",
            _when(entry.ts),
        )

    # ------------------------------------------------------------ acting

    def _send(self, message: protocol.ClientMessage, done: str) -> None:
        self.command_requested.emit(message, done)

    def _fill_tag_menu(self) -> None:
        self.tag_menu.clear()
        have = {t.tag.casefold(): t.tag for t in (self.profile.tags if self.profile else [])}
        for tag in SUGGESTED_TAGS:
            if tag.casefold() not in have:
                self.tag_menu.addAction(f"Add {tag}", lambda t=tag: self.set_tag(t, True))
        self.tag_menu.addAction("Add another tag…", self._ask_tag)
        if have:
            self.tag_menu.addSeparator()
            for tag in have.values():
                self.tag_menu.addAction(f"Remove {tag}", lambda t=tag: self.set_tag(t, False))

    def _ask_tag(self) -> None:
        text, ok = QInputDialog.getText(self, "Tag", "Tag this viewer as (e.g. wholesale):")
        if ok and text.strip():
            self.set_tag(text.strip(), True)

    def set_tag(self, tag: str, on: bool) -> None:
        if self.viewer_id is None:
            return
        done = f"Tagged {tag}." if on else f"Tag {tag} removed."
        self._send(protocol.SetTag(viewer_id=self.viewer_id, tag=tag, on=on), done)

    def _add_note(self) -> None:
        text = self.note_edit.toPlainText().strip()
        if self.viewer_id is None or not text:
            return
        self._send(protocol.AddNote(viewer_id=self.viewer_id, text=text), "Note saved.")
        self.note_edit.clear()

    def _unlink(self) -> None:
        if self.viewer_id is not None:
            self._send(protocol.Unlink(viewer_id=self.viewer_id), "Unlinked from the customer.")

    def _name(self) -> str:
        return self.profile.name if self.profile else "The viewer"

    def _timeout(self, seconds: float, label: str) -> None:
        if self.viewer_id is not None:
            self._send(
                protocol.TimeoutViewer(viewer_id=self.viewer_id, seconds=seconds),
                f"{self._name()} is timed out for {label}.",
            )

    def _ban(self) -> None:
        if self.viewer_id is None:
            return
        reason, ok = QInputDialog.getText(
            self, "Ban", f"Ban {self._name()} from the chat? Reason (optional):"
        )
        if ok:
            self._send(
                protocol.BanViewer(viewer_id=self.viewer_id, reason=reason.strip()),
                f"{self._name()} is banned.",
            )

    def _unban(self) -> None:
        if self.viewer_id is not None:
            self._send(
                protocol.UnbanViewer(viewer_id=self.viewer_id), f"{self._name()} may chat again."
            )

    def _question_selected(self) -> None:
        self.private_box.set_target(self.question_tree.currentItem() is not None)

    def _answer_privately(self, text: str) -> None:
        item = self.question_tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is not None:
            self._send(
                protocol.AnswerQuestion(
                    question=int(item.data(0, _QUESTION)), text=text, private=True
                ),
                f"Answered {self._name()} privately.",
            )

    def _reply_privately(self, text: str) -> None:
        item = self.sections["comments"].list.currentItem()
        if item is not None and item.data(_COMMENT) is not None:
            self._send(
                protocol.AnswerQuestion(question=int(item.data(_COMMENT)), text=text, private=True),
                f"Answered {self._name()} privately, under their comment.",
            )

    # ------------------------------------------------------------ live updates

    def concerns(self, messages: Iterable[protocol.ServerMessage]) -> bool:
        """Whether this frame changes what the panel shows (it then asks again)."""
        shown = self.viewer_id
        if shown is None or self.profile is None:
            return False
        for message in messages:
            match message:
                case (
                    protocol.Comment()
                    | protocol.QuestionState()
                    | protocol.Answer()
                    | protocol.Held()
                    | protocol.HeldResolved()
                    | protocol.ProfileChanged()
                ) if message.viewer_id == shown:
                    return True
                case protocol.ModEntry() if message.viewer_id == shown:
                    return True
                case protocol.OrderPlaced() if message.name == self.profile.name:
                    # Public order news carries the chat name, not the viewer id.
                    return True
                case protocol.ProfilesLinked() if shown in message.viewer_ids:
                    return True
        return False


class ViewLogDialog(QDialog):
    """Host only: who opened which viewer's profile, and when (newest first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("view-log")
        self.setWindowTitle("Who looked at profiles")
        column = QVBoxLayout(self)
        intro = QLabel("Every opening of a viewer's profile, newest first.", self)
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.table = QTableWidget(0, 4, self)
        self.table.setAccessibleName("Profile views")
        self.table.setHorizontalHeaderLabels(("When", "Staff", "Role", "Viewer"))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        column.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        column.addWidget(buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 90, self.fontMetrics().height() * 25)

    def set_entries(self, entries: Sequence[protocol.ViewLogEntry], names: dict[str, str]) -> None:
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            viewer = names.get(entry.viewer_id, entry.viewer_id)
            for col, text in enumerate((_when(entry.ts), entry.staff, entry.role, viewer)):
                item = QTableWidgetItem(text)
                item.setToolTip(entry.viewer_id if col == 3 else text)
                self.table.setItem(row, col, item)


class ProfileController(QObject):
    """Opens the panel from wherever a viewer appears and keeps it current."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        dock = self.dock = window.profile
        self._names: dict[str, str] = {}
        self.view_log: ViewLogDialog | None = None
        self.viewer_list = ViewerListDock(window)
        self.viewer_list.setMinimumWidth(240)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.viewer_list)
        window.tabifyDockWidget(dock, self.viewer_list)
        dock.raise_()

        dock.command_requested.connect(window.command)
        dock.reply_requested.connect(self.reply)
        dock.open_requested.connect(self.open)
        dock.view_log_requested.connect(self.open_view_log)
        self.viewer_list.viewer_activated.connect(self.open)
        self.viewer_list.refresh_requested.connect(lambda: self._spawn(self._load_viewers()))
        window.orders_window.viewer_activated.connect(self.open)
        team = window.team
        team.moderation.profile_requested.connect(self.open)
        team.questions.tree.itemActivated.connect(self._open_question)
        team.questions.tree.setToolTip("Double-click or Enter: open the viewer's profile")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.window._spawn(coro)

    def open(self, viewer_id: str) -> None:
        if not viewer_id:
            return
        self.dock.show()
        self.dock.raise_()
        self._spawn(self.load(viewer_id))

    async def load(self, viewer_id: str, *, refresh: bool = False) -> None:
        self.dock.set_role(self.window.team.role)
        try:
            reply = await self.window.client.request(
                protocol.GetProfile(viewer_id=viewer_id, refresh=refresh)
            )
        except ShopcastError as exc:
            self.dock.show_message(f"Could not load the profile: {exc}")
            return
        if isinstance(reply, protocol.Profile):
            self._names[reply.viewer_id] = reply.name
            self.dock.show_profile(reply)

    def follow(self, messages: list[protocol.ServerMessage]) -> None:
        """A frame from the hub: reload the shown viewer when it concerns them."""
        for message in messages:
            if isinstance(message, protocol.ViewerDeleted) and self.dock.viewer_deleted(
                message.viewer_id
            ):
                return
        if self.dock.concerns(messages) and self.dock.viewer_id is not None:
            self._spawn(self.load(self.dock.viewer_id, refresh=True))

    def reply(self, name: str) -> None:
        chat = self.window.chat
        chat.show()
        chat.raise_()
        chat.input.setText(f"@{name} ")
        chat.input.setFocus()
        chat.input.end(False)

    def _open_question(self, item: QTreeWidgetItem) -> None:
        value = item.data(0, _QUESTION)
        question = self.window.team.questions.question(int(value)) if value is not None else None
        if question is not None:
            self.open(question.viewer_id)

    async def _load_viewers(self) -> None:
        try:
            reply = await self.window.client.request(protocol.GetViewers())
        except ShopcastError as exc:
            self.viewer_list.failed(str(exc))
            return
        if isinstance(reply, protocol.WatchingList):
            self._names.update({v.viewer_id: v.name for v in reply.viewers if v.name})
            self.viewer_list.set_viewers(reply.viewers)

    def open_view_log(self) -> None:
        if self.view_log is None:
            self.view_log = ViewLogDialog(self.window)
        self.view_log.show()
        self.view_log.raise_()
        self._spawn(self._load_view_log())

    async def _load_view_log(self) -> None:
        try:
            reply = await self.window.client.request(protocol.GetViewLog(limit=500))
        except ShopcastError as exc:
            self.window.statusBar().showMessage(f"View log not loaded: {exc}", 8000)
            return
        if isinstance(reply, protocol.ViewLog) and self.view_log is not None:
            self.view_log.set_entries(reply.entries, self._names)
