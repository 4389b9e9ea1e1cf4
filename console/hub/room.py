"""The live room: who is connected, what they may do, and the per-tick fan-out.

Every command is handled synchronously on the loop thread: the store write, the queueing
of the event and the reply happen with no ``await`` between them, so a joining client's
history and the live frames that follow it can never overlap or leave a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from websockets.asyncio.connection import broadcast
from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from console import protocol
from console.bus import EventBus, Notice, RoomEvent
from console.bus.local import LocalBus
from console.domain.chat import ChatRuleError, RateLimiter, clean_name
from console.domain.insight.audience import AudienceSampler
from console.domain.limits import NEW_IDS_PER_MINUTE, NewIdGate
from console.errors import ProtocolError, ShopcastError
from console.hub.auctions import AUCTION_EVENT_PREFIX, AuctionDesk
from console.hub.auth import (
    check_token,
    hash_token,
    issue_token,
    replace_host_token,
    staff_viewer_id,
)
from console.hub.cadence import FrameClock
from console.hub.claims import CLAIM_EVENTS, ClaimDesk
from console.hub.fanout import Coalescer, Feed, Frames, events_from_log, private_to
from console.hub.giveaways import GiveawayDesk
from console.hub.moderation import Moderation
from console.hub.payments import PaymentProvider
from console.hub.permissions import check_permission
from console.hub.playout import PlayoutDesk
from console.hub.questions import QuestionDesk
from console.hub.shop import Shop
from console.hub.shoppers import ShopperSignals
from console.hub.viewers import ViewerData
from console.protocol import ErrorCode
from console.room.chat import CommentCommand, CommentRate, decide_comment
from console.room.decision import (
    Acknowledge,
    Decision,
    HoldComment,
    LogAutoDelete,
    PostComment,
    Refuse,
)
from console.room.stage import domain_product
from console.store.api import Store
from console.store.records import Actor, Published

log = logging.getLogger(__name__)

#: Events sent to a client that connects for the first time.
HISTORY_EVENTS = 50
#: A client that missed more than this many events gets fresh history instead.
REPLAY_LIMIT = 5000
#: A client whose unsent data exceeds this is dropped; it reconnects with ``since``.
#: With the kernel's buffer below, a viewer may fall about 3 s behind a flash drop's
#: 200 comments/s before it is dropped, and 10,000 stuck phones hold at most ~1.9 GB
#: of the hub's memory (512 KiB each held up to 6.4 GB).
MAX_CLIENT_BUFFER = 64 * 1024
#: The same for a staff console: there are a handful, and dropping the host's console
#: at a show's peak (1,000 comments/s is 250 KB/s) costs more than the memory.
MAX_STAFF_BUFFER = 1024 * 1024
#: The kernel's send buffer for a viewer's socket. Left at its default (megabytes on
#: loopback) it would hide a stuck client's backlog from the check above for tens of
#: seconds; capped, the backlog reaches asyncio's buffer, where the room sees it.
VIEWER_SOCKET_SNDBUF = 64 * 1024
#: Longest tick: with many listeners, fewer and fuller frames cost less (one write per
#: listener per frame dominates the hub's time) at the price of a little delay.
MAX_TICK = 0.3
#: Listeners per second of tick: 10,000 listeners get 300 ms. A frame to each of them
#: takes 130-250 ms to write on two cores. With a 100-250 ms tick the hub wrote frames
#: nearly back to back, its writes and the listeners' reads kept both cores busy, and
#: the delay p99 was 437-702 ms (median 563, 13 runs); with 300 ms the machine stays
#: below 1.5 busy cores and the p99 was 405-477 ms in five runs (``chat_fanout.py``).
LISTENERS_PER_TICK_SECOND = 33_000
#: Seconds between viewer-count updates at most (presence is ephemeral, not replayed).
PRESENCE_INTERVAL = 1.0
#: How often the room checks staff tokens' expiry and lapsed question claims.
HOUSEKEEPING_INTERVAL = 1.0
#: The bus's lease of the hub that runs the show's timers (deal end, question expiry,
#: auction close): one hub of a cluster at a time, so each fires once.
TIMERS_LEASE = "timers"
#: Longest invitation: a show's team is invited per show or per season, not for ever.
MAX_INVITE_HOURS = 24 * 90


@dataclass(frozen=True, slots=True)
class Limits:
    """Posting limits; the defaults suit a public show."""

    viewer_comments_per_s: float = 1.0
    viewer_comment_burst: float = 5.0
    staff_comments_per_s: float = 100.0
    staff_comment_burst: float = 200.0
    #: Every message a connection sends (comments, name changes, look-ups).
    viewer_messages_per_s: float = 20.0
    viewer_message_burst: float = 60.0
    staff_messages_per_s: float = 200.0
    staff_message_burst: float = 400.0
    #: New viewer ids one network address may bring in any minute (see
    #: ``console.domain.limits``); viewers the store knows never count.
    new_viewer_ids_per_minute: int = NEW_IDS_PER_MINUTE


@dataclass(eq=False, slots=True)
class Session:
    """One WebSocket connection after a successful ``hello``."""

    ws: ServerConnection
    role: protocol.Role
    viewer_id: str
    name: str | None
    messages: RateLimiter
    staff_name: str | None = None
    dropped: bool = field(default=False)
    #: For staff: the token's id (its hash's first 16 hex digits) and its expiry.
    staff_id: str | None = None
    expires: float | None = None
    #: When the connection joined (the hub's clock), for the viewer's watch time.
    joined: float = 0.0
    #: The page proved with its key that it made this viewer id.
    proven: bool = False
    #: The viewer's data was deleted: nothing more is recorded for this connection.
    forgotten: bool = False
    #: Bytes of the welcome frame (history, or the replay after a reconnect) the client
    #: may still be reading: allowed on top of the drop limit until its backlog first
    #: falls under the limit, so that a long replay to a slow phone does not drop it
    #: again and again.
    catching_up: int = 0
    #: Unsent bytes past which the client is dropped (see ``MAX_CLIENT_BUFFER``).
    max_backlog: int = MAX_CLIENT_BUFFER
    #: Where the client connects from (``console.domain.limits.client_address``): the
    #: chat's slow mode, repeat and flood rules count per address too.
    address: str = ""
    #: The page's key, stored with the viewer when they first act (see ``keep_viewer``).
    key: str | None = None
    #: When the hub first knew this viewer id, for "new chatters are held".
    first_seen: float = 0.0
    #: The store keeps this viewer, and this page proved it with the stored key.
    kept: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in protocol.STAFF_ROLES

    @property
    def actor(self) -> Actor:
        return Actor(self.staff_name or self.name or "?", self.role)


def send(ws: ServerConnection, data: bytes) -> None:
    """Write one frame without awaiting, in call order with the room's broadcasts."""
    broadcast((ws,), data, text=True)


def reply(session: Session, message: protocol.ServerMessage) -> None:
    """Answer the client that asked, in a frame of its own."""
    send(session.ws, protocol.frame([protocol.encode(message)]))


class Room:
    def __init__(
        self,
        store: Store,
        *,
        title: str = "Shopcast Live",
        tick: float = 0.03,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        max_client_buffer: int = MAX_CLIENT_BUFFER,
        payments: PaymentProvider | None = None,
        bus: EventBus | None = None,
    ) -> None:
        """``bus`` carries the room's events and notices to every hub sharing the show
        (this one too); by default the room is alone in its process (:class:`LocalBus`)."""
        self.title = title
        self._store = store
        self._tick = tick
        self._max_client_buffer = max_client_buffer
        self._limits = limits or Limits()
        self._clock = clock
        self._coalescer = Coalescer(store.last_seq)
        self._feed = Feed(
            self._coalescer, self._backfill, self._schedule_flush, follow=self._follow
        )
        self.bus: EventBus = bus or LocalBus()
        self.bus.subscribe(self)
        self._sessions: dict[ServerConnection, Session] = {}
        self._presence: Counter[str] = Counter()
        self._new_ids = NewIdGate(self._limits.new_viewer_ids_per_minute)
        #: Viewer ids the store keeps: they acted, now or before (see ``keep_viewer``).
        self._kept: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._frame_clock = FrameClock(min_gap=tick)
        self._presence_handle: asyncio.TimerHandle | None = None
        self._housekeeping_handle: asyncio.TimerHandle | None = None
        #: Whether this hub holds :data:`TIMERS_LEASE` (the bus says).
        self.runs_timers = False
        self._announced_count = -1
        #: Which viewer counts the report keeps (the timers' holder writes them).
        self._audience = AudienceSampler()
        self.live = False
        #: How pages get the video (``welcome.stream_flow``): "server_offer" when the
        #: hub brokers viewers to an SFU.
        self.stream_flow: Literal["client_offer", "server_offer"] = "client_offer"
        #: Where the host's console publishes by WHIP (``welcome.whip``, to hosts only).
        self.whip: protocol.WhipTarget | None = None
        #: Pages watching through the SFU now (set by the hub that brokers them); staff
        #: hear it as ``sfu_viewers``.
        self.sfu_viewers: Callable[[], int] | None = None
        self._sfu_viewers_told: int | None = None
        self.shop = Shop(store, self._publish, payments=payments, clock=clock)
        self.claims = self.shop.claims = ClaimDesk(
            self.shop.records, self.shop.publish, clock, domain_product
        )
        self.moderation = Moderation(
            store,
            self._publish_all,
            clock,
            self.shop.records.is_buyer,
            since=self._coalescer.last_seq,
            viewer_comments=CommentRate(
                self._limits.viewer_comments_per_s, self._limits.viewer_comment_burst
            ),
            staff_comments=CommentRate(
                self._limits.staff_comments_per_s, self._limits.staff_comment_burst
            ),
        )
        self.giveaways = GiveawayDesk(
            self.shop.records,
            store.team,
            self.shop.publish,
            clock,
            self._is_banned,
            self.shop.records.is_buyer,
        )
        self.auctions = self.shop.auctions = AuctionDesk(
            self.shop.records, self.shop.publish, clock, self._is_banned
        )
        self.questions = QuestionDesk(
            self.moderation.records,
            self._publish_all,
            clock,
            self.shop.pinned_product,
            last_seq=lambda: store.last_seq,
        )
        self.viewers = ViewerData(store, self._publish_all, clock)
        self.playout = PlayoutDesk(clock, self._to_staff)
        self.shoppers = ShopperSignals(
            self._to_staff, clock, lambda: self.shop.pinned_id, self.viewers.records.record_drops
        )

    # ------------------------------------------------------------ joining and leaving

    @property
    def viewer_count(self) -> int:
        """Viewers connected to this hub."""
        return len(self._presence)

    @property
    def room_viewers(self) -> int:
        """Viewers of the show, summed over the hubs that share it."""
        self.bus.set_viewers(self.viewer_count)
        return self.bus.viewers()

    def join(self, ws: ServerConnection, hello: protocol.Hello, address: str = "") -> Session:
        """Admit a client: check who it is, send welcome and history, subscribe it.

        ``address`` is where it connects from. A viewer id the store does not know is
        admitted within the new-ids limit of that address, and nothing about it is
        stored until the viewer acts (:meth:`keep_viewer`).
        """
        if hello.v != protocol.VERSION:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"This hub speaks protocol version {protocol.VERSION}, the client sent "
                f"{hello.v}; reload the page or update the console.",
            )
        now = self._clock()
        if hello.role == "viewer":
            limiter = RateLimiter(
                self._limits.viewer_messages_per_s, self._limits.viewer_message_burst
            )
            viewer_id = hello.viewer_id or ""
            if not protocol.VIEWER_ID_PATTERN.match(viewer_id):
                raise ProtocolError(
                    ErrorCode.INVALID,
                    "viewer_id must be 8 to 64 letters, digits, '-' or '_'; "
                    "the page creates one and keeps it.",
                )
            if hello.key is not None and not protocol.VIEWER_KEY_PATTERN.match(hello.key):
                raise ProtocolError(
                    ErrorCode.INVALID, "key must be 16 to 128 letters, digits, '-' or '_'."
                )
            first_seen = self._known_since(viewer_id, now)
            if first_seen is None:
                # Nothing stored, so no key to compare: the page's key is kept with the
                # viewer once they act.
                proof = None if hello.key is None else True
            else:
                proof = self.viewers.records.prove(viewer_id, hello.key, now)
            if proof is False:
                raise ProtocolError(ErrorCode.BAD_TOKEN, _ANOTHER_BROWSER)
            name = self._judged_name(viewer_id, hello.name) if hello.name is not None else None
            if first_seen is None:
                self._admit_new_id(address, viewer_id, now)
                first_seen = now
            else:
                name = self._store.touch_viewer(viewer_id, name, now)
                self._kept.add(viewer_id)
            session = Session(
                ws,
                "viewer",
                viewer_id,
                name,
                limiter,
                joined=now,
                proven=proof is True,
                address=address,
                key=hello.key,
                first_seen=first_seen,
                kept=viewer_id in self._kept,
            )
            _cap_send_buffer(ws)
        else:
            wanted = None if hello.role == "staff" else hello.role
            staff = check_token(self._store, hello.token, wanted, now)
            limiter = RateLimiter(
                self._limits.staff_messages_per_s, self._limits.staff_message_burst
            )
            session = Session(
                ws,
                staff.role,
                staff.viewer_id,
                staff.name,
                limiter,
                staff.name,
                staff_id=staff.staff_id,
                expires=staff.expires,
            )

        audience = None if session.is_staff else private_to(session.viewer_id)
        welcome, history = self._history(hello.since, audience)
        self._sessions[ws] = session
        if session.role == "viewer":
            self._presence[session.viewer_id] += 1
            self._presence_changed()
        self._start_housekeeping()
        welcome_msg = protocol.Welcome(
            v=protocol.VERSION,
            role=session.role,
            seq=self._coalescer.flushed_seq,
            viewers=self.room_viewers,
            room_title=self.title,
            viewer_id=session.viewer_id,
            name=session.name,
            staff_name=session.staff_name,
            live=self.live,
            stream_flow=self.stream_flow,
            whip=self.whip if session.role == "host" else None,
            now=now,
            history_truncated=welcome,
        )
        state = [
            self.shop.snapshot(),
            protocol.encode(self.moderation.modes_event()),
            protocol.encode(self.claims.mode()),
            *(
                protocol.encode(card)
                for card in self.claims.open_cards(None if session.is_staff else session.viewer_id)
            ),
            *(
                protocol.encode(event)
                for event in (
                    *self.auctions.restated(None if session.is_staff else session.viewer_id),
                    self.giveaways.current(),
                    None if session.is_staff else self.giveaways.own_entry(session.viewer_id),
                )
                if event is not None
            ),
        ]
        if session.is_staff:
            state += [protocol.encode(h) for h in self.moderation.records.waiting()]
            playout = self.playout.snapshot()
            if playout.viewers:
                state.append(protocol.encode(playout))
            if self.sfu_viewers is not None:
                state.append(protocol.encode(protocol.SfuViewers(count=self.sfu_viewers())))
        else:
            standing = self.moderation.standing(session.viewer_id)
            if standing is not None:
                state.append(protocol.encode(standing))
            if session.viewer_id in self._kept:
                self.viewers.joined(session.viewer_id)
            state.append(protocol.encode(self.viewers.consent_state(session.viewer_id)))
        first = protocol.frame([protocol.encode(welcome_msg), *history, *state])
        session.catching_up = len(first)
        session.max_backlog = (
            max(MAX_STAFF_BUFFER, self._max_client_buffer)
            if session.is_staff
            else self._max_client_buffer
        )
        send(ws, first)
        if session.is_staff:
            self._staff_changed()  # after the welcome: it is always a client's first word
        return session

    def _known_since(self, viewer_id: str, now: float) -> float | None:
        """When the store first knew the viewer; ``now`` for one it knows without a first
        visit (only a consent answer or a key), None for an id it does not know."""
        stored = self._store.profile(viewer_id, last_comments=0)
        if stored is not None:
            return stored.first_seen
        records = self.viewers.records
        key_stored = records.prove(viewer_id, None, now) is False  # read only, without a key
        if viewer_id in self._kept or key_stored or records.consent(viewer_id) != "unknown":
            return now
        return None

    def _admit_new_id(self, address: str, viewer_id: str, now: float) -> None:
        wait = self._new_ids.admit(address, viewer_id, now)
        if wait:
            raise ProtocolError(
                ErrorCode.TOO_MANY_NEW_VIEWERS,
                "Too many new viewers joined from your network in the last minute; this "
                f"page joins by itself in {max(1, math.ceil(wait))} s.",
                retry_after=wait,
            )

    def _is_banned(self, viewer_id: str) -> bool:
        standing = self.moderation.standing(viewer_id)
        return standing is not None and standing.banned

    def keep_viewer(self, session: Session) -> None:
        """The viewer acts (comments, buys, opens a checkout, answers the consent card,
        reviews): from now on the store keeps them, their page's key and their presence.

        Until then a page that only watches writes nothing durable, so fresh viewer ids
        cannot grow the store: one address once made 17,800 viewer, key and presence
        rows in 25 s by connecting, without a word.
        """
        if session.is_staff or session.forgotten or session.kept:
            return
        now = self._clock()
        # Another page may have acted with this id since this one said hello.
        first_act = session.viewer_id not in self._kept
        if (
            self.viewers.records.prove(session.viewer_id, session.key, now, first_act=first_act)
            is False
        ):
            raise ProtocolError(ErrorCode.BAD_TOKEN, _ANOTHER_BROWSER)
        if first_act:
            # Two writes that need no answer from each other: one round trip.
            with self._store.db.pipelined():
                self.viewers.joined(session.viewer_id)
                session.name = self._store.touch_viewer(session.viewer_id, session.name, now)
            self._kept.add(session.viewer_id)
        session.kept = True

    def _keep_present(self, viewer_id: str) -> None:
        """A moderator acts on a viewer who is watching but never acted (a name in the
        viewer list): the store keeps them now, so the sanction has someone to name."""
        for session in list(self._sessions.values()):
            if viewer_id in self._kept:
                return
            if session.viewer_id == viewer_id and not session.is_staff:
                with contextlib.suppress(ProtocolError):  # a page that cannot prove the id
                    self.keep_viewer(session)

    def _history(self, since: int | None, audience: str | None) -> tuple[bool, list[bytes]]:
        """Events the client has not seen (and may see), up to the last flushed one.

        Events after ``flushed_seq`` are still queued and reach the client with the next
        tick's frame, because it is subscribed before that frame goes out.
        """
        upto = self._coalescer.flushed_seq
        if since is not None and 0 <= since <= upto and upto - since <= REPLAY_LIMIT:
            return False, self._store.events_after(since, upto, REPLAY_LIMIT, audience)
        truncated = since is not None
        return truncated, self._store.recent_events(upto, HISTORY_EVENTS, audience)

    def leave(self, ws: ServerConnection) -> None:
        session = self._sessions.pop(ws, None)
        if session is None:
            return
        if session.is_staff:
            self._staff_changed()
            return
        if not session.forgotten and session.kept:
            self.viewers.left(session.viewer_id, max(0.0, self._clock() - session.joined))
        self._presence[session.viewer_id] -= 1
        if self._presence[session.viewer_id] <= 0:
            del self._presence[session.viewer_id]
            self.moderation.chat.left(session.viewer_id)
            self.playout.left(session.viewer_id)
        self._presence_changed()

    # ------------------------------------------------------------ commands

    def check_rate(self, session: Session) -> None:
        """Count one message of the session against its limit."""
        wait = session.messages.allow(self._clock())
        if wait:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"Too many messages; wait {wait:.1f} s before sending more.",
                retry_after=wait,
            )

    def handle(self, session: Session, message: protocol.ClientMessage) -> None:
        """Apply one command; raise :class:`ProtocolError` for the client to see."""
        self.check_rate(session)
        check_permission(session.role, message)
        match message:
            case protocol.SendComment():
                self._comment(session, message)
            case protocol.SetName():
                name = self._judged_name(session.viewer_id, message.name)
                if session.is_staff or session.viewer_id in self._kept:
                    session.name = self._store.touch_viewer(session.viewer_id, name, self._clock())
                else:
                    session.name = name  # stored when they act (keep_viewer)
                reply(session, protocol.Ack(ref=message.ref))
            case protocol.GetProfile():
                profile = self.viewers.profile(
                    message.viewer_id,
                    session.actor,
                    self.shop.pinned_id,
                    message.viewer_id in self._presence,
                    log=not message.refresh,
                    live_name=next(
                        (
                            s.name
                            for s in self._sessions.values()
                            if s.viewer_id == message.viewer_id and not s.is_staff and s.name
                        ),
                        None,
                    ),
                )
                profile.ref = message.ref
                reply(session, profile)
            case protocol.GetCatalogue():
                catalogue = protocol.Catalogue(products=self._store.catalogue(), ref=message.ref)
                reply(session, catalogue)
            case protocol.Hello():
                raise ProtocolError(ErrorCode.INVALID, "Already said hello on this connection.")
            case protocol.WebRTCOffer() | protocol.Watch() | protocol.WatchAnswer():
                raise ProtocolError(ErrorCode.NOT_LIVE, "This hub has no live stream.")
            case protocol.PlayoutReport():
                self.playout.report(session.viewer_id, message.delay_ms)
                if message.ref is not None:  # pages send none: no ack per viewer every 5 s
                    reply(session, protocol.Ack(ref=message.ref))
            case protocol.JoinWaitlist():
                if session.name is None:
                    raise ProtocolError(
                        ErrorCode.NAME_REQUIRED, "Choose a display name before you join the line."
                    )
                self.keep_viewer(session)
                place = self.claims.join_waitlist(
                    session.viewer_id, session.name, message.sku, message.quantity
                )
                reply(session, protocol.Ack(ref=message.ref))
                if place is not None:
                    reply(session, place)
            case protocol.ReleaseClaim() | protocol.LeaveWaitlist():
                self.claims.let_go(session.viewer_id, message)
                reply(session, protocol.Ack(ref=message.ref))
            case protocol.Browse() | protocol.CheckoutClosed():
                self._shopper_step(session, message)
            case protocol.ClockRequest():
                reply(session, protocol.Clock(now=self._clock(), ref=message.ref))
            case protocol.GetQuote():
                quote = self.shop.quote(message, session.viewer_id)
                if not session.is_staff:
                    variant = self.shop.records.variant(message.sku)
                    if variant is not None:
                        self.keep_viewer(session)
                        self.viewers.checkout_started(
                            session.viewer_id, variant.product_id, message.sku
                        )
                        self.shoppers.checkout(session.viewer_id, variant.product_id)
                reply(session, quote)
            case protocol.SetConsent():
                self.keep_viewer(session)
                state = self.viewers.set_consent(session.viewer_id, message.consent)
                state.ref = message.ref
                reply(session, state)
                self._staff_notice(session.viewer_id)
            case protocol.ExportData() | protocol.DeleteData():
                self._viewer_data(session, message)
            case protocol.SubmitReview():
                self.keep_viewer(session)
                held = self.shop.review(session.viewer_id, session.name, message, self.moderation)
                reply(session, protocol.Ack(ref=message.ref, held=held))
            case protocol.Buy():
                raise ProtocolError(ErrorCode.INVALID, "Purchases are handled by the hub shell.")
            case protocol.PlaceBid():
                if session.name is None:
                    raise ProtocolError(
                        ErrorCode.NAME_REQUIRED, "Choose a display name before you bid."
                    )
                self.keep_viewer(session)
                self.auctions.bid(session.viewer_id, session.name, message)
                reply(session, protocol.Ack(ref=message.ref))
            case protocol.EnterGiveaway():
                if session.name is None:
                    raise ProtocolError(
                        ErrorCode.NAME_REQUIRED, "Choose a display name before you enter."
                    )
                self.keep_viewer(session)
                self.giveaways.enter(session.viewer_id, session.name, message.giveaway_id)
                reply(session, protocol.Ack(ref=message.ref))
            case _:
                self._staff_command(session, message)

    def _shopper_step(
        self, session: Session, message: protocol.Browse | protocol.CheckoutClosed
    ) -> None:
        if isinstance(message, protocol.Browse):
            self.shoppers.opened(session.viewer_id, message.product_id, message.reviews)
        else:
            reason = "form_error" if message.form_error else "closed"
            self.shoppers.dropped(session.viewer_id, message.product_id, reason)
        if message.ref is not None:  # pages send none: the funnel is no conversation
            reply(session, protocol.Ack(ref=message.ref))

    def _staff_command(self, session: Session, message: protocol.ClientMessage) -> None:
        match message:
            case protocol.Pin():
                self.shop.pin(message.product, message.end_deal)
                if self.shop.pinned_id is not None:
                    kept = [v for v in self._presence if v in self._kept]
                    self.viewers.pinned(self.shop.pinned_id, kept)
            case protocol.Unpin():
                self.shop.unpin()
            case protocol.SetShelf():
                self.shop.set_shelf(message.products)
            case protocol.StartDeal():
                self.shop.start_deal(message)
            case protocol.EndDeal():
                self.shop.end_deal()
            case protocol.Feature():
                self.shop.feature(message)
            case protocol.UpdateVariant():
                self.shop.update_variant(message)
            case protocol.SetClaims():
                self.claims.set_claims(message, self.shop.pinned_product())
            case protocol.StartAuction():
                self.auctions.start(message, self.shop.pinned_product())
            case protocol.CancelAuction():
                self.auctions.cancel()
            case protocol.StartGiveaway():
                self.giveaways.start(message)
            case protocol.DrawGiveaway():
                self.giveaways.draw(session.actor)
            case protocol.CancelGiveaway():
                self.giveaways.cancel(session.actor)
            case protocol.ImportCatalogue():
                reply(session, self.shop.import_catalogue(message))
                return
            case protocol.GetOrders():
                orders = self.shop.records.orders(max(1, min(message.limit, 10_000)))
                reply(session, protocol.Orders(orders=orders, ref=message.ref))
                return
            case _:
                if self._team_command(session, message):
                    return
        reply(session, protocol.Ack(ref=getattr(message, "ref", None)))

    def _team_command(self, session: Session, message: protocol.ClientMessage) -> bool:
        """Staff, moderation and question commands; True when the reply was sent."""
        actor = session.actor
        ref = getattr(message, "ref", None)
        match message:
            case protocol.CreateInvite():
                reply(session, self._invite(message))
                return True
            case protocol.GetStaff():
                reply(session, protocol.StaffList(members=self._staff_members(), ref=ref))
                return True
            case protocol.RevokeStaff():
                self._revoke(message.staff_id)
            case protocol.ReplaceHostToken():
                reply(session, self._replace_host_token(session, ref))
                return True
            case protocol.DeleteComment():
                self.moderation.delete(actor, message)
                self.shop.withdraw_comment(message.seq)
                self.questions.withdraw(message.seq)
            case protocol.TimeoutViewer() | protocol.BanViewer() | protocol.UnbanViewer():
                self._keep_present(message.viewer_id)
                decision = self.moderation.sanction(actor, message)
                for notice in decision.notices:
                    self._notify("tell_viewer", notice.viewer_id, protocol.encode(notice.message))
            case protocol.SetModes():
                self.moderation.set_modes(actor, message)
            case protocol.SetTerms():
                self.moderation.set_terms(actor, message)
            case protocol.GetTerms():
                terms = self.moderation.terms()
                terms.ref = ref
                reply(session, terms)
                return True
            case protocol.ResolveHeld():
                held = self.moderation.records.held(message.held_id)
                owner = held is not None and self.shop.is_owner(held.viewer_id)
                self.moderation.resolve_held(actor, message, owner)
                if held is not None and held.product_id is not None:
                    self.shop.review_approved()
            case protocol.GetModLog():
                entries = self.moderation.records.mod_log(
                    max(1, min(message.limit, 10_000)), message.action, message.viewer_id
                )
                reply(session, protocol.ModLog(entries=entries, ref=ref))
                return True
            case protocol.ClaimQuestion():
                self.questions.claim(actor.name, message.question)
            case protocol.ReleaseQuestion():
                self.questions.release(actor.name, message.question)
            case protocol.AnswerQuestion():
                comment = self._store.comment(message.question)
                if comment is None or comment.role != "viewer":
                    raise ProtocolError(
                        ErrorCode.NOT_FOUND,
                        f"There is no viewer comment #{message.question} to answer; it may "
                        "have been deleted.",
                    )
                self.questions.reply(actor.name, message, comment)
            case protocol.FinishQuestion():
                self.questions.finish(actor.name, message.question)
            case protocol.GetQuestions():
                snapshot = self.questions.snapshot()
                snapshot.ref = ref
                reply(session, snapshot)
                return True
            case protocol.GetSuggestions():
                suggestions = self.questions.suggestions(message.question)
                suggestions.ref = ref
                reply(session, suggestions)
                return True
            case protocol.SetCanned():
                self.questions.set_canned(actor, message)
            case protocol.AddNote():
                self.viewers.add_note(message.viewer_id, actor.name, message.text)
                self._staff_notice(message.viewer_id)
            case protocol.SetTag():
                self.viewers.set_tag(message.viewer_id, message.tag, message.on, actor.name)
                self._staff_notice(message.viewer_id)
            case protocol.Unlink():
                self.viewers.unlink(message.viewer_id, actor.name)
                self._staff_notice(message.viewer_id)
            case protocol.GetViewers():
                names: dict[str, str] = {}
                for s in self._sessions.values():
                    if not s.is_staff and s.viewer_id not in names:
                        names[s.viewer_id] = s.name or ""
                watching = [protocol.WatchingViewer(viewer_id=v, name=n) for v, n in names.items()]
                reply(session, protocol.WatchingList(viewers=watching, ref=ref))
                return True
            case protocol.GetViewLog():
                log_reply = self.viewers.view_log(message.limit, message.viewer_id)
                log_reply.ref = ref
                reply(session, log_reply)
                return True
        return False

    def _viewer_data(
        self, session: Session, message: protocol.ExportData | protocol.DeleteData
    ) -> None:
        """A viewer's own data, or (host) any viewer's at their request."""
        if session.is_staff:
            if not message.viewer_id:
                raise ProtocolError(ErrorCode.INVALID, "Say whose data: viewer_id is needed.")
            viewer_id = message.viewer_id
        else:
            viewer_id = session.viewer_id
            if not session.proven:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN,
                    "This page cannot prove it made this viewer id (it is older than this "
                    "feature): reload it and try again, or ask the host.",
                )
        if isinstance(message, protocol.ExportData):
            export = self.viewers.export(viewer_id)
            export.ref = message.ref
            reply(session, export)
            return
        by = session.actor if session.is_staff else Actor("the viewer", "viewer")
        deletion = self.viewers.delete(viewer_id, by)
        for forgotten in deletion.viewer_ids:
            self.shop.forget_viewer(forgotten)
        self.shop.refresh_after_deletion()
        self.moderation.policy.forget(viewer_id)
        self._kept.discard(viewer_id)
        reply(session, protocol.Ack(ref=message.ref))
        # The viewer's open pages must not bring a record back (a watch time on leaving,
        # a comment): they are closed, after the answer, and start over with a new id.
        self._notify("forget_viewer", viewer_id, b"Your data was deleted; the page starts over.")

    def _forget_pages(self, viewer_id: str, why: str) -> None:
        for other in list(self._sessions.values()):
            if other.viewer_id == viewer_id and not other.is_staff:
                other.forgotten = True
                self.leave(other.ws)
                asyncio.get_running_loop().create_task(other.ws.close(1000, why))

    def _staff_notice(self, viewer_id: str) -> None:
        """Staff consoles showing this viewer's panel reload it."""
        data = protocol.frame([protocol.encode(protocol.ProfileChanged(viewer_id=viewer_id))])
        for s in self._sessions.values():
            if s.is_staff:
                send(s.ws, data)

    def _judged_name(self, viewer_id: str, name: str) -> str:
        """A display name as it will be shown, once the judge let it through: blocked
        terms and the link filter apply to names as to everything viewers say."""
        cleaned = _checked_name(name)
        verdict = self.moderation.judge(viewer_id, False, cleaned, "name")
        if verdict.action != "publish":
            raise ProtocolError(ErrorCode.INVALID, verdict.reason)
        return cleaned

    # ------------------------------------------------------------ the team

    def _invite(self, message: protocol.CreateInvite) -> protocol.InviteCreated:
        try:
            name = clean_name(message.name)
        except ChatRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        if not 0 < message.hours <= MAX_INVITE_HOURS:
            raise ProtocolError(
                ErrorCode.INVALID,
                f"An invitation lasts from a few minutes to {MAX_INVITE_HOURS} hours; "
                f"{message.hours:g} hours is outside that.",
            )
        now = self._clock()
        token = issue_token(self._store, message.role, name, now, message.hours * 3600)
        self._staff_changed()
        return protocol.InviteCreated(
            staff_id=hash_token(token)[:16],
            token=token,
            name=name,
            role=message.role,
            expires=now + message.hours * 3600,
            ref=message.ref,
        )

    def _staff_members(self) -> list[protocol.StaffMember]:
        connected = Counter(s.staff_id for s in self._sessions.values() if s.staff_id)
        members = self.moderation.records.staff_members()
        for member in members:
            member.connected = connected[member.staff_id]
        return members

    def _replace_host_token(self, session: Session, ref: str | None) -> protocol.HostToken:
        """The asking console goes on with the new token; every other one on the old
        token is closed, as a revocation closes them."""
        if session.staff_id is None or not self.moderation.records.is_host_token(session.staff_id):
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "Only a console signed in with the host token may replace it; the host "
                "does it in File → Staff access.",
            )
        token, revoked = replace_host_token(self._store, self._clock())
        session.staff_id = hash_token(token)[:16]
        session.viewer_id = staff_viewer_id(session.staff_id)
        for staff_id in revoked:
            self._notify(
                "revoke_staff",
                staff_id,
                b"The host token was replaced; ask the host for the new one.",
            )
        self._staff_changed()
        return protocol.HostToken(token=token, staff_id=session.staff_id, ref=ref)

    def _revoke(self, staff_id: str) -> None:
        if not self.moderation.records.revoke(staff_id, self._clock()):
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No staff member with id {staff_id!r}.")
        self._notify("revoke_staff", staff_id, b"Your access was revoked by the host.")
        self._staff_changed()

    def _close_staff(self, session: Session, why: str) -> None:
        send(
            session.ws,
            protocol.frame(
                [protocol.encode(protocol.Error(code=ErrorCode.BAD_TOKEN, message=why))]
            ),
        )
        self.leave(session.ws)
        asyncio.get_running_loop().create_task(session.ws.close(1008, "access ended"))

    def _staff_changed(self) -> None:
        """Hosts see who is connected: push the staff list to them."""
        hosts = [s for s in self._sessions.values() if s.role == "host"]
        if not hosts:
            return
        data = protocol.frame([protocol.encode(protocol.StaffList(members=self._staff_members()))])
        for host in hosts:
            send(host.ws, data)

    def _to_staff(self, message: protocol.ServerMessage) -> None:
        data = protocol.frame([protocol.encode(message)])
        for session in self._sessions.values():
            if session.is_staff:
                send(session.ws, data)

    def _notify(
        self,
        kind: Literal["tell_viewer", "revoke_staff", "forget_viewer"],
        target: str,
        body: bytes,
    ) -> None:
        """Sessions of a viewer or a staff token may be on any hub: ask through the bus."""
        self.bus.notify(Notice(kind, target, body))

    def on_notice(self, notice: Notice) -> None:
        """Act on a notice for the sessions this hub holds (the bus's subscriber)."""
        match notice.kind:
            case "tell_viewer":
                data = protocol.frame([notice.body])
                for session in self._sessions.values():
                    if session.viewer_id == notice.target and not session.is_staff:
                        send(session.ws, data)
            case "revoke_staff":
                for session in list(self._sessions.values()):
                    if session.staff_id == notice.target:
                        self._close_staff(session, notice.body.decode())
            case "forget_viewer":
                self._forget_pages(notice.target, notice.body.decode())

    async def compete_for_timers(self) -> None:
        """Run the show's timers whenever this hub holds the bus's lease on them (the
        one process always does); call once the room's state is resumed."""
        await self.bus.hold_lease(TIMERS_LEASE, self._timers_held)

    def _timers_held(self, held: bool) -> None:
        """The bus's word on the timers' lease. Taken: read what the timers act on from
        the store (other hubs changed it) and time it; lost: stop, another hub runs them."""
        self.runs_timers = held
        if not held:
            self.shop.drop_timers()
            self.auctions.drop_timers()
            return
        log.info("this hub runs the show's timers")
        for what, step in (
            ("the auction", self.auctions.take_timers),
            ("the deal", self.shop.take_timers),
        ):
            try:
                step()
            except Exception:
                log.exception("taking over %s's timers failed", what)
        self._start_housekeeping()

    def _start_housekeeping(self) -> None:
        if self._housekeeping_handle is None:
            self._housekeeping_handle = asyncio.get_running_loop().call_later(
                HOUSEKEEPING_INTERVAL, self._housekeeping
            )

    def _housekeeping(self) -> None:
        """End staff sessions whose token expired; free unpaid claims and expired
        reservations; apply the retention table's time limits. The timers' holder also
        frees lapsed question claims, closes the auction and ends the deal when their
        time is up."""
        self._housekeeping_handle = None
        now = self._clock()
        for session in list(self._sessions.values()):
            if session.expires is not None and now >= session.expires:
                self._close_staff(session, "Your staff token expired; ask the host for a new one.")
        if self.runs_timers:
            self._shared_timers()
        try:
            self.claims.expire()
        except Exception:
            log.exception("releasing unpaid claims failed")
        try:
            self.shop.release_expired()
        except Exception:
            log.exception("releasing expired reservations failed")
        try:
            self.viewers.housekeeping()
        except Exception:
            log.exception("applying the retention table's time limits failed")
        try:
            self.playout.announce()
        except Exception:
            log.exception("telling staff the viewers' playout delay failed")
        if self.sfu_viewers is not None and self.sfu_viewers() != self._sfu_viewers_told:
            self._sfu_viewers_told = self.sfu_viewers()
            self._to_staff(protocol.SfuViewers(count=self._sfu_viewers_told))
        if self._sessions or self.runs_timers:
            self._start_housekeeping()

    def _keep_audience(self, count: int | None) -> None:
        """Store a viewer count the sampler kept; one hub, the timers' holder, writes the
        room's (summed) count, so a cluster's show has one series."""
        if count is None or not self.runs_timers:
            return
        try:
            self.viewers.records.record_audience(count, self._clock())
        except ShopcastError:
            log.exception("keeping the viewer count for the report failed")

    def _shared_timers(self) -> None:
        """What only the timers' holder does, for every hub: each fires once."""
        self._keep_audience(self._audience.due(self._clock()))
        try:
            self.questions.expire()
        except Exception:
            log.exception("releasing lapsed question claims failed")
        try:
            self.auctions.tick()
        except Exception:
            log.exception("closing the auction on the hub's clock failed")
        try:
            self.shop.keep_time()
        except Exception:
            log.exception("ending the deal on time failed")

    def _comment(self, session: Session, message: protocol.SendComment) -> None:
        """Feed the comment to the room core and carry out its decision."""
        comment = CommentCommand(
            session.viewer_id,
            session.name,
            session.role,
            message.text,
            address=session.address,
            first_seen=session.first_seen,
            buyer=self.moderation.buyer(session.viewer_id, session.is_staff),
        )
        decision = decide_comment(
            comment, self.moderation.state, self.moderation.chat, self._clock()
        )
        self._carry_out_comment(session, message.ref, decision)

    def _carry_out_comment(self, session: Session, ref: str | None, decision: Decision) -> None:
        """Append what the comment's decision says, in order, then reply or raise the
        refusal.

        A taken comment keeps its viewer (``keep_viewer``) first: a page that cannot
        prove its viewer id must not leave a comment under it. A posted comment's
        acknowledgement carries its seq, so :meth:`_post` sends it.
        """
        if isinstance(decision.reply, Acknowledge):
            self.keep_viewer(session)
        for step in decision.append:
            match step:
                case PostComment():
                    self._post(session, ref, step)
                case HoldComment() | LogAutoDelete():
                    self.moderation.carry_out(step)
        match decision.reply:
            case Refuse():
                raise decision.reply.error()
            case Acknowledge(held=True):
                reply(session, protocol.Ack(ref=ref, held=True))

    def _post(self, session: Session, ref: str | None, step: PostComment) -> None:
        """Store and publish a taken comment; the desks that read comments consider it."""
        comment, encoded = self._store.append_comment(
            step.viewer_id,
            step.name,
            step.role,
            step.text,
            step.ts,
            owner=self.shop.is_owner(step.viewer_id),
        )
        self._publish(comment.seq, encoded)
        reply(session, protocol.Ack(ref=ref, seq=comment.seq))
        self.questions.consider(comment)
        if not session.is_staff:
            ask = self.claims.consider(step.viewer_id, step.name, step.text, self.shop.pinned_id)
            if ask is not None:
                reply(session, ask)
            self.giveaways.consider(step.viewer_id, step.name, step.text)

    def set_live(self, live: bool) -> None:
        """Record and announce that the show went live or ended."""
        if live == self.live:
            return
        self.live = live
        event, encoded = self._store.append_stream_state(live, self._clock())
        self._publish(event.seq, encoded)
        if live:
            self.viewers.stream_started()
        else:
            self.viewers.stream_ended()

    def recover_from_crash(self) -> None:
        """The last run ended while live: say the show ended, and close its stream."""
        self.live = True
        self.set_live(False)

    # ------------------------------------------------------------ fan-out

    def _publish_all(self, published: list[Published]) -> None:
        for seq, encoded, audience in published:
            self._publish(seq, encoded, audience)

    def _publish(self, seq: int, encoded: bytes, audience: str | None = None) -> None:
        """A committed event goes out through the bus; this hub frames it from there."""
        self.bus.publish(RoomEvent(seq, encoded, audience))

    def on_event(self, event: RoomEvent) -> None:
        """A committed event from the bus (the bus's subscriber): queue it for the tick.

        The moderation, show, question and giveaway replicas fold what the feed takes
        (:meth:`_follow`). An auction event another hub wrote is applied to this hub's
        auction; a claim event brings its claims up to date.
        """
        self._feed.event(event)
        if event.body.startswith(AUCTION_EVENT_PREFIX):
            self.auctions.follow(event.seq, event.body)
        elif event.body.startswith(CLAIM_EVENTS):
            self.claims.follow(event.seq)

    def _follow(self, event: RoomEvent) -> None:
        """Every event the feed takes, once and in seq order (gaps filled from the log):
        the moderation replica, the shop's show, the question queue and the giveaway fold
        it, so a missed bus message cannot leave them behind."""
        self.moderation.follow(event)
        self.shop.follow(event)
        self.questions.follow(event.seq, event.body)
        self.giveaways.follow(event.seq, event.body)

    def on_resync(self) -> None:
        """The bus may have missed events: queue what the log has after the last one."""
        self._feed.fill()
        self.auctions.resume()  # an auction event it missed is in the log too
        self.claims.catch_up()  # and a claim event

    def on_viewers(self) -> None:
        self._presence_changed()

    def _backfill(self, after: int, limit: int) -> list[RoomEvent]:
        return events_from_log(self._store.events_after, after, limit)

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            at = self._frame_clock.due(loop.time(), self.tick)
            self._flush_handle = loop.call_at(at, self.flush)

    @property
    def tick(self) -> float:
        """How long events gather before a frame goes out; longer for a bigger room."""
        scaled = len(self._sessions) / LISTENERS_PER_TICK_SECOND
        return max(self._tick, min(MAX_TICK, scaled))

    def flush(self) -> None:
        """Send the tick's frame to every client; drop those that cannot keep up."""
        self._flush_handle = None
        frames = self._coalescer.flush()
        if frames is None:
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        self._deliver(frames)
        self._frame_clock.sent(start, loop.time(), self.tick)

    def _deliver(self, frames: Frames | bytes) -> None:
        """Write one frame to every client: framed once, the same bytes for all.

        Re-framing the same payload per client (what ``broadcast`` does) was a fifth of
        the hub's time at 5,000 listeners. Server frames are unmasked and uncompressed
        here, so they are identical for everyone; each write is a whole frame, in order
        with the protocol's own writes. A tick with staff-only or private events has a
        few frames, each framed once too.

        The loop walks the sessions themselves: a list of 10,000 fresh (connection,
        session) pairs, alive for the whole loop, outlived the collections their own
        allocation triggered and pushed the collector into a full pass every few seconds.
        """
        if isinstance(frames, bytes):
            frames = Frames(frames, frames)
        public = text_frame(frames.public) if frames.public is not None else None
        staff = public if frames.staff is frames.public else text_frame(frames.staff)
        private = {v: text_frame(data) for v, data in frames.private.items()}
        same_for_all = staff is public and not private  # a show's peak: only chat
        for session in list(self._sessions.values()):
            ws = session.ws
            transport = ws.transport
            if transport is None or ws.protocol.state is not State.OPEN:
                continue
            if same_for_all:
                wire = public
            elif session.is_staff:
                wire = staff
            else:
                wire = private.get(session.viewer_id, public) if private else public
            if wire is None:
                continue
            backlog = transport.get_write_buffer_size()
            if backlog > session.max_backlog + session.catching_up:
                self._drop(session)
                continue
            if session.catching_up and backlog <= session.max_backlog:
                session.catching_up = 0
            transport.write(wire)

    def _drop(self, session: Session) -> None:
        """A client too far behind leaves the room; it comes back with ``since``."""
        log.info("dropping %s %s: send buffer full", session.role, session.viewer_id)
        self.leave(session.ws)
        session.dropped = True
        asyncio.get_running_loop().create_task(
            session.ws.close(1013, "Too far behind; reconnect with since to resume.")
        )

    def _presence_changed(self) -> None:
        if self._presence_handle is None:
            self._presence_handle = asyncio.get_running_loop().call_later(
                PRESENCE_INTERVAL, self._announce_presence
            )

    def _announce_presence(self) -> None:
        self._presence_handle = None
        count = self.room_viewers
        self._keep_audience(self._audience.offer(count, self._clock()))
        if count == self._announced_count:
            return
        self._announced_count = count
        self._deliver(protocol.frame([protocol.encode(protocol.Viewers(count=count))]))

    def close(self) -> None:
        """Send what is queued and stop the timers (the hub is shutting down)."""
        self.runs_timers = False
        self.shop.close()
        self.auctions.stop()
        for handle in (self._flush_handle, self._presence_handle, self._housekeeping_handle):
            if handle is not None:
                handle.cancel()
        self.flush()
        self._presence_handle = self._housekeeping_handle = None


_ANOTHER_BROWSER = (
    "This viewer id belongs to another browser. Reload the page: it will make an id of its own."
)


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final, uncompressed text frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def _cap_send_buffer(ws: ServerConnection) -> None:
    sock = ws.transport.get_extra_info("socket") if ws.transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, VIEWER_SOCKET_SNDBUF)


def _checked_name(name: str) -> str:
    try:
        return clean_name(name)
    except ChatRuleError as exc:
        raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
