"""The live stream in Debian's Chromium: real WebRTC over 127.0.0.1, decoded by the page.

The hub and the shared encoders run in this process on a thread of their own, so the
tests can look inside (peer connections, keyframes) while Playwright drives the pages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import Chromium, chromium
from tests.support.live import CAPTURE_PEERS_JS, LiveHub

pytestmark = pytest.mark.browser

STATS_JS = """async () => {
  const video = document.querySelector('[data-testid=stream]');
  const out = {width: video.videoWidth, height: video.videoHeight, frames: 0, samples: 0};
  const pc = window.__peers[window.__peers.length - 1];
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.frames = r.framesDecoded || 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.samples = r.totalSamplesReceived || 0;
  });
  return out;
}"""


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Chromium]:
    with chromium(tmp_path / "profiles") as opened:
        yield opened


def live_hub(tmp_path: Path, preset: str = "360p") -> LiveHub:
    return LiveHub(tmp_path / "data", preset)


def open_viewer(browsers: Chromium, url: str) -> Page:
    context = browsers.profile()
    context.add_init_script(CAPTURE_PEERS_JS)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    return page


def stats(page: Page) -> dict[str, int]:
    return page.evaluate(STATS_JS)


def wait_for_frames(page: Page, at_least: int = 1, timeout: float = 10.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        current = stats(page)
        if current["frames"] >= at_least:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"no decoded video after {timeout} s: {current}")
        time.sleep(0.05)


def test_viewer_plays_live_video_and_audio_at_the_chosen_resolution(
    tmp_path: Path, browsers: Chromium
) -> None:
    live = live_hub(tmp_path, "720p")
    try:
        page = open_viewer(browsers, live.hub.viewer_url)
        first = wait_for_frames(page)
        time.sleep(1.5)
        later = stats(page)
        assert (later["width"], later["height"]) == (1280, 720)
        assert later["frames"] > first["frames"] + 10, "frames keep being decoded"
        assert later["samples"] > 0, "audio arrives"
        expect(page.get_by_test_id("stream-state")).to_be_hidden()
        expect(page.get_by_test_id("unmute")).to_be_visible()
        page.get_by_test_id("unmute").click()
        assert page.evaluate("document.querySelector('[data-testid=stream]').muted") is False
        negotiated = live.call(_negotiated_video_codec(live))
        assert negotiated == "video/H264"
    finally:
        live.close()


async def _negotiated_video_codec(live: LiveHub) -> str:
    viewer = next(iter(live.broadcast._viewers.values()))
    for transceiver in viewer.pc.getTransceivers():
        if transceiver.kind == "video":
            # The codec negotiated, and the packer aiortc uses for our packets, must agree.
            packer = type(transceiver.sender._RTCRtpSender__encoder).__name__  # type: ignore[attr-defined]
            assert packer == "H264Encoder", packer
            return transceiver._codecs[0].mimeType
    return ""


def test_viewer_joining_later_gets_a_picture_at_once(tmp_path: Path, browsers: Chromium) -> None:
    live = live_hub(tmp_path)
    try:
        early = open_viewer(browsers, live.hub.viewer_url)
        wait_for_frames(early)
        time.sleep(10)
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS)
        late = context.pages[0] if context.pages else context.new_page()
        before = live.keyframes
        started = time.monotonic()
        late.goto(live.hub.viewer_url)
        wait_for_frames(late, timeout=10)
        took = time.monotonic() - started
        assert live.keyframes > before, "the shared encoder made a keyframe for the newcomer"
        assert took < 2.0, f"first picture took {took:.2f} s after the page opened"
        assert stats(early)["frames"] > 250, "the first viewer kept playing"
    finally:
        live.close()


def test_a_viewer_that_vanishes_is_cleaned_up(tmp_path: Path, browsers: Chromium) -> None:
    live = live_hub(tmp_path)
    try:
        page = open_viewer(browsers, live.hub.viewer_url)
        context = page.context
        wait_for_frames(page)
        stayer = open_viewer(browsers, live.hub.viewer_url)
        wait_for_frames(stayer)
        assert live.broadcast.viewer_count == 2
        tasks_with_two = live.call(_task_count())
        browsers.close(context)  # the browser goes away without ending the call
        deadline = time.monotonic() + 10
        while live.broadcast.viewer_count != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.broadcast.viewer_count == 1
        time.sleep(0.5)
        assert live.call(_task_count()) < tasks_with_two, "its tasks ended with it"
        before = stats(stayer)["frames"]
        time.sleep(1)
        assert stats(stayer)["frames"] > before, "the other viewer still plays"
    finally:
        live.close()


async def _task_count() -> int:
    return len(asyncio.all_tasks())


def test_viewers_see_when_the_stream_ends(tmp_path: Path, browsers: Chromium) -> None:
    live = live_hub(tmp_path)
    try:
        page = open_viewer(browsers, live.hub.viewer_url)
        wait_for_frames(page)
        live.call(live.set_live(False))
        expect(page.get_by_test_id("stream-state")).to_contain_text("The stream has ended")
        assert live.broadcast.viewer_count == 0
        live.call(live.set_live(True))
        wait_for_frames(page, timeout=10)
        expect(page.get_by_test_id("stream-state")).to_be_hidden()
    finally:
        live.close()
