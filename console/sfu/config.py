"""The configuration of a big show's SFU, generated: Janus and simple-whip-server.

A big show's viewers receive from Janus's VideoRoom instead of from the host's machine;
the console publishes once, by WHIP, to meetecho's simple-whip-server, which joins the
room as the publisher. Both are configured here from the show's settings, as text, so
that what a server runs is reproducible and checked by tests without either program.
Writing the files and starting the programs is ``console.sfu.run``'s.

What the settings encode was measured with Debian 12's Janus 1.1.2 (SFU-FACTS.md):

- The room forwards the publisher's codecs only, and Shopcast sends H.264 and Opus, plus
  a VP8 rendition as a second video stream (for viewers whose browser has no H.264):
  the room is created with exactly those, H.264 first, so each of the publisher's video
  streams keeps the one codec it offers (Janus picks, per stream, the room's first codec
  that stream offers; its default room is VP8 alone).
- Janus offers ICE candidates on every interface unless told one: ``ice_enforce_list``
  names the one address viewers and the console reach it at, and no STUN is used (a
  server has its address; behind a cloud's 1:1 NAT, ``public_address`` is put in the
  candidates instead).
- Janus's API (WebSocket, and the admin API) listens on this machine only and wants a
  secret: only the hub and simple-whip-server speak to it; viewers and the console see
  the media ports and the WHIP endpoint, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from console.cluster.nginx import Edge, server_block
from console.errors import ShopcastError
from console.settings import DEFAULT_PORT

#: Janus's plugin, transport and logger files that a show uses; every other one found in
#: Janus's folders is disabled, so no demo room, SIP or HTTP API listens on the server.
VIDEOROOM = "libjanus_videoroom.so"
WEBSOCKETS = "libjanus_websockets.so"

#: Enough UDP ports for a big show: with BUNDLE and rtcp-mux each viewer takes one.
DEFAULT_RTP_PORTS = (20000, 40000)
#: Away from the ports of Debian's own janus and simple-whip-server services (8188,
#: 7188, 7080), which may run on the same machine with the system's configuration.
DEFAULT_JANUS_PORT = 8288
DEFAULT_JANUS_ADMIN_PORT = 7288
DEFAULT_WHIP_PORT = 7090
DEFAULT_ROOM = 4321
DEFAULT_ENDPOINT = "show"
#: Janus's threads for handles' media: by default it starts one per handle (a viewer),
#: each waking for every packet; a fixed pool forwards to many viewers with fewer
#: thread switches (Janus's ``event_loops``).
EVENT_LOOPS = 2
#: simple-whip-server's base path (its ``rest`` setting).
WHIP_BASE = "/whip"
#: A publisher whose WHIP session is replaced stays in the room until Janus notices it
#: left; room for a second one keeps the replacement from being refused meanwhile.
ROOM_PUBLISHERS = 2


@dataclass(frozen=True, slots=True)
class SfuSecrets:
    """What only the hub and this server may know; made once and kept (``console.sfu.run``)."""

    #: Every Janus API request carries it (simple-whip-server's, the hub's).
    api_secret: str
    #: Janus's admin API (sessions, handles, their ICE and DTLS state).
    admin_secret: str
    #: The VideoRoom's room ``secret`` (editing, destroying) and its ``admin_key``
    #: (creating rooms), so that nobody with API access alone reshapes the show's room.
    room_secret: str
    #: The bearer token the console publishes with (``--whip-token``).
    whip_token: str


@dataclass(frozen=True, slots=True)
class SfuSettings:
    """Where a show's SFU listens and what its room takes."""

    #: The address viewers and the console reach this server's media at; the only one
    #: Janus gathers ICE candidates on. The WHIP endpoint is offered there too.
    media_address: str
    secrets: SfuSecrets
    #: Put in the candidates instead of ``media_address`` behind a 1:1 NAT (a cloud VM
    #: whose interface holds a private address); empty: none.
    public_address: str = ""
    rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS
    #: Janus's WebSocket API and admin API, on ``api_address`` only.
    api_address: str = "127.0.0.1"
    janus_port: int = DEFAULT_JANUS_PORT
    janus_admin_port: int = DEFAULT_JANUS_ADMIN_PORT
    #: simple-whip-server listens on every interface (it has no bind setting).
    whip_port: int = DEFAULT_WHIP_PORT
    room: int = DEFAULT_ROOM
    endpoint: str = DEFAULT_ENDPOINT
    #: Janus's media threads (``EVENT_LOOPS``); 0: one per handle, Janus's default.
    event_loops: int = EVENT_LOOPS
    title: str = "Shopcast show"


@dataclass(frozen=True, slots=True)
class JanusInstall:
    """Where Debian put Janus's modules, and which files are there (read by the starter)."""

    #: ``/usr/lib/<arch>/janus``: holds ``plugins``, ``transports``, ``events``, ``loggers``.
    modules_folder: str
    plugins: tuple[str, ...]
    transports: tuple[str, ...]
    loggers: tuple[str, ...] = ()


class SfuConfigError(ShopcastError):
    """A setting cannot make a working SFU; the message names it and what to give."""


def check(settings: SfuSettings) -> None:
    """Refuse settings Janus would start with and then fail on, in words to act on."""
    low, high = settings.rtp_ports
    if not 1024 <= low < high <= 65535:
        raise SfuConfigError(
            f"The RTP port range {low}-{high} is not a range of unprivileged ports; "
            "give LOW-HIGH with 1024 <= LOW < HIGH <= 65535."
        )
    ports = [settings.janus_port, settings.janus_admin_port, settings.whip_port]
    if len(set(ports)) != len(ports):
        raise SfuConfigError(
            f"Janus's API, its admin API and the WHIP server need three different ports, "
            f"not {', '.join(map(str, ports))}."
        )
    if not settings.media_address:
        raise SfuConfigError(
            "Janus needs the address viewers reach this server at (--ice-hosts ADDR)."
        )
    if not all(_secret_values(settings.secrets)):
        raise SfuConfigError("Every SFU secret must be set (they are made on first start).")


def janus_files(settings: SfuSettings, install: JanusInstall, folder: str) -> dict[str, str]:
    """Janus's configuration files for ``folder`` (name -> text): ``janus -C`` reads the
    first, and finds the others in ``configs_folder``."""
    check(settings)
    return {
        "janus.jcfg": _janus(settings, install, folder),
        "janus.transport.websockets.jcfg": _websockets(settings),
        "janus.plugin.videoroom.jcfg": _videoroom(settings),
    }


def whip_server_config(settings: SfuSettings) -> str:
    """simple-whip-server's ``src/config.js``: Janus's WebSocket API, with its secret."""
    check(settings)
    config = {
        "janus": {
            "address": f"ws://{_host(settings.api_address)}:{settings.janus_port}",
            "apiSecret": settings.secrets.api_secret,
        },
        "port": settings.whip_port,
        "rest": WHIP_BASE,
        # The console sends a complete offer (no trickle), as RFC 9725 allows.
        "allowTrickle": False,
        "strictETags": False,
        "iceServers": [],
    }
    return f"module.exports = {json.dumps(config, indent=2)};\n"


def whip_endpoint(settings: SfuSettings) -> dict[str, object]:
    """The body of simple-whip-server's ``POST /whip/create``, which maps the endpoint
    the console publishes to onto the show's room (it keeps endpoints in memory only)."""
    return {
        "id": settings.endpoint,
        "room": settings.room,
        "secret": settings.secrets.room_secret,
        "label": settings.title,
        "token": settings.secrets.whip_token,
    }


def whip_create_url(settings: SfuSettings) -> str:
    """Where the starter creates the endpoint: on this machine."""
    return f"http://127.0.0.1:{settings.whip_port}{WHIP_BASE}/create"


def publish_url(settings: SfuSettings) -> str:
    """The WHIP endpoint the console publishes to (``--whip``)."""
    address = settings.public_address or settings.media_address
    return _publish_url(address, settings.whip_port, settings.endpoint)


def _publish_url(address: str, whip_port: int, endpoint: str) -> str:
    return f"http://{_host(address)}:{whip_port}{WHIP_BASE}/endpoint/{endpoint}"


def janus_api_url(settings: SfuSettings) -> str:
    """Janus's WebSocket API, for the hub on this machine."""
    return f"ws://{_host(settings.api_address)}:{settings.janus_port}"


def _janus(settings: SfuSettings, install: JanusInstall, folder: str) -> str:
    base = install.modules_folder.rstrip("/")
    nat: dict[str, object] = {
        "ice_enforce_list": settings.media_address,
        "nice_debug": False,
        "full_trickle": False,
        "ice_lite": False,
    }
    if settings.public_address:
        nat["nat_1_1_mapping"] = settings.public_address
    low, high = settings.rtp_ports
    return _jcfg(
        {
            "general": {
                "configs_folder": folder,
                "plugins_folder": f"{base}/plugins",
                "transports_folder": f"{base}/transports",
                "events_folder": f"{base}/events",
                "loggers_folder": f"{base}/loggers",
                "debug_level": 4,
                "server_name": "shopcast",
                # Janus finds its own address by a route to the internet, which a server
                # on a private network (or a test's namespace) may not have.
                "interface": settings.media_address,
                "api_secret": settings.secrets.api_secret,
                "admin_secret": settings.secrets.admin_secret,
                # The show's API clients keep their sessions alive; a vanished one goes.
                "session_timeout": 60,
                "event_loops": settings.event_loops,
                "hide_dependencies": True,
            },
            "media": {"rtp_port_range": f"{low}-{high}", "ipv6": False},
            "nat": nat,
            "plugins": _disable(install.plugins, {VIDEOROOM}),
            "transports": _disable(install.transports, {WEBSOCKETS}),
            "loggers": _disable(install.loggers, set()),
            "events": {"broadcast": False},
        }
    )


def _websockets(settings: SfuSettings) -> str:
    return _jcfg(
        {
            "general": {
                "json": "plain",
                "ws": True,
                "ws_port": settings.janus_port,
                "ws_ip": settings.api_address,
                "wss": False,
            },
            "admin": {
                "admin_ws": True,
                "admin_ws_port": settings.janus_admin_port,
                "admin_ws_ip": settings.api_address,
                "admin_wss": False,
            },
        }
    )


def _videoroom(settings: SfuSettings) -> str:
    room_secret = settings.secrets.room_secret
    return _jcfg(
        {
            "general": {"admin_key": room_secret, "string_ids": False},
            f"room-{settings.room}": {
                "description": settings.title,
                "secret": room_secret,
                "is_private": True,
                "publishers": ROOM_PUBLISHERS,
                # No cap: the host's encoder sets the rate for its preset.
                "bitrate": 0,
                "videocodec": "h264,vp8",
                "audiocodec": "opus",
                "notify_joining": False,
                "record": False,
            },
        }
    )


def _disable(found: Iterable[str], kept: set[str]) -> dict[str, object]:
    """A section's ``disable`` list: every module found but the ones kept."""
    others = sorted(name for name in set(found) if name not in kept)
    return {"disable": ",".join(others)} if others else {}


def _jcfg(sections: Mapping[str, Mapping[str, object]]) -> str:
    """libconfig text, as Janus's ``.jcfg`` files are written."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"{name}: {{")
        lines.extend(f"\t{key} = {_value(value)}" for key, value in values.items())
        lines.append("}")
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(_char(c) for c in value) + '"'
    raise TypeError(f"no libconfig form for {value!r}")


def _char(char: str) -> str:
    """One character of a libconfig string: quotes, backslashes and controls escaped
    (libconfig knows ``\\xNN``, not JSON's ``\\uNNNN``); other text as it is, in UTF-8."""
    if char in '"\\':
        return "\\" + char
    return f"\\x{ord(char):02x}" if ord(char) < 0x20 else char


def _host(address: str) -> str:
    """An address as a URL's host: an IPv6 address goes in brackets."""
    return f"[{address}]" if ":" in address else address


def _secret_values(secrets: SfuSecrets) -> tuple[str, ...]:
    return (secrets.api_secret, secrets.admin_secret, secrets.room_secret, secrets.whip_token)


#: The systemd units a big show's server runs: the SFU first, the hub beside it.
SFU_UNIT = "shopcast-sfu.service"
HUB_UNIT = "shopcast-hub.service"
#: A server's data folder under systemd (its ``StateDirectory``).
SERVICE_DATA_DIR = "/var/lib/shopcast"
#: Each viewer's PeerConnection holds a socket in Janus, each page one in the hub:
#: the default limit of 1,024 open files would cap a show near a thousand viewers.
OPEN_FILES = 65536
#: A unit that stops is started again after this many seconds.
RESTART_SEC = 2


@dataclass(frozen=True, slots=True)
class ShowService:
    """How systemd runs a big show on this server: ``python -m console.sfu`` and the
    headless hub with its viewers watching through that Janus, on one data folder (the
    hub reads Janus's API secret from it)."""

    #: The interpreter that has Shopcast's dependencies (the checkout's ``.venv``).
    python: str
    #: The checkout: the units run ``-m console…`` from it.
    project: str
    media_address: str
    #: Where ``tools/sfu/setup.sh`` put simple-whip-server.
    whip_server: str
    public_address: str = ""
    data_dir: str = SERVICE_DATA_DIR
    rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS
    janus_port: int = DEFAULT_JANUS_PORT
    whip_port: int = DEFAULT_WHIP_PORT
    #: The hub's viewer page and /ws.
    bind: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    #: Reverse proxies in front of the hub (``--trusted-proxy``).
    trusted_proxies: tuple[str, ...] = ()
    #: The account both run as; empty: root.
    user: str = ""


def show_commands(service: ShowService) -> tuple[list[str], list[str]]:
    """The SFU's command and the hub's, on one data folder: the hub finds Janus's API
    secret and the WHIP token there, and hands host consoles the WHIP endpoint."""
    low, high = service.rtp_ports
    sfu = [
        service.python, "-m", "console.sfu", "--ice-hosts", service.media_address,
        "--data-dir", service.data_dir, "--rtp-ports", f"{low}-{high}",
        "--janus-port", str(service.janus_port), "--whip-port", str(service.whip_port),
        "--whip-server", service.whip_server,
    ]  # fmt: skip
    if service.public_address:
        sfu += ["--public-address", service.public_address]
    janus = f"ws://127.0.0.1:{service.janus_port}"
    whip = _publish_url(
        service.public_address or service.media_address, service.whip_port, DEFAULT_ENDPOINT
    )
    hub = [
        service.python, "-m", "console", "hub", "--sfu", janus, "--sfu-whip", whip,
        "--data-dir", service.data_dir, "--bind", service.bind, "--port", str(service.port),
    ]  # fmt: skip
    for proxy in service.trusted_proxies:
        hub += ["--trusted-proxy", proxy]
    return sfu, hub


def systemd_units(service: ShowService) -> dict[str, str]:
    """The two unit files (name -> text) for ``/etc/systemd/system``. The hub wants the
    SFU and starts after it; each is restarted on its own if it stops (the SFU already
    restarts Janus and the WHIP server inside it, and the hub finds a restarted Janus)."""
    sfu, hub = show_commands(service)
    return {
        SFU_UNIT: _unit(
            service,
            "Shopcast big show: Janus and simple-whip-server (python -m console.sfu)",
            {"After": "network-online.target", "Wants": "network-online.target"},
            sfu,
        ),
        HUB_UNIT: _unit(
            service,
            "Shopcast hub: the viewer page, its viewers watching through Janus",
            {"After": f"network-online.target {SFU_UNIT}", "Wants": SFU_UNIT},
            hub,
        ),
    }


def _unit(service: ShowService, what: str, order: Mapping[str, str], argv: list[str]) -> str:
    readme = quote(f"{service.project}/README.md").replace("%", "%%")
    unit = {"Description": what, "Documentation": f"file://{readme}", **order}
    run: dict[str, str] = {
        "Type": "simple",
        # systemd expands % in paths too.
        "WorkingDirectory": service.project.replace("%", "%%"),
        "ExecStart": " ".join(_systemd_word(word) for word in argv),
        "Restart": "on-failure",
        "RestartSec": str(RESTART_SEC),
        # SIGTERM to the main process only: console.sfu stops Janus and the WHIP server.
        "KillMode": "mixed",
        "LimitNOFILE": str(OPEN_FILES),
    }
    if service.data_dir == SERVICE_DATA_DIR:
        run["StateDirectory"] = "shopcast"
        run["StateDirectoryMode"] = "0700"
    if service.user:
        run["User"] = service.user
    sections = {"Unit": unit, "Service": run, "Install": {"WantedBy": "multi-user.target"}}
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key}={value}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def _systemd_word(word: str) -> str:
    """One word of an ``ExecStart`` line: ``%`` and ``$`` doubled (systemd expands them),
    quoted when it holds a space, a quote or a backslash."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c.isspace() or c in "\"'\\;" for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: The WHIP paths a console needs from outside: publishing (POST to the endpoint) and its
#: session (PATCH, DELETE on the resource it is given). simple-whip-server also answers
#: ``/whip/create`` and ``/whip/endpoints`` (which lists the token) to anyone, and has no
#: bind setting: nginx passes only these, and the firewall keeps its port closed.
WHIP_PUBLIC_PATHS = (f"{WHIP_BASE}/endpoint/", f"{WHIP_BASE}/resource/")
#: nginx's address on a big show's server (TLS: ``certbot --nginx`` adds it).
DEFAULT_LISTEN = "0.0.0.0:80"


def nginx_site(service: ShowService, listen: str = DEFAULT_LISTEN) -> str:
    """nginx's site in front of the server: the hub's page and ``/ws`` (as for a
    cluster's edge, ``console.cluster.nginx``; the hub on 127.0.0.1 trusting it), and of
    simple-whip-server only ``WHIP_PUBLIC_PATHS``; every other ``/whip/`` path is 404."""
    block = server_block(Edge(listen, (f"127.0.0.1:{service.port}",)))
    head, brace, tail = block.rstrip().rpartition("}")
    if not brace or tail:
        raise SfuConfigError("nginx's server block for the hub does not end its server.")
    whip = "".join(
        f"""
    location {path} {{
        proxy_pass http://127.0.0.1:{service.whip_port};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        client_max_body_size 64k;
    }}
"""
        for path in WHIP_PUBLIC_PATHS
    )
    closed = f"\n    location {WHIP_BASE}/ {{\n        return 404;\n    }}\n"
    return f"{head}{whip}{closed}}}\n"
