"""Shared fixtures: offscreen Qt, a qasync loop for Qt tests, a hub on a free port."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SHOPCAST_ICE_HOSTS", "127.0.0.1")

import hypothesis  # imported before any qasync loop runs (lazy import fails there)
import pytest

from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.postgres import Postgres, postgres_server
from tests.support.storedb import Engine
from tests.support.system import fail_missing_package_under_ci, skip_when_missing

# Correctness only: Hypothesis's per-example deadline (200 ms) is a timing threshold, and
# on a shared two-core machine a slow example is not a wrong one.
hypothesis.settings.register_profile("shopcast", deadline=None)
hypothesis.settings.load_profile("shopcast")


def _qasync_loop() -> asyncio.AbstractEventLoop:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    # As in the console: closing a window must not stop the loop under the test.
    app.setQuitOnLastWindowClosed(False)
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Qt tests need a qasync loop (on a plain asyncio loop, Qt timers never fire)."""
    if item.get_closest_marker("qasync"):
        return {"qasync": _qasync_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI, a test skipped for a missing system package fails (tests/support/system.py)."""
    report = yield
    return fail_missing_package_under_ci(report)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL 15 for the whole session (tests/support/postgres.py)."""
    with skip_when_missing(), postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, data_dir: Path) -> Engine:
    """The store's database on each engine: the SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return Engine("sqlite", data_dir, None)
    server: Postgres = request.getfixturevalue("postgres")
    return Engine("postgresql", data_dir, server.fresh_database())


@pytest.fixture
async def hub(data_dir: Path) -> AsyncIterator[Hub]:
    store = Store.open(data_dir)
    hub = Hub(store, tick=0.01, limits=Limits())
    await hub.start("127.0.0.1", 0)
    try:
        yield hub
    finally:
        await hub.stop()
        store.close()
