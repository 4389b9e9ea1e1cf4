"""What a host needs to know about a product's reviews while it is on stream.

Average and count alone hide the one-star review a viewer is about to quote in the
chat, so the summary also picks the most critical one (the lowest rating, the newest
among equals) next to the latest.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from console.domain.records import ReviewFacts

_R = TypeVar("_R", bound=ReviewFacts)


@dataclass(frozen=True, slots=True)
class ReviewSummary(Generic[_R]):
    count: int
    average: float | None
    #: Number of reviews per star rating, 5 down to 1 (every key present).
    distribution: dict[int, int]
    owners: int
    latest: _R | None
    most_critical: _R | None


def summarise(reviews: Sequence[_R]) -> ReviewSummary[_R]:
    distribution = {stars: 0 for stars in range(5, 0, -1)}
    for review in reviews:
        distribution[review.rating] += 1
    if not reviews:
        return ReviewSummary(0, None, distribution, 0, None, None)
    newest_first = sorted(reviews, key=lambda r: (r.created, r.id), reverse=True)
    critical = min(newest_first, key=lambda r: r.rating)
    return ReviewSummary(
        count=len(reviews),
        average=sum(r.rating for r in reviews) / len(reviews),
        distribution=distribution,
        owners=sum(1 for r in reviews if r.verified_owner),
        latest=newest_first[0],
        most_critical=critical if critical.rating < 4 else None,
    )


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def published_day(now: float) -> str:
    """The date an owner's review carries: the day (UTC) it went up.

    Dated when it is published, so a review a moderator approved an hour later carries
    that day, the day viewers first saw it.
    """
    return datetime.datetime.fromtimestamp(now, datetime.UTC).date().isoformat()
