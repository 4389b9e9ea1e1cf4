"""Video sources: the test pattern's stamp, bad sources, files played in a loop."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import av
import numpy as np
import pytest

from console.errors import SourceError
from media.capture import Capture
from media.encoder import (
    MAX_BITRATE,
    MIN_BITRATE,
    PRESETS,
    BitrateError,
    VideoEncoder,
    frame_tick,
)
from media.source import open_source
from media.testpattern import TestPattern, decode_stamp
from media.webrtc import MAX_QUEUED, PacketTrack
from tests.test_recorder import encoded_stream


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720)])
def test_stamp_reads_back_capture_time_and_frame_number(width: int, height: int) -> None:
    pattern = TestPattern(width, height)
    now = 1_795_000_000.123
    image = pattern.render(70_001, now)
    assert image.shape == (height, width, 3)
    assert decode_stamp(image) == (int(now * 1000) & ((1 << 48) - 1), 70_001 % 65536)


def test_test_pattern_moves_from_frame_to_frame() -> None:
    pattern = TestPattern(640, 360)
    assert not np.array_equal(pattern.render(1, 0.0), pattern.render(2, 0.0))


def test_test_pattern_paces_itself_to_its_frame_rate() -> None:
    frames = TestPattern(320, 180, fps=50).frames()
    first = next(frames)
    for _ in range(10):
        last = next(frames)
    assert last.number == 10
    assert last.capture_time - first.capture_time >= 0.18


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            "camera:/dev/video-that-does-not-exist",
            "Cannot open camera /dev/video-that-does-not-exist",
        ),
        ("file:/no/such/video.mp4", "no such file"),
        ("webcam", "Unknown source 'webcam'"),
    ],
)
def test_a_bad_source_names_the_device_and_the_reason(spec: str, words: str) -> None:
    with pytest.raises(SourceError, match=words):
        open_source(spec)


def test_capture_falls_back_to_the_test_pattern_and_says_why() -> None:
    errors: list[str] = []
    capture = Capture("camera:/dev/video-missing", on_error=errors.append)
    assert capture.name == "Test pattern"
    assert len(errors) == 1 and "/dev/video-missing" in errors[0] and "test pattern" in errors[0]
    capture.start()
    deadline = time.monotonic() + 5
    while capture.latest is None and time.monotonic() < deadline:
        time.sleep(0.02)
    capture.stop()
    assert capture.latest is not None


def test_a_file_that_is_not_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    with pytest.raises(SourceError, match=r"notes\.mp4"):
        open_source(f"file:{junk}")


def test_a_video_file_plays_in_a_loop(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for n in range(10):
            image = np.full((96, 160, 3), n * 20, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    source = open_source(f"file:{path}")
    frames = source.frames()
    numbers = [next(frames).number for _ in range(15)]
    assert numbers == list(range(15)), "frames keep coming after the file's end"


def test_the_shared_encoder_spends_the_bitrate_the_host_chose() -> None:
    """Two encoders on one test pattern: the one given 0.3 Mb/s makes far fewer bytes per
    frame than the one given 2 Mb/s, and stays near what it was given."""
    capture = Capture("test")
    capture.start()
    low = VideoEncoder(capture, PRESETS["360p"].at_bitrate(MIN_BITRATE), lambda _packet: None)
    high = VideoEncoder(capture, PRESETS["360p"].at_bitrate(2_000_000), lambda _packet: None)
    try:
        for encoder in (low, high):
            encoder.start()
        deadline = time.monotonic() + 30
        while min(low.stats.frames, high.stats.frames) < 90:  # three seconds of video
            assert time.monotonic() < deadline, "the encoders made no video"
            time.sleep(0.1)
    finally:
        for encoder in (low, high):
            encoder.stop()
        capture.stop()
    per_frame = {e.preset.bitrate: e.stats.bytes / e.stats.frames for e in (low, high)}
    assert per_frame[MIN_BITRATE] * 2 < per_frame[2_000_000]
    fps = PRESETS["360p"].fps
    assert per_frame[MIN_BITRATE] * 8 * fps < 2 * MIN_BITRATE


@pytest.mark.parametrize("bitrate", [MIN_BITRATE - 1, MAX_BITRATE + 1, 0])
def test_a_bitrate_out_of_range_is_refused_with_the_range(bitrate: int) -> None:
    with pytest.raises(BitrateError, match=r"from 0\.3 to 12 Mb/s"):
        PRESETS["720p"].at_bitrate(bitrate)


def test_a_preset_keeps_its_own_bitrate_unless_one_is_chosen() -> None:
    assert PRESETS["720p"].at_bitrate(None) is PRESETS["720p"]
    assert PRESETS["720p"].bitrate == 2_500_000
    assert PRESETS["720p"].at_bitrate(3_000_000).bitrate == 3_000_000
    assert PRESETS["720p"].at_bitrate(3_000_000).width == 1280


def test_the_frame_clock_keeps_jitter_on_its_ticks_and_follows_real_gaps() -> None:
    assert frame_tick(-1, 0) == 0
    assert frame_tick(4, 5) == 5
    assert frame_tick(4, 6) == 5, "a frame a tick late stays on the clock"
    assert frame_tick(4, 4) == 5, "so does one a tick early"
    assert frame_tick(4, 9) == 9, "frames skipped: the clock follows, sound stays in step"
    assert frame_tick(4, 3) is None, "faster than the stream's rate: the frame is left out"


def test_the_shared_encoder_stamps_frames_on_the_streams_frame_clock() -> None:
    """Every frame 1/30 s (3000 ticks of 90 kHz) after another, or whole frames later."""
    capture = Capture("test")
    capture.start()
    packets: list[av.Packet] = []
    encoder = VideoEncoder(capture, PRESETS["360p"], packets.append)
    try:
        encoder.start()
        deadline = time.monotonic() + 30
        while len(packets) < 60:
            assert time.monotonic() < deadline, "the encoder made no video"
            time.sleep(0.1)
    finally:
        encoder.stop()
        capture.stop()
    assert all(p.pts % 3000 == 0 for p in packets), [p.pts for p in packets]
    assert all(b.pts > a.pts for a, b in itertools.pairwise(packets))
    assert all(p.dts == p.pts and p.duration == 3000 for p in packets)


async def test_a_stopped_track_takes_no_packets_and_asks_for_no_keyframes() -> None:
    asked: list[str] = []
    track = PacketTrack("video", lambda: asked.append("keyframe"))
    receiving = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert asked == ["keyframe"], "the connection is up: a keyframe lets it start"
    video = [packet for kind, packet in encoded_stream(2.0) if kind == "video"]
    track.push(video[0])
    assert (await receiving).is_keyframe
    track.stop()  # the viewer left, or the WHIP session ended
    for packet in video:
        track.push(packet)
    assert len(video) > MAX_QUEUED
    assert asked == ["keyframe"], "a stopped track asked the shared encoder for keyframes"
