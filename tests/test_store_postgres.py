"""Hubs on one PostgreSQL database: ``python -m console hub --database postgresql://...``."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest

from console.cli import main
from console.errors import StoreError
from console.hub.auth import HOST_TOKEN_FILE, hash_token, host_token
from console.store import Store, postgres
from console.store.migrations import MIGRATIONS
from console.store.postgres import PostgresDatabase
from console.store.sqlite import _split_sql
from tests.support.clients import RawClient
from tests.support.postgres import Postgres
from tests.support.storedb import rows

ROOT = Path(__file__).resolve().parents[1]


@asynccontextmanager
async def hub_process(data_dir: Path, url: str) -> AsyncIterator[tuple[str, str]]:
    """A headless hub on ``url``; yields its /ws address and the ``Data:`` line it printed."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "console", "hub", "--port", "0", "--data-dir", str(data_dir)],
        *["--database", url],
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: dict[str, str] = {}
    try:
        while "Data" not in seen:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            if not line:
                pytest.fail(f"the hub exited ({await process.wait()}): {seen}")
            key, _, rest = line.partition(": ")
            seen[key.split()[0] if key else ""] = rest.strip()
        page = seen["Viewer"]
        yield page.replace("http://", "ws://").rstrip("/") + "/ws", seen["Data"]
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def test_two_hubs_on_one_database_number_the_room_s_comments_in_turn(
    tmp_path: Path, postgres: Postgres
) -> None:
    url = postgres.fresh_database()
    async with hub_process(tmp_path / "a", url) as (ws_a, data_a):
        # The show's one host token: each hub's data folder holds a copy of its file.
        (tmp_path / "b").mkdir()
        shutil.copy(tmp_path / "a" / HOST_TOKEN_FILE, tmp_path / "b" / HOST_TOKEN_FILE)
        async with hub_process(tmp_path / "b", url) as (ws_b, _):
            assert data_a.startswith("postgresql://") and "/test_" in data_a
            await _talk_in_turn(ws_a, ws_b)
    store = Store.open(tmp_path / "check", database=url)
    try:
        stored = rows(store, "SELECT seq, text FROM comments ORDER BY seq")
    finally:
        store.close()
    texts = [text for _, text in stored]
    assert texts == ["hello from hub A", "hello from hub B"] * 2
    seqs = [seq for seq, _ in stored]
    assert seqs == sorted(set(seqs)), "one seq per event, whichever hub wrote it"


async def _talk_in_turn(ws_a: str, ws_b: str) -> None:
    """Ann on hub A and Bob on hub B comment in turn, each waiting for the last's ack."""
    ann = await RawClient.viewer(ws_a, "Ann")
    bob = await RawClient.viewer(ws_b, "Bob")
    turns = ((ann, "hello from hub A"), (bob, "hello from hub B")) * 2
    for turn, (client, text) in enumerate(turns):
        await client.send({"t": "comment", "text": text, "ref": f"c{turn}"})
        await client.wait_for("ack", ref=f"c{turn}")
    await ann.close()
    await bob.close()


def test_a_hub_without_the_show_s_host_token_refuses_to_replace_it(
    tmp_path: Path, postgres: Postgres
) -> None:
    url = postgres.fresh_database()
    first = Store.open(tmp_path / "a", database=url)
    try:
        token = host_token(first, 1.0)
    finally:
        first.close()
    second = Store.open(tmp_path / "b", database=url)
    try:
        with pytest.raises(StoreError, match=r"(?s)already has a host token.*Copy the host-token"):
            host_token(second, 2.0)
        assert second.team.is_host_token(hash_token(token)[:16]), "the host's token lives on"
        shutil.copy(tmp_path / "a" / HOST_TOKEN_FILE, tmp_path / "b" / HOST_TOKEN_FILE)
        assert host_token(second, 3.0) == token
    finally:
        second.close()


def test_a_hub_that_waited_for_another_s_migration_does_not_run_it_again(
    tmp_path: Path, postgres: Postgres
) -> None:
    url = postgres.empty_database()
    first = PostgresDatabase.open(url)
    pool = ThreadPoolExecutor(1)
    try:
        with first.transaction():  # the first hub, starting its first migration
            first.last_seq()  # the writers' lock is taken with the first statement
            second = pool.submit(Store.open, tmp_path / "b", url)
            _until_a_backend_waits(url)  # it read version 0 and queues behind this one
            for statement in _split_sql(MIGRATIONS[0]):
                first.execute(first.migration(statement))
            first.set_schema_version(1)
        second.result(timeout=30).close()
    finally:
        pool.shutdown()
        first.close()


def _until_a_backend_waits(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as watcher:
        for _ in range(600):
            waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
            if watcher.execute(waiting).fetchone() != (0,):
                return
            time.sleep(0.05)
    pytest.fail("the second store never queued for the writers' lock")


def test_hubs_starting_together_in_one_folder_agree_on_the_host_token(
    tmp_path: Path, postgres: Postgres
) -> None:
    url = postgres.fresh_database()
    stores = [Store.open(tmp_path / "hubs", database=url) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def token_of(store: Store) -> str:
        start.wait()
        return host_token(store, 1.0)

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            tokens = set(pool.map(token_of, stores))
        assert len(tokens) == 1
        (token,) = tokens
        assert (tmp_path / "hubs" / HOST_TOKEN_FILE).read_text().strip() == token
        assert stores[0].team.is_host_token(hash_token(token)[:16])
    finally:
        for store in stores:
            store.close()


def test_a_database_that_is_not_postgresql_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="postgresql://") as told:
        Store.open(tmp_path, database="mysql://ann:secret@localhost/shop")
    assert "'mysql://ann:***@localhost/shop' is not a PostgreSQL URL" in str(told.value)
    assert "secret" not in str(told.value)


@pytest.mark.parametrize(
    "url", ["postgresql://ann:sec ret@127.0.0.1/shop", "postgresql://ann:secret@[::1/shop"]
)
def test_a_url_the_driver_cannot_read_is_refused_without_its_password(
    url: str, tmp_path: Path
) -> None:
    """libpq quotes the piece it could not parse, or the whole URL."""
    with pytest.raises(StoreError, match=r"postgresql://ann:\*\*\*@") as told:
        Store.open(tmp_path, database=url)
    assert "secret" not in str(told.value) and "sec ret" not in str(told.value)


def test_an_unreachable_server_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"(?s)could not be reached.*--database") as told:
        Store.open(tmp_path, database=f"postgresql://ann:secret@/none?host={tmp_path}")
    assert "secret" not in str(told.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 where something takes the connection and never says a word:
    the kernel completes the handshake for the listening socket, nobody reads or writes
    (a wedged server, or a service that is not PostgreSQL)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


@pytest.mark.timeout(60)  # psycopg's own wait would be 130 s
def test_a_hub_gives_up_on_a_server_that_never_answers_and_names_it(
    silent_server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT", 2)
    with pytest.raises(StoreError) as told:
        Store.open(tmp_path, database=f"postgresql://ann:s3cret@127.0.0.1:{silent_server}/shop")
    message = str(told.value)
    assert f"PostgreSQL server at 127.0.0.1:{silent_server} did not answer within 2 s" in message
    assert "connect_timeout=SECONDS" in message and "s3cret" not in message


def test_the_hub_command_waits_as_long_as_its_url_says(silent_server: int, tmp_path: Path) -> None:
    url = f"postgresql://ann:s3cret@127.0.0.1:{silent_server}/shop?connect_timeout=2"
    command = [sys.executable, "-m", "console", "hub", "--port", "0", "--database", url]
    command += ["--data-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"server at 127.0.0.1:{silent_server} did not answer within 2 s" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


def test_a_report_gives_up_on_a_server_that_never_answers(
    silent_server: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://ann:s3cret@127.0.0.1:{silent_server}/shop?connect_timeout=2"
    assert main(["report", "--database", url]) == 2
    err = capsys.readouterr().err
    assert f"server at 127.0.0.1:{silent_server} did not answer within 2 s" in err
    assert "s3cret" not in err
