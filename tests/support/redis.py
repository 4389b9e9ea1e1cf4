"""A real redis-server for the bus tests: one per test session, on 127.0.0.1, keeping
nothing on disk (``--save "" --appendonly no``), in the session's own folder. The
benchmarks of a cluster (``tests/bench/cluster.py``) start theirs here too."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.nginx import free_port
from tests.support.system import MissingPackage, skip_when_missing

START_TIMEOUT = 10.0


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Start redis-server; yield its ``redis://`` URL; stop it.

    Raises :class:`MissingPackage` without Debian's ``redis-server``, RuntimeError (with
    its log) when it does not start."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise MissingPackage("redis-server", "redis-server")
    port = free_port()
    command = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(folder),
    ]  # fmt: skip
    log = folder / "redis.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(10)
                raise RuntimeError(f"redis-server did not start ({command}):\n{log.read_text()}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's redis-server (import this fixture into a test module to use it)."""
    with skip_when_missing(), redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
