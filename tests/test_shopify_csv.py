"""Shopify CSV import: a real export becomes products; a bad row keeps its product out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.catalogue import (
    Catalogue,
    Product,
    Variant,
    catalogue_to_dict,
    is_identifier,
    parse_catalogue,
)
from console.domain.money import Money, MoneyError
from console.domain.shopify_csv import ImportReport, RowError, parse_shopify_csv
from console.errors import CatalogueError

EXPORT = Path(__file__).parent / "data" / "shopify_products.csv"
CDN = "https://cdn.shopify.com/s/files/1/0612/3456/7890/files/"
HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    "Image Src",
]


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    """A small export with only the columns a test needs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue()


def shirt_rows() -> list[dict[str, str]]:
    """A valid two-variant product that each test breaks in one place."""
    return [
        {
            "Handle": "tee",
            "Title": "Organic Tee",
            "Body (HTML)": "<p>Soft.</p>",
            "Vendor": "Atelier Nord",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Variant SKU": "TEE-S",
            "Variant Inventory Qty": "5",
            "Variant Price": "25.00",
            "Image Src": CDN + "tee.jpg",
        },
        {
            "Handle": "tee",
            "Option1 Value": "M",
            "Variant SKU": "TEE-M",
            "Variant Inventory Qty": "6",
            "Variant Price": "25.00",
        },
    ]


def errors_of(text: str, currency: str = "EUR") -> list[tuple[int, str, str]]:
    report = parse_shopify_csv(text, currency)
    return [(e.line, e.handle, e.message) for e in report.errors]


def only_error(rows: list[dict[str, str]]) -> str:
    """The single error a one-product file gets; the product must be left out."""
    report = parse_shopify_csv(csv_text(rows))
    assert report.products == ()
    assert len(report.errors) == 1, report.errors
    return report.errors[0].message


def whole_file_refused(text: str) -> str:
    with pytest.raises(CatalogueError) as caught:
        parse_shopify_csv(text)
    return str(caught.value)


# ---------------------------------------------------------------- the real export


@pytest.fixture(scope="module")
def export() -> ImportReport:
    return parse_shopify_csv(EXPORT.read_text(encoding="utf-8"))


def test_the_export_has_every_shopify_column_in_shopify_order():
    header = EXPORT.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [
        "Handle",
        "Title",
        "Body (HTML)",
        "Vendor",
        "Product Category",
        "Type",
        "Tags",
        "Published",
        "Option1 Name",
        "Option1 Value",
        "Option1 Linked To",
        "Option2 Name",
        "Option2 Value",
        "Option2 Linked To",
        "Option3 Name",
        "Option3 Value",
        "Option3 Linked To",
        "Variant SKU",
        "Variant Grams",
        "Variant Inventory Tracker",
        "Variant Inventory Qty",
        "Variant Inventory Policy",
        "Variant Fulfillment Service",
        "Variant Price",
        "Variant Compare At Price",
        "Variant Requires Shipping",
        "Variant Taxable",
        "Variant Barcode",
        "Image Src",
        "Image Position",
        "Image Alt Text",
        "Gift Card",
        "SEO Title",
        "SEO Description",
        "Variant Image",
        "Variant Weight Unit",
        "Variant Tax Code",
        "Cost per item",
        "Status",
    ]


def test_the_good_products_of_the_export_are_imported_in_file_order(export):
    assert [p.id for p in export.products] == ["linen-shirt", "trail-backpack", "stoneware-mug"]
    assert export.rows == 22


def test_a_two_option_product_keeps_all_six_variants_prices_stock_and_sale_prices(export):
    shirt = export.products[0]
    assert shirt == Product(
        id="linen-shirt",
        title="Relaxed Linen Shirt",
        description=(
            'Breathable, washed linen, cut loose for "all-day" comfort.\n\n'
            "• 100% European flax\n"
            "• Mother-of-pearl buttons\n\n"
            "Care: machine wash cold & line dry."
        ),
        vendor="Atelier Nord",
        image=CDN + "linen-shirt-white.jpg?v=1718000000",
        options=("Size", "Color"),
        variants=(
            Variant("LS-S-WHT", (("Size", "S"), ("Color", "White")), eur(4900), 12, eur(6900)),
            Variant("LS-S-SGE", (("Size", "S"), ("Color", "Sage")), eur(4900), 4, eur(6900)),
            Variant("LS-M-WHT", (("Size", "M"), ("Color", "White")), eur(4900), 0),
            # No Variant SKU in the file: made from the handle and the option values.
            Variant("linen-shirt-m-sage", (("Size", "M"), ("Color", "Sage")), eur(4900), 7),
            # Stock -2 (oversold in Shopify) is sold out; compare-at 54.00 = price: no sale.
            Variant("LS-L-WHT", (("Size", "L"), ("Color", "White")), eur(5400), 0),
            # Empty stock is 0.
            Variant("LS-L-SGE", (("Size", "L"), ("Color", "Sage")), eur(5400), 0),
        ),
    )
    assert [v.options_map for v in shirt.variants][3] == {"Size": "M", "Color": "Sage"}


def test_a_three_option_product_reads_decimals_and_thousands_exactly(export):
    backpack = export.products[1]
    assert backpack == Product(
        id="trail-backpack",
        title="Trail Backpack 28L",
        description=(
            "Built for day hikes\n\nRoll-top, water-resistant, with a padded laptop sleeve."
        ),
        vendor="Ridgeline",
        image=CDN + "trail-backpack.jpg?v=1718000010",
        options=("Color", "Volume", "Strap"),
        variants=(
            Variant(
                "TB-BLK-28-STD",
                (("Color", "Black"), ("Volume", "28L"), ("Strap", "Standard")),
                eur(12900),
                5,
            ),
            Variant(
                "TB-BLK-28-PAD",
                (("Color", "Black"), ("Volume", "28L"), ("Strap", "Padded")),
                eur(13950),
                3,
            ),
            Variant(
                "TB-OCH-32-STD",
                (("Color", "Ochre"), ("Volume", "32L"), ("Strap", "Standard")),
                eur(124900),
                2,
                eur(149900),
            ),
        ),
    )


def test_a_product_without_options_has_one_default_variant(export):
    mug = export.products[2]
    assert mug == Product(
        id="stoneware-mug",
        title="Speckled Stoneware Mug",
        description="350 ml, dishwasher safe.\nEach glaze is one of a kind.",
        vendor="Kiln & Clay",
        image=CDN + "stoneware-mug.jpg?v=1718000020",
        options=("Default",),
        variants=(Variant("MUG-1", (("Default", "Default"),), eur(1490), 3),),
    )
    assert mug.variants[0].title == ""


def test_every_bad_row_is_reported_with_its_line_row_handle_and_a_fix(export):
    assert export.errors == (
        RowError(
            19,
            "wool-beanie",
            "Variant Price 'abc' is not a price; write it like 19.99",
            14,
        ),
        RowError(
            20,
            "wool-beanie",
            "Variant Price '12,5' is not a price; write it like 19.99",
            15,
        ),
        RowError(
            22,
            "silk-scarf",
            "Option1 Value is empty but the product has option 'Pattern'",
            17,
        ),
        RowError(24, "canvas-tote", "duplicate SKU 'MUG-1' (also on line 17)", 19),
        RowError(
            25,
            "leather-belt",
            "Variant Inventory Qty '3.5' is not a whole number; write the stock like 12 (or "
            "leave it empty for 0)",
            20,
        ),
        RowError(
            27,
            "cord-cap",
            "a variant row for handle 'cord-cap' appears before its product row (line 28); "
            "move the product row up",
            22,
        ),
    )


def test_a_product_with_one_bad_row_is_not_imported_at_all(export):
    assert export.skipped_handles == (
        "wool-beanie",
        "silk-scarf",
        "canvas-tote",
        "leather-belt",
        "cord-cap",
    )
    imported_skus = {v.sku for p in export.products for v in p.variants}
    # Their good rows (the first beanie, the first scarf, the natural tote) stay out too.
    assert imported_skus.isdisjoint({"WB-CHR", "SS-PAI", "CT-NAT", "LB-95", "CC-SND"})


def test_the_imported_products_pass_every_catalogue_rule_and_round_trip(export):
    catalogue = Catalogue(export.products)
    data = catalogue_to_dict(catalogue)
    assert parse_catalogue(data) == catalogue
    assert catalogue_to_dict(parse_catalogue(data)) == data


# ---------------------------------------------------------------- the file as a whole


def test_a_completely_valid_file_has_no_errors():
    report = parse_shopify_csv(csv_text(shirt_rows()))
    assert report.errors == ()
    assert report.skipped_handles == ()
    assert report.rows == 2
    assert [v.sku for v in report.products[0].variants] == ["TEE-S", "TEE-M"]


def test_the_good_part_of_the_export_alone_has_no_errors():
    lines = EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    report = parse_shopify_csv("".join(lines[:17]))
    assert report.errors == ()
    assert [p.id for p in report.products] == ["linen-shirt", "trail-backpack", "stoneware-mug"]


def test_a_byte_order_mark_is_tolerated(export):
    text = EXPORT.read_text(encoding="utf-8")
    assert parse_shopify_csv("\ufeff" + text) == export


def test_windows_line_endings_give_the_same_products_and_line_numbers(export):
    text = EXPORT.read_text(encoding="utf-8").replace("\n", "\r\n")
    report = parse_shopify_csv(text)
    # Line breaks inside the description are CRLF now too; the text shows them as one.
    assert report.products[1:] == export.products[1:]
    assert report.products[0].description == export.products[0].description
    assert report.errors == export.errors


def test_columns_in_another_order_give_the_same_products(export):
    rows = list(csv.reader(io.StringIO(EXPORT.read_text(encoding="utf-8"), newline="")))
    order = list(reversed(range(len(rows[0]))))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[r[i] for i in order] for r in rows])
    report = parse_shopify_csv(out.getvalue())
    assert report.products == export.products
    assert report.errors == export.errors


def test_unknown_columns_and_header_spelling_are_tolerated():
    header = ["  handle ", "TITLE", "Variant  Price", "Metafield: custom.fabric [single_line]"]
    text = csv_text([{"  handle ": "tee", "TITLE": "Tee", "Variant  Price": "9.00"}], header=header)
    report = parse_shopify_csv(text)
    assert report.errors == ()
    assert report.products[0].variants[0].price == eur(900)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (["Handle"], "the file has no column Handle"),
        (["Variant Price"], "the file has no column Variant Price"),
        (["Handle", "Title"], "the file has no column Handle, Title"),
    ],
)
def test_a_file_without_a_required_column_is_refused_naming_it(missing, message):
    header = [column for column in HEADER if column not in missing]
    assert whole_file_refused(csv_text(shirt_rows(), header=header)) == (
        f"{message}; is it a Shopify product export (Products > Export)?"
    )


def test_a_file_saved_with_semicolons_is_refused_with_how_to_save_it():
    text = "Handle;Title;Variant Price\ntee;Tee;9,00\n"
    assert whole_file_refused(text) == (
        "the file has no column Handle, Title, Variant Price; the file separates columns "
        "with ';': save it as 'CSV UTF-8 (comma delimited)'"
    )


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n  \r\n"])
def test_an_empty_file_is_refused(text):
    assert whole_file_refused(text) == (
        "the file is empty; export the products from Shopify (Products > Export, as a CSV "
        "file) and choose that file"
    )


def test_a_file_with_only_a_header_is_refused():
    assert whole_file_refused(csv_text([]) + "\n,,,\n") == (
        "the file has a header but no product rows; export the products from Shopify again "
        "with 'All products' selected"
    )


def test_a_column_named_twice_is_refused():
    text = csv_text([], header=["Handle", "Title", "Variant Price", "Variant price"])
    assert whole_file_refused(text) == (
        "the header has the column 'Variant Price' twice (columns 3 and 4); delete one of them"
    )


def test_a_quote_left_open_refuses_the_file_at_the_row_where_it_opened():
    text = csv_text(shirt_rows()) + 'sock,Sock,"<p>Warm\n,,,,,,,,,,,1,9.00\n'
    assert whole_file_refused(text) == (
        "line 4: the file cannot be read as CSV (unexpected end of data); check that every "
        "quote that opens a value also closes it"
    )


def test_an_unknown_currency_refuses_the_file():
    with pytest.raises(MoneyError):
        parse_shopify_csv(csv_text(shirt_rows()), "XYZ")


def test_blank_lines_are_skipped_but_counted_in_line_numbers():
    rows = shirt_rows()
    rows[1]["Variant Price"] = "x"
    text = csv_text(rows).replace("\ntee,,", "\n\n\ntee,,")
    assert errors_of(text) == [(5, "tee", "Variant Price 'x' is not a price; write it like 19.99")]
    assert parse_shopify_csv(text).errors[0].row == 5
    assert parse_shopify_csv(text).rows == 2


def test_a_row_with_more_cells_than_the_header_keeps_its_product_out():
    text = csv_text(shirt_rows()).replace("TEE-M,6,25.00", "TEE-M,6,25,00")
    assert errors_of(text) == [
        (
            3,
            "tee",
            "the row has 16 cells but the header has 15; put quotes around a value that "
            "contains a comma",
        )
    ]
    assert parse_shopify_csv(text).products == ()


def test_a_row_without_a_handle_is_reported_and_the_others_imported():
    rows = [*shirt_rows(), {"Title": "Orphan", "Variant Price": "5.00"}]
    report = parse_shopify_csv(csv_text(rows))
    assert [(e.line, e.handle, e.message) for e in report.errors] == [
        (
            4,
            "",
            "Handle is empty; every row needs the handle of its product (the first column "
            "of a Shopify export)",
        )
    ]
    assert [p.id for p in report.products] == ["tee"]
    assert report.skipped_handles == ()


# ---------------------------------------------------------------- products and options


def test_a_handle_without_a_title_row_is_refused():
    rows = shirt_rows()
    rows[0]["Title"] = ""
    assert only_error(rows) == (
        "handle 'tee' has no row with a Title; the first row of a product carries its Title, "
        "Body and option names"
    )


def test_an_image_row_before_the_product_row_is_refused():
    rows = [{"Handle": "tee", "Image Src": CDN + "tee-2.jpg"}, *shirt_rows()]
    assert only_error(rows) == (
        "an image row for handle 'tee' appears before its product row (line 3); move the "
        "product row up"
    )


def test_rows_of_one_product_may_be_apart_in_the_file():
    first, second = shirt_rows()
    other = {"Handle": "mug", "Title": "Mug", "Variant Price": "9.00", "Variant SKU": "MUG"}
    report = parse_shopify_csv(csv_text([first, other, second]))
    assert report.errors == ()
    assert [(p.id, len(p.variants)) for p in report.products] == [("tee", 2), ("mug", 1)]


def test_the_same_title_repeated_on_variant_rows_is_fine_a_different_one_is_not():
    rows = shirt_rows()
    rows[1]["Title"] = "Organic Tee"
    assert parse_shopify_csv(csv_text(rows)).errors == ()
    rows[1]["Title"] = "Organic Tee 2"
    assert only_error(rows) == (
        "Title 'Organic Tee 2' differs from the product's title 'Organic Tee' on line 2; "
        "leave Title empty on a product's other rows"
    )


def test_option_values_on_later_rows_use_the_product_rows_option_names():
    rows = shirt_rows()
    rows[1]["Option1 Name"] = "Colour"  # ignored: the names come from the product row
    assert parse_shopify_csv(csv_text(rows)).products[0].variants[1].options == (("Size", "M"),)


def test_an_option_value_without_an_option_name_is_refused():
    rows = shirt_rows()
    rows[1]["Option2 Value"] = "Red"
    assert only_error(rows) == (
        "Option2 Value 'Red' is set but the product has no Option2 Name; name the option on "
        "the product row (line 2) or clear the value"
    )


def test_options_named_out_of_order_are_refused():
    rows = shirt_rows()
    rows[0]["Option1 Name"] = ""
    rows[0]["Option2 Name"] = "Size"
    message = parse_shopify_csv(csv_text(rows)).errors[0].message
    assert message == (
        "Option1 Name is empty but Option2 Name is 'Size'; name the options in order, Option1 first"
    )


def test_an_option_named_twice_is_refused():
    rows = shirt_rows()
    rows[0]["Option2 Name"] = "Size"
    rows[0]["Option2 Value"] = "Tall"
    rows[1]["Option2 Value"] = "Tall"
    assert only_error(rows) == "option 'Size' is named twice; give each option its own name"


def test_two_variants_with_the_same_options_are_refused():
    rows = shirt_rows()
    rows[1]["Option1 Value"] = "S"
    assert only_error(rows) == (
        "the options Size S are the same as on line 2; a shopper could not choose between them"
    )


def test_a_product_without_options_cannot_have_two_variants():
    rows = [
        {"Handle": "mug", "Title": "Mug", "Option1 Name": "Title",
         "Option1 Value": "Default Title", "Variant SKU": "MUG-1", "Variant Price": "9.00"},
        {"Handle": "mug", "Option1 Value": "Default Title", "Variant SKU": "MUG-2",
         "Variant Price": "9.00"},
    ]  # fmt: skip
    assert only_error(rows) == (
        "the product has no options, so its one variant is on line 2; add option names to "
        "sell more than one"
    )


def test_a_product_row_without_option_columns_is_a_product_without_options():
    report = parse_shopify_csv(
        "Handle,Title,Variant Price\nposter,Gig Poster,12.00\n", currency="GBP"
    )
    assert report.products == (
        Product(
            id="poster",
            title="Gig Poster",
            description="",
            vendor="",
            image=None,
            options=("Default",),
            variants=(Variant("poster", (("Default", "Default"),), Money(1200, "GBP"), 0),),
        ),
    )


def test_an_option_named_title_with_real_values_is_a_real_option():
    rows = shirt_rows()
    rows[0]["Option1 Name"] = "Title"
    product = parse_shopify_csv(csv_text(rows)).products[0]
    assert product.options == ("Title",)
    assert [v.option("Title") for v in product.variants] == ["S", "M"]


def test_a_product_row_with_only_product_fields_takes_its_variants_from_later_rows():
    head = {"Handle": "tee", "Title": "Organic Tee", "Option1 Name": "Size"}
    rows = [head, *shirt_rows()[1:]]
    product = parse_shopify_csv(csv_text(rows)).products[0]
    assert [v.sku for v in product.variants] == ["TEE-M"]


def test_a_product_with_no_variant_at_all_is_refused():
    rows = [{"Handle": "tee", "Title": "Organic Tee", "Image Src": CDN + "tee.jpg"}]
    assert only_error(rows) == "handle 'tee' has no variant rows; give the product a price"


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("raw", "minor"),
    [("25", 2500), ("25.5", 2550), ("25.50", 2550), ("25.500", 2550), ("€25.00", 2500),
     ("1,025.00", 102500), ("0", 0)],
)  # fmt: skip
def test_prices_are_read_exactly(raw, minor):
    rows = shirt_rows()
    rows[0]["Variant Price"] = raw
    assert parse_shopify_csv(csv_text(rows)).products[0].variants[0].price == eur(minor)


@pytest.mark.parametrize("raw", ["abc", "25,00", "-5.00", "25.001", "25 EUR 1", "1e3", "9" * 50])
def test_what_is_not_a_price_is_refused_with_how_to_write_one(raw):
    rows = shirt_rows()
    rows[0]["Variant Price"] = raw
    assert only_error(rows) == f"Variant Price {raw!r} is not a price; write it like 19.99"


def test_an_empty_price_is_refused():
    rows = shirt_rows()
    rows[1]["Variant Price"] = ""
    rows[1]["Variant SKU"] = "TEE-M"
    assert only_error(rows) == "Variant Price is empty; write the price like 19.99"


def test_yen_prices_written_with_zero_decimals_are_whole_yen():
    rows = shirt_rows()
    rows[0]["Variant Price"] = "2500.00"
    rows[1]["Variant Price"] = "2500.50"
    report = parse_shopify_csv(csv_text(rows), currency="JPY")
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "Variant Price '2500.50' is not a price; write it like 1999")
    ]
    rows[1]["Variant Price"] = "2600"
    product = parse_shopify_csv(csv_text(rows), currency="JPY").products[0]
    assert [v.price for v in product.variants] == [Money(2500, "JPY"), Money(2600, "JPY")]


def test_three_decimal_currencies_show_a_three_decimal_example():
    rows = shirt_rows()
    rows[0]["Variant Price"] = "x"
    assert errors_of(csv_text(rows), "KWD")[0][2] == (
        "Variant Price 'x' is not a price; write it like 19.990"
    )


def test_a_compare_at_price_above_the_price_is_a_sale_price():
    rows = shirt_rows()
    rows[0]["Variant Compare At Price"] = "30.00"
    rows[1]["Variant Compare At Price"] = "20.00"  # below the price: not on sale
    variants = parse_shopify_csv(csv_text(rows)).products[0].variants
    assert [v.compare_at for v in variants] == [eur(3000), None]


def test_a_compare_at_price_that_is_not_a_price_is_refused():
    rows = shirt_rows()
    rows[1]["Variant Compare At Price"] = "soon"
    assert only_error(rows) == (
        "Variant Compare At Price 'soon' is not a price; write it like 19.99 or leave it empty"
    )


@pytest.mark.parametrize(
    ("raw", "stock"), [("7", 7), ("+7", 7), ("007", 7), ("0", 0), ("-3", 0), ("", 0),
                       ("-" + "9" * 5000, 0), ("1000000000", 1_000_000_000)]
)  # fmt: skip
def test_inventory_is_a_whole_number_and_oversold_stock_is_sold_out(raw, stock):
    rows = shirt_rows()
    rows[0]["Variant Inventory Qty"] = raw
    assert parse_shopify_csv(csv_text(rows)).products[0].variants[0].stock == stock


@pytest.mark.parametrize("raw", ["1000000001", "9" * 5000])
def test_inventory_above_shopifys_ceiling_is_refused(raw):
    rows = shirt_rows()
    rows[0]["Variant Inventory Qty"] = raw
    assert only_error(rows) == (
        f"Variant Inventory Qty {raw} is more than Shopify allows (1,000,000,000); check the number"
    )


@pytest.mark.parametrize("raw", ["3.5", "lots", "1,200", "1e3", "٣"])
def test_inventory_that_is_not_a_whole_number_is_refused(raw):
    rows = shirt_rows()
    rows[0]["Variant Inventory Qty"] = raw
    assert only_error(rows) == (
        f"Variant Inventory Qty {raw!r} is not a whole number; write the stock like 12 (or "
        "leave it empty for 0)"
    )


def test_all_problems_of_one_row_are_reported():
    rows = shirt_rows()
    rows[1].update({"Option1 Value": "", "Variant Price": "x", "Variant Inventory Qty": "y"})
    assert [message for _, _, message in errors_of(csv_text(rows))] == [
        "Option1 Value is empty but the product has option 'Size'",
        "Variant Price 'x' is not a price; write it like 19.99",
        "Variant Inventory Qty 'y' is not a whole number; write the stock like 12 (or leave "
        "it empty for 0)",
    ]


# ---------------------------------------------------------------- SKUs and ids


def test_a_duplicate_sku_within_a_product_is_refused():
    rows = shirt_rows()
    rows[1]["Variant SKU"] = "TEE-S"
    assert only_error(rows) == "duplicate SKU 'TEE-S' (also on line 2)"


def test_missing_skus_are_made_from_the_handle_and_option_values_the_same_every_time():
    rows = shirt_rows()
    rows[0]["Variant SKU"] = ""
    rows[0]["Option1 Value"] = "Extra Large / Tall"
    rows[1]["Variant SKU"] = ""
    first = parse_shopify_csv(csv_text(rows)).products[0]
    again = parse_shopify_csv(csv_text(rows)).products[0]
    assert [v.sku for v in first.variants] == ["tee-extra-large-tall", "tee-m"]
    assert first == again


def test_a_made_sku_that_clashes_is_refused_with_the_fix():
    rows = shirt_rows()
    rows[0]["Variant SKU"] = "tee-m"
    rows[1]["Variant SKU"] = ""
    assert only_error(rows) == (
        "the SKU made for this variant ('tee-m', as Variant SKU is empty) is also on line 2; "
        "fill in Variant SKU"
    )


def test_skus_outside_the_catalogue_alphabet_become_ids():
    rows = shirt_rows()
    rows[0]["Variant SKU"] = "TEE/S 01"
    rows[1]["Variant SKU"] = "TÉE-M"
    assert [v.sku for v in parse_shopify_csv(csv_text(rows)).products[0].variants] == [
        "TEE-S-01",
        "TEE-M",
    ]


def test_two_skus_that_become_the_same_id_are_refused():
    rows = shirt_rows()
    rows[0]["Variant SKU"] = "TEE/M"
    rows[1]["Variant SKU"] = "TEE M"
    assert only_error(rows) == (
        "SKU 'TEE M' becomes 'TEE-M', which line 2 also has; give the variants different SKUs"
    )


def test_handles_outside_the_id_alphabet_become_ids_and_non_latin_ones_stay_apart():
    rows = [
        {"Handle": "Café Crème", "Title": "Café Crème", "Variant Price": "4.00"},
        {"Handle": "緑茶", "Title": "Green tea", "Variant Price": "6.00"},
        {"Handle": "紅茶", "Title": "Black tea", "Variant Price": "6.00"},
        {"Handle": "x" * 80, "Title": "Long", "Variant Price": "1.00"},
    ]
    ids = [p.id for p in parse_shopify_csv(csv_text(rows)).products]
    assert ids[0] == "Cafe-Creme"
    assert len(set(ids)) == 4
    assert all(is_identifier(i) for i in ids)
    assert ids[3].startswith("x" * 55 + "-")
    assert len(ids[3]) == 64


def test_two_handles_that_become_the_same_id_are_refused():
    rows = [
        {"Handle": "tea-cup", "Title": "Tea cup", "Variant Price": "4.00", "Variant SKU": "A"},
        {"Handle": "tea cup", "Title": "Tea cup 2", "Variant Price": "4.00", "Variant SKU": "B"},
    ]
    report = parse_shopify_csv(csv_text(rows))
    assert [p.id for p in report.products] == ["tea-cup"]
    assert [(e.line, e.handle, e.message) for e in report.errors] == [
        (
            3,
            "tea cup",
            "handle 'tea cup' becomes the product id 'tea-cup', like handle 'tea-cup' on line "
            "2; rename one of the handles",
        )
    ]


@given(st.text(min_size=1, max_size=120).filter(lambda s: s.strip() == s and "\r" not in s))
def test_any_handle_becomes_a_valid_product_id(handle):
    text = csv_text([{"Handle": handle, "Title": "T", "Variant Price": "1.00"}])
    report = parse_shopify_csv(text)
    assert report.errors == ()
    (product,) = report.products
    assert is_identifier(product.id)
    assert is_identifier(product.variants[0].sku)
    assert parse_shopify_csv(text) == report


# ---------------------------------------------------------------- description and picture


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("", ""),
        ("Plain text, no tags", "Plain text, no tags"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>Line<br/>break</p>", "Line\nbreak"),
        ("<p>Fish &amp; chips &lt;3 &#8364;5 &euro;</p>", "Fish & chips <3 €5 €"),
        ("<p><b>Bold</b> <i>and</i> <span>plain</span></p>", "Bold and plain"),
        ("<div>\n  Indented\n  source\n</div>", "Indented source"),
        ("<p>Before</p><script>alert('x')</script><style>p{}</style><p>After</p>",
         "Before\n\nAfter"),
        ("<ol><li>First</li><li>Second</li></ol><p>End", "• First\n• Second\n\nEnd"),
        ("<h3>Care</h3>Hand wash", "Care\n\nHand wash"),
    ],
)  # fmt: skip
def test_the_description_is_plain_text_with_paragraphs(body, text):
    rows = shirt_rows()
    rows[0]["Body (HTML)"] = body
    assert parse_shopify_csv(csv_text(rows)).products[0].description == text


def test_the_picture_is_the_first_image_in_the_file():
    rows = [*shirt_rows(), {"Handle": "tee", "Image Src": CDN + "tee-back.jpg"}]
    rows[0]["Image Src"] = ""
    assert parse_shopify_csv(csv_text(rows)).products[0].image == CDN + "tee-back.jpg"


def test_a_product_without_images_has_no_picture():
    rows = shirt_rows()
    rows[0]["Image Src"] = ""
    assert parse_shopify_csv(csv_text(rows)).products[0].image is None


@pytest.mark.parametrize(
    "src", ["http://cdn.shopify.com/tee.jpg", "tee.jpg", "https://cdn.example/a b.jpg",
            'https://cdn.example/a".jpg', "https://cdn.example/<x>.jpg",
            "https://cdn.example/" + "a" * 2000]
)  # fmt: skip
def test_a_picture_that_is_not_an_https_link_is_refused(src):
    rows = shirt_rows()
    rows[0]["Image Src"] = src
    assert only_error(rows) == (
        f"Image Src {src!r} is not an https:// link to a picture; copy the link from Shopify "
        "again or leave it empty"
    )


# ---------------------------------------------------------------- image links in the catalogue


def catalogue_with_image(image: object) -> dict[str, object]:
    return {
        "version": 1,
        "products": [
            {
                "id": "tee",
                "title": "Tee",
                "description": "",
                "vendor": "",
                "image": image,
                "currency": "EUR",
                "options": ["Default"],
                "variants": [
                    {
                        "sku": "TEE",
                        "options": {"Default": "Default"},
                        "price": 900,
                        "compare_at": None,
                        "stock": 1,
                    }
                ],
                "reviews": [],
            }
        ],
    }


@pytest.mark.parametrize(
    "url",
    [
        CDN + "tee.jpg?v=1718000000",
        "https://images.example.com/p/tee%20white.webp#front",
        "https://x.io/" + "a" * (2000 - len("https://x.io/")),
    ],
)
def test_a_catalogue_image_may_be_an_https_link_and_round_trips(url):
    data = catalogue_with_image(url)
    catalogue = parse_catalogue(data)
    assert catalogue.products[0].image == url
    assert catalogue_to_dict(catalogue) == data


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.com/tee.jpg",
        "HTTPS://images.example.com/tee.jpg",
        "https://",
        "https://images.example.com/a b.jpg",
        "https://images.example.com/a'b.jpg",
        'https://images.example.com/a"b.jpg',
        "https://images.example.com/<script>.jpg",
        "https://images.example.com/a\\b.jpg",
        "https://x.io/" + "a" * (2001 - len("https://x.io/")),
    ],
)
def test_a_catalogue_image_link_must_be_a_plain_https_link(url):
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(catalogue_with_image(url))
    assert str(caught.value) == (
        "product 'tee': image must be an https:// link of at most 2000 characters without "
        f"spaces, quotes or angle brackets, got {url!r}"
    )


OVERSOLD = (
    "Variant Inventory Qty {} is below 0 (oversold in Shopify); imported as 0, sold out: "
    "set the stock once the units are in"
)


def test_oversold_stock_is_imported_sold_out_and_its_row_reported_as_a_warning():
    rows = shirt_rows()
    rows[1]["Variant Inventory Qty"] = "-3"
    report = parse_shopify_csv(csv_text(rows))
    assert [v.stock for v in report.products[0].variants] == [5, 0]
    assert report.errors == ()
    assert report.warnings == (RowError(3, "tee", OVERSOLD.format("-3"), 3),)


def test_the_exports_oversold_shirt_is_reported_once(export):
    assert export.warnings == (RowError(11, "linen-shirt", OVERSOLD.format("-2"), 6),)


def test_a_product_left_out_for_an_error_gets_no_warning_besides():
    rows = shirt_rows()
    rows[0]["Variant Inventory Qty"] = "-3"
    rows[1]["Variant Price"] = "soon"
    report = parse_shopify_csv(csv_text(rows))
    assert report.products == ()
    assert len(report.errors) == 1
    assert report.warnings == ()


@pytest.mark.parametrize("raw", ["-0", "0", "", "7"])
def test_stock_of_zero_or_more_is_no_warning(raw):
    rows = shirt_rows()
    rows[0]["Variant Inventory Qty"] = raw
    assert parse_shopify_csv(csv_text(rows)).warnings == ()
