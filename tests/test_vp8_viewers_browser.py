"""Debian's Chromium made to offer what a browser without H.264 offers, on the embedded path.

Debian's Firefox ESR has OpenH264 disabled: its offer holds VP8, VP9 and AV1 only. The
page's transceivers get codec preferences without H.264 before it makes its offer (an
init script), so the offer is what such a browser sends, and the page's own code does
the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import Chromium, chromium
from tests.support.live import CAPTURE_PEERS_JS, LiveHub
from tests.test_stream_browser import stats, wait_for_frames

pytestmark = pytest.mark.browser

#: Offer only the video codecs named in ``window.__videoCodecs``.
ONLY_CODECS_JS = """
const nativeAddTransceiver = RTCPeerConnection.prototype.addTransceiver;
RTCPeerConnection.prototype.addTransceiver = function (kind, init) {
  const transceiver = nativeAddTransceiver.call(this, kind, init);
  if (kind === "video") {
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs.filter(
      (c) => window.__videoCodecs.includes(c.mimeType)
    );
    transceiver.setCodecPreferences(codecs);
  }
  return transceiver;
};
"""


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveHub]:
    hub = LiveHub(tmp_path / "data", "360p")
    yield hub
    hub.close()


def open_viewer_offering(browsers: Chromium, url: str, *mime_types: str) -> Page:
    context = browsers.profile()
    context.add_init_script(f"window.__videoCodecs = {list(mime_types)!r};")
    context.add_init_script(CAPTURE_PEERS_JS)
    context.add_init_script(ONLY_CODECS_JS)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    return page


def test_a_browser_without_h264_plays_the_show_in_vp8(live: LiveHub, browsers: Chromium) -> None:
    page = open_viewer_offering(
        browsers, live.hub.viewer_url, "video/VP8", "video/VP9", "video/AV1", "video/rtx"
    )
    first = wait_for_frames(page, timeout=20)
    time.sleep(1)
    later = stats(page)
    assert later["frames"] > first["frames"], "frames keep being decoded"
    assert (later["width"], later["height"]) == (640, 360)
    expect(page.get_by_test_id("stream-state")).to_be_hidden()
    assert live.broadcast.vp8_encoder is not None


def test_a_browser_with_neither_h264_nor_vp8_says_why_there_is_no_video(
    live: LiveHub, browsers: Chromium
) -> None:
    page = open_viewer_offering(browsers, live.hub.viewer_url, "video/VP9", "video/AV1")
    state = page.get_by_test_id("stream-state")
    expect(state).to_contain_text("The video could not start", timeout=20_000)
    expect(state).to_contain_text(
        "The browser cannot play H.264 (constrained baseline) or VP8 video; "
        "use an up-to-date Chrome, Edge, Firefox or Safari."
    )
    assert live.broadcast.viewer_count == 0
    assert live.broadcast.vp8_encoder is None
