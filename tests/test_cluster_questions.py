"""The agents' question queue in a cluster: two hubs on one PostgreSQL store and one Redis
bus hold one queue, and the store decides between agents claiming through different hubs
(docs/cluster.md). Real processes and servers throughout."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import HubProcess, start_hub
from tests.support.clients import RawClient
from tests.support.postgres import Postgres
from tests.support.redis import redis_url
from tests.test_cluster_timers import until
from tests.test_team_hub import ask, ok

__all__ = ["redis_url"]  # the session's redis-server, a fixture

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hubs(redis_url: str, postgres: Postgres, tmp_path: Path) -> Iterator[list[HubProcess]]:
    shared = ("--database", postgres.fresh_database(), "--redis", redis_url)
    started: list[HubProcess] = []
    try:
        for _ in range(2):
            # One data folder: the show's one host token file (each hub its own port).
            started.append(start_hub(tmp_path / "hubs", extra=shared))
        yield started
    finally:
        for hub in started:
            if hub.process.poll() is None:
                hub.stop()


async def agent(host: RawClient, hub: HubProcess, name: str) -> RawClient:
    """An agent invited by the host, connected to ``hub``."""
    invite = await ok(host, {"t": "invite", "name": name, "role": "agent"})
    return await RawClient.staff(hub.ws_url, invite["token"], "agent")


def queue(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in snapshot.items() if key != "ref"}


async def test_a_question_asked_on_one_hub_is_claimed_once_and_answered_from_another(
    hubs: list[HubProcess],
) -> None:
    a, b = hubs
    host = await RawClient.staff(a.ws_url, a.token)
    ann = await agent(host, a, "Ann")
    kim = await agent(host, b, "Kim")
    bo = await RawClient.viewer(b.ws_url, "Bo")
    try:
        asked = await ok(bo, {"t": "comment", "text": "does the linen shirt run small?"})
        await until(
            lambda: any(m.get("id") == asked["seq"] for m in ann.of_type("question")),
            10,
            "the question reaches the agent on the other hub",
        )
        [waiting] = (await ok(ann, {"t": "questions"}))["questions"]
        assert (waiting["id"], waiting["name"], waiting["group"]) == (asked["seq"], "Bo", "sizing")

        await ok(ann, {"t": "claim", "question": asked["seq"]})
        refused = await ask(kim, {"t": "claim", "question": asked["seq"]})
        assert refused["t"] == "error" and refused["code"] == "conflict", refused
        assert refused["message"].startswith("Already claimed by Ann ("), refused

        await ok(ann, {"t": "answer", "question": asked["seq"], "text": "It runs true to size."})
        [answer] = await bo.wait_for("answer", timeout=10)
        assert (answer["agent"], answer["text"]) == ("Ann", "It runs true to size.")
        for _ in range(200):
            seen = [queue(await ok(staff, {"t": "questions"})) for staff in (ann, kim)]
            if seen[0] == seen[1]:
                break
            await asyncio.sleep(0.05)
        assert seen[0] == seen[1], "both hubs hold one queue"
        [held] = seen[1]["questions"]
        assert (held["claimed_by"], held["answered_at"]) == ("Ann", answer["ts"])
        assert seen[1]["stats"]["median_first_answer"] is not None
    finally:
        for client in (host, ann, kim, bo):
            await client.close()
