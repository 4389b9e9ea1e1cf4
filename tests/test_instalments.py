"""Pay later: the payments add up to the total to the minor unit, and fall due on time."""

from __future__ import annotations

import datetime
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.instalments import (
    PAY_LATER_PAYMENTS,
    PAY_NOW,
    PAYMENT_EVERY_DAYS,
    PLANS,
    Instalment,
    InstalmentError,
    chosen_plan,
    instalment_plan,
    offered_plan,
)
from console.domain.money import CURRENCIES, MAX_AMOUNT, Money
from console.errors import ShopcastError

DAY = datetime.date(2026, 11, 27)


def amounts(plan: list[Instalment]) -> list[int]:
    return [i.amount.amount for i in plan]


def refused(total: Money, count: int = 4, every_days: int = 14) -> str:
    with pytest.raises(InstalmentError) as caught:
        instalment_plan(total, DAY, count, every_days)
    return str(caught.value)


# ---------------------------------------------------------------- examples


def test_fifty_euros_is_four_payments_of_twelve_fifty_two_weeks_apart():
    assert instalment_plan(Money(5000, "EUR"), DAY) == [
        Instalment(1, Money(1250, "EUR"), datetime.date(2026, 11, 27)),
        Instalment(2, Money(1250, "EUR"), datetime.date(2026, 12, 11)),
        Instalment(3, Money(1250, "EUR"), datetime.date(2026, 12, 25)),
        Instalment(4, Money(1250, "EUR"), datetime.date(2027, 1, 8)),
    ]


def test_the_cents_that_do_not_divide_are_paid_with_the_first_payment():
    assert amounts(instalment_plan(Money(4999, "EUR"), DAY)) == [1252, 1249, 1249, 1249]


def test_yen_have_no_minor_units_and_split_in_whole_yen():
    plan = instalment_plan(Money(10003, "JPY"), DAY, count=3, every_days=30)
    assert amounts(plan) == [3335, 3334, 3334]
    assert [i.amount.currency for i in plan] == ["JPY"] * 3
    assert [i.due for i in plan] == [
        datetime.date(2026, 11, 27),
        datetime.date(2026, 12, 27),
        datetime.date(2027, 1, 26),
    ]


def test_three_decimal_currencies_split_in_fils():
    assert amounts(instalment_plan(Money(10_001, "KWD"), DAY)) == [2501, 2500, 2500, 2500]


def test_one_payment_is_the_whole_total_due_at_once():
    assert instalment_plan(Money(1, "EUR"), DAY, count=1) == [Instalment(1, Money(1, "EUR"), DAY)]


def test_the_smallest_total_that_splits_gives_one_cent_each():
    assert amounts(instalment_plan(Money(4, "EUR"), DAY)) == [1, 1, 1, 1]


def test_payments_may_fall_daily():
    plan = instalment_plan(Money(300, "USD"), datetime.date(2028, 2, 28), 3, every_days=1)
    assert [i.due for i in plan] == [
        datetime.date(2028, 2, 28),
        datetime.date(2028, 2, 29),
        datetime.date(2028, 3, 1),
    ]


def test_an_instalment_is_immutable():
    first = instalment_plan(Money(5000, "EUR"), DAY)[0]
    with pytest.raises(AttributeError):
        first.amount = Money(1, "EUR")  # type: ignore[misc]


# ---------------------------------------------------------------- refusals


def test_a_total_too_small_for_the_payments_is_refused_with_the_smallest_total():
    assert refused(Money(3, "EUR")) == (
        "€0.03 is too small to pay in 4 payments; pay it at once "
        "(the smallest total for 4 payments is €0.04)."
    )


def test_a_zero_total_is_refused():
    assert refused(Money(0, "JPY")) == (
        "¥0 is too small to pay in 4 payments; pay it at once "
        "(the smallest total for 4 payments is ¥4)."
    )


def test_a_negative_total_is_refused():
    assert refused(Money(-5000, "EUR")) == "-€50.00 is negative; there is nothing to pay."


@pytest.mark.parametrize("count", [0, -4, True, 2.0])
def test_a_plan_without_a_whole_positive_number_of_payments_is_refused(count):
    assert refused(Money(5000, "EUR"), count=count) == (
        f"A plan needs at least 1 payment, not {count!r}."
    )


@pytest.mark.parametrize("every_days", [0, -14, False, 14.0])
def test_payments_must_be_whole_days_apart(every_days):
    assert refused(Money(5000, "EUR"), every_days=every_days) == (
        f"Payments must be at least 1 day apart, not {every_days!r}; choose a number of "
        "days such as 14."
    )


def test_a_plan_past_the_last_calendar_day_is_refused():
    with pytest.raises(InstalmentError) as caught:
        instalment_plan(Money(5000, "EUR"), datetime.date(9999, 12, 1))
    assert str(caught.value) == (
        "The last of 4 payments every 14 days after 9999-12-01 would fall after the year "
        "9999; choose an earlier first date."
    )


def test_instalment_errors_are_shopcast_errors():
    assert issubclass(InstalmentError, ShopcastError)


# ---------------------------------------------------------------- properties


@st.composite
def plans(draw: st.DrawFn) -> tuple[Money, datetime.date, int, int]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    count = draw(st.integers(min_value=1, max_value=24))
    total = Money(draw(st.integers(min_value=count, max_value=MAX_AMOUNT)), currency)
    every_days = draw(st.integers(min_value=1, max_value=62))
    first_due = draw(st.dates(max_value=datetime.date(9000, 1, 1)))
    return total, first_due, count, every_days


@given(plans())
def test_a_plan_adds_up_to_the_total_in_its_currency(case):
    total, first_due, count, every_days = case
    plan = instalment_plan(total, first_due, count, every_days)
    assert len(plan) == count
    assert sum((i.amount for i in plan), Money.zero(total.currency)) == total


@given(plans())
def test_every_payment_is_positive_and_all_but_the_first_are_equal(case):
    total, first_due, count, every_days = case
    first, *others = amounts(instalment_plan(total, first_due, count, every_days))
    assert all(amount > 0 for amount in [first, *others])
    assert len(set(others)) <= 1
    assert all(first >= other for other in others)
    # The first carries only the remainder: less than one extra unit per payment.
    assert all(first - other < count for other in others)


@given(plans())
def test_payments_are_numbered_in_order_and_spaced_evenly(case):
    total, first_due, count, every_days = case
    plan = instalment_plan(total, first_due, count, every_days)
    assert [i.number for i in plan] == list(range(1, count + 1))
    assert plan[0].due == first_due
    assert all(
        (later.due - earlier.due).days == every_days for earlier, later in itertools.pairwise(plan)
    )


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=1, max_value=24), st.data())
def test_every_total_below_the_number_of_payments_is_refused(currency, count, data):
    amount = data.draw(st.integers(min_value=-(10**6), max_value=count - 1))
    with pytest.raises(InstalmentError):
        instalment_plan(Money(amount, currency), DAY, count)


# ---------------------------------------------------------------- the buyer's choice


def test_paying_now_is_one_payment_of_the_whole_total_today():
    assert chosen_plan(Money(4395, "EUR"), PAY_NOW, DAY) == [Instalment(1, Money(4395, "EUR"), DAY)]


def test_paying_in_four_charges_the_first_payment_today_and_lists_the_rest():
    plan = chosen_plan(Money(4395, "EUR"), PAY_LATER_PAYMENTS, DAY)
    assert amounts(plan) == [1101, 1098, 1098, 1098]
    assert [i.due for i in plan] == [DAY + datetime.timedelta(days=14 * i) for i in range(4)]
    assert plan == offered_plan(Money(4395, "EUR"), DAY), "what was offered is what is chosen"


@pytest.mark.parametrize("payments", [0, 2, 3, 5, 12, True, 4.0, "4", None])
def test_a_plan_that_was_not_offered_is_refused_with_the_choices(payments):
    with pytest.raises(InstalmentError) as caught:
        chosen_plan(Money(4395, "EUR"), payments, DAY)
    assert str(caught.value).startswith("Choose to pay now or in 4 interest-free payments")


def test_a_total_too_small_to_split_is_offered_only_at_once():
    assert offered_plan(Money(3, "EUR"), DAY) == []
    assert amounts(chosen_plan(Money(3, "EUR"), PAY_NOW, DAY)) == [3]
    with pytest.raises(InstalmentError, match="too small to pay in 4 payments"):
        chosen_plan(Money(3, "EUR"), PAY_LATER_PAYMENTS, DAY)


def test_the_choices_are_paying_now_and_four_payments_two_weeks_apart():
    assert PLANS == (PAY_NOW, PAY_LATER_PAYMENTS) == (1, 4)
    assert PAYMENT_EVERY_DAYS == 14
