"""The hub with real WebSocket clients: chat, resume, errors, limits, restart."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from console import protocol
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.support.storedb import rows, value

#: A host who may post as fast as a test needs, to fill a viewer's buffers.
FAST_STAFF = Limits(
    staff_comments_per_s=1e5,
    staff_comment_burst=1e5,
    staff_messages_per_s=1e5,
    staff_message_burst=1e5,
)


async def test_comment_reaches_every_viewer_and_staff_once(hub: Hub) -> None:
    token = hub.issue_token("host", "Host")
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    bob = await RawClient.viewer(hub.local_ws_url, "Bob")
    host = await RawClient.staff(hub.local_ws_url, token)

    await ann.send({"t": "comment", "text": "  Is the   shirt\nlinen? ", "ref": "a1"})
    ack = (await ann.wait_for("ack", ref="a1"))[0]
    for client in (ann, bob, host):
        [comment] = await client.wait_for("comment")
        assert comment["text"] == "Is the shirt linen?"
        assert comment["name"] == "Ann"
        assert comment["seq"] == ack["seq"]
    await asyncio.sleep(0.05)
    assert [len(c.comments()) for c in (ann, bob, host)] == [1, 1, 1]
    for client in (ann, bob, host):
        await client.close()


async def test_staff_comment_carries_its_role(hub: Hub) -> None:
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia (host)"))
    ann = await RawClient.viewer(hub.local_ws_url)
    await host.send({"t": "comment", "text": "Welcome everyone!"})
    [comment] = await ann.wait_for("comment")
    assert comment["role"] == "host"
    assert comment["name"] == "Mia (host)"
    await host.close()
    await ann.close()


async def test_new_viewer_sees_recent_history(hub: Hub) -> None:
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    for n in range(3):
        await ann.send({"t": "comment", "text": f"comment {n}", "ref": str(n)})
        await ann.wait_for("ack", ref=str(n))
    await asyncio.sleep(0.05)
    late = await RawClient.viewer(hub.local_ws_url, "Late")
    await late.wait_for("comment", count=3)
    assert [c["text"] for c in late.comments()] == ["comment 0", "comment 1", "comment 2"]
    await ann.close()
    await late.close()


async def test_resume_after_dropped_connection_has_no_gap_and_no_duplicate(hub: Hub) -> None:
    talker = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host"))
    reader = await RawClient.viewer(hub.local_ws_url, "Reader", viewer_id="reader-0001")
    for n in range(5):
        await talker.send({"t": "comment", "text": f"before {n}"})
    await reader.wait_for("comment", count=5)
    last_seq = reader.comments()[-1]["seq"]
    reader.ws.transport.abort()
    await asyncio.gather(reader._reader, return_exceptions=True)

    for n in range(7):
        await talker.send({"t": "comment", "text": f"missed {n}"})
    await talker.wait_for("comment", count=12)

    back = await RawClient.viewer(
        hub.local_ws_url, "Reader", viewer_id="reader-0001", since=last_seq
    )
    for n in range(2):
        await talker.send({"t": "comment", "text": f"after {n}"})
    await back.wait_for("comment", count=9)
    await asyncio.sleep(0.05)
    texts = [c["text"] for c in back.comments()]
    assert texts == [f"missed {n}" for n in range(7)] + ["after 0", "after 1"]
    seqs = [c["seq"] for c in back.comments()]
    assert seqs == list(range(last_seq + 1, last_seq + 10))
    assert not back.of_type("welcome")[0].get("history_truncated", False)
    await talker.close()
    await back.close()


async def test_resume_from_a_seq_the_hub_never_had_gets_fresh_history(hub: Hub) -> None:
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    await ann.send({"t": "comment", "text": "hello", "ref": "1"})
    await ann.wait_for("ack")
    await asyncio.sleep(0.05)
    stale = await RawClient.viewer(hub.local_ws_url, "Old tab", since=999)
    [welcome] = stale.of_type("welcome")
    assert welcome["history_truncated"] is True
    [comment] = await stale.wait_for("comment")
    assert comment["text"] == "hello"
    await ann.close()
    await stale.close()


async def test_history_survives_a_hub_restart(data_dir: Path) -> None:
    store = Store.open(data_dir)
    first = Hub(store, tick=0.01)
    await first.start("127.0.0.1", 0)
    ann = await RawClient.viewer(first.local_ws_url, "Ann")
    await ann.send({"t": "comment", "text": "still here after restart?", "ref": "1"})
    await ann.wait_for("ack")
    await ann.close()
    await first.stop()
    store.close()

    store = Store.open(data_dir)
    second = Hub(store, tick=0.01)
    await second.start("127.0.0.1", 0)
    bob = await RawClient.viewer(second.local_ws_url, "Bob")
    [comment] = await bob.wait_for("comment")
    assert comment["text"] == "still here after restart?"
    # The hub's seq counts staff-only events too (the comment asked a question).
    assert bob.of_type("welcome")[0]["seq"] >= comment["seq"]
    await bob.close()
    await second.stop()
    store.close()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("{not json", "malformed"),
        (json.dumps({"t": "dance"}), "malformed"),
        (json.dumps({"t": "comment"}), "malformed"),
        (json.dumps({"t": "comment", "text": 42}), "malformed"),
        (json.dumps({"t": "comment", "text": "x" * 20_000}), "too_large"),
        (json.dumps({"t": "comment", "text": "x" * 501}), "invalid"),
        (json.dumps({"t": "comment", "text": "   "}), "invalid"),
        (json.dumps({"t": "profile", "viewer_id": "someone-123"}), "forbidden"),
        (json.dumps({"t": "hello", "v": 1}), "invalid"),
    ],
)
async def test_bad_message_gets_typed_error_and_connection_stays_up(
    hub: Hub, payload: str, code: str
) -> None:
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    await ann.send(payload)
    [error] = await ann.wait_for("error")
    assert error["code"] == code
    assert error["message"]
    await ann.send({"t": "comment", "text": "still connected", "ref": "ok"})
    await ann.wait_for("ack", ref="ok")
    [comment] = await ann.wait_for("comment")
    assert comment["text"] == "still connected"
    assert hub.store.last_seq == 1, "the bad message stored nothing"
    await ann.close()


async def test_viewer_must_say_hello_first_and_pick_a_name_to_post(hub: Hub) -> None:
    async with connect(hub.local_ws_url) as ws:
        await ws.send(json.dumps({"t": "comment", "text": "hi"}))
        [error] = json.loads(await ws.recv())
        assert error["code"] == "hello_required"
    lurker = await RawClient.viewer(hub.local_ws_url, name=None)
    await lurker.send({"t": "comment", "text": "hi", "ref": "1"})
    [error] = await lurker.wait_for("error")
    assert error["code"] == "name_required"
    await lurker.send({"t": "set_name", "name": "Lurker", "ref": "n"})
    await lurker.wait_for("ack", ref="n")
    await lurker.send({"t": "comment", "text": "hi", "ref": "2"})
    [comment] = await lurker.wait_for("comment")
    assert comment["name"] == "Lurker"
    await lurker.close()


async def test_wrong_token_and_wrong_version_are_refused(hub: Hub) -> None:
    async with connect(hub.local_ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": "guess"}))
        [error] = json.loads(await ws.recv())
        assert error["code"] == "bad_token"
    async with connect(hub.local_ws_url) as ws:
        await ws.send(
            json.dumps({"t": "hello", "v": 99, "role": "viewer", "viewer_id": "abcdefgh"})
        )
        [error] = json.loads(await ws.recv())
        assert error["code"] == "unsupported_version"
        assert "reload" in error["message"]
    token = hub.issue_token("agent", "Sam")
    async with connect(hub.local_ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "host", "token": token}))
        [error] = json.loads(await ws.recv())
        assert error["code"] == "forbidden"


async def test_expired_token_is_refused(hub: Hub) -> None:
    token = hub.issue_token("moderator", "Kim", ttl=-1)
    async with connect(hub.local_ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "role": "moderator", "token": token}))
        [error] = json.loads(await ws.recv())
        assert error["code"] == "bad_token"
        assert "expired" in error["message"]


async def test_a_fast_viewer_is_rate_limited_with_the_wait_named(data_dir: Path) -> None:
    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=Limits(viewer_comments_per_s=1, viewer_comment_burst=2))
    await hub.start("127.0.0.1", 0)
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    bob = await RawClient.viewer(hub.local_ws_url, "Bob")
    for n in range(4):
        await ann.send({"t": "comment", "text": f"spam {n}", "ref": str(n)})
    errors = await ann.wait_for("error", count=2)
    assert {e["code"] for e in errors} == {"rate_limited"}
    assert all(e["retry_after"] > 0 for e in errors)
    assert "again in" in errors[0]["message"]
    await bob.wait_for("comment", count=2)
    await asyncio.sleep(0.05)
    assert [c["text"] for c in bob.comments()] == ["spam 0", "spam 1"]
    for c in (ann, bob):
        await c.close()
    await hub.stop()
    store.close()


async def test_a_flooder_gets_typed_errors_while_the_room_talks_on(data_dir: Path) -> None:
    store = Store.open(data_dir)
    slow = Limits(viewer_comments_per_s=0.001, viewer_comment_burst=3)
    hub = Hub(store, tick=0.01, limits=slow)
    await hub.start("127.0.0.1", 0)
    flooder = await RawClient.viewer(hub.local_ws_url, "Flo")
    carl = await RawClient.viewer(hub.local_ws_url, "Carl")
    bob = await RawClient.viewer(hub.local_ws_url, "Bob")
    for n in range(300):
        await flooder.send({"t": "comment", "text": f"flood {n}", "ref": str(n)})
        if n in (100, 200):
            await carl.send({"t": "comment", "text": f"carl at {n}"})
    errors = await flooder.wait_for("error", count=297, timeout=10)
    assert {e["code"] for e in errors} == {"rate_limited"}
    await bob.wait_for("comment", count=5, timeout=5)
    await asyncio.sleep(0.05)
    texts = [c["text"] for c in bob.comments()]
    assert sorted(texts) == ["carl at 100", "carl at 200", "flood 0", "flood 1", "flood 2"]
    await carl.send({"t": "comment", "text": "after the flood"})
    await flooder.wait_for("comment", count=6, timeout=5)
    assert flooder.comments()[-1]["text"] == "after the flood", "the flooder stays connected"
    for c in (flooder, carl, bob):
        await c.close()
    await hub.stop()
    store.close()


async def test_viewer_count_counts_distinct_viewers(hub: Hub) -> None:
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host"))
    one = await RawClient.viewer(hub.local_ws_url, viewer_id="same-viewer-1")
    two_tabs = await RawClient.viewer(hub.local_ws_url, viewer_id="same-viewer-1")
    other = await RawClient.viewer(hub.local_ws_url, viewer_id="other-viewer")
    found = await host.wait_for("viewers", timeout=5)
    assert found[-1]["count"] == 2
    await other.close()
    await asyncio.sleep(1.2)
    assert host.of_type("viewers")[-1]["count"] == 1
    for c in (host, one, two_tabs):
        await c.close()


async def test_full_disk_gives_a_clear_error_and_keeps_what_was_stored(data_dir: Path) -> None:
    store = Store.open(data_dir)
    generous = Limits(
        viewer_comments_per_s=1e4,
        viewer_comment_burst=1e4,
        viewer_messages_per_s=1e4,
        viewer_message_burst=1e4,
    )
    hub = Hub(store, tick=0.01, limits=generous)
    await hub.start("127.0.0.1", 0)
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    await ann.send({"t": "comment", "text": "saved before the disk filled", "ref": "first"})
    await ann.wait_for("ack", ref="first")
    # Cap the file at its current size: the next growth fails as a full disk would.
    pages = value(store, "PRAGMA page_count")
    value(store, f"PRAGMA max_page_count = {pages}")
    for n in range(500):
        await ann.send({"t": "comment", "text": f"{n} " + "x" * 480, "ref": f"f{n}"})
        while not [m for m in ann.messages if m.get("ref") == f"f{n}"]:
            await asyncio.sleep(0.001)
        if ann.of_type("error"):
            break
    [error] = ann.of_type("error")
    assert error["code"] == "unavailable"
    assert "full" in error["message"] and "free some space" in error["message"]
    acked = len(ann.of_type("ack"))

    await ann.send({"t": "set_name", "name": "Ann B", "ref": "alive"})
    await ann.wait_for("ack", ref="alive")
    await ann.close()
    await hub.stop()
    store.close()
    check = Store.open(data_dir)
    texts = [text for (text,) in rows(check, "SELECT text FROM comments ORDER BY id")]
    check.close()
    assert texts[0] == "saved before the disk filled"
    assert len(texts) == acked, "every acknowledged comment is stored, and only those"


async def test_viewer_page_and_assets_are_served_and_nothing_else(hub: Hub) -> None:
    import urllib.error
    import urllib.request

    def get(path: str) -> tuple[int, str, bytes]:
        try:
            with urllib.request.urlopen(hub.viewer_url.rstrip("/") + path, timeout=5) as r:
                return r.status, r.headers["Content-Type"], r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read()

    loop = asyncio.get_running_loop()
    status, ctype, body = await loop.run_in_executor(None, get, "/")
    assert status == 200 and ctype.startswith("text/html") and b"<html" in body.lower()
    status, ctype, _ = await loop.run_in_executor(None, get, "/app.js")
    assert status == 200 and ctype.startswith("text/javascript")
    for bad in ("/../pyproject.toml", "/images/../../console/cli.py", "/nope.html", "/.hidden.js"):
        status, _, _ = await loop.run_in_executor(None, get, bad)
        assert status == 404, bad


async def test_a_stuck_viewer_is_dropped_and_resumes_without_gaps_or_duplicates(
    data_dir: Path,
) -> None:
    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=FAST_STAFF, max_client_buffer=32 * 1024)
    await hub.start("127.0.0.1", 0)
    talker = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host"))
    other = await RawClient.viewer(hub.local_ws_url, "Other")
    stuck = await RawClient.viewer(hub.local_ws_url, "Stuck", viewer_id="stuck-viewer-1")
    since = stuck.of_type("welcome")[0]["seq"]
    # The phone stops reading: its receive window fills, then the hub's buffers.
    sock = stuck.ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.ws.transport.pause_reading()
    sent = 0
    while hub.room.viewer_count == 2 and sent < 4000:
        for _ in range(50):
            sent += 1
            await talker.send({"t": "comment", "text": f"{sent:05d} " + "x" * 400})
        await talker.wait_for("ack", count=sent, timeout=10)
        await asyncio.sleep(0.02)
    assert hub.room.viewer_count == 1, "the hub dropped the viewer that stopped reading"
    stuck.ws.transport.abort()  # the phone notices only when it reads again

    back = await RawClient.viewer(
        hub.local_ws_url, "Stuck", viewer_id="stuck-viewer-1", since=since
    )
    await back.wait_for("comment", count=sent, timeout=20)
    await other.wait_for("comment", count=sent, timeout=20)
    await asyncio.sleep(0.05)
    replayed = [c["seq"] for c in back.comments()]
    assert replayed == list(range(since + 1, since + sent + 1)), "exactly what it missed"
    assert len(other.comments()) == sent, "the others lost nothing meanwhile"
    for client in (talker, other, back):
        await client.close()
    await hub.stop()
    store.close()


async def test_a_slow_phone_reading_a_long_replay_is_not_dropped_for_it(data_dir: Path) -> None:
    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=FAST_STAFF, max_client_buffer=32 * 1024)
    await hub.start("127.0.0.1", 0)
    talker = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host"))
    phone = await RawClient.viewer(hub.local_ws_url, "Slow", viewer_id="slow-viewer-1")
    since = phone.of_type("welcome")[0]["seq"]
    await phone.close()
    missed = 1500  # about 700 KB to replay, twenty times the limit
    for n in range(1, missed + 1):
        await talker.send({"t": "comment", "text": f"{n:05d} " + "x" * 400})
        if n % 100 == 0:
            await talker.wait_for("ack", count=n, timeout=10)

    # Back on a slow link: nothing is read while the hub writes the replay and a new
    # comment's frame goes out to everyone.
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", hub.port))
    back = RawClient(await connect(hub.local_ws_url, sock=sock, compression=None))
    back.ws.transport.pause_reading()
    hello = {"t": "hello", "v": 1, "role": "viewer", "viewer_id": "slow-viewer-1"}
    await back.send({**hello, "key": "key-for-slow-viewer-1", "since": since})
    for _ in range(200):
        if hub.room.viewer_count:
            break
        await asyncio.sleep(0.01)
    await talker.send({"t": "comment", "text": "while the phone catches up"})
    await talker.wait_for("comment", count=missed + 1, timeout=10)
    await asyncio.sleep(0.1)
    assert hub.room.viewer_count == 1, "not dropped while reading its replay"

    back.ws.transport.resume_reading()
    await back.wait_for("comment", count=missed + 1, timeout=20)
    seqs = [c["seq"] for c in back.comments()]
    assert seqs == list(range(since + 1, since + missed + 2))
    for client in (talker, back):
        await client.close()
    await hub.stop()
    store.close()


def test_a_bigger_room_gathers_events_for_longer(hub: Hub) -> None:
    room = hub.room
    assert room.tick == pytest.approx(0.01)
    room._sessions.update({object(): None for _ in range(5000)})  # type: ignore[misc]
    assert room.tick == pytest.approx(0.15, abs=0.005)
    room._sessions.update({object(): None for _ in range(20_000)})  # type: ignore[misc]
    assert room.tick == pytest.approx(0.3)
    room._sessions.clear()


async def test_the_room_keeps_the_beat_of_its_frame_clock(data_dir: Path) -> None:
    store = Store.open(data_dir)
    hub = Hub(store, tick=2.0)
    await hub.start("127.0.0.1", 0)
    room, loop = hub.room, asyncio.get_running_loop()
    staff = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host"))

    await staff.send({"t": "comment", "text": "first of a quiet room"})
    await staff.wait_for("ack")
    assert room._flush_handle is not None
    assert room._flush_handle.when() > loop.time() + 1.0, "waits a tick for the burst"
    room._flush_handle.cancel()
    started = loop.time()
    room.flush()

    await asyncio.sleep(0.5)
    await staff.send({"t": "comment", "text": "second, half a tick later"})
    await staff.wait_for("ack", count=2)
    assert room._flush_handle is not None
    assert room._flush_handle.when() == pytest.approx(started + 2.0, abs=0.3)
    await staff.wait_for("comment", count=2, timeout=5)
    await staff.close()
    await hub.stop()
    store.close()


async def test_a_frame_to_every_viewer_starts_no_collection_of_its_own(hub: Hub) -> None:
    """One object per viewer kept for the length of the loop was promoted by the young
    collections it triggered; at 10,000 viewers that meant a full pass every few seconds."""
    viewers = [await RawClient.viewer(hub.local_ws_url, f"V{i}") for i in range(60)]
    frame = protocol.frame([protocol.encode(protocol.Viewers(count=60))])
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    was_enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.collect()
    gc.enable()
    gc.set_threshold(20, 10, 10)
    gc.callbacks.append(count)
    try:
        hub.room._deliver(frame)
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
        if not was_enabled:
            gc.disable()
    assert collections == []
    for viewer in viewers:
        await viewer.wait_for("viewers", timeout=5)
        await viewer.close()
