"""Checkout: the buyer form, the quantity a viewer may take, shipping and the order total."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.checkout import (
    COUNTRIES,
    DEFAULT_SHIPPING,
    MAX_QUANTITY,
    Buyer,
    CheckoutError,
    Quote,
    ShippingRule,
    buyer_errors,
    check_quantity,
    clean_buyer,
    quote,
    shipping_rule_for,
)
from console.domain.money import CURRENCIES, CurrencyMismatchError, Money, MoneyError
from console.errors import ShopcastError


def form(**changes: object) -> dict[str, object]:
    """A valid checkout form that each test changes in one place."""
    data: dict[str, object] = {
        "name": "Mia Keller",
        "email": "mia.keller+live@example.com",
        "address1": "Torstraße 12",
        "address2": "",
        "city": "Berlin",
        "postal_code": "10119",
        "country": "DE",
    }
    data.update(changes)
    return data


def problem(field: str, value: object) -> str:
    """The one sentence a form with ``field`` set to ``value`` gets."""
    errors = buyer_errors(form(**{field: value}))
    assert list(errors) == [field]
    return errors[field]


# ---------------------------------------------------------------- the buyer


def test_a_valid_form_has_no_problems_and_becomes_a_buyer():
    assert buyer_errors(form()) == {}
    assert clean_buyer(form()) == Buyer(
        name="Mia Keller",
        email="mia.keller+live@example.com",
        address1="Torstraße 12",
        address2="",
        city="Berlin",
        postal_code="10119",
        country="DE",
    )


def test_white_space_is_trimmed_and_folded_and_codes_are_upper_cased():
    buyer = clean_buyer(
        form(
            name="  Mia \t Keller ",
            email="  Mia.Keller@Example.COM ",
            address1="Torstraße 12\r\nHinterhaus",
            address2="  3. OG  ",
            city=" Berlin ",
            postal_code=" sw1a   1aa ",
            country=" gb ",
        )
    )
    assert buyer == Buyer(
        name="Mia Keller",
        email="Mia.Keller@example.com",
        address1="Torstraße 12 Hinterhaus",
        address2="3. OG",
        city="Berlin",
        postal_code="SW1A 1AA",
        country="GB",
    )


def test_an_empty_form_lists_every_required_field_in_form_order():
    assert buyer_errors({}) == {
        "name": "Enter your name.",
        "email": "Enter your email address.",
        "address1": "Enter your street address.",
        "city": "Enter your city.",
        "postal_code": "Enter your postal code.",
        "country": "Choose your country.",
    }


def test_fields_left_out_count_as_empty_and_unknown_fields_are_ignored():
    data = form(phone="+49 30 1234")
    del data["address2"]
    assert buyer_errors(data) == {}
    assert clean_buyer(data).address2 == ""


def test_blank_and_none_values_count_as_empty():
    assert buyer_errors(form(name="   ", city=None)) == {
        "name": "Enter your name.",
        "city": "Enter your city.",
    }


@pytest.mark.parametrize("value", [42, ["Mia"], b"Mia"])
def test_a_value_that_is_not_text_is_refused(value):
    assert problem("name", value) == "The name must be text."


@pytest.mark.parametrize(
    "value", ["Mia\x00Keller", "Mia\x1b[31m", "Mia\u202eKeller", "Mia\x7f", "Mia\ud800", "M\x85"]
)
def test_hidden_control_characters_are_refused_not_folded(value):
    assert problem("name", value) == (
        "The name contains a hidden control character; type it again instead of pasting it."
    )


def test_a_hidden_character_in_an_email_is_named_as_such():
    assert problem("email", "mia@exam\x00ple.com") == (
        "The email address contains a hidden control character; type it again instead of "
        "pasting it."
    )


def test_names_in_any_script_with_joiners_are_kept():
    assert clean_buyer(form(name="ශ්‍රී Perera")).name == "ශ්‍රී Perera"


@pytest.mark.parametrize(
    ("field", "limit", "label"),
    [
        ("name", 100, "name"),
        ("address1", 200, "street address"),
        ("address2", 200, "second address line"),
        ("city", 100, "city"),
    ],
)
def test_text_fields_have_a_length_limit_counted_after_folding(field, limit, label):
    assert buyer_errors(form(**{field: "x" * limit})) == {}
    assert buyer_errors(form(**{field: "x " * (limit // 2) + "   "})) == {}
    assert problem(field, "x" * (limit + 1)) == (
        f"The {label} is {limit + 1} characters long; shorten it to {limit} at most."
    )


@pytest.mark.parametrize(
    ("email", "cleaned"),
    [
        ("ann@example.com", "ann@example.com"),
        ("Ann.Lee@Example.COM", "Ann.Lee@example.com"),
        ("o'brien+shop@mail.example.co.uk", "o'brien+shop@mail.example.co.uk"),
        ("jürgen@müller.de", "jürgen@müller.de"),
        ("ann@xn--mller-kva.de", "ann@xn--mller-kva.de"),
        ("ann@a-b.example.xn--p1ai", "ann@a-b.example.xn--p1ai"),
    ],
)
def test_plausible_email_addresses_are_kept_with_the_domain_in_lower_case(email, cleaned):
    assert clean_buyer(form(email=email)).email == cleaned


NO_SPACES = "An email address has no spaces; check the one you entered."
NEEDS_AT = "The email address needs one @ between name and domain, like ann@example.com."
BAD_LOCAL = "The part before the @ is not valid; check the email address for typos."
BAD_DOMAIN = "The part after the @ must be a domain such as example.com; check it for typos."


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("ann @example.com", NO_SPACES),
        ("ann@exa\tmple.com", NO_SPACES),
        ("ann.example.com", NEEDS_AT),
        ("@example.com", NEEDS_AT),
        ("ann@lee@example.com", NEEDS_AT),
        ("ann..lee@example.com", BAD_LOCAL),
        (".ann@example.com", BAD_LOCAL),
        ("ann<b>@example.com", BAD_LOCAL),
        ("a" * 65 + "@example.com", BAD_LOCAL),
        ("ann@", BAD_DOMAIN),
        ("ann@localhost", BAD_DOMAIN),
        ("ann@example.c", BAD_DOMAIN),
        ("ann@example.com.", BAD_DOMAIN),
        ("ann@-example.com", BAD_DOMAIN),
        ("ann@exa_mple.com", BAD_DOMAIN),
        ("ann@example.c0m", BAD_DOMAIN),
    ],
)
def test_implausible_email_addresses_are_refused_with_what_to_check(email, message):
    assert problem("email", email) == message


def test_an_email_address_longer_than_254_characters_is_refused():
    local = "a" * 64
    domain = ".".join(["b" * 60] * 3) + ".com"  # 186 characters
    assert buyer_errors(form(email=f"{local}@{domain}")) == {}
    long_domain = ".".join(["b" * 62] * 3) + ".example.com"  # 200 characters
    assert problem("email", f"{local}@{long_domain}") == (
        "The email address is 265 characters long; shorten it to 254 at most."
    )


@pytest.mark.parametrize(
    ("code", "cleaned"),
    [
        ("10119", "10119"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("00-950", "00-950"),
        ("K1A 0B1", "K1A 0B1"),
        ("AD", "AD"),
        ("1234567890AB", "1234567890AB"),
    ],
)
def test_postal_codes_of_letters_digits_spaces_and_hyphens_are_kept(code, cleaned):
    assert clean_buyer(form(postal_code=code)).postal_code == cleaned


@pytest.mark.parametrize("code", ["1", "-1234", "1234-", "12_34", "1234#", "Ü1234"])
def test_other_postal_codes_are_refused(code):
    assert problem("postal_code", code) == (
        "A postal code is 2 to 12 letters, digits, spaces or hyphens; check it."
    )


def test_a_postal_code_longer_than_12_characters_is_refused():
    assert problem("postal_code", "1234567890123") == (
        "The postal code is 13 characters long; shorten it to 12 at most."
    )


@pytest.mark.parametrize("code", ["DE", "de", "GB", "US", "CA", "CH", "NO", "AU", "JP", "FR", "MT"])
def test_known_countries_are_accepted_in_upper_case(code):
    assert clean_buyer(form(country=code)).country == code.upper()


def test_the_country_list_has_every_eu_member_and_the_main_markets():
    eu = set(
        [
            "AT",
            "BE",
            "BG",
            "HR",
            "CY",
            "CZ",
            "DK",
            "EE",
            "FI",
            "FR",
            "DE",
            "GR",
            "HU",
            "IE",
            "IT",
            "LV",
            "LT",
            "LU",
            "MT",
            "NL",
            "PL",
            "PT",
            "RO",
            "SK",
            "SI",
            "ES",
            "SE",
        ]
    )
    assert eu | {"GB", "US", "CA", "CH", "NO", "AU", "JP"} <= set(COUNTRIES)
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)


@pytest.mark.parametrize(
    ("typed", "real", "name"), [("UK", "GB", "United Kingdom"), ("el", "GR", "Greece")]
)
def test_a_common_non_iso_country_code_is_refused_with_the_iso_code(typed, real, name):
    assert problem("country", typed) == (
        f"Use {real} for {name}; {typed.upper()} is not an ISO country code."
    )


@pytest.mark.parametrize("country", ["XX", "Germany", "DEU"])
def test_an_unknown_country_is_refused(country):
    assert problem("country", country) == (
        f"We cannot ship to {country!r}; choose your country from the list (a 2-letter code "
        "such as DE)."
    )


def test_every_problem_is_reported_at_once():
    errors = buyer_errors(form(name="", email="nope", postal_code="#", country="XX"))
    assert list(errors) == ["name", "email", "postal_code", "country"]


def test_clean_buyer_raises_for_the_first_problem_and_carries_them_all():
    with pytest.raises(CheckoutError) as caught:
        clean_buyer(form(email="nope", country="XX"))
    error = caught.value
    assert error.field == "email"
    assert (
        str(error)
        == error.message
        == ("The email address needs one @ between name and domain, like ann@example.com.")
    )
    assert error.fields == buyer_errors(form(email="nope", country="XX"))
    assert list(error.fields) == ["email", "country"]


def test_a_checkout_error_for_one_field_lists_that_field():
    error = CheckoutError("Only 2 left; choose 2 or fewer.", field="quantity")
    assert error.fields == {"quantity": "Only 2 left; choose 2 or fewer."}
    assert CheckoutError("Payment failed.").fields == {}
    assert CheckoutError("Payment failed.").field is None
    assert issubclass(CheckoutError, ShopcastError)


@given(st.dictionaries(st.sampled_from(list(form())), st.text(max_size=300)))
def test_a_form_is_either_refused_or_cleaned_into_a_stable_buyer(data):
    errors = buyer_errors(data)
    if errors:
        with pytest.raises(CheckoutError) as caught:
            clean_buyer(data)
        assert caught.value.field == next(iter(errors))
        return
    buyer = clean_buyer(data)
    again = {field: getattr(buyer, field) for field in Buyer.__slots__}
    assert clean_buyer(again) == buyer


# ---------------------------------------------------------------- quantity


def test_a_quantity_within_stock_and_the_limit_is_accepted():
    assert check_quantity(1, 1) == 1
    assert check_quantity(MAX_QUANTITY, 50) == MAX_QUANTITY
    assert MAX_QUANTITY == 10


def quantity_refused(quantity: object, stock: int) -> CheckoutError:
    with pytest.raises(CheckoutError) as caught:
        check_quantity(quantity, stock)
    assert caught.value.field == "quantity"
    return caught.value


@pytest.mark.parametrize("quantity", [0, -1, 1.0, "2", None, True])
def test_a_quantity_that_is_not_a_whole_number_from_one_is_refused(quantity):
    assert str(quantity_refused(quantity, 5)) == "The quantity must be a whole number from 1 to 10."


@pytest.mark.parametrize("stock", [0, -3])
def test_a_sold_out_variant_says_so_whatever_the_quantity(stock):
    for quantity in (1, 5, 0):
        assert str(quantity_refused(quantity, stock)) == (
            "Sold out: none are left. Choose another option if the product has one."
        )


def test_more_than_the_stock_is_refused_with_what_is_left():
    assert str(quantity_refused(4, 3)) == "Only 3 left; choose 3 or fewer."
    assert str(quantity_refused(11, 3)) == "Only 3 left; choose 3 or fewer."
    assert str(quantity_refused(2, 1)) == "Only 1 left; choose 1 or fewer."


def test_more_than_the_limit_is_refused_with_the_limit():
    assert str(quantity_refused(11, 500)) == "At most 10 per order; choose 10 or fewer."
    assert str(quantity_refused(12, 11)) == "At most 10 per order; choose 10 or fewer."


@given(st.integers(min_value=-5, max_value=30), st.integers(min_value=-5, max_value=30))
def test_a_quantity_is_accepted_exactly_when_it_fits_stock_and_limit(quantity, stock):
    fits = 1 <= quantity <= min(stock, MAX_QUANTITY)
    if fits:
        assert check_quantity(quantity, stock) == quantity
    else:
        quantity_refused(quantity, stock)


# ---------------------------------------------------------------- shipping


def test_the_default_shipping_is_4_95_free_from_50():
    assert ShippingRule(flat=495, free_from=5000) == DEFAULT_SHIPPING
    assert shipping_rule_for("EUR") == DEFAULT_SHIPPING
    assert shipping_rule_for("USD") == DEFAULT_SHIPPING
    assert shipping_rule_for("GBP") == DEFAULT_SHIPPING


def test_currencies_without_minor_units_ship_for_round_whole_amounts():
    assert shipping_rule_for("JPY") == ShippingRule(flat=700, free_from=7000)


def test_currencies_with_three_decimals_ship_for_round_amounts():
    assert shipping_rule_for("KWD") == ShippingRule(flat=1500, free_from=15000)
    assert shipping_rule_for("BHD") == ShippingRule(flat=1500, free_from=15000)


def test_currencies_worth_far_less_than_a_euro_ship_for_round_local_amounts():
    assert shipping_rule_for("SEK") == ShippingRule(flat=4900, free_from=50000)
    assert shipping_rule_for("HUF") == ShippingRule(flat=199000, free_from=2000000)
    assert shipping_rule_for("KRW") == ShippingRule(flat=5000, free_from=50000)


def test_every_supported_currency_has_shipping_with_a_free_threshold_above_the_fee():
    for currency in CURRENCIES:
        rule = shipping_rule_for(currency)
        assert rule.free_from is not None
        assert 0 < rule.flat < rule.free_from, currency


def test_an_unsupported_currency_has_no_shipping_rule():
    with pytest.raises(MoneyError):
        shipping_rule_for("XYZ")


@pytest.mark.parametrize(
    ("flat", "free_from"), [(-1, None), (495, -1), (4.95, 5000), (True, None), (495, 50.0)]
)
def test_a_shipping_rule_takes_whole_non_negative_minor_units(flat, free_from):
    with pytest.raises(CheckoutError) as caught:
        ShippingRule(flat=flat, free_from=free_from)
    assert str(caught.value) == (
        f"A shipping rule takes whole minor units of 0 or more; got flat={flat!r}, "
        f"free_from={free_from!r}."
    )


# ---------------------------------------------------------------- quotes


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def test_a_quote_below_the_free_threshold_adds_the_flat_fee():
    assert quote(eur(1490), 2, DEFAULT_SHIPPING) == Quote(
        unit_price=eur(1490),
        quantity=2,
        subtotal=eur(2980),
        shipping=eur(495),
        total=eur(3475),
        regular_unit_price=eur(1490),
    )


def test_shipping_is_free_from_exactly_the_threshold():
    assert quote(eur(2500), 2, DEFAULT_SHIPPING).shipping == eur(0)
    assert quote(eur(2500), 2, DEFAULT_SHIPPING).total == eur(5000)
    assert quote(eur(4999), 1, DEFAULT_SHIPPING).shipping == eur(495)


def test_a_rule_without_a_threshold_always_charges_the_fee():
    assert quote(eur(100_000), 1, ShippingRule(flat=995, free_from=None)).total == eur(100_995)


def test_a_deal_quote_keeps_the_regular_price_to_show_the_saving():
    deal = quote(eur(3900), 1, DEFAULT_SHIPPING, regular_unit_price=eur(5900))
    assert (deal.unit_price, deal.regular_unit_price, deal.total) == (
        eur(3900),
        eur(5900),
        eur(4395),
    )


def test_a_yen_quote_is_in_whole_yen():
    assert quote(Money(2400, "JPY"), 3, shipping_rule_for("JPY")) == Quote(
        unit_price=Money(2400, "JPY"),
        quantity=3,
        subtotal=Money(7200, "JPY"),
        shipping=Money(0, "JPY"),
        total=Money(7200, "JPY"),
        regular_unit_price=Money(2400, "JPY"),
    )


def test_a_regular_price_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatchError):
        quote(eur(3900), 1, DEFAULT_SHIPPING, regular_unit_price=Money(5900, "USD"))


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_a_quote_for_no_units_is_refused(quantity):
    with pytest.raises(CheckoutError) as caught:
        quote(eur(3900), quantity, DEFAULT_SHIPPING)
    assert caught.value.field == "quantity"


@given(
    st.sampled_from(sorted(CURRENCIES)),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=1, max_value=MAX_QUANTITY),
)
def test_a_total_is_the_subtotal_plus_the_fee_unless_the_threshold_is_met(currency, unit, quantity):
    rule = shipping_rule_for(currency)
    result = quote(Money(unit, currency), quantity, rule)
    assert result.subtotal == Money(unit * quantity, currency)
    assert rule.free_from is not None
    expected_fee = 0 if unit * quantity >= rule.free_from else rule.flat
    assert result.shipping == Money(expected_fee, currency)
    assert result.total == Money(unit * quantity + expected_fee, currency)
