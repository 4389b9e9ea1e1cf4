"""The On stream dock at its narrowest: everything fits across, nothing hides sideways."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea

from widgets.show_dock import ShowDock


def test_at_its_narrowest_the_dock_shows_every_control_without_scrolling_sideways(
    qtbot,
) -> None:
    dock = ShowDock()
    qtbot.addWidget(dock)
    dock.setMinimumWidth(280)  # what the console gives it
    dock.resize(280, 700)
    dock.show()
    qtbot.waitExposed(dock)
    scroll = dock.widget()
    assert isinstance(scroll, QScrollArea)

    def fits() -> None:
        assert scroll.horizontalScrollBar().maximum() == 0
        assert scroll.widget().width() <= scroll.viewport().width()
        end = dock.deal_end
        assert end.visibleRegion().boundingRect().width() == end.width()

    qtbot.waitUntil(fits, timeout=2000)
