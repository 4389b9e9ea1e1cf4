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


def unplayable(answer: str) -> str | None:
    """What a page's SDP ``answer`` to Janus's offer cannot play ("H.264 video", "Opus
    audio"), or None. A browser without H.264 (Debian's Firefox ESR) answers the video
    section with port 0 or with other codecs; Janus would then send it sound only."""
    for kind, codec in (("video", "H264/90000"), ("audio", "opus/48000")):
        section = _section(answer, kind)
        accepted = section and section[0].split()[1:2] != ["0"]
        if not accepted or not any(codec.lower() in line.lower() for line in section):
            return "H.264 video" if kind == "video" else "Opus audio"
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
    """One page's subscriber handle on ``feed``."""

    handle: int
    feed: int


# ------------------------------------------------------------------ the broker


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

    async def subscribe(self, key: str) -> str:
        """Janus's offer for a new subscription of page ``key`` to the show's publisher
        (a page that asks again gets a new one: its old handle is detached first)."""
        await self.close_viewer(key)
        janus, feed = self._janus, self._feed
        if janus is None or janus.closed:
            raise SfuUnavailable(RECONNECTING if self.live else NOT_READY)
        if feed is None:
            raise SfuUnavailable(RECONNECTING if self.live else NO_PUBLISHER)
        handle = await janus.attach(self._session)
        body = {
            "request": "join",
            "room": self.room,
            "ptype": "subscriber",
            "streams": [{"feed": feed}],
        }
        try:
            _, offer = await janus.negotiate(self._session, handle, body)
        except JanusError:
            await self._detach(handle)
            raise
        if offer is None or offer.get("type") != "offer":
            await self._detach(handle)
            raise JanusError("Janus joined the viewer to the show without an offer.")
        self._viewers[key] = Subscription(handle, feed)
        return str(offer.get("sdp", ""))

    async def answer(self, key: str, sdp: str) -> None:
        """The page's answer to Janus's offer: Janus starts sending to it."""
        subscription = self._viewers.get(key)
        janus = self._janus
        if subscription is None or janus is None:
            raise SfuUnavailable("Ask for the video first (watch); this answer has no offer.")
        if (what := unplayable(sdp)) is not None:
            await self.close_viewer(key)
            raise SfuCodecRefused(CANNOT_PLAY.format(what=what))
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
