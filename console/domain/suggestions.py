"""Answer material for an agent: product facts and owner reviews that fit a question.

An agent answering "does it run small?" should not scroll a description while the
viewer waits. :func:`suggest` ranks the description's sentences, one line per variant,
and review sentences by the words they share with the question, counting the question's
topic family as synonyms ("runs small", "true to size" and size values for sizing).
Canned replies (:data:`DEFAULT_CANNED`) cover the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from console.domain.money import Money, MoneyError, format_money
from console.domain.questions import TOPIC_KEYWORDS, content_words, topic
from console.domain.records import ProductFacts, ReviewFacts, VariantFacts

Source = Literal["description", "variant", "review"]

#: Sources in the order shown when scores tie.
_SOURCE_RANK: Final[dict[Source, int]] = {"description": 0, "variant": 1, "review": 2}
#: A review from someone who did not buy here is still worth reading, but second.
UNVERIFIED_WEIGHT: Final = 0.6
#: A word from the question's topic family counts half a word from the question, and
#: at most two count: being on topic ranks a line, it must not outrank the asked words.
SYNONYM_WEIGHT: Final = 0.5
SYNONYMS_COUNTED: Final = 2
#: What a variant line answers beyond its own words (price, stock and the option names).
_VARIANT_WORDS: Final = frozenset({"price", "cost", "much", "stock", "available", "left"})
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
_PLACEHOLDER: Final = re.compile(r"\{(product|price|stock)\}")


@dataclass(frozen=True, slots=True)
class Suggestion:
    source: Source
    text: str
    score: float


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _price(amount: int, currency: str) -> str:
    """The price as shoppers read it; a currency the project does not know is spelt out."""
    try:
        return format_money(Money(amount, currency))
    except MoneyError:
        return f"{amount} {currency} (minor units)"


def variant_line(product: ProductFacts, variant: VariantFacts) -> str:
    """One line per variant: "Size M, Blue: €49.00, 3 in stock".

    A size code ("M", "XL", "42") gets its option name in front; "Blue" says what it is.
    """
    names = [*product.options, *(name for name in variant.options if name not in product.options)]
    parts = []
    for name in names:
        value = variant.options.get(name)
        if value:
            code = value.isupper() or value[0].isdigit()
            parts.append(f"{name} {value}" if code else value)
    stock = f"{variant.stock} in stock" if variant.stock > 0 else "sold out"
    label = ", ".join(parts) or product.title
    return f"{label}: {_price(variant.price, product.currency)}, {stock}"


def _synonyms(question: str, product: ProductFacts | None) -> set[str]:
    """The question's topic family as words, plus the size values when it is about size."""
    found = topic(question)
    if found == "other":
        return set()
    words = {word for keyword in TOPIC_KEYWORDS[found] for word in content_words(keyword)}
    if found == "sizing" and product is not None:
        for variant in product.variants:
            for name, value in variant.options.items():
                if "size" in name.casefold():
                    words.update(content_words(value))
    return words


def suggest(
    question: str,
    product: ProductFacts | None,
    reviews: Sequence[ReviewFacts],
    limit: int = 5,
) -> list[Suggestion]:
    """Up to ``limit`` lines that may answer ``question``, best first.

    The order is deterministic (score, then description before variants before reviews,
    then the order in the source), and nothing that shares no word with the question or
    its topic is returned.
    """
    asked = set(content_words(question))
    related = _synonyms(question, product) - asked
    if not asked and not related:
        return []
    candidates: list[tuple[Source, str, set[str], float]] = []
    if product is not None:
        for sentence in _sentences(product.description):
            candidates.append(("description", sentence, set(content_words(sentence)), 1.0))
        for variant in product.variants:
            extra = _VARIANT_WORDS | {w for name in variant.options for w in content_words(name)}
            line = variant_line(product, variant)
            candidates.append(("variant", line, set(content_words(line)) | extra, 1.0))
    for review in reviews:
        weight = 1.0 if review.verified_owner else UNVERIFIED_WEIGHT
        who = f"{review.author} (verified owner)" if review.verified_owner else review.author
        for sentence in _sentences(review.text):
            words = set(content_words(sentence))
            candidates.append(("review", f"{who}: {sentence}", words, weight))
    ranked: list[tuple[float, int, int, Suggestion]] = []
    seen: set[str] = set()
    for index, (source, text, words, weight) in enumerate(candidates):
        on_topic = min(len(related & words), SYNONYMS_COUNTED)
        overlap = len(asked & words) + SYNONYM_WEIGHT * on_topic
        score = round(overlap * weight, 3)
        if score <= 0 or text in seen:
            continue
        seen.add(text)
        ranked.append((-score, _SOURCE_RANK[source], index, Suggestion(source, text, score)))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[: max(0, limit)]]


def render_canned(template: str, *, product: str, price: str, stock: str) -> str:
    """Fill {product}, {price} and {stock}; anything else, stray braces included, stays
    as typed, because the team edits these templates and a typo must not break a reply.
    """
    values = {"product": product, "price": price, "stock": stock}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


#: (title, template) pairs a team starts from; ``stock`` is the count left, as text.
DEFAULT_CANNED: Final[tuple[tuple[str, str], ...]] = (
    ("Price", "{product} is {price} during the show."),
    ("Stock", "{stock} left of {product} right now; tap Buy under the video to get yours."),
    ("How to buy", "Tap {product} under the video, pick your options and pay in two taps."),
    ("Checking", "Good question! Let me check that for you, one moment."),
    (
        "Sizing",
        "For {product}, see the size chart on the product card, or tell us your usual size.",
    ),
    ("Thanks", "Thanks for watching and for asking!"),
)
