"""Auction close: N bidders bid in the last seconds of an auction (issue 19).

The hub runs as its own process (``python -m console hub --port 0 --trusted-proxy
127.0.0.1`` on a fresh data folder); each bidder is one ``websockets`` connection from
this process naming its own address in ``X-Forwarded-For`` (see ``load.phone_address``).
A host connection pins a one-variant demo product and opens a sudden-death auction that
ends ``--lead`` seconds after the crowd is ready.

In the last ``--seconds`` before the end, every bidder sends ``--bids`` bids at slots
spread evenly over the window, each a maximum one increment above the slot before it
(so bids that reach the hub in the order they were sent are all valid; one that reaches
it after two later ones is under the price by then, and refused as any late bidder's
would be: the hub's order decides). Each bid must get its answer (an ack, or a refusal
saying what to bid): a bid without one is lost. Each bidder notes when the hub's ``auction`` with
``why: close`` reaches it: the winner announced, measured from the end on the hub's
clock (the same machine's clock). Afterwards the stored bids are replayed through
:mod:`console.domain.auction` in the store's order and must give the announced winner
and price. Not a pass/fail test: one JSON object on stdout, progress on stderr.

    .venv/bin/python tests/bench/auction_close.py          # 1,000 bidders, 5 bids in the last 2 s
    .venv/bin/python tests/bench/auction_close.py --bidders 200 --bids 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sqlite3
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
from flash_drop import cpu_self, percentiles, staff
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from console.domain import auction as rules
from console.domain.money import Money
from console.store import DB_FILE_NAME

#: A demo-catalogue product with one variant.
SKU = "CH-DEFAULT"
CURRENCY = "EUR"
START_PRICE = 1000
INCREMENT = 1
CONNECT_AT_ONCE = 64
TARGETS = {"accepted_bids_per_s": 2000, "lost": 0, "p99_winner_announced_ms": 100}


class Bidder:
    def __init__(self, index: int, ws: ClientConnection) -> None:
        self.index = index
        self.ws = ws
        self.viewer_id = f"bid-{index:05d}-{secrets.token_hex(4)}"
        loop = asyncio.get_running_loop()
        self.welcome: asyncio.Future[None] = loop.create_future()
        self.named: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[tuple[float, dict[str, Any]]] = loop.create_future()
        self.opened: asyncio.Future[dict[str, Any]] = loop.create_future()
        #: ref -> the answer's type ("ack" or "error"), and the maximum of each ref.
        self.answers: dict[str, str] = {}
        self.maxima: dict[str, int] = {}
        self.refusals: Counter[str] = Counter()
        self._reader = loop.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.ws.recv(decode=False)
                received = time.time()
                if not self.welcome.done():
                    self.welcome.set_result(None)
                for message in json.loads(data):
                    kind = message.get("t")
                    ref = message.get("ref")
                    if ref == "name" and not self.named.done():
                        self.named.set_result(None)
                    elif kind in ("ack", "error") and ref in self.maxima:
                        self.answers[ref] = kind
                        if kind == "error":
                            self.refusals[str(message.get("message"))] += 1
                    elif kind == "auction":
                        if message["why"] == "start" and not self.opened.done():
                            self.opened.set_result(message)
                        if message["why"] == "close" and not self.closed.done():
                            self.closed.set_result((received, message))
        except ConnectionClosed:
            pass
        finally:
            gone = ConnectionError(f"bidder {self.index}: connection closed")
            for future in (self.welcome, self.named, self.closed, self.opened):
                if not future.done():
                    future.set_exception(gone)

    async def join(self) -> None:
        await self.ws.send(
            json.dumps({"t": "hello", "v": 1, "role": "viewer", "viewer_id": self.viewer_id})
        )
        await asyncio.wait_for(asyncio.shield(self.welcome), 60)
        await self.ws.send(
            json.dumps({"t": "set_name", "name": f"Bidder {self.index}", "ref": "name"})
        )
        await asyncio.wait_for(asyncio.shield(self.named), 60)

    async def bid_at(self, at: float, auction_id: str, maximum: int, ref: str) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        self.maxima[ref] = maximum
        await self.ws.send(
            json.dumps({"t": "bid", "auction_id": auction_id, "maximum": maximum, "ref": ref})
        )

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def gather_crowd(url: str, count: int) -> list[Bidder]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(index: int) -> Bidder:
        async with gate:
            ws = await connect(
                url,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=60,
                additional_headers={"X-Forwarded-For": load.phone_address(index)},
            )
            bidder = Bidder(index, ws)
            await bidder.join()
            return bidder

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def replayed(data_dir: Path, opened: dict[str, Any]) -> dict[str, Any]:
    """The stored bids in the store's order, through the domain: winner and price."""
    with closing(sqlite3.connect(data_dir / DB_FILE_NAME)) as db:
        rows = db.execute(
            "SELECT body FROM events WHERE type = 'auction_bid' ORDER BY seq"
        ).fetchall()
    state = rules.start_auction(
        opened["auction_id"],
        opened["sku"],
        Money(opened["start_price"], CURRENCY),
        Money(opened["increment"], CURRENCY),
        opened["ends"] - opened["starts"],
        opened["starts"],
    ).auction
    for (body,) in rows:
        placed = json.loads(body)
        state = rules.bid(
            state, placed["viewer_id"], Money(placed["maximum"], CURRENCY), placed["at"]
        ).auction
    closed = rules.close(state, state.ends).auction
    return {
        "bids_stored": len(rows),
        "winner": closed.winner,
        "price": closed.price.amount if closed.price is not None else None,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    fd_limit = load.raise_nofile()
    if fd_limit < args.bidders + 100:
        raise RuntimeError(f"open-file limit {fd_limit} is too low for {args.bidders} bidders")
    workdir = load.workdir("bench-auction-")
    server = load.start_hub(workdir)
    assert server.token is not None
    report: dict[str, Any] = {
        "bidders": args.bidders,
        "bids_each": args.bids,
        "window_s": args.seconds,
    }
    crowd: list[Bidder] = []
    try:
        await staff(
            server.ws_url,
            server.token,
            [{"t": "update_variant", "sku": SKU, "stock": 1}, {"t": "pin", "product": SKU}],
        )
        started = time.monotonic()
        crowd = await gather_crowd(server.ws_url, args.bidders)
        report["connect_s"] = round(time.monotonic() - started, 2)
        await staff(
            server.ws_url,
            server.token,
            [
                {
                    "t": "start_auction",
                    "sku": SKU,
                    "start_price": START_PRICE,
                    "increment": INCREMENT,
                    "seconds": args.seconds + args.lead,
                }
            ],
        )
        opened = await asyncio.wait_for(asyncio.shield(crowd[0].opened), 30)
        load.log(f"{len(crowd)} bidders ready in {report['connect_s']} s; auction open")
        ends = opened["ends"]
        window_start = ends - args.seconds
        total = len(crowd) * args.bids
        # The last slot leaves a margin before the end: a bid sent after it is too late.
        step = args.seconds * 0.95 / total
        sends = []
        for slot in range(total):
            bidder = crowd[slot % len(crowd)]
            maximum = START_PRICE + (slot + 1) * INCREMENT
            sends.append(
                bidder.bid_at(window_start + slot * step, opened["auction_id"], maximum, f"b{slot}")
            )
        hub_cpu0, client_cpu0 = server.cpu_seconds(), cpu_self()
        await asyncio.gather(*sends)
        results = await asyncio.gather(
            *(asyncio.wait_for(asyncio.shield(b.closed), 30) for b in crowd),
            return_exceptions=True,
        )
        await asyncio.sleep(0.5)  # the last answers, sent before the close
        hub_cpu1, client_cpu1 = server.cpu_seconds(), cpu_self()
        announced_ms = [(r[0] - ends) * 1000 for r in results if not isinstance(r, BaseException)]
        closes = [r[1] for r in results if not isinstance(r, BaseException)]
        acks = sum(1 for b in crowd for kind in b.answers.values() if kind == "ack")
        refused = sum(1 for b in crowd for kind in b.answers.values() if kind == "error")
        lost = total - acks - refused
        best = max(
            (
                (m, b.viewer_id)
                for b in crowd
                for ref, m in b.maxima.items()
                if b.answers.get(ref) == "ack"
            ),
            default=(None, None),
        )
        check = replayed(workdir / "data", opened)
        close = closes[0] if closes else {}
        report.update(
            {
                "bids_sent": total,
                "accepted": acks,
                "refused": refused,
                "lost": lost,
                "accepted_bids_per_s": round(acks / args.seconds, 1),
                # Taken or refused with the reason, in the hub's order: what it handled.
                "answered_bids_per_s": round((acks + refused) / args.seconds, 1),
                "refusals": dict(sum((b.refusals for b in crowd), Counter()).most_common(5)),
                "winner_announced_ms": percentiles(announced_ms),
                "bidders_without_the_close": len(crowd) - len(closes),
                "winner": close.get("winner_id"),
                "price": close.get("price"),
                "highest_accepted_maximum_is_the_winner": best[1] == close.get("winner_id"),
                "store_replay": check,
                "store_agrees": check["bids_stored"] == acks
                and check["winner"] == close.get("winner_id")
                and check["price"] == close.get("price"),
                "cpu_s_during_window": {
                    "hub": round(hub_cpu1 - hub_cpu0, 3),
                    "bidders_process": round(client_cpu1 - client_cpu0, 3),
                },
                "targets": TARGETS,
            }
        )
    finally:
        await asyncio.gather(*(b.close() for b in crowd), return_exceptions=True)
        report["server"] = server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bidders", type=int, default=1000, help="bidders (1,000)")
    parser.add_argument("--bids", type=int, default=5, help="bids per bidder in the window (5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="the closing window (2 s)")
    parser.add_argument("--lead", type=float, default=3.0, help="seconds before the window (3)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
