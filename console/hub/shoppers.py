"""What shoppers do between seeing the pinned product and paying, told to staff as it
happens: the middle of the Room pulse's funnel (issue 18); and where buyers dropped,
kept for the post-show report.

Each step goes to the staff consoles as an ephemeral ``shopper`` message, never stored
and never replayed. It names the shopper by a pseudonym that this hub process makes
from the viewer id with a secret it keeps in memory only: the pulse can count each
shopper once per step, yet nobody can tell from it who the shopper is or link two
shows, whatever the viewer chose about being remembered ("Only this show" is a number
in the funnel, never a named row).

A drop (a card declined, sold out, a form error, the sheet closed) is also kept, as a
fact that names nobody (:class:`~console.domain.insight.events.CheckoutDropped`: the
product, the variant when known, why, when), in a table of its own (``checkout_drops``),
not as a room event:

- the room's log is what every page replays with ``since`` and every staff console on
  joining; a drop is a message to nobody: as a staff-only event it would still take a
  seq, be skipped in every viewer's resume and be sent to every console that joins;
- a room event is written under the writers' lock (PostgreSQL's ``room_seq`` row), the
  lock a flash drop's buyers queue on; a row of this table is one statement outside it,
  written on the loop's next turn, after the refusal was sent, with every drop of that
  turn;
- the report reads a show's drops with one indexed query, as it reads the audience's
  size (migration 10).

No pseudonym is kept with a drop: it would join a viewer's drops into a record of that
person, which "Only this show" rules out. So drops are counted as they happen, not per
buyer (:mod:`console.domain.insight.funnel`), and a purchase the page sends again under
its key (a retry after a lost connection, a double tap) is refused again without being
a second drop for the same reason; those keys too are remembered in memory only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Final

from console import protocol
from console.domain.insight.events import CheckoutDropped, DropReason
from console.errors import ShopcastError

log = logging.getLogger(__name__)

#: Why a buy the hub refused did not go through, by the refusal's code; any other
#: refusal is something the buyer can correct in the form.
_DROPS: dict[str, DropReason] = {
    protocol.ErrorCode.PAYMENT_DECLINED: "declined",
    protocol.ErrorCode.SOLD_OUT: "sold_out",
}

#: Refused purchases remembered so that sending one again is not a new drop: a flash
#: drop's refusals several times over, in a few MB at most.
REMEMBERED_REFUSALS: Final = 10_000


def drop_reason(code: str) -> DropReason | None:
    """Where a buyer stopped, from the code of the hub's refusal of their buy; None for a
    changed price, which the buyer confirms again rather than stops at."""
    if code == protocol.ErrorCode.PRICE_CHANGED:
        return None
    return _DROPS.get(code, "form_error")


class ShopperSignals:
    """Tells staff each funnel step of a viewer, under this process's pseudonym, and has
    each drop kept (``keep``: the store's ``record_drops``)."""

    def __init__(
        self,
        to_staff: Callable[[protocol.ServerMessage], None],
        clock: Callable[[], float],
        pinned: Callable[[], str | None],
        keep: Callable[[Sequence[CheckoutDropped]], None],
    ) -> None:
        self._to_staff = to_staff
        self._clock = clock
        self._pinned = pinned
        self._keep = keep
        self._secret = secrets.token_bytes(16)
        #: Drops told to staff and not yet kept (the loop's next turn keeps them).
        self._unkept: list[CheckoutDropped] = []
        #: (viewer, purchase key, reason) of refused purchases, oldest first.
        self._refused: dict[tuple[str, str, DropReason], None] = {}

    def pseudonym(self, viewer_id: str) -> str:
        digest = hashlib.blake2b(viewer_id.encode(), key=self._secret, digest_size=6)
        return "shopper-" + digest.hexdigest()

    def opened(self, viewer_id: str, product_id: str, reviews: bool) -> None:
        """The viewer looked closer at the pinned product (its reviews, or a variant)."""
        if product_id == self._pinned():
            self._tell(viewer_id, "opened", product_id, reviews=reviews)

    def checkout(self, viewer_id: str, product_id: str) -> None:
        self._tell(viewer_id, "checkout", product_id)

    def dropped(
        self,
        viewer_id: str,
        product_id: str,
        reason: DropReason,
        *,
        sku: str | None = None,
        purchase: str | None = None,
    ) -> None:
        """A checkout stopped; ``purchase``: the refused buy's idempotency key."""
        if purchase is not None and not self._first_refusal(viewer_id, purchase, reason):
            return
        ts = self._clock()
        self._tell(viewer_id, "dropped", product_id, ts=ts, reason=reason)
        self._unkept.append(CheckoutDropped(ts, product_id, reason, sku))
        if len(self._unkept) == 1:
            asyncio.get_running_loop().call_soon(self._keep_unkept)

    def paid(self, viewer_id: str, product_id: str, order_id: str) -> None:
        self._tell(viewer_id, "paid", product_id, order_id=order_id)

    def _first_refusal(self, viewer_id: str, purchase: str, reason: DropReason) -> bool:
        refusal = (viewer_id, purchase, reason)
        if refusal in self._refused:
            return False
        self._refused[refusal] = None
        if len(self._refused) > REMEMBERED_REFUSALS:
            del self._refused[next(iter(self._refused))]
        return True

    def _keep_unkept(self) -> None:
        drops, self._unkept = self._unkept, []
        try:
            self._keep(drops)
        except ShopcastError:
            # The buyers were answered and staff told; only the report misses these.
            log.exception("keeping %d checkout drops for the report failed", len(drops))

    def _tell(
        self,
        viewer_id: str,
        step: protocol.ShopperStep,
        product_id: str,
        *,
        ts: float | None = None,
        reviews: bool = False,
        reason: DropReason | None = None,
        order_id: str | None = None,
    ) -> None:
        self._to_staff(
            protocol.Shopper(
                step=step,
                product_id=product_id,
                shopper=self.pseudonym(viewer_id),
                ts=self._clock() if ts is None else ts,
                reviews=reviews,
                reason=reason,
                order_id=order_id,
            )
        )
