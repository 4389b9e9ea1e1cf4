"""The room core without a socket: the chat state folded from events, and comment decisions.

No hub, no loop, no clock: events and the time go in, the state and decisions come out.
The last tests put the hub's moderation shell on a store (still no socket) to show that
a hub follows another's actions by folding their events, not by reading the store.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console import protocol
from console.bus import RoomEvent
from console.domain.chat import MAX_COMMENT_CHARS
from console.domain.moderation import BlockedTerm, ChatPolicy, RoomModes
from console.hub.moderation import Moderation
from console.protocol import ErrorCode
from console.room.chat import ChatWindows, CommentCommand, CommentRate, decide_comment
from console.room.decision import (
    Acknowledge,
    Decision,
    DenyHeld,
    HoldComment,
    LogAutoDelete,
    PostComment,
    Refuse,
    SetSanction,
    TellViewer,
)
from console.room.sanctions import decide_sanction
from console.room.state import RoomState, Sanction, StateEvent, state_event
from console.store import Store
from console.store.records import Actor

NOW = 1_790_000_000.0
HOST = Actor("Hana", "host")


def mod(seq: int, action: protocol.ModAction, viewer_id: str = "v-ann", **kw: object):
    return protocol.ModEntry(
        seq=seq, id=seq, ts=NOW, action=action, actor="Hana", actor_role="host",
        viewer_id=viewer_id, **kw,
    )  # fmt: skip


def modes(seq: int, **kw: object) -> protocol.Modes:
    return protocol.Modes(seq=seq, **kw)  # type: ignore[arg-type]


def windows(*, burst: float = 5.0, terms: list[BlockedTerm] | None = None) -> ChatWindows:
    return ChatWindows(
        ChatPolicy(terms=terms or ()), CommentRate(1.0, burst), CommentRate(100.0, 200.0)
    )


def comment(
    text: str = "Love the colour", viewer_id: str = "v-ann", **kw: object
) -> CommentCommand:
    fields: dict[str, object] = {"name": "Ann", "role": "viewer", **kw}
    return CommentCommand(viewer_id, text=text, **fields)  # type: ignore[arg-type]


def refusal(decision: Decision) -> Refuse:
    assert isinstance(decision.reply, Refuse), decision
    return decision.reply


# ---------------------------------------------------------------- folding events


def test_a_ban_keeps_the_viewer_out_and_an_unban_lets_them_back() -> None:
    banned = RoomState().apply(mod(3, "ban", reason="spam"))
    assert banned.standing("v-ann", NOW) == Sanction(True, None, "spam", 3)
    lifted = banned.apply(mod(4, "unban"))
    assert lifted.standing("v-ann", NOW) is None
    assert lifted.sanctions["v-ann"].seq == 4, "the unban stays, so the ban cannot come back"


def test_a_time_out_keeps_the_viewer_out_until_it_ends() -> None:
    state = RoomState().apply(mod(7, "timeout", until=NOW + 60))
    assert state.standing("v-ann", NOW + 59) is not None
    assert state.standing("v-ann", NOW + 60) is None


def test_the_latest_modes_event_sets_every_mode() -> None:
    state = (
        RoomState().apply(modes(2, slow_seconds=30, paused=True)).apply(modes(5, emoji_only=True))
    )
    assert state.modes == RoomModes(emoji_only=True)
    assert state.modes_seq == 5


def test_an_older_event_arriving_late_changes_nothing() -> None:
    """A hub folds its own event as it stores it; another hub's older one may come after."""
    state = RoomState().apply(mod(9, "ban")).apply(mod(8, "timeout", until=NOW + 60))
    assert state.sanctions["v-ann"].banned
    state = state.apply(modes(9, slow_seconds=10)).apply(modes(8, paused=True))
    assert state.modes == RoomModes(slow_seconds=10)


def test_other_events_and_mod_actions_leave_the_state_alone() -> None:
    state = RoomState().apply(mod(1, "ban"))
    for event in (mod(2, "delete", comment_seq=1), mod(3, "hold"), mod(4, "terms", viewer_id="")):
        assert state.apply(event) is state


def test_a_signed_off_sanction_names_nobody_and_sanctions_nobody() -> None:
    """A deleted viewer's mod events lose their id (retention.signed_off)."""
    assert RoomState().apply(mod(1, "ban", viewer_id="")).sanctions == {}


def test_stored_bodies_decode_to_the_events_the_state_folds() -> None:
    for event in (
        mod(4, "timeout", until=NOW + 5, reason="calm down"),
        modes(6),
        modes(7, paused=True),
    ):
        assert state_event(protocol.encode(event)) == event
    said = protocol.Comment(seq=8, id=8, viewer_id="v-ann", name="Ann", text="mod", ts=NOW)
    assert state_event(protocol.encode(said)) is None


# ---------------------------------------------------------------- the fold's laws

viewers = st.sampled_from(["v-ann", "v-bob", "v-cyd", ""])
sanction_events = st.builds(
    lambda action, viewer, until: (action, viewer, until),
    st.sampled_from(["ban", "timeout", "unban", "delete", "hold"]),
    viewers,
    st.floats(NOW, NOW + 1000),
)
mode_events = st.builds(
    RoomModes,
    slow_seconds=st.integers(0, 3600),
    buyers_only=st.booleans(),
    emoji_only=st.booleans(),
    paused=st.booleans(),
    hold_new_minutes=st.integers(0, 1440),
)
logs = st.lists(st.one_of(sanction_events, mode_events), max_size=40)


def numbered(log: list[tuple[str, str, float] | RoomModes]) -> list[StateEvent]:
    """The log as stored events, seqs 1, 2, ... in order."""
    events: list[StateEvent] = []
    for seq, item in enumerate(log, start=1):
        if isinstance(item, RoomModes):
            events.append(modes(seq, **_modes_fields(item)))
        else:
            action, viewer, until = item
            timed = until if action == "timeout" else None
            events.append(mod(seq, action, viewer, until=timed, reason=f"#{seq}"))  # type: ignore[arg-type]
    return events


def _modes_fields(m: RoomModes) -> dict[str, object]:
    return {
        "slow_seconds": m.slow_seconds,
        "buyers_only": m.buyers_only,
        "emoji_only": m.emoji_only,
        "paused": m.paused,
        "hold_new_minutes": m.hold_new_minutes,
    }


@given(logs)
def test_folding_the_log_at_once_equals_applying_each_stored_event_as_it_comes(log) -> None:
    events = numbered(log)
    step_by_step = RoomState()
    for event in events:
        decoded = state_event(protocol.encode(event))
        assert decoded is not None
        step_by_step = step_by_step.apply(decoded)
    assert RoomState.from_events(events) == step_by_step


@given(logs, st.randoms(use_true_random=False), st.integers(0, 40))
def test_any_order_with_repeats_and_any_restart_point_fold_alike(
    log, shuffle: random.Random, cut: int
) -> None:
    """The bus delivers at least once, a hub's own events fold before the bus brings them
    back, and a hub that starts mid-show folds the rest onto what it has."""
    events = numbered(log)
    in_order = RoomState.from_events(events)
    jumbled = events + shuffle.sample(events, len(events) // 2)
    shuffle.shuffle(jumbled)
    assert RoomState.from_events(jumbled) == in_order
    head, tail = events[:cut], events[cut:]
    assert RoomState.from_events(tail, start=RoomState.from_events(head)) == in_order


@given(logs)
def test_the_last_sanction_and_the_last_modes_of_the_log_are_the_state(log) -> None:
    state = RoomState.from_events(numbered(log))
    set_modes = [item for item in log if isinstance(item, RoomModes)]
    assert state.modes == (set_modes[-1] if set_modes else RoomModes())
    for viewer in ("v-ann", "v-bob", "v-cyd"):
        mine = [
            (seq, item)
            for seq, item in enumerate(log, start=1)
            if isinstance(item, tuple)
            and item[1] == viewer
            and item[0] in ("ban", "timeout", "unban")
        ]
        if not mine:
            assert viewer not in state.sanctions
            continue
        seq, (action, _, until) = mine[-1]
        timed = until if action == "timeout" else None
        assert state.sanctions[viewer] == Sanction(action == "ban", timed, f"#{seq}", seq)
    assert "" not in state.sanctions


# ---------------------------------------------------------------- deciding a comment


def test_a_comment_is_posted_cleaned_and_acknowledged() -> None:
    decision = decide_comment(comment("  Love\nthe   colour "), RoomState(), windows(), NOW)
    assert decision == Decision(
        Acknowledge(), (PostComment("v-ann", "Ann", "viewer", "Love the colour", NOW),)
    )


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (comment(name=None), ErrorCode.NAME_REQUIRED),
        (comment("   "), ErrorCode.INVALID),
        (comment("x" * (MAX_COMMENT_CHARS + 1)), ErrorCode.INVALID),
    ],
    ids=["no name", "empty", "too long"],
)
def test_a_comment_without_a_name_or_text_is_refused_and_appends_nothing(
    sent: CommentCommand, code: str
) -> None:
    decision = decide_comment(sent, RoomState(), windows(), NOW)
    assert refusal(decision).code == code
    assert decision.append == ()


def test_a_banned_viewer_cannot_comment_but_staff_always_can() -> None:
    state = RoomState().apply(mod(1, "ban", reason="spam"))
    assert refusal(decide_comment(comment(), state, windows(), NOW)).code == ErrorCode.BANNED
    staff = comment(viewer_id="v-ann", role="moderator")
    assert decide_comment(staff, state, windows(), NOW).reply == Acknowledge()


def test_a_timed_out_viewer_hears_how_long_and_posts_once_it_ends() -> None:
    state = RoomState().apply(mod(1, "timeout", until=NOW + 90))
    refused = refusal(decide_comment(comment(), state, windows(), NOW))
    assert (refused.code, refused.retry_after) == (ErrorCode.TIMED_OUT, 90)
    assert decide_comment(comment(), state, windows(), NOW + 90).reply == Acknowledge()


def test_slow_mode_lets_one_comment_through_per_period() -> None:
    state = RoomState().apply(modes(1, slow_seconds=30))
    chat = windows()
    assert decide_comment(comment("one"), state, chat, NOW).reply == Acknowledge()
    refused = refusal(decide_comment(comment("two"), state, chat, NOW + 10))
    assert (refused.code, refused.retry_after) == (ErrorCode.SLOW_MODE, 20)
    assert decide_comment(comment("two"), state, chat, NOW + 30).reply == Acknowledge()


def test_slow_mode_ends_when_the_modes_event_says_so() -> None:
    state = RoomState().apply(modes(1, slow_seconds=30))
    chat = windows()
    decide_comment(comment("one"), state, chat, NOW)
    state = state.apply(modes(2))
    assert decide_comment(comment("two"), state, chat, NOW + 1).reply == Acknowledge()


@pytest.mark.parametrize(
    ("mode", "sent", "code"),
    [
        ({"paused": True}, comment(), ErrorCode.CHAT_PAUSED),
        ({"buyers_only": True}, comment(), ErrorCode.BUYERS_ONLY),
        ({"emoji_only": True}, comment("nice"), ErrorCode.EMOJI_ONLY),
    ],
)
def test_each_mode_refuses_what_it_keeps_out(mode: dict, sent: CommentCommand, code: str) -> None:
    state = RoomState().apply(modes(1, **mode))
    assert refusal(decide_comment(sent, state, windows(), NOW)).code == code


def test_buyers_may_chat_in_buyers_only_mode_and_emoji_pass_emoji_only() -> None:
    buyers = RoomState().apply(modes(1, buyers_only=True))
    assert decide_comment(comment(buyer=True), buyers, windows(), NOW).reply == Acknowledge()
    emoji = RoomState().apply(modes(1, emoji_only=True))
    assert decide_comment(comment("🔥🔥"), emoji, windows(), NOW).reply == Acknowledge()


def test_new_chatters_wait_for_a_moderator_in_that_mode() -> None:
    state = RoomState().apply(modes(1, hold_new_minutes=10))
    decision = decide_comment(comment(first_seen=NOW - 60), state, windows(), NOW)
    assert decision.reply == Acknowledge(held=True)
    [held] = decision.append
    assert isinstance(held, HoldComment) and held.rule == "new_chatter"
    known = comment(first_seen=NOW - 600)
    assert decide_comment(known, state, windows(), NOW).reply == Acknowledge()


def test_a_held_term_holds_the_comment_and_a_delete_term_logs_its_refusal() -> None:
    chat = windows(terms=[BlockedTerm("scam"), BlockedTerm("idiot", action="delete")])
    held = decide_comment(comment("is this a scam"), RoomState(), chat, NOW)
    assert held == Decision(
        Acknowledge(held=True),
        (
            HoldComment(
                "v-ann", "Ann", "viewer", "is this a scam", "term",
                "Your message is waiting for a moderator.", NOW,
            ),
        ),
    )  # fmt: skip
    deleted = decide_comment(comment("you idiot"), RoomState(), chat, NOW + 5)
    assert refusal(deleted).code == ErrorCode.BLOCKED
    assert deleted.append == (
        LogAutoDelete(
            "v-ann", "Ann", "you idiot", "Your message was removed: it contains a blocked word.",
            NOW + 5,
        ),
    )  # fmt: skip


def test_the_comment_bucket_refuses_a_burst_but_a_refused_comment_costs_nothing() -> None:
    state = RoomState().apply(modes(1, paused=True))
    chat = windows(burst=2)
    for _ in range(5):
        refusal(decide_comment(comment(), state, chat, NOW))
    open_room = RoomState()
    for text in ("one", "two"):
        assert decide_comment(comment(text), open_room, chat, NOW).reply == Acknowledge()
    refused = refusal(decide_comment(comment("three"), open_room, chat, NOW))
    assert refused.code == ErrorCode.RATE_LIMITED
    assert refused.reason == "Slow down: you can post again in 1 s."
    chat.left("v-ann")
    assert decide_comment(comment("four"), open_room, chat, NOW).reply == Acknowledge()


# ---------------------------------------------------------------- deciding a sanction


def test_a_ban_is_stored_denies_the_held_comments_and_tells_the_viewers_pages() -> None:
    decision = decide_sanction(protocol.BanViewer(viewer_id="v-ann", reason=" spam "), "Ann", NOW)
    assert decision == Decision(
        Acknowledge(),
        (
            SetSanction("v-ann", "Ann", "ban", None, "spam", NOW),
            DenyHeld("v-ann", "The author was banned.", NOW),
        ),
        (TellViewer("v-ann", protocol.Standing(banned=True, reason="spam")),),
    )


def test_a_time_out_ends_by_the_hubs_clock_and_an_unban_lifts_it() -> None:
    timeout = decide_sanction(protocol.TimeoutViewer(viewer_id="v-ann", seconds=600), "Ann", NOW)
    assert timeout.append == (SetSanction("v-ann", "Ann", "timeout", NOW + 600, "", NOW),)
    assert timeout.notices == (TellViewer("v-ann", protocol.Standing(muted_until=NOW + 600)),)
    unban = decide_sanction(protocol.UnbanViewer(viewer_id="v-ann"), "Ann", NOW)
    assert unban.append == (SetSanction("v-ann", "Ann", "unban", None, "", NOW),)
    assert unban.notices == (TellViewer("v-ann", protocol.Standing()),)


@pytest.mark.parametrize(
    ("command", "known", "code"),
    [
        (protocol.BanViewer(viewer_id="v-nobody"), None, ErrorCode.NOT_FOUND),
        (protocol.BanViewer(viewer_id="staff-0123"), "Sam", ErrorCode.INVALID),
        (protocol.TimeoutViewer(viewer_id="v-ann", seconds=0.5), "Ann", ErrorCode.INVALID),
        (protocol.BanViewer(viewer_id="v-ann", reason="x" * 201), "Ann", ErrorCode.INVALID),
    ],
    ids=["never seen", "staff", "too short a time-out", "too long a reason"],
)
def test_a_sanction_that_cannot_be_stored_is_refused_with_nothing_to_do(
    command: protocol.TimeoutViewer | protocol.BanViewer, known: str | None, code: str
) -> None:
    decision = decide_sanction(command, known, NOW)
    assert refusal(decision).code == code
    assert (decision.append, decision.notices) == ((), ())


def test_the_sanction_a_decision_stores_is_the_one_the_state_folds_from_its_event() -> None:
    [stored] = decide_sanction(
        protocol.TimeoutViewer(viewer_id="v-ann", seconds=60, reason="calm"), "Ann", NOW
    ).append
    assert isinstance(stored, SetSanction)
    event = mod(5, stored.action, until=stored.until, reason=stored.reason)
    assert RoomState().apply(event).standing("v-ann", NOW) == Sanction(False, NOW + 60, "calm", 5)


# ---------------------------------------------------------------- the hub shell follows


def _shell(store: Store) -> Moderation:
    return Moderation(
        store,
        lambda published: None,
        lambda: NOW,
        lambda viewer_id: False,
        since=store.last_seq,
        viewer_comments=CommentRate(1.0, 5.0),
        staff_comments=CommentRate(100.0, 200.0),
    )


def test_a_hub_follows_another_hubs_ban_and_modes_by_folding_their_events(
    data_dir: Path,
) -> None:
    """Hub B never reads the sanctions or the modes again: it folds what A stored."""
    stores = [Store.open(data_dir), Store.open(data_dir)]
    a_store, b_store = stores
    try:
        a_store.touch_viewer("v-ann", "Ann", NOW)
        a, b = _shell(a_store), _shell(b_store)
        b.records.sanctions = b.records.setting = _no_store_reads  # type: ignore[method-assign]
        a.sanction(HOST, protocol.BanViewer(viewer_id="v-ann", reason="spam"))
        a.set_modes(HOST, protocol.SetModes(slow_seconds=30))
        assert a.standing("v-ann") == protocol.Standing(banned=True, reason="spam")
        assert b.standing("v-ann") is None
        for body in b_store.events_after(0, sys.maxsize, 100, None):
            b.follow(RoomEvent(msgspec.json.decode(body)["seq"], body))
        assert b.state == a.state
        assert b.standing("v-ann") == protocol.Standing(banned=True, reason="spam")
        assert b.modes_event().slow_seconds == 30
        stores.append(Store.open(data_dir))  # a hub starting now
        c = _shell(stores[-1])
        assert c.state.modes == a.state.modes
        assert c.state.standing("v-ann", NOW) == Sanction(True, None, "spam", c.state.modes_seq)
    finally:
        for store in stores:
            store.close()


def _no_store_reads(*args: object) -> object:
    raise AssertionError("the replica must fold the event, not read the store")
