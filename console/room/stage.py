"""The host's show commands in the room core: pin, unpin, the shelf, a deal, a featured item.

The show and what the catalogue says of the products named go in (the shell reads
them: the core reads nothing); out comes a decision: the deal to end, the show to
store, or the refusal and how it reads. The deal's own rules (what price, how long,
when a pin may end it) are :mod:`console.domain.deals`'s; this module holds how the
show changes with each command. Stock and prices stay the catalogue's: the shell draws
them into the stored show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

import msgspec

from console import protocol
from console.domain.catalogue import FORMAT_VERSION, Product, parse_catalogue
from console.domain.deals import Deal, DealError, DealRunningError, check_pin, start_deal
from console.domain.money import Money
from console.errors import CatalogueError
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    Append,
    DealEndReason,
    Decision,
    Refuse,
    SaveShow,
    StopDeal,
)
from console.room.show import ShowState

#: Products on the shelf at most: a line-up viewers can take in under the pin.
MAX_SHELF: Final = 10


def domain_product(product: protocol.Product) -> Product:
    """The domain's view of a stored product, for the deal rules."""
    data = {"version": FORMAT_VERSION, "products": [msgspec.to_builtins(product)]}
    return next(iter(parse_catalogue(data)))


def stop_deal(deal: Deal, reason: DealEndReason, now: float, *, announce: bool = True) -> StopDeal:
    """End ``deal`` at ``now``; one that ran out of time ends at its end, whenever the
    hub that ends it gets to it (a lease taken over late, a timer a little late)."""
    ts = min(now, deal.ends) if reason == "time" else now
    return StopDeal(deal.product_id, deal.ends, reason, ts, announce)


def decide_pin(
    command: protocol.Pin,
    show: ShowState,
    product: protocol.Product | None,
    deal_title: str,
    now: float,
) -> Decision:
    """Pin ``product`` (what the catalogue has for ``command.product``; ``None`` if
    nothing), at the hub's time ``now``.

    A running deal on another product ends only when the command says the host agreed
    (``deal_title`` names its product in the refusal), and without a show of its own:
    the pin's show follows. A featured review of another product leaves with the pin.
    """
    if product is None:
        return Decision(
            Refuse(ErrorCode.NOT_FOUND, f"No product or SKU {command.product!r} in the catalogue.")
        )
    if product.id == show.pinned:
        return Decision(Acknowledge())
    ended: tuple[StopDeal, ...] = ()
    if show.deal is not None:
        try:
            check_pin(show.deal, product.id, deal_title, command.end_deal, now)
        except DealRunningError as exc:
            return Decision(Refuse(ErrorCode.DEAL_RUNNING, str(exc)))
        ended = (stop_deal(show.deal, "host", now, announce=False),)
    pinned = _unfeature_other_reviews(replace(show, pinned=product.id, deal=None))
    return Decision(Acknowledge(), (*ended, SaveShow(pinned)))


def decide_unpin(show: ShowState, now: float) -> Decision:
    """Take the pin off, and its deal and featured review with it."""
    if show.pinned is None:
        return Decision(Acknowledge())
    ended = (stop_deal(show.deal, "host", now, announce=False),) if show.deal is not None else ()
    unpinned = _unfeature_other_reviews(replace(show, pinned=None, deal=None))
    return Decision(Acknowledge(), (*ended, SaveShow(unpinned)))


def decide_shelf(command: protocol.SetShelf, show: ShowState, known: Mapping[str, str]) -> Decision:
    """Set the line-up to the products ``command`` names, each once, in its order.

    ``known`` maps each reference the catalogue knows (a product id or a SKU) to its
    product; a list longer than the shelf is refused whatever it names, so the shell
    may leave it empty then.
    """
    refs = command.products
    if len(refs) > MAX_SHELF:
        return Decision(
            Refuse(
                ErrorCode.INVALID,
                f"The shelf holds up to {MAX_SHELF} products; remove {len(refs) - MAX_SHELF}.",
            )
        )
    ids: list[str] = []
    for ref in refs:
        product_id = known.get(ref)
        if product_id is None:
            return Decision(Refuse(ErrorCode.NOT_FOUND, f"No product or SKU {ref!r}."))
        if product_id not in ids:
            ids.append(product_id)
    return Decision(Acknowledge(), (SaveShow(replace(show, shelf=tuple(ids))),))


def decide_start_deal(
    command: protocol.StartDeal,
    show: ShowState,
    product: protocol.Product | None,
    deal_title: str,
    now: float,
) -> Decision:
    """Start a flash deal on the pin, at the hub's time ``now``.

    ``product`` is what the catalogue has for ``command.product``, or for the pinned
    product when the command names none. Naming a product pins it first, ending a deal
    on another one (that is what was asked), and the pin stands even if the deal is
    then refused. A new deal replaces a running one on the same product.
    """
    pinned: tuple[Append, ...] = ()
    if command.product is not None:
        pin = decide_pin(
            protocol.Pin(product=command.product, end_deal=True), show, product, deal_title, now
        )
        if isinstance(pin.reply, Refuse):
            return pin
        pinned = pin.append
        show = next((s.show for s in pinned if isinstance(s, SaveShow)), show)
    if show.pinned is None:
        return Decision(Refuse(ErrorCode.INVALID, "Pin a product first; a deal is on the pin."))
    if product is None:
        return Decision(
            Refuse(ErrorCode.NOT_FOUND, f"No product {show.pinned!r} in the catalogue."), pinned
        )
    try:
        deal = start_deal(
            domain_product(product),
            Money(command.price, product.currency),
            command.seconds,
            command.max_units,
            now,
        )
    except (DealError, CatalogueError) as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)), pinned)
    return Decision(Acknowledge(), (*pinned, SaveShow(replace(show, deal=deal))))


def decide_end_deal(show: ShowState, now: float) -> Decision:
    """The host ends the deal: its end, then the show without it, are stored."""
    if show.deal is None:
        return Decision(Refuse(ErrorCode.INVALID, "No deal is running."))
    return Decision(Acknowledge(), (stop_deal(show.deal, "host", now),))


def decide_deal_over(deal: Deal, now: float) -> Decision:
    """A deal whose price no longer applies at ``now`` ends: by time once its clock ran
    out, else because its last unit sold."""
    return Decision(Acknowledge(), (stop_deal(deal, "time" if now >= deal.ends else "sold", now),))


def decide_feature(
    command: protocol.Feature,
    show: ShowState,
    review: tuple[str, protocol.Review] | None,
    comment: protocol.Comment | None,
) -> Decision:
    """Show a review or a comment over the video, or clear it when the command names
    neither. ``review`` is what the store has for ``command.review_id`` (with its
    product), ``comment`` for ``command.comment_seq``."""
    featured: protocol.FeaturedItem | None
    if command.review_id is not None:
        if review is None:
            return Decision(Refuse(ErrorCode.NOT_FOUND, f"No review {command.review_id!r}."))
        product_id, found = review
        featured = protocol.FeaturedItem(
            kind="review",
            author=found.author,
            text=found.text,
            rating=found.rating,
            verified_owner=found.verified_owner,
            product_id=product_id,
        )
    elif command.comment_seq is not None:
        if comment is None:
            return Decision(Refuse(ErrorCode.NOT_FOUND, f"No comment #{command.comment_seq}."))
        featured = protocol.FeaturedItem(
            kind="comment",
            author=comment.name,
            text=comment.text,
            owner=comment.owner,
            comment_seq=comment.seq,
        )
    elif show.featured is None:
        return Decision(Acknowledge())
    else:
        featured = None
    return Decision(Acknowledge(), (SaveShow(replace(show, featured=featured)),))


def decide_withdrawn_comment(seq: int, show: ShowState) -> Decision:
    """A moderator deleted comment ``seq``: it leaves the video if it is featured."""
    if show.featured is None or show.featured.comment_seq != seq:
        return Decision(Acknowledge())
    return Decision(Acknowledge(), (SaveShow(replace(show, featured=None)),))


def _unfeature_other_reviews(show: ShowState) -> ShowState:
    """A featured review belongs to its product: it leaves the video with the pin."""
    featured = show.featured
    if (
        featured is not None
        and featured.kind == "review"
        and (featured.product_id is None or featured.product_id != show.pinned)
    ):
        return replace(show, featured=None)
    return show
