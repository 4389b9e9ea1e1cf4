"""The store: one set of SQL over a Database adapter, written only by the hub's loop thread.

Writes are short transactions on the loop thread: with SQLite's WAL and
``synchronous=NORMAL`` a commit is a write to the log without an fsync (tens of
microseconds), far cheaper than a hop to another thread. The seq of an event is read
inside the writing transaction, which holds the write lock, so two writers (two hubs on
one database) can never hand out the same one. Every write a user would miss is committed
before the caller acknowledges or broadcasts it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import msgspec

from console import protocol
from console.errors import StoreError, StoreVersionError
from console.redact import masked_url
from console.store.commerce import Commerce
from console.store.database import Database, EventRow, SqliteDatabase, check_postgres_url
from console.store.migrations import MIGRATIONS
from console.store.profiles import Profiles
from console.store.records import StaffToken
from console.store.team import TeamRecords

DB_FILE_NAME = "shopcast.sqlite3"

_E = TypeVar("_E", bound=protocol.RoomEvent)


class _Live(msgspec.Struct):
    """The one field of a stored stream event that a restart needs."""

    live: bool


class Store:
    """Persistence for one hub. Not thread-safe: use it from the hub's loop thread only."""

    def __init__(
        self, database: Database, path: Path, location: str | None = None, shared: bool = False
    ) -> None:
        #: The adapter the store's modules run their SQL through; nothing outside
        #: :mod:`console.store` uses it.
        self.db = database
        self.path = path
        #: Where the data is, for a person: the file, or the database's URL (no password).
        self.location = location or str(path)
        #: Whether other hubs may use this database too (PostgreSQL), each with its own
        #: data folder: then no hub may replace the host token on its own.
        self.shared = shared
        self._last_seq = self.db.last_seq()
        self.orders = Commerce(self)
        self.team = TeamRecords(self)
        self.profiles = Profiles(self)

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, data_dir: Path, database: str | None = None) -> Store:
        """Open (creating or migrating) the store: the SQLite file in ``data_dir``, or the
        PostgreSQL database at the URL ``database`` (the host token stays in ``data_dir``)."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the data folder {data_dir} ({exc.strerror}); "
                "choose another with --data-dir."
            ) from exc
        if database is not None:
            return cls._open_postgres(data_dir, database)
        path = data_dir / DB_FILE_NAME
        db = SqliteDatabase.open(path)
        try:
            cls._migrate(db, str(path))
        except StoreError as exc:
            db.close()
            if isinstance(exc, StoreVersionError):
                raise
            raise StoreError(
                f"Cannot open the data file {path}: {exc} If the file is damaged, "
                "move it away and Shopcast starts with a new one."
            ) from exc
        return cls(db, path)

    @classmethod
    def _open_postgres(cls, data_dir: Path, url: str) -> Store:
        check_postgres_url(url)
        from console.store.postgres import PostgresDatabase  # psycopg only if asked

        db = PostgresDatabase.open(url)
        try:
            cls._migrate(db, "the PostgreSQL database")
        except BaseException:
            db.close()
            raise
        return cls(db, data_dir / "postgresql", masked_url(url), shared=True)

    @staticmethod
    def _migrate(db: Database, where: str) -> None:
        version = db.schema_version()
        if version > len(MIGRATIONS):
            raise StoreVersionError(
                f"The data file {where} was written by a newer Shopcast (schema {version}; "
                f"this version knows up to {len(MIGRATIONS)}). Upgrade Shopcast, or start "
                "this one with another --data-dir."
            )
        for number in range(version, len(MIGRATIONS)):
            with db.transaction():
                # Another hub on the same database may have applied it while this one
                # waited for the transaction (the writers' queue): read it again in here.
                if db.schema_version() > number:
                    continue
                for statement in _split_sql(MIGRATIONS[number]):
                    db.execute(db.migration(statement))
                db.set_schema_version(number + 1)

    def close(self) -> None:
        """Finish writing (SQLite: checkpoint the WAL into the file, so it is whole) and close."""
        self.db.close()

    def analyze(self) -> None:
        """Refresh the query planner's statistics, after a bulk load (the benchmarks)."""
        self.db.execute("ANALYZE")

    # ------------------------------------------------------------ events and comments

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @contextmanager
    def events(self) -> Iterator[EventWriter]:
        """One transaction that may append room events; seqs count only once committed."""
        with self.db.transaction() as db:
            writer = EventWriter(db)
            yield writer
            db.append_events(writer.rows)
        if writer.rows:
            self._last_seq = writer.seq

    def append_comment(
        self,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        ts: float,
        owner: bool = False,
    ) -> tuple[protocol.Comment, bytes]:
        """Store a comment as a room event; return it and its encoding, both final."""
        with self.events() as writer:
            return self.write_comment(writer, viewer_id, name, role, text, ts, owner)

    @staticmethod
    def write_comment(
        writer: EventWriter,
        viewer_id: str,
        name: str,
        role: protocol.Role,
        text: str,
        ts: float,
        owner: bool = False,
    ) -> tuple[protocol.Comment, bytes]:
        """Store a comment inside a transaction that may hold other events."""
        comment_id = writer.db.insert(
            "INSERT INTO comments (seq, viewer_id, name, role, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
            (writer.seq + 1, viewer_id, name, role, text, ts),
        )
        comment, body = writer.add(
            "comment",
            viewer_id,
            ts,
            lambda seq: protocol.Comment(
                seq=seq,
                id=comment_id,
                viewer_id=viewer_id,
                name=name,
                text=text,
                ts=ts,
                role=role,
                owner=owner,
            ),
        )
        writer.db.execute(
            "UPDATE viewers SET comment_count = comment_count + 1, last_seen = ?, name = ? "
            "WHERE viewer_id = ?",
            (ts, name, viewer_id),
        )
        return comment, body

    def append_stream_state(self, live: bool, ts: float) -> tuple[protocol.StreamState, bytes]:
        """Store that the show went live or ended, as a room event."""
        with self.events() as writer:
            return writer.add(
                "stream", None, ts, lambda seq: protocol.StreamState(seq=seq, live=live, ts=ts)
            )

    def comment(self, seq: int) -> protocol.Comment | None:
        """The comment stored as event ``seq`` (to feature it on stream)."""
        row = self.db.execute(
            "SELECT body FROM events WHERE seq = ? AND type = 'comment'", (seq,)
        ).fetchone()
        return msgspec.json.decode(bytes(row[0]), type=protocol.Comment) if row else None

    def last_stream_live(self) -> bool:
        """Whether the last stored stream event says the show is live."""
        row = self.db.execute(
            "SELECT body FROM events WHERE type = 'stream' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return row is not None and msgspec.json.decode(bytes(row[0]), type=_Live).live

    def events_after(
        self, seq: int, upto: int, limit: int, audience: str | None = None
    ) -> list[bytes]:
        """Encoded events with ``seq < n <= upto``, oldest first, at most ``limit``.

        ``audience`` is a viewer's private audience: they get public events and their own.
        ``None`` is staff, who get everything.
        """
        rows = self.db.execute(
            "SELECT body FROM events WHERE seq > ? AND seq <= ?"
            + _AUDIENCE_FILTER[audience is None]
            + " ORDER BY seq LIMIT ?",
            (seq, upto, *([] if audience is None else [audience]), limit),
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def recent_events(self, upto: int, limit: int, audience: str | None = None) -> list[bytes]:
        """The latest ``limit`` encoded events with ``seq <= upto``, oldest first."""
        rows = self.db.execute(
            "SELECT body FROM (SELECT seq, body FROM events WHERE seq <= ?"
            + _AUDIENCE_FILTER[audience is None]
            + " ORDER BY seq DESC LIMIT ?) AS latest ORDER BY seq",
            (upto, *([] if audience is None else [audience]), limit),
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    # ------------------------------------------------------------ viewers

    def touch_viewer(self, viewer_id: str, name: str | None, ts: float) -> str | None:
        """Record that a viewer is here (and their name, if given); return their name.

        One statement each way, so two hubs seeing the viewer at once cannot both insert.
        """
        if name is None:
            rows = self.db.write(
                "UPDATE viewers SET last_seen = ? WHERE viewer_id = ? RETURNING name",
                (ts, viewer_id),
            ).fetchall()
            return str(rows[0][0]) if rows else None
        self.db.write(
            "INSERT INTO viewers (viewer_id, name, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (viewer_id) DO UPDATE SET name = excluded.name, "
            "last_seen = excluded.last_seen",
            (viewer_id, name, ts, ts),
        )
        return name

    def profile(self, viewer_id: str, last_comments: int = 20) -> protocol.Profile | None:
        row = self.db.execute(
            "SELECT name, first_seen, last_seen, comment_count FROM viewers WHERE viewer_id = ?",
            (viewer_id,),
        ).fetchone()
        if row is None:
            return None
        comments = self.db.execute(
            "SELECT seq, text, ts FROM comments WHERE viewer_id = ? ORDER BY id DESC LIMIT ?",
            (viewer_id, last_comments),
        ).fetchall()
        return protocol.Profile(
            viewer_id=viewer_id,
            name=row[0],
            first_seen=row[1],
            last_seen=row[2],
            comment_count=row[3],
            comments=[protocol.ProfileComment(seq=s, text=t, ts=ts) for s, t, ts in comments],
        )

    # ------------------------------------------------------------ staff tokens

    def add_staff_token(
        self, token_hash: str, role: str, name: str, created: float, expires: float | None
    ) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO staff_tokens (token_hash, role, name, created, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_hash, role, name, created, expires),
            )

    def staff_token(self, token_hash: str) -> StaffToken | None:
        row = self.db.execute(
            "SELECT role, name, expires, revoked FROM staff_tokens WHERE token_hash = ?",
            (token_hash,),
        ).fetchone()
        return StaffToken(*row) if row else None

    # ------------------------------------------------------------ catalogue

    def has_products(self) -> bool:
        return self.db.execute("SELECT 1 FROM products LIMIT 1").fetchone() is not None

    def replace_catalogue(self, products: Sequence[protocol.Product]) -> None:
        """Replace the whole catalogue in one transaction: all of it or none of it."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM products")
            for position, p in enumerate(products):
                db.execute(
                    "INSERT INTO products (id, position, title, description, vendor, image, "
                    "currency, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        p.id,
                        position,
                        p.title,
                        p.description,
                        p.vendor,
                        p.image,
                        p.currency,
                        json.dumps(p.options),
                    ),
                )
                db.executemany(
                    "INSERT INTO variants (sku, product_id, position, options, price, "
                    "compare_at, stock) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (v.sku, p.id, i, json.dumps(v.options), v.price, v.compare_at, v.stock)
                        for i, v in enumerate(p.variants)
                    ],
                )
                db.executemany(
                    "INSERT INTO reviews (id, product_id, author, rating, text, verified_owner, "
                    "created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r.id, p.id, r.author, r.rating, r.text, int(r.verified_owner), r.created)
                        for r in p.reviews
                    ],
                )

    def catalogue(self, product_ids: Sequence[str] | None = None) -> list[protocol.Product]:
        """Every product (or those in ``product_ids``), in the shop's order."""
        where, params = "", ()
        if product_ids is not None:
            where = f" WHERE product_id IN ({','.join('?' * len(product_ids)) or 'NULL'})"
            params = tuple(product_ids)
        variants: dict[str, list[protocol.Variant]] = {}
        for pid, sku, options, price, compare_at, stock in self.db.execute(
            "SELECT product_id, sku, options, price, compare_at, stock FROM variants"
            f"{where} ORDER BY product_id, position",
            params,
        ):
            variants.setdefault(pid, []).append(
                protocol.Variant(
                    sku=sku,
                    options=json.loads(options),
                    price=price,
                    compare_at=compare_at,
                    stock=stock,
                )
            )
        reviews: dict[str, list[protocol.Review]] = {}
        for pid, rid, author, rating, text, owner, created in self.db.execute(
            "SELECT product_id, id, author, rating, text, verified_owner, created FROM reviews"
            f"{where} ORDER BY product_id, created DESC, id",
            params,
        ):
            reviews.setdefault(pid, []).append(
                protocol.Review(
                    id=rid,
                    author=author,
                    rating=rating,
                    text=text,
                    verified_owner=bool(owner),
                    created=created,
                )
            )
        products = self.db.execute(
            "SELECT id, title, description, vendor, image, currency, options FROM products"
            f"{where.replace('product_id', 'id')} ORDER BY position",
            params,
        )
        return [
            protocol.Product(
                id=pid,
                title=title,
                description=description,
                vendor=vendor,
                image=image,
                currency=currency,
                options=json.loads(options),
                variants=variants.get(pid, []),
                reviews=reviews.get(pid, []),
            )
            for pid, title, description, vendor, image, currency, options in products
        ]


_AUDIENCE_FILTER = {
    True: "",
    False: " AND (audience IS NULL OR audience = ?)",
}


class EventWriter:
    """Appends room events inside one store transaction, numbering them in order.

    The rows are inserted when the transaction ends (:meth:`Database.append_events`):
    nothing in a transaction reads back an event it has just added.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: list[EventRow] = []
        self._seq: int | None = None

    @property
    def seq(self) -> int:
        """The last seq, this transaction's included: read from the store at the first
        event, so a transaction's first statements go before the room's lock is needed
        (PostgreSQL sends them with its BEGIN)."""
        if self._seq is None:
            self._seq = self.db.last_seq()
        return self._seq

    def add(
        self,
        kind: str,
        viewer_id: str | None,
        ts: float,
        make: Callable[[int], _E],
        audience: str | None = None,
    ) -> tuple[_E, bytes]:
        """Store the event ``make(seq)``; its stored encoding is what replays send.

        ``audience`` None is everyone; see :mod:`console.hub.fanout` for the others.
        """
        event = make(self.seq + 1)
        body = protocol.encode(event)
        self.rows.append((event.seq, kind, viewer_id, ts, body, audience))
        self._seq = event.seq
        return event, body


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements so they run inside one explicit transaction.

    ``executescript`` would commit on its own and break the all-or-nothing migration.
    """
    return [s.strip() for s in script.split(";") if s.strip()]
