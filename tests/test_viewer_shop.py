"""Shoppable live on the viewer page, in Debian's Chromium against a real hub subprocess.

The host pins and runs deals from a staff WebSocket; viewers buy with the sandbox's test
cards through the page's checkout sheet, as a person would. Each viewer is a separate
Chromium profile, so what one page remembers (details, the saved card) is its own.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from websockets.sync.client import ClientConnection, connect

from console.domain.checkout import quote, shipping_rule_for
from console.domain.money import Money
from tests.support.browser import (
    Chromium,
    HubProcess,
    requires_chromium,
    running_hub,
    strict_chromium,
)

pytestmark = [pytest.mark.browser, requires_chromium]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
BUYER = {
    "Full name": "Anna Schmidt",
    "Email": "anna@example.com",
    "Address": "Hauptstraße 1",
    "Postal code": "10115",
    "City": "Berlin",
}
SHIRT = "linen-shirt"
SHIRT_TITLE = "Relaxed Linen Shirt"
SHIRT_PRICE = 4900
TIMES = "\u00d7"  # the multiplication sign the page writes in "2 x Shirt"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with strict_chromium(tmp_path / "profiles") as opened:
        yield opened


# ---------------------------------------------------------------- the host's console


class Host:
    """A host's staff session: commands by ``ref``, events kept for later questions."""

    def __init__(self, ws: ClientConnection, hub: HubProcess) -> None:
        self.ws = ws
        self.events: list[dict] = []
        ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": hub.token}))
        welcome = self._next(lambda m: m["t"] in ("welcome", "error"))
        assert welcome["t"] == "welcome", f"the host's hello was refused: {welcome}"

    def _next(self, match: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer within {timeout} s; saw {self.events[-20:]}")
            found = None
            for message in json.loads(self.ws.recv(timeout=left)):
                if found is None and match(message):
                    found = message
                else:
                    self.events.append(message)
            if found is not None:
                return found

    def event(self, match: Callable[[dict], bool]) -> dict:
        """A room event seen already or arriving within a few seconds."""
        for message in self.events:
            if match(message):
                return message
        return self._next(match)

    def request(self, message: dict) -> dict:
        ref = uuid.uuid4().hex
        self.ws.send(json.dumps({**message, "ref": ref}))
        return self._next(lambda m: m.get("ref") == ref)

    def do(self, message: dict) -> dict:
        answer = self.request(message)
        assert answer["t"] != "error", f"the hub refused {message}: {answer}"
        return answer

    def orders(self) -> list[dict]:
        return self.do({"t": "orders"})["orders"]


@contextmanager
def host_session(hub: HubProcess) -> Iterator[Host]:
    with connect(hub.ws_url, max_size=None) as ws:
        yield Host(ws, hub)


@pytest.fixture
def host(hub: HubProcess) -> Iterator[Host]:
    with host_session(hub) as session:
        yield session


# ---------------------------------------------------------------- a viewer's hands


def viewer(browsers: Chromium, hub: HubProcess, viewport: dict[str, int] | None = None) -> Page:
    page = browsers.page(hub.url, viewport=viewport)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    return page


def choose(page: Page, sku: str, quantity: int = 1) -> None:
    page.get_by_test_id("variant-select").select_option(sku)
    page.get_by_test_id("qty-input").fill(str(quantity))


def fill_details(page: Page, card: str) -> None:
    form = page.get_by_test_id("checkout-form")
    for label, value in BUYER.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_label("Country").select_option("DE")
    form.get_by_label("Card number").fill(card)


def expect_quote(page: Page, total: int) -> None:
    """The sheet shows the hub's total and the Pay button is ready."""
    confirm = page.get_by_test_id("checkout-confirm")
    expect(confirm).to_be_enabled()
    expect(confirm).to_have_text(f"Pay {euros(total)}")


def euros(minor: int) -> str:
    return f"€{minor // 100:,}.{minor % 100:02d}"


def total_for(unit_price: int, quantity: int) -> int:
    """What the hub charges, by the domain's own rules (the page only shows it)."""
    rule = shipping_rule_for("EUR")
    return quote(Money(unit_price, "EUR"), quantity, rule).total.amount


def buy_first_time(page: Page, card: str = GOOD_CARD) -> None:
    page.get_by_test_id("buy-button").click()
    expect(page.get_by_test_id("checkout-form")).to_be_visible()
    fill_details(page, card)
    page.get_by_test_id("checkout-confirm").click()


def close_sheet(page: Page) -> None:
    page.get_by_role("button", name="Back to the show").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_hidden()


def stored(page: Page, key: str) -> object:
    raw = page.evaluate(f"localStorage.getItem('shopcast.{key}')")
    return None if raw is None else json.loads(raw)


class Tap:
    """Passes a page's WebSocket through, and lets a test drop or watch messages."""

    def __init__(self, page: Page) -> None:
        self.routes: list[WebSocketRoute] = []
        self.sent: list[dict] = []
        self.hide: set[str] = set()
        page.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        self.routes.append(route)

        def from_page(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        def from_hub(message: str | bytes) -> None:
            frame = [m for m in json.loads(message) if m.get("t") not in self.hide]
            if frame:
                route.send(json.dumps(frame))

        route.on_message(from_page)
        server.on_message(from_hub)

    def of_type(self, t: str) -> list[dict]:
        return [m for m in self.sent if m.get("t") == t]


def tapped_viewer(browsers: Chromium, hub: HubProcess) -> tuple[Page, Tap]:
    context = browsers.profile()
    page = context.pages[0]
    tap = Tap(page)
    page.goto(hub.url)
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    return page, tap


# ---------------------------------------------------------------- tests


def test_pinned_product_appears_with_its_title_price_and_choices(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    page = viewer(browsers, hub)
    expect(page.get_by_test_id("pinned-product")).to_be_hidden()

    host.do({"t": "pin", "product": SHIRT})

    card = page.get_by_test_id("pinned-product")
    expect(card).to_be_visible(timeout=2_000)
    expect(page.get_by_test_id("product-title")).to_have_text(SHIRT_TITLE, timeout=2_000)
    expect(page.get_by_test_id("product-price")).to_have_text(euros(SHIRT_PRICE))
    expect(card.locator("s")).to_have_text(re.compile(r"69\.00"))
    select = page.get_by_test_id("variant-select")
    expect(select.locator("option")).to_have_count(8)
    expect(select.locator("option[value=LS-XL-SAG]")).to_have_text(re.compile("sold out"))
    expect(page.get_by_test_id("qty-input")).to_have_value("1")
    expect(page.get_by_test_id("buy-button")).to_be_enabled()
    expect(page.locator("#product-image")).to_have_attribute("src", "/images/linen-shirt.png")

    choose(page, "LS-XL-SAG")
    expect(page.get_by_test_id("sold-out")).to_be_visible()
    expect(page.get_by_test_id("buy-button")).to_be_disabled()

    host.do({"t": "unpin"})
    expect(card).to_be_hidden()


def test_checkout_places_the_order_and_every_page_sees_the_stock_drop(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    buyer = viewer(browsers, hub)
    watcher = viewer(browsers, hub)
    choose(watcher, "LS-XL-WHT")
    expect(watcher.locator("#stock-note")).to_have_text("Only 4 left")
    choose(buyer, "LS-XL-WHT", 2)
    total = total_for(SHIRT_PRICE, 2)

    buyer.get_by_test_id("buy-button").click()
    sheet = buyer.get_by_test_id("checkout-form")
    expect(sheet).to_be_visible()
    fill_details(buyer, GOOD_CARD)
    expect_quote(buyer, total)
    expect(sheet.locator("#total")).to_have_text(euros(total))
    choice = buyer.get_by_test_id("plan-choice")
    expect(choice).to_contain_text(re.compile(r"Pay in 4, interest-free\s+€\d+\.\d\d today"))
    expect(buyer.get_by_test_id("plan-now")).to_be_checked()
    buyer.get_by_test_id("checkout-confirm").click()

    confirmation = buyer.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(f"2 {TIMES} {SHIRT_TITLE} (XL / White)")
    expect(confirmation.locator("#confirmation-total")).to_have_text(euros(total))
    expect(confirmation.get_by_test_id("confirmation-paid")).to_have_text(euros(total))
    expect(confirmation.locator("li")).to_have_count(0)
    order_id = confirmation.locator("#confirmation-id").inner_text()
    (order,) = host.orders()
    assert order["order_id"] == order_id
    assert (order["sku"], order["quantity"], order["total"]) == ("LS-XL-WHT", 2, total)
    buyer_fields = (order["name"], order["email"], order["country"])
    assert buyer_fields == ("Anna Schmidt", "anna@example.com", "DE")

    expect(watcher.locator("#stock-note")).to_have_text("Only 2 left")
    # Social proof: the sale is news for the others, with the buyer's first name only.
    expect(watcher.locator("#proof")).to_have_text(f"Anna just bought 2 {TIMES} {SHIRT_TITLE}")
    expect(watcher.locator("option[value=LS-XL-WHT]")).to_have_text("XL / White (2 left)")


def test_the_last_unit_sells_out_in_every_page_at_once(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    host.do({"t": "update_variant", "sku": "LS-M-SAG", "stock": 1})
    buyer = viewer(browsers, hub)
    watcher = viewer(browsers, hub, viewport=PHONE)
    for page in (buyer, watcher):
        choose(page, "LS-M-SAG")
        expect(page.locator("#stock-note")).to_have_text("Only 1 left")
        expect(page.get_by_test_id("sold-out")).to_be_hidden()

    buy_first_time(buyer)
    expect(buyer.get_by_test_id("order-confirmation")).to_be_visible()

    for page in (watcher, buyer):
        expect(page.get_by_test_id("sold-out")).to_be_visible()
        expect(page.get_by_test_id("buy-button")).to_be_disabled()
    close_sheet(buyer)
    expect(buyer.get_by_test_id("buy-button")).to_be_disabled()


def test_stock_running_out_while_the_sheet_is_open_blocks_confirming(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = viewer(browsers, hub)
    choose(page, "LS-L-WHT")
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    expect_quote(page, total_for(SHIRT_PRICE, 1))

    host.do({"t": "update_variant", "sku": "LS-L-WHT", "stock": 0})

    expect(page.locator("#checkout-error")).to_contain_text("Sold out")
    expect(page.get_by_test_id("checkout-confirm")).to_be_disabled()
    expect(page.get_by_test_id("sold-out")).to_be_visible()
    assert host.orders() == []


def test_sold_out_during_checkout_says_nothing_was_charged(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    """The page did not hear the stock change (a slow phone): the hub refuses the buy."""
    host.do({"t": "pin", "product": SHIRT})
    page, tap = tapped_viewer(browsers, hub)
    choose(page, "LS-L-WHT")
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    tap.hide.add("stock")
    host.do({"t": "update_variant", "sku": "LS-L-WHT", "stock": 0})

    page.get_by_test_id("checkout-confirm").click()

    error = page.locator("#checkout-error")
    expect(error).to_have_text("Sold out: it ran out during checkout; you were not charged.")
    expect(page.get_by_test_id("sold-out")).to_be_visible()
    expect(page.get_by_test_id("checkout-confirm")).to_be_disabled()
    assert host.orders() == []


def test_the_second_purchase_is_two_taps(hub: HubProcess, browsers: Chromium, host: Host) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = viewer(browsers, hub, viewport=PHONE)
    buy_first_time(page)
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    close_sheet(page)
    saved_buyer = stored(page, "buyer")
    assert saved_buyer["name"] == "Anna Schmidt" and saved_buyer["country"] == "DE"
    saved_card = stored(page, "payment")
    assert saved_card["label"].endswith("4242")
    everything = page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    assert "4242424242424242" not in everything.replace(" ", ""), "no card number is kept"

    page.get_by_test_id("buy-button").click()
    expect(page.locator("#saved-details")).to_contain_text("Anna Schmidt, Hauptstraße 1")
    expect(page.locator("#saved-card")).to_have_text(saved_card["label"])
    expect(page.get_by_label("Full name")).to_be_hidden()
    expect(page.get_by_label("Card number")).to_be_hidden()
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    page.get_by_test_id("checkout-confirm").click()

    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    orders = host.orders()
    assert len(orders) == 2
    assert {o["name"] for o in orders} == {"Anna Schmidt"}
    # A buyer who never chatted shows in the chat with the first name they bought with.
    expect(page.locator("#me-name")).to_have_text("Anna")


def test_a_declined_card_shows_the_message_and_nothing_is_stored(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page, tap = tapped_viewer(browsers, hub)
    buy_first_time(page, DECLINED_CARD)

    error = page.locator("#checkout-error")
    expect(error).to_contain_text("declined")
    expect(page.get_by_label("Card number")).to_be_visible()
    expect(page.get_by_label("Card number")).to_have_value("")
    expect(page.get_by_test_id("order-confirmation")).to_be_hidden()
    assert stored(page, "buyer") is None
    assert stored(page, "payment") is None
    assert host.orders() == []

    page.get_by_label("Card number").fill(GOOD_CARD)
    page.get_by_test_id("checkout-confirm").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    assert len(host.orders()) == 1
    first, second = tap.of_type("buy")
    assert first["key"] != second["key"], "a declined purchase is over; the next is new"
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", second["key"])


def test_a_buy_cut_off_by_a_dropped_connection_is_retried_with_the_same_key(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page, tap = tapped_viewer(browsers, hub)
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    # The hub's answer never arrives: the connection drops just after the buy went out.
    tap.hide.add("order_confirmed")
    page.get_by_test_id("checkout-confirm").click()
    deadline = time.monotonic() + 5
    while not host.orders() and time.monotonic() < deadline:
        time.sleep(0.05)
    tap.hide.discard("order_confirmed")
    tap.routes[-1].close()

    expect(page.get_by_test_id("order-confirmation")).to_be_visible(timeout=15_000)
    buys = tap.of_type("buy")
    assert len(buys) == 2, "the page sent the purchase again after reconnecting"
    assert buys[0]["key"] == buys[1]["key"]
    assert len(host.orders()) == 1, "one purchase, one order"


def test_a_price_change_is_quoted_again_before_charging(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    """A deal ends while the sheet is open on a page that missed it: the hub refuses the
    old total, the page shows the new one and charges only after a second confirm."""
    host.do({"t": "start_deal", "product": SHIRT, "price": 3900, "seconds": 120})
    page, tap = tapped_viewer(browsers, hub)
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    expect_quote(page, total_for(3900, 1))
    tap.hide.update({"show", "deal_end"})
    host.do({"t": "end_deal"})

    page.get_by_test_id("checkout-confirm").click()

    expect(page.locator("#checkout-notice")).to_contain_text("price changed")
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    assert host.orders() == []
    page.get_by_test_id("checkout-confirm").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    (order,) = host.orders()
    assert order["total"] == total_for(SHIRT_PRICE, 1)


def test_a_flash_deal_counts_down_by_the_hubs_clock_and_ends(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    context = browsers.profile()
    page = context.pages[0]
    # This phone's clock is an hour fast; the countdown must follow the hub's.
    page.clock.set_system_time(time.time() + 3600)
    page.goto(hub.url)
    expect(page.get_by_test_id("product-title")).to_have_text(SHIRT_TITLE)

    host.do({"t": "start_deal", "price": 3900, "seconds": 6, "max_units": 20})

    countdown = page.get_by_test_id("deal-countdown")
    expect(countdown).to_have_text(re.compile(r"^00:0[4-6]$"))
    expect(page.get_by_test_id("product-price")).to_have_text(euros(3900))
    expect(page.get_by_test_id("pinned-product").locator("s")).to_contain_text(euros(SHIRT_PRICE))
    expect(page.locator("#deal-units")).to_have_text("20 of 20 left at this price")

    expect(countdown).to_have_text("Deal ended", timeout=10_000)
    expect(page.get_by_test_id("product-price")).to_have_text(euros(SHIRT_PRICE))


def test_owners_review_get_a_badge_and_can_be_featured(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    owner = viewer(browsers, hub)
    other = viewer(browsers, hub)
    expect(owner.get_by_test_id("review-form")).to_be_hidden()
    buy_first_time(owner)
    expect(owner.get_by_test_id("order-confirmation")).to_be_visible()
    close_sheet(owner)

    form = owner.get_by_test_id("review-form")
    expect(form).to_be_visible()
    form.get_by_role("button", name="Post").click()
    expect(form).to_contain_text("Choose 1 to 5 stars.")
    form.locator("label.star").filter(has_text="4 stars").click()
    form.get_by_label("Your review").fill("Soft from day one, <b>no</b> itch.")
    form.get_by_role("button", name="Post").click()
    expect(owner.get_by_text("Thanks! Your review is live.")).to_be_visible()
    expect(form).to_be_hidden()

    other.locator("#reviews summary").click()
    review = other.locator(".review").filter(has_text="Soft from day one, <b>no</b> itch.")
    expect(review).to_contain_text("Verified owner")
    expect(review).to_contain_text("Anna")
    expect(other.locator("#reviews-average")).to_contain_text("6 reviews")

    owner.get_by_test_id("comment-input").fill("Love it!")
    owner.get_by_test_id("comment-input").press("Enter")
    said = other.get_by_test_id("chat-item").filter(has_text="Love it!")
    expect(said.get_by_test_id("owner-badge")).to_have_text("Owner")

    added = host.event(lambda m: m["t"] == "review" and "day one" in m["review"]["text"])
    review_id = added["review"]["id"]
    host.do({"t": "feature", "review_id": review_id})
    for page in (owner, other):
        featured = page.get_by_test_id("featured")
        expect(featured).to_contain_text("Soft from day one, <b>no</b> itch.")
        expect(featured).to_contain_text("Verified owner")
    host.do({"t": "feature"})
    expect(other.get_by_test_id("featured")).to_be_hidden()
    assert other.locator("#featured b, .review b").count() == 0


def test_screenshots_of_a_pinned_product_with_a_deal_and_the_checkout_sheet(
    hub: HubProcess, browsers: Chromium, host: Host, tmp_path: Path
) -> None:
    """Phone and desktop fit; ``SHOPCAST_SCREENSHOT_DIR=docs`` refreshes the README's
    pictures (docs/viewer-shop-*.png); otherwise they go to the test's temporary folder."""
    folder = Path(os.environ.get("SHOPCAST_SCREENSHOT_DIR") or tmp_path)
    shelf = ["court-sneaker", "wrap-dress", "leather-tote", "soy-candle"]
    host.do({"t": "set_shelf", "products": shelf})
    host.do({"t": "start_deal", "product": SHIRT, "price": 3900, "seconds": 600, "max_units": 50})
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = viewer(browsers, hub, viewport=viewport)
        expect(page.get_by_test_id("deal-countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px)"
        card = page.get_by_test_id("pinned-product").bounding_box()
        assert card and card["x"] >= 0 and card["x"] + card["width"] <= viewport["width"]
        buy = page.get_by_test_id("buy-button").bounding_box()
        assert buy and buy["y"] + buy["height"] <= viewport["height"], "Buy is on screen"
        page.get_by_test_id("buy-button").click()
        expect_quote(page, total_for(3900, 1))
        expect(page.get_by_test_id("plan-choice")).to_be_visible()
        sheet = page.locator("#checkout").bounding_box()
        assert sheet and sheet["width"] <= viewport["width"]
        page.screenshot(path=folder / f"viewer-shop-{name}.png", animations="disabled")


def test_the_hubs_field_errors_show_next_to_their_inputs(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = viewer(browsers, hub)
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    page.get_by_label("Postal code").fill("#1")
    expect_quote(page, total_for(SHIRT_PRICE, 1))

    page.get_by_test_id("checkout-confirm").click()

    postal = page.get_by_label("Postal code")
    expect(postal).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#buyer-postal_code-error")).not_to_be_empty()
    expect(page.locator("#buyer-name-error")).to_be_empty()
    assert host.orders() == []
    postal.fill("10115")
    expect(postal).not_to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("checkout-confirm").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()


def test_a_saved_card_the_provider_refuses_is_forgotten(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = viewer(browsers, hub)
    buy_first_time(page)
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    close_sheet(page)
    # As after a provider's token expired: same label, a token it no longer honours.
    page.evaluate(
        "localStorage.setItem('shopcast.payment',"
        " JSON.stringify({token: 'sbx_4242_expired', label: 'Card •••• 4242'}))"
    )

    page.get_by_test_id("buy-button").click()
    expect_quote(page, total_for(SHIRT_PRICE, 1))
    page.get_by_test_id("checkout-confirm").click()

    expect(page.locator("#checkout-error")).to_contain_text("no longer valid")
    card = page.get_by_label("Card number")
    expect(card).to_be_visible()
    assert stored(page, "payment") is None
    expect(page.locator("#saved-address")).to_be_visible()
    card.fill(GOOD_CARD)
    page.get_by_test_id("checkout-confirm").click()
    expect(page.get_by_test_id("order-confirmation")).to_be_visible()
    assert stored(page, "payment")["token"] != "sbx_4242_expired"
    assert len(host.orders()) == 2


def test_money_is_formatted_from_minor_units_without_floats(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = viewer(browsers, hub)
    shown = page.evaluate(
        """async () => {
            const { formatMoney } = await import('/money.js');
            return [
                formatMoney(1999, 'EUR'), formatMoney(123456, 'JPY'),
                formatMoney(1234567, 'BHD'), formatMoney(5, 'USD'),
                formatMoney(900719925474099, 'EUR'), formatMoney(-250, 'GBP'),
            ];
        }"""
    )
    assert shown[:4] == ["€19.99", "¥123,456", "BHD\xa01,234.567", "$0.05"]
    assert shown[4] == "€9,007,199,254,740.99", "exact: no float division on the way"
    assert shown[5] == "-£2.50"


# ---------------------------------------------------------------- issue 14: on a phone


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two bounding boxes share any area."""
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _seen(page: Page, selector: str, viewport: dict[str, int]) -> dict[str, float]:
    """The element's box, checked to lie on screen and to be what a tap at its middle hits."""
    box = page.locator(selector).bounding_box()
    assert box, f"{selector} is not laid out"
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (selector, box)
    on_top = page.evaluate(
        "([s, x, y]) => Boolean(document.elementFromPoint(x, y)?.closest(s))",
        [selector, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top, f"{selector} is covered by another element"
    return box


def test_the_buyer_chooses_to_pay_now_or_in_four_and_the_confirmation_says_which(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page, tap = tapped_viewer(browsers, hub)
    total = total_for(SHIRT_PRICE, 1)
    first = total - (total // 4) * 3  # the first payment carries the cents that do not divide
    page.get_by_test_id("buy-button").click()
    fill_details(page, GOOD_CARD)
    expect_quote(page, total)
    choice = page.get_by_test_id("plan-choice")
    expect(page.get_by_test_id("plan-now")).to_be_checked()
    expect(choice).to_contain_text(f"Pay now {euros(total)}")
    expect(choice).to_contain_text(f"{euros(first)} today, then 3 {TIMES} {euros(total // 4)}")
    expect(page.get_by_test_id("bnpl-plan")).to_be_hidden()

    choice.get_by_text("Pay in 4, interest-free").click()
    confirm = page.get_by_test_id("checkout-confirm")
    expect(confirm).to_have_text(f"Pay {euros(first)} today")
    expect(page.get_by_test_id("bnpl-plan").locator("li")).to_have_count(4)
    choice.get_by_text("Pay now").click()
    expect(confirm).to_have_text(f"Pay {euros(total)}")
    expect(page.get_by_test_id("bnpl-plan")).to_be_hidden()
    choice.get_by_text("Pay in 4, interest-free").click()
    confirm.click()

    confirmation = page.get_by_test_id("order-confirmation")
    expect(confirmation).to_be_visible()
    expect(page.get_by_test_id("confirmation-paid")).to_have_text(euros(first))
    plan = page.get_by_test_id("confirmation-plan")
    expect(plan).to_contain_text("Your plan: 4 interest-free payments")
    expect(plan.locator("li").first).to_contain_text(f"{euros(first)}today")
    expect(plan.locator("li")).to_have_count(4)
    (bought,) = tap.of_type("buy")
    assert bought["plan"] == 4
    (order,) = host.orders()
    assert (order["total"], order["plan"]) == (total, 4)
    close_sheet(page)

    # The next purchase starts from paying now, and says so after.
    page.get_by_test_id("buy-button").click()
    expect_quote(page, total)
    expect(page.get_by_test_id("plan-now")).to_be_checked()
    page.get_by_test_id("checkout-confirm").click()
    expect(confirmation).to_be_visible()
    expect(page.get_by_test_id("confirmation-paid")).to_have_text(euros(total))
    expect(plan).to_be_hidden()
    assert tap.of_type("buy")[1]["plan"] == 1
    assert sorted(o.get("plan", 1) for o in host.orders()) == [1, 4]


def test_a_declined_card_on_a_phone_shows_its_message_above_the_pay_button(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = viewer(browsers, hub, viewport=PHONE)
    buy_first_time(page, DECLINED_CARD)

    expect(page.locator("#checkout-error")).to_contain_text("declined")
    expect(page.get_by_label("Card number")).to_be_focused()
    shown = _seen(page, "#checkout-error", PHONE)
    pay = _seen(page, "#checkout-confirm", PHONE)
    assert not _overlap(shown, pay)
    card = _seen(page, "#card-number", PHONE)
    assert not _overlap(card, shown), "the emptied card field is in view beside the message"


def test_the_consent_card_on_a_phone_shows_both_choices_and_what_they_mean(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    """A first visit during a deal with a shelf: the shop is at its tallest."""
    host.do({"t": "set_shelf", "products": ["court-sneaker", "wrap-dress", "leather-tote"]})
    host.do({"t": "start_deal", "product": SHIRT, "price": 3900, "seconds": 600, "max_units": 50})
    page = viewer(browsers, hub, viewport=PHONE)
    prompt = page.get_by_test_id("consent-prompt")
    expect(prompt).to_be_visible()
    expect(page.get_by_test_id("deal-countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))

    fits = prompt.evaluate("el => el.scrollHeight <= el.clientHeight")
    assert fits, "the card's content fits it: nothing scrolled out of sight"
    card = _seen(page, "[data-testid=consent-prompt]", PHONE)
    for part in ("consent-remember", "consent-session"):
        button = _seen(page, f"[data-testid={part}]", PHONE)
        assert button["y"] + button["height"] <= card["y"] + card["height"], part
        detail = _seen(page, f"#{part}-detail", PHONE)
        assert detail["y"] + detail["height"] <= card["y"] + card["height"], part
    _seen(page, "[data-testid=name-input]", PHONE)
    _seen(page, "[data-testid=buy-button]", PHONE)


def test_the_just_bought_line_and_tap_to_unmute_do_not_cover_each_other(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    buyer = viewer(browsers, hub)
    watchers = [viewer(browsers, hub, viewport=PHONE), viewer(browsers, hub, viewport=DESKTOP)]
    for watcher in watchers:
        # The page shows the button when muted video starts playing; no stream here.
        watcher.evaluate("document.getElementById('unmute').hidden = false")
    buy_first_time(buyer)
    expect(buyer.get_by_test_id("order-confirmation")).to_be_visible()

    for watcher, viewport in zip(watchers, (PHONE, DESKTOP), strict=True):
        expect(watcher.locator("#proof")).to_contain_text("Anna just bought")
        proof = _seen(watcher, "#proof", viewport)
        unmute = _seen(watcher, "[data-testid=unmute]", viewport)
        assert not _overlap(proof, unmute), (viewport, proof, unmute)
