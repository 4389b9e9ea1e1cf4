"""Staff tokens: random, shown once, stored only as a hash, checked on every connection.

The host token is one per data folder: made at the first start, kept until the host
replaces it. The store keeps only its hash, like every staff token's, so a copy of the
database (a backup, a file attached to a bug report) lets nobody run the show. Yet the
console shows it in File → Staff access and a headless hub's operator reads it with
``python -m console token``, so the token itself is kept beside the store, in
:data:`HOST_TOKEN_FILE`, readable by its owner only (mode 0600, like an SSH key) and
never written into the database. Losing or deleting the file is a way to replace the
token: the next start finds no file that matches the store and makes a new one. A
database several hubs share is the exception: there the token is the show's, so a hub
without the file refuses to start rather than revoke the token the host is using.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from console import protocol
from console.errors import ProtocolError, StoreError
from console.protocol import ErrorCode
from console.store.api import Store, Team

TOKEN_BYTES = 24
#: The host token's file in the data folder.
HOST_TOKEN_FILE = "host-token"
#: The host token's name in the Team dialog.
HOST_NAME = "Host"


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    role: protocol.Role
    name: str
    #: Stable id for the staff member's comments, derived from the token hash.
    viewer_id: str
    #: The token's public id (its hash's first 16 hex digits), to list and revoke it.
    staff_id: str = ""
    expires: float | None = None


def staff_viewer_id(staff_id: str) -> str:
    """The stable id a staff member's comments carry, from their token's id."""
    return "staff-" + staff_id


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
        viewer_id=staff_viewer_id(token_hash[:16]),
        staff_id=token_hash[:16],
        expires=record.expires,
    )


def host_token_path(store: Store) -> Path:
    return store.path.parent / HOST_TOKEN_FILE


def host_token(store: Store, now: float) -> str:
    """The data folder's host token; a new one when there is none yet, or the file lost
    its match in the store (deleted, or from another data folder).

    Every other host token is revoked: consoles before this one made a new, unexpiring
    one at every start, and each of those would run the show to this day.
    """
    path = host_token_path(store)
    # Hubs of a cluster that share a data folder often start together: one at a time
    # reads, makes and stores the token, so they all find the same.
    with _locked(path.parent):
        return _host_token(store, path, now)


def _host_token(store: Store, path: Path, now: float) -> str:
    records = store.team
    token = _read_token_file(path)
    if _kept(records, token, now):
        return token
    if store.shared and records.has_host_token():
        # Another hub of the show made the token the host is using: a new one here would
        # revoke it and end the host's connection in the middle of the show.
        raise StoreError(
            f"The database {store.location} already has a host token, made by another hub "
            f"of this show, and {path} does not hold it. Copy the host-token file from "
            "that hub's data folder to this one (or give every hub the same --data-dir), "
            "then start again; 'ctl replace-host-token' makes a new one for every hub."
        )
    return replace_host_token(store, now)[0]


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` between processes, released when the block ends."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_token_file(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not a token"
        raise StoreError(
            f"Cannot read the host token in {path} ({why}); delete the file and Shopcast "
            "makes a new token at the next start."
        ) from None


def _kept(records: Team, token: str, now: float) -> bool:
    """Whether ``token`` is the host token in use; if so it stays the one."""
    if token.startswith(TOKEN_PREFIX) and records.is_host_token(hash_token(token)[:16]):
        records.keep_host_token(hash_token(token), HOST_NAME, now)
        return True
    return False


def host_token_line(token: str, data_dir: Path, *, shown: bool, window: bool) -> str:
    """What the terminal says about the host token at start: the token itself only when
    asked (``--print-token``), as a terminal's scrollback, a shared screen or a CI log
    keeps whatever is printed; otherwise where to read it."""
    if shown:
        return f"Host token: {token}"
    where = "File → Staff access shows it, and so does" if window else "read it with"
    command = f"python -m console token --data-dir {shlex.quote(str(data_dir))}"
    return f"Host token: not printed; {where}: {command}"


def replace_host_token(store: Store, now: float) -> tuple[str, list[str]]:
    """A new host token, written to its file, and the staff ids of the ones it revoked
    (their connections are to be closed).

    The file is written first: should the store then fail, the file matches nothing and
    the next start makes a new token, rather than the old token living on unseen.
    """
    token = new_token()
    path = host_token_path(store)
    part = path.with_name(path.name + ".part")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            os.chmod(part, 0o600)  # an older .part file keeps its mode through O_CREAT
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, path)
    except OSError as exc:
        raise StoreError(
            f"Cannot write the host token to {path} ({exc.strerror}); check the data "
            "folder's permissions, or choose another with --data-dir."
        ) from None
    revoked = store.team.keep_host_token(hash_token(token), HOST_NAME, now)
    return token, revoked
