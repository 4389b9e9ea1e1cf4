"""What the room's events do in a console: its own hub, real sockets, one qasync loop.

Replayed history raises no notice, and a failed import leaves no "Importing…" behind;
agents' public answers show in every staff chat; a viewer's deletion re-signs their
comments and orders at once; a shelf key pressed during a deal asks before it ends it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console import protocol
from tests.support.clients import RawClient
from tests.test_team_window import remote_console
from tests.test_window import BUYER, running_console, until
from widgets.chat_model import ChatRole

pytestmark = pytest.mark.qasync


async def test_a_shelf_key_during_a_deal_asks_before_it_ends_the_deal(
    tmp_path: Path, qtbot
) -> None:
    async with running_console(tmp_path) as (window, hub):
        dock = window.show_dock
        ids = [window.products.model.product(row).id for row in (0, 1)]
        for product_id in ids:
            dock.add_to_shelf(product_id)
            await until(lambda pid=product_id: pid in dock.shelf_ids())
        dock.pin_shelf_slot(1)
        await until(lambda: dock.state.pinned is not None and dock.state.pinned.id == ids[0])
        dock.deal_price.setText("1.00")
        dock.deal_start.click()
        await until(lambda: dock.state.deal is not None)

        window.preview.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_2)
        await until(lambda: dock.deal_question is not None)
        dock.deal_question.defaultButton().click()  # "Keep the deal"
        await window.client.request(protocol.GetCatalogue())  # the hub has read all we sent
        show = hub.room.shop.show
        assert show.pinned == ids[0] and show.deal is not None

        window.activateWindow()  # the closed question was the active window
        await until(lambda: QApplication.activeWindow() is window)
        window.preview.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_2)
        await until(lambda: dock.deal_question is not None)
        [end] = [b for b in dock.deal_question.buttons() if b.text().startswith("End deal")]
        end.click()
        await until(lambda: dock.state.pinned is not None and dock.state.pinned.id == ids[1])
        assert dock.state.deal is None


async def test_history_raises_no_notice_when_a_console_joins_but_live_news_does(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-31")
        await ann.send({"t": "comment", "text": "hello all"})
        product = window.products.model.product(0).id
        for step in (
            protocol.Pin(product=product),
            protocol.StartDeal(price=100, seconds=60),
            protocol.EndDeal(),  # an older deal, over long ago
            protocol.DeleteData(viewer_id="ann-viewer-31"),
            protocol.StartDeal(price=100, seconds=600),  # the deal running now
        ):
            await window.client.request(step)
        async with remote_console(tmp_path, hub, "moderator", "Sam") as remote:
            await until(lambda: remote.show_dock.state.deal is not None)
            await until(lambda: remote.chat.model.rowCount() == 1)
            assert remote.statusBar().currentMessage() == "", "history is not news"

            bob = await RawClient.viewer(hub.local_ws_url, "Bob", viewer_id="bob-viewer-31")
            await bob.send({"t": "comment", "text": "me next"})
            await until(lambda: remote.chat.model.rowCount() == 2)
            await window.client.request(protocol.DeleteData(viewer_id="bob-viewer-31"))
            await until(
                lambda: (
                    remote.statusBar().currentMessage()
                    == "A viewer's data was deleted at their request (by Host)."
                )
            )
            await window.client.request(protocol.EndDeal())
            await until(lambda: remote.statusBar().currentMessage() == "Deal ended.")
            assert remote.show_dock.state.deal is None


async def test_an_agents_public_answer_shows_in_every_staff_chat_under_its_question(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, hub):
        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-32")
        await ann.send({"t": "comment", "text": "does it run small?"})
        await until(lambda: window.chat.model.rowCount() == 1)
        question = window.chat.model.comment(0).seq
        agent = await RawClient.staff(hub.local_ws_url, hub.issue_token("agent", "Kim"), "agent")
        for text, private in (("Take one size up.", False), ("Psst, a code: TEE10", True)):
            await agent.send(
                {"t": "answer", "question": question, "text": text, "private": private}
            )
        await ann.wait_for("answer", count=2)
        await until(lambda: window.chat.model.rowCount() == 2)
        model = window.chat.model
        assert model.index(1).data() == "Kim answered Ann: Take one size up."
        answer = model.comment(1)
        assert isinstance(answer, protocol.Answer) and answer.question == question
        assert model.index(1).data(ChatRole.VIEWER_ID) == "", "an agent has no viewer profile"

        async with remote_console(tmp_path, hub, "moderator", "Sam") as remote:
            await until(lambda: remote.chat.model.rowCount() == 2)
            texts = [remote.chat.model.index(row).data() for row in range(2)]
            assert texts == ["Ann: does it run small?", "Kim answered Ann: Take one size up."]

        # A moderator deleting the question takes the answer that quotes it too.
        await window.client.request(protocol.DeleteComment(seq=question))
        await until(lambda: window.chat.model.rowCount() == 0)
        await agent.close()


async def test_a_viewers_deletion_renames_them_in_the_chat_and_latest_orders_at_once(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path) as (window, hub):
        product = window.products.model.product(0)
        await window.client.request(protocol.Pin(product=product.id))
        ann = await RawClient.viewer(hub.local_ws_url, "Ann", viewer_id="ann-viewer-33")
        await ann.send(
            {
                "t": "buy",
                "key": "erase-order-01",
                "sku": product.variants[0].sku,
                "quantity": 1,
                "buyer": BUYER,
                "payment": "4242 4242 4242 4242",
            }
        )
        await ann.wait_for("order_confirmed")
        await ann.send({"t": "comment", "text": "Love mine!"})
        await until(lambda: window.chat.model.rowCount() == 1)
        assert window.chat.model.comment(0).owner
        await until(lambda: window.sales.ticker.count() == 1)
        assert "  Ann — " in window.sales.ticker.item(0).text()

        await ann.send({"t": "delete_me"})
        await until(lambda: window.chat.model.index(0).data() == "deleted viewer: Love mine!")
        assert not window.chat.model.index(0).data(ChatRole.OWNER), "no Owner badge"
        assert window.chat.model.index(0).data(ChatRole.VIEWER_ID) == ""
        assert "  deleted viewer — " in window.sales.ticker.item(0).text()
        assert window.statusBar().currentMessage() == (
            "A viewer's data was deleted at their request (by the viewer)."
        )


async def test_a_failed_import_replaces_the_importing_message(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        bad = tmp_path / "shopify-bad.csv"
        bad.write_text("not,a,shopify\nexport,at,all\n", encoding="utf-8")
        assert await window.import_file(bad) is None
        assert window.statusBar().currentMessage() == "Nothing was imported from shopify-bad.csv."
        window.import_report.close()
