"""The viewer's privacy (issue 6) on the viewer page: the first-visit choice, the Privacy
panel, downloading and deleting one's data.

Debian's Chromium against the real ``python -m console hub`` subprocess; every viewer is
a separate Chromium profile, and the host speaks the protocol over a plain WebSocket.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from console.domain.retention import DELIVERY_DAYS, table
from tests.support.browser import (
    Chromium,
    HubProcess,
    requires_chromium,
    running_hub,
    strict_chromium,
)
from tests.test_viewer_page import expect_connected, join, post
from tests.test_viewer_team import Team, team_session

pytestmark = [pytest.mark.browser, requires_chromium]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WAIT = 10_000


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with strict_chromium(tmp_path / "profiles") as opened:
        yield opened


@pytest.fixture
def host(hub: HubProcess) -> Iterator[Team]:
    with team_session(hub, hub.token) as session:
        yield session


def viewer_id(page: Page) -> str | None:
    return page.evaluate("localStorage.getItem('shopcast.viewer_id')")


def reload(page: Page) -> None:
    page.reload()
    expect_connected(page)


def open_panel(page: Page):
    page.get_by_test_id("privacy-button").click()
    panel = page.get_by_test_id("privacy-panel")
    expect(panel).to_be_visible()
    return panel


def author_of(page: Page, text: str):
    item = page.get_by_test_id("chat-item").filter(has_text=text)
    expect(item).to_have_count(1, timeout=WAIT)
    return item.get_by_test_id("chat-author")


# ---------------------------------------------------------------- the first visit


def test_first_visit_asks_in_plain_words_and_remember_me_sticks_after_a_reload(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    prompt = page.get_by_test_id("consent-prompt")
    expect(prompt).to_be_visible()
    expect(page.get_by_role("region", name="Can the shop remember you?")).to_be_visible()
    expect(prompt).to_contain_text("past orders and questions across shows")
    expect(prompt).to_contain_text("After the show the shop forgets you")
    remember = page.get_by_test_id("consent-remember")
    only_show = page.get_by_test_id("consent-session")
    expect(remember).to_have_text("Remember me")
    expect(only_show).to_have_text("Only this show")
    # Two equal buttons: the same size and the same look.
    a, b = remember.bounding_box(), only_show.bounding_box()
    assert a and b and abs(a["width"] - b["width"]) < 1 and abs(a["height"] - b["height"]) < 1
    assert remember.get_attribute("class") == only_show.get_attribute("class")

    # Nothing waits for the choice: the viewer can join the chat and comment meanwhile.
    join(page, "Ann")
    post(page, "Hello from before choosing")
    expect(prompt).to_be_visible()

    remember.click()
    expect(prompt).to_be_hidden(timeout=WAIT)
    expect(page.get_by_test_id("privacy-button")).to_be_focused()

    reload(page)
    expect(prompt).to_be_hidden()
    open_panel(page)
    expect(page.get_by_test_id("privacy-current")).to_contain_text("Remember me")
    expect(page.get_by_test_id("privacy-remember")).to_be_checked()


def test_only_this_show_by_keyboard_then_changed_in_the_privacy_panel(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    expect(page.get_by_test_id("consent-prompt")).to_be_visible()
    page.get_by_test_id("consent-session").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("consent-prompt")).to_be_hidden(timeout=WAIT)
    me = viewer_id(page)

    reload(page)
    expect(page.get_by_test_id("consent-prompt")).to_be_hidden()
    panel = open_panel(page)
    expect(page.get_by_role("dialog", name="Your privacy")).to_be_visible()
    expect(page.get_by_test_id("privacy-current")).to_contain_text("Only this show")
    expect(page.get_by_test_id("privacy-session")).to_be_checked()

    page.get_by_test_id("privacy-remember").check()
    expect(panel).to_contain_text("Saved: Remember me.", timeout=WAIT)
    expect(page.get_by_test_id("privacy-current")).to_contain_text("Remember me")
    # Escape closes the panel and focus goes back to the Privacy button.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_test_id("privacy-button")).to_be_focused()

    reload(page)
    open_panel(page)
    expect(page.get_by_test_id("privacy-remember")).to_be_checked()
    export = host.do({"t": "export", "viewer_id": me})
    consent = [row["consent"] for row in export["data"]["consent"]]
    assert consent == ["remember"], f"the hub holds {consent} for {me}"


def test_the_privacy_panel_shows_the_hubs_retention_table(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url, viewport=PHONE)
    expect_connected(page)
    open_panel(page)
    kept = page.get_by_test_id("retention-table")
    expect(kept).to_be_visible(timeout=WAIT)
    kept.get_by_text("What the shop keeps, for how long, and why").click()
    rows = page.get_by_test_id("retention-row")
    expect(rows).to_have_count(len(table()))
    for shown, row in zip(rows.all(), table(), strict=True):
        expect(shown).to_contain_text(row.what)
        expect(shown).to_contain_text(f"Only this show, or not chosen yet: {row.without}")
        expect(shown).to_contain_text(f"Remember me: {row.remember}")
        expect(shown).to_contain_text(f"Why: {row.why}")
    expect(kept).to_contain_text(f"{DELIVERY_DAYS} days after the order")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the table makes the page scroll sideways ({width} px)"


# ---------------------------------------------------------------- download and delete


def test_download_my_data_saves_json_with_my_id_and_my_comments(
    hub: HubProcess, browsers: Chromium
) -> None:
    page = browsers.page(hub.url)
    expect_connected(page)
    page.get_by_test_id("consent-remember").click()
    join(page, "Ann")
    post(page, "Does the blue one come in medium?")
    me = viewer_id(page)

    open_panel(page)
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_test_id("export-data").click()
    download = info.value
    assert download.suggested_filename == "shopcast-my-data.json"
    content = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert content["viewer_id"] == me
    texts = [c["text"] for c in content["data"]["comments"]]
    assert "Does the blue one come in medium?" in texts
    assert me in json.dumps(content["data"])
    expect(page.get_by_test_id("privacy-status")).to_contain_text("shopcast-my-data.json")


def test_deleting_my_data_signs_my_comments_deleted_viewer_and_starts_the_page_afresh(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = browsers.page(hub.url)
    expect_connected(ann)
    ann.get_by_test_id("consent-remember").click()
    join(ann, "Ann")
    post(ann, "Is the leather real?")
    old_id = viewer_id(ann)
    assert old_id

    bob = browsers.page(hub.url)
    expect_connected(bob)
    expect(author_of(bob, "Is the leather real?")).to_have_text("Ann")

    # The confirm step can be left without deleting anything.
    open_panel(ann)
    ann.get_by_test_id("delete-data").click()
    expect(ann.get_by_test_id("delete-step")).to_be_visible()
    ann.get_by_test_id("delete-cancel").click()
    expect(ann.get_by_test_id("delete-step")).to_be_hidden()
    expect(ann.get_by_test_id("delete-data")).to_be_focused()
    assert host.ask({"t": "profile", "viewer_id": old_id})["t"] == "profile"

    ann.get_by_test_id("delete-data").click()
    expect(ann.get_by_test_id("delete-step")).to_contain_text("deleted viewer")
    with ann.expect_event("load", timeout=WAIT):
        ann.get_by_test_id("delete-confirm").click()
    expect_connected(ann)
    expect(ann.get_by_test_id("privacy-notice")).to_contain_text("Your data was deleted")
    new_id = viewer_id(ann)
    assert new_id and new_id != old_id
    expect(ann.get_by_test_id("name-input")).to_be_visible()
    assert ann.evaluate("localStorage.getItem('shopcast.name')") is None
    expect(ann.get_by_test_id("consent-prompt")).to_be_visible()
    # The fresh page's own comment list already shows the old comment anonymously.
    expect(author_of(ann, "Is the leather real?")).to_have_text("deleted viewer")

    reload(bob)
    expect(author_of(bob, "Is the leather real?")).to_have_text("deleted viewer")

    # The new viewer starts with nothing of the old one.
    open_panel(ann)
    with ann.expect_download(timeout=WAIT) as info:
        ann.get_by_test_id("export-data").click()
    fresh = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert fresh["viewer_id"] == new_id
    assert "Is the leather real?" not in json.dumps(fresh)


def test_a_page_that_copies_another_viewers_id_starts_over_instead_of_reading_their_data(
    hub: HubProcess, browsers: Chromium
) -> None:
    ann = browsers.page(hub.url)
    expect_connected(ann)
    join(ann, "Ann")
    post(ann, "My address is a secret")
    ann_id = viewer_id(ann)
    assert ann.evaluate("localStorage.getItem('shopcast.viewer_key')")

    eve = browsers.page(hub.url)
    expect_connected(eve)
    # Viewer ids are public (every comment carries one); the key is not.
    eve.evaluate(f"localStorage.setItem('shopcast.viewer_id', {json.dumps(ann_id)})")
    eve.reload()
    expect_connected(eve)
    eve_id = viewer_id(eve)
    assert eve_id and eve_id != ann_id
    open_panel(eve)
    with eve.expect_download(timeout=WAIT) as info:
        eve.get_by_test_id("export-data").click()
    exported = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert exported["viewer_id"] == eve_id
    assert "My address is a secret" not in json.dumps(exported)


def test_a_deleted_viewers_profile_stays_gone_after_their_page_moves_on(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    ann = browsers.page(hub.url)
    expect_connected(ann)
    join(ann, "Ann")
    post(ann, "Delete me later")
    old_id = viewer_id(ann)
    open_panel(ann)
    ann.get_by_test_id("delete-data").click()
    with ann.expect_event("load", timeout=WAIT):
        ann.get_by_test_id("delete-confirm").click()
    expect_connected(ann)
    gone = host.ask({"t": "profile", "viewer_id": old_id})
    assert gone["t"] == "error" and gone["code"] == "not_found", gone


# ---------------------------------------------------------------- the look


def _combine(page: Page, shots: list[bytes], across: bool) -> bytes:
    """One PNG of screenshots side by side (``across``) or stacked, drawn by the browser."""
    blank = page.context.new_page()
    try:
        data_url = blank.evaluate(
            """async ([sources, across]) => {
              const load = (src) => new Promise((ok, fail) => {
                const img = new Image();
                img.onload = () => ok(img);
                img.onerror = fail;
                img.src = "data:image/png;base64," + src;
              });
              const images = await Promise.all(sources.map(load));
              const gap = 24;
              const canvas = document.createElement("canvas");
              const sum = (side) =>
                images.reduce((n, img) => n + img[side], 0) + gap * (images.length - 1);
              const most = (side) => Math.max(...images.map((img) => img[side]));
              canvas.width = across ? sum("width") : most("width");
              canvas.height = across ? most("height") : sum("height");
              const ctx = canvas.getContext("2d");
              ctx.fillStyle = "#e4e4ea";
              ctx.fillRect(0, 0, canvas.width, canvas.height);
              let at = 0;
              for (const img of images) {
                if (across) ctx.drawImage(img, at, 0);
                else ctx.drawImage(img, 0, at);
                at += (across ? img.width : img.height) + gap;
              }
              return canvas.toDataURL("image/png");
            }""",
            [[base64.b64encode(shot).decode() for shot in shots], across],
        )
    finally:
        blank.close()
    return base64.b64decode(data_url.split(",", 1)[1])


def test_screenshots_of_the_prompt_and_the_panel_on_a_phone_and_a_desktop(
    hub: HubProcess, browsers: Chromium, host: Team, tmp_path: Path
) -> None:
    """``SHOPCAST_SCREENSHOT_DIR=docs`` refreshes docs/viewer-privacy-*.png."""
    folder = Path(os.environ.get("SHOPCAST_SCREENSHOT_DIR") or tmp_path)
    host.comment("Welcome! The linen shirt is on now.")
    # A pinned product leaves a phone's chat column the least room.
    host.do({"t": "pin", "product": "linen-shirt"})
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = browsers.page(hub.url, viewport=viewport)
        expect_connected(page)
        join(page, f"Ann {name}")
        post(page, "Hi! Which colours are left?")
        expect(page.get_by_test_id("consent-prompt")).to_be_visible()
        for testid in ("consent-remember", "consent-session", "privacy-button", "comment-input"):
            box = page.get_by_test_id(testid).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], testid
            assert box["y"] + box["height"] <= viewport["height"], f"{name}: {testid} is cut off"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width} px)"
        prompt_shot = page.screenshot(animations="disabled")

        page.get_by_test_id("consent-session").click()
        expect(page.get_by_test_id("consent-prompt")).to_be_hidden(timeout=WAIT)
        open_panel(page)
        expect(page.get_by_test_id("privacy-current")).to_contain_text("Only this show")
        panel_shot = page.screenshot(animations="disabled")
        page.get_by_test_id("delete-data").click()
        expect(page.get_by_test_id("delete-confirm")).to_be_visible()
        for testid in ("delete-confirm", "delete-cancel", "export-data"):
            box = page.get_by_test_id(testid).bounding_box()
            assert box and box["x"] + box["width"] <= viewport["width"], testid
        page.mouse.move(1, 1)
        confirm_shot = page.screenshot(animations="disabled")
        (folder / f"viewer-privacy-{name}.png").write_bytes(
            _combine(page, [prompt_shot, panel_shot, confirm_shot], across=name == "phone")
        )
