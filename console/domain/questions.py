"""The question queue: which comments are questions, what they are about, who answers.

During a show hundreds of viewers ask the same few things ("does it run small?",
"ship to Canada?"). Grouping questions by topic lets one agent answer a whole group at
once; claims stop two agents answering the same viewer, and expire so a question an
agent walked away from goes back to the team.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final, Literal, get_args

from console.domain.moderation import format_wait, has_link, simplify

Topic = Literal[
    "sizing", "shipping", "price", "stock", "colour", "material", "returns", "care", "other"
]

CLAIM_TIMEOUT: Final = 120.0
#: First-answer times kept for the median; older ones fall off.
ANSWER_TIMES_KEPT: Final = 1_000

# --- Reading a comment ------------------------------------------------------------

#: Keyword families, with a weight: a noun that names the subject ("shipping") outweighs
#: a word that often only qualifies it ("how much", "large", "blue"). Multi-word entries
#: match whole words in order. The order of the families breaks ties: "can I return it if
#: it doesn't fit" is about returns, "how do I wash the cotton" about care. A phrase that
#: asks outweighs a word of the product's name: "does the linen shirt run small?" is about
#: sizing, not the linen.
TOPIC_KEYWORDS: Final[dict[Topic, dict[str, float]]] = {
    "stock": {
        "stock": 2, "in stock": 3, "available": 1.5, "availability": 2, "restock": 2,
        "restocking": 2, "restocked": 2, "sold out": 3, "left": 1, "any left": 3,
        "still available": 3, "back in": 1, "how many": 1,
    },
    "shipping": {
        "ship": 2, "ships": 2, "shipping": 2, "shipped": 2, "deliver": 2, "delivery": 2,
        "delivered": 2, "arrive": 2, "arrives": 2, "arrival": 2, "customs": 2, "postage": 2,
        "tracking": 2, "courier": 2, "dispatch": 2, "international": 1, "ship to": 3,
    },
    "returns": {
        "return": 2, "returns": 2, "returned": 2, "refund": 2, "refunds": 2, "exchange": 2,
        "exchanges": 2, "send back": 2, "send it back": 2, "warranty": 1, "guarantee": 1,
    },
    "care": {
        "wash": 2, "washing": 2, "washable": 2, "machine wash": 3, "clean": 2, "cleaning": 2,
        "care": 2, "dryer": 2, "tumble": 2, "iron": 2, "ironing": 2, "dry clean": 3,
        "shrink": 2, "shrinks": 2,
    },
    "sizing": {
        "size": 2, "sizes": 2, "sizing": 2, "fit": 2, "fits": 2, "fitting": 2,
        "true to size": 3, "tts": 2, "runs small": 3, "runs large": 3, "runs big": 3,
        "run small": 3, "run large": 3, "run big": 3, "running small": 3, "size up": 2,
        "size down": 2, "measurements": 2, "measurement": 2, "inseam": 2, "length": 1,
        "small": 1, "large": 1, "big": 1, "tight": 1, "loose": 1, "waist": 1, "chest": 1,
        "petite": 1, "medium": 1, "tall": 1, "height": 1, "xs": 1, "xl": 1, "xxl": 1,
    },
    "price": {
        "price": 2, "prices": 2, "priced": 2, "cost": 2, "costs": 2, "how much": 1.5,
        "discount": 2, "coupon": 2, "promo": 2, "code": 1, "deal": 1, "sale": 1,
        "cheap": 1, "cheaper": 1, "expensive": 1, "instalments": 1, "installments": 1,
    },
    "material": {
        "material": 2, "materials": 2, "fabric": 2, "cotton": 2, "leather": 2, "wool": 2,
        "silk": 2, "linen": 2, "polyester": 2, "waterproof": 2, "water resistant": 2,
        "synthetic": 2, "made of": 2, "made from": 2, "breathable": 2, "vegan": 1,
        "stretchy": 1, "stretch": 1, "lined": 1, "organic": 1,
    },
    "colour": {
        "colour": 2, "color": 2, "colours": 2, "colors": 2, "colourway": 2, "shade": 2,
        "blue": 1, "red": 1, "black": 1, "white": 1, "green": 1, "pink": 1, "grey": 1,
        "gray": 1, "beige": 1, "navy": 1, "brown": 1, "yellow": 1, "purple": 1, "orange": 1,
        "cream": 1,
    },
}  # fmt: skip


def _set(words: str) -> frozenset[str]:
    """A word set written as text, so the long lists below stay readable."""
    return frozenset(words.split())


#: Words that carry no subject: "is this waterproof?" and "Is it waterproof??" share
#: their content words once these are gone.
STOPWORDS: Final = _set(
    """a about am an and any anyone anybody are as at be been but by can could did do
    does dont doesnt for from get got had has have hello hey hi how i if im in is isnt it
    its just know me might my of ok okay on or our please pls plz r really so some
    someone tell that the their them there these they this those to too u ur very was we
    were what whats when where which who why will with would you your yall"""
)

_WH: Final = _set("what whats how hows why when where which who whom whose wat wut")
_AUX: Final = _set(
    """does do did is are was were can could will would should shall may might has have
    had isnt arent doesnt dont didnt wont cant wasnt werent r"""
)
_SUBJECTS: Final = _set(
    """you u ya it this that these those they there we i he she the a an my your ur its
    anyone anybody someone somebody any one her his them"""
)
_ANY: Final = _set("any anyone anybody anything someone somebody")
#: Words a viewer puts before the question itself ("hi! so does it...").
_FILLER: Final = _set(
    """hi hii hey heyy hello ok okay so and but also um umm hmm lol omg oh sorry pls
    please plz quick question q guys girl babe hun sis btw wait"""
)
#: "how cute", "what a dress": exclamations that open like questions.
_EXCLAIMED: Final = _set(
    """a an cute cool nice pretty beautiful gorgeous lovely amazing awesome adorable
    great fun sweet stunning fab fabulous fantastic perfect"""
)
#: Phrases that ask wherever they stand in a clause.
_ASKING: Final = re.compile(
    r"\b(?:how much|how many|how long|what size|which size|ship(?:s|ping)? to|deliver to|"
    r"i wonder|wondering|in stock|(?:price|link|size|code|sizes) (?:pls|plz|please))\b"
)
_PLEASE: Final = frozenset({"pls", "plz", "please"})
_CLAUSE: Final = re.compile(r"([.!;,:\n…]+)")
_MENTION: Final = re.compile(r"@\w+")
#: Compiled once: the blocker groups split every clause of a show's chat into words.
_WORD: Final = re.compile(r"\w+")


#: Every link :func:`has_link` finds has a scheme's colon, a dot, an ideographic full
#: stop or a spelt "dot" in it; most chat has none, so most comments skip the look-up
#: word by word (the room pulse reads every comment of a show several times).
_MAY_LINK: Final = re.compile("[.:\u3002]|dot")


@lru_cache(maxsize=1_024)
def plain_text(text: str) -> str:
    """Simplified text without @mentions and links, which never say what is asked.

    Cached: the rules ask it of the same comment several times in a row (is it a
    question, its topic, its words, its blocker groups).
    """
    simplified = _MENTION.sub(" ", simplify(text))
    words = simplified.split()
    if not _MAY_LINK.search(simplified):
        return " ".join(words)
    return " ".join(word for word in words if not has_link(word))


def split_words(plain: str) -> list[str]:
    """The words of text already read by :func:`plain_text`, apostrophes dropped so
    "what's" and "whats" read alike."""
    return _WORD.findall(plain.replace("'", "").replace("\u2019", ""))


def plain_words(text: str) -> list[str]:
    """Plain words: the reading every chat-text rule shares (topics here, blocker groups
    in :mod:`console.domain.insight.blockers`): simplified, no @mentions, no links."""
    return split_words(plain_text(text))


def _clause_asks(words: list[str]) -> bool:
    while words and words[0] in _FILLER:
        words = words[1:]
    if not words:
        return False
    first, rest = words[0], words[1:]
    if first in _WH and rest:
        return rest[0] not in _EXCLAIMED
    if first in _AUX and rest and rest[0] in _SUBJECTS:
        return True
    if first in _ANY and rest:
        return True
    joined = " ".join(words)
    if _ASKING.search(joined):
        return True
    return bool(_PLEASE & set(words)) and topic(joined) != "other"


def is_question(text: str) -> bool:
    """Is this comment a question an agent should see?

    A "?" anywhere (outside a link) says yes. Without one, a clause that opens like a
    question ("does it come in blue", "what size should i get", "any discount codes")
    or asks in a shopping phrase ("ship to canada", "how much", "price pls") counts,
    unless the clause ends in "!" ("how cute!"). Links alone, "lol" and "I love it" do not.
    """
    return plain_asks(plain_text(text))


def plain_asks(plain: str) -> bool:
    """:func:`is_question` of text already read by :func:`plain_text` (a clause of it,
    say): the blocker groups ask it of every clause that names a matter."""
    if "?" in plain or "¿" in plain:
        return True
    pieces = _CLAUSE.split(plain)
    for index in range(0, len(pieces), 2):
        ending = pieces[index + 1] if index + 1 < len(pieces) else ""
        if "!" in ending:
            continue
        clause = split_words(pieces[index])
        if _clause_asks(clause):
            return True
    return False


def topic(text: str) -> Topic:
    """The subject of a question, from the keyword families of :data:`TOPIC_KEYWORDS`."""
    joined = f" {' '.join(plain_words(text))} "
    best: Topic = "other"
    best_score = 0.0
    for name, keywords in TOPIC_KEYWORDS.items():
        score = sum(weight for word, weight in keywords.items() if f" {word} " in joined)
        if score > best_score:
            best, best_score = name, score
    return best


def stem(word: str) -> str:
    """Drop a plural "s" so "sizes" meets "size"; crude, but the same on both sides."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """The words that say what a comment is about, stemmed, in order, stopwords gone."""
    return [stem(word) for word in plain_words(text) if word not in STOPWORDS]


def group_key(text: str) -> str:
    """The key questions are grouped by: the topic, or else the sorted content words.

    With no content words left ("what?"), all the words are used, so "what?" and
    "what??" still meet.
    """
    found = topic(text)
    if found != "other":
        return found
    words = content_words(text) or plain_words(text)
    return " ".join(sorted(set(words)))


# --- The queue ----------------------------------------------------------------------


class ClaimError(ValueError):
    """An agent cannot take or act on a question; the message says who holds it and why."""


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    viewer_id: str
    name: str
    text: str
    ts: float
    group: str
    claimed_by: str | None = None
    #: When the claim was taken or last refreshed by an answer.
    claimed_at: float | None = None
    #: The first answer only; later answers refresh the claim.
    answered_at: float | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    key: str
    label: str
    questions: list[Question]
    oldest_ts: float


@dataclass(frozen=True, slots=True)
class QueueStats:
    #: Questions not done yet.
    length: int
    #: Of those, questions nobody has answered yet.
    unanswered: int
    #: Median seconds from asking to the first answer, over recent answered questions.
    median_first_answer: float | None
    #: Seconds the oldest unanswered question has waited.
    oldest_wait: float | None


def _claim_live(question: Question, now: float) -> bool:
    return (
        question.claimed_by is not None
        and question.claimed_at is not None
        and now - question.claimed_at < CLAIM_TIMEOUT
    )


# --- The claim rules: a question as known (or ``None``) in, its next state out -------
#
# Pure functions: the room core (:mod:`console.room.questions`) keeps the questions as a
# replica folded from events, and decides each agent's command with them.


def open_question(question_id: int, question: Question | None) -> Question:
    """``question`` if agents may still act on it; else :class:`ClaimError` says why."""
    if question is None:
        raise ClaimError(f"There is no question #{question_id}; it may have been cleared.")
    if question.done:
        raise ClaimError(f"Question #{question_id} is already done.")
    return question


def held_for(question_id: int, question: Question | None, agent: str, now: float) -> Question:
    """The open question, if ``agent`` may act on it now; else :class:`ClaimError`."""
    question = open_question(question_id, question)
    holder = question.claimed_by
    if holder is not None and holder != agent and _claim_live(question, now):
        since = now - (question.claimed_at or now)
        raise ClaimError(
            f"Already claimed by {holder} ({format_wait(since)} ago); it goes back to "
            f"the queue in {format_wait(CLAIM_TIMEOUT - since)} unless {holder} answers."
        )
    return question


def take_claim(question_id: int, question: Question | None, agent: str, now: float) -> Question:
    """Take the question; claiming it again refreshes the claim. An expired claim of
    someone else's is taken over."""
    question = held_for(question_id, question, agent, now)
    return replace(question, claimed_by=agent, claimed_at=now)


def release_claim(question_id: int, question: Question | None, agent: str) -> Question:
    """Give a claim back; only its holder may (a stale claim runs out by itself)."""
    question = open_question(question_id, question)
    holder = question.claimed_by
    if holder is not None and holder != agent:
        raise ClaimError(
            f"{holder} holds question #{question_id}; only they can release it. "
            f"A claim goes back to the queue {format_wait(CLAIM_TIMEOUT)} after the "
            "last answer."
        )
    return replace(question, claimed_by=None, claimed_at=None)


def record_answer(question_id: int, question: Question | None, agent: str, now: float) -> Question:
    """An answer by the holder (a free question is claimed on the way); only the first
    answer's time is kept, later ones refresh the claim."""
    question = held_for(question_id, question, agent, now)
    return replace(
        question,
        claimed_by=agent,
        claimed_at=now,
        answered_at=now if question.answered_at is None else question.answered_at,
    )


def close_question(question_id: int, question: Question | None, agent: str, now: float) -> Question:
    """Close the question; it leaves the queue but its answer time stays in the stats."""
    question = held_for(question_id, question, agent, now)
    return replace(question, claimed_by=None, claimed_at=None, done=True)


def withdraw_question(question: Question | None) -> Question | None:
    """Take a question off the queue whoever holds it (a moderator deleted it); ``None``
    when it is not in the queue."""
    if question is None or question.done:
        return None
    return replace(question, claimed_by=None, claimed_at=None, done=True)


def claim_lapsed(question: Question, now: float) -> bool:
    """Whether the open question's claim was not taken or refreshed by an answer for
    :data:`CLAIM_TIMEOUT`."""
    return not question.done and question.claimed_by is not None and not _claim_live(question, now)


def lapse_claim(question: Question | None, now: float) -> Question | None:
    """The question with its claim released if it has lapsed; ``None`` if it has not (an
    answer refreshed it meanwhile) or the question is no longer open.

    One question at a time, so that a hub stores each release as a change of the claim
    it saw, and a release another hub stored first is not written again.
    """
    if question is None or not claim_lapsed(question, now):
        return None
    return replace(question, claimed_by=None, claimed_at=None)


def pending_groups(open_questions: Iterable[Question], now: float) -> list[QuestionGroup]:
    """Open questions by group, the group with the oldest question first.

    A claim that has run out shows as free even before it is released, so the team never
    waits on an agent who has left.
    """
    groups: dict[str, list[Question]] = {}
    for question in sorted(open_questions, key=lambda q: (q.ts, q.id)):
        if question.claimed_by is not None and not _claim_live(question, now):
            question = replace(question, claimed_by=None, claimed_at=None)
        groups.setdefault(question.group, []).append(question)
    listed = [
        QuestionGroup(key, _label(key, questions), questions, questions[0].ts)
        for key, questions in groups.items()
    ]
    return sorted(listed, key=lambda group: (group.oldest_ts, group.key))


def queue_stats(
    open_questions: Iterable[Question], answer_times: Collection[float], now: float
) -> QueueStats:
    """The queue's figures; ``answer_times`` are seconds from asking to a first answer."""
    questions = list(open_questions)
    waiting = [q.ts for q in questions if q.answered_at is None]
    return QueueStats(
        length=len(questions),
        unanswered=len(waiting),
        median_first_answer=statistics.median(answer_times) if answer_times else None,
        oldest_wait=max(0.0, now - min(waiting)) if waiting else None,
    )


def answer_time(question: Question, answered_at: float) -> float:
    """Seconds from asking to the first answer (never below zero: clocks of two hubs)."""
    return max(0.0, answered_at - question.ts)


def _label(key: str, questions: list[Question]) -> str:
    """ "7 viewers asked about sizing" for a crowd, the question itself for one viewer."""
    viewers = len({question.viewer_id for question in questions})
    if viewers < 2:
        return questions[0].text
    if key in get_args(Topic):
        return f"{viewers} viewers asked about {key}"
    return f"{viewers} viewers asked: {questions[0].text}"
