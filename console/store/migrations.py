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
    # 2: orders (with their idempotency keys), reviews written by viewers, the show state.
    """
    CREATE TABLE orders (
        id              TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        viewer_id       TEXT NOT NULL,
        name            TEXT NOT NULL,
        email           TEXT NOT NULL,
        address         TEXT NOT NULL,
        country         TEXT NOT NULL,
        product_id      TEXT NOT NULL,
        sku             TEXT NOT NULL,
        title           TEXT NOT NULL,
        quantity        INTEGER NOT NULL CHECK (quantity > 0),
        unit_price      INTEGER NOT NULL,
        shipping        INTEGER NOT NULL,
        total           INTEGER NOT NULL,
        currency        TEXT NOT NULL,
        deal            INTEGER NOT NULL DEFAULT 0,
        status          TEXT NOT NULL CHECK (status IN ('reserved', 'paid', 'failed')),
        payment_ref     TEXT,
        failure         TEXT,
        created         REAL NOT NULL,
        updated         REAL NOT NULL,
        UNIQUE (viewer_id, idempotency_key)
    );
    CREATE INDEX orders_by_viewer ON orders (viewer_id, product_id, status);
    CREATE INDEX orders_by_product ON orders (product_id, status);
    CREATE INDEX orders_by_time ON orders (created);

    ALTER TABLE reviews ADD COLUMN viewer_id TEXT;
    CREATE UNIQUE INDEX reviews_one_per_owner ON reviews (product_id, viewer_id)
        WHERE viewer_id IS NOT NULL;

    CREATE TABLE show_state (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        body BLOB NOT NULL
    );
    """,
    # 3: the team: who may see an event, sanctions, the mod log, held comments, room
    # settings (modes, terms, canned replies) and the question queue.
    """
    ALTER TABLE events ADD COLUMN audience TEXT;
    CREATE INDEX events_restricted ON events (audience, seq) WHERE audience IS NOT NULL;

    ALTER TABLE comments ADD COLUMN deleted REAL;

    CREATE TABLE sanctions (
        viewer_id   TEXT PRIMARY KEY,
        banned      INTEGER NOT NULL DEFAULT 0,
        muted_until REAL,
        reason      TEXT NOT NULL DEFAULT '',
        updated     REAL NOT NULL
    );

    CREATE TABLE mod_actions (
        id          INTEGER PRIMARY KEY,
        seq         INTEGER NOT NULL,
        ts          REAL NOT NULL,
        action      TEXT NOT NULL,
        actor       TEXT NOT NULL,
        actor_role  TEXT NOT NULL,
        viewer_id   TEXT NOT NULL DEFAULT '',
        name        TEXT NOT NULL DEFAULT '',
        comment_seq INTEGER,
        text        TEXT NOT NULL DEFAULT '',
        reason      TEXT NOT NULL DEFAULT '',
        until       REAL
    );
    CREATE INDEX mod_actions_by_viewer ON mod_actions (viewer_id, id);
    CREATE INDEX mod_actions_by_action ON mod_actions (action, id);

    CREATE TABLE held (
        id          INTEGER PRIMARY KEY,
        viewer_id   TEXT NOT NULL,
        name        TEXT NOT NULL,
        role        TEXT NOT NULL,
        text        TEXT NOT NULL,
        rule        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        ts          REAL NOT NULL,
        status      TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'approved', 'denied')),
        comment_seq INTEGER
    );
    CREATE INDEX held_waiting ON held (status, id);

    CREATE TABLE room_settings (
        key  TEXT PRIMARY KEY,
        body BLOB NOT NULL
    );

    CREATE TABLE questions (
        id          INTEGER PRIMARY KEY,
        viewer_id   TEXT NOT NULL,
        name        TEXT NOT NULL,
        text        TEXT NOT NULL,
        grp         TEXT NOT NULL,
        ts          REAL NOT NULL,
        claimed_by  TEXT,
        claimed_at  REAL,
        answered_at REAL,
        done        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX questions_open ON questions (done, id);

    CREATE TABLE answers (
        id       INTEGER PRIMARY KEY,
        question INTEGER NOT NULL REFERENCES questions (id),
        agent    TEXT NOT NULL,
        text     TEXT NOT NULL,
        private  INTEGER NOT NULL,
        ts       REAL NOT NULL
    );
    CREATE INDEX answers_by_question ON answers (question);
    """,
    # 4: viewer profiles (issue 6): consent, streams, presence, product views, checkout
    # starts, identity links by checkout email, staff tags and notes, the log of staff
    # views of profiles, deletions done at a viewer's request; per-viewer indexes for
    # the tables of migration 3 that only had queue indexes. See console/store/profiles.py.
    """
    CREATE TABLE consent (
        viewer_id TEXT PRIMARY KEY,
        consent   TEXT NOT NULL CHECK (consent IN ('unknown', 'remember', 'session')),
        changed   REAL NOT NULL
    );

    CREATE TABLE streams (
        id        INTEGER PRIMARY KEY,
        started   REAL    NOT NULL,
        start_seq INTEGER NOT NULL,
        ended     REAL
    );

    CREATE TABLE presence (
        viewer_id TEXT    NOT NULL,
        stream_id INTEGER NOT NULL,
        seconds   REAL    NOT NULL DEFAULT 0,
        sessions  INTEGER NOT NULL DEFAULT 0,
        first_ts  REAL    NOT NULL,
        last_ts   REAL    NOT NULL,
        PRIMARY KEY (viewer_id, stream_id)
    ) WITHOUT ROWID;
    CREATE INDEX presence_by_stream ON presence (stream_id);

    CREATE TABLE product_views (
        viewer_id  TEXT    NOT NULL,
        stream_id  INTEGER NOT NULL,
        product_id TEXT    NOT NULL,
        ts         REAL    NOT NULL,
        PRIMARY KEY (viewer_id, stream_id, product_id)
    ) WITHOUT ROWID;
    CREATE INDEX product_views_by_stream ON product_views (stream_id);

    CREATE TABLE checkout_starts (
        id         INTEGER PRIMARY KEY,
        viewer_id  TEXT    NOT NULL,
        stream_id  INTEGER NOT NULL,
        product_id TEXT    NOT NULL,
        sku        TEXT    NOT NULL,
        ts         REAL    NOT NULL,
        order_id   TEXT,
        completed  REAL
    );
    CREATE INDEX checkout_starts_by_viewer ON checkout_starts (viewer_id, id);
    CREATE INDEX checkout_starts_by_stream ON checkout_starts (stream_id);

    CREATE TABLE identity_links (
        viewer_id   TEXT PRIMARY KEY,
        customer    TEXT NOT NULL,
        linked      REAL NOT NULL,
        unlinked    REAL,
        unlinked_by TEXT
    );
    CREATE INDEX identity_links_by_customer ON identity_links (customer);

    CREATE TABLE staff_tags (
        viewer_id TEXT NOT NULL,
        tag       TEXT NOT NULL COLLATE NOCASE,
        author    TEXT NOT NULL,
        ts        REAL NOT NULL,
        PRIMARY KEY (viewer_id, tag)
    );

    CREATE TABLE staff_notes (
        id        INTEGER PRIMARY KEY,
        viewer_id TEXT NOT NULL,
        author    TEXT NOT NULL,
        text      TEXT NOT NULL,
        ts        REAL NOT NULL
    );
    CREATE INDEX staff_notes_by_viewer ON staff_notes (viewer_id, id);

    CREATE TABLE profile_views (
        id        INTEGER PRIMARY KEY,
        ts        REAL NOT NULL,
        staff     TEXT NOT NULL,
        role      TEXT NOT NULL,
        viewer_id TEXT NOT NULL
    );
    CREATE INDEX profile_views_by_viewer ON profile_views (viewer_id, id);

    CREATE TABLE deletions (
        id      INTEGER PRIMARY KEY,
        ts      REAL NOT NULL,
        actor   TEXT NOT NULL,
        reason  TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail  TEXT NOT NULL
    );

    CREATE INDEX questions_by_viewer ON questions (viewer_id, id);
    CREATE INDEX held_by_viewer ON held (viewer_id, id);
    CREATE INDEX reviews_by_viewer ON reviews (viewer_id) WHERE viewer_id IS NOT NULL;
    CREATE INDEX orders_by_viewer_time ON orders (viewer_id, created);
    """,
    # 5: the key each viewer page keeps beside its viewer id. Viewer ids are public (they
    # are in every comment); the key proves a page is the one that made the id, before
    # it may read or delete what the shop holds about that viewer.
    """
    CREATE TABLE viewer_keys (
        viewer_id TEXT PRIMARY KEY,
        key_hash  TEXT NOT NULL,
        created   REAL NOT NULL
    );
    """,
    # 6: the saved card a paid order's charge returned (the provider's token, never the
    # card number), so a buyer who retries after a dropped connection gets it back with
    # the replayed confirmation and their next purchase stays two taps.
    """
    ALTER TABLE orders ADD COLUMN payment_token TEXT;
    ALTER TABLE orders ADD COLUMN payment_label TEXT;
    """,
    # 7: how the buyer chose to pay, as a number of payments (1: at once; 4: pay later),
    # so a replayed confirmation lists the plan that was charged, not a new one.
    """
    ALTER TABLE orders ADD COLUMN plan INTEGER NOT NULL DEFAULT 1 CHECK (plan > 0);
    """,
    # 8: an owner's review that a blocked term or a link holds for a moderator waits in
    # the Held queue beside held comments, with its product and stars for when it is
    # approved (both NULL for a comment).
    """
    ALTER TABLE held ADD COLUMN product_id TEXT;
    ALTER TABLE held ADD COLUMN rating INTEGER;
    """,
    # 9: a reservation's expiry. A hub releases only reservations past it (at start and
    # from its housekeeping), never every one: in a cluster the others may be paying
    # right now. Reservations left by an older version expire at once.
    """
    ALTER TABLE orders ADD COLUMN expires REAL;
    UPDATE orders SET expires = updated WHERE status = 'reserved';
    CREATE INDEX orders_reserved ON orders (status, expires);
    """,
    # 10: the audience's size over each show, for the report: a number, nobody's row, so
    # it is kept whatever the viewers chose (console.domain.insight.audience).
    """
    CREATE TABLE viewer_counts (
        stream_id INTEGER NOT NULL,
        ts        REAL    NOT NULL,
        viewers   INTEGER NOT NULL
    );
    CREATE INDEX viewer_counts_by_stream ON viewer_counts (stream_id, ts);
    """,
    # 11: the room's events by type: a desk of a cluster asks the log whether another
    # hub wrote a claim event since its last one (before each claim decision), and a
    # restarted hub replays one desk's events (claims, auctions, giveaways) by type.
    """
    CREATE INDEX events_by_type ON events (type, seq);
    """,
    # 12: where buyers dropped, for the report's funnel: a checkout that stopped (a card
    # declined, sold out, a form error, the sheet closed), its product and variant and
    # why, with nobody's id, so it is kept whatever the viewer chose (a fact about the
    # product, as migration 10 keeps the audience's size). A table, not a room event:
    # see console.hub.shoppers.
    """
    CREATE TABLE checkout_drops (
        stream_id  INTEGER NOT NULL,
        ts         REAL    NOT NULL,
        product_id TEXT    NOT NULL,
        sku        TEXT,
        reason     TEXT    NOT NULL
            CHECK (reason IN ('declined', 'sold_out', 'form_error', 'closed'))
    );
    CREATE INDEX checkout_drops_by_stream ON checkout_drops (stream_id, ts);
    """,
)
