"""The Selling dock in the console, against a real hub over real WebSockets.

The host's console (a staff session to the hub, as on a second machine: no camera) runs
on the qasync loop; viewers are raw WebSocket clients typing and tapping as the page
does. The hub's clock is a fake the test moves, and the dock reads the same fake clock,
so a countdown or the Draw button follows the test, not the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from console import protocol
from console.client import StaffClient
from console.domain.selling import TIMES
from console.hub import room
from console.hub.payments import ACCEPTED_TEST_CARD, SandboxProvider
from console.hub.room import Limits
from console.hub.server import Hub
from console.store import Store
from tests.support.clients import RawClient
from tests.test_auction_hub import bid, pay
from tests.test_claims_hub import START, TEE, FakeClock, comment
from tests.test_window import until
from widgets.formats_dock import (
    ANTI_SNIPE_KEY,
    AUCTION_SECONDS_KEY,
    CHECKOUT_SECONDS_KEY,
    GIVEAWAY_SECONDS_KEY,
    INCREMENT_KEY,
    SellingDock,
)
from widgets.main_window import MainWindow

pytestmark = pytest.mark.qasync


@dataclass
class Console:
    window: MainWindow
    hub: Hub
    clock: FakeClock
    settings: QSettings

    @property
    def dock(self) -> SellingDock:
        return self.window.selling

    async def viewer(self, name: str) -> RawClient:
        return await RawClient.viewer(self.hub.local_ws_url, name=name)

    async def pin_tee(self) -> None:
        self.window.pin(TEE.id)
        await until(lambda: self.dock.pinned is not None)

    def outcome(self) -> str:
        return self.dock.outcome.text()


@contextlib.asynccontextmanager
async def host_console(tmp_path: Path) -> AsyncIterator[Console]:
    """Hub and console set up and torn down inside the test's running loop (as in
    tests/test_window.py: between an async fixture and its test no loop runs)."""
    store = Store.open(tmp_path / "data")
    store.replace_catalogue([TEE])
    clock = FakeClock()
    hub = Hub(store, tick=0.01, limits=Limits(), payments=SandboxProvider(), clock=clock)
    await hub.start("127.0.0.1", 0)
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    try:
        async with console_window(hub, clock, settings) as window:
            yield Console(window, hub, clock, settings)
    finally:
        await hub.stop()
        store.close()


@contextlib.asynccontextmanager
async def console_window(
    hub: Hub, clock: FakeClock, settings: QSettings
) -> AsyncIterator[MainWindow]:
    """A host's console on ``hub``, as on another machine, reading the hub's fake clock."""
    holder: list[MainWindow] = []
    client = StaffClient(
        hub.local_ws_url,
        hub.issue_token("host", "Mia"),
        on_messages=lambda m: holder[0].on_messages(m),
        on_state=lambda s, t: holder[0].on_connection_state(s, t) if holder else None,
    )
    window = MainWindow(client, None, hub.viewer_url, settings, None, None)
    window.selling.wall = clock
    holder.append(window)
    client.start()
    window.show()
    await client.wait_connected()
    selling = window.selling
    await until(selling.isVisible)
    try:
        yield window
    finally:
        await client.close()
        window.close()
        window.deleteLater()
        await asyncio.sleep(0.05)
        holder.clear()
        del window
        gc.collect()


def texts(widget) -> list[str]:
    return [widget.item(row).text() for row in range(widget.count())]


def carts(dock: SellingDock) -> dict[str, list[str]]:
    tree = dock.carts
    found = {}
    for row in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(row)
        found[top.text(0)] = [top.child(n).text(0) for n in range(top.childCount())]
    return found


async def test_claims_typed_by_viewers_land_in_the_dock_with_a_cart_each_and_a_line(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        dock.claims_on.click()
        await until(lambda: "Claims not turned on" in console.outcome())
        assert console.outcome() == (
            "Claims not turned on (not accepted): "
            "Pin a product first; comments claim the pinned product."
        )
        assert not dock.claims_on.isChecked()

        await console.pin_tee()
        dock.claims_hold.setValue(15)
        dock.claims_on.click()
        await until(lambda: dock.claims_on.isChecked())
        assert dock.claims_state.text().startswith(
            "Claims on for Logo Tee: a claim holds its units 15 min."
        )
        assert console.outcome() == "Claims on: a claim holds for 15 min."

        ann, bob = await console.viewer("Ann"), await console.viewer("Bob")
        await comment(ann, "sold M")
        await until(lambda: dock.claims_list.count() == 1)
        assert texts(dock.claims_list) == [f"Ann · 1 {TIMES} M · €12.50 · 15:00 to pay"]
        await comment(ann, "claim 2 L")
        await comment(bob, "sold S")
        await comment(ann, "sold S")  # the last S is Bob's: Ann is first in line
        await until(
            lambda: dock.claims_list.count() == 3 and "waiting" in dock.waitlist.item(0).text()
        )
        assert texts(dock.claims_list) == [
            f"Bob · 1 {TIMES} S · €12.50 · 15:00 to pay",
            f"Ann · 2 {TIMES} L · €25.00 · 15:00 to pay",
            f"Ann · 1 {TIMES} M · €12.50 · 15:00 to pay",
        ]
        assert carts(dock) == {
            "Ann — 3 units · €37.50": [f"1 {TIMES} M · €12.50", f"2 {TIMES} L · €25.00"],
            "Bob — 1 unit · €12.50": [f"1 {TIMES} S · €12.50"],
        }
        assert texts(dock.waitlist) == ["S — 1 waiting: Ann (1)"]
        assert "3 claims from 2 viewers · 1 waiting." in dock.claims_state.text()

        console.clock.now = START + 60
        await until(lambda: dock.claims_list.item(0).text().endswith("14:00 to pay"))

        dock.claims_on.click()
        await until(lambda: not dock.claims_on.isChecked())
        assert dock.claims_state.text() == "Claims are off (pinned: Logo Tee)."
        assert dock.claims_list.count() == 3, "open claims stay until paid or expired"
        await ann.close()
        await bob.close()


async def test_the_host_starts_an_auction_and_sees_two_viewers_bids_on_the_ladder(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        assert not dock.auction_start.isEnabled(), "nothing pinned: nothing to auction"
        await console.pin_tee()
        dock.tabs.setCurrentIndex(1)
        assert dock.lot.currentData() == "TEE-S", "the first variant in stock"
        dock.lot.setCurrentIndex(dock.lot.findData("TEE-M"))
        dock.start_price.setText("10")
        dock.increment.setText("0.50")
        dock.auction_seconds.setValue(90)
        dock.anti_snipe.setValue(15)
        dock.auction_start.click()
        await until(lambda: dock.auction.state is not None)
        state = dock.auction.state
        assert (state.sku, state.start_price, state.increment, state.anti_snipe) == (
            "TEE-M",
            1000,
            50,
            15,
        )
        assert dock.auction_state.text() == "Logo Tee M: opens at €10.00 · no bids yet · 1:30 left"
        assert dock.auction_detail.text() == "Next bid: €10.00 · a bid in the last 15 s adds 15 s"
        assert dock.auction_cancel.isEnabled() and not dock.auction_start.isEnabled()
        assert console.outcome() == "Auction started."
        remembered = [
            console.settings.value(k) for k in (INCREMENT_KEY, AUCTION_SECONDS_KEY, ANTI_SNIPE_KEY)
        ]
        assert [str(v) for v in remembered] == ["0.50", "90", "15"]

        ann, bob = await console.viewer("Ann"), await console.viewer("Bob")
        auction_id = state.auction_id
        console.clock.now = START + 10
        assert (await bid(ann, auction_id, 1500))["t"] == "ack"
        console.clock.now = START + 20
        assert (await bid(bob, auction_id, 1200))["t"] == "ack"
        await until(lambda: dock.ladder.topLevelItemCount() == 2 and dock.auction.state.bids == 2)
        rows = [
            [dock.ladder.topLevelItem(r).text(c) for c in range(1, 4)]
            for r in range(dock.ladder.topLevelItemCount())
        ]
        assert rows == [["Bob", "€12.00", ""], ["Ann", "€15.00", "leads"]]
        await until(lambda: "Ann leads" in dock.auction_state.text())
        assert dock.auction_state.text() == "Logo Tee M: €12.50 · Ann leads · 2 bids · 1:10 left"

        console.clock.now = START + 90
        await until(lambda: dock.auction.state.status == "closed")
        await until(lambda: "won by Ann" in dock.auction_state.text())
        assert dock.auction_state.text() == "Logo Tee M: won by Ann at €12.50 · 5:00 left to pay"
        assert dock.auction_detail.text().startswith("Checkout until ")
        assert not dock.auction_cancel.isEnabled() and not dock.auction_start.isEnabled()
        await ann.close()
        await bob.close()


async def test_the_host_starts_a_giveaway_a_viewer_enters_and_draw_shows_the_winner(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        await console.pin_tee()
        dock.tabs.setCurrentIndex(2)
        assert dock.prize.placeholderText() == "Logo Tee", "the pinned product by default"
        dock.giveaway_seconds.setValue(30)
        dock.eligibility.setCurrentIndex(dock.eligibility.findData("commented"))
        dock.keyword.setText("win")
        dock.giveaway_start.click()
        await until(lambda: dock.giveaway.state is not None)
        assert dock.giveaway.state.eligibility == "commented"
        assert dock.giveaway_state.text() == "Logo Tee: 0 entrants · 0:30 left to enter"
        assert dock.giveaway_terms.text() == "Viewers who commented · comment “win” or tap Enter"
        assert not dock.draw.isEnabled() and dock.giveaway_cancel.isEnabled()

        ann = await console.viewer("Ann")
        await comment(ann, "count me in: win!")
        await until(lambda: dock.giveaway.entrants() == 1)
        assert dock.giveaway_state.text() == "Logo Tee: 1 entrant · 0:30 left to enter"

        console.clock.now = START + 30
        await until(lambda: dock.draw.isEnabled())
        assert (
            dock.giveaway_state.text() == "Logo Tee: entries closed · 1 entrant · draw the winner"
        )
        narrowest = dock.widget().minimumSizeHint().width()
        dock.draw.click()
        await until(lambda: dock.giveaway.state.status == "drawn")
        assert dock.giveaway_state.text() == "Logo Tee: Ann won (of 1 entrant)"
        seed = dock.giveaway.state.seed
        assert dock.giveaway_check.text() == (
            f"Seed {seed[:16]}…: matches the commitment and the winner."
        )
        assert dock.seed.text() == seed and dock.seed.isVisibleTo(dock)
        # 64 unbroken hex digits in a label once widened the dock, and the window with it.
        assert dock.widget().minimumSizeHint().width() <= narrowest
        assert not dock.draw.isEnabled() and dock.giveaway_start.isEnabled()
        await ann.close()


async def test_the_selling_dock_is_a_tab_beside_on_stream_for_the_host(tmp_path: Path) -> None:
    async with host_console(tmp_path) as console:
        window = console.window
        assert console.dock in window.tabifiedDockWidgets(window.sales)
        assert console.dock.toggleViewAction().shortcut().toString() == "Alt+0"


def test_the_dock_turns_a_click_into_set_claims_and_follows_the_hubs_mode(qtbot) -> None:
    dock = SellingDock()
    qtbot.addWidget(dock)
    dock.claims_hold.setValue(15)
    with qtbot.waitSignal(dock.command) as asked:
        dock.claims_on.click()
    message, done, refused = asked.args
    assert message == protocol.SetClaims(on=True, hold_minutes=15.0)
    assert (done, refused) == ("Claims on: a claim holds for 15 min.", "Claims not turned on")
    assert not dock.claims_on.isChecked(), "on only when the hub says so"
    dock.set_claims(protocol.ClaimsMode(seq=3, on=True, product_id="logo-tee", hold_seconds=900))
    assert dock.claims_on.isChecked() and dock.claims_hold.value() == 15


def test_a_bad_start_price_is_said_in_the_dock_and_nothing_is_sent(qtbot) -> None:
    dock = SellingDock()
    qtbot.addWidget(dock)
    dock.apply_show(protocol.ShowState(seq=0, pinned=TEE))
    dock.start_price.setText("ten")
    with qtbot.assertNotEmitted(dock.command):
        dock.auction_start.click()
    assert dock.outcome.text().startswith("Start price: ")
    assert dock.outcome.property("refused") is True


def test_the_last_auction_and_giveaway_choices_are_the_next_shows_defaults(
    qtbot, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    fresh = SellingDock(settings)
    qtbot.addWidget(fresh)
    assert (fresh.increment.text(), fresh.auction_seconds.value(), fresh.anti_snipe.value()) == (
        "1.00",
        60,
        10,
    )
    for key, value in (
        (INCREMENT_KEY, "2.50"),
        (AUCTION_SECONDS_KEY, 120),
        (ANTI_SNIPE_KEY, 0),
        (GIVEAWAY_SECONDS_KEY, 45),
    ):
        settings.setValue(key, value)
    dock = SellingDock(settings)
    qtbot.addWidget(dock)
    assert (dock.increment.text(), dock.auction_seconds.value()) == ("2.50", 120)
    assert dock.anti_snipe.text() == "sudden death"
    assert dock.giveaway_seconds.value() == 45
    settings.setValue(AUCTION_SECONDS_KEY, "a minute")  # a settings file edited by hand
    edited = SellingDock(settings)
    qtbot.addWidget(edited)
    assert edited.auction_seconds.value() == 60


def test_the_host_sets_how_long_the_winner_has_to_pay_and_the_next_show_keeps_it(
    qtbot, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    dock = SellingDock(settings)
    qtbot.addWidget(dock)
    assert dock.checkout_seconds.value() == 300, "five minutes before the host chose"
    assert (dock.checkout_seconds.minimum(), dock.checkout_seconds.maximum()) == (30, 3600)
    dock.apply_show(protocol.ShowState(seq=0, pinned=TEE))
    dock.start_price.setText("10")
    dock.checkout_seconds.setValue(120)
    with qtbot.waitSignal(dock.command) as sent:
        dock.auction_start.click()
    start = sent.args[0]
    assert isinstance(start, protocol.StartAuction) and start.checkout_seconds == 120
    assert SellingDock(settings).checkout_seconds.value() == 120
    settings.setValue(CHECKOUT_SECONDS_KEY, "five minutes")  # a settings file edited by hand
    assert SellingDock(settings).checkout_seconds.value() == 300


async def test_the_host_calls_an_auction_off_and_may_start_the_next(tmp_path: Path) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        await console.pin_tee()
        dock.start_price.setText("10")
        dock.auction_start.click()
        await until(lambda: dock.auction_cancel.isEnabled())
        dock.auction_cancel.click()
        await until(lambda: dock.auction.state.status == "cancelled")
        await until(lambda: dock.auction_start.isEnabled())
        assert dock.auction_state.text() == "Logo Tee S: called off; the unit is back on sale"
        assert console.outcome() == "Auction called off."


def ladder(dock: SellingDock) -> list[list[str]]:
    """The bid ladder as the host reads it: bidder, up to, and the mark beside it."""
    tree = dock.ladder
    return [
        [tree.topLevelItem(r).text(c) for c in range(1, 4)] for r in range(tree.topLevelItemCount())
    ]


async def open_auction(console: Console, anti_snipe: int = 0, to_pay: int = 300) -> str:
    """An auction of the pinned tee's S from €10.00, rising by €0.50, for a minute; the
    winner has ``to_pay`` seconds to pay."""
    dock = console.dock
    await console.pin_tee()
    dock.tabs.setCurrentIndex(1)
    dock.start_price.setText("10")
    dock.increment.setText("0.50")
    dock.auction_seconds.setValue(60)
    dock.anti_snipe.setValue(anti_snipe)
    dock.checkout_seconds.setValue(to_pay)
    dock.auction_start.click()
    await until(lambda: dock.auction.state is not None)
    return dock.auction.state.auction_id


async def test_a_late_bid_extends_the_countdown_the_host_sees_and_lands_on_the_ladder(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        auction_id = await open_auction(console, anti_snipe=15, to_pay=120)
        assert dock.auction_detail.text() == "Next bid: €10.00 · a bid in the last 15 s adds 15 s"
        ann = await console.viewer("Ann")
        console.clock.now = START + 50
        await until(lambda: dock.auction_state.text().endswith("· 0:10 left"))
        assert (await bid(ann, auction_id, 1000))["t"] == "ack"
        await until(lambda: dock.auction.state.bids == 1)
        assert dock.auction.state.ends == START + 75
        assert dock.auction_state.text() == (
            "Logo Tee S: €10.00 · Ann leads · 1 bid · 0:25 left (extended by 15 s)"
        )
        assert ladder(dock) == [["Ann", "€10.00", "leads"]]
        console.clock.now = START + 61  # past the first end: still open
        await until(lambda: "0:14 left" in dock.auction_state.text())
        assert dock.auction.state.status == "open" and dock.auction_cancel.isEnabled()
        console.clock.now = START + 75
        await until(lambda: dock.auction.state.status == "closed")
        await until(lambda: "won by Ann" in dock.auction_state.text())
        assert dock.auction_state.text() == "Logo Tee S: won by Ann at €10.00 · 2:00 left to pay"
        assert ladder(dock) == [["Ann", "€10.00", "to pay"]]
        await ann.close()


async def test_the_winner_pays_and_the_dock_shows_the_lot_sold_at_the_winning_price(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        auction_id = await open_auction(console)
        assert dock.auction_detail.text() == "Next bid: €10.00 · sudden death"
        ann, bob = await console.viewer("Ann"), await console.viewer("Bob")
        assert (await bid(ann, auction_id, 1500))["t"] == "ack"
        assert (await bid(bob, auction_id, 1200))["t"] == "ack"
        console.clock.now = START + 60
        await until(lambda: "won by Ann" in dock.auction_state.text())
        assert dock.auction_state.text() == "Logo Tee S: won by Ann at €12.50 · 5:00 left to pay"
        quote, confirmed = await pay(ann, auction_id, ACCEPTED_TEST_CARD)
        assert quote["unit_price"] == 1250 and confirmed["t"] == "order_confirmed"
        await until(lambda: dock.auction.state.status == "sold")
        assert dock.auction_state.text() == (
            f"Logo Tee S: sold to Ann for €12.50 · paid (order {confirmed['order_id']})"
        )
        assert dock.auction_detail.text() == ""
        assert ladder(dock) == [["Bob", "€12.00", ""], ["Ann", "€15.00", "paid"]]
        assert dock.auction_start.isEnabled(), "sold: the host may auction the next one"
        await ann.close()
        await bob.close()


async def test_a_winner_who_does_not_pay_in_time_hands_the_lot_to_the_runner_up(
    tmp_path: Path,
) -> None:
    async with host_console(tmp_path) as console:
        dock = console.dock
        auction_id = await open_auction(console)
        ann, bob = await console.viewer("Ann"), await console.viewer("Bob")
        assert (await bid(ann, auction_id, 1500))["t"] == "ack"
        assert (await bid(bob, auction_id, 1100))["t"] == "ack"
        console.clock.now = START + 60
        await until(lambda: "won by Ann" in dock.auction_state.text())
        console.clock.now = START + 361  # Ann's five minutes to pay are over
        await until(lambda: dock.auction.state.winner == "Bob")
        assert dock.auction_state.text() == (
            "Logo Tee S: Ann did not pay in time; offered to Bob at €10.00 · 5:00 left to pay"
        )
        assert dock.auction_detail.text().startswith("Checkout until ")
        assert ladder(dock) == [["Bob", "€11.00", "to pay"], ["Ann", "€15.00", "did not pay"]]
        _, confirmed = await pay(bob, auction_id, ACCEPTED_TEST_CARD)
        await until(lambda: dock.auction.state.status == "sold")
        assert dock.auction_state.text() == (
            f"Logo Tee S: sold to Bob for €10.00 · paid (order {confirmed['order_id']})"
        )
        assert ladder(dock) == [["Bob", "€11.00", "paid"], ["Ann", "€15.00", "did not pay"]]
        await ann.close()
        await bob.close()


def seen(dock: SellingDock) -> tuple[str, str, list[list[str]]]:
    """What the host reads of the auction: the headline, the line under it, the ladder."""
    return dock.auction_state.text(), dock.auction_detail.text(), ladder(dock)


async def test_a_console_that_joins_late_shows_the_auction_as_the_one_that_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A console that joins gets the room's latest events only (50 in a show, 3 here so
    # the test need not type 50 comments): not the auction's start, bids or close.
    monkeypatch.setattr(room, "HISTORY_EVENTS", 3)
    elsewhere = QSettings(str(tmp_path / "late.ini"), QSettings.Format.IniFormat)
    async with host_console(tmp_path) as console:
        dock = console.dock
        auction_id = await open_auction(console, anti_snipe=15)
        ann, bob, cy = [await console.viewer(name) for name in ("Ann", "Bob", "Cy")]
        assert (await bid(ann, auction_id, 1500))["t"] == "ack"
        assert (await bid(bob, auction_id, 1100))["t"] == "ack"
        console.clock.now = START + 50
        assert (await bid(cy, auction_id, 1300))["t"] == "ack"
        await until(lambda: "extended by 15 s" in dock.auction_state.text())
        async with console_window(console.hub, console.clock, elsewhere) as joined:
            await until(lambda: joined.selling.auction.state is not None)
            assert seen(joined.selling) == seen(dock)
        console.clock.now = START + 75
        await until(lambda: "won by Ann" in dock.auction_state.text())
        console.clock.now = START + 376  # Ann's five minutes to pay are over
        await until(lambda: dock.auction.state.winner == "Cy")
        assert seen(dock)[0] == (
            "Logo Tee S: Ann did not pay in time; offered to Cy at €11.50 · 5:00 left to pay"
        )
        assert seen(dock)[2] == [
            ["Cy", "€13.00", "to pay"],
            ["Bob", "€11.00", ""],
            ["Ann", "€15.00", "did not pay"],
        ]
        async with console_window(console.hub, console.clock, elsewhere) as joined:
            await until(lambda: joined.selling.auction.state is not None)
            assert seen(joined.selling) == seen(dock)
        for viewer in (ann, bob, cy):
            await viewer.close()
