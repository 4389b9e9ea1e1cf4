"""Several hubs sharing one show, for the benchmarks' cluster figures (issue 17).

:func:`start_cluster` starts on this machine what ``docs/cluster.md`` describes: a
PostgreSQL server and a redis-server of the benchmark's own (the suite's start-ups,
``tests/support/postgres.py`` and ``tests/support/redis.py``, so there is one way to start
each), then N hubs (``load.start_hub``) on one data folder, whose ``host-token`` file is
the show's one token, each with ``--database URL --redis URL``. There is no nginx: a
benchmark spreads its clients over the hubs' own ports itself. One hub on SQLite is the
single-hub figure, started as every benchmark starts its hub (no database or bus server).

Whoever imports this module has put the repository's root on ``sys.path`` (``tests`` and
the worktree's ``console``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import load

from console.store import Store
from tests.support.postgres import postgres_server
from tests.support.redis import redis_server

ENGINES = ("sqlite", "postgresql")


@dataclass
class Cluster:
    """The running hubs (hub 1 first: the host's) and the store they share."""

    hubs: list[load.Server]
    data: Path
    #: The PostgreSQL URL; None for the SQLite file in ``data`` (one hub).
    database: str | None

    def store(self) -> Store:
        """The show's store, opened as one more hub would: what the hubs committed."""
        return Store.open(self.data, database=self.database)

    def cpu_seconds(self) -> list[float]:
        """Each hub's user + system CPU seconds so far."""
        return [hub.cpu_seconds() for hub in self.hubs]

    def stop(self) -> list[dict[str, Any]]:
        """Stop every hub; each one's exit and stderr summary (``load.Server.stop``)."""
        return [hub.stop() for hub in self.hubs]


@contextmanager
def start_cluster(folder: Path, hubs: int, engine: str) -> Iterator[Cluster]:
    """``hubs`` hubs on ``engine`` in ``folder``; their servers are stopped on the way out.

    Several hubs share a show only through PostgreSQL and Redis: on SQLite only one hub
    is allowed. Raises ``tests.support.system.MissingPackage`` (naming the Debian package)
    when ``postgresql`` or ``redis-server`` is not installed."""
    if engine not in ENGINES:
        raise ValueError(f"unknown database {engine!r}: one of {', '.join(ENGINES)}")
    if engine == "sqlite" and hubs != 1:
        raise ValueError("several hubs share one show only on --database postgresql")
    data = folder / "data"
    with ExitStack() as services:
        database: str | None = None
        extra: list[str] = []
        if engine == "postgresql":
            database = services.enter_context(postgres_server()).fresh_database()
            (folder / "redis").mkdir(parents=True, exist_ok=True)
            bus = services.enter_context(redis_server(folder / "redis"))
            extra = ["--database", database, "--redis", bus]
            load.log(f"PostgreSQL and redis-server up ({bus}); starting {hubs} hub(s)")
        cluster = Cluster([], data, database)
        try:
            # One at a time: the first hub writes the host-token file the others read.
            for n in range(1, hubs + 1):
                hub = load.start_hub(folder / f"hub{n}", data, extra)
                cluster.hubs.append(hub)
                load.log(f"hub {n}: pid {hub.pid} on port {hub.port}")
            yield cluster
        finally:
            for hub in cluster.hubs:
                if hub.proc.poll() is None:
                    hub.stop()
