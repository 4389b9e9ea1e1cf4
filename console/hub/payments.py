"""How the hub takes payment: one small interface, and a sandbox that is really used.

A real provider (Stripe, Adyen, Mollie...) plugs in by implementing
:class:`PaymentProvider` and being handed to the :class:`~console.hub.server.Hub`; see
``docs/payments.md``. The sandbox behaves like one: it checks the card number, declines
the documented test cards, returns a reusable token for a repeat purchase, honours
idempotency keys, and can be told to fail, so the whole checkout runs for real in tests
and demos without anyone's money.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final, Protocol

from console.domain.money import Money
from console.errors import ShopcastError


class PaymentError(ShopcastError):
    """The payment did not go through; the message says what the buyer can do."""


class PaymentDeclinedError(PaymentError):
    """The provider refused this card or token."""


class PaymentUnavailableError(PaymentError):
    """The provider could not be reached or failed; retrying later may work."""


@dataclass(frozen=True, slots=True)
class Charge:
    reference: str
    #: Stands for the card in a later purchase, so the buyer does not type it again.
    token: str
    #: What the buyer sees for the saved card ("Card •••• 4242").
    label: str


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, *, amount: Money, payment: str, idempotency_key: str, description: str
    ) -> Charge:
        """Take ``amount`` with a card number or a token from an earlier :class:`Charge`.

        The same ``idempotency_key`` must never charge twice.
        """
        ...


#: Test cards of the sandbox, as in the documentation (docs/payments.md).
ACCEPTED_TEST_CARD: Final = "4242424242424242"
DECLINED_TEST_CARD: Final = "4000000000000002"
INSUFFICIENT_FUNDS_TEST_CARD: Final = "4000000000009995"
_TOKEN_PREFIX: Final = "sbx_"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


class SandboxProvider:
    """Accepts any valid test card except the documented declining ones.

    Tokens are signed with a key that lives as long as the process: after a restart a
    saved card must be typed again, as with a real provider's expired token.
    """

    name = "sandbox"

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._charges: dict[str, Charge] = {}
        #: Set to make every charge fail as if the provider were down (tests, demos).
        self.unavailable = False

    async def charge(
        self, *, amount: Money, payment: str, idempotency_key: str, description: str
    ) -> Charge:
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        if self.unavailable:
            raise PaymentUnavailableError(
                "The payment service is not answering; nothing was charged. Try again in a minute."
            )
        if amount.amount <= 0:
            raise PaymentDeclinedError("Nothing to pay: the amount must be above zero.")
        last4 = self._card_last4(payment)
        reference = "ch_" + secrets.token_hex(8)
        charge = Charge(reference, self._token(last4), f"Card •••• {last4}")
        self._charges[idempotency_key] = charge
        return charge

    def _card_last4(self, payment: str) -> str:
        if payment.startswith(_TOKEN_PREFIX):
            last4, _, signature = payment[len(_TOKEN_PREFIX) :].partition("_")
            if not hmac.compare_digest(self._token(last4), payment) or not signature:
                raise PaymentDeclinedError(
                    "Your saved card is no longer valid; enter the card number again."
                )
            return last4
        digits = payment.replace(" ", "").replace("-", "")
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_ok(digits):
            raise PaymentDeclinedError(
                "That card number is not valid; check the digits (sandbox: use "
                "4242 4242 4242 4242)."
            )
        if digits == DECLINED_TEST_CARD:
            raise PaymentDeclinedError("Your card was declined; use another card.")
        if digits == INSUFFICIENT_FUNDS_TEST_CARD:
            raise PaymentDeclinedError(
                "Your card was declined for insufficient funds; use another card."
            )
        return digits[-4:]

    def _token(self, last4: str) -> str:
        signature = hmac.new(self._key, last4.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{_TOKEN_PREFIX}{last4}_{signature}"
