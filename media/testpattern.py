"""The built-in test pattern: colour bars, a running clock, a frame counter and a stamp.

The stamp is a strip of 64 black or white cells across the top of the frame that carries
the capture time, so a receiver that decodes the video can measure glass-to-glass
latency by reading pixels:

- cell ``i`` (0 = leftmost) is white when bit ``63 - i`` of the 64-bit stamp is 1;
- bits 0 to 47 hold the capture time in milliseconds since the Unix epoch (mod 2**48),
  bits 48 to 63 the frame number (mod 2**16);
- each cell is ``width // 64`` pixels wide and ``stamp_height(height)`` pixels high; read
  the centre pixel of a cell and compare its luma with 128.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from media.source import Frame

_BARS = np.array(
    [
        (192, 192, 192),
        (192, 192, 0),
        (0, 192, 192),
        (0, 192, 0),
        (192, 0, 192),
        (192, 0, 0),
        (0, 0, 192),
    ],
    dtype=np.uint8,
)
_BACKGROUND = np.array((24, 26, 33), dtype=np.uint8)
_INK = np.array((240, 240, 240), dtype=np.uint8)
_BOX = np.array((255, 176, 32), dtype=np.uint8)

# A 5x7 pixel font for the clock and counter; '#' rows of each glyph, top to bottom.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    ":": ("     ", "  #  ", "  #  ", "     ", "  #  ", "  #  ", "     "),
    ".": ("     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "),
    "#": (" # # ", " # # ", "#####", " # # ", "#####", " # # ", " # # "),
    " ": ("     ",) * 7,
}
_GLYPH_MASKS = {
    ch: np.array([[c == "#" for c in row] for row in rows], dtype=bool)
    for ch, rows in _GLYPHS.items()
}

STAMP_BITS = 64


def stamp_height(height: int) -> int:
    return max(8, height // 40)


def encode_stamp(capture_ms: int, frame_number: int) -> int:
    return ((frame_number & 0xFFFF) << 48) | (capture_ms & ((1 << 48) - 1))


def decode_stamp(image: np.ndarray) -> tuple[int, int]:
    """Read ``(capture_ms mod 2**48, frame_number mod 2**16)`` back from a frame."""
    height, width = image.shape[:2]
    cell = width // STAMP_BITS
    row = image[stamp_height(height) // 2]
    centres = row[cell // 2 :: cell][:STAMP_BITS].astype(np.uint16)
    luma = centres.mean(axis=1) if centres.ndim == 2 else centres
    value = 0
    for bit in luma > 128:
        value = (value << 1) | int(bit)
    return value & ((1 << 48) - 1), value >> 48


class TestPattern:
    """A paced, endless test-pattern source (the default when no camera exists)."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 30.0) -> None:
        if width < STAMP_BITS or height < 64:
            raise ValueError("the test pattern needs at least 64x64 pixels")
        self.width, self.height, self.fps = width, height, fps
        self.name = "Test pattern"
        self._base = self._draw_base()
        self._scale = max(2, height // 72)

    def _draw_base(self) -> np.ndarray:
        h, w = self.height, self.width
        image = np.empty((h, w, 3), dtype=np.uint8)
        image[:] = _BACKGROUND
        bar_bottom = h * 2 // 3
        edges = np.linspace(0, w, len(_BARS) + 1).astype(int)
        for colour, left, right in zip(_BARS, edges[:-1], edges[1:], strict=True):
            image[:bar_bottom, left:right] = colour
        return image

    def render(self, frame_number: int, capture_time: float) -> np.ndarray:
        """Draw one frame; pure apart from the values it is given."""
        image = self._base.copy()
        h, w = self.height, self.width
        # A box that slides along the bars, so motion (and frozen video) is easy to see.
        box = max(8, h // 12)
        x = int((frame_number * 4) % max(1, w - box))
        top = h * 2 // 3 - box - h // 30
        image[top : top + box, x : x + box] = _BOX
        local = time.localtime(capture_time)
        clock = time.strftime("%H:%M:%S", local) + f".{int(capture_time * 1000) % 1000:03d}"
        text_top = h * 2 // 3 + h // 24
        self._text(image, clock, w // 20, text_top)
        self._text(image, f"#{frame_number:06d}", w // 20, text_top + 10 * self._scale)
        self._stamp(image, encode_stamp(int(capture_time * 1000), frame_number))
        return image

    def _text(self, image: np.ndarray, text: str, left: int, top: int) -> None:
        scale = self._scale
        for index, ch in enumerate(text):
            mask = _GLYPH_MASKS.get(ch, _GLYPH_MASKS[" "])
            big = np.kron(mask, np.ones((scale, scale), dtype=bool))
            x = left + index * 6 * scale
            y_end, x_end = top + big.shape[0], x + big.shape[1]
            if y_end > image.shape[0] or x_end > image.shape[1]:
                return
            image[top:y_end, x:x_end][big] = _INK

    def _stamp(self, image: np.ndarray, value: int) -> None:
        cell = self.width // STAMP_BITS
        rows = stamp_height(self.height)
        for i in range(STAMP_BITS):
            bit = (value >> (STAMP_BITS - 1 - i)) & 1
            image[:rows, i * cell : (i + 1) * cell] = 255 if bit else 0

    def frames(self) -> Iterator[Frame]:
        """Yield frames at ``fps``, stamped with the time they are made."""
        interval = 1.0 / self.fps
        next_due = time.monotonic()
        number = 0
        while True:
            delay = next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -interval:
                next_due = time.monotonic()  # fell behind: skip, don't burst
            now = time.time()
            yield Frame(self.render(number, now), now, number)
            number += 1
            next_due += interval
