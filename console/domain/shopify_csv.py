"""Import a Shopify product export (Products > Export > CSV) as catalogue products.

Shopify writes one row per variant. The first row of a product (its handle) carries the
title, description, vendor and option names; the product's other rows leave those empty
and add a variant or an extra picture. Shops edit these files by hand before a show, so
rows come out of order, a price gets typed as "19,99" or a size is left blank.

A product with any bad row is left out whole, never half imported: a shirt without its
size M would be sold on stream as if M did not exist. Every bad row is reported with its
line, its handle and a sentence saying what to change, so one edit of the file fixes all
of them; the rest of the file is imported.

Decisions a shop may want to know about:

- ``line`` is the line of the text file where the row starts (header = 1), as a text
  editor and the ``csv`` module count; a description with line breaks makes a row span
  several lines. ``row`` is the row as a spreadsheet numbers it (header = 1).
- Negative inventory (Shopify keeps selling past 0 when a product says so) is imported
  as 0, sold out, and the row is reported as a warning, not an error: the oversold units
  are owed to buyers, which the shop should know before it sells more on stream, but
  leaving a shirt out whole because one size is oversold would hide every other size.
  An empty quantity is 0 without a word. A quantity that is not a whole number is an
  error.
- Prices are read exactly as decimals ("19.99", also "1,249.00" and "€19.99"); trailing
  zeros beyond the currency's decimals are dropped ("2500.00" is ¥2500).
- A compare-at price not above the price means "not on sale", as on a Shopify store.
- Handles and SKUs outside the catalogue's id alphabet are turned into ids (accents
  dropped, other characters as "-", a short digest when letters are lost); a missing
  SKU is made the same way from the product id and the option values, so it stays the
  same on the next import of the same file.
- The product's picture is the first Image Src in the file (Shopify writes pictures in
  position order) and must be an https link; variant pictures are not used.
- Columns this importer does not use (Tags, SEO, Status...) are ignored, in any order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

from console.domain.catalogue import Product, Variant, is_identifier, is_image_url
from console.domain.chat import strip_bidi
from console.domain.money import Money, MoneyError, currency_exponent, parse_decimal
from console.errors import CatalogueError

__all__ = ["MAX_STOCK", "REQUIRED_COLUMNS", "ImportReport", "RowError", "parse_shopify_csv"]

#: Without these a file cannot make a single product.
REQUIRED_COLUMNS: Final = ("Handle", "Title", "Variant Price")
_COLUMNS: Final = (
    *REQUIRED_COLUMNS,
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
    "Variant Compare At Price",
    "Image Src",
)
# A row with any of these describes a variant; a row with none of them and an Image Src
# only adds a picture.
_VARIANT_COLUMNS: Final = (
    "Option1 Value",
    "Option2 Value",
    "Option3 Value",
    "Variant SKU",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Inventory Qty",
)
#: Shopify's own ceiling for an inventory quantity; more is a typo or a stray number.
MAX_STOCK: Final = 1_000_000_000
_QUANTITY_PATTERN: Final = re.compile(r"([+-]?)0*([0-9]+)")
# Longer text is no price, and parse_decimal would hand thousands of digits to int(),
# which refuses them with a ValueError rather than a MoneyError.
_MAX_PRICE_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that kept its product out of the import, and what to change in it."""

    #: Line of the text file where the row starts (header = 1).
    line: int
    #: The row's Handle ("" when the row has none).
    handle: str
    message: str
    #: The row as a spreadsheet numbers it (header = 1); differs from ``line`` after a
    #: description with line breaks.
    row: int | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import made: the products to add, the rows refused, the rows read."""

    products: tuple[Product, ...]
    #: In file order.
    errors: tuple[RowError, ...]
    #: Data rows read (the header and blank lines not counted).
    rows: int
    #: Rows imported with a change the shop should know about (oversold stock), in file
    #: order.
    warnings: tuple[RowError, ...] = ()

    @property
    def skipped_handles(self) -> tuple[str, ...]:
        """Handles of the products left out, each once, in file order."""
        return tuple(dict.fromkeys(e.handle for e in self.errors if e.handle))


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    row: int
    #: Non-empty values by the names of the columns this importer uses.
    cells: dict[str, str]
    #: What is wrong with the row as a whole (its cells do not line up with the header).
    problem: str | None = None

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")

    def describes_variant(self) -> bool:
        return any(self.cells.get(column) for column in _VARIANT_COLUMNS)

    def kind(self) -> str:
        if self.describes_variant():
            return "a variant row"
        return "an image row" if self.cells.get("Image Src") else "a row"


# ---------------------------------------------------------------- reading the file


def _key(column: str) -> str:
    """Header names compare without case and extra spaces: "variant  price" is the column."""
    return " ".join(column.split()).casefold()


_KNOWN: Final = {_key(column): column for column in _COLUMNS}


def _read(text: str) -> list[_Row]:
    """The data rows, by the names of the columns this importer uses.

    Raises :class:`CatalogueError` for problems of the whole file (no header, missing
    columns, broken quoting), where no row can be trusted.
    """
    if text.startswith("\ufeff"):  # Excel's "CSV UTF-8" starts with a byte order mark
        text = text[1:]
    if not text.strip():
        raise CatalogueError(
            "the file is empty; export the products from Shopify (Products > Export, as a "
            "CSV file) and choose that file"
        )
    # strict: a quote left open swallows the rest of the file into one value otherwise.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: dict[str, int] | None = None
    width = 0
    rows: list[_Row] = []
    start = 1
    try:
        for number, cells in enumerate(reader, start=1):
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns, width = _header(cells), len(cells)
                continue
            values = {
                name: cells[index].strip()
                for name, index in columns.items()
                if index < len(cells) and cells[index].strip()
            }
            problem = None
            if len(cells) > width:
                problem = (
                    f"the row has {len(cells)} cells but the header has {width}; put quotes "
                    "around a value that contains a comma"
                )
            rows.append(_Row(line, number, values, problem))
    except csv.Error as exc:
        raise CatalogueError(
            f"line {start}: the file cannot be read as CSV ({exc}); check that every quote "
            "that opens a value also closes it"
        ) from None
    if not rows:
        raise CatalogueError(
            "the file has a header but no product rows; export the products from Shopify "
            "again with 'All products' selected"
        )
    return rows


def _header(cells: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _KNOWN.get(_key(cell))
        if name is None:
            continue
        if name in columns:
            raise CatalogueError(
                f"the header has the column {name!r} twice (columns {columns[name] + 1} and "
                f"{index + 1}); delete one of them"
            )
        columns[name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        hint = (
            "; the file separates columns with ';': save it as 'CSV UTF-8 (comma delimited)'"
            if len(cells) == 1 and ";" in cells[0]
            else "; is it a Shopify product export (Products > Export)?"
        )
        raise CatalogueError(f"the file has no column {', '.join(missing)}{hint}")
    return columns


# ---------------------------------------------------------------- values


class _Description(HTMLParser):
    """Body (HTML) as plain text: paragraphs and line breaks kept, markup and scripts not.

    The console and the viewer page show descriptions as text; rendering a shop's HTML
    there would run whatever the file carries.
    """

    # Elements that start a paragraph of their own.
    _BLOCK: Final = re.compile(
        r"address|article|blockquote|dd|div|dl|dt|figure|footer|h[1-6]|header|hr|ol|p|pre"
        r"|section|table|tr|ul"
    )
    _HIDDEN: Final = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in ("td", "th"):  # a size table reads "M 52 cm" rather than "M52cm"
            self.parts.append(" ")
        elif self._BLOCK.fullmatch(tag):
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif self._BLOCK.fullmatch(tag):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            # In HTML a line break in the source is a space, like any run of white space.
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _plain_text(body: str) -> str:
    parser = _Description()
    parser.feed(body)
    parser.close()
    return strip_bidi(parser.text())  # after the parser: "&#x202e;" is one too


def _fold(text: str) -> str:
    """One line of shop text, without the direction controls (see console.domain.chat)."""
    return " ".join(strip_bidi(text).split())


def _slug(text: str) -> str:
    """A catalogue id made from any text, the same every time for the same text.

    ASCII letters and digits stay, accents are dropped, anything else becomes "-". When
    letters are lost (non-Latin scripts) or the id would be too long, a digest of the
    text keeps two different texts from making the same id.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = decomposed.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", kept).strip("-._")
    lost = any(ch.isalnum() and not ch.isascii() for ch in decomposed)
    if slug and len(slug) <= 64 and not lost:
        return slug
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    head = slug[:55].rstrip("-._")
    return f"{head}-{digest}" if head else digest


def _price(raw: str, currency: str) -> Money:
    """Read a Shopify price exactly; MoneyError when it is not one."""
    if len(raw) > _MAX_PRICE_CHARS:
        raise MoneyError(f"{raw[:20]!r}... is not a price")
    exponent = currency_exponent(currency)
    whole, dot, fraction = raw.partition(".")
    if dot and len(fraction) > exponent and not fraction[exponent:].strip("0"):
        # Shopify writes "2500.00" for a yen price: the extra zeros say nothing.
        raw = whole + ("." + fraction[:exponent] if exponent else "")
    return parse_decimal(raw, currency)


def _sample_price(currency: str) -> str:
    exponent = currency_exponent(currency)
    return "19." + "99".ljust(exponent, "0") if exponent else "1999"


# ---------------------------------------------------------------- products


class _Import:
    """State across products: SKUs and ids taken so far, and every row error."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.sample = _sample_price(currency)
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.skus: dict[str, int] = {}
        self.ids: dict[str, tuple[str, int]] = {}
        self.handle = ""

    def error(self, row: _Row, message: str) -> None:
        self.errors.append(RowError(row.line, self.handle, message, row.row))

    def warn(self, row: _Row, message: str) -> None:
        self.warnings.append(RowError(row.line, self.handle, message, row.row))

    def product(self, handle: str, rows: list[_Row]) -> Product | None:
        """The product of ``handle`` from its rows (in file order), or None if any is bad."""
        self.handle = handle
        before = len(self.errors)
        for row in rows:
            if row.problem is not None:
                self.error(row, row.problem)
        position = next((i for i, row in enumerate(rows) if row["Title"]), None)
        if position is None:
            self.error(
                rows[0],
                f"handle {handle!r} has no row with a Title; the first row of a product "
                "carries its Title, Body and option names",
            )
            return None
        main, later = rows[position], rows[position + 1 :]
        title = _fold(main["Title"])
        for row in rows[:position]:
            self.error(
                row,
                f"{row.kind()} for handle {handle!r} appears before its product row (line "
                f"{main.line}); move the product row up",
            )
        for row in later:
            if row["Title"] and _fold(row["Title"]) != title:
                self.error(
                    row,
                    f"Title {row['Title']!r} differs from the product's title {title!r} on "
                    f"line {main.line}; leave Title empty on a product's other rows",
                )

        product_id = handle if is_identifier(handle) else _slug(handle)
        if product_id in self.ids:
            other, line = self.ids[product_id]
            self.error(
                main,
                f"handle {handle!r} becomes the product id {product_id!r}, like handle "
                f"{other!r} on line {line}; rename one of the handles",
            )
        else:
            self.ids[product_id] = (handle, main.line)

        options = self._options(main)
        chosen: dict[tuple[tuple[str, str], ...], int] = {}
        variants = [
            self._variant(row, product_id, options, main, chosen)
            for row in (main, *later)
            if row.describes_variant()
        ]
        if not chosen:
            self.error(main, f"handle {handle!r} has no variant rows; give the product a price")

        pictured = next((row for row in (main, *later) if row["Image Src"]), None)
        image = pictured["Image Src"] if pictured is not None else None
        if pictured is not None and not is_image_url(image):
            self.error(
                pictured,
                f"Image Src {image!r} is not an https:// link to a picture; copy the link "
                "from Shopify again or leave it empty",
            )
        if len(self.errors) > before:
            return None
        return Product(
            id=product_id,
            title=title,
            description=_plain_text(main["Body (HTML)"]),
            vendor=_fold(main["Vendor"]),
            image=image,
            options=options or ("Default",),
            variants=tuple(v for v in variants if v is not None),
        )

    def _options(self, main: _Row) -> tuple[str, ...]:
        """The option names of the product row; () for Shopify's "Title: Default Title"."""
        names = [_fold(main[f"Option{i} Name"]) for i in (1, 2, 3)]
        if names[0] == "Title" and main["Option1 Value"] == "Default Title" and not any(names[1:]):
            return ()
        while names and not names[-1]:
            names.pop()
        for i, name in enumerate(names, start=1):
            if not name:
                self.error(
                    main,
                    f"Option{i} Name is empty but Option{len(names)} Name is {names[-1]!r}; "
                    "name the options in order, Option1 first",
                )
            elif names.index(name) < i - 1:
                self.error(main, f"option {name!r} is named twice; give each option its own name")
        return tuple(names)

    def _variant(
        self,
        row: _Row,
        product_id: str,
        options: tuple[str, ...],
        main: _Row,
        chosen: dict[tuple[tuple[str, str], ...], int],
    ) -> Variant | None:
        """The variant of ``row``, or None after reporting what is wrong with it."""
        before = len(self.errors)
        pairs: list[tuple[str, str]] = []
        for i in (1, 2, 3):
            value = _fold(row[f"Option{i} Value"])
            if i <= len(options):
                if not value:
                    self.error(
                        row,
                        f"Option{i} Value is empty but the product has option {options[i - 1]!r}",
                    )
                pairs.append((options[i - 1], value))
            # "Default Title" is how Shopify fills Option1 of a product without options.
            elif value and (options or i > 1 or value != "Default Title"):
                self.error(
                    row,
                    f"Option{i} Value {value!r} is set but the product has no Option{i} Name; "
                    f"name the option on the product row (line {main.line}) or clear the value",
                )
        combination = tuple(pairs) if options else (("Default", "Default"),)
        if combination not in chosen:
            chosen[combination] = row.line
        elif options:
            label = ", ".join(f"{name} {value}" for name, value in pairs)
            self.error(
                row,
                f"the options {label} are the same as on line {chosen[combination]}; a "
                "shopper could not choose between them",
            )
        else:
            self.error(
                row,
                f"the product has no options, so its one variant is on line "
                f"{chosen[combination]}; add option names to sell more than one",
            )

        price = self._money(row, "Variant Price", required=True)
        compare_at = self._money(row, "Variant Compare At Price", required=False)
        stock = self._stock(row)
        sku = self._sku(row, product_id, [value for _, value in pairs])
        if len(self.errors) > before or price is None:
            return None
        return Variant(
            sku=sku,
            options=combination,
            price=price,
            stock=stock,
            compare_at=compare_at if compare_at is not None and compare_at > price else None,
        )

    def _money(self, row: _Row, column: str, *, required: bool) -> Money | None:
        raw = row[column]
        if not raw:
            if required:
                self.error(row, f"{column} is empty; write the price like {self.sample}")
            return None
        try:
            return _price(raw, self.currency)
        except MoneyError:
            fix = f"write it like {self.sample}" + ("" if required else " or leave it empty")
            self.error(row, f"{column} {raw!r} is not a price; {fix}")
            return None

    def _stock(self, row: _Row) -> int:
        raw = row["Variant Inventory Qty"]
        if not raw:
            return 0
        match = _QUANTITY_PATTERN.fullmatch(raw)
        if match is None:
            self.error(
                row,
                f"Variant Inventory Qty {raw!r} is not a whole number; write the stock like "
                "12 (or leave it empty for 0)",
            )
            return 0
        sign, digits = match.groups()
        if sign == "-" and digits.strip("0"):
            self.warn(
                row,
                f"Variant Inventory Qty {raw} is below 0 (oversold in Shopify); imported as "
                "0, sold out: set the stock once the units are in",
            )
            return 0
        if len(digits) > len(str(MAX_STOCK)) or int(digits) > MAX_STOCK:
            self.error(
                row,
                f"Variant Inventory Qty {raw} is more than Shopify allows ({MAX_STOCK:,}); "
                "check the number",
            )
            return 0
        return int(digits)

    def _sku(self, row: _Row, product_id: str, values: list[str]) -> str:
        raw = row["Variant SKU"]
        if raw:
            sku = raw if is_identifier(raw) else _slug(raw)
        else:
            sku = _slug("-".join([product_id, *values]).lower())
        line = self.skus.setdefault(sku, row.line)
        if line == row.line:
            return sku
        if not raw:
            self.error(
                row,
                f"the SKU made for this variant ({sku!r}, as Variant SKU is empty) is also on "
                f"line {line}; fill in Variant SKU",
            )
        elif sku == raw:
            self.error(row, f"duplicate SKU {raw!r} (also on line {line})")
        else:
            self.error(
                row,
                f"SKU {raw!r} becomes {sku!r}, which line {line} also has; give the variants "
                "different SKUs",
            )
        return sku


def parse_shopify_csv(text: str, currency: str = "EUR") -> ImportReport:
    """Read a Shopify product export whose prices are in ``currency``.

    Raises :class:`CatalogueError` when the file as a whole cannot be read (empty, not
    CSV, no Handle, Title or Variant Price column); row problems go in the report.
    """
    currency_exponent(currency)  # an unknown currency fails the file, not every row
    rows = _read(text)
    state = _Import(currency)
    by_handle: dict[str, list[_Row]] = {}
    for row in rows:
        if row["Handle"]:
            by_handle.setdefault(row["Handle"], []).append(row)
        else:
            state.error(
                row,
                "Handle is empty; every row needs the handle of its product (the first "
                "column of a Shopify export)",
            )
    made = {handle: state.product(handle, group) for handle, group in by_handle.items()}
    return ImportReport(
        products=tuple(p for p in made.values() if p is not None),
        errors=tuple(sorted(state.errors, key=lambda e: e.line)),
        rows=len(rows),
        # A product left out has its errors to fix first; its oversold stock is not news.
        warnings=tuple(
            sorted(
                (w for w in state.warnings if made[w.handle] is not None),
                key=lambda w: w.line,
            )
        ),
    )
