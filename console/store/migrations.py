"""Numbered schema migrations; ``PRAGMA user_version`` records how many have run.

Append new migrations at the end and never edit a released one: a data file records how
far it went and continues from there.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the room's event log, viewers, comments, staff tokens and the catalogue.
    """
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        type       TEXT    NOT NULL,
        viewer_id  TEXT,
        ts         REAL    NOT NULL,
        body       BLOB    NOT NULL
    );
    CREATE INDEX events_by_viewer ON events (viewer_id, seq);

    CREATE TABLE viewers (
        viewer_id     TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        first_seen    REAL NOT NULL,
        last_seen     REAL NOT NULL,
        comment_count INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE comments (
        id         INTEGER PRIMARY KEY,
        seq        INTEGER NOT NULL UNIQUE REFERENCES events (seq) DEFERRABLE INITIALLY DEFERRED,
        viewer_id  TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        role       TEXT    NOT NULL,
        text       TEXT    NOT NULL,
        ts         REAL    NOT NULL
    );
    CREATE INDEX comments_by_viewer ON comments (viewer_id, id);

    CREATE TABLE staff_tokens (
        token_hash TEXT PRIMARY KEY,
        role       TEXT NOT NULL,
        name       TEXT NOT NULL,
        created    REAL NOT NULL,
        expires    REAL,
        revoked    REAL
    );

    CREATE TABLE products (
        id          TEXT PRIMARY KEY,
        position    INTEGER NOT NULL,
        title       TEXT NOT NULL,
        description TEXT NOT NULL,
        vendor      TEXT NOT NULL,
        image       TEXT,
        currency    TEXT NOT NULL,
        options     TEXT NOT NULL
    );

    CREATE TABLE variants (
        sku        TEXT PRIMARY KEY,
        product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,
        options    TEXT NOT NULL,
        price      INTEGER NOT NULL CHECK (price >= 0),
        compare_at INTEGER,
        stock      INTEGER NOT NULL CHECK (stock >= 0)
    );
    CREATE INDEX variants_by_product ON variants (product_id, position);

    CREATE TABLE reviews (
        id             TEXT PRIMARY KEY,
        product_id     TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        author         TEXT NOT NULL,
        rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        text           TEXT NOT NULL,
        verified_owner INTEGER NOT NULL,
        created        TEXT NOT NULL
    );
    CREATE INDEX reviews_by_product ON reviews (product_id);
    """,
)
