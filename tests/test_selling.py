"""What the Selling dock says of claims, auctions and giveaways (console.domain.selling)."""

from __future__ import annotations

import copy
import secrets
import time
from typing import get_args

import msgspec

from console import protocol
from console.domain.giveaway import Eligibility, commitment_of, winner_of
from console.domain.selling import (
    ELIGIBILITY_TEXT,
    TIMES,
    AuctionBoard,
    ClaimBoard,
    GiveawayBoard,
    auction_detail,
    auction_headline,
    claim_line,
    claims_mode_text,
    clock_time,
    countdown,
    draw_check,
    eligibility_choices,
    giveaway_headline,
    giveaway_terms,
    refusal,
)

NOW = 1_790_000_000.0


def card(
    claim_id: str,
    viewer: str = "ann",
    name: str = "Ann",
    sku: str = "TEE-M",
    quantity: int = 1,
    offered: bool = False,
    currency: str = "EUR",
) -> protocol.ClaimCard:
    return protocol.ClaimCard(
        seq=1,
        claim_id=claim_id,
        viewer_id=viewer,
        name=name,
        product_id="tee",
        sku=sku,
        title="Logo Tee",
        label=sku.removeprefix("TEE-"),
        quantity=quantity,
        unit_price=1250,
        currency=currency,
        expires=NOW + 600,
        offered=offered,
    )


def wait(viewer: str, name: str, at: float, sku: str = "TEE-S") -> protocol.ClaimWaiting:
    return protocol.ClaimWaiting(
        seq=1,
        viewer_id=viewer,
        name=name,
        product_id="tee",
        sku=sku,
        title="Logo Tee",
        label=sku.removeprefix("TEE-"),
        quantity=1,
        at=at,
    )


def test_a_countdown_rounds_up_and_stops_at_zero() -> None:
    assert countdown(NOW + 95, NOW) == "1:35"
    assert countdown(NOW + 0.2, NOW) == "0:01", "0:00 only once the time is over"
    assert countdown(NOW, NOW) == "0:00"
    assert countdown(NOW - 5, NOW) == "0:00"
    assert countdown(NOW + 3725, NOW) == "1:02:05"


def test_a_hub_instant_reads_on_this_consoles_clock() -> None:
    offset = 30.0  # the hub runs 30 s ahead of this machine
    assert clock_time(NOW + offset, offset) == time.strftime("%H:%M:%S", time.localtime(NOW))


def test_a_claim_line_says_who_what_how_much_and_the_time_left_to_pay() -> None:
    assert claim_line(card("C1", quantity=2), NOW) == f"Ann · 2 {TIMES} M · €25.00 · 10:00 to pay"
    assert claim_line(card("C1"), NOW + 600) == f"Ann · 1 {TIMES} M · €12.50 · time up"
    offered = card("C2", name="", offered=True)
    assert (
        claim_line(offered, NOW)
        == f"A viewer · 1 {TIMES} M · €12.50 · 10:00 to pay · from the waitlist"
    )


def test_carts_group_a_viewers_claims_with_their_total_largest_first() -> None:
    board = ClaimBoard()
    board.land(card("C1"))
    board.land(card("C2", viewer="bob", name="Bob", sku="TEE-L", quantity=3))
    board.land(card("C3", sku="TEE-L", quantity=1))
    board.land(card("C4", viewer="cid", name="Cid"))
    assert [c.heading() for c in board.carts()] == [
        "Bob — 3 units · €37.50",
        "Ann — 2 units · €25.00",
        "Cid — 1 unit · €12.50",
    ]
    assert [c.claim_id for c in board.landed()] == ["C4", "C3", "C2", "C1"]
    board.end("C2")
    assert board.carts()[0].heading() == "Ann — 2 units · €25.00"
    assert board.summary() == "3 claims from 2 viewers"


def test_a_cart_in_two_currencies_has_two_totals() -> None:
    board = ClaimBoard()
    board.land(card("C1"))
    board.land(card("C2", currency="USD"))
    [cart] = board.carts()
    assert cart.heading() == "Ann — 2 units · €12.50 + $12.50"


def test_the_waitlist_keeps_its_order_and_the_first_served_leaves_it() -> None:
    board = ClaimBoard()
    board.wait(wait("cid", "Cid", NOW + 2))
    board.wait(wait("bob", "Bob", NOW + 1))
    board.wait(wait("dee", "", NOW + 3, sku="TEE-M"))
    assert [line.text() for line in board.lines()] == [
        "S — 2 waiting: Bob (1), Cid (1)",
        "M — 1 waiting: A viewer (1)",
    ]
    assert board.summary() == "0 claims from 0 viewers · 3 waiting"
    board.land(card("C9", viewer="bob", name="Bob", sku="TEE-S", offered=True))
    assert board.lines()[0].text() == "S — 1 waiting: Cid (1)"
    board.land(card("C10", viewer="cid", name="Cid", sku="TEE-S"))
    assert len(board.waits) == 2, "only an offered claim serves the line"


def test_a_viewer_who_leaves_the_line_is_gone_from_it_and_those_behind_move_up() -> None:
    board = ClaimBoard()
    for viewer, name, at in (("bob", "Bob", NOW + 1), ("cid", "Cid", NOW + 2)):
        board.wait(wait(viewer, name, at))
    board.leave("bob", "TEE-S")
    assert [line.text() for line in board.lines()] == ["S — 1 waiting: Cid (1)"]
    board.leave("cid", "TEE-S")
    assert board.lines() == [] and board.summary() == "0 claims from 0 viewers"


def auction(**fields: object) -> protocol.AuctionState:
    base: dict[str, object] = {
        "seq": 1,
        "auction_id": "A1",
        "product_id": "tee",
        "sku": "TEE-M",
        "title": "Logo Tee",
        "label": "M",
        "currency": "EUR",
        "start_price": 1000,
        "increment": 50,
        "starts": NOW,
        "ends": NOW + 60,
        "checkout_seconds": 300,
        "status": "open",
        "why": "start",
        "at": NOW,
        "next_bid": 1000,
    }
    return protocol.AuctionState(**{**base, **fields})  # type: ignore[arg-type]


def bid(
    viewer: str, name: str, maximum: int, at: float, auction_id: str = "A1"
) -> protocol.AuctionBid:
    return protocol.AuctionBid(
        seq=1, auction_id=auction_id, viewer_id=viewer, name=name, maximum=maximum, at=at
    )


def test_the_headline_follows_the_auction_from_its_start_to_its_end() -> None:
    assert auction_headline(auction(), NOW + 15) == (
        "Logo Tee M: opens at €10.00 · no bids yet · 0:45 left"
    )
    leading = auction(bids=2, price=1250, leader="Ann", leader_id="ann", next_bid=1300)
    assert auction_headline(leading, NOW + 50) == (
        "Logo Tee M: €12.50 · Ann leads · 2 bids · 0:10 left"
    )
    assert auction_detail(leading, 0.0) == "Next bid: €13.00 · sudden death"
    assert auction_detail(auction(anti_snipe=10), 0.0) == (
        "Next bid: €10.00 · a bid in the last 10 s adds 10 s"
    )
    assert auction_headline(leading, NOW + 50, extended=20) == (
        "Logo Tee M: €12.50 · Ann leads · 2 bids · 0:10 left (extended by 20 s)"
    )
    won = auction(status="closed", bids=2, price=1250, winner="Ann", checkout_until=NOW + 360)
    assert auction_headline(won, NOW + 60) == "Logo Tee M: won by Ann at €12.50 · 5:00 left to pay"
    until = time.strftime("%H:%M:%S", time.localtime(NOW + 360 - 30))
    assert auction_detail(won, 30.0) == f"Checkout until {until}; then the next bidder may pay."
    assert auction_detail(auction(status="sold"), 0.0) == ""
    paid = auction(status="sold", bids=2, price=1250, winner="Ann", order_id="SC-7")
    assert auction_headline(paid, NOW) == "Logo Tee M: sold to Ann for €12.50 · paid (order SC-7)"
    assert auction_headline(auction(status="unsold"), NOW).endswith(
        "unsold, no bids; the unit is back on sale"
    )
    assert "no bidder paid in time" in auction_headline(auction(status="unsold", bids=3), NOW)
    assert auction_headline(auction(status="cancelled"), NOW) == (
        "Logo Tee M: called off; the unit is back on sale"
    )


def test_the_ladder_lists_bids_newest_first_and_marks_the_leaders_highest() -> None:
    board = AuctionBoard()
    board.update(auction())
    board.add_bid(bid("ann", "Ann", 1200, NOW + 1))
    board.add_bid(bid("bob", "Bob", 1100, NOW + 2))
    board.add_bid(bid("ann", "Ann", 1500, NOW + 3))
    board.add_bid(bid("ann", "Ann", 1500, NOW + 3))  # restated after a reconnect
    assert [(r.name, r.maximum, r.mark) for r in board.ladder()] == [
        ("Ann", "€15.00", ""),
        ("Bob", "€11.00", ""),
        ("Ann", "€12.00", ""),
    ], "no leader before the hub names one"
    board.update(auction(bids=3, price=1150, leader="Ann", leader_id="ann"))
    assert [r.mark for r in board.ladder()] == ["leads", "", ""]
    assert board.is_open() and board.is_running()
    board.update(auction(auction_id="A2"))
    assert board.ladder() == [], "a new auction starts a new ladder"


def test_an_auction_runs_until_its_winner_pays_or_it_ends_unsold() -> None:
    board = AuctionBoard()
    assert not board.is_running() and not board.is_open()
    board.update(auction(status="closed", winner="Ann", checkout_until=NOW + 300))
    assert board.is_running() and not board.is_open()
    board.update(auction(status="sold"))
    assert not board.is_running()


def giveaway(**fields: object) -> protocol.GiveawayState:
    base: dict[str, object] = {
        "seq": 1,
        "giveaway_id": "G1",
        "prize": "Logo Tee",
        "eligibility": "everyone",
        "starts": NOW,
        "ends": NOW + 60,
        "commitment": "ab" * 32,
        "status": "open",
        "why": "start",
        "at": NOW,
        "no_purchase_necessary": True,
    }
    return protocol.GiveawayState(**{**base, **fields})  # type: ignore[arg-type]


def entry(viewer: str, giveaway_id: str = "G1") -> protocol.GiveawayEntry:
    return protocol.GiveawayEntry(
        seq=1, giveaway_id=giveaway_id, viewer_id=viewer, name=viewer.title(), at=NOW
    )


def test_entrants_count_each_viewer_once_and_draw_opens_when_entries_close() -> None:
    board = GiveawayBoard()
    assert giveaway_headline(board, NOW) == "No giveaway yet."
    board.update(giveaway())
    for viewer in ("ann", "bob", "ann"):
        board.enter(entry(viewer))
    board.enter(entry("cid", giveaway_id="G0"))
    assert giveaway_headline(board, NOW + 20) == "Logo Tee: 2 entrants · 0:40 left to enter"
    assert not board.can_draw(NOW + 59.9)
    assert board.can_draw(NOW + 60)
    assert giveaway_headline(board, NOW + 60) == (
        "Logo Tee: entries closed · 2 entrants · draw the winner"
    )
    board.update(giveaway(status="cancelled"))
    assert not board.can_draw(NOW + 60) and not board.is_open()
    assert giveaway_headline(board, NOW) == "Logo Tee: cancelled"


def test_after_the_draw_the_winner_and_a_seed_that_checks_out() -> None:
    seed = secrets.token_bytes(32)
    entries = ["ann", "bob", "cid"]
    winner = winner_of(seed, entries)
    drawn = giveaway(
        status="drawn",
        commitment=commitment_of(seed),
        seed=seed.hex(),
        entries=entries,
        entrants=3,
        winner_id=winner,
        winner=winner.title() if winner else None,
    )
    board = GiveawayBoard()
    board.update(drawn)
    assert giveaway_headline(board, NOW) == f"Logo Tee: {winner.title()} won (of 3 entrants)"
    assert draw_check(drawn) == f"Seed {seed.hex()[:16]}…: matches the commitment and the winner."
    other = next(e for e in entries if e != winner)
    forged = msgspec.structs.replace(drawn, winner_id=other)
    assert draw_check(forged).endswith("does NOT check out.")
    assert draw_check(giveaway()).startswith("Commitment abababababababab…: the seed stays secret")
    nobody = giveaway(status="drawn", seed=seed.hex(), commitment=commitment_of(seed))
    board.update(nobody)
    assert giveaway_headline(board, NOW) == "Logo Tee: drawn with no entrants, no winner"


def test_every_eligibility_of_the_domain_has_words_in_its_order() -> None:
    assert set(ELIGIBILITY_TEXT) == set(get_args(Eligibility))
    assert [name for name, _ in eligibility_choices()] == list(get_args(Eligibility))
    assert giveaway_terms(giveaway(eligibility="bought")) == "Buyers of this show · tap Enter"
    assert (
        giveaway_terms(giveaway(keyword="win")) == "Everyone watching · comment “win” or tap Enter"
    )


def test_a_refusal_names_the_command_the_reason_in_words_and_the_hubs_sentence() -> None:
    assert refusal("Auction not started", "conflict", "An auction is running.") == (
        "Auction not started (one is already running): An auction is running."
    )
    assert refusal("Not drawn", "invalid", "Entries are still open.") == (
        "Not drawn (not accepted): Entries are still open."
    )
    assert refusal("Not drawn", None, "Not connected to the hub.") == (
        "Not drawn (not sent): Not connected to the hub."
    )
    assert refusal("Not drawn", "teapot", "?") == "Not drawn (teapot): ?"


def test_the_claims_mode_says_for_which_product_and_when_it_claims_nothing() -> None:
    tee = ("logo-tee", "Logo Tee")
    assert claims_mode_text(False, None, 600, tee, "") == "Claims are off (pinned: Logo Tee)."
    assert claims_mode_text(False, None, 600, None, "") == "Claims are off (pinned: nothing)."
    assert claims_mode_text(True, "logo-tee", 900, tee, "1 claim from 1 viewer") == (
        "Claims on for Logo Tee: a claim holds its units 15 min. 1 claim from 1 viewer."
    )
    assert claims_mode_text(True, "logo-tee", 900, ("cap", "Cap"), "0 claims from 0 viewers") == (
        "Claims are on for logo-tee, which is not pinned: comments claim nothing until it is "
        "pinned again; untick and tick to claim the pinned one. 0 claims from 0 viewers."
    )


def test_a_late_bid_s_extension_is_said_beside_the_countdown() -> None:
    board = AuctionBoard()
    assert board.headline(NOW) == "No auction yet."
    board.update(auction(anti_snipe=15))
    late = {"ends": NOW + 75, "extended": 15, "bids": 1, "price": 1000, "leader": "Ann"}
    board.update(auction(anti_snipe=15, **late))
    assert board.headline(NOW + 55) == (
        "Logo Tee M: €10.00 · Ann leads · 1 bid · 0:20 left (extended by 15 s)"
    )
    joined = AuctionBoard()  # a console that joined after the late bid
    joined.update(auction(anti_snipe=15, **late))
    assert joined.headline(NOW + 55) == board.headline(NOW + 55)


def test_a_winner_who_did_not_pay_is_named_and_marked_and_the_runner_up_has_the_lot() -> None:
    board = AuctionBoard()
    board.update(auction())
    bids = [bid("ann", "Ann", 1500, NOW + 1), bid("bob", "Bob", 1100, NOW + 2)]
    for placed in bids:
        board.add_bid(placed)
    won = {"status": "closed", "why": "close", "bids": 2, "price": 1150}
    board.update(auction(**won, winner="Ann", winner_id="ann", checkout_until=NOW + 360))
    assert [r.mark for r in board.ladder()] == ["", "to pay"]
    lapsed = {**won, "why": "lapse", "price": 1000, "checkout_until": NOW + 660}
    board.update(auction(**lapsed, winner="Bob", winner_id="bob", passed_ids=["ann"]))
    assert board.headline(NOW + 360) == (
        "Logo Tee M: Ann did not pay in time; offered to Bob at €10.00 · 5:00 left to pay"
    )
    assert [r.mark for r in board.ladder()] == ["to pay", "did not pay"]
    # A console that joined after the lapse: the state and the bids the hub restates.
    joined = AuctionBoard()
    joined.update(auction(**lapsed, winner="Bob", winner_id="bob", passed_ids=["ann"], seq=0))
    for placed in bids:
        joined.add_bid(msgspec.structs.replace(placed, seq=0))
    assert joined.headline(NOW + 360) == board.headline(NOW + 360)
    assert joined.ladder() == board.ladder()
    unpaid = copy.deepcopy(board)
    board.update(
        auction(
            status="sold",
            why="paid",
            bids=2,
            price=1000,
            winner="Bob",
            winner_id="bob",
            passed_ids=["ann"],
        )
    )
    assert [r.mark for r in board.ladder()] == ["paid", "did not pay"]
    unpaid.update(auction(status="unsold", why="lapse", bids=2, passed_ids=["ann", "bob"]))
    assert [r.mark for r in unpaid.ladder()] == ["did not pay", "did not pay"]
    assert unpaid.headline(NOW).endswith("unsold, no bidder paid in time; the unit is back on sale")
