"""Janus's API over its WebSocket transport: requests answered by transaction.

The starter asks it whether Janus is up with the show's room; the hub brokers viewers'
subscriptions through it (``console.hub.sfu``); the admin API says what a publisher's
handle does (ICE, DTLS, codecs, packets). One connection, one reader task: a reply is
matched to its request by ``transaction``, and an ``ack`` is skipped for the answer that
follows it (except for a keep-alive, which Janus answers with the ack alone). What Janus
sends unasked (plugin events, hang-ups) is dropped: the hub polls what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console.errors import ShopcastError

log = logging.getLogger(__name__)

API_PROTOCOL = "janus-protocol"
ADMIN_PROTOCOL = "janus-admin-protocol"
VIDEOROOM = "janus.plugin.videoroom"
#: Seconds a request may take; Janus answers on this machine in milliseconds.
REQUEST_TIMEOUT = 5.0
CLOSED = "Janus closed the connection (it stopped, or restarts)."

JsonObject = dict[str, Any]


class JanusError(ShopcastError):
    """Janus refused a request or cannot be reached; ``code`` is Janus's, if it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class JanusConnection:
    """One WebSocket to Janus's API (``admin=False``) or its admin API."""

    def __init__(self, ws: ClientConnection, secret: str, admin: bool) -> None:
        self._ws = ws
        self._secret = {"admin_secret" if admin else "apisecret": secret}
        self._numbers = itertools.count(1)
        self._pending: dict[str, asyncio.Future[JsonObject]] = {}
        #: Requests whose ``ack`` is the whole answer (``keepalive``).
        self._ack_answers: set[str] = set()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, secret: str, admin: bool = False) -> Self:
        """Connect to ``url``; a Janus that is not listening raises ``JanusError``."""
        protocol = ADMIN_PROTOCOL if admin else API_PROTOCOL
        try:
            ws = await asyncio.wait_for(
                connect(url, subprotocols=[protocol], open_timeout=None), REQUEST_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            raise JanusError(f"Cannot reach Janus at {url}: {exc}.") from None
        return cls(ws, secret, admin)

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    @property
    def closed(self) -> bool:
        """Janus closed the connection (it stopped or restarts), or ``close`` was called."""
        return self._reader.done()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, message: Mapping[str, Any]) -> JsonObject:
        """Send ``message`` (``janus`` names the request) and return Janus's answer;
        an ``error`` answer raises ``JanusError`` with Janus's reason."""
        transaction = str(next(self._numbers))
        answer: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = answer
        if message.get("janus") == "keepalive":
            self._ack_answers.add(transaction)
        try:
            await self._ws.send(json.dumps({**message, **self._secret, "transaction": transaction}))
            reply = await asyncio.wait_for(answer, REQUEST_TIMEOUT)
        except ConnectionClosed:
            raise JanusError(CLOSED) from None
        except TimeoutError:
            raise JanusError(f"Janus did not answer {message.get('janus')!r}.") from None
        finally:
            self._pending.pop(transaction, None)
            self._ack_answers.discard(transaction)
        error = _error(reply)
        if error is not None:
            code, reason = error
            raise JanusError(f"Janus refused {message.get('janus')!r}: {reason}", code)
        return reply

    async def session(self) -> int:
        """A new session's id (Janus ends it after ``session_timeout`` s without a request)."""
        return int((await self.request({"janus": "create"}))["data"]["id"])

    async def attach(self, session: int, plugin: str = VIDEOROOM) -> int:
        reply = await self.request({"janus": "attach", "session_id": session, "plugin": plugin})
        return int(reply["data"]["id"])

    async def message(self, session: int, handle: int, body: Mapping[str, Any]) -> JsonObject:
        """A plugin request; returns the plugin's data (``plugindata.data``)."""
        data, _ = await self.negotiate(session, handle, body)
        return data

    async def negotiate(
        self,
        session: int,
        handle: int,
        body: Mapping[str, Any],
        jsep: Mapping[str, Any] | None = None,
    ) -> tuple[JsonObject, JsonObject | None]:
        """A plugin request with an SDP (``jsep``) or one that returns one: the plugin's
        data and Janus's ``jsep`` (a subscriber's ``join`` returns Janus's offer)."""
        message: JsonObject = {
            "janus": "message",
            "session_id": session,
            "handle_id": handle,
            "body": dict(body),
        }
        if jsep is not None:
            message["jsep"] = dict(jsep)
        reply = await self.request(message)
        data: JsonObject = reply.get("plugindata", {}).get("data", {})
        answer = reply.get("jsep")
        return data, answer if isinstance(answer, dict) else None

    async def detach(self, session: int, handle: int) -> None:
        """End a handle: Janus hangs up its peer connection."""
        await self.request({"janus": "detach", "session_id": session, "handle_id": handle})

    async def keepalive(self, session: int) -> None:
        """Tell Janus the session is in use (it ends one idle for ``session_timeout`` s)."""
        await self.request({"janus": "keepalive", "session_id": session})

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                reply = json.loads(text)
                if not isinstance(reply, dict):
                    continue
                transaction = str(reply.get("transaction"))
                answer = self._pending.get(transaction)
                if answer is None or answer.done():
                    log.debug("Janus, unasked: %s", reply.get("janus"))
                elif reply.get("janus") != "ack" or transaction in self._ack_answers:
                    answer.set_result(reply)
        except (ConnectionClosed, json.JSONDecodeError):
            pass
        finally:
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(JanusError(CLOSED))


def _error(reply: JsonObject) -> tuple[int | None, str] | None:
    """Janus's refusal (``error`` with ``code`` and ``reason``), or a plugin's, which
    travels in a ``success`` reply as ``error_code`` and ``error``."""
    if reply.get("janus") == "error":
        error = reply.get("error", {})
        return error.get("code"), str(error.get("reason", "no reason given"))
    data = reply.get("plugindata", {}).get("data", {})
    if isinstance(data, dict) and "error" in data:
        return data.get("error_code"), str(data["error"])
    return None


async def room_participants(url: str, secret: str, room: int) -> list[JsonObject]:
    """The VideoRoom's ``listparticipants`` for ``room``: who is in it, who publishes."""
    async with await JanusConnection.open(url, secret) as janus:
        session = await janus.session()
        try:
            handle = await janus.attach(session)
            body = {"request": "listparticipants", "room": room}
            data = await janus.message(session, handle, body)
            participants: list[JsonObject] = data.get("participants", [])
            return participants
        finally:
            await janus.request({"janus": "destroy", "session_id": session})


async def videoroom_handles(admin_url: str, admin_secret: str) -> list[JsonObject]:
    """Every VideoRoom handle's ``handle_info`` (ICE and DTLS state, codecs, packets)."""
    found: list[JsonObject] = []
    async with await JanusConnection.open(admin_url, admin_secret, admin=True) as admin:
        sessions = (await admin.request({"janus": "list_sessions"})).get("sessions", [])
        for session in sessions:
            handles = (await admin.request({"janus": "list_handles", "session_id": session})).get(
                "handles", []
            )
            for handle in handles:
                info = (
                    await admin.request(
                        {"janus": "handle_info", "session_id": session, "handle_id": handle}
                    )
                ).get("info", {})
                if info.get("plugin") == VIDEOROOM:
                    found.append(info)
    return found
