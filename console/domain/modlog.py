"""The mod log as people read it: one line per action, filtered, and as CSV for export."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from typing import Protocol

from console.domain.records import ModEntryFacts

ACTION_LABELS: dict[str, str] = {
    "delete": "Deleted a comment",
    "timeout": "Timed out",
    "ban": "Banned",
    "unban": "Lifted ban / time-out",
    "hold": "Held for review",
    "approve": "Approved a held comment",
    "deny": "Denied a held comment",
    "auto_delete": "Refused (blocked term)",
    "modes": "Changed chat modes",
    "terms": "Changed blocked terms",
    "giveaway": "Drew or cancelled a giveaway",
}

CSV_COLUMNS = (
    "time_utc",
    "action",
    "by",
    "by_role",
    "viewer_id",
    "viewer",
    "comment_seq",
    "text",
    "reason",
    "until_utc",
)


class ChatModes(Protocol):
    """Room modes as the domain's ``RoomModes`` and the protocol's ``modes`` both have them."""

    @property
    def slow_seconds(self) -> int: ...
    @property
    def buyers_only(self) -> bool: ...
    @property
    def emoji_only(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    @property
    def hold_new_minutes(self) -> int: ...


def describe_modes(modes: ChatModes) -> str:
    """The modes in a few words, for the mod log and the consoles."""
    parts = []
    if modes.paused:
        parts.append("chat paused")
    if modes.slow_seconds:
        parts.append(f"slow mode {modes.slow_seconds} s")
    if modes.buyers_only:
        parts.append("buyers only")
    if modes.emoji_only:
        parts.append("emoji only")
    if modes.hold_new_minutes:
        parts.append(f"new chatters held {modes.hold_new_minutes} min")
    return ", ".join(parts) or "open chat"


def _utc(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def matches(entry: ModEntryFacts, action: str | None, text: str) -> bool:
    """Whether ``entry`` passes the log's filters: one action, and words in any field."""
    if action and entry.action != action:
        return False
    needle = text.strip().casefold()
    if not needle:
        return True
    haystack = " ".join((entry.actor, entry.name, entry.viewer_id, entry.text, entry.reason))
    return needle in haystack.casefold()


def mod_log_csv(entries: Iterable[ModEntryFacts]) -> str:
    """CSV with a header, oldest first, times in UTC (a spreadsheet-friendly record)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in sorted(entries, key=lambda e: (e.ts, e.id)):
        writer.writerow(
            (
                _utc(e.ts),
                e.action,
                e.actor,
                e.actor_role,
                e.viewer_id,
                e.name,
                "" if e.comment_seq is None else e.comment_seq,
                _defuse(e.text),
                _defuse(e.reason),
                _utc(e.until),
            )
        )
    return out.getvalue()


def _defuse(text: str) -> str:
    """Viewer text opened in a spreadsheet must not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
