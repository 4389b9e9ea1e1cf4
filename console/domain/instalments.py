"""Pay later: a total split into equal interest-free instalments, with their due dates.

The plan is what the viewer page shows under the price ("or 4 interest-free payments of
€12.50") and what the order confirms, so it must add up to the cent: the split is done
in minor units, and the few units that do not divide go to the first payment (the one
taken at checkout) rather than being rounded away or charged as a fee.

There is no minimum total beyond "every payment is at least one minor unit": which
orders may be paid later is the payment provider's call, not a rule of arithmetic.

The buyer chooses how to pay (:data:`PLANS`): at once, or in :data:`PAY_LATER_PAYMENTS`
payments. Whichever they chose, :func:`chosen_plan` is what the hub charges today (the
first payment) and what the confirmation lists, so the two cannot disagree.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from console.domain.money import Money, format_money
from console.errors import ShopcastError

__all__ = [
    "PAYMENT_EVERY_DAYS",
    "PAY_LATER_PAYMENTS",
    "PAY_NOW",
    "PLANS",
    "Instalment",
    "InstalmentError",
    "chosen_plan",
    "instalment_plan",
    "offered_plan",
]

#: A plan of one payment: the whole total, taken at checkout.
PAY_NOW: Final = 1
#: The pay-later plan checkout offers: four payments...
PAY_LATER_PAYMENTS: Final = 4
#: ...two weeks apart, the first at checkout.
PAYMENT_EVERY_DAYS: Final = 14
#: What a buyer may choose from, as a number of payments.
PLANS: Final = (PAY_NOW, PAY_LATER_PAYMENTS)


class InstalmentError(ShopcastError):
    """A total cannot be split into the asked payments; the message is for the shopper."""


@dataclass(frozen=True, slots=True)
class Instalment:
    """One payment of a plan: the 1-based ``number``, what it takes, and when."""

    number: int
    amount: Money
    due: datetime.date


def instalment_plan(
    total: Money, first_due: datetime.date, count: int = 4, every_days: int = 14
) -> list[Instalment]:
    """Split ``total`` into ``count`` payments, the first due on ``first_due``.

    Every payment is the same except the first, which carries the remainder, so the
    payments always add up to ``total`` exactly and none is zero.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InstalmentError(f"A plan needs at least 1 payment, not {count!r}.")
    if isinstance(every_days, bool) or not isinstance(every_days, int) or every_days < 1:
        raise InstalmentError(
            f"Payments must be at least 1 day apart, not {every_days!r}; choose a number "
            "of days such as 14."
        )
    if total.amount < 0:
        raise InstalmentError(f"{format_money(total)} is negative; there is nothing to pay.")
    if total.amount < count:
        smallest = format_money(Money(count, total.currency))
        raise InstalmentError(
            f"{format_money(total)} is too small to pay in {count} payments; pay it at once "
            f"(the smallest total for {count} payments is {smallest})."
        )
    share, remainder = divmod(total.amount, count)
    try:
        dues = [first_due + datetime.timedelta(days=every_days * i) for i in range(count)]
    except OverflowError:
        raise InstalmentError(
            f"The last of {count} payments every {every_days} days after {first_due} would "
            "fall after the year 9999; choose an earlier first date."
        ) from None
    return [
        Instalment(
            number=i + 1,
            amount=Money(share + (remainder if i == 0 else 0), total.currency),
            due=due,
        )
        for i, due in enumerate(dues)
    ]


def offered_plan(total: Money, today: datetime.date) -> list[Instalment]:
    """The pay-later plan a quote offers for ``total``, or [] when it cannot be split.

    A total too small for one minor unit per payment is simply not offered in payments:
    the buyer pays it at once, which is no error of theirs.
    """
    try:
        return instalment_plan(total, today, PAY_LATER_PAYMENTS, PAYMENT_EVERY_DAYS)
    except InstalmentError:
        return []


def chosen_plan(total: Money, payments: object, today: datetime.date) -> list[Instalment]:
    """The payments of the plan the buyer chose; the first is what is charged ``today``.

    ``payments`` is one of :data:`PLANS` (1 pays ``total`` now); anything else, or a
    total too small to split, raises :class:`InstalmentError` saying what to choose.
    """
    if not isinstance(payments, int) or isinstance(payments, bool) or payments not in PLANS:
        raise InstalmentError(
            f"Choose to pay now or in {PAY_LATER_PAYMENTS} interest-free payments "
            f"(got {payments!r})."
        )
    return instalment_plan(total, today, payments, PAYMENT_EVERY_DAYS)
