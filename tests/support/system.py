"""Tests that need a system package: one way to skip them, and CI never skips them.

A developer without Chromium or Xvfb gets a skip that names the package to install. CI
(``CI`` set, as ``.ci/run`` is run) installs every package the suite needs, so there the
same skip is a failure: a missing library or tool can never pass CI again unseen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

#: What the suite needs beyond a desktop start (console.desktop.desktop_packages()).
TEST_PACKAGES = (
    "chromium",
    "xvfb",
    # the SFU tests: a network namespace, and Debian's janus.js and adapter.js for a viewer
    "iproute2",
    "libjs-janus-gateway",
    "libjs-webrtc-adapter",
    # nginx in front of several hubs (tests/test_cluster_nginx.py)
    "nginx",
    # systemd-analyze checks a big show's units (tests/test_sfu_service.py)
    "systemd",
    # the event bus between hubs (tests/test_bus_redis.py)
    "redis-server",
    # the store tests on PostgreSQL 15 as well as SQLite (tests/support/postgres.py)
    "postgresql",
)

_MISSING = re.compile(r"\(apt-get install [^()]+\)")


def missing_package(what: str, package: str) -> str:
    """The skip reason for a test that cannot run without ``package``."""
    return f"{what} is not installed (apt-get install {package})"


class MissingPackage(RuntimeError):
    """A server the suite starts (PostgreSQL, Redis) is not installed.

    Raised, not skipped, by the start-up itself, so a benchmark that starts the same
    server stops with the package to install; a fixture turns it into the usual skip
    (:func:`skip_when_missing`)."""

    def __init__(self, what: str, package: str) -> None:
        super().__init__(missing_package(what, package))


@contextmanager
def skip_when_missing() -> Iterator[None]:
    """Skip the test (naming the package, so CI fails it) when a start-up raises
    :class:`MissingPackage`."""
    try:
        yield
    except MissingPackage as exc:
        pytest.skip(str(exc))


def under_ci() -> bool:
    """Whether this run is CI's, where every package the suite needs is installed."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def fail_missing_package_under_ci(report: pytest.TestReport) -> pytest.TestReport:
    """Turn a skip for a missing system package into a failure when CI runs the suite."""
    if not (report.skipped and under_ci()) or hasattr(report, "wasxfail"):
        return report
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if _MISSING.search(reason):
        report.outcome = "failed"
        report.longrepr = f"{reason}: CI installs every package the suite needs (.ci/run)"
    return report


@contextmanager
def x_server(width: int, height: int) -> Iterator[str]:
    """An X server of our own, ``width`` x ``height``; its display number, as Xvfb picked it."""
    if shutil.which("Xvfb") is None:
        pytest.skip(missing_package("Xvfb", "xvfb"))
    read, write = os.pipe()
    screen = f"{width}x{height}x24"
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as answer:
            number = answer.readline().strip()
        assert number, "Xvfb did not say its display number"
        yield number
    finally:
        server.terminate()
        server.wait(5)
