"""Command line: ``python -m console`` (the console window) and ``python -m console hub``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from console.ctl import add_parser as add_ctl_parser
from console.ctl import run_ctl
from console.desktop import check_desktop
from console.domain.checkout import RESERVATION_SECONDS
from console.domain.limits import LimitRuleError, parse_trusted_proxy
from console.errors import ShopcastError
from console.hub.auth import host_token
from console.hub.sfu import SfuOptions
from console.protocol import WhipTarget
from console.settings import DEFAULT_BIND, DEFAULT_PORT, Settings, default_data_dir
from console.sfu.config import DEFAULT_ROOM
from console.sfu.run import read_api_secret, read_whip_token
from console.store import Store


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for the viewer page and /ws (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        help=f"address to listen on (default {DEFAULT_BIND}; 0.0.0.0 for the LAN)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"folder for the SQLite store (default {default_data_dir()})",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another site whose pages may open /ws, e.g. https://shop.example.com (the "
        "hub's own page always may); repeat for several",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        type=_trusted_proxy,
        metavar="ADDR",
        help="a reverse proxy in front of the hub (an address or network, e.g. 127.0.0.1 "
        "for nginx on this machine): its X-Forwarded-For names the viewer whose address "
        "the chat's limits count; never believed from anyone else; repeat for several",
    )
    parser.add_argument(
        "--print-token",
        action="store_true",
        help="print the host token at start (otherwise: File → Staff access, or "
        "'python -m console token')",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def _trusted_proxy(text: str) -> str:
    try:
        parse_trusted_proxy(text)
    except LimitRuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopcast", description="Shopcast live-commerce console and hub."
    )
    _common(parser)
    parser.add_argument(
        "--source",
        default=None,
        metavar="SPEC",
        help="video source: test | camera | camera:DEVICE | screen | screen:DISPLAY | "
        "file:PATH (default: the one chosen in Stream settings, else a camera if one "
        "exists, else the test pattern)",
    )
    parser.add_argument(
        "--audio",
        default=None,
        metavar="SPEC",
        help="audio source: tone | none | mic | mic:DEVICE | file:PATH (default: the one "
        "chosen in Stream settings, else the default microphone if one exists, else tone)",
    )
    parser.add_argument("--live", action="store_true", help="go live as soon as the console starts")
    parser.add_argument(
        "--connect",
        default="",
        metavar="WS_URL",
        help="join another console's hub as staff (ws://HOST:PORT/ws, from the host's "
        "invitation) instead of running a hub and a stream here",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("SHOPCAST_TOKEN", ""),
        help="the staff token from the invitation, for --connect (SHOPCAST_TOKEN sets it too)",
    )
    parser.add_argument(
        "--preset",
        default=None,
        choices=("360p", "540p", "720p", "1080p"),
        help="stream resolution at 30 fps (default: the one chosen in Stream settings, "
        "else 720p; 1080p needs a fast machine)",
    )
    parser.add_argument(
        "--ice-hosts",
        default="",
        metavar="ADDRS",
        help="comma-separated addresses offered for WebRTC media (default: every interface; "
        "SHOPCAST_ICE_HOSTS sets it too)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="PATH",
        help="record the show whenever it goes live: a .mkv or .mp4 file, or a folder for "
        "dated files (an existing file is never overwritten)",
    )
    parser.add_argument(
        "--whip",
        type=_whip_url,
        default=None,
        metavar="URL",
        help="also publish the show to this WHIP endpoint (RFC 9725) when it goes live",
    )
    parser.add_argument(
        "--whip-token",
        default=os.environ.get("SHOPCAST_WHIP_TOKEN", ""),
        metavar="TOKEN",
        help="bearer token for --whip (SHOPCAST_WHIP_TOKEN sets it too, out of sight of ps)",
    )
    parser.add_argument(
        "--whip-vp8",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also publish the show in VP8, as a second video stream, for the viewers of an "
        "SFU (Janus) whose browser has no H.264 (Debian's Firefox ESR); it costs a second "
        "encoder (default: as chosen in Stream settings, on unless turned off)",
    )
    sub = parser.add_subparsers(dest="command", metavar="{hub,ctl,token,report}")
    hub = sub.add_parser("hub", help="run the hub headless (no window, no Qt)")
    _common(hub)
    _database(
        hub,
        "keep the room in this PostgreSQL database (postgresql://user@host/db) that "
        "several hubs can share, instead of the SQLite file in --data-dir",
    )
    hub.add_argument(
        "--sfu",
        default="",
        metavar="URL",
        help="viewers watch through this Janus (its WebSocket API, e.g. ws://127.0.0.1:8188, "
        "as 'python -m console.sfu' prints it); the show is live while the console "
        "publishes to it by WHIP",
    )
    hub.add_argument(
        "--sfu-secret",
        default=os.environ.get("SHOPCAST_SFU_SECRET", ""),
        metavar="SECRET",
        help="Janus's API secret (default: the one 'python -m console.sfu' keeps in the "
        "data folder; SHOPCAST_SFU_SECRET sets it too)",
    )
    hub.add_argument(
        "--sfu-whip",
        type=_whip_url,
        default=None,
        metavar="URL",
        help="the WHIP endpoint the host's console publishes to (as 'python -m console.sfu' "
        "prints it); the hub hands it, with its token, to host consoles joined by --connect",
    )
    hub.add_argument(
        "--sfu-whip-token",
        default=os.environ.get("SHOPCAST_SFU_WHIP_TOKEN", ""),
        metavar="TOKEN",
        help="--sfu-whip's bearer token (default: the one 'python -m console.sfu' keeps in "
        "the data folder; SHOPCAST_SFU_WHIP_TOKEN sets it too)",
    )
    hub.add_argument(
        "--sfu-room",
        type=int,
        default=DEFAULT_ROOM,
        metavar="ROOM",
        help=f"the show's VideoRoom (default {DEFAULT_ROOM})",
    )
    hub.add_argument(
        "--redis",
        default="",
        metavar="URL",
        help="share the room with the other hubs on this Redis (redis://HOST:PORT/DB): "
        "every hub fans out the room's events from it and sums the viewer count; hubs "
        "that share a room share one store",
    )
    hub.add_argument(
        "--reservation-seconds",
        type=_reservation_seconds,
        default=None,
        metavar="SECONDS",
        help=f"how long a buyer's units are held while the payment runs; past it any hub "
        f"puts them back on sale (default {RESERVATION_SECONDS:.0f})",
    )
    token = sub.add_parser(
        "token",
        help="print the data folder's host token (made if there is none yet); replace it "
        "in File → Staff access or with 'ctl replace-host-token'",
    )
    token.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the hub's data folder (default {default_data_dir()})",
    )
    add_ctl_parser(sub)
    report = sub.add_parser(
        "report",
        help="write a past show's report (HTML, PNG charts, CSV exports) from the data folder "
        "or a cluster's --database and print the files; reads read-only, so the hubs may "
        "be running",
    )
    report.add_argument(
        "show", nargs="?", type=int, default=None, help="the show's number (default: the latest)"
    )
    report.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the hub's data folder (default {default_data_dir()}; not read with --database)",
    )
    _database(
        report,
        "read the show from this PostgreSQL database (postgresql://user@host/db), the one "
        "the show's hubs were started with, instead of the SQLite file in --data-dir",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the files (default: reports/show-N in the data folder; with "
        "--database, reports/show-N in the current folder)",
    )
    return parser


def _database(parser: argparse.ArgumentParser, use: str) -> None:
    """``--database``: one option, one meaning (and one variable) for the hub and the report."""
    parser.add_argument(
        "--database",
        default=os.environ.get("SHOPCAST_DATABASE", ""),
        metavar="URL",
        help=f"{use} (SHOPCAST_DATABASE sets it too, out of sight of ps)",
    )


def _whip_url(value: str) -> str:
    """An http(s) address; empty is none (argparse checks a string default too)."""
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http:// or https:// address")
    return value


def _reservation_seconds(value: str) -> float:
    """Seconds above zero: a hold of none would release every buyer's units mid-payment."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return seconds


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        port=args.port,
        bind=args.bind,
        data_dir=args.data_dir or default_data_dir(),
        source=getattr(args, "source", None),
        audio=getattr(args, "audio", None),
        live=getattr(args, "live", False),
        preset=getattr(args, "preset", None),
        ice_hosts=tuple(h for h in getattr(args, "ice_hosts", "").split(",") if h),
        record=getattr(args, "record", None),
        whip_url=getattr(args, "whip", None) or "",
        whip_token=getattr(args, "whip_token", ""),
        whip_vp8=getattr(args, "whip_vp8", None),
        connect=getattr(args, "connect", ""),
        allowed_origins=tuple(args.allow_origin),
        trusted_proxies=tuple(args.trusted_proxy),
        token=getattr(args, "token", ""),
        print_token=args.print_token,
        database=getattr(args, "database", ""),
    )


def _sfu_options(args: argparse.Namespace, data_dir: Path) -> SfuOptions | None:
    """``--sfu``'s Janus, with the secret given or the one console.sfu keeps."""
    if not args.sfu:
        return None
    secret = args.sfu_secret or read_api_secret(data_dir / "sfu")
    return SfuOptions(args.sfu, secret, args.sfu_room)


def _whip_target(args: argparse.Namespace, data_dir: Path) -> WhipTarget | None:
    """``--sfu-whip``'s endpoint for the host's console, with the token console.sfu keeps."""
    if not args.sfu_whip:
        return None
    return WhipTarget(args.sfu_whip, args.sfu_whip_token or read_whip_token(data_dir / "sfu"))


def _print_host_token(data_dir: Path) -> int:
    """The same token a console or hub on ``data_dir`` uses (its file, checked against
    the store), so a headless hub's operator can read it without a window."""
    try:
        store = Store.open(data_dir)
        try:
            print(host_token(store, time.time()))
        finally:
            store.close()
    except ShopcastError as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return 2
    return 0


def _write_report(data_dir: Path, show: int | None, out: Path | None, database: str) -> int:
    """Imported here, so matplotlib costs nothing for the other commands."""
    from console.report import write_report

    try:
        files = write_report(data_dir, show, out, database or None)
    except ShopcastError as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return 2
    for path in files:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Two lines per connection (open, close) would flood the log at a show's peak.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    if args.command == "ctl":
        return run_ctl(args)
    if args.command == "token":
        return _print_host_token(args.data_dir or default_data_dir())
    if args.command == "report":
        return _write_report(
            args.data_dir or default_data_dir(), args.show, args.out, args.database
        )
    settings = _settings(args)
    if settings.connect and not settings.token:
        print("shopcast: --connect needs --token (the one in your invitation).", file=sys.stderr)
        return 2
    try:
        if args.command == "hub":
            from console.hub.headless import serve_headless

            sfu = _sfu_options(args, settings.data_dir)
            whip = _whip_target(args, settings.data_dir) if sfu is not None else None
            return asyncio.run(
                serve_headless(settings, sfu, whip, args.redis or None, args.reservation_seconds)
            )
        # Before Qt is imported: a missing system library would abort the process in Qt.
        check_desktop()
        from console.app import run_console

        return run_console(settings)
    except ShopcastError as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return 2
