"""The retention table (issue 15) and the property that every read path keeps to it.

A property test drives the hub's viewer data (``console.hub.viewers``) and the room's
records on a real SQLite file through everything a viewer can leave during a show —
comments, questions with public and private answers, a product pinned while they
watch, a checkout opened and left, watch time, an order, an owner's review, a held
comment, a time-out, a staff note — for every consent state, during a live show and
after it ended, with and without a deletion, and reads every output: the staff panel's
profile, the export, the replayed history (staff's and the viewer's own), the question
queue, the Held queue, the orders CSV and the mod log CSV.
"""

from __future__ import annotations

import json
import string
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console import protocol
from console.domain.modlog import mod_log_csv
from console.domain.profile import CONSENTS, DELETED_NAME
from console.domain.retention import (
    DELIVERY_DAYS,
    MODERATION_EVENTS,
    RULES,
    forgotten,
    keep,
    recorded,
    signed_off,
    table,
)
from console.domain.sales import orders_csv
from console.errors import ProtocolError
from console.hub.viewers import ViewerData
from console.store import Store
from console.store.api import Orders, Team
from console.store.records import Actor, NewOrder, private_audience
from tests.support.storedb import value

VIEWER = "vw-subject-0001"
OTHER = "vw-other-00001"
#: The name typed at checkout: not the display name, so each can be followed apart.
BUYER = "Buyerperson Realname"
EMAIL = "subject@mail.example"
MIA = Actor("Mia", "moderator")
KIM = Actor("Kim", "agent")
#: Products only ever watched (pinned) or opened at checkout: browsing, never bought.
WATCHED, OPENED = "watched-only", "opened-only"


def product(pid: str) -> protocol.Product:
    return protocol.Product(
        id=pid,
        title=f"Product {pid}",
        description="",
        vendor="Acme",
        image=None,
        currency="EUR",
        options=["Default"],
        variants=[
            protocol.Variant(sku=f"{pid}-1", options={"Default": "One"}, price=2_000, stock=99)
        ],
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """A hub's viewer data and the room's records, without sockets."""

    store: Store
    clock: Clock
    viewers: ViewerData
    commerce: Orders
    team: Team
    name: str
    #: Everything the viewer wrote: these may survive only signed "deleted viewer".
    texts: list[str] = field(default_factory=list)
    bought: bool = False

    def tick(self) -> float:
        self.clock.now += 7.0
        return self.clock.now

    def comment(self, text: str) -> protocol.Comment:
        self.store.touch_viewer(VIEWER, self.name, self.tick())
        said, _ = self.store.append_comment(VIEWER, self.name, "viewer", text, self.clock.now)
        self.texts.append(text)
        return said


def act(world: World, action: str, n: int) -> None:
    """One thing the viewer (or the team about them) does during the show."""
    text = f"words {n} {action}"
    match action:
        case "comment":
            world.comment(text)
        case "question":
            asked = world.comment(f"{text} does it come in blue?")
            state, _ = world.team.add_question(asked, "colour")
            world.team.add_answer(state, "Kim", f"public answer {n}", False, world.tick())
            world.team.add_answer(state, "Kim", f"private answer {n}", True, world.tick())
        case "watch":
            world.viewers.joined(VIEWER)
            world.tick()
            world.viewers.pinned(WATCHED, [VIEWER, OTHER])
            world.viewers.left(VIEWER, 300.0)
        case "checkout":
            world.viewers.checkout_started(VIEWER, OPENED, f"{OPENED}-1")
        case "buy":
            order_id = f"order-{n}"
            world.commerce.reserve(
                NewOrder(
                    order_id=order_id,
                    key=order_id,
                    viewer_id=VIEWER,
                    name=BUYER,
                    email=EMAIL,
                    address={"line1": "1 Privacy Street", "city": "Ghent"},
                    country="BE",
                    product_id="mug",
                    sku="mug-1",
                    title="Product mug",
                    quantity=1,
                    unit_price=2_000,
                    shipping=495,
                    total=2_495,
                    currency="EUR",
                    deal=False,
                ),
                world.tick(),
            )
            world.commerce.complete(order_id, f"pay-{n}", world.name, world.clock.now)
            world.viewers.bought(VIEWER, "mug-1", order_id, EMAIL)
            world.bought = True
        case "review" if world.bought and not world.commerce.has_reviewed(VIEWER, "mug"):
            review = protocol.Review(
                id=f"review-{n}",
                author=world.name,
                rating=5,
                text=f"{text} a fine mug",
                verified_owner=True,
                created="2026-09-21",
            )
            world.commerce.add_review("mug", VIEWER, review, world.tick())
            world.texts.append(review.text)
        case "held":
            world.store.touch_viewer(VIEWER, world.name, world.tick())
            world.team.hold(VIEWER, world.name, "viewer", text, "link", "links wait", world.tick())
            world.texts.append(text)
        case "timeout":
            world.team.sanction(
                VIEWER, world.name, "timeout", world.tick() + 600, MIA, "caps", world.clock.now
            )
        case "note":
            world.viewers.add_note(VIEWER, "Mia", f"staff note {n}")


ACTIONS = ("comment", "question", "watch", "checkout", "buy", "review", "held", "timeout", "note")


def outputs(world: World) -> dict[str, str]:
    """Every read path, as the text it sends or writes."""
    try:
        profile = protocol.encode(world.viewers.profile(VIEWER, KIM, "mug", False)).decode()
    except ProtocolError as exc:
        assert exc.code == "not_found"
        profile = ""
    store = world.store
    return {
        "profile": profile,
        "export": protocol.encode(world.viewers.export(VIEWER)).decode(),
        "replay to staff": protocol.frame(store.events_after(0, store.last_seq, 100_000)).decode(),
        "replay to the viewer": protocol.frame(
            store.events_after(0, store.last_seq, 100_000, private_audience(VIEWER))
        ).decode(),
        "question queue": json.dumps(msgspec.to_builtins(world.team.questions(include_done=True))),
        "held queue": json.dumps(msgspec.to_builtins(world.team.waiting())),
        "orders csv": orders_csv(world.commerce.orders(10_000)),
        "mod log csv": mod_log_csv(world.team.mod_log(10_000)),
    }


def browsing_rows(store: Store) -> int:
    return sum(
        value(store, f"SELECT COUNT(*) FROM {t} WHERE viewer_id = ?", VIEWER)
        for t in ("presence", "product_views", "checkout_starts")
    )


def assert_signed_off(replay: str, texts: list[str], *, deleted: bool) -> None:
    """Every stored event that carries one of the viewer's texts is signed "deleted
    viewer" and (after a deletion, or outside moderation records) has no viewer id."""
    for event in json.loads(replay):
        body = json.dumps(event)
        if not any(text in body for text in texts):
            continue
        if "name" in event:
            assert event["name"] == DELETED_NAME, event
        if "review" in event:
            assert event["review"]["author"] == DELETED_NAME, event
        if "viewer_id" in event and (deleted or event["t"] not in MODERATION_EVENTS):
            assert event["viewer_id"] == "", event
        assert not event.get("owner"), event


names = st.text(string.ascii_lowercase, min_size=3, max_size=8).map(lambda s: f"Nm {s}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consent=st.sampled_from(("unknown", "session", "remember", "withdrawn")),
    ended=st.booleans(),
    deleted=st.booleans(),
    name=names,
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=10),
)
def test_no_read_path_shows_what_the_retention_table_says_is_gone(
    consent: str, ended: bool, deleted: bool, name: str, actions: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder))
        try:
            store.replace_catalogue([product(p) for p in ("mug", WATCHED, OPENED)])
            clock = Clock()
            world = World(
                store,
                clock,
                ViewerData(store, lambda published: None, clock),
                store.orders,
                store.team,
                name,
            )
            world.viewers.stream_started()
            # The viewer's page, as it says hello: the key that lets it delete its data.
            world.viewers.records.prove(VIEWER, "key-for-the-subject-page", clock.now)
            if consent in ("session", "remember", "withdrawn"):
                world.viewers.set_consent(VIEWER, "session" if consent == "session" else "remember")
            for n, action in enumerate(actions):
                act(world, action, n)
            if consent == "withdrawn":
                world.viewers.set_consent(VIEWER, "session")
            remembered = consent == "remember"
            snapshots = [outputs(world)]
            if ended:
                world.viewers.stream_ended()
                snapshots.append(outputs(world))
            if deleted:
                world.viewers.delete(VIEWER, MIA)
                snapshots.append(outputs(world))
            seen = snapshots[-1]

            # A non-consenting viewer's browsing is in no output, live or after the show:
            # it was never stored.
            if not remembered:
                assert browsing_rows(store) == 0
                for snapshot in snapshots:
                    for path, text in snapshot.items():
                        assert WATCHED not in text and OPENED not in text, path
                    if snapshot["profile"]:
                        assert json.loads(snapshot["profile"])["watch_seconds"] == 0
            elif "watch" in actions:
                assert WATCHED in snapshots[0]["profile"], "with consent the panel shows it"

            if deleted:
                # None of the viewer's name, checkout details or id is left anywhere...
                for path, text in seen.items():
                    assert name not in text, path
                    assert BUYER not in text and EMAIL not in text, path
                staff_replay = [
                    e for e in json.loads(seen["replay to staff"]) if e["t"] != "viewer_deleted"
                ]
                assert VIEWER not in json.dumps(staff_replay)
                for path in ("profile", "question queue", "held queue", "orders csv"):
                    assert VIEWER not in seen[path], path
                # ...and their words stay only signed "deleted viewer".
                assert_signed_off(seen["replay to staff"], world.texts, deleted=True)
            elif ended and not remembered:
                # After the show the display name survives nowhere: only the order's
                # delivery details stay, for the delivery period.
                for path, text in seen.items():
                    assert name not in text, path
                assert_signed_off(seen["replay to staff"], world.texts, deleted=False)
                if world.bought:
                    assert BUYER in seen["orders csv"]
            elif world.texts:
                assert name in seen["replay to staff"], "during the show the chat names them"
        finally:
            store.close()


# ---------------------------------------------------------------- the table itself


def test_every_kind_of_data_has_one_row_and_every_forgotten_kind_a_way_to_forget_it(
    tmp_path: Path,
) -> None:
    kinds = [rule.kind for rule in RULES]
    assert len(kinds) == len(set(kinds))
    store = Store.open(tmp_path)
    try:
        forgetters = store.profiles.forgettable()
    finally:
        store.close()
    for consent in CONSENTS:
        assert set(forgotten(consent)) <= set(forgetters), consent
    assert forgotten("remember") == ()
    assert forgotten("unknown") == forgotten("session"), "not choosing counts as no"


def test_without_consent_only_orders_moderation_and_the_choice_outlive_the_show() -> None:
    survive = {rule.kind for rule in RULES if keep(rule.kind, "session") not in ("never", "show")}
    assert survive == {"delivery", "books", "moderation", "choice"}
    assert not recorded("browsing", "session") and not recorded("browsing", "unknown")
    assert not recorded("devices", "unknown") and recorded("devices", "remember")


def test_the_table_in_words_states_the_periods() -> None:
    delivery = next(row for row in table() if row.what.startswith("An order's name"))
    assert delivery.remember == delivery.without
    assert delivery.without.startswith(f"{DELIVERY_DAYS} days after the order; then removed")
    browsing = next(row for row in table() if row.what.startswith("How long you watched"))
    assert browsing.without == "Not recorded." and "Until you delete" in browsing.remember
    assert all(row.why for row in table()), "every row says why"


def test_signing_off_keeps_the_text_and_drops_name_id_and_owner_badge() -> None:
    comment = {"t": "comment", "viewer_id": VIEWER, "name": "Ann", "text": "hi", "owner": True}
    assert signed_off("comment", comment, deleted=False) == {
        "t": "comment",
        "viewer_id": "",
        "name": DELETED_NAME,
        "text": "hi",
    }
    assert comment["name"] == "Ann", "the stored dict is not changed in place"
    mod = {"t": "mod", "viewer_id": VIEWER, "name": "Ann", "text": "spam"}
    assert signed_off("mod", mod, deleted=False)["viewer_id"] == VIEWER, "a ban holds"
    assert signed_off("mod", mod, deleted=True)["viewer_id"] == ""
    review = {"t": "review", "review": {"author": "Ann", "text": "ok"}}
    assert signed_off("review", review, deleted=True)["review"]["author"] == DELETED_NAME


def test_the_protocol_docs_write_down_the_table_as_implemented() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()
    for row in table():
        assert f"| {row.what} | {row.remember} | {row.without} | {row.why} |" in docs, row.what
