"""The catalogue: the shipped demo file, every rule a catalogue editor can break, round trips."""

from __future__ import annotations

import copy
import importlib.resources
import json
import struct
from typing import Any

import pytest

from console.domain.catalogue import (
    Catalogue,
    Product,
    Review,
    Variant,
    catalogue_to_dict,
    import_file_text,
    parse_catalogue,
)
from console.domain.money import Money
from console.errors import CatalogueError

DEMO = importlib.resources.files("resources") / "demo"


@pytest.fixture(scope="module")
def demo_data() -> dict[str, Any]:
    return json.loads((DEMO / "catalogue.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(demo_data) -> Catalogue:
    return parse_catalogue(demo_data)


def minimal() -> dict[str, Any]:
    """A valid two-product catalogue that each test breaks in one place."""
    return {
        "version": 1,
        "products": [
            {
                "id": "linen-shirt",
                "title": "Relaxed Linen Shirt",
                "description": "100% linen.",
                "vendor": "Atelier Nord",
                "image": "linen-shirt.png",
                "currency": "EUR",
                "options": ["Size", "Colour"],
                "variants": [
                    {
                        "sku": "LS-S-WHT",
                        "options": {"Size": "S", "Colour": "White"},
                        "price": 4900,
                        "compare_at": 6900,
                        "stock": 12,
                    },
                    {
                        "sku": "LS-M-WHT",
                        "options": {"Size": "M", "Colour": "White"},
                        "price": 5400,
                        "compare_at": None,
                        "stock": 0,
                    },
                ],
                "reviews": [
                    {
                        "id": "r-linen-shirt-1",
                        "author": "Mia K.",
                        "rating": 5,
                        "text": "Softer every wash.",
                        "verified_owner": True,
                        "created": "2026-09-14",
                    },
                    {
                        "id": "r-linen-shirt-2",
                        "author": "Tom B.",
                        "rating": 2,
                        "text": "Runs small, order one size up.",
                        "verified_owner": False,
                        "created": "2026-10-01",
                    },
                ],
            },
            {
                "id": "stoneware-mug",
                "title": "Speckled Stoneware Mug",
                "description": "350 ml.",
                "vendor": "Kiln & Clay",
                "image": None,
                "currency": "EUR",
                "options": ["Default"],
                "variants": [
                    {
                        "sku": "MUG-1",
                        "options": {"Default": "Default"},
                        "price": 1490,
                        "compare_at": None,
                        "stock": 3,
                    }
                ],
                "reviews": [],
            },
        ],
    }


def refused(data: Any) -> str:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(data)
    return str(caught.value)


def shirt(data: dict[str, Any]) -> dict[str, Any]:
    return data["products"][0]


def variant(data: dict[str, Any]) -> dict[str, Any]:
    return data["products"][0]["variants"][0]


def review(data: dict[str, Any]) -> dict[str, Any]:
    return data["products"][0]["reviews"][0]


# ---------------------------------------------------------------- the shipped demo


def test_the_demo_catalogue_parses(demo):
    assert isinstance(demo, Catalogue)


def test_the_demo_has_enough_products_for_a_show(demo):
    assert len(demo) >= 12


def test_every_demo_product_has_variants_with_a_value_for_each_option(demo):
    for product in demo:
        assert product.options, product.id
        assert 1 <= len(product.variants) <= 12, product.id
        for v in product.variants:
            assert [name for name, _ in v.options] == list(product.options), v.sku


def test_every_demo_product_has_three_to_eight_reviews(demo):
    for product in demo:
        assert 3 <= product.rating_count <= 8, product.id


def test_every_demo_product_has_a_png_tile_that_exists(demo):
    for product in demo:
        assert product.image, product.id
        data = (DEMO / "images" / product.image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", product.image
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (480, 480), product.image
        assert len(data) < 64 * 1024, f"{product.image} is {len(data)} bytes"


def test_the_demo_is_all_euros_with_mixed_sales_and_stock(demo):
    assert {p.currency for p in demo} == {"EUR"}
    variants = [v for p in demo for v in p.variants]
    assert any(v.on_sale for v in variants)
    assert any(not v.on_sale for v in variants)
    assert sum(1 for v in variants if v.stock == 0) >= 2
    assert any(1 <= p.total_stock <= 3 for p in demo), "no low-stock product for sold-out demos"


def test_the_demo_reviews_include_critical_ones_and_unverified_ones(demo):
    reviews = [r for p in demo for r in p.reviews]
    assert any(r.rating <= 3 for r in reviews)
    assert any(not r.verified_owner for r in reviews)
    assert sum(r.verified_owner for r in reviews) > len(reviews) / 2
    assert all(r.created.startswith("2026-") for r in reviews)


def test_demo_descriptions_give_an_agent_facts_to_answer_from(demo):
    for product in demo:
        assert len(product.description) >= 120, product.id
        assert any(ch.isdigit() for ch in product.description), product.id


def test_the_demo_round_trips_to_the_same_data(demo_data, demo):
    assert catalogue_to_dict(demo) == demo_data
    assert parse_catalogue(catalogue_to_dict(demo)) == demo


# ---------------------------------------------------------------- what the objects answer


def test_a_product_answers_price_range_stock_and_rating():
    catalogue = parse_catalogue(minimal())
    product = catalogue.by_id("linen-shirt")
    assert product is not None
    assert product.currency == "EUR"
    assert product.price_range == (Money(4900, "EUR"), Money(5400, "EUR"))
    assert product.total_stock == 12
    assert product.in_stock
    assert product.rating_count == 2
    assert product.rating_average == 3.5


def test_a_product_without_reviews_has_no_average_rather_than_zero_stars():
    product = parse_catalogue(minimal()).by_id("stoneware-mug")
    assert product is not None
    assert product.rating_average is None
    assert product.rating_count == 0


def test_a_sku_finds_its_product_and_variant_for_an_order_line():
    catalogue = parse_catalogue(minimal())
    found = catalogue.by_sku("LS-M-WHT")
    assert found is not None
    product, v = found
    assert product.id == "linen-shirt"
    assert v.price == Money(5400, "EUR")
    assert not v.in_stock
    assert catalogue.by_sku("NOPE") is None
    assert catalogue.by_id("nope") is None


def test_a_shopper_choice_of_options_finds_the_variant():
    product = parse_catalogue(minimal()).by_id("linen-shirt")
    assert product is not None
    chosen = product.variant_for({"Colour": "White", "Size": "M"})
    assert chosen is not None
    assert chosen.sku == "LS-M-WHT"
    assert chosen.option("Size") == "M"
    assert chosen.options_map == {"Size": "M", "Colour": "White"}
    assert chosen.title == "M / White"
    assert product.variant_for({"Size": "XL", "Colour": "White"}) is None
    assert product.variant("LS-S-WHT") is not None


def test_a_variant_on_sale_has_a_higher_compare_at_price():
    v = parse_catalogue(minimal()).by_sku("LS-S-WHT")
    assert v is not None
    assert v[1].on_sale
    assert v[1].compare_at == Money(6900, "EUR")


def test_a_default_only_variant_has_no_label_to_show():
    found = parse_catalogue(minimal()).by_sku("MUG-1")
    assert found is not None
    assert found[1].title == ""


def test_products_stay_in_the_order_of_the_file():
    assert [p.id for p in parse_catalogue(minimal())] == ["linen-shirt", "stoneware-mug"]


def test_a_product_without_variants_cannot_be_built_in_code():
    with pytest.raises(CatalogueError, match="product 'x': must have at least one variant"):
        Product("x", "X", "", "", None, ("Default",), ())


def test_a_product_with_prices_in_two_currencies_cannot_be_built_in_code():
    variants = (
        Variant("A", (("Default", "A"),), Money(100, "EUR"), 1),
        Variant("B", (("Default", "B"),), Money(100, "USD"), 1),
    )
    with pytest.raises(CatalogueError, match="priced in EUR, USD; use one currency"):
        Product("x", "X", "", "", None, ("Default",), variants)


def test_a_catalogue_built_in_code_still_refuses_duplicate_ids_and_skus():
    one = Variant("A", (("Default", "Default"),), Money(100, "EUR"), 1)
    product = Product("x", "X", "", "", None, ("Default",), (one,))
    with pytest.raises(CatalogueError, match="id is used twice"):
        Catalogue((product, product))
    other = Product("y", "Y", "", "", None, ("Default",), (one,))
    with pytest.raises(CatalogueError, match="SKU is already used by product 'x'"):
        Catalogue((product, other))


def test_objects_are_immutable_and_hashable():
    catalogue = parse_catalogue(minimal())
    product = catalogue.products[0]
    with pytest.raises(AttributeError):
        product.title = "Other"  # type: ignore[misc]
    assert hash(product) == hash(parse_catalogue(minimal()).products[0])
    assert isinstance(product.reviews[0], Review)


def test_an_empty_catalogue_is_allowed_for_a_show_without_products():
    empty = parse_catalogue({"version": 1, "products": []})
    assert len(empty) == 0
    assert catalogue_to_dict(empty) == {"version": 1, "products": []}


def test_the_minimal_catalogue_round_trips():
    data = minimal()
    assert catalogue_to_dict(parse_catalogue(data)) == data


def test_optional_product_fields_may_be_left_out():
    data = minimal()
    for key in ("description", "vendor", "image", "reviews"):
        del shirt(data)[key]
    del variant(data)["compare_at"]
    product = parse_catalogue(data).products[0]
    assert (product.description, product.vendor, product.image, product.reviews) == (
        "",
        "",
        None,
        (),
    )
    assert not product.variants[0].on_sale


def test_parsing_does_not_change_the_data_it_was_given():
    data = minimal()
    before = copy.deepcopy(data)
    parse_catalogue(data)
    assert data == before


# ---------------------------------------------------------------- the file as a whole


def test_a_catalogue_that_is_not_an_object_is_refused():
    assert refused([]) == "catalogue: must be an object with 'version' and 'products', got a list"


def test_a_catalogue_without_a_version_is_refused():
    data = minimal()
    del data["version"]
    assert refused(data) == "catalogue: version is missing; this Shopcast reads version 1"


def test_a_catalogue_from_a_newer_shopcast_is_refused_with_the_version_named():
    data = minimal()
    data["version"] = 2
    assert refused(data) == (
        "catalogue: version 2 is not supported; this Shopcast reads version 1 "
        "(a newer Shopcast may have written the file)"
    )


def test_a_catalogue_with_true_as_version_is_refused():
    data = minimal()
    data["version"] = True
    assert "version True is not supported" in refused(data)


def test_a_catalogue_without_products_is_refused():
    data = minimal()
    del data["products"]
    assert refused(data) == "catalogue: products is missing; use [] for an empty catalogue"


def test_products_that_are_not_a_list_are_refused():
    data = minimal()
    data["products"] = {"linen-shirt": {}}
    assert refused(data) == "catalogue: products must be a list, got an object"


def test_an_unknown_top_level_field_is_refused():
    data = minimal()
    data["currency"] = "EUR"
    assert refused(data) == "catalogue: unknown field 'currency'; the fields are products, version"


# ---------------------------------------------------------------- products


def test_a_product_that_is_not_an_object_is_refused_by_position():
    data = minimal()
    data["products"].append("hoodie")
    assert refused(data) == "product #3: must be an object, got text"


def test_a_product_without_an_id_is_refused_by_position():
    data = minimal()
    del shirt(data)["id"]
    assert refused(data) == "product #1: id is missing"


def test_a_product_id_with_spaces_is_refused_with_the_allowed_characters():
    data = minimal()
    shirt(data)["id"] = "linen shirt"
    assert refused(data) == (
        "product #1: id must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
        "letter or digit), got 'linen shirt'"
    )


def test_a_product_id_used_twice_is_refused():
    data = minimal()
    data["products"][1]["id"] = "linen-shirt"
    assert refused(data) == (
        "product 'linen-shirt': the id is used twice; give each product its own id"
    )


def test_a_misspelt_product_field_is_refused_and_the_real_fields_listed():
    data = minimal()
    shirt(data)["descripton"] = "typo"
    message = refused(data)
    assert message.startswith("product 'linen-shirt': unknown field 'descripton'; product fields")
    assert "description" in message


def test_a_product_without_a_title_is_refused():
    data = minimal()
    del shirt(data)["title"]
    assert refused(data) == "product 'linen-shirt': title is missing"


def test_a_blank_title_is_refused():
    data = minimal()
    shirt(data)["title"] = "   "
    assert refused(data) == "product 'linen-shirt': title must not be empty"


def test_a_description_that_is_not_text_is_refused():
    data = minimal()
    shirt(data)["description"] = ["linen"]
    assert refused(data) == "product 'linen-shirt': description must be text, got a list"


@pytest.mark.parametrize("image", ["../../etc/passwd", "images/shirt.png", "shirt.gif", 7])
def test_an_image_that_is_a_path_or_not_a_picture_is_refused(image):
    data = minimal()
    shirt(data)["image"] = image
    assert refused(data) == (
        "product 'linen-shirt': image must be a file name such as 'shirt.png' (no folders; "
        f".png, .jpg or .webp) or null, got {image!r}"
    )


@pytest.mark.parametrize("currency", ["EURO", "eur", None, "XYZ"])
def test_a_product_in_an_unknown_currency_is_refused(currency):
    data = minimal()
    shirt(data)["currency"] = currency
    assert refused(data) == (
        f"product 'linen-shirt': currency must be a supported ISO 4217 code such as 'EUR', "
        f"got {currency!r}"
    )


def test_a_product_without_options_is_told_to_use_default():
    data = minimal()
    shirt(data)["options"] = []
    assert "use ['Default'] for a product without choices" in refused(data)


def test_a_blank_option_name_is_refused():
    data = minimal()
    shirt(data)["options"] = ["Size", ""]
    assert refused(data) == "product 'linen-shirt': options must be non-empty names, got ''"


def test_an_option_listed_twice_is_refused():
    data = minimal()
    shirt(data)["options"] = ["Size", "Colour", "Size"]
    assert refused(data) == "product 'linen-shirt': option 'Size' is listed twice"


def test_a_product_without_variants_is_refused():
    data = minimal()
    shirt(data)["variants"] = []
    assert refused(data) == (
        "product 'linen-shirt': variants must be a non-empty list; a product needs one to be bought"
    )


def test_reviews_that_are_not_a_list_are_refused():
    data = minimal()
    shirt(data)["reviews"] = None
    assert refused(data) == "product 'linen-shirt': reviews must be a list, got null"


# ---------------------------------------------------------------- variants


def test_a_variant_without_a_sku_is_refused_by_position():
    data = minimal()
    del variant(data)["sku"]
    assert refused(data) == "product 'linen-shirt' variant #1: sku is missing"


def test_a_sku_used_by_two_products_is_refused_with_both_named():
    data = minimal()
    data["products"][1]["variants"][0]["sku"] = "LS-S-WHT"
    assert refused(data) == (
        "product 'stoneware-mug' variant 'LS-S-WHT': the SKU is already used by product "
        "'linen-shirt'; every variant needs its own SKU"
    )


def test_a_sku_used_twice_in_one_product_is_refused():
    data = minimal()
    shirt(data)["variants"][1]["sku"] = "LS-S-WHT"
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': the SKU is already used by this product; "
        "every variant needs its own SKU"
    )


def test_a_variant_missing_a_value_for_an_option_is_refused():
    data = minimal()
    del variant(data)["options"]["Colour"]
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': has no value for option 'Colour'"
    )


def test_a_variant_with_an_option_the_product_does_not_list_is_refused():
    data = minimal()
    variant(data)["options"]["Fit"] = "Slim"
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': has option 'Fit', which the product does "
        "not list (its options are Size, Colour)"
    )


def test_a_blank_option_value_is_refused():
    data = minimal()
    variant(data)["options"]["Size"] = ""
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': option 'Size' must be non-empty text, got ''"
    )


def test_variant_options_that_are_not_an_object_are_refused():
    data = minimal()
    variant(data)["options"] = ["S", "White"]
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': options must be an object such as "
        "{'Size': ...}, got a list"
    )


def test_two_variants_with_the_same_options_are_refused():
    data = minimal()
    shirt(data)["variants"][1]["options"] = {"Size": "S", "Colour": "White"}
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-M-WHT': options Size=S, Colour=White are the same "
        "as variant 'LS-S-WHT'; a shopper could not choose between them"
    )


def test_a_price_in_euros_with_a_decimal_point_is_refused_as_not_minor_units():
    data = minimal()
    variant(data)["price"] = 49.0
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': price must be a whole number of minor "
        "units, got 49.0"
    )


@pytest.mark.parametrize("price", ["49.00", True, None])
def test_a_price_that_is_not_a_whole_number_is_refused(price):
    data = minimal()
    variant(data)["price"] = price
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': price must be a whole number of minor "
        f"units, got {price!r}"
    )


def test_a_variant_without_a_price_is_refused():
    data = minimal()
    del variant(data)["price"]
    assert refused(data) == "product 'linen-shirt' variant 'LS-S-WHT': price is missing"


def test_a_negative_price_is_refused():
    data = minimal()
    variant(data)["price"] = -100
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': price must not be negative, got -100"
    )


def test_a_free_variant_is_allowed():
    data = minimal()
    variant(data)["price"] = 0
    found = parse_catalogue(data).by_sku("LS-S-WHT")
    assert found is not None
    assert found[1].price.is_zero


@pytest.mark.parametrize("compare_at", [4900, 3900])
def test_a_compare_at_price_not_above_the_price_is_refused(compare_at):
    data = minimal()
    variant(data)["compare_at"] = compare_at
    assert refused(data) == (
        f"product 'linen-shirt' variant 'LS-S-WHT': compare_at ({compare_at}) must be higher "
        "than price (4900): it is the struck-through 'was' price; use null when the variant "
        "is not on sale"
    )


def test_a_compare_at_price_with_decimals_is_refused():
    data = minimal()
    variant(data)["compare_at"] = 69.0
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': compare_at must be a whole number of minor "
        "units, got 69.0"
    )


def test_negative_stock_is_refused_and_zero_suggested():
    data = minimal()
    variant(data)["stock"] = -1
    assert refused(data) == (
        "product 'linen-shirt' variant 'LS-S-WHT': stock must not be negative, got -1; use 0 "
        "for sold out"
    )


@pytest.mark.parametrize("stock", [1.5, "12", None])
def test_stock_that_is_not_a_whole_number_is_refused(stock):
    data = minimal()
    variant(data)["stock"] = stock
    assert refused(data) == (
        f"product 'linen-shirt' variant 'LS-S-WHT': stock must be a whole number, got {stock!r}"
    )


def test_a_misspelt_variant_field_is_refused():
    data = minimal()
    variant(data)["compare_price"] = 6900
    assert refused(data).startswith(
        "product 'linen-shirt' variant 'LS-S-WHT': unknown field 'compare_price'; variant fields "
        "are "
    )


# ---------------------------------------------------------------- reviews


@pytest.mark.parametrize("rating", [0, 6, 4.5, "5", True])
def test_a_rating_outside_one_to_five_stars_is_refused(rating):
    data = minimal()
    review(data)["rating"] = rating
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': rating must be a whole number of stars "
        f"from 1 to 5, got {rating!r}"
    )


def test_a_review_without_an_author_is_refused():
    data = minimal()
    review(data)["author"] = ""
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': author must not be empty"
    )


def test_a_review_without_text_is_refused():
    data = minimal()
    del review(data)["text"]
    assert refused(data) == "product 'linen-shirt' review 'r-linen-shirt-1': text is missing"


def test_verified_owner_written_as_yes_is_refused():
    data = minimal()
    review(data)["verified_owner"] = "yes"
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': verified_owner must be true or false, "
        "got 'yes'"
    )


@pytest.mark.parametrize("created", ["14/09/2026", "20260914", "2026-09-14T10:00:00", 2026])
def test_a_review_date_not_written_year_month_day_is_refused(created):
    data = minimal()
    review(data)["created"] = created
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': created must be a date written "
        f"YYYY-MM-DD, got {created!r}"
    )


def test_a_review_dated_the_thirtieth_of_february_is_refused():
    data = minimal()
    review(data)["created"] = "2026-02-30"
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': created is not a real date: '2026-02-30'"
    )


def test_a_review_id_used_twice_is_refused():
    data = minimal()
    shirt(data)["reviews"][1]["id"] = "r-linen-shirt-1"
    assert refused(data) == (
        "product 'linen-shirt' review 'r-linen-shirt-1': the id is already used by this product"
    )


def test_a_review_that_is_not_an_object_is_refused_by_position():
    data = minimal()
    shirt(data)["reviews"].append("great!")
    assert refused(data) == "product 'linen-shirt' review #3: must be an object, got text"


def test_a_misspelt_review_field_is_refused():
    data = minimal()
    review(data)["stars"] = 5
    assert refused(data).startswith(
        "product 'linen-shirt' review 'r-linen-shirt-1': unknown field 'stars'; review fields are "
    )


# ---------------------------------------------------------------- files to import


def test_an_import_file_is_read_as_utf8_text_by_its_suffix():
    assert import_file_text("products.csv", "\ufeffHandle,Title\n".encode()) == (
        "shopify_csv",
        "Handle,Title\n",
    )
    assert import_file_text("Catalogue.JSON", b'{"version": 1}') == ("json", '{"version": 1}')


def test_random_bytes_are_refused_naming_the_file_and_what_to_choose():
    with pytest.raises(CatalogueError) as caught:
        import_file_text("shots/random.csv", b"Handle\nt\xbbe")
    assert str(caught.value) == (
        "shots/random.csv is not UTF-8 text (byte 0xbb on line 2); export the products from "
        "Shopify again (Products > Export) or save the file as 'CSV UTF-8'"
    )


def test_a_latin1_json_catalogue_is_refused_with_the_json_fix():
    with pytest.raises(CatalogueError) as caught:
        import_file_text("shop.json", '{"title": "Caf\u00e9"}'.encode("latin-1"))
    assert str(caught.value) == (
        "shop.json is not UTF-8 text (byte 0xe9 on line 1); save the catalogue as UTF-8 text"
    )


def test_a_binary_file_that_happens_to_decode_is_refused_too():
    with pytest.raises(CatalogueError) as caught:
        import_file_text("sheet.csv", b"PK\x03\x04\x00\x00")
    assert str(caught.value).startswith("sheet.csv is not a text file (it holds NUL bytes); ")
