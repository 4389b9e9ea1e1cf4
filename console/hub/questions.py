"""The agents' question queue in the hub: detected questions, claims, answers, stats.

What each command decides is :mod:`console.room.questions`'s, on the desk's replica of
the questions; this desk feeds it the room's comments, the agents' commands and the clock,
stores every change before announcing it to staff (so a console that reconnects replays
the queue), and threads answers under their questions: in public for everyone, or
privately for the asker alone.

In a cluster every hub's desk holds the same queue: it folds the question events of every
hub as the feed takes them, and the store decides between agents acting on one question
through two hubs (:meth:`QuestionDesk._settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Final

import msgspec

from console import protocol
from console.domain.money import Money, format_money
from console.domain.questions import ANSWER_TIMES_KEPT, Question
from console.domain.suggestions import DEFAULT_CANNED, render_canned, suggest
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.room.decision import (
    AddQuestion,
    Decision,
    OpenThread,
    Refuse,
    SaveQuestion,
    SendAnswer,
)
from console.room.questions import (
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
    question_of,
)
from console.store.api import Team
from console.store.records import Actor, Published, QuestionMovedError

log = logging.getLogger(__name__)

CANNED_KEY = "canned"
MAX_CANNED = 50
MAX_TEMPLATE_CHARS = 500
#: How often a command is decided again on the stored question when another hub changed
#: it meanwhile; more only under a storm of agents on one question.
ATTEMPTS: Final = 3


class QuestionDesk:
    def __init__(
        self,
        records: Team,
        publish: Callable[[list[Published]], None],
        clock: Callable[[], float],
        pinned: Callable[[], protocol.Product | None],
        last_seq: Callable[[], int],
    ) -> None:
        """``last_seq()`` is a seq the log had committed before a read (the store's last
        as this hub knows it): a question read from the store holds every event up to
        it, so those fold onto it as repeats."""
        self._records = records
        self._publish = publish
        self._clock = clock
        self._pinned = pinned
        self._last_seq = last_seq
        self.state = QuestionsState()
        self.reload()

    def reload(self) -> None:
        """The queue as the store has it, when the hub starts.

        Not a fold of the log: the answer times are those of the last questions answered
        (the store keeps them), and a deletion re-signs the stored questions. Every event
        after the log's last seq read here folds on top (:meth:`follow`).
        """
        since = self._last_seq()
        state = QuestionsState()
        # The answered ones first, done ones too: their answer times are the agents'
        # figures (a done question leaves the queue, not the figures), and a done one
        # stays known as done. Open questions already among them are read twice, alike.
        for stored in self._records.answered_questions(ANSWER_TIMES_KEPT):
            state = state.restate(stored, since)
        for stored in self._records.questions():
            state = state.restate(stored, since)
        self.state = state

    def follow(self, seq: int, body: bytes) -> None:
        """A committed event, once the feed has it in seq order (another hub's, or this
        desk's own coming back): a question's new state, or a deletion (``erased``) that
        re-signs the deleted viewer's questions; every other kind is ignored.

        The event carries the question's whole state, so the store is not read; an older
        state than the one held (this desk's own, applied as it was stored) changes
        nothing.
        """
        try:
            event = question_event(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            log.exception("question event %s does not apply; the queue is left as it was", seq)
            return
        if event is not None:
            self.state = self.state.apply(event)

    # ------------------------------------------------------------ from the chat

    def consider(self, comment: protocol.Comment) -> None:
        """Queue a viewer's comment if it asks something."""
        for step in decide_question(comment, self.state).append:
            if isinstance(step, AddQuestion):
                stored, published = self._records.add_question(step.comment, step.group)
                self._apply_own(stored, published)

    # ------------------------------------------------------------ agents

    def claim(self, agent: str, question_id: int) -> None:
        self.expire()
        now = self._clock()
        self._settle(question_id, lambda state: decide_claim(question_id, agent, state, now))

    def release(self, agent: str, question_id: int) -> None:
        self._settle(
            question_id, lambda state: decide_release(question_id, agent, state, self._clock())
        )

    def answer(self, agent: str, message: protocol.AnswerQuestion) -> None:
        """Claim-and-answer first, then the answer: an agent who lost the question to
        another hub's agent meanwhile is told so, and sends no answer."""
        self.expire()
        now = self._clock()
        decision = self._settle(
            message.question, lambda state: decide_answer(message, agent, state, now)
        )
        self._send_answers(decision, None)

    def reply(
        self, agent: str, message: protocol.AnswerQuestion, comment: protocol.Comment
    ) -> None:
        """Answer any viewer comment, publicly or privately, threaded under it: a comment
        in the queue is answered as a question (claimed, timed)."""
        if self.state.get(comment.seq) is not None:
            self.answer(agent, message)
            return
        decision = decide_reply(message, agent, comment, self._clock())
        if isinstance(decision.reply, Refuse):
            raise decision.reply.error()
        thread: protocol.QuestionState | None = None
        for step in decision.append:
            if isinstance(step, OpenThread):
                thread = self._records.reply_thread(step.comment, step.group)
        self._send_answers(decision, thread)

    def finish(self, agent: str, question_id: int) -> None:
        self._settle(
            question_id, lambda state: decide_finish(question_id, agent, state, self._clock())
        )

    def withdraw(self, question_id: int) -> None:
        """A moderator deleted this comment: if it was a question, no agent answers it
        (one asked through another hub a moment ago, whose event has not come yet, is
        looked up in the store)."""
        if self.state.get(question_id) is None:
            self._behind(question_id)
        self._settle(question_id, lambda state: decide_withdraw(question_id, state, self._clock()))

    def expire(self) -> None:
        """Release claims nobody answered in time, so another agent can take them.

        Every hub may do it (before an agent's claim or answer, and the timers' holder
        on its clock): each release is stored only if the claim is still the lapsed one,
        so hubs that race store one release, and none undoes an answer another hub's
        agent gave meanwhile.
        """
        now = self._clock()
        for question_id in self.state.lapsed(now):
            self._settle(question_id, partial(decide_lapse, question_id, now=now))

    def _settle(self, question_id: int, decide: Callable[[QuestionsState], Decision]) -> Decision:
        """Decide on the replica and store the question's change the decision names.

        The store writes it only if the question is still as the decision found it
        (``was``). When another hub changed it meanwhile, the replica takes the stored
        state and the command is decided again on that: the agent hears the rules' real
        answer ("Already claimed by ann") or acts on the question as it now is. A
        refusal of the claim rules (a conflict) is checked the same way, as the claim it
        names may have been released through another hub a moment ago. A decision that
        changes no question stores nothing.
        """
        for _ in range(ATTEMPTS):
            decision = decide(self.state)
            if isinstance(decision.reply, Refuse):
                if decision.reply.code == ErrorCode.CONFLICT and self._behind(question_id):
                    continue
                raise decision.reply.error()
            change = next((s for s in decision.append if isinstance(s, SaveQuestion)), None)
            if change is None:
                return decision
            try:
                self._store_change(change)
            except QuestionMovedError as moved:
                # The event that stored it is still on its way and folds as a repeat;
                # an older one of the question's the feed brings first shows it as it
                # was for a moment, until that one comes.
                self.state = self.state.restate(moved.stored, 0)
                continue
            return decision
        raise ProtocolError(
            ErrorCode.CONFLICT,
            f"Question #{question_id} kept changing through other hubs; look at it again.",
        )

    def _store_change(self, change: SaveQuestion) -> None:
        question = change.question
        stored, published = self._records.update_question(
            _state(change.was),
            change.ts,
            claimed_by=question.claimed_by,
            claimed_at=question.claimed_at,
            answered_at=question.answered_at,
            done=question.done,
        )
        self._apply_own(stored, published)

    def _send_answers(self, decision: Decision, thread: protocol.QuestionState | None) -> None:
        """Store and send the decision's answers, each under the question as stored."""
        for step in decision.append:
            if isinstance(step, SaveQuestion):
                thread = _state(step.question)
            if isinstance(step, SendAnswer):
                assert thread is not None and thread.id == step.question_id
                self._publish(
                    [self._records.add_answer(thread, step.agent, step.text, step.private, step.ts)]
                )

    def _behind(self, question_id: int) -> bool:
        """Did the store hold a newer state of the question than the replica (another
        hub's change, or the question itself, whose event is still on its way)? The
        replica takes it, if so. A read, because no event has brought it yet."""
        since = self._last_seq()
        stored = self._records.question(question_id)
        if stored is None or question_of(stored) == self.state.get(question_id):
            return False
        self.state = self.state.restate(stored, since)
        return True

    def _apply_own(self, stored: protocol.QuestionState, published: Published) -> None:
        """Fold a question event this desk stored, then publish it: the next command here
        is decided on it at once; the feed brings it back later as a repeat."""
        self.state = self.state.apply(stored)
        self._publish([published])

    # ------------------------------------------------------------ look-ups

    def snapshot(self) -> protocol.Questions:
        self.expire()
        now = self._clock()
        groups = self.state.pending(now)
        stats = self.state.stats(now)
        questions = [_state(q) for group in groups for q in group.questions]
        return protocol.Questions(
            questions=questions,
            groups=[
                protocol.QuestionGroupInfo(
                    key=group.key, label=group.label, questions=[q.id for q in group.questions]
                )
                for group in groups
            ],
            stats=protocol.QueueStats(
                length=stats.length,
                unanswered=stats.unanswered,
                median_first_answer=stats.median_first_answer,
            ),
        )

    def suggestions(self, question_id: int) -> protocol.Suggestions:
        question = self.state.get(question_id)
        if question is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"No open question {question_id}.")
        product = self._pinned()
        passages = suggest(question.text, product, product.reviews if product else [])
        return protocol.Suggestions(
            question=question_id,
            passages=[protocol.Passage(source=p.source, text=p.text) for p in passages],
            canned=self.canned(product),
        )

    def canned(self, product: protocol.Product | None) -> list[protocol.CannedReply]:
        stored = self._records.setting(CANNED_KEY, protocol.SetCanned)
        replies = (
            stored.replies
            if stored is not None
            else [protocol.CannedReply(title=t, template=tpl) for t, tpl in DEFAULT_CANNED]
        )
        name, price, stock = _placeholders(product)
        return [
            protocol.CannedReply(
                title=r.title,
                template=r.template,
                text=render_canned(r.template, product=name, price=price, stock=stock),
            )
            for r in replies
        ]

    def set_canned(self, actor: Actor, message: protocol.SetCanned) -> None:
        if len(message.replies) > MAX_CANNED:
            raise ProtocolError(ErrorCode.INVALID, f"Keep it to {MAX_CANNED} canned replies.")
        for reply in message.replies:
            if not reply.title.strip() or not reply.template.strip():
                raise ProtocolError(
                    ErrorCode.INVALID, "Every canned reply needs a title and a text."
                )
            if len(reply.template) > MAX_TEMPLATE_CHARS:
                raise ProtocolError(
                    ErrorCode.INVALID,
                    f"The canned reply {reply.title!r} is over {MAX_TEMPLATE_CHARS} characters.",
                )
        replies = [
            protocol.CannedReply(title=r.title.strip(), template=r.template)
            for r in message.replies
        ]
        self._publish(
            self._records.put_setting(
                CANNED_KEY,
                protocol.SetCanned(replies=replies),
                actor,
                self._clock(),
            )
        )


def _state(question: Question) -> protocol.QuestionState:
    return protocol.QuestionState(
        seq=0,
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


def _placeholders(product: protocol.Product | None) -> tuple[str, str, str]:
    """{product}, {price} and {stock} for the pinned product (blank-ish without one)."""
    if product is None or not product.variants:
        return ("this product", "the price shown", "a few")
    prices = sorted(v.price for v in product.variants)
    price = format_money(Money(prices[0], product.currency))
    if prices[-1] != prices[0]:
        price = "from " + price
    stock = sum(v.stock for v in product.variants)
    return product.title, price, str(stock) if stock else "none"
