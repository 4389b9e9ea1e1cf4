"""Answer suggestions for agents and canned replies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from console import protocol
from console.domain.suggestions import (
    DEFAULT_CANNED,
    Suggestion,
    render_canned,
    suggest,
    variant_line,
)

JACKET = protocol.Product(
    id="rain-jacket",
    title="Harbour Rain Jacket",
    currency="EUR",
    options=["Size", "Colour"],
    description=(
        "A light rain jacket with taped seams. Fully waterproof to 10,000 mm and breathable. "
        "The cut is generous: it runs large, so size down if you are between sizes.\n"
        "Machine wash cold, do not tumble dry."
    ),
    variants=[
        protocol.Variant("RJ-M-BLU", {"Size": "M", "Colour": "Blue"}, 4900, 3),
        protocol.Variant("RJ-L-BLU", {"Size": "L", "Colour": "Blue"}, 4900, 0),
        protocol.Variant("RJ-M-RED", {"Size": "M", "Colour": "Red"}, 5400, 12),
    ],
)
REVIEWS = [
    protocol.Review(
        "r1", "Ann", 5, "Kept me dry all week. Runs large, I sized down.", True, "2026-01-02"
    ),
    protocol.Review("r2", "Bo", 4, "Runs large for sure. Nice red.", False, "2026-01-03"),
    protocol.Review("r3", "Cy", 2, "The hood is too small.", True, "2026-01-04"),
]


def test_a_variant_reads_as_one_line() -> None:
    assert [variant_line(JACKET, v) for v in JACKET.variants] == [
        "Size M, Blue: €49.00, 3 in stock",
        "Size L, Blue: €49.00, sold out",
        "Size M, Red: €54.00, 12 in stock",
    ]


def test_an_unknown_currency_is_spelt_out_not_raised() -> None:
    odd = protocol.Product("p", "P", "XXX", [protocol.Variant("s", {"Size": "M"}, 100, 1)])
    assert variant_line(odd, odd.variants[0]) == "Size M: 100 XXX (minor units), 1 in stock"


def test_a_sizing_question_finds_the_fit_advice_first() -> None:
    found = suggest("does it run large?", JACKET, REVIEWS)
    assert found[0] == Suggestion(
        "description",
        "The cut is generous: it runs large, so size down if you are between sizes.",
        3.0,
    )
    assert found[1] == Suggestion("review", "Ann (verified owner): Runs large, I sized down.", 2.5)
    # An unverified owner saying the same thing ranks lower.
    assert Suggestion("review", "Bo: Runs large for sure.", 1.2) in found


def test_a_stock_question_about_a_colour_finds_its_variants() -> None:
    found = suggest("is the blue in stock?", JACKET, REVIEWS, limit=2)
    assert [s.text for s in found] == [
        "Size M, Blue: €49.00, 3 in stock",
        "Size L, Blue: €49.00, sold out",
    ]


def test_a_material_question_uses_the_topic_as_synonyms() -> None:
    found = suggest("is it waterproof", JACKET, [])
    assert found[0].text == "Fully waterproof to 10,000 mm and breathable."


def test_a_care_question_finds_the_washing_sentence() -> None:
    assert (
        suggest("can I wash it?", JACKET, REVIEWS)[0].text
        == "Machine wash cold, do not tumble dry."
    )


def test_nothing_unrelated_is_suggested() -> None:
    assert suggest("lol", JACKET, REVIEWS) == []
    assert suggest("", JACKET, REVIEWS) == []
    assert suggest("does it run large?", JACKET, REVIEWS, limit=0) == []
    assert all(s.score > 0 for s in suggest("who is the host?", JACKET, REVIEWS))


def test_without_a_product_reviews_still_help() -> None:
    found = suggest("is the hood big enough", None, REVIEWS)
    assert found[0] == Suggestion("review", "Cy (verified owner): The hood is too small.", 1.5)
    assert {s.source for s in found} == {"review"}


def test_the_limit_and_order_are_deterministic() -> None:
    first = suggest("size?", JACKET, REVIEWS, limit=3)
    assert len(first) == 3
    assert first == suggest("size?", JACKET, REVIEWS, limit=3)
    scores = [s.score for s in suggest("size?", JACKET, REVIEWS, limit=50)]
    assert scores == sorted(scores, reverse=True)


def test_canned_replies_fill_the_known_placeholders() -> None:
    text = render_canned(
        "{product} is {price}; {stock} left", product="Rain Jacket", price="€49.00", stock="3"
    )
    assert text == "Rain Jacket is €49.00; 3 left"


def test_canned_replies_leave_typos_and_stray_braces_as_typed() -> None:
    assert (
        render_canned("{prodcut} {price", product="P", price="€1", stock="2") == "{prodcut} {price"
    )
    assert render_canned("{} {{stock}} }{", product="P", price="€1", stock="2") == "{} {2} }{"
    # A value with braces is not read again as a placeholder.
    assert render_canned("{product}", product="{price}", price="€1", stock="2") == "{price}"


def test_default_canned_replies_render() -> None:
    assert len(DEFAULT_CANNED) >= 4
    for title, template in DEFAULT_CANNED:
        assert title
        rendered = render_canned(template, product="Rain Jacket", price="€49.00", stock="3")
        assert "{" not in rendered and "}" not in rendered


@given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=100))
@settings(max_examples=1000)
def test_suggest_and_canned_never_fail(question: str, description: str, template: str) -> None:
    product = protocol.Product(
        "p", "P", "EUR", JACKET.variants, description=description, options=["Size", "Colour"]
    )
    review = protocol.Review("r", "A", 3, description, False, "2026-01-01")
    found = suggest(question, product, [review])
    assert len(found) <= 5
    assert all(s.score > 0 for s in found)
    assert isinstance(render_canned(template, product="{x}", price="", stock="}"), str)
