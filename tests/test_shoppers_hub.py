"""A shopper's way from the pinned product to paying reaches the team's consoles as it
happens (``shopper``), under a pseudonym: the Room pulse's funnel counts every step and
names nobody (issue 18). A real hub on 127.0.0.1 with real WebSockets, a fake clock.
"""

from __future__ import annotations

import secrets
from typing import Any

from console.hub.payments import ACCEPTED_TEST_CARD, DECLINED_TEST_CARD
from tests.support.clients import RawClient
from tests.test_auction_hub import answer
from tests.test_claims_hub import BUYER, START, Show
from tests.test_giveaway_hub import show

__all__ = ["show"]  # the fixture


async def buy(client: RawClient, payment: str, key: str) -> dict[str, Any]:
    ref = "b-" + secrets.token_hex(4)
    await client.send(
        {
            "t": "buy",
            "key": key,
            "sku": "TEE-M",
            "quantity": 1,
            "buyer": BUYER,
            "payment": payment,
            "ref": ref,
        }
    )
    return await answer(client, ref)


async def test_each_step_of_a_shopper_reaches_staff_under_one_pseudonym(show: Show) -> None:
    await show.ok({"t": "pin", "product": "logo-tee"})
    ann = await show.viewer("Ann")
    ann_id = ann.of_type("welcome")[0]["viewer_id"]
    show.clock.now = START + 5
    await ann.send({"t": "browse", "product_id": "logo-tee", "reviews": True})
    await ann.send({"t": "browse", "product_id": "not-pinned"})
    ref = "q-" + secrets.token_hex(4)
    await ann.send({"t": "quote", "sku": "TEE-M", "quantity": 1, "ref": ref})
    await ann.wait_for("quote", ref=ref)
    await ann.send({"t": "checkout_closed", "product_id": "logo-tee", "form_error": True})
    declined = await buy(ann, DECLINED_TEST_CARD, "key-one1")
    assert declined["code"] == "payment_declined"
    confirmed = await buy(ann, ACCEPTED_TEST_CARD, "key-two2")
    steps = await show.host.wait_for("shopper", count=5)
    assert [(s["step"], s.get("reviews"), s.get("reason")) for s in steps] == [
        ("opened", True, None),
        ("checkout", None, None),
        ("dropped", None, "form_error"),
        ("dropped", None, "declined"),
        ("paid", None, None),
    ]
    assert {s["product_id"] for s in steps} == {"logo-tee"}, "the unpinned browse is not told"
    assert steps[-1]["order_id"] == confirmed["order_id"]
    assert steps[0]["ts"] == START + 5
    [pseudonym] = {s["shopper"] for s in steps}
    assert pseudonym.startswith("shopper-") and ann_id not in pseudonym
    assert not ann.of_type("shopper"), "viewers never hear the funnel"
    await ann.close()


async def test_two_viewers_are_two_shoppers(show: Show) -> None:
    await show.ok({"t": "pin", "product": "logo-tee"})
    for name in ("Ann", "Bob"):
        viewer = await show.viewer(name)
        await viewer.send({"t": "browse", "product_id": "logo-tee"})
    steps = await show.host.wait_for("shopper", count=2)
    assert len({s["shopper"] for s in steps}) == 2
