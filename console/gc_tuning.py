"""Python's cyclic garbage collector, tuned for a process that holds thousands of sockets.

Each viewer's connection is a few hundred objects that live as long as the viewer
watches, so 10,000 viewers are over a million objects for a full collection to walk:
300-450 ms on the machines we measure on, during which no frame goes out and the
console's window does not repaint. With the default thresholds (700, 10, 10), objects
alive for a few milliseconds at a show's peak (a ping, a frame's pending write) reached
the oldest generation fast enough to start such a pass every few seconds
(``tests/bench/chat_fanout.py`` at 10,000 listeners: three in 20 s). A first threshold
of 50,000 lets them die young first; freezing what exists once the process has started
(modules, Qt's wrappers, the catalogue) leaves it out of every later pass.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations before a young collection, and young collections before each older one.
THRESHOLDS = (50_000, 20, 10)


def tune_collector() -> None:
    """Call once, after start-up: later full collections skip what exists now."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside: for a batch job that builds a big, short-lived and
    acyclic heap. The post-show report reads a 3-hour show into some two million objects
    and each full pass walks them all: 1.0 of its 4.9 s went to 1,194 collections with
    the default thresholds. Reference counting still frees what the job drops; any
    cycle waits for the next collection after it. Left disabled when it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
