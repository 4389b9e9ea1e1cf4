"""The report's blocker groups shared with the worker chunk by chunk
(console/blocker_groups.py): whatever each process takes, every text is read once and
the groups are those read here, with the other work's result handed back."""

from __future__ import annotations

import time

import pytest

from console import blocker_groups as grouping
from console.blocker_groups import grouped_while, read_groups
from tests.test_blocker_groups import show


def test_the_worker_and_this_process_share_the_chunks_and_the_other_work_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping, "WORKER_FROM", 200)
    monkeypatch.setattr(grouping, "CHUNK", 30)
    read_here: list[int] = []
    real = grouping.read_groups

    def counted(texts: list[str]) -> list[frozenset[grouping.Group]]:
        read_here.append(len(texts))
        return real(texts)

    texts = show(1_000)
    monkeypatch.setattr(grouping, "read_groups", counted)

    def exports() -> str:
        time.sleep(0.5)  # long enough for the worker to start and take its chunks
        return "exports"

    found, other = grouped_while(texts, exports)
    assert other == "exports"
    assert [found[text] for text in texts] == read_groups(texts)
    assert sum(read_here) < len(texts), "the worker read none"


def test_a_worker_that_dies_midway_leaves_its_chunks_to_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping, "WORKER_FROM", 200)
    monkeypatch.setattr(grouping, "CHUNK", 30)
    real = grouping._receive
    answers: list[int] = []

    def cut(pipe: object) -> bytes:
        answers.append(1)
        if len(answers) > 2:
            raise EOFError("the worker closed its output")
        return real(pipe)  # type: ignore[arg-type]

    monkeypatch.setattr(grouping, "_receive", cut)
    texts = show(1_000)
    found, _ = grouped_while(texts, lambda: None)
    assert [found[text] for text in texts] == read_groups(texts)


def test_the_other_work_failing_stops_the_worker_and_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping, "WORKER_FROM", 200)
    monkeypatch.setattr(grouping, "CHUNK", 30)

    def exports() -> None:
        raise OSError("the disk is full")

    with pytest.raises(OSError, match="the disk is full"):
        grouped_while(show(1_000), exports)
