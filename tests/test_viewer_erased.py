"""A viewer's deletion as other viewers' open pages see it: re-signed at once, no badge.

Debian's Chromium against the real ``python -m console hub`` subprocess; the viewer who
buys, comments and deletes their data speaks the protocol over a plain WebSocket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from websockets.sync.client import ClientConnection, connect

from tests.support.browser import (
    Chromium,
    HubProcess,
    requires_chromium,
    running_hub,
    strict_chromium,
)
from tests.test_shop_hub import BUYER
from tests.test_viewer_page import expect_connected
from tests.test_viewer_team import Team, team_session

pytestmark = [pytest.mark.browser, requires_chromium]

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


class Viewer(Team):
    """A viewer's page spoken with a plain WebSocket: its id, its key, its name."""

    def __init__(self, ws: ClientConnection, viewer_id: str, name: str) -> None:
        self.ws = ws
        self.backlog: list[dict] = []
        hello = {"t": "hello", "v": 1, "role": "viewer", "viewer_id": viewer_id, "name": name}
        ws.send(json.dumps({**hello, "key": "key-for-" + viewer_id}))
        self.welcome = self.next_message(lambda m: m["t"] in ("welcome", "error"))
        assert self.welcome["t"] == "welcome", self.welcome


def test_open_pages_sign_a_deleted_viewers_comments_at_once_without_the_owner_badge(
    hub: HubProcess, browsers: Chromium, host: Team
) -> None:
    [product, *_] = host.do({"t": "catalogue"})["products"]
    host.do({"t": "pin", "product": product["id"]})
    bob = browsers.page(hub.url)
    expect_connected(bob)

    with connect(hub.ws_url) as ws:
        ann = Viewer(ws, "ann-viewer-41", "Ann")
        purchase = {"t": "buy", "key": "erased-key-01", "sku": product["variants"][0]["sku"]}
        ann.do({**purchase, "quantity": 1, "buyer": BUYER, "payment": "4242 4242 4242 4242"})
        ann.do({"t": "comment", "text": "Love mine, ask me anything"})
        item = bob.get_by_test_id("chat-item").filter(has_text="Love mine, ask me anything")
        expect(item.get_by_test_id("chat-author")).to_have_text("Ann", timeout=WAIT)
        expect(item.get_by_test_id("owner-badge")).to_have_count(1)

        ann.do({"t": "delete_me"})

    # No reload: Bob's open page re-signs the comment as soon as the hub says so.
    expect(item.get_by_test_id("chat-author")).to_have_text("deleted viewer", timeout=WAIT)
    expect(item.get_by_test_id("owner-badge")).to_have_count(0)
    expect(item.locator(".avatar")).to_have_text("D")
    # A page opened afterwards reads the stored history: the same, without the badge.
    bob.reload()
    expect_connected(bob)
    expect(item.get_by_test_id("chat-author")).to_have_text("deleted viewer", timeout=WAIT)
    expect(item.get_by_test_id("owner-badge")).to_have_count(0)
