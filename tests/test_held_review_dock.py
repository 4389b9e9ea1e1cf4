"""The Held queue in the staff console tells a held review from a held comment."""

from __future__ import annotations

from console import protocol
from widgets.moderation_dock import ModerationDock


def test_a_held_review_says_it_is_a_review_with_its_product_and_stars(qtbot) -> None:
    dock = ModerationDock()
    qtbot.addWidget(dock)
    common = {"viewer_id": "v-1", "name": "Ann", "ts": 0.0, "rule": "link"}
    dock.add_held(protocol.Held(seq=1, held_id=1, text="see spam.example", **common))
    dock.add_held(
        protocol.Held(
            seq=2,
            held_id=2,
            text="cheaper at spam.example",
            product_id="linen-shirt",
            rating=4,
            **common,
        )
    )
    comment, review = (dock.held_list.item(row).text() for row in range(2))
    assert comment.endswith("[link]  Ann: see spam.example")
    assert review.endswith("[link]  Ann (review of linen-shirt, ★★★★☆): cheaper at spam.example")
