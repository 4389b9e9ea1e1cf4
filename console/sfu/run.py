"""``python -m console.sfu``: a big show's SFU on this server, configured and kept running.

It writes Janus's and simple-whip-server's configuration (``console.sfu.config``) into a
folder of its own under the hub's data folder (``/etc`` is never touched), starts both
programs, waits until Janus has the show's room and the WHIP server answers, creates the
WHIP endpoint the console publishes to (simple-whip-server keeps endpoints in memory
only), and restarts either program if it stops. ``tools/sfu/setup.sh`` installs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from console.errors import ShopcastError
from console.settings import default_data_dir
from console.sfu.config import (
    DEFAULT_JANUS_ADMIN_PORT,
    DEFAULT_JANUS_PORT,
    DEFAULT_RTP_PORTS,
    DEFAULT_WHIP_PORT,
    JanusInstall,
    SfuSecrets,
    SfuSettings,
    check,
    janus_api_url,
    janus_files,
    publish_url,
    whip_create_url,
    whip_endpoint,
    whip_server_config,
)
from console.sfu.janus import JanusConnection, JanusError
from media.httpclient import HttpError, request

log = logging.getLogger(__name__)

#: Where ``tools/sfu/setup.sh`` puts simple-whip-server (``SHOPCAST_WHIP_SERVER`` moves it).
WHIP_SERVER_ENV = "SHOPCAST_WHIP_SERVER"
DEFAULT_WHIP_SERVER = Path("/opt/shopcast/simple-whip-server")
SETUP = "sudo tools/sfu/setup.sh"
#: Seconds either program may take to be ready (Janus loads in well under one).
READY_TIMEOUT = 20.0
POLL = 0.1
#: A program that stops is started again after this, doubled on each quick stop.
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
#: A program that ran this long before stopping is restarted after ``RESTART_DELAY``.
STEADY = 30.0
STOP_TIMEOUT = 5.0
#: The log lines quoted when a program does not start.
QUOTE_LINES = 8
#: simple-whip-server's own debug channels: what it does, not every message.
WHIP_DEBUG = "whip:*,-whip:debug,janus:*,-janus:debug,-janus:vdebug"
WHIP_ARGV = ("node", "src/server.js")


class SfuError(ShopcastError):
    """Janus or simple-whip-server is missing, does not start, or refused the show."""


def find_janus_install(root: Path = Path("/usr/lib")) -> JanusInstall:
    """Debian's Janus modules (``/usr/lib/<arch>/janus``) and the files found there."""
    for plugins in sorted(root.glob("*/janus/plugins")):
        if (plugins / "libjanus_videoroom.so").exists():
            base = plugins.parent

            def names(kind: str, base: Path = base) -> tuple[str, ...]:
                return tuple(sorted(p.name for p in (base / kind).glob("*.so")))

            return JanusInstall(str(base), names("plugins"), names("transports"), names("loggers"))
    raise SfuError(f"Janus's VideoRoom plugin is not installed: run {SETUP}.")


def load_secrets(folder: Path) -> SfuSecrets:
    """The SFU's secrets, made on first start and kept (0600) so restarts keep them."""
    path = folder / "secrets.json"
    with contextlib.suppress(FileNotFoundError):
        try:
            return SfuSecrets(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise SfuError(
                f"{path} is not the SFU's secrets ({exc}); delete it to make new ones."
            ) from None
    made = SfuSecrets(*(secrets.token_urlsafe(24) for _ in range(4)))
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(
            {
                "api_secret": made.api_secret,
                "admin_secret": made.admin_secret,
                "room_secret": made.room_secret,
                "whip_token": made.whip_token,
            },
            file,
            indent=2,
        )
    return made


def read_api_secret(folder: Path) -> str:
    """Janus's API secret that ``python -m console.sfu`` made in ``folder``, for a hub on
    the same data folder (``python -m console hub --sfu``) to use without retyping it."""
    return _read_secret(
        folder, "api_secret", "Janus's API secret", "--sfu-secret (or SHOPCAST_SFU_SECRET)"
    )


def read_whip_token(folder: Path) -> str:
    """The WHIP endpoint's token that ``python -m console.sfu`` made in ``folder``: the
    hub hands it to the host's console with the endpoint (``--sfu-whip``)."""
    return _read_secret(
        folder, "whip_token", "the WHIP token", "--sfu-whip-token (or SHOPCAST_SFU_WHIP_TOKEN)"
    )


def _read_secret(folder: Path, key: str, what: str, option: str) -> str:
    path = folder / "secrets.json"
    try:
        return str(json.loads(path.read_text())[key])
    except FileNotFoundError:
        raise SfuError(
            f"No SFU secrets in {path}: start 'python -m console.sfu' with this --data-dir "
            f"first, or give {what} with {option}."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SfuError(f"Cannot read {what} from {path} ({exc}).") from None


@dataclass
class _Program:
    """One program the SFU runs: how to start it, when it is ready, its log."""

    name: str
    argv: Sequence[str]
    cwd: Path | None
    ready: Callable[[], Awaitable[bool]]
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    #: How long to wait before the next start, if it stops soon after this one.
    delay: float = RESTART_DELAY


class Sfu:
    """Janus and simple-whip-server for one show, from ``settings``, in ``folder``."""

    def __init__(
        self,
        settings: SfuSettings,
        folder: Path,
        whip_server: Path = DEFAULT_WHIP_SERVER,
        install: JanusInstall | None = None,
    ) -> None:
        check(settings)
        self.settings = settings
        self.folder = folder
        self._whip_server = whip_server
        self._install = install
        config = self._janus_config
        # -F too: Janus's plugins read /etc/janus unless told (configs_folder is not enough).
        janus = [shutil.which("janus") or "janus", "-C", str(config / "janus.jcfg")]
        janus += ["-F", str(config), "-o", "-D"]
        self._janus = _Program("Janus", janus, None, self._janus_ready, folder / "janus.log")
        self._whip = _Program(
            "simple-whip-server",
            WHIP_ARGV,
            self._whip_folder,
            self._whip_ready,
            folder / "whip-server.log",
        )
        #: Janus's version, as it says it (``info``), once it is up.
        self.janus_version = ""

    async def start(self) -> None:
        """Write the configuration, start Janus, then the WHIP server and its endpoint."""
        if shutil.which("janus") is None:
            raise SfuError(f"Janus is not installed: run {SETUP}.")
        if not (self._whip_server / "src" / "server.js").exists():
            raise SfuError(f"simple-whip-server is not in {self._whip_server}: run {SETUP}.")
        self._write(self._install or find_janus_install())
        await self._start(self._janus)
        await self._start(self._whip)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep both programs running until ``stop`` is set; then stop them."""
        waiter = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                exits = {
                    asyncio.ensure_future(program.process.wait()): program
                    for program in (self._janus, self._whip)
                    if program.process is not None
                }
                done, _ = await asyncio.wait({waiter, *exits}, return_when=asyncio.FIRST_COMPLETED)
                for task in exits:
                    task.cancel()
                for task in done:
                    if task in exits:
                        await self._restart(exits[task], stop)
        finally:
            waiter.cancel()
            await self.stop()

    async def stop(self) -> None:
        """The WHIP server first (it hangs up its publisher), then Janus."""
        for program in (self._whip, self._janus):
            process, program.process = program.process, None
            if process is None or process.returncode is not None:
                continue
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()

    @property
    def _janus_config(self) -> Path:
        return self.folder / "janus"

    @property
    def _whip_folder(self) -> Path:
        return self.folder / "whip-server"

    def _write(self, install: JanusInstall) -> None:
        self._janus_config.mkdir(parents=True, exist_ok=True)
        for name, text in janus_files(self.settings, install, str(self._janus_config)).items():
            _write_private(self._janus_config / name, text)
        # server.js finds config.js beside itself, and its modules above it.
        source = self._whip_folder / "src"
        source.mkdir(parents=True, exist_ok=True)
        for script in (self._whip_server / "src").glob("*.js"):
            shutil.copyfile(script, source / script.name)
        _write_private(source / "config.js", whip_server_config(self.settings))
        modules = self._whip_folder / "node_modules"
        if modules.is_symlink() or modules.exists():
            modules.unlink()
        modules.symlink_to(self._whip_server / "node_modules")

    async def _start(self, program: _Program) -> None:
        env = {**os.environ, "NODE_ENV": "production", "DEBUG": WHIP_DEBUG}
        with program.log_path.open("ab") as output:
            process = program.process = await asyncio.create_subprocess_exec(
                *program.argv,
                cwd=program.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )
        program.started = time.monotonic()
        deadline = program.started + READY_TIMEOUT
        while not await program.ready():
            if process.returncode is not None:
                raise SfuError(
                    f"{program.name} stopped as it started (exit {process.returncode}); "
                    f"its log ({program.log_path}) ends:\n{_tail(program.log_path)}"
                )
            if time.monotonic() > deadline:
                raise SfuError(
                    f"{program.name} was not ready within {READY_TIMEOUT:g} s; its log "
                    f"({program.log_path}) ends:\n{_tail(program.log_path)}"
                )
            await asyncio.sleep(POLL)
        log.info("%s is up (pid %d)", program.name, process.pid)

    async def _restart(self, program: _Program, stop: asyncio.Event) -> None:
        """Start a program that stopped again: at once if it had run a while, later and
        later if it keeps stopping. The WHIP server's endpoint is made again as it starts
        (it keeps none); the WHIP server finds a restarted Janus by itself."""
        code = program.process.returncode if program.process else None
        wait = RESTART_DELAY if time.monotonic() - program.started >= STEADY else program.delay
        program.delay = min(wait * 2, MAX_RESTART_DELAY)
        log.warning(
            "%s stopped (exit %s); starting it again in %g s (log: %s)",
            program.name,
            code,
            wait,
            program.log_path,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        if stop.is_set():
            return
        try:
            await self._start(program)
        except SfuError as exc:
            log.error("%s", exc)

    async def _janus_ready(self) -> bool:
        """Janus answers on its API with the VideoRoom plugin and the show's room."""
        secret = self.settings.secrets.api_secret
        try:
            async with await JanusConnection.open(janus_api_url(self.settings), secret) as janus:
                info = await janus.request({"janus": "info"})
                if "janus.plugin.videoroom" not in info.get("plugins", {}):
                    raise SfuError(f"Janus started without its VideoRoom plugin: run {SETUP}.")
                session = await janus.session()
                handle = await janus.attach(session)
                room = self.settings.room
                exists = await janus.message(session, handle, {"request": "exists", "room": room})
                await janus.request({"janus": "destroy", "session_id": session})
        except JanusError:
            return False
        if not exists.get("exists"):
            raise SfuError(
                f"Janus started without the show's room {room}; see {self._janus.log_path}."
            )
        self.janus_version = str(info.get("version_string", ""))
        return True

    async def _whip_ready(self) -> bool:
        """The WHIP server answers (it listens once it has Janus), with the endpoint made."""
        base = f"http://127.0.0.1:{self.settings.whip_port}/whip"
        try:
            health = await request("GET", f"{base}/healthcheck", timeout=2)
            if health.status != 200:
                return False
            body = json.dumps(whip_endpoint(self.settings)).encode()
            created = await request(
                "POST",
                whip_create_url(self.settings),
                {"Content-Type": "application/json"},
                body,
                timeout=2,
            )
        except (OSError, TimeoutError, HttpError):
            return False
        if created.status != 200 and b"already exists" not in created.body:
            raise SfuError(
                f"simple-whip-server refused the show's endpoint ({created.status}: "
                f"{created.body.decode('utf-8', 'replace').strip()})."
            )
        return True


def _write_private(path: Path, text: str) -> None:
    """A configuration file with secrets in it: readable by this user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _tail(path: Path) -> str:
    try:
        lines = path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-QUOTE_LINES:]) or "(empty)"


def ports(text: str) -> tuple[int, int]:
    """An argument LOW-HIGH as a port range (the SFU's and its service's --rtp-ports)."""
    low, _, high = text.partition("-")
    try:
        return int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW-HIGH, e.g. 20000-40000") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m console.sfu",
        description="Run a big show's SFU on this server: Janus, and simple-whip-server for "
        "the console to publish to (install both with tools/sfu/setup.sh).",
    )
    parser.add_argument(
        "--ice-hosts",
        required=True,
        metavar="ADDR",
        help="the address viewers and the console reach this server at; Janus offers its "
        "media there only",
    )
    parser.add_argument(
        "--public-address",
        default="",
        metavar="ADDR",
        help="behind a 1:1 NAT (a cloud VM), the public address to put in Janus's candidates",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the hub's data folder; the SFU's files go in its 'sfu' folder (default "
        f"{default_data_dir()})",
    )
    parser.add_argument(
        "--rtp-ports",
        type=ports,
        default=DEFAULT_RTP_PORTS,
        metavar="LOW-HIGH",
        help="UDP ports for media, one per viewer (default {}-{}); open them in the "
        "firewall".format(*DEFAULT_RTP_PORTS),
    )
    parser.add_argument("--whip-port", type=int, default=DEFAULT_WHIP_PORT)
    parser.add_argument("--janus-port", type=int, default=DEFAULT_JANUS_PORT)
    parser.add_argument("--janus-admin-port", type=int, default=DEFAULT_JANUS_ADMIN_PORT)
    parser.add_argument(
        "--whip-server",
        type=Path,
        default=Path(os.environ.get(WHIP_SERVER_ENV, DEFAULT_WHIP_SERVER)),
        metavar="DIR",
        help=f"where tools/sfu/setup.sh put simple-whip-server (default {DEFAULT_WHIP_SERVER})",
    )
    parser.add_argument(
        "--print-token",
        action="store_true",
        help="print the WHIP token (otherwise the terminal says which file holds it)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Start the SFU, say where it is, and keep it running until SIGINT or SIGTERM."""
    folder = (args.data_dir or default_data_dir()) / "sfu"
    host = args.ice_hosts.split(",")[0].strip()
    settings = SfuSettings(
        media_address=host,
        secrets=load_secrets(folder),
        public_address=args.public_address,
        rtp_ports=args.rtp_ports,
        whip_port=args.whip_port,
        janus_port=args.janus_port,
        janus_admin_port=args.janus_admin_port,
    )
    sfu = Sfu(settings, folder, args.whip_server)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await sfu.start()
    except BaseException:
        await sfu.stop()
        raise
    low, high = settings.rtp_ports
    print(
        f"SFU: Janus {sfu.janus_version}, room {settings.room} (H.264 and VP8 + Opus); media on "
        f"{settings.public_address or host}, UDP {low}-{high}",
        flush=True,
    )
    print(f"WHIP endpoint: {publish_url(settings)}", flush=True)
    token = settings.secrets.whip_token if args.print_token else f"in {folder / 'secrets.json'}"
    print(f"WHIP token: {token}", flush=True)
    print(f"Janus API: {janus_api_url(settings)} (this machine only)", flush=True)
    await sfu.run(stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        return asyncio.run(serve(args))
    except ShopcastError as exc:
        print(f"shopcast sfu: {exc}", file=sys.stderr)
        return 2
