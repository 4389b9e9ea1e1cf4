"""Bid and win on the viewer page, in Debian's Chromium against a real hub subprocess.

The host opens a short auction on the pinned shirt over a staff WebSocket; one viewer
bids with the Bid button, another page sets a maximum that the first outbids up to; the
hub's clock closes the auction, the winner's page says so and its Pay opens the usual
checkout at the winning price, paid with the sandbox's test card.
"""

from __future__ import annotations

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
from tests.test_viewer_shop import GOOD_CARD, Host, fill_details, host_session

pytestmark = [pytest.mark.browser, requires_chromium]

SHIRT = "linen-shirt"
LOT = "LS-M-WHT"


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


def joined(browsers: Chromium, hub: HubProcess, name: str) -> Page:
    page = browsers.page(hub.url)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    page.get_by_test_id("name-input").fill(name)
    page.get_by_test_id("name-submit").click()
    return page


def test_a_viewer_bids_wins_on_the_hubs_clock_and_pays_the_winning_price(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    anna = joined(browsers, hub, "Anna")
    ben = joined(browsers, hub, "Ben")
    stock = {
        v["sku"]: v["stock"] for p in host.do({"t": "catalogue"})["products"] for v in p["variants"]
    }
    host.do(
        {
            "t": "start_auction",
            "sku": LOT,
            "start_price": 2000,
            "increment": 100,
            "seconds": 8,
        }
    )
    panel = anna.get_by_test_id("auction")
    expect(panel.get_by_test_id("auction-price")).to_have_text("Starting bid €20.00")
    expect(panel.get_by_test_id("auction-countdown")).to_contain_text("left")

    ben.get_by_test_id("auction-max").fill("24.50")
    ben.get_by_test_id("auction-bid").click()
    expect(ben.get_by_test_id("auction-leader")).to_have_text(
        "You are the highest bidder (your maximum €24.50)"
    )
    expect(panel.get_by_test_id("auction-leader")).to_have_text("Ben leads")
    expect(panel.get_by_test_id("auction-bid")).to_have_text("Bid €21.00")
    anna.get_by_test_id("auction-max").fill("30")
    anna.get_by_test_id("auction-bid").click()
    # Ben's maximum bid for him up to €24.50: Anna leads at one increment more.
    expect(panel.get_by_test_id("auction-price")).to_have_text("Current bid €25.50")
    expect(panel.get_by_test_id("auction-leader")).to_contain_text("You are the highest bidder")
    ben.get_by_test_id("auction-max").fill("20")
    ben.get_by_test_id("auction-bid").click()
    expect(ben.get_by_test_id("auction-message")).to_have_text("Bid at least €26.50.")

    outcome = panel.get_by_test_id("auction-outcome")
    expect(outcome).to_contain_text("You won at €25.50", timeout=20_000)
    expect(ben.get_by_test_id("auction-outcome")).to_have_text("Bidding ended: Anna won.")
    expect(ben.get_by_test_id("auction-pay")).to_have_count(0)

    outcome.get_by_test_id("auction-pay").click()
    expect(anna.get_by_test_id("checkout-form")).to_be_visible()
    fill_details(anna, GOOD_CARD)
    confirm = anna.get_by_test_id("checkout-confirm")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(anna.get_by_test_id("order-confirmation")).to_be_visible()
    expect(outcome).to_have_text("You won it for €25.50. Thank you!")
    expect(ben.get_by_test_id("auction-outcome")).to_have_text("Sold for €25.50.")

    (order,) = host.orders()
    assert (order["sku"], order["quantity"], order["unit_price"]) == (LOT, 1, 2550)
    after = {
        v["sku"]: v["stock"] for p in host.do({"t": "catalogue"})["products"] for v in p["variants"]
    }
    assert after[LOT] == stock[LOT] - 1, "the lot is the unit sold, once"
