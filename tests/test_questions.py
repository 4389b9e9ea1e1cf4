"""The question queue: spotting questions, topics and groups, claims, answers, stats."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from console import protocol
from console.domain.questions import (
    ANSWER_TIMES_KEPT,
    CLAIM_TIMEOUT,
    ClaimError,
    Question,
    QuestionGroup,
    QueueStats,
    group_key,
    is_question,
    topic,
)
from console.protocol import ErrorCode
from console.room.decision import Decision, Refuse, SaveQuestion
from console.room.questions import (
    QuestionsState,
    decide_answer,
    decide_claim,
    decide_finish,
    decide_lapse,
    decide_release,
)

QUESTIONS = [
    "what size should i get",
    "does it come in blue",
    "how much",
    "how much is it",
    "ship to canada",
    "do you ship to Canada?",
    "is it true to size",
    "price pls",
    "Is it waterproof??",
    "is this waterproof",
    "any discount codes",
    "anyone tried the pink one",
    "hi! does it come in a medium",
    "@Sam can you show the back",
    "can u show it on",
    "what's the material",
    "whats the fabric made of",
    "how long does shipping take",
    "when will the black be restocked",
    "where do you ship from",
    "which size are you wearing",
    "who makes the bag",
    "why is it so cheap",
    "is the blue still available",
    "are they vegan leather",
    "do they run small",
    "will it fit a 34 waist",
    "could you show the inside pocket",
    "would it work for a wedding",
    "should I size up",
    "link pls",
    "size plz",
    "lol is it real leather",
    "omg, is there a discount today",
    "how many are left",
    "Is it machine washable",
    "can I return it if it doesn't fit",
    "does it shrink in the wash",
    "¿Hacen envíos a México?",
    "shipping to australia",
    "in stock in XL",
    "is there free shipping",
    "hey what colours does it come in",
    "R U shipping internationally",
    "so do you have it in red",
    "wondering if it comes in petite",
    "Does the lining feel nice",
    "how do I wash it",
]
NOT_QUESTIONS = [
    "this is great!",
    "lol",
    "I love it",
    "so pretty 😍",
    "just bought 2!",
    "how cute!!",
    "what a dress",
    "How gorgeous is that colour!",
    "ordered!!",
    "love the blue",
    "thanks!",
    "hi from Canada",
    "can't wait to get mine",
    "I will buy this",
    "will buy after payday",
    "my order arrived today, love it",
    "https://shop.example.com/?ref=abc",
    "check out www.example.com",
    "fits true to size, I'm an M",
    "bought the black last week",
    "omg yes",
    "😍😍😍",
    "hello everyone",
    "first time watching",
    "the colour is gorgeous",
    "she looks amazing in it",
    "need this in my life",
    "take my money",
    "wow",
    "yesss",
    "great show today",
    "back again 👋",
    "my sister has this one",
    "it's sold out already!",
    "love you guys",
    "beautiful!",
    "adding to cart",
    "so soft",
    "that's what I need",
    "lmao",
    "gorgeous fabric!",
    "Just ordered the red one!",
    "ok",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_recognised(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_chatter_is_not_a_question(text: str) -> None:
    assert not is_question(text)


def test_the_tables_are_big_enough_to_mean_something() -> None:
    assert len(QUESTIONS) >= 40 and len(NOT_QUESTIONS) >= 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what size should i get", "sizing"),
        ("does it run small?", "sizing"),
        ("Does the linen shirt run small?", "sizing"),
        ("do the wool socks run big", "sizing"),
        ("does the leather jacket run large?", "sizing"),
        ("is it true to size", "sizing"),
        ("measurements of the M?", "sizing"),
        ("do you ship to canada", "shipping"),
        ("how long does delivery take?", "shipping"),
        ("will I pay customs in the UK?", "shipping"),
        ("how much is shipping?", "shipping"),
        ("how much?", "price"),
        ("price pls", "price"),
        ("any discount code?", "price"),
        ("how much is the large?", "price"),
        ("is it in stock?", "stock"),
        ("is the blue still available", "stock"),
        ("when will you restock the pink?", "stock"),
        ("does it come in blue", "colour"),
        ("what colours are there?", "colour"),
        ("what is the fabric?", "material"),
        ("Is it waterproof??", "material"),
        ("real leather?", "material"),
        ("can I return it?", "returns"),
        ("can I return it if it doesn't fit", "returns"),
        ("refund policy?", "returns"),
        ("can you wash it?", "care"),
        ("how do I wash the cotton", "care"),
        ("dry clean only?", "care"),
        ("can you show the back?", "other"),
        ("who is the host?", "other"),
        ("", "other"),
    ],
)
def test_topics(text: str, expected: str) -> None:
    assert topic(text) == expected


def test_same_questions_group_together() -> None:
    assert group_key("is this waterproof?") == group_key("Is it waterproof??") == "material"
    assert (
        group_key("can you show the back?") == group_key("Can u show the BACK pls") == "back show"
    )
    assert group_key("@Sam can you show the back") == "back show"
    assert group_key("what?") == group_key("What??") == "what"
    assert group_key("can you show the back?") != group_key("can you show the inside?")


# --- the queue ----------------------------------------------------------------------


class Queue:
    """One hub's agents on the room core's questions, the store played by a counter: each
    change a decision names is stored as the next event and folded, as the hub's desk
    does. A refusal is raised as the claim rules' :class:`ClaimError`, in its words."""

    def __init__(self) -> None:
        self.state = QuestionsState()
        self.seq = 0

    def get(self, question_id: int) -> Question | None:
        return self.state.get(question_id)

    def add(self, question_id: int, viewer_id: str, name: str, text: str, now: float) -> Question:
        known = self.get(question_id)
        if known is not None:
            return known
        return self.restate(Question(question_id, viewer_id, name, text, now, group_key(text)))

    def claim(self, question_id: int, agent: str, now: float) -> Question | None:
        return self._store(decide_claim(question_id, agent, self.state, now))

    def release(self, question_id: int, agent: str) -> Question | None:
        return self._store(decide_release(question_id, agent, self.state, 0.0))

    def answer(self, question_id: int, agent: str, now: float) -> Question | None:
        command = protocol.AnswerQuestion(question=question_id, text="Yes.")
        return self._store(decide_answer(command, agent, self.state, now))

    def done(self, question_id: int, agent: str, now: float) -> Question | None:
        return self._store(decide_finish(question_id, agent, self.state, now))

    def lapsed(self, now: float) -> list[int]:
        return self.state.lapsed(now)

    def lapse(self, question_id: int, now: float) -> Question | None:
        return self._store(decide_lapse(question_id, self.state, now))

    def restate(self, stored: Question) -> Question:
        """The question as another hub stored it: its event comes next."""
        self.seq += 1
        self.state = self.state.apply(_event(stored, self.seq))
        return stored

    def pending(self, now: float) -> list[QuestionGroup]:
        return self.state.pending(now)

    def stats(self, now: float) -> QueueStats:
        return self.state.stats(now)

    def _store(self, decision: Decision) -> Question | None:
        if isinstance(decision.reply, Refuse):
            assert decision.reply.code == ErrorCode.CONFLICT
            raise ClaimError(decision.reply.reason)
        change = next((s for s in decision.append if isinstance(s, SaveQuestion)), None)
        return None if change is None else self.restate(change.question)


def _event(question: Question, seq: int) -> protocol.QuestionState:
    return protocol.QuestionState(
        seq=seq,
        id=question.id,
        viewer_id=question.viewer_id,
        name=question.name,
        text=question.text,
        ts=question.ts,
        group=question.group,
        claimed_by=question.claimed_by,
        claimed_at=question.claimed_at,
        answered_at=question.answered_at,
        done=question.done,
    )


def queue_with(*texts: str) -> Queue:
    queue = Queue()
    for i, text in enumerate(texts, start=1):
        queue.add(i, f"viewer-{i}", f"Name {i}", text, float(i))
    return queue


def expire(queue: Queue, now: float) -> list[Question]:
    """What a hub's expiry releases: each lapsed claim, one at a time."""
    return [q for i in queue.lapsed(now) if (q := queue.lapse(i, now)) is not None]


def test_added_questions_carry_their_group() -> None:
    queue = Queue()
    question = queue.add(7, "v1", "Ann", "does it run small?", 10.0)
    assert (question.id, question.group, question.ts, question.claimed_by) == (
        7,
        "sizing",
        10,
        None,
    )
    assert queue.get(7) == question
    assert queue.get(8) is None
    # A replayed event does not duplicate or reset the question.
    queue.claim(7, "sam", 11)
    assert queue.add(7, "v1", "Ann", "does it run small?", 50.0).claimed_by == "sam"


def test_two_agents_cannot_claim_the_same_question() -> None:
    queue = queue_with("does it run small?")
    assert queue.claim(1, "Sam", 100.0).claimed_by == "Sam"
    with pytest.raises(ClaimError, match=r"Already claimed by Sam \(1 min 20 s ago\)") as caught:
        queue.claim(1, "Kim", 180.0)
    assert "in 40 s unless Sam answers" in str(caught.value)
    with pytest.raises(ClaimError, match="Already claimed by Sam"):
        queue.answer(1, "Kim", 180.0)
    with pytest.raises(ClaimError, match="Already claimed by Sam"):
        queue.done(1, "Kim", 180.0)
    with pytest.raises(ClaimError, match="only they can release it"):
        queue.release(1, "Kim")
    assert queue.get(1).claimed_by == "Sam"


def test_claiming_again_refreshes_the_claim() -> None:
    queue = queue_with("q?")
    queue.claim(1, "Sam", 0.0)
    assert queue.claim(1, "Sam", 100.0).claimed_at == 100.0
    assert expire(queue, 200.0) == []
    with pytest.raises(ClaimError):
        queue.claim(1, "Kim", 219.0)


def test_a_claim_expires_after_two_minutes_without_an_answer() -> None:
    queue = queue_with("q one?", "q two?")
    queue.claim(1, "Sam", 0.0)
    queue.claim(2, "Sam", 60.0)
    assert expire(queue, 119.9) == []
    released = expire(queue, CLAIM_TIMEOUT)
    assert [q.id for q in released] == [1]
    assert released[0].claimed_by is None and released[0].claimed_at is None
    assert queue.get(2).claimed_by == "Sam"
    assert queue.claim(1, "Kim", 121.0).claimed_by == "Kim"


def test_an_expired_claim_can_be_taken_over_before_expire_runs() -> None:
    queue = queue_with("q?")
    queue.claim(1, "Sam", 0.0)
    assert queue.pending(120.0)[0].questions[0].claimed_by is None
    assert queue.claim(1, "Kim", 120.0).claimed_by == "Kim"


def test_an_answer_keeps_the_claim_fresh_and_records_the_first_answer_only() -> None:
    queue = queue_with("q?")
    queue.claim(1, "Sam", 10.0)
    first = queue.answer(1, "Sam", 100.0)
    assert (first.answered_at, first.claimed_at) == (100.0, 100.0)
    again = queue.answer(1, "Sam", 200.0)
    assert (again.answered_at, again.claimed_at) == (100.0, 200.0)
    assert expire(queue, 300.0) == []
    with pytest.raises(ClaimError):
        queue.claim(1, "Kim", 300.0)


def test_answering_a_free_question_claims_it() -> None:
    queue = queue_with("q?")
    answered = queue.answer(1, "Kim", 5.0)
    assert (answered.claimed_by, answered.answered_at) == ("Kim", 5.0)


def test_release_gives_the_question_back() -> None:
    queue = queue_with("q?")
    queue.claim(1, "Sam", 0.0)
    assert queue.release(1, "Sam").claimed_by is None
    assert queue.release(1, "Kim").claimed_by is None
    assert queue.claim(1, "Kim", 1.0).claimed_by == "Kim"


def test_done_questions_leave_the_queue() -> None:
    queue = queue_with("q one?", "q two?")
    queue.answer(1, "Sam", 11.0)
    finished = queue.done(1, "Sam", 12.0)
    assert finished.done and finished.claimed_by is None
    assert queue.get(1) == finished
    assert [g.questions[0].id for g in queue.pending(20.0)] == [2]
    for act in (queue.claim, queue.answer, queue.done):
        with pytest.raises(ClaimError, match="#1 is already done"):
            act(1, "Sam", 13.0)
    with pytest.raises(ClaimError, match="no question #99"):
        queue.claim(99, "Sam", 13.0)
    with pytest.raises(ClaimError, match="no question #99"):
        queue.release(99, "Sam")


def test_a_lapsed_claim_refreshed_meanwhile_is_not_released() -> None:
    queue = queue_with("q?")
    queue.claim(1, "Sam", 0.0)
    assert queue.lapsed(CLAIM_TIMEOUT) == [1]
    # Sam answered through another hub before this one's expiry got to the question.
    held = queue.get(1)
    assert held is not None
    queue.restate(replace(held, claimed_at=CLAIM_TIMEOUT - 1, answered_at=CLAIM_TIMEOUT - 1))
    assert queue.lapse(1, CLAIM_TIMEOUT) is None
    assert queue.lapse(99, CLAIM_TIMEOUT) is None
    assert queue.get(1).claimed_by == "Sam"


# --- restating what the store holds -------------------------------------------------


def stored(question_id: int, **state: object) -> Question:
    """A question as another hub stored it."""
    return replace(
        Question(question_id, f"v{question_id}", "Bo", "does it run small?", 10.0, "sizing"),
        **state,  # type: ignore[arg-type]
    )


def test_a_question_queued_through_another_hub_is_added_as_stored() -> None:
    queue = Queue()
    claimed = stored(5, claimed_by="Ann", claimed_at=100.0)
    assert queue.restate(claimed) == claimed
    assert [g.questions for g in queue.pending(101.0)] == [[claimed]]
    with pytest.raises(ClaimError, match=r"Already claimed by Ann \(3 s ago\)"):
        queue.claim(5, "Kim", 103.0)
    assert queue.claim(5, "Ann", 104.0).claimed_at == 104.0


def test_the_stored_claim_replaces_what_this_queue_decided() -> None:
    """This hub let Kim claim; the store had Ann's claim first: Ann holds it."""
    queue = Queue()
    queue.restate(stored(5))
    queue.claim(5, "Kim", 100.0)
    queue.restate(stored(5, claimed_by="Ann", claimed_at=99.0))
    assert queue.get(5) == stored(5, claimed_by="Ann", claimed_at=99.0)
    with pytest.raises(ClaimError, match="Already claimed by Ann"):
        queue.answer(5, "Kim", 101.0)
    queue.restate(stored(5))  # Ann released it
    assert queue.answer(5, "Kim", 102.0).claimed_by == "Kim"


def test_a_question_closed_through_another_hub_leaves_the_queue() -> None:
    queue = Queue()
    queue.restate(stored(5, claimed_by="Ann", claimed_at=100.0))
    queue.restate(stored(6))
    queue.restate(stored(5, answered_at=100.0, done=True))
    assert [q.id for g in queue.pending(200.0) for q in g.questions] == [6]
    assert queue.stats(200.0).length == 1
    with pytest.raises(ClaimError, match="#5 is already done"):
        queue.claim(5, "Kim", 200.0)
    queue.restate(stored(7, done=True))  # closed before this hub heard of it
    assert queue.get(7) is not None and queue.stats(200.0).length == 1


def test_a_first_answer_from_another_hub_counts_once_in_the_answer_times() -> None:
    queue = Queue()
    queue.restate(stored(1))
    queue.answer(1, "Sam", 20.0)  # 10 s after it was asked
    queue.restate(stored(2, claimed_by="Ann", claimed_at=40.0, answered_at=40.0))  # 30 s
    queue.restate(stored(2, claimed_by="Ann", claimed_at=90.0, answered_at=40.0))
    queue.restate(stored(2, answered_at=40.0, done=True))
    queue.restate(stored(1, claimed_by="Sam", claimed_at=20.0, answered_at=20.0))
    assert queue.stats(100.0).median_first_answer == 20.0, "10 s and 30 s, each once"


def test_pending_groups_oldest_first_with_a_crowd_label() -> None:
    queue = Queue()
    queue.add(1, "v1", "Ann", "can you show the back?", 1.0)
    queue.add(2, "v2", "Bo", "does it run small?", 2.0)
    queue.add(3, "v3", "Cy", "is it true to size", 3.0)
    queue.add(4, "v2", "Bo", "what size for 170cm?", 4.0)
    queue.add(5, "v4", "Di", "Can u show the BACK pls", 5.0)
    queue.add(6, "v5", "Ed", "do you ship to canada?", 6.0)
    groups = queue.pending(10.0)
    assert [(g.key, g.oldest_ts, [q.id for q in g.questions]) for g in groups] == [
        ("back show", 1.0, [1, 5]),
        ("sizing", 2.0, [2, 3, 4]),
        ("shipping", 6.0, [6]),
    ]
    assert [g.label for g in groups] == [
        "2 viewers asked: can you show the back?",
        "2 viewers asked about sizing",
        "do you ship to canada?",
    ]


def test_stats_count_waiting_questions_and_the_median_first_answer() -> None:
    queue = Queue()
    assert queue.stats(0.0).median_first_answer is None
    for i in range(1, 6):
        queue.add(i, f"v{i}", "N", f"question {i}?", 0.0)
    queue.answer(1, "Sam", 10.0)
    queue.answer(2, "Sam", 30.0)
    queue.answer(3, "Kim", 50.0)
    queue.answer(3, "Kim", 500.0)
    queue.done(3, "Kim", 501.0)
    stats = queue.stats(600.0)
    assert (stats.length, stats.unanswered, stats.median_first_answer) == (4, 2, 30.0)
    assert stats.oldest_wait == 600.0
    queue.done(4, "Sam", 601.0)
    assert queue.stats(601.0).length == 3
    assert queue.stats(601.0).median_first_answer == 30.0


def test_answer_times_are_bounded_and_done_questions_stay_done() -> None:
    queue = Queue()
    for i in range(ANSWER_TIMES_KEPT + 500):
        queue.add(i, "v", "N", "q?", float(i))
        queue.answer(i, "Sam", float(i) + (1.0 if i < 500 else 5.0))
        queue.done(i, "Sam", float(i) + 6.0)
    assert queue.stats(0.0).median_first_answer == 5.0
    assert queue.get(0).done
    assert queue.get(ANSWER_TIMES_KEPT + 499).done
    assert queue.stats(0.0).length == 0


# --- fuzz -----------------------------------------------------------------------------


@given(st.text(max_size=300))
@settings(max_examples=1500)
def test_reading_any_text_never_fails(text: str) -> None:
    assert isinstance(is_question(text), bool)
    found = topic(text)
    key = group_key(text)
    assert key == group_key(text)
    assert key == found or found == "other"


AGENTS = st.sampled_from(["Sam", "Kim", "Lee"])
IDS = st.integers(1, 6)


class QueueMachine(RuleBasedStateMachine):
    """Random claims, answers, releases and expiries by three agents on six questions."""

    def __init__(self) -> None:
        super().__init__()
        self.queue = Queue()
        self.now = 0.0
        self.holders: dict[int, tuple[str, float]] = {}
        self.done: set[int] = set()

    @rule(step=st.floats(0, 90))
    def tick(self, step: float) -> None:
        self.now += step

    @rule(question_id=IDS, text=st.sampled_from(["size?", "ship to canada", "hi?", "lol"]))
    def add(self, question_id: int, text: str) -> None:
        self.queue.add(question_id, f"v{question_id}", "N", text, self.now)

    def _may_act(self, question_id: int, agent: str) -> bool:
        if self.queue.get(question_id) is None or question_id in self.done:
            return False
        holder = self.holders.get(question_id)
        return holder is None or holder[0] == agent or self.now - holder[1] >= CLAIM_TIMEOUT

    @rule(question_id=IDS, agent=AGENTS, action=st.sampled_from(["claim", "answer", "done"]))
    def act(self, question_id: int, agent: str, action: str) -> None:
        allowed = self._may_act(question_id, agent)
        try:
            question = getattr(self.queue, action)(question_id, agent, self.now)
        except ClaimError:
            assert not allowed
            return
        assert allowed
        if action == "done":
            assert question.done and question.claimed_by is None
            self.holders.pop(question_id, None)
            self.done.add(question_id)
        else:
            assert question.claimed_by == agent
            self.holders[question_id] = (agent, self.now)

    @rule(question_id=IDS, agent=AGENTS)
    def release(self, question_id: int, agent: str) -> None:
        try:
            self.queue.release(question_id, agent)
        except ClaimError:
            return
        self.holders.pop(question_id, None)

    @rule()
    def expire(self) -> None:
        for question in expire(self.queue, self.now):
            assert self.now - self.holders.pop(question.id)[1] >= CLAIM_TIMEOUT

    @invariant()
    def claims_match_the_model(self) -> None:
        for question_id in range(1, 7):
            question = self.queue.get(question_id)
            if question is None or question.done:
                continue
            holder = self.holders.get(question_id)
            assert question.claimed_by == (holder[0] if holder else None)

    @invariant()
    def stats_agree_with_pending(self) -> None:
        groups = self.queue.pending(self.now)
        questions = [q for group in groups for q in group.questions]
        assert len({q.id for q in questions}) == len(questions)
        stats = self.queue.stats(self.now)
        assert stats.length == len(questions)
        assert stats.unanswered == sum(1 for q in questions if q.answered_at is None)
        assert [g.oldest_ts for g in groups] == sorted(g.oldest_ts for g in groups)


QueueMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
test_queue_under_random_operations = QueueMachine.TestCase
