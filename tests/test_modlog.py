"""The mod log's filter, its CSV export and the modes in words."""

from __future__ import annotations

import csv
import io

from console import protocol
from console.domain.modlog import CSV_COLUMNS, describe_modes, matches, mod_log_csv


def _entry(n: int, action: str, **fields: object) -> protocol.ModEntry:
    return protocol.ModEntry(
        seq=n,
        id=n,
        ts=1_790_000_000.0 + n,
        action=action,
        actor="Sam",
        actor_role="moderator",
        **fields,  # type: ignore[arg-type]
    )


def test_the_filter_takes_one_action_and_words_from_any_field() -> None:
    ban = _entry(1, "ban", viewer_id="v-1", name="Ann", reason="Spam links")
    delete = _entry(2, "delete", viewer_id="v-2", name="Bob", text="buy followers")
    assert matches(ban, None, "") and matches(ban, "ban", "")
    assert not matches(ban, "delete", "")
    assert matches(ban, None, "spam") and matches(delete, None, "FOLLOWERS")
    assert matches(delete, None, "sam"), "the moderator's name counts too"
    assert not matches(delete, None, "ann")


def test_the_csv_has_a_header_every_entry_oldest_first_and_no_formulas() -> None:
    entries = [
        _entry(2, "timeout", viewer_id="v-1", name="Ann", reason="caps", until=1_790_000_600.0),
        _entry(1, "delete", viewer_id="v-2", name="Bob", text='=HYPERLINK("x")'),
    ]
    rows = list(csv.reader(io.StringIO(mod_log_csv(entries))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[1] for r in rows[1:]] == ["delete", "timeout"]
    assert rows[1][7] == '\'=HYPERLINK("x")', "a spreadsheet shows it, never runs it"
    assert rows[2][9] == "2026-09-21 14:23:20" and rows[2][8] == "caps"


def test_modes_in_words() -> None:
    assert describe_modes(protocol.Modes(seq=0)) == "open chat"
    modes = protocol.Modes(seq=0, slow_seconds=30, buyers_only=True, paused=True)
    assert describe_modes(modes) == "chat paused, slow mode 30 s, buyers only"
