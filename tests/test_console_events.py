"""What the room's events do in a console: its own hub, real sockets, one qasync loop.

Replayed history raises no notice; agents' public answers show in every staff chat; a
viewer's deletion re-signs their comments and orders at once; a shelf key pressed
during a deal asks before it ends the deal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console import protocol
from tests.test_window import running_console, until

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
        show = hub.room.shop._state(seq=0)
        assert show.pinned is not None and show.pinned.id == ids[0] and show.deal is not None

        window.activateWindow()  # the closed question was the active window
        await until(lambda: QApplication.activeWindow() is window)
        window.preview.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_2)
        await until(lambda: dock.deal_question is not None)
        [end] = [b for b in dock.deal_question.buttons() if b.text().startswith("End deal")]
        end.click()
        await until(lambda: dock.state.pinned is not None and dock.state.pinned.id == ids[1])
        assert dock.state.deal is None
