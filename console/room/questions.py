"""The agents' question queue in the room core: a replica of the questions, and decisions.

Every change of a question stores a ``question`` event carrying the question's whole
state, so a hub that folds the events holds what agents did through any hub without
reading the store. A deletion's ``erased`` event re-signs the deleted viewer's questions.
Each question remembers the seq of the event that set it and gives way only to a later
one, as the other replicas do (:mod:`console.room.state`): a hub applies its own events
at once and the feed brings them back later.

The store stays the arbiter between hubs: a decision names the question as it found it
(``was``) and the store writes the change only if the stored question is still so
(:meth:`~console.store.api.Team.update_question`); the shell takes the stored state when
it is not, and decides again. The claim rules themselves are
:mod:`console.domain.questions`'s; this module holds what each agent's command asks of
them, and how a refusal reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from console import protocol
from console.domain.chat import ChatRuleError, clean_comment
from console.domain.questions import (
    ANSWER_TIMES_KEPT,
    ClaimError,
    Question,
    QuestionGroup,
    QueueStats,
    answer_time,
    claim_lapsed,
    close_question,
    group_key,
    is_question,
    lapse_claim,
    pending_groups,
    queue_stats,
    record_answer,
    release_claim,
    take_claim,
    withdraw_question,
)
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
from console.room.events import event_reader

#: The stored events the questions fold.
QuestionEvent: TypeAlias = protocol.QuestionState | protocol.Erased

_read = event_reader(protocol.QuestionState, protocol.Erased)


@dataclass(frozen=True, slots=True)
class QuestionsState:
    """The questions every hub holds alike, open and done; values never change in place."""

    questions: Mapping[int, Question] = field(default_factory=dict)
    #: The event that set each question; for one read from the store, the log's last
    #: seq read before it (the row holds every event up to there).
    seqs: Mapping[int, int] = field(default_factory=dict)
    #: Questions whose asker's data was deleted: the erasure's seq and the name they are
    #: signed with now. An event written before the deletion still names the asker.
    erased: Mapping[int, tuple[int, str]] = field(default_factory=dict)

    def apply(self, event: QuestionEvent) -> QuestionsState:
        """The questions after ``event``; itself when the event is older than what it
        would change."""
        match event:
            case protocol.QuestionState():
                if self.seqs.get(event.id, -1) >= event.seq:
                    return self
                return self._put(question_of(event), event.seq)
            case protocol.Erased():
                erased = dict(self.erased)
                for question_id in event.comments:
                    if erased.get(question_id, (-1, ""))[0] < event.seq:
                        erased[question_id] = (event.seq, event.name)
                state = replace(self, erased=erased)
                questions = dict(self.questions)
                for question_id in event.comments:
                    known = questions.get(question_id)
                    if known is not None:
                        questions[question_id] = state._signed(known)
                return replace(state, questions=questions)
        return self

    @classmethod
    def from_events(
        cls, events: Iterable[QuestionEvent], start: QuestionsState | None = None
    ) -> QuestionsState:
        """Fold ``events`` (any order, repeats allowed) onto ``start`` or no questions."""
        return functools.reduce(QuestionsState.apply, events, start or cls())

    def restate(self, stored: protocol.QuestionState, last_seq: int) -> QuestionsState:
        """The question as the store holds it, read after the log's ``last_seq``: newer
        than every event up to there, which then fold onto it as repeats."""
        seq = max(self.seqs.get(stored.id, 0), last_seq)
        return self._put(question_of(stored), seq)

    def get(self, question_id: int) -> Question | None:
        return self.questions.get(question_id)

    def lapsed(self, now: float) -> list[int]:
        """Open questions whose claim lapsed, each for :func:`decide_lapse`."""
        return [q.id for q in self.questions.values() if claim_lapsed(q, now)]

    def pending(self, now: float) -> list[QuestionGroup]:
        return pending_groups(self._open(), now)

    def stats(self, now: float) -> QueueStats:
        """The figures the agents see; the answer times are those of the questions
        answered last, open or done, as the store's ``answered_questions`` has them, so
        a hub that starts reads the same median as one that followed the show."""
        answered = sorted(
            (q for q in self.questions.values() if q.answered_at is not None),
            key=lambda q: (q.answered_at, q.id),
        )[-ANSWER_TIMES_KEPT:]
        times = [answer_time(q, q.answered_at) for q in answered if q.answered_at is not None]
        return queue_stats(self._open(), times, now)

    def _open(self) -> list[Question]:
        return [q for q in self.questions.values() if not q.done]

    def _put(self, question: Question, seq: int) -> QuestionsState:
        return replace(
            self,
            questions={**self.questions, question.id: self._signed(question)},
            seqs={**self.seqs, question.id: seq},
        )

    def _signed(self, question: Question) -> Question:
        erased = self.erased.get(question.id)
        if erased is None:
            return question
        return replace(question, viewer_id="", name=erased[1])


def question_event(body: bytes) -> QuestionEvent | None:
    """The stored event ``body`` as the questions fold it; ``None`` for every other kind,
    told apart by their first bytes without decoding them."""
    return _read(body)


def question_of(stored: protocol.QuestionState) -> Question:
    """The domain's question from the wire's (an event's, or the store's row)."""
    return Question(
        id=stored.id,
        viewer_id=stored.viewer_id,
        name=stored.name,
        text=stored.text,
        ts=stored.ts,
        group=stored.group,
        claimed_by=stored.claimed_by,
        claimed_at=stored.claimed_at,
        answered_at=stored.answered_at,
        done=stored.done,
    )


# ------------------------------------------------------------ decisions


def decide_question(comment: protocol.Comment, state: QuestionsState) -> Decision:
    """Queue a viewer's comment if it asks something, grouped with those like it."""
    if comment.role != "viewer" or not is_question(comment.text):
        return Decision(Acknowledge())
    known = state.get(comment.seq)
    group = known.group if known is not None else group_key(comment.text)
    return Decision(Acknowledge(), (AddQuestion(comment, group),))


def decide_claim(question_id: int, agent: str, state: QuestionsState, now: float) -> Decision:
    return _change(question_id, state, now, lambda q: take_claim(question_id, q, agent, now))


def decide_release(question_id: int, agent: str, state: QuestionsState, now: float) -> Decision:
    return _change(question_id, state, now, lambda q: release_claim(question_id, q, agent))


def decide_finish(question_id: int, agent: str, state: QuestionsState, now: float) -> Decision:
    return _change(question_id, state, now, lambda q: close_question(question_id, q, agent, now))


def decide_answer(
    command: protocol.AnswerQuestion, agent: str, state: QuestionsState, now: float
) -> Decision:
    """The agent's answer: the text is checked first, then the claim (a free question is
    claimed on the way), then the answer follows the stored claim, never before it: an
    agent who lost the question meanwhile sends no answer."""
    try:
        text = clean_comment(command.text)
    except ChatRuleError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    question_id = command.question
    changed = _change(question_id, state, now, lambda q: record_answer(question_id, q, agent, now))
    if isinstance(changed.reply, Refuse):
        return changed
    answer = SendAnswer(question_id, agent, text, command.private, now)
    return Decision(Acknowledge(), (*changed.append, answer))


def decide_reply(
    command: protocol.AnswerQuestion, agent: str, comment: protocol.Comment, now: float
) -> Decision:
    """A reply to a comment never queued as a question: it gets a closed thread of its
    own, so the reply is stored and shown like an answer (a queued comment is answered
    with :func:`decide_answer`)."""
    try:
        text = clean_comment(command.text)
    except ChatRuleError as exc:
        return Decision(Refuse(ErrorCode.INVALID, str(exc)))
    thread = OpenThread(comment, group_key(comment.text))
    return Decision(
        Acknowledge(), (thread, SendAnswer(comment.seq, agent, text, command.private, now))
    )


def decide_withdraw(question_id: int, state: QuestionsState, now: float) -> Decision:
    """A moderator deleted the comment: if it is queued, it leaves the queue whoever
    holds it; otherwise nothing is stored."""
    question = state.get(question_id)
    withdrawn = withdraw_question(question)
    if question is None or withdrawn is None:
        return Decision(Acknowledge())
    return Decision(Acknowledge(), (SaveQuestion(question, withdrawn, now),))


def decide_lapse(question_id: int, state: QuestionsState, now: float) -> Decision:
    """Release the question's claim if it lapsed; nothing when an answer refreshed it
    meanwhile or it is no longer open."""
    question = state.get(question_id)
    released = lapse_claim(question, now)
    if question is None or released is None:
        return Decision(Acknowledge())
    return Decision(Acknowledge(), (SaveQuestion(question, released, now),))


def _change(
    question_id: int,
    state: QuestionsState,
    now: float,
    rule: Callable[[Question | None], Question],
) -> Decision:
    """Store what ``rule`` makes of the question as found; a rule's refusal is a
    conflict, which the shell checks against the store before telling the agent."""
    question = state.get(question_id)
    try:
        changed = rule(question)
    except ClaimError as exc:
        return Decision(Refuse(ErrorCode.CONFLICT, str(exc)))
    assert question is not None, "a rule finds its question or raises ClaimError"
    return Decision(Acknowledge(), (SaveQuestion(question, changed, now),))
