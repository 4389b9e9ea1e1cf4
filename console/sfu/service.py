"""``python -m console.sfu service``: write the systemd units of a big show's server.

The units (``console.sfu.config.systemd_units``) run ``python -m console.sfu`` and the
headless hub watching through it, with this checkout and this interpreter, so that a
server keeps the show's SFU and hub running across reboots and crashes.
``tools/sfu/show.sh --install`` calls this, then reloads and starts them; without
``--install`` it runs the same two commands itself (``--print-commands``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from console.errors import ShopcastError
from console.settings import DEFAULT_PORT
from console.sfu.config import (
    DEFAULT_JANUS_PORT,
    DEFAULT_LISTEN,
    DEFAULT_RTP_PORTS,
    DEFAULT_WHIP_PORT,
    SERVICE_DATA_DIR,
    ShowService,
    nginx_site,
    show_commands,
    systemd_units,
)
from console.sfu.run import DEFAULT_WHIP_SERVER, WHIP_SERVER_ENV, ports

PROJECT = Path(__file__).resolve().parents[2]
SYSTEMD_FOLDER = Path("/etc/systemd/system")


class ServiceError(ShopcastError):
    """The unit files cannot be written where asked."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m console.sfu service",
        description="Write the systemd units that run a big show on this server: the SFU "
        "(Janus and simple-whip-server) and the hub, its viewers watching through Janus.",
    )
    parser.add_argument("--ice-hosts", required=True, metavar="ADDR", help="as console.sfu")
    parser.add_argument("--public-address", default="", metavar="ADDR", help="as console.sfu")
    parser.add_argument(
        "--data-dir",
        default=SERVICE_DATA_DIR,
        help=f"the hub's and the SFU's data folder (default {SERVICE_DATA_DIR})",
    )
    parser.add_argument("--rtp-ports", type=ports, default=DEFAULT_RTP_PORTS, metavar="LOW-HIGH")
    parser.add_argument("--janus-port", type=int, default=DEFAULT_JANUS_PORT)
    parser.add_argument("--whip-port", type=int, default=DEFAULT_WHIP_PORT)
    parser.add_argument(
        "--whip-server",
        default=os.environ.get(WHIP_SERVER_ENV, str(DEFAULT_WHIP_SERVER)),
        metavar="DIR",
    )
    parser.add_argument(
        "--bind",
        default=None,
        help="the hub's address (default 0.0.0.0; with --nginx 127.0.0.1, behind it)",
    )
    parser.add_argument(
        "--nginx",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write nginx's site here (e.g. /etc/nginx/sites-available/shopcast): the "
        "hub's page and /ws, and only the WHIP paths the console publishes by",
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"nginx's address with --nginx (default {DEFAULT_LISTEN})",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the hub's port")
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy in front of the hub (as 'python -m console hub'); repeat",
    )
    parser.add_argument("--user", default="", help="the account both run as (default root)")
    parser.add_argument(
        "--into",
        type=Path,
        default=SYSTEMD_FOLDER,
        metavar="DIR",
        help=f"where the unit files go (default {SYSTEMD_FOLDER})",
    )
    parser.add_argument(
        "--print-commands",
        action="store_true",
        help="print the SFU's and the hub's command lines (shell words) instead",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    service = ShowService(
        python=sys.executable,
        project=str(PROJECT),
        media_address=args.ice_hosts.split(",")[0].strip(),
        whip_server=args.whip_server,
        public_address=args.public_address,
        data_dir=str(Path(args.data_dir).resolve()),
        rtp_ports=args.rtp_ports,
        janus_port=args.janus_port,
        whip_port=args.whip_port,
        # Behind nginx the hub listens on this machine only, and believes nginx alone.
        bind=args.bind or ("127.0.0.1" if args.nginx else "0.0.0.0"),
        port=args.port,
        trusted_proxies=tuple(args.trusted_proxy or (["127.0.0.1"] if args.nginx else [])),
        user=args.user,
    )
    if args.print_commands:
        for command in show_commands(service):
            print(shlex.join(command))
        return 0
    try:
        written = {args.into / name: text for name, text in systemd_units(service).items()}
        if args.nginx is not None:
            written[args.nginx] = nginx_site(service, args.listen)
        for path, text in written.items():
            try:
                path.write_text(text)
            except OSError as exc:
                raise ServiceError(
                    f"Cannot write {path} ({exc.strerror}); run as root, or give --into DIR."
                ) from None
            print(f"wrote {path}", flush=True)
    except ShopcastError as exc:
        print(f"shopcast sfu service: {exc}", file=sys.stderr)
        return 2
    return 0
