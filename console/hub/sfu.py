"""The hub's broker to Janus: each viewer watches through the SFU, the page talks to the hub.

A big show's video goes from the console to Janus by WHIP, and from Janus to every
viewer; the viewer page still speaks only to the hub (one socket, its auth and its bans),
and the hub speaks to Janus's VideoRoom for it. Janus offers to subscribers (its
VideoRoom takes no subscriber's offer), so for each page the hub makes a subscriber
handle on the show's publisher, relays Janus's offer to the page and the page's answer
back (candidates inside the SDP, no trickle), and detaches the handle when the page
leaves or asks again. The show is live while the room has a publisher: the broker asks
Janus once a second (which also keeps its session alive) and tells the hub when that
changes. A show is not over when its publisher drops out, though: when the WHIP server
ends the console's session it publishes again within a couple of seconds, and when Janus
is killed and restarts (``python -m console.sfu`` starts it again in about a second) the
console notices its dead session within seconds and publishes again. Meanwhile the show
stays live and pages are told the video reconnects (they ask again by themselves); only
a publisher that stays away past the grace ends the show. The broker connects again by
itself.

A publisher may send several video streams: the console sends H.264 and, for browsers
without it (Debian's Firefox ESR), the same picture in VP8. The page says which video
codecs its browser decodes (``watch.codecs``, from the browser's own offer), and the
hub subscribes it to one video stream (H.264 whenever it can play it, else VP8) and the
audio, by mid: Janus would otherwise send it every stream. Which streams a feed has the
broker learns once per feed from a subscription Janus describes (its ``attached``
event) and drops at once. A page whose browser plays none of the show's video gets
words that say why and what to change, before any subscription is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from console.errors import ShopcastError
from console.sfu.janus import JanusConnection, JanusError

log = logging.getLogger(__name__)

#: Seconds between two looks at the room (who publishes); Janus answers in milliseconds.
POLL = 1.0
#: Seconds before connecting to a Janus that was unreachable or closed, doubled up to
#: ``MAX_RETRY`` while it stays away.
RETRY = 1.0
MAX_RETRY = 10.0
#: Seconds the show stays live after its publisher left a room Janus still serves: the
#: console's WHIP output publishes again 1 s after the server ended its session.
LEFT_GRACE = 8.0
#: Seconds it stays live after Janus went away: Janus is back in about a second, and the
#: console notices its dead session (media.whip's ``SILENCE``) and publishes again.
AWAY_GRACE = 30.0
NOT_READY = "The show's video server (Janus) is not reachable; the hub keeps trying."
NO_PUBLISHER = "The show is not live yet; the video starts when it is."
RECONNECTING = "The video is reconnecting; this page picks it up again by itself."
#: What a page whose browser answered Janus's offer without H.264 video (or Opus audio)
#: is told: the show's room forwards the publisher's codecs only.
CANNOT_PLAY = (
    "This browser cannot play the show's {what}, which is the only kind this show sends. "
    "Watch in an up-to-date Chrome, Edge or Safari, or in Firefox turn on the "
    "OpenH264 plugin (Settings, Extensions & Themes, Plugins) and reload."
)
#: What a page is told whose browser plays none of several video codecs the show sends.
CANNOT_PLAY_ANY = (
    "This browser cannot play the show's video: the show sends {what}, and this browser "
    "plays none of them. Watch in an up-to-date Chrome, Edge, Firefox or Safari."
)
#: The video codecs a page is subscribed to, best first: every browser but Debian's
#: Firefox ESR decodes H.264, phones in hardware.
VIDEO_PREFERENCE = ("h264", "vp8")
#: How the codecs Janus names ("h264") read in SDP and in words.
RTPMAP = {"h264": "H264/90000", "vp8": "VP8/90000", "opus": "opus/48000"}
SAID = {"h264": "H.264", "vp8": "VP8", "vp9": "VP9", "av1": "AV1", "h265": "H.265"}


class SfuUnavailable(ShopcastError):
    """Janus is away, or the room has no publisher: a viewer cannot subscribe now."""


class SfuCodecRefused(ShopcastError):
    """The page's browser cannot play what the show sends; the message says what to use."""


# ------------------------------------------------------------------ pure decisions


def publisher_ids(participants: Iterable[Mapping[str, Any]]) -> list[int]:
    """The feeds that publish, in Janus's order (``listparticipants``)."""
    return [int(p["id"]) for p in participants if p.get("publisher") and "id" in p]


def choose_feed(publishers: list[int], current: int | None, seen: frozenset[int]) -> int | None:
    """The feed new viewers subscribe to. A publisher that just appeared wins: when the
    console publishes again (a new WHIP session), the old one lingers in the room until
    Janus notices it is gone, and new viewers must get the live one. Otherwise the
    current feed while it publishes, else the first publisher, else none."""
    fresh = [feed for feed in publishers if feed not in seen]
    if fresh:
        return fresh[-1]
    if current in publishers:
        return current
    return publishers[0] if publishers else None


def still_live(live: bool, publishing: bool, gone_for: float, grace: float) -> bool:
    """Whether the show is live: while a publisher is in the room, and for ``grace``
    seconds after it dropped out of a live show (``gone_for`` seconds ago), which is
    how long the console takes to publish again."""
    return publishing or (live and gone_for < grace)


@dataclass(frozen=True, slots=True)
class FeedStream:
    """One stream a publisher sends, as Janus describes it: the publisher's ``mid``, its
    ``kind`` ("audio", "video") and its ``codec`` ("h264", "vp8", "opus")."""

    mid: str
    kind: str
    codec: str


@dataclass(frozen=True, slots=True)
class Pick:
    """The streams a page is subscribed to (publisher mids) and their video codec."""

    mids: tuple[str, ...]
    video: str


def feed_streams(attached: Iterable[Mapping[str, Any]]) -> tuple[FeedStream, ...]:
    """A feed's streams from the ``streams`` of a subscription's ``attached`` event."""
    return tuple(
        FeedStream(str(s["feed_mid"]), str(s["type"]), str(s.get("codec", "")).lower())
        for s in attached
        if s.get("feed_mid") is not None and s.get("type") in ("audio", "video")
    )


def decodable(codecs: Iterable[str] | None) -> frozenset[str] | None:
    """A page's ``watch.codecs`` ("H264", "VP8") as Janus names codecs ("h264", "vp8");
    None stays None (a page that did not say)."""
    if codecs is None:
        return None
    return frozenset(codec.strip().lower() for codec in codecs)


def pick_streams(streams: Iterable[FeedStream], decodes: frozenset[str] | None) -> Pick | None:
    """The audio and the one video stream a page plays best; None when it plays none of
    the feed's video. A page that did not say what it decodes gets H.264 (the answer's
    check then tells it, if it cannot play that after all)."""
    streams = tuple(streams)
    videos = [stream for stream in streams if stream.kind == "video"]
    if decodes is None:
        playable = [s for s in videos if s.codec == "h264"] or videos[:1]
    else:
        playable = [s for s in videos if s.codec in decodes]
    if not playable and videos:
        return None
    ranked = sorted(playable, key=lambda stream: _preference(stream.codec))
    audio = tuple(stream.mid for stream in streams if stream.kind == "audio")
    if not ranked:
        return Pick(audio, "")
    return Pick((ranked[0].mid, *audio), ranked[0].codec)


def _preference(codec: str) -> int:
    return VIDEO_PREFERENCE.index(codec) if codec in VIDEO_PREFERENCE else len(VIDEO_PREFERENCE)


def cannot_play(streams: Iterable[FeedStream], lacking: str) -> str:
    """The words for a page that cannot play ``lacking`` ("h264", "opus") of the show:
    the plain message of a show that sends one video codec, else the codecs it sends."""
    if lacking == "opus":
        return CANNOT_PLAY.format(what="Opus audio")
    sent = sorted({s.codec for s in streams if s.kind == "video"}, key=_preference)
    names = [SAID.get(codec, codec.upper()) for codec in sent or [lacking]]
    if len(names) == 1:
        return CANNOT_PLAY.format(what=f"{names[0]} video")
    return CANNOT_PLAY_ANY.format(what=", ".join(names[:-1]) + " and " + names[-1])


def unplayable(answer: str, video: str = "h264") -> str | None:
    """Which codec (``video``, or "opus") a page's SDP ``answer`` to Janus's offer does
    not take, or None. A browser without H.264 (Debian's Firefox ESR) answers the video
    section with port 0 or with other codecs; Janus would then send it sound only."""
    for kind, codec in (("video", video), ("audio", "opus")):
        section = _section(answer, kind)
        accepted = section and section[0].split()[1:2] != ["0"]
        rtpmap = RTPMAP.get(codec, codec).lower()
        if not accepted or not any(rtpmap in line.lower() for line in section):
            return codec
    return None


def _section(sdp: str, kind: str) -> list[str]:
    """The lines of the first ``kind`` media section, its ``m=`` line first; [] if none."""
    found: list[str] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            if found:
                break
            if line.startswith(f"m={kind} "):
                found.append(line)
        elif found:
            found.append(line)
    return found


@dataclass(frozen=True, slots=True)
class SfuOptions:
    """Where a headless hub's viewers watch (``--sfu``): Janus's WebSocket API, its API
    secret, and the show's VideoRoom."""

    url: str
    secret: str
    room: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """One page's subscriber handle on ``feed``, whose video is in ``video``'s codec."""

    handle: int
    feed: int
    video: str = "h264"


# ------------------------------------------------------------------ the broker


def _join(room: int, feed: int, pick: Pick) -> dict[str, Any]:
    """A subscriber's ``join`` to ``pick``'s streams of ``feed`` (all of them when the
    feed's streams came without mids: Janus then sends what the feed has)."""
    streams = [{"feed": feed, "mid": mid} for mid in pick.mids] or [{"feed": feed}]
    return {"request": "join", "room": room, "ptype": "subscriber", "streams": streams}


class SfuBroker:
    """Subscriptions to the show's room ``room`` on the Janus at ``url`` (its WebSocket
    API, with ``secret``), one per viewer page; ``on_live`` hears when the room gains or
    loses its publisher."""

    def __init__(
        self,
        url: str,
        secret: str,
        room: int,
        on_live: Callable[[bool], None],
        left_grace: float = LEFT_GRACE,
        away_grace: float = AWAY_GRACE,
    ) -> None:
        self.url = url
        self._secret = secret
        self.room = room
        self._on_live = on_live
        self._janus: JanusConnection | None = None
        self._session = 0
        self._monitor = 0
        self._feed: int | None = None
        self._seen: frozenset[int] = frozenset()
        self._viewers: dict[str, Subscription] = {}
        #: The current feed's streams, once learnt (``_streams_of``).
        self._streams: dict[int, tuple[FeedStream, ...]] = {}
        self._learning = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._left_grace = left_grace
        self._away_grace = away_grace
        #: When (event-loop time) a live show's publisher dropped out, and the grace then.
        self._gone_at: float | None = None
        self._grace = left_grace
        self.live = False

    @property
    def watching(self) -> int:
        """Pages that hold a subscription now."""
        return len(self._viewers)

    def start(self) -> None:
        """Connect, and keep connected, in the background (Janus may start later)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()
        self._set_live(False)

    async def subscribe(self, key: str, codecs: Iterable[str] | None = None) -> str:
        """Janus's offer for a new subscription of page ``key`` to the show's publisher:
        its audio and the video stream in a codec of ``codecs`` (what the page decodes;
        None: H.264). A page that asks again gets a new one: its old handle is detached
        first."""
        await self.close_viewer(key)
        janus, feed = self._janus, self._feed
        if janus is None or janus.closed:
            raise SfuUnavailable(RECONNECTING if self.live else NOT_READY)
        if feed is None:
            raise SfuUnavailable(RECONNECTING if self.live else NO_PUBLISHER)
        streams = await self._streams_of(janus, feed)
        pick = pick_streams(streams, decodable(codecs))
        if pick is None:
            raise SfuCodecRefused(cannot_play(streams, "h264"))
        handle = await janus.attach(self._session)
        try:
            _, offer = await janus.negotiate(self._session, handle, _join(self.room, feed, pick))
        except JanusError:
            await self._detach(handle)
            raise
        if offer is None or offer.get("type") != "offer":
            await self._detach(handle)
            raise JanusError("Janus joined the viewer to the show without an offer.")
        self._viewers[key] = Subscription(handle, feed, pick.video or "h264")
        return str(offer.get("sdp", ""))

    async def _streams_of(self, janus: JanusConnection, feed: int) -> tuple[FeedStream, ...]:
        """Feed ``feed``'s streams: Janus describes them when a subscription to all of
        them is made (``attached``); that one is detached at once, before any offer is
        answered, so nothing is sent to it. Once per feed; pages asking meanwhile wait."""
        async with self._learning:
            if feed not in self._streams:
                handle = await janus.attach(self._session)
                body = {"request": "join", "room": self.room, "ptype": "subscriber"}
                try:
                    data, _ = await janus.negotiate(
                        self._session, handle, {**body, "streams": [{"feed": feed}]}
                    )
                except JanusError as exc:
                    # Most likely the feed left meanwhile: the page asks again by itself.
                    log.info("SFU: the streams of feed %d are not known: %s", feed, exc)
                    raise SfuUnavailable(RECONNECTING) from None
                finally:
                    await self._detach(handle)
                streams = feed_streams(data.get("streams", []))
                self._streams = {feed: streams}
                log.info(
                    "SFU: feed %d sends %s",
                    feed,
                    ", ".join(f"{s.kind} {s.codec} (mid {s.mid})" for s in streams) or "nothing",
                )
            return self._streams[feed]

    async def answer(self, key: str, sdp: str) -> None:
        """The page's answer to Janus's offer: Janus starts sending to it."""
        subscription = self._viewers.get(key)
        janus = self._janus
        if subscription is None or janus is None:
            raise SfuUnavailable("Ask for the video first (watch); this answer has no offer.")
        if (lacking := unplayable(sdp, subscription.video)) is not None:
            await self.close_viewer(key)
            raise SfuCodecRefused(cannot_play(self._streams.get(subscription.feed, ()), lacking))
        jsep = {"type": "answer", "sdp": sdp, "trickle": False}
        await janus.negotiate(
            self._session, subscription.handle, {"request": "start", "room": self.room}, jsep
        )

    async def close_viewer(self, key: str) -> None:
        """Page ``key`` left or asks again: Janus stops sending to it."""
        subscription = self._viewers.pop(key, None)
        if subscription is not None:
            await self._detach(subscription.handle)

    async def _detach(self, handle: int) -> None:
        janus = self._janus
        if janus is None or janus.closed:
            return
        try:
            await janus.detach(self._session, handle)
        except JanusError as exc:
            log.debug("Janus did not detach a viewer's handle: %s", exc)

    async def _run(self) -> None:
        wait = RETRY
        while True:
            try:
                await self._connect()
                wait = RETRY
                while True:
                    await self._look()
                    await asyncio.sleep(POLL)
            except JanusError as exc:
                log.warning("SFU: %s Trying again in %g s.", exc, wait)
            await self._disconnect()
            await asyncio.sleep(wait)
            self._judge(publishing=False)
            wait = min(wait * 2, MAX_RETRY)

    async def _connect(self) -> None:
        janus = await JanusConnection.open(self.url, self._secret)
        self._janus = janus
        self._session = await janus.session()
        self._monitor = await janus.attach(self._session)
        exists = await janus.message(
            self._session, self._monitor, {"request": "exists", "room": self.room}
        )
        if not exists.get("exists"):
            raise JanusError(
                f"Janus has no room {self.room} (start it with python -m console.sfu)."
            )
        log.info("SFU: watching room %d on %s", self.room, self.url)

    async def _look(self) -> None:
        """Who publishes: the feed to subscribe to, and whether the show is live."""
        assert self._janus is not None
        data = await self._janus.message(
            self._session, self._monitor, {"request": "listparticipants", "room": self.room}
        )
        publishers = publisher_ids(data.get("participants", []))
        self._feed = choose_feed(publishers, self._feed, self._seen)
        self._seen = frozenset(publishers)
        self._judge(publishing=self._feed is not None)

    def _judge(self, publishing: bool) -> None:
        """Live or not, now: a publisher that dropped out has its grace to come back."""
        now = asyncio.get_running_loop().time()
        if publishing:
            self._gone_at = None
        elif self.live and self._gone_at is None:
            self._gone_at, self._grace = now, self._left_grace
            log.info("SFU: the publisher left; the show stays live for %g s", self._grace)
        gone_for = 0.0 if self._gone_at is None else now - self._gone_at
        self._set_live(still_live(self.live, publishing, gone_for, self._grace))
        if not self.live:
            self._gone_at = None

    async def _disconnect(self) -> None:
        """Forget Janus's session: its handles (every viewer's) end with it."""
        janus, self._janus = self._janus, None
        self._viewers.clear()
        self._streams = {}
        self._feed = None
        self._seen = frozenset()
        if self.live and self._gone_at is None:
            self._gone_at = asyncio.get_running_loop().time()
            self._grace = self._away_grace
            log.info("SFU: Janus went away; the show stays live for %g s", self._grace)
        if janus is not None:
            with contextlib.suppress(JanusError):
                if not janus.closed:
                    await janus.request({"janus": "destroy", "session_id": self._session})
            await janus.close()

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            log.info("SFU: %s", "the show's publisher is in the room" if live else "no publisher")
            self._on_live(live)
