"""The blocker groups of a big show's comments, read on two cores.

Reading a comment's groups (:func:`~console.domain.insight.blockers.groups`) is pure
Python, some 25 µs a comment: a 3-hour show's 100,000 different comments take half of
the report's time on one core. A report is written after the show, when the machine
has cores to spare, so past :data:`WORKER_FROM` comments a worker reads a share of
them while this process reads the rest. The worker is ``python -m
console.blocker_groups``, a plain child process (texts in on stdin, groups out on
stdout, msgpack): neither forked from a Qt application's thread, as the console writes
reports, nor re-importing the caller's main module, as ``multiprocessing`` would. It
lives outside :mod:`console.report`, whose package imports matplotlib: the worker starts
in a fifth of a second instead of a whole one.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Final

import msgspec

from console.domain.insight.blockers import Group, groups

log = logging.getLogger(__name__)

#: Below this many different texts one process is quicker than starting another.
WORKER_FROM: Final = 20_000
#: The worker's share: a little under half, for the ~0.3 s it takes to start.
WORKER_SHARE: Final = 0.42

_TEXTS: Final = msgspec.msgpack.Decoder(list[str])
_GROUPS: Final = msgspec.msgpack.Decoder(list[frozenset[Group]])


def read_groups(texts: Sequence[str]) -> list[frozenset[Group]]:
    """The groups of each text, in order."""
    return [groups(text) for text in texts]


def grouped(texts: Sequence[str]) -> dict[str, frozenset[Group]]:
    """Each different text's blocker groups; on two cores for a big show."""
    unique = list(dict.fromkeys(texts))
    if len(unique) < WORKER_FROM or len(os.sched_getaffinity(0)) < 2:
        return dict(zip(unique, read_groups(unique), strict=True))
    cut = int(len(unique) * WORKER_SHARE)
    worker = _Worker(unique[:cut])
    mine = read_groups(unique[cut:])
    theirs = worker.result()
    if theirs is None:
        theirs = read_groups(unique[:cut])
    return dict(zip(unique, [*theirs, *mine], strict=True))


class _Worker:
    """The child reading ``texts`` while this process reads the rest; its answer is
    read in a thread (the pipes wait without the GIL)."""

    def __init__(self, texts: list[str]) -> None:
        self._count = len(texts)
        self._out: bytes | None = None
        self._error = ""
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._child = None
            self._error = str(exc)
            return
        self._thread = threading.Thread(
            target=self._talk, args=(msgspec.msgpack.encode(texts),), daemon=True
        )
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        assert self._child is not None
        out, err = self._child.communicate(payload)
        if self._child.returncode == 0:
            self._out = out
        else:
            self._error = err.decode(errors="replace").strip()[-500:]

    def result(self) -> list[frozenset[Group]] | None:
        """The worker's groups, or None (logged) when it could not give them."""
        if self._child is not None:
            self._thread.join()
        if self._out is not None:
            found = _GROUPS.decode(self._out)
            if len(found) == self._count:
                return found
            self._error = f"{len(found)} answers for {self._count} texts"
        log.warning("the blocker worker failed (%s); reading on one core", self._error)
        return None


def main() -> None:
    texts = _TEXTS.decode(sys.stdin.buffer.read())
    sys.stdout.buffer.write(msgspec.msgpack.encode([sorted(g) for g in read_groups(texts)]))


if __name__ == "__main__":
    main()
