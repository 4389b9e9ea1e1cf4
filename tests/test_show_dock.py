"""The On stream dock fed show states directly: its layout at its narrowest, its fields."""

from __future__ import annotations

import time

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


def jacket() -> protocol.Product:
    variant = protocol.Variant(sku="JKT-M", options={"Size": "M"}, price=5000, stock=3)
    return protocol.Product(
        id="denim-jacket", title="Denim Jacket", currency="EUR", variants=[variant]
    )


def test_pinning_another_product_during_a_deal_asks_and_keeps_the_deal_by_default(
    qtbot, monkeypatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.0)  # the countdown stands still
    dock = ShowDock()
    qtbot.addWidget(dock)
    deal = protocol.DealInfo(
        product_id="logo-tee", price=999, currency="EUR", ends=1_790_000_000.0 + 95
    )
    dock.apply(protocol.ShowState(seq=0, pinned=tee(), shelf=[jacket()], deal=deal))
    pins: list[bool] = []
    dock.confirm_pin("denim-jacket", "Denim Jacket", pins.append)
    question = dock.deal_question
    assert question is not None and pins == [], "nothing is sent before the host answers"
    assert question.text() == (
        "A flash deal on Logo tee is running (1:35 left). Pinning Denim Jacket ends it."
    )
    assert question.defaultButton().text() == "Keep the deal"
    question.defaultButton().click()
    assert pins == [] and dock.deal_question is None

    dock.confirm_pin("denim-jacket", "Denim Jacket", pins.append)
    [end] = [b for b in dock.deal_question.buttons() if b.text().startswith("End deal")]
    assert end.text() == "End deal and pin Denim Jacket"
    end.click()
    assert pins == [True]

    dock.confirm_pin("logo-tee", "Logo tee", pins.append)
    assert pins == [True, False] and dock.deal_question is None, "the deal's own product"
    dock.apply(protocol.ShowState(seq=0, pinned=tee()))
    dock.confirm_pin("denim-jacket", "Denim Jacket", pins.append)
    assert pins == [True, False, False] and dock.deal_question is None, "no deal: no question"


def test_unpinning_during_a_deal_asks_first(qtbot) -> None:
    dock = ShowDock()
    qtbot.addWidget(dock)
    deal = protocol.DealInfo(
        product_id="logo-tee", price=999, currency="EUR", ends=time.time() + 60
    )
    dock.apply(protocol.ShowState(seq=0, pinned=tee(), deal=deal))
    with qtbot.assertNotEmitted(dock.unpin_requested):
        dock.unpin_button.click()
    assert dock.deal_question is not None
    with qtbot.waitSignal(dock.unpin_requested, timeout=1000):
        [end] = [b for b in dock.deal_question.buttons() if b.text() == "End deal and unpin"]
        end.click()


def test_the_end_of_another_products_deal_leaves_the_shown_deal_alone(qtbot) -> None:
    dock = ShowDock()
    qtbot.addWidget(dock)
    deal = protocol.DealInfo(
        product_id="logo-tee", price=999, currency="EUR", ends=time.time() + 60
    )
    dock.apply(protocol.ShowState(seq=0, pinned=tee(), deal=deal))
    dock.deal_ended("denim-jacket")
    assert dock.state.deal is not None and dock.deal_end.isEnabled()
    dock.deal_ended("logo-tee")
    assert dock.state.deal is None and dock.countdown.text() == "No deal running."
