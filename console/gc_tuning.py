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

#: Allocations before a young collection, and young collections before each older one.
THRESHOLDS = (50_000, 20, 10)


def tune_collector() -> None:
    """Call once, after start-up: later full collections skip what exists now."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
