"""Comment to claim on the viewer page, in Debian's Chromium against a real hub subprocess.

The host turns claims on for the pinned shirt over a staff WebSocket; the viewer types
"sold M" in the chat as a person would, is asked which colour, answers, sees the card of
the unit held for them, and pays it with the sandbox's test card in the usual checkout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import (
    Chromium,
    HubProcess,
    requires_chromium,
    running_hub,
    strict_chromium,
)
from tests.test_viewer_shop import GOOD_CARD, TIMES, Host, fill_details, host_session

pytestmark = [pytest.mark.browser, requires_chromium]

SHIRT = "linen-shirt"
SHIRT_TITLE = "Relaxed Linen Shirt"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with strict_chromium(tmp_path / "profiles") as opened:
        yield opened


@pytest.fixture
def host(hub: HubProcess) -> Iterator[Host]:
    with host_session(hub) as session:
        yield session


def post(page: Page, text: str) -> None:
    box = page.get_by_test_id("comment-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("", timeout=10_000)


def test_a_viewer_claims_by_comment_and_pays_the_claim_card(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    host.do({"t": "set_claims", "on": True})
    page = browsers.page(hub.url)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    page.get_by_test_id("name-input").fill("Anna")
    page.get_by_test_id("name-submit").click()

    post(page, "sold M")
    expect(page.get_by_test_id("claim-ask")).to_contain_text("Which colour")
    expect(page.get_by_test_id("claim-card")).to_have_count(0)
    post(page, "sold M white")
    card = page.get_by_test_id("claim-card")
    expect(card).to_contain_text(f"{SHIRT_TITLE} (M / White)")
    expect(card).to_contain_text("Qty 1 · €49.00")
    # Ten minutes on the hub's clock, as this page knows it (clock.js): give or take the
    # second its estimate of the hub's time may move by once the hub answers `clock`.
    expect(card).to_contain_text(re.compile(r"Held for you: (10:0\d|9:5\d) left to pay"))
    expect(page.get_by_test_id("claim-ask")).to_have_count(0)
    # Both comments are chat for everyone, as any other.
    expect(page.get_by_test_id("chat-text")).to_have_text(["sold M", "sold M white"])

    card.get_by_test_id("claim-pay").click()
    expect(page.get_by_test_id("checkout-form")).to_be_visible()
    fill_details(page, GOOD_CARD)
    confirm = page.get_by_test_id("checkout-confirm")
    expect(confirm).to_be_enabled()
    confirm.click()
    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(f"1 {TIMES} {SHIRT_TITLE} (M / White)")
    expect(page.get_by_test_id("claim-card")).to_have_count(0)

    (order,) = host.orders()
    assert (order["sku"], order["quantity"]) == ("LS-M-WHT", 1)
    stock = host.do({"t": "catalogue"})["products"]
    [shirt] = [p for p in stock if p["id"] == SHIRT]
    [variant] = [v for v in shirt["variants"] if v["sku"] == "LS-M-WHT"]
    assert variant["stock"] == 17, "the claimed unit is the one bought: 18 - 1, not 18 - 2"


def test_a_sold_out_claim_waits_in_line_and_the_restocked_unit_is_held_for_the_viewer(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    host.do({"t": "set_claims", "on": True})
    page = browsers.page(hub.url)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    page.get_by_test_id("name-input").fill("Anna")
    page.get_by_test_id("name-submit").click()

    post(page, "sold XL sage")  # LS-XL-SAG is sold out in the demo catalogue
    expect(page.get_by_test_id("claim-ask")).to_contain_text("number 1 in line")
    expect(page.get_by_test_id("claim-wait")).to_have_text(
        f"In line for {SHIRT_TITLE} (XL / Sage): if one comes back, it is held for you here. "
        "Leave the line"
    )
    page.reload()
    expect(page.get_by_test_id("claim-wait")).to_contain_text("In line for")

    host.do({"t": "update_variant", "sku": "LS-XL-SAG", "stock": 1})
    card = page.get_by_test_id("claim-card")
    expect(card).to_contain_text(f"{SHIRT_TITLE} (XL / Sage)")
    expect(card).to_contain_text("Back in stock for you")
    expect(page.get_by_test_id("claim-wait")).to_have_count(0)
