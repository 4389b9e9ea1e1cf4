"""The agents' question queue in the hub: detected questions, claims, answers, stats.

Detection, grouping and the claim rules are :mod:`console.domain.questions`; this desk
feeds them the room's comments and the clock, stores every change before announcing it
to staff (so a console that reconnects replays the queue), and threads answers under
their questions: in public for everyone, or privately for the asker alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from console import protocol
from console.domain.chat import ChatRuleError, clean_comment
from console.domain.money import Money, format_money
from console.domain.questions import ClaimError, Question, QuestionQueue, group_key, is_question
from console.domain.suggestions import DEFAULT_CANNED, render_canned, suggest
from console.errors import ProtocolError
from console.protocol import ErrorCode
from console.store.api import Team
from console.store.records import Actor, Published

CANNED_KEY = "canned"
MAX_CANNED = 50
MAX_TEMPLATE_CHARS = 500


class QuestionDesk:
    def __init__(
        self,
        records: Team,
        publish: Callable[[list[Published]], None],
        clock: Callable[[], float],
        pinned: Callable[[], protocol.Product | None],
    ) -> None:
        self._records = records
        self._publish = publish
        self._clock = clock
        self._pinned = pinned
        self.queue = QuestionQueue()
        self.reload()

    def reload(self) -> None:
        """The queue as the store has it: at the start, and when this hub takes over the
        show's timers (another hub's agents may have claimed questions meanwhile)."""
        self.queue = QuestionQueue()
        for stored in self._records.questions():
            self._restore(stored)

    def _restore(self, stored: protocol.QuestionState) -> None:
        """Rebuild the queue after a restart from what the store says about each question."""
        self.queue.add(stored.id, stored.viewer_id, stored.name, stored.text, stored.ts)
        if stored.claimed_by is not None and stored.claimed_at is not None:
            self.queue.claim(stored.id, stored.claimed_by, stored.claimed_at)
            if stored.answered_at is not None:
                self.queue.answer(stored.id, stored.claimed_by, stored.answered_at)

    # ------------------------------------------------------------ from the chat

    def consider(self, comment: protocol.Comment) -> None:
        """Queue a viewer's comment if it asks something."""
        if comment.role != "viewer" or not is_question(comment.text):
            return
        question = self.queue.add(
            comment.seq, comment.viewer_id, comment.name, comment.text, comment.ts
        )
        _, published = self._records.add_question(
            comment, question.group or group_key(comment.text)
        )
        self._publish([published])

    # ------------------------------------------------------------ agents

    def claim(self, agent: str, question_id: int) -> None:
        self.expire()
        question = self._act(lambda: self.queue.claim(question_id, agent, self._clock()))
        self._store(question)

    def release(self, agent: str, question_id: int) -> None:
        question = self._act(lambda: self.queue.release(question_id, agent))
        self._store(question)

    def answer(self, agent: str, message: protocol.AnswerQuestion) -> None:
        self.expire()
        try:
            text = clean_comment(message.text)
        except ChatRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        now = self._clock()
        question = self._act(lambda: self.queue.answer(message.question, agent, now))
        state = _state(question)
        published = self._records.add_answer(state, agent, text, message.private, now)
        self._publish([published])
        self._store(question)

    def reply(
        self, agent: str, message: protocol.AnswerQuestion, comment: protocol.Comment
    ) -> None:
        """Answer any viewer comment, publicly or privately, threaded under it.

        A comment in the queue is answered as a question (claimed, timed); any other gets
        a closed thread of its own, so the reply is stored and shown like an answer.
        """
        if self.queue.get(comment.seq) is not None:
            self.answer(agent, message)
            return
        try:
            text = clean_comment(message.text)
        except ChatRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        thread = self._records.reply_thread(comment, group_key(comment.text))
        self._publish(
            [self._records.add_answer(thread, agent, text, message.private, self._clock())]
        )

    def finish(self, agent: str, question_id: int) -> None:
        question = self._act(lambda: self.queue.done(question_id, agent, self._clock()))
        self._store(question)

    def withdraw(self, question_id: int) -> None:
        """A moderator deleted this comment: if it was a question, no agent answers it."""
        question = self.queue.withdraw(question_id)
        if question is not None:
            self._store(question)

    def erase(self, question_ids: Iterable[int], name: str) -> None:
        """A deletion re-signed the stored questions; the queue in memory follows."""
        self.queue.erase(question_ids, name)

    def expire(self) -> None:
        """Release claims nobody answered in time, so another agent can take them."""
        for question in self.queue.expire(self._clock()):
            self._store(question)

    def _act(self, step: Callable[[], Question]) -> Question:
        try:
            return step()
        except ClaimError as exc:
            raise ProtocolError(ErrorCode.CONFLICT, str(exc)) from None

    def _store(self, question: Question) -> None:
        _, published = self._records.update_question(
            question.id,
            self._clock(),
            claimed_by=question.claimed_by,
            claimed_at=question.claimed_at,
            answered_at=question.answered_at,
            done=question.done,
        )
        self._publish([published])

    # ------------------------------------------------------------ look-ups

    def snapshot(self) -> protocol.Questions:
        self.expire()
        now = self._clock()
        groups = self.queue.pending(now)
        stats = self.queue.stats(now)
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
        question = self.queue.get(question_id)
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
