"""The report's blocker groups of a big show, read by a worker process and this one
(console/blocker_groups.py): the same groups as reading them all here, and still
right when the worker fails."""

from __future__ import annotations

import logging
import subprocess

import pytest

from console import blocker_groups as grouping
from console.blocker_groups import grouped, read_groups

TEXTS = [
    "is it in stock?",
    "too expensive for me 💸",
    "does it ship to Canada",
    "love it!!",
    "what size should I get, I'm 5'6 and 140 lbs",
    "paypal not working",
    "is this legit",
    "sold out again 😭",
]


def show(count: int) -> list[str]:
    """``count`` different comments, as a long show's chat has them."""
    return [f"{TEXTS[i % len(TEXTS)]} #{i}" for i in range(count)]


@pytest.fixture
def small_big_show(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A show just past the worker's threshold (lowered so the test stays quick)."""
    monkeypatch.setattr(grouping, "WORKER_FROM", 200)
    return show(400)


def test_a_worker_reads_its_share_and_the_groups_are_the_same(
    small_big_show: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        started.append(args)
        return real(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(grouping.subprocess, "Popen", popen)
    found = grouped(small_big_show)
    assert started and started[0][1:] == ["-m", "console.blocker_groups"]
    assert [found[text] for text in small_big_show] == read_groups(small_big_show)
    assert found["too expensive for me 💸 #1"] == {"price"}


@pytest.mark.parametrize(
    ("executable", "logged"),
    [("/bin/false", "the blocker worker failed"), ("/nonexistent/python", "No such file")],
    ids=["fails", "cannot-start"],
)
def test_a_worker_that_fails_or_cannot_start_leaves_the_groups_whole(
    executable: str,
    logged: str,
    small_big_show: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(grouping.sys, "executable", executable)
    with caplog.at_level(logging.WARNING, logger="console.blocker_groups"):
        found = grouped(small_big_show)
    assert [found[text] for text in small_big_show] == read_groups(small_big_show)
    assert logged in caplog.text


def test_a_small_show_is_read_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def popen(*args: object, **kwargs: object) -> None:
        raise AssertionError("no worker for a small show")

    monkeypatch.setattr(grouping.subprocess, "Popen", popen)
    texts = show(50)
    assert [grouped(texts)[t] for t in texts] == read_groups(texts)
