"""Other hubs' viewer counts: the room shows their sum with its own.

Presence is not an event (it is not replayed), so each hub repeats its count every
second; a hub that stops repeating it (it died) drops out after a few seconds instead of
holding its last count for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: A hub's count is forgotten when it has not been repeated for this long.
PRESENCE_TTL = 5.0


@dataclass(slots=True)
class PresenceBoard:
    ttl: float = PRESENCE_TTL
    _counts: dict[str, tuple[int, float]] = field(default_factory=dict)

    def heard(self, hub: str, count: int, now: float) -> bool:
        """Record ``hub``'s count; True when the sum changed."""
        before = self._counts.get(hub)
        self._counts[hub] = (count, now)
        return before is None or before[0] != count

    def lapse(self, now: float) -> bool:
        """Forget hubs not heard within the TTL; True when the sum changed."""
        gone = [hub for hub, (count, seen) in self._counts.items() if now - seen > self.ttl]
        changed = any(self._counts[hub][0] for hub in gone)
        for hub in gone:
            del self._counts[hub]
        return changed

    def total(self) -> int:
        return sum(count for count, _ in self._counts.values())
