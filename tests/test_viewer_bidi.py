"""A buyer named "\\u202eMallory" cannot turn other viewers' pages around, in Chromium.

The buyer is a scripted client (a spammer has no page); the watcher is the viewer page
in Debian's Chromium against a real hub subprocess. The hub strips the direction
controls, and the page isolates every piece of user text in a ``<bdi>`` of its own.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import connect

from tests.support.browser import (
    Chromium,
    HubProcess,
    requires_chromium,
    running_hub,
    strict_chromium,
)
from tests.test_viewer_shop import (
    BUYER,
    SHIRT,
    SHIRT_TITLE,
    buy_first_time,
    close_sheet,
    host_session,
    viewer,
)

pytestmark = [pytest.mark.browser, requires_chromium]

MALLORY = "\u202eMallory"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with strict_chromium(tmp_path / "profiles") as opened:
        yield opened


def mallory_comments_and_buys(hub: HubProcess, text: str) -> None:
    """A scripted viewer with the override in its name says something, then buys."""
    with connect(hub.ws_url) as ws:
        viewer_id = "mallory-" + secrets.token_hex(6)
        ws.send(json.dumps({"t": "hello", "v": 1, "role": "viewer", "viewer_id": viewer_id}))
        ws.send(json.dumps({"t": "set_name", "name": MALLORY, "ref": "n"}))
        ws.send(json.dumps({"t": "comment", "text": text, "ref": "c"}))
        buyer = {
            "name": "M",
            "email": "m@example.com",
            "address1": BUYER["Address"],
            "city": BUYER["City"],
            "postal_code": BUYER["Postal code"],
            "country": "DE",
        }
        buy = {
            "t": "buy",
            "key": secrets.token_hex(8),
            "sku": "LS-M-WHT",
            "quantity": 1,
            "buyer": buyer,
            "payment": "4242424242424242",
            "ref": "b",
        }
        ws.send(json.dumps(buy))
        answers: dict[str, dict] = {}
        while "b" not in answers:
            for message in json.loads(ws.recv(timeout=10)):
                if message.get("ref"):
                    answers[message["ref"]] = message
        assert [answers[r]["t"] for r in "ncb"] == ["ack", "ack", "order_confirmed"], answers


def reads_left_to_right(page: Page, selector: str) -> bool:
    """Whether the element's characters are laid out in the order they are stored."""
    return page.evaluate(
        """(selector) => {
            const walker = document.createTreeWalker(
                document.querySelector(selector), NodeFilter.SHOW_TEXT);
            const lefts = [];
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (let i = 0; i < node.length; i++) {
                    if (!node.data[i].trim()) continue;
                    const range = document.createRange();
                    range.setStart(node, i);
                    range.setEnd(node, i + 1);
                    lefts.push(range.getBoundingClientRect().left);
                }
            }
            return lefts.length > 1 && lefts.every((x, i) => i === 0 || x > lefts[i - 1]);
        }""",
        selector,
    )


def test_a_buyer_named_with_an_override_cannot_reverse_other_viewers_pages(
    hub: HubProcess, browsers: Chromium
) -> None:
    with host_session(hub) as host:
        host.do({"t": "pin", "product": SHIRT})
    watcher = viewer(browsers, hub)
    mallory_comments_and_buys(hub, "love \u2067this\u2069 shirt")

    proof = watcher.locator("#proof")
    expect(proof).to_have_text(f"Mallory just bought {SHIRT_TITLE}", timeout=5_000)
    assert reads_left_to_right(watcher, "#proof")
    expect(proof.locator("bdi")).to_have_text(["Mallory", SHIRT_TITLE])

    item = watcher.get_by_test_id("chat-item").last
    expect(item.locator(".chat-author > bdi")).to_have_text("Mallory")
    expect(item.locator(".chat-text > bdi")).to_have_text("love this shirt")
    assert reads_left_to_right(watcher, ".chat-item:last-child .chat-text")


def test_every_piece_of_user_text_on_the_page_is_isolated(
    hub: HubProcess, browsers: Chromium
) -> None:
    """Right-to-left text someone typed (a Hebrew name, a product title) keeps to its own
    box: each sits in a <bdi>, so the words and numbers beside it stay in their order."""
    page = viewer(browsers, hub)
    with host_session(hub) as host:
        host.do({"t": "pin", "product": SHIRT})
        host.do({"t": "set_shelf", "products": [SHIRT, "leather-tote"]})
        host.do({"t": "comment", "text": "\u05e9\u05dc\u05d5\u05dd 20% off"})
        review = host.event(lambda m: m["t"] == "show" and m.get("pinned"))["pinned"]["reviews"]
        host.do({"t": "feature", "review_id": review[0]["id"]})
    expect(page.get_by_test_id("featured")).to_be_visible(timeout=5_000)
    for selector in (
        "#product-title",
        ".chat-item:last-child .chat-author",
        ".chat-item:last-child .chat-text",
        "#featured-text",
        "#featured-author",
        ".review-author",
        ".review-text",
        ".shelf-title",
    ):
        expect(page.locator(f"{selector} > bdi").first).to_be_attached(timeout=5_000)


def test_a_held_review_tells_its_author_it_waits_and_stays_out_of_the_chat(
    hub: HubProcess, browsers: Chromium
) -> None:
    with host_session(hub) as host:
        host.do({"t": "pin", "product": SHIRT})
        owner = viewer(browsers, hub)
        buy_first_time(owner)
        expect(owner.get_by_test_id("order-confirmation")).to_be_visible()
        close_sheet(owner)
        form = owner.get_by_test_id("review-form")
        form.locator("label.star").filter(has_text="5 stars").click()
        form.get_by_label("Your review").fill("Even cheaper at spam.example")
        form.get_by_role("button", name="Post").click()
        expect(
            owner.get_by_text("Thanks! A moderator will look at your review before it appears.")
        ).to_be_visible()
        held = host.event(lambda m: m["t"] == "held")
        assert (held["product_id"], held["rule"]) == (SHIRT, "link")
    expect(owner.get_by_test_id("held-comment")).to_have_count(0)
    expect(owner.locator(".review").filter(has_text="spam.example")).to_have_count(0)
