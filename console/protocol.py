"""The wire protocol between the hub and every client (viewer pages, staff consoles, tests).

Every message is a JSON object whose ``t`` field names its type. A client sends one
message per WebSocket text frame; the hub sends a JSON *array* of messages per frame,
because it coalesces a tick's events into one frame that is encoded once for everyone.

Room events (``comment`` ...) carry ``seq``, a number that increases by one for every
stored event of the room, so that a client that reconnects with ``hello.since`` receives
exactly the events it missed. Presence (``viewers``) is ephemeral: it carries no seq, is
never replayed, and its current value is in ``welcome``.

``docs/protocol.md`` documents the same names for the viewer page's JavaScript.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

import msgspec

from console.errors import ProtocolError

VERSION: Final = 1

#: Largest client message the hub reads and answers with a typed error when exceeded.
MAX_MESSAGE_BYTES: Final = 16 * 1024
#: Staff may send larger messages: a catalogue import carries a whole CSV file.
MAX_STAFF_MESSAGE_BYTES: Final = 768 * 1024
#: Above this the WebSocket layer itself refuses the frame and closes (code 1009).
MAX_FRAME_BYTES: Final = 1024 * 1024

VIEWER_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
VIEWER_KEY_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

Role = Literal["viewer", "host", "agent", "moderator"]
STAFF_ROLES: Final = frozenset({"host", "agent", "moderator"})
ROLES: Final = ("viewer", "agent", "moderator", "host")
ModAction = Literal[
    "delete",
    "timeout",
    "ban",
    "unban",
    "hold",
    "approve",
    "deny",
    "auto_delete",
    "modes",
    "terms",
    "giveaway",
]


class ErrorCode:
    """Stable error codes; clients switch on these, people read the message."""

    MALFORMED: Final = "malformed"
    TOO_LARGE: Final = "too_large"
    UNSUPPORTED_VERSION: Final = "unsupported_version"
    HELLO_REQUIRED: Final = "hello_required"
    BAD_TOKEN: Final = "bad_token"
    FORBIDDEN: Final = "forbidden"
    INVALID: Final = "invalid"
    RATE_LIMITED: Final = "rate_limited"
    NAME_REQUIRED: Final = "name_required"
    NOT_FOUND: Final = "not_found"
    NOT_LIVE: Final = "not_live"
    SOLD_OUT: Final = "sold_out"
    PRICE_CHANGED: Final = "price_changed"
    PAYMENT_DECLINED: Final = "payment_declined"
    UNAVAILABLE: Final = "unavailable"
    INTERNAL: Final = "internal"
    #: Someone else got there first (a claimed question, a held comment already resolved).
    CONFLICT: Final = "conflict"
    #: A pin would end the running flash deal; pin again with ``end_deal`` to end it.
    DEAL_RUNNING: Final = "deal_running"
    #: Too many new viewer ids came from the client's network in the last minute; the
    #: hub closes the connection, and the page tries again after ``retry_after``.
    TOO_MANY_NEW_VIEWERS: Final = "too_many_new_viewers"
    # Why the chat refused a comment (moderation).
    BANNED: Final = "banned"
    TIMED_OUT: Final = "timed_out"
    CHAT_PAUSED: Final = "chat_paused"
    SLOW_MODE: Final = "slow_mode"
    BUYERS_ONLY: Final = "buyers_only"
    EMOJI_ONLY: Final = "emoji_only"
    BLOCKED: Final = "blocked"
    REPEATED: Final = "repeated"


class _Msg(msgspec.Struct, tag_field="t", forbid_unknown_fields=False, omit_defaults=True):
    """Base of all messages; unknown fields are ignored so that newer clients still talk."""


# ---------------------------------------------------------------- client -> hub


class Hello(_Msg, tag="hello"):
    """``role`` "staff" lets the token decide (a remote console joining with an invite).

    ``key`` is a secret the viewer page makes with its ``viewer_id`` and never shows:
    viewer ids are public (every comment carries one), so the key is what proves a page
    may read or delete that viewer's data.
    """

    v: int
    role: Role | Literal["staff"] = "viewer"
    viewer_id: str | None = None
    key: str | None = None
    name: str | None = None
    token: str | None = None
    since: int | None = None


class SendComment(_Msg, tag="comment"):
    text: str
    ref: str | None = None


class SetName(_Msg, tag="set_name"):
    name: str
    ref: str | None = None


class GetProfile(_Msg, tag="profile"):
    viewer_id: str
    #: A live update of a panel already open: not a new look, so not logged again.
    refresh: bool = False
    ref: str | None = None


class GetCatalogue(_Msg, tag="catalogue"):
    ref: str | None = None


class WebRTCOffer(_Msg, tag="webrtc_offer"):
    """A viewer's SDP offer (receive-only audio and video), ICE candidates included."""

    sdp: str
    ref: str | None = None


class Watch(_Msg, tag="watch"):
    """A viewer page asks for the video on a hub whose viewers watch through the SFU
    (``welcome.stream_flow`` "server_offer"): the hub replies ``watch_offer`` (the SFU
    offers), or ``not_live``. Asking again replaces the page's subscription.

    ``codecs``: the video codecs the page's browser decodes, as its own offer names them
    (rtpmap names: "H264", "VP8", "VP9"…), so that the hub subscribes it to the show's
    stream it can play (the console may publish VP8 beside H.264 for browsers without
    it). None, from an older page: the H.264 stream.
    """

    codecs: list[str] | None = None
    ref: str | None = None


class WatchAnswer(_Msg, tag="watch_answer"):
    """The page's SDP answer to ``watch_offer``, ICE candidates included (no trickle);
    ``ack`` once the SFU took it."""

    sdp: str
    ref: str | None = None


class PlayoutReport(_Msg, tag="playout"):
    """The delay this page's viewer sees (``console.domain.playout``), every few seconds:
    the video's jitter buffer delay over the last period plus half the round trip, in ms.

    No reply: a value that cannot be a delay gets ``invalid``, one sent too soon after the
    last is ignored.
    """

    delay_ms: float
    ref: str | None = None


class Pin(_Msg, tag="pin"):
    """Pin a product on stream (staff). ``product`` is a product id or any of its SKUs.

    While a deal runs on another product the hub refuses with ``deal_running`` unless
    ``end_deal`` says the host agreed that the new pin ends it.
    """

    product: str
    end_deal: bool = False
    ref: str | None = None


class Unpin(_Msg, tag="unpin"):
    ref: str | None = None


class SetShelf(_Msg, tag="set_shelf"):
    """The show's line-up: up to 10 products shown under the pinned one (staff)."""

    products: list[str]
    ref: str | None = None


class StartDeal(_Msg, tag="start_deal"):
    """A flash deal on the pinned product: ``price`` in minor units, ends by the hub's clock."""

    price: int
    seconds: float
    max_units: int | None = None
    product: str | None = None
    ref: str | None = None


class EndDeal(_Msg, tag="end_deal"):
    ref: str | None = None


class Feature(_Msg, tag="feature"):
    """Show a review or a comment over the video (staff); neither clears it."""

    review_id: str | None = None
    comment_seq: int | None = None
    ref: str | None = None


class BuyerDetails(msgspec.Struct, omit_defaults=True):
    name: str = ""
    email: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""


class GetQuote(_Msg, tag="quote"):
    """What a purchase would cost now, with the pay-later plan, before confirming.

    ``claim_id``: the viewer's open claim being paid; its held units count as in stock.
    """

    sku: str
    quantity: int = 1
    claim_id: str | None = None
    #: The auction this viewer won and pays: the lot at the winning price.
    auction_id: str | None = None
    ref: str | None = None


class Buy(_Msg, tag="buy"):
    """Buy ``quantity`` of ``sku``. ``key`` makes a retry or double tap one order.

    ``total`` is the total the viewer confirmed; when the price changed since (a deal
    ended), the hub refuses with ``price_changed`` and a new quote instead of charging.
    ``payment`` is a card number or a saved payment token from an earlier order.
    ``plan`` is how the buyer chose to pay, as a number of payments: 1 pays the total now,
    4 pays it in the quote's interest-free ``instalments`` (the first is charged now).
    """

    key: str
    sku: str
    quantity: int
    buyer: BuyerDetails
    payment: str
    total: int | None = None
    plan: int = 1
    #: The viewer's open claim this pays: its held units are the ones bought.
    claim_id: str | None = None
    #: The auction this viewer won: its lot, at the winning price.
    auction_id: str | None = None
    ref: str | None = None


class SubmitReview(_Msg, tag="review"):
    """A review by a viewer who bought the product (marked verified owner)."""

    product_id: str
    rating: int
    text: str
    ref: str | None = None


class UpdateVariant(_Msg, tag="update_variant"):
    """Change a variant's price (minor units) or stock (staff)."""

    sku: str
    price: int | None = None
    stock: int | None = None
    ref: str | None = None


class ImportCatalogue(_Msg, tag="import"):
    """Import products (staff): ``shopify_csv`` text or Shopcast ``json``."""

    format: Literal["shopify_csv", "json"]
    data: str
    currency: str = "EUR"
    ref: str | None = None


class GetOrders(_Msg, tag="orders"):
    limit: int = 500
    ref: str | None = None


# ---------------------------------------------------------------- viewers' data (issue 6)


class SetConsent(_Msg, tag="consent"):
    """A viewer's choice: ``remember`` (history across streams) or ``session`` (not)."""

    consent: Literal["remember", "session"]
    ref: str | None = None


class ExportData(_Msg, tag="export"):
    """Everything the shop holds about a viewer: a viewer's own, or any (host)."""

    viewer_id: str | None = None
    ref: str | None = None


class DeleteData(_Msg, tag="delete_me"):
    """Delete a viewer's data: a viewer's own, or any viewer's at their request (host)."""

    viewer_id: str | None = None
    ref: str | None = None


class AddNote(_Msg, tag="add_note"):
    viewer_id: str
    text: str
    ref: str | None = None


class SetTag(_Msg, tag="tag"):
    viewer_id: str
    tag: str
    on: bool = True
    ref: str | None = None


class Unlink(_Msg, tag="unlink"):
    """Undo a wrong merge: this viewer id leaves the customer it was linked to."""

    viewer_id: str
    ref: str | None = None


class GetViewers(_Msg, tag="who"):
    """Who is watching now (staff), for the searchable viewer list."""

    ref: str | None = None


class GetViewLog(_Msg, tag="view_log"):
    limit: int = 200
    viewer_id: str | None = None
    ref: str | None = None


# ---------------------------------------------------------------- the team (staff)


class CreateInvite(_Msg, tag="invite"):
    """A token for one person (host only); shown once in the reply, stored only hashed."""

    name: str
    role: Literal["agent", "moderator", "host"]
    hours: float = 12.0
    ref: str | None = None


class GetStaff(_Msg, tag="staff"):
    ref: str | None = None


class RevokeStaff(_Msg, tag="revoke"):
    """Revoke a staff token (host only); its open connections close at once."""

    staff_id: str
    ref: str | None = None


class ReplaceHostToken(_Msg, tag="replace_host_token"):
    """A new host token for the data folder; only a console signed in with the host
    token may ask. The old one is revoked and its other connections close at once."""

    ref: str | None = None


class DeleteComment(_Msg, tag="delete"):
    seq: int
    reason: str = ""
    ref: str | None = None


class TimeoutViewer(_Msg, tag="timeout"):
    viewer_id: str
    seconds: float
    reason: str = ""
    ref: str | None = None


class BanViewer(_Msg, tag="ban"):
    viewer_id: str
    reason: str = ""
    ref: str | None = None


class UnbanViewer(_Msg, tag="unban"):
    """Lift a ban or a time-out."""

    viewer_id: str
    reason: str = ""
    ref: str | None = None


class SetModes(_Msg, tag="set_modes"):
    slow_seconds: int = 0
    buyers_only: bool = False
    emoji_only: bool = False
    paused: bool = False
    #: Hold the comments of viewer ids the hub has known for less than this many
    #: minutes (0 to 1,440; 0 is off).
    hold_new_minutes: int = 0
    ref: str | None = None


class SetClaims(_Msg, tag="set_claims"):
    """Comment to claim on the pinned product (on) or on none (off); ``hold_minutes``
    is how long a claim holds its units (None keeps the current hold, 10 minutes at first)."""

    on: bool
    hold_minutes: float | None = None
    ref: str | None = None


class StartAuction(_Msg, tag="start_auction"):
    """Auction one unit of ``sku`` (None: the pinned product's first variant in stock).

    Amounts are in the product's minor units; ``anti_snipe`` None is sudden death, N
    extends the end by N seconds for a bid in its last N; the winner has
    ``checkout_seconds`` to pay before the runner-up gets the lot.
    """

    start_price: int
    increment: int
    seconds: float
    sku: str | None = None
    anti_snipe: int | None = None
    checkout_seconds: int = 300
    ref: str | None = None


class CancelAuction(_Msg, tag="cancel_auction"):
    """Call the running auction off while bidding is open; the lot goes back on sale."""

    ref: str | None = None


class PlaceBid(_Msg, tag="bid"):
    """Bid up to ``maximum`` (minor units): the hub bids for the viewer one increment at
    a time up to it (proxy bidding); the Bid button sends the next bid as the maximum."""

    auction_id: str
    maximum: int
    ref: str | None = None


class StartGiveaway(_Msg, tag="start_giveaway"):
    """Open a giveaway of ``prize`` for ``seconds`` (10 to 300); ``eligibility`` is who may
    enter (everyone, commented, bought); with ``keyword`` a comment saying it enters too."""

    prize: str
    seconds: float
    eligibility: Literal["everyone", "commented", "bought"] = "everyone"
    keyword: str | None = None
    ref: str | None = None


class DrawGiveaway(_Msg, tag="draw_giveaway"):
    """Reveal the seed and draw the winner, once entries have closed."""

    ref: str | None = None


class CancelGiveaway(_Msg, tag="cancel_giveaway"):
    ref: str | None = None


class JoinWaitlist(_Msg, tag="join_waitlist"):
    """A viewer joins a sold-out variant's waitlist (the page's button); ``claim_wait``
    follows, or a ``claim_card`` when units are free."""

    sku: str
    quantity: int = 1
    ref: str | None = None


class LeaveWaitlist(_Msg, tag="leave_waitlist"):
    """A viewer gives up their place in ``sku``'s waitlist (the page's "Leave the line");
    ``claim_wait_end`` follows, or nothing when they are not in it."""

    sku: str
    ref: str | None = None


class ReleaseClaim(_Msg, tag="release_claim"):
    """A viewer lets their claim go ("Let it go"); ``claim_end`` follows."""

    claim_id: str
    ref: str | None = None


class Browse(_Msg, tag="browse"):
    """A viewer looked closer at a product: opened its reviews (``reviews``) or chose a
    variant. No reply (an ``ack`` only with a ``ref``): it feeds the team's funnel
    (``shopper``)."""

    product_id: str
    reviews: bool = False
    ref: str | None = None


class CheckoutClosed(_Msg, tag="checkout_closed"):
    """A viewer closed the checkout sheet without paying; ``form_error``: after the form
    refused something they typed. No reply (an ``ack`` only with a ``ref``)."""

    product_id: str
    form_error: bool = False
    ref: str | None = None


class ClockRequest(_Msg, tag="clock"):
    """The page asks the hub's time (``clock`` answers): from the round trip it learns
    how far its own clock is off and how long its tap takes to reach the hub, so a
    closing countdown says how long is left to send a bid or an entry that counts."""

    ref: str | None = None


class EnterGiveaway(_Msg, tag="enter_giveaway"):
    """A viewer enters the giveaway shown (the Enter button)."""

    giveaway_id: str
    ref: str | None = None


class TermSpec(msgspec.Struct, omit_defaults=True):
    pattern: str
    kind: Literal["word", "wildcard", "regex"] = "word"
    action: Literal["hold", "delete"] = "hold"


class SetTerms(_Msg, tag="set_terms"):
    """Replace the blocked terms and the link filter; a bad term changes nothing."""

    terms: list[TermSpec]
    block_links: bool = True
    ref: str | None = None


class GetTerms(_Msg, tag="terms"):
    ref: str | None = None


class ResolveHeld(_Msg, tag="resolve_held"):
    """Approve (publish) or deny a held comment."""

    held_id: int
    approve: bool
    reason: str = ""
    ref: str | None = None


class GetModLog(_Msg, tag="mod_log"):
    limit: int = 500
    action: str | None = None
    viewer_id: str | None = None
    ref: str | None = None


class ClaimQuestion(_Msg, tag="claim"):
    question: int
    ref: str | None = None


class ReleaseQuestion(_Msg, tag="release"):
    question: int
    ref: str | None = None


class AnswerQuestion(_Msg, tag="answer"):
    """Answer a question in public (threaded under it for everyone) or privately."""

    question: int
    text: str
    private: bool = False
    ref: str | None = None


class FinishQuestion(_Msg, tag="question_done"):
    question: int
    ref: str | None = None


class GetQuestions(_Msg, tag="questions"):
    ref: str | None = None


class GetSuggestions(_Msg, tag="suggest"):
    question: int
    ref: str | None = None


class CannedReply(msgspec.Struct, omit_defaults=True):
    title: str
    template: str
    #: The template with {product}, {price} and {stock} filled in for the pinned product.
    text: str = ""


class SetCanned(_Msg, tag="set_canned"):
    replies: list[CannedReply]
    ref: str | None = None


ClientMessage = (
    Hello
    | SendComment
    | SetName
    | GetProfile
    | GetCatalogue
    | WebRTCOffer
    | Watch
    | WatchAnswer
    | PlayoutReport
    | ClockRequest
    | Browse
    | CheckoutClosed
    | JoinWaitlist
    | LeaveWaitlist
    | ReleaseClaim
    | Pin
    | Unpin
    | SetShelf
    | StartDeal
    | EndDeal
    | Feature
    | GetQuote
    | Buy
    | SubmitReview
    | UpdateVariant
    | ImportCatalogue
    | GetOrders
    | CreateInvite
    | GetStaff
    | RevokeStaff
    | ReplaceHostToken
    | DeleteComment
    | TimeoutViewer
    | BanViewer
    | UnbanViewer
    | SetModes
    | SetTerms
    | GetTerms
    | ResolveHeld
    | GetModLog
    | ClaimQuestion
    | ReleaseQuestion
    | AnswerQuestion
    | FinishQuestion
    | GetQuestions
    | GetSuggestions
    | SetCanned
    | SetClaims
    | StartAuction
    | CancelAuction
    | PlaceBid
    | StartGiveaway
    | DrawGiveaway
    | CancelGiveaway
    | EnterGiveaway
    | SetConsent
    | ExportData
    | DeleteData
    | AddNote
    | SetTag
    | Unlink
    | GetViewLog
    | GetViewers
)


# ---------------------------------------------------------------- hub -> client


class WhipTarget(msgspec.Struct):
    """Where a host console publishes the show by WHIP, and the bearer token to use."""

    url: str
    token: str = ""


class Welcome(_Msg, tag="welcome"):
    v: int
    role: Role
    seq: int
    viewers: int
    room_title: str
    viewer_id: str | None = None
    name: str | None = None
    staff_name: str | None = None
    live: bool = False
    #: How a viewer page gets the video: "client_offer", it sends ``webrtc_offer`` (the
    #: console's embedded stream); "server_offer", it sends ``watch`` and answers the
    #: SFU's ``watch_offer`` (``python -m console hub --sfu``).
    stream_flow: Literal["client_offer", "server_offer"] = "client_offer"
    #: Host sessions only, on a hub whose viewers watch through an SFU: where the host's
    #: console publishes by WHIP (``python -m console hub --sfu … --sfu-whip URL``).
    whip: WhipTarget | None = None
    #: The hub's clock when it sent this; countdowns use it so every viewer sees the same.
    now: float = 0.0
    #: True when the client asked to resume from a seq older than the hub keeps; it then
    #: receives the latest history instead and should clear what it shows.
    history_truncated: bool = False


class Comment(_Msg, tag="comment"):
    seq: int
    id: int
    viewer_id: str
    name: str
    text: str
    ts: float
    role: Role = "viewer"
    #: The author had bought the product pinned when they wrote this.
    owner: bool = False


class StreamState(_Msg, tag="stream"):
    """The show went live (``live``) or ended; ``ts`` is when, by the hub's clock."""

    seq: int
    live: bool
    ts: float


class WebRTCAnswer(_Msg, tag="webrtc_answer"):
    sdp: str
    ref: str | None = None


class WatchOffer(_Msg, tag="watch_offer"):
    """The SFU's SDP offer for this page's subscription (reply to ``watch``); the page
    answers with ``watch_answer``."""

    sdp: str
    ref: str | None = None


class Viewers(_Msg, tag="viewers"):
    count: int


class Playout(_Msg, tag="playout"):
    """Staff only, ephemeral: the delay viewers actually see, over the latest report of
    each viewer still watching (``console.domain.playout``). Sent when it changes (at
    most once a second) and after ``welcome``; ``viewers`` 0: nobody reports now."""

    viewers: int = 0
    median_ms: int | None = None
    p95_ms: int | None = None


class SfuViewers(_Msg, tag="sfu_viewers"):
    """Staff only, ephemeral, on a hub whose viewers watch through an SFU: how many
    pages receive the video from it now (a subscription each). Sent when it changes (at
    most once a second) and after ``welcome``. The console's own "on video" count is 0
    there: it sends to Janus alone."""

    count: int = 0


ShopperStep = Literal["opened", "checkout", "dropped", "paid"]


class Shopper(_Msg, tag="shopper"):
    """Staff only, ephemeral: one step of a shopper's way to paying, for the Room pulse's
    funnel. ``shopper`` is a pseudonym this hub process makes (console.hub.shoppers): it
    counts a viewer once, and names nobody. ``reason`` (``dropped``): declined,
    sold_out, form_error or closed."""

    step: ShopperStep
    product_id: str
    shopper: str
    ts: float
    reviews: bool = False
    reason: str | None = None
    #: ``paid``: the order, so a replayed buy counts once.
    order_id: str | None = None


class Clock(_Msg, tag="clock"):
    """The hub's time, in answer to the page's ``clock``."""

    now: float
    ref: str | None = None


class Ack(_Msg, tag="ack"):
    ref: str | None = None
    seq: int | None = None
    #: The comment was held for review instead of published (its ``held`` event follows).
    held: bool = False


class Error(_Msg, tag="error"):
    code: str
    message: str
    ref: str | None = None
    retry_after: float | None = None
    #: Form fields at fault (field name -> sentence), for a checkout form.
    fields: dict[str, str] = {}


class ProfileComment(msgspec.Struct, omit_defaults=True):
    seq: int
    text: str
    ts: float
    this_stream: bool = True
    deleted: bool = False


class ProfileAnswer(msgspec.Struct, omit_defaults=True):
    agent: str
    text: str
    ts: float
    private: bool = False


class ProfileQuestion(msgspec.Struct, omit_defaults=True):
    id: int
    text: str
    ts: float
    claimed_by: str | None = None
    done: bool = False
    answers: list[ProfileAnswer] = []


class ProfileOrder(msgspec.Struct, omit_defaults=True):
    order_id: str
    ts: float
    product_id: str
    sku: str
    title: str
    quantity: int
    total: int
    currency: str
    status: str
    deal: bool = False


class ProfileReview(msgspec.Struct, omit_defaults=True):
    id: str
    product_id: str
    rating: int
    text: str
    created: str


class ProfileModeration(msgspec.Struct, omit_defaults=True):
    id: int
    ts: float
    action: str
    actor: str
    actor_role: str
    text: str = ""
    reason: str = ""
    until: float | None = None


class ProfileProductView(msgspec.Struct, omit_defaults=True):
    product_id: str
    title: str
    ts: float


class ProfileCheckout(msgspec.Struct, omit_defaults=True):
    id: int
    product_id: str
    sku: str
    ts: float
    state: str
    order_id: str | None = None


class ProfileTag(msgspec.Struct, omit_defaults=True):
    tag: str
    author: str
    ts: float


class ProfileNote(msgspec.Struct, omit_defaults=True):
    id: int
    author: str
    text: str
    ts: float


class ProfileStream(msgspec.Struct, omit_defaults=True):
    id: int
    started: float
    ended: float | None = None


class Profile(_Msg, tag="profile"):
    """A viewer as staff see them in the side panel, with the viewer's consent applied.

    Without ``consent == "remember"`` only the current stream's activity is here.
    """

    viewer_id: str
    name: str
    first_seen: float
    last_seen: float
    comment_count: int
    comments: list[ProfileComment] = []
    online: bool = False
    initial: str = "?"
    #: ``unknown`` (not chosen yet), ``remember`` or ``session``.
    consent: str = "unknown"
    #: ``anonymous``, or ``linked`` to a customer by a checkout email.
    identity: str = "anonymous"
    linked_viewer_ids: list[str] = []
    stream: ProfileStream | None = None
    streams_attended: int = 0
    watch_seconds: float = 0.0
    #: Badges: ``new``, ``returning``, ``vip``, ``owner`` (of the pinned product).
    segments: list[str] = []
    comment_count_stream: int = 0
    questions: list[ProfileQuestion] = []
    orders: list[ProfileOrder] = []
    order_count: int = 0
    paid_orders: int = 0
    lifetime_value: int = 0
    currency: str = ""
    average_order: int | None = None
    watched_not_bought: list[ProfileProductView] = []
    checkouts: list[ProfileCheckout] = []
    reviews: list[ProfileReview] = []
    moderation: list[ProfileModeration] = []
    banned: bool = False
    muted_until: float | None = None
    tags: list[ProfileTag] = []
    notes: list[ProfileNote] = []
    ref: str | None = None


class Review(msgspec.Struct, omit_defaults=True):
    id: str
    author: str
    rating: int
    text: str
    verified_owner: bool
    created: str


class Variant(msgspec.Struct, omit_defaults=True):
    sku: str
    options: dict[str, str]
    price: int
    stock: int
    compare_at: int | None = None


class Product(msgspec.Struct, omit_defaults=True):
    id: str
    title: str
    currency: str
    variants: list[Variant]
    image: str | None = None
    description: str = ""
    vendor: str = ""
    options: list[str] = []
    reviews: list[Review] = []


class Catalogue(_Msg, tag="catalogue"):
    products: list[Product]
    ref: str | None = None


class ShowState(_Msg, tag="show"):
    """What is on stream now; sent after ``welcome`` and whenever it changes.

    It carries whole state rather than a change, so a client that joins or resumes is
    right at once, whatever it missed. ``seq`` is 0 in the copy sent after ``welcome``.
    """

    seq: int
    pinned: Product | None = None
    shelf: list[Product] = []
    deal: DealInfo | None = None
    featured: FeaturedItem | None = None


class DealInfo(msgspec.Struct, omit_defaults=True):
    product_id: str
    price: int
    currency: str
    #: When it ends by the hub's clock (compare with ``welcome.now``).
    ends: float
    max_units: int | None = None
    sold: int = 0


class FeaturedItem(msgspec.Struct, omit_defaults=True):
    kind: Literal["review", "comment"]
    author: str
    text: str
    rating: int | None = None
    verified_owner: bool = False
    owner: bool = False
    #: For a featured comment: its seq, so deleting the comment takes it off the video.
    comment_seq: int | None = None
    #: For a featured review: its product, so pinning another product takes it off.
    product_id: str | None = None


class DealEnded(_Msg, tag="deal_end"):
    seq: int
    product_id: str
    #: ``time`` (the clock ran out), ``sold`` (the cap was reached) or ``host``.
    reason: str


class Stock(_Msg, tag="stock"):
    seq: int
    product_id: str
    sku: str
    stock: int


class OrderPlaced(_Msg, tag="order"):
    """Public news of a sale (no personal data): the ticker and social proof."""

    seq: int
    order_id: str
    product_id: str
    sku: str
    title: str
    quantity: int
    total: int
    currency: str
    name: str
    ts: float
    deal: bool = False


class ReviewAdded(_Msg, tag="review"):
    seq: int
    product_id: str
    review: Review


class Instalment(msgspec.Struct):
    number: int
    amount: int
    due: str


class QuoteReply(_Msg, tag="quote"):
    sku: str
    quantity: int
    currency: str
    unit_price: int
    regular_unit_price: int
    subtotal: int
    shipping: int
    total: int
    stock: int
    instalments: list[Instalment] = []
    deal: bool = False
    ref: str | None = None


class OrderConfirmed(_Msg, tag="order_confirmed"):
    order_id: str
    sku: str
    product_id: str
    title: str
    quantity: int
    currency: str
    total: int
    #: The payments of the plan the buyer chose, the first charged now (one when paid at once).
    instalments: list[Instalment] = []
    #: How many payments the buyer chose (1: the total was paid now).
    plan: int = 1
    #: Reusable instead of the card next time, so a repeat purchase is two taps.
    payment_token: str | None = None
    payment_label: str | None = None
    ref: str | None = None


class OrderRecord(msgspec.Struct, omit_defaults=True):
    order_id: str
    ts: float
    viewer_id: str
    name: str
    email: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: int
    shipping: int
    total: int
    currency: str
    status: str
    deal: bool = False
    country: str = ""
    #: How many payments the buyer chose (1: paid at once).
    plan: int = 1


class Orders(_Msg, tag="orders"):
    orders: list[OrderRecord]
    ref: str | None = None


class ImportRowError(msgspec.Struct):
    line: int
    handle: str
    message: str


class ImportResult(_Msg, tag="import_result"):
    imported: int
    rows: int
    errors: list[ImportRowError] = []
    #: Rows imported with a change the shop should know about (oversold stock set to 0).
    warnings: list[ImportRowError] = []
    ref: str | None = None


# ---------------------------------------------------------------- the team (hub -> client)


class InviteCreated(_Msg, tag="invite"):
    staff_id: str
    token: str
    name: str
    role: Role
    expires: float
    ref: str | None = None


class StaffMember(msgspec.Struct, omit_defaults=True):
    staff_id: str
    name: str
    role: Role
    created: float
    expires: float | None = None
    revoked: float | None = None
    #: Open connections with this token now.
    connected: int = 0


class HostToken(_Msg, tag="host_token"):
    """The new host token (to the console that asked); the session goes on with it."""

    token: str
    staff_id: str
    ref: str | None = None


class StaffList(_Msg, tag="staff"):
    """Who may run the show and who is connected; pushed to hosts when it changes."""

    members: list[StaffMember]
    ref: str | None = None


class CommentDeleted(_Msg, tag="delete"):
    """A moderator removed comment ``target``: pages stop showing it."""

    seq: int
    target: int
    viewer_id: str


class Modes(_Msg, tag="modes"):
    """The chat's modes; ``seq`` 0 is the state sent after ``welcome``."""

    seq: int
    slow_seconds: int = 0
    buyers_only: bool = False
    emoji_only: bool = False
    paused: bool = False
    hold_new_minutes: int = 0


class ClaimsMode(_Msg, tag="claims"):
    """Whether comments claim the pinned product; ``seq`` 0 is the state after ``welcome``."""

    seq: int
    on: bool = False
    product_id: str | None = None
    hold_seconds: float = 600.0


class ClaimCard(_Msg, tag="claim_card"):
    """To the claimer (and staff): units held for them until ``expires`` (the hub's clock).

    ``offered``: the units came back and went to them as the first in the waitlist.
    ``seq`` 0 is an open claim restated after ``welcome``.
    """

    seq: int
    claim_id: str
    viewer_id: str
    name: str
    product_id: str
    sku: str
    title: str
    label: str
    quantity: int
    unit_price: int
    currency: str
    expires: float
    offered: bool = False
    image: str | None = None


class ClaimEnded(_Msg, tag="claim_end"):
    """To the claimer (and staff): the claim is closed; ``why`` is ``checkout`` (it became
    order ``order_id``, confirmed by ``order_confirmed``; a declined card puts its units
    back on sale), ``expired``, ``released`` or ``declined``."""

    seq: int
    claim_id: str
    viewer_id: str
    why: str
    order_id: str | None = None


class ClaimWaiting(_Msg, tag="claim_wait"):
    """To the viewer (and staff): they are in ``sku``'s waitlist; the next unit back is
    offered to them in turn as a ``claim_card`` with ``offered``. ``seq`` 0 restates it."""

    seq: int
    viewer_id: str
    name: str
    product_id: str
    sku: str
    title: str
    label: str
    quantity: int
    at: float


class ClaimWaitEnded(_Msg, tag="claim_wait_end"):
    """To the viewer (and staff): they left ``sku``'s waitlist; those behind move up.

    Logged like the place it ends, so a restarted hub, or another hub of the show,
    rebuilds the line without them and never offers them a unit they gave up.
    """

    seq: int
    viewer_id: str
    sku: str
    at: float


class AuctionState(_Msg, tag="auction"):
    """The auction as everyone sees it after a change (``why``: start, bid, close, lapse,
    decline, paid, cancel, at ``at`` on the hub's clock); ``seq`` 0 restates it after
    ``welcome``.

    ``price`` is the current price (None before the first bid: ``next_bid`` is the start
    price); ``ends`` moves with anti-snipe (``extended`` seconds so far). After the close,
    ``winner_id`` may pay ``price`` until ``checkout_until``; if they do not, the next
    bidder gets the chance, and ``passed_ids`` lists those passed over, in order. Each
    state says all of it, so a console that joins late reads from the last one what one
    that watched saw. Bidders' maximums are never in it.
    """

    seq: int
    auction_id: str
    product_id: str
    sku: str
    title: str
    label: str
    currency: str
    start_price: int
    increment: int
    starts: float
    ends: float
    checkout_seconds: int
    status: str
    why: str
    at: float
    next_bid: int
    anti_snipe: int | None = None
    bids: int = 0
    price: int | None = None
    leader: str | None = None
    leader_id: str | None = None
    winner: str | None = None
    winner_id: str | None = None
    checkout_until: float | None = None
    order_id: str | None = None
    image: str | None = None
    extended: int = 0
    passed_ids: list[str] = []


class AuctionBid(_Msg, tag="auction_bid"):
    """To the bidder (and staff): their bid was taken, up to ``maximum``; ``seq`` 0
    restates, after ``welcome``, the bidder's highest to them and every bid of the last
    auction to staff (the ladder of a console that joins late)."""

    seq: int
    auction_id: str
    viewer_id: str
    name: str
    maximum: int
    at: float


class GiveawayState(_Msg, tag="giveaway"):
    """The giveaway as everyone sees it after a change (``why``: start, draw, cancel);
    ``seq`` 0 restates it after ``welcome``.

    ``commitment`` is the SHA-256 of the seed, published at the start; at the draw
    ``seed`` reveals it and ``entries`` lists the entrants, so the page recomputes the
    winner (the rule in :mod:`console.domain.giveaway`). ``no_purchase_necessary`` is
    true unless entry is for buyers.
    """

    seq: int
    giveaway_id: str
    prize: str
    eligibility: str
    starts: float
    ends: float
    commitment: str
    status: str
    why: str
    at: float
    no_purchase_necessary: bool
    keyword: str | None = None
    entrants: int = 0
    seed: str | None = None
    entries: list[str] = []
    winner_id: str | None = None
    winner: str | None = None


class GiveawayEntry(_Msg, tag="giveaway_entry"):
    """To the entrant (and staff): they are in; ``seq`` 0 restates it after ``welcome``."""

    seq: int
    giveaway_id: str
    viewer_id: str
    name: str
    at: float


class ClaimAsk(_Msg, tag="claim_ask"):
    """To one viewer only: their comment asked to claim but did not say what (ephemeral);
    ``choices`` are the values or the comments to type. ``place`` is their place in the
    waitlist when the variant is sold out."""

    message: str
    choices: list[str] = []
    place: int | None = None


class Standing(_Msg, tag="standing"):
    """To one viewer only: whether they may post, and until when (ephemeral)."""

    banned: bool = False
    muted_until: float | None = None
    reason: str = ""


class ModEntry(_Msg, tag="mod"):
    """One moderation action, as stored in the mod log (staff only)."""

    seq: int
    id: int
    ts: float
    action: ModAction
    actor: str
    actor_role: Role
    viewer_id: str = ""
    name: str = ""
    comment_seq: int | None = None
    text: str = ""
    reason: str = ""
    until: float | None = None


class Held(_Msg, tag="held"):
    """A comment or an owner's review held for review: to staff, and to its author only."""

    seq: int
    held_id: int
    viewer_id: str
    name: str
    text: str
    ts: float
    rule: str = ""
    reason: str = ""
    #: A held review: the product it is about and its stars (``None`` for a comment).
    product_id: str | None = None
    rating: int | None = None


class HeldResolved(_Msg, tag="held_resolved"):
    """A held comment was approved (published as ``comment_seq``) or denied."""

    seq: int
    held_id: int
    viewer_id: str
    approved: bool
    comment_seq: int | None = None


class QuestionState(_Msg, tag="question"):
    """A question from the chat, as it stands now (staff only); ``id`` is its comment's seq."""

    seq: int
    id: int
    viewer_id: str
    name: str
    text: str
    ts: float
    group: str
    claimed_by: str | None = None
    claimed_at: float | None = None
    answered_at: float | None = None
    done: bool = False


class Answer(_Msg, tag="answer"):
    """An agent's answer to question ``question`` (a comment seq): public or to the asker."""

    seq: int
    question: int
    question_text: str
    viewer_id: str
    name: str
    agent: str
    text: str
    ts: float
    private: bool = False


class QueueStats(msgspec.Struct):
    length: int
    unanswered: int
    median_first_answer: float | None = None


class QuestionGroupInfo(msgspec.Struct, omit_defaults=True):
    key: str
    label: str
    questions: list[int]


class Questions(_Msg, tag="questions"):
    questions: list[QuestionState]
    groups: list[QuestionGroupInfo]
    stats: QueueStats
    ref: str | None = None


class Passage(msgspec.Struct):
    source: str
    text: str


class Suggestions(_Msg, tag="suggestions"):
    question: int
    passages: list[Passage]
    canned: list[CannedReply]
    ref: str | None = None


class Terms(_Msg, tag="terms"):
    terms: list[TermSpec]
    block_links: bool = True
    ref: str | None = None


class ModLog(_Msg, tag="mod_log"):
    entries: list[ModEntry]
    ref: str | None = None


class RetentionRow(msgspec.Struct):
    """One row of the retention table (``console.domain.retention``), in words."""

    what: str
    remember: str
    without: str
    why: str


class ConsentState(_Msg, tag="consent"):
    """To one viewer: what they chose (``unknown`` until they do) and what the shop keeps
    under each choice, for the Privacy panel; ephemeral."""

    consent: str
    changed: float | None = None
    retention: list[RetentionRow] = []
    ref: str | None = None


class DataExport(_Msg, tag="export"):
    viewer_id: str
    data: dict[str, Any]
    ref: str | None = None


class ViewerDeleted(_Msg, tag="viewer_deleted"):
    """Staff only: a viewer's data was deleted at their request (``by`` says who acted)."""

    seq: int
    viewer_id: str
    by: str
    ts: float


class Erased(_Msg, tag="erased"):
    """A viewer's data was deleted: what they left in the room is signed ``name`` now.

    Public, so that open pages and consoles re-sign at once what they already show (the
    stored events are rewritten, so later replays say ``name`` by themselves). It names
    no viewer id: ``comments`` are their comments' seqs (also the ids of their questions),
    ``orders`` their orders' ids. No owner badge goes with the new name.
    """

    seq: int
    comments: list[int]
    orders: list[str] = []
    name: str = "deleted viewer"


class ProfilesLinked(_Msg, tag="linked"):
    """Staff only: a checkout email linked these viewer ids into one customer."""

    seq: int
    viewer_ids: list[str]
    ts: float


class ProfileChanged(_Msg, tag="profile_changed"):
    """Staff only, ephemeral: something about this viewer changed (a note, a tag, a
    link); a console showing their profile asks for it again."""

    viewer_id: str


class ViewLogEntry(msgspec.Struct):
    ts: float
    staff: str
    role: str
    viewer_id: str


class WatchingViewer(msgspec.Struct):
    viewer_id: str
    name: str


class WatchingList(_Msg, tag="who"):
    viewers: list[WatchingViewer]
    ref: str | None = None


class ViewLog(_Msg, tag="view_log"):
    entries: list[ViewLogEntry]
    ref: str | None = None


ServerMessage = (
    Welcome
    | Comment
    | StreamState
    | Viewers
    | Playout
    | SfuViewers
    | Ack
    | Clock
    | Shopper
    | Error
    | Profile
    | Catalogue
    | WebRTCAnswer
    | WatchOffer
    | ShowState
    | DealEnded
    | Stock
    | OrderPlaced
    | ReviewAdded
    | QuoteReply
    | OrderConfirmed
    | Orders
    | ImportResult
    | InviteCreated
    | HostToken
    | StaffList
    | CommentDeleted
    | Modes
    | ClaimsMode
    | ClaimCard
    | ClaimEnded
    | ClaimWaiting
    | ClaimWaitEnded
    | AuctionState
    | AuctionBid
    | GiveawayState
    | GiveawayEntry
    | ClaimAsk
    | Standing
    | ModEntry
    | Held
    | HeldResolved
    | QuestionState
    | Answer
    | Questions
    | Suggestions
    | Terms
    | ModLog
    | ConsentState
    | DataExport
    | ViewerDeleted
    | Erased
    | ProfilesLinked
    | ViewLog
    | WatchingList
    | ProfileChanged
)

#: Events stored with a seq and replayed on resume.
RoomEvent = (
    Comment
    | StreamState
    | ShowState
    | DealEnded
    | Stock
    | OrderPlaced
    | ReviewAdded
    | CommentDeleted
    | Modes
    | ClaimsMode
    | ClaimCard
    | ClaimEnded
    | ClaimWaiting
    | ClaimWaitEnded
    | AuctionState
    | AuctionBid
    | GiveawayState
    | GiveawayEntry
    | ModEntry
    | Held
    | HeldResolved
    | QuestionState
    | Answer
    | ViewerDeleted
    | Erased
    | ProfilesLinked
)


# ---------------------------------------------------------------- encode / decode

_client_decoder: Final = msgspec.json.Decoder(ClientMessage)
_server_decoder: Final = msgspec.json.Decoder(list[ServerMessage])
_encoder: Final = msgspec.json.Encoder()


def decode_client(data: str | bytes, limit: int = MAX_MESSAGE_BYTES) -> ClientMessage:
    """Decode one client frame, raising :class:`ProtocolError` with a stable code."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > limit:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"Message of {size} bytes is over the limit of {limit} bytes; send shorter messages.",
        )
    try:
        return _client_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"Invalid message: {exc}.") from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"Message is not valid JSON: {exc}.") from None


def encode(message: _Msg) -> bytes:
    """Encode one message (an element of a hub frame, or a client frame)."""
    return _encoder.encode(message)


def frame(encoded: list[bytes]) -> bytes:
    """Join already-encoded messages into one hub frame (a JSON array) without re-encoding."""
    return b"[" + b",".join(encoded) + b"]"


def decode_server(data: str | bytes) -> list[ServerMessage]:
    """Decode one hub frame into its messages (used by the staff client and tests)."""
    try:
        return _server_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"Invalid hub frame: {exc}.") from None
