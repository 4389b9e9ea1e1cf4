"""The chat as a Qt list model: batched inserts and a bounded history.

A flood arrives as frames of many comments; each frame becomes one ``beginInsertRows``
(one layout pass in the view) instead of one per comment. Only the newest ``capacity``
comments are kept, like Chatterino's ring buffer: memory stays flat however long the show.

The team's public answers are rows too, in the order the room saw them, each naming the
question it answers: the viewers' pages thread them under the question, and the staff
see what the room saw.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from enum import IntEnum

import msgspec
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from console import protocol

DEFAULT_CAPACITY = 1000

_Index = QModelIndex | QPersistentModelIndex

#: A row of the chat: a comment, or a public answer to a viewer's question.
ChatEntry = protocol.Comment | protocol.Answer


def author(entry: ChatEntry) -> str:
    """Who wrote the row: the commenter, or the agent who answered."""
    return entry.agent if isinstance(entry, protocol.Answer) else entry.name


def replying_to(entry: ChatEntry) -> str:
    """The line an answer shows above its text ("Ann asked: does it run small?")."""
    if isinstance(entry, protocol.Answer):
        return f"{entry.name} asked: {entry.question_text}"
    return ""


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
        self._rows: list[ChatEntry] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        c = self._rows[index.row()]
        if isinstance(c, protocol.Answer):
            return self._answer_data(c, role)
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

    @staticmethod
    def _answer_data(a: protocol.Answer, role: int) -> object:
        """An answer's row: the agent is its author; it opens no viewer's profile."""
        match role:
            case Qt.ItemDataRole.DisplayRole:
                return f"{a.agent} answered {a.name}: {a.text}"
            case Qt.ItemDataRole.AccessibleTextRole:
                return f"{a.agent} of the team answered {replying_to(a)}, saying {a.text}"
            case Qt.ItemDataRole.ToolTipRole:
                return time.strftime("%H:%M:%S", time.localtime(a.ts))
            case ChatRole.AUTHOR:
                return a.agent
            case ChatRole.TEXT:
                return a.text
            case ChatRole.VIEWER_ID:
                return ""
            case ChatRole.TIME:
                return a.ts
            case ChatRole.ROLE:
                return "agent"
            case ChatRole.SEQ:
                return a.seq
            case ChatRole.OWNER:
                return False
        return None

    def comment(self, row: int) -> ChatEntry:
        return self._rows[row]

    def append(self, comments: Sequence[ChatEntry]) -> None:
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
        """Take out the comment with this seq (a moderator deleted it) and the answers
        that quote it; False if the comment is not shown."""
        found = False
        for row in range(len(self._rows) - 1, -1, -1):
            entry = self._rows[row]
            if (isinstance(entry, protocol.Comment) and entry.seq == seq) or (
                isinstance(entry, protocol.Answer) and entry.question == seq
            ):
                found = found or isinstance(entry, protocol.Comment)
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        return found

    def erase(self, comment_seqs: Collection[int], name: str) -> None:
        """A viewer's data was deleted: their rows are signed ``name``, with no badge."""
        for row, entry in enumerate(self._rows):
            erased = erase_entry(entry, comment_seqs, name)
            if erased is not entry:
                self._rows[row] = erased
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()


def erase_entry(entry: ChatEntry, comment_seqs: Collection[int], name: str) -> ChatEntry:
    """The row re-signed when it is one of the deleted viewer's, else the row itself."""
    if isinstance(entry, protocol.Comment) and entry.seq in comment_seqs:
        return msgspec.structs.replace(entry, name=name, viewer_id="", owner=False)
    if isinstance(entry, protocol.Answer) and entry.question in comment_seqs:
        return msgspec.structs.replace(entry, name=name, viewer_id="")
    return entry
