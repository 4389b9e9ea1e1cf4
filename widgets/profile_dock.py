"""The viewer panel: what the room knows of one viewer, in a dock at the side.

The header says who it is at a glance; the sections below hold the history. Every
section is the same small widget (a titled list with an empty-state sentence), so orders,
questions, moderation and notes plug in as data arrives for them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from widgets.chat_dock import author_colour


def _when(ts: float) -> str:
    return time.strftime("%d %b %Y, %H:%M", time.localtime(ts))


def _clock(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


class Avatar(QWidget):
    """A round badge with the viewer's initial, in their chat colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(48, 48)
        self._initial = "?"
        self._colour = QColor("gray")

    def set_viewer(self, name: str, viewer_id: str) -> None:
        self._initial = (name[:1] or "?").upper()
        self._colour = author_colour(viewer_id, self.palette())
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


class ProfileSection(QWidget):
    """One history section: a list, or a sentence saying there is nothing yet."""

    def __init__(self, title: str, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self._stack = QStackedWidget(self)
        self.empty = QLabel(empty_text, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAccessibleName(title)
        self._stack.addWidget(self.empty)
        self._stack.addWidget(self.list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    def set_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        """Show ``(text, tooltip)`` rows, newest first; an empty list shows the sentence."""
        self.list.clear()
        for text, tip in rows:
            item = QListWidgetItem(text)
            item.setToolTip(tip)
            self.list.addItem(item)
        self._stack.setCurrentWidget(self.list if rows else self.empty)


class ProfileDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Viewer", parent)
        self.setObjectName("profile-dock")
        self.viewer_id: str | None = None

        self._pages = QStackedWidget(self)
        self.placeholder = QLabel(
            "Click a name in the chat to see what the room knows about that viewer.", self
        )
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._pages.addWidget(self.placeholder)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        header = QHBoxLayout()
        self.avatar = Avatar(body)
        header.addWidget(self.avatar)
        names = QVBoxLayout()
        self.name = QLabel(body)
        self.name.setObjectName("profile-name")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name.setAccessibleName("Viewer name")
        self.presence = QLabel(body)
        self.presence.setAccessibleName("Presence")
        names.addWidget(self.name)
        names.addWidget(self.presence)
        header.addLayout(names, 1)
        layout.addLayout(header)

        facts = QFormLayout()
        self.first_seen = QLabel(body)
        self.last_seen = QLabel(body)
        self.comment_count = QLabel(body)
        self.viewer_id_label = QLabel(body)
        self.viewer_id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label, widget in (
            ("First seen", self.first_seen),
            ("Last seen", self.last_seen),
            ("Comments", self.comment_count),
            ("Viewer id", self.viewer_id_label),
        ):
            widget.setAccessibleName(label)
            facts.addRow(label + ":", widget)
        layout.addLayout(facts)

        self.tabs = QTabWidget(body)
        self.tabs.setAccessibleName("Viewer history")
        self.sections = {
            "comments": ProfileSection("Comments", "No comments yet."),
            "orders": ProfileSection("Orders", "No orders yet."),
            "questions": ProfileSection("Questions", "No questions yet."),
            "moderation": ProfileSection("Moderation", "No moderation actions."),
            "notes": ProfileSection("Notes", "No staff notes yet."),
        }
        for section in self.sections.values():
            self.tabs.addTab(section, section.title)
        layout.addWidget(self.tabs, 1)
        self._pages.addWidget(body)
        self._body = body
        self.setWidget(self._pages)

    def show_profile(self, profile: protocol.Profile) -> None:
        self.viewer_id = profile.viewer_id
        self.avatar.set_viewer(profile.name, profile.viewer_id)
        self.name.setText(profile.name)
        self.presence.setText("● watching now" if profile.online else "not in the room")
        self.first_seen.setText(_when(profile.first_seen))
        self.last_seen.setText(_when(profile.last_seen))
        self.comment_count.setText(str(profile.comment_count))
        self.viewer_id_label.setText(profile.viewer_id)
        self.sections["comments"].set_rows(
            [(f"{_clock(c.ts)}  {c.text}", _when(c.ts)) for c in profile.comments]
        )
        self.tabs.setTabText(0, f"Comments ({profile.comment_count})")
        self._pages.setCurrentWidget(self._body)
        self.setWindowTitle(f"Viewer — {profile.name}")

    def show_message(self, text: str) -> None:
        self.placeholder.setText(text)
        self._pages.setCurrentWidget(self.placeholder)
