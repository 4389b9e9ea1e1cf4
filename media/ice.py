"""Which local addresses WebRTC offers as ICE host candidates: the one place that decides.

aioice gathers a candidate on every interface except loopback. On a LAN that is right;
in tests and benchmarks media must stay on 127.0.0.1, so ``SHOPCAST_ICE_HOSTS`` (or
``--ice-hosts``) replaces the list. No STUN or TURN server is ever contacted unless one
is configured or a WHIP server hands one out (aiortc would otherwise ask Google's public
STUN server).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcicetransport import parse_stun_turn_uri

log = logging.getLogger(__name__)

ENV_HOSTS = "SHOPCAST_ICE_HOSTS"

_default_get_host_addresses = aioice.ice.get_host_addresses


def configure_ice_hosts(hosts: Sequence[str] | None = None) -> list[str] | None:
    """Restrict host candidates to ``hosts`` (default: from ``SHOPCAST_ICE_HOSTS``).

    Returns the list in force, or None when every interface is offered.
    """
    if hosts is None:
        raw = os.environ.get(ENV_HOSTS, "")
        hosts = [h.strip() for h in raw.split(",") if h.strip()]
    chosen = list(hosts)
    if not chosen:
        aioice.ice.get_host_addresses = _default_get_host_addresses
        return None

    def only_configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in chosen if (":" in h and use_ipv6) or (":" not in h and use_ipv4)]

    aioice.ice.get_host_addresses = only_configured
    return chosen


def rtc_configuration(
    ice_servers: Sequence[str] = (), offered: Sequence[RTCIceServer] = ()
) -> RTCConfiguration:
    """A configuration with exactly the STUN/TURN servers given: none by default.

    ``offered`` are servers a WHIP server handed out. The configured ones come first, so
    they win: aiortc uses the first STUN and the first TURN server of the list, and RFC
    9725 lets a client's own servers override the endpoint's.
    """
    configured = [RTCIceServer(urls=url) for url in ice_servers]
    return RTCConfiguration(iceServers=[*configured, *offered])


def ice_servers_from_links(links: Iterable[tuple[str, Mapping[str, str]]]) -> list[RTCIceServer]:
    """The STUN and TURN servers in a WHIP server's ``Link`` headers (RFC 9725 §4.4).

    Each is ``<stun:host:port>; rel="ice-server"``, a TURN server with ``username``,
    ``credential`` and ``credential-type`` (by default "password"). An address aiortc
    cannot use is left out and named in the log (never its credential).
    """
    servers = []
    for target, params in links:
        if "ice-server" not in params.get("rel", "").lower().split():
            continue
        try:
            parse_stun_turn_uri(target)
        except ValueError:
            log.warning("the WHIP server offered an ICE server Shopcast cannot use: %r", target)
            continue
        servers.append(
            RTCIceServer(
                urls=target,
                username=params.get("username"),
                credential=params.get("credential"),
                credentialType=params.get("credential-type", "password"),
            )
        )
    return servers
