"""Moderation policy: terms, folding, modes, rate limits, and the order rules apply in."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.moderation import (
    MAX_TERMS,
    TIMEOUT_PRESETS,
    Author,
    BlockedTerm,
    ChatPolicy,
    ModerationRuleError,
    RoomModes,
    TermMatcher,
    Verdict,
    check_modes,
    check_term,
    check_timeout,
    clean_reason,
    fold,
    format_wait,
    is_emoji_only,
)

VIEWER = Author("v1")
REPO = Path(__file__).resolve().parents[1]


def judge_all(policy: ChatPolicy, texts: list[str], start: float = 0.0, step: float = 1.0):
    return [policy.judge(VIEWER, text, start + i * step) for i, text in enumerate(texts)]


# --- folding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "spam",
        "SPAM",
        "Sp4m",
        "spåm",
        "SPÅM",
        "$pam",
        "5p@m",
        "s\u200bpam",
        "\uff53\uff50\uff41\uff4d",
        "spam\u0301",
    ],
)
def test_case_accents_leetspeak_and_invisible_characters_fold_away(text: str) -> None:
    assert fold(text) == "spam"


def test_fold_reads_symbols_as_letters_only_inside_words() -> None:
    assert fold("sh!t") == "shit"
    assert fold("wow!") == "wow!"
    assert fold("size 10 for $5") == "size 10 for $5"
    assert fold("h3ll0 w0rld!!") == "hello world!!"


def test_fold_collapses_stretched_letters_to_two() -> None:
    assert fold("freeeeee") == "free"
    assert fold("good") == "good"
    assert fold("spaaaam") == "spaam"


def test_fold_casefolds_and_folds_white_space() -> None:
    assert fold("  Straße \n\t GROSS ") == "strasse gross"


@given(st.text())
@settings(max_examples=1000)
def test_folding_twice_changes_nothing(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


# --- terms ----------------------------------------------------------------------------


def test_word_terms_come_back_folded() -> None:
    assert check_term(BlockedTerm("  Sp4m ")) == BlockedTerm("spam")
    assert check_term(BlockedTerm("Buy   F0llowers", action="delete")) == BlockedTerm(
        "buy followers", "word", "delete"
    )


@pytest.mark.parametrize(
    ("term", "message"),
    [
        (BlockedTerm(""), "empty"),
        (BlockedTerm("   "), "empty"),
        (BlockedTerm("x" * 201), "201 characters; the limit is 200"),
        (BlockedTerm("!!!"), "no letters or digits"),
        (BlockedTerm("*", "wildcard"), "needs a letter"),
        (BlockedTerm("spam *", "wildcard"), "needs a letter"),
        (BlockedTerm("spam", "phrase"), "Unknown kind"),  # type: ignore[arg-type]
        (BlockedTerm("spam", "word", "ban"), "Unknown action"),  # type: ignore[arg-type]
    ],
)
def test_bad_terms_are_refused_with_a_reason(term: BlockedTerm, message: str) -> None:
    with pytest.raises(ModerationRuleError, match=re.escape(message)):
        check_term(term)


def test_a_term_of_200_characters_is_fine() -> None:
    assert check_term(BlockedTerm("xy" * 100, "regex")).pattern == "xy" * 100


def test_a_bad_regex_is_named_with_the_reason_and_position() -> None:
    with pytest.raises(ModerationRuleError) as caught:
        check_term(BlockedTerm("fr(ee", "regex"))
    message = str(caught.value)
    assert "'fr(ee'" in message
    assert "missing )" in message
    assert "position 2" in message


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(a+)+", "repeats a part that itself repeats"),
        (r"(\w+\s?)+$", "repeats a part that itself repeats"),
        ("(a|ab)*c", "repeats a part that itself repeats"),
        ("(a?){20}", "repeats a part that itself repeats"),
        (r".*.*.*x", "too many parts like .*"),
        (r"\w*\w*\w*x", "too many parts like .*"),
        (r"(x)\1", "back-references"),
        ("a*", "matches an empty comment"),
        ("^", "matches an empty comment"),
        ("[[a]", "not valid"),
        ("x{99999999999}", "not valid"),
    ],
)
def test_regexes_that_could_take_minutes_or_catch_everything_are_refused(
    pattern: str, message: str
) -> None:
    with pytest.raises(ModerationRuleError, match=re.escape(message)):
        check_term(BlockedTerm(pattern, "regex"))


@pytest.mark.parametrize(
    "pattern",
    [
        r"free\s+(followers|likes)",
        r"\bf\W*r\W*e\W*e\W*\b",
        r"buy.*now",
        r"\d{3}[- ]?\d{4}",
        r"(?:cheap|free)\W*(?:followers|likes)",
    ],
)
def test_ordinary_regexes_are_accepted_as_typed(pattern: str) -> None:
    assert check_term(BlockedTerm(pattern, "regex")) == BlockedTerm(pattern, "regex")


def test_the_worst_accepted_regex_checks_a_long_comment_quickly() -> None:
    matcher = TermMatcher([BlockedTerm(r"\w*\w*x", "regex")])
    assert matcher.match("a" * 5_000) is None


def test_word_terms_match_whole_words_on_folded_text() -> None:
    matcher = TermMatcher([BlockedTerm("spam")])
    for text in ["SPAM!", "this is sp4m", "spåm here", "no s.p.a.m", "s p a m", "an S-P-A-M here"]:
        assert matcher.match(text) == BlockedTerm("spam"), text
    for text in ["spammer", "antispam", "sp am", "I said spa m"]:
        assert matcher.match(text) is None, text


def test_multi_word_terms_match_the_words_in_order() -> None:
    matcher = TermMatcher([BlockedTerm("buy followers")])
    assert matcher.match("BUY    f0ll0wers now") is not None
    assert matcher.match("followers buy") is None
    assert matcher.match("buy more followers") is None


def test_wildcards_match_within_one_word() -> None:
    matcher = TermMatcher([BlockedTerm("sc*m", "wildcard"), BlockedTerm("h?t", "wildcard")])
    assert matcher.match("what a scam") == BlockedTerm("sc*m", "wildcard")
    assert matcher.match("SC4MMM") == BlockedTerm("sc*m", "wildcard")
    assert matcher.match("sc4mmer") is None
    assert matcher.match("so hot") == BlockedTerm("h?t", "wildcard")
    assert matcher.match("heat") is None
    assert matcher.match("sc am") is None


def test_many_stars_in_a_wildcard_stay_fast() -> None:
    matcher = TermMatcher([BlockedTerm("*a*a*a*a*a*a*b", "wildcard")])
    assert matcher.match("a" * 500) is None


def test_regex_terms_run_case_insensitively_on_folded_text() -> None:
    matcher = TermMatcher([BlockedTerm(r"f\W*r\W*e\W*e\s+stuff", "regex")])
    assert matcher.match("F-R-E-E stuff") is not None
    assert matcher.match("FR33 stuff") is not None
    assert matcher.match("free    STUFF") is not None
    assert matcher.match("fre stuff") is None


def test_the_most_severe_term_wins_then_the_first_listed() -> None:
    hold, delete, other_hold = (
        BlockedTerm("spam"),
        BlockedTerm("scam", action="delete"),
        BlockedTerm("sp*", "wildcard"),
    )
    matcher = TermMatcher([hold, other_hold, delete])
    assert matcher.match("spam scam") == delete
    assert matcher.match("spam") == hold
    assert matcher.match("spot") == other_hold
    assert matcher.match("nothing here") is None


def test_a_matcher_refuses_too_many_terms() -> None:
    with pytest.raises(ModerationRuleError, match="limit is 1,000"):
        TermMatcher([BlockedTerm(f"word{i}") for i in range(MAX_TERMS + 1)])


def test_set_terms_changes_nothing_when_one_term_is_bad() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spam")])
    with pytest.raises(ModerationRuleError, match="'fr\\(ee'"):
        policy.set_terms([BlockedTerm("scam"), BlockedTerm("fr(ee", "regex")])
    assert policy.terms == (BlockedTerm("spam"),)
    policy.set_terms([BlockedTerm("Sc4m", action="delete")])
    assert policy.terms == (BlockedTerm("scam", "word", "delete"),)


# --- modes, timeouts, reasons -----------------------------------------------------------


def test_modes_validation() -> None:
    for good in [RoomModes(), RoomModes(1), RoomModes(3600, True, True, True)]:
        assert check_modes(good) == good
    for bad in [RoomModes(-1), RoomModes(3601), RoomModes(True), RoomModes(1.5)]:  # type: ignore[arg-type]
        with pytest.raises(ModerationRuleError, match="1 to 3600 seconds"):
            check_modes(bad)
    with pytest.raises(ModerationRuleError, match="paused must be on or off"):
        check_modes(RoomModes(paused=1))  # type: ignore[arg-type]
    with pytest.raises(ModerationRuleError):
        ChatPolicy().set_modes(RoomModes(slow_seconds=99_999))


def test_timeouts_last_one_second_to_fourteen_days() -> None:
    assert [check_timeout(s) for s in TIMEOUT_PRESETS.values()] == [60, 600, 3600, 86400]
    assert check_timeout(1) == 1.0
    assert check_timeout(14 * 86_400) == 14 * 86_400
    for bad in [0, 0.5, 14 * 86_400 + 1, float("nan"), float("inf"), True, "60"]:
        with pytest.raises(ModerationRuleError, match="1 second to 14 days"):
            check_timeout(bad)  # type: ignore[arg-type]


def test_reasons_are_folded_and_capped() -> None:
    assert clean_reason(None) == ""
    assert clean_reason("  spam\n\nlinks ") == "spam links"
    assert clean_reason("r" * 200) == "r" * 200
    with pytest.raises(ModerationRuleError, match="201 characters; the limit is 200"):
        clean_reason("r" * 201)


def test_waits_read_like_a_countdown() -> None:
    assert format_wait(0) == "0 s"
    assert format_wait(0.2) == "1 s"
    assert format_wait(80) == "1 min 20 s"
    assert format_wait(120) == "2 min"
    assert format_wait(3_700) == "1 h 1 min"
    assert format_wait(90_000) == "1 d 1 h"
    assert format_wait(float("inf")) == "a long time"


@pytest.mark.parametrize(
    "text", ["🔥", "🔥 🔥  😍", ":fire: :heart_eyes:", "1️⃣", "👍🏽", "🇫🇷", "👨‍👩‍👧"]
)
def test_emoji_only_accepts_emoji_and_shortcodes(text: str) -> None:
    assert is_emoji_only(text)


@pytest.mark.parametrize("text", ["", "   ", "🔥 hi", "1", "fire:", "\u200d", "<3", ":)"])
def test_emoji_only_refuses_words_and_emptiness(text: str) -> None:
    assert not is_emoji_only(text)


# --- the verdict, rule by rule ------------------------------------------------------------


def test_a_plain_comment_is_published() -> None:
    assert ChatPolicy().judge(VIEWER, "love the blue one", 0) == Verdict("publish")


def test_banned_viewer_cannot_comment() -> None:
    verdict = ChatPolicy().judge(Author("v1", banned=True), "hi", 0)
    assert (verdict.action, verdict.rule) == ("refuse", "banned")


def test_timed_out_viewer_is_told_when_they_may_chat_again() -> None:
    verdict = ChatPolicy().judge(Author("v1", muted_until=180.0), "hi", 100.0)
    assert (verdict.action, verdict.rule, verdict.retry_after) == ("refuse", "timeout", 80.0)
    assert "1 min 20 s" in verdict.reason
    assert ChatPolicy().judge(Author("v1", muted_until=100.0), "hi", 100.0).action == "publish"


def test_paused_chat_refuses_everyone_but_staff() -> None:
    policy = ChatPolicy(modes=RoomModes(paused=True))
    assert policy.judge(VIEWER, "hi", 0).rule == "paused"
    assert policy.judge(Author("host", is_staff=True), "hi", 0).action == "publish"


def test_buyers_only_mode() -> None:
    policy = ChatPolicy(modes=RoomModes(buyers_only=True))
    assert policy.judge(VIEWER, "hi", 0).rule == "buyers_only"
    assert policy.judge(Author("b", is_buyer=True), "hi", 0).action == "publish"


def test_slow_mode_retry_after_counts_down_from_the_last_post() -> None:
    policy = ChatPolicy(modes=RoomModes(slow_seconds=30))
    assert policy.slow_wait("v1", 0) == 0
    assert policy.judge(VIEWER, "one", 100.0).action == "publish"
    verdict = policy.judge(VIEWER, "two", 112.5)
    assert (verdict.rule, verdict.retry_after) == ("slow", 17.5)
    assert "every 30 s" in verdict.reason and "18 s" in verdict.reason
    assert policy.slow_wait("v1", 112.5) == 17.5
    # A refused post does not restart the wait.
    assert policy.slow_wait("v1", 129.0) == 1.0
    assert policy.judge(VIEWER, "three", 130.0).action == "publish"
    assert policy.slow_wait("v1", 130.0) == 30.0
    assert policy.slow_wait("someone else", 130.0) == 0


def test_slow_mode_turned_on_applies_to_a_post_just_made() -> None:
    policy = ChatPolicy()
    policy.judge(VIEWER, "one", 0)
    policy.set_modes(RoomModes(slow_seconds=10))
    assert policy.judge(VIEWER, "two", 4).retry_after == 6
    policy.set_modes(RoomModes())
    assert policy.judge(VIEWER, "two", 4).action == "publish"


def test_emoji_only_mode() -> None:
    policy = ChatPolicy(modes=RoomModes(emoji_only=True))
    assert policy.judge(VIEWER, "🔥🔥", 0).action == "publish"
    assert policy.judge(VIEWER, "so hot", 1).rule == "emoji_only"


def test_hold_term_holds_and_names_the_term_for_the_log() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spam")])
    verdict = policy.judge(VIEWER, "SP4M here", 0)
    assert (verdict.action, verdict.rule, verdict.term) == ("hold", "term", BlockedTerm("spam"))
    assert not verdict.automatic_delete
    assert "spam" not in verdict.reason.casefold()


def test_delete_term_refuses_and_logs_an_automatic_deletion() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("scam", action="delete")])
    verdict = policy.judge(VIEWER, "what a sc4m", 0)
    assert (verdict.action, verdict.rule, verdict.automatic_delete) == ("refuse", "term", True)
    assert verdict.term == BlockedTerm("scam", action="delete")


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.org/x",
        "HTTP://EXAMPLE.ORG",
        "go to www.example",
        "shop.example.com has it cheaper",
        "my-shop.io",
        "t.me/deals",
        "bit.ly/abc",
        "example dot com",
        "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",
        "visit spam.example",
        "cheap-followers.us",
        "dm me on t.me",
        "spam dot example",
        "spam (dot) co [dot] uk",
        "mail me@spam.example",
        "spam.me/x",
        "spam\u3002example",
        "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
        "rare.museum",
        "shop.co.uk",
    ],
)
def test_links_are_held_not_refused(text: str) -> None:
    verdict = ChatPolicy().judge(VIEWER, text, 0)
    assert (verdict.action, verdict.rule) == ("hold", "link"), text


@pytest.mark.parametrize(
    "text",
    [
        "it.so soft",
        "price is 4.99",
        "size 10.5",
        "loved it.it is great",
        "3.5/5",
        "ok.bye",
        "wow.so cute",
        "love the polka dot top",
        "e.g. this one",
        "see you at 8 a.m.",
        "sp4m.c0m",
    ],
)
def test_prices_and_missing_spaces_are_not_links(text: str) -> None:
    assert ChatPolicy().judge(VIEWER, text, 0).action == "publish", text


def test_domains_end_where_the_public_suffix_list_says() -> None:
    """The endings come from the list the package ships, not from a list kept here."""
    policy = ChatPolicy()
    assert policy.judge(VIEWER, "deals at cheap.co.uk", 0).rule == "link"
    assert policy.judge(VIEWER, "deals at cheap.xn--p1ai", 0).rule == "link"
    assert policy.judge(VIEWER, "nothing at cheap.notanending", 0).action == "publish"
    assert policy.judge(VIEWER, "co.uk", 0).action == "publish", "an ending alone is no host"


def test_the_link_filter_never_touches_the_network() -> None:
    """The list is read from the package's own file: no socket, no HTTP client loaded."""
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('the link filter opened a socket')\n"
        "socket.socket = socket.create_connection = refuse\n"
        "from console.domain.moderation import has_link\n"
        "assert has_link('visit spam.example') and has_link('t.me')\n"
        "loaded = {'urllib.request', 'http.client', 'requests'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 0, done.stderr


def test_links_may_be_allowed() -> None:
    assert ChatPolicy(block_links=False).judge(VIEWER, "www.example.com", 0).action == "publish"
    policy = ChatPolicy()
    policy.block_links = False
    assert not policy.block_links
    assert policy.judge(VIEWER, "www.example.com", 0).action == "publish"
    policy.block_links = True
    assert policy.judge(VIEWER, "www.example.org", 1).rule == "link"


def test_the_same_words_a_fourth_time_in_a_minute_are_refused() -> None:
    policy = ChatPolicy(flood_limit=100)
    verdicts = judge_all(policy, ["Hello!", "hello!", "HELLO!", "h3llo!"], step=10)
    assert [v.action for v in verdicts] == ["publish"] * 3 + ["refuse"]
    assert verdicts[-1].rule == "repeat"
    assert "already said that" in verdicts[-1].reason
    assert policy.judge(VIEWER, "something new", 31).action == "publish"
    # The first "hello" is a minute old at 60: only two remain in the window.
    assert policy.judge(VIEWER, "hello!", 60).action == "publish"


def test_more_than_eight_posts_in_ten_seconds_is_a_flood() -> None:
    policy = ChatPolicy()
    verdicts = judge_all(policy, [f"message {i}" for i in range(10)], start=100, step=0.5)
    assert [v.action for v in verdicts] == ["publish"] * 8 + ["refuse"] * 2
    flood = verdicts[8]
    # The first post (at 100.0) leaves the window at 110.0; the ninth came at 104.0.
    assert (flood.rule, flood.retry_after) == ("flood", 6.0)
    assert policy.judge(VIEWER, "later", 110.0).action == "publish"


def test_refused_comments_do_not_count_as_posts() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("scam", action="delete")], flood_limit=2)
    for i in range(5):
        assert policy.judge(VIEWER, f"scam {i}", i * 0.1).action == "refuse"
    assert policy.judge(VIEWER, "fine", 1).action == "publish"


def test_held_comments_count_as_posts() -> None:
    policy = ChatPolicy(terms=[BlockedTerm("spam")], modes=RoomModes(slow_seconds=10))
    assert policy.judge(VIEWER, "spam", 0).action == "hold"
    assert policy.judge(VIEWER, "fine", 5).rule == "slow"


def test_staff_always_publish_and_leave_no_trace() -> None:
    policy = ChatPolicy(
        terms=[BlockedTerm("scam", action="delete")],
        modes=RoomModes(slow_seconds=60, paused=True, emoji_only=True, buyers_only=True),
    )
    staff = Author("host", is_staff=True, banned=True)
    for i in range(20):
        assert policy.judge(staff, "scam www.example.com", i) == Verdict("publish")
    assert policy.tracked_viewers() == 0


@pytest.mark.parametrize(
    ("author", "modes", "text", "rule"),
    [
        (Author("v1", banned=True, muted_until=99), RoomModes(paused=True), "scam", "banned"),
        (Author("v1", muted_until=99), RoomModes(paused=True), "scam", "timeout"),
        (VIEWER, RoomModes(paused=True, buyers_only=True), "scam", "paused"),
        (VIEWER, RoomModes(buyers_only=True, slow_seconds=60), "scam", "buyers_only"),
        (Author("v1", is_buyer=True), RoomModes(slow_seconds=60, emoji_only=True), "scam", "slow"),
        (Author("v2"), RoomModes(emoji_only=True), "scam", "emoji_only"),
        (Author("v2"), RoomModes(), "scam www.example.com", "term"),
        (Author("v2"), RoomModes(), "www.example.com first", "link"),
        (VIEWER, RoomModes(), "first", "repeat"),
    ],
)
def test_rules_apply_in_order(author: Author, modes: RoomModes, text: str, rule: str) -> None:
    policy = ChatPolicy(terms=[BlockedTerm("scam", action="delete")], repeat_limit=1)
    policy.judge(VIEWER, "first", 0)
    policy.set_modes(modes)
    assert policy.judge(author, text, 1).rule == rule


def test_repeat_is_checked_before_flood() -> None:
    policy = ChatPolicy(repeat_limit=2, flood_limit=2)
    judge_all(policy, ["same", "same"], step=0.1)
    assert policy.judge(VIEWER, "same", 0.3).rule == "repeat"
    assert policy.judge(VIEWER, "other", 0.3).rule == "flood"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"repeat_limit": 0},
        {"flood_limit": 0},
        {"repeat_window": 0},
        {"flood_window": -1},
        {"flood_window": float("nan")},
        {"modes": RoomModes(slow_seconds=-5)},
        {"terms": [BlockedTerm("(", "regex")]},
    ],
)
def test_bad_policy_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ModerationRuleError):
        ChatPolicy(**kwargs)


# --- memory ---------------------------------------------------------------------------


def test_memory_of_ten_thousand_viewers_is_pruned_once_their_windows_pass() -> None:
    policy = ChatPolicy(modes=RoomModes(slow_seconds=120))
    for i in range(10_000):  # each says something else: in slow mode, copies are repeats
        policy.judge(Author(f"viewer-{i}"), f"hi {i}", i * 0.001)
    assert policy.tracked_viewers() == 10_000
    policy.forget("viewer-0")
    policy.forget("nobody")
    assert policy.tracked_viewers() == 9_999
    # Slow mode (120 s) is the longest window: everyone is still needed at 100 s ...
    policy.judge(Author("late"), "hi", 100.0)
    assert policy.tracked_viewers() == 10_000
    # ... and nobody but "late" at 200 s.
    policy.judge(Author("later"), "hi", 200.0)
    assert policy.tracked_viewers() == 2


def test_one_viewer_history_is_capped() -> None:
    policy = ChatPolicy(flood_limit=100, flood_window=0.001, repeat_window=86_400)
    for i in range(1_000):
        policy.judge(VIEWER, f"message {i}", float(i))
    viewer = policy._viewers["v1"]
    assert len(viewer.posts) == 100


# --- fuzz -----------------------------------------------------------------------------

_REGEX_ALPHABET = st.sampled_from([*"ab.*+?|()[]{}^$\\wsd0123,-:=!<>", "(?", "\\b"])
_random_regex = st.lists(_REGEX_ALPHABET, max_size=12).map("".join)
_terms = st.lists(
    st.builds(
        BlockedTerm,
        pattern=st.one_of(st.text(max_size=20), _random_regex),
        kind=st.sampled_from(["word", "wildcard", "regex"]),
        action=st.sampled_from(["hold", "delete"]),
    ),
    max_size=4,
)
_authors = st.builds(
    Author,
    viewer_id=st.sampled_from(["a", "b", "c"]),
    is_staff=st.booleans(),
    is_buyer=st.booleans(),
    banned=st.booleans(),
    muted_until=st.none() | st.floats(-1e6, 1e6),
)
_texts = st.text(max_size=200) | st.sampled_from(
    ["spam", "sp4m!", "www.example.com", "🔥🔥", ":fire:", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", ""]
)


@given(
    terms=_terms,
    modes=st.builds(
        RoomModes,
        slow_seconds=st.integers(0, 20),
        buyers_only=st.booleans(),
        emoji_only=st.booleans(),
        paused=st.booleans(),
    ),
    posts=st.lists(st.tuples(_authors, _texts, st.floats(0, 100)), max_size=30),
)
@settings(max_examples=500, deadline=None)
def test_judge_never_fails_whatever_the_terms_and_messages(terms, modes, posts) -> None:
    policy = ChatPolicy(modes=modes)
    try:
        policy.set_terms(terms)
    except ModerationRuleError:
        assert policy.terms == ()
    for author, text, now in posts:
        verdict = policy.judge(author, text, now)
        assert verdict.action in ("publish", "hold", "refuse")
        if author.is_staff:
            assert verdict == Verdict("publish")
        if verdict.retry_after is not None:
            assert verdict.retry_after > 0
        if verdict.automatic_delete:
            assert verdict.action == "refuse" and verdict.term is not None
        assert 0 <= policy.slow_wait(author.viewer_id, now) <= modes.slow_seconds


@given(_random_regex, st.text(max_size=300))
@settings(max_examples=1000, deadline=None)
def test_random_regexes_are_accepted_or_refused_never_crash(pattern: str, text: str) -> None:
    try:
        term = check_term(BlockedTerm(pattern, "regex"))
    except ModerationRuleError as exc:
        assert str(exc)
        return
    TermMatcher([term]).match(text)
