"""A real WebSocket client for tests that speaks the protocol as raw JSON, like a page."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class RawClient:
    """Collects every message the hub sends; tests wait for the ones they expect."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.frames = 0
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def viewer(
        cls,
        url: str,
        name: str | None = "Ann",
        viewer_id: str | None = None,
        since: int | None = None,
    ) -> RawClient:
        client = cls(await connect(url, compression=None))
        viewer_id = viewer_id or "test-" + secrets.token_hex(8)
        hello: dict[str, Any] = {
            "t": "hello",
            "v": 1,
            "role": "viewer",
            "viewer_id": viewer_id,
            # The page's key, fixed per viewer id so that a test's reconnects prove it.
            "key": "key-for-" + viewer_id,
        }
        if name is not None:
            hello["name"] = name
        if since is not None:
            hello["since"] = since
        await client.send(hello)
        await client.wait_for("welcome")
        return client

    @classmethod
    async def staff(cls, url: str, token: str, role: str = "host") -> RawClient:
        client = cls(await connect(url, compression=None))
        await client.send({"t": "hello", "v": 1, "role": role, "token": token})
        await client.wait_for("welcome")
        return client

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self.frames += 1
                self.messages.extend(json.loads(data))
                self._arrived.set()
        except Exception:
            self._arrived.set()

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def of_type(self, t: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["t"] == t]

    async def wait_for(
        self, t: str, count: int = 1, timeout: float = 5.0, **match: Any
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` messages of type ``t`` (with the given fields) arrived."""

        async def enough() -> list[dict[str, Any]]:
            while True:
                found = [m for m in self.of_type(t) if all(m.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                if self._reader.done():
                    raise AssertionError(
                        f"connection closed while waiting for {t}: {self.messages}"
                    )
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(enough(), timeout)

    def comments(self) -> list[dict[str, Any]]:
        return self.of_type("comment")

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)
