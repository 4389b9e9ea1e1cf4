"""The console's main window: preview in the middle, chat, products and viewer docks.

It talks to the room only through a staff session (``console.client.StaffClient``), so
the same window drives the embedded hub and a remote one. Network calls run as asyncio
tasks on the qasync loop; the window never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtNetwork import QNetworkAccessManager
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from console import protocol
from console.client import StaffClient, State, is_replay
from console.domain.sales import orders_csv
from console.domain.selling import refusal
from console.domain.words import counted
from console.errors import ProtocolError, ShopcastError
from media.capture import Capture
from media.webrtc import Broadcast
from widgets.alerts import ask, tell
from widgets.chat_dock import ChatDock
from widgets.chat_model import ChatEntry
from widgets.formats_dock import SellingDock
from widgets.orders_window import OrdersWindow
from widgets.preview import VideoPreview
from widgets.products_dock import ProductsDock
from widgets.profile_dock import ProfileController, ProfileDock
from widgets.pulse_dock import PulseDock, select_question_group
from widgets.sales_dock import SalesDock
from widgets.show_dock import ShowDock
from widgets.stream_controls import StreamControls
from widgets.stream_settings import (
    LiveMedia,
    StreamSettingsDialog,
    recordings_folder,
    whip_target,
    whip_vp8,
)
from widgets.team_console import TeamConsole
from widgets.team_dialog import StaffAccessDialog
from widgets.theme import THEMES, Theme, apply_theme

log = logging.getLogger(__name__)

#: Raised when the default arrangement of the docks changes. A layout saved by an older
#: console is then not restored: one saved before the team's docks were tabbed together
#: stacked the Viewer, Moderation and Questions docks into a window 1,281 px tall, taller
#: than a 1080p screen. Version 3 gives the chat most of its column (at 1444x850 it showed
#: four lines under an empty Viewer panel). Version 4 adds the Selling dock, a tab
#: beside On stream and Sales.
LAYOUT_VERSION = 4

_DEAL_END_TEXT = {
    "time": "The deal's time ran out.",
    "sold": "Every deal unit sold: the deal ended.",
    "host": "Deal ended.",
}


class MainWindow(QMainWindow):
    closed = Signal()
    #: Thread-safe way for the capture thread to report a source problem.
    source_error = Signal(str)
    #: Thread-safe way for the capture threads to name the sources now in use.
    source_changed = Signal(str)

    def __init__(
        self,
        client: StaffClient,
        capture: Capture | None,
        viewer_url: str,
        settings: QSettings,
        broadcast: Broadcast | None,
        set_live: Callable[[bool], Awaitable[None]] | None,
        host_token: str | None = None,
    ) -> None:
        """``capture``, ``broadcast`` and ``set_live`` are None in a remote staff console
        (``--connect``): the host's machine runs the stream; this one runs its part of
        the show."""
        super().__init__()
        self.host_token = host_token
        self.setWindowTitle("Shopcast")
        self.setObjectName("main-window")
        self.client = client
        self._settings = settings
        self._tasks: set[asyncio.Task[Any]] = set()
        self._catalogue_loaded = False
        self.viewer_url = viewer_url
        self.network = QNetworkAccessManager(self)

        self.stream: StreamControls | None = None
        self.preview: VideoPreview | None = None
        #: The hub's latest ``playout`` and ``sfu_viewers``, for stream controls that
        #: come after the welcome that carried them (``attach_stream``).
        self._video_figures: dict[type, protocol.Playout | protocol.SfuViewers] = {}
        if capture is not None and broadcast is not None and set_live is not None:
            central = QWidget(self)
            column = QVBoxLayout(central)
            column.setContentsMargins(8, 8, 8, 8)
            column.addLayout(self._build_header(central))
            self._add_stream(column, central, capture, broadcast, set_live)
            self.setCentralWidget(central)
        else:
            # A remote staff console has no video: the docks take the whole window, and
            # the room's header sits in a fixed bar above them.
            bar = QToolBar("Room", self)
            bar.setObjectName("room-bar")
            bar.setMovable(False)
            header = QWidget(bar)
            header.setLayout(self._build_header(header))
            bar.addWidget(header)
            self.addToolBar(bar)

        self.chat = ChatDock(self)
        self.chat.viewer_activated.connect(self.open_profile)
        self.chat.send_requested.connect(self._send_comment)
        self.chat.feature_requested.connect(
            lambda seq: self.command(protocol.Feature(comment_seq=seq), "Comment featured.")
        )
        self.products = ProductsDock(self.network, self)
        self.products.model.image_base = viewer_url + "images/"
        self.products.pin_requested.connect(self.pin)
        self.products.shelf_requested.connect(lambda pid: self.show_dock.add_to_shelf(pid))
        self.products.import_requested.connect(self.import_products)
        self.products.variants.edit_requested.connect(self._edit_variant)
        self.products.variants.edit_failed.connect(
            lambda text: self.statusBar().showMessage(text, 8000)
        )
        self.show_dock = ShowDock(self)
        self._connect_show_dock()
        self.sales = SalesDock(self)
        self.sales.export_requested.connect(self.export_orders)
        self.sales.orders_requested.connect(self.open_orders)
        self.selling = SellingDock(settings, self)
        self.selling.command.connect(self.sell)
        self.orders_window = OrdersWindow(self)
        self.orders_window.export_requested.connect(self.export_orders)
        self.orders_window.refresh_requested.connect(lambda: self._spawn(self._fill_orders()))
        self.profile = ProfileDock(self)
        for dock, width in (
            (self.products, 300),
            (self.chat, 300),
            (self.profile, 300),
            (self.show_dock, 280),
            (self.sales, 280),
            (self.selling, 280),
        ):
            dock.setMinimumWidth(width)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.products)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.show_dock)
        self.tabifyDockWidget(self.show_dock, self.sales)
        self.tabifyDockWidget(self.sales, self.selling)
        self.show_dock.raise_()
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.chat)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.profile)

        self.connection = QLabel("Connecting…", self)
        self.connection.setAccessibleName("Connection state")
        self.statusBar().addPermanentWidget(self.connection)
        self.modes_label = QLabel("", self)
        self.modes_label.setAccessibleName("Chat modes")
        self.statusBar().addPermanentWidget(self.modes_label)
        self.source_label = QLabel(f"Source: {capture.name}" if capture else "", self)
        self.statusBar().addPermanentWidget(self.source_label)
        self.source_error.connect(self._show_source_error)
        self.source_changed.connect(self._show_source)
        #: The running sources, for Stream settings to switch live (set by the console).
        self.media: LiveMedia | None = None

        self.team = TeamConsole(self, _ws_url(viewer_url))
        self.profiles = ProfileController(self)
        for tall in (self.team.questions, self.profile):
            _scrolls_when_short(tall)
        self.pulse = PulseDock(self)
        self._connect_pulse()
        self._build_menus()
        #: Shown instead of the docks until the hub first welcomes a remote console.
        self.waiting: QLabel | None = None
        #: Set when closing was confirmed (or needs no question: a signal).
        self._may_close = False
        #: The "End the show and quit?" question while it is open.
        self.quit_question: QMessageBox | None = None
        self.setTabOrder(self.url_field, self.copy_button)
        self.setTabOrder(self.copy_button, self.open_button)
        self.setTabOrder(self.open_button, self.products.search)
        self.setTabOrder(self.products.search, self.products.table)
        self.setTabOrder(self.products.table, self.chat.view)
        self.setTabOrder(self.chat.view, self.chat.input)
        self.setTabOrder(self.chat.input, self.chat.send_button)
        self._restore()
        if self.stream is None:
            self._wait_for_welcome()

    # ------------------------------------------------------------ building

    def _add_stream(
        self,
        column: QVBoxLayout,
        parent: QWidget,
        capture: Capture,
        broadcast: Broadcast,
        set_live: Callable[[bool], Awaitable[None]],
    ) -> StreamControls:
        self.stream = StreamControls(broadcast, set_live, parent)
        self.stream.whip_target = lambda: whip_target(self._settings)
        self.stream.whip_vp8 = lambda: whip_vp8(self._settings)
        self.stream.recordings_folder = lambda: recordings_folder(self._settings)
        column.addWidget(self.stream)
        self.preview = VideoPreview(capture, parent)
        self.preview.product_dropped.connect(self.pin)
        column.addWidget(self.preview, 1)
        return self.stream

    def attach_stream(
        self,
        capture: Capture,
        broadcast: Broadcast,
        set_live: Callable[[bool], Awaitable[None]],
    ) -> StreamControls:
        """A remote host console's own camera and stream, once the hub said where it
        publishes (``welcome.whip``, after ``_welcomed``): the stream controls and the
        preview take the middle of the window, and the Stream menu appears."""
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(8, 8, 8, 8)
        stream = self._add_stream(column, central, capture, broadcast, set_live)
        for figure in self._video_figures.values():
            self._show_video_figure(stream, figure)
        self.setCentralWidget(central)
        self.menuBar().insertMenu(self._view_menu.menuAction(), self._stream_menu(stream))
        self.source_label.setText(f"Source: {capture.name}")
        return stream

    @staticmethod
    def _show_video_figure(
        stream: StreamControls, figure: protocol.Playout | protocol.SfuViewers
    ) -> None:
        if isinstance(figure, protocol.Playout):
            stream.set_playout(figure)
        else:
            stream.set_sfu_viewers(figure.count)

    def _stream_menu(self, stream: StreamControls) -> QMenu:
        """What OBS keeps in its Controls: the show's own switches, with their keys."""
        stream_menu = QMenu("&Stream", self)
        stream_menu.addAction(stream.live_action)
        stream_menu.addAction(stream.record_action)
        stream_menu.addSeparator()
        stream_settings = QAction("Stream &settings…", self)
        stream_settings.triggered.connect(self.open_stream_settings)
        stream_menu.addAction(stream_settings)
        return stream_menu

    def _build_header(self, parent: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        self.room_title = QLabel("Shopcast Live", parent)
        self.room_title.setObjectName("room-title")
        font = self.room_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.room_title.setFont(font)
        row.addWidget(self.room_title)
        self.viewer_count = QLabel("0 watching", parent)
        self.viewer_count.setObjectName("viewer-count")
        self.viewer_count.setAccessibleName("Viewers watching")
        row.addWidget(self.viewer_count)
        row.addStretch(1)
        label = QLabel("Viewer page:", parent)
        row.addWidget(label)
        self.url_field = QLineEdit(self.viewer_url, parent)
        self.url_field.setReadOnly(True)
        self.url_field.setAccessibleName("Viewer page address")
        self.url_field.setMinimumWidth(220)
        label.setBuddy(self.url_field)
        row.addWidget(self.url_field)
        self.copy_button = QPushButton("Copy", parent)
        self.copy_button.setAccessibleName("Copy viewer page address")
        self.copy_button.setToolTip("Copy the viewer page address (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy_viewer_url)
        row.addWidget(self.copy_button)
        self.open_button = QPushButton("Open", parent)
        self.open_button.setAccessibleName("Open viewer page in the browser")
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(self.viewer_url)))
        row.addWidget(self.open_button)
        return row

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        copy = QAction("&Copy viewer page address", self)
        copy.setShortcut(QKeySequence("Ctrl+Shift+C"))
        copy.triggered.connect(self.copy_viewer_url)
        file_menu.addAction(copy)
        team_action = QAction("&Team…", self)
        team_action.setShortcut(QKeySequence("Ctrl+Shift+T"))
        team_action.triggered.connect(self.team.open_team)
        file_menu.addAction(team_action)
        import_action = QAction("&Import products…", self)
        import_action.setShortcut(QKeySequence("Ctrl+I"))
        import_action.triggered.connect(self.import_products)
        file_menu.addAction(import_action)
        export_action = QAction("&Export orders (CSV)…", self)
        export_action.setShortcut(QKeySequence("Ctrl+E"))
        export_action.triggered.connect(self.export_orders)
        file_menu.addAction(export_action)
        orders_action = QAction("&Orders…", self)
        orders_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        orders_action.triggered.connect(self.open_orders)
        file_menu.addAction(orders_action)
        token_action = QAction("Staff &access…", self)
        token_action.triggered.connect(self.show_staff_access)
        file_menu.addAction(token_action)
        #: Shown only to a host: the others' roles may not run the show (the hub agrees).
        self._host_actions = [team_action, import_action, token_action]
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        # The platform's quit key; Ctrl+Q where it names none (a bare X server, offscreen).
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit)
        quit_action.setShortcuts(quit_keys or [QKeySequence("Ctrl+Q")])
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        if self.stream is not None:
            self.menuBar().addMenu(self._stream_menu(self.stream))

        view = self._view_menu = self.menuBar().addMenu("&View")
        for number, dock in enumerate(self._docks(), start=1):
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence(f"Alt+{number % 10}"))  # the tenth: Alt+0
            view.addAction(toggle)
        # Number keys pin the shelf's products; a text field with the focus keeps them.
        for number in range(1, 10):
            shortcut = QShortcut(QKeySequence(str(number)), self)
            shortcut.activated.connect(lambda n=number: self.show_dock.pin_shelf_slot(n))
        focus_chat = QAction("Focus chat input", self)
        focus_chat.setShortcut(QKeySequence("F6"))
        focus_chat.triggered.connect(lambda: self.chat.input.setFocus())
        view.addAction(focus_chat)
        find = QAction("Search products", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: self.products.search.setFocus())
        view.addAction(find)
        view.addSeparator()
        themes = QActionGroup(self)
        self.theme_actions: dict[Theme, QAction] = {}
        for theme in THEMES:
            action = QAction(f"{theme.title()} theme", self, checkable=True)
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
            themes.addAction(action)
            view.addAction(action)
            self.theme_actions[theme] = action

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Shopcast", self)
        about.triggered.connect(
            lambda: QMessageBox.about(
                self,
                "About Shopcast",
                f"Shopcast — a live-commerce host console.\nViewer page: {self.viewer_url}",
            )
        )
        help_menu.addAction(about)

    def _restore(self) -> None:
        self.resize(1320, 800)
        geometry = self._settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            if not screen.contains(self.frameGeometry()) or self.width() < 900:
                # Saved on a larger or another screen: start from the default again.
                self.resize(min(1320, screen.width()), min(800, screen.height()))
        state = self._settings.value("window/state")
        if not (isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)):
            self._default_layout()
        theme = self._settings.value("theme", "dark")
        self.set_theme(theme if theme in THEMES else "dark")

    def _default_layout(self) -> None:
        """Give the chat most of its column and the products most of theirs.

        The Viewer panel stays a tab behind Moderation until a name is clicked (which
        raises it): empty, it took a third of the window and left the chat four lines.
        """
        self.resizeDocks([self.products, self.chat], [380, 420], Qt.Orientation.Horizontal)
        tall = max(self.height(), 600)
        self.resizeDocks(
            [self.products, self.show_dock],
            [tall * 11 // 20, tall * 9 // 20],
            Qt.Orientation.Vertical,
        )
        self.resizeDocks(
            [self.chat, self.team.moderation], [tall * 2 // 3, tall // 3], Qt.Orientation.Vertical
        )
        self.team.moderation.raise_()

    def set_theme(self, theme: Theme) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.theme_actions[theme].setChecked(True)
        self._settings.setValue("theme", theme)

    # ------------------------------------------------------------ from the hub

    def on_messages(self, messages: list[protocol.ServerMessage]) -> None:
        """Route one frame's messages; comments and public answers go to the chat as one
        batch.

        The frame that starts with ``welcome`` is the room's history (``is_replay``): it
        fills the docks but raises no notice, since a deal that ended before this console
        joined, or a deletion last week, is not news.
        """
        replayed = is_replay(messages)
        notice = ""
        chat: list[ChatEntry] = []
        orders: list[protocol.OrderPlaced] = []
        erased: list[protocol.Erased] = []
        for message in messages:
            match message:
                case protocol.Comment():
                    chat.append(message)
                case protocol.Answer():
                    self.team.route(message)
                    if not message.private:
                        chat.append(message)
                case protocol.ShowState():
                    self.show_dock.apply(message)
                    self.selling.apply_show(message)
                    if self.preview is not None:
                        self.preview.show_state(message, self.show_dock.clock_offset)
                case protocol.Stock():
                    self.products.set_stock(message.product_id, message.sku, message.stock)
                    self.show_dock.set_stock(message.product_id, message.sku, message.stock)
                    self.selling.set_stock(message.product_id, message.sku, message.stock)
                    if self.preview is not None:
                        self.preview.set_stock(message.product_id, message.sku, message.stock)
                case protocol.OrderPlaced():
                    orders.append(message)
                case protocol.ClaimsMode():
                    self.selling.set_claims(message)
                case (
                    protocol.ClaimCard()
                    | protocol.ClaimEnded()
                    | protocol.ClaimWaiting()
                    | protocol.ClaimWaitEnded()
                ):
                    self.selling.claim_changed(message)
                case protocol.AuctionState() | protocol.AuctionBid():
                    self.selling.auction_changed(message)
                case protocol.GiveawayState() | protocol.GiveawayEntry():
                    self.selling.giveaway_changed(message)
                case protocol.DealEnded():
                    self.show_dock.deal_ended(message.product_id)
                    notice = _DEAL_END_TEXT.get(message.reason, "Deal ended.")
                case protocol.ReviewAdded():
                    self.show_dock.add_review(message.product_id, message.review)
                case protocol.Erased():
                    self.team.route(message)
                    erased.append(message)
                case protocol.Welcome():
                    if message.history_truncated:
                        self.chat.clear()
                    self.room_title.setText(message.room_title)
                    self._set_viewers(message.viewers)
                    self.show_dock.set_clock(message.now)
                    self.selling.set_clock(message.now)
                    self.team.joined(message)
                    if not self._catalogue_loaded:
                        self._spawn(self._load_catalogue())
                        if message.role in ("host", "agent"):
                            self._spawn(self._load_orders())
                case protocol.Viewers():
                    self._set_viewers(message.count)
                case protocol.Playout() | protocol.SfuViewers():
                    self._video_figures[type(message)] = message
                    if self.stream is not None:
                        self._show_video_figure(self.stream, message)
                case _ if self.team.route(message):
                    notice = self.team.notice(message) or notice
                case protocol.Error():
                    notice = message.message
        if orders:
            self.sales.add_orders(orders)
            self.orders_window.order_arrived()
        if chat:
            self.chat.add_comments(chat)
        for gone in erased:  # after the batch: it may hold their last words
            self.chat.erase(gone.comments, gone.name)
            self.sales.erase(gone.orders, gone.name)
        if notice and not replayed:
            self.statusBar().showMessage(notice, 8000)
        self.profiles.follow(messages)
        self.pulse.add_messages(messages)

    def on_connection_state(self, state: State, text: str) -> None:
        """Show the session's state; it is called from the session's task, so no dialog
        may run here (see ``widgets.alerts``)."""
        self.connection.setText(text)
        if state == "connected" and self.waiting is not None:
            self._welcomed()
        elif state == "failed":
            text = f"Cannot join the show at {self.client.url}: {text}"
            self.connection.setText("Not connected.")
            self.statusBar().showMessage(text)
        if self.waiting is not None:
            self.waiting.setText(text)

    def _wait_for_welcome(self) -> None:
        """A remote console shows nothing of a role before the hub says which it is.

        A wrong token or an unreachable hub otherwise left a full host layout ("Say
        something to the room as host…") behind the error. The hub's welcome lays the
        window out for the role (``TeamConsole.joined``).
        """
        self.waiting = QLabel(f"Connecting to {self.client.url}…", self)
        self.waiting.setObjectName("waiting-for-hub")
        self.waiting.setAccessibleName("Connection to the hub")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waiting.setWordWrap(True)
        self.waiting.setMargin(24)
        self.waiting.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setCentralWidget(self.waiting)
        for dock in self._docks():
            dock.hide()
        self.set_host_actions(False)

    def _welcomed(self) -> None:
        waiting, self.waiting = self.waiting, None
        if waiting is not None and self.takeCentralWidget() is waiting:
            waiting.deleteLater()

    def _docks(self) -> tuple[QDockWidget, ...]:
        return (
            self.chat,
            self.products,
            self.profile,
            self.show_dock,
            self.sales,
            self.team.moderation,
            self.team.questions,
            self.profiles.viewer_list,
            self.pulse,
            self.selling,
        )

    def _set_viewers(self, count: int) -> None:
        self.viewer_count.setText(f"{count} watching")

    def _show_source_error(self, text: str) -> None:
        """The reason stays on the source label (``source_changed`` names the stand-in)."""
        self.statusBar().showMessage(text, 15000)
        self.source_label.setToolTip(text)

    def _show_source(self, names: str) -> None:
        self.source_label.setText(f"Source: {names}")
        self.source_label.setToolTip("")

    # ------------------------------------------------------------ actions

    def set_host_actions(self, enabled: bool) -> None:
        for action in self._host_actions:
            action.setVisible(enabled)

    def open_stream_settings(self) -> None:
        dialog = StreamSettingsDialog(self._settings, self, self.media)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def copy_viewer_url(self) -> None:
        QGuiApplication.clipboard().setText(self.viewer_url)
        self.statusBar().showMessage(f"Copied {self.viewer_url}", 4000)

    def open_profile(self, viewer_id: str) -> None:
        self.profiles.open(viewer_id)

    async def _load_catalogue(self) -> None:
        reply = await self.client.request(protocol.GetCatalogue())
        if isinstance(reply, protocol.Catalogue):
            self.products.set_products(reply.products)
            self.pulse.set_products(reply.products)
            self._catalogue_loaded = True

    async def _load_orders(self) -> None:
        reply = await self.client.request(protocol.GetOrders())
        if isinstance(reply, protocol.Orders):
            self.sales.load(reply.orders)

    # ------------------------------------------------------------ running the show

    def _connect_show_dock(self) -> None:
        dock = self.show_dock
        dock.pin_requested.connect(self.pin)
        dock.unpin_requested.connect(lambda: self.command(protocol.Unpin(), "Unpinned."))
        dock.shelf_requested.connect(
            lambda ids: self.command(protocol.SetShelf(products=ids), "Shelf updated.")
        )
        dock.deal_requested.connect(
            lambda price, seconds, cap: self.command(
                protocol.StartDeal(price=price, seconds=seconds, max_units=cap or None),
                "Deal started.",
            )
        )
        dock.end_deal_requested.connect(lambda: self.command(protocol.EndDeal(), "Deal ended."))
        dock.feature_review_requested.connect(
            lambda rid: self.command(protocol.Feature(review_id=rid), "Review featured.")
        )
        dock.clear_featured_requested.connect(
            lambda: self.command(protocol.Feature(), "Featured item cleared.")
        )
        dock.message.connect(lambda text: self.statusBar().showMessage(text, 6000))

    def _connect_pulse(self) -> None:
        """The Room pulse sits behind Sales and comes to the front with an alert."""
        pulse = self.pulse
        pulse.setMinimumWidth(300)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, pulse)
        self.tabifyDockWidget(self.sales, pulse)
        pulse.pin_requested.connect(self.pin)
        pulse.answer_requested.connect(self.select_top_question)
        pulse.deal_requested.connect(self._set_up_deal)
        pulse.alert_raised.connect(self._pulse_alert)

    def _pulse_alert(self, text: str) -> None:
        if self.pulse.toggleViewAction().isChecked():  # shown for the role, maybe behind a tab
            self.pulse.raise_()
        self.statusBar().showMessage(text, 30000)

    def select_top_question(self, key: str) -> None:
        """The alert's "answer the top question": that question, selected for an agent."""
        questions = self.team.questions
        questions.show()
        questions.raise_()
        if not select_question_group(questions, key):
            self.statusBar().showMessage(
                "That question is no longer waiting: refresh the Questions dock.", 6000
            )

    def _set_up_deal(self, product_id: str) -> None:
        self.show_dock.show()
        self.show_dock.raise_()
        self.statusBar().showMessage("Set the deal's price and time in On stream.", 6000)

    def pin(self, product_id: str) -> None:
        product = self.products.model.product_by_id(product_id)
        title = product.title if product is not None else product_id
        self.show_dock.confirm_pin(
            product_id,
            title,
            lambda end_deal: self.command(
                protocol.Pin(product=product_id, end_deal=end_deal), f"Pinned {title}."
            ),
        )

    def command(self, message: protocol.ClientMessage, done: str) -> None:
        """Send a staff command; its outcome shows in the status bar."""
        self._spawn(self._command(message, done))

    async def _command(self, message: protocol.ClientMessage, done: str) -> None:
        try:
            await self.client.request(message)
        except ShopcastError as exc:
            self.statusBar().showMessage(f"Not done: {exc}", 10000)
            return
        self.statusBar().showMessage(done, 4000)

    def sell(self, message: protocol.ClientMessage, done: str, refused: str) -> None:
        """A Selling dock command; its outcome shows in the dock (and the status bar)."""
        self._spawn(self._sell(message, done, refused))

    async def _sell(self, message: protocol.ClientMessage, done: str, refused: str) -> None:
        try:
            await self.client.request(message)
        except ShopcastError as exc:
            code = exc.code if isinstance(exc, ProtocolError) else None
            text = refusal(refused, code, str(exc))
            self.selling.report(False, text)
            self.statusBar().showMessage(text, 10000)
            return
        self.selling.report(True, done)
        self.statusBar().showMessage(done, 4000)

    def _edit_variant(self, sku: str, price: int | None, stock: int | None) -> None:
        self._spawn(self._update_variant(sku, price, stock))

    async def _update_variant(self, sku: str, price: int | None, stock: int | None) -> None:
        try:
            await self.client.request(protocol.UpdateVariant(sku=sku, price=price, stock=stock))
        except ShopcastError as exc:
            self.statusBar().showMessage(f"Not saved: {exc}", 10000)
            return
        await self._load_catalogue()
        self.statusBar().showMessage(f"Saved {sku}.", 4000)

    def import_products(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import products",
            str(self._settings.value("import/folder", "")),
            "Shopify CSV or Shopcast JSON (*.csv *.json);;All files (*)",
        )
        if path:
            self._settings.setValue("import/folder", str(Path(path).parent))
            self._spawn(self.import_file(Path(path)))

    async def import_file(self, path: Path) -> protocol.ImportResult | None:
        """Send a file to the hub's importer and report what it did, row by row."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.statusBar().showMessage(f"Cannot read {path.name}.", 8000)
            self.import_report = tell(self, "Cannot read the file", f"{path}: {exc}")
            return None
        kind = "json" if path.suffix.lower() == ".json" else "shopify_csv"
        self.statusBar().showMessage(f"Importing {path.name}…")
        try:
            reply = await self.client.request(
                protocol.ImportCatalogue(format=kind, data=text), timeout=60
            )
        except ShopcastError as exc:
            self.statusBar().showMessage(f"Nothing was imported from {path.name}.", 8000)
            self.import_report = tell(self, "Nothing was imported", str(exc))
            return None
        assert isinstance(reply, protocol.ImportResult)
        await self._load_catalogue()
        summary = (
            f"Imported {counted(reply.imported, 'product')} from "
            f"{counted(reply.rows, 'row')} of {path.name}."
        )
        self.statusBar().showMessage(summary, 8000)
        if reply.errors or reply.warnings:
            self.import_report = QMessageBox(self)
            self.import_report.setIcon(QMessageBox.Icon.Warning)
            self.import_report.setWindowTitle("Import report")
            failed = (
                f"\n{counted(len(reply.errors), 'row')} failed; their products were not imported."
                if reply.errors
                else ""
            )
            warned = (
                f"\n{len(reply.warnings)} rows imported with a warning." if reply.warnings else ""
            )
            self.import_report.setText(summary + failed + warned)
            self.import_report.setDetailedText(
                "\n".join(
                    [f"Line {e.line} ({e.handle}): {e.message}" for e in reply.errors]
                    + [f"Line {e.line} ({e.handle}), warning: {e.message}" for e in reply.warnings]
                )
            )
            self.import_report.open()
        return reply

    def open_orders(self) -> None:
        self.orders_window.show()
        self.orders_window.raise_()
        self.orders_window.search.setFocus()
        self._spawn(self._fill_orders())

    async def _fill_orders(self) -> None:
        try:
            reply = await self.client.request(protocol.GetOrders(limit=10_000), timeout=30)
        except ShopcastError as exc:
            self.statusBar().showMessage(f"Orders not loaded: {exc}", 8000)
            return
        if isinstance(reply, protocol.Orders):
            self.orders_window.set_orders(reply.orders)

    def export_orders(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export orders", f"shopcast-orders-{time.strftime('%Y%m%d')}.csv", "CSV (*.csv)"
        )
        if path:
            self._spawn(self.export_orders_to(Path(path)))

    async def export_orders_to(self, path: Path) -> None:
        try:
            reply = await self.client.request(protocol.GetOrders(limit=1_000_000), timeout=60)
        except ShopcastError as exc:
            tell(self, "Orders not exported", str(exc))
            return
        assert isinstance(reply, protocol.Orders)
        try:
            path.write_text(orders_csv(reply.orders), encoding="utf-8")
        except OSError as exc:
            tell(
                self,
                "Orders not exported",
                f"Cannot write {path} ({exc.strerror}); choose another folder.",
            )
            return
        self.statusBar().showMessage(f"Exported {len(reply.orders)} orders to {path}.", 8000)

    def show_staff_access(self) -> StaffAccessDialog:
        """The host token and its command line, with a button that replaces it.

        One dialog, opened (never exec()'d) and kept for the next time; the replacement
        runs as a task: the hub revokes the old token and closes the other consoles on it,
        this one goes on with the new."""
        dialog = self.findChild(StaffAccessDialog)
        if dialog is not None:
            dialog.open()
            return dialog
        dialog = StaffAccessDialog(self.client.url, self.host_token, self)

        async def replace() -> None:
            try:
                reply = await self.client.request(protocol.ReplaceHostToken())
            except ShopcastError as exc:
                dialog.failed(str(exc))
                return
            assert isinstance(reply, protocol.HostToken)
            self.host_token = reply.token
            self.client.use_token(reply.token)
            dialog.replaced(reply.token)

        dialog.replace_requested.connect(lambda: self._spawn(replace()))
        dialog.open()
        return dialog

    def _send_comment(self, text: str) -> None:
        self._spawn(self._post(text))

    async def _post(self, text: str) -> None:
        try:
            await self.client.request(protocol.SendComment(text=text))
        except ShopcastError as exc:
            self.statusBar().showMessage(f"Not sent: {exc}", 8000)
            return
        self.chat.sent()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("console task failed", exc_info=task.exception())
            self.statusBar().showMessage(f"Something went wrong: {task.exception()}", 8000)

    # ------------------------------------------------------------ closing

    def close_now(self) -> None:
        """Close without asking, live or not: SIGINT/SIGTERM must end the console."""
        self._may_close = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Quitting a live show asks first; the window closes for real once confirmed.

        The question is opened, not exec()'d: Ctrl+Q may come while a task runs.
        """
        if self.stream is not None and self.stream.live and not self._may_close:
            event.ignore()
            if self.quit_question is None:
                self.quit_question = ask(
                    self,
                    "End the show and quit?",
                    "The show is live: quitting ends it for every viewer.",
                    "End show and quit",
                    "Keep streaming",
                    self.close_now,
                )
                self.quit_question.finished.connect(self._quit_question_closed)
            return
        self._settings.setValue("window/geometry", self.saveGeometry())
        if self.waiting is None:
            # A console never welcomed has hidden its docks: keep the layout saved before.
            self._settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self._settings.sync()
        for task in self._tasks:
            task.cancel()
        # Idle keep-alive sockets to the hub would outlive the window otherwise.
        self.network.clearConnectionCache()
        event.accept()
        self.closed.emit()

    def _quit_question_closed(self) -> None:
        self.quit_question = None


def _scrolls_when_short(dock: QDockWidget) -> None:
    """Let a tall dock scroll rather than take its full height from the chat above it.

    Tabbed under the chat, the Questions dock (390 px laid out in full) and the Viewer
    panel (312 px) set the tab group's minimum and left the chat half its column.
    """
    scroll = QScrollArea(dock)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(dock.widget())
    dock.setWidget(scroll)


def _ws_url(viewer_url: str) -> str:
    """The hub's ``/ws`` address for a viewer page address (same host and port)."""
    scheme = "wss" if viewer_url.startswith("https:") else "ws"
    return scheme + viewer_url[viewer_url.index(":") :].rstrip("/") + "/ws"
