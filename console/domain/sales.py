"""Sales of a show: the running totals a host watches, and the orders export.

The console counts sales from the same ``order`` events every client receives, so the
figures tick as orders land, and a reconnect (which replays the missed events) never
counts an order twice: orders are keyed by id.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from console.domain.money import Money, format_money
from console.domain.records import OrderFacts, SaleFacts


@dataclass(slots=True)
class ProductSales:
    product_id: str
    title: str
    currency: str
    orders: int = 0
    units: int = 0
    revenue: int = 0


@dataclass(slots=True)
class SalesBoard:
    """Orders, units and revenue per product and for the show, from order events."""

    products: dict[str, ProductSales] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def add(self, order: SaleFacts) -> bool:
        """Count an order once; False when it was already counted."""
        if order.order_id in self._seen:
            return False
        self._seen.add(order.order_id)
        line = self.products.get(order.product_id)
        if line is None:
            line = self.products[order.product_id] = ProductSales(
                order.product_id, order.title, order.currency
            )
        line.orders += 1
        line.units += order.quantity
        line.revenue += order.total
        return True

    def add_all(self, orders: Iterable[SaleFacts]) -> None:
        for order in orders:
            self.add(order)

    @property
    def orders(self) -> int:
        return sum(p.orders for p in self.products.values())

    @property
    def units(self) -> int:
        return sum(p.units for p in self.products.values())

    def revenue(self) -> dict[str, int]:
        """Revenue per currency: a show selling in two currencies has two totals."""
        totals: dict[str, int] = {}
        for line in self.products.values():
            totals[line.currency] = totals.get(line.currency, 0) + line.revenue
        return totals

    def revenue_text(self, locale: str = "en") -> str:
        totals = self.revenue()
        if not totals:
            return format_money(Money(0, "EUR"), locale)
        return " + ".join(
            format_money(Money(amount, currency), locale)
            for currency, amount in sorted(totals.items())
        )


CSV_COLUMNS = (
    "order_id",
    "time_utc",
    "viewer_id",
    "name",
    "email",
    "country",
    "product_id",
    "sku",
    "title",
    "quantity",
    "unit_price",
    "shipping",
    "total",
    "currency",
    "deal",
    "status",
)


def _decimal(amount: int, currency: str) -> str:
    """Amounts as a spreadsheet reads them: "19.99", never a float's "19.990000001"."""
    exponent = Money(amount, currency).exponent
    if exponent == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{str(minor).zfill(exponent)}"


def orders_csv(orders: Sequence[OrderFacts]) -> str:
    """The orders as CSV (UTF-8, comma, a header row), amounts as decimal numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for o in orders:
        when = datetime.datetime.fromtimestamp(o.ts, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(
            (
                o.order_id,
                when,
                o.viewer_id,
                _spreadsheet_safe(o.name),
                o.email,
                o.country,
                o.product_id,
                o.sku,
                _spreadsheet_safe(o.title),
                o.quantity,
                _decimal(o.unit_price, o.currency),
                _decimal(o.shipping, o.currency),
                _decimal(o.total, o.currency),
                o.currency,
                "yes" if o.deal else "no",
                o.status,
            )
        )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    """A name like ``=HYPERLINK(...)`` must stay text when the export opens in a sheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
