"""The moderation dock: held comments to approve or deny, the mod log, chat modes, terms.

Everything shown comes from the hub's events (a held comment, a mod-log entry, the
modes), so every moderator's console shows the same queue and the same log, also after
a reconnect. The buttons only ask the hub; nothing here changes until the hub says so.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.moderation import MAX_HOLD_NEW_MINUTES
from console.domain.modlog import ACTION_LABELS, describe_modes, matches
from console.domain.reviews import stars

#: The log keeps this many entries in view (older ones stay in the hub, and in exports).
LOG_ROWS = 2000
TERM_KINDS = ("word", "wildcard", "regex")
#: Why a comment was held, in a moderator's words (the rule names of the chat policy).
RULE_LABELS = {
    "term": "blocked term",
    "link": "link",
    "repeat": "repeated",
    "flood": "flood",
    "new_chatter": "new chatter",
}
TERM_ACTIONS = ("hold", "delete")


def _time(ts: float | None) -> str:
    return "" if ts is None else datetime.datetime.fromtimestamp(ts).strftime("%H:%M:%S")


class ModerationDock(QDockWidget):
    resolve_requested = Signal(int, bool)
    modes_requested = Signal(object)
    terms_requested = Signal(object)
    export_requested = Signal()
    #: Open the held comment's author in the viewer panel.
    profile_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Moderation", parent)
        self.setObjectName("moderation-dock")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._build_held(), "Held")
        self.tabs.addTab(self._build_log(), "Mod log")
        self.tabs.addTab(self._build_modes(), "Chat modes")
        self.tabs.addTab(self._build_terms(), "Blocked terms")
        self.setWidget(self.tabs)
        self.entries: list[protocol.ModEntry] = []
        self._entry_ids: set[int] = set()
        self._held: dict[int, protocol.Held] = {}

    # ------------------------------------------------------------ held comments

    def _build_held(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 4, 4, 4)
        self.held_list = QListWidget(page)
        self.held_list.setAccessibleName("Comments held for review")
        self.held_list.setWordWrap(True)
        self.held_list.itemDoubleClicked.connect(lambda _: self._resolve(True))
        column.addWidget(self.held_list, 1)
        row = QHBoxLayout()
        self.approve_button = QPushButton("&Approve", page)
        self.approve_button.setToolTip("Publish the selected comment (A)")
        self.approve_button.clicked.connect(lambda: self._resolve(True))
        self.deny_button = QPushButton("&Deny", page)
        self.deny_button.setToolTip("Drop the selected comment (D)")
        self.deny_button.clicked.connect(lambda: self._resolve(False))
        self.profile_button = QPushButton("&Profile", page)
        self.profile_button.setToolTip("Open the author's viewer profile (P)")
        self.profile_button.clicked.connect(self._open_profile)
        row.addWidget(self.approve_button)
        row.addWidget(self.deny_button)
        row.addWidget(self.profile_button)
        row.addStretch(1)
        shortcut = QShortcut(QKeySequence("P"), self.held_list)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(self._open_profile)
        column.addLayout(row)
        for key, approve in (("A", True), ("D", False)):
            shortcut = QShortcut(QKeySequence(key), self.held_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda approve=approve: self._resolve(approve))
        return page

    def add_held(self, held: protocol.Held) -> None:
        if held.held_id in self._held:
            return
        self._held[held.held_id] = held
        why = RULE_LABELS.get(held.rule, held.rule)
        who = held.name
        if held.product_id is not None and held.rating is not None:
            who += f" (review of {held.product_id}, {stars(held.rating)})"
        item = QListWidgetItem(f"{_time(held.ts)}  [{why}]  {who}: {held.text}")
        item.setData(Qt.ItemDataRole.UserRole, held.held_id)
        item.setToolTip(held.reason)
        self.held_list.addItem(item)
        if self.held_list.currentRow() < 0:
            self.held_list.setCurrentRow(0)
        self._count_held()

    def resolved(self, held_id: int) -> None:
        self._held.pop(held_id, None)
        for row in range(self.held_list.count()):
            if self.held_list.item(row).data(Qt.ItemDataRole.UserRole) == held_id:
                self.held_list.takeItem(row)
                break
        self._count_held()

    def _count_held(self) -> None:
        count = len(self._held)
        self.tabs.setTabText(0, f"Held ({count})" if count else "Held")

    def _resolve(self, approve: bool) -> None:
        item = self.held_list.currentItem()
        if item is not None:
            self.resolve_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)), approve)

    def _open_profile(self) -> None:
        item = self.held_list.currentItem()
        held = self._held.get(int(item.data(Qt.ItemDataRole.UserRole))) if item else None
        if held is not None:
            self.profile_requested.emit(held.viewer_id)

    # ------------------------------------------------------------ the mod log

    def _build_log(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.log_action = QComboBox(page)
        self.log_action.setAccessibleName("Show actions of kind")
        self.log_action.addItem("All actions", "")
        for action, label in ACTION_LABELS.items():
            self.log_action.addItem(label, action)
        self.log_action.currentIndexChanged.connect(self._refilter)
        self.log_search = QLineEdit(page)
        self.log_search.setPlaceholderText("Filter by viewer, moderator, text or reason")
        self.log_search.setAccessibleName("Filter the mod log")
        self.log_search.setClearButtonEnabled(True)
        self.log_search.textChanged.connect(self._refilter)
        row.addWidget(self.log_action)
        row.addWidget(self.log_search, 1)
        column.addLayout(row)
        self.log_table = QTableWidget(0, 6, page)
        self.log_table.setAccessibleName("Mod log")
        self.log_table.setHorizontalHeaderLabels(
            ("Time", "Action", "By", "Viewer", "Text", "Reason")
        )
        self.log_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.log_table.verticalHeader().hide()
        header = self.log_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        column.addWidget(self.log_table, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.export_button = QPushButton("Export mod log (CSV)…", page)
        self.export_button.clicked.connect(self.export_requested)
        bottom.addWidget(self.export_button)
        column.addLayout(bottom)
        return page

    def load_log(self, entries: Iterable[protocol.ModEntry]) -> None:
        """The stored log (newest first, as the hub sends it), merged with live entries."""
        self.add_entries(sorted(entries, key=lambda e: e.id))

    def add_entries(self, entries: Iterable[protocol.ModEntry]) -> None:
        fresh = [e for e in entries if e.id not in self._entry_ids]
        if not fresh:
            return
        for entry in fresh:
            self._entry_ids.add(entry.id)
        self.entries = sorted([*self.entries, *fresh], key=lambda e: e.id)[-LOG_ROWS:]
        self._refilter()

    def _refilter(self) -> None:
        action = str(self.log_action.currentData() or "")
        shown = [e for e in reversed(self.entries) if matches(e, action, self.log_search.text())]
        self.log_table.setRowCount(len(shown))
        for row, entry in enumerate(shown):
            until = f" until {_time(entry.until)}" if entry.until else ""
            cells = (
                _time(entry.ts),
                ACTION_LABELS.get(entry.action, entry.action) + until,
                entry.actor,
                entry.name or entry.viewer_id,
                entry.text,
                entry.reason,
            )
            for col, text in enumerate(cells):
                self.log_table.setItem(row, col, QTableWidgetItem(text))

    # ------------------------------------------------------------ modes

    def _build_modes(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.slow = QSpinBox(page)
        self.slow.setRange(0, 3600)
        self.slow.setSuffix(" s")
        self.slow.setSpecialValueText("Off")
        self.slow.setAccessibleName("Slow mode: seconds between a viewer's comments")
        form.addRow("&Slow mode:", self.slow)
        self.hold_new = QSpinBox(page)
        self.hold_new.setRange(0, MAX_HOLD_NEW_MINUTES)
        self.hold_new.setSuffix(" min")
        self.hold_new.setSpecialValueText("Off")
        self.hold_new.setAccessibleName(
            "Hold new chatters: minutes a new viewer's comments wait for a moderator"
        )
        self.hold_new.setToolTip(
            "Comments of viewers the hub has known for less than this go to the Held queue"
        )
        form.addRow("Hold &new chatters:", self.hold_new)
        self.buyers_only = QCheckBox("Only &buyers may chat", page)
        self.emoji_only = QCheckBox("&Emoji only", page)
        self.paused = QCheckBox("&Pause the chat", page)
        for box in (self.buyers_only, self.emoji_only, self.paused):
            form.addRow(box)
        self.modes_state = QLabel(page)
        self.modes_state.setWordWrap(True)
        form.addRow(self.modes_state)
        apply = QPushButton("Apply modes", page)
        apply.clicked.connect(self._apply_modes)
        form.addRow(apply)
        return page

    def set_modes(self, modes: protocol.Modes) -> None:
        self.slow.setValue(modes.slow_seconds)
        self.hold_new.setValue(modes.hold_new_minutes)
        self.buyers_only.setChecked(modes.buyers_only)
        self.emoji_only.setChecked(modes.emoji_only)
        self.paused.setChecked(modes.paused)
        self.modes_state.setText("Now: " + describe_modes(modes))

    def _apply_modes(self) -> None:
        self.modes_requested.emit(
            protocol.SetModes(
                slow_seconds=self.slow.value(),
                buyers_only=self.buyers_only.isChecked(),
                emoji_only=self.emoji_only.isChecked(),
                paused=self.paused.isChecked(),
                hold_new_minutes=self.hold_new.value(),
            )
        )

    # ------------------------------------------------------------ blocked terms

    def _build_terms(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(
            QLabel(
                "Words match whole words in any case, with accents and leetspeak folded "
                '("sp4m" is "spam"). Wildcards: * any letters, ? one letter. Regular '
                "expressions match the folded text.",
                page,
                wordWrap=True,
            )
        )
        self.terms_table = QTableWidget(0, 3, page)
        self.terms_table.setAccessibleName("Blocked terms")
        self.terms_table.setHorizontalHeaderLabels(("Term", "Kind", "Action"))
        self.terms_table.verticalHeader().hide()
        self.terms_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        column.addWidget(self.terms_table, 1)
        self.block_links = QCheckBox("Hold comments with &links for review", page)
        self.block_links.setChecked(True)
        column.addWidget(self.block_links)
        row = QHBoxLayout()
        add = QPushButton("Add term", page)
        add.clicked.connect(lambda: self._add_term_row(protocol.TermSpec(pattern="")))
        remove = QPushButton("Remove", page)
        remove.clicked.connect(lambda: self.terms_table.removeRow(self.terms_table.currentRow()))
        save = QPushButton("Save terms", page)
        save.clicked.connect(self._save_terms)
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        row.addWidget(save)
        column.addLayout(row)
        return page

    def set_terms(self, terms: protocol.Terms) -> None:
        self.terms_table.setRowCount(0)
        for term in terms.terms:
            self._add_term_row(term)
        self.block_links.setChecked(terms.block_links)

    def _add_term_row(self, term: protocol.TermSpec) -> None:
        row = self.terms_table.rowCount()
        self.terms_table.insertRow(row)
        self.terms_table.setItem(row, 0, QTableWidgetItem(term.pattern))
        for col, choices, value in ((1, TERM_KINDS, term.kind), (2, TERM_ACTIONS, term.action)):
            combo = QComboBox(self.terms_table)
            combo.addItems(choices)
            combo.setCurrentText(value)
            self.terms_table.setCellWidget(row, col, combo)
        if not term.pattern:
            self.terms_table.setCurrentCell(row, 0)
            self.terms_table.editItem(self.terms_table.item(row, 0))

    def terms(self) -> protocol.SetTerms:
        specs = []
        for row in range(self.terms_table.rowCount()):
            item = self.terms_table.item(row, 0)
            pattern = item.text().strip() if item is not None else ""
            if not pattern:
                continue
            kind = self.terms_table.cellWidget(row, 1)
            action = self.terms_table.cellWidget(row, 2)
            assert isinstance(kind, QComboBox) and isinstance(action, QComboBox)
            specs.append(
                protocol.TermSpec(
                    pattern=pattern,
                    kind=kind.currentText(),  # type: ignore[arg-type]
                    action=action.currentText(),  # type: ignore[arg-type]
                )
            )
        return protocol.SetTerms(terms=specs, block_links=self.block_links.isChecked())

    def _save_terms(self) -> None:
        self.terms_requested.emit(self.terms())
