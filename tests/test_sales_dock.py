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


def test_a_deleted_buyers_orders_are_signed_deleted_viewer_at_once(qtbot) -> None:
    dock = SalesDock()
    qtbot.addWidget(dock)
    dock.add_orders([order("SC-1", name="Ann"), order("SC-2", name="Bob")])
    dock.erase({"SC-1"}, "deleted viewer")
    lines = [dock.ticker.item(row).text() for row in range(dock.ticker.count())]
    assert "Ann" not in " ".join(lines)
    assert [line.split("  ", 1)[1] for line in lines] == [
        "Bob — 1 x Organic tee — €29.00",
        "deleted viewer — 1 x Organic tee — €29.00",
    ]
    assert dock.totals.text().startswith("2 orders · 2 units"), "the sales still count"


def test_stored_orders_of_a_deleted_buyer_load_signed_deleted_viewer(qtbot) -> None:
    dock = SalesDock()
    qtbot.addWidget(dock)
    record = protocol.OrderRecord(
        order_id="SC-3",
        ts=1_790_000_000.0,
        viewer_id="",
        name="",
        email="",
        product_id="tee",
        sku="TEE-M",
        title="Organic tee",
        quantity=1,
        unit_price=2900,
        shipping=0,
        total=2900,
        currency="EUR",
        status="paid",
    )
    dock.load([record])
    assert "  deleted viewer — 1 x Organic tee" in dock.ticker.item(0).text()
