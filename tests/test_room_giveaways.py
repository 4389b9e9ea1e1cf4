"""The room's giveaway in the room core without a socket: folded from events, and the
host's and viewers' commands decided on it.

No hub, no loop, no clock: events, the facts the shell reads and the time go in, the
giveaway and decisions come out. The last test puts the hub's desk shell on a store
(still no socket, no bus) to show that a hub follows another's giveaway by folding its
events, so a viewer enters through either hub and the starting hub draws them.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import protocol
from console.domain.giveaway import SEED_BYTES, winner_of
from console.errors import ProtocolError
from console.hub.giveaways import GiveawayDesk
from console.protocol import ErrorCode
from console.room.decision import (
    Acknowledge,
    AddEntry,
    AnnounceGiveaway,
    Decision,
    LogGiveaway,
    Refuse,
)
from console.room.giveaways import (
    NO_SEED,
    Entrant,
    GiveawayEvent,
    GiveawayState,
    decide_cancel,
    decide_draw,
    decide_enter,
    decide_start,
    giveaway_event,
    is_keyword_entry,
)
from console.store import Store
from console.store.records import Actor

NOW = 1_700_000_000.0
SEED = bytes(range(SEED_BYTES))
HOST = Actor("Mia", "host")


def start(
    seconds: float = 60, eligibility: str = "everyone", keyword: str | None = None
) -> protocol.StartGiveaway:
    return protocol.StartGiveaway(
        prize="Logo Tee",
        seconds=seconds,
        eligibility=eligibility,  # type: ignore[arg-type]
        keyword=keyword,
    )


def viewer(
    n: int, *, commented: bool = False, bought: bool = False, banned: bool = False
) -> Entrant:
    return Entrant(f"viewer-{n:04d}", f"Viewer {n}", commented, bought, banned)


class Log:
    """One hub storing each decided event as the log's next, and folding it."""

    def __init__(self) -> None:
        self.events: list[GiveawayEvent] = []
        self.state = GiveawayState()
        self.mod_log: list[LogGiveaway] = []

    def take(self, decision: Decision) -> Decision:
        for step in decision.append:
            match step:
                case AnnounceGiveaway(event=event) | AddEntry(entry=event):
                    stored = msgspec.structs.replace(event, seq=len(self.events) + 1)
                    self.events.append(stored)
                    self.state = self.state.apply(stored)
                case LogGiveaway():
                    self.mod_log.append(step)
        return decision


def opened(command: protocol.StartGiveaway | None = None) -> Log:
    log = Log()
    decided = log.take(decide_start(command or start(), log.state, "G-1", SEED, NOW))
    assert decided.reply == Acknowledge()
    return log


# ---------------------------------------------------------------- the fold


def test_the_start_event_opens_the_giveaway_it_carries() -> None:
    log = opened(start(keyword="win"))
    giveaway = log.state.giveaway
    assert giveaway is not None
    assert (giveaway.id, giveaway.status, giveaway.keyword) == ("G-1", "open", "win")
    assert (giveaway.starts, giveaway.ends) == (NOW, NOW + 60)
    assert giveaway.commitment == hashlib.sha256(SEED).hexdigest()


def test_each_entry_counts_once_under_the_name_entered_with() -> None:
    log = opened()
    for n in (1, 2):
        log.take(decide_enter(viewer(n), "G-1", log.state, NOW + n))
    entry = log.events[1]
    state = log.state.apply(entry).apply(msgspec.structs.replace(entry, seq=9))
    assert state.giveaway is not None and state.giveaway.entrants == (
        "viewer-0001",
        "viewer-0002",
    )
    assert state.name_of("viewer-0001") == "Viewer 1"
    current = state.current()
    assert current is not None and (current.why, current.entrants) == ("start", 2)
    own = state.own_entry("viewer-0002")
    assert own is not None and (own.seq, own.name) == (0, "Viewer 2")
    assert state.own_entry("viewer-0003") is None


def test_an_older_state_arriving_late_changes_nothing() -> None:
    log = opened()
    log.take(decide_cancel(log.state, NOW + 5))
    assert log.state.apply(log.events[0]) is log.state


def test_an_entry_before_its_start_counts_once_the_start_arrives() -> None:
    log = opened()
    log.take(decide_enter(viewer(1), None, log.state, NOW + 1))
    started, entered = log.events
    state = GiveawayState().apply(entered).apply(started)
    assert state == log.state


def test_an_entry_of_a_giveaway_over_does_not_count_for_the_next() -> None:
    log = opened()
    log.take(decide_enter(viewer(1), None, log.state, NOW + 1))
    log.take(decide_cancel(log.state, NOW + 2))
    log.take(decide_start(start(), log.state, "G-2", SEED, NOW + 3))
    late = log.state.apply(log.events[1])
    assert late is log.state
    assert log.state.giveaway is not None and log.state.giveaway.entrants == ()


def test_stored_bodies_decode_to_the_events_the_giveaway_folds() -> None:
    log = opened()
    log.take(decide_enter(viewer(1), None, log.state, NOW + 1))
    for event in log.events:
        assert giveaway_event(protocol.encode(event)) == event
    assert giveaway_event(protocol.encode(protocol.Ack(ref="x"))) is None


# ---------------------------------------------------------------- the property


@st.composite
def logs(draw: st.DrawFn) -> list[GiveawayEvent]:
    """Giveaways one after another as one hub decides them: entries by viewers who may
    enter twice, then a draw or a cancellation (the last may stay open)."""
    log = Log()
    at = NOW
    for number in range(draw(st.integers(0, 3))):
        seed = draw(st.binary(min_size=SEED_BYTES, max_size=SEED_BYTES))
        log.take(decide_start(start(10), log.state, f"G-{number}", seed, at))
        for n in draw(st.lists(st.integers(1, 6), max_size=8)):
            log.take(decide_enter(viewer(n), None, log.state, at + 1))
        ending = draw(st.sampled_from(["draw", "cancel", "open"]))
        if ending == "open":
            break
        at += 10
        if ending == "draw":
            log.take(decide_draw(log.state, seed, at))
        else:
            log.take(decide_cancel(log.state, at))
    return log.events


@given(logs())
def test_folding_the_log_at_once_equals_applying_each_event_as_it_comes(
    log: list[GiveawayEvent],
) -> None:
    state = GiveawayState()
    for each in log:
        state = state.apply(giveaway_event(protocol.encode(each)))  # type: ignore[arg-type]
    assert state == GiveawayState.from_events(log)


@given(logs(), st.randoms(use_true_random=False), st.integers(0, 30))
def test_any_order_with_repeats_and_any_restart_point_fold_alike(
    log: list[GiveawayEvent], rnd: random.Random, restart: int
) -> None:
    folded = GiveawayState.from_events(log)
    delivered = log + rnd.sample(log, k=len(log) // 2)  # at least once: some twice
    rnd.shuffle(delivered)
    assert GiveawayState.from_events(delivered) == folded
    midway = GiveawayState.from_events(log[:restart])
    assert GiveawayState.from_events(log[restart:], midway) == folded


@given(logs())
def test_the_winner_follows_from_the_revealed_seed_and_the_entries(
    log: list[GiveawayEvent],
) -> None:
    for drawn in (e for e in log if isinstance(e, protocol.GiveawayState) and e.why == "draw"):
        assert drawn.seed is not None
        seed = bytes.fromhex(drawn.seed)
        assert hashlib.sha256(seed).hexdigest() == drawn.commitment
        entered = {
            e.viewer_id
            for e in log
            if isinstance(e, protocol.GiveawayEntry) and e.giveaway_id == drawn.giveaway_id
        }
        assert drawn.entries == sorted(entered)
        assert drawn.winner_id == winner_of(seed, drawn.entries)


# ---------------------------------------------------------------- the decisions


def test_the_start_announces_the_commitment_and_never_the_seed() -> None:
    decision = decide_start(start(), GiveawayState(), "G-1", SEED, NOW)
    assert decision.reply == Acknowledge()
    (step,) = decision.append
    assert isinstance(step, AnnounceGiveaway)
    assert (step.event.why, step.event.status, step.event.seed) == ("start", "open", None)
    assert step.event.commitment == hashlib.sha256(SEED).hexdigest()
    assert SEED.hex() not in protocol.encode(step.event).decode()


def test_one_giveaway_at_a_time_and_a_bad_one_says_what_to_enter() -> None:
    log = opened()
    assert decide_start(start(), log.state, "G-2", SEED, NOW).reply == Refuse(
        ErrorCode.CONFLICT, "A giveaway is open; draw or cancel it before the next."
    )
    refused = decide_start(start(seconds=1), GiveawayState(), "G-2", SEED, NOW).reply
    assert isinstance(refused, Refuse) and refused.code == ErrorCode.INVALID
    assert "10 seconds to 5 minutes" in refused.reason


def test_a_viewer_enters_once_and_is_told_alone() -> None:
    log = opened()
    decision = decide_enter(viewer(1), "G-1", log.state, NOW + 1)
    (step,) = decision.append
    assert isinstance(step, AddEntry)
    assert (step.entry.viewer_id, step.entry.name, step.entry.at) == (
        "viewer-0001",
        "Viewer 1",
        NOW + 1,
    )
    log.take(decision)
    assert decide_enter(viewer(1), "G-1", log.state, NOW + 2) == Decision(Acknowledge())


def test_the_facts_the_shell_read_decide_who_may_enter() -> None:
    def refusal(eligibility: str, entrant: Entrant) -> str:
        reply = decide_enter(entrant, None, opened(start(eligibility=eligibility)).state, NOW).reply
        return reply.reason if isinstance(reply, Refuse) else ""

    assert refusal("everyone", viewer(1, banned=True)) == "You cannot enter giveaways in this room."
    assert "comment, then enter" in refusal("commented", viewer(1))
    assert refusal("commented", viewer(1, commented=True)) == ""
    assert "bought during this show" in refusal("bought", viewer(1, commented=True))
    assert refusal("bought", viewer(1, bought=True)) == ""


def test_entering_an_other_closed_or_no_giveaway_is_refused() -> None:
    assert decide_enter(viewer(1), None, GiveawayState(), NOW).reply == Refuse(
        ErrorCode.NOT_FOUND, "No giveaway is open."
    )
    state = opened().state
    assert decide_enter(viewer(1), "G-0", state, NOW).reply == Refuse(
        ErrorCode.INVALID, "That giveaway is over; enter the one shown."
    )
    closed = decide_enter(viewer(1), None, state, NOW + 60).reply
    assert closed == Refuse(ErrorCode.INVALID, "This giveaway has closed; watch for the next one.")


def test_a_comment_enters_when_it_says_the_keyword_while_entries_are_open() -> None:
    state = opened(start(keyword="win")).state
    assert is_keyword_entry("WIN please!", state, NOW + 1)
    assert not is_keyword_entry("winner?", state, NOW + 1)
    assert not is_keyword_entry("win", state, NOW + 60)
    assert not is_keyword_entry("win", opened().state, NOW + 1)


def test_the_draw_reveals_the_seed_and_logs_who_won_and_how_to_check() -> None:
    log = opened()
    for n in (1, 2, 3):
        log.take(decide_enter(viewer(n), None, log.state, NOW + n))
    decision = log.take(decide_draw(log.state, SEED, NOW + 60))
    announce, logged = decision.append
    assert isinstance(announce, AnnounceGiveaway) and isinstance(logged, LogGiveaway)
    drawn = announce.event
    entries = ["viewer-0001", "viewer-0002", "viewer-0003"]
    winner = winner_of(SEED, entries)
    assert (drawn.seed, drawn.entries, drawn.winner_id) == (SEED.hex(), entries, winner)
    assert drawn.winner == log.state.name_of(winner or "") != ""
    assert (logged.viewer_id, logged.name) == (winner, drawn.winner)
    assert logged.text == (
        f"Logo Tee (G-1): {drawn.winner} won among 3 entrant(s), seed {SEED.hex()}"
    )
    assert log.state.giveaway is not None and log.state.giveaway.status == "drawn"


def test_the_draw_needs_the_closed_entries_and_the_committed_seed_this_hub_kept() -> None:
    state = opened().state
    assert decide_draw(state, None, NOW + 60).reply == Refuse(ErrorCode.INVALID, NO_SEED)
    early = decide_draw(state, SEED, NOW + 1).reply
    assert isinstance(early, Refuse) and "draw when they close" in early.reason
    other = decide_draw(state, bytes(SEED_BYTES), NOW + 60).reply
    assert isinstance(other, Refuse) and "not the seed committed to" in other.reason
    assert decide_draw(GiveawayState(), SEED, NOW + 60).reply == Refuse(
        ErrorCode.NOT_FOUND, "No giveaway is open."
    )


def test_a_cancelled_giveaway_has_no_winner_and_says_how_many_entered() -> None:
    log = opened()
    log.take(decide_enter(viewer(1), None, log.state, NOW + 1))
    announce, logged = log.take(decide_cancel(log.state, NOW + 2)).append
    assert isinstance(announce, AnnounceGiveaway) and isinstance(logged, LogGiveaway)
    assert (announce.event.status, announce.event.winner_id) == ("cancelled", None)
    assert logged == LogGiveaway("", "", "Logo Tee (G-1): cancelled, 1 entrant(s)", NOW + 2)
    assert decide_cancel(log.state, NOW + 3).reply == Refuse(
        ErrorCode.NOT_FOUND, "No giveaway is open."
    )


# ---------------------------------------------------------------- two hubs, one log


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_a_hub_follows_another_hubs_giveaway_by_folding_their_events(data_dir: Path) -> None:
    """Hub B never reads the giveaway log after it starts, takes an entry for the giveaway
    A started, and A draws it among both hubs' entrants."""
    stores = [Store.open(data_dir), Store.open(data_dir)]
    a_store, b_store = stores
    clock = _Clock()
    to_a: list[tuple[int, bytes, str | None]] = []
    to_b: list[tuple[int, bytes, str | None]] = []

    def desk(store: Store, sent: list[tuple[int, bytes, str | None]]) -> GiveawayDesk:
        def publish(seq: int, body: bytes, audience: str | None) -> None:
            sent.append((seq, body, audience))

        return GiveawayDesk(store.orders, store.team, publish, clock, _nobody, _nobody)

    try:
        a, b = desk(a_store, to_b), desk(b_store, to_a)
        a.resume()
        b.resume()
        b_store.orders.giveaway_log = _no_store_reads  # type: ignore[method-assign]
        a.start(start())
        a.enter("viewer-0001", "Ann")
        for seq, body, _ in to_b:
            b.follow(seq, body)
        b.enter("viewer-0002", "Bob")
        for seq, body, _ in to_a:
            a.follow(seq, body)
        assert b.state == a.state
        assert a.state.giveaway is not None and len(a.state.giveaway.entrants) == 2
        clock.now += 60
        with pytest.raises(ProtocolError, match="its seed is gone"):
            b.draw(HOST)
        a.draw(HOST)
        for seq, body, _ in to_b[2:]:
            b.follow(seq, body)
        assert b.current() == a.current()
        drawn = a.current()
        assert drawn is not None and drawn.entries == ["viewer-0001", "viewer-0002"]
        assert drawn.winner_id == winner_of(bytes.fromhex(drawn.seed or ""), drawn.entries)
    finally:
        for store in stores:
            store.close()


def _nobody(viewer_id: str) -> bool:
    return False


def _no_store_reads(*args: object) -> list[GiveawayEvent]:
    raise AssertionError("the replica must fold the events, not read the store")
