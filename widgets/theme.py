"""Dark and light themes: Qt's Fusion style with a palette, plus a short style sheet."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

Theme = Literal["dark", "light"]
THEMES: tuple[Theme, ...] = ("dark", "light")

_COLOURS: dict[Theme, dict[QPalette.ColorRole, str]] = {
    "dark": {
        QPalette.ColorRole.Window: "#1e1f24",
        QPalette.ColorRole.WindowText: "#e8e8ec",
        QPalette.ColorRole.Base: "#16171b",
        QPalette.ColorRole.AlternateBase: "#26272d",
        QPalette.ColorRole.Text: "#e8e8ec",
        QPalette.ColorRole.PlaceholderText: "#8b8d96",
        QPalette.ColorRole.Button: "#2b2d34",
        QPalette.ColorRole.ButtonText: "#e8e8ec",
        QPalette.ColorRole.Highlight: "#e0457b",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#e0457b",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2b2d34",
        QPalette.ColorRole.ToolTipText: "#e8e8ec",
    },
    "light": {
        QPalette.ColorRole.Window: "#f4f4f6",
        QPalette.ColorRole.WindowText: "#1b1c20",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#eef0f3",
        QPalette.ColorRole.Text: "#1b1c20",
        QPalette.ColorRole.PlaceholderText: "#6d707a",
        QPalette.ColorRole.Button: "#ffffff",
        QPalette.ColorRole.ButtonText: "#1b1c20",
        QPalette.ColorRole.Highlight: "#c8325f",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#c8325f",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#1b1c20",
    },
}


def apply_theme(app: QApplication, theme: Theme) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in _COLOURS[theme].items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7a7c85"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7a7c85"))
    app.setPalette(palette)
    app.setStyleSheet((resources.files("resources") / "styles" / f"{theme}.qss").read_text())
