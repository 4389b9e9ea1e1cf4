"""Stream settings: what the show is made of and where it goes besides the viewer page.

The video source, the audio source, the quality preset and its bitrate are picked here,
the folder recordings go to, and a WHIP server the show is published to (with, unless
turned off, a second video stream in VP8 for an SFU's viewers without H.264). The
values are remembered in the console's QSettings, like the theme, and used at the next
start; the command line (``--source``, ``--audio``, ``--preset``, ``--record``,
``--whip``, ``--whip-token``, ``--[no-]whip-vp8``) wins over them. While the console
runs, a new source takes over at once; a new quality or bitrate applies the next time
the show goes live, since viewers' players cannot follow a resolution change
mid-stream. The token is shown masked, as a password is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from media.audio import AudioCapture, audio_sources, default_audio_spec
from media.capture import Capture
from media.encoder import MAX_BITRATE, MIN_BITRATE, PRESETS, Preset
from media.source import SourceChoice, camera_label, default_video_spec, video_sources
from media.webrtc import Broadcast
from widgets.stream_controls import default_recordings_folder

WHIP_URL = "whip/url"
WHIP_TOKEN = "whip/token"
#: Whether WHIP also publishes the VP8 rendition as a second video stream.
WHIP_VP8 = "whip/vp8"
VIDEO_SOURCE = "media/video"
AUDIO_SOURCE = "media/audio"
QUALITY = "media/preset"
#: One bitrate per preset (``media/bitrate/720p``): 3 Mb/s suits 720p, not 360p.
BITRATE = "media/bitrate/{preset}"
RECORDINGS_FOLDER = "recording/folder"
DEFAULT_PRESET = "720p"
#: The bitrate picker's step, in bits per second.
BITRATE_STEP = 100_000
#: The video picker's last entry, which asks for a file instead of being a source.
CHOOSE_FILE = "choose-file"
VIDEO_FILES = "Video files (*.mp4 *.mkv *.mov *.webm *.avi *.m4v);;All files (*)"


def whip_target(settings: QSettings) -> tuple[str, str]:
    """The remembered WHIP endpoint and token; an empty URL means no WHIP."""
    return str(settings.value(WHIP_URL, "") or ""), str(settings.value(WHIP_TOKEN, "") or "")


def whip_vp8(settings: QSettings) -> bool:
    """Whether WHIP also publishes VP8; on unless the host turned it off. On by default:
    through Janus, a viewer whose browser has no H.264 (Debian's Firefox ESR) sees the
    show only this way, and a host expects every viewer to; the cost (a second encoder,
    a tenth to a third of a core at 720p) shows in the health line, and a server that
    takes one video stream gets H.264 alone by itself."""
    value = settings.value(WHIP_VP8, True)
    return value not in (False, "false", "0", 0)


def recordings_folder(settings: QSettings) -> Path:
    """Where a recording goes when no ``--record`` is given: the chosen folder, or
    Shopcast's folder in the user's videos."""
    chosen = str(settings.value(RECORDINGS_FOLDER, "") or "")
    return Path(chosen) if chosen else default_recordings_folder()


def remembered_bitrate(settings: QSettings, preset: str) -> int | None:
    """The bitrate chosen for ``preset``; None (the preset's own) when none was, or when
    the value stored is not one the encoder accepts (a hand-edited file)."""
    value = settings.value(BITRATE.format(preset=preset), None)
    try:
        bitrate = int(str(value))
    except ValueError:
        return None
    return bitrate if MIN_BITRATE <= bitrate <= MAX_BITRATE else None


@dataclass(frozen=True, slots=True)
class MediaChoice:
    """Source specs (``media.source``, ``media.audio``), a preset name and its bitrate.

    A ``None`` source means "pick for me": a camera or microphone if there is one; a
    ``None`` bitrate means the preset's own.
    """

    video: str | None
    audio: str | None
    preset: str
    bitrate: int | None = None

    def stream_preset(self) -> Preset:
        """What the encoder is given: the preset at the chosen bitrate."""
        return PRESETS[self.preset].at_bitrate(self.bitrate)


def remembered_media(
    settings: QSettings,
    *,
    video: str | None = None,
    audio: str | None = None,
    preset: str | None = None,
) -> MediaChoice:
    """The sources and quality to start with: what is given here (the command line's
    flags) wins over what the Stream settings remember."""
    remembered_preset = str(settings.value(QUALITY, "") or "")
    chosen = preset or (remembered_preset if remembered_preset in PRESETS else DEFAULT_PRESET)
    return MediaChoice(
        video=video or str(settings.value(VIDEO_SOURCE, "") or "") or None,
        audio=audio or str(settings.value(AUDIO_SOURCE, "") or "") or None,
        preset=chosen,
        bitrate=remembered_bitrate(settings, chosen),
    )


class LiveMedia:
    """The running captures and broadcast, as the Stream settings see and change them."""

    def __init__(self, capture: Capture, audio: AudioCapture, broadcast: Broadcast) -> None:
        self.capture, self.audio, self.broadcast = capture, audio, broadcast

    def running(self) -> MediaChoice:
        preset = self.broadcast.preset
        own = PRESETS[preset.name].bitrate
        return MediaChoice(
            self.capture.spec,
            self.audio.spec,
            preset.name,
            None if preset.bitrate == own else preset.bitrate,
        )

    def apply(self, choice: MediaChoice) -> None:
        """Switch to the chosen sources now; the preset and bitrate take effect at the
        next go-live."""
        if choice.video is not None and choice.video != self.capture.spec:
            self.capture.switch(choice.video)
        if choice.audio is not None and choice.audio != self.audio.spec:
            self.audio.switch(choice.audio)
        self.broadcast.preset = choice.stream_preset()

    def describe(self) -> str:
        """What the status bar shows: the sources in use now (stand-ins included)."""
        return " · ".join(
            name[:1].upper() + name[1:] for name in (self.capture.name, self.audio.name)
        )


def _label(spec: str, kind: str) -> str:
    """A readable name for a source the pickers do not list (a file, a camera unplugged)."""
    source, _, arg = spec.partition(":")
    if source == "file":
        return f"{kind.capitalize()} file {Path(arg).name}"
    if source == "camera" and arg:
        return camera_label(arg)
    if source == "mic":
        return f"Microphone {arg or 'default'}"
    if source == "screen":
        return f"Screen {arg if arg.startswith(':') or not arg else ':' + arg}".strip()
    return spec


def _fill(combo: QComboBox, choices: list[SourceChoice], current: str, kind: str) -> None:
    """List ``choices`` and select ``current``, adding it when the machine lacks it now."""
    for choice in choices:
        combo.addItem(choice.label, choice.spec)
    index = combo.findData(current)
    if index < 0:
        combo.addItem(_label(current, kind), current)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


class StreamSettingsDialog(QDialog):
    def __init__(
        self,
        settings: QSettings,
        parent: QWidget | None = None,
        media: LiveMedia | None = None,
    ) -> None:
        """Show what runs now (``media``), or else what is remembered."""
        super().__init__(parent)
        self.setWindowTitle("Stream settings")
        self._settings = settings
        self._media = media
        shown = media.running() if media is not None else remembered_media(settings)
        form = QFormLayout(self)

        self.video = QComboBox(self)
        self.video.setAccessibleName("Video source")
        _fill(self.video, video_sources(), shown.video or default_video_spec(), "video")
        self.video.addItem("Video file…", CHOOSE_FILE)
        self.video.currentIndexChanged.connect(self._video_changed)
        self.video.activated.connect(self._video_activated)
        self._video_index = self.video.currentIndex()
        form.addRow("&Video source:", self.video)

        self.audio = QComboBox(self)
        self.audio.setAccessibleName("Audio source")
        _fill(self.audio, audio_sources(), shown.audio or default_audio_spec(), "audio")
        form.addRow("&Audio source:", self.audio)

        self.quality = QComboBox(self)
        self.quality.setAccessibleName("Quality preset")
        for preset in PRESETS.values():
            label = f"{preset.name} ({preset.width}x{preset.height}, {preset.fps} fps)"
            if preset.height >= 1080:
                label += " — needs a fast machine"
            self.quality.addItem(label, preset.name)
        self.quality.setCurrentIndex(max(0, self.quality.findData(shown.preset)))
        form.addRow("&Quality:", self.quality)

        # The bitrate shown for each preset: what is remembered for it, and for the one
        # that runs now what it runs at. Switching the quality shows that preset's.
        self._bitrates = {name: remembered_bitrate(settings, name) for name in PRESETS}
        self._bitrates[shown.preset] = shown.bitrate
        self.bitrate = QDoubleSpinBox(self)
        self.bitrate.setAccessibleName("Video bitrate in megabits per second")
        self.bitrate.setRange(MIN_BITRATE / 1e6, MAX_BITRATE / 1e6)
        self.bitrate.setDecimals(1)
        self.bitrate.setSingleStep(BITRATE_STEP / 1e6)
        self.bitrate.setSuffix(" Mb/s")
        self._show_bitrate()
        self.bitrate.valueChanged.connect(self._bitrate_changed)
        self.quality.currentIndexChanged.connect(self._show_bitrate)
        form.addRow("&Bitrate:", self.bitrate)
        form.addRow(
            QLabel(
                "A new source takes over as soon as you save; a new quality or bitrate "
                "applies the next time you go live.",
                self,
                wordWrap=True,
            )
        )
        self._opened = self.choice()
        self._opened_bitrates = dict(self._bitrates)

        self.folder = QLineEdit(str(recordings_folder(settings)), self)
        self.folder.setReadOnly(True)
        self.folder.setAccessibleName("Recordings folder")
        self.folder.setToolTip("Record (Ctrl+R) saves here unless --record names a file or folder")
        choose_folder = QPushButton("C&hoose…", self)
        choose_folder.setAccessibleName("Choose the recordings folder")
        choose_folder.clicked.connect(self.choose_recordings_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(choose_folder)
        form.addRow("&Recordings:", row)

        url, token = whip_target(settings)
        form.addRow(
            QLabel(
                "Publish the show to a media server (LiveKit, MediaMTX, Janus, Cloudflare "
                "Stream…) by WHIP when it goes live. Leave the address empty for none.",
                self,
                wordWrap=True,
            )
        )
        self.url = QLineEdit(url, self)
        self.url.setPlaceholderText("https://example.com/whip/endpoint")
        self.url.setAccessibleName("WHIP endpoint address")
        form.addRow("WHIP &URL:", self.url)
        self.token = QLineEdit(token, self)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("WHIP bearer token")
        form.addRow("&Token:", self.token)
        self.vp8 = QCheckBox("Also send &VP8 for browsers without H.264", self)
        self.vp8.setChecked(whip_vp8(settings))
        self.vp8.setAccessibleName("Also publish a VP8 video stream")
        self.vp8.setToolTip(
            "A second video stream, for the media server's viewers whose browser cannot "
            "play H.264 (Debian's Firefox ESR). It costs a second encoder (the health line "
            "shows its share of the CPU); without it, such viewers are told to switch "
            "browser. Applies the next time you go live."
        )
        form.addRow(self.vp8)
        self.problem = QLabel("", self)
        self.problem.setObjectName("form-problem")
        form.addRow(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(460)

    def choice(self) -> MediaChoice:
        """The sources, quality and bitrate the pickers show ("Video file…" shows the last
        source)."""
        preset = self.quality.currentData()
        return MediaChoice(
            self.video.itemData(self._video_index),
            self.audio.currentData(),
            preset,
            self._bitrates[preset],
        )

    def _show_bitrate(self) -> None:
        """Show the chosen quality's bitrate; its own is named in the tooltip."""
        preset = PRESETS[self.quality.currentData()]
        chosen = self._bitrates[preset.name]
        self.bitrate.blockSignals(True)
        self.bitrate.setValue((chosen or preset.bitrate) / 1e6)
        self.bitrate.blockSignals(False)
        self.bitrate.setToolTip(
            f"What the video is encoded at; {preset.bitrate / 1e6:.1f} Mb/s suits {preset.name}. "
            "Lower it when viewers' video stalls, raise it for a sharper picture."
        )

    def _bitrate_changed(self, megabits: float) -> None:
        preset = PRESETS[self.quality.currentData()]
        bitrate = round(megabits * 1e6 / BITRATE_STEP) * BITRATE_STEP
        self._bitrates[preset.name] = None if bitrate == preset.bitrate else bitrate

    def choose_recordings_folder(self) -> None:
        """Ask for the folder recordings go to; cancelling keeps the one shown."""
        path = QFileDialog.getExistingDirectory(self, "Save recordings in", self.folder.text())
        if path:
            self.folder.setText(str(Path(path)))

    def _video_changed(self, index: int) -> None:
        if self.video.itemData(index) != CHOOSE_FILE:
            self._video_index = index

    def _video_activated(self, index: int) -> None:
        if self.video.itemData(index) == CHOOSE_FILE:
            self.choose_video_file()

    def choose_video_file(self) -> None:
        """Ask for a video file to play in a loop; cancelling keeps the previous source."""
        current = str(self.video.itemData(self._video_index) or "")
        folder = str(Path(current[5:]).parent) if current.startswith("file:") else ""
        path, _ = QFileDialog.getOpenFileName(self, "Play a video file", folder, VIDEO_FILES)
        if not path:
            self.video.setCurrentIndex(self._video_index)
            return
        spec = f"file:{path}"
        index = self.video.findData(spec)
        if index < 0:
            index = self.video.count() - 1  # before "Video file…"
            self.video.insertItem(index, _label(spec, "video"), spec)
        self.video.setCurrentIndex(index)

    def accept(self) -> None:
        url = self.url.text().strip()
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            self.problem.setText("The WHIP URL must start with https:// (or http://).")
            self.url.setFocus()
            return
        self._settings.setValue(WHIP_URL, url)
        self._settings.setValue(WHIP_TOKEN, self.token.text().strip())
        self._settings.setValue(WHIP_VP8, self.vp8.isChecked())
        if Path(self.folder.text()) != recordings_folder(self._settings):
            self._settings.setValue(RECORDINGS_FOLDER, self.folder.text())
        # Only what the host changed is remembered: a source given on the command line
        # for one run must not stick because the WHIP address was edited.
        choice, opened = self.choice(), self._opened
        for key, new, old in (
            (VIDEO_SOURCE, choice.video, opened.video),
            (AUDIO_SOURCE, choice.audio, opened.audio),
            (QUALITY, choice.preset, opened.preset),
        ):
            if new != old:
                self._settings.setValue(key, new)
        if choice.bitrate != self._opened_bitrates[choice.preset]:
            key = BITRATE.format(preset=choice.preset)
            if choice.bitrate is None:
                self._settings.remove(key)
            else:
                self._settings.setValue(key, choice.bitrate)
        self._settings.sync()
        if self._media is not None and choice != opened:
            self._media.apply(choice)
        super().accept()
