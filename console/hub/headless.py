"""``python -m console hub``: the hub alone, for a server without a display.

Imports no Qt, so it runs where no display libraries are installed.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from console.bus.redis import RedisBus
from console.gc_tuning import tune_collector
from console.hub.auth import host_token_line
from console.hub.server import Hub, seed_demo_catalogue
from console.hub.sfu import SfuBroker, SfuOptions
from console.protocol import WhipTarget
from console.redact import masked_url
from console.settings import Settings
from console.store import Store

log = logging.getLogger(__name__)


async def serve_headless(
    settings: Settings,
    sfu: SfuOptions | None = None,
    whip: WhipTarget | None = None,
    redis: str | None = None,
    reservation_seconds: float | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM, then close connections and the store; return 0.

    With ``sfu``, viewers watch through that Janus, and the show is live while its
    room has a publisher (the console publishing by WHIP); ``whip`` is where: host
    consoles joined by ``--connect`` receive it in their welcome. With ``redis`` (a
    ``redis://`` URL) the room's events, notices and viewer count go through that Redis,
    shared with every hub that joins it (``console.bus.redis``). ``reservation_seconds``
    is how long a buyer's units are held while paying (default: the checkout rule's)."""
    store = Store.open(settings.data_dir, database=settings.database or None)
    try:
        seed_demo_catalogue(store)
        hub = Hub(
            store,
            allowed_origins=settings.allowed_origins,
            trusted_proxies=settings.trusted_proxies,
            sfu=(
                None
                if sfu is None
                else lambda on_live: SfuBroker(sfu.url, sfu.secret, sfu.room, on_live)
            ),
            bus=RedisBus(redis) if redis else None,
        )
        hub.room.whip = whip
        if reservation_seconds is not None:
            hub.room.shop.reservation_seconds = reservation_seconds
        token = hub.host_token()
        # Before the lines that say the hub is up: a SIGTERM right after them (a test, a
        # supervisor) stops it cleanly instead of killing it mid-start.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hub.start(settings.bind, settings.port)
        tune_collector()
        print(f"Viewer page: {hub.viewer_url}", flush=True)
        line = host_token_line(token, settings.data_dir, shown=settings.print_token, window=False)
        print(line, flush=True)
        print(f"Data: {store.location}", flush=True)
        if sfu is not None:
            print(f"Video: through Janus at {sfu.url}, room {sfu.room}", flush=True)
        if whip is not None:
            print(f"Host consoles publish to: {whip.url}", flush=True)
        if redis:
            print(f"Bus: Redis at {masked_url(redis)}", flush=True)
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await hub.stop()
    finally:
        store.close()
    return 0
