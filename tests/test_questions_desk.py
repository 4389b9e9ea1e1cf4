"""The question desks of two hubs on one store, their bus played by the test: what each
follows of the other's, and what the store decides when both act on one question before
hearing of each other (docs/cluster.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console import protocol
from console.domain.questions import CLAIM_TIMEOUT
from console.errors import ProtocolError
from console.hub.questions import QuestionDesk
from console.store import Store
from console.store.records import Published
from tests.support.storedb import Engine, value
from tests.test_shop_hub import FakeClock


class Desk:
    """One hub's desk on its own connection to the shared store; what it published waits
    in ``sent`` until the test delivers it to the other desk."""

    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.store = store
        self.sent: list[Published] = []
        self.desk = QuestionDesk(
            self.store.team, self.sent.extend, clock, lambda: None, lambda: store.last_seq
        )

    def deliver(self, to: Desk) -> None:
        """The bus brings what this hub published to ``to`` (and back to this one)."""
        for seq, body, _ in self.sent:
            to.desk.follow(seq, body)
            self.desk.follow(seq, body)
        self.sent.clear()

    def question(self, question_id: int) -> protocol.QuestionState:
        [question] = [q for q in self.desk.snapshot().questions if q.id == question_id]
        return question


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000.0)


@pytest.fixture
def desks(data_dir: Path, clock: FakeClock) -> Iterator[tuple[Desk, Desk]]:
    a, b = Desk(Store.open(data_dir), clock), Desk(Store.open(data_dir), clock)
    yield a, b
    a.store.close()
    b.store.close()


def ask(desk: Desk, text: str, clock: FakeClock) -> int:
    """A viewer's question comment through ``desk``'s hub."""
    desk.store.touch_viewer("viewer-0001", "Bo", clock())
    comment, _ = desk.store.append_comment("viewer-0001", "Bo", "viewer", text, clock())
    desk.desk.consider(comment)
    return comment.seq


def question_events(desk: Desk) -> int:
    return int(value(desk.store, "SELECT COUNT(*) FROM events WHERE type = 'question'"))


def test_a_claim_taken_through_another_hub_meanwhile_is_refused_naming_its_holder(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    asked = ask(b, "does it run small?", clock)
    b.deliver(a)
    a.desk.claim("Ann", asked)  # B has not heard of it yet
    clock.advance(3)
    with pytest.raises(ProtocolError, match=r"Already claimed by Ann \(3 s ago\)") as refused:
        b.desk.claim("Kim", asked)
    assert refused.value.code == "conflict"
    assert b.question(asked).claimed_by == "Ann", "B takes the stored claim"
    assert not b.sent and question_events(a) == 2, "asked, and Ann's claim"
    a.deliver(b)
    assert a.question(asked) == b.question(asked)


def test_an_answer_to_a_question_lost_meanwhile_is_not_sent(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    asked = ask(a, "do you ship to Canada?", clock)
    a.deliver(b)
    b.desk.claim("Kim", asked)
    message = protocol.AnswerQuestion(question=asked, text="Yes, in a week.")
    with pytest.raises(ProtocolError, match="Already claimed by Kim"):
        a.desk.answer("Ann", message)
    assert value(a.store, "SELECT COUNT(*) FROM answers") == 0
    b.desk.release("Kim", asked)  # A has not heard of that: it checks its refusal
    a.desk.answer("Ann", message)
    assert (a.question(asked).claimed_by, value(a.store, "SELECT agent FROM answers")) == (
        "Ann",
        "Ann",
    )


def test_a_question_whose_event_is_still_on_its_way_is_looked_up_in_the_store(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    claimed, deleted = ask(b, "does it run small?", clock), ask(b, "ship to Canada?", clock)
    a.desk.claim("Ann", claimed)  # A has heard of neither yet
    a.desk.withdraw(deleted)  # a moderator on A deleted the comment
    with pytest.raises(ProtocolError, match="There is no question #999"):
        a.desk.claim("Ann", 999)
    a.deliver(b)
    b.deliver(a)
    assert [q.claimed_by for q in b.desk.snapshot().questions] == ["Ann"]
    assert a.desk.snapshot() == b.desk.snapshot()


def test_hubs_that_race_to_release_a_lapsed_claim_store_one_release(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    first, second = ask(a, "is it waterproof?", clock), ask(a, "what colours?", clock)
    a.desk.claim("Ann", first)
    a.desk.claim("Ann", second)
    a.deliver(b)
    clock.advance(CLAIM_TIMEOUT - 1)
    a.desk.answer("Ann", protocol.AnswerQuestion(question=second, text="Blue and red."))
    clock.advance(1)  # the first claim lapses; the second was refreshed on A only
    before = question_events(a)
    a.desk.expire()
    b.desk.expire()
    assert question_events(a) == before + 1, "one release, and no undoing Ann's answer"
    for desk in (a, b):
        assert desk.question(first).claimed_by is None
        assert desk.question(second).claimed_by == "Ann"


def test_a_hub_follows_the_newest_stored_state_whatever_order_events_arrive_in(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    asked = ask(a, "does it run small?", clock)
    a.desk.claim("Ann", asked)
    a.desk.answer("Ann", protocol.AnswerQuestion(question=asked, text="True to size."))
    questions = [(seq, body) for seq, body, _ in a.sent if body.startswith(b'{"t":"question"')]
    for seq, body in reversed(questions):  # another hub's events, the newest first
        b.desk.follow(seq, body)
    assert b.question(asked) == a.question(asked)
    assert b.desk.snapshot().stats == a.desk.snapshot().stats

    a.desk.finish("Ann", asked)
    a.deliver(b)
    assert b.desk.snapshot().questions == []
    with pytest.raises(ProtocolError, match=f"#{asked} is already done"):
        b.desk.claim("Kim", asked)


def test_a_deletion_through_another_hub_re_signs_its_queued_questions(
    desks: tuple[Desk, Desk], clock: FakeClock
) -> None:
    a, b = desks
    asked = ask(a, "does it run small?", clock)
    a.deliver(b)
    a.store.profiles.delete("viewer-0001", "host", clock())
    erased = protocol.Erased(seq=a.store.last_seq + 1, comments=[asked], name="deleted viewer")
    b.desk.follow(erased.seq, protocol.encode(erased))
    assert (b.question(asked).name, b.question(asked).viewer_id) == ("deleted viewer", "")


def test_the_answer_times_are_the_same_after_a_reload_and_on_a_hub_that_starts(
    engine: Engine, clock: FakeClock
) -> None:
    """A desk reloads from the store when the bus may have missed events, and loads it
    when its hub starts: the median first answer the agents see stays what it was,
    questions answered and closed since included."""
    a = Desk(engine.open(), clock)
    asked = []
    try:
        for text, wait in [
            ("does it run small?", 10),
            ("ship to Canada?", 20),
            ("waterproof?", 60),
        ]:
            asked.append(ask(a, text, clock))
            clock.advance(wait)
            a.desk.answer("Ann", protocol.AnswerQuestion(question=asked[-1], text="Yes."))
        a.desk.finish("Ann", asked[0])
        a.desk.finish("Ann", asked[1])
        before = a.desk.snapshot().stats
        assert (before.length, before.median_first_answer) == (1, 20.0)
        a.desk.reload()
        assert a.desk.snapshot().stats == before
        with pytest.raises(ProtocolError, match=f"#{asked[0]} is already done"):
            a.desk.claim("Kim", asked[0])
        assert a.desk.snapshot().stats == before, "a done question counts once"
    finally:
        a.store.close()
    started = Desk(engine.open(), clock)
    try:
        assert started.desk.snapshot().stats == before
    finally:
        started.store.close()
