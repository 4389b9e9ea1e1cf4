"""The Room pulse dock: what stops viewers buying, while the show is live (issue 18).

A host talking to a camera glances at it; an agent keeps it beside the questions. From
the top: the one worst metric now, in red with its cause; an alert banner when viewers
fall or the chat stalls, with a button that does what it suggests; viewers over time with
pins and deals marked; each pinned product's funnel; the blockers heard in the chat,
whose comments a click lists. The figures come from the domain's
:class:`~console.domain.insight.pulse.RoomPulse`, fed by :class:`~widgets.pulse_feed.PulseFeed`.

Messages are folded as they arrive, but the dock redraws once a second: at 200 comments
a second, redrawing per frame would spend the loop on trees nobody can read that fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.domain.insight.alerts import Alert, Suggestion
from console.domain.insight.blockers import Group, Trend
from console.domain.insight.events import DROP_REASONS
from console.domain.insight.funnel import DROP_LABELS, Funnel
from console.domain.insight.pulse import Pulse
from widgets.pulse_feed import PulseFeed
from widgets.questions_dock import QuestionsDock

REFRESH_MS = 1000
_ARROWS: dict[Trend, str] = {"rising": "▲ rising", "falling": "▼ falling", "steady": "→ steady"}
_BUTTONS = {"pin": "Pin it", "answer": "Select the question", "deal": "Set up the deal"}
_GROUP = Qt.ItemDataRole.UserRole


class PulseDock(QDockWidget):
    #: The suggestion's button: pin this product, select this question group, open a deal.
    pin_requested = Signal(str)
    answer_requested = Signal(str)
    deal_requested = Signal(str)
    #: An alert that was not showing appeared: the window's status bar says it too.
    alert_raised = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__("Room pulse", parent)
        self.setObjectName("pulse")
        self.feed = PulseFeed()
        self.clock = clock
        #: The snapshot on screen, and when it was taken.
        self.shown: Pulse | None = None
        self._alerts: set[str] = set()
        self._suggestion: Suggestion | None = None
        self._chart_items: list[pg.GraphicsObject] = []
        self._listed: tuple[Group, int] | None = None
        #: Funnels the user opened or closed, kept so across redraws (else: the pinned one).
        self._expanded: dict[str, bool] = {}

        body = QWidget(self)
        column = QVBoxLayout(body)
        column.setContentsMargins(6, 6, 6, 6)
        self.worst = QLabel("Nothing is off right now.", body)
        self.worst.setObjectName("pulse-worst")
        self.worst.setAccessibleName("Worst metric now")
        self.worst.setWordWrap(True)
        column.addWidget(self.worst)

        self.banner = QFrame(body)
        self.banner.setObjectName("pulse-alert")
        self.banner.setStyleSheet(
            "#pulse-alert { background: #c62828; border-radius: 4px; }"
            "#pulse-alert QLabel { color: white; font-weight: bold; }"
        )
        row = QHBoxLayout(self.banner)
        self.alert_text = QLabel(self.banner)
        self.alert_text.setAccessibleName("Alert")
        self.alert_text.setWordWrap(True)
        row.addWidget(self.alert_text, 1)
        self.act = QPushButton(self.banner)
        self.act.clicked.connect(self._act)
        row.addWidget(self.act)
        self.banner.hide()
        column.addWidget(self.banner)

        column.addWidget(_caption("Viewers (pins as lines, deals shaded)", body))
        self.chart = pg.PlotWidget(body, axisItems={"bottom": pg.DateAxisItem()})
        self.chart.setAccessibleName("Viewers over time")
        self.chart.setMinimumHeight(150)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.setBackground(None)  # the theme's, light or dark
        self.chart.showGrid(y=True, alpha=0.2)
        self.curve = self.chart.plot([], [], pen=pg.mkPen("#4fc3f7", width=2))
        column.addWidget(self.chart)

        column.addWidget(_caption("Funnel of each pinned product", body))
        self.funnel = QTreeWidget(body)
        self.funnel.setAccessibleName("Funnel per pinned product")
        self.funnel.setHeaderLabels(("Step", "Viewers", "Of the step before"))
        self.funnel.setMinimumHeight(150)
        self.funnel.itemExpanded.connect(lambda item: self._opened(item, True))
        self.funnel.itemCollapsed.connect(lambda item: self._opened(item, False))
        column.addWidget(self.funnel)

        column.addWidget(_caption("Blockers heard in the chat (click one for its comments)", body))
        self.blockers = QTreeWidget(body)
        self.blockers.setAccessibleName("Blockers")
        self.blockers.setRootIsDecorated(False)
        self.blockers.setHeaderLabels(("Blocker", "Comments", "Trend", "Latest"))
        self.blockers.setMinimumHeight(130)
        self.blockers.currentItemChanged.connect(lambda *_: self._list_comments())
        column.addWidget(self.blockers)
        self.comments = QListWidget(body)
        self.comments.setAccessibleName("Comments behind the blocker")
        self.comments.setMinimumHeight(90)
        self.comments.setWordWrap(True)
        column.addWidget(self.comments)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # ------------------------------------------------------------ from the window

    def add_messages(self, messages: list[protocol.ServerMessage]) -> None:
        """One frame from the hub, folded now and shown at the next refresh."""
        self.feed.feed(messages, self.clock())

    def set_products(self, products: list[protocol.Product]) -> None:
        self.feed.set_titles((p.id, p.title) for p in products)

    # ------------------------------------------------------------ showing

    def refresh(self) -> None:
        now = self.clock()
        pulse = self.feed.snapshot(now)
        self.shown = pulse
        self._show_worst(pulse)
        self._show_alerts(pulse.alerts)
        self._show_chart(now)
        self._show_funnels(pulse)
        self._show_blockers(pulse)

    def _show_worst(self, pulse: Pulse) -> None:
        metric = pulse.worst
        if metric is None:
            self.worst.setText("Nothing is off right now.")
            self.worst.setStyleSheet("")
            return
        self.worst.setText(f"Worst now: {metric.value}, {metric.cause}.")
        self.worst.setStyleSheet("QLabel { color: #e53935; font-weight: bold; }")

    def _show_alerts(self, alerts: tuple[Alert, ...]) -> None:
        kinds = {alert.kind for alert in alerts}
        self._suggestion = next((a.suggestion for a in alerts if a.suggestion), None)
        lines = [alert.text for alert in alerts]
        if self._suggestion is not None:
            lines.append(self._suggestion.text)
        for alert in alerts:
            if alert.kind not in self._alerts:
                tip = f" {alert.suggestion.text}" if alert.suggestion else ""
                self.alert_raised.emit(alert.text + tip)
        self._alerts = kinds
        self.alert_text.setText("\n".join(lines))
        self.banner.setVisible(bool(alerts))
        self.act.setVisible(self._suggestion is not None)
        if self._suggestion is not None:
            self.act.setText(_BUTTONS[self._suggestion.action])
            self.act.setAccessibleName(self._suggestion.text)

    def _act(self) -> None:
        suggestion = self._suggestion
        if suggestion is None:
            return
        if suggestion.action == "pin" and suggestion.product is not None:
            self.pin_requested.emit(suggestion.product)
        elif suggestion.action == "answer" and suggestion.question is not None:
            self.answer_requested.emit(suggestion.question)
        elif suggestion.action == "deal" and suggestion.product is not None:
            self.deal_requested.emit(suggestion.product)

    def _show_chart(self, now: float) -> None:
        counts = list(self.feed.counts)
        if counts:
            counts.append((now, counts[-1][1]))
        self.curve.setData([ts for ts, _ in counts], [n for _, n in counts], stepMode="right")
        for item in self._chart_items:
            self.chart.removeItem(item)
        self._chart_items = []
        for mark in self.feed.marks:
            item: pg.GraphicsObject
            if mark.kind == "pin":
                item = pg.InfiniteLine(
                    mark.start,
                    angle=90,
                    pen=pg.mkPen("#ffb300", width=1),
                    label=mark.text,
                    labelOpts={"position": 0.95, "color": "#ffb300", "anchors": [(0, 0), (0, 0)]},
                )
            else:
                item = pg.LinearRegionItem(
                    (mark.start, mark.end if mark.end is not None else now),
                    movable=False,
                    brush=pg.mkBrush(224, 69, 123, 60),
                    pen=pg.mkPen(None),
                )
                item.setToolTip(mark.text)
            self.chart.addItem(item)
            self._chart_items.append(item)

    def _show_funnels(self, pulse: Pulse) -> None:
        self.funnel.blockSignals(True)
        self.funnel.clear()
        pinned = pulse.pinned.product if pulse.pinned is not None else None
        funnels = sorted(pulse.funnels, key=lambda f: f.product != pinned)
        for funnel in funnels:
            self._add_funnel(funnel, funnel.product == pinned)
        self.funnel.blockSignals(False)
        self.funnel.resizeColumnToContents(0)

    def _add_funnel(self, funnel: Funnel, pinned: bool) -> None:
        title = self.feed.titles.get(funnel.product, funnel.product)
        conversion = funnel.conversion
        top = QTreeWidgetItem(
            self.funnel,
            (
                title + (" (pinned now)" if pinned else ""),
                f"{funnel.count('paid')} paid",
                f"{conversion:.1%} converted" if conversion is not None else "",
            ),
        )
        before: int | None = None  # viewers at the step above
        for step in funnel.steps:
            rate = f"{step.viewers / before:.0%}" if before else ""
            QTreeWidgetItem(top, (step.label, str(step.viewers), rate))
            before = step.viewers
        drops = QTreeWidgetItem(top, ("Where buyers drop", "", ""))
        for drop in DROP_REASONS:
            if funnel.drops[drop]:
                QTreeWidgetItem(drops, (DROP_LABELS[drop], str(funnel.drops[drop]), ""))
        top.setData(0, _GROUP, funnel.product)
        top.setExpanded(self._expanded.get(funnel.product, pinned))

    def _opened(self, item: QTreeWidgetItem, expanded: bool) -> None:
        product = item.data(0, _GROUP)
        if product is not None:
            self._expanded[product] = expanded

    def _show_blockers(self, pulse: Pulse) -> None:
        current = self.blockers.currentItem()
        selected = current.data(0, _GROUP) if current is not None else None
        self.blockers.blockSignals(True)
        self.blockers.clear()
        for summary in pulse.blockers:
            item = QTreeWidgetItem(
                self.blockers,
                (summary.label, str(summary.comments), _ARROWS[summary.trend], summary.example),
            )
            item.setData(0, _GROUP, summary.group)
            item.setToolTip(
                0,
                f"{summary.comments} comments from {summary.viewers} viewers; "
                f"{summary.recent} lately against {summary.previous} before",
            )
            item.setToolTip(3, summary.example)
            if summary.group == selected:
                self.blockers.setCurrentItem(item)
        self.blockers.blockSignals(False)
        for column in range(3):
            self.blockers.resizeColumnToContents(column)
        self._list_comments()

    def _list_comments(self) -> None:
        """The comments behind the selected group; a name only with "Remember me"."""
        item = self.blockers.currentItem()
        if item is None:
            self.comments.clear()
            self._listed = None
            return
        group: Group = item.data(0, _GROUP)
        listed = (group, int(item.text(1)))
        if listed == self._listed:
            return
        self._listed = listed
        self.comments.clear()
        for comment in self.feed.pulse.blockers.comments(group, self.feed.consent):
            who = comment.author.name if comment.author is not None else "A viewer"
            self.comments.addItem(f"{who}: {comment.text}")


def _caption(text: str, parent: QWidget) -> QLabel:
    """A section's title, wrapped: the dock stays narrow beside the On stream dock."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label


def select_question_group(dock: QuestionsDock, key: str) -> bool:
    """Select the first waiting question of group ``key`` in the Questions dock."""
    snapshot = dock.snapshot
    group = next((g for g in snapshot.groups if g.key == key), None) if snapshot else None
    if group is None or not group.questions:
        return False
    wanted = group.questions[0]
    tree = dock.tree
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item.data(0, _GROUP) == wanted:
            tree.setCurrentItem(item)
            tree.scrollToItem(item)
            return True
        stack.extend(item.child(i) for i in range(item.childCount()))
    return False
