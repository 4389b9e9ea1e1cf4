"""Chat rules: what a comment and a name may be, and the posting rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.chat import ChatRuleError, RateLimiter, clean_comment, clean_name


def test_comment_white_space_and_line_breaks_are_folded() -> None:
    assert clean_comment("  so\n\npretty \t in   pink  ") == "so pretty in pink"


def test_comment_control_characters_cannot_hide_or_reorder_text() -> None:
    assert clean_comment("hi\x00\x1b[31mred\u2028x") == "hi [31mred x"


def test_empty_comment_is_refused_with_a_hint() -> None:
    with pytest.raises(ChatRuleError, match="empty; type something"):
        clean_comment(" \n ")


def test_long_comment_is_refused_with_the_limit_named() -> None:
    with pytest.raises(ChatRuleError, match="501 characters; the limit is 500"):
        clean_comment("x" * 501)
    assert clean_comment("x" * 500) == "x" * 500


def test_name_rules() -> None:
    assert clean_name("  Ann  Lee ") == "Ann Lee"
    with pytest.raises(ChatRuleError, match="empty"):
        clean_name("\n")
    with pytest.raises(ChatRuleError, match="limit is 40"):
        clean_name("n" * 41)


@given(st.text())
def test_a_cleaned_comment_is_stable_and_single_line(text: str) -> None:
    try:
        cleaned = clean_comment(text)
    except ChatRuleError:
        return
    assert clean_comment(cleaned) == cleaned
    assert "\n" not in cleaned and cleaned == cleaned.strip() and 0 < len(cleaned) <= 500


def test_rate_limiter_allows_a_burst_then_tells_the_wait() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.allow(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.allow(10.0) == pytest.approx(0.5)
    assert limiter.allow(10.5) == 0.0
    assert limiter.allow(20.0) == 0.0, "tokens refill over time"


def test_rate_limiter_survives_a_clock_that_steps_back() -> None:
    limiter = RateLimiter(rate=1.0, burst=1)
    assert limiter.allow(100.0) == 0.0
    assert limiter.allow(50.0) == pytest.approx(1.0)


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=200))
def test_rate_limiter_never_allows_more_than_burst_plus_rate_times_time(times: list[float]) -> None:
    limiter = RateLimiter(rate=1.0, burst=5)
    times.sort()
    allowed = sum(1 for t in times if limiter.allow(t) == 0.0)
    assert allowed <= 5 + (times[-1] - times[0]) * 1.0 + 1e-9
