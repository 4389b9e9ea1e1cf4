"""Staff tokens: random, shown once, stored only as a hash, checked on every connection."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import cast

from console import protocol
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.store import Store

TOKEN_BYTES = 24


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    role: protocol.Role
    name: str
    #: Stable id for the staff member's comments, derived from the token hash.
    viewer_id: str
    #: The token's public id (its hash's first 16 hex digits), to list and revoke it.
    staff_id: str = ""
    expires: float | None = None


def hash_token(token: str) -> str:
    """SHA-256 is enough: tokens are 192 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


#: Every token starts with this, so none starts with "-": a token beginning with a dash is
#: read as an option by ``--token TOKEN`` on the command line. It also lets secret scanners
#: and people recognise a Shopcast token in a paste.
TOKEN_PREFIX = "sc_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def issue_token(
    store: Store, role: protocol.Role, name: str, now: float, ttl: float | None = None
) -> str:
    """Create a token for ``role``; only its hash is stored, so show it to the person now."""
    token = new_token()
    store.add_staff_token(hash_token(token), role, name, now, None if ttl is None else now + ttl)
    return token


def check_token(store: Store, token: str | None, role: str | None, now: float) -> StaffIdentity:
    """Return who the token belongs to, or raise a typed error a client can show.

    The lookup is by hash, so a wrong guess learns nothing from timing about real tokens.
    """
    if not token:
        raise ProtocolError(
            ErrorCode.BAD_TOKEN,
            f"A {role or 'staff'} connection needs a staff token; ask the host for one.",
        )
    token_hash = hash_token(token)
    record = store.staff_token(token_hash)
    if record is None:
        raise ProtocolError(
            ErrorCode.BAD_TOKEN,
            "This staff token is not known to the hub; check it or ask for a new one.",
        )
    if record.revoked is not None:
        raise ProtocolError(
            ErrorCode.BAD_TOKEN, "This staff token was revoked; ask the host for a new one."
        )
    if record.expires is not None and now >= record.expires:
        raise ProtocolError(
            ErrorCode.BAD_TOKEN, "This staff token has expired; ask the host for a new one."
        )
    if role is not None and record.role != role:
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            f"This token is for the {record.role} role, not {role}; connect as {record.role}.",
        )
    return StaffIdentity(
        role=cast(protocol.Role, record.role),
        name=record.name,
        viewer_id="staff-" + token_hash[:16],
        staff_id=token_hash[:16],
        expires=record.expires,
    )
