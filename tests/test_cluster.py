"""Three hubs behind nginx share one show: one PostgreSQL store, one Redis bus, nginx the
one address viewers use (docs/cluster.md). Real processes and servers throughout."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.nginx import nginx_in_front
from tests.support.postgres import Postgres
from tests.support.redis import redis_url

__all__ = ["redis_url"]  # the session's redis-server, a fixture

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cluster(
    redis_url: str, postgres: Postgres, tmp_path: Path
) -> Iterator[tuple[list[HubProcess], str]]:
    """Three hubs (``python -m console hub --database ... --redis ...``) behind nginx."""
    shared = ("--database", postgres.fresh_database(), "--redis", redis_url,
              "--trusted-proxy", "127.0.0.1")  # fmt: skip
    hubs: list[HubProcess] = []
    try:
        for _ in range(3):
            # One data folder: the show's one host token file (each hub its own port).
            hubs.append(start_hub(tmp_path / "hubs", extra=shared))
        edge = [f"127.0.0.1:{hub.port}" for hub in hubs]
        with nginx_in_front(edge, tmp_path / "nginx") as address:
            yield hubs, f"ws://{address}/ws"
    finally:
        for hub in hubs:
            if hub.process.poll() is None:
                hub.stop()


async def _say(host: RawClient, text: str) -> None:
    ref = f"say-{text}"
    await host.send({"t": "comment", "text": text, "ref": ref})
    await host.wait_for("ack", ref=ref, timeout=10)


def _seen(client: RawClient) -> list[tuple[int, str]]:
    return [(c["seq"], c["text"]) for c in client.comments()]


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_a_comment_through_one_hub_reaches_every_hub_in_one_order(
    cluster: tuple[list[HubProcess], str],
) -> None:
    (a, b, c), edge = cluster
    host = await RawClient.staff(a.ws_url, a.token)
    viewers = [await RawClient.viewer(hub.ws_url, name) for hub, name in ((b, "Bo"), (c, "Cy"))]
    viewers.append(await RawClient.viewer(edge, "Edda"))
    try:
        texts = [f"line {n}" for n in range(12)]
        for text in texts:
            await _say(host, text)
        await _until(lambda: all(len(_seen(v)) == len(texts) for v in viewers))
        first = _seen(viewers[0])
        assert [text for _, text in first] == texts
        assert all(_seen(v) == first for v in viewers), "the same seqs in the same order"
        await _until(lambda: any(m["count"] == 3 for m in host.of_type("viewers")))
    finally:
        for client in (host, *viewers):
            await client.close()


async def test_the_viewers_of_a_killed_hub_resume_through_nginx_missing_nothing(
    cluster: tuple[list[HubProcess], str],
) -> None:
    (a, b, c), edge = cluster
    host = await RawClient.staff(a.ws_url, a.token)
    witness = await RawClient.viewer(b.ws_url, "Witness")
    stranded = await RawClient.viewer(c.ws_url, "Stranded", viewer_id="stranded-0001")
    try:
        for n in range(5):
            await _say(host, f"before {n}")
        await _until(lambda: len(_seen(stranded)) == 5)
        last = _seen(stranded)[-1][0]
        c.process.send_signal(signal.SIGKILL)
        c.process.wait(10)
        await asyncio.wait_for(stranded.ws.wait_closed(), 10)
        for n in range(5):
            await _say(host, f"while away {n}")
        back = await RawClient.viewer(edge, "Stranded", viewer_id="stranded-0001", since=last)
        for n in range(3):
            await _say(host, f"after {n}")
        await _until(lambda: len(_seen(witness)) == 13)
        await _until(lambda: len(_seen(back)) == 8)
        assert _seen(stranded) + _seen(back) == _seen(witness), "0 lost, 0 duplicated"
        await back.close()
    finally:
        for client in (host, witness):
            await client.close()


async def _ask(client: RawClient, message: dict[str, Any]) -> dict[str, Any]:
    ref = f"ask-{len(client.messages)}"
    await client.send({**message, "ref": ref})
    async with asyncio.timeout(10):
        while not (answers := [m for m in client.messages if m.get("ref") == ref]):
            await asyncio.sleep(0.02)
    return answers[0]


async def test_moderation_on_one_hub_holds_on_another(
    cluster: tuple[list[HubProcess], str],
) -> None:
    (a, _, c), _ = cluster
    host = await RawClient.staff(a.ws_url, a.token)
    cy = await RawClient.viewer(c.ws_url, "Cy", viewer_id="cy-on-hub-c")
    dee = await RawClient.viewer(c.ws_url, "Dee", viewer_id="dee-on-hub-c")
    try:
        said = await _ask(cy, {"t": "comment", "text": "first!"})
        assert said["t"] == "ack", said
        await _until(lambda: len(host.comments()) == 1)
        deleted = await _ask(host, {"t": "delete", "seq": host.comments()[0]["seq"]})
        assert deleted["t"] != "error", deleted
        await _until(lambda: any(m["t"] == "delete" for m in dee.messages))
        assert (await _ask(host, {"t": "set_modes", "slow_seconds": 30}))["t"] != "error"
        await _until(lambda: any(m["t"] == "modes" for m in dee.messages), timeout=1.0)
        assert (await _ask(dee, {"t": "comment", "text": "one"}))["t"] == "ack"
        slowed = await _ask(dee, {"t": "comment", "text": "two"})
        assert slowed["t"] == "error", "slow mode set on hub A holds on hub C"
        banned = await _ask(host, {"t": "ban", "viewer_id": "cy-on-hub-c"})
        assert banned["t"] != "error", banned
        await asyncio.sleep(1.0)
        refused = await _ask(cy, {"t": "comment", "text": "still here?"})
        assert refused["t"] == "error", "a ban on hub A holds on hub C within a second"
    finally:
        for client in (host, cy, dee):
            await client.close()
