"""The host's team: invite agents and moderators, see who is connected, revoke at once.

An invitation is a token shown once, with the command the person runs to join; the hub
keeps only its hash. The staff list is the hub's, pushed whenever someone connects,
leaves, is invited or revoked, so what the host sees is who is really there.

The host token (one per data folder, see console.hub.auth) is shown in Staff access,
where it is also replaced; the team list shows it as one Host row that cannot be revoked
there, as revoking it would cut off the host's own console.
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


def ctl_command(ws_url: str, token: str) -> str:
    return f"python -m console ctl --hub {ws_url} --token {token} pin SKU"


def is_host_token(member: protocol.StaffMember) -> bool:
    """The data folder's host token: the only host token without an expiry."""
    return member.role == "host" and member.expires is None


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
            elif is_host_token(member):
                access = "host token"
            else:
                access = "no expiry"
            cells = (member.name, member.role, "● online" if member.connected else "—", access)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, member.staff_id)
                self.table.setItem(row, col, item)
            button = QPushButton("Revoke", self.table)
            button.setAccessibleName(f"Revoke {member.name}'s access")
            button.setEnabled(access not in ("revoked", "expired", "host token"))
            if access == "host token":
                button.setToolTip("Replace the host token in File → Staff access.")
            button.clicked.connect(
                lambda _=False, sid=member.staff_id: self.revoke_requested.emit(sid)
            )
            self.table.setCellWidget(row, 4, button)


class StaffAccessDialog(QDialog):
    """The host token, the command line that uses it, and a button to replace it.

    ``token`` is None in a console that joined with an invitation: the host token is
    then on the host's machine, and only a console signed in with it may replace it.
    """

    replace_requested = Signal()

    def __init__(self, ws_url: str, token: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Staff access")
        self.setObjectName("staff-access-dialog")
        self.ws_url = ws_url
        column = QVBoxLayout(self)
        intro = QLabel(
            "The host token runs the show from another console or from scripts and stream "
            "decks (ctl); keep it private. It stays the same at every start."
            if token is not None
            else "This console joined with its invitation. The host token is on the host's "
            "machine, in File → Staff access there.",
            self,
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        #: The token, its command line and the replace button; hidden without a token.
        self.access = QWidget(self)
        form = QFormLayout(self.access)
        form.setContentsMargins(0, 0, 0, 0)
        self.token = QLineEdit(self)
        self.token.setReadOnly(True)
        self.token.setAccessibleName("Host token")
        self.command = QLineEdit(self)
        self.command.setReadOnly(True)
        self.command.setAccessibleName("Command line with the host token")
        for label, field in (("Host &token:", self.token), ("&Command line:", self.command)):
            row = QHBoxLayout()
            row.addWidget(field, 1)
            copy = QPushButton("Copy", self)
            copy.setAccessibleName(f"Copy the {field.accessibleName().lower()}")
            copy.clicked.connect(
                lambda _=False, f=field: QGuiApplication.clipboard().setText(f.text())
            )
            row.addWidget(copy)
            form.addRow(label, row)
        self.replace_button = QPushButton("Replace the host token", self)
        self.replace_button.setToolTip(
            "Makes a new token now; every other console and script using this one is "
            "disconnected at once."
        )
        self.replace_button.clicked.connect(self._replace)
        form.addRow(self.replace_button)
        self.problem = QLabel(self)
        self.problem.setObjectName("form-problem")
        self.problem.setWordWrap(True)
        form.addRow(self.problem)
        column.addWidget(self.access)
        self.access.setVisible(token is not None)
        if token is not None:
            self.set_token(token)
        self.resize(640, self.sizeHint().height())

    def set_token(self, token: str) -> None:
        self.token.setText(token)
        self.command.setText(ctl_command(self.ws_url, token))
        self.replace_button.setEnabled(True)

    def replaced(self, token: str) -> None:
        self.set_token(token)
        self.problem.setText(
            "This is the new host token; the old one no longer works. Consoles and scripts "
            "that used it need this one."
        )

    def failed(self, text: str) -> None:
        self.replace_button.setEnabled(True)
        self.problem.setText(f"The host token was not replaced: {text}")

    def _replace(self) -> None:
        self.replace_button.setEnabled(False)
        self.problem.clear()
        self.replace_requested.emit()
