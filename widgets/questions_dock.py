"""The agents' question queue: grouped questions, claim, answer in public or private, done.

The hub owns the queue (claims, expiry, stats); this dock shows its latest snapshot,
asked for again shortly after any question or answer event, so every agent's console
agrees on who holds which question. Suggestions (passages from the pinned product and
owners' reviews, and the team's canned replies) fill the answer box with a double-click.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol

#: Question events in a burst cause one snapshot request, not one each.
REFRESH_DELAY_MS = 300
_QUESTION = Qt.ItemDataRole.UserRole


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


class QuestionsDock(QDockWidget):
    refresh_requested = Signal()
    claim_requested = Signal(int)
    release_requested = Signal(int)
    answer_requested = Signal(int, str, bool)
    done_requested = Signal(int)
    suggestions_requested = Signal(int)
    canned_edit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Questions", parent)
        self.setObjectName("questions-dock")
        self.me = ""
        self.snapshot: protocol.Questions | None = None
        self.canned: list[protocol.CannedReply] = []
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.stats = QLabel("No questions yet.", body)
        self.stats.setObjectName("queue-stats")
        self.stats.setAccessibleName("Question queue figures")
        column.addWidget(self.stats)

        split = QSplitter(Qt.Orientation.Vertical, body)
        self.tree = QTreeWidget(split)
        self.tree.setAccessibleName("Questions, oldest first")
        self.tree.setHeaderLabels(("Question", "Who", "Status"))
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.currentItemChanged.connect(self._selected)
        split.addWidget(self.tree)

        answer = QWidget(split)
        lower = QVBoxLayout(answer)
        lower.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.claim_button = QPushButton("&Claim", answer)
        self.claim_button.setToolTip("Take this question so no other agent answers it (Ctrl+K)")
        self.claim_button.clicked.connect(lambda: self._emit_for_current(self.claim_requested))
        self.release_button = QPushButton("&Release", answer)
        self.release_button.clicked.connect(lambda: self._emit_for_current(self.release_requested))
        self.done_button = QPushButton("D&one", answer)
        self.done_button.setToolTip("Mark the question answered and take it off the queue")
        self.done_button.clicked.connect(lambda: self._emit_for_current(self.done_requested))
        for button in (self.claim_button, self.release_button, self.done_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        lower.addLayout(buttons)
        self.answer = QTextEdit(answer)
        self.answer.setAcceptRichText(False)
        self.answer.setPlaceholderText("Answer… (Ctrl+Enter sends)")
        self.answer.setAccessibleName("Answer to the selected question")
        self.answer.setMaximumHeight(90)
        lower.addWidget(self.answer)
        send_row = QHBoxLayout()
        self.private = QCheckBox("Only to the viewer who asked (&private)", answer)
        self.send_button = QPushButton("Send answer", answer)
        self.send_button.clicked.connect(self._send)
        send_row.addWidget(self.private, 1)
        send_row.addWidget(self.send_button)
        lower.addLayout(send_row)
        lower.addWidget(QLabel("Suggestions (double-click to use):", answer))
        self.suggestions = QListWidget(answer)
        self.suggestions.setAccessibleName("Suggested answers")
        self.suggestions.setWordWrap(True)
        self.suggestions.itemActivated.connect(self._use_suggestion)
        self.suggestions.itemDoubleClicked.connect(self._use_suggestion)
        lower.addWidget(self.suggestions, 1)
        edit = QPushButton("Edit canned replies…", answer)
        edit.clicked.connect(self.canned_edit_requested)
        lower.addWidget(edit, 0, Qt.AlignmentFlag.AlignRight)
        split.addWidget(answer)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        column.addWidget(split, 1)
        self.setWidget(body)

        QShortcut(
            QKeySequence("Ctrl+Return"), self.answer, context=Qt.ShortcutContext.WidgetShortcut
        ).activated.connect(self._send)
        QShortcut(QKeySequence("Ctrl+K"), self, activated=self._claim_current)
        self._refresh = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh.timeout.connect(self.refresh_requested)
        self._update_buttons()

    # ------------------------------------------------------------ from the hub

    def changed(self) -> None:
        """A question or answer event arrived: ask for a fresh snapshot soon."""
        self._refresh.start()

    def show_snapshot(self, snapshot: protocol.Questions, now: float) -> None:
        current = self.current_question()
        self.snapshot = snapshot
        stats = snapshot.stats
        median = (
            f" · median first answer {_ago(stats.median_first_answer)}"
            if stats.median_first_answer is not None
            else ""
        )
        self.stats.setText(
            f"{stats.length} waiting · {stats.unanswered} unanswered{median}"
            if stats.length
            else "No questions waiting." + median
        )
        by_id = {q.id: q for q in snapshot.questions}
        self.tree.clear()
        select: QTreeWidgetItem | None = None
        for group in snapshot.groups:
            members = [by_id[i] for i in group.questions if i in by_id]
            parent: QTreeWidget | QTreeWidgetItem = self.tree
            if len(members) > 1:
                parent = QTreeWidgetItem(self.tree, (group.label, f"{len(members)}", ""))
                parent.setExpanded(True)
            for question in members:
                item = QTreeWidgetItem(
                    parent, (question.text, question.name, self._status(question, now))
                )
                item.setData(0, _QUESTION, question.id)
                item.setToolTip(0, question.text)
                if question.id == current:
                    select = item
        if select is not None:
            self.tree.setCurrentItem(select)
        self._update_buttons()

    def _status(self, question: protocol.QuestionState, now: float) -> str:
        waited = _ago(now - question.ts)
        if question.claimed_by:
            who = "you" if question.claimed_by == self.me else question.claimed_by
            answered = "answered, " if question.answered_at else ""
            return f"{answered}claimed by {who}"
        return ("answered" if question.answered_at else "waiting") + f" · {waited}"

    def show_suggestions(self, suggestions: protocol.Suggestions) -> None:
        if suggestions.question != self.current_question():
            return
        self.suggestions.clear()
        for passage in suggestions.passages:
            item = QListWidgetItem(f"[{passage.source}] {passage.text}")
            item.setData(_QUESTION, passage.text)
            self.suggestions.addItem(item)
        for reply in suggestions.canned:
            item = QListWidgetItem(f"{reply.title}: {reply.text}")
            item.setData(_QUESTION, reply.text)
            self.suggestions.addItem(item)
        self.canned = suggestions.canned

    # ------------------------------------------------------------ the agent's actions

    def current_question(self) -> int | None:
        item = self.tree.currentItem()
        value = item.data(0, _QUESTION) if item is not None else None
        return int(value) if value is not None else None

    def question(self, question_id: int) -> protocol.QuestionState | None:
        if self.snapshot is None:
            return None
        return next((q for q in self.snapshot.questions if q.id == question_id), None)

    def _selected(self) -> None:
        self.suggestions.clear()
        question = self.current_question()
        if question is not None:
            self.suggestions_requested.emit(question)
        self._update_buttons()

    def _update_buttons(self) -> None:
        question = self.question(self.current_question() or -1)
        mine = question is not None and question.claimed_by == self.me
        free = question is not None and not question.claimed_by
        self.claim_button.setEnabled(free)
        self.release_button.setEnabled(mine)
        self.done_button.setEnabled(mine or free)
        self.send_button.setEnabled(mine or free)

    def _emit_for_current(self, signal: Signal) -> None:
        question = self.current_question()
        if question is not None:
            signal.emit(question)  # type: ignore[attr-defined]

    def _claim_current(self) -> None:
        self._emit_for_current(self.claim_requested)

    def _send(self) -> None:
        question = self.current_question()
        text = self.answer.toPlainText().strip()
        if question is not None and text:
            self.answer_requested.emit(question, text, self.private.isChecked())

    def answered(self) -> None:
        self.answer.clear()

    def _use_suggestion(self, item: QListWidgetItem) -> None:
        self.answer.setPlainText(str(item.data(_QUESTION)))
        self.answer.setFocus()


class CannedRepliesDialog(QDialog):
    """The team's canned replies: a title and a text with {product}, {price}, {stock}."""

    def __init__(self, replies: list[protocol.CannedReply], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Canned replies")
        column = QVBoxLayout(self)
        column.addWidget(
            QLabel(
                "{product}, {price} and {stock} are filled in for the pinned product.",
                self,
                wordWrap=True,
            )
        )
        self.table = QTableWidget(0, 2, self)
        self.table.setAccessibleName("Canned replies")
        self.table.setHorizontalHeaderLabels(("Title", "Text"))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for reply in replies:
            self._add(reply.title, reply.template)
        column.addWidget(self.table, 1)
        row = QHBoxLayout()
        add = QPushButton("Add", self)
        add.clicked.connect(lambda: self._add("", ""))
        remove = QPushButton("Remove", self)
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        column.addLayout(row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
        self.resize(560, 360)

    def _add(self, title: str, template: str) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(title))
        self.table.setItem(row, 1, QTableWidgetItem(template))

    def replies(self) -> list[protocol.CannedReply]:
        out = []
        for row in range(self.table.rowCount()):
            title, text = (self.table.item(row, c) for c in (0, 1))
            if title and text and title.text().strip() and text.text().strip():
                out.append(protocol.CannedReply(title=title.text().strip(), template=text.text()))
        return out
