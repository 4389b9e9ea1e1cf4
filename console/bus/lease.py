"""A named lease: the one hub of a show that runs its timers (deal end, question expiry).

The rules, without I/O, so they can be tested with a plain clock: a hub that holds the
lease renews it every third of its ttl; a hub that does not tries to take it as often.
The server (Redis) forgets a lease that is not renewed within the ttl, so when its holder
dies (``kill -9``) another hub takes it within the ttl and one more attempt.

A holder that cannot renew (Redis unreachable, an answer that never comes) stops acting
as the holder one attempt *before* the ttl runs out, counted from when its last renewal
was sent: by then no other hub can have taken the lease yet, so two hubs never both
believe they hold it. Firing a timer twice would be harmless anyway (the store decides),
but it would be noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

#: Seconds a lease lives without renewal; a dead holder's timers move within about this.
LEASE_TTL: Final = 5.0


@dataclass(slots=True)
class LeaseRules:
    """One hub's view of one lease; times are that hub's monotonic clock."""

    ttl: float = LEASE_TTL
    #: Until when this hub may act as the holder; None while it does not hold the lease.
    _until: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.ttl <= 0:
            raise ValueError(f"a lease's ttl must be positive, not {self.ttl}")

    @property
    def interval(self) -> float:
        """Seconds between attempts: renewals of a holder, takes of the others."""
        return self.ttl / 3

    @property
    def ttl_ms(self) -> int:
        """The ttl as the server is told it."""
        return max(1, round(self.ttl * 1000))

    def holds(self, now: float) -> bool:
        return self._until is not None and now < self._until

    def next_step(self, now: float) -> Literal["renew", "take"]:
        """What to ask the server: renew a lease this hub holds, or try to take it."""
        return "renew" if self.holds(now) else "take"

    def wait(self, now: float) -> float:
        """Seconds until the next attempt; a holder whose renewals failed wakes when its
        margin ends, to stop acting as the holder on time."""
        if self._until is None:
            return self.interval
        return max(0.0, min(self.interval, self._until - now))

    def answered(self, sent: float, won: bool) -> None:
        """The server's answer to an attempt sent at ``sent``: whether this hub holds it."""
        self._until = sent + self.ttl - self.interval if won else None

    def unanswered(self, now: float) -> None:
        """An attempt failed (no answer): the lease is kept only until its margin ends."""
        if not self.holds(now):
            self._until = None

    def released(self) -> None:
        self._until = None
