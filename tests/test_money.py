"""Money: exact minor units, one currency at a time, shown and typed the way shoppers do."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.money import (
    CURRENCIES,
    MAX_AMOUNT,
    CurrencyMismatchError,
    Money,
    MoneyError,
    currency_exponent,
    format_money,
    parse_decimal,
)
from console.errors import CatalogueError, ShopcastError

currencies = st.sampled_from(sorted(CURRENCIES))
amounts = st.integers(min_value=-(10**15), max_value=10**15)
prices = st.integers(min_value=0, max_value=MAX_AMOUNT - 1)


# ---------------------------------------------------------------- the value


def test_an_amount_is_kept_in_minor_units_with_its_currency():
    price = Money(4900, "EUR")
    assert price.amount == 4900
    assert price.currency == "EUR"
    assert price.exponent == 2


def test_a_float_amount_is_refused_with_the_value_shown():
    with pytest.raises(MoneyError, match=r"whole number of minor units, got 49\.0"):
        Money(49.0, "EUR")  # type: ignore[arg-type]


def test_a_boolean_amount_is_refused():
    with pytest.raises(MoneyError, match="whole number of minor units, got True"):
        Money(True, "EUR")


def test_a_lower_case_currency_code_is_refused_with_an_example():
    with pytest.raises(
        MoneyError, match=r"3-letter upper-case ISO 4217 code such as 'EUR', got 'eur'"
    ):
        Money(100, "eur")


def test_an_unknown_currency_is_refused_and_the_supported_ones_are_listed():
    with pytest.raises(MoneyError, match=r"currency 'XYZ' is not supported; use one of .*EUR"):
        Money(100, "XYZ")


def test_the_currency_table_knows_at_least_ten_currencies_and_their_decimals():
    assert len(CURRENCIES) >= 10
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3
    with pytest.raises(MoneyError):
        currency_exponent("ABC")


def test_money_errors_are_catalogue_errors_so_one_handler_catches_both():
    assert issubclass(MoneyError, CatalogueError)
    assert issubclass(CurrencyMismatchError, MoneyError)
    assert issubclass(MoneyError, ShopcastError)


def test_money_is_immutable_and_hashable():
    price = Money(4900, "EUR")
    with pytest.raises(AttributeError):
        price.amount = 1  # type: ignore[misc]
    assert len({price, Money(4900, "EUR"), Money(4900, "USD")}) == 2


# ---------------------------------------------------------------- arithmetic


def test_prices_in_the_same_currency_add_and_subtract():
    assert Money(4900, "EUR") + Money(1490, "EUR") == Money(6390, "EUR")
    assert Money(4900, "EUR") - Money(1490, "EUR") == Money(3410, "EUR")
    assert -Money(100, "EUR") == Money(-100, "EUR")


def test_adding_euros_to_dollars_is_refused_with_both_currencies_named():
    with pytest.raises(CurrencyMismatchError, match="cannot add USD and EUR amounts"):
        Money(100, "EUR") + Money(100, "USD")
    with pytest.raises(CurrencyMismatchError, match="subtract"):
        Money(100, "EUR") - Money(100, "USD")


def test_a_price_times_a_quantity_is_a_line_total():
    assert Money(1490, "EUR") * 3 == Money(4470, "EUR")
    assert 3 * Money(1490, "EUR") == Money(4470, "EUR")


def test_multiplying_by_a_float_or_a_bool_is_refused():
    with pytest.raises(TypeError):
        Money(1490, "EUR") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1490, "EUR") * True  # type: ignore[operator]


def test_a_plain_number_cannot_be_added_to_money():
    with pytest.raises(TypeError):
        Money(100, "EUR") + 1  # type: ignore[operator]


def test_prices_compare_within_a_currency():
    cheap, dear = Money(1490, "EUR"), Money(12900, "EUR")
    assert cheap < dear
    assert cheap <= Money(1490, "EUR")
    assert dear > cheap
    assert dear >= dear
    assert min([dear, cheap]) == cheap


def test_comparing_prices_in_different_currencies_is_refused():
    with pytest.raises(CurrencyMismatchError, match="compare"):
        _ = Money(100, "EUR") < Money(100, "USD")


def test_amounts_in_different_currencies_are_simply_not_equal():
    assert Money(100, "EUR") != Money(100, "USD")


def test_a_sum_of_prices_starts_from_zero_in_the_currency():
    total = sum([Money(4900, "EUR"), Money(1490, "EUR")], Money.zero("EUR"))
    assert total == Money(6390, "EUR")
    assert Money.zero("EUR").is_zero
    assert not total.is_zero


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("money", "locale", "shown"),
    [
        (Money(4900, "EUR"), "en", "€49.00"),
        (Money(4900, "EUR"), "de", "49,00 €"),
        (Money(4900, "EUR"), "fr", "49,00 €"),
        (Money(4900, "JPY"), "en", "¥4,900"),
        (Money(123456789, "EUR"), "en", "€1,234,567.89"),
        (Money(123456789, "EUR"), "de", "1.234.567,89 €"),
        (Money(123456789, "EUR"), "fr", "1 234 567,89 €"),
        (Money(0, "EUR"), "en", "€0.00"),
        (Money(5, "EUR"), "en", "€0.05"),
        (Money(-500, "EUR"), "en", "-€5.00"),
        (Money(-500, "EUR"), "de", "-5,00 €"),
        (Money(4900, "USD"), "en", "$49.00"),
        (Money(4900, "GBP"), "en", "£49.00"),
        (Money(4900, "CHF"), "en", "CHF 49.00"),
        (Money(4900, "CHF"), "de", "49,00 CHF"),
        (Money(4900, "SEK"), "en", "SEK 49.00"),
        (Money(4900, "SEK"), "fr", "49,00 kr"),
        (Money(1234, "KWD"), "en", "KWD 1.234"),
        (Money(4900, "EUR"), "de-AT", "49,00 €"),
        (Money(4900, "EUR"), "fr_CH", "49,00 €"),
    ],
)
def test_prices_are_shown_the_way_shoppers_of_the_locale_write_them(money, locale, shown):
    assert format_money(money, locale) == shown


def test_an_unknown_locale_shows_the_price_in_english_style_rather_than_failing():
    assert format_money(Money(4900, "EUR"), "xx") == "€49.00"


def test_str_of_money_is_the_english_display():
    assert str(Money(124900, "EUR")) == "€1,249.00"


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("typed", "currency", "locale", "amount"),
    [
        ("19.99", "EUR", "en", 1999),
        ("19", "EUR", "en", 1900),
        ("19.9", "EUR", "en", 1990),
        ("0", "EUR", "en", 0),
        ("  49.00  ", "EUR", "en", 4900),
        ("€49.00", "EUR", "en", 4900),
        ("EUR 49", "EUR", "en", 4900),
        ("49.00 EUR", "EUR", "en", 4900),
        ("€1,249.00", "EUR", "en", 124900),
        ("1,249", "EUR", "en", 124900),
        ("49,00 €", "EUR", "de", 4900),
        ("1.249,00 €", "EUR", "de", 124900),
        ("1 249,00 €", "EUR", "fr", 124900),
        ("1\u202f249,00\u00a0€", "EUR", "fr", 124900),
        ("4900", "JPY", "en", 4900),
        ("¥4,900", "JPY", "en", 4900),
        ("1.234", "KWD", "en", 1234),
    ],
)
def test_a_typed_price_is_read_exactly_in_minor_units(typed, currency, locale, amount):
    assert parse_decimal(typed, currency, locale) == Money(amount, currency)


def test_price_with_too_many_decimals_is_refused_with_the_currency_named():
    with pytest.raises(MoneyError) as caught:
        parse_decimal("19.999", "EUR")
    assert str(caught.value) == "'19.999' has more than 2 decimals for EUR"


def test_yen_with_decimals_is_refused_because_yen_are_whole_numbers():
    with pytest.raises(MoneyError) as caught:
        parse_decimal("4900.5", "JPY")
    assert str(caught.value) == "'4900.5' has decimals, but JPY amounts are whole numbers"


@pytest.mark.parametrize("typed", ["-5", "-19.99", "\u22125", "€-5.00"])
def test_a_negative_price_is_refused(typed):
    with pytest.raises(MoneyError, match="is negative; a price must be zero or more"):
        parse_decimal(typed, "EUR")


@pytest.mark.parametrize("typed", ["", "   "])
def test_an_empty_price_is_refused_with_an_example_to_type(typed):
    with pytest.raises(MoneyError, match=r"the price is empty; type an amount such as 19\.99"):
        parse_decimal(typed, "EUR")


@pytest.mark.parametrize(
    "typed",
    ["abc", "19.99.1", "1e3", "12,49", "1,,249", "$19.99", "19 99", ".", "€", "١٩", "0x10"],
)
def test_junk_is_refused_with_an_example_of_what_to_type(typed):
    with pytest.raises(MoneyError) as caught:
        parse_decimal(typed, "EUR")
    assert str(caught.value) == f"{typed!r} is not a price in EUR; type digits such as 19.99"


def test_the_example_follows_the_locale_decimal_mark():
    with pytest.raises(MoneyError, match="type digits such as 19,99"):
        parse_decimal("abc", "EUR", "de")


def test_an_absurdly_large_price_is_refused():
    with pytest.raises(MoneyError, match="too large"):
        parse_decimal("99999999999999999", "EUR")


def test_parsing_in_an_unknown_currency_is_refused():
    with pytest.raises(MoneyError, match="not supported"):
        parse_decimal("19.99", "XYZ")


def test_parsing_something_that_is_not_text_is_refused():
    with pytest.raises(MoneyError, match="must be text"):
        parse_decimal(19.99, "EUR")  # type: ignore[arg-type]


# ---------------------------------------------------------------- properties


@given(a=amounts, b=amounts, currency=currencies)
def test_adding_then_subtracting_gives_back_the_same_amount(a, b, currency):
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y) - y == x
    assert (x - y) + y == x
    assert x + y == y + x


@given(amount=prices, currency=currencies, locale=st.sampled_from(["en", "de", "fr"]))
def test_whatever_is_shown_can_be_typed_back(amount, currency, locale):
    money = Money(amount, currency)
    assert parse_decimal(format_money(money, locale), currency, locale) == money


@given(amount=prices, currency=currencies)
def test_the_bare_english_number_can_be_typed_back(amount, currency):
    money = Money(amount, currency)
    shown = format_money(money, "en")
    number = re.search(r"[0-9][0-9.,]*", shown)
    assert number is not None
    assert parse_decimal(number.group().replace(",", ""), currency) == money


@given(a=amounts, n=st.integers(min_value=-1000, max_value=1000), currency=currencies)
def test_arithmetic_never_produces_a_float(a, n, currency):
    money = Money(a, currency)
    for result in (money + money, money - money, money * n, n * money, -money):
        assert type(result.amount) is int


@given(value=st.floats(allow_nan=True, allow_infinity=True), currency=currencies)
def test_no_float_ever_becomes_money(value, currency):
    with pytest.raises(MoneyError):
        Money(value, currency)  # type: ignore[arg-type]


@given(text=st.text(max_size=30), currency=currencies, locale=st.sampled_from(["en", "de", "fr"]))
def test_any_typed_text_is_either_an_exact_price_or_a_money_error(text, currency, locale):
    try:
        money = parse_decimal(text, currency, locale)
    except MoneyError as exc:
        assert str(exc)
    else:
        assert type(money.amount) is int
        assert 0 <= money.amount < MAX_AMOUNT
        assert money.currency == currency


@given(
    whole=st.integers(min_value=0, max_value=10**9),
    cents=st.integers(min_value=0, max_value=99),
)
def test_a_two_decimal_string_is_exactly_its_cents(whole, cents):
    assert parse_decimal(f"{whole}.{cents:02d}", "EUR").amount == whole * 100 + cents


def test_an_absurdly_long_price_is_refused_as_a_price_error() -> None:
    with pytest.raises(MoneyError, match="too long for a price"):
        parse_decimal("9" * 5000, "EUR")
