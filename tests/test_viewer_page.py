"""The viewer page (resources/viewer) in Debian's Chromium against a real hub subprocess.

Each test is a thing a viewer does or sees; the hub is the real ``python -m console hub``
and every viewer is a separate Chromium profile, so ``localStorage`` is theirs alone.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import ClientConnection, connect

from tests.support.browser import (
    Chromium,
    HubProcess,
    chromium,
    requires_chromium,
    running_hub,
)

pytestmark = [pytest.mark.browser, requires_chromium]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """The real ``python -m console hub`` in a subprocess (not conftest's in-process hub)."""
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


# ---------------------------------------------------------------- helpers


class Staff:
    """A staff console's session, spoken with a plain WebSocket client."""

    def __init__(self, ws: ClientConnection, hub: HubProcess, role: str) -> None:
        self.ws = ws
        self.ws.send(json.dumps({"t": "hello", "v": 1, "role": role, "token": hub.token}))
        self.backlog: list[dict] = []
        self.welcome = self.next_message(lambda m: m["t"] in ("welcome", "error"))
        assert self.welcome["t"] == "welcome", f"staff hello was refused: {self.welcome}"

    def next_message(self, match, timeout: float = 10.0) -> dict:
        for index, message in enumerate(self.backlog):
            if match(message):
                del self.backlog[: index + 1]
                return message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout} s; saw {self.backlog}")
            frame = json.loads(self.ws.recv(timeout=left))
            assert isinstance(frame, list), f"hub frames are JSON arrays, got {frame!r}"
            for position, message in enumerate(frame):
                if match(message):
                    self.backlog.extend(frame[position + 1 :])
                    return message
                self.backlog.append(message)

    def comment(self, text: str) -> dict:
        ref = uuid.uuid4().hex
        self.ws.send(json.dumps({"t": "comment", "text": text, "ref": ref}))
        answer = self.next_message(lambda m: m.get("ref") == ref)
        assert answer["t"] == "ack", f"staff comment was refused: {answer}"
        return answer


@contextmanager
def staff_session(hub: HubProcess, role: str = "host") -> Iterator[Staff]:
    with connect(hub.ws_url, max_size=None) as ws:
        yield Staff(ws, hub, role)


@pytest.fixture
def staff(hub: HubProcess) -> Iterator[Staff]:
    with staff_session(hub) as session:
        yield session


def items(page: Page):
    return page.get_by_test_id("chat-item")


def expect_connected(page: Page) -> None:
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)


def join(page: Page, name: str) -> None:
    """Fill in the display name form and wait until the comment box is ready."""
    page.get_by_test_id("name-input").fill(name)
    page.get_by_test_id("name-submit").click()
    expect(page.get_by_test_id("comment-input")).to_be_visible()


def post(page: Page, text: str) -> None:
    """Type a comment, press Enter, and wait for the hub's ack (the input clears)."""
    box = page.get_by_test_id("comment-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("", timeout=10_000)


def texts(page: Page) -> list[str]:
    return page.get_by_test_id("chat-text").all_text_contents()


# ---------------------------------------------------------------- tests


def test_status_shows_connected(hub: HubProcess, browsers: Chromium) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    expect(page.get_by_test_id("stream")).to_be_attached()
    expect(page.get_by_text("The show hasn't started yet")).to_be_visible()


def test_comment_from_one_viewer_appears_in_another_viewers_page(
    hub: HubProcess, browsers: Chromium, staff: Staff
) -> None:
    ada = browsers.page(hub.url)
    bob = browsers.page(hub.url)
    expect_connected(ada)
    expect_connected(bob)
    join(ada, "Ada")

    post(ada, "Does it come in green?")

    seen = bob.get_by_test_id("chat-item").filter(has_text="Does it come in green?")
    expect(seen).to_have_count(1)
    expect(seen.get_by_test_id("chat-author")).to_have_text("Ada")
    expect(seen.get_by_test_id("chat-text")).to_have_text("Does it come in green?")
    message = staff.next_message(lambda m: m["t"] == "comment")
    assert message["text"] == "Does it come in green?"
    assert message["name"] == "Ada"
    assert message.get("role", "viewer") == "viewer"
    viewer_id = ada.evaluate("localStorage.getItem('shopcast.viewer_id')")
    assert message["viewer_id"] == viewer_id


def test_host_comment_shows_a_host_badge(hub: HubProcess, browsers: Chromium, staff: Staff) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)

    staff.comment("Yes, green is back in stock!")

    item = items(page).filter(has_text="Yes, green is back in stock!")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("chat-badge")).to_have_text("Host")


def test_history_is_shown_to_a_viewer_who_opens_the_page_later(
    hub: HubProcess, browsers: Chromium
) -> None:
    early = browsers.page(hub.url)
    expect_connected(early)
    join(early, "Early bird")
    for text in ("first", "second", "third"):
        post(early, text)

    late = browsers.page(hub.url)
    expect_connected(late)

    expect(late.get_by_test_id("name-input")).to_be_visible()
    expect(items(late)).to_have_count(3)
    assert texts(late) == ["first", "second", "third"]
    expect(late.get_by_test_id("chat-author").first).to_have_text("Early bird")


def test_name_is_asked_once_and_remembered_after_reload(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    send = page.get_by_test_id("comment-send")
    expect(page.get_by_test_id("name-input")).to_be_visible()
    expect(page.get_by_test_id("comment-input")).to_be_hidden()
    viewer_id = page.evaluate("localStorage.getItem('shopcast.viewer_id')")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", viewer_id)

    page.get_by_test_id("name-input").fill("   ")
    page.get_by_test_id("name-submit").click()
    expect(page.get_by_test_id("comment-input")).to_be_hidden()
    page.get_by_test_id("name-input").fill("x" * 41)
    page.get_by_test_id("name-submit").click()
    expect(page.get_by_test_id("comment-input")).to_be_hidden()
    join(page, "  Grace  ")
    expect(send).to_be_disabled()

    page.reload()
    expect_connected(page)
    expect(page.get_by_test_id("name-input")).to_be_hidden()
    expect(page.get_by_test_id("comment-input")).to_be_visible()
    assert page.evaluate("localStorage.getItem('shopcast.viewer_id')") == viewer_id
    post(page, "I'm back")
    expect(page.get_by_test_id("chat-author")).to_have_text(["Grace"])


def test_name_set_after_connecting_is_used_for_the_next_comment(
    hub: HubProcess, browsers: Chromium, staff: Staff
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    join(page, "Lin")
    post(page, "hello")
    expect(page.get_by_test_id("chat-author")).to_have_text(["Lin"])

    page.get_by_role("button", name="Change").click()
    join(page, "Lin from Lisbon")
    post(page, "new name")

    expect(page.get_by_test_id("chat-author")).to_have_text(["Lin", "Lin from Lisbon"])
    message = staff.next_message(lambda m: m["t"] == "comment" and m["text"] == "new name")
    assert message["name"] == "Lin from Lisbon"


def test_user_text_is_shown_as_text_not_html(hub: HubProcess, browsers: Chromium) -> None:
    attack = '<img src=x onerror="window.__pwned = 1">'
    writer = browsers.page(hub.url)
    expect_connected(writer)
    join(writer, "<b>Mallory</b>")
    post(writer, attack)

    reader = browsers.page(hub.url)
    expect_connected(reader)
    for page in (writer, reader):
        expect(page.get_by_test_id("chat-text")).to_have_text([attack])
        expect(page.get_by_test_id("chat-author")).to_have_text(["<b>Mallory</b>"])
        assert page.locator("[data-testid=chat-list] img").count() == 0
        assert page.locator("[data-testid=chat-list] b").count() == 0
        assert page.evaluate("window.__pwned") is None


def test_send_button_waits_for_text_and_a_counter_shows_near_the_limit(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    join(page, "Counter")
    box = page.get_by_test_id("comment-input")
    send = page.get_by_test_id("comment-send")

    expect(send).to_be_disabled()
    box.fill("   ")
    expect(send).to_be_disabled()
    box.fill("ok")
    expect(send).to_be_enabled()
    expect(page.get_by_text(re.compile(r"\d+ left"))).to_have_count(0)
    box.fill("y" * 490)
    expect(page.get_by_text("10 left")).to_be_visible()
    box.fill("z" * 600)
    expect(box).to_have_value("z" * 500)


def test_posting_too_fast_shows_the_hubs_message_near_the_input(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    join(page, "Speedy")
    box = page.get_by_test_id("comment-input")
    error = page.locator("#comment-error")

    for n in range(12):
        box.fill(f"quick {n}")
        box.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=comment-input]').value === ''"
            " || document.querySelector('#comment-error').textContent !== ''"
        )
        if error.text_content():
            break

    expect(error).to_have_text(re.compile(r"^Slow down: you can post again in \d+ s\.?$"))
    expect(error).to_be_visible()
    rejected = box.input_value()
    assert rejected.startswith("quick "), "the refused comment stays in the box"
    assert rejected not in texts(page)
    expect(error).to_be_empty(timeout=5_000)
    box.press("Enter")
    expect(box).to_have_value("", timeout=5_000)
    expect(items(page).last.get_by_test_id("chat-text")).to_have_text(rejected)


def test_page_asks_to_reload_when_the_hub_speaks_a_newer_protocol(
    hub: HubProcess, browsers: Chromium
) -> None:
    context = browsers.profile()
    page = context.pages[0]

    def pretend_old_page(route) -> None:
        server = route.connect_to_server()

        def forward(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("t") == "hello":
                data["v"] = 0
            server.send(json.dumps(data))

        route.on_message(forward)

    page.route_web_socket(re.compile(r"/ws$"), pretend_old_page)
    page.goto(hub.url)

    status = page.get_by_test_id("status")
    expect(status).to_contain_text("reload", ignore_case=True)
    page.wait_for_timeout(1_500)
    expect(status).to_contain_text("reload", ignore_case=True)


def test_chat_keeps_the_newest_500_comments_and_ignores_repeats(
    hub: HubProcess, browsers: Chromium
) -> None:
    context = browsers.profile()
    page = context.pages[0]
    routes = []

    def pass_through(route) -> None:
        route.connect_to_server()
        routes.append(route)

    page.route_web_socket(re.compile(r"/ws$"), pass_through)
    page.goto(hub.url)
    expect_connected(page)

    def comment(seq: int) -> dict:
        return {
            "t": "comment",
            "seq": seq,
            "id": seq,
            "viewer_id": "flood-viewer-0001",
            "name": "Flood",
            "text": f"comment {seq}",
            "ts": time.time(),
        }

    routes[-1].send(json.dumps([comment(seq) for seq in range(1, 521)]))
    expect(items(page)).to_have_count(500)
    routes[-1].send(json.dumps([comment(519), comment(520), comment(300)]))
    page.wait_for_timeout(300)
    expect(items(page)).to_have_count(500)
    shown = texts(page)
    assert shown[0] == "comment 21"
    assert shown[-1] == "comment 520"
    assert len(set(shown)) == 500


def test_page_reconnects_and_shows_comments_it_missed(tmp_path: Path, browsers: Chromium) -> None:
    data_dir = tmp_path / "restart-data"
    hellos: list[dict] = []

    def record_hellos(ws) -> None:
        def sent(payload: str | bytes) -> None:
            if '"hello"' in str(payload):
                hellos.append(json.loads(payload))

        ws.on("framesent", sent)

    with running_hub(data_dir) as first:
        context = browsers.profile()
        page = context.pages[0]
        page.on("websocket", record_hellos)
        page.goto(first.url)
        expect_connected(page)
        assert hellos, "the page says hello first"
        assert "since" not in hellos[0], "a fresh page asks for the recent history"
        join(page, "Stayer")
        post(page, "before the break")
        last_seq = int(items(page).last.get_attribute("data-seq") or 0)
        first.stop()

    expect(page.get_by_test_id("status")).to_have_text(
        re.compile(r"Reconnecting in \d+ s…"), timeout=10_000
    )
    page.wait_for_timeout(2_500)

    with running_hub(data_dir, port=first.port) as second:
        with staff_session(second) as staff:
            staff.comment("said while you were away")
        expect_connected(page)
        expect(page.get_by_test_id("chat-text")).to_have_text(
            ["before the break", "said while you were away"], timeout=15_000
        )
        resumed = [h for h in hellos if h.get("since") is not None]
        assert resumed, f"the page did not resume with since; hellos sent: {hellos}"
        assert resumed[-1]["since"] == last_seq
        assert resumed[-1]["name"] == "Stayer"

        post(page, "after the break")
        expect(page.get_by_test_id("chat-text")).to_have_text(
            ["before the break", "said while you were away", "after the break"]
        )


def test_viewer_count_updates(hub: HubProcess, browsers: Chromium) -> None:
    first = browsers.page(hub.url)
    expect_connected(first)
    count = first.get_by_test_id("viewer-count")
    expect(count).to_have_text("👁 1")

    second_context = browsers.profile()
    second = second_context.pages[0]
    second.goto(hub.url)
    expect_connected(second)
    expect(count).to_have_text("👁 2")
    expect(second.get_by_test_id("viewer-count")).to_have_text("👁 2")

    browsers.close(second_context)
    expect(count).to_have_text("👁 1", timeout=10_000)


def test_new_comments_pill_appears_when_scrolled_up(
    hub: HubProcess, browsers: Chromium, staff: Staff
) -> None:
    page = browsers.page(hub.url, viewport=PHONE)
    expect_connected(page)
    for n in range(25):
        staff.comment(f"warm-up comment {n}")
    expect(items(page)).to_have_count(25)
    chat = page.get_by_test_id("chat-list")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 4"
    assert chat.evaluate(at_bottom), "the list follows new comments while at the bottom"

    chat.evaluate("el => { el.scrollTop = 0; }")
    staff.comment("missed one")
    staff.comment("missed two")

    pill = page.get_by_test_id("new-comments")
    expect(pill).to_have_text("2 new comments ↓")
    assert chat.evaluate("el => el.scrollTop") == 0
    pill.click()
    expect(pill).to_be_hidden()
    assert chat.evaluate(at_bottom)


def test_layout_puts_video_above_chat_on_a_phone_and_beside_it_on_a_desktop(
    hub: HubProcess, browsers: Chromium
) -> None:
    phone = browsers.page(hub.url, viewport=PHONE)
    expect_connected(phone)
    join(phone, "Phone")
    video = phone.get_by_test_id("stream").bounding_box()
    chat = phone.get_by_test_id("chat-list").bounding_box()
    box = phone.get_by_test_id("comment-input").bounding_box()
    assert video and chat and box
    assert video["y"] + video["height"] <= chat["y"] + 1
    assert box["y"] + box["height"] <= PHONE["height"]
    assert box["y"] > PHONE["height"] - 140, "the comment box sits at the bottom"

    desktop = browsers.page(hub.url, viewport=DESKTOP)
    expect_connected(desktop)
    video = desktop.get_by_test_id("stream").bounding_box()
    chat = desktop.get_by_test_id("chat-list").bounding_box()
    assert video and chat
    assert video["x"] + video["width"] <= chat["x"] + 1
    assert chat["height"] > DESKTOP["height"] / 2


def _luminance(css_colour: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed ``rgb(r, g, b)`` colour."""
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_tap_to_unmute_draws_its_icon_without_an_emoji_font(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url, viewport=PHONE)
    expect_connected(page)
    unmute = page.get_by_test_id("unmute")
    assert unmute.locator("svg").count() == 1, "the icon is drawn inline, not a font glyph"
    assert (unmute.text_content() or "").split() == ["Tap", "to", "unmute"]


def test_the_page_follows_a_dark_system_setting(hub: HubProcess, browsers: Chromium) -> None:
    page = browsers.page(hub.url, viewport=PHONE)
    expect_connected(page)
    colours = """() => [".chat", "#name-input", "#chat-heading"].map((s) => {
        const style = getComputedStyle(document.querySelector(s));
        return [style.backgroundColor, style.color];
    })"""
    # Without motion, a field's colour is final at once rather than mid-transition.
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    (panel, _), (field, _), (_, heading) = page.evaluate(colours)
    assert _luminance(panel) > 0.9 and _luminance(field) > 0.9 and _luminance(heading) < 0.2
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    (panel, _), (field, _), (_, heading) = page.evaluate(colours)
    assert _luminance(panel) < 0.15, f"the chat panel is dark: {panel}"
    assert _luminance(field) < 0.2, f"so is the name field: {field}"
    assert _luminance(heading) > 0.8, f"and the text on it is light: {heading}"
