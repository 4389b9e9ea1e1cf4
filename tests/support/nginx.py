"""A real nginx in front of hubs, configured as a show past one machine runs it.

The configuration is ``console.cluster.nginx``'s, written into the test's own folder with
its pid, logs and temporary files, so the system's nginx and ``/etc`` are never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from console.cluster.nginx import Edge, standalone_config
from tests.support.system import missing_package

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def nginx_in_front(hubs: Sequence[str], folder: Path) -> Iterator[str]:
    """nginx on 127.0.0.1 sending to ``hubs`` (host:port); yields its ``host:port``."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip(missing_package("nginx", "nginx"))
    listen = f"127.0.0.1:{free_port()}"
    (folder / "temp").mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(standalone_config(Edge(listen, tuple(hubs)), folder))
    command = [binary, "-p", str(folder), "-c", str(config), "-g", "daemon off;"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        host, port = listen.rsplit(":", 1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    _, stderr = process.communicate()
                    pytest.fail(f"nginx did not start ({command}):\n{stderr}")
                time.sleep(0.05)
        yield listen
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)
