"""Going live from a console joined to a headless SFU hub, through a real Janus.

The host's console runs on another machine than the hub (``--connect URL --token
HOST``) and has no WHIP settings: the hub (``--sfu-whip``) hands it the endpoint and
its token in the welcome; the console publishes there when it goes live, the hub marks
the show live once Janus has the publisher, and a viewer who opens the page mid-show
watches; when the console stops publishing, the show ends. All in a network namespace
with the SFU the other end-to-end tests use (tests/test_sfu_janus.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import strict_chromium
from tests.support.live import CAPTURE_PEERS_JS
from tests.test_sfu_janus import (
    PAGE_STATS_JS,
    ROOT,
    Show,
    require_janus_js,
    show_in_namespace,  # noqa: F401 (the fixture)
)


def start_hub(running: Show, janus_api: str, whip: str) -> tuple[str, str]:
    """``python -m console hub --sfu … --sfu-whip …``: its viewer page and host token."""
    argv = running.namespace.argv(
        sys.executable, "-m", "console", "hub", "--sfu", janus_api, "--sfu-whip", whip,
        "--data-dir", str(running.folder / "hub"), "--port", "0", "--print-token",
    )  # fmt: skip
    with (running.folder / "hub.log").open("w") as errors:
        hub = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
    running.processes.append(hub)
    assert hub.stdout is not None
    said: dict[str, str] = {}
    while "Viewer page" not in said or "Host token" not in said:
        line = hub.stdout.readline()
        assert line, f"the hub stopped before it was ready:\n{running.logs()}"
        name, _, value = line.partition(": ")
        said[name] = value.strip()
    return said["Viewer page"], said["Host token"]


def start_remote_console(running: Show, hub_ws: str, token: str) -> subprocess.Popen[str]:
    """The host's console joined to the hub, live, with no WHIP endpoint of its own."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONUNBUFFERED": "1",
        "XDG_CONFIG_HOME": str(running.folder / "config"),
    }
    for name in ("SHOPCAST_ICE_HOSTS", "SHOPCAST_WHIP_TOKEN"):
        env.pop(name, None)
    argv = running.namespace.argv(
        sys.executable, "-m", "console", "--connect", hub_ws, "--token", token, "--live",
        "--source", "test", "--audio", "tone", "--ice-hosts", running.namespace.client,
    )  # fmt: skip
    with (running.folder / "console.log").open("w") as output:
        console = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
    running.processes.append(console)
    return console


@pytest.mark.browser
def test_a_host_console_joined_by_connect_goes_live_through_janus_with_the_hubs_endpoint(
    show_in_namespace: Show,  # noqa: F811
    tmp_path: Path,
) -> None:
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    viewer_page, token = start_hub(running, said["Janus API"].split()[0], said["WHIP endpoint"])
    hub_ws = viewer_page.replace("http://", "ws://") + "ws"
    console = start_remote_console(running, hub_ws, token)
    log = running.folder / "console.log"
    running.wait_for(
        "the hub mark the show live (Janus has the console's publisher)",
        lambda: (
            True
            if "the show's publisher is in the room" in (running.folder / "hub.log").read_text()
            else None
        ),
    )
    assert f"publishing by WHIP to {said['WHIP endpoint']}" in log.read_text()
    with contextlib.ExitStack() as stack:
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS)
        page = context.pages[0] if context.pages else context.new_page()
        # Opened mid-show: the picture comes without waiting for a go-live event.
        page.goto(viewer_page)

        def decoding() -> dict[str, Any] | None:
            found: dict[str, Any] = page.evaluate(PAGE_STATS_JS)
            return found if found["frames"] > 0 and found["audio"] > 0 else None

        running.wait_for("the mid-show viewer decode video through Janus", decoding)
        assert page.evaluate(PAGE_STATS_JS)["width"] == 1280
        state = page.get_by_test_id("stream-state")

        console.send_signal(signal.SIGTERM)
        assert console.wait(15) == 0, running.logs()
        running.processes.remove(console)
        running.wait_for(
            "the page say the show ended when the console left Janus",
            lambda: True if state.is_visible() and "ended" in state.inner_text() else None,
        )
