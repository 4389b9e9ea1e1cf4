"""The host's preview shows what viewers see: the pinned card, the deal's countdown and
the featured comment or review, drawn over the video."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog

from console import protocol
from media.recorder import Recorder
from media.source import Frame
from tests.test_window import running_console, until
from widgets.preview import VideoPreview
from widgets.stream_overlay import (
    ACCENT,
    DEAL_ENDED_SHOW,
    CardView,
    FeaturedView,
    countdown_text,
    overlay_view,
)
from widgets.stream_settings import StreamSettingsDialog

NOW = 1_800_000_000.0
GREY = (60, 60, 60)


def shirt(stock: int = 12, second_stock: int = 7) -> protocol.Product:
    return protocol.Product(
        id="linen-shirt",
        title="Relaxed Linen Shirt",
        currency="EUR",
        variants=[
            protocol.Variant(sku="LS-S", options={"Size": "S"}, price=4900, stock=stock),
            protocol.Variant(
                sku="LS-M", options={"Size": "M"}, price=4900, stock=second_stock, compare_at=6900
            ),
        ],
    )


def deal(ends: float, max_units: int | None = 20, sold: int = 3) -> protocol.DealInfo:
    return protocol.DealInfo(
        product_id="linen-shirt",
        price=3900,
        currency="EUR",
        ends=ends,
        max_units=max_units,
        sold=sold,
    )


def review() -> protocol.FeaturedItem:
    return protocol.FeaturedItem(
        kind="review",
        author="Mia",
        text="Soft from the first wear and true to size.",
        rating=4,
        verified_owner=True,
    )


# ---------------------------------------------------------------- what shows


def test_a_running_deal_shows_its_price_the_regular_one_struck_and_the_time_left() -> None:
    state = protocol.ShowState(seq=1, pinned=shirt(), deal=deal(NOW + 94.2))
    assert overlay_view(state, NOW).card == CardView(
        title="Relaxed Linen Shirt",
        price="€39.00",
        was="€49.00",
        on_deal=True,
        deal="01:35",
        deal_units="17 of 20 left at this price",
        stock="In stock",
    )


def test_without_a_deal_the_card_shows_the_price_a_viewer_pays_and_its_stock() -> None:
    card = overlay_view(protocol.ShowState(seq=1, pinned=shirt(stock=0, second_stock=3)), NOW).card
    assert card is not None
    assert (card.price, card.was, card.on_deal, card.deal) == ("€49.00", "€69.00", False, None)
    assert card.stock == "Only 3 left", "the variant a viewer's page selects: the first in stock"
    sold_out = overlay_view(protocol.ShowState(seq=1, pinned=shirt(0, 0)), NOW).card
    assert sold_out is not None and sold_out.stock == "Sold out"


def test_a_deal_whose_time_ran_out_shows_the_regular_price_before_the_hub_says_so() -> None:
    state = protocol.ShowState(seq=1, pinned=shirt(), deal=deal(NOW - 0.5))
    card = overlay_view(state, NOW).card
    assert card is not None
    assert (card.price, card.on_deal, card.deal) == ("€49.00", False, "Deal ended")
    gone = overlay_view(protocol.ShowState(seq=1, pinned=shirt(), deal=deal(NOW + 60, 20, 20)), NOW)
    assert gone.card is not None and gone.card.deal_units == "All deal units are gone"


def test_deal_ended_shows_for_a_while_after_the_hub_ends_it() -> None:
    state = protocol.ShowState(seq=2, pinned=shirt())
    assert overlay_view(state, NOW, deal_ended_at=NOW - 1).card.deal == "Deal ended"  # type: ignore[union-attr]
    later = overlay_view(state, NOW + DEAL_ENDED_SHOW, deal_ended_at=NOW)
    assert later.card is not None and later.card.deal is None


def test_the_featured_review_and_comment_read_as_on_the_viewer_page() -> None:
    state = protocol.ShowState(seq=1, featured=review())
    assert overlay_view(state, NOW).featured == FeaturedView(
        "Owner review ★★★★☆", "Soft from the first wear and true to size.", "Mia", "Verified owner"
    )
    comment = protocol.FeaturedItem(kind="comment", author="Ann", text="Love it", owner=True)
    featured = overlay_view(protocol.ShowState(seq=1, featured=comment), NOW).featured
    assert featured == FeaturedView("From the chat", "Love it", "Ann", "Owner")
    assert overlay_view(protocol.ShowState(seq=1), NOW).card is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2, "00:01"), (59.0, "00:59"), (95, "01:35"), (3725, "1:02:05")]
)
def test_the_countdown_rounds_up_to_whole_seconds_as_on_the_page(seconds: float, text: str) -> None:
    assert countdown_text(seconds) == text


# ---------------------------------------------------------------- the preview


def still_capture(width: int = 640, height: int = 360) -> SimpleNamespace:
    """A camera that always shows the same grey frame."""
    image = np.full((height, width, 3), GREY, dtype=np.uint8)
    return SimpleNamespace(latest=Frame(image, 0.0, 1))


@pytest.fixture
def preview(qtbot) -> VideoPreview:
    widget = VideoPreview(still_capture())  # type: ignore[arg-type]
    qtbot.addWidget(widget)
    widget.resize(640, 360)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget._image is not None)
    return widget


def count_colour(image: QImage, colour: QColor, region: tuple[int, int, int, int]) -> int:
    """Pixels within 40 of ``colour`` in (x, y, width, height), every 2nd row and column."""
    x0, y0, width, height = region
    found = 0
    for y in range(y0, y0 + height, 2):
        for x in range(x0, x0 + width, 2):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - colour.red())
                + abs(pixel.green() - colour.green())
                + abs(pixel.blue() - colour.blue())
                < 40
            ):
                found += 1
    return found


def test_the_preview_draws_the_pinned_card_and_deal_and_takes_them_off_at_unpin(
    preview: VideoPreview, qtbot
) -> None:
    plain = preview.grab().toImage()
    state = protocol.ShowState(seq=1, pinned=shirt(), deal=deal(time.time() + 95))
    preview.show_state(state, clock_offset=0.0)
    card = preview.overlay.view().card
    assert card is not None and card.title == "Relaxed Linen Shirt"
    assert (card.price, card.was) == ("€39.00", "€49.00")
    assert card.deal is not None and re.fullmatch(r"01:3[45]", card.deal)
    shot = preview.grab().toImage()
    bottom_right = (380, 200, 260, 160)
    assert count_colour(shot, ACCENT, bottom_right) > 50, "the FLASH DEAL tag on the card"
    card_dark = QColor(20, 20, 26)  # the card's near-black over the grey video
    assert count_colour(shot, card_dark, bottom_right) > 1000, "the card in the corner"
    assert count_colour(plain, card_dark, bottom_right) == 0

    preview.show_state(protocol.ShowState(seq=2), clock_offset=0.0)
    assert preview.overlay.view().card is None
    assert preview.grab().toImage() == plain, "nothing is left over the video"


def test_the_preview_draws_the_featured_review_at_the_top_left(preview: VideoPreview) -> None:
    plain = preview.grab().toImage()
    preview.show_state(protocol.ShowState(seq=1, featured=review()), clock_offset=0.0)
    shot = preview.grab().toImage()
    top_left = (10, 40, 300, 60)
    assert count_colour(shot, QColor(255, 255, 255), top_left) > 500, "a white note"
    assert count_colour(plain, QColor(255, 255, 255), top_left) == 0
    assert preview.overlay.view().card is None


def test_the_countdown_follows_the_hubs_clock_not_this_machines(preview: VideoPreview) -> None:
    hub_ahead = 1000.0
    state = protocol.ShowState(seq=1, pinned=shirt(), deal=deal(time.time() + hub_ahead + 30))
    preview.show_state(state, clock_offset=hub_ahead)
    card = preview.overlay.view().card
    assert card is not None and card.deal in ("00:30", "00:29")


def test_a_deal_the_hub_ends_shows_deal_ended_and_then_the_card_alone(
    preview: VideoPreview,
) -> None:
    running = protocol.ShowState(seq=1, pinned=shirt(), deal=deal(time.time() + 60))
    preview.show_state(running, clock_offset=0.0)
    preview.show_state(protocol.ShowState(seq=2, pinned=shirt()), clock_offset=0.0)
    card = preview.overlay.view().card
    assert card is not None and (card.deal, card.price) == ("Deal ended", "€49.00")
    other = protocol.Product(
        id="mug", title="Stoneware Mug", currency="EUR", variants=shirt().variants
    )
    preview.show_state(protocol.ShowState(seq=3, pinned=other), clock_offset=0.0)
    card = preview.overlay.view().card
    assert card is not None and card.deal is None, "another product never had that deal"


def test_a_sale_updates_the_stock_on_the_card_without_changing_the_hubs_message(
    preview: VideoPreview,
) -> None:
    state = protocol.ShowState(seq=1, pinned=shirt(stock=12))
    preview.show_state(state, clock_offset=0.0)
    preview.set_stock("linen-shirt", "LS-S", 2)
    assert preview.overlay.view().card.stock == "Only 2 left"  # type: ignore[union-attr]
    preview.set_stock("linen-shirt", "LS-S", 0)
    preview.set_stock("linen-shirt", "LS-M", 0)
    assert preview.overlay.view().card.stock == "Sold out"  # type: ignore[union-attr]
    assert state.pinned is not None and state.pinned.variants[0].stock == 12


# ---------------------------------------------------------------- in the console


@pytest.mark.qasync
async def test_the_console_preview_shows_what_the_host_pins_and_the_deal(tmp_path: Path) -> None:
    async with running_console(tmp_path) as (window, _hub):
        preview = window.preview
        assert preview is not None
        window.pin("linen-shirt")
        await until(lambda: preview.overlay.view().card is not None)
        assert preview.overlay.view().card.title == "Relaxed Linen Shirt"  # type: ignore[union-attr]
        window.command(protocol.StartDeal(price=3900, seconds=90), "Deal started.")
        await until(lambda: preview.overlay.view().card.deal is not None)  # type: ignore[union-attr]
        card = preview.overlay.view().card
        assert card is not None and card.price == "€39.00"
        assert card.deal is not None and re.fullmatch(r"01:[23]\d", card.deal)
        window.command(protocol.Feature(review_id="r-linen-shirt-1"), "Review featured.")
        await until(lambda: preview.overlay.view().featured is not None)
        window.command(protocol.Unpin(), "Unpinned.")
        await until(lambda: preview.overlay.view().card is None)


@pytest.mark.qasync
async def test_recording_goes_to_the_folder_chosen_in_stream_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shows = tmp_path / "shows"
    shows.mkdir()
    async with running_console(tmp_path) as (window, _hub):
        stream = window.stream
        assert stream is not None
        dialog = StreamSettingsDialog(window._settings, window)
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(shows))
        dialog.choose_recordings_folder()
        dialog.accept()
        stream.toggle()
        await until(lambda: stream._broadcast.live)
        stream.start_recording()
        recorder = next(o for o in stream._broadcast.outputs if isinstance(o, Recorder))
        assert recorder.path.parent == shows
        assert recorder.path.name.startswith("Shopcast ")
