"""The viewer page, in Chromium, when its network already brought the most new viewers a
minute may: it says so and waits as long as the hub asks, instead of knocking again."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from console.domain.limits import NEW_IDS_PER_MINUTE
from tests.support.browser import Chromium, HubProcess, chromium, requires_chromium, running_hub

pytestmark = [pytest.mark.browser, requires_chromium]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(tmp_path / "hub-data") as running:
        yield running


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


def test_a_page_past_the_new_viewers_limit_of_its_network_says_so_and_waits(
    hub: HubProcess, browsers: Chromium
) -> None:
    for _ in range(NEW_IDS_PER_MINUTE):  # other new viewers on 127.0.0.1 this minute
        viewer_id = "filler-" + uuid.uuid4().hex
        with connect(hub.ws_url) as ws:
            ws.send(json.dumps({"t": "hello", "v": 1, "viewer_id": viewer_id}))
            assert json.loads(ws.recv())[0]["t"] == "welcome"
    page = browsers.page(hub.url)
    status = page.get_by_test_id("status")
    expect(status).to_have_text(
        re.compile(r"^Many new viewers are joining from your network\. Joining in (5\d|60) s…$"),
        timeout=10_000,
    )
