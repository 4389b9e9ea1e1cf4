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
from typing import Final, Literal

import msgspec

from console.errors import ProtocolError

VERSION: Final = 1

#: Largest client message the hub reads and answers with a typed error when exceeded.
MAX_MESSAGE_BYTES: Final = 16 * 1024
#: Above this the WebSocket layer itself refuses the frame and closes (code 1009).
MAX_FRAME_BYTES: Final = 1024 * 1024

VIEWER_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

Role = Literal["viewer", "host", "agent", "moderator"]
STAFF_ROLES: Final = frozenset({"host", "agent", "moderator"})


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
    UNAVAILABLE: Final = "unavailable"
    INTERNAL: Final = "internal"


class _Msg(msgspec.Struct, tag_field="t", forbid_unknown_fields=False, omit_defaults=True):
    """Base of all messages; unknown fields are ignored so that newer clients still talk."""


# ---------------------------------------------------------------- client -> hub


class Hello(_Msg, tag="hello"):
    v: int
    role: Role = "viewer"
    viewer_id: str | None = None
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
    ref: str | None = None


class GetCatalogue(_Msg, tag="catalogue"):
    ref: str | None = None


class WebRTCOffer(_Msg, tag="webrtc_offer"):
    """A viewer's SDP offer (receive-only audio and video), ICE candidates included."""

    sdp: str
    ref: str | None = None


ClientMessage = Hello | SendComment | SetName | GetProfile | GetCatalogue | WebRTCOffer


# ---------------------------------------------------------------- hub -> client


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


class StreamState(_Msg, tag="stream"):
    """The show went live (``live``) or ended; ``ts`` is when, by the hub's clock."""

    seq: int
    live: bool
    ts: float


class WebRTCAnswer(_Msg, tag="webrtc_answer"):
    sdp: str
    ref: str | None = None


class Viewers(_Msg, tag="viewers"):
    count: int


class Ack(_Msg, tag="ack"):
    ref: str | None = None
    seq: int | None = None


class Error(_Msg, tag="error"):
    code: str
    message: str
    ref: str | None = None
    retry_after: float | None = None


class ProfileComment(msgspec.Struct, omit_defaults=True):
    seq: int
    text: str
    ts: float


class Profile(_Msg, tag="profile"):
    viewer_id: str
    name: str
    first_seen: float
    last_seen: float
    comment_count: int
    comments: list[ProfileComment] = []
    online: bool = False
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


ServerMessage = (
    Welcome | Comment | StreamState | Viewers | Ack | Error | Profile | Catalogue | WebRTCAnswer
)

#: Events stored with a seq and replayed on resume.
RoomEvent = Comment | StreamState


# ---------------------------------------------------------------- encode / decode

_client_decoder: Final = msgspec.json.Decoder(ClientMessage)
_server_decoder: Final = msgspec.json.Decoder(list[ServerMessage])
_encoder: Final = msgspec.json.Encoder()


def decode_client(data: str | bytes) -> ClientMessage:
    """Decode one client frame, raising :class:`ProtocolError` with a stable code."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            ErrorCode.TOO_LARGE,
            f"Message of {size} bytes is over the limit of {MAX_MESSAGE_BYTES} bytes; "
            "send shorter messages.",
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
