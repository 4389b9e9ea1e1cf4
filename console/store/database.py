"""The Database adapter: one set of SQL for every engine the store runs on.

The store's modules write their SQL once, with ``?`` placeholders, and go through this
adapter for what the engines do differently: how a writing transaction takes its lock
(SQLite ``BEGIN IMMEDIATE``; PostgreSQL a row lock), how a new row's id comes back
(``RETURNING id`` instead of the driver's ``lastrowid``), and how a driver's error reads
to a user. Nothing outside :mod:`console.store` sees it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from console.errors import StoreError
from console.redact import masked_url

Params = Sequence[Any] | dict[str, Any]

_LAST_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM events"
INSERT_EVENT = (
    "INSERT INTO events (seq, type, viewer_id, ts, body, audience) VALUES (?, ?, ?, ?, ?, ?)"
)
#: One room event as stored: seq, type, viewer_id, ts, body, audience.
EventRow = tuple[int, str, str | None, float, bytes, str | None]


class Cursor(Protocol):
    """What a query returns: rows as tuples (the DB-API cursor of either driver)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """One connection to the store's database, used from the hub's loop thread only."""

    #: ``"sqlite"`` or ``"postgresql"``: for the few statements that differ (migrations).
    dialect: str

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        """Run one statement (``?`` or ``:name`` placeholders)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        ...

    def execute_all(self, statements: Sequence[tuple[str, Params]]) -> list[Cursor]:
        """Run statements whose results are read only once all have run: PostgreSQL sends
        them in one round trip (with a pending BEGIN and the room's lock). An error rolls
        the transaction back, as from one statement."""
        ...

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT`` into a table with an ``id`` key; return the new row's id."""
        ...

    def pipelined(self) -> AbstractContextManager[None]:
        """Outside a transaction, statements whose results nobody reads at once: PostgreSQL
        sends them together, at the first result read or at the end (one round trip)."""
        ...

    def transaction(self) -> AbstractContextManager[Database]:
        """A writing transaction that holds the store's write lock until it ends."""
        ...

    def write(self, sql: str, params: Params = ()) -> Cursor:
        """One statement that is a whole change by itself (an upsert), outside any
        transaction: it takes no write lock, so it never queues behind the writers of
        room events (a flash drop's buyers each write their key and name first)."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    def last_seq(self) -> int:
        """The room's last seq; inside a transaction, under its write lock."""
        ...

    def append_events(self, rows: Sequence[EventRow]) -> None:
        """Insert the writing transaction's events, the last of them its new seq. Called
        last in the transaction: PostgreSQL sends them with the seq's update and the
        COMMIT in one round trip, so the room's lock is held one round trip less."""
        ...

    def schema_version(self) -> int:
        """How many migrations the database has had."""
        ...

    def migration(self, statement: str) -> str:
        """A statement of the migrations as this engine reads it."""
        ...

    def set_schema_version(self, version: int) -> None:
        """Record (inside the migration's transaction) that ``version`` migrations ran."""
        ...

    def close(self) -> None:
        """Finish writing and close the connection."""
        ...


def describe_sqlite(exc: sqlite3.Error) -> str:
    """A SQLite error as the user can act on it: a full disk, a read-only file, a lock."""
    text = str(exc)
    if "full" in text:
        return f"The disk holding the data file is full ({text}); free some space and retry."
    if "readonly" in text or "read-only" in text:
        return f"The data file is read-only ({text}); check its permissions or use --data-dir."
    if "locked" in text or "busy" in text:
        return f"The data file is in use by another process ({text}); close it and retry."
    return f"The data file could not be written ({text})."


def check_postgres_url(url: str) -> None:
    """Refuse a ``--database`` that is not a PostgreSQL URL before any driver sees it."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise StoreError(
            f"--database {masked_url(url)!r} is not a PostgreSQL URL; give "
            "postgresql://user@host/db or leave it out for the SQLite file in --data-dir."
        )


class SqliteDatabase:
    """The embedded default: one file in WAL mode; ``BEGIN IMMEDIATE`` serialises writers."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection, read_only: bool = False) -> None:
        self._connection = connection
        #: Opened by :meth:`open_read_only`: nothing to checkpoint when it closes.
        self._read_only = read_only

    @classmethod
    def open(cls, path: Path) -> SqliteDatabase:
        """Open (creating) the file at ``path`` in WAL mode."""
        try:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA busy_timeout=2000")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"Cannot open the data file {path}: {describe_sqlite(exc)} If the file is "
                "damaged, move it away and Shopcast starts with a new one."
            ) from exc
        return cls(connection)

    @classmethod
    def open_read_only(cls, path: Path) -> SqliteDatabase:
        """Open the existing file at ``path`` for reading only, beside the hub that may be
        writing it: WAL lets this reader and the one writer work at once, and a reader
        can neither create the file nor change it."""
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute("PRAGMA busy_timeout=2000")
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot read the data file {path} ({exc}).") from exc
        return cls(connection, read_only=True)

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self._connection.execute(sql, params)

    def write(self, sql: str, params: Params = ()) -> Cursor:
        try:
            return self._connection.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._connection.executemany(sql, rows)

    def execute_all(self, statements: Sequence[tuple[str, Params]]) -> list[Cursor]:
        return [self.execute(sql, params) for sql, params in statements]

    def pipelined(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()  # in-process: no round trips to save

    def insert(self, sql: str, params: Params = ()) -> int:
        (row,) = self._connection.execute(sql + " RETURNING id", params).fetchall()
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[SqliteDatabase]:
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite(exc)) from exc
        try:
            yield self
            self._connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(describe_sqlite(exc)) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite has already rolled back by itself after some errors (a full disk).
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    def last_seq(self) -> int:
        return int(self._connection.execute(_LAST_SEQ).fetchone()[0])

    def append_events(self, rows: Sequence[EventRow]) -> None:
        # The events table is the counter, read under ``BEGIN IMMEDIATE``.
        self._connection.executemany(INSERT_EVENT, rows)

    def migration(self, statement: str) -> str:
        return statement

    def schema_version(self) -> int:
        try:
            return int(self._connection.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise StoreError(describe_sqlite(exc)) from exc

    def set_schema_version(self, version: int) -> None:
        self._connection.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close, so the file is whole on disk
        (a reader only closes: the checkpoint is the writer's)."""
        if self._read_only:
            self._connection.close()
            return
        try:
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            # Statistics for the query planner: worth having, not worth failing a close
            # for (on a full disk it cannot be written, and everything else is stored).
            with contextlib.suppress(sqlite3.OperationalError):
                self._connection.execute("PRAGMA optimize")
        finally:
            self._connection.close()
