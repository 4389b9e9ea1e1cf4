"""The Sales dock fed the hub's order events directly: the totals line and the ticker."""

from __future__ import annotations

from console import protocol
from widgets.sales_dock import SalesDock


def order(order_id: str, quantity: int = 1, name: str = "Ann") -> protocol.OrderPlaced:
    return protocol.OrderPlaced(
        seq=1,
        order_id=order_id,
        product_id="tee",
        sku="TEE-M",
        title="Organic tee",
        quantity=quantity,
        total=2900 * quantity,
        currency="EUR",
        name=name,
        ts=1_790_000_000.0,
    )


def test_the_totals_say_one_order_and_one_unit_then_plurals(qtbot) -> None:
    dock = SalesDock()
    qtbot.addWidget(dock)
    assert dock.totals.text().startswith("0 orders · 0 units · ")
    dock.add_orders([order("SC-1")])
    assert dock.totals.text() == "1 order · 1 unit · €29.00"
    dock.add_orders([order("SC-2", quantity=2)])
    assert dock.totals.text() == "2 orders · 3 units · €87.00"
