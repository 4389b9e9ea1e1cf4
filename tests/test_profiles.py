"""Viewer profiles (issue 6): consent, streams, identity links, tags, notes, the view log,
export and deletion, on a real SQLite file; and the pure rules behind the panel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from console import protocol
from console.domain.profile import (
    ABANDON_AFTER,
    DELETED_NAME,
    VIP_THRESHOLD,
    ProductViewItem,
    ProfileRuleError,
    ProfileView,
    avatar_initial,
    average_order,
    checkout_state,
    clean_tag,
    customer_key,
    main_currency,
    segments,
    watched_not_bought,
)
from console.domain.retention import DELIVERY_SECONDS, OFF_AIR_SECONDS
from console.store import Store
from console.store.api import Profiles
from console.store.records import Actor, NewOrder
from tests.support.storedb import Engine, change, rows, value

ANN = "viewer-ann-0001"
ANN_PHONE = "viewer-ann-0002"
BOB = "viewer-bob-0001"
CAT = "viewer-cat-0001"
MOD = Actor("Mia", "moderator")


@pytest.fixture
def store(engine: Engine) -> Iterator[Store]:
    store = engine.open()
    store.replace_catalogue(
        [
            protocol.Product(
                id=pid,
                title=f"Product {pid}",
                description="",
                vendor="Acme",
                image=None,
                currency="EUR",
                options=["Default"],
                variants=[
                    protocol.Variant(
                        sku=f"{pid}-1", options={"Default": "One"}, price=20_000, stock=99
                    )
                ],
            )
            for pid in ("mug", "lamp", "coat")
        ]
    )
    yield store
    store.close()


@pytest.fixture
def profiles(store: Store) -> Profiles:
    return store.profiles


def buy(store: Store, viewer_id: str, product_id: str, now: float, email: str = "ann@x.eu") -> str:
    commerce = store.orders
    order_id = f"o-{product_id}-{now}"
    commerce.reserve(
        NewOrder(
            order_id=order_id,
            key=order_id,
            viewer_id=viewer_id,
            name="Ann Real",
            email=email,
            address={"line1": "1 Main St", "city": "Ghent"},
            country="BE",
            product_id=product_id,
            sku=f"{product_id}-1",
            title=f"Product {product_id}",
            quantity=1,
            unit_price=20_000,
            shipping=500,
            total=20_500,
            currency="EUR",
            deal=False,
        ),
        now,
    )
    commerce.complete(order_id, "pay-1", "Ann", now)
    return order_id


def say(store: Store, viewer_id: str, text: str, now: float, name: str = "Ann") -> int:
    store.touch_viewer(viewer_id, name, now)
    comment, _ = store.append_comment(viewer_id, name, "viewer", text, now)
    return comment.seq


def view(profiles: Profiles, viewer_id: str, now: float, pinned: str | None = None) -> ProfileView:
    profile = profiles.assemble(viewer_id, pinned_product_id=pinned, now=now)
    assert profile is not None
    return profile


def two_streams(store: Store, profiles: Profiles, viewer_id: str) -> None:
    """Stream 1 with a comment, a question, an order and a time-out; stream 2 begins."""
    profiles.stream_started(100.0)
    profiles.viewer_joined(viewer_id, 101.0)
    seq = say(store, viewer_id, "stream one: is the mug dishwasher safe?", 110.0)
    team = store.team
    state, _ = team.add_question(store.comment(seq) or pytest.fail("no comment"), "mug")
    team.add_answer(state, "Agent Al", "Yes it is", False, 111.0)
    profiles.record_product_view([viewer_id], "lamp", 112.0)
    buy(store, viewer_id, "mug", 120.0)
    team.sanction(viewer_id, "Ann", "timeout", 200.0, MOD, "caps", 130.0)
    profiles.add_note(viewer_id, "Mia", "Asked about shipping to Norway", 131.0)
    profiles.add_tag(viewer_id, "wholesale", "Mia", 132.0)
    profiles.record_presence(viewer_id, 300.0, 150.0)
    profiles.stream_ended(160.0)
    profiles.stream_started(1000.0)
    profiles.viewer_joined(viewer_id, 1001.0)
    say(store, viewer_id, "stream two: hello again", 1010.0)


# ---------------------------------------------------------------- consent


def test_a_viewer_without_consent_never_shows_an_earlier_stream(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "session", 50.0)
    two_streams(store, profiles, ANN)
    profile = view(profiles, ANN, 1020.0, pinned="mug")
    assert not profile.remembered
    assert [c.text for c in profile.comments] == ["stream two: hello again"]
    assert profile.comment_count == profile.comment_count_stream == 1
    assert profile.questions == [] and profile.orders == [] and profile.moderation == []
    assert profile.notes == [] and profile.tags == [] and profile.watched_not_bought == []
    assert profile.lifetime_value == 0 and profile.streams_attended == 0
    assert profile.watch_seconds == 0.0, "visits and watch time are never recorded"
    assert profile.first_seen >= 1000.0
    # The owner badge is public in the chat already; new/returning are not guessed.
    assert profile.segments == ("owner",)
    # The store forgot it too: nothing of stream 1 is tied to the viewer any more...
    held = profiles.export(ANN)
    assert [c["text"] for c in held["comments"]] == ["stream two: hello again"]
    assert held["questions"] == [] and held["product_views"] == [] and held["staff_notes"] == []
    assert held["presence"] == []
    # ...neither in the tables nor in the stored events that replays send, where the
    # first stream's words are signed "deleted viewer", as a deletion signs them.
    stored = value(
        store,
        "SELECT COUNT(*) FROM events WHERE type IN ('comment', 'question', 'answer') "
        "AND (viewer_id = ? OR CAST(body AS TEXT) LIKE ?)",
        ANN,
        f"%{ANN}%",
    )
    assert stored == 1
    first = rows(store, "SELECT name, viewer_id FROM comments WHERE text LIKE 'stream one%'")
    assert first == [(DELETED_NAME, "")]
    # Orders and moderation records stay (the law; a time-out must outlive a stream).
    assert len(held["orders"]) == 1 and len(held["moderation"]) == 1


def test_unknown_consent_counts_as_no(store: Store, profiles: Profiles) -> None:
    two_streams(store, profiles, ANN)
    profile = view(profiles, ANN, 1020.0)
    assert profile.consent == "unknown" and not profile.remembered
    assert [c.text for c in profile.comments] == ["stream two: hello again"]


def test_with_consent_every_stream_shows(store: Store, profiles: Profiles) -> None:
    profiles.record_consent(ANN, "remember", 50.0)
    two_streams(store, profiles, ANN)
    profile = view(profiles, ANN, 1020.0, pinned="lamp")
    assert profile.remembered and profile.consent_changed == 50.0
    assert [c.text for c in profile.comments] == [
        "stream two: hello again",
        "stream one: is the mug dishwasher safe?",
    ]
    assert [c.this_stream for c in profile.comments] == [True, False]
    assert (profile.comment_count, profile.comment_count_stream) == (2, 1)
    (question,) = profile.questions
    assert [a.text for a in question.answers] == ["Yes it is"]
    (order,) = profile.orders
    assert (order.product_id, order.total, order.status) == ("mug", 20_500, "paid")
    assert (profile.lifetime_value, profile.currency, profile.average_order) == (
        20_500,
        "EUR",
        20_500,
    )
    assert [m.action for m in profile.moderation] == ["timeout"]
    assert profile.moderation[0].actor == "Mia" and profile.moderation[0].reason == "caps"
    assert [n.text for n in profile.notes] == ["Asked about shipping to Norway"]
    assert [t.tag for t in profile.tags] == ["wholesale"]
    assert [v.product_id for v in profile.watched_not_bought] == ["lamp"]
    assert profile.streams_attended == 2 and profile.first_seen == 101.0
    assert profile.segments == ("returning",)
    assert profile.muted_until == 200.0 and not profile.banned


def test_withdrawing_consent_forgets_earlier_streams_at_once(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 50.0)
    two_streams(store, profiles, ANN)
    profiles.record_consent(ANN, "session", 1015.0)
    profile = view(profiles, ANN, 1020.0)
    assert [c.text for c in profile.comments] == ["stream two: hello again"]
    held = profiles.export(ANN)
    assert len(held["comments"]) == 1 and held["staff_notes"] == []
    assert held["presence"] == held["product_views"] == held["checkouts"] == [], (
        "what Remember me let the shop record goes with it"
    )


def test_without_consent_only_public_answers_and_this_streams_reviews_show(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "session", 1.0)
    commerce = store.orders
    profiles.stream_started(10.0)
    buy(store, ANN, "mug", 11.0)
    review = protocol.Review(
        id="r-old", author="Ann", rating=5, text="Lovely mug", verified_owner=True, created="x"
    )
    commerce.add_review("mug", ANN, review, 12.0)
    profiles.stream_ended(20.0)
    profiles.stream_started(100.0)
    buy(store, ANN, "lamp", 101.0)
    commerce.add_review("lamp", ANN, msgspec.structs.replace(review, id="r-new"), 102.0)
    seq = say(store, ANN, "does the lamp dim?", 103.0)
    team = store.team
    state, _ = team.add_question(store.comment(seq) or pytest.fail("no comment"), "lamp")
    team.add_answer(state, "Al", "Yes, to 10 %", False, 104.0)
    team.add_answer(state, "Al", "I sent you the manual", True, 105.0)
    profile = view(profiles, ANN, 106.0)
    assert [r.id for r in profile.reviews] == ["r-new"]
    assert [a.text for a in profile.questions[0].answers] == ["Yes, to 10 %"]
    assert [o.product_id for o in profile.orders] == ["lamp"]


def test_only_known_choices_are_stored(profiles: Profiles) -> None:
    with pytest.raises(ProfileRuleError):
        profiles.record_consent(ANN, "unknown", 1.0)


def count(store: Store, table: str, viewer: str) -> int:
    return int(value(store, f"SELECT COUNT(*) FROM {table} WHERE viewer_id = ?", viewer))


def test_browsing_is_never_written_for_a_viewer_who_did_not_consent(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    profiles.record_consent(BOB, "session", 1.0)
    profiles.stream_started(10.0)
    for viewer in (ANN, BOB, CAT):  # Cat never answered the card
        profiles.viewer_joined(viewer, 11.0)
        profiles.record_presence(viewer, 42.0, 20.0)
        profiles.checkout_started(viewer, "coat", "coat-1", 21.0)
    profiles.record_product_view([ANN, BOB, CAT], "coat", 12.0)
    for table in ("presence", "product_views", "checkout_starts"):
        assert count(store, table, ANN) == 1, table
        # Not stored and hidden: never stored, during the show already.
        assert count(store, table, BOB) == count(store, table, CAT) == 0, table
    assert profiles.watch_time(ANN) == 42.0 and profiles.watch_time(BOB) == 0.0


def test_the_end_of_a_show_signs_a_non_consenting_viewers_words_as_a_deletion_would(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    profiles.record_consent(BOB, "session", 1.0)
    profiles.stream_started(10.0)
    say(store, ANN, "hi from ann", 13.0)
    say(store, BOB, "hi from bob", 13.0, name="Bob")
    profiles.add_note(BOB, "Mia", "Bob asked for a discount", 14.0)
    assert profiles.stream_ended(30.0) == 1

    for table in ("comments", "staff_notes", "viewers"):
        assert count(store, table, BOB) == 0, table
    assert count(store, "comments", ANN) == 1 and count(store, "viewers", ANN) == 1
    # Bob's words stay in the room's chat log, signed "deleted viewer"; his name is gone.
    comments = rows(store, "SELECT name, text, viewer_id FROM comments ORDER BY id")
    assert comments == [("Ann", "hi from ann", ANN), (DELETED_NAME, "hi from bob", "")]
    replay = b"".join(store.events_after(0, store.last_seq, 1000)).decode()
    assert "Bob" not in replay and BOB not in replay and "hi from bob" in replay
    held = profiles.export(BOB)
    assert held["viewers"] == [] and held["comments"] == [] and held["staff_notes"] == []


def test_post_show_chat_is_forgotten_when_the_next_stream_starts(
    store: Store, profiles: Profiles
) -> None:
    profiles.stream_started(10.0)
    profiles.stream_ended(20.0)
    say(store, BOB, "after the show", 25.0, name="Bob")
    assert [c.text for c in view(profiles, BOB, 26.0).comments] == ["after the show"]
    profiles.stream_started(100.0)
    profiles.viewer_joined(BOB, 101.0)
    assert profiles.assemble(BOB, pinned_product_id=None, now=102.0) is None
    watching = profiles.assemble(BOB, pinned_product_id=None, now=102.0, present=True)
    assert watching is not None and watching.comments == [] and watching.name == ""


def test_a_viewer_watching_across_the_go_live_is_named_by_what_they_say_in_the_show(
    store: Store, profiles: Profiles
) -> None:
    store.touch_viewer(BOB, "Bob", 5.0)  # here before the show: that is forgotten at go-live
    profiles.stream_started(10.0)
    assert count(store, "viewers", BOB) == 0
    store.append_comment(BOB, "Bob", "viewer", "it started!", 12.0)  # the page goes on
    profile = view(profiles, BOB, 13.0)
    assert (profile.name, profile.first_seen, profile.last_seen) == ("Bob", 12.0, 12.0)
    assert [c.text for c in profile.comments] == ["it started!"]


def test_off_air_a_non_consenting_viewers_chat_is_kept_for_an_hour(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    profiles.stream_started(10.0)
    profiles.stream_ended(20.0)
    say(store, BOB, "after the show", 25.0, name="Bob")
    say(store, ANN, "me too", 25.0)
    profiles.sweep(25.0 + OFF_AIR_SECONDS - 1, live=False)
    assert [c.text for c in view(profiles, BOB, 26.0).comments] == ["after the show"]
    say(store, CAT, "still here?", 25.0 + OFF_AIR_SECONDS - 1, name="Cat")
    profiles.sweep(25.0 + OFF_AIR_SECONDS + 1, live=False)
    assert count(store, "viewers", BOB) == 0 and count(store, "comments", BOB) == 0
    assert count(store, "comments", ANN) == 1, "Remember me keeps it"
    assert count(store, "comments", CAT) == 1, "Cat's hour is not over"
    profiles.sweep(25.0 + 2 * OFF_AIR_SECONDS, live=False)
    assert count(store, "comments", CAT) == 0 and count(store, "viewers", CAT) == 0


def test_during_a_show_nothing_is_forgotten_by_the_clock(store: Store, profiles: Profiles) -> None:
    profiles.stream_started(10.0)
    say(store, BOB, "a long show", 25.0, name="Bob")
    profiles.sweep(25.0 + 5 * OFF_AIR_SECONDS, live=True)
    assert count(store, "comments", BOB) == 1


def test_delivery_data_is_blanked_after_the_delivery_period_for_everyone(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    profiles.record_consent(BOB, "session", 1.0)
    buy(store, ANN, "mug", 100.0)
    buy(store, BOB, "mug", 101.0, email="bob@x.eu")
    buy(store, BOB, "lamp", 200.0, email="bob@x.eu")

    def orders() -> list[tuple[Any, ...]]:
        return rows(
            store,
            "SELECT viewer_id, name, email, address, total FROM orders ORDER BY created, viewer_id",
        )

    profiles.sweep(100.0 + DELIVERY_SECONDS - 1, live=False)
    assert [o[2] for o in orders()] == ["ann@x.eu", "bob@x.eu", "bob@x.eu"]
    profiles.sweep(150.0 + DELIVERY_SECONDS, live=False)
    ann, bob, bob_later = orders()
    assert ann == (ANN, "", "", "{}", 20_500), "Remember me keeps the order in her history"
    assert bob == ("", "", "", "{}", 20_500), "without consent the order is not Bob's any more"
    assert bob_later[:3] == (BOB, "Ann Real", "bob@x.eu"), "still within its period"


def test_a_deletion_after_the_show_finds_nothing_named_left(
    store: Store, profiles: Profiles
) -> None:
    profiles.stream_started(10.0)
    say(store, BOB, "I was here", 11.0, name="Bob")
    profiles.stream_ended(20.0)
    assert profiles.known(BOB) is False
    profiles.prove(BOB, "key-for-bob-000001", 21.0)
    assert profiles.known(BOB), "the page's key lets Bob ask for a deletion"
    profiles.delete(BOB, "the viewer", 22.0)
    assert not profiles.known(BOB)
    names = {name for (name,) in rows(store, "SELECT name FROM comments")}
    assert names == {DELETED_NAME}


def test_comments_an_older_version_detached_with_their_name_are_signed_at_start(
    store: Store, profiles: Profiles
) -> None:
    seq = say(store, BOB, "old show", 5.0, name="Bob")
    # What the end of a show did before the retention table: the id gone, the name kept.
    change(store, "UPDATE comments SET viewer_id = '' WHERE seq = ?", seq)
    change(
        store,
        "UPDATE events SET viewer_id = NULL, body = ? WHERE seq = ?",
        msgspec.json.encode(
            {
                "t": "comment",
                "seq": seq,
                "id": 1,
                "viewer_id": "",
                "name": "Bob",
                "text": "old show",
                "ts": 5.0,
                "role": "viewer",
            }
        ),
        seq,
    )
    assert profiles.sign_detached() == 1
    replay = b"".join(store.events_after(0, store.last_seq, 100)).decode()
    assert '"name":"Bob"' not in replay and DELETED_NAME in replay
    assert profiles.sign_detached() == 0


def test_before_the_first_live_the_whole_run_is_the_current_stream(
    store: Store, profiles: Profiles
) -> None:
    assert profiles.current_stream().id == 0
    say(store, BOB, "early", 5.0, name="Bob")
    profiles.viewer_joined(BOB, 5.0)
    profile = view(profiles, BOB, 6.0)
    assert [c.text for c in profile.comments] == ["early"] and profile.streams_attended == 0


# ---------------------------------------------------------------- identity


def test_a_checkout_email_merges_two_devices_and_staff_can_unlink(
    store: Store, profiles: Profiles
) -> None:
    for viewer in (ANN, ANN_PHONE):
        profiles.record_consent(viewer, "remember", 1.0)
    say(store, ANN, "from the laptop", 10.0)
    say(store, ANN_PHONE, "from the phone", 20.0)
    first = profiles.link_by_email(ANN, "Ann@X.eu ", 30.0)
    assert first.viewer_ids == (ANN,) and not first.merged
    second = profiles.link_by_email(ANN_PHONE, "ann@x.eu", 40.0)
    assert second.merged and set(second.viewer_ids) == {ANN, ANN_PHONE}
    assert second.customer == customer_key("ann@x.eu")
    assert not profiles.link_by_email(ANN_PHONE, "ann@x.eu", 41.0).merged

    profile = view(profiles, ANN, 50.0)
    assert profile.identity == "linked" and profile.linked_viewer_ids == (ANN_PHONE,)
    assert [c.text for c in profile.comments] == ["from the phone", "from the laptop"]

    assert profiles.unlink(ANN_PHONE, "Mia", 60.0)
    assert not profiles.unlink(ANN_PHONE, "Mia", 61.0)
    profile = view(profiles, ANN, 70.0)
    assert profile.linked_viewer_ids == () and profile.identity == "linked"
    assert [c.text for c in profile.comments] == ["from the laptop"]
    # The same email does not redo a merge that staff undid.
    assert not profiles.link_by_email(ANN_PHONE, "ann@x.eu", 80.0).merged
    assert view(profiles, ANN_PHONE, 90.0).identity == "anonymous"


def test_no_link_without_consent(store: Store, profiles: Profiles) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    profiles.link_by_email(ANN, "ann@x.eu", 2.0)
    result = profiles.link_by_email(BOB, "ann@x.eu", 3.0)
    assert result.customer is None and not result.merged
    assert profiles.linked_ids(ANN) == (ANN,)


# ---------------------------------------------------------------- staff


def test_tags_notes_and_the_view_log(store: Store, profiles: Profiles) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    say(store, ANN, "hi", 2.0)
    assert profiles.add_tag(ANN, "  VIP ", "Mia", 3.0) is not None
    assert profiles.add_tag(ANN, "vip", "Al", 4.0) is None
    profiles.add_tag(ANN, "press", "Al", 5.0)
    assert profiles.remove_tag(ANN, "Press")
    note = profiles.add_note(ANN, "Mia", " Prefers DHL ", 6.0)
    assert note.text == "Prefers DHL"
    with pytest.raises(ProfileRuleError):
        profiles.add_note(ANN, "Mia", "   ", 7.0)
    profiles.log_view("Mia", "moderator", ANN, 8.0)
    profiles.log_view("Al", "agent", BOB, 9.0)
    profile = view(profiles, ANN, 10.0)
    assert [(t.tag, t.author) for t in profile.tags] == [("VIP", "Mia")]
    assert [(n.author, n.text, n.ts) for n in profile.notes] == [("Mia", "Prefers DHL", 6.0)]
    assert [(e.staff, e.viewer_id) for e in profiles.view_log()] == [("Al", BOB), ("Mia", ANN)]
    assert [e.role for e in profiles.view_log(viewer_id=ANN)] == ["moderator"]


def test_checkouts_started_and_abandoned(store: Store, profiles: Profiles) -> None:
    profiles.record_consent(ANN, "remember", 1.0)
    say(store, ANN, "hi", 2.0)
    profiles.checkout_started(ANN, "coat", "coat-1", 10.0)
    profiles.checkout_started(ANN, "mug", "mug-1", 20.0)
    order_id = buy(store, ANN, "mug", 30.0)
    assert profiles.checkout_completed(ANN, "mug-1", order_id, 30.0)
    assert not profiles.checkout_completed(ANN, "lamp-1", "nope", 31.0)
    profile = view(profiles, ANN, 10.0 + ABANDON_AFTER)
    assert [(c.sku, c.state) for c in profile.checkouts] == [
        ("mug-1", "completed"),
        ("coat-1", "abandoned"),
    ]


def test_unknown_viewer_has_no_profile(profiles: Profiles) -> None:
    assert profiles.assemble("viewer-nobody-1", pinned_product_id=None, now=1.0) is None


# ---------------------------------------------------------------- export and deletion


def test_export_holds_everything_and_is_json(store: Store, profiles: Profiles) -> None:
    profiles.record_consent(ANN, "remember", 50.0)
    two_streams(store, profiles, ANN)
    profiles.log_view("Mia", "moderator", ANN, 1011.0)
    held = profiles.export(ANN)
    json.dumps(held)
    assert held["viewers"][0]["name"] == "Ann"
    assert held["consent"][0]["consent"] == "remember"
    assert len(held["comments"]) == 2 and len(held["questions"]) == 1
    assert held["answers"][0]["text"] == "Yes it is"
    assert held["orders"][0]["email"] == "ann@x.eu"
    assert held["orders"][0]["address"]["city"] == "Ghent"
    assert held["moderation"][0]["action"] == "timeout"
    assert held["sanctions"][0]["muted_until"] == 200.0
    assert held["staff_notes"][0]["text"] == "Asked about shipping to Norway"
    assert held["staff_tags"][0]["tag"] == "wholesale"
    assert held["product_views"][0]["product_id"] == "lamp"
    assert len(held["presence"]) == 2
    assert held["profile_views"][0]["staff"] == "Mia"


def test_delete_anonymises_comments_and_keeps_order_amounts(
    store: Store, profiles: Profiles
) -> None:
    profiles.record_consent(ANN, "remember", 50.0)
    two_streams(store, profiles, ANN)
    profiles.log_view("Mia", "moderator", ANN, 1011.0)
    done = profiles.delete(ANN, "host", 1100.0)
    assert done.viewer_ids == (ANN,) and done.comments == 2 and done.orders == 1

    assert profiles.assemble(ANN, pinned_product_id=None, now=1101.0) is None
    held = profiles.export(ANN)
    # Only the time-out stays on the bare id: deleting must not lift a sanction.
    assert [key for key, rows in held.items() if rows] == ["viewer_ids", "sanctions"]
    assert rows(store, "SELECT name, viewer_id FROM comments") == [
        (DELETED_NAME, ""),
        (DELETED_NAME, ""),
    ]
    order = rows(store, "SELECT name, email, address, total, currency, status FROM orders")
    assert order == [("", "", "{}", 20_500, "EUR", "paid")]
    # No stored event (what replays send) names her any more.
    named = value(
        store,
        "SELECT COUNT(*) FROM events WHERE viewer_id = ? OR CAST(body AS TEXT) LIKE ? "
        "OR CAST(body AS TEXT) LIKE ?",
        ANN,
        f"%{ANN}%",
        '%"name":"Ann"%',
    )
    assert named == 0
    assert [e.viewer_id for e in profiles.view_log()] == [""]
    (record,) = profiles.deletions()
    assert record["actor"] == "host" and record["reason"] == "at the viewer's request"
    assert ANN not in json.dumps(record)


def test_delete_takes_the_linked_ids_along(store: Store, profiles: Profiles) -> None:
    for viewer in (ANN, ANN_PHONE):
        profiles.record_consent(viewer, "remember", 1.0)
        say(store, viewer, "hi", 2.0)
        profiles.link_by_email(viewer, "ann@x.eu", 3.0)
    assert set(profiles.delete(ANN_PHONE, "host", 4.0).viewer_ids) == {ANN, ANN_PHONE}
    assert profiles.assemble(ANN, pinned_product_id=None, now=5.0) is None


# ---------------------------------------------------------------- pure rules


def test_segments() -> None:
    common = {"first_seen": 100.0, "stream_started": 100.0, "owns_pinned": False}
    assert segments(
        lifetime_value=0, paid_orders=0, streams_attended=1, remembered=True, **common
    ) == ("new",)
    assert segments(
        lifetime_value=VIP_THRESHOLD,
        paid_orders=2,
        streams_attended=3,
        remembered=True,
        first_seen=5.0,
        stream_started=100.0,
        owns_pinned=True,
    ) == ("returning", "vip", "owner")
    assert (
        segments(
            lifetime_value=VIP_THRESHOLD - 1,
            paid_orders=1,
            streams_attended=1,
            remembered=False,
            **common,
        )
        == ()
    )


def test_small_rules() -> None:
    assert average_order(10_001, 2) == 5_001 and average_order(0, 0) is None
    assert avatar_initial("  émile") == "É" and avatar_initial("!!") == "?"
    assert main_currency([("EUR", 3, 900), ("USD", 1, 5000)]) == ("EUR", 3, 900)
    assert main_currency([]) == ("", 0, 0)
    assert checkout_state(0.0, None, ABANDON_AFTER - 1) == "open"
    assert checkout_state(0.0, "o-1", 1e9) == "completed"
    assert clean_tag(" big   spender ") == "big spender"
    with pytest.raises(ProfileRuleError):
        clean_tag("x" * 40)
    views = [
        ProductViewItem("mug", "Mug", 1.0),
        ProductViewItem("lamp", "Lamp", 2.0),
        ProductViewItem("lamp", "Lamp", 5.0),
    ]
    assert watched_not_bought(views, {"mug"}) == [ProductViewItem("lamp", "Lamp", 5.0)]
