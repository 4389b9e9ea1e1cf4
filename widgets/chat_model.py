"""The chat as a Qt list model: batched inserts and a bounded history.

A flood arrives as frames of many comments; each frame becomes one ``beginInsertRows``
(one layout pass in the view) instead of one per comment. Only the newest ``capacity``
comments are kept, like Chatterino's ring buffer: memory stays flat however long the show.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import IntEnum

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from console import protocol

DEFAULT_CAPACITY = 1000

_Index = QModelIndex | QPersistentModelIndex


class ChatRole(IntEnum):
    AUTHOR = Qt.ItemDataRole.UserRole + 1
    TEXT = Qt.ItemDataRole.UserRole + 2
    VIEWER_ID = Qt.ItemDataRole.UserRole + 3
    TIME = Qt.ItemDataRole.UserRole + 4
    ROLE = Qt.ItemDataRole.UserRole + 5
    SEQ = Qt.ItemDataRole.UserRole + 6
    OWNER = Qt.ItemDataRole.UserRole + 7


class ChatModel(QAbstractListModel):
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__()
        self._capacity = capacity
        self._rows: list[protocol.Comment] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        c = self._rows[index.row()]
        match role:
            case Qt.ItemDataRole.DisplayRole:
                return f"{c.name}: {c.text}"
            case Qt.ItemDataRole.AccessibleTextRole:
                owner = ", owner of the pinned product," if c.owner else ""
                return f"{c.name}{owner} said {c.text}"
            case Qt.ItemDataRole.ToolTipRole:
                return time.strftime("%H:%M:%S", time.localtime(c.ts))
            case ChatRole.AUTHOR:
                return c.name
            case ChatRole.TEXT:
                return c.text
            case ChatRole.VIEWER_ID:
                return c.viewer_id
            case ChatRole.TIME:
                return c.ts
            case ChatRole.ROLE:
                return c.role
            case ChatRole.SEQ:
                return c.seq
            case ChatRole.OWNER:
                return c.owner
        return None

    def comment(self, row: int) -> protocol.Comment:
        return self._rows[row]

    def append(self, comments: Sequence[protocol.Comment]) -> None:
        """Add a batch at the bottom, then drop the oldest beyond capacity."""
        if not comments:
            return
        batch = list(comments[-self._capacity :])
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(batch) - 1)
        self._rows.extend(batch)
        self.endInsertRows()
        excess = len(self._rows) - self._capacity
        if excess > 0:
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self._rows[:excess]
            self.endRemoveRows()

    def remove(self, seq: int) -> bool:
        """Take out the comment with this seq (a moderator deleted it); False if not shown."""
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].seq == seq:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
                return True
        return False

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()
