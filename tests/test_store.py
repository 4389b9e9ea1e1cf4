"""The SQLite store: migrations, version check, durable comments, catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import protocol
from console.errors import StoreError, StoreVersionError
from console.hub.server import seed_demo_catalogue
from console.store import DB_FILE_NAME, Store
from console.store.migrations import MIGRATIONS
from tests.support.storedb import Engine, value


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
