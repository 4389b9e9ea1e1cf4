"""Flash deals: a lower price on the pinned product for a few minutes or a few units.

Every rule takes the hub's clock (``time.time()`` seconds) as an argument instead of
reading one, so a test can stand one second after the end, and so there is one clock
for the countdown viewers see and for the price they pay: a buy one second after the
deal ended pays the regular price, whatever the viewer's page still showed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from console.domain.catalogue import Product
from console.domain.money import Money, format_money
from console.errors import ShopcastError

__all__ = [
    "MAX_DEAL_SECONDS",
    "MAX_DEAL_UNITS",
    "MIN_DEAL_SECONDS",
    "Deal",
    "DealError",
    "DealRunningError",
    "check_pin",
    "deal_is_active",
    "deal_units_left",
    "record_sale",
    "seconds_left",
    "start_deal",
    "unit_price",
]

#: Shorter than this, viewers cannot react before the deal is over.
MIN_DEAL_SECONDS: Final = 5
#: An hour: longer is a sale, not a flash deal, and belongs in the catalogue price.
MAX_DEAL_SECONDS: Final = 3600
#: A cap beyond any stock a show sells; above it a typo (an extra zero or two) is likelier.
MAX_DEAL_UNITS: Final = 100_000


class DealError(ShopcastError):
    """A deal cannot start or change as asked; the message tells the host what to enter."""


class DealRunningError(DealError):
    """Pinning another product would end the running deal, and the host has not said so."""


@dataclass(frozen=True, slots=True)
class Deal:
    """A deal price on one product from ``starts`` until ``ends`` or ``max_units`` are sold."""

    product_id: str
    price: Money
    starts: float
    ends: float
    #: None: as many as are in stock until the clock runs out.
    max_units: int | None
    sold: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def start_deal(
    product: Product, price: Money, seconds: float, max_units: int | None, now: float
) -> Deal:
    """Check what the host asked for and start the deal at ``now``."""
    if price.currency != product.currency:
        raise DealError(
            f"The deal price is in {price.currency} but {product.title!r} is sold in "
            f"{product.currency}; enter the price in {product.currency}."
        )
    if price.amount <= 0:
        raise DealError("A deal price must be more than zero; enter the price viewers pay.")
    highest = product.price_range[1]
    if price >= highest:
        raise DealError(
            f"A deal must be cheaper than the regular price ({format_money(highest)}); "
            f"enter less than that, not {format_money(price)}."
        )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not MIN_DEAL_SECONDS <= seconds <= MAX_DEAL_SECONDS
    ):
        raise DealError(
            f"A deal lasts from {MIN_DEAL_SECONDS} to {MAX_DEAL_SECONDS} seconds (an hour); "
            f"enter a duration in that range, not {seconds!r}."
        )
    if max_units is not None and (not _is_int(max_units) or not 1 <= max_units <= MAX_DEAL_UNITS):
        raise DealError(
            f"The number of deal units must be a whole number from 1 to {MAX_DEAL_UNITS:,}, "
            f"or no limit; not {max_units!r}."
        )
    return Deal(
        product_id=product.id, price=price, starts=now, ends=now + seconds, max_units=max_units
    )


def deal_units_left(deal: Deal) -> int | None:
    """Units still at the deal price; None when only the clock (and stock) limits it."""
    if deal.max_units is None:
        return None
    return max(0, deal.max_units - deal.sold)


def deal_is_active(deal: Deal, now: float) -> bool:
    """The deal price applies at ``now``: the end instant itself is already over."""
    return deal.starts <= now < deal.ends and deal_units_left(deal) != 0


def seconds_left(deal: Deal, now: float) -> float:
    """What the countdown shows: 0 once the deal is over by time or by units, and never
    more than the deal's length (should the clock step back before its start).
    """
    if deal_units_left(deal) == 0:
        return 0.0
    return max(0.0, deal.ends - max(now, deal.starts))


def check_pin(
    deal: Deal | None, product_id: str, deal_title: str, end_deal: bool, now: float
) -> None:
    """Pinning ``product_id`` ends a deal on another product only when asked to.

    A deal is on the pinned product, so a new pin ends it; a key pressed to pin the
    next product (shelf key 3 with 1:35 left) must not end it without a word.
    ``deal_title`` names the deal's product in the error.
    """
    if end_deal or deal is None or deal.product_id == product_id or not deal_is_active(deal, now):
        return
    minutes, seconds = divmod(int(seconds_left(deal, now) + 0.999), 60)
    raise DealRunningError(
        f"A flash deal on {deal_title} is running ({minutes}:{seconds:02d} left); pinning "
        "another product would end it. End the deal first, or confirm that it ends."
    )


def unit_price(
    deal: Deal | None, product_id: str, regular: Money, quantity: int, now: float
) -> Money:
    """The price of one unit of a purchase of ``quantity`` made at ``now``.

    A purchase larger than the deal units left pays the regular price for all units
    rather than a mix: one price per order line is what the viewer confirmed. A variant
    already cheaper than the deal price keeps its own price.
    """
    if deal is None or deal.product_id != product_id or not deal_is_active(deal, now):
        return regular
    left = deal_units_left(deal)
    if left is not None and quantity > left:
        return regular
    return min(deal.price, regular)


def record_sale(deal: Deal, units: int) -> Deal:
    """The deal after ``units`` more were sold at its price.

    ``units`` may be negative to give units back when a payment fails after they were
    counted; the count never goes below zero or above the cap.
    """
    if not _is_int(units) or units == 0:
        raise DealError(f"A sale changes the units sold by a whole number, not {units!r}.")
    sold = deal.sold + units
    if sold < 0:
        raise DealError(
            f"Cannot give back {-units} deal units: only {deal.sold} were sold at the deal price."
        )
    if deal.max_units is not None and sold > deal.max_units:
        raise DealError(
            f"Only {deal_units_left(deal)} of {deal.max_units} deal units are left; "
            f"{units} cannot be sold at the deal price."
        )
    return dataclasses.replace(deal, sold=sold)
