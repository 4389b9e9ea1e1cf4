"""A shopper's way from the pinned product to paying reaches the team's consoles as it
happens (``shopper``), under a pseudonym: the Room pulse's funnel counts every step and
names nobody (issue 18); each way a checkout stops is kept once, naming nobody, for the
report. A real hub on 127.0.0.1 with real WebSockets, a fake clock.
"""

from __future__ import annotations

import csv
import io
import secrets
from pathlib import Path
from typing import Any

from console.hub.payments import ACCEPTED_TEST_CARD, DECLINED_TEST_CARD
from console.report import write_report
from console.report.summary import summarize
from console.store.showlog import ShowReader
from tests.support.clients import RawClient
from tests.support.storedb import rows
from tests.test_auction_hub import answer
from tests.test_claims_hub import BUYER, START, Show
from tests.test_giveaway_hub import show

__all__ = ["show"]  # the fixture


async def buy(
    client: RawClient,
    payment: str,
    key: str,
    sku: str = "TEE-M",
    buyer: dict[str, str] = BUYER,
) -> dict[str, Any]:
    ref = "b-" + secrets.token_hex(4)
    await client.send(
        {
            "t": "buy",
            "key": key,
            "sku": sku,
            "quantity": 1,
            "buyer": buyer,
            "payment": payment,
            "ref": ref,
        }
    )
    return await answer(client, ref)


async def close_sheet(client: RawClient, product_id: str, form_error: bool = False) -> None:
    """The page sends no ``ref``; this one does, to know the hub has taken it."""
    ref = "c-" + secrets.token_hex(4)
    await client.send(
        {"t": "checkout_closed", "product_id": product_id, "form_error": form_error, "ref": ref}
    )
    assert (await answer(client, ref))["t"] == "ack"


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


async def test_each_way_a_checkout_stops_is_kept_once_and_names_nobody(show: Show) -> None:
    show.hub.set_live(True)
    await show.ok({"t": "pin", "product": "logo-tee"})
    ann, bob = await show.viewer("Ann"), await show.viewer("Bob")
    ann_id = ann.of_type("welcome")[0]["viewer_id"]
    show.clock.now = START + 10
    declined = await buy(ann, DECLINED_TEST_CARD, "key-one1")
    assert declined["code"] == "payment_declined"
    again = await buy(ann, DECLINED_TEST_CARD, "key-one1")
    assert again["code"] == "payment_declined", "the same purchase sent again: no new drop"
    show.clock.now = START + 20
    assert (await buy(bob, ACCEPTED_TEST_CARD, "key-bob1", sku="TEE-S"))["t"] == "order_confirmed"
    sold_out = await buy(ann, ACCEPTED_TEST_CARD, "key-two2", sku="TEE-S")
    assert sold_out["code"] == "sold_out"
    show.clock.now = START + 30
    wrong = await buy(ann, ACCEPTED_TEST_CARD, "key-three", buyer={**BUYER, "email": "nope"})
    assert wrong["code"] == "invalid" and "email" in wrong["fields"]
    show.clock.now = START + 40
    await close_sheet(ann, "logo-tee")
    await close_sheet(bob, "logo-tee", form_error=True)
    await close_sheet(bob, "no-such-product")  # told to staff; no funnel could count it

    kept = rows(
        show.hub.store,
        "SELECT stream_id, ts, product_id, sku, reason FROM checkout_drops ORDER BY ts, reason",
    )
    assert kept == [
        (1, START + 10, "logo-tee", "TEE-M", "declined"),
        (1, START + 20, "logo-tee", "TEE-S", "sold_out"),
        (1, START + 30, "logo-tee", "TEE-M", "form_error"),
        (1, START + 40, "logo-tee", None, "closed"),
        (1, START + 40, "logo-tee", None, "form_error"),
    ]
    columns = [c[0] for c in show.hub.store.db.execute("SELECT * FROM checkout_drops").description]
    assert columns == ["stream_id", "ts", "product_id", "sku", "reason"], "no viewer, no pseudonym"
    told = [s for s in await show.host.wait_for("shopper", count=7) if s["step"] == "dropped"]
    assert [s["reason"] for s in told] == [
        "declined",
        "sold_out",
        "form_error",
        "closed",
        "form_error",
        "closed",
    ], "the pulse hears what the store keeps (and the sheet of no product)"
    assert all(ann_id not in str(s) for s in told)

    # The report of the show counts them, from the hub's own store file.
    with ShowReader(show.data_dir) as reader:
        products = summarize(reader.read(reader.show())).products
    [tee] = [p for p in products if p.product == "logo-tee"]
    assert tee.funnel is not None
    assert dict(tee.funnel.drops) == {"declined": 1, "sold_out": 1, "form_error": 2, "closed": 1}
    await ann.close()
    await bob.close()


async def test_a_drop_of_a_viewer_who_chose_only_this_show_is_a_number_in_the_report(
    show: Show, tmp_path: Path
) -> None:
    """Ann chose "Only this show" and her card is declined: the show's end forgets her,
    the drop names nobody and is still counted, and no file of the report names her."""
    show.hub.set_live(True)
    await show.ok({"t": "pin", "product": "logo-tee"})
    ann = await show.viewer("Ann Onlythisshow")
    ann_id = ann.of_type("welcome")[0]["viewer_id"]
    await ann.send({"t": "consent", "consent": "session", "ref": "c-1"})
    assert (await answer(ann, "c-1"))["t"] == "consent"
    declined = await buy(ann, DECLINED_TEST_CARD, "key-ann01", buyer={**BUYER, "name": "Ann O"})
    assert declined["code"] == "payment_declined"
    await ann.close()
    show.hub.set_live(False)

    assert rows(show.hub.store, "SELECT product_id, reason FROM checkout_drops") == [
        ("logo-tee", "declined")
    ]
    files = {p.name: p for p in write_report(show.data_dir, out=tmp_path / "report")}
    [tee] = [r for r in csv.DictReader(io.StringIO(files["funnel.csv"].read_text("utf-8")))]
    assert tee["dropped: card declined"] == "1"
    for name, path in files.items():
        if name.endswith((".csv", ".html")):
            text = path.read_text(encoding="utf-8")
            for secret in (ann_id, "Ann Onlythisshow", "Ann O", "shopper-"):
                assert secret not in text, f"{secret!r} is in {name}"
