"""``python -m console hub --redis``: a hub process fans out its room from a real Redis,
so another hub on the same Redis hears its events and reaches its viewers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import protocol
from console.bus import Notice, RoomEvent
from console.bus.redis import RedisBus
from tests.support.browser import REPO, HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.nginx import free_port
from tests.support.redis import redis_url

__all__ = ["redis_url"]  # the session's redis-server, a fixture


class OtherHub:
    """What a second hub's room hears on the bus."""

    def __init__(self) -> None:
        self.events: list[RoomEvent] = []

    def on_event(self, event: RoomEvent) -> None:
        self.events.append(event)

    def on_resync(self) -> None:
        """Nothing to fill: this side only listens."""

    def on_notice(self, notice: Notice) -> None:
        """Not the hub of any session."""

    def on_viewers(self) -> None:
        """Read from the bus when needed."""


@pytest.fixture
def hub(redis_url: str, tmp_path: Path) -> Iterator[HubProcess]:
    process = start_hub(tmp_path / "data", extra=("--redis", redis_url))
    try:
        yield process
    finally:
        process.stop()


async def test_a_hub_on_redis_shares_its_events_notices_and_viewer_count(
    redis_url: str, hub: HubProcess
) -> None:
    other = OtherHub()
    bus = RedisBus(redis_url, hub_id="other-hub")
    bus.subscribe(other)
    await bus.start()
    viewer_id = "viewer-on-hub-a"
    ann = await RawClient.viewer(hub.ws_url, name="Ann", viewer_id=viewer_id)
    try:
        await ann.send({"t": "comment", "text": "Is the shirt linen?", "ref": "c1"})
        [comment] = await ann.wait_for("comment")  # it came back through Redis
        seqs = [e.seq for e in other.events]
        assert seqs == list(range(1, len(seqs) + 1)), "every event, in order"
        assert json.loads(other.events[comment["seq"] - 1].body) == comment

        bus.set_viewers(5)  # five viewers on the other hub, one here
        async with asyncio.timeout(10):
            while not any(m["count"] == 6 for m in ann.of_type("viewers")):
                await asyncio.sleep(0.05)

        standing = protocol.Standing(banned=True, muted_until=None, reason="spam")
        bus.notify(Notice("tell_viewer", viewer_id, protocol.encode(standing)))
        [told] = await ann.wait_for("standing", timeout=10)
        assert told["banned"] is True and told["reason"] == "spam"
    finally:
        await ann.close()
        await bus.close()


def test_a_hub_without_its_redis_says_so_and_exits(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "console", "hub", "--port", "0", "--bind", "127.0.0.1"]
    command += ["--data-dir", str(tmp_path / "data")]
    command += ["--redis", f"redis://default:s3cret@127.0.0.1:{port}/0"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"Cannot reach Redis at redis://default:***@127.0.0.1:{port}/0" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


def test_a_hub_names_its_redis_at_start_without_the_password(
    redis_url: str, tmp_path: Path
) -> None:
    """The session's redis-server has no password: it takes any for its default user."""
    with_password = redis_url.replace("redis://", "redis://default:s3cret@")
    hub = start_hub(tmp_path / "data", extra=("--redis", with_password))
    try:
        deadline = time.monotonic() + 30
        while not any(line.startswith("Bus:") for line in hub.output):
            assert hub.process.poll() is None and time.monotonic() < deadline, hub.output
            time.sleep(0.05)
    finally:
        hub.stop()
    printed = "".join(hub.output)
    assert f"Bus: Redis at {redis_url.replace('redis://', 'redis://default:***@')}\n" in printed
    assert "s3cret" not in printed + hub.log.read_text()
