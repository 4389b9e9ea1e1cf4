"""The On stream dock fed show states directly: its layout at its narrowest, its fields."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea

from console import protocol
from console.domain.money import parse_decimal
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


def tee(price: int = 1250) -> protocol.Product:
    variant = protocol.Variant(sku="TEE-M", options={"Size": "M"}, price=price, stock=5)
    return protocol.Product(id="logo-tee", title="Logo tee", currency="EUR", variants=[variant])


def test_the_deal_price_example_is_a_price_below_the_pinned_products(qtbot) -> None:
    dock = ShowDock()
    qtbot.addWidget(dock)
    dock.apply(protocol.ShowState(seq=0, pinned=tee(1250)))
    assert dock.deal_price.placeholderText() == "e.g. €10.00"
    example = dock.deal_price.placeholderText().removeprefix("e.g. ")
    assert 0 < parse_decimal(example, "EUR").amount < 1250
    dock.apply(protocol.ShowState(seq=0))
    assert dock.deal_price.placeholderText() == "e.g. 19.99"
