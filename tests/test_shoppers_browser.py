"""The viewer page tells the hub what the team's funnel needs (``browse``,
``checkout_closed``), in Debian's Chromium against a real hub subprocess."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import Chromium, HubProcess, requires_chromium
from tests.test_viewer_shop import (
    SHIRT,
    SHIRT_PRICE,
    Host,
    browsers,
    choose,
    expect_quote,
    host,
    hub,
    tapped_viewer,
    total_for,
)

__all__ = ["browsers", "host", "hub"]  # fixtures

pytestmark = [pytest.mark.browser, requires_chromium]


def test_a_closer_look_and_a_closed_checkout_reach_the_hub_once(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page, tap = tapped_viewer(browsers, hub)
    expect(page.get_by_test_id("pinned-product")).to_be_visible()
    summary = page.locator("#reviews summary")
    if page.locator("#reviews").get_attribute("open") is not None:
        summary.click()  # a wide window opens them by itself: that is no closer look
    assert tap.of_type("browse") == []
    summary.click()
    summary.click()
    summary.click()
    choose(page, "LS-L-WHT")
    choose(page, "LS-M-WHT")
    page.get_by_test_id("buy-button").click()
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    page.get_by_test_id("checkout-confirm").click()  # an empty form: refused on the page
    page.locator("#checkout-close").click()
    expect(page.get_by_test_id("checkout-form")).to_be_hidden()
    for _ in range(100):  # the tap hears the page's frames as they go
        if tap.of_type("checkout_closed"):
            break
        page.wait_for_timeout(50)
    assert [(m["product_id"], m["reviews"]) for m in tap.of_type("browse")] == [
        (SHIRT, True),
        (SHIRT, False),
    ]
    assert tap.of_type("checkout_closed") == [
        {"t": "checkout_closed", "product_id": SHIRT, "form_error": True}
    ]
