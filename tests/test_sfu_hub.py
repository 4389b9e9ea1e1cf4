"""The hub brokering viewers to an SFU, against a stand-in Janus that needs no install.

The stand-in speaks Janus's WebSocket API as Janus 1.1 answers it (``ack`` then an
``event`` for the VideoRoom's asynchronous requests, ``success`` for the rest) and
records what the hub asked; the real Janus is in tests/test_sfu_janus.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from console.hub.room import Limits
from console.hub.server import Hub
from console.hub.sfu import (
    CANNOT_PLAY,
    RECONNECTING,
    FeedStream,
    Pick,
    SfuBroker,
    cannot_play,
    choose_feed,
    feed_streams,
    pick_streams,
    publisher_ids,
    still_live,
    unplayable,
)
from console.store import Store
from tests.support.clients import RawClient

ROOM = 4321
SECRET = "api-s3cret"
#: The broker's graces, short: how long a show stays live without its publisher.
LEFT_GRACE = 0.3
AWAY_GRACE = 3.0
#: A browser's answer to Janus's offer: H.264 video and Opus audio taken (the hub reads
#: only that).
ANSWER = (
    "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 103\r\na=rtpmap:103 H264/90000\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
)
#: What Debian's Firefox ESR (no OpenH264) answers: the video section refused.
FIREFOX_ESR_ANSWER = ANSWER.replace(
    "m=video 9 UDP/TLS/RTP/SAVPF 103", "m=video 0 UDP/TLS/RTP/SAVPF 120"
).replace("a=rtpmap:103 H264/90000", "a=rtpmap:120 VP8/90000")
#: What the stand-in offers each subscriber: the hub relays it without reading it.
OFFER = "v=0\r\no=janus 1 1 IN IP4 10.0.0.1\r\n"
#: A publisher's streams as Janus describes them in ``attached``: an older console's
#: H.264 and Opus, and the console's with its VP8 rendition (mids as aiortc numbers them).
H264_ONLY = [
    {"type": "video", "feed_mid": "0", "codec": "h264"},
    {"type": "audio", "feed_mid": "1", "codec": "opus"},
]
WITH_VP8 = [*H264_ONLY, {"type": "video", "feed_mid": "2", "codec": "vp8"}]
#: What a page on Debian's Firefox ESR says it decodes (its own offer's video codecs).
FIREFOX_ESR_CODECS = ["VP8", "VP9", "AV1", "rtx"]
CHROMIUM_CODECS = ["VP8", "rtx", "VP9", "H264", "AV1", "red", "ulpfec"]


class StandInJanus:
    """A VideoRoom with the publishers the test puts in it; what the hub asked, in order."""

    def __init__(self) -> None:
        self.publishers: list[int] = []
        #: Every publisher's streams, as ``attached`` describes them.
        self.streams: list[dict[str, Any]] = H264_ONLY
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        self.server: Server | None = None
        self.connections: set[ServerConnection] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def asked(self, request: str) -> list[dict[str, Any]]:
        """The plugin messages with ``body.request`` == ``request``."""
        return [r for r in self.requests if r.get("body", {}).get("request") == request]

    async def handle(self, ws: ServerConnection) -> None:
        self.connections.add(ws)
        try:
            async for text in ws:
                for reply in self.answer(json.loads(text)):
                    await ws.send(json.dumps(reply))
        finally:
            self.connections.discard(ws)

    def answer(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        self.requests.append(request)
        transaction = request["transaction"]
        if request.get("apisecret") != SECRET:
            error = {"code": 403, "reason": "Unauthorized request (wrong or missing secret)"}
            return [{"janus": "error", "transaction": transaction, "error": error}]
        kind = request["janus"]
        if kind in ("create", "attach"):
            made = {"id": next(self._ids)}
            return [{"janus": "success", "transaction": transaction, "data": made}]
        if kind != "message":
            return [{"janus": "success", "transaction": transaction}]
        body = request["body"]
        plugin = {"plugin": "janus.plugin.videoroom"}
        match body["request"]:
            case "exists":
                data = {"videoroom": "success", "room": ROOM, "exists": body["room"] == ROOM}
            case "listparticipants":
                people = [{"id": feed, "publisher": True} for feed in self.publishers]
                data = {"videoroom": "participants", "room": ROOM, "participants": people}
            case "join":
                mids = [wanted["mid"] for wanted in body["streams"] if "mid" in wanted]
                streams = [
                    {**stream, "mid": str(n), "feed_id": body["streams"][0]["feed"]}
                    for n, stream in enumerate(self.streams)
                    if not mids or stream["feed_mid"] in mids
                ]
                event = {"videoroom": "attached", "room": ROOM, "streams": streams}
                return [
                    {"janus": "ack", "transaction": transaction},
                    {
                        "janus": "event",
                        "transaction": transaction,
                        "plugindata": {**plugin, "data": event},
                        "jsep": {"type": "offer", "sdp": OFFER},
                    },
                ]
            case "start":
                return [
                    {"janus": "ack", "transaction": transaction},
                    {
                        "janus": "event",
                        "transaction": transaction,
                        "plugindata": {**plugin, "data": {"videoroom": "event", "started": "ok"}},
                    },
                ]
            case other:
                data = {"videoroom": "event", "error_code": 422, "error": f"unknown {other}"}
        answered = {**plugin, "data": data}
        return [{"janus": "success", "transaction": transaction, "plugindata": answered}]


@pytest.fixture
async def janus() -> AsyncIterator[StandInJanus]:
    stand_in = StandInJanus()
    stand_in.server = await serve(
        stand_in.handle, "127.0.0.1", 0, subprotocols=["janus-protocol"], compression=None
    )
    try:
        yield stand_in
    finally:
        stand_in.server.close()
        await stand_in.server.wait_closed()


@pytest.fixture
async def sfu_hub(data_dir: Path, janus: StandInJanus) -> AsyncIterator[Hub]:
    store = Store.open(data_dir)
    hub = Hub(
        store,
        tick=0.01,
        limits=Limits(),
        sfu=lambda on_live: SfuBroker(
            janus.url, SECRET, ROOM, on_live, left_grace=LEFT_GRACE, away_grace=AWAY_GRACE
        ),
    )
    await hub.start("127.0.0.1", 0)
    try:
        yield hub
    finally:
        await hub.stop()
        store.close()


def subscriptions(janus: StandInJanus) -> list[dict[str, Any]]:
    """The ``join``s that subscribe a page (by mid), not the one that learns the streams."""
    return [j for j in janus.asked("join") if any("mid" in s for s in j["body"]["streams"])]


def detached(janus: StandInJanus) -> list[int]:
    return [r["handle_id"] for r in janus.requests if r["janus"] == "detach"]


async def until(condition: Any, timeout: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


def test_a_republished_feed_wins_over_the_one_janus_has_not_yet_noticed_is_gone() -> None:
    assert choose_feed([7], None, frozenset()) == 7
    assert choose_feed([7, 9], 7, frozenset({7})) == 9
    assert choose_feed([7, 9], 9, frozenset({7, 9})) == 9
    assert choose_feed([9], 7, frozenset({7, 9})) == 9
    assert choose_feed([], 7, frozenset({7})) is None
    people = [{"id": 3, "publisher": False}, {"id": 5, "publisher": True}, {"display": "x"}]
    assert publisher_ids(people) == [5]


async def test_a_viewer_watches_through_the_sfu_the_hub_relaying_its_offer_and_answer(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    [welcome] = ann.of_type("welcome")
    assert welcome["stream_flow"] == "server_offer"
    assert not welcome.get("live")

    await ann.send({"t": "watch", "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert refused["code"] == "not_live"

    janus.publishers.append(77)
    await ann.wait_for("stream", live=True)
    await ann.send({"t": "watch", "ref": "stream"})
    [offer] = await ann.wait_for("watch_offer", ref="stream")
    assert offer["sdp"] == OFFER
    learn, join = janus.asked("join")
    assert learn["body"]["streams"] == [{"feed": 77}]
    assert learn["handle_id"] in detached(janus), "the handle that learnt the streams went"
    assert join["body"] == {
        "request": "join",
        "room": ROOM,
        "ptype": "subscriber",
        "streams": [{"feed": 77, "mid": "0"}, {"feed": 77, "mid": "1"}],
    }

    await ann.send({"t": "watch_answer", "sdp": ANSWER, "ref": "stream"})
    await ann.wait_for("ack", ref="stream")
    [start] = janus.asked("start")
    assert start["jsep"] == {"type": "answer", "sdp": ANSWER, "trickle": False}
    assert start["handle_id"] == join["handle_id"]

    await ann.close()
    await until(lambda: join["handle_id"] in detached(janus))


async def test_a_page_asking_again_gets_a_new_subscription_and_its_old_one_ends(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    for _ in range(2):
        await ann.send({"t": "watch", "ref": "stream"})
    await ann.wait_for("watch_offer", count=2)
    first, second = subscriptions(janus)
    assert len(janus.asked("join")) == 3, "the feed's streams were learnt once"
    assert first["handle_id"] in detached(janus)
    assert second["handle_id"] not in detached(janus)
    await ann.close()


async def test_the_show_ends_when_the_publisher_leaves_janus_and_a_late_answer_is_refused(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    janus.publishers.clear()
    await ann.wait_for("stream", live=False)
    await ann.send({"t": "watch_answer", "sdp": ANSWER, "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert refused["code"] == "not_live"
    await ann.close()


def test_a_show_whose_publisher_dropped_out_stays_live_for_its_grace_only() -> None:
    assert still_live(live=False, publishing=True, gone_for=0.0, grace=8.0)
    assert still_live(live=True, publishing=False, gone_for=7.9, grace=8.0)
    assert not still_live(live=True, publishing=False, gone_for=8.0, grace=8.0)
    assert not still_live(live=False, publishing=False, gone_for=0.0, grace=8.0)


async def test_when_janus_restarts_the_show_stays_live_and_the_page_watches_again(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    publishers, janus.publishers = janus.publishers, []
    for connection in list(janus.connections):
        await connection.close()
    await until(lambda: len([r for r in janus.requests if r["janus"] == "create"]) == 2)
    await ann.send({"t": "watch", "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert (refused["code"], refused["message"]) == ("not_live", RECONNECTING)
    janus.publishers = publishers
    await until(lambda: len(janus.asked("listparticipants")) >= 4)
    await ann.send({"t": "watch", "ref": "stream"})
    await ann.wait_for("watch_offer", ref="stream")
    assert [m["live"] for m in ann.of_type("stream")] == [True], "the page was told it ended"
    await ann.close()


async def test_a_janus_away_past_the_grace_ends_the_show(sfu_hub: Hub, janus: StandInJanus) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    assert janus.server is not None
    janus.server.close()
    for connection in list(janus.connections):
        await connection.close()
    await ann.wait_for("stream", live=False, timeout=AWAY_GRACE + 5)
    await ann.close()


def test_an_answer_without_h264_video_or_opus_audio_is_named_for_what_it_cannot_play() -> None:
    assert unplayable(ANSWER) is None
    assert unplayable(FIREFOX_ESR_ANSWER) == "h264"
    assert unplayable(ANSWER.replace("103 H264/90000", "103 VP9/90000")) == "h264"
    assert unplayable(ANSWER.replace("opus/48000/2", "PCMU/8000")) == "opus"
    assert unplayable("v=0\r\n") == "h264"
    assert unplayable(VP8_ANSWER, "vp8") is None
    assert unplayable(ANSWER, "vp8") == "vp8"
    h264_only = feed_streams(H264_ONLY)
    assert cannot_play(h264_only, "h264") == CANNOT_PLAY.format(what="H.264 video")
    assert cannot_play(h264_only, "opus") == CANNOT_PLAY.format(what="Opus audio")
    both = cannot_play(feed_streams(WITH_VP8), "vp8")
    assert "H.264 and VP8" in both and "OpenH264" not in both


#: A browser's answer to a subscription to the VP8 stream.
VP8_ANSWER = ANSWER.replace("103 H264/90000", "103 VP8/90000")


def test_a_page_gets_h264_when_it_plays_it_else_vp8_else_nothing() -> None:
    both = feed_streams(WITH_VP8)
    assert both == (
        FeedStream("0", "video", "h264"),
        FeedStream("1", "audio", "opus"),
        FeedStream("2", "video", "vp8"),
    )
    chromium = frozenset(c.lower() for c in CHROMIUM_CODECS)
    firefox_esr = frozenset(c.lower() for c in FIREFOX_ESR_CODECS)
    assert pick_streams(both, chromium) == Pick(("0", "1"), "h264")
    assert pick_streams(both, firefox_esr) == Pick(("2", "1"), "vp8")
    assert pick_streams(both, None) == Pick(("0", "1"), "h264"), "an older page: H.264"
    assert pick_streams(both, frozenset({"av1"})) is None
    h264_only = feed_streams(H264_ONLY)
    assert pick_streams(h264_only, firefox_esr) is None
    assert pick_streams(h264_only, chromium) == Pick(("0", "1"), "h264")
    assert pick_streams((), firefox_esr) == Pick((), ""), "streams unknown: all of them"


async def test_a_vp8_only_page_subscribes_to_the_vp8_stream_and_a_chromium_page_to_h264(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.streams = WITH_VP8
    janus.publishers.append(77)
    firefox = await RawClient.viewer(sfu_hub.local_ws_url, "Fay")
    chromium = await RawClient.viewer(sfu_hub.local_ws_url, "Cy")
    await firefox.wait_for("stream", live=True)
    await firefox.send({"t": "watch", "codecs": FIREFOX_ESR_CODECS, "ref": "stream"})
    await firefox.wait_for("watch_offer", ref="stream")
    await chromium.send({"t": "watch", "codecs": CHROMIUM_CODECS, "ref": "stream"})
    await chromium.wait_for("watch_offer", ref="stream")
    vp8, h264 = subscriptions(janus)
    assert vp8["body"]["streams"] == [{"feed": 77, "mid": "2"}, {"feed": 77, "mid": "1"}]
    assert h264["body"]["streams"] == [{"feed": 77, "mid": "0"}, {"feed": 77, "mid": "1"}]
    await firefox.send({"t": "watch_answer", "sdp": VP8_ANSWER, "ref": "stream"})
    await firefox.wait_for("ack", ref="stream")
    await chromium.send({"t": "watch_answer", "sdp": VP8_ANSWER, "ref": "stream"})
    [refused] = await chromium.wait_for("error", ref="stream")
    assert "H.264 and VP8" in refused["message"], "its answer took the wrong codec"
    await firefox.close()
    await chromium.close()


async def test_a_vp8_only_page_is_told_at_once_when_the_show_sends_h264_only(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    await ann.send({"t": "watch", "codecs": FIREFOX_ESR_CODECS, "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert (refused["code"], refused["message"]) == (
        "invalid",
        CANNOT_PLAY.format(what="H.264 video"),
    )
    assert not subscriptions(janus), "no subscription was made for it"
    await ann.close()


async def test_a_page_that_cannot_play_h264_is_told_why_and_its_subscription_ends(
    sfu_hub: Hub, janus: StandInJanus
) -> None:
    janus.publishers.append(77)
    ann = await RawClient.viewer(sfu_hub.local_ws_url, "Ann")
    await ann.wait_for("stream", live=True)
    await ann.send({"t": "watch", "ref": "stream"})
    await ann.wait_for("watch_offer", ref="stream")
    await ann.send({"t": "watch_answer", "sdp": FIREFOX_ESR_ANSWER, "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert refused["code"] == "invalid"
    assert refused["message"] == CANNOT_PLAY.format(what="H.264 video")
    assert not janus.asked("start"), "Janus was never asked to send to it"
    [join] = subscriptions(janus)
    await until(lambda: join["handle_id"] in detached(janus))
    await ann.close()


async def test_a_hub_without_an_sfu_tells_pages_to_offer_and_refuses_watch(hub: Hub) -> None:
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    [welcome] = ann.of_type("welcome")
    assert welcome.get("stream_flow", "client_offer") == "client_offer"
    await ann.send({"t": "watch", "ref": "stream"})
    [refused] = await ann.wait_for("error", ref="stream")
    assert refused["code"] == "not_live"
    await ann.close()
