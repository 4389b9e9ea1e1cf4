"""The funnel of a pinned product, its drops, and who may be named in it."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.insight.events import (
    DROP_REASONS,
    CheckoutDropped,
    CheckoutOpened,
    Event,
    Joined,
    Left,
    Paid,
    Person,
    Pinned,
    ProductOpened,
    Unpinned,
)
from console.domain.insight.funnel import STEPS, FunnelBoard
from console.domain.profile import CONSENTS, Consent


def board(*events: Event) -> FunnelBoard:
    folded = FunnelBoard()
    folded.add_all(events)
    return folded


def counts(folded: FunnelBoard, product: str, now: float = 1_000) -> list[int]:
    funnel = folded.funnel(product, now)
    assert funnel is not None
    return [funnel.count(step) for step in STEPS]


def test_every_step_counts_viewers_who_got_at_least_that_far() -> None:
    folded = board(
        Joined(0, "a"),
        Joined(0, "b"),
        Joined(0, "c"),
        Pinned(10, "scarf"),
        ProductOpened(11, "a", "scarf"),
        # b goes straight from the pinned card to the checkout, and pays.
        CheckoutOpened(12, "b", "scarf"),
        Paid(13, "b", "scarf", "o1"),
    )
    funnel = folded.funnel("scarf", now=20)
    assert funnel is not None
    assert [(s.step, s.viewers, s.rate) for s in funnel.steps] == [
        ("viewers", 3, None),
        ("opened", 2, 2 / 3),
        ("checkout", 1, 1 / 2),
        ("paid", 1, 1.0),
    ]
    assert funnel.conversion == 1 / 3
    assert funnel.pinned_seconds == 10


def test_latecomers_count_but_viewers_at_the_pin_are_kept_apart() -> None:
    folded = board(Joined(0, "a"), Pinned(10, "scarf"), Joined(15, "b"), Left(16, "a"))
    funnel = folded.funnel("scarf", now=20)
    assert funnel is not None
    assert (funnel.at_pin, funnel.count("viewers")) == (1, 2)


def test_only_what_happens_while_it_is_pinned_counts() -> None:
    folded = board(
        Joined(0, "a"),
        ProductOpened(1, "a", "scarf"),
        CheckoutOpened(2, "a", "scarf"),
        Pinned(10, "boots"),
        ProductOpened(11, "a", "scarf"),
        Paid(12, "a", "scarf", "o1"),
    )
    assert folded.funnel("scarf", now=20) is None
    assert counts(folded, "boots") == [1, 0, 0, 0]


def test_a_buyer_who_opened_the_checkout_while_pinned_counts_when_paying_later() -> None:
    folded = board(
        Joined(0, "a"),
        Joined(0, "b"),
        Pinned(10, "scarf"),
        CheckoutOpened(11, "a", "scarf"),
        Unpinned(20),
        Paid(30, "a", "scarf", "o1"),
        # b never opened the scarf's checkout while it was pinned: a shelf sale.
        Paid(31, "b", "scarf", "o2"),
    )
    assert counts(folded, "scarf") == [2, 1, 1, 1]


def test_pinning_a_product_again_adds_to_its_funnel() -> None:
    folded = board(
        Joined(0, "a"),
        Pinned(10, "scarf"),
        ProductOpened(11, "a", "scarf"),
        Pinned(20, "boots"),
        Joined(25, "b"),
        Pinned(30, "scarf"),
        ProductOpened(31, "b", "scarf"),
    )
    funnel = folded.funnel("scarf", now=40)
    assert funnel is not None
    assert (funnel.at_pin, funnel.count("opened"), funnel.pinned_seconds) == (2, 2, 20)
    assert folded.products() == ["scarf", "boots"]


def test_a_replayed_order_counts_once() -> None:
    folded = board(
        Joined(0, "a"),
        Pinned(1, "scarf"),
        CheckoutOpened(2, "a", "scarf"),
        Paid(3, "a", "scarf", "o1"),
        Paid(3, "a", "scarf", "o1"),
    )
    assert counts(folded, "scarf") == [1, 1, 1, 1]


def test_every_drop_counts_by_its_reason_from_the_products_first_pin_on() -> None:
    folded = board(
        CheckoutDropped(0, "scarf", "closed"),  # before its first pin: no funnel yet
        Pinned(1, "scarf"),
        *(CheckoutOpened(2, viewer, "scarf") for viewer in "abc"),
        # Drops name nobody: two declines are two, whoever they were, and one of them
        # paying with another card afterwards does not take a decline back.
        CheckoutDropped(3, "scarf", "declined"),
        CheckoutDropped(4, "scarf", "declined", sku="scarf-red"),
        CheckoutDropped(5, "scarf", "form_error"),
        Paid(6, "a", "scarf", "o1"),
        Pinned(10, "boots"),
        CheckoutDropped(11, "scarf", "closed"),  # still typing when the host moved on
        CheckoutDropped(12, "boots", "sold_out"),
        CheckoutDropped(13, "hat", "sold_out"),  # never pinned: no funnel to count it in
    )
    scarf, boots = folded.funnels(now=20)
    assert dict(scarf.drops) == {"declined": 2, "sold_out": 0, "form_error": 1, "closed": 1}
    assert dict(boots.drops) == {"declined": 0, "sold_out": 1, "form_error": 0, "closed": 0}
    assert folded.funnel("hat", now=20) is None
    assert [scarf.count(step) for step in STEPS] == [3, 3, 3, 1], "drops are no step"


def test_dropped_buyers_are_named_only_when_they_chose_to_be_remembered() -> None:
    folded = board(
        Pinned(0, "scarf"),
        *(CheckoutOpened(1, viewer, "scarf") for viewer in ("ann", "bo", "cy", "dee")),
        CheckoutDropped(2, "scarf", "declined"),
        Paid(3, "dee", "scarf", "o1"),
    )
    dropped = folded.dropped(
        "scarf",
        {"ann": "remember", "bo": "session", "dee": "remember"},
        {"ann": "Ann", "bo": "Bo", "cy": "Cy", "dee": "Dee"},
    )
    # Dee paid; Bo chose "Only this show" and Cy never chose: counted, not named.
    assert dropped.rows == (Person("ann", "Ann"),)
    assert dropped.others == 2
    funnel = folded.funnel("scarf", now=5)
    assert funnel is not None and funnel.count("checkout") == 4


VIEWERS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
PRODUCTS = st.sampled_from(["scarf", "boots"])
EVENTS = st.one_of(
    st.builds(Joined, st.just(0.0), VIEWERS),
    st.builds(Left, st.just(0.0), VIEWERS),
    st.builds(Pinned, st.just(0.0), PRODUCTS),
    st.builds(Unpinned, st.just(0.0)),
    st.builds(ProductOpened, st.just(0.0), VIEWERS, PRODUCTS, st.booleans()),
    st.builds(CheckoutOpened, st.just(0.0), VIEWERS, PRODUCTS),
    st.builds(CheckoutDropped, st.just(0.0), PRODUCTS, st.sampled_from(DROP_REASONS)),
    st.builds(Paid, st.just(0.0), VIEWERS, PRODUCTS, st.sampled_from(["o1", "o2", "o3"])),
)


@given(
    st.lists(EVENTS, max_size=40),
    st.dictionaries(VIEWERS, st.sampled_from(CONSENTS)),
)
@settings(max_examples=300, deadline=None)
def test_no_named_row_of_a_viewer_without_consent_and_everyone_counted(
    events: list[Event], consent: dict[str, Consent]
) -> None:
    folded = board(*events)
    pinned: set[str] = set()
    drops: Counter[str] = Counter()
    for event in events:
        if isinstance(event, Pinned):
            pinned.add(event.product)
        elif isinstance(event, CheckoutDropped) and event.product in pinned:
            drops[event.product] += 1
    for funnel in folded.funnels(now=1):
        steps = [funnel.count(step) for step in STEPS]
        assert steps == sorted(steps, reverse=True), "a step is more than the one before"
        dropped = folded.dropped(funnel.product, consent, {})
        assert all(consent.get(person.viewer) == "remember" for person in dropped.rows)
        assert len(dropped.rows) + dropped.others == funnel.count("checkout") - funnel.count("paid")
        assert sum(funnel.drops.values()) == drops[funnel.product], "each drop counts once"
