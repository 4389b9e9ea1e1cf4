"""Join a sold-out variant's waitlist by its button, leave it, and let a claim go, on
the viewer page in Debian's Chromium against a real hub subprocess (issue 19, points 1
and 2)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import Chromium, HubProcess, requires_chromium
from tests.test_claims_browser import SHIRT, SHIRT_TITLE, browsers, host, hub, post
from tests.test_viewer_shop import Host, choose

__all__ = ["browsers", "host", "hub"]  # fixtures

pytestmark = [pytest.mark.browser, requires_chromium]


def test_the_waitlist_button_and_let_it_go(hub: HubProcess, browsers: Chromium, host: Host) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = browsers.page(hub.url)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    page.get_by_test_id("name-input").fill("Anna")
    page.get_by_test_id("name-submit").click()
    join = page.get_by_test_id("join-waitlist")
    choose(page, "LS-XL-SAG")  # sold out in the demo catalogue
    expect(page.get_by_test_id("sold-out")).to_be_visible()
    expect(join).to_be_hidden()  # claims are off: there is no line to join

    host.do({"t": "set_claims", "on": True})
    expect(join).to_be_visible()
    join.click()
    expect(page.get_by_test_id("claim-ask")).to_contain_text("number 1 in line")
    expect(page.get_by_test_id("claim-wait")).to_contain_text(f"In line for {SHIRT_TITLE}")
    expect(join).to_be_hidden()
    page.get_by_test_id("leave-waitlist").click()
    expect(page.get_by_test_id("claim-wait")).to_have_count(0)
    expect(page.get_by_test_id("claim-ask")).to_have_count(0)
    expect(join).to_be_visible()  # out of the line: the button to join it again

    choose(page, "LS-M-WHT")
    post(page, "sold M white")
    card = page.get_by_test_id("claim-card")
    expect(card).to_contain_text("Held for you")
    card.get_by_test_id("claim-release").click()
    expect(card).to_have_count(0)
