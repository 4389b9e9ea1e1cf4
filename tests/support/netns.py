"""A network namespace of the test's own, so an SFU's media never leaves it.

Janus will not do ICE on 127.0.0.1 (SFU-FACTS.md): it needs an ordinary interface
address, and the machine's own must not carry test traffic. A namespace holds a veth
pair with two private addresses and nothing else; Janus, the WHIP server and the console
run in it (``argv``), and the test itself steps in to ask Janus's API (``inside``). On
the way out every process still in it is killed and the namespace deleted, whatever
happened; deleting it removes its links.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import pytest

from tests.support.system import missing_package

#: The pair's addresses: the same in every namespace, since none sees another's.
ADDRESSES = ("10.213.0.1", "10.213.0.2")
#: Both addresses are this namespace's own, and Janus's replies cross the veth pair, so
#: they arrive with a local source address, which Linux drops unless told to accept it:
#: without this, aiortc never hears Janus's ICE answers (measured). Only this
#: namespace's settings change.
ACCEPT_LOCAL = (
    "net.ipv4.conf.all.accept_local=1",
    "net.ipv4.conf.va.accept_local=1",
    "net.ipv4.conf.vb.accept_local=1",
)
CLONE_NEWNET = 0x40000000
_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    #: The server's address (Janus, the WHIP server) and the client's (the console).
    server: str = ADDRESSES[0]
    client: str = ADDRESSES[1]

    def argv(self, *command: str) -> list[str]:
        """``command`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *command]

    @contextmanager
    def inside(self) -> Iterator[None]:
        """The calling thread in the namespace meanwhile: the sockets it opens are there."""
        libc = ctypes.CDLL(None, use_errno=True)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(libc, target)
            try:
                yield
            finally:
                _setns(libc, home)
        finally:
            os.close(target)
            os.close(home)


def _setns(libc: ctypes.CDLL, descriptor: int) -> None:
    if libc.setns(descriptor, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextmanager
def network_namespace() -> Iterator[Namespace]:
    """A new namespace with ``lo`` up and a veth pair holding ``ADDRESSES``."""
    if shutil.which("ip") is None:
        pytest.skip(missing_package("ip", "iproute2"))
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root (CI runs as root)")
    namespace = Namespace(f"shopcast-test-{os.getpid()}-{next(_numbers)}")
    _ip("netns", "add", namespace.name)
    try:
        inside = ["-n", namespace.name]
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "link", "add", "va", "type", "veth", "peer", "name", "vb")
        for device, address in (("va", namespace.server), ("vb", namespace.client)):
            _ip(*inside, "addr", "add", f"{address}/24", "dev", device)
            _ip(*inside, "link", "set", device, "up")
        for setting in ACCEPT_LOCAL:
            subprocess.run(
                namespace.argv("sysctl", "-q", "-w", setting),
                check=True,
                capture_output=True,
                timeout=10,
            )
        yield namespace
    finally:
        _kill_everything_in(namespace)
        _ip("netns", "del", namespace.name)


def _kill_everything_in(namespace: Namespace) -> None:
    """Every process the test started in the namespace (and theirs), so none outlives it."""
    listed = subprocess.run(
        ["ip", "netns", "pids", namespace.name], capture_output=True, text=True, timeout=10
    )
    for pid in (int(word) for word in listed.stdout.split()):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
