"""A show through a real Janus for the SFU benchmarks, inside a network namespace.

``python -m console.sfu`` (Janus and simple-whip-server), the console live with the test
pattern publishing to it by WHIP, and, when asked, the headless hub brokering viewers
(``--sfu``): each a process in a namespace of its own (tests/support/netns.py), since
Janus does no ICE on 127.0.0.1 and a bench must not send media to the machine's outer
address. Needs root, Janus and ``tools/sfu/setup.sh``'s simple-whip-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from console.sfu.config import DEFAULT_ROOM
from console.sfu.janus import room_participants
from console.sfu.run import DEFAULT_WHIP_SERVER, WHIP_SERVER_ENV
from tests.support.netns import Namespace, network_namespace

ROOT = Path(__file__).resolve().parents[2]
#: How long to wait for a program to be ready: a wait, not a measure.
PATIENCE = 60.0
T = TypeVar("T")


class BenchSetupError(RuntimeError):
    """The bench cannot run here; the message says what to install or how to run it."""


def require_sfu() -> None:
    """Root, Janus and simple-whip-server, or a message naming the missing one."""
    if os.geteuid() != 0:
        raise BenchSetupError("the SFU benches make a network namespace: run them as root")
    folder = Path(os.environ.get(WHIP_SERVER_ENV, DEFAULT_WHIP_SERVER))
    if shutil.which("janus") is None or not (folder / "src" / "server.js").exists():
        raise BenchSetupError("Janus or simple-whip-server is missing: sudo tools/sfu/setup.sh")


class SfuShow:
    """The SFU, the publishing console and (optionally) the hub, in ``namespace``."""

    def __init__(self, namespace: Namespace, folder: Path) -> None:
        self.namespace = namespace
        self.folder = folder
        self.hub_data = folder / "hub"
        self.processes: list[subprocess.Popen[str]] = []
        self.said: dict[str, str] = {}

    @property
    def janus_api(self) -> str:
        return self.said["Janus API"].split()[0]

    @property
    def api_secret(self) -> str:
        return str(json.loads((self.hub_data / "sfu" / "secrets.json").read_text())["api_secret"])

    def spawn(self, argv: list[str], log: str, **kwargs: Any) -> subprocess.Popen[str]:
        with (self.folder / log).open("w") as output:
            process = subprocess.Popen(
                self.namespace.argv(*argv),
                cwd=ROOT,
                stdout=kwargs.pop("stdout", output),
                stderr=output,
                text=True,
                **kwargs,
            )
        self.processes.append(process)
        return process

    def _lines_until(self, process: subprocess.Popen[str], last: str) -> dict[str, str]:
        assert process.stdout is not None
        said: dict[str, str] = {}
        while last not in said:
            line = process.stdout.readline()
            if not line:
                raise BenchSetupError(f"{process.args[4:7]} stopped as it started:\n{self.logs()}")
            name, _, value = line.partition(": ")
            said[name] = value.strip()
        return said

    def start_sfu(self) -> None:
        """Janus and the WHIP server for the namespace's server address."""
        sfu = self.spawn(
            [
                sys.executable, "-m", "console.sfu", "--ice-hosts", self.namespace.server,
                "--data-dir", str(self.hub_data), "--rtp-ports", "20000-20999",
                "--whip-server", os.environ.get(WHIP_SERVER_ENV, str(DEFAULT_WHIP_SERVER)),
                "--print-token",
            ],
            "sfu.log",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self.said = self._lines_until(sfu, "Janus API")

    def start_console(self, preset: str = "720p") -> None:
        """The console, offscreen, live with the test pattern and a tone, by WHIP."""
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "SHOPCAST_WHIP_TOKEN": self.said["WHIP token"],
        }
        env.pop("SHOPCAST_ICE_HOSTS", None)
        self.spawn(
            [
                sys.executable, "-m", "console", "--live", "--source", "test",
                "--audio", "tone", "--preset", preset, "--whip", self.said["WHIP endpoint"],
                "--ice-hosts", self.namespace.client, "--port", "0",
                "--data-dir", str(self.folder / "console"),
            ],
            "console.log",
            env=env,
        )  # fmt: skip

    def start_hub(self) -> str:
        """The headless hub brokering viewers to Janus; its viewer page's address."""
        hub = self.spawn(
            [
                sys.executable, "-m", "console", "hub", "--sfu", self.janus_api,
                "--data-dir", str(self.hub_data), "--port", "0",
            ],
            "hub.log",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        return self._lines_until(hub, "Viewer page")["Viewer page"]

    def publisher(self) -> int:
        """The publisher's feed id, once Janus has it in the show's room."""

        def feed() -> int | None:
            with self.namespace.inside():
                people = asyncio.run(
                    room_participants(self.janus_api, self.api_secret, DEFAULT_ROOM)
                )
            return next((int(p["id"]) for p in people if p.get("publisher")), None)

        return self.wait_for("the console publishing in Janus's room", feed)

    def pid(self, name: str) -> int:
        """The pid of the program called ``name`` (``janus``) in the namespace."""
        listed = subprocess.run(
            ["ip", "netns", "pids", self.namespace.name], capture_output=True, text=True
        )
        for pid in map(int, listed.stdout.split()):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                    return pid
        raise BenchSetupError(f"no {name} runs in the namespace:\n{self.logs()}")

    def wait_for(self, what: str, probe: Callable[[], T | None]) -> T:
        deadline = time.monotonic() + PATIENCE
        while (found := probe()) is None:
            for process in self.processes:
                if process.poll() is not None:
                    raise BenchSetupError(f"{process.args[4:7]} stopped:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise BenchSetupError(f"never saw {what}:\n{self.logs()}")
            time.sleep(0.2)
        return found

    def logs(self) -> str:
        parts = []
        for path in sorted(self.folder.glob("*.log")) + sorted(self.hub_data.glob("sfu/*.log")):
            lines = path.read_text("utf-8", "replace").splitlines()[-12:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


@contextlib.contextmanager
def sfu_show(folder: Path) -> Iterator[SfuShow]:
    """A namespace with the SFU running; the console and hub are the caller's to start."""
    require_sfu()
    with network_namespace() as namespace:
        show = SfuShow(namespace, folder)
        try:
            show.start_sfu()
            yield show
        finally:
            show.stop()


def process_cpu_seconds(pid: int) -> float:
    """User plus system time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command's closing parenthesis: utime and stime are fields 14 and 15.
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")
