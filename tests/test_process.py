"""Whole processes as a user starts them: exit status, shutdown time, persistence."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent


def start(args: list[str], data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    # The console's remembered settings (sources, WHIP) live under XDG_CONFIG_HOME: a
    # folder of the test's own keeps the developer's choices out of the test, and back.
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONUNBUFFERED": "1",
        "XDG_CONFIG_HOME": str(data_dir.parent / "config"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "console", *args, "--port", "0", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.match(r"Viewer page: (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(
            f"no viewer URL: {line!r} {process.stderr.read() if process.stderr else ''}"
        )
    return process, match.group(1)


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, float]:
    started = time.monotonic()
    process.send_signal(sig)
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return code, time.monotonic() - started


async def post_comment(ws_url: str, text: str) -> None:
    async with connect(ws_url) as ws:
        await ws.send(
            json.dumps({"t": "hello", "v": 1, "viewer_id": "process-test-1", "name": "Pat"})
        )
        await ws.recv()
        await ws.send(json.dumps({"t": "comment", "text": text, "ref": "1"}))
        while not any(m["t"] == "ack" for m in json.loads(await ws.recv())):
            pass


async def history(ws_url: str) -> list[str]:
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"t": "hello", "v": 1, "viewer_id": "process-test-2"}))
        return [m["text"] for m in json.loads(await ws.recv()) if m["t"] == "comment"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_console_exits_cleanly_on_a_signal_and_keeps_the_chat(
    tmp_path: Path, sig: signal.Signals
) -> None:
    process, url = start([], tmp_path)
    ws_url = url.replace("http://", "ws://") + "ws"
    asyncio.run(post_comment(ws_url, "remember me"))
    time.sleep(1.0)  # a second of streaming preview and chat under qasync
    code, took = stop(process, sig)
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert took < 5.0

    again, url = start([], tmp_path)
    try:
        assert asyncio.run(history(url.replace("http://", "ws://") + "ws")) == ["remember me"]
    finally:
        assert stop(again, signal.SIGTERM)[0] == 0


def test_a_streaming_console_runs_a_while_and_exits_with_status_0(tmp_path: Path) -> None:
    process, _url = start(["--live", "--preset", "360p", "--ice-hosts", "127.0.0.1"], tmp_path)
    time.sleep(6)  # encoders, preview and qasync timers all running
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    code, took = stop(process, signal.SIGTERM)
    stderr = process.stderr.read() if process.stderr else ""
    assert code == 0, stderr
    assert took < 5.0
    assert "Traceback" not in stderr


def test_headless_hub_exits_cleanly_and_never_imports_qt(tmp_path: Path) -> None:
    process, url = start(["hub"], tmp_path)
    asyncio.run(post_comment(url.replace("http://", "ws://") + "ws", "from the hub"))
    code, took = stop(process, signal.SIGTERM)
    assert code == 0 and took < 5.0
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, console.cli, console.hub.headless;"
            "qt = ('PySide6', 'qasync', 'widgets');"
            "print(sorted(m for m in sys.modules if m.startswith(qt)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_a_port_in_use_gives_a_clear_error(tmp_path: Path) -> None:
    process, url = start(["hub"], tmp_path / "one")
    port = url.rsplit(":", 1)[1].strip("/")
    try:
        clash = subprocess.run(
            [
                sys.executable,
                "-m",
                "console",
                "hub",
                "--port",
                port,
                "--data-dir",
                str(tmp_path / "two"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert clash.returncode == 2
        assert f"Cannot listen on 127.0.0.1:{port}" in clash.stderr
        assert "--port" in clash.stderr
    finally:
        stop(process, signal.SIGTERM)


def test_a_remote_staff_console_joins_a_hub_and_exits_with_status_0(tmp_path: Path) -> None:
    hub, url = start(["hub", "--print-token"], tmp_path / "hub")
    assert hub.stdout is not None
    token = hub.stdout.readline().split(": ", 1)[1].strip()
    ws_url = url.replace("http://", "ws://") + "ws"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "c")}
    remote = subprocess.Popen(
        [sys.executable, "-m", "console", "--connect", ws_url, "--token", token],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert remote.stderr is not None
        deadline = time.monotonic() + 20
        line = ""
        while "Connected to" not in line and time.monotonic() < deadline:
            line = remote.stderr.readline()
        assert f"Connected to {ws_url} as host" in line
        code, took = stop(remote, signal.SIGTERM)
        assert code == 0 and took < 5.0
    finally:
        if remote.poll() is None:
            remote.kill()
        assert stop(hub, signal.SIGTERM)[0] == 0


# ---------------------------------------------------------------- the host token and ctl


def console_command(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m console ARGS`` to its end (ctl, token)."""
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ctl(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    ws_url = url.replace("http://", "ws://") + "ws"
    return console_command("ctl", "--hub", ws_url, "--token", token, *args)


def test_a_hub_keeps_one_host_token_and_prints_it_only_when_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub, url = start(["hub"], data)
    assert hub.stdout is not None
    line = hub.stdout.readline().strip()
    assert line == (
        f"Host token: not printed; read it with: python -m console token --data-dir {data}"
    )
    assert "sc_" not in line
    shown = console_command("token", "--data-dir", str(data))
    assert shown.returncode == 0, shown.stderr
    token = shown.stdout.strip()
    assert ctl(url, token, "orders").returncode == 0
    assert stop(hub, signal.SIGTERM)[0] == 0

    hub, url = start(["hub", "--print-token"], data)
    assert hub.stdout is not None
    assert hub.stdout.readline().strip() == f"Host token: {token}"  # the same after a restart
    assert ctl(url, token, "orders").returncode == 0
    assert stop(hub, signal.SIGTERM)[0] == 0


def test_the_console_prints_the_data_folders_host_token_with_print_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = console_command("token", "--data-dir", str(data)).stdout.strip()
    console, url = start(["--print-token"], data)
    try:
        assert console.stdout is not None
        assert console.stdout.readline().strip() == f"Host token: {token}"
        assert ctl(url, token, "orders").returncode == 0
    finally:
        assert stop(console, signal.SIGTERM)[0] == 0


def test_ctl_replaces_the_host_token_and_the_old_one_stops_working(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub, url = start(["hub", "--print-token"], data)
    try:
        assert hub.stdout is not None
        old = hub.stdout.readline().split(": ", 1)[1].strip()
        replaced = ctl(url, old, "replace-host-token")
        assert replaced.returncode == 0, replaced.stderr
        new = replaced.stdout.strip()
        assert new.startswith("sc_") and new != old
        refused = ctl(url, old, "orders")
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr.strip() == (
            "shopcast ctl: This staff token was revoked; ask the host for a new one."
        )
        assert ctl(url, new, "orders").returncode == 0
        assert console_command("token", "--data-dir", str(data)).stdout.strip() == new
    finally:
        assert stop(hub, signal.SIGTERM)[0] == 0


def test_ctl_import_of_a_bad_file_says_which_file_and_what_to_do(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "random.csv").write_bytes(bytes(range(256)) * 4)
    (files / "broken.json").write_text('{"version": 1, "products": [', encoding="utf-8")
    (files / "notes.csv").write_text("Name,Notes\nAnn,likes linen\n", encoding="utf-8")
    expected = {
        "missing.csv": f"There is no file {files / 'missing.csv'}; check its name and folder.",
        "random.csv": (
            f"{files / 'random.csv'} is not UTF-8 text (byte 0x80 on line 2); export the "
            "products from Shopify again (Products > Export) or save the file as 'CSV UTF-8'."
        ),
        "broken.json": (
            f"{files / 'broken.json'}: Nothing was imported: the file is not valid JSON "
            "(Expecting value at line 1, column 29); correct it there, or choose a Shopcast "
            "JSON catalogue or a Shopify CSV export."
        ),
        "notes.csv": (
            f"{files / 'notes.csv'}: Nothing was imported: the file has no column Handle, "
            "Title, Variant Price; is it a Shopify product export (Products > Export)?"
        ),
    }
    hub, url = start(["hub", "--print-token"], tmp_path / "data")
    try:
        assert hub.stdout is not None
        token = hub.stdout.readline().split(": ", 1)[1].strip()
        for name, sentence in expected.items():
            run = ctl(url, token, "import", str(files / name))
            assert (run.returncode, run.stdout) == (1, ""), name
            assert run.stderr == f"shopcast ctl: {sentence}\n", name
    finally:
        assert stop(hub, signal.SIGTERM)[0] == 0


def test_ctl_import_of_bytes_that_are_not_utf8_names_the_byte(tmp_path: Path) -> None:
    latin = tmp_path / "export-latin1.csv"
    latin.write_bytes(
        "Handle,Title,Variant Price\nbeanie,Bonnet en laine é,19.00\n".encode("latin-1")
    )
    # No hub is needed to tell: the file is read before connecting.
    run = ctl("http://127.0.0.1:9/", "sc_unused", "import", str(latin))
    assert run.returncode == 1
    assert run.stderr == (
        f"shopcast ctl: {latin} is not UTF-8 text (byte 0xe9 on line 2); export the products "
        "from Shopify again (Products > Export) or save the file as 'CSV UTF-8'.\n"
    )


def test_ctl_import_reports_oversold_stock_as_a_warning(tmp_path: Path) -> None:
    csv_file = tmp_path / "oversold.csv"
    csv_file.write_text(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Inventory Qty,Variant Price\n"
        "tee,Organic Tee,Size,S,TEE-S,5,25.00\n"
        "tee,,,M,TEE-M,-3,25.00\n",
        encoding="utf-8",
    )
    hub, url = start(["hub", "--print-token"], tmp_path / "data")
    try:
        assert hub.stdout is not None
        token = hub.stdout.readline().split(": ", 1)[1].strip()
        run = ctl(url, token, "import", str(csv_file))
        assert (run.returncode, run.stderr) == (0, "")
        assert run.stdout.splitlines() == [
            "Imported 1 product from 2 rows.",
            "line 3 (tee), warning: Variant Inventory Qty -3 is below 0 (oversold in "
            "Shopify); imported as 0, sold out: set the stock once the units are in",
        ]
    finally:
        assert stop(hub, signal.SIGTERM)[0] == 0
