"""Who is on the other end, and how many new viewer ids one network may make.

A viewer id costs nothing: the page invents it, and a script can invent one for every
message. Rules counted per id alone (slow mode, the repeat and flood rules) are then
walked around by rotating ids; a script from one address once published 1,500-2,600
comments/s that way and made 17,800 ids in 25 s. So the chat policy
(:mod:`console.domain.moderation`) also counts per address, and the hub admits only so
many new viewer ids per address a minute (:class:`NewIdGate`).

The address is the socket's peer or, behind a reverse proxy the host names as trusted,
the client that proxy forwards for (:func:`client_address`). An IPv6 client counts by
its /64, the block one home or phone line gets, since it may use any address inside it.
A spammer with many addresses is out of reach of all this (``docs/moderation.md``).

Everything here is pure: time comes in as ``now``.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from typing import Final

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: New viewer ids one address may bring in any minute. A home, an office or a phone
#: network's shared address rarely has more first-time viewers joining one show in the
#: same minute; a script rotating ids stops here. A viewer the store knows never counts.
NEW_IDS_PER_MINUTE: Final = 60
NEW_ID_WINDOW: Final = 60.0
#: Addresses remembered at once; past this the least recently active is forgotten first.
MAX_TRACKED_ADDRESSES: Final = 100_000
#: The prefix that stands for one IPv6 client (RFC 6177: a /64 is one end site's network).
IPV6_CLIENT_PREFIX: Final = 64


class LimitRuleError(ValueError):
    """A limit setting cannot be used; the message says what to give instead."""


def parse_trusted_proxy(text: str) -> IPNetwork:
    """A proxy the hub may believe about the client's address: one address or a network."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise LimitRuleError(
            f"--trusted-proxy {text!r} is not an IP address or network; give the address "
            "the hub sees the proxy connect from, e.g. 127.0.0.1 or 10.0.0.0/8."
        ) from None


def _ip(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _key(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))


def address_key(address: str) -> str:
    """The name one client is counted under: an IPv4 address, an IPv6 /64, or the text
    as given when it is no IP address (then it is still one client)."""
    ip = _ip(address)
    return address if ip is None else _key(ip)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address key: the socket's ``peer``, unless the peer is a trusted proxy.

    Then ``X-Forwarded-For`` (every header line of it) is read from the right: each proxy
    appends the address it saw, so the hops are believed only while they are trusted
    proxies; the first untrusted one is the client. Whatever stands left of it, the
    client may have typed, so a forged header from outside changes nothing; and without
    a trusted proxy the header is never read.
    """
    current = _ip(peer)
    if current is None:
        return peer
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    while any(current in network for network in trusted) and hops:
        hop = _ip(hops.pop())
        if hop is None:
            break  # garbage a proxy passed on: the client is beyond what can be believed
        current = hop
    return _key(current)


def sent_through_proxy(
    peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]
) -> bool:
    """A peer that is not trusted sent ``X-Forwarded-For``: most likely the host's own
    proxy, not configured, which makes every viewer look like one address."""
    ip = _ip(peer)
    return any(line.strip() for line in forwarded_for) and (
        ip is None or not any(ip in network for network in trusted)
    )


class NewIdGate:
    """At most ``per_minute`` new viewer ids from one address in any ``window`` seconds.

    An id admitted for an address within the window passes again (a reload is not a new
    viewer). The hub asks only about ids its store does not know, so a returning viewer
    never counts.
    """

    def __init__(
        self,
        per_minute: int = NEW_IDS_PER_MINUTE,
        window: float = NEW_ID_WINDOW,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        if per_minute < 1 or not 0 < window <= 86_400 or max_addresses < 1:
            raise LimitRuleError(
                "New viewer ids per address: the limit must be at least 1 and the "
                "window more than 0 seconds and at most a day."
            )
        self.per_minute = per_minute
        self.window = window
        self._max_addresses = max_addresses
        #: Address -> (when, viewer id) of the ids it brought, oldest first; addresses in
        #: the order they last brought one.
        self._admitted: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()

    def admit(self, address: str, viewer_id: str, now: float) -> float:
        """0 when ``viewer_id`` may join from ``address`` now, else the seconds to wait."""
        self._prune(now)
        admitted = self._admitted.get(address)
        if admitted is not None:
            while admitted and now - admitted[0][0] >= self.window:
                admitted.popleft()
            if any(seen == viewer_id for _, seen in admitted):
                return 0.0
            if len(admitted) >= self.per_minute:
                return admitted[0][0] + self.window - now
        else:
            admitted = self._admitted[address] = deque()
            if len(self._admitted) > self._max_addresses:
                self._admitted.popitem(last=False)
        admitted.append((now, viewer_id))
        self._admitted.move_to_end(address)
        return 0.0

    def tracked_addresses(self) -> int:
        """How many addresses the gate remembers; for tests."""
        return len(self._admitted)

    def _prune(self, now: float) -> None:
        """Forget addresses whose newest id is older than the window; they are kept in
        the order they last brought one, so this stops at the first one still needed."""
        while self._admitted:
            address, admitted = next(iter(self._admitted.items()))
            if admitted and now - admitted[-1][0] < self.window:
                break
            del self._admitted[address]
