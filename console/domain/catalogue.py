"""The products a show sells: what they are, their variants, prices, stock and reviews.

The catalogue arrives as plain data (a JSON file, an import from a shop, a staff edit)
and becomes immutable objects here, once, after every rule has been checked. A host
pinning a product mid-show must never find out then that a variant has no price, so
:func:`parse_catalogue` refuses the whole file with a message that names the product,
the variant or review, and the field, instead of loading the parts that look fine.

No I/O: callers read the file (``importlib.resources``, the store) and hand the data in.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeGuard

from console.domain.chat import strip_bidi
from console.domain.money import CURRENCIES, Money, MoneyError
from console.errors import CatalogueError

__all__ = [
    "FORMAT_VERSION",
    "MAX_IMAGE_URL_CHARS",
    "Catalogue",
    "ImportFormat",
    "Product",
    "Review",
    "Variant",
    "catalogue_to_dict",
    "import_file_text",
    "is_identifier",
    "is_image_url",
    "parse_catalogue",
]

#: Version of the dict/JSON shape read by :func:`parse_catalogue`.
FORMAT_VERSION: Final = 1

# Ids and SKUs end up in URLs, store keys and log lines; keeping them to a safe alphabet
# avoids quoting bugs everywhere downstream.
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# An image is a file name inside resources/demo/images (or the store's image folder),
# never a path: a catalogue must not be able to point the console at arbitrary files.
_IMAGE_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(png|jpg|jpeg|webp)")
# ... or a picture on a shop's CDN (an imported Shopify product). Only https, and none of
# the characters that could end an HTML attribute or a CSS url() early (spaces, quotes,
# angle brackets, backslashes): the viewer page puts this string into markup.
_IMAGE_URL_PATTERN: Final = re.compile(r"https://[A-Za-z0-9][A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")
MAX_IMAGE_URL_CHARS: Final = 2000
_DATE_PATTERN: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

_PRODUCT_FIELDS: Final = frozenset(
    {
        "id",
        "title",
        "description",
        "vendor",
        "image",
        "currency",
        "options",
        "variants",
        "reviews",
    }
)
_VARIANT_FIELDS: Final = frozenset({"sku", "options", "price", "compare_at", "stock"})
_REVIEW_FIELDS: Final = frozenset({"id", "author", "rating", "text", "verified_owner", "created"})


@dataclass(frozen=True, slots=True)
class Review:
    """What an owner (or a viewer) said; agents quote these, hosts feature them on stream."""

    id: str
    author: str
    rating: int
    text: str
    verified_owner: bool
    #: ISO date (YYYY-MM-DD); a string so it goes to JSON and SQLite unchanged.
    created: str


@dataclass(frozen=True, slots=True)
class Variant:
    """One buyable thing (a size and colour of a shirt): the unit that has stock and a SKU.

    ``options`` is a tuple of (option name, value) pairs in the product's option order,
    so variants stay hashable and always list their options the same way.
    """

    sku: str
    options: tuple[tuple[str, str], ...]
    price: Money
    stock: int
    #: The "was" price shown struck through; present only when the variant is on sale.
    compare_at: Money | None = None

    def option(self, name: str) -> str:
        """Value of option ``name`` ("Size" -> "M"); KeyError names the missing option."""
        for key, value in self.options:
            if key == name:
                return value
        raise KeyError(name)

    @property
    def options_map(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def title(self) -> str:
        """Label as shops write it ("M / White"); empty when the only option is "Default"."""
        values = [value for key, value in self.options if key != "Default"]
        return " / ".join(values)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def on_sale(self) -> bool:
        return self.compare_at is not None


@dataclass(frozen=True, slots=True)
class Product:
    """A product as a shopper sees it: one title and image, several variants to choose from."""

    id: str
    title: str
    description: str
    vendor: str
    #: File name relative to resources/demo/images, an https:// URL (a product imported
    #: from a shop keeps its CDN picture), or None when there is no picture.
    image: str | None
    options: tuple[str, ...]
    variants: tuple[Variant, ...]
    reviews: tuple[Review, ...] = ()

    def __post_init__(self) -> None:
        # The properties below rely on these; parse_catalogue checks them with better
        # messages, this only stops code from building a product they would crash on.
        if not self.variants:
            raise CatalogueError(f"product {self.id!r}: must have at least one variant")
        currencies = {v.price.currency for v in self.variants}
        if len(currencies) > 1:
            raise CatalogueError(
                f"product {self.id!r}: variants are priced in {', '.join(sorted(currencies))};"
                " use one currency per product"
            )

    @property
    def currency(self) -> str:
        return self.variants[0].price.currency

    @property
    def price_range(self) -> tuple[Money, Money]:
        """Lowest and highest variant price: "from €49.00" or "€49.00-€59.00" in a list."""
        prices = [v.price for v in self.variants]
        return min(prices), max(prices)

    @property
    def total_stock(self) -> int:
        return sum(v.stock for v in self.variants)

    @property
    def in_stock(self) -> bool:
        return any(v.stock > 0 for v in self.variants)

    @property
    def rating_count(self) -> int:
        return len(self.reviews)

    @property
    def rating_average(self) -> float | None:
        """Mean star rating, None without reviews (0 stars would read as a verdict)."""
        if not self.reviews:
            return None
        return sum(r.rating for r in self.reviews) / len(self.reviews)

    def variant(self, sku: str) -> Variant | None:
        return next((v for v in self.variants if v.sku == sku), None)

    def variant_for(self, options: Mapping[str, str]) -> Variant | None:
        """The variant a shopper picked by option values, None if that combination is absent."""
        wanted = dict(options)
        return next((v for v in self.variants if dict(v.options) == wanted), None)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All products of a show, in the order the host wants them listed."""

    products: tuple[Product, ...] = ()
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False, hash=False)
    _by_sku: dict[str, tuple[Product, Variant]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        by_id: dict[str, Product] = {}
        by_sku: dict[str, tuple[Product, Variant]] = {}
        for product in self.products:
            if product.id in by_id:
                raise CatalogueError(f"product {product.id!r}: the id is used twice")
            by_id[product.id] = product
            for variant in product.variants:
                if variant.sku in by_sku:
                    other = by_sku[variant.sku][0].id
                    raise CatalogueError(
                        f"product {product.id!r} variant {variant.sku!r}: the SKU is "
                        f"already used by product {other!r}"
                    )
                by_sku[variant.sku] = (product, variant)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_sku", by_sku)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def by_id(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def by_sku(self, sku: str) -> tuple[Product, Variant] | None:
        """The product and variant of a SKU: an order line needs both (title and price)."""
        return self._by_sku.get(sku)


def is_identifier(value: object) -> TypeGuard[str]:
    """True when ``value`` may be a product id, SKU or review id.

    Importers derive ids from other shops' handles and SKUs and must know which ones fit.
    """
    return isinstance(value, str) and _ID_PATTERN.fullmatch(value) is not None


def is_image_url(value: object) -> TypeGuard[str]:
    """True when ``value`` is a picture link a catalogue accepts.

    :class:`Product` itself does not check its image, so an importer that builds products
    directly checks links here, with the same rule :func:`parse_catalogue` applies.
    """
    return (
        isinstance(value, str)
        and len(value) <= MAX_IMAGE_URL_CHARS
        and _IMAGE_URL_PATTERN.fullmatch(value) is not None
    )


# ---------------------------------------------------------------- parsing


def _kind(value: object) -> str:
    """Name JSON types as the person editing the file knows them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _Where:
    """Builds the "product 'x' variant 'y':" prefix every error message starts with."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def error(self, message: str) -> CatalogueError:
        return CatalogueError(f"{self.prefix}: {message}")

    def obj(self, data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(f"must be an object, got {_kind(data)}")
        return data

    def known(self, data: dict[str, Any], allowed: frozenset[str], what: str) -> None:
        """Refuse unknown fields: a misspelt "compare_price" must not silently do nothing."""
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.error(
                f"unknown field {unknown[0]!r}; {what} fields are {', '.join(sorted(allowed))}"
            )

    def required(self, data: dict[str, Any], name: str) -> object:
        if name not in data:
            raise self.error(f"{name} is missing")
        return data[name]

    def text(self, data: dict[str, Any], name: str, *, default: str | None = None) -> str:
        if default is not None and name not in data:
            return default
        value = self.required(data, name)
        if not isinstance(value, str):
            raise self.error(f"{name} must be text, got {_kind(value)}")
        value = strip_bidi(value)  # shown to every viewer: see console.domain.chat
        if default is None and not value.strip():
            raise self.error(f"{name} must not be empty")
        return value

    def identifier(self, data: dict[str, Any], name: str) -> str:
        value = self.required(data, name)
        if not is_identifier(value):
            raise self.error(
                f"{name} must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
                f"letter or digit), got {value!r}"
            )
        return value

    def minor_units(self, value: object, name: str) -> int:
        if not _is_int(value):
            raise self.error(f"{name} must be a whole number of minor units, got {value!r}")
        if value < 0:
            raise self.error(f"{name} must not be negative, got {value}")
        return value


def parse_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """Check catalogue data (the JSON shape of resources/demo/catalogue.json) and build it.

    Raises :class:`CatalogueError` at the first problem, naming the product id, the
    variant SKU or review id, and the field, so the person editing the file can fix it.
    """
    top = _Where("catalogue")
    if not isinstance(data, Mapping):
        raise top.error(f"must be an object with 'version' and 'products', got {_kind(data)}")
    unknown = sorted(set(data) - {"version", "products"})
    if unknown:
        raise top.error(f"unknown field {unknown[0]!r}; the fields are products, version")
    if "version" not in data:
        raise top.error(f"version is missing; this Shopcast reads version {FORMAT_VERSION}")
    version = data["version"]
    if version != FORMAT_VERSION or not _is_int(version):
        raise top.error(
            f"version {version!r} is not supported; this Shopcast reads version "
            f"{FORMAT_VERSION} (a newer Shopcast may have written the file)"
        )
    if "products" not in data:
        raise top.error("products is missing; use [] for an empty catalogue")
    raw_products = data["products"]
    if not isinstance(raw_products, list):
        raise top.error(f"products must be a list, got {_kind(raw_products)}")

    products: list[Product] = []
    product_ids: set[str] = set()
    skus: dict[str, str] = {}
    review_ids: dict[str, str] = {}
    for index, raw in enumerate(raw_products, start=1):
        product = _parse_product(raw, index, skus, review_ids)
        if product.id in product_ids:
            raise CatalogueError(
                f"product {product.id!r}: the id is used twice; give each product its own id"
            )
        product_ids.add(product.id)
        products.append(product)
    return Catalogue(tuple(products))


def _parse_product(
    raw: object, index: int, skus: dict[str, str], review_ids: dict[str, str]
) -> Product:
    where = _Where(f"product #{index}")
    fields = where.obj(raw)
    product_id = where.identifier(fields, "id")
    where = _Where(f"product {product_id!r}")
    where.known(fields, _PRODUCT_FIELDS, "product")

    title = where.text(fields, "title")
    description = where.text(fields, "description", default="")
    vendor = where.text(fields, "vendor", default="")

    image = fields.get("image")
    if isinstance(image, str) and image[:5].lower() in ("http:", "https"):
        if not is_image_url(image):
            raise where.error(
                f"image must be an https:// link of at most {MAX_IMAGE_URL_CHARS} characters "
                f"without spaces, quotes or angle brackets, got {image!r}"
            )
    elif image is not None and (not isinstance(image, str) or not _IMAGE_PATTERN.fullmatch(image)):
        raise where.error(
            f"image must be a file name such as 'shirt.png' (no folders; .png, .jpg or "
            f".webp) or null, got {image!r}"
        )

    currency = where.required(fields, "currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise where.error(
            f"currency must be a supported ISO 4217 code such as 'EUR', got {currency!r}"
        )

    raw_options = where.required(fields, "options")
    if not isinstance(raw_options, list) or not raw_options:
        raise where.error(
            "options must be a non-empty list of option names such as ['Size', 'Colour'] "
            "(use ['Default'] for a product without choices)"
        )
    for name in raw_options:
        if not isinstance(name, str) or not name.strip():
            raise where.error(f"options must be non-empty names, got {name!r}")
    if len(set(raw_options)) != len(raw_options):
        duplicate = next(n for n in raw_options if raw_options.count(n) > 1)
        raise where.error(f"option {duplicate!r} is listed twice")
    options = tuple(raw_options)

    raw_variants = where.required(fields, "variants")
    if not isinstance(raw_variants, list) or not raw_variants:
        raise where.error("variants must be a non-empty list; a product needs one to be bought")
    variants: list[Variant] = []
    combinations: dict[tuple[tuple[str, str], ...], str] = {}
    for v_index, raw_variant in enumerate(raw_variants, start=1):
        variant = _parse_variant(raw_variant, product_id, v_index, options, currency)
        if variant.sku in skus:
            owner = skus[variant.sku]
            also = "this product" if owner == product_id else f"product {owner!r}"
            raise CatalogueError(
                f"product {product_id!r} variant {variant.sku!r}: the SKU is already used by "
                f"{also}; every variant needs its own SKU"
            )
        skus[variant.sku] = product_id
        if variant.options in combinations:
            chosen = ", ".join(f"{k}={v}" for k, v in variant.options)
            raise CatalogueError(
                f"product {product_id!r} variant {variant.sku!r}: options {chosen} are the "
                f"same as variant {combinations[variant.options]!r}; a shopper could not "
                "choose between them"
            )
        combinations[variant.options] = variant.sku
        variants.append(variant)

    raw_reviews = fields.get("reviews", [])
    if not isinstance(raw_reviews, list):
        raise where.error(f"reviews must be a list, got {_kind(raw_reviews)}")
    reviews: list[Review] = []
    for r_index, raw_review in enumerate(raw_reviews, start=1):
        review = _parse_review(raw_review, product_id, r_index)
        if review.id in review_ids:
            owner = review_ids[review.id]
            also = "this product" if owner == product_id else f"product {owner!r}"
            raise CatalogueError(
                f"product {product_id!r} review {review.id!r}: the id is already used by {also}"
            )
        review_ids[review.id] = product_id
        reviews.append(review)

    return Product(
        id=product_id,
        title=title,
        description=description,
        vendor=vendor,
        image=image,
        options=options,
        variants=tuple(variants),
        reviews=tuple(reviews),
    )


def _parse_variant(
    raw: object, product_id: str, index: int, options: tuple[str, ...], currency: str
) -> Variant:
    where = _Where(f"product {product_id!r} variant #{index}")
    fields = where.obj(raw)
    sku = where.identifier(fields, "sku")
    where = _Where(f"product {product_id!r} variant {sku!r}")
    where.known(fields, _VARIANT_FIELDS, "variant")

    raw_options = where.required(fields, "options")
    if not isinstance(raw_options, dict):
        raise where.error(
            f"options must be an object such as {{{options[0]!r}: ...}}, got {_kind(raw_options)}"
        )
    for name in options:
        if name not in raw_options:
            raise where.error(f"has no value for option {name!r}")
    for name, value in raw_options.items():
        if name not in options:
            raise where.error(
                f"has option {name!r}, which the product does not list (its options are "
                f"{', '.join(options)})"
            )
        if not isinstance(value, str) or not value.strip():
            raise where.error(f"option {name!r} must be non-empty text, got {value!r}")
    pairs = tuple((name, raw_options[name]) for name in options)

    price = where.minor_units(where.required(fields, "price"), "price")
    compare_at_raw = fields.get("compare_at")
    compare_at: int | None = None
    if compare_at_raw is not None:
        compare_at = where.minor_units(compare_at_raw, "compare_at")
        if compare_at <= price:
            raise where.error(
                f"compare_at ({compare_at}) must be higher than price ({price}): it is the "
                "struck-through 'was' price; use null when the variant is not on sale"
            )

    stock = where.required(fields, "stock")
    if not _is_int(stock):
        raise where.error(f"stock must be a whole number, got {stock!r}")
    if stock < 0:
        raise where.error(f"stock must not be negative, got {stock}; use 0 for sold out")

    try:
        return Variant(
            sku=sku,
            options=pairs,
            price=Money(price, currency),
            stock=stock,
            compare_at=Money(compare_at, currency) if compare_at is not None else None,
        )
    except MoneyError as exc:  # pragma: no cover - the checks above come first
        raise where.error(str(exc)) from None


def _parse_review(raw: object, product_id: str, index: int) -> Review:
    where = _Where(f"product {product_id!r} review #{index}")
    fields = where.obj(raw)
    review_id = where.identifier(fields, "id")
    where = _Where(f"product {product_id!r} review {review_id!r}")
    where.known(fields, _REVIEW_FIELDS, "review")

    author = where.text(fields, "author")
    rating = where.required(fields, "rating")
    if not _is_int(rating) or not 1 <= rating <= 5:
        raise where.error(f"rating must be a whole number of stars from 1 to 5, got {rating!r}")
    text = where.text(fields, "text")
    verified = where.required(fields, "verified_owner")
    if not isinstance(verified, bool):
        raise where.error(f"verified_owner must be true or false, got {verified!r}")
    created = where.required(fields, "created")
    if not isinstance(created, str) or not _DATE_PATTERN.fullmatch(created):
        raise where.error(f"created must be a date written YYYY-MM-DD, got {created!r}")
    try:
        datetime.date.fromisoformat(created)
    except ValueError:
        raise where.error(f"created is not a real date: {created!r}") from None
    return Review(
        id=review_id,
        author=author,
        rating=rating,
        text=text,
        verified_owner=verified,
        created=created,
    )


# ---------------------------------------------------------------- files to import

#: What the hub's importer reads: a Shopify product CSV export or a Shopcast JSON catalogue.
ImportFormat = Literal["shopify_csv", "json"]


def import_file_text(name: str, data: bytes) -> tuple[ImportFormat, str]:
    """The format (by the file name's suffix) and the text of a file chosen for import.

    Both importers read text. A file picked by mistake (a spreadsheet, a picture, a CSV
    saved in an old Windows encoding) is refused here, before anything reaches the hub,
    with a sentence that names the file and what to choose instead; Python's own words
    ("'utf-8' codec can't decode byte 0xbb") tell a shop nothing. Excel's byte order
    mark is dropped.
    """
    kind: ImportFormat = "json" if name.lower().endswith(".json") else "shopify_csv"
    fix = (
        "save the catalogue as UTF-8 text"
        if kind == "json"
        else "export the products from Shopify again (Products > Export) or save the file "
        "as 'CSV UTF-8'"
    )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogueError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); {fix}"
        ) from None
    if "\x00" in text:
        raise CatalogueError(f"{name} is not a text file (it holds NUL bytes); {fix}")
    return kind, text


# ---------------------------------------------------------------- back to data


def catalogue_to_dict(catalogue: Catalogue) -> dict[str, Any]:
    """The inverse of :func:`parse_catalogue`: what it writes, parse reads back unchanged.

    Every field is written, optional ones too (``compare_at: null``), so an exported file
    shows a person editing it every field they can set.
    """
    return {
        "version": FORMAT_VERSION,
        "products": [_product_to_dict(p) for p in catalogue.products],
    }


def _product_to_dict(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "description": product.description,
        "vendor": product.vendor,
        "image": product.image,
        "currency": product.currency,
        "options": list(product.options),
        "variants": [
            {
                "sku": v.sku,
                "options": dict(v.options),
                "price": v.price.amount,
                "compare_at": v.compare_at.amount if v.compare_at is not None else None,
                "stock": v.stock,
            }
            for v in product.variants
        ],
        "reviews": [
            {
                "id": r.id,
                "author": r.author,
                "rating": r.rating,
                "text": r.text,
                "verified_owner": r.verified_owner,
                "created": r.created,
            }
            for r in product.reviews
        ],
    }
