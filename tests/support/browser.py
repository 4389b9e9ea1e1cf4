"""Helpers for browser tests: a real hub subprocess and Debian's Chromium through Playwright.

``running_hub`` starts ``python -m console hub`` on a free loopback port with its own data
directory, reads the two lines it prints (viewer URL and host token), and on exit stops it
with SIGTERM and checks that it exits with status 0. ``Chromium`` opens any number of
separate browser profiles (each a persistent context with its own directory, so each is
a different viewer with its own ``localStorage``) and closes them all at the end.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.support.system import missing_package

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
]

#: Apply to browser tests: they need Debian's Chromium (Playwright's own is never installed).
requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=missing_package(f"Debian's Chromium ({CHROMIUM})", "chromium")
)

HUB_START_TIMEOUT = 20.0
HUB_STOP_TIMEOUT = 5.0
_VIEWER_LINE = re.compile(r"^Viewer page: (http://[^/\s]+:(\d+)/)\s*$")
_TOKEN_LINE = re.compile(r"^Host token: (\S+)\s*$")
_runs = itertools.count(1)


@dataclass
class HubProcess:
    """A running hub subprocess and what it printed."""

    url: str
    token: str
    port: int
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path
    output: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "ws"

    def stop(self, timeout: float = HUB_STOP_TIMEOUT) -> None:
        """Send SIGTERM and check that the hub exits with status 0 within ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(
                    f"the hub did not exit within {timeout} s of SIGTERM; its log:\n{self.logs()}"
                )
        assert self.process.returncode == 0, (
            f"the hub exited with status {self.process.returncode}; its log:\n{self.logs()}"
        )

    def logs(self) -> str:
        stderr = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "stdout:\n" + "".join(self.output) + "\nstderr:\n" + stderr


def _pump(stream: object, lines: queue.Queue[str | None], keep: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        keep.append(line)
        lines.put(line)
    lines.put(None)


def start_hub(data_dir: Path, port: int = 0, extra: Sequence[str] = ()) -> HubProcess:
    """Start a hub on 127.0.0.1 (``port`` 0 picks a free one) and wait for its two lines;
    ``extra`` are more of ``python -m console hub``'s options."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-hub-{next(_runs)}.stderr"
    command = [
        sys.executable,
        "-m",
        "console",
        "hub",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--data-dir",
        str(data_dir),
        "--print-token",
        *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as err:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines, output), daemon=True).start()
    url = token = None
    found_port = 0
    try:
        while url is None or token is None:
            line = lines.get(timeout=HUB_START_TIMEOUT)
            if line is None:
                break
            if m := _VIEWER_LINE.match(line):
                url, found_port = m.group(1), int(m.group(2))
            elif m := _TOKEN_LINE.match(line):
                token = m.group(1)
    except queue.Empty:
        pass
    if url is None or token is None:
        process.kill()
        process.wait()
        stderr = log.read_text(errors="replace")
        pytest.fail(
            f"the hub did not print 'Viewer page: ...' and 'Host token: ...' within "
            f"{HUB_START_TIMEOUT} s (exit status {process.returncode}).\n"
            f"command: {command}\nstdout:\n{''.join(output)}\nstderr:\n{stderr}"
        )
    return HubProcess(url, token, found_port, data_dir, process, log, output)


@contextmanager
def running_hub(data_dir: Path, port: int = 0) -> Iterator[HubProcess]:
    """A hub for the duration of the block; stopping it must exit with status 0."""
    hub = start_hub(data_dir, port)
    try:
        yield hub
    finally:
        hub.stop()


class Chromium:
    """Opens separate Chromium profiles (one per viewer) and closes them all at the end."""

    def __init__(self, playwright: Playwright, root: Path) -> None:
        self._playwright = playwright
        self._root = root
        self._contexts: list[BrowserContext] = []

    def profile(
        self, name: str | None = None, viewport: dict[str, int] | None = None
    ) -> BrowserContext:
        """Launch Chromium with a fresh (or, for a known ``name``, the same) profile dir."""
        profile_dir = self._root / (name or f"profile-{len(self._contexts)}")
        profile_dir.mkdir(parents=True, exist_ok=True)
        context = self._playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=viewport or {"width": 1280, "height": 800},
        )
        self._contexts.append(context)
        return context

    def page(
        self, url: str, name: str | None = None, viewport: dict[str, int] | None = None
    ) -> Page:
        """A new profile's first tab, opened at ``url``."""
        context = self.profile(name, viewport)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        return page

    def close(self, context: BrowserContext) -> None:
        if context in self._contexts:
            self._contexts.remove(context)
            context.close()

    def close_all(self) -> None:
        while self._contexts:
            self._contexts.pop().close()


@contextmanager
def chromium(root: Path) -> Iterator[Chromium]:
    """Playwright driving Debian's Chromium; every profile lives under ``root``."""
    if not CHROMIUM.exists():
        pytest.skip(missing_package(f"Debian's Chromium ({CHROMIUM})", "chromium"))
    with sync_playwright() as playwright:
        browsers = Chromium(playwright, root)
        try:
            yield browsers
        finally:
            browsers.close_all()


@contextmanager
def strict_chromium(root: Path) -> Iterator[Chromium]:
    """:func:`chromium` whose pages must not throw: an uncaught exception fails the test."""
    errors: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    with chromium(root) as opened:
        launch = opened.profile

        def profile(*args: object, **kwargs: object) -> BrowserContext:
            context = launch(*args, **kwargs)  # type: ignore[arg-type]
            for page in context.pages:
                watch(page)
            context.on("page", watch)
            return context

        opened.profile = profile  # type: ignore[method-assign]
        yield opened
    assert not errors, f"the viewer page threw: {errors}"
