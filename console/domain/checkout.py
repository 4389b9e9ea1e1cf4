"""Checkout rules: who the buyer is, how many they may take, and what the order costs.

The viewer page shows a form; the hub checks it here before any stock is reserved or
any money is taken. :func:`buyer_errors` reports every field at once, so a shopper on a
phone fixes the form in one go instead of one refusal at a time, and each sentence says
what to change. The price of an order is computed once, by :func:`quote`, for both the
confirmation screen and the charge, so the two cannot disagree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeGuard

from console.domain.money import CurrencyMismatchError, Money, currency_exponent
from console.errors import ShopcastError

__all__ = [
    "COUNTRIES",
    "DEFAULT_SHIPPING",
    "MAX_QUANTITY",
    "RESERVATION_SECONDS",
    "Buyer",
    "CheckoutError",
    "Quote",
    "ShippingRule",
    "buyer_errors",
    "check_quantity",
    "clean_buyer",
    "quote",
    "shipping_rule_for",
]


class CheckoutError(ShopcastError):
    """A purchase cannot go ahead as entered; the message names the problem and the fix.

    ``field`` is the form field to highlight (None when the problem is not one field's);
    ``fields`` holds every field's problem when the whole form was checked.
    """

    def __init__(
        self, message: str, field: str | None = None, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.fields: dict[str, str] = dict(fields) if fields else {}
        if field is not None and not self.fields:
            self.fields[field] = message


# ---------------------------------------------------------------- the buyer


@dataclass(frozen=True, slots=True)
class Buyer:
    """Where an order goes, as cleaned by :func:`clean_buyer`."""

    name: str
    email: str
    address1: str
    address2: str
    city: str
    postal_code: str
    #: ISO 3166-1 alpha-2, upper-case ("DE").
    country: str


#: Countries an order may ship to (ISO 3166-1 alpha-2 -> English name, for the form's
#: list): the EU and its neighbours, and the countries of the currencies Shopcast prices in.
COUNTRIES: Final[dict[str, str]] = {
    "AD": "Andorra",
    "AE": "United Arab Emirates",
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "BH": "Bahrain",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CN": "China",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HK": "Hong Kong",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IN": "India",
    "IS": "Iceland",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "KW": "Kuwait",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MC": "Monaco",
    "MT": "Malta",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SG": "Singapore",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "SM": "San Marino",
    "TR": "Türkiye",
    "US": "United States",
    "ZA": "South Africa",
}

# Codes people type that ISO spells differently.
_COUNTRY_HINTS: Final = {"UK": "GB", "EL": "GR"}

_MAX_EMAIL_CHARS: Final = 254
_MAX_LOCAL_CHARS: Final = 64
# Plausible, not RFC 5322 complete: the quoted and bracketed forms the RFC allows are
# mistakes far more often than real addresses in a shop form. Non-ASCII letters are
# allowed (RFC 6531) on both sides of the @.
_LOCAL_PATTERN: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u00a1-\U0010ffff]+"
    r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u00a1-\U0010ffff]+)*"
)
_LABEL: Final = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_DOMAIN_PATTERN: Final = re.compile(rf"(?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_POSTAL_PATTERN: Final = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,10}[A-Z0-9]")
# Bidirectional overrides and isolates can make an address read differently on the
# label than in the form ("Trojan Source"); ordinary marks (LRM, RLM, ZWJ) are fine.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden_characters(text: str) -> bool:
    """Control characters other than tab and line breaks, lone surrogates, bidi overrides.

    Tabs and line breaks come from pasting an address block and fold into spaces; the
    rest would end up invisible on a shipping label or in the store.
    """
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
        or unicodedata.category(ch) == "Cs"
        or ch in _BIDI_CONTROLS
        for ch in text
    )


class _Problem(Exception):
    """One field's problem while checking the form; becomes an entry of buyer_errors."""


def _email(text: str) -> str:
    if any(ch.isspace() for ch in text):
        raise _Problem("An email address has no spaces; check the one you entered.")
    local, at, domain = text.rpartition("@")
    if not at or not local or "@" in local:
        raise _Problem(
            "The email address needs one @ between name and domain, like ann@example.com."
        )
    domain = domain.lower()
    if len(local) > _MAX_LOCAL_CHARS or not _LOCAL_PATTERN.fullmatch(local):
        raise _Problem("The part before the @ is not valid; check the email address for typos.")
    if not _DOMAIN_PATTERN.fullmatch(domain):
        raise _Problem(
            "The part after the @ must be a domain such as example.com; check it for typos."
        )
    return f"{local}@{domain}"


def _postal_code(text: str) -> str:
    code = text.upper()
    if not _POSTAL_PATTERN.fullmatch(code):
        raise _Problem("A postal code is 2 to 12 letters, digits, spaces or hyphens; check it.")
    return code


def _country(text: str) -> str:
    code = text.upper()
    if code in _COUNTRY_HINTS:
        real = _COUNTRY_HINTS[code]
        raise _Problem(f"Use {real} for {COUNTRIES[real]}; {code} is not an ISO country code.")
    if code not in COUNTRIES:
        raise _Problem(
            f"We cannot ship to {text!r}; choose your country from the list (a 2-letter "
            "code such as DE)."
        )
    return code


class _Field(NamedTuple):
    label: str
    #: What to tell a shopper who left it empty; None when it may stay empty.
    when_empty: str | None
    max_chars: int
    #: Checks and normalises what is left after trimming.
    check: Callable[[str], str] | None = None


#: The form in the order it is shown, so the first problem reported is the first one seen.
_FIELDS: Final[dict[str, _Field]] = {
    "name": _Field("name", "Enter your name.", 100),
    "email": _Field("email address", "Enter your email address.", _MAX_EMAIL_CHARS, _email),
    "address1": _Field("street address", "Enter your street address.", 200),
    "address2": _Field("second address line", None, 200),
    "city": _Field("city", "Enter your city.", 100),
    "postal_code": _Field("postal code", "Enter your postal code.", 12, _postal_code),
    # Room for a country typed out in full, so that _country can say what to choose.
    "country": _Field("country", "Choose your country.", 100, _country),
}


def _clean(field: str, spec: _Field, value: object) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Problem(f"The {spec.label} must be text.")
    if _hidden_characters(value):
        raise _Problem(
            f"The {spec.label} contains a hidden control character; type it again instead "
            "of pasting it."
        )
    # An email address keeps its inner spaces so that _email can refuse them.
    text = value.strip() if field == "email" else " ".join(value.split())
    if not text:
        if spec.when_empty is not None:
            raise _Problem(spec.when_empty)
        return text
    if len(text) > spec.max_chars:
        raise _Problem(
            f"The {spec.label} is {len(text)} characters long; shorten it to "
            f"{spec.max_chars} at most."
        )
    return spec.check(text) if spec.check is not None else text


def _check(data: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """Cleaned values and problems by field; a missing field counts as left empty."""
    cleaned: dict[str, str] = {}
    problems: dict[str, str] = {}
    for field, spec in _FIELDS.items():
        try:
            cleaned[field] = _clean(field, spec, data.get(field))
        except _Problem as problem:
            problems[field] = str(problem)
    return cleaned, problems


def buyer_errors(data: Mapping[str, object]) -> dict[str, str]:
    """Every problem of a checkout form (field -> sentence), in form order; {} when fine.

    Fields the form does not have are ignored; a missing one counts as left empty.
    """
    return _check(data)[1]


def clean_buyer(data: Mapping[str, object]) -> Buyer:
    """The buyer as stored and shipped to: white space folded, email domain in lower case,
    postal code and country in upper case.

    Raises :class:`CheckoutError` naming the first field at fault (``fields`` has all).
    """
    cleaned, problems = _check(data)
    if problems:
        field, message = next(iter(problems.items()))
        raise CheckoutError(message, field=field, fields=problems)
    return Buyer(**cleaned)


# ---------------------------------------------------------------- quantity


#: Most units of one variant per order: live drops sell limited stock to many viewers,
#: and one buyer clearing the shelf in a tap is what resellers' bots do.
MAX_QUANTITY: Final = 10

#: How long a buyer's reserved units are held while the payment runs. A payment takes
#: seconds; past this the hub that took it is taken for dead, and any hub puts the units
#: back on the shelf (a crash mid-payment must not keep them from other buyers for good).
RESERVATION_SECONDS: Final = 600.0


def _is_count(value: object, least: int) -> TypeGuard[int]:
    """A whole number (True is not 1 here) of at least ``least``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _bad_quantity() -> CheckoutError:
    return CheckoutError(
        f"The quantity must be a whole number from 1 to {MAX_QUANTITY}.", field="quantity"
    )


def check_quantity(quantity: object, stock: int) -> int:
    """The quantity to reserve, or a :class:`CheckoutError` on the "quantity" field.

    Sold out comes first: no other quantity would help. Then the limit a shopper can act
    on: "only 3 left" rather than "at most 10" when both apply.
    """
    if stock <= 0:
        raise CheckoutError(
            "Sold out: none are left. Choose another option if the product has one.",
            field="quantity",
        )
    if not _is_count(quantity, 1):
        raise _bad_quantity()
    if quantity > stock and stock <= MAX_QUANTITY:
        raise CheckoutError(f"Only {stock} left; choose {stock} or fewer.", field="quantity")
    if quantity > MAX_QUANTITY:
        raise CheckoutError(
            f"At most {MAX_QUANTITY} per order; choose {MAX_QUANTITY} or fewer.",
            field="quantity",
        )
    return quantity


# ---------------------------------------------------------------- shipping and totals


@dataclass(frozen=True, slots=True)
class ShippingRule:
    """A flat shipping fee, waived from an order subtotal (minor units of the order's
    currency); ``free_from=None`` never waives it.
    """

    flat: int
    free_from: int | None

    def __post_init__(self) -> None:
        if not _is_count(self.flat, 0) or not (
            self.free_from is None or _is_count(self.free_from, 0)
        ):
            raise CheckoutError(
                "A shipping rule takes whole minor units of 0 or more; got "
                f"flat={self.flat!r}, free_from={self.free_from!r}."
            )


#: €4.95, free from €50.00 (or $, £, CHF...: the same figures in any currency whose unit
#: is worth roughly a euro).
DEFAULT_SHIPPING: Final = ShippingRule(flat=495, free_from=5000)

# Round local figures near €4.95 and €50 for currencies whose unit is worth much less
# (or more) than a euro: 4.95 kr or ₹4.95 would read as a mistake.
_SHIPPING_BY_EXPONENT: Final[dict[int, ShippingRule]] = {
    0: ShippingRule(flat=700, free_from=7000),  # ¥700, free from ¥7,000
    2: DEFAULT_SHIPPING,
    3: ShippingRule(flat=1500, free_from=15000),  # 1.500 KWD/BHD, free from 15.000
}
_SHIPPING_BY_CURRENCY: Final[dict[str, ShippingRule]] = {
    "AED": ShippingRule(flat=1900, free_from=20000),
    "BRL": ShippingRule(flat=2500, free_from=25000),
    "CNY": ShippingRule(flat=3500, free_from=35000),
    "CZK": ShippingRule(flat=12900, free_from=120000),
    "DKK": ShippingRule(flat=3900, free_from=40000),
    "HKD": ShippingRule(flat=3900, free_from=40000),
    "HUF": ShippingRule(flat=199000, free_from=2000000),
    "INR": ShippingRule(flat=39900, free_from=400000),
    "KRW": ShippingRule(flat=5000, free_from=50000),
    "MXN": ShippingRule(flat=9900, free_from=100000),
    "NOK": ShippingRule(flat=4900, free_from=50000),
    "PLN": ShippingRule(flat=1990, free_from=20000),
    "SEK": ShippingRule(flat=4900, free_from=50000),
    "TRY": ShippingRule(flat=19900, free_from=200000),
    "ZAR": ShippingRule(flat=9900, free_from=100000),
}


def shipping_rule_for(currency: str) -> ShippingRule:
    """The default shipping of a shop selling in ``currency`` (MoneyError if unsupported).

    Round local prices, by currency where a unit is far from a euro's worth, else by the
    currency's exponent (¥700 free from ¥7,000; 1.500 free from 15.000 for 3 decimals).
    """
    exponent = currency_exponent(currency)
    return _SHIPPING_BY_CURRENCY.get(currency, _SHIPPING_BY_EXPONENT[exponent])


@dataclass(frozen=True, slots=True)
class Quote:
    """What an order costs, line by line, as the confirmation screen shows it."""

    unit_price: Money
    quantity: int
    subtotal: Money
    shipping: Money
    total: Money
    #: The price without a deal; equal to ``unit_price`` when no deal applies.
    regular_unit_price: Money


def quote(
    unit_price: Money, quantity: int, rule: ShippingRule, regular_unit_price: Money | None = None
) -> Quote:
    """Price ``quantity`` units at ``unit_price`` plus shipping by ``rule``."""
    if not _is_count(quantity, 1):
        raise _bad_quantity()
    regular = unit_price if regular_unit_price is None else regular_unit_price
    if regular.currency != unit_price.currency:
        raise CurrencyMismatchError(
            f"the regular price is in {regular.currency} but the price is in "
            f"{unit_price.currency}; quote in one currency"
        )
    subtotal = unit_price * quantity
    free = rule.free_from is not None and subtotal.amount >= rule.free_from
    shipping = Money(0 if free else rule.flat, unit_price.currency)
    return Quote(
        unit_price=unit_price,
        quantity=quantity,
        subtotal=subtotal,
        shipping=shipping,
        total=subtotal + shipping,
        regular_unit_price=regular,
    )
