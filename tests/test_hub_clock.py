"""Countdowns corrected for each viewer's own delay (issue 19): the page asks the hub's
time (``clock``), keeps the answer with the shortest round trip, and counts down to the
last moment a bid or an entry sent now still reaches the hub (resources/viewer/clock.js).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import Chromium, HubProcess, chromium, requires_chromium
from tests.test_auction_browser import LOT, SHIRT, browsers, host, hub
from tests.test_claims_hub import START, Show
from tests.test_giveaway import _serve_viewer_module
from tests.test_giveaway_hub import show
from tests.test_viewer_shop import Host

__all__ = ["browsers", "host", "hub", "show"]  # fixtures


async def test_the_hub_answers_clock_with_its_own_time(show: Show) -> None:
    viewer = await show.viewer("Ann")
    show.clock.now = START + 12.5
    await viewer.send({"t": "clock", "ref": "c1"})
    [answer] = await viewer.wait_for("clock", ref="c1")
    assert answer["now"] == START + 12.5


#: Drives the page's own module with a page clock the test sets (seconds).
CLOCK_JS = """async () => {
  const { createHubClock } = await import('/clock.js');
  let t = 1000;
  const sent = [];
  const hub = createHubClock({ send: (m) => sent.push(m), pageNow: () => t });
  const seen = {};
  hub.welcome(5000);                       // the phone's clock is 4,000 s behind
  seen.welcome = [hub.now(), hub.lead()];
  hub.start();                             // asks at t = 1000
  t = 1000.4;                              // answered 0.4 s later, hub time mid-trip
  hub.answered({ t: 'clock', ref: sent[0].ref, now: 5000.2 });
  seen.first = [hub.now(), hub.lead(), hub.leftToSend(5010)];
  hub.start();                             // a slower trip: 1.0 s, the hub 0.3 s "ahead"
  t = 1001.4;
  hub.answered({ t: 'clock', ref: sent[1].ref, now: 5000.9 + 0.3 });
  seen.slower = [hub.now(), hub.lead()];
  hub.answered({ t: 'clock', ref: 'clock-unknown', now: 1 });
  seen.unknown = [hub.now(), hub.lead()];
  hub.stop();
  return { seen, sent: sent.map((m) => m.t) };
}"""


@pytest.mark.browser
@requires_chromium
def test_the_page_keeps_the_shortest_round_trip_and_counts_down_to_the_last_useful_tap(
    tmp_path: Path,
) -> None:
    with chromium(tmp_path) as browsers_:
        page = browsers_.profile().new_page()
        page.route("http://localhost/**", _serve_viewer_module)
        page.goto("http://localhost/clock")
        result: dict[str, Any] = page.evaluate(CLOCK_JS)
    seen = result["seen"]
    assert seen["welcome"] == [5000, 0]
    now, lead, left = seen["first"]
    assert (now, lead) == pytest.approx((5000.4, 0.2))
    assert left == pytest.approx(10 - 0.4 - 0.2), "the hub is at 5000.4; the tap takes 0.2 s"
    assert seen["slower"] == pytest.approx([5001.4, 0.2]), "the slower answer is not trusted"
    assert seen["unknown"] == seen["slower"]
    assert result["sent"] == ["clock", "clock"]


def test_a_viewers_page_times_an_auction_by_its_own_round_trip(
    hub: HubProcess, browsers: Chromium, host: Host
) -> None:
    host.do({"t": "pin", "product": SHIRT})
    page = browsers.page(hub.url)
    asked, answered = [], []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda f: asked.append(f) if '"t":"clock"' in str(f) else None)
        ws.on("framereceived", lambda f: answered.append(f) if '"t":"clock"' in str(f) else None)

    page.on("websocket", watch)
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Live chat connected", timeout=10_000)
    host.do(
        {"t": "start_auction", "sku": LOT, "start_price": 2000, "increment": 100, "seconds": 60}
    )
    countdown = page.get_by_test_id("auction-countdown")
    expect(countdown).to_contain_text("left")
    expect(countdown).to_have_attribute(
        "title", re.compile(r"reaches the hub in time: your connection takes about \d+ ms\.")
    )
    assert asked and answered, "the page asked the hub's time and heard it"
