"""The show in the room core without a socket: folded from events, and the host's commands.

No hub, no loop, no clock: events and the time go in, the show and decisions come out.
The last tests put the hub's shop shell on a store (still no socket, no bus) to show
that a hub follows another's show by folding its events, not by reading the store.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import protocol
from console.bus import RoomEvent
from console.domain.deals import Deal
from console.domain.money import Money
from console.hub.server import seed_demo_catalogue
from console.hub.shop import Shop
from console.protocol import ErrorCode
from console.room.decision import Acknowledge, Decision, Refuse, SaveShow, StopDeal
from console.room.show import BEGUN, ShowEvent, ShowState, show_event
from console.room.stage import (
    MAX_SHELF,
    decide_deal_over,
    decide_end_deal,
    decide_feature,
    decide_pin,
    decide_shelf,
    decide_start_deal,
    decide_unpin,
    decide_withdrawn_comment,
)
from console.store import Store

NOW = 1_790_000_000.0
EUR = "EUR"


def product(product_id: str, price: int = 4900, title: str | None = None) -> protocol.Product:
    return protocol.Product(
        id=product_id,
        title=title or product_id.replace("-", " ").title(),
        currency=EUR,
        options=["Size"],
        variants=[
            protocol.Variant(sku=f"{product_id}-1", options={"Size": "M"}, price=price, stock=5)
        ],
    )


def info(product_id: str = "shirt", price: int = 2900, ends: float = NOW + 60, **kw: object):
    return protocol.DealInfo(product_id=product_id, price=price, currency=EUR, ends=ends, **kw)  # type: ignore[arg-type]


def show(seq: int, pinned: str | None = None, shelf: tuple[str, ...] = (), **kw: object):
    return protocol.ShowState(
        seq=seq,
        pinned=product(pinned) if pinned else None,
        shelf=[product(p) for p in shelf],
        **kw,  # type: ignore[arg-type]
    )


def deal_end(seq: int, product_id: str = "shirt", reason: str = "time") -> protocol.DealEnded:
    return protocol.DealEnded(seq=seq, product_id=product_id, reason=reason)


def deal(
    product_id: str = "shirt",
    price: int = 2900,
    ends: float = NOW + 60,
    max_units: int | None = None,
    sold: int = 0,
) -> Deal:
    """A deal as the show folds it from an event: begun, as far as the rules can tell."""
    return Deal(product_id, Money(price, EUR), BEGUN, ends, max_units, sold)


def review(product_id: str = "shirt") -> protocol.FeaturedItem:
    return protocol.FeaturedItem(
        kind="review", author="Ann", text="Soft", rating=5, product_id=product_id
    )


def featured_comment(seq: int = 7) -> protocol.FeaturedItem:
    return protocol.FeaturedItem(kind="comment", author="Bo", text="Hi!", comment_seq=seq)


def refusal(decision: Decision) -> Refuse:
    assert isinstance(decision.reply, Refuse), decision
    return decision.reply


def saved(decision: Decision) -> ShowState:
    """The show the decision stores last."""
    [last] = [s.show for s in decision.append if isinstance(s, SaveShow)][-1:]
    return last


# ---------------------------------------------------------------- folding events


def test_a_show_event_sets_the_pin_the_shelf_the_deal_and_the_featured_item() -> None:
    folded = ShowState().apply(
        show(4, "shirt", ("mug", "tote"), deal=info(sold=2, max_units=10), featured=review())
    )
    assert folded == ShowState(
        pinned="shirt",
        shelf=("mug", "tote"),
        deal=deal(sold=2, max_units=10),
        featured=review(),
        seq=4,
        deal_seq=4,
    )
    assert folded.shows("mug") and folded.shows("shirt") and not folded.shows("scarf")


def test_a_deal_end_takes_the_deal_away_and_a_late_older_show_does_not_bring_it_back() -> None:
    running = ShowState().apply(show(4, "shirt", deal=info()))
    ended = running.apply(deal_end(5))
    assert ended.deal is None and ended.pinned == "shirt" and ended.deal_seq == 5
    assert ended.apply(show(4, "shirt", deal=info())) is ended
    again = ended.apply(show(6, "shirt", deal=info(price=1900)))
    assert again.deal == deal(price=1900)


def test_an_older_show_arriving_late_changes_nothing() -> None:
    newer = ShowState().apply(show(9, "mug"))
    assert newer.apply(show(3, "shirt", deal=info())) is newer
    assert newer.apply(deal_end(2)) is newer


def test_a_deal_end_arriving_before_the_show_it_follows_still_wins() -> None:
    early = ShowState().apply(deal_end(5))
    assert early.apply(show(4, "shirt", deal=info())).deal is None
    assert early.apply(show(4, "shirt", deal=info())).pinned == "shirt"


def test_a_deal_the_store_ended_before_its_event_comes_folds_alike() -> None:
    running = ShowState().apply(show(4, "shirt", deal=info()))
    gone = running.without_deal()
    assert gone.deal is None
    assert gone.apply(show(4, "shirt", deal=info())) is gone
    assert gone.apply(deal_end(5)) == running.apply(deal_end(5))


def test_stored_bodies_decode_to_the_events_the_show_folds() -> None:
    stored = show(3, "shirt", deal=info(), featured=featured_comment())
    assert show_event(protocol.encode(stored)) == stored
    assert show_event(protocol.encode(deal_end(4, reason="host"))) == deal_end(4, reason="host")
    others = [
        protocol.Stock(seq=5, product_id="shirt", sku="shirt-1", stock=2),
        protocol.Comment(seq=6, id=1, viewer_id="v-ann", name="Ann", text="show", ts=NOW),
    ]
    assert [show_event(protocol.encode(e)) for e in others] == [None, None]


# ---------------------------------------------------------------- any order folds alike

PRODUCTS = ("shirt", "mug", "tote")

#: A log entry: a show (pin, shelf, the deal's price or none, a featured comment's seq or
#: none) or a deal end; numbered by position when the log is stored.
entries = st.one_of(
    st.tuples(
        st.sampled_from((None, *PRODUCTS)),
        st.lists(st.sampled_from(PRODUCTS), max_size=3, unique=True),
        st.one_of(st.none(), st.integers(1, 4000)),
        st.one_of(st.none(), st.integers(1, 50)),
    ),
    st.just("deal_end"),
)
logs = st.lists(entries, max_size=25)


def numbered(log: list) -> list[ShowEvent]:
    events: list[ShowEvent] = []
    for seq, entry in enumerate(log, start=1):
        if entry == "deal_end":
            events.append(deal_end(seq))
            continue
        pinned, shelf, price, comment_seq = entry
        events.append(
            show(
                seq,
                pinned,
                tuple(shelf),
                deal=info(pinned, price) if pinned and price else None,
                featured=featured_comment(comment_seq) if comment_seq else None,
            )
        )
    return events


@given(logs)
def test_folding_the_log_at_once_equals_applying_each_stored_event_as_it_comes(log) -> None:
    events = numbered(log)
    stepwise = ShowState()
    for event in events:
        stepwise = stepwise.apply(show_event(protocol.encode(event)))  # type: ignore[arg-type]
    assert ShowState.from_events(events) == stepwise


@given(logs, st.randoms(use_true_random=False), st.integers(0, 30))
def test_any_order_with_repeats_and_any_restart_point_fold_alike(
    log, rng: random.Random, restart: int
) -> None:
    """The bus delivers at least once and in any order; a hub restarting folds the rest
    of the log onto what it folded before."""
    events = numbered(log)
    delivered = events + rng.choices(events, k=len(events)) if events else []
    rng.shuffle(delivered)
    in_order = ShowState.from_events(events)
    assert ShowState.from_events(delivered) == in_order
    before = ShowState.from_events(events[:restart])
    assert ShowState.from_events(events[max(0, restart - 3) :], before) == in_order


@given(logs)
def test_the_last_show_and_the_last_word_on_the_deal_are_the_state(log) -> None:
    events = numbered(log)
    folded = ShowState.from_events(events)
    shows = [e for e in events if isinstance(e, protocol.ShowState)]
    last = shows[-1] if shows else None
    assert folded.pinned == (last.pinned.id if last and last.pinned else None)
    assert folded.shelf == (tuple(p.id for p in last.shelf) if last else ())
    assert folded.featured == (last.featured if last else None)
    final = events[-1] if events else None
    if isinstance(final, protocol.ShowState) and final.deal is not None:
        assert folded.deal == deal(final.deal.product_id, final.deal.price)
    else:
        assert folded.deal is None


# ---------------------------------------------------------------- pinning

PINNED = ShowState(pinned="shirt", seq=3, deal_seq=3)
ON_DEAL = ShowState(pinned="shirt", deal=deal(ends=NOW + 95), seq=3, deal_seq=3)


def pin(ref: str, end_deal: bool = False) -> protocol.Pin:
    return protocol.Pin(product=ref, end_deal=end_deal)


def test_pinning_stores_the_new_pin_and_a_review_of_another_product_leaves_the_video() -> None:
    shown = ShowState(pinned="shirt", featured=review("shirt"), seq=3, deal_seq=3)
    decision = decide_pin(pin("MUG-1"), shown, product("mug"), "", NOW)
    assert decision.reply == Acknowledge()
    assert decision.append == (SaveShow(ShowState(pinned="mug", seq=3, deal_seq=3)),)
    commented = ShowState(pinned="shirt", featured=featured_comment(), seq=3)
    assert saved(decide_pin(pin("mug"), commented, product("mug"), "", NOW)).featured == (
        featured_comment()
    )


def test_pinning_what_is_pinned_or_nothing_known_stores_nothing() -> None:
    assert decide_pin(pin("shirt"), PINNED, product("shirt"), "", NOW) == Decision(Acknowledge())
    unknown = decide_pin(pin("NOPE"), PINNED, None, "", NOW)
    assert refusal(unknown) == Refuse(
        ErrorCode.NOT_FOUND, "No product or SKU 'NOPE' in the catalogue."
    )
    assert unknown.append == ()


def test_a_pin_does_not_end_a_running_deal_unless_the_host_agreed() -> None:
    kept = decide_pin(pin("mug"), ON_DEAL, product("mug"), "Linen Shirt", NOW)
    assert refusal(kept).code == ErrorCode.DEAL_RUNNING
    assert "Linen Shirt is running (1:35 left)" in refusal(kept).reason
    assert kept.append == ()
    ended = decide_pin(pin("mug", end_deal=True), ON_DEAL, product("mug"), "Linen Shirt", NOW)
    assert ended.append == (
        StopDeal("shirt", NOW + 95, "host", NOW, announce=False),
        SaveShow(ShowState(pinned="mug", seq=3, deal_seq=3)),
    )


def test_a_deal_that_is_over_ends_with_a_new_pin_without_asking() -> None:
    over = ShowState(pinned="shirt", deal=deal(ends=NOW - 1), seq=3, deal_seq=3)
    decision = decide_pin(pin("mug"), over, product("mug"), "Linen Shirt", NOW)
    assert decision.append[0] == StopDeal("shirt", NOW - 1, "host", NOW, announce=False)


def test_unpinning_takes_the_deal_and_the_featured_review_with_it() -> None:
    assert decide_unpin(ShowState(), NOW) == Decision(Acknowledge())
    shown = ShowState(pinned="shirt", deal=deal(), featured=review("shirt"), seq=3, deal_seq=3)
    assert decide_unpin(shown, NOW).append == (
        StopDeal("shirt", NOW + 60, "host", NOW, announce=False),
        SaveShow(ShowState(seq=3, deal_seq=3)),
    )


# ---------------------------------------------------------------- the shelf


def test_the_shelf_keeps_the_hosts_order_and_each_product_once() -> None:
    known = {"MUG-1": "mug", "tote": "tote", "mug": "mug"}
    decision = decide_shelf(protocol.SetShelf(products=["MUG-1", "tote", "mug"]), PINNED, known)
    assert saved(decision).shelf == ("mug", "tote")


def test_a_shelf_too_long_or_naming_an_unknown_product_is_refused() -> None:
    long = decide_shelf(protocol.SetShelf(products=["mug"] * (MAX_SHELF + 2)), PINNED, {})
    assert refusal(long) == Refuse(
        ErrorCode.INVALID, f"The shelf holds up to {MAX_SHELF} products; remove 2."
    )
    unknown = decide_shelf(protocol.SetShelf(products=["mug", "NOPE"]), PINNED, {"mug": "mug"})
    assert refusal(unknown) == Refuse(ErrorCode.NOT_FOUND, "No product or SKU 'NOPE'.")
    assert (long.append, unknown.append) == ((), ())


# ---------------------------------------------------------------- deals


def start(price: int = 2900, seconds: float = 60, **kw: object) -> protocol.StartDeal:
    return protocol.StartDeal(price=price, seconds=seconds, **kw)  # type: ignore[arg-type]


def test_a_deal_starts_on_the_pin_by_the_hubs_clock() -> None:
    decision = decide_start_deal(start(max_units=20), PINNED, product("shirt"), "", NOW)
    assert decision.reply == Acknowledge()
    assert saved(decision).deal == Deal("shirt", Money(2900, EUR), NOW, NOW + 60, 20)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (start(price=4900), "A deal must be cheaper than the regular price"),
        (start(seconds=2), "A deal lasts from 5 to 3600 seconds"),
        (start(max_units=0), "The number of deal units must be a whole number"),
    ],
    ids=["not cheaper", "too short", "no units"],
)
def test_a_deal_the_rules_refuse_stores_nothing(command: protocol.StartDeal, says: str) -> None:
    decision = decide_start_deal(command, PINNED, product("shirt"), "", NOW)
    assert refusal(decision).code == ErrorCode.INVALID
    assert refusal(decision).reason.startswith(says)
    assert decision.append == ()


def test_a_deal_needs_a_pin() -> None:
    decision = decide_start_deal(start(), ShowState(), None, "", NOW)
    assert refusal(decision) == Refuse(
        ErrorCode.INVALID, "Pin a product first; a deal is on the pin."
    )


def test_a_deal_on_a_named_product_pins_it_first_and_the_pin_stands_if_refused() -> None:
    decision = decide_start_deal(start(product="mug"), ON_DEAL, product("mug"), "Shirt", NOW)
    pinned = ShowState(pinned="mug", seq=3, deal_seq=3)
    assert decision.append == (
        StopDeal("shirt", NOW + 95, "host", NOW, announce=False),
        SaveShow(pinned),
        SaveShow(
            ShowState(
                pinned="mug",
                deal=Deal("mug", Money(2900, EUR), NOW, NOW + 60, None),
                seq=3,
                deal_seq=3,
            )
        ),
    )
    refused = decide_start_deal(start(9900, product="mug"), PINNED, product("mug"), "", NOW)
    assert refusal(refused).code == ErrorCode.INVALID
    assert refused.append == (SaveShow(ShowState(pinned="mug", seq=3, deal_seq=3)),)
    unknown = decide_start_deal(start(product="NOPE"), PINNED, None, "", NOW)
    assert refusal(unknown).code == ErrorCode.NOT_FOUND and unknown.append == ()


def test_the_host_ends_the_deal_and_the_show_without_it_follows() -> None:
    assert refusal(decide_end_deal(PINNED, NOW)) == Refuse(ErrorCode.INVALID, "No deal is running.")
    assert decide_end_deal(ON_DEAL, NOW).append == (
        StopDeal("shirt", NOW + 95, "host", NOW, announce=True),
    )


def test_a_deal_past_its_clock_ends_at_its_end_and_one_sold_out_ends_now() -> None:
    late = decide_deal_over(deal(ends=NOW - 30), NOW)
    assert late.append == (StopDeal("shirt", NOW - 30, "time", NOW - 30, announce=True),)
    sold_out = decide_deal_over(deal(max_units=3, sold=3), NOW)
    assert sold_out.append == (StopDeal("shirt", NOW + 60, "sold", NOW, announce=True),)


# ---------------------------------------------------------------- the featured item

STORED_REVIEW = protocol.Review(
    id="r-1", author="Ann", rating=4, text="Soft", verified_owner=True, created="2026-01-01"
)
STORED_COMMENT = protocol.Comment(
    seq=7, id=3, viewer_id="v-bo", name="Bo", text="Hi!", ts=NOW, owner=True
)


def test_a_review_or_a_comment_goes_over_the_video() -> None:
    by_review = decide_feature(
        protocol.Feature(review_id="r-1"), PINNED, ("shirt", STORED_REVIEW), None
    )
    assert saved(by_review).featured == protocol.FeaturedItem(
        kind="review", author="Ann", text="Soft", rating=4, verified_owner=True, product_id="shirt"
    )
    by_comment = decide_feature(protocol.Feature(comment_seq=7), PINNED, None, STORED_COMMENT)
    assert saved(by_comment).featured == protocol.FeaturedItem(
        kind="comment", author="Bo", text="Hi!", owner=True, comment_seq=7
    )


def test_featuring_nothing_clears_the_video_and_unknown_items_are_refused() -> None:
    shown = ShowState(pinned="shirt", featured=featured_comment(), seq=3)
    assert saved(decide_feature(protocol.Feature(), shown, None, None)).featured is None
    assert decide_feature(protocol.Feature(), PINNED, None, None) == Decision(Acknowledge())
    no_review = decide_feature(protocol.Feature(review_id="r-9"), PINNED, None, None)
    assert refusal(no_review) == Refuse(ErrorCode.NOT_FOUND, "No review 'r-9'.")
    no_comment = decide_feature(protocol.Feature(comment_seq=9), PINNED, None, None)
    assert refusal(no_comment) == Refuse(ErrorCode.NOT_FOUND, "No comment #9.")


def test_a_deleted_comment_leaves_the_video_only_if_it_is_featured() -> None:
    shown = ShowState(pinned="shirt", featured=featured_comment(7), seq=3)
    assert saved(decide_withdrawn_comment(7, shown)).featured is None
    assert decide_withdrawn_comment(8, shown) == Decision(Acknowledge())


# ---------------------------------------------------------------- the hub shell follows


def _shell(store: Store) -> Shop:
    shop = Shop(store, lambda seq, body, audience: None, clock=lambda: NOW)
    shop.resume()
    return shop


def _log(store: Store, after: int = 0) -> list[RoomEvent]:
    return [
        RoomEvent(msgspec.json.decode(body)["seq"], body)
        for body in store.events_after(after, sys.maxsize, 1000, None)
    ]


def test_a_hub_follows_another_hubs_show_by_folding_its_events(data_dir: Path) -> None:
    """Hub B never reads the stored show again: it folds what A stored, and draws the
    same show for its viewers."""
    stores = [Store.open(data_dir), Store.open(data_dir)]
    a_store, b_store = stores
    try:
        seed_demo_catalogue(a_store)
        a, b = _shell(a_store), _shell(b_store)
        b.records.load_show = _no_store_reads  # type: ignore[method-assign]
        a.pin("linen-shirt")
        a.set_shelf(["MUG-OAT", "leather-tote", "stoneware-mug"])
        a.start_deal(protocol.StartDeal(price=2900, seconds=60, max_units=5))
        a.feature(protocol.Feature(review_id="r-linen-shirt-1"))
        a.pin("leather-tote", end_deal=True)
        a.start_deal(protocol.StartDeal(price=9900, seconds=120))
        assert b.show == ShowState()
        for event in _log(b_store):
            b.follow(event)
        assert b.show == a.show
        assert b.show.pinned == "leather-tote" and b.show.shelf == ("stoneware-mug", "leather-tote")
        assert b.show.deal is not None and b.show.deal.price == Money(9900, EUR)
        assert b.show.featured is None  # the shirt's review left with its pin
        assert b.snapshot() == a.snapshot()
        for event in reversed(_log(b_store)):  # the bus again, late and backwards
            b.follow(event)
        assert b.show == a.show
        stores.append(Store.open(data_dir))  # a hub starting now
        c = _shell(stores[-1])
        assert (c.show.pinned, c.show.shelf, c.show.deal) == (
            a.show.pinned,
            a.show.shelf,
            a.show.deal,
        )
    finally:
        for store in stores:
            store.close()


def test_a_hub_folds_the_deal_another_hub_ended(data_dir: Path) -> None:
    stores = [Store.open(data_dir), Store.open(data_dir)]
    a_store, b_store = stores
    try:
        seed_demo_catalogue(a_store)
        a, b = _shell(a_store), _shell(b_store)
        a.pin("linen-shirt")
        a.start_deal(protocol.StartDeal(price=2900, seconds=60))
        seen = a_store.last_seq
        for event in _log(b_store):
            b.follow(event)
        assert b.show.deal is not None
        b.records.load_show = _no_store_reads  # type: ignore[method-assign]
        a.end_deal()
        later = _log(b_store, seen)
        assert [e.body[:15] for e in later] == [b'{"t":"deal_end"', b'{"t":"show","se']
        b.follow(later[0])  # the deal's end alone takes the deal away
        assert b.show.deal is None
        b.follow(later[1])
        assert b.show == a.show
    finally:
        for store in stores:
            store.close()


def _no_store_reads(*args: object) -> object:
    raise AssertionError("the replica must fold the event, not read the store")
