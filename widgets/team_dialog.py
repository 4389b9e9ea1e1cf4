"""The host's team: invite agents and moderators, see who is connected, revoke at once.

An invitation is a token shown once, with the command the person runs to join; the hub
keeps only its hash. The staff list is the hub's, pushed whenever someone connects,
leaves, is invited or revoked, so what the host sees is who is really there.
"""

from __future__ import annotations

import datetime
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol

ROLE_CHOICES = (
    ("Agent (answers questions)", "agent"),
    ("Moderator (keeps the chat clean)", "moderator"),
    ("Co-host", "host"),
)


def join_command(ws_url: str, token: str) -> str:
    return f"python -m console --connect {ws_url} --token {token}"


class TeamDialog(QDialog):
    invite_requested = Signal(str, str, float)
    revoke_requested = Signal(str)

    def __init__(self, ws_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Team")
        self.setObjectName("team-dialog")
        self.ws_url = ws_url
        column = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("Their name, as the team sees it")
        self.name.setMaxLength(40)
        form.addRow("&Name:", self.name)
        self.role = QComboBox(self)
        for label, role in ROLE_CHOICES:
            self.role.addItem(label, role)
        form.addRow("&Role:", self.role)
        self.hours = QDoubleSpinBox(self)
        self.hours.setRange(0.25, 24 * 90)
        self.hours.setValue(12)
        self.hours.setSuffix(" h")
        self.hours.setAccessibleName("Invitation valid for hours")
        form.addRow("&Valid for:", self.hours)
        self.invite_button = QPushButton("Create invitation", self)
        self.invite_button.clicked.connect(self._invite)
        form.addRow(self.invite_button)
        column.addLayout(form)

        self.invitation = QLineEdit(self)
        self.invitation.setReadOnly(True)
        self.invitation.setAccessibleName("Command for the invited person")
        self.invitation.setPlaceholderText("The command to send them appears here, once.")
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.invitation, 1)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.invitation.text())
        )
        copy_row.addWidget(self.copy_button)
        column.addLayout(copy_row)
        self.problem = QLabel(self)
        self.problem.setObjectName("form-problem")
        self.problem.setWordWrap(True)
        column.addWidget(self.problem)

        self.table = QTableWidget(0, 5, self)
        self.table.setAccessibleName("Team members")
        self.table.setHorizontalHeaderLabels(("Name", "Role", "Connected", "Access", ""))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        column.addWidget(self.table, 1)
        self.members: list[protocol.StaffMember] = []
        self.resize(640, 480)

    def _invite(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.problem.setText("Give the person a name, so the team knows who acts.")
            self.name.setFocus()
            return
        self.problem.clear()
        self.invite_requested.emit(name, str(self.role.currentData()), self.hours.value())

    def invited(self, invite: protocol.InviteCreated) -> None:
        self.invitation.setText(join_command(self.ws_url, invite.token))
        self.invitation.selectAll()
        self.name.clear()
        expires = datetime.datetime.fromtimestamp(invite.expires).strftime("%a %H:%M")
        self.problem.setText(
            f"Send this to {invite.name} ({invite.role}); it works until {expires}. "
            "It is shown only now."
        )

    def failed(self, text: str) -> None:
        self.problem.setText(text)

    def set_members(self, members: list[protocol.StaffMember]) -> None:
        self.members = members
        now = time.time()
        self.table.setRowCount(len(members))
        for row, member in enumerate(members):
            if member.revoked is not None:
                access = "revoked"
            elif member.expires is not None and member.expires <= now:
                access = "expired"
            elif member.expires is not None:
                until = datetime.datetime.fromtimestamp(member.expires).strftime("%a %H:%M")
                access = f"until {until}"
            else:
                access = "no expiry"
            cells = (member.name, member.role, "● online" if member.connected else "—", access)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, member.staff_id)
                self.table.setItem(row, col, item)
            button = QPushButton("Revoke", self.table)
            button.setAccessibleName(f"Revoke {member.name}'s access")
            button.setEnabled(access not in ("revoked", "expired"))
            button.clicked.connect(
                lambda _=False, sid=member.staff_id: self.revoke_requested.emit(sid)
            )
            self.table.setCellWidget(row, 4, button)
