"""A real PostgreSQL 15 for the store tests: started by the suite, in a folder of its own.

One server per test session (``initdb`` and ``pg_ctl`` from Debian's ``postgresql``
package), listening only on a unix socket in its temporary folder, so the system's
PostgreSQL and ``/etc`` are never touched. A migrated template database is made once;
each test gets a fresh copy of it (``CREATE DATABASE ... TEMPLATE``: a file copy, fast).
As root (CI, this machine) the server runs as the ``postgres`` user, which initdb needs.
The benchmarks of a cluster (``tests/bench/cluster.py``) start theirs here too.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from console.store import Store
from tests.support.system import MissingPackage

BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "shopcast_template"
_names = itertools.count(1)


class Postgres:
    """A running server: hands out a fresh, migrated database per test."""

    def __init__(self, socket_dir: Path) -> None:
        self.socket_dir = socket_dir

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def fresh_database(self) -> str:
        """A new database, migrated (a copy of the template); its URL."""
        return self._new_database(TEMPLATE)

    def empty_database(self) -> str:
        """A new database without Shopcast's tables, as a cluster's first start finds it."""
        return self._new_database("template0")

    def _new_database(self, template: str) -> str:
        name = f"test_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
        return self.url(name)


def _as_server_user(command: list[str]) -> list[str]:
    # initdb refuses to run as root: the server runs as postgres, as Debian runs it.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Start PostgreSQL 15 on a unix socket in a temporary folder; stop it afterwards.

    Raises :class:`MissingPackage` without Debian's ``postgresql``, RuntimeError (with
    the server's log) when it does not start."""
    if not (BIN / "initdb").exists():
        raise MissingPackage("PostgreSQL 15", "postgresql")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise MissingPackage("The postgres user", "postgresql") from None
    folder = Path(tempfile.mkdtemp(prefix="shopcast-pg-"))
    if os.geteuid() == 0:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    log = folder / "server.log"
    try:
        _run(
            [
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ]
        )
        options = f"-c listen_addresses='' -k {folder} -c fsync=off -c full_page_writes=off"
        _run(
            [str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            log,
        )
        server = Postgres(folder)
        try:
            with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {TEMPLATE}")
            Store.open(folder / "hub", database=server.url(TEMPLATE)).close()
            yield server
        finally:
            _run([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        told = log.read_text(errors="replace") if log is not None and log.exists() else ""
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr}\n{told}")
