"""A small HTTP/1.1 client on asyncio streams, for WHIP's few requests (POST, DELETE).

The project has no HTTP client among its dependencies (aiortc does not bring one), and
WHIP needs three things only: a body out, status, headers and a body back, over http://
or https://. One request per connection (``Connection: close``) keeps it that simple.
Connection problems surface as ``OSError`` or ``TimeoutError``, a reply that is not
HTTP as ``HttpError``; callers turn them into messages for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from console.errors import ShopcastError

#: Replies larger than this are not SDP answers or error pages; refuse them.
MAX_BODY = 1 << 20
MAX_HEADERS = 100
#: RFC 8288: a link's target, then its parameters (a token, or a quoted string).
_LINK_TARGET = re.compile(r"\s*,?\s*<([^>]*)>")
_LINK_PARAM = re.compile(
    r"""\s*;\s*([!#$%&'*+.^_`|~\w-]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;,"]*)))?"""
)


class HttpError(ShopcastError):
    """The server's reply is not valid HTTP, or the address is not http(s)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    #: In order, names lower-cased; a name may repeat (``Link``).
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (any case), or None."""
        wanted = name.lower()
        values = [value for key, value in self.headers if key == wanted]
        return values[-1] if values else None

    def links(self) -> list[tuple[str, dict[str, str]]]:
        """Every ``Link`` (RFC 8288) as its target and parameters (names lower-cased).

        A header may repeat and may hold several links, comma-separated. A malformed part
        ends the reading of its header; the links before it are kept.
        """
        return [
            link for key, value in self.headers if key == "link" for link in _parse_links(value)
        ]


def _parse_links(value: str) -> Iterator[tuple[str, dict[str, str]]]:
    position = 0
    while target := _LINK_TARGET.match(value, position):
        position = target.end()
        params: dict[str, str] = {}
        while param := _LINK_PARAM.match(value, position):
            position = param.end()
            quoted, token = param.group(2), param.group(3)
            text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token or ""
            # RFC 8288 §3: only a parameter's first occurrence counts.
            params.setdefault(param.group(1).lower(), text)
        yield target.group(1), params


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"{url!r} is not an http:// or https:// address.")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> Response:
    """Send one request and read the whole reply within ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        return await _request(method, url, headers or {}, body)


async def _request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> Response:
    host, port = host_and_port(url)
    parts = urlsplit(url)
    context = ssl.create_default_context() if parts.scheme == "https" else None
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc.rsplit('@', 1)[-1]}",
            "User-Agent: Shopcast",
            "Connection: close",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        while True:
            status, reason, reply_headers = await _read_head(reader)
            if not 100 <= status < 200:
                break  # 1xx replies (100 Continue) come before the real one
        response = Response(status, reason, reply_headers, b"")
        if method == "HEAD" or status in (204, 304):
            return response
        return Response(status, reason, reply_headers, await _read_body(reader, response))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _read_head(
    reader: asyncio.StreamReader,
) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise HttpError(f"The server did not answer with HTTP: {line[:80]!r}.")
    headers: list[tuple[str, str]] = []
    while True:
        raw = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not raw:
            return int(code), reason, tuple(headers)
        if len(headers) >= MAX_HEADERS or ":" not in raw:
            raise HttpError(f"The server sent a bad header line: {raw[:80]!r}.")
        name, _, value = raw.partition(":")
        headers.append((name.strip().lower(), value.strip()))


async def _read_body(reader: asyncio.StreamReader, response: Response) -> bytes:
    if (response.header("transfer-encoding") or "").lower() == "chunked":
        chunks = bytearray()
        while True:
            size_line = (await reader.readline()).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise HttpError("The server sent a bad chunked body.") from None
            if size == 0:
                return bytes(chunks)
            if len(chunks) + size > MAX_BODY:
                raise HttpError("The server's reply is too large.")
            chunks += await reader.readexactly(size)
            await reader.readline()
    length = response.header("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > MAX_BODY:
            raise HttpError(f"The server sent a bad Content-Length: {length!r}.")
        return await reader.readexactly(int(length))
    # Neither: the body ends when the server closes the connection.
    body = bytearray()
    while chunk := await reader.read(65536):
        body += chunk
        if len(body) > MAX_BODY:
            raise HttpError("The server's reply is too large.")
    return bytes(body)
