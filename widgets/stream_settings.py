"""Stream settings: where the show goes besides the viewer page (a WHIP server for now).

The values are remembered in the console's QSettings, like the theme, and used the next
time the show goes live; ``--whip`` and ``--whip-token`` on the command line win over
them. The token is shown masked, as a password is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

WHIP_URL = "whip/url"
WHIP_TOKEN = "whip/token"


def whip_target(settings: QSettings) -> tuple[str, str]:
    """The remembered WHIP endpoint and token; an empty URL means no WHIP."""
    return str(settings.value(WHIP_URL, "") or ""), str(settings.value(WHIP_TOKEN, "") or "")


class StreamSettingsDialog(QDialog):
    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Stream settings")
        self._settings = settings
        url, token = whip_target(settings)
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Publish the show to a media server (LiveKit, MediaMTX, Janus, Cloudflare "
                "Stream…) by WHIP when it goes live. Leave the address empty for none.",
                self,
                wordWrap=True,
            )
        )
        self.url = QLineEdit(url, self)
        self.url.setPlaceholderText("https://example.com/whip/endpoint")
        self.url.setAccessibleName("WHIP endpoint address")
        form.addRow("WHIP &URL:", self.url)
        self.token = QLineEdit(token, self)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("WHIP bearer token")
        form.addRow("&Token:", self.token)
        self.problem = QLabel("", self)
        self.problem.setObjectName("form-problem")
        form.addRow(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(460)

    def accept(self) -> None:
        url = self.url.text().strip()
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            self.problem.setText("The WHIP URL must start with https:// (or http://).")
            self.url.setFocus()
            return
        self._settings.setValue(WHIP_URL, url)
        self._settings.setValue(WHIP_TOKEN, self.token.text().strip())
        self._settings.sync()
        super().accept()
