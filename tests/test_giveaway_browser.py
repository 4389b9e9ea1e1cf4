"""Enter a giveaway and check its draw on the viewer page, in Debian's Chromium against a
real hub subprocess.

The host opens a giveaway over a staff WebSocket; one viewer enters with the button,
another by commenting the keyword; the host draws when entries close, and each page
checks the draw itself (resources/viewer/giveaway.js: SubtleCrypto recomputes the
commitment and the winner from the revealed seed and entries).
"""

from __future__ import annotations

import time
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
from tests.test_auction_browser import joined
from tests.test_claims_browser import post
from tests.test_viewer_shop import Host, host_session

pytestmark = [pytest.mark.browser, requires_chromium]

SECONDS = 10


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


def test_viewers_enter_by_button_and_keyword_and_each_page_checks_the_draw(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": "linen-shirt"})
    anna: Page = joined(browsers, hub, "Anna")
    ben: Page = joined(browsers, hub, "Ben")
    host.do({"t": "start_giveaway", "prize": "A linen shirt", "seconds": SECONDS, "keyword": "win"})
    opened = time.monotonic()
    panel = anna.get_by_test_id("giveaway")
    expect(panel).to_contain_text("Giveaway: A linen shirt")
    expect(panel.get_by_test_id("giveaway-rule")).to_have_text("No purchase necessary.")
    expect(panel.get_by_test_id("giveaway-countdown")).to_contain_text("to enter")
    panel.get_by_test_id("giveaway-enter").click()
    expect(panel.get_by_test_id("giveaway-entered")).to_have_text("You're in. Good luck!")
    expect(panel.get_by_test_id("giveaway-enter")).to_be_hidden()
    post(ben, "win win!")
    expect(ben.get_by_test_id("giveaway-entered")).to_be_visible()

    anna.reload()
    expect(anna.get_by_test_id("giveaway-entered")).to_be_visible(timeout=10_000)

    time.sleep(max(0.0, SECONDS - (time.monotonic() - opened)) + 0.5)
    host.do({"t": "draw_giveaway"})
    for page in (anna, ben):
        check = page.get_by_test_id("giveaway-check")
        expect(check).to_have_text(
            "Draw checked on this device: the seed matches the one committed to at the "
            "start, and it picks this winner from the 2 entries."
        )
    winners = [p.get_by_test_id("giveaway-winner").inner_text() for p in (anna, ben)]
    assert sorted(winners) in (
        ["Anna won.", "You won! The host will be in touch."],
        ["Ben won.", "You won! The host will be in touch."],
    )


def test_a_giveaway_shows_with_nothing_pinned(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    anna: Page = joined(browsers, hub, "Anna")
    expect(anna.locator("#shop")).to_be_hidden()
    host.do({"t": "start_giveaway", "prize": "A tote bag", "seconds": 60})
    panel = anna.get_by_test_id("giveaway")
    expect(panel).to_contain_text("Giveaway: A tote bag")
    expect(anna.get_by_test_id("pinned-product")).to_be_hidden()
    panel.get_by_test_id("giveaway-enter").click()
    expect(panel.get_by_test_id("giveaway-entered")).to_be_visible()
    host.do({"t": "cancel_giveaway"})
    expect(panel).to_be_hidden()
    expect(anna.locator("#shop")).to_be_hidden()
