"""Message boxes that never block the event loop.

Under qasync the asyncio loop runs inside Qt's. A modal ``exec()`` (which the static
``QMessageBox.warning``/``critical``/``question`` helpers call) started from a coroutine
runs a second Qt loop inside that task: every other task woken there fails with "Cannot
enter into task … while another task … is being executed" and is never resumed, so the
console cannot exit. These boxes are opened with ``open()`` and answer through a
callback; the code that asked goes on at once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def tell(
    parent: QWidget | None,
    title: str,
    text: str,
    icon: QMessageBox.Icon = QMessageBox.Icon.Warning,
) -> QMessageBox:
    """Show ``text`` in a box that closes itself when read; returns at once."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def ask(
    parent: QWidget | None,
    title: str,
    text: str,
    yes: str,
    no: str,
    on_yes: Callable[[], None],
) -> QMessageBox:
    """Ask a yes/no question; ``on_yes`` runs if the first button is chosen.

    The buttons say what they do (``yes``, ``no``), as the platform guidelines ask;
    the safe answer is the default, so a stray Enter changes nothing.
    """
    box = QMessageBox(
        QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    confirm = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.finished.connect(lambda _result: on_yes() if box.clickedButton() is confirm else None)
    box.open()
    return box
