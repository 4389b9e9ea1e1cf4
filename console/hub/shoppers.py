"""What shoppers do between seeing the pinned product and paying, told to staff as it
happens: the middle of the Room pulse's funnel (issue 18).

Each step goes to the staff consoles as an ephemeral ``shopper`` message, never stored
and never replayed. It names the shopper by a pseudonym that this hub process makes
from the viewer id with a secret it keeps in memory only: the pulse can count each
shopper once per step, yet nobody can tell from it who the shopper is or link two
shows, whatever the viewer chose about being remembered ("Only this show" is a number
in the funnel, never a named row). The report reads the stored records instead.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from console import protocol
from console.domain.insight.events import DropReason

#: Why a buy the hub refused did not go through, by the refusal's code; any other
#: refusal is something the buyer can correct in the form.
_DROPS: dict[str, DropReason] = {
    protocol.ErrorCode.PAYMENT_DECLINED: "declined",
    protocol.ErrorCode.SOLD_OUT: "sold_out",
}


def drop_reason(code: str) -> DropReason | None:
    """Where a buyer stopped, from the code of the hub's refusal of their buy; None for a
    changed price, which the buyer confirms again rather than stops at."""
    if code == protocol.ErrorCode.PRICE_CHANGED:
        return None
    return _DROPS.get(code, "form_error")


class ShopperSignals:
    """Tells staff each funnel step of a viewer, under this process's pseudonym."""

    def __init__(
        self,
        to_staff: Callable[[protocol.ServerMessage], None],
        clock: Callable[[], float],
        pinned: Callable[[], str | None],
    ) -> None:
        self._to_staff = to_staff
        self._clock = clock
        self._pinned = pinned
        self._secret = secrets.token_bytes(16)

    def pseudonym(self, viewer_id: str) -> str:
        digest = hashlib.blake2b(viewer_id.encode(), key=self._secret, digest_size=6)
        return "shopper-" + digest.hexdigest()

    def opened(self, viewer_id: str, product_id: str, reviews: bool) -> None:
        """The viewer looked closer at the pinned product (its reviews, or a variant)."""
        if product_id == self._pinned():
            self._tell(viewer_id, "opened", product_id, reviews=reviews)

    def checkout(self, viewer_id: str, product_id: str) -> None:
        self._tell(viewer_id, "checkout", product_id)

    def dropped(self, viewer_id: str, product_id: str, reason: DropReason) -> None:
        self._tell(viewer_id, "dropped", product_id, reason=reason)

    def paid(self, viewer_id: str, product_id: str, order_id: str) -> None:
        self._tell(viewer_id, "paid", product_id, order_id=order_id)

    def _tell(
        self,
        viewer_id: str,
        step: protocol.ShopperStep,
        product_id: str,
        *,
        reviews: bool = False,
        reason: DropReason | None = None,
        order_id: str | None = None,
    ) -> None:
        self._to_staff(
            protocol.Shopper(
                step=step,
                product_id=product_id,
                shopper=self.pseudonym(viewer_id),
                ts=self._clock(),
                reviews=reviews,
                reason=reason,
                order_id=order_id,
            )
        )
