"""Which local addresses WebRTC offers as ICE host candidates: the one place that decides.

aioice gathers a candidate on every interface except loopback. On a LAN that is right;
in tests and benchmarks media must stay on 127.0.0.1, so ``SHOPCAST_ICE_HOSTS`` (or
``--ice-hosts``) replaces the list. No STUN or TURN server is ever contacted unless one
is configured (aiortc would otherwise ask Google's public STUN server).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

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


def rtc_configuration(ice_servers: Sequence[str] = ()) -> RTCConfiguration:
    """A configuration with exactly the STUN/TURN servers given: none by default."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
