"""Giveaways: who may enter, and a draw anybody can check from the seed and the entries."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.giveaway import (
    MAX_GIVEAWAY_SECONDS,
    SEED_BYTES,
    Giveaway,
    GiveawayCancelled,
    GiveawayDrawn,
    GiveawayEntered,
    GiveawayError,
    GiveawayEvent,
    GiveawayStarted,
    NotEligibleError,
    cancel,
    commitment_of,
    draw,
    enter,
    is_entry,
    replay,
    seconds_left,
    start_giveaway,
    winner_of,
)
from console.errors import ShopcastError
from tests.support.browser import chromium, requires_chromium

T0 = 1_800_000_000.0
SEED = bytes(range(SEED_BYTES))
ANYONE = {"commented": False, "bought": False, "banned": False}


def through_the_log(event):
    """An event as the room's log would keep it (JSON, with its type beside it) and read it."""
    return msgspec.convert(msgspec.json.decode(msgspec.json.encode(event)), type(event))


def started(eligibility: str = "everyone", keyword: str | None = None) -> Giveaway:
    return start_giveaway(
        "G1", "Linen shirt, any size", 120, eligibility, SEED, T0, keyword
    ).giveaway


def test_the_start_publishes_the_seeds_hash_and_never_the_seed():
    decision = start_giveaway("G1", "Linen shirt", 120, "everyone", SEED, T0)
    (event,) = decision.events
    assert event == GiveawayStarted(
        giveaway_id="G1",
        prize="Linen shirt",
        eligibility="everyone",
        keyword=None,
        starts=T0,
        ends=T0 + 120,
        commitment=hashlib.sha256(SEED).hexdigest(),
    )
    assert SEED.hex() not in repr(event) and SEED.hex() not in repr(decision.giveaway)


@pytest.mark.parametrize("seconds", [9, MAX_GIVEAWAY_SECONDS + 1, True, "60"])
def test_a_giveaway_lasts_ten_seconds_to_five_minutes(seconds):
    with pytest.raises(GiveawayError, match="5 minutes"):
        start_giveaway("G1", "Mug", seconds, "everyone", SEED, T0)
    assert start_giveaway("G1", "Mug", MAX_GIVEAWAY_SECONDS, "everyone", SEED, T0).events


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"prize": "  "}, "Name the prize"),
        ({"prize": "x" * 121}, "shorten it to 120"),
        ({"eligibility": "friends"}, "Choose who may enter"),
        ({"seed": b"short"}, "32 random bytes"),
        ({"keyword": "two words"}, "one word"),
    ],
)
def test_a_giveaway_the_host_set_up_wrong_says_what_to_enter(changes, says):
    args: dict[str, object] = {
        "giveaway_id": "G1",
        "prize": "Mug",
        "seconds": 60,
        "eligibility": "everyone",
        "seed": SEED,
        "now": T0,
    }
    args.update(changes)
    with pytest.raises(GiveawayError, match=says):
        start_giveaway(**args)  # type: ignore[arg-type]


def test_no_purchase_necessary_whenever_entry_does_not_need_one():
    assert started("everyone").no_purchase_necessary
    assert started("commented").no_purchase_necessary
    assert not started("bought").no_purchase_necessary


def test_a_viewer_enters_once():
    giveaway = started()
    decision = enter(giveaway, "viewer-ann1", T0 + 1, **ANYONE)
    assert decision.events == (GiveawayEntered("G1", "viewer-ann1", T0 + 1),)
    assert enter(decision.giveaway, "viewer-ann1", T0 + 2, **ANYONE).events == ()


def test_a_banned_viewer_cannot_enter():
    with pytest.raises(NotEligibleError, match="cannot enter"):
        enter(started(), "viewer-bad1", T0 + 1, commented=True, bought=True, banned=True)


def test_only_commenters_enter_a_giveaway_for_commenters():
    giveaway = started("commented")
    with pytest.raises(NotEligibleError, match="comment, then enter"):
        enter(giveaway, "viewer-ann1", T0 + 1, **ANYONE)
    assert enter(giveaway, "viewer-ann1", T0 + 1, commented=True, bought=False, banned=False).events


def test_only_buyers_of_this_show_enter_a_giveaway_for_buyers():
    giveaway = started("bought")
    with pytest.raises(NotEligibleError, match="bought during this show"):
        enter(giveaway, "viewer-ann1", T0 + 1, commented=True, bought=False, banned=False)
    assert enter(giveaway, "viewer-ann1", T0 + 1, commented=False, bought=True, banned=False).events


def test_entries_close_at_the_end_instant():
    giveaway = started()
    assert seconds_left(giveaway, T0 + 119.5) == 0.5
    with pytest.raises(GiveawayError, match="has closed"):
        enter(giveaway, "viewer-ann1", T0 + 120, **ANYONE)
    assert seconds_left(giveaway, T0 + 120) == 0.0


def test_the_keyword_enters_when_said_as_a_word():
    giveaway = started(keyword="WIN")
    assert is_entry(giveaway, "win!!")
    assert is_entry(giveaway, "omg I want to WIN this")
    assert not is_entry(giveaway, "winner winner")
    assert not is_entry(started(), "win")


def test_the_draw_waits_for_entries_to_close():
    with pytest.raises(GiveawayError, match="draw when they close"):
        draw(started(), SEED, T0 + 60)


def test_the_draw_refuses_a_seed_other_than_the_committed_one():
    with pytest.raises(GiveawayError, match="not the seed committed to"):
        draw(started(), bytes(SEED_BYTES), T0 + 120)


def test_the_draw_reveals_the_seed_the_entries_and_the_winner():
    giveaway = started()
    for n, viewer in enumerate(("viewer-cat3", "viewer-ann1", "viewer-bob2")):
        giveaway = enter(giveaway, viewer, T0 + n, **ANYONE).giveaway
    decision = draw(giveaway, SEED, T0 + 120)
    (event,) = decision.events
    entries = ("viewer-ann1", "viewer-bob2", "viewer-cat3")
    assert event == GiveawayDrawn("G1", SEED.hex(), entries, event.winner, T0 + 120)
    digest = hashlib.sha256(SEED + b"\n" + "\n".join(entries).encode()).digest()
    assert event.winner == entries[int.from_bytes(digest, "big") % 3]
    assert decision.giveaway.status == "drawn"
    with pytest.raises(GiveawayError, match="already drawn"):
        draw(decision.giveaway, SEED, T0 + 121)


def test_the_winner_rule_gives_this_winner_for_this_seed():
    """Pinned, so that a change to the rule cannot pass unseen: the page reproduces it."""
    entries = [f"viewer-{n:04d}" for n in range(10)]
    assert winner_of(hashlib.sha256(b"show 1").digest(), entries) == "viewer-0005"


def test_a_draw_without_entries_has_no_winner():
    event = draw(started(), SEED, T0 + 200).events[0]
    assert isinstance(event, GiveawayDrawn)
    assert event.entries == () and event.winner is None


def test_every_entrant_can_win():
    """Over 3,000 seeds, each of three entrants wins about a third of the draws."""
    wins = {"viewer-ann1": 0, "viewer-bob2": 0, "viewer-cat3": 0}
    for n in range(3_000):
        winner = winner_of(hashlib.sha256(n.to_bytes(4, "big")).digest(), wins)
        assert winner is not None
        wins[winner] += 1
    assert all(900 < count < 1100 for count in wins.values()), wins


def test_a_cancelled_giveaway_has_no_winner_and_takes_no_entries():
    decision = cancel(started(), T0 + 5)
    assert decision.events == (GiveawayCancelled("G1", T0 + 5),)
    with pytest.raises(GiveawayError, match="has closed"):
        enter(decision.giveaway, "viewer-ann1", T0 + 6, **ANYONE)
    with pytest.raises(GiveawayError, match="already cancelled"):
        draw(decision.giveaway, SEED, T0 + 200)


def test_errors_are_shopcast_errors():
    assert issubclass(NotEligibleError, GiveawayError)
    assert issubclass(GiveawayError, ShopcastError)


def by_the_published_rule(seed: bytes, entries: tuple[str, ...]) -> str | None:
    """The winner as the module's docstring tells it, written out again from the text."""
    if not entries:
        return None
    message = seed + b"\n" + "\n".join(entries).encode("utf-8")
    return entries[int(hashlib.sha256(message).hexdigest(), 16) % len(entries)]


viewer_ids = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=8, max_size=24
)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=SEED_BYTES, max_size=SEED_BYTES),
    st.lists(viewer_ids, max_size=40),
    st.randoms(use_true_random=False),
)
def test_the_winner_is_reproducible_from_the_revealed_seed_and_the_entries(seed, entrants, rnd):
    log: list[GiveawayEvent] = []
    decision = start_giveaway("G7", "Scarf", 60, "everyone", seed, T0)
    log += decision.events
    giveaway = decision.giveaway
    for n, viewer in enumerate(entrants):
        decision = enter(giveaway, viewer, T0 + n * 0.5, **ANYONE)
        log += decision.events
        giveaway = decision.giveaway
    decision = draw(giveaway, seed, T0 + 60)
    log += decision.events
    start, drawn = log[0], log[-1]
    assert isinstance(start, GiveawayStarted) and isinstance(drawn, GiveawayDrawn)
    # What a viewer's page has: the commitment, then the revealed seed and the entries.
    revealed = bytes.fromhex(drawn.seed)
    assert commitment_of(revealed) == start.commitment
    assert list(drawn.entries) == sorted(set(entrants))
    assert by_the_published_rule(revealed, drawn.entries) == drawn.winner
    assert drawn.winner is None if not entrants else drawn.winner in entrants
    # The order viewers entered in changes nothing.
    shuffled = list(entrants)
    rnd.shuffle(shuffled)
    assert winner_of(revealed, shuffled) == drawn.winner
    assert replay(log) == decision.giveaway
    assert replay([through_the_log(e) for e in log]) == decision.giveaway


# ---------------------------------------------------------------- the page's check

VIEWER = Path(__file__).resolve().parents[1] / "resources" / "viewer"
#: The check a viewer's page runs, from the page's own module (resources/viewer/giveaway.js).
CHECK_DRAW_JS = "async (draw) => (await import('/giveaway.js')).checkDraw(draw)"


def _serve_viewer_module(route) -> None:
    """The page's modules as the hub serves them; an empty page for anything else."""
    name = route.request.url.rsplit("/", 1)[1]
    if name.endswith(".js") and (VIEWER / name).is_file():
        route.fulfill(body=(VIEWER / name).read_text(), content_type="text/javascript")
    else:
        route.fulfill(body="<!doctype html>", content_type="text/html")


@pytest.mark.browser
@requires_chromium
def test_a_viewers_browser_recomputes_the_winner_from_the_seed_and_the_entries(tmp_path: Path):
    rnd = random.Random(19)
    draws = []
    for size in (0, 1, 2, 3, 10, 257):
        seed = rnd.randbytes(SEED_BYTES)
        entries = [f"v-{rnd.getrandbits(40):010x}" for _ in range(size)]
        rnd.shuffle(entries)
        draws.append(
            {
                "commitment": commitment_of(seed),
                "seed": seed.hex(),
                "entries": entries,
                "winner": winner_of(seed, entries),
            }
        )
    with chromium(tmp_path) as browsers:
        context = browsers.profile()
        page = context.new_page()
        # SubtleCrypto needs a secure context: a page served from localhost is one.
        page.route("http://localhost/**", _serve_viewer_module)
        page.goto("http://localhost/draw")
        for checked in draws:
            assert page.evaluate(CHECK_DRAW_JS, checked) == "ok", json.dumps(checked)
        last = draws[-1]
        other = next(e for e in last["entries"] if e != last["winner"])
        assert page.evaluate(CHECK_DRAW_JS, dict(last, winner=other)).startswith("bad winner")
        assert page.evaluate(CHECK_DRAW_JS, dict(draws[2], seed="00" * SEED_BYTES)) == "bad seed"
