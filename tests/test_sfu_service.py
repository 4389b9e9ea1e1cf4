"""A big show's server in one command: ``tools/sfu/show.sh`` and its systemd units.

The units are written by the real ``python -m console.sfu service`` and checked by
``systemd-analyze verify`` (it parses them as systemd would and checks that each
``ExecStart`` program exists); the script is run inside a network namespace, where it
starts Janus, simple-whip-server and the hub, and stops them all on SIGTERM.
"""

from __future__ import annotations

import http.server
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.sfu.config import HUB_UNIT, SFU_UNIT, ShowService, systemd_units
from tests.support.netns import network_namespace
from tests.support.nginx import free_port
from tests.support.system import missing_package
from tests.test_sfu_janus import require_sfu

ROOT = Path(__file__).resolve().parent.parent
SHOW = ROOT / "tools" / "sfu" / "show.sh"
#: How long the script may take to have everything up: a wait, not a measure.
PATIENCE = 60


def write_units(folder: Path, *extra: str) -> dict[str, str]:
    """The units as ``python -m console.sfu service`` writes them into ``folder``."""
    subprocess.run(
        [sys.executable, "-m", "console.sfu", "service", "--ice-hosts", "203.0.113.7",
         "--into", str(folder), *extra],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return {name: (folder / name).read_text() for name in (SFU_UNIT, HUB_UNIT)}


def verify(folder: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.skip(missing_package("systemd-analyze", "systemd"))
    return subprocess.run(
        ["systemd-analyze", "verify", str(folder / SFU_UNIT), str(folder / HUB_UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def exec_start(unit: str) -> list[str]:
    line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_show_units_are_what_systemd_accepts(tmp_path: Path) -> None:
    write_units(tmp_path, "--trusted-proxy", "127.0.0.1", "--public-address", "198.51.100.9")
    checked = verify(tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


def test_a_checkout_path_with_spaces_and_percent_signs_still_starts(tmp_path: Path) -> None:
    """systemd splits ExecStart on spaces and expands % and $: verify finds the program
    at this path only if the unit quotes and escapes it."""
    venv = tmp_path / "100% shows" / "my venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    service = ShowService(
        python=str(venv / "python"),
        project=str(tmp_path / "100% shows"),
        media_address="203.0.113.7",
        whip_server="/opt/shopcast/simple-whip-server",
    )
    for name, text in systemd_units(service).items():
        (tmp_path / name).write_text(text)
    checked = verify(tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


def test_the_hub_unit_starts_after_the_sfu_and_watches_through_it_on_its_data() -> None:
    service = ShowService(
        python="/srv/shopcast/.venv/bin/python",
        project="/srv/shopcast",
        media_address="203.0.113.7",
        whip_server="/opt/shopcast/simple-whip-server",
        janus_port=8300,
        trusted_proxies=("127.0.0.1",),
        user="shopcast",
    )
    units = systemd_units(service)
    sfu, hub = exec_start(units[SFU_UNIT]), exec_start(units[HUB_UNIT])
    assert sfu[:3] == [service.python, "-m", "console.sfu"]
    assert hub[:4] == [service.python, "-m", "console", "hub"]
    assert hub[hub.index("--sfu") + 1] == "ws://127.0.0.1:8300"
    # Host consoles joined by --connect are handed the endpoint the SFU makes.
    assert hub[hub.index("--sfu-whip") + 1] == "http://203.0.113.7:7090/whip/endpoint/show"
    assert sfu[sfu.index("--janus-port") + 1] == "8300"
    # The hub reads Janus's API secret from the SFU's data folder.
    assert hub[hub.index("--data-dir") + 1] == sfu[sfu.index("--data-dir") + 1]
    assert hub[hub.index("--trusted-proxy") + 1] == "127.0.0.1"
    assert f"After=network-online.target {SFU_UNIT}" in units[HUB_UNIT]
    assert f"Wants={SFU_UNIT}" in units[HUB_UNIT]
    for text in units.values():
        assert "Restart=on-failure" in text
        assert "User=shopcast" in text
        assert "StateDirectory=shopcast" in text


def test_show_sh_starts_the_sfu_and_the_hub_watching_through_it_and_stops_both(
    tmp_path: Path,
) -> None:
    require_sfu()
    with network_namespace() as namespace:
        script = subprocess.Popen(
            namespace.argv(
                str(SHOW), "--ice-hosts", namespace.server, "--data-dir", str(tmp_path / "data"),
                "--bind", "127.0.0.1", "--port", "0",
            ),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHON": sys.executable},
        )  # fmt: skip
        try:
            said = read_until(script, "Host consoles publish to")
            whip = f"http://{namespace.server}:7090/whip/endpoint/show"
            assert said["WHIP endpoint"] == said["Host consoles publish to"] == whip
            assert said["Video"].startswith("through Janus at ws://127.0.0.1:8288")
            assert said["Viewer page"].startswith("http://127.0.0.1:")
            running = names_in(namespace.name)
            assert {"janus", "node"} <= running, running
            script.send_signal(signal.SIGTERM)
            assert script.wait(30) == 0
            assert names_in(namespace.name) == set()
        finally:
            if script.poll() is None:
                script.kill()
                script.wait(10)


def read_until(process: subprocess.Popen[str], last: str) -> dict[str, str]:
    """The ``Name: value`` lines ``process`` prints, until one named ``last``."""
    assert process.stdout is not None
    said: dict[str, str] = {}
    seen: list[str] = []
    while last not in said:
        line = process.stdout.readline()
        assert line, "show.sh stopped as it started:\n" + "".join(seen[-30:])
        seen.append(line)
        name, _, value = line.partition(": ")
        said[name.strip()] = value.strip()
    return said


def names_in(namespace: str) -> set[str]:
    """The programs running in ``namespace``."""
    listed = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=10
    )
    names = set()
    for pid in listed.stdout.split():
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            continue
    return names


# nginx in front: the page, /ws, and only the WHIP paths a console publishes by.

START_TIMEOUT = 10.0


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with its own name and path; stands in for the hub or the
    WHIP server behind nginx (what reaches them is the test)."""

    name = ""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = f"{self.name} {self.command} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(name: str) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type(name, (Recorder,), {"name": name})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[str]:
    """nginx with the big show's site, a stand-in hub and WHIP server behind it."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip(missing_package("nginx", "nginx"))
    hub, hub_port = serve("hub")
    whip, whip_port = serve("whip")
    listen = f"127.0.0.1:{free_port()}"
    written = subprocess.run(
        [sys.executable, "-m", "console.sfu", "service", "--ice-hosts", "127.0.0.1",
         "--port", str(hub_port), "--whip-port", str(whip_port), "--listen", listen,
         "--into", str(tmp_path), "--nginx", str(tmp_path / "site.conf")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    temp = "".join(
        f"    {kind}_temp_path {tmp_path / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'} notice;\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp}"
        f"    include {tmp_path / 'site.conf'};\n}}\n"
    )
    checked = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(config)],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        host, port = listen.rsplit(":", 1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    "nginx never listened"
                )
                time.sleep(0.05)
        yield f"http://{listen}"
    finally:
        process.terminate()
        process.wait(10)
        hub.shutdown()
        whip.shutdown()


def fetch(url: str, method: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"v=0\r\n" if method == "POST" else None)
    request.method = method
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def test_nginx_passes_the_page_and_the_console_s_whip_paths_and_nothing_else_of_whip(
    behind_nginx: str,
) -> None:
    assert fetch(f"{behind_nginx}/", "GET") == (200, "hub GET /")
    assert fetch(f"{behind_nginx}/whip/endpoint/show", "POST") == (
        200,
        "whip POST /whip/endpoint/show",
    )
    assert fetch(f"{behind_nginx}/whip/resource/abc", "DELETE") == (
        200,
        "whip DELETE /whip/resource/abc",
    )
    # Creating endpoints and listing them (with their tokens) stay on the server.
    assert fetch(f"{behind_nginx}/whip/create", "POST")[0] == 404
    assert fetch(f"{behind_nginx}/whip/endpoints", "GET")[0] == 404
    assert fetch(f"{behind_nginx}/whip/healthcheck", "GET")[0] == 404
