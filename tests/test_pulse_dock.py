"""The Room pulse dock, fed the messages a staff console receives (issue 18, point 1).

Each show here is a short sequence of hub messages on a hand-held clock; the figures the
tests expect are worked out by hand in their comments, not taken from the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QTreeWidgetItem

from console import protocol
from tests.test_window import until
from widgets.main_window import MainWindow
from widgets.pulse_dock import PulseDock

T0 = 1_764_700_000.0
SCARF = protocol.Product(id="scarf", title="Silk scarf", currency="EUR", variants=[])
BOOTS = protocol.Product(id="boots", title="Leather boots", currency="EUR", variants=[])


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def comment(seq: int, viewer: str, text: str, ts: float) -> protocol.Comment:
    return protocol.Comment(
        seq=seq, id=seq, viewer_id=viewer, name=viewer.title(), text=text, ts=ts
    )


def order(seq: int, product: str, ts: float) -> protocol.OrderPlaced:
    return protocol.OrderPlaced(
        seq=seq,
        order_id=f"o{seq}",
        product_id=product,
        sku=f"{product}-1",
        title=product,
        quantity=1,
        total=3900,
        currency="EUR",
        name="Someone",
        ts=ts,
    )


def step(kind: protocol.ShopperStep, who: int, ts: float, **more: Any) -> protocol.Shopper:
    return protocol.Shopper(step=kind, product_id="scarf", shopper=f"shopper-{who}", ts=ts, **more)


def shoppers(ts: float) -> list[protocol.Shopper]:
    """Shoppers 1-5 open the scarf, 1-4 its checkout; 1 and 2 pay, 3 is declined, 4 closes."""
    return [
        step("opened", 1, ts, reviews=True),
        *(step("opened", who, ts) for who in (2, 3, 4, 5)),
        *(step("checkout", who, ts) for who in (1, 2, 3, 4)),
        step("paid", 1, ts, order_id="o7"),
        step("paid", 2, ts, order_id="o8"),
        step("paid", 2, ts, order_id="o8"),
        step("dropped", 3, ts, reason="declined"),
        step("dropped", 4, ts, reason="closed"),
    ]


def play_show(feed: Any, clock: Clock) -> None:
    """20 watch, the scarf is pinned, 5 more join, 5 shoppers, 2 orders, blockers, then
    10 leave.

    By hand: viewers when pinned 20 + 5 = 25. Five shoppers open the scarf (one its
    reviews), four of them its checkout; two pay (one buy replayed: still two), one card
    is declined and one closes the sheet: opened 5 (5/25 = 20 %), checkout 4 (80 %),
    paid 2 (50 %), 2/25 = 8.0 % converted. Price
    is raised by 3 comments (a, b, c) in the last five minutes and none before: rising;
    shipping by 2: steady. Viewers peaked at 25 and are 15 now: 10/25 = 40 % fewer, more
    than a fifth, within two minutes of the peak: the alert. Three viewers asked about
    the boots (not pinned): the suggestion is to pin them.
    """
    clock.now = T0
    feed([protocol.Viewers(count=20)])
    clock.now = T0 + 10
    feed([protocol.ShowState(seq=1, pinned=SCARF, shelf=[BOOTS])])
    clock.now = T0 + 20
    feed([protocol.Viewers(count=25)])
    clock.now = T0 + 30
    feed(
        [
            comment(2, "ann", "too expensive for me", T0 + 30),
            comment(3, "bob", "that is way too expensive", T0 + 31),
            comment(4, "cat", "too expensive tbh", T0 + 32),
            comment(5, "dan", "do you ship to Canada?", T0 + 33),
            comment(6, "eve", "do you ship to Canada?", T0 + 34),
            *shoppers(T0 + 35),
            order(7, "scarf", T0 + 35),
            order(8, "scarf", T0 + 36),
            comment(9, "fay", "are the boots waterproof?", T0 + 40),
            comment(10, "gus", "are the boots waterproof?", T0 + 41),
            comment(11, "hal", "are the boots waterproof?", T0 + 42),
        ]
    )
    clock.now = T0 + 60
    feed([protocol.Viewers(count=15)])
    clock.now = T0 + 100


def rows(item: QTreeWidgetItem) -> list[tuple[str, ...]]:
    return [tuple(item.child(i).text(c) for c in range(3)) for i in range(item.childCount())]


def test_a_known_show_shows_its_funnel_blockers_worst_metric_and_alert(qtbot) -> None:
    clock = Clock()
    dock = PulseDock(clock=clock)
    qtbot.addWidget(dock)
    raised: list[str] = []
    dock.alert_raised.connect(raised.append)
    play_show(dock.add_messages, clock)
    dock.show()
    dock.refresh()

    top = dock.funnel.topLevelItem(0)
    assert (top.text(0), top.text(1), top.text(2)) == (
        "Silk scarf (pinned now)",
        "2 paid",
        "8.0% converted",
    )
    assert rows(top) == [
        ("Viewers when pinned", "25", ""),
        ("Opened it or its reviews", "5", "20%"),
        ("Opened the checkout", "4", "80%"),
        ("Paid", "2", "50%"),
        ("Where buyers drop", "", ""),
    ]
    assert rows(top.child(4)) == [("card declined", "1", ""), ("closed the checkout", "1", "")]

    blockers = [
        tuple(dock.blockers.topLevelItem(i).text(c) for c in range(4))
        for i in range(dock.blockers.topLevelItemCount())
    ]
    assert blockers == [
        ("Price", "3", "▲ rising", "too expensive tbh"),
        ("Shipping and delivery", "2", "→ steady", "do you ship to Canada?"),
    ]

    assert dock.worst.text() == (
        "Worst now: 15 viewers, 40% fewer than two minutes ago, since Silk scarf was pinned."
    )
    assert "#e53935" in dock.worst.styleSheet()
    assert dock.banner.isVisible()
    assert dock.alert_text.text() == (
        "Viewers fell from 25 to 15 in two minutes.\n"
        "Pin Leather boots: 3 questions about it in the last 10 minutes."
    )
    assert dock.act.isVisible() and dock.act.text() == "Pin it"
    assert raised == [
        "Viewers fell from 25 to 15 in two minutes. "
        "Pin Leather boots: 3 questions about it in the last 10 minutes."
    ]
    dock.refresh()
    assert len(raised) == 1, "an alert still showing is not announced again"


def test_the_comments_behind_a_blocker_name_only_viewers_who_chose_remember_me(qtbot) -> None:
    clock = Clock()
    dock = PulseDock(clock=clock)
    qtbot.addWidget(dock)
    play_show(dock.add_messages, clock)
    dock.feed.consent.update({"ann": "remember", "bob": "session"})  # cat never chose
    dock.show()
    dock.refresh()

    price = dock.blockers.topLevelItem(0)
    assert price.text(0) == "Price"
    rect = dock.blockers.visualItemRect(price)
    qtbot.mouseClick(dock.blockers.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    listed = [dock.comments.item(i).text() for i in range(dock.comments.count())]
    assert listed == [
        "A viewer: too expensive tbh",
        "A viewer: that is way too expensive",
        "Ann: too expensive for me",
    ]
    dock.refresh()
    assert dock.comments.count() == 3, "the list stays while its group is selected"


class FakeClient:
    """A staff session that records the window's commands and answers nothing."""

    url = "ws://127.0.0.1:9/ws"

    def __init__(self) -> None:
        self.sent: list[protocol.ClientMessage] = []

    async def request(self, message: protocol.ClientMessage, timeout: float = 10) -> None:
        self.sent.append(message)


def host_window(tmp_path: Path, qtbot: Any, client: FakeClient, role: str) -> MainWindow:
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, None, "http://127.0.0.1:9/", settings, None, None)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.on_messages(
        [protocol.Welcome(v=1, role=role, seq=0, viewers=0, room_title="Show", now=T0)]  # type: ignore[arg-type]
    )
    window.show()
    return window


@pytest.mark.qasync
async def test_the_alerts_pin_button_pins_the_product_most_asked_about(
    tmp_path: Path, qtbot
) -> None:
    client = FakeClient()
    window = host_window(tmp_path, qtbot, client, "host")
    clock = Clock()
    window.pulse.clock = clock
    play_show(window.on_messages, clock)
    window.pulse.refresh()
    assert window.pulse.isVisible(), "the alert brings the dock to the front"
    assert "Viewers fell from 25 to 15" in window.statusBar().currentMessage()

    qtbot.mouseClick(window.pulse.act, Qt.MouseButton.LeftButton)
    await until(lambda: protocol.Pin(product="boots") in client.sent)
    window.close()


@pytest.mark.qasync
async def test_when_the_chat_stalls_the_button_selects_the_top_question_for_an_agent(
    tmp_path: Path, qtbot
) -> None:
    """Six comments a minute for five minutes, then a silent minute: stalled (by hand:
    0 in the last minute is at most a quarter of 6). Two viewers asked the same thing,
    unanswered: the suggestion is to answer it, and the button selects it."""
    client = FakeClient()
    window = host_window(tmp_path, qtbot, client, "agent")
    assert window.pulse.toggleViewAction().isChecked(), "agents see the Room pulse"
    clock = Clock()
    window.pulse.clock = clock
    texts = ["love it", "so pretty", "hi from Lyon"]
    chat = [comment(10 + i, f"v{i % 7}", texts[i % 3], T0 + 10 * i) for i in range(30)]
    chat[5] = comment(15, "ann", "what is the fabric?", T0 + 50)
    chat[9] = comment(19, "bob", "what fabric is it?", T0 + 90)
    clock.now = T0 + 300
    window.on_messages(chat)
    questions = [
        protocol.QuestionState(
            seq=c.seq,
            id=c.seq,
            viewer_id=c.viewer_id,
            name=c.name,
            text=c.text,
            ts=c.ts,
            group="material",
        )
        for c in (chat[5], chat[9])
    ]
    window.team.questions.show_snapshot(
        protocol.Questions(
            questions=questions,
            groups=[protocol.QuestionGroupInfo(key="material", label="Fabric", questions=[15, 19])],
            stats=protocol.QueueStats(length=2, unanswered=2),
        ),
        T0 + 300,
    )
    clock.now = T0 + 361
    window.pulse.refresh()
    assert window.pulse.alert_text.text().startswith("The chat went quiet: 0 comments")
    assert window.pulse.act.text() == "Select the question"
    assert window.team.questions.current_question() is None

    qtbot.mouseClick(window.pulse.act, Qt.MouseButton.LeftButton)
    assert window.team.questions.current_question() == 15
    assert window.team.questions.isVisible()
    window.close()


def test_a_funnel_the_host_opened_stays_open_across_redraws(qtbot) -> None:
    clock = Clock()
    dock = PulseDock(clock=clock)
    qtbot.addWidget(dock)
    dock.add_messages([protocol.Viewers(count=5), protocol.ShowState(seq=1, pinned=SCARF)])
    clock.now = T0 + 30
    dock.add_messages([protocol.ShowState(seq=2, pinned=BOOTS)])
    dock.show()
    dock.refresh()
    boots, scarf = (dock.funnel.topLevelItem(i) for i in range(2))
    assert (boots.text(0), boots.isExpanded()) == ("Leather boots (pinned now)", True)
    assert (scarf.text(0), scarf.isExpanded()) == ("Silk scarf", False)

    scarf.setExpanded(True)
    boots.setExpanded(False)
    dock.refresh()
    boots, scarf = (dock.funnel.topLevelItem(i) for i in range(2))
    assert (boots.isExpanded(), scarf.isExpanded()) == (False, True)


def test_the_viewers_chart_marks_each_pin_and_shades_each_deal(qtbot) -> None:
    clock = Clock()
    dock = PulseDock(clock=clock)
    qtbot.addWidget(dock)
    play_show(dock.add_messages, clock)
    deal = protocol.DealInfo(product_id="scarf", price=2900, currency="EUR", ends=T0 + 200)
    clock.now = T0 + 70
    dock.add_messages([protocol.ShowState(seq=20, pinned=SCARF, deal=deal)])
    clock.now = T0 + 90
    dock.add_messages([protocol.DealEnded(seq=21, product_id="scarf", reason="host")])
    clock.now = T0 + 100
    dock.show()
    dock.refresh()

    xs, ys = dock.curve.getData()
    assert list(zip(xs, ys, strict=True)) == [
        (T0, 20),
        (T0 + 20, 25),
        (T0 + 60, 15),
        (T0 + 100, 15),
    ]
    lines = [i for i in dock.chart.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
    assert [(line.value(), line.label.format) for line in lines] == [(T0 + 10, "Silk scarf")]
    regions = [i for i in dock.chart.getPlotItem().items if isinstance(i, pg.LinearRegionItem)]
    assert [region.getRegion() for region in regions] == [(T0 + 70, T0 + 90)]
