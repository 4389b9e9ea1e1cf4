"""The store on both engines: migrations, version check, durable comments, catalogue,
reservations and their expiry, one order per viewer and key, one claim per question,
comment claims decided from an older log refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest
from msgspec.structs import replace

from console import protocol
from console.domain.insight.events import CheckoutDropped
from console.errors import StoreError, StoreVersionError
from console.hub.server import seed_demo_catalogue
from console.store import DB_FILE_NAME, Store
from console.store.database import Database, SqliteDatabase
from console.store.migrations import MIGRATIONS
from console.store.postgres import PostgresDatabase
from console.store.records import (
    ClaimMove,
    DuplicateOrderError,
    NewOrder,
    NotReservedError,
    QuestionMovedError,
    StaleClaimsError,
    private_audience,
)
from console.store.sqlite import _split_sql
from tests.support.storedb import Engine, change, rows, value


def test_new_store_is_in_wal_mode_at_the_latest_schema(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    assert value(store, "PRAGMA journal_mode") == "wal"
    assert store.db.schema_version() == len(MIGRATIONS)
    store.close()


def test_a_data_file_from_a_newer_version_is_refused_with_advice(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    with store.db.transaction():
        store.db.set_schema_version(len(MIGRATIONS) + 1)
    store.close()
    with pytest.raises(StoreVersionError, match=r"newer Shopcast.*--data-dir"):
        Store.open(tmp_path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_FILE_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="move it away"):
        Store.open(tmp_path)


def test_a_data_folder_that_cannot_be_created_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="--data-dir"):
        Store.open(blocker / "data")


def test_comments_are_durable_and_numbered_without_gaps(engine: Engine) -> None:
    store = engine.open()
    store.touch_viewer("viewer-0001", "Ann", 1.0)
    for n in range(3):
        store.append_comment("viewer-0001", "Ann", "viewer", f"c{n}", 2.0 + n)
    store.close()
    store = engine.open()
    assert store.last_seq == 3
    assert [
        protocol.decode_server(b"[" + e + b"]")[0].seq for e in store.events_after(0, 3, 10)
    ] == [1, 2, 3]
    assert len(store.events_after(1, 2, 10)) == 1
    assert len(store.recent_events(3, 2)) == 2
    profile = store.profile("viewer-0001")
    assert profile is not None
    assert profile.comment_count == 3
    assert [c.text for c in profile.comments] == ["c2", "c1", "c0"]
    assert profile.first_seen == 1.0 and profile.last_seen == 4.0
    store.close()


def test_demo_catalogue_is_seeded_once_and_round_trips(engine: Engine) -> None:
    store = engine.open()
    seed_demo_catalogue(store)
    products = store.catalogue()
    assert len(products) >= 12
    assert all(p.variants and 3 <= len(p.reviews) <= 8 for p in products)
    store.replace_catalogue(products)
    assert store.catalogue() == products
    seed_demo_catalogue(store)
    assert len(store.catalogue()) == len(products)
    store.close()


def test_a_bad_catalogue_replaces_nothing(engine: Engine) -> None:
    store = engine.open()
    seed_demo_catalogue(store)
    before = store.catalogue()
    broken = [*before, before[0]]  # the same product id twice
    with pytest.raises(StoreError):
        store.replace_catalogue(broken)
    assert store.catalogue() == before
    store.close()


def test_two_hubs_on_one_database_never_hand_out_the_same_seq(engine: Engine) -> None:
    """The seq is read in the writing transaction, not remembered: a second store on the
    same database (another hub) continues after the first one's events."""
    first, second = engine.open(), engine.open()
    try:
        first.touch_viewer("viewer-0001", "Ann", 1.0)
        (a, _), (b, _) = (
            first.append_comment("viewer-0001", "Ann", "viewer", "from hub A", 2.0),
            second.append_comment("viewer-0001", "Ann", "viewer", "from hub B", 3.0),
        )
        c, _ = first.append_stream_state(True, 4.0)
        assert (a.seq, b.seq, c.seq) == (1, 2, 3)
        assert second.last_stream_live()
        assert len(second.events_after(0, 3, 10)) == 3
    finally:
        first.close()
        second.close()


def test_a_deal_ends_once_whichever_hubs_end_it(engine: Engine) -> None:
    """Two hubs (a timer's holder and the host, or a lease taken over) end the same deal:
    the store writes one ``deal_end``; a newer deal is not ended by a stale end."""
    first, second = engine.open(), engine.open()
    try:
        deal = protocol.DealInfo(product_id="mug", price=900, currency="EUR", ends=50.0)
        first.orders.save_show(protocol.ShowState(seq=0, deal=deal), 10.0)
        ended = first.orders.deal_ended("mug", 50.0, "time", 50.0)
        assert ended is not None and ended[0].reason == "time"
        assert second.orders.deal_ended("mug", 50.0, "time", 50.2) is None
        assert first.orders.deal_ended("mug", 50.0, "host", 51.0) is None
        stored = second.orders.load_show()
        assert stored is not None and stored.deal is None
        newer = protocol.DealInfo(product_id="mug", price=800, currency="EUR", ends=90.0)
        second.orders.save_show(protocol.ShowState(seq=0, deal=newer), 60.0)
        assert first.orders.deal_ended("mug", 50.0, "time", 61.0) is None
        assert first.orders.deal_ended("mug", 90.0, "host", 62.0) is not None
        kinds = [e for e in second.events_after(0, first.last_seq, 100) if b"deal_end" in e]
        assert len(kinds) == 2
    finally:
        first.close()
        second.close()


def test_the_last_stream_event_says_whether_the_show_is_live(engine: Engine) -> None:
    store = engine.open()
    try:
        assert not store.last_stream_live()
        store.append_stream_state(True, 1.0)
        assert store.last_stream_live()
        store.append_stream_state(False, 2.0)
        assert not store.last_stream_live()
    finally:
        store.close()


def _tee_order(order_id: str, viewer_id: str, key: str, expires: float | None) -> NewOrder:
    return NewOrder(
        order_id=order_id,
        key=key,
        viewer_id=viewer_id,
        name="Ann Example",
        email="ann@example.com",
        address={"address1": "Hauptstraße 1"},
        country="DE",
        product_id="tee",
        sku="TEE-1",
        title="Tee",
        quantity=1,
        unit_price=1000,
        shipping=0,
        total=1000,
        currency="EUR",
        deal=False,
        expires=expires,
    )


def _stock_a_tee(store: Store, stock: int) -> None:
    store.replace_catalogue(
        [
            protocol.Product(
                id="tee",
                title="Tee",
                currency="EUR",
                variants=[protocol.Variant(sku="TEE-1", options={}, price=1000, stock=stock)],
            )
        ]
    )


def test_a_reservation_goes_back_on_the_shelf_only_after_its_expiry(engine: Engine) -> None:
    """Two hubs on one database: neither releases a reservation before it expires (the
    other may be paying), and past it the units come back once, whichever releases."""
    first, second = engine.open(), engine.open()
    try:
        _stock_a_tee(first, 5)
        first.orders.reserve(_tee_order("SC-PAYING", "viewer-0001", "key-00001", 110.0), 100.0)
        first.orders.reserve(_tee_order("SC-PAID", "viewer-0002", "key-00002", 110.0), 100.0)
        first.orders.complete("SC-PAID", "ch_1", "Bo", 101.0)
        assert second.orders.release_expired(109.0) == []
        assert second.orders.stock("TEE-1") == 3
        [(stock, _)] = second.orders.release_expired(110.0)
        assert (stock.sku, stock.stock) == ("TEE-1", 4)
        assert first.orders.release_expired(111.0) == [], "released once"
        assert first.orders.stock("TEE-1") == 4
        statuses = rows(first, "SELECT id, status FROM orders ORDER BY id")
        assert statuses == [("SC-PAID", "paid"), ("SC-PAYING", "failed")]
        with pytest.raises(NotReservedError) as lapsed:
            first.orders.complete("SC-PAYING", "ch_2", "Ann", 112.0)
        assert lapsed.value.status == "failed", "a lapsed reservation is never sold"
        assert value(first, "SELECT COUNT(*) FROM events WHERE type = 'order'") == 1
    finally:
        first.close()
        second.close()


def test_one_order_per_viewer_and_key_whichever_hub_writes_it(engine: Engine) -> None:
    """The same buy replayed through another hub meets the unique (viewer, key): it is
    refused before any stock moves, and the first order stands alone."""
    first, second = engine.open(), engine.open()
    try:
        _stock_a_tee(first, 5)
        first.orders.reserve(_tee_order("SC-FIRST", "viewer-0001", "key-00001", 700.0), 100.0)
        with pytest.raises(DuplicateOrderError):
            second.orders.reserve(_tee_order("SC-SECOND", "viewer-0001", "key-00001", 700.0), 101.0)
        assert second.orders.stock("TEE-1") == 4
        stored = second.orders.order_by_key("viewer-0001", "key-00001")
        assert stored is not None and stored.record.order_id == "SC-FIRST"
        # Another viewer's purchase may use the same key: keys are per viewer.
        second.orders.reserve(_tee_order("SC-OTHER", "viewer-0002", "key-00001", 700.0), 102.0)
        assert value(first, "SELECT COUNT(*) FROM orders") == 2
        first.orders.complete("SC-FIRST", "ch_1", "Ann", 103.0)
        with pytest.raises(NotReservedError) as paid:
            second.orders.complete("SC-FIRST", "ch_1", "Ann", 104.0)
        assert paid.value.status == "paid", "confirmed once: the other hub replays it"
        assert value(first, "SELECT COUNT(*) FROM events WHERE type = 'order'") == 1
    finally:
        first.close()
        second.close()


def test_a_buy_looks_up_its_order_and_the_variant_at_once(engine: Engine) -> None:
    """The look-up every buy makes first: the viewer's order under the key (if any) and
    the variant as :meth:`variant` reads it, one row whether or not either exists."""
    store = engine.open()
    try:
        _stock_a_tee(store, 5)
        orders = store.orders
        assert orders.order_and_variant("viewer-0001", "key-00001", "TEE-1") == (
            None,
            orders.variant("TEE-1"),
        )
        assert orders.order_and_variant("viewer-0001", "key-00001", "NO-SUCH") == (None, None)
        orders.reserve(_tee_order("SC-ONE", "viewer-0001", "key-00001", 700.0), 100.0)
        stored, variant = orders.order_and_variant("viewer-0001", "key-00001", "TEE-1")
        assert variant is not None and variant == orders.variant("TEE-1")
        assert variant.stock == 4
        assert stored == orders.order_by_key("viewer-0001", "key-00001")
        assert stored is not None and stored.record.order_id == "SC-ONE"
        assert orders.order_and_variant("viewer-0001", "key-00001", "NO-SUCH")[0] == stored
        assert orders.order_and_variant("viewer-0002", "key-00001", "TEE-1") == (None, variant)
    finally:
        store.close()


def test_a_question_is_claimed_once_whichever_hubs_claim_it(engine: Engine) -> None:
    """Two hubs change one question, each from the state it last knew: the store writes
    the first change only, tells the second how the question stands now, and takes a
    change decided from that (empty columns compared as empty on both engines)."""
    first, second = engine.open(), engine.open()
    try:
        first.touch_viewer("viewer-0001", "Bo", 1.0)
        comment, _ = first.append_comment("viewer-0001", "Bo", "viewer", "ship to Canada?", 2.0)
        free, _ = first.team.add_question(comment, "shipping")

        def claim(store: Store, was: protocol.QuestionState, agent: str, now: float) -> None:
            store.team.update_question(
                was, now, claimed_by=agent, claimed_at=now, answered_at=None, done=False
            )

        claim(first, free, "ann", 10.0)
        moved = f"#{free.id} changed through another hub"
        with pytest.raises(QuestionMovedError, match=moved) as lost:
            claim(second, free, "kim", 11.0)
        held = lost.value.stored
        assert (held.claimed_by, held.claimed_at, held.done) == ("ann", 10.0, False)
        assert second.team.question(free.id) == held
        answered, _ = second.team.update_question(
            held, 12.0, claimed_by="ann", claimed_at=12.0, answered_at=12.0, done=False
        )
        with pytest.raises(QuestionMovedError):  # ann's claim as it was before her answer
            claim(first, held, "kim", 13.0)
        released, _ = first.team.update_question(
            answered, 14.0, claimed_by=None, claimed_at=None, answered_at=12.0, done=False
        )
        closed, _ = second.team.update_question(
            released, 15.0, claimed_by=None, claimed_at=None, answered_at=12.0, done=True
        )
        assert closed.done and first.team.question(free.id) == replace(closed, seq=0)
        events = value(first, "SELECT COUNT(*) FROM events WHERE type = 'question'")
        assert events == 5, "the question, ann's claim, her answer, its release, the close"
        with pytest.raises(StoreError, match="#99 is not in the store"):
            claim(first, replace(free, id=99), "ann", 16.0)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_reservation_left_by_an_older_version_expires_at_once(
    engine_name: str, data_dir: Path, request: pytest.FixtureRequest
) -> None:
    """Before reservations had an expiry, a start released them all; one such left in a
    data file is expired by the migration that brings the expiry, not held for ever."""
    url = None
    if engine_name == "sqlite":
        data_dir.mkdir(parents=True)
        db: Database = SqliteDatabase.open(data_dir / DB_FILE_NAME)
    else:
        url = request.getfixturevalue("postgres").empty_database()
        db = PostgresDatabase.open(url)
    try:
        before_expiry = 8  # migrations before the one that adds it
        for number in range(before_expiry):
            with db.transaction():
                for statement in _split_sql(MIGRATIONS[number]):
                    db.execute(db.migration(statement))
                db.set_schema_version(number + 1)
        with db.transaction():
            db.execute(
                "INSERT INTO products (id, position, title, description, vendor, currency, "
                "options) VALUES ('tee', 0, 'Tee', '', '', 'EUR', '[]')"
            )
            db.execute(
                "INSERT INTO variants (sku, product_id, position, options, price, stock) "
                "VALUES ('TEE-1', 'tee', 0, '{}', 1000, 4)"
            )
            db.execute(
                "INSERT INTO orders (id, idempotency_key, viewer_id, name, email, address, "
                "country, product_id, sku, title, quantity, unit_price, shipping, total, "
                "currency, status, created, updated) VALUES ('SC-OLD', 'key-00001', "
                "'viewer-0001', 'Ann', 'ann@example.com', '{}', 'DE', 'tee', 'TEE-1', 'Tee', "
                "1, 1000, 0, 1000, 'EUR', 'reserved', 50.0, 50.0)"
            )
    finally:
        db.close()
    store = Engine(engine_name, data_dir, url).open()
    try:
        [(stock, _)] = store.orders.release_expired(60.0)
        assert stock.stock == 5
        assert value(store, "SELECT status FROM orders WHERE id = 'SC-OLD'") == "failed"
    finally:
        store.close()


def _claim(claim_id: str, viewer_id: str, units: int = 1) -> ClaimMove:
    """A claim of the tee's units as the claims desk stores it (its private card)."""
    card = protocol.ClaimCard(seq=0, claim_id=claim_id, viewer_id=viewer_id, name="Ann",
                              product_id="tee", sku="TEE-1", title="Tee", label="",
                              quantity=units, unit_price=1000, currency="EUR",
                              expires=700.0)  # fmt: skip
    return ClaimMove("tee", "TEE-1", -units, "claim_card", viewer_id,
                     lambda seq: msgspec.structs.replace(card, seq=seq),
                     private_audience(viewer_id))  # fmt: skip


def test_a_claim_decided_from_an_older_log_writes_nothing(engine: Engine) -> None:
    """Two hubs decide claims from the claim events each has seen: the store takes a
    decision only if no claim event came after the one it was taken from, so the hub
    that lost catches up and decides again, never handing out the same claim twice."""
    first, second = engine.open(), engine.open()
    try:
        _stock_a_tee(first, 3)
        [(seen, _, _), _] = first.orders.record_claims(
            [_claim("C1", "viewer-0001")], 100.0, decided_from=0
        )
        first.append_comment("viewer-0001", "Ann", "viewer", "sold", 100.5)
        before = value(first, "SELECT COUNT(*) FROM events")
        with pytest.raises(StaleClaimsError) as stale:
            second.orders.record_claims([_claim("C1", "viewer-0002")], 101.0, decided_from=0)
        assert (stale.value.seen, stale.value.newer) == (0, seen)
        assert value(first, "SELECT COUNT(*) FROM events") == before, "no event written"
        assert first.orders.stock("TEE-1") == 2, "no unit taken"
        # Caught up to the first's claim, the comment after it does not make it stale.
        [(claimed, _, _), _] = second.orders.record_claims(
            [_claim("C2", "viewer-0002")], 102.0, decided_from=seen
        )
        assert claimed > seen and first.orders.stock("TEE-1") == 1
        assert [e.seq for e in first.orders.claim_log(after=seen)] == [claimed]
    finally:
        first.close()
        second.close()


def test_checkout_drops_are_kept_in_the_current_show_for_catalogue_products(
    engine: Engine,
) -> None:
    """A flash drop's refusals in one call, past one statement's worth; a product the
    catalogue does not have (a page may name anything) is not kept; a reason the
    funnel does not know is refused by the table."""
    store = engine.open()
    try:
        _stock_a_tee(store, 0)
        store.append_stream_state(True, 10.0)
        store.profiles.stream_started(10.0)
        drops = [CheckoutDropped(11.0 + i / 1000, "tee", "sold_out", "TEE-1") for i in range(1_201)]
        store.profiles.record_drops([*drops, CheckoutDropped(12.0, "no-such", "closed")])
        assert rows(
            store,
            "SELECT stream_id, product_id, sku, reason, COUNT(*), MIN(ts) FROM checkout_drops "
            "GROUP BY stream_id, product_id, sku, reason",
        ) == [(1, "tee", "TEE-1", "sold_out", 1_201, 11.0)]
        with pytest.raises((sqlite3.IntegrityError, StoreError)):
            change(
                store,
                "INSERT INTO checkout_drops (stream_id, ts, product_id, reason) "
                "VALUES (1, 13.0, 'tee', 'bored')",
            )
    finally:
        store.close()


@pytest.mark.parametrize("first_act", [False, True])
def test_the_first_key_presented_for_a_viewer_is_kept_whichever_look_up_comes_first(
    engine: Engine, first_act: bool
) -> None:
    """``first_act`` orders the look-ups for a viewer acting for the first time; the
    answers are the same as without it."""
    store = engine.open()
    try:
        profiles = store.profiles
        assert profiles.prove("viewer-0001", None, 1.0, first_act=first_act) is None
        assert profiles.prove("viewer-0001", "key-one-0000000001", 2.0, first_act=first_act)
        assert profiles.prove("viewer-0001", "key-one-0000000001", 3.0, first_act=first_act)
        assert (
            profiles.prove("viewer-0001", "key-two-0000000002", 4.0, first_act=first_act) is False
        )
        assert profiles.prove("viewer-0001", None, 5.0, first_act=first_act) is False
        assert value(store, "SELECT COUNT(*) FROM viewer_keys") == 1
    finally:
        store.close()
