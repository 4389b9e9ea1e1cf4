"""Rotating viewer ids from one address: the chat's rules hold, and the store does not grow.

A script can invent a new viewer id for every connection. The chat policy counts slow
mode, the repeat rule and the flood rule per address too; the hub admits only so many
new viewer ids per address a minute and writes nothing durable for a viewer who only
watches. The pure rules are tested with a clock the test moves; the hub over real
WebSockets from 127.0.0.1, with the hub's clock moved by the test, so the counts below
are exact and no test depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from console import protocol
from console.domain.limits import (
    LimitRuleError,
    NewIdGate,
    address_key,
    client_address,
    parse_trusted_proxy,
    sent_through_proxy,
)
from console.domain.moderation import (
    ADDRESS_SHARE,
    Author,
    ChatPolicy,
    ModerationRuleError,
    RoomModes,
    check_modes,
)
from console.domain.modlog import describe_modes
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_shop_hub import CATALOGUE, FakeClock, ctl, query, wait_until
from tests.test_team_hub import Team, ask, comment, ok, running_team
from widgets.moderation_dock import ModerationDock

SLOW = 30
PROXY = (parse_trusted_proxy("127.0.0.1"),)


# ---------------------------------------------------------------- who is on the other end


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy() -> None:
    assert client_address("203.0.113.5", ["10.0.0.1"], ()) == "203.0.113.5", "no proxy set"
    assert client_address("203.0.113.5", ["10.0.0.1"], PROXY) == "203.0.113.5", "not the proxy"
    assert client_address("127.0.0.1", ["198.51.100.7"], PROXY) == "198.51.100.7"
    # The client typed the left part; nginx appended what it saw on the right.
    assert client_address("127.0.0.1", ["6.6.6.6, 198.51.100.7"], PROXY) == "198.51.100.7"
    assert client_address("127.0.0.1", ["6.6.6.6", "198.51.100.7"], PROXY) == "198.51.100.7"
    chain = (*PROXY, parse_trusted_proxy("10.0.0.0/8"))
    assert client_address("127.0.0.1", ["198.51.100.7, 10.1.2.3"], chain) == "198.51.100.7"
    assert client_address("127.0.0.1", ["not-an-ip"], PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", [], PROXY) == "127.0.0.1"


def test_an_ipv6_client_counts_by_its_slash_64_and_a_mapped_ipv4_as_ipv4() -> None:
    one = address_key("2001:db8:1:2::1")
    assert one == address_key("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != one
    assert address_key("::ffff:198.51.100.7") == "198.51.100.7"


def test_a_bad_trusted_proxy_says_what_to_give() -> None:
    with pytest.raises(LimitRuleError, match=re.escape("127.0.0.1 or 10.0.0.0/8")):
        parse_trusted_proxy("nginx")


def test_a_proxy_that_is_not_trusted_is_noticed() -> None:
    assert sent_through_proxy("127.0.0.1", ["198.51.100.7"], ())
    assert not sent_through_proxy("127.0.0.1", ["198.51.100.7"], PROXY)
    assert not sent_through_proxy("203.0.113.5", [], ())


# ---------------------------------------------------------------- new viewer ids


def test_one_address_brings_at_most_the_limit_of_new_ids_a_minute() -> None:
    gate = NewIdGate(per_minute=3)
    assert [gate.admit("a", f"id-{n}", float(n)) for n in range(3)] == [0.0, 0.0, 0.0]
    assert gate.admit("a", "id-3", 10.0) == 50.0, "the first slot frees at 60 s"
    assert gate.admit("a", "id-1", 10.0) == 0.0, "a reload is not a new viewer"
    assert gate.admit("b", "id-9", 10.0) == 0.0, "another address has its own limit"
    assert gate.admit("a", "id-3", 60.0) == 0.0
    gate.admit("c", "id-c", 200.0)
    assert gate.tracked_addresses() == 1, "addresses quiet for a minute are forgotten"


# ---------------------------------------------------------------- the chat policy


def _rotating(policy: ChatPolicy, seconds: int, per_second: int, text: Callable[[int], str]) -> int:
    """A script from one address: ``per_second`` fresh ids a second, one post each."""
    published = 0
    for n in range(seconds * per_second):
        author = Author(f"spam-{n}", address="203.0.113.5", first_seen=0.0)
        verdict = policy.judge(author, text(n), n / per_second)
        published += verdict.action == "publish"
    return published


def test_rotating_ids_from_one_address_get_the_slow_mode_rate_of_that_address() -> None:
    policy = ChatPolicy(modes=RoomModes(slow_seconds=SLOW))
    published = _rotating(policy, seconds=600, per_second=10, text=lambda n: f"buy {n}")
    assert published == ADDRESS_SHARE * 600 // SLOW, "a few messages every 30 s, not 6,000"
    other = policy.judge(Author("neighbour", address="198.51.100.7"), "hello", 600.0)
    assert other.action == "publish", "another address is not slowed by it"


def test_the_slow_wait_of_an_address_says_the_network_sent_its_share() -> None:
    policy = ChatPolicy(modes=RoomModes(slow_seconds=SLOW))
    for n in range(ADDRESS_SHARE):
        policy.judge(Author(f"home-{n}", address="a"), f"hi {n}", float(n))
    verdict = policy.judge(Author("home-new", address="a"), "me too", 10.0)
    assert (verdict.action, verdict.rule, verdict.retry_after) == ("refuse", "slow", 20.0)
    assert "your network" in verdict.reason and "20 s" in verdict.reason
    assert policy.slow_wait("home-new", 10.0, "a") == 20.0


def test_in_slow_mode_one_text_from_many_ids_and_addresses_is_one_repeat() -> None:
    policy = ChatPolicy(modes=RoomModes(slow_seconds=SLOW))
    verdicts = [
        policy.judge(
            Author(f"bot-{n}", address=f"10.0.{n // 250}.{n % 250}"), "CHEAP followers", n / 500
        )
        for n in range(10_000)
    ]
    published = [v for v in verdicts if v.action == "publish"]
    assert len(published) == 3, "the repeat limit, as if one viewer had said it"
    assert {v.reason for v in verdicts if v.action == "refuse"} == {
        "Someone just said that; say something new."
    }
    open_chat = ChatPolicy()
    same = [open_chat.judge(Author(f"fan-{n}", address=f"a{n}"), "yes!", n) for n in range(10)]
    assert all(v.action == "publish" for v in same), "outside slow mode, fans may agree"


def test_without_slow_mode_an_address_floods_and_repeats_as_its_share_of_viewers() -> None:
    policy = ChatPolicy()
    flood = _rotating(policy, seconds=10, per_second=100, text=lambda n: f"buy {n}")
    assert flood == 8 * ADDRESS_SHARE, "the flood limit of three viewers in ten seconds"
    policy = ChatPolicy()
    repeats = _rotating(policy, seconds=60, per_second=1, text=lambda n: "same again")
    assert repeats == 3 * ADDRESS_SHARE, "the repeat limit of three viewers in a minute"


def test_new_chatters_are_held_until_their_id_is_old_enough() -> None:
    policy = ChatPolicy(modes=RoomModes(hold_new_minutes=10))
    fresh = policy.judge(Author("new", first_seen=1000.0), "hi all", 1300.0)
    assert (fresh.action, fresh.rule) == ("hold", "new_chatter")
    assert "first 10 min" in fresh.reason
    unknown = policy.judge(Author("unknown"), "hi", 1300.0)
    assert unknown.action == "hold", "an id met only now is new"
    regular = policy.judge(Author("regular", first_seen=0.0), "hi", 1300.0)
    assert regular.action == "publish"
    assert policy.judge(Author("staff", is_staff=True), "hi", 0.0).action == "publish"
    slowed = ChatPolicy(modes=RoomModes(hold_new_minutes=10, slow_seconds=SLOW))
    slowed.judge(Author("new"), "one", 0.0)
    assert slowed.judge(Author("new"), "two", 1.0).rule == "slow", "refusals come first"
    assert describe_modes(RoomModes(hold_new_minutes=10)) == "new chatters held 10 min"


@pytest.mark.parametrize("minutes", [-1, 1441, True])
def test_holding_new_chatters_lasts_up_to_a_day(minutes: int) -> None:
    with pytest.raises(ModerationRuleError, match="0 for off"):
        check_modes(RoomModes(hold_new_minutes=minutes))


def test_the_policy_remembers_each_address_until_its_windows_pass() -> None:
    policy = ChatPolicy()
    for n in range(100):
        policy.judge(Author(f"v{n}", address=f"a{n}"), "hi", float(n) / 100)
    assert policy.tracked_addresses() == 100
    policy.judge(Author("late", address="z"), "hi", 1000.0)
    assert policy.tracked_addresses() == 1


# ---------------------------------------------------------------- through the hub


@dataclass
class Spam:
    hub: Hub
    clock: FakeClock
    data_dir: Path

    @property
    def url(self) -> str:
        return self.hub.local_ws_url

    def published(self) -> int:
        return query(self.data_dir, "SELECT COUNT(*) FROM comments")[0][0]


@contextlib.asynccontextmanager
async def spam_hub(
    data_dir: Path, limits: Limits, trusted_proxies: tuple[str, ...] = ()
) -> AsyncIterator[Spam]:
    clock = FakeClock()
    store = Store.open(data_dir)
    store.replace_catalogue(CATALOGUE)
    hub = Hub(store, tick=0.01, limits=limits, clock=clock, trusted_proxies=trusted_proxies)
    await hub.start("127.0.0.1", 0)
    try:
        yield Spam(hub, clock, data_dir)
    finally:
        await hub.stop()
        store.close()


async def one_shot(
    url: str, text: str | None, forwarded_for: str | None = None, viewer_id: str | None = None
) -> dict[str, Any]:
    """What a spam script does: a fresh viewer id, hello, one comment, gone.

    Returns the hub's answer to the comment, or to the hello when ``text`` is None; a
    connection the hub closed answers ``{"t": "closed", "close": code}`` with the fields
    of the error it sent before.
    """
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    viewer_id = viewer_id or "spam-" + secrets.token_hex(8)
    hello = {"t": "hello", "v": 1, "viewer_id": viewer_id, "key": "key-for-" + viewer_id}
    error: dict[str, Any] = {}
    async with connect(url, compression=None, additional_headers=headers) as ws:
        await ws.send(json.dumps({**hello, "name": "Deals4U"}))
        if text is not None:
            await ws.send(json.dumps({"t": "comment", "text": text, "ref": "spam"}))
        try:
            while True:
                for message in json.loads(await ws.recv()):
                    if message["t"] == "error" and message.get("ref") is None:
                        error = message  # the hello was refused: the hub closes, or not
                        if message["code"] != protocol.ErrorCode.TOO_MANY_NEW_VIEWERS:
                            return message
                    elif message.get("ref") == "spam" or (
                        text is None and message["t"] == "welcome"
                    ):
                        return message
        except ConnectionClosed as closed:
            return {**error, "t": "closed", "close": closed.rcvd.code if closed.rcvd else None}


#: Posting limits out of the way and new ids without limit: only the chat's per-address
#: rules stand between the script and the room, the worst case for them.
UNLIMITED_IDS = Limits(
    viewer_comments_per_s=100, viewer_comment_burst=100, new_viewer_ids_per_minute=100_000
)


async def test_a_spammer_rotating_ids_under_slow_mode_gets_at_most_the_configured_rate(
    data_dir: Path, record_property: Callable[[str, object], None]
) -> None:
    seconds, per_second = 120, 5
    async with spam_hub(data_dir, UNLIMITED_IDS) as spam:
        host = await RawClient.staff(spam.url, spam.hub.issue_token("host", "Mia"))
        await ok(host, {"t": "set_modes", "slow_seconds": SLOW})
        attempts = 0
        for second in range(seconds):
            answers = await asyncio.gather(
                *(one_shot(spam.url, f"cheap followers {second}.{n}") for n in range(per_second))
            )
            attempts += len(answers)
            assert {a["t"] for a in answers} <= {"ack", "error"}
            spam.clock.advance(1)
        published = spam.published()
        # The configured rate: the address's share of slow mode, plus that share at once.
        allowed = ADDRESS_SHARE * (seconds // SLOW) + ADDRESS_SHARE
        record_property("spam_attempts", attempts)
        record_property("spam_published", published)
        assert 0 < published <= allowed, f"{published} of {attempts} published in {seconds} s"
        await host.close()


async def test_copies_of_one_text_from_many_ids_and_addresses_are_refused_in_slow_mode(
    data_dir: Path, record_property: Callable[[str, object], None]
) -> None:
    seconds, per_second = 120, 5
    async with spam_hub(data_dir, UNLIMITED_IDS, trusted_proxies=("127.0.0.1",)) as spam:
        host = await RawClient.staff(spam.url, spam.hub.issue_token("host", "Mia"))
        await ok(host, {"t": "set_modes", "slow_seconds": SLOW})
        codes: list[str] = []
        for second in range(seconds):
            answers = await asyncio.gather(
                *(
                    one_shot(spam.url, "CHEAP FOLLOWERS", forwarded_for=f"10.0.{second}.{n}")
                    for n in range(per_second)
                )
            )
            codes += [a.get("code", a["t"]) for a in answers]
            spam.clock.advance(1)
        published = spam.published()
        record_property("copies_published", published)
        assert published <= 3 * (seconds // 60 + 1), "the repeat limit per minute, room-wide"
        assert codes.count("repeated") == len(codes) - published
        await host.close()


async def test_the_hub_admits_a_limited_number_of_new_ids_per_address_a_minute(
    data_dir: Path,
) -> None:
    limits = Limits(new_viewer_ids_per_minute=3)
    async with spam_hub(data_dir, limits) as spam:
        regular = await RawClient.viewer(spam.url, "Ann", viewer_id="regular-ann")
        assert (await comment(regular, "hi"))["t"] == "ack"
        await regular.close()
        lurker = await one_shot(spam.url, None, viewer_id="lurker-bob")
        assert lurker["t"] == "welcome"
        assert (await one_shot(spam.url, None))["t"] == "welcome"
        refused = await one_shot(spam.url, None)
        assert refused["t"] == "closed" and refused["close"] == 1013
        assert refused["code"] == "too_many_new_viewers"
        assert refused["message"].startswith("Too many new viewers")
        assert refused["retry_after"] == pytest.approx(60.0)
        assert (await one_shot(spam.url, None, viewer_id="lurker-bob"))["t"] == "welcome", (
            "the same page reloading is not a new viewer"
        )
        back = await RawClient.viewer(spam.url, "Ann", viewer_id="regular-ann")
        await back.close()
        spam.clock.advance(60)
        assert (await one_shot(spam.url, None))["t"] == "welcome", "a minute later, room again"


async def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_limit(
    data_dir: Path,
) -> None:
    limits = Limits(new_viewer_ids_per_minute=2)
    async with spam_hub(data_dir, limits, trusted_proxies=("127.0.0.1",)) as spam:
        for _ in range(2):
            assert (await one_shot(spam.url, None, "6.6.6.6, 198.51.100.7"))["t"] == "welcome"
        assert (await one_shot(spam.url, None, "198.51.100.7"))["t"] == "closed"
        forged = await one_shot(spam.url, None, "198.51.100.8, 198.51.100.7")
        assert forged["t"] == "closed", "what the client wrote left of the proxy's hop is not read"
        assert (await one_shot(spam.url, None, "198.51.100.8"))["t"] == "welcome"


async def test_a_forwarded_address_from_anyone_else_is_not_believed(data_dir: Path) -> None:
    limits = Limits(new_viewer_ids_per_minute=2)
    async with spam_hub(data_dir, limits) as spam:
        answers = [await one_shot(spam.url, None, f"198.51.100.{n}") for n in range(3)]
        assert [a["t"] for a in answers] == ["welcome", "welcome", "closed"]


# ---------------------------------------------------------------- what the store keeps


@pytest.fixture
async def team(data_dir: Path) -> AsyncIterator[Team]:
    async with running_team(data_dir) as running:
        yield running


ROW_TABLES = ("viewers", "viewer_keys", "presence", "product_views", "consent")


def rows(team: Team) -> dict[str, int]:
    return {table: team.query(f"SELECT COUNT(*) FROM {table}")[0][0] for table in ROW_TABLES}


async def test_viewers_who_only_watch_leave_no_rows_until_they_act(
    team: Team, record_property: Callable[[str, object], None]
) -> None:
    watchers = [await RawClient.viewer(team.url, f"Watcher {n}") for n in range(40)]
    await ok(team.host, {"t": "pin", "product": "logo-tee"})
    await wait_until(team.host, lambda m: m["t"] == "viewers" and m["count"] == 40)
    team.clock.advance(300)
    await asyncio.gather(*(w.close() for w in watchers))
    await asyncio.sleep(0.1)
    record_property("rows_after_40_watchers", rows(team))
    assert rows(team) == dict.fromkeys(ROW_TABLES, 0)

    ann = await RawClient.viewer(team.url, "Ann", viewer_id="ann-acts-01")
    assert rows(team) == dict.fromkeys(ROW_TABLES, 0)
    await ok(ann, {"t": "consent", "consent": "remember"})
    await comment(ann, "is the tee soft?")
    kept = rows(team)
    assert (kept["viewers"], kept["viewer_keys"], kept["consent"]) == (1, 1, 1)
    profile = await ok(team.host, {"t": "profile", "viewer_id": "ann-acts-01"})
    assert profile["name"] == "Ann"
    team.clock.advance(60)
    await ann.close()
    await asyncio.sleep(0.1)
    [(seconds,)] = team.query("SELECT seconds FROM presence WHERE viewer_id = 'ann-acts-01'")
    assert seconds == 60.0, "her watch time counts from when her page opened"


async def test_a_page_proves_its_id_after_its_first_act_only_with_its_own_key(team: Team) -> None:
    first = await RawClient.viewer(team.url, "Ann", viewer_id="ann-key-01")
    async with connect(team.url) as thief:  # before Ann acted, nothing is stored to compare
        await thief.send(
            json.dumps(
                {"t": "hello", "v": 1, "viewer_id": "ann-key-01", "key": "x" * 20, "name": "A"}
            )
        )
        assert json.loads(await thief.recv())[0]["t"] == "welcome"
        await comment(first, "mine")  # Ann acts: her key is kept
        await thief.send(json.dumps({"t": "comment", "text": "me too", "ref": "t"}))
        replies = json.loads(await thief.recv())
        while not any(m.get("ref") == "t" for m in replies):
            replies = json.loads(await thief.recv())
    [refused] = [m for m in replies if m.get("ref") == "t"]
    assert refused["code"] == "bad_token" and "another browser" in refused["message"]
    await first.close()


# ---------------------------------------------------------------- new chatters are held


async def test_a_moderator_holds_new_chatters_and_regulars_still_publish(team: Team) -> None:
    regular = await RawClient.viewer(team.url, "Reg", viewer_id="regular-reg-01")
    assert (await comment(regular, "hello again"))["t"] == "ack"
    code, out, err = await ctl(team, "modes", "--hold-new", "10")
    assert (code, out, err) == (0, "Chat modes: new chatters held 10 min.", "")
    [modes] = await team.host.wait_for("modes", hold_new_minutes=10)
    assert modes["seq"] > 0
    team.clock.advance(11 * 60)
    newcomer = await RawClient.viewer(team.url, "Nell", viewer_id="new-nell-01")
    held = await comment(newcomer, "first time here!")
    assert held["t"] == "ack" and held["held"] is True
    [entry] = await team.host.wait_for("held", rule="new_chatter")
    assert entry["viewer_id"] == "new-nell-01" and "new chatters" in entry["reason"]
    published = await comment(regular, "welcome Nell")
    assert published["t"] == "ack" and published.get("seq"), "known for 11 min: published"
    team.clock.advance(10 * 60)
    later = await comment(newcomer, "ten minutes on")
    assert later.get("seq") and not later.get("held"), "old enough now"
    await asyncio.gather(regular.close(), newcomer.close())


async def test_holding_new_chatters_is_refused_beyond_a_day(team: Team) -> None:
    refused = await ask(team.host, {"t": "set_modes", "hold_new_minutes": 100_000})
    assert refused["code"] == "invalid" and "a day" in refused["message"]


def test_the_chat_modes_tab_sets_and_shows_the_new_chatters_hold(qtbot) -> None:
    dock = ModerationDock()
    qtbot.addWidget(dock)
    dock.set_modes(protocol.Modes(seq=0, hold_new_minutes=15))
    assert dock.hold_new.value() == 15
    assert "new chatters held 15 min" in dock.modes_state.text()
    dock.hold_new.setValue(5)
    with qtbot.waitSignal(dock.modes_requested) as sent:
        dock._apply_modes()
    assert sent.args[0].hold_new_minutes == 5
    dock.add_held(
        protocol.Held(
            seq=1, held_id=1, viewer_id="v", name="Nell", text="hi", ts=0, rule="new_chatter"
        )
    )
    assert "[new chatter]" in dock.held_list.item(0).text()
