"""nginx in front of several hubs, as ``console.cluster.nginx`` configures it (real nginx,
real hub processes). Each hub here keeps its own SQLite room, which tells them apart; a
cluster's hubs share one room, and the tests of that are in test_cluster.py."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from console.domain.limits import NEW_IDS_PER_MINUTE
from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.nginx import nginx_in_front

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[list[HubProcess]]:
    started = [start_hub(tmp_path / name, extra=("--trusted-proxy", "127.0.0.1")) for name in "AB"]
    try:
        yield started
    finally:
        for hub in started:
            if hub.process.poll() is None:
                hub.stop()


@pytest.fixture
def edge(hubs: list[HubProcess], tmp_path: Path) -> Iterator[str]:
    with nginx_in_front([f"127.0.0.1:{hub.port}" for hub in hubs], tmp_path / "nginx") as at:
        yield at


async def _mark(hub: HubProcess, text: str) -> None:
    host = await RawClient.staff(hub.ws_url, hub.token)
    await host.send({"t": "comment", "text": text, "ref": "mark"})
    await host.wait_for("ack")
    await host.close()


def _texts(client: RawClient) -> set[str]:
    return {m["text"] for m in client.messages if m["t"] == "comment"}


async def _hello(url: str, origin: str | None, forwarded_for: str | None) -> dict[str, Any]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    viewer_id = "nginx-" + os.urandom(6).hex()
    async with connect(url, origin=origin, additional_headers=headers) as ws:  # type: ignore[arg-type]
        hello = {"t": "hello", "v": 1, "viewer_id": viewer_id, "key": "key-for-" + viewer_id}
        await ws.send(json.dumps(hello))
        error: dict[str, Any] = {}
        try:
            while True:
                for message in json.loads(await asyncio.wait_for(ws.recv(), 10)):
                    if message["t"] == "welcome":
                        return message
                    if message["t"] == "error":
                        if message["code"] != "too_many_new_viewers":
                            return message
                        error = message
        except ConnectionClosed:
            return {**error, "t": "closed"}


def test_the_page_and_its_socket_pass_through_nginx(edge: str) -> None:
    with urllib.request.urlopen(f"http://{edge}/", timeout=10) as response:
        assert response.status == 200
        assert b"<html" in response.read().lower()
    welcome = asyncio.run(_hello(f"ws://{edge}/ws", f"http://{edge}", None))
    assert welcome["t"] == "welcome", "the hub's origin check sees the page's own host"


def test_a_viewer_cannot_forge_its_address_through_nginx(edge: str) -> None:
    """nginx replaces X-Forwarded-For: forged addresses all count as the one it saw."""

    async def crowd() -> list[str]:
        answers = []
        for n in range(NEW_IDS_PER_MINUTE * 2 + 1):
            answer = await _hello(f"ws://{edge}/ws", None, f"198.51.100.{n}")
            answers.append(answer["t"])
        return answers

    answers = asyncio.run(crowd())
    assert "closed" in answers, "two hubs, each admitting its limit from one address"
    assert answers.count("welcome") <= NEW_IDS_PER_MINUTE * 2


def test_the_viewers_of_a_hub_that_dies_reconnect_through_nginx_to_another(
    hubs: list[HubProcess], edge: str
) -> None:
    async def scenario() -> None:
        for hub, name in zip(hubs, "AB", strict=True):
            await _mark(hub, f"this is hub {name}")
        url = f"ws://{edge}/ws"
        first = await RawClient.viewer(url, "Ann")
        second = await RawClient.viewer(url, "Bob")
        await asyncio.sleep(0.3)
        seen = [_texts(first), _texts(second)]
        assert seen[0] ^ seen[1] == {"this is hub A", "this is hub B"}, (
            "least_conn: the two sockets on different hubs"
        )
        on_a = first if "this is hub A" in seen[0] else second
        hubs[0].process.send_signal(signal.SIGKILL)
        hubs[0].process.wait(10)
        await asyncio.wait_for(on_a.ws.wait_closed(), 10)
        for name in ("Ann again", "Cid", "Dee"):
            back = await RawClient.viewer(url, name)
            await asyncio.sleep(0.2)
            assert _texts(back) == {"this is hub B"}, "nginx skips the dead hub"
            await back.close()
        await first.close()
        await second.close()

    asyncio.run(scenario())
