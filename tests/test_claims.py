"""Comment to claim: what a comment claims, and what the shelf does with claims and lines."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.catalogue import Product, Variant
from console.domain.checkout import MAX_QUANTITY
from console.domain.claims import (
    NOT_A_CLAIM,
    ClaimQuestion,
    ClaimReading,
    ClaimRequest,
    read_claim,
)
from console.domain.money import Money
from console.domain.waitlist import (
    DEFAULT_HOLD_SECONDS,
    Claim,
    ClaimCheckedOut,
    Claimed,
    ClaimError,
    ClaimReleased,
    LeftWaitlist,
    NotEnoughStockError,
    Offered,
    Restocked,
    Shelf,
    ShelfDecision,
    ShelfEvent,
    Sold,
    StockCounted,
    Waiting,
    Waitlisted,
    buy,
    check_out,
    claim,
    count_stock,
    expire,
    join_waitlist,
    leave_waitlist,
    release,
    replay,
    restock,
    set_hold,
)
from console.errors import ShopcastError

T0 = 1_800_000_000.0
TABLE = Path(__file__).parent / "data" / "claims.tsv"


def through_the_log(event):
    """An event as the room's log would keep it (JSON, with its type beside it) and read it."""
    return msgspec.convert(msgspec.json.decode(msgspec.json.encode(event)), type(event))


def product(product_id: str, options: tuple[str, ...], rows: list[tuple[str, str]]) -> Product:
    """A product from (SKU, "value/value") rows in ``options`` order."""
    return Product(
        id=product_id,
        title=product_id.replace("-", " ").title(),
        description="",
        vendor="",
        image=None,
        options=options,
        variants=tuple(
            Variant(
                sku=sku,
                options=tuple(zip(options, values.split("/"), strict=True)),
                price=Money(4900, "EUR"),
                stock=5,
            )
            for sku, values in rows
        ),
    )


def sized(prefix: str, sizes: str, colours: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (f"{prefix}-{size}-{code}", f"{size}/{colour}")
        for size in sizes.split()
        for code, colour in colours.items()
    ]


#: The demo shelf's products, as the table's comments are written for them.
PRODUCTS = {
    p.id: p
    for p in (
        product(
            "linen-shirt",
            ("Size", "Colour"),
            sized("LS", "S M L XL", {"WHT": "White", "SAG": "Sage"}),
        ),
        product("court-sneaker", ("Size",), [(f"CS-{n}", str(n)) for n in range(37, 46)]),
        product(
            "wrap-dress",
            ("Size", "Colour"),
            sized("WD", "XS S M L", {"TER": "Terracotta", "NAV": "Navy"}),
        ),
        product(
            "organic-hoodie",
            ("Size", "Colour"),
            sized("HD", "XS S M L XL XXL", {"GRY": "Heather Grey", "BLK": "Black"}),
        ),
        product(
            "field-watch", ("Strap",), [("FW-LEA", "Brown Leather"), ("FW-STL", "Steel Bracelet")]
        ),
        product(
            "soy-candle",
            ("Scent",),
            [("CND-FIG", "Fig & Cedar"), ("CND-SEA", "Sea Salt"), ("CND-AMB", "Amber & Smoke")],
        ),
        product("vitamin-c-serum", ("Size",), [("VCS-15", "15 ml"), ("VCS-30", "30 ml")]),
        product(
            "leather-tote",
            ("Colour",),
            [("LT-COG", "Cognac"), ("LT-BLK", "Black"), ("LT-OLV", "Olive")],
        ),
        product(
            "rolltop-backpack",
            ("Colour",),
            [("RTB-BLK", "Black"), ("RTB-FOR", "Forest"), ("RTB-SND", "Sand")],
        ),
        product("card-holder", ("Default",), [("CH-DEFAULT", "Default")]),
    )
}


def table() -> list[tuple[str, str, str]]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            product_id, comment, expected = line.split("\t")
            rows.append((product_id, comment, expected))
    return rows


def described(reading: ClaimReading) -> str:
    """A reading as the table writes it."""
    if isinstance(reading, ClaimRequest):
        return f"claim {reading.sku} {reading.quantity}"
    if isinstance(reading, ClaimQuestion):
        return f"ask {reading.option} {','.join(reading.choices)}" if reading.option else "ask -"
    return "none"


# ---------------------------------------------------------------- reading comments


def test_the_table_has_at_least_a_hundred_real_looking_comments():
    rows = table()
    assert len(rows) >= 100
    assert len({(p, c) for p, c, _ in rows}) == len(rows), "a comment is in the table twice"
    kinds = {expected.split()[0] for _, _, expected in rows}
    assert kinds == {"claim", "ask", "none"}


@pytest.mark.parametrize(("product_id", "comment", "expected"), table())
def test_a_comment_reads_as_its_claim_its_question_or_chat(product_id, comment, expected):
    assert described(read_claim(comment, PRODUCTS[product_id])) == expected


def test_a_question_back_says_which_comment_to_type():
    reading = read_claim("sold M", PRODUCTS["linen-shirt"])
    assert isinstance(reading, ClaimQuestion)
    assert reading.message == (
        'Which colour would you like: White or Sage? Comment "sold White M" or "sold Sage M".'
    )


def test_a_size_the_product_lacks_is_named_in_the_question():
    reading = read_claim("sold blue M", PRODUCTS["linen-shirt"])
    assert isinstance(reading, ClaimQuestion)
    assert reading.message.startswith("Linen Shirt has no Blue. Which colour would you like")


def test_every_answer_to_a_question_claims_what_it_says():
    """Typing a suggested comment claims exactly that variant: no question loops."""
    for shelf_product in PRODUCTS.values():
        reading = read_claim("sold", shelf_product)
        if isinstance(reading, ClaimRequest):
            continue
        assert isinstance(reading, ClaimQuestion)
        for variant in shelf_product.variants:
            comment = "sold " + " ".join(value for _, value in variant.options)
            assert read_claim(comment, shelf_product) == ClaimRequest(variant.sku, 1), comment


def test_a_typo_that_could_be_two_values_is_not_guessed():
    """ "flush" is one letter from Blush and from Plush: neither is claimed."""
    two = product("tee", ("Colour",), [("T-BLS", "Blush"), ("T-PLS", "Plush")])
    assert described(read_claim("sold flush", two)) == "ask Colour Blush,Plush"
    assert read_claim("sold blsuh", two) == ClaimRequest("T-BLS", 1)


def test_chat_without_a_claim_word_is_never_a_claim():
    assert read_claim("that sage M is gorgeous", PRODUCTS["linen-shirt"]) is NOT_A_CLAIM
    assert read_claim("", PRODUCTS["card-holder"]) is NOT_A_CLAIM
    assert read_claim("😍😍😍", PRODUCTS["card-holder"]) is NOT_A_CLAIM


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_comment_reads_as_a_claim_on_the_product_a_question_or_chat(text):
    for shelf_product in (PRODUCTS["linen-shirt"], PRODUCTS["court-sneaker"]):
        reading = read_claim(text, shelf_product)
        if isinstance(reading, ClaimRequest):
            assert shelf_product.variant(reading.sku) is not None
            assert 1 <= reading.quantity <= MAX_QUANTITY
        else:
            assert reading is NOT_A_CLAIM or isinstance(reading, ClaimQuestion)


# ---------------------------------------------------------------- the shelf


def stocked(**units: int) -> Shelf:
    state = Shelf()
    for sku, count in units.items():
        state = count_stock(state, sku, count, T0).shelf
    return state


def step(decision: ShelfDecision, log: list[ShelfEvent]) -> Shelf:
    log.extend(decision.events)
    return decision.shelf


def test_a_claim_holds_units_for_ten_minutes_by_default():
    decision = claim(stocked(M=3), "ann", "M", 2, T0)
    held = Claim("C1", "ann", "M", 2, T0, T0 + DEFAULT_HOLD_SECONDS)
    assert decision.events == (Claimed(held),)
    assert decision.shelf.free("M") == 1
    assert decision.shelf.cart("ann") == (held,)
    assert decision.shelf.next_deadline() == T0 + 600


def test_an_unpaid_claim_expires_at_its_time_and_releases_its_units():
    shelf = claim(stocked(M=1), "ann", "M", 1, T0).shelf
    assert expire(shelf, T0 + 599.9).events == ()
    decision = expire(shelf, T0 + 600)
    assert decision.events == (ClaimReleased("C1", T0 + 600, "expired"),)
    assert decision.shelf.free("M") == 1
    with pytest.raises(ClaimError, match="expired or was released"):
        check_out(shelf, "C1", "ann", "O1", T0 + 600)


def test_a_paid_claim_is_sold_and_never_comes_back():
    shelf = claim(stocked(M=2), "ann", "M", 1, T0).shelf
    decision = check_out(shelf, "C1", "ann", "O1", T0 + 30)
    assert decision.events == (ClaimCheckedOut("C1", "O1", T0 + 30),)
    assert decision.shelf.units["M"] == 1
    assert decision.shelf.free("M") == 1
    assert expire(decision.shelf, T0 + 10_000).events == ()


def test_another_viewer_cannot_pay_for_my_claim():
    shelf = claim(stocked(M=1), "ann", "M", 1, T0).shelf
    with pytest.raises(ClaimError):
        check_out(shelf, "C1", "bob", "O1", T0 + 1)


def test_a_claim_for_more_than_is_left_says_how_many_are():
    with pytest.raises(NotEnoughStockError, match="Only 2 left") as refused:
        claim(stocked(M=2), "ann", "M", 3, T0)
    assert refused.value.left == 2


def test_a_sold_out_variant_puts_the_claimer_in_line():
    shelf = claim(stocked(M=1), "ann", "M", 1, T0).shelf
    decision = claim(shelf, "bob", "M", 1, T0 + 1)
    assert decision.events == (Waitlisted(Waiting("bob", "M", 1, T0 + 1)),)
    assert decision.shelf.place("bob", "M") == 1
    assert claim(decision.shelf, "bob", "M", 1, T0 + 2).events == (), "keeps the place"


def test_an_expired_claim_is_offered_to_the_first_in_line_then_the_next():
    log: list[ShelfEvent] = []
    shelf = step(count_stock(Shelf(), "M", 1, T0), log)
    shelf = step(claim(shelf, "ann", "M", 1, T0), log)
    shelf = step(claim(shelf, "bob", "M", 1, T0 + 1), log)
    shelf = step(claim(shelf, "cat", "M", 1, T0 + 2), log)
    shelf = step(expire(shelf, T0 + 600), log)
    assert log[-2:] == [
        ClaimReleased("C1", T0 + 600, "expired"),
        Offered(Claim("C2", "bob", "M", 1, T0 + 600, T0 + 1200, offered=True)),
    ]
    assert shelf.place("cat", "M") == 1
    shelf = step(expire(shelf, T0 + 1200), log)
    assert shelf.cart("cat") == (Claim("C3", "cat", "M", 1, T0 + 1200, T0 + 1800, offered=True),)
    assert shelf.waitlists == {}
    assert replay(log) == shelf


def test_a_declined_offer_goes_to_the_next_in_line_at_once():
    shelf = stocked(M=1)
    for n, viewer in enumerate(("ann", "bob", "cat")):
        shelf = claim(shelf, viewer, "M", 1, T0 + n).shelf
    shelf = release(shelf, "C1", T0 + 10, viewer_id="ann").shelf
    decision = release(shelf, "C2", T0 + 20, viewer_id="bob")
    assert decision.events[0] == ClaimReleased("C2", T0 + 20, "declined")
    assert decision.shelf.cart("cat")[0].offered


def test_a_restock_and_a_cancelled_order_serve_the_line_before_anybody_else():
    shelf = stocked(M=0)
    shelf = claim(shelf, "ann", "M", 2, T0).shelf
    shelf = claim(shelf, "bob", "M", 1, T0 + 1).shelf
    decision = restock(shelf, "M", 2, T0 + 5)
    assert [type(e) for e in decision.events] == [Restocked, Offered]
    assert decision.shelf.cart("ann")[0].quantity == 2
    with pytest.raises(NotEnoughStockError, match="Sold out"):
        buy(decision.shelf, "M", 1, "O9", T0 + 6)
    decision = restock(decision.shelf, "M", 1, T0 + 7, order_id="O3")
    assert decision.events[0] == Restocked("M", 1, T0 + 7, "O3")
    assert decision.shelf.cart("bob")[0].quantity == 1


def test_an_offer_of_fewer_units_than_asked_gives_what_came_back():
    shelf = claim(stocked(M=1), "ann", "M", 1, T0).shelf
    shelf = claim(shelf, "bob", "M", 3, T0 + 1).shelf
    shelf = release(shelf, "C1", T0 + 2).shelf
    assert shelf.cart("bob")[0].quantity == 1
    assert shelf.waitlists == {}


def test_leaving_the_line_moves_those_behind_up():
    shelf = stocked(M=0)
    for n, viewer in enumerate(("ann", "bob")):
        shelf = join_waitlist(shelf, viewer, "M", 1, T0 + n).shelf
    decision = leave_waitlist(shelf, "ann", "M", T0 + 3)
    assert decision.events == (LeftWaitlist("ann", "M", T0 + 3),)
    assert decision.shelf.place("bob", "M") == 1
    assert leave_waitlist(decision.shelf, "ann", "M", T0 + 4).events == ()


def test_joining_the_line_when_units_are_free_offers_them_at_once():
    decision = join_waitlist(stocked(M=1), "ann", "M", 1, T0)
    assert [type(e) for e in decision.events] == [Waitlisted, Offered]


def test_one_viewer_holds_at_most_one_orders_worth_of_a_variant():
    shelf = claim(stocked(M=50), "ann", "M", MAX_QUANTITY, T0).shelf
    with pytest.raises(ClaimError, match="claim up to"):
        claim(shelf, "ann", "M", 1, T0 + 1)
    assert claim(shelf, "bob", "M", 1, T0 + 1).events


def test_a_count_below_the_claimed_units_is_refused():
    shelf = claim(stocked(M=3), "ann", "M", 2, T0).shelf
    with pytest.raises(ClaimError, match="enter at least 2"):
        count_stock(shelf, "M", 1, T0 + 1)
    assert count_stock(shelf, "M", 2, T0 + 1).shelf.free("M") == 0


def test_the_host_sets_the_hold_time_for_the_next_claims():
    shelf = set_hold(stocked(M=3), 120, T0).shelf
    assert claim(shelf, "ann", "M", 1, T0).shelf.cart("ann")[0].expires == T0 + 120
    with pytest.raises(ClaimError, match="enter minutes"):
        set_hold(shelf, 5, T0)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, True, 1.5])
def test_a_claim_of_an_odd_quantity_is_refused(quantity):
    with pytest.raises(ClaimError, match="from 1 to"):
        claim(stocked(M=50), "ann", "M", quantity, T0)


def test_a_claim_on_a_variant_the_shelf_does_not_know_is_refused():
    with pytest.raises(ClaimError, match="count its stock first"):
        claim(Shelf(), "ann", "M", 1, T0)


def test_errors_are_shopcast_errors():
    assert issubclass(ClaimError, ShopcastError)
    assert issubclass(NotEnoughStockError, ClaimError)


# ---------------------------------------------------------------- whatever happens

VIEWERS = ("ann", "bob", "cat", "dan", "eve")
SKUS = ("S", "M")

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("claim"), st.sampled_from(VIEWERS), st.sampled_from(SKUS), st.integers(1, 3)
        ),
        st.tuples(
            st.just("join"), st.sampled_from(VIEWERS), st.sampled_from(SKUS), st.integers(1, 3)
        ),
        st.tuples(st.just("leave"), st.sampled_from(VIEWERS), st.sampled_from(SKUS)),
        st.tuples(st.just("buy"), st.sampled_from(SKUS), st.integers(1, 3)),
        st.tuples(st.just("pay"), st.integers(0, 20)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("restock"), st.sampled_from(SKUS), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("count"), st.sampled_from(SKUS), st.integers(0, 4)),
        # Time stands still (concurrent commands) or moves on past expiries.
        st.tuples(st.just("wait"), st.sampled_from([0.0, 0.0, 1.0, 300.0, 600.0, 601.0])),
    ),
    max_size=60,
)


def run(shelf: Shelf, op: tuple, now: float, orders: list[tuple[str, str, int]]) -> ShelfDecision:
    kind, *args = op
    claims = list(shelf.claims.values())
    order_id = f"O{len(orders) + 1}"
    if kind == "claim":
        return claim(shelf, *args, now)
    if kind == "join":
        return join_waitlist(shelf, *args, now)
    if kind == "leave":
        return leave_waitlist(shelf, *args, now)
    if kind == "buy":
        return buy(shelf, args[0], args[1], order_id, now)
    if kind in ("pay", "release") and claims:
        chosen = claims[args[0] % len(claims)]
        if kind == "pay":
            return check_out(shelf, chosen.id, chosen.viewer_id, order_id, now)
        return release(shelf, chosen.id, now, viewer_id=chosen.viewer_id)
    if kind == "restock":
        return restock(shelf, args[0], args[1], now)
    if kind == "cancel" and orders:
        cancelled, sku, quantity = orders.pop(args[0] % len(orders))
        return restock(shelf, sku, quantity, now, order_id=cancelled)
    if kind == "count":
        return count_stock(shelf, args[0], args[1], now)
    return expire(shelf, now)


@settings(max_examples=400, deadline=None)
@given(operations)
def test_claims_expiries_restocks_and_buys_never_oversell_and_serve_the_line_in_order(ops):
    shelf = stocked(S=2, M=1)
    log: list[ShelfEvent] = []
    now = T0
    orders: list[tuple[str, str, int]] = []
    #: The lines as the events tell them, kept apart from the shelf's own.
    lines: dict[str, list[str]] = {sku: [] for sku in SKUS}
    #: Units on hand as counts, restocks and sales tell them.
    on_hand = {"S": 2, "M": 1}
    for op in ops:
        if op[0] == "wait":
            now += op[1]
        try:
            decision = run(shelf, op, now, orders)
        except ClaimError:
            continue
        for event in decision.events:
            match event:
                case Waitlisted(entry=entry):
                    assert entry.viewer_id not in lines[entry.sku]
                    lines[entry.sku].append(entry.viewer_id)
                case LeftWaitlist(viewer_id=viewer, sku=sku):
                    lines[sku].remove(viewer)
                case Offered(claim=offer):
                    assert lines[offer.sku] and lines[offer.sku][0] == offer.viewer_id, (
                        "an offer went past the first in line"
                    )
                    lines[offer.sku].pop(0)
                case StockCounted(sku=sku, units=units):
                    on_hand[sku] = units
                case Restocked(sku=sku, units=units):
                    on_hand[sku] += units
                case Sold(sku=sku, quantity=quantity, order_id=order_id):
                    on_hand[sku] -= quantity
                    orders.append((order_id, sku, quantity))
                case ClaimCheckedOut(claim_id=claim_id, order_id=order_id):
                    paid = shelf.claims[claim_id]
                    on_hand[paid.sku] -= paid.quantity
                    orders.append((order_id, paid.sku, paid.quantity))
                case _:
                    pass
            shelf = replay([event], shelf)
        assert shelf == decision.shelf
        log.extend(decision.events)
        for sku in SKUS:
            held = sum(c.quantity for c in shelf.claims.values() if c.sku == sku)
            assert shelf.held.get(sku, 0) == held
            assert 0 <= held <= shelf.units[sku] == on_hand[sku], "oversold"
            assert [e.viewer_id for e in shelf.waitlists.get(sku, ())] == lines[sku]
            if lines[sku]:
                assert shelf.free(sku) == 0, "a unit was free while somebody waited"
        assert all(c.expires > now for c in shelf.claims.values()), "a claim outlived its time"
    assert replay(log, stocked(S=2, M=1)) == shelf
    assert replay([through_the_log(e) for e in log], stocked(S=2, M=1)) == shelf


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(VIEWERS), min_size=1, max_size=12), st.integers(1, 4))
def test_a_burst_of_claims_at_one_instant_gives_exactly_the_units_and_lines_the_rest(
    comments, units
):
    """Comments landing in the same instant: the first ones claim, the rest queue in order."""
    shelf = stocked(M=units)
    for viewer in comments:
        shelf = claim(shelf, viewer, "M", 1, T0).shelf
    assert [c.viewer_id for c in shelf.claims.values()] == comments[:units]
    waiting = [e.viewer_id for e in shelf.waitlists.get("M", ())]
    assert waiting == list(dict.fromkeys(comments[units:]))
