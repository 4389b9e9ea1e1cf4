"""A simulated show with known events gives exactly the funnel, blockers and alerts
computed here by hand (issue 18).

The show, in seconds from the start:

- 0-11: viewers v1-v12 join; 20: the Silk scarf is pinned; 25: v13 joins.
- 30-36: v1-v5 open the scarf's card, v6 its reviews, v13 its card; 37: v7 opens the
  boots, which are not pinned (not counted).
- 40-44: v1-v4 open the checkout, and v8 straight from the pinned card.
- 50: v1 pays; v2 is declined, then pays (55); v3 is declined (51); v4 hits a form
  error (52) then closes the sheet (53); v8 says nothing. 56: v1's order is replayed.
- 100: the Chelsea boots are pinned; 102: a scarf checkout is closed unpaid (a drop of
  the scarf: drops name nobody, and count from the product's first pin on); 110: v3 pays
  the scarf (they opened its checkout while pinned: counted); 111: v9 buys the scarf
  from the shelf (not counted); 120: the boots sell out under a buyer.
- 400: the scarf is pinned again; 420-940: a deal on it.
- 650-890: a comment every ten seconds, then one at 950; three viewers ask whether
  the boots run small (850-870), the first of them is answered.
- 950-980: v10-v13 leave.
"""

from __future__ import annotations

from console.domain.insight.alerts import Alert, Metric, Suggestion
from console.domain.insight.blockers import BlockerComment
from console.domain.insight.events import (
    Answered,
    CheckoutDropped,
    CheckoutOpened,
    Commented,
    DealEnded,
    DealStarted,
    Event,
    Joined,
    Left,
    Paid,
    Person,
    Pinned,
    ProductOpened,
)
from console.domain.insight.funnel import STEPS, DroppedBuyers
from console.domain.insight.pulse import RoomPulse
from console.domain.profile import Consent

TITLES = {"scarf": "Silk scarf", "boots": "Chelsea boots"}
CONSENT: dict[str, Consent] = {"v3": "remember", "v4": "session", "v1": "remember"}
NAMES = {f"v{i}": f"Viewer {i}" for i in range(1, 14)} | {"v3": "Cleo"}

#: (ts, viewer, text) of the chat, and the comments the team answered.
CHAT = [
    (650, "v1", "too expensive for me"),
    (660, "v2", "love this"),
    (670, "v3", "do you ship to canada?"),
    (680, "v4", "so pricey 😬"),
    (690, "v5", "sold out already 😭"),
    (700, "v6", "gorgeous"),
    (710, "v7", "my card got declined"),
    (720, "v8", "is this legit?"),
    (730, "v9", "can't afford it"),
    (740, "v10", "wow"),
    (750, "v1", "way too expensive"),
    (760, "v11", "hello from Texas"),
    (770, "v12", "shipping takes forever"),
    (780, "v13", "🔥🔥"),
    (790, "v4", "overpriced tbh"),
    (800, "v2", "so soft"),
    (810, "v7", "payment failed again"),
    (820, "v5", "nice"),
    (830, "v6", "price is crazy"),
    (840, "v9", "love the colour"),
    (850, "v10", "do the chelsea boots run small?"),
    (860, "v11", "do the Chelsea boots run small"),
    (870, "v12", "chelsea boots run small??"),
    (880, "v13", "great show"),
    (890, "v8", "omg yes"),
    (950, "v1", "still too expensive"),
]
ANSWERED = {675: 670, 725: 720, 875: 850}


def events_until(end: float) -> list[Event]:
    """The show's events up to ``end``, in time order (ties keep the order written)."""
    events: list[Event] = [Joined(float(i - 1), f"v{i}") for i in range(1, 13)]
    events += [
        Pinned(20, "scarf"),
        Joined(25, "v13"),
        *(ProductOpened(30 + i, f"v{i + 1}", "scarf") for i in range(5)),
        ProductOpened(35, "v6", "scarf", reviews=True),
        ProductOpened(36, "v13", "scarf"),
        ProductOpened(37, "v7", "boots"),
        *(CheckoutOpened(40 + i, f"v{i + 1}", "scarf") for i in range(4)),
        CheckoutOpened(44, "v8", "scarf"),
        Paid(50, "v1", "scarf", "o1"),
        CheckoutDropped(50, "scarf", "declined"),
        CheckoutDropped(51, "scarf", "declined"),
        CheckoutDropped(52, "scarf", "form_error"),
        CheckoutDropped(53, "scarf", "closed"),
        Paid(55, "v2", "scarf", "o2"),
        Paid(56, "v1", "scarf", "o1"),
        Pinned(100, "boots"),
        CheckoutDropped(102, "scarf", "closed"),
        Paid(110, "v3", "scarf", "o3"),
        Paid(111, "v9", "scarf", "o4"),
        CheckoutDropped(120, "boots", "sold_out", sku="boots-40"),
        Pinned(400, "scarf"),
        DealStarted(420, "scarf"),
        DealEnded(940),
    ]
    events += [Commented(ts, viewer, NAMES[viewer], int(ts), text) for ts, viewer, text in CHAT]
    events += [Answered(ts, question) for ts, question in ANSWERED.items()]
    events += [Left(950.0 + 10 * i, f"v{10 + i}") for i in range(4)]
    return sorted((e for e in events if e.ts <= end), key=lambda e: e.ts)


def test_while_the_scarf_is_pinned_its_funnel_drops_and_worst_metric_are_exact() -> None:
    pulse = RoomPulse(TITLES)
    pulse.add_all(events_until(90))

    now = pulse.snapshot(90, CONSENT, NAMES)

    # Viewers: v1-v12 at the pin, v13 joined while pinned. Opened: v1-v6, v13, and v8
    # who went straight to the checkout. Checkout: v1-v4, v8. Paid: v1, v2 (o1 once).
    # Drops, each as it happened: v2's and v3's cards (v2 paid later: still a decline),
    # v4's form error and v4 closing the sheet.
    assert now.pinned is not None
    assert (now.pinned.product, now.pinned.pinned_seconds, now.pinned.at_pin) == ("scarf", 70, 12)
    assert dict(now.pinned.drops) == {
        "declined": 2,
        "sold_out": 0,
        "form_error": 1,
        "closed": 1,
    }
    assert [(s.viewers, s.rate) for s in now.pinned.steps] == [
        (13, None),
        (8, 8 / 13),
        (5, 5 / 8),
        (2, 2 / 5),
    ]
    # Not paid: v3 ("Remember me") is a row; v4 ("Only this show") and v8 (not asked)
    # are only counted.
    assert now.dropped == DroppedBuyers((Person("v3", "Cleo"),), others=2)
    assert now.viewers == 13
    assert now.alerts == ()
    # 2 of 5 paid: 1 - 0.4 / 0.5 = 0.2; no viewer has left and nobody chats yet.
    assert now.worst == Metric(
        "checkout",
        "2 of 5 checkouts of Silk scarf paid",
        1 - (2 / 5) / 0.5,
        "most drops: card declined (2)",
    )


def test_at_the_end_the_funnels_blockers_alerts_and_worst_metric_are_exact() -> None:
    pulse = RoomPulse(TITLES)
    pulse.add_all(events_until(1000))

    end = pulse.snapshot(1000, CONSENT, NAMES)

    scarf, boots = end.funnels
    # Pinned 20-100 and 400-1000; at its pins v1-v12, then v1-v13. v3 paid after the
    # unpin and counts; v9's shelf sale does not. v4 and v8 are left unpaid. Drops: the
    # four while pinned, and the sheet closed at 102 after the boots were pinned.
    assert (scarf.product, scarf.pinned_seconds, scarf.at_pin) == ("scarf", 680, 13)
    assert [scarf.count(step) for step in STEPS] == [13, 8, 5, 3]
    assert dict(scarf.drops) == {
        "declined": 2,
        "sold_out": 0,
        "form_error": 1,
        "closed": 2,
    }
    assert end.pinned == scarf
    assert end.dropped == DroppedBuyers((), others=2)
    # The boots were pinned 100-400 before 13 viewers; v7 opened them before that. They
    # sold out under one buyer, whose checkout is not a step: nobody's id came with it.
    assert (boots.product, boots.pinned_seconds, boots.at_pin) == ("boots", 300, 13)
    assert dict(boots.drops) == {"declined": 0, "sold_out": 1, "form_error": 0, "closed": 0}
    assert [(s.viewers, s.rate) for s in boots.steps] == [
        (13, None),
        (0, 0.0),
        (0, None),
        (0, None),
    ]

    # Blockers, by comments: price 650 680 730 750 790 830 950 (v1 v4 v9 v6: 4 viewers),
    # size 850 860 870, shipping 670 770, payment 710 810, stock 690, trust 720. The
    # last five minutes (700-1000] against the five before (400-700]: price 5 against
    # 2 and size 3 against 0 are rising (half as many again, and 3 more).
    assert [
        (b.group, b.comments, b.viewers, b.recent, b.previous, b.trend, b.example)
        for b in end.blockers
    ] == [
        ("price", 7, 4, 5, 2, "rising", "still too expensive"),
        ("size", 3, 3, 3, 0, "rising", "chelsea boots run small??"),
        ("shipping", 2, 2, 1, 1, "steady", "shipping takes forever"),
        ("payment", 2, 1, 2, 0, "steady", "payment failed again"),
        ("stock", 1, 1, 0, 1, "steady", "sold out already 😭"),
        ("trust", 1, 1, 1, 0, "steady", "is this legit?"),
    ]
    assert pulse.blockers.comments("price", CONSENT)[:2] == [
        BlockerComment(950, 950, "still too expensive", Person("v1", "Viewer 1")),
        BlockerComment(830, 830, "price is crazy", None),
    ]

    # Viewers: 13 until 950, then 12, 11, 10, 9: 9 <= 13 * 0.8. Comments: 25 in
    # (640, 940], 5 a minute; 1 in the last minute <= 5 / 4. The boots were asked
    # about 3 times and are not pinned; 2 viewers still wait on "run small" (sizing).
    assert end.alerts == (
        Alert(
            "viewers_drop",
            "Viewers fell from 13 to 9 in two minutes.",
            Suggestion(
                "pin",
                "Pin Chelsea boots: 3 questions about it in the last 10 minutes.",
                product="boots",
            ),
        ),
        Alert(
            "comments_stall",
            "The chat went quiet: 1 comment in the last minute, about 5 a minute before.",
            Suggestion(
                "answer",
                "Answer on screen: 2 viewers asked “do the Chelsea boots run small”.",
                question="sizing",
            ),
        ),
    )
    # Severities: viewers (4/13) / 0.2 = 1.54; comments (1 - 1/5) / 0.75 = 1.07; the
    # oldest waiting question 140 s / 180 s = 0.78; the scarf's checkout 3 of 5 is fine.
    assert end.worst == Metric(
        "viewers",
        "9 viewers, 31% fewer than two minutes ago",
        (4 / 13) / 0.2,
        "since the deal ended",
    )
    assert end.viewers == 9


def test_the_live_fold_and_a_replay_of_the_stored_events_give_the_same_pulse() -> None:
    live = RoomPulse(TITLES)
    for event in events_until(1000):
        live.add(event)
        live.snapshot(event.ts, CONSENT, NAMES)
    replayed = RoomPulse(TITLES)
    replayed.add_all(events_until(1000))

    assert live.snapshot(1000, CONSENT, NAMES) == replayed.snapshot(1000, CONSENT, NAMES)
