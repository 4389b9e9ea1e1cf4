"""Picking the show's video and audio: listing, opening, falling back, switching, settings.

Listing reads a fake machine (device nodes, sysfs, /proc/asound, X sockets) made in
tmp_path, so the tests say the same on a laptop full of devices and on a bare server.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from console.cli import _settings, build_parser
from console.errors import SourceError
from media import audio as audio_module
from media import source as source_module
from media.audio import (
    AUDIO_RATE,
    AudioCapture,
    audio_sources,
    default_audio_spec,
    open_audio_source,
)
from media.capture import Capture
from media.encoder import PRESETS, AudioEncoder
from media.source import AVSource, SourceChoice, open_source, video_sources
from media.webrtc import Broadcast
from tests.support.system import x_server
from widgets.stream_controls import default_recordings_folder
from widgets.stream_settings import (
    AUDIO_SOURCE,
    BITRATE,
    QUALITY,
    VIDEO_SOURCE,
    LiveMedia,
    MediaChoice,
    StreamSettingsDialog,
    recordings_folder,
    remembered_media,
)

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="device listing is Linux's"
)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no camera, no sound card, no X display and no sound server."""
    root = tmp_path / "machine"
    for folder in ("dev", "sys", "asound", "x11", "run"):
        (root / folder).mkdir(parents=True)
    monkeypatch.setattr(source_module, "DEV_DIR", root / "dev")
    monkeypatch.setattr(source_module, "V4L_SYSFS", root / "sys")
    monkeypatch.setattr(source_module, "X11_SOCKETS", root / "x11")
    monkeypatch.setattr(audio_module, "ASOUND", root / "asound")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root / "run"))
    # Opening a microphone may set ALSA_CONFIG_DIR; the test must not leave it set.
    monkeypatch.setenv("ALSA_CONFIG_DIR", "")
    monkeypatch.delenv("ALSA_CONFIG_DIR")
    return root


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def make_video(path: Path, frames: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for n in range(frames):
            image = np.full((96, 160, 3), n * 20, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_sine_wav(path: Path, frequency: float, rate: int = 44_100) -> Path:
    """A stereo 16-bit WAV at 44.1 kHz: the audio path must resample it to 48 kHz mono."""
    t = np.arange(rate // 2) / rate
    wave = (np.sin(2 * np.pi * frequency * t) * 12_000).astype(np.int16)
    packed = np.ascontiguousarray(np.stack([wave, wave]).T.reshape(1, -1))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def loudest_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * AUDIO_RATE / len(samples))


# ---------------------------------------------------------------- listing


def test_a_machine_without_devices_offers_the_test_pattern_and_tone(machine: Path) -> None:
    assert video_sources() == [SourceChoice("test", "Test pattern")]
    assert [c.spec for c in audio_sources()] == ["tone", "none"]
    assert Capture(None).spec == "test"
    assert default_audio_spec() == "tone"
    capture = AudioCapture(None)
    assert (capture.spec, capture.name) == ("tone", "Test tone")


@linux_only
def test_cameras_are_listed_by_card_name_and_node_and_the_screen_with_display(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for node, name, index in (
        ("video0", "HD Webcam C920", "0"),
        ("video1", "HD Webcam C920", "1"),  # the camera's metadata node: no frames
        ("video10", "", ""),
        ("video2", "Capture card", "0"),
    ):
        (machine / "dev" / node).touch()
        if name:
            (machine / "sys" / node).mkdir()
            (machine / "sys" / node / "name").write_text(name + "\n")
            (machine / "sys" / node / "index").write_text(index + "\n")
    monkeypatch.setenv("DISPLAY", ":5")
    dev = machine / "dev"
    assert video_sources() == [
        SourceChoice(f"camera:{dev}/video0", f"HD Webcam C920 ({dev}/video0)"),
        SourceChoice(f"camera:{dev}/video2", f"Capture card ({dev}/video2)"),
        SourceChoice(f"camera:{dev}/video10", f"Camera {dev}/video10"),
        SourceChoice("screen", "Screen :5"),
        SourceChoice("test", "Test pattern"),
    ]
    assert source_module.default_video_spec() == f"camera:{dev}/video0"


@linux_only
def test_sound_cards_that_can_record_are_listed_after_the_default_microphone(
    machine: Path,
) -> None:
    asound = machine / "asound"
    (asound / "cards").write_text(
        " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
        "                      HDA Intel PCH at 0xf7f10000 irq 32\n"
        " 1 [HDMI           ]: HDA-Intel - HDA ATI HDMI\n"
        "                      HDA ATI HDMI at 0xf7e60000 irq 33\n"
        " 2 [Device         ]: USB-Audio - USB PnP Sound Device\n"
        "                      C-Media USB PnP Sound Device at usb-0000:00:14.0-1\n"
    )
    for card, pcms in ((0, ("pcm0p", "pcm0c")), (1, ("pcm3p",)), (2, ("pcm0c",))):
        for pcm in pcms:
            (asound / f"card{card}" / pcm).mkdir(parents=True)
    assert audio_sources() == [
        SourceChoice("mic", "Default microphone"),
        SourceChoice("mic:plughw:0", "HDA Intel PCH (plughw:0)"),
        SourceChoice("mic:plughw:2", "USB PnP Sound Device (plughw:2)"),
        SourceChoice("tone", "Test tone"),
        SourceChoice("none", "No audio"),
    ]
    assert default_audio_spec() == "mic"


@linux_only
def test_a_sound_server_offers_the_default_microphone_without_a_card(machine: Path) -> None:
    (machine / "run" / "pulse").mkdir()
    (machine / "run" / "pulse" / "native").touch()
    assert [c.spec for c in audio_sources()] == ["mic", "tone", "none"]


# ---------------------------------------------------------------- opening


@linux_only
@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("mic:plughw:7", r"Cannot open microphone plughw:7: this machine has no sound card"),
        ("mic", r"Cannot open microphone default: this machine has no sound card"),
    ],
)
def test_a_missing_microphone_names_the_device_and_the_reason(
    machine: Path, spec: str, words: str
) -> None:
    with pytest.raises(SourceError, match=words):
        open_audio_source(spec)


@linux_only
def test_a_microphone_on_a_card_that_does_not_exist_says_which_card(machine: Path) -> None:
    (machine / "asound" / "cards").write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n")
    (machine / "asound" / "card0" / "pcm0c").mkdir(parents=True)
    with pytest.raises(SourceError, match=r"microphone hw:5: there is no sound card 5"):
        open_audio_source("mic:hw:5")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("file:/no/such/sound.wav", r"audio file /no/such/sound\.wav: there is no such file"),
        ("speaker", r"Unknown audio source 'speaker'"),
    ],
)
def test_a_bad_audio_source_says_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(SourceError, match=words):
        open_audio_source(spec)


def test_a_video_file_is_not_an_audio_source(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "silent.mp4")
    with pytest.raises(SourceError, match=r"audio file silent\.mp4: it has no audio track"):
        open_audio_source(f"file:{clip}")


@linux_only
def test_the_screen_without_a_display_says_why(machine: Path) -> None:
    with pytest.raises(SourceError, match="Cannot capture the screen: DISPLAY is not set"):
        open_source("screen")


@linux_only
@pytest.mark.parametrize("spec", ["screen:97", "screen::97"])
def test_a_missing_screen_names_the_display(machine: Path, spec: str) -> None:
    with pytest.raises(SourceError, match="Cannot capture screen :97: there is no X display :97"):
        open_source(spec)


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A 320x240 X server of our own; its display number."""
    with x_server(320, 240) as number:
        yield number


@linux_only
def test_the_screen_is_captured_through_x11grab(xvfb: str) -> None:
    source = open_source(f"screen:{xvfb}")
    assert source.name == f"screen :{xvfb}"
    frames = source.frames()
    try:
        frame = next(frames)
    finally:
        frames.close()
    assert frame.image.shape == (240, 320, 3)


# ---------------------------------------------------------------- capture


def test_switching_to_a_missing_camera_while_running_falls_back_and_says_why() -> None:
    errors: list[str] = []
    names: list[str] = []
    capture = Capture("test", on_error=errors.append, on_source=names.append)
    capture.start()
    try:
        wait_until(lambda: capture.latest is not None, "a first frame")
        capture.switch("camera:/dev/video-missing")
        wait_until(lambda: errors, "the error")
        seen = capture.frames_captured
        assert capture.wait_newer(seen, timeout=5) is not None, "frames keep coming"
    finally:
        capture.stop()
    assert names == ["Test pattern"]
    assert len(errors) == 1
    assert "/dev/video-missing" in errors[0] and "test pattern" in errors[0]
    assert capture.spec == "camera:/dev/video-missing"


def test_switching_to_a_video_file_while_running_plays_it(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4")
    names: list[str] = []
    capture = Capture("test", on_source=names.append)
    capture.start()
    try:
        wait_until(lambda: capture.latest is not None, "a first frame")
        capture.switch(f"file:{clip}")
        wait_until(
            lambda: capture.latest is not None and capture.latest.image.shape == (96, 160, 3),
            "a frame of the file",
        )
    finally:
        capture.stop()
    assert names == ["video file clip.mp4"]
    assert capture.name == "video file clip.mp4"


def test_a_source_that_ends_is_replaced_by_the_test_pattern_and_reported(
    tmp_path: Path,
) -> None:
    clip = make_video(tmp_path / "short.mp4", frames=3)

    class UnpluggedCamera(Capture):
        def _open(self, spec: str) -> AVSource:
            return AVSource(str(clip), av_format=None, loop=False, name="camera fake0")

    errors: list[str] = []
    capture = UnpluggedCamera("camera:fake0", on_error=errors.append)
    capture.start()
    try:
        wait_until(lambda: errors, "the camera's end to be reported")
        wait_until(lambda: capture.name == "Test pattern", "the test pattern")
    finally:
        capture.stop()
    assert errors == ["The camera fake0 stopped. Showing the test pattern instead."]


def test_a_missing_microphone_falls_back_to_silence_and_says_why(machine: Path) -> None:
    errors: list[str] = []
    capture = AudioCapture("mic:plughw:7", on_error=errors.append)
    assert capture.name == "No audio"
    assert len(errors) == 1
    assert "plughw:7" in errors[0] and "no sound card" in errors[0]
    assert errors[0].endswith("Sending silence instead.")
    capture.start()
    try:
        samples = capture.read(960)
    finally:
        capture.stop()
    assert samples.dtype == np.int16 and samples.shape == (960,)
    assert not samples.any()


def test_switching_to_a_missing_microphone_while_running_reports_after_naming(
    machine: Path,
) -> None:
    events: list[str] = []
    capture = AudioCapture(
        "tone",
        on_error=lambda text: events.append(f"error: {text}"),
        on_source=lambda name: events.append(f"source: {name}"),
    )
    capture.start()
    try:
        capture.read(960)
        capture.switch("mic:plughw:3")
        wait_until(lambda: len(events) == 2, "the switch to be reported")
    finally:
        capture.stop()
    assert events[0] == "source: No audio"
    assert events[1].startswith("error: Cannot open microphone plughw:3")


def test_a_stalled_microphone_gives_the_encoder_silence_instead_of_waiting() -> None:
    released = threading.Event()

    class Stalled:
        name = "microphone stalled"

        def blocks(self) -> Iterator[np.ndarray]:
            released.wait()
            yield np.zeros(960, dtype=np.int16)

    class StalledCapture(AudioCapture):
        def _open(self, spec: str) -> Stalled:
            return Stalled()

    capture = StalledCapture("mic:stalled")
    capture.start()
    try:
        samples = [capture.read(960) for _ in range(3)]
    finally:
        released.set()
        capture.stop()
    assert all(block.shape == (960,) and not block.any() for block in samples)


def test_sound_captured_before_go_live_does_not_delay_the_show() -> None:
    """Ten numbered blocks arrive before the encoder's first read (as before go-live)."""
    done, release = threading.Event(), threading.Event()

    class Counting:
        name = "counting"

        def blocks(self) -> Iterator[np.ndarray]:
            for n in range(1, 11):
                yield np.full(960, n, dtype=np.int16)
            done.set()
            release.wait(5)

    class CountingCapture(AudioCapture):
        def _open(self, spec: str) -> Counting:
            return Counting()

    capture = CountingCapture("mic:counting")
    capture.start()
    try:
        assert done.wait(5)
        first, second = capture.read(960), capture.read(960)
    finally:
        release.set()
        capture.stop()
    # The capture keeps the last five blocks; the encoder starts one block behind the
    # newest (slack for jitter), not five.
    assert (first[0], second[0]) == (9, 10)


# ---------------------------------------------------------------- audio to Opus


def test_an_audio_file_is_resampled_to_48_khz_mono_and_loops(tmp_path: Path) -> None:
    wav = make_sine_wav(tmp_path / "sine.wav", 1000.0)  # half a second at 44.1 kHz
    source = open_audio_source(f"file:{wav}")
    blocks = source.blocks()
    received: list[np.ndarray] = []
    try:
        while sum(len(b) for b in received) < AUDIO_RATE * 0.7:
            received.append(next(blocks))
    finally:
        blocks.close()
    assert all(b.dtype == np.int16 and b.ndim == 1 for b in received)
    samples = np.concatenate(received)
    assert abs(loudest_frequency(samples[: AUDIO_RATE // 2]) - 1000.0) < 10


@pytest.mark.parametrize(("spec", "frequency"), [("tone", 440.0), ("file", 1000.0)])
def test_the_chosen_audio_reaches_the_opus_encoder(
    tmp_path: Path, spec: str, frequency: float
) -> None:
    if spec == "file":
        spec = f"file:{make_sine_wav(tmp_path / 'sine.wav', frequency)}"
    capture = AudioCapture(spec)
    packets: list[av.Packet] = []
    encoder = AudioEncoder(packets.append, capture.read)
    capture.start()
    encoder.start()
    try:
        wait_until(lambda: len(packets) >= 25, "half a second of Opus packets")
    finally:
        encoder.stop()
        capture.stop()
    decoder = av.CodecContext.create("libopus", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.sample_rate, decoder.layout = AUDIO_RATE, "mono"
    decoded = np.concatenate(
        [frame.to_ndarray().reshape(-1) for p in packets for frame in decoder.decode(p)]
    )
    assert abs(loudest_frequency(decoded) - frequency) < 10


# ---------------------------------------------------------------- settings


def ini(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


@linux_only
def test_stream_settings_remember_the_sources_and_the_quality(
    machine: Path, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_video(tmp_path / "intro.mp4")
    file = tmp_path / "console.ini"
    monkeypatch.setenv("DISPLAY", ":5")
    dialog = StreamSettingsDialog(ini(file))
    qtbot.addWidget(dialog)
    video = [dialog.video.itemText(i) for i in range(dialog.video.count())]
    assert video == ["Screen :5", "Test pattern", "Video file…"]
    assert dialog.video.currentText() == "Test pattern", "what starts when nothing is chosen"
    assert [dialog.audio.itemText(i) for i in range(dialog.audio.count())] == [
        "Test tone",
        "No audio",
    ]
    quality = [dialog.quality.itemText(i) for i in range(dialog.quality.count())]
    assert [q.split()[0] for q in quality] == ["360p", "540p", "720p", "1080p"]
    assert "needs a fast machine" in quality[3]
    assert dialog.quality.currentData() == "720p"

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(clip), "Video files"))
    dialog.video.setCurrentIndex(2)
    dialog.video.activated.emit(2)
    assert dialog.video.currentText() == "Video file intro.mp4"
    dialog.audio.setCurrentIndex(dialog.audio.findData("none"))
    dialog.quality.setCurrentIndex(dialog.quality.findData("360p"))
    dialog.accept()

    assert remembered_media(ini(file)) == MediaChoice(f"file:{clip}", "none", "360p")
    again = StreamSettingsDialog(ini(file))
    qtbot.addWidget(again)
    assert again.video.currentText() == "Video file intro.mp4"
    assert again.audio.currentData() == "none"
    assert again.quality.currentData() == "360p"


def test_cancelling_the_file_chooser_keeps_the_source(
    machine: Path, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = StreamSettingsDialog(ini(tmp_path / "console.ini"))
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("", ""))
    dialog.video.setCurrentIndex(1)
    dialog.video.activated.emit(1)
    assert dialog.video.currentData() == "test"
    assert dialog.choice().video == "test"


def test_command_line_flags_win_over_remembered_choices(tmp_path: Path) -> None:
    settings = ini(tmp_path / "console.ini")
    settings.setValue(VIDEO_SOURCE, "file:/videos/intro.mp4")
    settings.setValue(AUDIO_SOURCE, "none")
    settings.setValue(QUALITY, "360p")
    assert remembered_media(settings, video="screen", preset="1080p") == MediaChoice(
        "screen", "none", "1080p"
    )
    assert remembered_media(ini(tmp_path / "empty.ini")) == MediaChoice(None, None, "720p")
    settings.setValue(QUALITY, "4k")
    assert remembered_media(settings).preset == "720p"


def test_saving_switches_the_running_sources_and_remembers_only_what_changed(
    machine: Path, tmp_path: Path, qtbot
) -> None:
    file = tmp_path / "console.ini"
    settings = ini(file)
    settings.setValue(VIDEO_SOURCE, "file:/videos/intro.mp4")
    capture, sound = Capture("test"), AudioCapture("tone")
    broadcast = Broadcast(capture, PRESETS["720p"], audio=sound)
    media = LiveMedia(capture, sound, broadcast)
    dialog = StreamSettingsDialog(settings, media=media)
    qtbot.addWidget(dialog)
    assert dialog.choice() == MediaChoice("test", "tone", "720p"), "what runs, not what's saved"
    dialog.accept()
    assert remembered_media(ini(file)) == MediaChoice("file:/videos/intro.mp4", None, "720p")

    dialog = StreamSettingsDialog(settings, media=media)
    qtbot.addWidget(dialog)
    dialog.audio.setCurrentIndex(dialog.audio.findData("none"))
    dialog.quality.setCurrentIndex(dialog.quality.findData("540p"))
    dialog.accept()
    assert (sound.spec, sound.name) == ("none", "No audio")
    assert broadcast.preset == PRESETS["540p"]
    assert capture.spec == "test"
    assert media.describe() == "Test pattern · No audio"
    assert remembered_media(ini(file)) == MediaChoice("file:/videos/intro.mp4", "none", "540p")


# ---------------------------------------------------------------- command line


def test_source_audio_and_preset_flags_reach_the_settings() -> None:
    args = build_parser().parse_args(
        ["--source", "screen:1", "--audio", "mic:plughw:1", "--preset", "1080p"]
    )
    settings = _settings(args)
    assert (settings.source, settings.audio, settings.preset) == (
        "screen:1",
        "mic:plughw:1",
        "1080p",
    )
    plain = _settings(build_parser().parse_args([]))
    assert (plain.source, plain.audio, plain.preset) == (None, None, None)


def test_an_unknown_preset_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--preset", "4k"])
    assert "invalid choice: '4k'" in capsys.readouterr().err


def test_stream_settings_remember_a_bitrate_per_quality_and_the_recordings_folder(
    machine: Path, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "console.ini"
    dialog = StreamSettingsDialog(ini(file))
    qtbot.addWidget(dialog)
    assert dialog.bitrate.value() == 2.5, "720p's own bitrate"
    assert dialog.folder.text() == str(default_recordings_folder())
    dialog.quality.setCurrentIndex(dialog.quality.findData("360p"))
    assert dialog.bitrate.value() == 0.8, "the bitrate follows the quality"
    dialog.quality.setCurrentIndex(dialog.quality.findData("1080p"))
    dialog.bitrate.setValue(6.0)
    assert (dialog.bitrate.minimum(), dialog.bitrate.maximum()) == (0.3, 12.0)
    dialog.bitrate.setValue(50.0)
    assert dialog.bitrate.value() == 12.0, "a bitrate beyond the range is not offered"
    dialog.bitrate.setValue(6.0)
    shows = tmp_path / "shows"
    shows.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(shows))
    dialog.choose_recordings_folder()
    dialog.accept()

    assert remembered_media(ini(file)) == MediaChoice(None, None, "1080p", 6_000_000)
    assert remembered_media(ini(file)).stream_preset() == PRESETS["1080p"].at_bitrate(6_000_000)
    assert recordings_folder(ini(file)) == shows
    again = StreamSettingsDialog(ini(file))
    qtbot.addWidget(again)
    assert (again.quality.currentData(), again.bitrate.value()) == ("1080p", 6.0)
    assert again.folder.text() == str(shows)
    again.quality.setCurrentIndex(again.quality.findData("720p"))
    assert again.bitrate.value() == 2.5, "another quality keeps its own bitrate"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: "")
    again.choose_recordings_folder()
    assert again.folder.text() == str(shows), "cancelling keeps the folder"


def test_a_bitrate_set_back_to_the_qualitys_own_is_forgotten(tmp_path: Path, qtbot) -> None:
    file = tmp_path / "console.ini"
    settings = ini(file)
    settings.setValue(BITRATE.format(preset="720p"), 3_000_000)
    dialog = StreamSettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.bitrate.value() == 3.0
    dialog.bitrate.setValue(2.5)
    dialog.accept()
    assert remembered_media(ini(file)).bitrate is None
    assert not ini(file).contains(BITRATE.format(preset="720p"))


@pytest.mark.parametrize("stored", ["fast", "50", "99000000"])
def test_a_hand_edited_bitrate_the_encoder_cannot_use_is_ignored(
    tmp_path: Path, stored: str
) -> None:
    settings = ini(tmp_path / "console.ini")
    settings.setValue(BITRATE.format(preset="720p"), stored)
    assert remembered_media(settings).stream_preset() == PRESETS["720p"]


def test_a_new_bitrate_applies_at_the_next_go_live(machine: Path, tmp_path: Path, qtbot) -> None:
    capture, sound = Capture("test"), AudioCapture("tone")
    broadcast = Broadcast(capture, PRESETS["720p"], audio=sound)
    media = LiveMedia(capture, sound, broadcast)
    dialog = StreamSettingsDialog(ini(tmp_path / "console.ini"), media=media)
    qtbot.addWidget(dialog)
    dialog.bitrate.setValue(1.2)
    dialog.accept()
    assert broadcast.preset == PRESETS["720p"].at_bitrate(1_200_000)
    assert media.running() == MediaChoice("test", "tone", "720p", 1_200_000)
    reopened = StreamSettingsDialog(ini(tmp_path / "console.ini"), media=media)
    qtbot.addWidget(reopened)
    assert reopened.bitrate.value() == 1.2, "what runs is shown"
