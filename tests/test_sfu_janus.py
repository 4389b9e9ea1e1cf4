"""A big show's SFU: the generated configuration, then a real Janus the console publishes to.

The configuration tests need no Janus: they read the generated text as Janus would. The
end-to-end tests run ``python -m console.sfu`` (Janus and simple-whip-server, as
``tools/sfu/setup.sh`` installs them) and the console with the test pattern, live, in a
network namespace of its own (tests/support/netns.py), and ask Janus itself, over its
API and its admin API, what it receives; the last one runs the headless hub with
``--sfu`` too, and the hub's own viewer page watches through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Error as PlaywrightError

from console.sfu.config import (
    DEFAULT_ENDPOINT,
    DEFAULT_JANUS_ADMIN_PORT,
    JanusInstall,
    SfuConfigError,
    SfuSecrets,
    SfuSettings,
    check,
    janus_files,
    publish_url,
    whip_endpoint,
    whip_server_config,
)
from console.sfu.janus import JanusConnection, JanusError, room_participants, videoroom_handles
from console.sfu.run import DEFAULT_WHIP_SERVER, WHIP_SERVER_ENV
from media.httpclient import request
from tests.support.browser import CHROMIUM, strict_chromium
from tests.support.live import CAPTURE_PEERS_JS
from tests.support.netns import Namespace, network_namespace
from tests.support.system import missing_package

ROOT = Path(__file__).resolve().parent.parent
SECRETS = SfuSecrets("api-s3cret", "admin-s3cret", "room-s3cret", "whip-t0ken")
INSTALL = JanusInstall(
    "/usr/lib/x86_64-linux-gnu/janus",
    plugins=("libjanus_echotest.so", "libjanus_streaming.so", "libjanus_videoroom.so"),
    transports=("libjanus_http.so", "libjanus_websockets.so"),
    loggers=("libjanus_jsonlog.so",),
)
#: How long the end-to-end test waits for Janus to see what it waits for: a wait, not
#: a measure (on this machine the publisher is there within about a second).
PATIENCE = 60.0
T = TypeVar("T")
#: Janus's admin API as console.sfu sets it up (on this machine, where the test steps in).
ADMIN_API = f"ws://127.0.0.1:{DEFAULT_JANUS_ADMIN_PORT}"
#: Debian's janus.js and adapter.js (libjs-janus-gateway, libjs-webrtc-adapter).
JAVASCRIPT = Path("/usr/share/javascript")
#: The test's viewer page, served on loopback in the namespace.
VIEWER_PORT = "8099"
VIEWER = f"http://127.0.0.1:{VIEWER_PORT}/"
#: A page that watches the show through Janus's VideoRoom with Debian's janus.js: it
#: joins as a subscriber of the publisher, answers Janus's offer (Janus always offers to
#: subscribers), and plays what comes; ``inbound`` reads the receiver's statistics.
VIEWER_PAGE = """<!doctype html>
<video id="video" autoplay muted playsinline></video>
<script src="adapter.js"></script>
<script src="janus.js"></script>
<script>
let handle = null;
window.watch = (server, apisecret, room, feed) => new Promise((resolve, reject) => {
  const dependencies = Janus.useDefaultDependencies({adapter});
  Janus.init({debug: false, dependencies, callback: () => {
    const janus = new Janus({server, apisecret, error: reject, success: () => {
      janus.attach({
        plugin: "janus.plugin.videoroom",
        error: reject,
        success: (attached) => {
          handle = attached;
          handle.send({message: {request: "join", room, ptype: "subscriber", streams: [{feed}]}});
        },
        onmessage: (message, jsep) => {
          if (message.error) reject(new Error(message.error));
          if (!jsep) return;
          handle.createAnswer({jsep, tracks: [], error: reject, success: (answer) => {
            handle.send({message: {request: "start", room}, jsep: answer});
            resolve();
          }});
        },
        onremotetrack: (track, mid, added) => {
          if (added && track.kind === "video") {
            document.getElementById("video").srcObject = new MediaStream([track]);
          }
        },
      });
    }});
  }});
});
window.inbound = async () => {
  const found = {};
  if (!handle || !handle.webrtcStuff.pc) return found;
  (await handle.webrtcStuff.pc.getStats()).forEach((report) => {
    if (report.type !== "inbound-rtp") return;
    found[report.kind] = {
      frames: report.framesDecoded || 0, width: report.frameWidth || 0,
      height: report.frameHeight || 0, packets: report.packetsReceived || 0,
    };
  });
  return found;
};
</script>
"""


def jcfg(text: str) -> dict[str, dict[str, str]]:
    """Janus's libconfig text as sections of raw values (strings unquoted)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if match := re.fullmatch(r"([\w-]+): \{", line):
            current = sections.setdefault(match.group(1), {})
        elif match := re.fullmatch(r"\t(\w+) = (.*)", line):
            raw = match.group(2)
            current[match.group(1)] = json.loads(raw) if raw.startswith('"') else raw
        else:
            assert line == "}", f"not libconfig as Janus writes it: {line!r}"
    return sections


def show(**changes: Any) -> SfuSettings:
    return SfuSettings(**{"media_address": "203.0.113.7", "secrets": SECRETS, **changes})


def test_the_shows_room_takes_h264_vp8_and_opus_behind_its_secret() -> None:
    files = janus_files(show(room=777, title='Ann\'s "big" sale \\ today'), INSTALL, "/srv/sfu")
    videoroom = jcfg(files["janus.plugin.videoroom.jcfg"])
    room = videoroom["room-777"]
    assert (room["videocodec"], room["audiocodec"]) == ("h264,vp8", "opus")
    assert room["secret"] == "room-s3cret"
    assert videoroom["general"]["admin_key"] == "room-s3cret"
    assert room["description"] == 'Ann\'s "big" sale \\ today'


def test_janus_offers_media_on_the_show_address_only_and_its_api_stays_on_this_machine() -> None:
    files = janus_files(show(rtp_ports=(30000, 30999)), INSTALL, "/srv/sfu")
    janus = jcfg(files["janus.jcfg"])
    assert janus["nat"]["ice_enforce_list"] == "203.0.113.7"
    assert janus["general"]["interface"] == "203.0.113.7"
    assert "stun_server" not in janus["nat"]
    assert "nat_1_1_mapping" not in janus["nat"]
    assert janus["media"]["rtp_port_range"] == "30000-30999"
    assert janus["general"]["configs_folder"] == "/srv/sfu"
    assert janus["general"]["api_secret"] == "api-s3cret"
    assert janus["general"]["admin_secret"] == "admin-s3cret"
    websockets = jcfg(files["janus.transport.websockets.jcfg"])
    assert websockets["general"]["ws_ip"] == websockets["admin"]["admin_ws_ip"] == "127.0.0.1"
    assert websockets["admin"]["admin_ws"] == "true"


def test_janus_loads_the_videoroom_and_websockets_only() -> None:
    janus = jcfg(janus_files(show(), INSTALL, "/srv/sfu")["janus.jcfg"])
    assert janus["plugins"]["disable"] == "libjanus_echotest.so,libjanus_streaming.so"
    assert janus["transports"]["disable"] == "libjanus_http.so"
    assert janus["loggers"]["disable"] == "libjanus_jsonlog.so"
    assert janus["general"]["plugins_folder"] == "/usr/lib/x86_64-linux-gnu/janus/plugins"


def test_behind_a_cloud_nat_the_public_address_is_in_the_candidates_and_the_whip_url() -> None:
    settings = show(media_address="10.0.0.5", public_address="198.51.100.9", whip_port=7443)
    janus = jcfg(janus_files(settings, INSTALL, "/srv/sfu")["janus.jcfg"])
    assert janus["nat"]["nat_1_1_mapping"] == "198.51.100.9"
    assert janus["nat"]["ice_enforce_list"] == "10.0.0.5"
    assert publish_url(settings) == "http://198.51.100.9:7443/whip/endpoint/show"


def test_the_whip_server_speaks_to_janus_with_its_secret_and_takes_the_shows_token() -> None:
    text = whip_server_config(show(janus_port=9001, whip_port=7091))
    config = json.loads(text.removeprefix("module.exports = ").removesuffix(";\n"))
    assert config["janus"] == {"address": "ws://127.0.0.1:9001", "apiSecret": "api-s3cret"}
    assert config["port"] == 7091
    endpoint = whip_endpoint(show(room=777))
    assert (endpoint["room"], endpoint["token"], endpoint["secret"]) == (
        777,
        "whip-t0ken",
        "room-s3cret",
    )


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"rtp_ports": (40000, 20000)}, "RTP port range 40000-20000"),
        ({"rtp_ports": (80, 90)}, "unprivileged"),
        ({"whip_port": 8288}, "three different ports"),
        ({"media_address": ""}, "--ice-hosts"),
        ({"secrets": SfuSecrets("", "a", "b", "c")}, "secret"),
    ],
)
def test_settings_janus_cannot_run_with_are_refused_in_words(
    changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(SfuConfigError, match=re.escape(says)):
        check(show(**changes))


# The end-to-end test: a real Janus, the console live, in a namespace.


def whip_server_folder() -> Path:
    return Path(os.environ.get(WHIP_SERVER_ENV, DEFAULT_WHIP_SERVER))


def require_sfu() -> None:
    installed = (
        shutil.which("janus")
        and shutil.which("node")
        and (whip_server_folder() / "src" / "server.js").exists()
    )
    if not installed:
        pytest.skip(
            missing_package("Janus or simple-whip-server", "janus; then sudo tools/sfu/setup.sh")
        )


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(none)"


class Show:
    """The SFU and the console, running in ``namespace``; their logs in ``folder``."""

    def __init__(self, namespace: Namespace, folder: Path) -> None:
        self.namespace = namespace
        self.folder = folder
        self.sfu_folder = folder / "hub" / "sfu"
        self.processes: list[subprocess.Popen[str]] = []

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{tail(path)}"
            for path in (
                self.folder / "sfu.err",
                self.sfu_folder / "janus.log",
                self.sfu_folder / "whip-server.log",
                self.folder / "console.log",
                self.folder / "hub.log",
            )
        )

    def start_sfu(self) -> dict[str, str]:
        """``python -m console.sfu`` for the namespace's server address; what it says."""
        argv = self.namespace.argv(
            sys.executable, "-m", "console.sfu", "--ice-hosts", self.namespace.server,
            "--data-dir", str(self.folder / "hub"), "--rtp-ports", "20000-20099",
            "--whip-server", str(whip_server_folder()), "--print-token",
        )  # fmt: skip
        with (self.folder / "sfu.err").open("w") as errors:
            sfu = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
        self.processes.append(sfu)
        self.sfu = sfu
        assert sfu.stdout is not None
        said: dict[str, str] = {}
        while "Janus API" not in said:
            line = sfu.stdout.readline()
            assert line, f"the SFU stopped before it was ready:\n{self.logs()}"
            name, _, value = line.partition(": ")
            said[name] = value.strip()
        return said

    def start_hub(self, janus_api: str) -> str:
        """``python -m console hub --sfu`` on the SFU's data folder; its viewer page."""
        argv = self.namespace.argv(
            sys.executable, "-m", "console", "hub", "--sfu", janus_api,
            "--data-dir", str(self.folder / "hub"), "--port", "0",
        )  # fmt: skip
        with (self.folder / "hub.log").open("w") as errors:
            hub = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
        self.processes.append(hub)
        assert hub.stdout is not None
        while True:
            line = hub.stdout.readline()
            assert line, f"the hub stopped before it was ready:\n{self.logs()}"
            if line.startswith("Viewer page: "):
                return line.removeprefix("Viewer page: ").strip()

    def start_console(self, whip_url: str, token: str, *extra: str) -> subprocess.Popen[str]:
        """The console live with the test pattern, publishing to ``whip_url``; ``extra``
        flags after the others (``--preset 360p``, ``--no-whip-vp8``)."""
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONUNBUFFERED": "1",
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "SHOPCAST_WHIP_TOKEN": token,
        }
        env.pop("SHOPCAST_ICE_HOSTS", None)
        argv = self.namespace.argv(
            sys.executable, "-m", "console", "--live", "--source", "test", "--audio", "tone",
            "--whip", whip_url, "--ice-hosts", self.namespace.client, "--port", "0",
            "--data-dir", str(self.folder / "console"), *extra,
        )  # fmt: skip
        with (self.folder / "console.log").open("w") as output:
            console = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
            )
        self.processes.append(console)
        return console

    def ask(self, question: Callable[[], Any]) -> Any:
        """Run ``question`` (a coroutine function) in the namespace, where Janus listens."""
        with self.namespace.inside():
            return asyncio.run(question())

    def wait_for(self, what: str, probe: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + PATIENCE
        while (found := probe()) is None:
            for process in self.processes:
                assert process.poll() is None, f"{process.args[4:7]} stopped:\n{self.logs()}"
            assert time.monotonic() < deadline, f"never saw {what}:\n{self.logs()}"
            time.sleep(0.2)
        return found

    def program(self, name: str) -> int | None:
        """The pid of the program called ``name`` (``janus``, ``node``) in the namespace."""
        listed = subprocess.run(
            ["ip", "netns", "pids", self.namespace.name], capture_output=True, text=True
        )
        for pid in map(int, listed.stdout.split()):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    return pid
        return None

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


@pytest.fixture
def show_in_namespace(tmp_path: Path) -> Iterator[Show]:
    require_sfu()
    with network_namespace() as namespace:
        running = Show(namespace, tmp_path)
        try:
            yield running
        finally:
            running.stop()


def publisher_media(info: dict[str, Any]) -> dict[str, Any] | None:
    """What Janus's admin API says of a publisher's handle: ICE, DTLS, codecs, packets."""
    plugin = info.get("plugin_specific", {})
    if plugin.get("type") != "publisher":
        return None
    webrtc = info.get("webrtc", {})
    # Janus 1.x lists media by mid, each with its type; the codec names a stream.
    media = {
        str(medium.get("codecs", {}).get("codec")): medium
        for medium in webrtc.get("media", {}).values()
    }
    return {
        "ice": webrtc.get("ice", {}).get("state"),
        "dtls": webrtc.get("dtls", {}).get("dtls-state"),
        "codecs": sorted(stream.get("codec") for stream in plugin.get("streams", [])),
        "received": sorted(media),
        "packets": {
            codec: medium.get("stats", {}).get("in", {}).get("packets", 0)
            for codec, medium in media.items()
        },
    }


def test_the_console_live_publishes_h264_vp8_and_opus_to_janus_by_whip(
    show_in_namespace: Show,
) -> None:
    running = show_in_namespace
    said = running.start_sfu()
    assert said["WHIP endpoint"] == f"http://{running.namespace.server}:7090/whip/endpoint/show"
    secrets = json.loads((running.sfu_folder / "secrets.json").read_text())
    assert said["WHIP token"] == secrets["whip_token"]
    console = running.start_console(said["WHIP endpoint"], said["WHIP token"])

    def publishers() -> list[dict[str, Any]]:
        return [
            person
            for person in running.ask(
                lambda: room_participants(said["Janus API"].split()[0], secrets["api_secret"], 4321)
            )
            if person.get("publisher")
        ]

    def media() -> dict[str, Any] | None:
        handles = running.ask(lambda: videoroom_handles(ADMIN_API, secrets["admin_secret"]))
        found = [m for m in map(publisher_media, handles) if m is not None]
        return found[0] if found else None

    def receiving() -> dict[str, Any] | None:
        found = media()
        return found if found and all(found["packets"].values()) else None

    running.wait_for("a publisher in the show's room", lambda: publishers() or None)
    first = running.wait_for("the publisher's H.264, VP8 and Opus", receiving)
    assert first["dtls"] == "connected"
    assert first["ice"] == "ready"
    assert first["codecs"] == first["received"] == ["h264", "opus", "vp8"]
    later = running.wait_for(
        "more video and audio packets",
        lambda: (
            m
            if (m := media()) and all(m["packets"][k] > first["packets"][k] for k in m["packets"])
            else None
        ),
    )
    assert later["packets"]["vp8"] > 0

    console.send_signal(signal.SIGTERM)
    assert console.wait(15) == 0, running.logs()
    running.processes.remove(console)
    running.wait_for("the publisher leave", lambda: True if not publishers() else None)

    running.sfu.send_signal(signal.SIGTERM)
    assert running.sfu.wait(15) == 0, running.logs()
    left = subprocess.run(
        ["ip", "netns", "pids", running.namespace.name], capture_output=True, text=True
    )
    assert left.stdout.split() == [], "the SFU left Janus or the WHIP server running"


def test_janus_or_the_whip_server_stopping_is_started_again_with_the_room_and_endpoint(
    show_in_namespace: Show,
) -> None:
    running = show_in_namespace
    said = running.start_sfu()
    secrets = json.loads((running.sfu_folder / "secrets.json").read_text())

    async def room_and_endpoint() -> bool:
        await room_participants(said["Janus API"].split()[0], secrets["api_secret"], 4321)
        endpoints = await request("GET", "http://127.0.0.1:7090/whip/endpoints")
        return "show" in [endpoint["id"] for endpoint in json.loads(endpoints.body)]

    def ready() -> bool | None:
        try:
            return running.ask(room_and_endpoint) or None
        except (JanusError, OSError, ValueError):
            return None

    for name in ("janus", "node"):
        first = running.program(name)
        assert first is not None, f"no {name} runs:\n{running.logs()}"
        os.kill(first, signal.SIGKILL)
        running.wait_for(
            f"{name} started again",
            lambda name=name, first=first: (
                pid if (pid := running.program(name)) not in (None, first) else None
            ),
        )
        running.wait_for(f"the room and the endpoint after {name} stopped", ready)


def require_janus_js() -> None:
    if not CHROMIUM.exists():
        pytest.skip(missing_package(f"Debian's Chromium ({CHROMIUM})", "chromium"))
    if not (JAVASCRIPT / "janus-gateway" / "janus.js").exists():
        pytest.skip(
            missing_package("Debian's janus.js", "libjs-janus-gateway libjs-webrtc-adapter")
        )


@pytest.mark.browser
def test_a_viewer_watching_through_janus_decodes_the_720p_show_at_full_rate_with_audio(
    show_in_namespace: Show, tmp_path: Path
) -> None:
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    secrets = json.loads((running.sfu_folder / "secrets.json").read_text())
    running.start_console(said["WHIP endpoint"], said["WHIP token"])
    api = said["Janus API"].split()[0]
    publisher = running.wait_for(
        "a publisher in the show's room",
        lambda: next(
            (
                person
                for person in running.ask(
                    lambda: room_participants(api, secrets["api_secret"], 4321)
                )
                if person.get("publisher")
            ),
            None,
        ),
    )
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(VIEWER_PAGE)
    (site / "janus.js").symlink_to(JAVASCRIPT / "janus-gateway" / "janus.js")
    (site / "adapter.js").symlink_to(JAVASCRIPT / "webrtc-adapter" / "adapter.js")
    # Served for real, on loopback: a page Playwright makes up has no address, and
    # Chromium blocks its WebSocket to loopback (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
    server = subprocess.Popen(
        running.namespace.argv(
            sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
            str(site), VIEWER_PORT,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    running.processes.append(server)
    with contextlib.ExitStack() as stack:
        # Playwright's driver, and the Chromium it starts, in the namespace: Janus's
        # media is offered on the namespace's address only.
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        page = context.pages[0] if context.pages else context.new_page()

        def opened() -> bool | None:
            try:
                page.goto(VIEWER)
            except PlaywrightError:
                return None  # the page's server is not listening yet
            return True

        running.wait_for("the viewer page", opened)
        page.evaluate(
            "([server, secret, room, feed]) => watch(server, secret, room, feed)",
            [api, secrets["api_secret"], 4321, publisher["id"]],
        )

        def decoding() -> dict[str, Any] | None:
            found = page.evaluate("inbound()")
            video = found.get("video", {})
            return found if video.get("frames", 0) > 0 and "audio" in found else None

        first = running.wait_for("the viewer decode video", decoding)
        page_rate = page.evaluate(MEDIA_RATE_JS, "#video")
        later = page.evaluate("inbound()")
    video, audio = later["video"], later["audio"]
    assert (video["width"], video["height"]) == (1280, 720)
    assert video["frames"] > first["video"]["frames"], "the picture froze"
    assert_full_rate(page_rate)
    assert audio["packets"] > first["audio"]["packets"]


#: Frames the page presented over 3 s of the stream's own clock (RTP, 90 kHz), read by
#: ``requestVideoFrameCallback``: the rate the stream carries, not how fast a loaded
#: machine let the page's loop look (a wall-clock window read 23.9 frames/s under CI).
MEDIA_RATE_JS = """(selector) => new Promise((resolve) => {
  const video = document.querySelector(selector);
  let first = null;
  const step = (now, frame) => {
    if (first === null) first = frame;
    const ticks = (frame.rtpTimestamp - first.rtpTimestamp) >>> 0;
    if (ticks >= 3 * 90000) {
      resolve({frames: frame.presentedFrames - first.presentedFrames, seconds: ticks / 90000});
    } else {
      video.requestVideoFrameCallback(step);
    }
  };
  video.requestVideoFrameCallback(step);
})"""


def assert_full_rate(rate: dict[str, float]) -> None:
    """The show's 30 frames/s reach the page through Janus (24 is the issue's floor)."""
    per_second = rate["frames"] / rate["seconds"]
    assert per_second >= 24, f"the page got {per_second:.1f} frames a second of the stream"


#: The hub's viewer page's video: its size, frames decoded and audio packets received.
PAGE_STATS_JS = """async () => {
  const video = document.querySelector('[data-testid=stream]');
  const out = {width: video.videoWidth, height: video.videoHeight, frames: 0, audio: 0};
  const pc = window.__peers[window.__peers.length - 1];
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type !== 'inbound-rtp') return;
    if (r.kind === 'video') out.frames = r.framesDecoded || 0;
    if (r.kind === 'audio') out.audio = r.packetsReceived || 0;
  });
  return out;
}"""


@pytest.mark.browser
def test_the_hubs_viewer_page_watches_the_show_through_janus_brokered_by_the_hub(
    show_in_namespace: Show, tmp_path: Path
) -> None:
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    viewer_page = running.start_hub(said["Janus API"].split()[0])
    console = running.start_console(said["WHIP endpoint"], said["WHIP token"])
    with contextlib.ExitStack() as stack:
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(viewer_page)

        def decoding() -> dict[str, Any] | None:
            found: dict[str, Any] = page.evaluate(PAGE_STATS_JS)
            return found if found["frames"] > 0 and found["audio"] > 0 else None

        first = running.wait_for("the hub's viewer page decode video through Janus", decoding)
        page_rate = page.evaluate(MEDIA_RATE_JS, "[data-testid=stream]")
        later = page.evaluate(PAGE_STATS_JS)
        assert (later["width"], later["height"]) == (1280, 720)
        assert later["frames"] > first["frames"], "the picture froze"
        assert_full_rate(page_rate)
        assert later["audio"] > first["audio"], "audio packets keep arriving"
        state = page.get_by_test_id("stream-state")
        assert state.is_hidden()

        # The console stops publishing: Janus's room has no publisher, the show ended.
        console.send_signal(signal.SIGTERM)
        assert console.wait(15) == 0, running.logs()
        running.processes.remove(console)
        running.wait_for(
            "the page say the show ended",
            lambda: True if state.is_visible() and "ended" in state.inner_text() else None,
        )


@pytest.mark.browser
def test_viewers_get_the_picture_back_by_themselves_when_janus_is_killed_and_restarted(
    show_in_namespace: Show, tmp_path: Path
) -> None:
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    viewer_page = running.start_hub(said["Janus API"].split()[0])
    running.start_console(said["WHIP endpoint"], said["WHIP token"])
    with contextlib.ExitStack() as stack:
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(viewer_page)

        def decoding() -> dict[str, Any] | None:
            found: dict[str, Any] = page.evaluate(PAGE_STATS_JS)
            return found if found["frames"] > 0 else None

        running.wait_for("the page decode video through Janus", decoding)
        peers = page.evaluate("window.__peers.length")
        page.evaluate("() => { window.__not_reloaded = true; }")
        state = page.get_by_test_id("stream-state")

        janus = running.program("janus")
        assert janus is not None
        os.kill(janus, signal.SIGKILL)
        said_then = running.wait_for(
            "the page say it reconnects",
            lambda: (
                text
                if state.is_visible() and "reconnect" in (text := state.inner_text()).lower()
                else None
            ),
        )
        assert "ended" not in said_then

        running.wait_for(
            "the page decode video again, on a new connection",
            lambda: decoding() if page.evaluate("window.__peers.length") > peers else None,
        )
        assert page.evaluate("window.__not_reloaded === true"), "the page was reloaded"
        running.wait_for("the overlay go", lambda: True if state.is_hidden() else None)
        whip = [
            line
            for line in tail(running.folder / "console.log", 400).splitlines()
            if "WHIP" in line
        ]
        assert any("stopped answering" in line for line in whip), whip
        assert any("Publishing again" in line for line in whip), whip


async def kick(api: str, secret: str, room_secret: str, feed: int) -> None:
    """Janus's VideoRoom kicks publisher ``feed`` out of the show's room (a moderator's
    or an operator's act): Janus hangs up its peer connection."""
    async with await JanusConnection.open(api, secret) as janus:
        session = await janus.session()
        try:
            handle = await janus.attach(session)
            body = {"request": "kick", "secret": room_secret, "room": 4321, "id": feed}
            await janus.message(session, handle, body)
        finally:
            await janus.request({"janus": "destroy", "session_id": session})


def test_the_console_publishes_again_when_the_server_ends_its_session_or_janus_kicks_it(
    show_in_namespace: Show,
) -> None:
    running = show_in_namespace
    said = running.start_sfu()
    secrets = json.loads((running.sfu_folder / "secrets.json").read_text())
    api = said["Janus API"].split()[0]
    running.start_console(said["WHIP endpoint"], said["WHIP token"])

    def publisher(other_than: int | None = None) -> int | None:
        feeds = [
            int(person["id"])
            for person in running.ask(lambda: room_participants(api, secrets["api_secret"], 4321))
            if person.get("publisher")
        ]
        return next((feed for feed in feeds if feed != other_than), None)

    def whip_log() -> list[str]:
        log = tail(running.folder / "console.log", 1000).splitlines()
        return [line for line in log if "WHIP" in line and "aioice" not in line]

    first = running.wait_for("a publisher in the show's room", publisher)
    # The server ends the session: simple-whip-server's DELETE of the resource, as its
    # operator sends it; Janus hangs the publisher up.
    resource = f"http://127.0.0.1:7090/whip/resource/{DEFAULT_ENDPOINT}"
    headers = {"Authorization": f"Bearer {said['WHIP token']}"}
    deleted = running.ask(lambda: request("DELETE", resource, headers))
    assert deleted.status == 200
    second = running.wait_for("the console publish again", lambda: publisher(other_than=first))
    ended = [line for line in whip_log() if "ended the session" in line]
    assert ended and "Publishing again" in ended[0], whip_log()

    # Janus kicks the publisher out of the room.
    running.ask(lambda: kick(api, secrets["api_secret"], secrets["room_secret"], second))
    running.wait_for("the console publish after the kick", lambda: publisher(other_than=second))
    assert len([line for line in whip_log() if "ended the session" in line]) == 2, whip_log()
    assert "publishing" in whip_log()[-1], "the last word is that it publishes again"


#: A page that decodes like a browser without H.264 (Debian's Firefox ESR): its video
#: transceivers take VP8, VP9 and AV1 only, in the offer it makes to learn what it decodes
#: and in its answer once Janus's offer is set.
NO_H264_JS = """
const withoutH264 = () => RTCRtpReceiver.getCapabilities("video").codecs.filter(
  (c) => ["video/VP8", "video/VP9", "video/AV1"].includes(c.mimeType)
);
const nativeAddTransceiver = RTCPeerConnection.prototype.addTransceiver;
RTCPeerConnection.prototype.addTransceiver = function (kind, ...rest) {
  const transceiver = nativeAddTransceiver.call(this, kind, ...rest);
  if (kind === "video") transceiver.setCodecPreferences(withoutH264());
  return transceiver;
};
const nativeSetRemote = RTCPeerConnection.prototype.setRemoteDescription;
RTCPeerConnection.prototype.setRemoteDescription = async function (...args) {
  await nativeSetRemote.apply(this, args);
  for (const transceiver of this.getTransceivers()) {
    if (transceiver.receiver.track.kind === "video") {
      transceiver.setCodecPreferences(withoutH264());
    }
  }
};
"""
#: The codec of the video the hub's viewer page decodes (its last peer connection's).
VIDEO_CODEC_JS = """async () => {
  const pc = window.__peers[window.__peers.length - 1];
  const stats = await pc.getStats();
  let codec = null;
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video' && r.codecId) {
      codec = stats.get(r.codecId).mimeType;
    }
  });
  return codec;
}"""


@pytest.mark.browser
def test_a_browser_that_cannot_play_h264_watches_the_vp8_stream_the_console_publishes(
    show_in_namespace: Show, tmp_path: Path
) -> None:
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    viewer_page = running.start_hub(said["Janus API"].split()[0])
    running.start_console(said["WHIP endpoint"], said["WHIP token"], "--preset", "360p")
    with contextlib.ExitStack() as stack:
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        context.add_init_script(CAPTURE_PEERS_JS)
        context.add_init_script(NO_H264_JS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(viewer_page)

        def decoding() -> dict[str, Any] | None:
            found: dict[str, Any] = page.evaluate(PAGE_STATS_JS)
            return found if found["frames"] > 0 and found["audio"] > 0 else None

        first = running.wait_for("the page without H.264 decode video through Janus", decoding)
        running.wait_for(
            "more frames", lambda: True if decoding()["frames"] > first["frames"] else None
        )
        assert page.evaluate(VIDEO_CODEC_JS) == "video/VP8"
        later = page.evaluate(PAGE_STATS_JS)
        assert (later["width"], later["height"]) == (640, 360)
        assert page.get_by_test_id("stream-state").is_hidden()


@pytest.mark.browser
def test_a_browser_that_cannot_play_h264_is_told_on_the_page_why_and_what_to_change(
    show_in_namespace: Show, tmp_path: Path
) -> None:
    """The console publishes no VP8 stream here (turned off, or an older console)."""
    require_janus_js()
    running = show_in_namespace
    said = running.start_sfu()
    viewer_page = running.start_hub(said["Janus API"].split()[0])
    running.start_console(said["WHIP endpoint"], said["WHIP token"], "--no-whip-vp8")
    with contextlib.ExitStack() as stack:
        with running.namespace.inside():
            browsers = stack.enter_context(strict_chromium(tmp_path / "profiles"))
        context = browsers.profile()
        context.add_init_script(NO_H264_JS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(viewer_page)
        state = page.get_by_test_id("stream-state")
        told = running.wait_for(
            "the page say why there is no video",
            lambda: text if "H.264" in (text := state.inner_text()) else None,
        )
    assert "could not start" in told
    assert "Chrome" in told and "OpenH264" in told, told
