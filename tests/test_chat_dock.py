"""The chat dock in a flood: batches within one frame are shown together, none lost."""

from __future__ import annotations

import time

from PySide6.QtCore import QRect
from PySide6.QtGui import QFontMetrics

from console import protocol
from widgets.chat_dock import SHOW_INTERVAL_S, ChatDock


def comments(first: int, count: int) -> list[protocol.Comment]:
    return [
        protocol.Comment(
            seq=n,
            id=n,
            viewer_id=f"v{n % 7}",
            name=f"Viewer {n % 7}",
            text=f"c{n} " * (n % 9 + 1),
            ts=time.time(),
        )
        for n in range(first, first + count)
    ]


class CountingMetrics:
    """Font metrics that count how many texts were measured."""

    def __init__(self, metrics: QFontMetrics) -> None:
        self._metrics = metrics
        self.measured = 0

    def boundingRect(self, *args: object) -> QRect:
        self.measured += 1
        return self._metrics.boundingRect(*args)  # type: ignore[call-overload,no-any-return]


def test_batches_within_one_frame_reach_the_view_together_in_order(qtbot) -> None:
    dock = ChatDock()
    qtbot.addWidget(dock)
    dock.resize(400, 600)
    dock.show()
    inserts: list[int] = []
    dock.model.rowsInserted.connect(lambda _p, first, last: inserts.append(last - first + 1))

    dock.add_comments(comments(1, 3))
    assert dock.model.rowCount() == 3, "after a quiet spell a comment shows at once"
    for start in range(4, 104, 10):
        dock.add_comments(comments(start, 10))
    assert dock.model.rowCount() == 3, "the rest wait for the next frame"
    qtbot.waitUntil(lambda: dock.model.rowCount() == 103, timeout=int(SHOW_INTERVAL_S * 1000 * 5))
    assert inserts == [3, 100]
    assert [dock.model.comment(row).seq for row in range(103)] == list(range(1, 104))


def test_a_reader_back_from_scrolling_up_finds_the_held_comments_measured(qtbot) -> None:
    dock = ChatDock()
    qtbot.addWidget(dock)
    dock.resize(400, 600)
    dock.show()
    dock.add_comments(comments(1, 200))
    qtbot.waitUntil(lambda: dock.view.verticalScrollBar().maximum() > 0)
    dock.view.verticalScrollBar().setValue(0)
    assert not dock.following
    for start in range(201, 1401, 40):
        dock.add_comments(comments(start, 40))
    assert dock.new_comments.text() == "1200 new comments ↓"
    assert dock.model.rowCount() == 200, "the text under the reader's eyes does not move"

    counting = CountingMetrics(dock._delegate._text_metrics)
    dock._delegate._text_metrics = counting  # type: ignore[assignment]
    dock.new_comments.click()
    qtbot.wait(50)
    assert [dock.model.comment(row).seq for row in (0, 999)] == [401, 1400]
    # Qt lays the rows on screen out once more at a width a scroll bar narrower; the
    # thousand released comments themselves were sized as they arrived.
    assert counting.measured < 50
