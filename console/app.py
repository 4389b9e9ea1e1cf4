"""The composition root of the console: store, hub, capture, staff session and window.

One process, one qasync loop: Qt events and asyncio (the hub's sockets, the staff
session) share the main thread; capture runs on a thread of its own.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from urllib.parse import urlsplit

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from console import protocol
from console.client import StaffClient, State
from console.errors import ShopcastError
from console.gc_tuning import tune_collector
from console.hub.auth import host_token_line
from console.hub.server import Hub, seed_demo_catalogue
from console.settings import Settings
from console.store import Store
from media.audio import AudioCapture
from media.capture import Capture
from media.ice import configure_ice_hosts
from media.webrtc import Broadcast
from widgets.alerts import tell
from widgets.gc_guard import GuiThreadCollector
from widgets.main_window import MainWindow
from widgets.shows_window import install as install_shows
from widgets.stream_controls import StreamControls
from widgets.stream_settings import LiveMedia, remembered_media

log = logging.getLogger(__name__)

#: Each shutdown step gets this long, so the whole exit stays well under 5 s.
STEP_TIMEOUT = 1.5


def run_console(settings: Settings) -> int:
    """Run the console window until it is closed or the process gets SIGINT/SIGTERM."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Shopcast")
    app.setOrganizationName("Shopcast")
    assert isinstance(app, QApplication)
    # The shutdown coroutine ends the loop; Qt must not stop it when the window closes.
    app.setQuitOnLastWindowClosed(False)
    tune_collector()
    collector = GuiThreadCollector(parent=app)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        try:
            return runner.run(_serve_remote(settings) if settings.connect else _serve(settings))
        finally:
            collector.stop()


class _Ending:
    """The console's end: its window closed, or SIGINT/SIGTERM, from the loop's first moment.

    The handlers are installed before anything can wait (the store, the port, a message
    box), so Ctrl+C is never held up: it waited up to 10 s behind the "cannot start" box.
    A signal closes the window without the live show's question.
    """

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self._window: MainWindow | None = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.now)

    def watch(self, window: MainWindow) -> None:
        self._window = window
        window.closed.connect(self.done.set)

    def now(self) -> None:
        if self._window is not None:
            self._window.close_now()
        self.done.set()


async def _cannot_start(exc: ShopcastError, ending: _Ending) -> int:
    """Say why on the terminal at once, and in a box until it is closed or a signal comes.

    The box is opened, not exec()'d: a modal loop inside this coroutine kept the terminal
    silent and Ctrl+C waiting until the box was closed.
    """
    print(f"shopcast: {exc}", file=sys.stderr, flush=True)
    box = tell(None, "Shopcast cannot start", str(exc), QMessageBox.Icon.Critical)
    box.finished.connect(ending.done.set)
    await ending.done.wait()
    return 2


class _RemoteStream:
    """A remote host console's own stream, made when the hub hands it a WHIP endpoint
    (``welcome.whip``: a headless hub whose viewers watch through an SFU).

    Going live publishes to that endpoint; the hub, not this console, says the show is
    live, once Janus has the publisher (``console.hub.sfu``). Nothing is captured before
    the welcome: an agent's or moderator's console never opens a camera.
    """

    def __init__(self, settings: Settings, qsettings: QSettings) -> None:
        self._settings = settings
        self._qsettings = qsettings
        self.broadcast: Broadcast | None = None
        self._capture: Capture | None = None
        self._audio: AudioCapture | None = None
        self._stream: StreamControls | None = None

    def attach(self, window: MainWindow, whip: protocol.WhipTarget) -> None:
        if self.broadcast is not None:
            return
        settings = self._settings
        configure_ice_hosts(settings.ice_hosts or None)
        chosen = remembered_media(
            self._qsettings, video=settings.source, audio=settings.audio, preset=settings.preset
        )

        def name_sources(_name: str) -> None:
            window.source_changed.emit(media.describe())

        self._capture = Capture(
            chosen.video, on_error=window.source_error.emit, on_source=name_sources
        )
        self._audio = AudioCapture(
            chosen.audio, on_error=window.source_error.emit, on_source=name_sources
        )
        broadcast = self.broadcast = Broadcast(
            self._capture, chosen.stream_preset(), audio=self._audio
        )
        media = LiveMedia(self._capture, self._audio, broadcast)
        window.media = media
        stream = self._stream = window.attach_stream(self._capture, broadcast, self.set_live)
        # The command line's --whip wins, as on the host's own machine.
        target = (
            (settings.whip_url, settings.whip_token)
            if settings.whip_url
            else (whip.url, whip.token)
        )
        stream.whip_target = lambda: target
        if settings.whip_vp8 is not None:
            vp8 = settings.whip_vp8
            stream.whip_vp8 = lambda: vp8
        log.info("publishing by WHIP to %s when live (handed out by the hub)", target[0])
        self._capture.start()
        self._audio.start()
        if settings.live:
            stream.toggle()

    async def set_live(self, live: bool) -> None:
        assert self.broadcast is not None
        if live:
            self.broadcast.start()
            if self._stream is not None:
                self._stream.start_outputs()
        else:
            await self.broadcast.stop()

    async def stop(self) -> None:
        if self.broadcast is not None:
            await _bounded(self.broadcast.stop(), "stream")
        if self._capture is not None:
            self._capture.stop()
        if self._audio is not None:
            self._audio.stop()


async def _serve_remote(settings: Settings, team_settings: QSettings | None = None) -> int:
    """A staff console on another machine: no hub, no store; the host's hub. A host's
    console gets a stream of its own when the hub says where to publish it.
    ``team_settings``: where its layout and media choices are kept."""
    ending = _Ending()
    window: MainWindow | None = None
    welcomed = False

    def on_state(state: State, text: str) -> None:
        nonlocal welcomed
        welcomed = welcomed or state == "connected"
        if state == "failed":
            log.error("Cannot join the show at %s: %s", settings.connect, text)
        elif state == "reconnecting" and not welcomed:
            log.warning("%s", text)
        else:
            log.info("%s", text)
        if window is not None:
            window.on_connection_state(state, text)

    def on_messages(messages: list[protocol.ServerMessage]) -> None:
        if window is None:
            return
        window.on_messages(messages)
        for message in messages:
            if isinstance(message, protocol.Welcome) and message.whip is not None:
                stream.attach(window, message.whip)

    client = StaffClient(
        settings.connect, settings.token, role="staff", on_messages=on_messages, on_state=on_state
    )
    # Its own settings file: a staff layout must not replace the host's on this machine.
    team_settings = team_settings or QSettings(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, "Shopcast", "Shopcast Team"
    )
    stream = _RemoteStream(settings, team_settings)
    window = MainWindow(client, None, _viewer_url(settings.connect), team_settings, None, None)
    ending.watch(window)
    client.start()
    window.show()
    try:
        await ending.done.wait()
        return 0
    finally:
        await stream.stop()
        await _bounded(client.close(), "staff session")


def _viewer_url(ws_url: str) -> str:
    """The viewer page of the hub at ``ws_url`` (same host and port, over http)."""
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}/"


async def _serve(settings: Settings) -> int:
    ending = _Ending()
    try:
        store = Store.open(settings.data_dir)
    except ShopcastError as exc:
        return await _cannot_start(exc, ending)
    hub: Hub | None = None
    capture: Capture | None = None
    audio: AudioCapture | None = None
    broadcast: Broadcast | None = None
    client: StaffClient | None = None
    try:
        seed_demo_catalogue(store)
        window: MainWindow | None = None
        early_errors: list[str] = []

        def report(message: str) -> None:
            log.warning("%s", message)
            if window is None:
                early_errors.append(message)
            else:
                window.source_error.emit(message)

        def name_sources(_name: str) -> None:
            if window is not None:
                window.source_changed.emit(media.describe())

        configure_ice_hosts(settings.ice_hosts or None)
        qsettings = QSettings()
        chosen = remembered_media(
            qsettings, video=settings.source, audio=settings.audio, preset=settings.preset
        )
        capture = Capture(chosen.video, on_error=report, on_source=name_sources)
        audio = AudioCapture(chosen.audio, on_error=report, on_source=name_sources)
        broadcast = Broadcast(capture, chosen.stream_preset(), audio=audio)
        media = LiveMedia(capture, audio, broadcast)
        hub = Hub(
            store,
            stream=broadcast,
            allowed_origins=settings.allowed_origins,
            trusted_proxies=settings.trusted_proxies,
        )
        try:
            await hub.start(settings.bind, settings.port)
        except ShopcastError as exc:
            return await _cannot_start(exc, ending)
        try:
            token = hub.host_token()
        except ShopcastError as exc:
            return await _cannot_start(exc, ending)
        print(f"Viewer page: {hub.viewer_url}", flush=True)
        line = host_token_line(token, settings.data_dir, shown=settings.print_token, window=True)
        print(line, flush=True)

        reports: set[asyncio.Task[None]] = set()

        async def report_show() -> None:
            """Imported here, so matplotlib costs nothing until a show ends."""
            from console.report import report_ended_show

            files = await report_ended_show(settings.data_dir)
            if files:
                print(f"Show report: {files[0]}", flush=True)

        async def set_live(live: bool) -> None:
            if live:
                broadcast.start()
                hub.set_live(True)
                if window is not None and window.stream is not None:
                    window.stream.start_outputs()
            else:
                hub.set_live(False)
                task = asyncio.create_task(report_show())
                reports.add(task)
                task.add_done_callback(reports.discard)
                await broadcast.stop()

        client = StaffClient(
            hub.local_ws_url,
            token,
            role="host",
            on_messages=lambda messages: window.on_messages(messages) if window else None,
            on_state=lambda state, text: (
                window.on_connection_state(state, text) if window else None
            ),
        )
        window = MainWindow(
            client, capture, hub.viewer_url, qsettings, broadcast, set_live, host_token=token
        )
        window.media = media
        window.source_changed.emit(media.describe())
        install_shows(window, settings.data_dir)  # File > Shows… (Ctrl+Shift+H)
        ending.watch(window)
        assert window.stream is not None, "a console with a stream has stream controls"
        if settings.record is not None:
            window.stream.record_target = settings.record
            window.stream.record_on_live = True
        if settings.whip_url:
            whip = (settings.whip_url, settings.whip_token)
            window.stream.whip_target = lambda: whip
        if settings.whip_vp8 is not None:
            vp8 = settings.whip_vp8
            window.stream.whip_vp8 = lambda: vp8
        for message in early_errors:
            window.source_error.emit(message)
        capture.start()
        audio.start()
        client.start()
        window.show()
        if settings.live:
            await set_live(True)
        await ending.done.wait()
        log.info("console closing")
        return 0
    finally:
        if broadcast is not None:
            if hub is not None:
                hub.set_live(False)
            await _bounded(broadcast.stop(), "stream")
        if client is not None:
            await _bounded(client.close(), "staff session")
        if hub is not None:
            await _bounded(hub.stop(), "hub")
        if capture is not None:
            capture.stop()
        if audio is not None:
            audio.stop()
        store.close()


async def _bounded(step: object, what: str) -> None:
    try:
        await asyncio.wait_for(step, STEP_TIMEOUT)  # type: ignore[arg-type]
    except TimeoutError:
        log.warning("%s did not stop within %.1f s; going on", what, STEP_TIMEOUT)
