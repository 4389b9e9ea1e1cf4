"""The report pauses the cyclic collector while it works (console/gc_tuning.py), and
gives it back as it found it, even when writing fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from console.gc_tuning import collector_paused


@pytest.fixture
def collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()


@pytest.mark.usefixtures("collector")
def test_the_collector_is_paused_inside_and_back_after_even_on_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the disk is full")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
