"""nginx in front of several hubs: the one public address of a show past one machine.

Generated, like the SFU's configuration (``console.sfu.config``), so that what a server
runs is what the tests ran. The rules it encodes:

- Every path goes to the hubs: each hub serves the viewer page and ``/ws``; a page and
  its socket may land on different hubs, since every hub serves the same room.
- ``/ws`` is a WebSocket: nginx passes the upgrade and keeps an idle socket for an hour
  (a quiet viewer sends nothing for minutes; nginx's default closes it after 60 s).
- A socket stays on the hub that took it; a hub that dies drops its sockets and the pages
  reconnect, with ``since``, through nginx to a hub that lives: ``least_conn`` sends new
  sockets to the emptiest hub and a refused connection is retried on the next one.
- nginx is the edge, so it replaces ``X-Forwarded-For`` with the address it saw instead
  of appending to what a client claims; the hubs trust it (``--trusted-proxy``) and no one
  else. ``Host`` is passed on, so the hubs' origin check sees the page's own host.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from console.errors import ShopcastError
from console.hub.server import WS_PATH

#: An idle viewer's socket is kept this long; the hubs' pings keep a live one open.
SOCKET_IDLE_TIMEOUT_S = 3600
#: A hub that does not accept a connection within this is skipped for the next one.
CONNECT_TIMEOUT_S = 2
#: After a failed connection a hub gets no new sockets for this long.
HUB_RETRY_S = 2


class ClusterConfigError(ShopcastError):
    """The cluster's settings cannot make a working nginx configuration."""


@dataclass(frozen=True, slots=True)
class Edge:
    """Where nginx listens, and the hubs (``host:port``) behind it."""

    listen: str
    hubs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.hubs:
            raise ClusterConfigError("Name at least one hub (host:port) for nginx to send to.")
        for address in (self.listen, *self.hubs):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ClusterConfigError(
                    f"{address!r} is not host:port (e.g. 127.0.0.1:9001); name each hub "
                    "and nginx's own address that way."
                )


def server_block(edge: Edge) -> str:
    """The ``upstream`` and ``server`` blocks: what a system nginx's site file holds."""
    hubs = "\n".join(
        f"    server {hub} max_fails=1 fail_timeout={HUB_RETRY_S}s;" for hub in edge.hubs
    )
    proxied = f"""        proxy_pass http://shopcast_hubs;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_connect_timeout {CONNECT_TIMEOUT_S}s;
        proxy_next_upstream error timeout;"""
    return f"""map $http_upgrade $shopcast_connection {{
    default upgrade;
    ''      close;
}}

upstream shopcast_hubs {{
    least_conn;
{hubs}
}}

server {{
    listen {edge.listen};

    location = {WS_PATH} {{
{proxied}
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $shopcast_connection;
        proxy_read_timeout {SOCKET_IDLE_TIMEOUT_S}s;
        proxy_send_timeout {SOCKET_IDLE_TIMEOUT_S}s;
    }}

    location / {{
{proxied}
    }}
}}
"""


def standalone_config(edge: Edge, folder: Path) -> str:
    """A whole nginx.conf that runs from ``folder`` (pid, logs, temporary files there), so
    that a trial cluster or a test needs neither root's nginx nor ``/etc``."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    block = "".join(f"    {line}\n" if line else "\n" for line in server_block(edge).splitlines())
    return f"""worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;

events {{
    worker_connections 16384;
}}

http {{
    access_log off;
{temp}

{block}}}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m console.cluster.nginx",
        description="Print nginx's configuration for several hubs sharing one show.",
    )
    parser.add_argument("--listen", default="0.0.0.0:80", help="nginx's address (host:port)")
    parser.add_argument("--hub", action="append", default=[], help="a hub's host:port (repeat)")
    parser.add_argument(
        "--folder",
        type=Path,
        help="print a whole nginx.conf that keeps its pid, logs and temporary files here "
        "(default: only the blocks for a site file of the system's nginx)",
    )
    args = parser.parse_args(argv)
    try:
        edge = Edge(args.listen, tuple(args.hub))
    except ClusterConfigError as exc:
        print(f"nginx: {exc}", file=sys.stderr)
        return 2
    folder = args.folder.resolve() if args.folder else None
    sys.stdout.write(standalone_config(edge, folder) if folder else server_block(edge))
    return 0


if __name__ == "__main__":
    sys.exit(main())
