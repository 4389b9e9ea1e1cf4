"""The console ends when asked, whatever box is open: errors on the terminal, Ctrl+C obeyed."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_process import ROOT, start, stop


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONUNBUFFERED": "1",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


def _console(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", *args],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], wanted: str, seconds: float = 20) -> str:
    """The stderr line holding ``wanted``, read while the process still runs."""
    assert process.stderr is not None
    deadline = time.monotonic() + seconds
    seen: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.2)
        if not ready:
            continue
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if wanted in line:
            return line
    raise AssertionError(f"{wanted!r} not on the terminal; it said: {''.join(seen)!r}")


def _end(process: subprocess.Popen[str], sig: signal.Signals) -> int:
    """Send ``sig``; the console must be gone soon after (it hung for good before)."""
    process.send_signal(sig)
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"the console ignored {sig.name}") from None


def test_an_error_box_held_open_while_the_keepalive_pings_lets_the_console_quit(
    tmp_path: Path,
) -> None:
    # The box used to be exec()'d inside the import's task: every other task woken
    # meanwhile failed ("Cannot enter into task"), and the process never exited.
    try:
        run = subprocess.run(
            [sys.executable, "-m", "tests.support.hold_dialog", str(tmp_path)],
            cwd=ROOT,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the console never quit: {exc.stderr!r}") from None
    assert run.returncode == 0, run.stderr
    assert "Cannot enter into task" not in run.stderr


def test_a_refused_connect_says_why_on_the_terminal_and_ends_on_sigterm(tmp_path: Path) -> None:
    hub, url = start(["hub"], tmp_path / "hub")
    ws_url = url.replace("http://", "ws://") + "ws"
    remote = _console(["--connect", ws_url, "--token", "not-the-token"], tmp_path)
    try:
        line = _read_until(remote, "token")
        # The refusal used to open a modal box inside the session's task: SIGTERM hung.
        assert _end(remote, signal.SIGTERM) == 0
        assert f"Cannot join the show at {ws_url}" in line
    finally:
        if remote.poll() is None:
            remote.kill()
        stop(hub, signal.SIGTERM)


def test_a_port_in_use_is_said_on_the_terminal_at_once_and_ctrl_c_ends_the_console(
    tmp_path: Path,
) -> None:
    hub, url = start(["hub"], tmp_path / "hub")
    port = url.rsplit(":", 1)[1].strip("/")
    console = _console(["--port", port, "--data-dir", str(tmp_path / "data")], tmp_path)
    try:
        # Said while the "cannot start" box is still open, not after it was closed.
        line = _read_until(console, f"Cannot listen on 127.0.0.1:{port}")
        assert console.poll() is None, "the box stays until it is read"
        assert "--port" in line
        assert _end(console, signal.SIGINT) == 2
    finally:
        if console.poll() is None:
            console.kill()
        stop(hub, signal.SIGTERM)
