"""Serves the viewer page, its assets and product images over plain HTTP GET.

``websockets`` answers GET through ``process_request``; the files are few and small, so
they are read once and kept in memory.
"""

from __future__ import annotations

import email.utils
import http
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

from websockets.datastructures import Headers
from websockets.http11 import Response

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".json": "application/json",
}

#: The page loads nothing from elsewhere but product pictures (an imported catalogue links
#: to the shop's image CDN over https); this keeps it that way even if a bug slips in.
_CSP: Final = (
    "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; "
    "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class StaticFiles:
    """Maps URL paths to packaged files: ``/`` and ``/<name>`` from resources/viewer,
    ``/images/<name>`` from resources/demo/images."""

    def __init__(self) -> None:
        root = resources.files("resources")
        self._dirs: dict[str, Traversable] = {
            "": root / "viewer",
            "images/": root / "demo" / "images",
        }
        self._cache: dict[str, tuple[bytes, str]] = {}

    def response(self, path: str) -> Response:
        """Build the HTTP response for ``path`` (query string already removed)."""
        name = path.lstrip("/") or "index.html"
        if name == "healthz":
            return _response(http.HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
        found = self._lookup(name)
        if found is None:
            return _response(
                http.HTTPStatus.NOT_FOUND, b"Not found.\n", "text/plain; charset=utf-8"
            )
        body, content_type = found
        return _response(http.HTTPStatus.OK, body, content_type)

    def _lookup(self, name: str) -> tuple[bytes, str] | None:
        if name in self._cache:
            return self._cache[name]
        for prefix, folder in self._dirs.items():
            if not name.startswith(prefix):
                continue
            file_name = name[len(prefix) :]
            suffix = "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""
            # One plain file name per folder: no sub-paths, so no way out of the folder.
            if "/" in file_name or "\\" in file_name or file_name.startswith("."):
                continue
            if suffix not in _TYPES:
                continue
            entry = folder / file_name
            if entry.is_file():
                self._cache[name] = (entry.read_bytes(), _TYPES[suffix])
                return self._cache[name]
        return None


def _response(status: http.HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            # websockets serves one response per connection; say so, or keep-alive
            # clients hold the socket (and a hub task) open until they time out.
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", _CSP),
            ("Referrer-Policy", "no-referrer"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)
