"""Sales figures and the orders export; review summaries for the host."""

from __future__ import annotations

import csv
import io

import msgspec

from console import protocol
from console.domain.reviews import summarise
from console.domain.sales import SalesBoard, orders_csv


def _placed(order_id: str, product: str, quantity: int, total: int, currency: str = "EUR"):
    return protocol.OrderPlaced(
        seq=1,
        order_id=order_id,
        product_id=product,
        sku=f"{product}-1",
        title=product.title(),
        quantity=quantity,
        total=total,
        currency=currency,
        name="Ann",
        ts=1_700_000_000.0,
    )


def test_the_board_counts_each_order_once_per_product_and_currency() -> None:
    board = SalesBoard()
    assert board.add(_placed("A", "hat", 2, 3990))
    assert board.add(_placed("B", "hat", 1, 1995))
    assert not board.add(_placed("A", "hat", 2, 3990)), "a replayed order counts once"
    board.add(_placed("C", "mug", 1, 1200, "GBP"))
    assert (board.orders, board.units) == (3, 4)
    assert board.products["hat"].revenue == 5985
    assert board.revenue() == {"EUR": 5985, "GBP": 1200}
    assert board.revenue_text() == "€59.85 + £12.00"


def test_orders_export_as_csv_with_exact_decimals_and_safe_text() -> None:
    record = protocol.OrderRecord(
        order_id="SC-1",
        ts=0.0,
        viewer_id="v-12345678",
        name="=HYPERLINK(evil)",
        email="ann@example.com",
        product_id="hat",
        sku="hat-1",
        title="Hat, wool",
        quantity=3,
        unit_price=1995,
        shipping=0,
        total=5985,
        currency="EUR",
        status="paid",
        deal=True,
        country="IE",
    )
    yen = msgspec.structs.replace(
        record, order_id="SC-2", currency="JPY", unit_price=1500, total=4500
    )
    rows = list(csv.DictReader(io.StringIO(orders_csv([record, yen]))))
    assert rows[0]["name"] == "'=HYPERLINK(evil)"
    assert rows[0]["title"] == "Hat, wool"
    assert (rows[0]["unit_price"], rows[0]["total"], rows[0]["deal"]) == ("19.95", "59.85", "yes")
    assert rows[0]["time_utc"] == "1970-01-01 00:00:00"
    assert (rows[1]["unit_price"], rows[1]["total"]) == ("1500", "4500")


def _review(rid: str, rating: int, created: str, owner: bool = True) -> protocol.Review:
    return protocol.Review(
        id=rid, author="A", rating=rating, text="t", verified_owner=owner, created=created
    )


def test_review_summary_picks_latest_and_most_critical() -> None:
    summary = summarise(
        [
            _review("r1", 5, "2026-01-03"),
            _review("r2", 2, "2026-01-01", owner=False),
            _review("r3", 2, "2026-01-02"),
            _review("r4", 4, "2026-01-04"),
        ]
    )
    assert summary.count == 4
    assert summary.average == 3.25
    assert summary.distribution == {5: 1, 4: 1, 3: 0, 2: 2, 1: 0}
    assert summary.owners == 3
    assert summary.latest is not None and summary.latest.id == "r4"
    assert summary.most_critical is not None and summary.most_critical.id == "r3"


def test_no_critical_review_when_all_are_good_and_nothing_for_no_reviews() -> None:
    assert summarise([_review("r1", 4, "2026-01-01")]).most_critical is None
    empty = summarise([])
    assert (empty.count, empty.average, empty.latest) == (0, None, None)
