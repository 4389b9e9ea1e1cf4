"""Recording the live stream: the shared encoders' packets written to a file players open."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow

from media.capture import Capture
from media.encoder import PRESETS
from media.recorder import Recorder, RecordingError, recording_path
from media.webrtc import Broadcast
from tests.support.stream import controls_on_air, end_show, until
from tests.test_process import start, stop


def probe(path: Path) -> dict[str, object]:
    """What a player would see: streams, duration, decodable frames."""
    with av.open(str(path)) as container:
        kinds = sorted(s.type for s in container.streams)
        duration = container.duration / 1_000_000 if container.duration else 0.0
        video = container.streams.video[0]
        size = (video.codec_context.width, video.codec_context.height)
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    with av.open(str(path)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    return {
        "kinds": kinds,
        "duration": duration,
        "size": size,
        "frames": len(frames),
        "first_time": frames[0].time if frames else None,
        "audio_seconds": samples / 48_000,
    }


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
async def test_recording_the_live_stream_gives_a_file_players_open(
    tmp_path: Path, suffix: str
) -> None:
    capture = Capture("test")
    capture.start()
    broadcast = Broadcast(capture, PRESETS["360p"])
    broadcast.start()
    errors: list[RecordingError] = []
    recorder = Recorder(tmp_path / f"show{suffix}", on_error=errors.append)
    try:
        # Join a stream already running, as the Record button does.
        await asyncio.sleep(0.5)
        recorder.start()
        broadcast.add_output(recorder)
        await asyncio.sleep(3)
        await broadcast.remove_output(recorder)
        assert recorder not in broadcast.outputs
    finally:
        await broadcast.stop()
        capture.stop()
    assert errors == []
    assert recorder.error is None
    info = probe(recorder.path)
    assert info["kinds"] == ["audio", "video"]
    assert abs(info["duration"] - 3) <= 1, info
    assert info["size"] == (640, 360)
    assert info["frames"] >= 45, info
    assert info["first_time"] is not None and info["first_time"] < 0.1, "the file starts at 0"
    assert abs(info["audio_seconds"] - info["duration"]) < 0.5, info


async def test_ending_the_show_finishes_the_recording(tmp_path: Path) -> None:
    capture = Capture("test")
    capture.start()
    broadcast = Broadcast(capture, PRESETS["360p"])
    broadcast.start()
    recorder = Recorder(tmp_path / "show.mkv")
    recorder.start()
    broadcast.add_output(recorder)
    await asyncio.sleep(1.5)
    await broadcast.stop()
    capture.stop()
    assert broadcast.outputs == ()
    assert not recorder.recording
    info = probe(recorder.path)
    assert info["kinds"] == ["audio", "video"] and info["frames"] > 20


def encoded_stream(seconds: float = 1.0) -> list[tuple[str, av.Packet]]:
    """Packets as the live encoders make them: H.264 at 90 kHz, Opus, in time order."""
    video = av.CodecContext.create("libx264", "w")
    video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
    video.time_base = Fraction(1, 90_000)
    video.options = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "keyint=15"}
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = 48_000, "mono", "s16"
    audio.time_base = Fraction(1, 48_000)
    timed: list[tuple[Fraction, str, av.Packet]] = []
    for n in range(int(seconds * 30)):
        image = np.full((180, 320, 3), n * 5 % 255, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = 3000 * n + 900_000, Fraction(1, 90_000)
        for packet in video.encode(frame):
            packet.time_base = Fraction(1, 90_000)
            timed.append((packet.pts * packet.time_base, "video", packet))
    for n in range(int(seconds * 50)):
        samples = np.zeros((1, 960), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48_000, 960 * n + 480_000, audio.time_base
        for packet in audio.encode(frame):
            packet.time_base = Fraction(1, 48_000)
            timed.append((packet.pts * packet.time_base, "audio", packet))
    timed.sort(key=lambda item: item[0])
    return [(kind, packet) for _, kind, packet in timed]


def test_the_file_starts_at_the_first_keyframe_and_shared_packets_stay_untouched(
    tmp_path: Path,
) -> None:
    packets = encoded_stream(2.0)
    # Start mid-stream: after the first keyframe, with audio and inter frames first.
    first_key = next(i for i, (k, p) in enumerate(packets) if k == "video" and p.is_keyframe)
    second_key = next(
        i for i, (k, p) in enumerate(packets) if i > first_key and k == "video" and p.is_keyframe
    )
    fed = packets[first_key + 3 :]
    before = [(p.pts, p.dts, p.time_base) for _, p in fed]
    recorder = Recorder(tmp_path / "clip.mkv")
    recorder.start()
    for kind, packet in fed:
        recorder.push(kind, packet)  # type: ignore[arg-type]
    recorder.stop()
    assert [(p.pts, p.dts, p.time_base) for _, p in fed] == before
    skipped_video = sum(1 for k, _ in packets[first_key + 3 : second_key] if k == "video")
    with av.open(str(recorder.path)) as container:
        video = [p for p in container.demux(video=0) if p.size]
    assert video[0].is_keyframe
    assert video[0].pts == 0
    assert len(video) == sum(1 for k, _ in fed if k == "video") - skipped_video
    assert recorder.dropped == 0
    info = probe(recorder.path)
    assert info["kinds"] == ["audio", "video"]
    assert info["size"] == (320, 180)


def test_stopping_before_any_keyframe_leaves_no_empty_file(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "nothing.mkv")
    recorder.start()
    recorder.stop()
    assert not recorder.path.exists()
    assert recorder.error is None


def test_an_unwritable_path_gives_a_typed_error_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    path = blocker / "show.mkv"
    with pytest.raises(RecordingError, match="--record PATH") as raised:
        Recorder(path).start()
    assert str(path) in str(raised.value)
    assert raised.value.path == path


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    # As ~/Videos/Shopcast, the default place, is missing on every fresh machine.
    path = tmp_path / "Videos" / "Shopcast" / "show.mkv"
    recorder = Recorder(path)
    recorder.start()
    recorder.stop()
    assert path.parent.is_dir() and recorder.error is None


def test_a_container_that_cannot_hold_h264_and_opus_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"\.mkv \(best\) or \.mp4"):
        Recorder(tmp_path / "show.webm").start()
    assert not (tmp_path / "show.webm").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_reported_with_the_path_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "full.mkv"
    path.symlink_to("/dev/full")
    errors: list[RecordingError] = []
    recorder = Recorder(path, on_error=errors.append)
    recorder.start()
    for kind, packet in encoded_stream(1.0):
        recorder.push(kind, packet)  # type: ignore[arg-type]
    recorder.stop()
    assert len(errors) == 1 and recorder.error is errors[0]
    assert "disk is full" in str(errors[0]) and str(path) in str(errors[0])
    assert not recorder.recording


def test_recording_paths_never_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "show.mkv"
    assert recording_path(target) == target
    target.write_bytes(b"earlier show")
    assert recording_path(target) == tmp_path / "show-2.mkv"
    folder = tmp_path / "recordings"
    when = datetime(2025, 3, 1, 19, 30, 5)
    assert recording_path(folder, when) == folder / "Shopcast 2025-03-01 19-30-05.mkv"


@pytest.mark.qasync
async def test_the_record_button_records_while_live_showing_time_and_file(tmp_path: Path) -> None:
    async with controls_on_air() as (controls, broadcast):
        controls.record_target = tmp_path / "show.mkv"
        button = controls.record_button
        assert not button.isEnabled(), "nothing to record before going live"
        assert controls.record_action.shortcut() == QKeySequence("Ctrl+R")
        controls.button.click()
        await until(lambda: broadcast.live and button.isEnabled())
        assert controls.recording.text() == "", "--record not given: no recording yet"
        button.click()
        assert button.isChecked() and button.text() == "■ Stop recording"
        await asyncio.sleep(2.2)
        controls.refresh()
        assert controls.recording.text() == "REC 0:00:02 · show.mkv"
        assert str(tmp_path / "show.mkv") in controls.recording.toolTip()
        button.click()
        await until(lambda: not any(isinstance(o, Recorder) for o in broadcast.outputs))
        await until(lambda: not controls._tasks)
        assert not button.isChecked()
        assert controls.recording.text() == "Saved show.mkv"
        info = probe(tmp_path / "show.mkv")
        assert info["kinds"] == ["audio", "video"] and abs(info["duration"] - 2.2) < 0.8


@pytest.mark.qasync
async def test_record_flag_records_each_time_the_show_goes_live(tmp_path: Path) -> None:
    async with controls_on_air() as (controls, broadcast):
        controls.record_target = tmp_path / "show.mkv"
        controls.record_on_live = True
        for name in ("show.mkv", "show-2.mkv"):
            controls.button.click()
            await until(lambda: broadcast.live and controls.record_button.isChecked())
            assert controls.recording.text() == f"REC 0:00:00 · {name}"
            await asyncio.sleep(1.0)
            await end_show(controls)  # the recording is finished with the show
            await until(lambda: not broadcast.live and controls.button.isEnabled())
            assert controls.recording.text() == f"Saved {name}"
        for name in ("show.mkv", "show-2.mkv"):
            assert probe(tmp_path / name)["frames"] > 10


@pytest.mark.qasync
async def test_a_recording_that_cannot_start_says_why_in_the_window(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    async with controls_on_air() as (controls, broadcast):
        controls.record_target = blocker / "show.mkv"
        controls.button.click()
        await until(lambda: broadcast.live)
        controls.record_button.click()
        window = controls.window()
        assert isinstance(window, QMainWindow)
        message = window.statusBar().currentMessage()
        assert str(blocker / "show.mkv") in message and "--record PATH" in message
        assert controls.recording.text() == "⚠ Not recording"
        assert controls.recording.toolTip() == message
        assert not controls.record_button.isChecked()
        assert broadcast.outputs == ()


def test_record_on_the_command_line_writes_a_file_finished_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "show.mkv"
    args = ["--live", "--source", "test", "--preset", "360p", "--record", str(path)]
    process, _url = start(args, tmp_path / "data")
    time.sleep(4)
    code, took = stop(process, signal.SIGTERM)
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert took < 5.0
    info = probe(path)
    assert info["kinds"] == ["audio", "video"]
    assert 1.5 <= info["duration"] <= 4.5, info
    assert info["frames"] > 30


def test_a_recording_nobody_stopped_is_finished_when_python_exits(tmp_path: Path) -> None:
    path = tmp_path / "unstopped.mkv"
    script = (
        "from pathlib import Path\n"
        "from media.recorder import Recorder\n"
        "from tests.test_recorder import encoded_stream\n"
        f"recorder = Recorder(Path({str(path)!r}))\n"
        "recorder.start()\n"
        "for kind, packet in encoded_stream(1.0):\n"
        "    recorder.push(kind, packet)\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=60)
    info = probe(path)
    assert info["frames"] == 30
    assert abs(info["duration"] - 1.0) < 0.1, info


#: A show recorded in a process of its own; it prints each video packet that reaches the
#: recorder (seconds, keyframe or not), so the test knows what a crash may lose.
RECORDING_SHOW = """
import asyncio, sys
from pathlib import Path
from media.capture import Capture
from media.encoder import PRESETS
from media.recorder import Recorder
from media.webrtc import Broadcast

class Tell:
    name = "tell"
    def push(self, kind, packet):
        if kind == "video":
            print(float(packet.pts * packet.time_base), int(packet.is_keyframe), flush=True)
    async def close(self):
        pass

async def show():
    capture = Capture("test")
    capture.start()
    broadcast = Broadcast(capture, PRESETS["360p"])
    broadcast.start()
    recorder = Recorder(Path(sys.argv[1]))
    recorder.start()
    broadcast.add_output(recorder)
    broadcast.add_output(Tell())
    await asyncio.Event().wait()

asyncio.run(show())
"""


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_recording_cut_by_a_crash_loses_at_most_a_second(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"crash{suffix}"
    root = Path(__file__).resolve().parent.parent
    show = subprocess.Popen(
        [sys.executable, "-c", RECORDING_SHOW, str(path)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert show.stdout is not None
    pushed: list[tuple[float, bool]] = []
    try:
        # The recording starts at the first keyframe; crash it 4 s of stream later.
        while not pushed or not pushed[0][1] or pushed[-1][0] - pushed[0][0] < 4.0:
            line = show.stdout.readline()
            assert line, "the show ended by itself"
            seconds, keyframe = line.split()
            if pushed or keyframe == "1":
                pushed.append((float(seconds), keyframe == "1"))
    finally:
        show.kill()  # SIGKILL: nothing runs after it, no atexit, no finally
        show.wait(10)
    # What reached the recorder before the kill, the pipe's last lines included.
    pushed += [(float(line.split()[0]), False) for line in show.stdout.read().splitlines()]
    recorded = pushed[-1][0] - pushed[0][0]

    with av.open(str(path)) as container:
        video = [p for p in container.demux(video=0) if p.dts is not None and p.size]
        frame_time = float(video[0].time_base)
        times = [p.dts * frame_time for p in video]
    with av.open(str(path)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    in_file = times[-1] - times[0]
    assert recorded - in_file <= 1.0, f"{recorded:.2f} s recorded, {in_file:.2f} s in the file"
    assert decoded == len(video), "every frame in the file decodes: no torn last piece"
    gaps = [(b - a) * 30 for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.97 for gap in gaps), "DTS rise by at least a frame"
    # On the frame clock: whole frames apart (to the container's millisecond), never
    # the wall clock's 19-74 ms.
    assert all(abs(gap - round(gap)) <= 0.03 for gap in gaps), sorted(set(gaps))
