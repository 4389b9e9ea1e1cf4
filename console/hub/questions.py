"""The agents' question queue in the hub: detected questions, claims, answers, stats.

Detection, grouping and the claim rules are :mod:`console.domain.questions`; this desk
feeds them the room's comments and the clock, stores every change before announcing it
to staff (so a console that reconnects replays the queue), and threads answers under
their questions: in public for everyone, or privately for the asker alone.

In a cluster every hub's desk holds the same queue: it follows the question events other
hubs wrote, and the store decides between agents acting on one question through two hubs
(:meth:`QuestionDesk._settle`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Final, TypeVar

import msgspec

from console import protocol
from console.domain.chat import ChatRuleError, clean_comment
from console.domain.money import Money, format_money
from console.domain.questions import (
    ANSWER_TIMES_KEPT,
    ClaimError,
    Question,
    QuestionQueue,
    group_key,
    is_question,
)
from console.domain.suggestions import DEFAULT_CANNED, render_canned, suggest
from console.errors import ProtocolError, StoreError
from console.protocol import ErrorCode
from console.store.api import Team
from console.store.records import Actor, Published, QuestionMovedError

log = logging.getLogger(__name__)

CANNED_KEY = "canned"
MAX_CANNED = 50
MAX_TEMPLATE_CHARS = 500
#: How often a step is run again on the stored question when another hub changed it
#: meanwhile; more only under a storm of agents on one question.
ATTEMPTS: Final = 3

#: How the stored events the desk follows begin (msgspec writes the tag first): a
#: question's new state, and a deletion that re-signed the deleted viewer's questions.
_QUESTION_EVENT = b'{"t":"question",'
_ERASED_EVENT = b'{"t":"erased",'
QUESTION_EVENTS: Final = (_QUESTION_EVENT, _ERASED_EVENT)
_decode_question = msgspec.json.Decoder(protocol.QuestionState).decode
_decode_erased = msgspec.json.Decoder(protocol.Erased).decode

_Step = TypeVar("_Step", bound=Question | None)


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
        #: Seqs of the question events this desk wrote, not yet heard back from the bus.
        self._own: set[int] = set()
        self.reload()

    def reload(self) -> None:
        """The queue as the store has it: at the start, when this hub takes over the
        show's timers, and when the bus may have missed events (another hub's agents may
        have claimed questions meanwhile)."""
        self.queue = QuestionQueue()
        # Whatever the bus still brings back of this desk's own is read like another's.
        self._own.clear()
        # The answered ones first, done ones too, in the order they were answered: the
        # answer times are theirs (a done question leaves the queue, not the figures), and
        # a done one stays known as done. Open questions already among them count once.
        for stored in self._records.answered_questions(ANSWER_TIMES_KEPT):
            self.queue.restate(_question(stored))
        for stored in self._records.questions():
            self.queue.restate(_question(stored))

    def follow(self, seq: int, body: bytes) -> None:
        """An event of :data:`QUESTION_EVENTS` from the bus.

        A question event another hub wrote: the question is taken as the store has it
        now, not as the event says. The bus keeps each hub's events in order but not the
        hubs' among themselves, so an older state can arrive after a newer one; the row
        is always the newest (and re-signed if its asker's data was deleted since). The
        desk's own events are already applied. A deletion (``erased``, from any hub,
        this one too) re-signs the deleted viewer's questions in the queue.
        """
        try:
            if body.startswith(_ERASED_EVENT):
                erased = _decode_erased(body)
                self.queue.erase(erased.comments, erased.name)
                return
            if seq in self._own:
                self._own.discard(seq)
                return
            stored = self._records.question(_decode_question(body).id)
        except (msgspec.ValidationError, msgspec.DecodeError, StoreError):
            log.exception("question event %s does not apply; the queue is left as it was", seq)
            return
        if stored is not None:
            self.queue.restate(_question(stored))

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
        self._announce(published)

    # ------------------------------------------------------------ agents

    def claim(self, agent: str, question_id: int) -> None:
        self.expire()
        self._settle(question_id, lambda: self.queue.claim(question_id, agent, self._clock()))

    def release(self, agent: str, question_id: int) -> None:
        self._settle(question_id, lambda: self.queue.release(question_id, agent))

    def answer(self, agent: str, message: protocol.AnswerQuestion) -> None:
        """Claim-and-answer first, then the answer: an agent who lost the question to
        another hub's agent meanwhile is told so, and sends no answer."""
        self.expire()
        try:
            text = clean_comment(message.text)
        except ChatRuleError as exc:
            raise ProtocolError(ErrorCode.INVALID, str(exc)) from None
        now = self._clock()
        question = self._settle(
            message.question, lambda: self.queue.answer(message.question, agent, now)
        )
        self._publish(
            [self._records.add_answer(_state(question), agent, text, message.private, now)]
        )

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
        self._settle(question_id, lambda: self.queue.done(question_id, agent, self._clock()))

    def withdraw(self, question_id: int) -> None:
        """A moderator deleted this comment: if it was a question, no agent answers it
        (one asked through another hub a moment ago is looked up in the store)."""
        if self.queue.get(question_id) is None:
            self._behind(question_id)
        self._settle(question_id, lambda: self.queue.withdraw(question_id))

    def expire(self) -> None:
        """Release claims nobody answered in time, so another agent can take them.

        Every hub may do it (before an agent's claim or answer, and the timers' holder
        on its clock): each release is stored only if the claim is still the lapsed one,
        so hubs that race store one release, and none undoes an answer another hub's
        agent gave meanwhile.
        """
        now = self._clock()
        for question_id in self.queue.lapsed(now):
            self._settle(question_id, partial(self.queue.lapse, question_id, now))

    def _settle(self, question_id: int, step: Callable[[], _Step]) -> _Step:
        """Run a step of the rules on the queue and store what it decided.

        The store writes it only if the question is still as the step found it. When
        another hub changed it meanwhile, the queue takes the stored state and the step
        runs again on that: the agent hears the rules' real answer ("Already claimed by
        ann") or acts on the question as it now is. A refusal is checked the same way, as
        the claim it names may have been released through another hub a moment ago. A
        step that decides nothing (None) stores nothing.
        """
        for _ in range(ATTEMPTS):
            was = self.queue.get(question_id)
            try:
                question = step()
            except ClaimError as exc:
                if self._behind(question_id):
                    continue
                raise ProtocolError(ErrorCode.CONFLICT, str(exc)) from None
            if question is None:
                return question
            assert was is not None, "a step finds its question or raises ClaimError"
            try:
                _, published = self._records.update_question(
                    _state(was),
                    self._clock(),
                    claimed_by=question.claimed_by,
                    claimed_at=question.claimed_at,
                    answered_at=question.answered_at,
                    done=question.done,
                )
            except QuestionMovedError as moved:
                self.queue.restate(_question(moved.stored))
                continue
            self._announce(published)
            return question
        raise ProtocolError(
            ErrorCode.CONFLICT,
            f"Question #{question_id} kept changing through other hubs; look at it again.",
        )

    def _behind(self, question_id: int) -> bool:
        """Did the store hold a newer state of the question than the queue (another hub's
        change, or the question itself, whose event is still on its way)? The queue takes
        it, if so."""
        stored = self._records.question(question_id)
        if stored is None or _question(stored) == self.queue.get(question_id):
            return False
        self.queue.restate(_question(stored))
        return True

    def _announce(self, published: Published) -> None:
        """Publish a question event of this desk's (already applied to its queue)."""
        self._own.add(published[0])
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


def _question(stored: protocol.QuestionState) -> Question:
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
