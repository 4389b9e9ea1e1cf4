"""The agents' question queue in the room core without a socket: folded from events, and
the agents' commands decided on it.

No hub, no loop, no clock: events and the time go in, the questions and decisions come
out. The last test puts the hub's desk shell on a store (still no socket, no bus) to show
that a hub follows another's questions by folding their events, not by reading the store.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import protocol
from console.domain.questions import CLAIM_TIMEOUT, Question
from console.errors import ProtocolError
from console.hub.questions import QuestionDesk
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    AddQuestion,
    Decision,
    OpenThread,
    Refuse,
    SaveQuestion,
    SendAnswer,
)
from console.room.questions import (
    QuestionEvent,
    QuestionsState,
    decide_answer,
    decide_claim,
    decide_finish,
    decide_lapse,
    decide_question,
    decide_release,
    decide_reply,
    decide_withdraw,
    question_event,
)
from console.store import Store

NOW = 1_790_000_000.0


def event(seq: int, question_id: int = 5, **state: object) -> protocol.QuestionState:
    """A question's state as a stored ``question`` event carries it."""
    return protocol.QuestionState(
        seq=seq,
        id=question_id,
        viewer_id=f"viewer-{question_id}",
        name="Bo",
        text="does it run small?",
        ts=NOW,
        group="sizing",
        **state,  # type: ignore[arg-type]
    )


def erased(seq: int, *comments: int, name: str = "deleted viewer") -> protocol.Erased:
    return protocol.Erased(seq=seq, comments=list(comments), name=name)


def queued(*events: QuestionEvent) -> QuestionsState:
    return QuestionsState.from_events(events)


def refusal(decision: Decision) -> Refuse:
    assert isinstance(decision.reply, Refuse), decision
    return decision.reply


def change(decision: Decision) -> SaveQuestion:
    """The one question change the decision stores."""
    assert isinstance(decision.reply, Acknowledge), decision
    [step] = [s for s in decision.append if isinstance(s, SaveQuestion)]
    return step


def comment(seq: int, text: str, role: protocol.Role = "viewer") -> protocol.Comment:
    return protocol.Comment(
        seq=seq, id=seq, viewer_id="viewer-1", name="Bo", role=role, text=text, ts=NOW
    )


# ---------------------------------------------------------------- folding events


def test_a_question_event_sets_the_question_as_it_carries_it() -> None:
    state = queued(event(3), event(4, claimed_by="Ann", claimed_at=NOW + 1))
    question = state.get(5)
    assert question is not None
    assert (question.claimed_by, question.claimed_at, question.group) == ("Ann", NOW + 1, "sizing")
    assert state.seqs[5] == 4
    assert state.get(6) is None


def test_an_older_state_arriving_late_changes_nothing() -> None:
    newer = queued(event(9, answered_at=NOW + 5, claimed_by="Ann", claimed_at=NOW + 5))
    assert newer.apply(event(7, claimed_by="Kim", claimed_at=NOW + 2)) is newer
    assert newer.apply(event(9, claimed_by="Kim", claimed_at=NOW + 2)) is newer


def test_a_deletion_re_signs_the_askers_questions_and_the_events_written_before_it() -> None:
    state = queued(event(3), event(4, question_id=6), erased(8, 5, 99))
    signed = state.get(5)
    assert signed is not None and (signed.viewer_id, signed.name) == ("", "deleted viewer")
    assert state.get(6) == queued(event(4, question_id=6)).get(6)
    late = state.apply(event(7, claimed_by="Ann", claimed_at=NOW))  # before the deletion
    assert late.get(5) is not None and late.get(5).name == "deleted viewer"  # type: ignore[union-attr]
    # A question the deletion named before this hub heard of it is signed as it comes.
    assert state.apply(event(5, question_id=99)).get(99).viewer_id == ""  # type: ignore[union-attr]


def test_a_question_read_from_the_store_holds_every_event_up_to_the_seq_read_before_it() -> None:
    state = QuestionsState().restate(event(0, claimed_by="Ann", claimed_at=NOW), 12)
    assert state.seqs[5] == 12
    assert state.apply(event(11)) is state, "already in the row"
    assert state.apply(event(13)).get(5).claimed_by is None  # type: ignore[union-attr]
    # A read never moves the guard back below an event already folded.
    assert queued(event(20)).restate(event(0), 12).seqs[5] == 20


def test_the_answer_times_are_the_questions_answered_last_done_ones_too() -> None:
    state = queued(
        event(1, question_id=1, answered_at=NOW + 10, claimed_by="Ann", claimed_at=NOW + 10),
        event(2, question_id=2, answered_at=NOW + 30, done=True),
        event(3, question_id=3),
    )
    stats = state.stats(NOW + 100)
    assert (stats.length, stats.unanswered, stats.median_first_answer) == (2, 1, 20.0)
    assert [q.id for group in state.pending(NOW + 100) for q in group.questions] == [1, 3]
    assert state.lapsed(NOW + 10 + CLAIM_TIMEOUT) == [1]


def test_stored_bodies_decode_to_the_events_the_questions_fold() -> None:
    assert question_event(protocol.encode(event(3))) == event(3)
    assert question_event(protocol.encode(erased(4, 5))) == erased(4, 5)
    assert (
        question_event(
            protocol.encode(
                protocol.Questions(questions=[], groups=[], stats=protocol.QueueStats(0, 0))
            )
        )
        is None
    )
    assert question_event(b'{"t":"comment","seq":1}') is None


# ---------------------------------------------------------------- any delivery

question_ids = st.integers(1, 3)
states = st.fixed_dictionaries(
    {
        "claimed_by": st.sampled_from([None, "Ann", "Kim"]),
        "answered_at": st.sampled_from([None, NOW + 5]),
        "done": st.booleans(),
    }
)


@st.composite
def logs(draw: st.DrawFn) -> list[QuestionEvent]:
    """A show's question events in seq order: states of three questions, and deletions."""
    log: list[QuestionEvent] = []
    for seq in range(1, draw(st.integers(0, 25)) + 1):
        if draw(st.integers(0, 6)) == 0:
            log.append(erased(seq, *draw(st.sets(question_ids, max_size=2)), name=f"gone {seq}"))
        else:
            log.append(event(seq, draw(question_ids), **draw(states)))
    return log


@given(logs())
def test_folding_the_log_at_once_equals_applying_each_event_as_it_comes(
    log: list[QuestionEvent],
) -> None:
    state = QuestionsState()
    for each in log:
        state = state.apply(question_event(protocol.encode(each)))  # type: ignore[arg-type]
    assert state == QuestionsState.from_events(log)


@given(logs(), st.randoms(use_true_random=False), st.integers(0, 25))
def test_any_order_with_repeats_and_any_restart_point_fold_alike(
    log: list[QuestionEvent], rnd: random.Random, restart: int
) -> None:
    folded = QuestionsState.from_events(log)
    delivered = log + rnd.sample(log, k=len(log) // 2)  # at least once: some twice
    rnd.shuffle(delivered)
    assert QuestionsState.from_events(delivered) == folded
    midway = QuestionsState.from_events(log[:restart])
    assert QuestionsState.from_events(log[restart:], midway) == folded


@given(logs())
def test_each_question_is_its_last_event_signed_by_its_last_deletion(
    log: list[QuestionEvent],
) -> None:
    folded = QuestionsState.from_events(log)
    for question_id in (1, 2, 3):
        states = [e for e in log if isinstance(e, protocol.QuestionState) and e.id == question_id]
        names = [
            e.name for e in log if isinstance(e, protocol.Erased) and question_id in e.comments
        ]
        question = folded.get(question_id)
        if not states:
            assert question is None
            continue
        assert question is not None
        assert (question.claimed_by, question.done) == (states[-1].claimed_by, states[-1].done)
        assert question.name == (names[-1] if names else "Bo")


# ---------------------------------------------------------------- decisions


def test_a_viewers_question_is_queued_in_its_group_and_chat_is_not() -> None:
    decision = decide_question(comment(5, "does it ship to Canada?"), QuestionsState())
    assert decision.append == (AddQuestion(comment(5, "does it ship to Canada?"), "shipping"),)
    assert decide_question(comment(6, "love it!"), QuestionsState()).append == ()
    assert decide_question(comment(7, "any questions?", role="host"), QuestionsState()).append == ()


def test_a_claim_names_the_question_as_found_and_the_claim_to_store() -> None:
    state = queued(event(3))
    step = change(decide_claim(5, "Ann", state, NOW + 1))
    assert step.was == state.get(5)
    assert (step.question.claimed_by, step.question.claimed_at, step.ts) == (
        "Ann",
        NOW + 1,
        NOW + 1,
    )


def test_a_question_held_by_another_agent_is_refused_as_a_conflict_naming_them() -> None:
    state = queued(event(3, claimed_by="Ann", claimed_at=NOW))
    for decision in (
        decide_claim(5, "Kim", state, NOW + 3),
        decide_finish(5, "Kim", state, NOW + 3),
        decide_answer(protocol.AnswerQuestion(question=5, text="Yes"), "Kim", state, NOW + 3),
    ):
        refused = refusal(decision)
        assert refused.code == ErrorCode.CONFLICT
        assert refused.reason.startswith("Already claimed by Ann (3 s ago)")
        assert decision.append == ()
    assert "only they can release it" in refusal(decide_release(5, "Kim", state, NOW)).reason
    assert change(decide_release(5, "Ann", state, NOW)).question.claimed_by is None


def test_done_or_unknown_questions_are_refused() -> None:
    state = queued(event(3, done=True))
    assert "#5 is already done" in refusal(decide_claim(5, "Ann", state, NOW)).reason
    assert "no question #9" in refusal(decide_claim(9, "Ann", state, NOW)).reason


def test_an_answer_stores_the_claim_first_then_the_answer() -> None:
    state = queued(event(3))
    command = protocol.AnswerQuestion(question=5, text="  True to size. ", private=True)
    decision = decide_answer(command, "Ann", state, NOW + 4)
    saved, answer = decision.append
    assert isinstance(saved, SaveQuestion)
    assert (saved.question.claimed_by, saved.question.answered_at) == ("Ann", NOW + 4)
    assert answer == SendAnswer(5, "Ann", "True to size.", True, NOW + 4)


def test_an_empty_answer_is_refused_before_the_claim_is_looked_at() -> None:
    state = queued(event(3, claimed_by="Ann", claimed_at=NOW))
    refused = refusal(
        decide_answer(protocol.AnswerQuestion(question=5, text=" "), "Kim", state, NOW)
    )
    assert refused.code == ErrorCode.INVALID


def test_a_reply_to_a_comment_never_queued_opens_a_closed_thread_for_it() -> None:
    said = comment(8, "love the colour")
    decision = decide_reply(protocol.AnswerQuestion(question=8, text="Thanks!"), "Ann", said, NOW)
    assert decision.append == (
        OpenThread(said, "colour"),
        SendAnswer(8, "Ann", "Thanks!", False, NOW),
    )


def test_a_deleted_question_leaves_the_queue_whoever_holds_it() -> None:
    state = queued(event(3, claimed_by="Ann", claimed_at=NOW))
    step = change(decide_withdraw(5, state, NOW))
    assert step.question.done and step.question.claimed_by is None
    assert decide_withdraw(9, state, NOW).append == ()
    assert decide_withdraw(5, queued(event(3, done=True)), NOW).append == ()


def test_only_a_lapsed_claim_is_released() -> None:
    state = queued(event(3, claimed_by="Ann", claimed_at=NOW))
    assert decide_lapse(5, state, NOW + CLAIM_TIMEOUT - 1).append == ()
    step = change(decide_lapse(5, state, NOW + CLAIM_TIMEOUT))
    assert step.was.claimed_by == "Ann" and step.question.claimed_by is None
    assert decide_lapse(9, state, NOW + CLAIM_TIMEOUT).append == ()


# ---------------------------------------------------------------- the desk on a store


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_a_hub_follows_another_hubs_questions_by_folding_their_events(data_dir: Path) -> None:
    """Hub B never reads a question again while it folds what A stored, and shows the
    agents the same queue."""
    stores = [Store.open(data_dir), Store.open(data_dir)]
    a_store, b_store = stores
    clock = _Clock()
    sent: list[tuple[int, bytes, str | None]] = []
    try:
        a = QuestionDesk(a_store.team, sent.extend, clock, lambda: None, lambda: a_store.last_seq)
        b = QuestionDesk(b_store.team, [].extend, clock, lambda: None, lambda: b_store.last_seq)
        b_store.team.question = _no_store_reads  # type: ignore[method-assign]
        a_store.touch_viewer("viewer-0001", "Bo", clock())
        asked, _ = a_store.append_comment("viewer-0001", "Bo", "viewer", "does it run small?", NOW)
        a.consider(asked)
        a.claim("Ann", asked.seq)
        clock.now += 30
        a.answer("Ann", protocol.AnswerQuestion(question=asked.seq, text="True to size."))
        for seq, body, _ in sent:
            b.follow(seq, body)
        assert b.state == a.state
        assert b.snapshot() == a.snapshot()
        del b_store.team.question  # a refusal is checked against the store: it may be old
        with pytest.raises(ProtocolError, match=r"Already claimed by Ann \(0 s ago\)"):
            b.claim("Kim", asked.seq)
    finally:
        for store in stores:
            store.close()


def _no_store_reads(*args: object) -> Question:
    raise AssertionError("the replica must fold the event, not read the store")
