"""Load generator shared by the chat benchmarks (``chat_fanout.py``, ``chat_isolation.py``).

It drives either the Shopcast hub (``python -m console hub``) or the reference peer
(``peers/relay.js``, a plain Node ``ws`` relay) with the same load:

- **listeners**, spread over worker processes (one asyncio loop each). A listener is a
  minimal RFC 6455 client written on :class:`asyncio.Protocol`: it does the opening
  handshake, answers pings and close frames, and counts the stamped comments in what it
  receives with one regular-expression scan per read, whatever the number of frames in
  it (a hub frame is a JSON array of events; a relay frame is one message). The
  ``websockets`` client costs tens of microseconds of Python per frame, which on two
  cores made the load generator, not the server, the bottleneck;
- a **sender** (``websockets`` client; staff for the hub) that posts R comments a second,
  each text stamped ``t=<time.time_ns()>;n=<index>``. A listener's delay for a comment is
  the kernel's receive timestamp of the read that brought it (``SO_TIMESTAMPNS``, the
  same clock) minus the stamp, so the load generator's own lag under CPU contention is
  not counted as the server's; the time at which the listener process read it is
  reported too (``read_delay_ms``);
- optionally a **flooder** (a viewer sending far more than it may) and **stuck**
  listeners (they stop reading, are dropped by the hub, reconnect with ``since`` and
  check that they get exactly what they missed).

Everything stays on 127.0.0.1. Progress goes to stderr; the benchmarks print one JSON
object on stdout.
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import gc
import hashlib
import json
import multiprocessing as mp
import os
import queue
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent / "peers"
HOST = "127.0.0.1"
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_nofile() -> int:
    """Raise this process's open-file limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentiles_ms(delays_us: np.ndarray) -> dict[str, float | None]:
    if delays_us.size == 0:
        return {"p50": None, "p99": None, "max": None}
    p50, p99 = np.percentile(delays_us, [50, 99])
    return {
        "p50": round(float(p50) / 1000, 2),
        "p99": round(float(p99) / 1000, 2),
        "max": round(float(delays_us.max()) / 1000, 2),
    }


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, monotonic seconds) from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    busy = sum(ticks[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK"), time.monotonic()


class MachineLoad:
    """How busy the whole machine was between start() and stop(), ours and others'."""

    def __init__(self) -> None:
        self._busy0, self._t0 = machine_busy()
        self._own0 = time.process_time()

    def stop(self, server_cpu_s: float, worker_cpu_s: float) -> dict[str, float]:
        busy, t = machine_busy()
        wall = max(1e-6, t - self._t0)
        own = time.process_time() - self._own0
        busy_cores = (busy - self._busy0) / wall
        ours = (server_cpu_s + worker_cpu_s + own) / wall
        return {
            "machine_busy_cores": round(busy_cores, 2),
            "bench_cores": round(ours, 2),
            "other_cores": round(max(0.0, busy_cores - ours), 2),
            "cpus": os.cpu_count() or 0,
        }


# --------------------------------------------------------------------------- servers


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()


class Server:
    """A server process under test: the hub or the Node relay."""

    def __init__(self, kind: str, proc: subprocess.Popen[str], port: int, workdir: Path) -> None:
        self.kind = kind
        self.proc = proc
        self.port = port
        self.workdir = workdir
        self.token: str | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []

    @property
    def is_hub(self) -> bool:
        return self.kind == "shopcast"

    @property
    def path(self) -> str:
        return "/ws"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}{self.path}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        try:
            stat = _proc_stat(self.proc.pid)
        except OSError:
            return float("nan")
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        try:
            stat = _proc_stat(self.proc.pid)
        except OSError:
            return float("nan")
        return round(int(stat[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)

    def stop(self) -> dict[str, Any]:
        """Stop the server (SIGTERM, then SIGKILL); summarise its exit and its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        stderr = (self.workdir / "server.stderr").read_text(errors="replace").splitlines()
        levels: Counter[str] = Counter()
        notable: list[str] = []
        for line in stderr:
            parts = line.split()
            level = parts[2] if self.is_hub and len(parts) > 2 else "?"
            levels[level] += 1
            if "dropping" in line:
                levels["dropping"] += 1
                continue
            if (
                level in ("WARNING", "ERROR", "CRITICAL")
                or "Traceback" in line
                or (not self.is_hub and line.strip())
            ) and len(notable) < 20:
                notable.append(line[:300])
        return {
            "exit_code": self.proc.returncode,
            "stderr_lines": len(stderr),
            "stderr_by_kind": dict(levels),
            "stderr_notable": notable,
        }


def _pump(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line.rstrip("\n"))


def _start(kind: str, cmd: list[str], cwd: Path, workdir: Path) -> tuple[Server, threading.Thread]:
    stderr = (workdir / "server.stderr").open("w")
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    stderr.close()
    server = Server(kind, proc, 0, workdir)
    thread = threading.Thread(target=_pump, args=(proc, server._lines), daemon=True)
    thread.start()
    return server, thread


def _wait_line(server: Server, prefix: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or server.proc.poll() is not None:
            err = (server.workdir / "server.stderr").read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"{server.kind} did not print {prefix!r}; stderr:\n{err}")
        try:
            line = server._lines.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        server.stdout.append(line)
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


def phone_address(index: int) -> str:
    """The network address the bench's client ``index`` names in ``X-Forwarded-For``.

    Every client of a bench runs on this machine; the hub's per-address rules (a cap on
    new viewer ids, slow mode and flood counted per address) would see one phone making
    thousands of ids. Named as a reverse proxy names its clients, they are a crowd. Only
    a header: no traffic goes to these addresses.
    """
    return f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256 + 1}"


def start_hub(workdir: Path, data: Path | None = None, extra: Sequence[str] = ()) -> Server:
    """``python -m console hub`` on a free port, trusting this machine as its reverse
    proxy (:func:`phone_address`); read its port and token. Its stderr goes to
    ``workdir``; its data folder is ``data`` (default: a fresh one in ``workdir``), which
    the hubs of a cluster share; ``extra`` are more of the hub's options."""
    data = data or workdir / "data"
    workdir.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "console", "hub", "--port", "0", "--data-dir", str(data),
        "--trusted-proxy", "127.0.0.1", "--print-token", *extra,
    ]  # fmt: skip
    server, _ = _start("shopcast", cmd, REPO, workdir)
    page = _wait_line(server, "Viewer page:")
    server.port = int(page.rstrip("/").rsplit(":", 1)[1])
    server.token = _wait_line(server, "Host token:")
    return server


def ensure_node_modules() -> None:
    if (PEERS / "node_modules" / "ws" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; the node-ws peer needs Node.js and npm")
    verb = "ci" if (PEERS / "package-lock.json").exists() else "install"
    log(f"npm {verb} in {PEERS}")
    subprocess.run([npm, verb, "--no-audit", "--no-fund"], cwd=PEERS, check=True, stdout=sys.stderr)


def start_relay(workdir: Path) -> Server:
    """``node peers/relay.js 0``; read the port from its ``listening PORT`` line."""
    ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed; the node-ws peer needs Node.js")
    server, _ = _start("node-ws", [node, str(PEERS / "relay.js"), "0", HOST], PEERS, workdir)
    server.port = int(_wait_line(server, "listening"))
    return server


def start_server(kind: str, workdir: Path) -> Server:
    return start_hub(workdir) if kind == "shopcast" else start_relay(workdir)


# --------------------------------------------------------------------------- listener


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (RFC 6455 section 5.3)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    key = os.urandom(4)
    if not n:
        return head + key
    mask = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return head + key + body


class Event(msgspec.Struct):
    """The fields of a hub event that the detailed listeners look at."""

    t: str
    seq: int = -1
    text: str = ""


_decode_frame = msgspec.json.Decoder(list[Event]).decode


class Stats:
    """Where a group of listeners in one worker records what they receive.

    Comments reach each listener in order, so one record per read is enough: the read's
    time, the index ``n`` of its last stamped comment and how many it carried (their
    indexes are then ``n - count + 1 .. n``). A read whose indexes do not follow on from
    the listener's previous ones (a gap, a replay) is recorded comment by comment.
    Delays are computed once at the end with numpy, from the sender's table of stamps.
    """

    __slots__ = ("app", "cnt", "last", "recv")

    def __init__(self) -> None:
        self.recv = array.array("q")  # kernel receive time (SO_TIMESTAMPNS)
        self.app = array.array("q")  # when this process read it
        self.last = array.array("q")
        self.cnt = array.array("q")

    def reset(self) -> None:
        del self.recv[:], self.app[:], self.last[:], self.cnt[:]

    def add(self, now: int, app: int, last: int, cnt: int) -> None:
        self.recv.append(now)
        self.app.append(app)
        self.last.append(last)
        self.cnt.append(cnt)

    def delays_us(self, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per delivered comment: (kernel receive - stamp, read - stamp), microseconds."""
        cnt = np.frombuffer(self.cnt, dtype=np.int64)
        if not cnt.size:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
        last = np.frombuffer(self.last, dtype=np.int64)
        ends = np.cumsum(cnt)
        within = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - cnt, cnt)
        index = np.repeat(last - cnt + 1, cnt) + within
        ok = (index >= 0) & (index < stamps.size)
        sent = stamps[index[ok]]
        out = []
        for times in (self.recv, self.app):
            at = np.repeat(np.frombuffer(times, dtype=np.int64), cnt)[ok]
            out.append(((at - sent) // 1000).astype(np.int32))
        return out[0], out[1]

    def last_ns(self) -> int:
        return max(self.recv) if self.recv else 0


#: Linux's SO_TIMESTAMPNS (the socket module does not name it).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
#: What starts the text of a stamped comment in both servers' JSON.
MARK = b'"text":"t='
_LAST_N = re.compile(rb'"text":"t=\d+;n=(\d+)')


class Listener(asyncio.Protocol):
    """One viewer: a raw WebSocket client that counts the stamped comments it receives.

    asyncio does the connection and the opening handshake; once the hub's welcome (or the
    relay's handshake) is in, a normal listener is read by the worker's :class:`FastReader`
    instead (``feed``). In ``detailed`` mode (stuck and reconnecting viewers) it stays on
    asyncio, decodes every hub frame and keeps the ``seq`` of each comment, to check the
    replay after a reconnect.
    """

    def __init__(
        self,
        stats: Stats,
        sock: socket.socket,
        host: str,
        port: int,
        path: str,
        hello: bytes | None,
        detailed: bool = False,
        address: str = "",
    ) -> None:
        loop = asyncio.get_running_loop()
        self.stats = stats
        self.sock = sock
        self.detailed = detailed
        self.transport: asyncio.Transport | None = None
        self.reader: FastReader | None = None
        self.fd = -1
        self.count = 0
        self.next = 0
        self.close_code: int | None = None
        self.ready: asyncio.Future[None] | None = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._hello = hello
        self._key = base64.b64encode(os.urandom(16))
        self._request = (
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: "
            ).encode()
            + self._key
            + b"\r\nSec-WebSocket-Version: 13\r\n"
            + (f"X-Forwarded-For: {address}\r\n".encode() if address else b"")
            + b"\r\n"
        )
        self._upgraded = False
        self._buf = b""
        self._fragments: list[bytes] = []
        # detailed mode
        self.seqs: list[int] = []
        self.welcome_seq: int | None = None
        self.last_seq: int | None = None
        self.first_frame_comments = 0

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.reader is not None:
            self.reader.forget(self)
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self._upgraded:
            data = self._handshake(self._buf + data)
            self._buf = b""
            if not data:
                return
        self.feed(data, now, now)

    # -- reading

    def feed(self, data: bytes, now: int, app: int) -> None:
        """Take bytes from the socket: split frames, answer control frames, count."""
        if self._buf:
            data = self._buf + data
            self._buf = b""
        n = len(data)
        pos = 0
        while n - pos >= 2:
            length = data[pos + 1] & 0x7F
            if length < 126:
                head = 2
            elif length == 126:
                if n - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                head = 4
            else:
                if n - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > n:
                break
            opcode = data[pos] & 0x0F
            if opcode >= 8:
                self._control(opcode, data[pos + head : end])
            elif self.detailed or self.ready is not None:
                self._message(data[pos] & 0x80, data[pos + head : end], now)
            pos = end
        if pos < n:
            self._buf = data[pos:]
        if not self.detailed and pos:
            cnt = data.count(MARK, 0, pos)
            if cnt:
                self._count(data, pos, cnt, now, app)

    def _count(self, data: bytes, pos: int, cnt: int, now: int, app: int) -> None:
        self.count += cnt
        match = _LAST_N.match(data, data.rfind(MARK, 0, pos), pos)
        last = int(match.group(1)) if match else -1
        stats = self.stats
        if last - cnt + 1 == self.next:
            stats.add(now, app, last, cnt)
        else:  # not contiguous with what came before: one record per comment
            for index in map(int, _LAST_N.findall(data, 0, pos)):
                stats.add(now, app, index, 1)
        self.next = last + 1

    def mark_closed(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        if not self.closed.done():
            self.closed.set_result(None)

    # -- internals

    def _handshake(self, data: bytes) -> bytes:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            self._buf = data
            return b""
        head = data[:end].lower()
        accept = base64.b64encode(hashlib.sha1(self._key + _GUID).digest()).lower()
        if not head.startswith(b"http/1.1 101") or accept not in head:
            self._fail(ConnectionError(f"handshake refused: {data[:200]!r}"))
            return b""
        self._upgraded = True
        assert self.transport is not None
        if self._hello is not None:
            self.transport.write(client_frame(1, self._hello))
        elif self.ready is not None:
            self.ready.set_result(None)
            self.ready = None
        return data[end + 4 :]

    def _fail(self, exc: Exception) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def _control(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == 9:  # ping
            self.transport.write(client_frame(10, payload))
        elif opcode == 8:  # close
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.transport.is_closing():
                self.transport.write(client_frame(8, payload[:2]))
                self.transport.close()

    def _message(self, fin: int, payload: bytes, now: int) -> None:
        if not fin:
            self._fragments.append(payload)
            return
        if self._fragments:
            payload = b"".join([*self._fragments, payload])
            self._fragments = []
        first = self.ready is not None
        if self.ready is not None:
            if not self.ready.done():
                self.ready.set_result(None)
            self.ready = None
        if not self.detailed:
            return
        comments = 0
        for event in _decode_frame(payload):
            if event.t == "comment":
                comments += 1
                self.seqs.append(event.seq)
                self.last_seq = event.seq
                if event.text.startswith("t="):
                    index = int(event.text.split(";", 2)[1][2:])
                    self.count += 1
                    self.stats.add(now, now, index, 1)
            elif event.t == "welcome":
                self.welcome_seq = event.seq
                if self.last_seq is None:
                    self.last_seq = event.seq
        if first:
            self.first_frame_comments = comments


class FastReader:
    """Reads the normal listeners' sockets itself, many per wake-up of the asyncio loop.

    asyncio costs several microseconds of Python per read and socket; with thousands of
    listeners per worker that, not the server, would set the pace. The listeners'
    transports stay (paused) for writing pongs and close frames.
    """

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._by_fd: dict[int, Listener] = {}
        asyncio.get_running_loop().add_reader(self._epoll.fileno(), self._drain)

    def add(self, listener: Listener) -> None:
        assert listener.transport is not None
        if listener.closed.done():
            return
        listener.transport.pause_reading()
        listener.reader = self
        listener.fd = fd = listener.sock.fileno()
        listener.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._by_fd[fd] = listener
        self._epoll.register(fd, select.EPOLLIN | select.EPOLLRDHUP)

    def forget(self, listener: Listener) -> None:
        if self._by_fd.get(listener.fd) is listener:
            del self._by_fd[listener.fd]
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(listener.fd)

    def _remove(self, fd: int, listener: Listener) -> None:
        self.forget(listener)
        listener.mark_closed()

    def _drain(self) -> None:
        by_fd = self._by_fd
        time_ns = time.time_ns
        from_bytes = int.from_bytes
        for fd, _ in self._epoll.poll(0, 2048):
            listener = by_fd.get(fd)
            if listener is None:
                continue
            try:
                data, anc, _, _ = listener.sock.recvmsg(262144, 64)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                app = time_ns()
                if anc:
                    ts = anc[0][2]
                    now = from_bytes(ts[:8], "little") * 1_000_000_000 + from_bytes(
                        ts[8:16], "little"
                    )
                else:
                    now = app
                listener.feed(data, now, app)
            else:
                self._remove(fd, listener)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._epoll.fileno())
        self._epoll.close()


# --------------------------------------------------------------------------- worker


@dataclass
class WorkerSpec:
    index: int
    is_hub: bool
    host: str
    port: int
    path: str
    first: int
    count: int
    batch: int
    #: Local indexes of listeners that stop reading at "go" (isolation bench).
    stuck: list[int] = field(default_factory=list)
    #: SO_RCVBUF for stuck listeners (0 = the system's default).
    stuck_rcvbuf: int = 0
    id_prefix: str = "bench"


def _address(viewer_id: str) -> str:
    """One phone per viewer id, the same one when it reconnects with ``since``."""
    return phone_address(zlib.crc32(viewer_id.encode()) % (1 << 24))


def _hello(viewer_id: str, since: int | None = None) -> bytes:
    hello: dict[str, Any] = {"t": "hello", "v": 1, "role": "viewer", "viewer_id": viewer_id}
    if since is not None:
        hello["since"] = since
    return json.dumps(hello, separators=(",", ":")).encode()


async def _open(
    spec: WorkerSpec,
    stats: Stats,
    viewer_id: str,
    detailed: bool,
    rcvbuf: int = 0,
    since: int | None = None,
    timeout: float = 20.0,
) -> Listener:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (spec.host, spec.port)), timeout)
    except BaseException:
        sock.close()
        raise
    hello = _hello(viewer_id, since) if spec.is_hub else None
    _, listener = await loop.create_connection(
        lambda: Listener(
            stats, sock, spec.host, spec.port, spec.path, hello, detailed, _address(viewer_id)
        ),
        sock=sock,
    )
    assert listener.ready is not None
    try:
        await asyncio.wait_for(asyncio.shield(listener.ready), timeout)
    except BaseException:
        if listener.transport is not None:
            listener.transport.abort()
        raise
    return listener


@dataclass
class StuckViewer:
    viewer_id: str
    first: Listener
    second: Listener | None = None
    dropped: bool = False
    close_code: int | None = None
    seen_before: int = 0
    since: int | None = None
    replay_welcome_seq: int | None = None
    replayed: int = 0
    error: str | None = None


async def _stuck_cycle(spec: WorkerSpec, fstats: Stats, sv: StuckViewer, resume_at: int) -> None:
    """Stop reading until ``resume_at``; then read the backlog and, if the hub dropped the
    connection, reconnect with ``since`` = the last seq seen."""
    listener = sv.first
    assert listener.transport is not None
    listener.transport.pause_reading()
    await asyncio.sleep(max(0.0, (resume_at - time.monotonic_ns()) / 1e9))
    if not listener.transport.is_closing():
        listener.transport.resume_reading()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(listener.closed), 6.0)
    if not listener.closed.done():
        return  # not dropped: it keeps reading and catches up
    sv.dropped = True
    sv.close_code = listener.close_code
    sv.seen_before = len(listener.seqs)
    sv.since = listener.last_seq
    try:
        second = await _open(spec, fstats, sv.viewer_id, True, since=sv.since)
    except Exception as exc:
        sv.error = f"reconnect failed: {exc!r}"
        return
    sv.second = second
    sv.replay_welcome_seq = second.welcome_seq
    sv.replayed = second.first_frame_comments


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_worker(conn, spec))


async def _recv(conn: Connection) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, conn.recv)


async def _worker(conn: Connection, spec: WorkerSpec) -> None:
    stats, fstats = Stats(), Stats()
    stuck_set = set(spec.stuck)
    listeners: list[Listener] = []
    stuck: list[StuckViewer] = []
    errors: Counter[str] = Counter()
    started = time.monotonic()
    reader = FastReader()

    async def open_one(i: int) -> None:
        viewer_id = f"{spec.id_prefix}-{spec.first + i:06d}"
        is_stuck = i in stuck_set
        for attempt in range(3):
            try:
                listener = await _open(
                    spec,
                    fstats if is_stuck else stats,
                    viewer_id,
                    detailed=is_stuck,
                    rcvbuf=spec.stuck_rcvbuf if is_stuck else 0,
                )
            except Exception as exc:
                errors[type(exc).__name__] += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if is_stuck:
                stuck.append(StuckViewer(viewer_id, listener))
            else:
                reader.add(listener)
                listeners.append(listener)
            return

    for start in range(0, spec.count, spec.batch):
        await asyncio.gather(
            *(open_one(i) for i in range(start, min(spec.count, start + spec.batch)))
        )
    conn.send(
        (
            "ready",
            {
                "connected": len(listeners) + len(stuck),
                "failed": spec.count - len(listeners) - len(stuck),
                "errors": dict(errors),
                "seconds": time.monotonic() - started,
            },
        )
    )
    gc.collect()
    gc.freeze()
    gc.disable()

    message = await _recv(conn)
    assert message[0] == "go", message
    resume_at = message[1]
    stats.reset()
    fstats.reset()
    for listener in listeners:
        listener.count = listener.next = 0
    for sv in stuck:
        sv.first.count = 0
        sv.first.seqs.clear()
    cycles = [
        asyncio.create_task(_stuck_cycle(spec, fstats, sv, resume_at))
        for sv in stuck
        if resume_at is not None
    ]
    cpu0 = time.process_time()
    closed_before = sum(listener.closed.done() for listener in listeners)
    conn.send(("going", None))

    message = await _recv(conn)
    assert message[0] == "expect", message
    _, expected, deadline, seq_lo, seq_hi, stamps = message
    stamps = np.asarray(stamps, dtype=np.int64)
    delays, read_delays = stats.delays_us(stamps)
    stuck_delays, _ = fstats.delays_us(stamps)

    def stuck_count(sv: StuckViewer) -> int:
        return sv.first.count + (sv.second.count if sv.second else 0)

    while time.time_ns() < deadline:
        if all(listener.count >= expected for listener in listeners) and all(
            stuck_count(sv) >= expected for sv in stuck
        ):
            break
        await asyncio.sleep(0.1)
    cpu = time.process_time() - cpu0
    for task in cycles:
        task.cancel()

    counts = np.array([listener.count for listener in listeners], dtype=np.int64)
    close_codes = Counter(
        str(listener.close_code) for listener in listeners if listener.closed.done()
    )
    stuck_reports = []
    for sv in stuck:
        seqs = sv.first.seqs + (sv.second.seqs if sv.second else [])
        seen = Counter(seqs)
        in_range = range(seq_lo, seq_hi + 1) if seq_lo is not None else range(0)
        stuck_reports.append(
            {
                "dropped": sv.dropped,
                "close_code": sv.close_code,
                "reconnected": sv.second is not None,
                "seen_before": sv.seen_before,
                "missed": (
                    sv.replay_welcome_seq - sv.since
                    if sv.replay_welcome_seq is not None and sv.since is not None
                    else 0
                ),
                "replayed": sv.replayed,
                "received": stuck_count(sv),
                "duplicates": sum(c - 1 for c in seen.values() if c > 1),
                "gaps": sum(1 for s in in_range if s not in seen),
                "error": sv.error,
            }
        )
    conn.send(
        (
            "result",
            {
                "listeners": len(listeners),
                "counts": counts,
                "delays_us": delays,
                "read_delays_us": read_delays,
                "last_ns": stats.last_ns(),
                "closed_during": sum(listener.closed.done() for listener in listeners)
                - closed_before,
                "close_codes": dict(close_codes),
                "stuck": stuck_reports,
                "stuck_delays_us": stuck_delays,
                "cpu_s": cpu,
            },
        )
    )
    message = await _recv(conn)
    reader.close()
    for listener in listeners:
        if listener.transport is not None:
            listener.transport.abort()
    for sv in stuck:
        for one in (sv.first, sv.second):
            if one is not None and one.transport is not None:
                one.transport.abort()
    await asyncio.sleep(0.1)


# --------------------------------------------------------------------------- pool


class LoadPool:
    """Listeners spread over worker processes, driven phase by phase from the main loop."""

    def __init__(
        self,
        server: Server,
        listeners: int,
        workers: int = 2,
        batch: int = 100,
        stuck_every: int = 0,
        stuck_rcvbuf: int = 0,
        id_prefix: str = "bench",
    ) -> None:
        self.server = server
        self.listeners = listeners
        workers = max(1, min(workers, listeners))
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        share, extra = divmod(listeners, workers)
        first = 0
        for w in range(workers):
            count = share + (1 if w < extra else 0)
            stuck = (
                [i for i in range(count) if (first + i) % stuck_every == stuck_every - 1]
                if stuck_every
                else []
            )
            spec = WorkerSpec(
                index=w,
                is_hub=server.is_hub,
                host=HOST,
                port=server.port,
                path=server.path,
                first=first,
                count=count,
                batch=max(1, batch // workers),
                stuck=stuck,
                stuck_rcvbuf=stuck_rcvbuf,
                id_prefix=id_prefix,
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
            first += count

    async def _gather(self, kind: str, timeout: float) -> list[Any]:
        async def one(conn: Connection) -> Any:
            message = await asyncio.wait_for(_recv(conn), timeout)
            if message[0] != kind:
                raise RuntimeError(f"worker sent {message[0]!r}, expected {kind!r}")
            return message[1]

        return list(await asyncio.gather(*(one(conn) for conn in self._conns)))

    async def connect(self, timeout: float = 600.0) -> dict[str, Any]:
        started = time.monotonic()
        ready = await self._gather("ready", timeout)
        errors: Counter[str] = Counter()
        for r in ready:
            errors.update(r["errors"])
        return {
            "connected": sum(r["connected"] for r in ready),
            "failed": sum(r["failed"] for r in ready),
            "errors": dict(errors),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def go(self, resume_at_ns: int | None = None) -> None:
        for conn in self._conns:
            conn.send(("go", resume_at_ns))
        await self._gather("going", 60)

    async def finish(self, sent: dict[str, Any], deadline_ns: int) -> dict[str, Any]:
        """Tell the workers what was sent; wait until they have it all or the deadline."""
        expected = sent["sent"]
        message = ("expect", expected, deadline_ns, sent["seq_lo"], sent["seq_hi"], sent["stamps"])
        for conn in self._conns:
            conn.send(message)
        wait = max(0.0, (deadline_ns - time.time_ns()) / 1e9) + 120
        results = await self._gather("result", wait)
        counts = np.concatenate([r["counts"] for r in results])
        return {
            "listeners": int(counts.size),
            "counts": counts,
            "delays_us": np.concatenate([r["delays_us"] for r in results]),
            "read_delays_us": np.concatenate([r["read_delays_us"] for r in results]),
            "last_ns": max(r["last_ns"] for r in results),
            "closed_during": sum(r["closed_during"] for r in results),
            "close_codes": sum((Counter(r["close_codes"]) for r in results), Counter()),
            "stuck": [s for r in results for s in r["stuck"]],
            "stuck_delays_us": np.concatenate([r["stuck_delays_us"] for r in results]),
            "worker_cpu_s": [round(r["cpu_s"], 2) for r in results],
        }

    async def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(("quit", None))
        loop = asyncio.get_running_loop()
        for proc in self._procs:
            await loop.run_in_executor(None, proc.join, 20)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self._conns:
            conn.close()


# --------------------------------------------------------------------------- sender


def stamped_text(index: int, pad: int = 0) -> tuple[str, int]:
    """A comment text that carries its send time and index; padded to ``pad`` characters."""
    stamp = time.time_ns()
    text = f"t={stamp};n={index}"
    if pad > len(text):
        text += ";" + "x" * (pad - len(text) - 1)
    return text, stamp


class Client:
    """A ``websockets`` client that keeps reading (the hub's replies and room frames)."""

    def __init__(self, server: Server, ws: ClientConnection) -> None:
        self.server = server
        self.ws = ws
        self.frames = 0
        self.acks: dict[str, int] = {}
        self.errors: Counter[str] = Counter()
        self.close_code: int | None = None
        self.welcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, server: Server, hello: dict[str, Any] | None) -> Client:
        ws = await connect(
            server.ws_url, compression=None, max_size=None, max_queue=None, ping_interval=None
        )
        client = cls(server, ws)
        if hello is not None:
            await ws.send(json.dumps(hello))
            await asyncio.wait_for(asyncio.shield(client.welcome), 20)
        elif not client.welcome.done():
            client.welcome.set_result({})
        return client

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.frames += 1
                if not self.server.is_hub:
                    continue
                for message in json.loads(data):
                    kind = message.get("t")
                    if kind == "ack" and "ref" in message:
                        self.acks[message["ref"]] = message.get("seq", -1)
                    elif kind == "error":
                        self.errors[message.get("code", "?")] += 1
                    elif kind == "welcome" and not self.welcome.done():
                        self.welcome.set_result(message)
        except ConnectionClosed:
            pass
        finally:
            rcvd = self.ws.protocol.close_rcvd
            self.close_code = rcvd.code if rcvd is not None else None
            if not self.welcome.done():
                self.welcome.set_exception(ConnectionError("closed before welcome"))

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)


async def open_sender(server: Server) -> Client:
    hello = {"t": "hello", "v": 1, "role": "host", "token": server.token} if server.is_hub else None
    return await Client.open(server, hello)


async def run_sender(
    client: Client, rate: float, seconds: float, t0_ns: int, pad: int = 0
) -> dict[str, Any]:
    """Post ``rate`` stamped comments a second for ``seconds`` from ``t0_ns`` on.

    ``t0_ns`` is on the monotonic clock; the stamps, ``first_ns`` and ``last_ns`` are
    ``time.time_ns()``, the clock of the listeners' kernel timestamps."""
    total = round(rate * seconds)
    period = 1e9 / rate
    lag = 0
    first_ns = last_ns = 0
    stamps: list[int] = []
    for i in range(total):
        target = t0_ns + int(i * period)
        now = time.monotonic_ns()
        if target > now:
            await asyncio.sleep((target - now) / 1e9)
        lag = max(lag, time.monotonic_ns() - target)
        text, stamp = stamped_text(i, pad)
        stamps.append(stamp)
        if i == 0:
            first_ns = stamp
        last_ns = stamp
        await client.ws.send(
            json.dumps({"t": "comment", "text": text, "ref": str(i)}, separators=(",", ":"))
        )
    if client.server.is_hub:
        deadline = time.monotonic() + 10
        while len(client.acks) + client.errors.total() < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    seqs = sorted(s for s in client.acks.values() if s >= 0)
    return {
        "sent": total,
        "acked": len(client.acks) if client.server.is_hub else None,
        "errors": dict(client.errors),
        "seq_lo": seqs[0] if seqs else None,
        "seq_hi": seqs[-1] if seqs else None,
        "first_ns": first_ns,
        "last_ns": last_ns,
        "max_lag_ms": round(lag / 1e6, 2),
        "stamps": stamps,
    }


async def run_flooder(client: Client, rate: float, seconds: float, t0_ns: int) -> dict[str, Any]:
    """Send ``rate`` comments a second (far above a viewer's limits) for ``seconds``."""
    total = round(rate * seconds)
    step = 0.01
    per_step = max(1, round(rate * step))
    sent = 0
    closed = False
    while sent < total:
        target = t0_ns + int(sent / rate * 1e9)
        now = time.monotonic_ns()
        if target > now:
            await asyncio.sleep((target - now) / 1e9)
        try:
            for _ in range(min(per_step, total - sent)):
                await client.ws.send(
                    json.dumps({"t": "comment", "text": f"flood {sent}", "ref": f"f{sent}"})
                )
                sent += 1
        except ConnectionClosed:
            closed = True
            break
    await asyncio.sleep(1.0)
    return {
        "sent": sent,
        "acked": len(client.acks),
        "errors": dict(client.errors),
        "closed": closed or client.ws.close_code is not None,
        "close_code": client.ws.close_code,
    }


def delivery_report(
    results: dict[str, Any], sent: dict[str, Any], offered_per_s: float
) -> dict[str, Any]:
    """Deliveries/s, lost and delay percentiles of the normal listeners of one run."""
    counts: np.ndarray = results["counts"]
    expected = sent["sent"]
    delivered = int(counts.sum())
    lost = int(np.clip(expected - counts, 0, None).sum())
    window = (results["last_ns"] - sent["first_ns"]) / 1e9 if results["last_ns"] else 0
    return {
        "listeners": int(counts.size),
        "offered_per_s": offered_per_s,
        "deliveries": delivered,
        "deliveries_per_s": round(delivered / window) if window > 0 else 0,
        "window_s": round(window, 2),
        "lost": lost,
        "listeners_short": int((counts < expected).sum()),
        "extra": int(np.clip(counts - expected, 0, None).sum()),
        "delay_ms": percentiles_ms(results["delays_us"]),
        "read_delay_ms": percentiles_ms(results["read_delays_us"]),
    }


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
