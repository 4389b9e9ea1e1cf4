"""``python -m console ctl``: staff commands from a script or a stream deck.

One connection per command: say hello with the staff token, send the command, print the
hub's answer, exit 0 on success and 1 with the hub's sentence on a refusal. Prices are
typed as people write them ("19.99") and converted with the product's currency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from console import protocol
from console.domain.catalogue import import_file_text
from console.domain.moderation import fold
from console.domain.modlog import describe_modes, mod_log_csv
from console.domain.money import Money, MoneyError, format_money, parse_decimal
from console.domain.sales import orders_csv
from console.domain.words import counted
from console.errors import CatalogueError, ProtocolError, ShopcastError


class CtlError(ShopcastError):
    """The command could not be carried out; the message says why."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ctl = sub.add_parser("ctl", help="send a staff command to a running hub")
    ctl.add_argument(
        "--hub", default="ws://127.0.0.1:8765/ws", help="the hub's /ws address (default local)"
    )
    ctl.add_argument(
        "--token",
        required=True,
        help="a staff token: an invitation's, or the host token (python -m console token)",
    )
    ctl.add_argument(
        "--role",
        default="staff",
        choices=("staff", "host", "agent", "moderator"),
        help="the role to connect as (default: whatever the token is for)",
    )
    commands = ctl.add_subparsers(dest="ctl_command", metavar="COMMAND", required=True)
    pin = commands.add_parser("pin", help="pin a product (by SKU or product id)")
    pin.add_argument("product")
    pin.add_argument(
        "--end-deal",
        action="store_true",
        help="end a flash deal running on another product (without it such a pin is refused)",
    )
    commands.add_parser("unpin", help="unpin the pinned product")
    shelf = commands.add_parser("shelf", help="set the show's shelf (up to 10 products)")
    shelf.add_argument("products", nargs="*")
    deal = commands.add_parser("deal", help="start a flash deal on a product (pins it)")
    deal.add_argument("product")
    deal.add_argument("--price", required=True, help='deal price as written, e.g. "19.99"')
    deal.add_argument("--seconds", type=float, required=True)
    deal.add_argument("--max", type=int, default=None, help="units at the deal price")
    commands.add_parser("end-deal", help="end the running deal now")
    claims = commands.add_parser(
        "claims", help='comments ("sold M") claim the pinned product, or no longer'
    )
    claims.add_argument("state", choices=("on", "off"))
    claims.add_argument(
        "--hold", type=float, metavar="MINUTES", help="how long a claim holds (default 10)"
    )
    auction = commands.add_parser(
        "auction", help="auction one unit of the pinned product, or call the running one off"
    )
    auction.add_argument("action", choices=("start", "cancel"))
    auction.add_argument("--price", help='start price as written, e.g. "20"')
    auction.add_argument("--increment", default="1", help='bid increment (default "1")')
    auction.add_argument("--seconds", type=float, default=60.0, help="duration (default 60)")
    auction.add_argument("--sku", help="the variant to auction (default: the first in stock)")
    auction.add_argument(
        "--anti-snipe",
        type=int,
        metavar="SECONDS",
        help="a bid in the last N seconds extends by N (default: sudden death)",
    )
    auction.add_argument(
        "--pay-within",
        type=int,
        default=300,
        metavar="SECONDS",
        help="how long the winner has to pay before the runner-up may (default 300)",
    )
    giveaway = commands.add_parser(
        "giveaway", help="open a giveaway (its seed's hash published first), draw or cancel it"
    )
    giveaway.add_argument("action", choices=("start", "draw", "cancel"))
    giveaway.add_argument("prize", nargs="?", help="with start: the prize, as viewers see it")
    giveaway.add_argument("--seconds", type=float, default=60.0, help="time to enter (60)")
    giveaway.add_argument("--who", choices=("everyone", "commented", "bought"), default="everyone")
    giveaway.add_argument("--keyword", help="a comment saying it enters, e.g. WIN")
    review = commands.add_parser("feature-review", help="show a review over the video")
    review.add_argument("review_id")
    comment = commands.add_parser("feature-comment", help="show a comment over the video")
    comment.add_argument("seq", type=int)
    commands.add_parser("unfeature", help="clear the featured item")
    stock = commands.add_parser("stock", help="set a variant's stock")
    stock.add_argument("sku")
    stock.add_argument("stock", type=int)
    price = commands.add_parser("price", help='set a variant\'s price, e.g. "24.99"')
    price.add_argument("sku")
    price.add_argument("price")
    imp = commands.add_parser("import", help="import products (Shopify CSV or Shopcast JSON)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--currency", default="EUR", help="currency of a Shopify CSV's prices")
    orders = commands.add_parser("orders", help="print the orders as CSV")
    orders.add_argument("--limit", type=int, default=10_000)
    invite = commands.add_parser("invite", help="invite an agent or a moderator (host)")
    invite.add_argument("name")
    invite.add_argument("staff_role", metavar="ROLE", choices=("agent", "moderator", "host"))
    invite.add_argument("--hours", type=float, default=12.0)
    revoke = commands.add_parser("revoke", help="revoke a staff member's access (host)")
    revoke.add_argument("staff_id")
    commands.add_parser(
        "replace-host-token",
        help="make a new host token and revoke this one (with the host token); every other "
        "console on it is closed, the host's own too: on its machine use File → Staff access",
    )
    for name, text in (("ban", "ban a viewer"), ("unban", "lift a viewer's ban or time-out")):
        sanction = commands.add_parser(name, help=text)
        sanction.add_argument("viewer_id")
        sanction.add_argument("--reason", default="")
    timeout = commands.add_parser("timeout", help="time a viewer out for SECONDS")
    timeout.add_argument("viewer_id")
    timeout.add_argument("seconds", type=float)
    timeout.add_argument("--reason", default="")
    delete = commands.add_parser("delete", help="delete a comment (by its seq)")
    delete.add_argument("seq", type=int)
    delete.add_argument("--reason", default="")
    modes = commands.add_parser("modes", help="set the chat modes (flags not given: off)")
    modes.add_argument("--slow", type=int, default=0, metavar="SECONDS")
    modes.add_argument("--buyers-only", action="store_true")
    modes.add_argument("--emoji-only", action="store_true")
    modes.add_argument("--pause", action="store_true")
    modes.add_argument(
        "--hold-new",
        type=int,
        default=0,
        metavar="MINUTES",
        help="hold the comments of viewers the hub has known for less than MINUTES",
    )
    terms = commands.add_parser("terms", help="list, add or remove the chat's blocked terms")
    terms_do = terms.add_subparsers(dest="terms_command", metavar="ACTION", required=True)
    terms_do.add_parser("list", help="print the blocked terms (action, kind, term) and links")
    add = terms_do.add_parser("add", help="block a word, a wildcard (spa*m) or a regex")
    add.add_argument("pattern", metavar="TERM")
    add.add_argument("--kind", choices=("word", "wildcard", "regex"), default="word")
    add.add_argument(
        "--action",
        choices=("hold", "delete"),
        default="hold",
        help="hold for a moderator (default) or delete at once",
    )
    remove = terms_do.add_parser("remove", help="unblock a term, as `terms list` prints it")
    remove.add_argument("pattern", metavar="TERM")
    export = commands.add_parser(
        "export-viewer", help="print everything held about a viewer (JSON)"
    )
    export.add_argument("viewer_id")
    forget = commands.add_parser(
        "delete-viewer", help="delete a viewer's data at their request (orders kept, anonymised)"
    )
    forget.add_argument("viewer_id")
    modlog = commands.add_parser("modlog", help="print the mod log as CSV")
    modlog.add_argument("--limit", type=int, default=10_000)


class _Session:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._refs = (f"ctl{n}" for n in itertools.count(1))
        #: The pinned product as the hub's welcome said (``ctl auction`` sells it).
        self.pinned: protocol.Product | None = None

    async def request(self, message: protocol.ClientMessage) -> protocol.ServerMessage:
        ref = next(self._refs)
        message.ref = ref  # type: ignore[union-attr]
        await self._ws.send(protocol.encode(message).decode())
        async for data in self._ws:
            for reply in protocol.decode_server(data):
                if isinstance(reply, protocol.Error) and reply.ref in (ref, None):
                    raise ProtocolError(reply.code, reply.message)
                if getattr(reply, "ref", None) == ref:
                    return reply
        raise CtlError("The hub closed the connection before answering.")

    async def product(self, ref: str) -> protocol.Product:
        catalogue = await self.request(protocol.GetCatalogue())
        assert isinstance(catalogue, protocol.Catalogue)
        for product in catalogue.products:
            if product.id == ref or any(v.sku == ref for v in product.variants):
                return product
        raise CtlError(f"No product or SKU {ref!r} in the hub's catalogue.")


def _amount(text: str, currency: str) -> int:
    try:
        return parse_decimal(text, currency).amount
    except MoneyError as exc:
        raise CtlError(str(exc)) from None


async def _run(args: argparse.Namespace) -> str:
    # A file to import is read first: a wrong path is worth saying even with the hub down.
    upload = _upload(args.file, args.currency) if args.ctl_command == "import" else None
    try:
        ws = await connect(args.hub, compression=None, max_size=None, open_timeout=10)
    except InvalidURI:
        raise CtlError(f"{args.hub!r} is not a WebSocket address like ws://HOST:PORT/ws.") from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise CtlError(f"Cannot reach the hub at {args.hub} ({exc}); is it running?") from None
    async with ws:
        await ws.send(
            protocol.encode(
                protocol.Hello(v=protocol.VERSION, role=args.role, token=args.token)
            ).decode()
        )
        welcome = protocol.decode_server(await ws.recv())
        first = welcome[0]
        if isinstance(first, protocol.Error):
            raise CtlError(first.message)
        session = _Session(ws)
        session.pinned = next(
            (m.pinned for m in welcome if isinstance(m, protocol.ShowState)), None
        )
        try:
            if upload is not None:
                return await _import(session, args.file, upload)
            return await _command(session, args)
        except ConnectionClosed:
            raise CtlError("The hub closed the connection; check the token.") from None


async def _command(session: _Session, args: argparse.Namespace) -> str:
    match args.ctl_command:
        case "pin":
            await session.request(protocol.Pin(product=args.product, end_deal=args.end_deal))
            return f"Pinned {args.product}."
        case "unpin":
            await session.request(protocol.Unpin())
            return "Unpinned."
        case "shelf":
            await session.request(protocol.SetShelf(products=args.products))
            return f"Shelf set ({len(args.products)} products)."
        case "deal":
            product = await session.product(args.product)
            price = _amount(args.price, product.currency)
            await session.request(
                protocol.StartDeal(
                    product=args.product,
                    price=price,
                    seconds=args.seconds,
                    max_units=args.max,
                )
            )
            cap = f", {args.max} units" if args.max else ""
            shown = format_money(Money(price, product.currency))
            return f"Deal on {product.title}: {shown} for {args.seconds:g} s{cap}."
        case "end-deal":
            await session.request(protocol.EndDeal())
            return "Deal ended."
        case "claims":
            on = args.state == "on"
            await session.request(protocol.SetClaims(on=on, hold_minutes=args.hold))
            if not on:
                return "Claims off: comments are only chat."
            hold = f" for {args.hold:g} min" if args.hold is not None else ""
            return f'Claims on: a comment such as "sold M" holds the pinned product{hold}.'
        case "auction":
            return await _auction(session, args)
        case "giveaway":
            return await _giveaway(session, args)
        case "feature-review":
            await session.request(protocol.Feature(review_id=args.review_id))
            return f"Featured review {args.review_id}."
        case "feature-comment":
            await session.request(protocol.Feature(comment_seq=args.seq))
            return f"Featured comment #{args.seq}."
        case "unfeature":
            await session.request(protocol.Feature())
            return "Cleared the featured item."
        case "stock":
            await session.request(protocol.UpdateVariant(sku=args.sku, stock=args.stock))
            return f"Stock of {args.sku} is {args.stock}."
        case "price":
            product = await session.product(args.sku)
            price = _amount(args.price, product.currency)
            await session.request(protocol.UpdateVariant(sku=args.sku, price=price))
            return f"Price of {args.sku} is {format_money(Money(price, product.currency))}."
        case "orders":
            reply = await session.request(protocol.GetOrders(limit=args.limit))
            assert isinstance(reply, protocol.Orders)
            return orders_csv(reply.orders).rstrip("\r\n")
        case "modlog":
            log = await session.request(protocol.GetModLog(limit=args.limit))
            assert isinstance(log, protocol.ModLog)
            return mod_log_csv(log.entries).rstrip("\r\n")
        case _:
            return await _team_command(session, args)


async def _auction(session: _Session, args: argparse.Namespace) -> str:
    if args.action == "cancel":
        await session.request(protocol.CancelAuction())
        return "Auction cancelled: the lot is back on sale."
    if args.price is None:
        raise CtlError('Give the start price: ctl auction start --price "20".')
    pinned = session.pinned
    if pinned is None:
        raise CtlError("Pin a product first (ctl pin PRODUCT); the auction sells it.")
    await session.request(
        protocol.StartAuction(
            start_price=_amount(args.price, pinned.currency),
            increment=_amount(args.increment, pinned.currency),
            seconds=args.seconds,
            sku=args.sku,
            anti_snipe=args.anti_snipe,
            checkout_seconds=args.pay_within,
        )
    )
    end = f"anti-snipe {args.anti_snipe} s" if args.anti_snipe else "sudden death"
    return f"Auction of {pinned.title} open for {args.seconds:g} s ({end})."


async def _giveaway(session: _Session, args: argparse.Namespace) -> str:
    if args.action == "draw":
        await session.request(protocol.DrawGiveaway())
        return "Drawn: the seed and the entries are public, every page checks the winner."
    if args.action == "cancel":
        await session.request(protocol.CancelGiveaway())
        return "Giveaway cancelled."
    if not args.prize:
        raise CtlError('Name the prize: ctl giveaway start "Linen shirt in any size".')
    await session.request(
        protocol.StartGiveaway(
            prize=args.prize, seconds=args.seconds, eligibility=args.who, keyword=args.keyword
        )
    )
    return f"Giveaway open for {args.seconds:g} s: {args.prize}."


async def _team_command(session: _Session, args: argparse.Namespace) -> str:
    match args.ctl_command:
        case "invite":
            reply = await session.request(
                protocol.CreateInvite(name=args.name, role=args.staff_role, hours=args.hours)
            )
            assert isinstance(reply, protocol.InviteCreated)
            return (
                f"Invitation for {reply.name} ({reply.role}); staff id {reply.staff_id}. "
                f"They run:\npython -m console --connect {args.hub} --token {reply.token}"
            )
        case "revoke":
            await session.request(protocol.RevokeStaff(staff_id=args.staff_id))
            return f"Revoked {args.staff_id}."
        case "replace-host-token":
            reply = await session.request(protocol.ReplaceHostToken())
            assert isinstance(reply, protocol.HostToken)
            return reply.token
        case "ban":
            await session.request(protocol.BanViewer(viewer_id=args.viewer_id, reason=args.reason))
            return f"Banned {args.viewer_id}."
        case "unban":
            await session.request(
                protocol.UnbanViewer(viewer_id=args.viewer_id, reason=args.reason)
            )
            return f"{args.viewer_id} may chat again."
        case "timeout":
            await session.request(
                protocol.TimeoutViewer(
                    viewer_id=args.viewer_id, seconds=args.seconds, reason=args.reason
                )
            )
            return f"Timed {args.viewer_id} out for {args.seconds:g} s."
        case "delete":
            await session.request(protocol.DeleteComment(seq=args.seq, reason=args.reason))
            return f"Deleted comment #{args.seq}."
        case "export-viewer":
            data = await session.request(protocol.ExportData(viewer_id=args.viewer_id))
            assert isinstance(data, protocol.DataExport)
            return json.dumps(data.data, indent=2, ensure_ascii=False)
        case "delete-viewer":
            await session.request(protocol.DeleteData(viewer_id=args.viewer_id))
            return f"Deleted the data of {args.viewer_id} (orders kept, anonymised)."
        case "modes":
            modes = protocol.SetModes(
                slow_seconds=args.slow,
                buyers_only=args.buyers_only,
                emoji_only=args.emoji_only,
                paused=args.pause,
                hold_new_minutes=args.hold_new,
            )
            await session.request(modes)
            return "Chat modes: " + describe_modes(modes) + "."
        case "terms":
            return await _terms(session, args)
    raise CtlError(f"Unknown command {args.ctl_command!r}.")


def _upload(path: Path, currency: str) -> protocol.ImportCatalogue:
    """The import command for ``path``, or a CtlError naming the file and what to do."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CtlError(f"There is no file {path}; check its name and folder.") from None
    except IsADirectoryError:
        raise CtlError(f"{path} is a folder; name the CSV or JSON file in it.") from None
    except OSError as exc:
        raise CtlError(f"{path} cannot be read ({exc.strerror}); check the file.") from None
    try:
        kind, text = import_file_text(str(path), data)
    except CatalogueError as exc:
        raise CtlError(f"{exc}.") from None
    message = protocol.ImportCatalogue(format=kind, data=text, currency=currency)
    # The hub refuses a larger message, and closes the connection above a frame's limit.
    size = len(protocol.encode(message))
    if size > protocol.MAX_STAFF_MESSAGE_BYTES:
        raise CtlError(
            f"{path} is too large to import at once ({size // 1024} KiB, the hub takes "
            f"{protocol.MAX_STAFF_MESSAGE_BYTES // 1024} KiB); split it into files of whole "
            "products."
        )
    return message


async def _terms(session: _Session, args: argparse.Namespace) -> str:
    """The hub keeps one list: read it, change it here, send it back whole (with the link
    filter as it was), so a term is added or removed without retyping the others."""
    current = await session.request(protocol.GetTerms())
    assert isinstance(current, protocol.Terms)
    terms = list(current.terms)
    match args.terms_command:
        case "list":
            lines = [f"{t.action}\t{t.kind}\t{t.pattern}" for t in terms]
            links = "held for a moderator" if current.block_links else "allowed"
            return "\n".join([*lines, f"Links are {links}."])
        case "add":
            terms.append(
                protocol.TermSpec(pattern=args.pattern, kind=args.kind, action=args.action)
            )
            done = f"Blocked {args.pattern!r} ({args.kind}, {args.action})"
        case _:
            # Word terms are stored folded ("Sp4m" as "spam"): either spelling removes it.
            wanted = {args.pattern, fold(args.pattern)}
            kept = [t for t in terms if t.pattern not in wanted]
            if len(kept) == len(terms):
                raise CtlError(
                    f"No blocked term {args.pattern!r}; `ctl terms list` prints them as stored."
                )
            terms, done = kept, f"Unblocked {args.pattern!r}"
    await session.request(protocol.SetTerms(terms=terms, block_links=current.block_links))
    return f"{done}; {len(terms)} blocked term{'' if len(terms) == 1 else 's'}."


async def _import(session: _Session, path: Path, upload: protocol.ImportCatalogue) -> str:
    try:
        reply = await session.request(upload)
    except ProtocolError as exc:
        raise CtlError(f"{path}: {exc.message}") from None
    assert isinstance(reply, protocol.ImportResult)
    lines = [f"Imported {counted(reply.imported, 'product')} from {counted(reply.rows, 'row')}."]
    lines += [f"line {e.line} ({e.handle}): {e.message}" for e in reply.errors]
    lines += [f"line {e.line} ({e.handle}), warning: {e.message}" for e in reply.warnings]
    return "\n".join(lines)


def run_ctl(args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_run(args)))
    except ProtocolError as exc:
        print(f"shopcast ctl: {exc.message}", file=sys.stderr)
        return 1
    except CtlError as exc:
        print(f"shopcast ctl: {exc}", file=sys.stderr)
        return 1
    return 0
