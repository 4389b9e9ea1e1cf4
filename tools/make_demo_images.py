"""Draw the demo catalogue's product tiles (resources/demo/images/*.png) with QPainter.

The demo needs pictures that look like a shop's product tiles without shipping
photographs nobody may redistribute, so each product is a small vector illustration on
a soft background. The output is deterministic: rerun it after changing a drawing and
commit the PNGs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/make_demo_images.py [OUT_DIR]
"""

from __future__ import annotations

import itertools
import json
import math
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QRadialGradient,
)

SIZE = 480
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"

Draw = Callable[[QPainter], None]


# ---------------------------------------------------------------- helpers


def c(hex_colour: str, alpha: int = 255) -> QColor:
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


def pen(
    colour: QColor | str, width: float = 3.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine
) -> QPen:
    p = QPen(c(colour) if isinstance(colour, str) else colour, width, style)
    p.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return p


def side_shade(x0: float, x1: float, base: str, light: int = 108, dark: int = 118) -> QBrush:
    """A left-to-right gradient so a flat shape reads as a rounded object."""
    g = QLinearGradient(x0, 0, x1, 0)
    g.setColorAt(0.0, c(base).darker(dark))
    g.setColorAt(0.35, c(base).lighter(light))
    g.setColorAt(1.0, c(base).darker(dark + 6))
    return QBrush(g)


def top_shade(y0: float, y1: float, base: str, light: int = 106, dark: int = 112) -> QBrush:
    g = QLinearGradient(0, y0, 0, y1)
    g.setColorAt(0.0, c(base).lighter(light))
    g.setColorAt(1.0, c(base).darker(dark))
    return QBrush(g)


def poly(*points: tuple[float, float]) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for point in points[1:]:
        path.lineTo(QPointF(*point))
    path.closeSubpath()
    return path


def mirror(points: list[tuple[float, float]], axis: float = 240) -> list[tuple[float, float]]:
    return [(2 * axis - x, y) for x, y in reversed(points)]


def blur(alpha: np.ndarray, radius: int, passes: int = 3) -> np.ndarray:
    """Box blur, three passes: close enough to a Gaussian for a soft drop shadow."""
    out = alpha.astype(np.float32)
    for _ in range(passes):
        for axis in (0, 1):
            padded = np.pad(out, [(radius + 1, radius) if a == axis else (0, 0) for a in (0, 1)])
            summed = np.cumsum(padded, axis=axis)
            hi = np.take(summed, range(2 * radius + 1, summed.shape[axis]), axis=axis)
            lo = np.take(summed, range(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
            out = (hi - lo) / (2 * radius + 1)
    return out


# ---------------------------------------------------------------- drawings


def shirt(p: QPainter) -> None:
    base = "#FBFAF6"
    line = c("#C9BFAF")
    left = [(202, 92), (140, 112), (72, 196), (106, 232), (152, 196), (150, 392)]
    body = QPainterPath(QPointF(*left[0]))
    for pt in left[1:]:
        body.lineTo(*pt)
    body.quadTo(240, 412, 330, 392)
    for pt in mirror(left)[1:]:
        body.lineTo(*pt)
    body.quadTo(240, 126, 202, 92)
    p.setPen(pen(line, 3))
    p.setBrush(side_shade(70, 410, base, 102, 104))
    p.drawPath(body)
    # rolled cuffs
    p.setBrush(c(base).darker(104))
    p.drawPath(poly((72, 196), (84, 181), (118, 217), (106, 232)))
    p.drawPath(poly((408, 196), (396, 181), (362, 217), (374, 232)))
    # placket and buttons
    p.setPen(pen(line, 2))
    p.drawLine(QPointF(232, 132), QPointF(232, 400))
    p.drawLine(QPointF(248, 132), QPointF(248, 400))
    p.setBrush(c("#E8E1D6"))
    for y in (165, 215, 265, 315, 362):
        p.drawEllipse(QPointF(240, y), 5, 5)
    # pocket
    p.setBrush(Qt.BrushStyle.NoBrush)
    pocket = QPainterPath(QPointF(268, 178))
    pocket.lineTo(310, 178)
    pocket.lineTo(310, 222)
    pocket.lineTo(289, 230)
    pocket.lineTo(268, 222)
    pocket.closeSubpath()
    p.drawPath(pocket)
    # collar
    p.setPen(pen(line, 3))
    p.setBrush(c(base))
    p.drawPath(poly((202, 90), (240, 132), (216, 150), (186, 104)))
    p.drawPath(poly((278, 90), (240, 132), (264, 150), (294, 104)))


def sneaker(p: QPainter) -> None:
    upper = QPainterPath(QPointF(388, 168))
    upper.cubicTo(408, 210, 414, 280, 412, 322)
    upper.lineTo(82, 322)
    upper.cubicTo(50, 320, 48, 268, 94, 260)
    upper.cubicTo(142, 250, 190, 238, 226, 212)
    upper.lineTo(290, 166)
    upper.cubicTo(310, 152, 334, 170, 346, 184)
    upper.cubicTo(360, 194, 372, 174, 388, 168)
    upper.closeSubpath()
    outline = c("#9AA3AD")
    p.setPen(pen(outline, 3))
    p.setBrush(top_shade(160, 330, "#FFFFFF", 100, 105))
    p.drawPath(upper)
    # tongue behind the laces
    p.setBrush(c("#F1F1EE"))
    p.drawPath(poly((238, 206), (282, 154), (304, 158), (262, 212)))
    # heel tab
    p.setBrush(c("#C99A68"))
    heel = QPainterPath(QPointF(388, 168))
    heel.cubicTo(408, 210, 414, 280, 412, 322)
    heel.lineTo(382, 322)
    heel.cubicTo(386, 272, 380, 210, 366, 180)
    heel.closeSubpath()
    p.drawPath(heel)
    # stitching: toe cap and side panel
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c("#B9C0C8"), 2, Qt.PenStyle.DashLine))
    toe = QPainterPath(QPointF(98, 298))
    toe.cubicTo(112, 272, 150, 258, 184, 250)
    p.drawPath(toe)
    panel = QPainterPath(QPointF(196, 318))
    panel.cubicTo(230, 268, 300, 230, 352, 204)
    p.drawPath(panel)
    # eyelets and laces
    p.setPen(pen(outline, 2))
    p.setBrush(c("#E9ECEF"))
    holes = [(240 + i * 11, 210 - i * 9) for i in range(5)]
    for x, y in holes:
        p.drawEllipse(QPointF(x, y), 3.5, 3.5)
    p.setPen(pen(c("#D3D8DD"), 4))
    for (x0, y0), (x1, y1) in itertools.pairwise(holes):
        p.drawLine(QPointF(x0 - 8, y0 - 9), QPointF(x1 + 12, y1 + 9))
    # cupsole
    sole = QPainterPath()
    sole.addRoundedRect(QRectF(60, 316, 364, 46), 20, 20)
    p.setPen(pen(outline, 3))
    p.setBrush(top_shade(316, 362, "#F5F2EA", 100, 106))
    p.drawPath(sole)
    p.setPen(pen(c("#C9C2B4"), 2))
    p.drawLine(QPointF(80, 338), QPointF(404, 338))


def dress(p: QPainter) -> None:
    base = "#C8643C"
    shape = QPainterPath(QPointF(200, 70))
    shape.lineTo(240, 150)
    shape.lineTo(280, 70)
    shape.cubicTo(310, 74, 338, 98, 350, 132)
    shape.lineTo(306, 140)
    shape.lineTo(292, 212)
    shape.cubicTo(320, 290, 350, 360, 372, 420)
    shape.cubicTo(330, 434, 290, 410, 240, 424)
    shape.cubicTo(190, 410, 150, 434, 108, 420)
    shape.cubicTo(130, 360, 160, 290, 188, 212)
    shape.lineTo(174, 140)
    shape.lineTo(130, 132)
    shape.cubicTo(142, 98, 170, 74, 200, 70)
    shape.closeSubpath()
    dark = c(base).darker(130)
    p.setPen(pen(dark, 3))
    p.setBrush(side_shade(108, 372, base, 110, 110))
    p.drawPath(shape)
    # wrap overlap and skirt folds
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawLine(QPointF(240, 150), QPointF(288, 212))
    overlap = QPainterPath(QPointF(280, 224))
    overlap.cubicTo(290, 300, 300, 370, 306, 414)
    p.drawPath(overlap)
    p.setPen(pen(c(base).darker(115), 2))
    for x0, x1 in ((210, 180), (246, 236), (330, 344)):
        fold = QPainterPath(QPointF(x0, 240))
        fold.cubicTo(x0, 300, x1, 360, x1, 414)
        p.drawPath(fold)
    # waist band, knot and tie ends
    p.setPen(pen(dark, 3))
    p.setBrush(c(base).darker(108))
    p.drawPath(poly((188, 206), (292, 206), (294, 226), (186, 226)))
    p.drawPath(poly((300, 222), (318, 300), (304, 306), (290, 224)))
    p.drawPath(poly((290, 222), (294, 312), (280, 314), (282, 224)))
    p.drawEllipse(QPointF(290, 216), 12, 10)


def tote(p: QPainter) -> None:
    base = "#A8602E"
    dark = c(base).darker(135)
    # back handle
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c(base).darker(125), 14))
    back = QPainterPath(QPointF(206, 196))
    back.cubicTo(206, 96, 300, 96, 300, 196)
    p.drawPath(back)
    body = QPainterPath(QPointF(134, 190))
    body.lineTo(346, 190)
    body.lineTo(366, 372)
    body.quadTo(368, 396, 344, 396)
    body.lineTo(136, 396)
    body.quadTo(112, 396, 114, 372)
    body.closeSubpath()
    p.setPen(pen(dark, 3))
    p.setBrush(side_shade(112, 368, base, 112, 108))
    p.drawPath(body)
    p.setPen(pen(c(base).lighter(135), 2, Qt.PenStyle.DashLine))
    p.drawLine(QPointF(140, 204), QPointF(340, 204))
    p.drawLine(QPointF(126, 382), QPointF(354, 382))
    # front handle with rivets
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c(base).darker(112), 14))
    front = QPainterPath(QPointF(180, 214))
    front.cubicTo(180, 86, 300, 86, 300, 214)
    p.drawPath(front)
    p.setPen(pen(dark, 2))
    p.setBrush(c("#D9B26A"))
    for x in (180, 300):
        p.drawEllipse(QPointF(x, 222), 5, 5)


def mug(p: QPainter) -> None:
    base = "#E9DDC8"
    outline = c("#A8977B")
    # handle
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(outline, 30))
    p.drawArc(QRectF(282, 206, 92, 112), -90 * 16, 180 * 16)
    p.setPen(pen(c(base), 22))
    p.drawArc(QRectF(282, 206, 92, 112), -90 * 16, 180 * 16)
    body = QPainterPath(QPointF(146, 176))
    body.lineTo(334, 176)
    body.lineTo(330, 370)
    body.quadTo(328, 392, 306, 392)
    body.lineTo(174, 392)
    body.quadTo(152, 392, 150, 370)
    body.closeSubpath()
    p.setPen(pen(outline, 3))
    p.setBrush(side_shade(146, 334, base, 106, 110))
    p.drawPath(body)
    # unglazed foot with a drip edge
    p.save()
    p.setClipPath(body)
    foot = QPainterPath(QPointF(140, 356))
    for i in range(8):
        x = 140 + i * 25
        foot.quadTo(x + 12, 372 if i % 2 else 346, x + 25, 356)
    foot.lineTo(340, 400)
    foot.lineTo(140, 400)
    foot.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#B98C63"))
    p.drawPath(foot)
    rng = random.Random(7)
    p.setBrush(c("#6F5E4A", 170))
    for _ in range(70):
        p.drawEllipse(QPointF(rng.uniform(150, 332), rng.uniform(186, 352)), 1.6, 1.6)
    p.restore()
    # rim and coffee
    p.setPen(pen(outline, 3))
    p.setBrush(c(base).lighter(104))
    p.drawEllipse(QRectF(146, 162, 188, 30))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#6B4328"))
    p.drawEllipse(QRectF(158, 168, 164, 20))
    # steam
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c("#FFFFFF", 200), 6))
    for x in (206, 240, 274):
        steam = QPainterPath(QPointF(x, 150))
        steam.cubicTo(x - 16, 130, x + 16, 112, x, 86)
        p.drawPath(steam)


def candle(p: QPainter) -> None:
    # glow
    glow = QRadialGradient(240, 118, 90)
    glow.setColorAt(0, c("#FFE7A3", 170))
    glow.setColorAt(1, c("#FFE7A3", 0))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(glow))
    p.drawEllipse(QPointF(240, 118), 90, 90)
    jar = QPainterPath()
    jar.addRoundedRect(QRectF(150, 170, 180, 224), 22, 22)
    p.setPen(pen(c("#7A4715"), 3))
    p.setBrush(side_shade(150, 330, "#C07A30", 118, 112))
    p.drawPath(jar)
    # wax surface seen through the glass
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#F4E6C8", 230))
    p.drawRoundedRect(QRectF(162, 192, 156, 24), 10, 10)
    # label
    p.setPen(pen(c("#CDBB98"), 2))
    p.setBrush(c("#F7F1E4"))
    p.drawRoundedRect(QRectF(182, 250, 116, 86), 6, 6)
    p.setPen(pen(c("#6E7F5A"), 3))
    p.setBrush(c("#8FA275"))
    for angle in (-35, 0, 35):
        p.save()
        p.translate(240, 304)
        p.rotate(angle)
        p.drawEllipse(QRectF(-6, -30, 12, 28))
        p.restore()
    p.setPen(pen(c("#CDBB98"), 2))
    p.drawLine(QPointF(206, 272), QPointF(274, 272))
    # glass highlight
    p.setPen(pen(c("#FFFFFF", 110), 8))
    p.drawLine(QPointF(170, 232), QPointF(170, 370))
    # wick and flame
    p.setPen(pen(c("#3A2A1C"), 3))
    p.drawLine(QPointF(240, 200), QPointF(240, 176))
    flame = QPainterPath(QPointF(240, 110))
    flame.cubicTo(262, 140, 258, 176, 240, 178)
    flame.cubicTo(222, 176, 218, 140, 240, 110)
    g = QLinearGradient(0, 110, 0, 178)
    g.setColorAt(0, c("#FFB13B"))
    g.setColorAt(0.7, c("#FFE27A"))
    g.setColorAt(1, c("#FFF6D8"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(g))
    p.drawPath(flame)
    # cork lid beside the jar
    p.setPen(pen(c("#9C7550"), 3))
    p.setBrush(top_shade(352, 392, "#CFA879", 104, 110))
    p.drawRoundedRect(QRectF(336, 356, 92, 36), 10, 10)
    rng = random.Random(3)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#9C7550", 150))
    for _ in range(30):
        p.drawEllipse(QPointF(rng.uniform(344, 420), rng.uniform(362, 386)), 1.4, 1.4)


def headphones(p: QPainter) -> None:
    base = "#2B2E35"
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c(base), 26))
    p.drawArc(QRectF(118, 92, 244, 320), 20 * 16, 140 * 16)
    p.setPen(pen(c("#5A5F6B"), 10))
    p.drawArc(QRectF(134, 112, 212, 290), 30 * 16, 120 * 16)
    # sliders
    p.setPen(pen(c("#8C919B"), 8))
    p.drawLine(QPointF(134, 196), QPointF(128, 236))
    p.drawLine(QPointF(346, 196), QPointF(352, 236))
    for x, inner in ((92, 1), (388, -1)):
        cup = QPainterPath()
        cup.addRoundedRect(QRectF(x - 40, 226, 80, 150), 36, 36)
        p.setPen(pen(c("#14161A"), 3))
        p.setBrush(side_shade(x - 40, x + 40, base, 140, 105))
        p.drawPath(cup)
        cushion = QPainterPath()
        cushion.addRoundedRect(QRectF(x + inner * 28 - 16, 234, 32, 134), 16, 16)
        p.setBrush(c("#43474F"))
        p.drawPath(cushion)
        p.setPen(pen(c("#6C717C"), 3))
        p.drawEllipse(QPointF(x - inner * 6, 301), 14, 14)


def serum(p: QPainter) -> None:
    # dropper bulb and collar
    p.setPen(pen(c("#111214"), 3))
    p.setBrush(side_shade(218, 262, "#26282C", 160, 105))
    p.drawRoundedRect(QRectF(218, 84, 44, 96), 20, 20)
    p.setBrush(side_shade(204, 276, "#1B1C1F", 170, 105))
    p.drawRoundedRect(QRectF(204, 160, 72, 46), 8, 8)
    bottle = QPainterPath()
    bottle.moveTo(214, 204)
    bottle.lineTo(266, 204)
    bottle.cubicTo(266, 224, 300, 222, 300, 256)
    bottle.lineTo(300, 380)
    bottle.quadTo(300, 396, 284, 396)
    bottle.lineTo(196, 396)
    bottle.quadTo(180, 396, 180, 380)
    bottle.lineTo(180, 256)
    bottle.cubicTo(180, 222, 214, 224, 214, 204)
    bottle.closeSubpath()
    p.setPen(pen(c("#6A3A0E"), 3))
    p.setBrush(side_shade(180, 300, "#B0631C", 125, 115))
    p.drawPath(bottle)
    # label with a citrus slice
    p.setPen(pen(c("#D9CDB8"), 2))
    p.setBrush(c("#FBF6EC"))
    p.drawRoundedRect(QRectF(192, 282, 96, 86), 6, 6)
    p.setPen(pen(c("#E89A1E"), 3))
    p.setBrush(c("#FFC94D"))
    p.drawEllipse(QPointF(240, 318), 22, 22)
    p.setPen(pen(c("#FFF1C2"), 2))
    for k in range(6):
        a = k * math.pi / 3
        p.drawLine(QPointF(240, 318), QPointF(240 + 18 * math.cos(a), 318 + 18 * math.sin(a)))
    p.setPen(pen(c("#D9CDB8"), 2))
    p.drawLine(QPointF(210, 352), QPointF(270, 352))
    # glass highlight
    p.setPen(pen(c("#FFFFFF", 120), 7))
    p.drawLine(QPointF(192, 262), QPointF(192, 384))


def scarf(p: QPainter) -> None:
    p.save()
    p.translate(240, 232)
    p.rotate(45)
    square = QRectF(-128, -128, 256, 256)
    p.setPen(pen(c("#CBBFA4"), 3))
    p.setBrush(c("#F5EEDD"))
    p.drawRect(square)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#2E56A6"))
    frame = QPainterPath()
    frame.addRect(square.adjusted(10, 10, -10, -10))
    frame.addRect(square.adjusted(26, 26, -26, -26))
    p.drawPath(frame)
    rng = random.Random(11)
    colours = [c("#B5532B"), c("#2E56A6"), c("#6F8F4E"), c("#D9A441")]
    for _ in range(26):
        x, y = rng.uniform(-90, 90), rng.uniform(-90, 90)
        if abs(x) < 34 and abs(y) < 34:
            continue
        p.save()
        p.translate(x, y)
        p.rotate(rng.uniform(0, 180))
        p.setBrush(colours[rng.randrange(len(colours))])
        p.drawEllipse(QRectF(-6, -16, 12, 32))
        p.restore()
    p.setBrush(c("#B5532B"))
    p.drawEllipse(QPointF(0, 0), 30, 30)
    p.setBrush(c("#F5EEDD"))
    p.drawEllipse(QPointF(0, 0), 18, 18)
    p.setBrush(c("#D9A441"))
    p.drawEllipse(QPointF(0, 0), 8, 8)
    p.restore()


def sunglasses(p: QPainter) -> None:
    tortoise = "#7A4A24"
    p.setPen(pen(c("#4A2A12"), 10))
    p.drawLine(QPointF(100, 226), QPointF(70, 206))
    p.drawLine(QPointF(380, 226), QPointF(410, 206))
    for x in (164, 316):
        lens = QRadialGradient(x - 20, 222, 90)
        lens.setColorAt(0, c("#5E6E66"))
        lens.setColorAt(1, c("#1F2925"))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(lens))
        p.drawEllipse(QPointF(x, 248), 62, 62)
        # tortoise rim with spots
        rim = QPainterPath()
        rim.addEllipse(QPointF(x, 248), 72, 72)
        rim.addEllipse(QPointF(x, 248), 60, 60)
        p.setBrush(c(tortoise))
        p.drawPath(rim)
        p.save()
        p.setClipPath(rim)
        rng = random.Random(x)
        for _ in range(40):
            a = rng.uniform(0, 2 * math.pi)
            p.setBrush(c(rng.choice(["#3E220E", "#B27A3E", "#5A3416"]), 200))
            p.drawEllipse(QPointF(x + 66 * math.cos(a), 248 + 66 * math.sin(a)), 6, 4)
        p.restore()
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(pen(c("#FFFFFF", 90), 6))
        p.drawArc(QRectF(x - 44, 204, 88, 88), 110 * 16, 50 * 16)
    bridge = QPainterPath(QPointF(228, 232))
    bridge.cubicTo(234, 212, 246, 212, 252, 232)
    p.setPen(pen(c(tortoise), 12))
    p.drawPath(bridge)


def watch(p: QPainter) -> None:
    leather = "#8A5530"
    p.setPen(pen(c(leather).darker(140), 3))
    p.setBrush(side_shade(204, 276, leather, 115, 110))
    p.drawRoundedRect(QRectF(204, 40, 72, 150), 10, 10)
    p.drawRoundedRect(QRectF(204, 290, 72, 160), 10, 10)
    p.setPen(pen(c("#E7C9A2"), 2, Qt.PenStyle.DashLine))
    for x in (213, 267):
        p.drawLine(QPointF(x, 50), QPointF(x, 180))
        p.drawLine(QPointF(x, 300), QPointF(x, 440))
    p.setPen(pen(c(leather).darker(160), 2))
    p.setBrush(c(leather).darker(150))
    for y in (360, 384, 408):
        p.drawEllipse(QPointF(240, y), 4, 4)
    # lugs and crown
    p.setPen(pen(c("#6E757C"), 2))
    p.setBrush(c("#BFC5CB"))
    for x in (198, 258):
        p.drawRoundedRect(QRectF(x, 150, 24, 40), 6, 6)
        p.drawRoundedRect(QRectF(x, 290, 24, 40), 6, 6)
    p.drawRoundedRect(QRectF(318, 228, 20, 24), 5, 5)
    case = QLinearGradient(160, 160, 320, 320)
    case.setColorAt(0, c("#EEF1F4"))
    case.setColorAt(1, c("#858D95"))
    p.setBrush(QBrush(case))
    p.drawEllipse(QPointF(240, 240), 84, 84)
    p.setBrush(c("#2F3A30"))
    p.drawEllipse(QPointF(240, 240), 70, 70)
    # markers and hands at ten past ten
    for k in range(12):
        a = k * math.pi / 6
        inner = 52 if k % 3 else 46
        p.setPen(pen(c("#EFE6CC"), 5 if k % 3 == 0 else 3))
        p.drawLine(
            QPointF(240 + inner * math.sin(a), 240 - inner * math.cos(a)),
            QPointF(240 + 62 * math.sin(a), 240 - 62 * math.cos(a)),
        )
    for angle, length, width in ((-60, 34, 7), (60, 52, 5)):
        a = math.radians(angle)
        p.setPen(pen(c("#EFE6CC"), width))
        p.drawLine(
            QPointF(240, 240), QPointF(240 + length * math.sin(a), 240 - length * math.cos(a))
        )
    p.setPen(pen(c("#D2452F"), 2))
    p.drawLine(QPointF(240, 252), QPointF(240, 182))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#D2452F"))
    p.drawEllipse(QPointF(240, 240), 5, 5)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c("#FFFFFF", 70), 8))
    p.drawArc(QRectF(186, 186, 108, 108), 100 * 16, 60 * 16)


def backpack(p: QPainter) -> None:
    base = "#3F5E45"
    dark = c(base).darker(150)
    # shoulder straps peeking out at the sides
    p.setPen(pen(dark, 3))
    p.setBrush(c(base).darker(130))
    p.drawRoundedRect(QRectF(130, 150, 34, 220), 14, 14)
    p.drawRoundedRect(QRectF(316, 150, 34, 220), 14, 14)
    p.setBrush(side_shade(146, 334, base, 118, 112))
    p.drawRoundedRect(QRectF(146, 128, 188, 276), 30, 30)
    # roll-top
    p.setBrush(top_shade(84, 144, base, 115, 110))
    p.drawRoundedRect(QRectF(156, 86, 168, 58), 20, 20)
    p.setPen(pen(c(base).darker(125), 2))
    for y in (104, 122):
        p.drawLine(QPointF(170, y), QPointF(310, y))
    # front pocket
    p.setPen(pen(dark, 3))
    p.setBrush(c(base).darker(110))
    p.drawRoundedRect(QRectF(172, 262, 136, 118), 18, 18)
    p.setPen(pen(c("#D6D9D2"), 3))
    p.drawLine(QPointF(186, 278), QPointF(294, 278))
    # strap and buckle
    p.setPen(pen(c("#17191A"), 2))
    p.setBrush(c("#26292B"))
    p.drawRect(QRectF(230, 96, 20, 140))
    p.setBrush(c("#9A9FA3"))
    p.drawRoundedRect(QRectF(222, 214, 36, 22), 4, 4)
    # reflective tab
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c("#E8ECEF", 220))
    p.drawRoundedRect(QRectF(226, 344, 28, 8), 3, 3)


def hoodie(p: QPainter) -> None:
    base = "#A9ABB1"
    dark = c(base).darker(140)
    hood = QPainterPath(QPointF(172, 128))
    hood.cubicTo(166, 40, 314, 40, 308, 128)
    hood.closeSubpath()
    p.setPen(pen(dark, 3))
    p.setBrush(c(base).darker(106))
    p.drawPath(hood)
    left = [(172, 120), (122, 140), (80, 352), (120, 362), (158, 210), (158, 372)]
    body = QPainterPath(QPointF(*left[0]))
    for pt in left[1:]:
        body.lineTo(*pt)
    body.lineTo(322, 372)
    for pt in mirror(left)[1:]:
        body.lineTo(*pt)
    body.closeSubpath()
    p.setBrush(side_shade(80, 400, base, 108, 108))
    p.drawPath(body)
    # hood opening
    opening = QPainterPath(QPointF(196, 128))
    opening.cubicTo(200, 84, 280, 84, 284, 128)
    opening.cubicTo(266, 154, 214, 154, 196, 128)
    p.setBrush(c(base).darker(150))
    p.drawPath(opening)
    # ribbed hem and cuffs
    p.setBrush(c(base).darker(112))
    p.drawRect(QRectF(158, 372, 164, 26))
    p.drawPath(poly((80, 352), (120, 362), (116, 384), (76, 374)))
    p.drawPath(poly((400, 352), (360, 362), (364, 384), (404, 374)))
    p.setPen(pen(c(base).darker(125), 1.5))
    for x in range(166, 320, 8):
        p.drawLine(QPointF(x, 376), QPointF(x, 394))
    # kangaroo pocket
    p.setPen(pen(dark, 3))
    p.setBrush(Qt.BrushStyle.NoBrush)
    pocket = QPainterPath(QPointF(186, 360))
    pocket.lineTo(200, 280)
    pocket.lineTo(280, 280)
    pocket.lineTo(294, 360)
    p.drawPath(pocket)
    # drawcords
    p.setPen(pen(c("#F2F2F2"), 4))
    p.drawLine(QPointF(224, 146), QPointF(218, 232))
    p.drawLine(QPointF(256, 146), QPointF(262, 232))
    p.setPen(pen(c("#6D7077"), 6))
    p.drawLine(QPointF(218, 228), QPointF(217, 240))
    p.drawLine(QPointF(262, 228), QPointF(263, 240))


def bottle(p: QPainter) -> None:
    base = "#9FCBDA"
    # carry loop
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(pen(c("#7F5B36"), 10))
    p.drawArc(QRectF(214, 34, 52, 60), 0, 180 * 16)
    body = QPainterPath(QPointF(208, 124))
    body.lineTo(272, 124)
    body.cubicTo(272, 150, 292, 150, 292, 180)
    body.lineTo(292, 372)
    body.quadTo(292, 404, 260, 404)
    body.lineTo(220, 404)
    body.quadTo(188, 404, 188, 372)
    body.lineTo(188, 180)
    body.cubicTo(188, 150, 208, 150, 208, 124)
    body.closeSubpath()
    p.setPen(pen(c(base).darker(150), 3))
    p.setBrush(side_shade(188, 292, base, 118, 118))
    p.drawPath(body)
    p.setPen(pen(c("#FFFFFF", 120), 9))
    p.drawLine(QPointF(206, 190), QPointF(206, 380))
    # steel band and bamboo lid
    p.setPen(pen(c("#6E757C"), 2))
    p.setBrush(side_shade(204, 276, "#C9CFD4", 115, 115))
    p.drawRect(QRectF(204, 112, 72, 14))
    p.setPen(pen(c("#8A6338"), 3))
    p.setBrush(side_shade(206, 274, "#D6AE78", 110, 112))
    p.drawRoundedRect(QRectF(206, 64, 68, 50), 8, 8)
    p.setPen(pen(c("#B58A55"), 1.5))
    for x in (220, 234, 251, 263):
        p.drawLine(QPointF(x, 70), QPointF(x + 2, 108))


def card_holder(p: QPainter) -> None:
    p.save()
    p.translate(240, 250)
    p.rotate(-8)
    # cards in the top slot
    p.setPen(pen(c("#2D4F7C"), 2))
    p.setBrush(c("#4C7DB8"))
    p.drawRoundedRect(QRectF(-86, -112, 150, 90), 8, 8)
    p.setPen(pen(c("#8C8C84"), 2))
    p.setBrush(c("#E4E1D6"))
    p.drawRoundedRect(QRectF(-60, -96, 150, 90), 8, 8)
    base = "#B26F3A"
    p.setPen(pen(c(base).darker(140), 3))
    p.setBrush(top_shade(-70, 90, base, 112, 110))
    holder = QPainterPath()
    holder.addRoundedRect(QRectF(-120, -70, 240, 160), 14, 14)
    p.drawPath(holder)
    # centre pocket thumb cut and inner slot line
    p.setBrush(c("#E4E1D6"))
    p.drawChord(QRectF(-30, -100, 60, 60), 180 * 16, 180 * 16)
    p.setPen(pen(c(base).darker(120), 2))
    p.drawLine(QPointF(-104, -24), QPointF(104, -24))
    p.setPen(pen(c("#F1DDBD"), 2, Qt.PenStyle.DashLine))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(-110, -60, 220, 140), 9, 9)
    p.restore()


#: product id -> (background colour, drawing); one tile per product in catalogue.json.
TILES: dict[str, tuple[str, Draw]] = {
    "linen-shirt": ("#EFE7DA", shirt),
    "court-sneaker": ("#DCE7EE", sneaker),
    "wrap-dress": ("#F6E2D8", dress),
    "leather-tote": ("#E5EDE2", tote),
    "stoneware-mug": ("#E9DFEB", mug),
    "soy-candle": ("#F4EBDD", candle),
    "anc-headphones": ("#E2E7F1", headphones),
    "vitamin-c-serum": ("#FFF0D2", serum),
    "silk-scarf": ("#E2EAF3", scarf),
    "round-sunglasses": ("#FBE6D6", sunglasses),
    "field-watch": ("#E9E6DD", watch),
    "rolltop-backpack": ("#EDF0E2", backpack),
    "organic-hoodie": ("#E8EBF0", hoodie),
    "steel-bottle": ("#DDF0EE", bottle),
    "card-holder": ("#F1E6DA", card_holder),
}


def render(background: str, draw: Draw) -> QImage:
    """Background, a soft floor spot, a blurred drop shadow of the product, the product."""
    layer = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    layer.fill(Qt.GlobalColor.transparent)
    painter = QPainter(layer)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw(painter)
    painter.end()

    stride = layer.bytesPerLine()
    pixels = np.frombuffer(layer.constBits(), np.uint8).reshape(SIZE, stride)
    alpha = pixels[:, : SIZE * 4].reshape(SIZE, SIZE, 4)[..., 3]
    shifted = np.zeros_like(alpha)
    shifted[10:, 6:] = alpha[:-10, :-6]
    shade = (blur(shifted, 7) * 0.22).clip(0, 255).astype(np.uint8)
    shadow_px = np.zeros((SIZE, SIZE, 4), np.uint8)
    shadow_px[..., 3] = shade  # premultiplied black: colour channels stay 0
    shadow = QImage(shadow_px.data, SIZE, SIZE, SIZE * 4, QImage.Format.Format_ARGB32_Premultiplied)

    tile = QImage(SIZE, SIZE, QImage.Format.Format_RGB32)
    tile.fill(c(background))
    painter = QPainter(tile)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(c(background).lighter(104))
    painter.drawEllipse(QPointF(SIZE / 2, SIZE / 2 + 6), 196, 196)
    painter.drawImage(0, 0, shadow)
    painter.drawImage(0, 0, layer)
    painter.end()
    return tile


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEMO / "images"
    out.mkdir(parents=True, exist_ok=True)
    _app = QGuiApplication.instance() or QGuiApplication(argv[:1])
    catalogue = json.loads((DEMO / "catalogue.json").read_text(encoding="utf-8"))
    missing = [p["id"] for p in catalogue["products"] if p["id"] not in TILES]
    if missing:
        print(f"no drawing for {', '.join(missing)}; add one to TILES", file=sys.stderr)
        return 1
    for product in catalogue["products"]:
        background, draw = TILES[product["id"]]
        target = out / product["image"]
        if not render(background, draw).save(str(target), "PNG"):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(
            f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
            f"{target.stat().st_size // 1024} KB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
