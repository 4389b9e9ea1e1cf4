"""The timers' lease: one hub holds it, renews it while it lives, and another takes it when
the holder dies. The rules with a plain clock; the lease itself on a real Redis, the dying
holder a real process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from console.bus.lease import LeaseRules
from console.bus.local import LocalBus
from console.bus.redis import RedisBus, lease_key
from tests.support.redis import redis_url

__all__ = ["redis_url"]  # the session's redis-server, a fixture

TTL = 1.5
WAIT = 10.0

# ------------------------------------------------------------------ the rules


def test_a_hub_takes_until_it_wins_then_renews() -> None:
    rules = LeaseRules(ttl=3.0)
    assert rules.next_step(0.0) == "take"
    rules.answered(0.0, won=False)
    assert not rules.holds(0.1) and rules.next_step(0.1) == "take"
    rules.answered(1.0, won=True)
    assert rules.holds(1.0) and rules.next_step(1.5) == "renew"
    assert rules.wait(1.0) == rules.interval == 1.0


def test_a_holder_stops_acting_one_interval_before_the_server_forgets_it() -> None:
    rules = LeaseRules(ttl=3.0)
    rules.answered(10.0, won=True)  # the server keeps it until 13.0 at the earliest
    rules.unanswered(11.0)
    assert rules.holds(11.9)
    assert rules.wait(11.5) == pytest.approx(0.5), "it wakes when its margin ends"
    rules.unanswered(12.0)
    assert not rules.holds(12.0) and rules.next_step(12.0) == "take"


def test_a_renewal_refused_loses_the_lease_at_once() -> None:
    rules = LeaseRules(ttl=3.0)
    rules.answered(0.0, won=True)
    rules.answered(1.0, won=False)
    assert not rules.holds(1.0)


def test_a_lease_needs_a_positive_ttl() -> None:
    with pytest.raises(ValueError, match="positive"):
        LeaseRules(ttl=0)


async def test_the_one_process_always_holds_the_lease() -> None:
    bus = LocalBus()
    told: list[bool] = []
    await bus.start()
    await bus.hold_lease("timers", told.append)
    assert told == [True] and bus.holds("timers")


# ------------------------------------------------------------------ on a real Redis


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


async def competing(
    redis_url: str, room: str, hub_id: str, told: list[bool], ttl: float = TTL
) -> RedisBus:
    bus = RedisBus(redis_url, room, hub_id=hub_id, lease_ttl=ttl)
    await bus.start()
    await bus.hold_lease("timers", told.append)
    return bus


async def test_one_holds_renews_and_the_other_waits(
    redis_url: str, admin: aioredis.Redis, request: pytest.FixtureRequest
) -> None:
    room = request.node.name
    on_a: list[bool] = []
    on_b: list[bool] = []
    a = await competing(redis_url, room, "hub-a", on_a)
    b = await competing(redis_url, room, "hub-b", on_b)
    try:
        assert on_a == [True] and a.holds("timers"), "the first hub takes the free lease"
        assert on_b == [] and not b.holds("timers")
        await asyncio.sleep(3 * TTL)  # past the ttl three times over: only renewals keep it
        assert on_a == [True] and on_b == [], "renewed, never lost, never taken"
        assert await admin.get(lease_key(room, "timers")) == b"hub-a"
    finally:
        await a.close()
        await b.close()


async def test_a_hub_that_stops_gives_the_lease_back(
    redis_url: str, admin: aioredis.Redis, request: pytest.FixtureRequest
) -> None:
    room = request.node.name
    on_b: list[bool] = []
    a = await competing(redis_url, room, "hub-a", [], ttl=6.0)
    b = await competing(redis_url, room, "hub-b", on_b, ttl=6.0)
    try:
        await a.close()
        assert await admin.get(lease_key(room, "timers")) is None, "released at once"
        # Without the release hub B would wait for the 6 s ttl to run out.
        await until(lambda: on_b == [True], "hub B takes the given-back lease", 30.0)
    finally:
        await b.close()


async def test_a_renewal_is_only_the_holders(
    redis_url: str, admin: aioredis.Redis, request: pytest.FixtureRequest
) -> None:
    room = request.node.name
    key = lease_key(room, "timers")
    on_a: list[bool] = []
    a = await competing(redis_url, room, "hub-a", on_a)
    try:
        await admin.set(key, "hub-z", px=60_000)  # another hub took it (after an expiry)
        await until(lambda: on_a == [True, False], "hub A sees it lost the lease")
        assert await admin.get(key) == b"hub-z", "hub A's renewal did not take it back"
        await a.close()
        assert await admin.get(key) == b"hub-z", "nor did its release delete it"
    finally:
        await a.close()


async def test_a_holder_cut_off_from_redis_stops_acting_as_the_holder(
    redis_url: str, admin: aioredis.Redis, request: pytest.FixtureRequest
) -> None:
    room = request.node.name
    on_a: list[bool] = []
    a = await competing(redis_url, room, "hub-a", on_a)
    try:
        # Redis answers nobody for twice the ttl (and forgets no key meanwhile).
        await admin.execute_command("CLIENT", "PAUSE", int(2 * TTL * 1000), "ALL")
        await until(lambda: on_a == [True, False], "hub A gives up a lease it cannot renew")
        assert not a.holds("timers")
        await until(lambda: on_a == [True, False, True], "and takes it again once it can")
    finally:
        await a.close()


#: A hub's lease in a process of its own: says ``held`` once it holds it, then lives on.
_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from console.bus.redis import RedisBus

    async def main(url, room, ttl):
        bus = RedisBus(url, room, hub_id="hub-dying", lease_ttl=ttl)
        await bus.start()
        held = asyncio.Event()
        await bus.hold_lease("timers", lambda now: held.set() if now else None)
        await held.wait()
        print("held", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
    """
)


async def test_when_the_holder_is_killed_another_takes_the_lease_after_the_ttl(
    redis_url: str, admin: aioredis.Redis, request: pytest.FixtureRequest
) -> None:
    room = request.node.name
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, redis_url, room, str(TTL)],
        stdout=subprocess.PIPE,
        text=True,
    )
    on_b: list[bool] = []
    b: RedisBus | None = None
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), WAIT)
        assert line.strip() == "held", line
        b = await competing(redis_url, room, "hub-b", on_b)
        await asyncio.sleep(2 * TTL)
        assert on_b == [], "the living holder keeps its lease"
        assert await admin.get(lease_key(room, "timers")) == b"hub-dying"
        holder.send_signal(signal.SIGKILL)
        holder.wait(WAIT)
        await until(lambda: on_b == [True], "hub B takes the dead hub's lease")
        assert await admin.get(lease_key(room, "timers")) == b"hub-b"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if b is not None:
            await b.close()
