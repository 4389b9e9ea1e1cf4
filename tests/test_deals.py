"""Flash deals by the hub's clock: when the deal price applies, and when it no longer does."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.catalogue import Product, Variant
from console.domain.deals import (
    MAX_DEAL_SECONDS,
    MAX_DEAL_UNITS,
    MIN_DEAL_SECONDS,
    Deal,
    DealError,
    DealRunningError,
    check_pin,
    deal_is_active,
    deal_units_left,
    record_sale,
    seconds_left,
    start_deal,
    unit_price,
)
from console.domain.money import Money
from console.errors import ShopcastError

T0 = 1_800_000_000.0


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def shirt() -> Product:
    """Two sizes at different prices: €49.00 and €59.00."""
    return Product(
        id="linen-shirt",
        title="Relaxed Linen Shirt",
        description="",
        vendor="",
        image=None,
        options=("Size",),
        variants=(
            Variant(sku="LS-S", options=(("Size", "S"),), price=eur(4900), stock=5),
            Variant(sku="LS-XL", options=(("Size", "XL"),), price=eur(5900), stock=5),
        ),
    )


def deal(max_units: int | None = None, sold: int = 0) -> Deal:
    return Deal("linen-shirt", eur(3900), starts=T0, ends=T0 + 60, max_units=max_units, sold=sold)


def refused(**changes: object) -> str:
    args: dict[str, object] = {
        "product": shirt(),
        "price": eur(3900),
        "seconds": 60,
        "max_units": None,
        "now": T0,
    }
    args.update(changes)
    with pytest.raises(DealError) as caught:
        start_deal(**args)  # type: ignore[arg-type]
    return str(caught.value)


# ---------------------------------------------------------------- starting


def test_a_deal_starts_now_and_ends_after_its_seconds():
    assert start_deal(shirt(), eur(3900), 90.5, 20, T0) == Deal(
        product_id="linen-shirt",
        price=eur(3900),
        starts=T0,
        ends=T0 + 90.5,
        max_units=20,
        sold=0,
    )


def test_a_deal_without_a_unit_cap_has_no_units_left_count():
    started = start_deal(shirt(), eur(3900), 60, None, T0)
    assert started.max_units is None
    assert deal_units_left(started) is None


def test_a_deal_price_between_the_variant_prices_is_allowed():
    assert start_deal(shirt(), eur(5000), 60, None, T0).price == eur(5000)


def test_a_deal_price_in_another_currency_is_refused():
    assert refused(price=Money(3900, "USD")) == (
        "The deal price is in USD but 'Relaxed Linen Shirt' is sold in EUR; enter the price in EUR."
    )


@pytest.mark.parametrize("amount", [0, -100])
def test_a_deal_price_of_zero_or_less_is_refused(amount):
    assert refused(price=eur(amount)) == (
        "A deal price must be more than zero; enter the price viewers pay."
    )


@pytest.mark.parametrize("amount", [5900, 6900])
def test_a_deal_no_cheaper_than_the_highest_regular_price_is_refused(amount):
    assert refused(price=eur(amount)) == (
        "A deal must be cheaper than the regular price (€59.00); enter less than that, "
        f"not €{amount // 100}.00."
    )


@pytest.mark.parametrize("seconds", [4.99, 3600.01, 0, -60, float("nan"), float("inf"), True, "60"])
def test_a_duration_outside_five_seconds_to_an_hour_is_refused(seconds):
    assert refused(seconds=seconds) == (
        "A deal lasts from 5 to 3600 seconds (an hour); enter a duration in that range, "
        f"not {seconds!r}."
    )


@pytest.mark.parametrize("seconds", [MIN_DEAL_SECONDS, MAX_DEAL_SECONDS])
def test_the_shortest_and_longest_durations_are_allowed(seconds):
    assert start_deal(shirt(), eur(3900), seconds, None, T0).ends == T0 + seconds


@pytest.mark.parametrize("max_units", [0, -1, MAX_DEAL_UNITS + 1, True, 2.0])
def test_a_unit_cap_outside_one_to_a_hundred_thousand_is_refused(max_units):
    assert refused(max_units=max_units) == (
        "The number of deal units must be a whole number from 1 to 100,000, or no limit; "
        f"not {max_units!r}."
    )


@pytest.mark.parametrize("max_units", [1, MAX_DEAL_UNITS])
def test_the_smallest_and_largest_unit_caps_are_allowed(max_units):
    assert start_deal(shirt(), eur(3900), 60, max_units, T0).max_units == max_units


def test_deal_errors_are_shopcast_errors():
    assert issubclass(DealError, ShopcastError)


# ---------------------------------------------------------------- the clock


def test_a_deal_is_active_from_its_start_until_just_before_its_end():
    running = deal()
    assert not deal_is_active(running, T0 - 0.001)
    assert deal_is_active(running, T0)
    assert deal_is_active(running, T0 + 59.999)
    assert not deal_is_active(running, T0 + 60)
    assert not deal_is_active(running, T0 + 61)


def test_seconds_left_counts_down_to_zero_and_stays_there():
    running = deal()
    assert seconds_left(running, T0) == 60.0
    assert seconds_left(running, T0 + 45.5) == 14.5
    assert seconds_left(running, T0 + 60) == 0.0
    assert seconds_left(running, T0 + 3600) == 0.0


def test_reaching_the_unit_cap_ends_the_deal_before_its_time():
    running = deal(max_units=3, sold=2)
    assert deal_is_active(running, T0 + 1)
    assert deal_units_left(running) == 1
    done = record_sale(running, 1)
    assert done.sold == 3
    assert deal_units_left(done) == 0
    assert not deal_is_active(done, T0 + 1)
    assert seconds_left(done, T0 + 1) == 0.0


# ---------------------------------------------------------------- the price a buyer pays


def test_during_the_deal_the_deal_price_applies():
    assert unit_price(deal(), "linen-shirt", eur(5900), 2, T0 + 10) == eur(3900)


def test_one_second_after_the_end_the_regular_price_applies():
    assert unit_price(deal(), "linen-shirt", eur(5900), 1, T0 + 61) == eur(5900)


def test_at_the_end_instant_the_regular_price_applies():
    assert unit_price(deal(), "linen-shirt", eur(5900), 1, T0 + 60) == eur(5900)


def test_before_the_start_the_regular_price_applies():
    assert unit_price(deal(), "linen-shirt", eur(5900), 1, T0 - 1) == eur(5900)


def test_without_a_deal_the_regular_price_applies():
    assert unit_price(None, "linen-shirt", eur(5900), 1, T0) == eur(5900)


def test_another_product_keeps_its_regular_price_during_a_deal():
    assert unit_price(deal(), "stoneware-mug", eur(1490), 1, T0 + 10) == eur(1490)


def test_a_variant_cheaper_than_the_deal_keeps_its_own_price():
    assert unit_price(deal(), "linen-shirt", eur(2900), 1, T0 + 10) == eur(2900)


def test_a_purchase_that_fits_in_the_units_left_gets_the_deal_price():
    assert unit_price(deal(max_units=5, sold=3), "linen-shirt", eur(5900), 2, T0) == eur(3900)


def test_a_purchase_larger_than_the_units_left_pays_the_regular_price_for_all():
    assert unit_price(deal(max_units=5, sold=3), "linen-shirt", eur(5900), 3, T0) == eur(5900)


def test_after_the_cap_is_reached_the_regular_price_applies():
    assert unit_price(deal(max_units=5, sold=5), "linen-shirt", eur(5900), 1, T0) == eur(5900)


# ---------------------------------------------------------------- counting sales


def test_a_sale_is_counted_on_a_new_deal_and_the_old_one_is_unchanged():
    before = deal(max_units=10)
    after = record_sale(before, 4)
    assert after == dataclasses.replace(before, sold=4)
    assert before.sold == 0
    assert deal_units_left(after) == 6


def test_units_of_a_failed_payment_are_given_back():
    assert record_sale(deal(max_units=10, sold=4), -4).sold == 0


def test_an_uncapped_deal_counts_every_sale():
    assert record_sale(deal(sold=1000), 7).sold == 1007


def test_selling_more_than_the_units_left_is_refused():
    with pytest.raises(DealError) as caught:
        record_sale(deal(max_units=5, sold=3), 3)
    assert str(caught.value) == (
        "Only 2 of 5 deal units are left; 3 cannot be sold at the deal price."
    )


def test_giving_back_more_than_was_sold_is_refused():
    with pytest.raises(DealError) as caught:
        record_sale(deal(sold=2), -3)
    assert str(caught.value) == (
        "Cannot give back 3 deal units: only 2 were sold at the deal price."
    )


@pytest.mark.parametrize("units", [0, True, 1.0])
def test_a_sale_of_no_units_or_part_of_a_unit_is_refused(units):
    with pytest.raises(DealError) as caught:
        record_sale(deal(), units)
    assert str(caught.value) == (f"A sale changes the units sold by a whole number, not {units!r}.")


# ---------------------------------------------------------------- properties


@given(
    st.floats(min_value=MIN_DEAL_SECONDS, max_value=MAX_DEAL_SECONDS),
    st.floats(min_value=-4000, max_value=4000),
    st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=1, max_value=10),
)
def test_the_price_is_the_deal_price_exactly_while_the_deal_is_active_and_fits(
    seconds, offset, max_units, sold, quantity
):
    started = start_deal(shirt(), eur(3900), seconds, max_units, T0)
    if max_units is not None:
        sold = min(sold, max_units)
    running = dataclasses.replace(started, sold=sold)
    now = T0 + offset
    price = unit_price(running, "linen-shirt", eur(5900), quantity, now)
    left = deal_units_left(running)
    fits = left is None or quantity <= left
    assert price == (eur(3900) if deal_is_active(running, now) and fits else eur(5900))
    assert deal_is_active(running, now) == (T0 <= now < T0 + seconds and left != 0)
    assert 0.0 <= seconds_left(running, now) <= running.ends - running.starts
    if not deal_is_active(running, now) and now >= T0:
        assert seconds_left(running, now) == 0.0


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_the_price_is_never_above_the_regular_price(deal_amount, regular_amount):
    running = Deal("p", eur(deal_amount), T0, T0 + 60, None)
    assert unit_price(running, "p", eur(regular_amount), 1, T0) == eur(
        min(deal_amount, regular_amount)
    )


def test_before_its_start_the_countdown_shows_the_whole_deal():
    assert seconds_left(deal(), T0 - 5) == 60.0


# ---------------------------------------------------------------- pinning during a deal


def test_pinning_another_product_during_a_deal_is_refused_unless_asked() -> None:
    with pytest.raises(DealRunningError) as caught:
        check_pin(deal(), "denim-jacket", "Relaxed Linen Shirt", False, T0 + 25)
    assert str(caught.value) == (
        "A flash deal on Relaxed Linen Shirt is running (0:35 left); pinning another "
        "product would end it. End the deal first, or confirm that it ends."
    )
    check_pin(deal(), "denim-jacket", "Relaxed Linen Shirt", True, T0 + 25)


def test_pinning_the_deals_own_product_or_after_the_deal_needs_no_confirmation() -> None:
    check_pin(deal(), "linen-shirt", "Relaxed Linen Shirt", False, T0 + 25)
    check_pin(deal(), "denim-jacket", "Relaxed Linen Shirt", False, T0 + 60)
    check_pin(deal(max_units=2, sold=2), "denim-jacket", "Relaxed Linen Shirt", False, T0 + 1)
    check_pin(None, "denim-jacket", "", False, T0)
