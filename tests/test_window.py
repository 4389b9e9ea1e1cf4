"""The console window on a qasync loop, with a real hub and real WebSocket viewers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from console.client import StaffClient
from console.hub.room import Limits
from console.hub.server import Hub, seed_demo_catalogue
from console.store import Store
from media.capture import Capture
from media.encoder import PRESETS
from media.webrtc import Broadcast
from tests.support.clients import RawClient
from widgets.chat_dock import ChatDelegate
from widgets.main_window import MainWindow

pytestmark = pytest.mark.qasync


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the qasync loop run (Qt and asyncio events alike) until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_console(tmp_path: Path) -> AsyncIterator[tuple[MainWindow, Hub]]:
    """Set-up, test and teardown all run inside one running loop.

    (Between an async fixture and its test, pytest-qt pumps Qt events with no asyncio
    loop running, and socket callbacks that land there fail.)
    """
    store = Store.open(tmp_path / "data")
    capture = Capture("test")
    broadcast = Broadcast(capture, PRESETS["360p"])
    seed_demo_catalogue(store)
    # Staff may post fast here, so one test can flood the dock through a real socket.
    hub = Hub(
        store,
        stream=broadcast,
        tick=0.01,
        limits=Limits(
            staff_comments_per_s=1e5,
            staff_comment_burst=1e5,
            staff_messages_per_s=1e5,
            staff_message_burst=1e5,
        ),
    )
    await hub.start("127.0.0.1", 0)
    token = hub.host_token()

    async def set_live(live: bool) -> None:
        if live:
            broadcast.start()
        else:
            await broadcast.stop()
        hub.set_live(live)

    holder: list[MainWindow] = []
    client = StaffClient(
        hub.local_ws_url,
        token,
        on_messages=lambda m: holder[0].on_messages(m),
        on_state=lambda s, t: holder[0].on_connection_state(s, t) if holder else None,
    )
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(
        client, capture, hub.viewer_url, settings, broadcast, set_live, host_token=token
    )
    holder.append(window)
    capture.start()
    client.start()
    window.show()
    await client.wait_connected()
    products = window.products.model
    await until(
        lambda: (
            products.rowCount() > 0
            and all(
                products.data(products.index(row, 0), Qt.ItemDataRole.DecorationRole) is not None
                for row in range(products.rowCount())
            )
        )
    )
    try:
        yield window, hub
    finally:
        await broadcast.stop()
        await client.close()
        window.close()
        window.deleteLater()
        await hub.stop()
        # Destroy the window's Qt objects here, on the GUI thread: left to the cyclic
        # garbage collector, they may be freed on the capture thread, which crashes Qt.
        await asyncio.sleep(0.05)
        holder.clear()
        del window
        gc.collect()
        capture.stop()
        store.close()


async def test_a_viewers_comment_appears_in_the_chat_dock(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send({"t": "comment", "text": "Does the shirt come in blue?"})
        model = window.chat.model
        await until(lambda: model.rowCount() == 1)
        comment = model.comment(0)
        assert (comment.name, comment.text) == ("Ann", "Does the shirt come in blue?")
        await ann.close()


async def test_clicking_the_author_opens_the_profile_panel(tmp_path: Path, qtbot) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-1")
        bob = await RawClient.viewer(hub.local_ws_url, "Bob", viewer_id="bob-viewer-1")
        for text in ("first from Ann", "second from Ann"):
            await ann.send({"t": "comment", "text": text})
            await ann.wait_for("ack", count=1 if text.startswith("first") else 2)
        await bob.send({"t": "comment", "text": "hello from Bob"})
        view = window.chat.view
        await until(lambda: window.chat.model.rowCount() == 3)
        await asyncio.sleep(0.1)

        index = window.chat.model.index(1, 0)
        option = QStyleOptionViewItem()
        view.initViewItemOption(option)
        option.rect = view.visualRect(index)
        delegate = view.itemDelegate()
        assert isinstance(delegate, ChatDelegate)
        qtbot.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=delegate.author_rect(option, index).center(),
        )

        profile = window.profile
        await until(lambda: profile.viewer_id == "ann-viewer-1")
        assert profile.isVisible()
        assert profile.name.text() == "Ann"
        assert profile.comment_count.text() == "2"
        assert "watching now" in profile.presence.text()
        comments = profile.sections["comments"].list
        assert [comments.item(i).text().split("  ", 1)[1] for i in range(comments.count())] == [
            "second from Ann",
            "first from Ann",
        ]

        await ann.send({"t": "comment", "text": "third, while the panel is open"})
        await until(lambda: profile.comment_count.text() == "3")
        assert comments.item(0).text().endswith("third, while the panel is open")
        await ann.close()
        await bob.close()


async def test_clicking_the_text_not_the_name_opens_nothing(tmp_path: Path, qtbot) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        await ann.send({"t": "comment", "text": "a long enough comment to click on its text"})
        await until(lambda: window.chat.model.rowCount() == 1)
        rect = window.chat.view.visualRect(window.chat.model.index(0, 0))
        qtbot.mouseClick(
            window.chat.view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=rect.bottomRight() - rect.topLeft() / 2,
        )
        await asyncio.sleep(0.2)
        assert window.profile.viewer_id is None
        await ann.close()


async def test_products_dock_lists_the_demo_catalogue_with_images(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        model = window.products.model
        await until(lambda: model.rowCount() >= 12)
        assert model.data(model.index(0, 1)).startswith(("€", "from €"))
        await until(
            lambda: model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None
        )
        window.products.search.setText("linen")
        assert 0 < window.products.proxy.rowCount() < model.rowCount()


async def test_host_posts_from_the_chat_dock(tmp_path: Path, qtbot) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann")
        window.chat.input.setText("Welcome to the show!")
        qtbot.keyClick(window.chat.input, Qt.Key.Key_Return)
        [comment] = await ann.wait_for("comment")
        assert comment["text"] == "Welcome to the show!" and comment["role"] == "host"
        await until(lambda: window.chat.input.text() == "")
        await ann.close()


async def test_a_flood_is_batched_and_history_stays_bounded(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, hub):
        token = hub.issue_token("host", "Flooder")
        flooder = await RawClient.staff(hub.local_ws_url, token)
        inserts: list[int] = []
        window.chat.model.rowsInserted.connect(
            lambda _p, first, last: inserts.append(last - first + 1)
        )
        for n in range(1200):
            await flooder.send({"t": "comment", "text": f"flood {n}"})
        await until(
            lambda: (
                window.chat.model.rowCount() == 1000
                and window.chat.model.comment(999).text == "flood 1199"
            ),
            timeout=20,
        )
        model = window.chat.model
        texts = [model.comment(row).text for row in range(model.rowCount())]
        assert texts == [f"flood {n}" for n in range(200, 1200)], "the newest 1000, in order"
        assert len(inserts) < 600, "comments arrive in batches, not one insert each"
        await flooder.close()


async def test_scrolled_up_reader_keeps_their_place_and_sees_a_count(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, hub):
        flooder = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Host 2"))
        for n in range(60):
            await flooder.send({"t": "comment", "text": f"early {n}"})
        await until(lambda: window.chat.model.rowCount() == 60)
        await asyncio.sleep(0.1)
        bar = window.chat.view.verticalScrollBar()
        bar.setValue(0)
        for n in range(5):
            await flooder.send({"t": "comment", "text": f"late {n}"})
        await until(lambda: window.chat.new_comments.text() == "5 new comments ↓")
        assert window.chat.new_comments.isVisible()
        assert bar.value() == 0 and window.chat.model.rowCount() == 60
        window.chat.new_comments.click()
        assert window.chat.model.rowCount() == 65
        assert not window.chat.new_comments.isVisible()
        await flooder.close()


BUYER = {
    "name": "Ann Buyer",
    "email": "ann@example.com",
    "address1": "1 Market Street",
    "city": "Dublin",
    "postal_code": "D01 F5P2",
    "country": "IE",
}


async def test_the_host_pins_and_sees_a_viewers_order_tick_in(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, hub):
        first = window.products.model.product(0)
        window.products.table.selectRow(0)
        window.products.pin_button.click()
        await until(lambda: window.show_dock.state.pinned is not None)
        assert window.show_dock.pinned_title.text() == first.title

        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-1")
        await ann.wait_for("show")
        assert ann.of_type("show")[-1]["pinned"]["id"] == first.id
        variant = first.variants[0]
        stock_before = variant.stock
        await ann.send(
            {
                "t": "buy",
                "key": "order-key-0001",
                "sku": variant.sku,
                "quantity": 1,
                "buyer": BUYER,
                "payment": "4242 4242 4242 4242",
                "ref": "b1",
            }
        )
        (confirmed,) = await ann.wait_for("order_confirmed")
        await until(lambda: window.sales.board.orders == 1)
        assert window.sales.table.item(0, 0).text() == first.title
        assert window.sales.table.item(0, 2).text() == "1"
        assert window.sales.totals.text().startswith("1 order · 1 unit · ")
        ticker = window.sales.ticker.item(0).text()
        assert "Ann —" in ticker and "Ann Buyer" not in ticker, "the chat name, not the buyer's"
        await until(lambda: window.products.model.product(0).variants[0].stock == stock_before - 1)
        assert confirmed["total"] > 0

        window.sales.orders_button.click()
        orders = window.orders_window
        await until(lambda: orders.model.rowCount() == 1)
        row = [orders.proxy.index(0, c).data() for c in range(orders.model.columnCount())]
        assert row[1] == confirmed["order_id"] and row[2] == "Ann Buyer"
        assert row[3] == BUYER["email"] and row[7] == "1"
        orders.search.setText("nobody-like-this")
        assert orders.proxy.rowCount() == 0 and orders.count.text() == "0 of 1"
        orders.search.setText(BUYER["email"].upper())
        assert orders.proxy.rowCount() == 1
        order = {"t": "buy", "sku": variant.sku, "quantity": 2, "buyer": BUYER}
        await ann.send({**order, "key": "order-key-0002", "payment": "4242 4242 4242 4242"})
        await until(lambda: orders.model.rowCount() == 2)  # the open window refetches
        assert orders.proxy.index(0, 7).data() == "2", "newest first"

        await ann.send({"t": "comment", "text": "Love it, ask me anything"})
        await until(lambda: window.chat.model.rowCount() == 1)
        assert window.chat.model.comment(0).owner is True
        await ann.close()


async def test_number_keys_pin_the_shelf_and_a_deal_counts_down(tmp_path: Path, qtbot) -> None:
    async with running_console(tmp_path) as (window, _hub):
        ids = [window.products.model.product(row).id for row in (2, 3)]
        for product_id in ids:
            window.show_dock.add_to_shelf(product_id)
            await until(lambda pid=product_id: pid in window.show_dock.shelf_ids())
        window.preview.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_2)
        await until(lambda: window.show_dock.state.pinned is not None)
        assert window.show_dock.state.pinned.id == ids[1]

        window.show_dock.deal_price.setText("1.00")
        window.show_dock.deal_seconds.setValue(30)
        window.show_dock.deal_start.click()
        await until(lambda: window.show_dock.state.deal is not None)
        assert window.show_dock.countdown.text().startswith("DEAL €1.00 · 0:3")
        window.show_dock.deal_end.click()
        await until(lambda: window.show_dock.state.deal is None)
        assert window.show_dock.countdown.text() == "No deal running."


async def test_the_window_restores_its_layout_but_not_one_an_older_console_saved(
    tmp_path: Path, qtbot
) -> None:
    right, left = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
    async with running_console(tmp_path) as (window, _hub):
        assert window.dockWidgetArea(window.chat) == right
        window.addDockWidget(left, window.chat)
    async with running_console(tmp_path) as (window, _hub):
        assert window.dockWidgetArea(window.chat) == left  # remembered at close
        older = window.saveState()  # the same layout, as a console before LAYOUT_VERSION saved it
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/state", older)
    settings.sync()
    del settings
    async with running_console(tmp_path) as (window, _hub):
        assert window.dockWidgetArea(window.chat) == right, "an older layout was restored"
