"""The blocker groups of a big show's comments, read on two cores.

Reading a comment's groups (:func:`~console.domain.insight.blockers.groups`) is pure
Python, some 20 µs a comment: a 3-hour show's 100,000 different comments take a third
of the report's time on one core. A report is written after the show, when the machine
has cores to spare, so past :data:`WORKER_FROM` comments a worker reads some of them
while this process reads the rest. The worker is ``python -m console.blocker_groups``, a
plain child process (texts in on stdin, groups out on stdout, msgpack): neither forked
from a Qt application's thread, as the console writes reports, nor re-importing the
caller's main module, as ``multiprocessing`` would. It lives outside
:mod:`console.report`, whose package imports matplotlib: the worker starts in a fifth of
a second instead of a whole one.

The texts go out in chunks of :data:`CHUNK`: the worker takes them from the front while
this process, once done with whatever else it has to do (:func:`grouped_while`), takes
them from the back. No share is fixed beforehand, so neither waits for the other long,
whatever the worker's start, the other work or a busy machine costs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Final, TypeVar

import msgspec

from console.domain.insight.blockers import Group, groups

log = logging.getLogger(__name__)

#: Below this many different texts one process is quicker than starting another.
WORKER_FROM: Final = 20_000
#: Texts per exchange with the worker: some 40 ms of reading, so that at the end one
#: process waits at most that long for the other's last chunk.
CHUNK: Final = 2_000

_TEXTS: Final = msgspec.msgpack.Decoder(list[str])
_GROUPS: Final = msgspec.msgpack.Decoder(list[frozenset[Group]])
_LENGTH: Final = 4

T = TypeVar("T")


def read_groups(texts: Sequence[str]) -> list[frozenset[Group]]:
    """The groups of each text, in order."""
    return [groups(text) for text in texts]


def grouped(texts: Sequence[str]) -> dict[str, frozenset[Group]]:
    """Each different text's blocker groups; on two cores for a big show."""
    return grouped_while(texts, lambda: None)[0]


def grouped_while(
    texts: Sequence[str], meanwhile: Callable[[], T]
) -> tuple[dict[str, frozenset[Group]], T]:
    """Each different text's blocker groups, and what ``meanwhile`` returns, called here
    while the worker starts and reads: work that needs no groups (the report's CSV
    exports) then costs next to nothing on two cores."""
    unique = list(dict.fromkeys(texts))
    if len(unique) < WORKER_FROM or len(os.sched_getaffinity(0)) < 2:
        found = dict(zip(unique, read_groups(unique), strict=True))
        return found, meanwhile()
    chunks = _Chunks([unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)])
    worker = _Worker(chunks)
    try:
        done = meanwhile()
        while (index := chunks.take(last=True)) is not None:
            chunks.found[index] = read_groups(chunks.texts[index])
    except BaseException:
        chunks.drop()
        raise
    finally:
        worker.join()
    read: list[frozenset[Group]] = []
    for index, texts_of in enumerate(chunks.texts):
        answer = chunks.found[index]
        read += answer if answer is not None else read_groups(texts_of)
    return dict(zip(unique, read, strict=True)), done


class _Chunks:
    """The chunks to read, taken from the front by the worker's thread and from the
    back by this process, each exactly once."""

    def __init__(self, texts: list[list[str]]) -> None:
        self.texts = texts
        self.found: list[list[frozenset[Group]] | None] = [None] * len(texts)
        self._front = 0
        self._back = len(texts)
        self._lock = threading.Lock()

    def take(self, last: bool = False) -> int | None:
        with self._lock:
            if self._front >= self._back:
                return None
            if last:
                self._back -= 1
                return self._back
            self._front += 1
            return self._front - 1

    def drop(self) -> None:
        """Leave the rest unread: the caller failed, and the worker stops after its chunk."""
        with self._lock:
            self._back = self._front


class _Worker:
    """The child reading chunks from the front; it is spoken to from a thread (the pipes
    wait without the GIL). A chunk it could not answer stays unread, for this process."""

    def __init__(self, chunks: _Chunks) -> None:
        self._chunks = chunks
        self._thread: threading.Thread | None = None
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            log.warning("the blocker worker failed (%s); reading on one core", exc)
            return
        self._thread = threading.Thread(target=self._talk, args=(child,), daemon=True)
        self._thread.start()

    def _talk(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdin is not None and child.stdout is not None
        error = ""
        try:
            while (index := self._chunks.take()) is not None:
                texts = self._chunks.texts[index]
                _send(child.stdin, msgspec.msgpack.encode(texts))
                found = _GROUPS.decode(_receive(child.stdout))
                if len(found) != len(texts):
                    error = f"{len(found)} answers for {len(texts)} texts"
                    break
                self._chunks.found[index] = found
        except (OSError, EOFError, msgspec.DecodeError) as exc:
            error = str(exc) or type(exc).__name__
        finally:
            with contextlib.suppress(OSError):
                child.stdin.close()
            child.stdout.close()
            err = child.stderr.read() if child.stderr is not None else b""
            child.wait()
        if child.returncode != 0 or error:
            reason = err.decode(errors="replace").strip()[-500:] or error
            log.warning("the blocker worker failed (%s); reading on one core", reason)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _send(pipe: IO[bytes], payload: bytes) -> None:
    pipe.write(len(payload).to_bytes(_LENGTH, "big") + payload)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    header = pipe.read(_LENGTH)
    if len(header) < _LENGTH:
        raise EOFError("the worker closed its output")
    size = int.from_bytes(header, "big")
    payload = pipe.read(size)
    if len(payload) < size:
        raise EOFError("the worker's answer was cut short")
    return payload


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            texts = _TEXTS.decode(_receive(stdin))
        except EOFError:
            return
        _send(stdout, msgspec.msgpack.encode([sorted(g) for g in read_groups(texts)]))


if __name__ == "__main__":
    main()
