"""Start-up settings shared by the GUI and the headless hub."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_PORT = 8765
DEFAULT_BIND = "127.0.0.1"


def default_data_dir() -> Path:
    """The platform's per-user data folder (``SHOPCAST_DATA_DIR`` overrides it)."""
    override = os.environ.get("SHOPCAST_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("shopcast", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    port: int = DEFAULT_PORT
    bind: str = DEFAULT_BIND
    data_dir: Path = Path()
    #: ``test``, ``camera``, ``camera:DEVICE``, ``screen``, ``screen:DISPLAY``,
    #: ``file:PATH``; None: the console's Stream settings, else a camera if one exists,
    #: else the test pattern.
    source: str | None = None
    #: ``tone``, ``none``, ``mic``, ``mic:DEVICE``, ``file:PATH``; None: the Stream
    #: settings, else the default microphone if one exists, else the test tone.
    audio: str | None = None
    #: Go live as soon as the console starts (for automation).
    live: bool = False
    #: ``360p`` … ``1080p``; None: the Stream settings, else 720p.
    preset: str | None = None
    #: Addresses offered as ICE host candidates; empty means every interface
    #: (``SHOPCAST_ICE_HOSTS`` sets them too).
    ice_hosts: tuple[str, ...] = ()
    #: Record every time the show goes live, to this file or into this folder.
    record: Path | None = None
    #: Publish the show to this WHIP endpoint when live (overrides the console's setting).
    whip_url: str = ""
    whip_token: str = ""
    #: Also publish the VP8 rendition by WHIP (``--[no-]whip-vp8``); None: the Stream
    #: settings' choice, on unless turned off.
    whip_vp8: bool | None = None
    #: A remote staff console: the host's hub at this ``ws://`` address, with this token.
    connect: str = ""
    token: str = ""
    #: Print the host token at start (else the terminal says where to read it).
    print_token: bool = False
    #: Other sites whose pages may open ``/ws`` (the hub's own page always may).
    allowed_origins: tuple[str, ...] = ()
    #: Reverse proxies whose X-Forwarded-For names the client (``--trusted-proxy``).
    trusted_proxies: tuple[str, ...] = ()
    #: A PostgreSQL URL several hubs share (``--database``); empty: the SQLite file.
    database: str = ""
