"""Money as integer minor units plus an ISO 4217 code, and how people read and type it.

Prices travel through the hub, the store and the viewer page; a float anywhere on that
path turns 0.1 + 0.2 into a support ticket. So an amount is always an ``int`` of minor
units (cents, pence, yen) and the currency travels with it, which also stops a euro
price being added to a dollar total by accident.

Formatting and parsing are pure and table-driven instead of using the ``locale`` module
(process-global, depends on what the machine has installed) or babel (a dependency for
three locales): the console must show the same price on every machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple

from console.errors import CatalogueError

__all__ = [
    "CURRENCIES",
    "MAX_AMOUNT",
    "CurrencyInfo",
    "CurrencyMismatchError",
    "Money",
    "MoneyError",
    "currency_exponent",
    "format_money",
    "parse_decimal",
]


class MoneyError(CatalogueError):
    """An amount or currency is invalid; the message says what to type instead."""


class CurrencyMismatchError(MoneyError):
    """Two amounts in different currencies met; converting silently would lose money."""


class CurrencyInfo(NamedTuple):
    """How many minor-unit digits a currency has and how people write it."""

    exponent: int
    #: Symbol as shown next to the number. In English, signs ("€", "$") touch the number
    #: and alphabetic symbols ("kr", "zł") give way to the code ("SEK 49.00").
    symbol: str


#: ISO 4217 exponents (minor-unit digits) and the usual symbol. Codes not listed here are
#: refused rather than guessed: a wrong exponent shows a price 100 times off.
CURRENCIES: Final[dict[str, CurrencyInfo]] = {
    "EUR": CurrencyInfo(2, "€"),
    "USD": CurrencyInfo(2, "$"),
    "GBP": CurrencyInfo(2, "£"),
    "JPY": CurrencyInfo(0, "¥"),
    "CHF": CurrencyInfo(2, "CHF"),
    "SEK": CurrencyInfo(2, "kr"),
    "NOK": CurrencyInfo(2, "kr"),
    "DKK": CurrencyInfo(2, "kr."),
    "PLN": CurrencyInfo(2, "zł"),
    "CZK": CurrencyInfo(2, "Kč"),
    "HUF": CurrencyInfo(2, "Ft"),
    "CAD": CurrencyInfo(2, "CA$"),
    "AUD": CurrencyInfo(2, "A$"),
    "NZD": CurrencyInfo(2, "NZ$"),
    "CNY": CurrencyInfo(2, "CN¥"),
    "KRW": CurrencyInfo(0, "₩"),
    "INR": CurrencyInfo(2, "₹"),
    "BRL": CurrencyInfo(2, "R$"),
    "MXN": CurrencyInfo(2, "MX$"),
    "SGD": CurrencyInfo(2, "S$"),
    "HKD": CurrencyInfo(2, "HK$"),
    "ZAR": CurrencyInfo(2, "R"),
    "TRY": CurrencyInfo(2, "₺"),
    "AED": CurrencyInfo(2, "AED"),
    "BHD": CurrencyInfo(3, "BHD"),
    "KWD": CurrencyInfo(3, "KWD"),
}

#: Largest amount (in minor units) a person may type: JavaScript numbers on the viewer
#: page stay exact up to 2**53, and no live-shop price comes near this.
MAX_AMOUNT: Final = 10**15

_CODE_PATTERN: Final = re.compile(r"[A-Z]{3}")


def currency_exponent(currency: str) -> int:
    """Return the minor-unit digits of ``currency``, refusing codes this table lacks."""
    info = CURRENCIES.get(currency)
    if info is None:
        raise MoneyError(_unknown_currency_message(currency))
    return info.exponent


def _unknown_currency_message(currency: object) -> str:
    if not isinstance(currency, str) or not _CODE_PATTERN.fullmatch(currency):
        return (
            f"currency must be a 3-letter upper-case ISO 4217 code such as 'EUR', got {currency!r}"
        )
    return f"currency {currency!r} is not supported; use one of {', '.join(sorted(CURRENCIES))}"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency, in minor units (4900 EUR means €49.00).

    Negative amounts are allowed (refunds, differences); what a person may type as a
    price is checked by :func:`parse_decimal` and the catalogue, not here.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; True euros is a bug, not a price.
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise MoneyError(f"amount must be a whole number of minor units, got {self.amount!r}")
        if not isinstance(self.currency, str) or self.currency not in CURRENCIES:
            raise MoneyError(_unknown_currency_message(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Start for sums: ``sum(prices, Money.zero("EUR"))`` keeps the currency check."""
        return cls(0, currency)

    @property
    def exponent(self) -> int:
        return CURRENCIES[self.currency].exponent

    @property
    def is_zero(self) -> bool:
        """A property, so a forgotten ``()`` cannot make every amount look non-zero."""
        return self.amount == 0

    def _same(self, other: Money, verb: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {verb} {other.currency} and {self.currency} amounts; "
                "convert one of them first"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "add")
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "subtract")
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: object) -> Money:
        # Only whole quantities: a float factor (a discount rate) must be rounded by a
        # rule the caller chooses, so it is refused here (TypeError, as for any type).
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount >= other.amount

    def __str__(self) -> str:
        return format_money(self)


class _Style(NamedTuple):
    decimal: str
    group: str
    symbol_first: bool


# Plain spaces keep the strings easy to type in tests and search in logs; a widget that
# must not wrap a price can swap them for no-break spaces when it renders.
_STYLES: Final[dict[str, _Style]] = {
    "en": _Style(decimal=".", group=",", symbol_first=True),
    "de": _Style(decimal=",", group=".", symbol_first=False),
    "fr": _Style(decimal=",", group=" ", symbol_first=False),
}


def _style(locale: str) -> _Style:
    """Pick the style by language ("de-AT", "fr_CH" -> de, fr); unknown ones read as English.

    Showing a price in English style is better than refusing to show it.
    """
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    return _STYLES.get(language, _STYLES["en"])


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_money(money: Money, locale: str = "en") -> str:
    """Show ``money`` as a shopper reads it: "€1,249.00" (en), "1.249,00 €" (de)."""
    style = _style(locale)
    info = CURRENCIES[money.currency]
    whole, minor = divmod(abs(money.amount), 10**info.exponent)
    number = _group(str(whole), style.group)
    if info.exponent:
        number += style.decimal + str(minor).zfill(info.exponent)
    sign = "-" if money.amount < 0 else ""
    if not style.symbol_first:
        return f"{sign}{number} {info.symbol}"
    if info.symbol.rstrip(".").isalpha():
        # "kr" alone could be SEK, NOK or DKK; English readers expect the code here.
        return f"{sign}{money.currency} {number}"
    return f"{sign}{info.symbol}{number}"


#: Longer input is no price; refusing it early also keeps ``int()`` from its digit limit.
_MAX_PRICE_CHARS: Final = 40


def parse_decimal(text: str, currency: str, locale: str = "en") -> Money:
    """Read a price a person typed ("19.99", "€1,249.00", "49,00 €" with locale "de").

    Accepts the currency's own symbol or code and correctly placed thousands separators
    so that whatever :func:`format_money` shows can be typed back; refuses everything
    that would have to be guessed (signs, extra decimals, other currencies' symbols).
    """
    exponent = currency_exponent(currency)
    style = _style(locale)
    if not isinstance(text, str):
        raise MoneyError(f"a price must be text such as '19.99', got {text!r}")
    # People paste prices from pages that use no-break spaces as separators.
    raw = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not raw:
        raise MoneyError("the price is empty; type an amount such as 19.99")
    if len(raw) > _MAX_PRICE_CHARS:
        raise MoneyError(f"{raw[:20]!r}… is too long for a price; type an amount such as 19.99")
    body = raw
    for marker in (CURRENCIES[currency].symbol, currency):
        if body.startswith(marker):
            body = body[len(marker) :].strip()
            break
        if body.endswith(marker):
            body = body[: -len(marker)].strip()
            break
    if body.startswith(("-", "\u2212")):  # hyphen or the typographic minus sign
        raise MoneyError(f"{raw!r} is negative; a price must be zero or more")
    if body.startswith("+"):
        body = body[1:]
    whole, _, fraction = body.partition(style.decimal)
    if style.group in whole:
        # Accept "1,249" but not "12,49" or "1,,249": a misplaced separator is more
        # likely a typo of the decimal mark than a thousands separator.
        groups = whole.split(style.group)
        if not (
            1 <= len(groups[0]) <= 3
            and all(len(g) == 3 for g in groups[1:])
            and all(g.isascii() and g.isdigit() for g in groups)
        ):
            raise MoneyError(_junk_message(raw, currency, style))
        whole = "".join(groups)
    if not (
        (whole or fraction)
        and (not whole or (whole.isascii() and whole.isdigit()))
        and (not fraction or (fraction.isascii() and fraction.isdigit()))
    ):
        raise MoneyError(_junk_message(raw, currency, style))
    if len(fraction) > exponent:
        if exponent == 0:
            raise MoneyError(f"{raw!r} has decimals, but {currency} amounts are whole numbers")
        raise MoneyError(f"{raw!r} has more than {exponent} decimals for {currency}")
    amount = int(whole or "0") * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if amount >= MAX_AMOUNT:
        raise MoneyError(f"{raw!r} is too large for a price")
    return Money(amount, currency)


def _junk_message(raw: str, currency: str, style: _Style) -> str:
    sample = "19" + (style.decimal + "99" if currency_exponent(currency) else "")
    return f"{raw!r} is not a price in {currency}; type digits such as {sample}"
