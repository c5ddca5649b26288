"""Import a catalog from a Shopify or WooCommerce product CSV.

Shopify's product CSV has one row per variant (and per extra image), grouped
by handle: the first row of a handle carries the product's fields and the
continuation rows leave them blank. Both generations of the template are
read: the 2023-24 one (``Handle``, ``Variant SKU``, ``Variant Grams``,
``Variant Price``, ``Variant Barcode``) and the 2025 one (``URL handle``,
``SKU``, ``Weight value (grams)``, ``Price``, ``Barcode``). Shopify stores
weights in grams whatever unit it displays, so the grams column is used.

WooCommerce's product CSV has one row per product and one per variation.
A ``simple`` product becomes a product with one SKU. A ``variable`` product
holds the ``variation`` rows that name it in ``Parent``, by SKU or as
``id:NN``, and a variation without a weight or size takes its parent's, as
WooCommerce does. ``grouped`` and ``external`` products hold no stock of
their own and are skipped. Units come from the headers, such as
``Weight (lbs)`` and ``Length (in)``.

A SKU already in the catalog is updated, never duplicated (SKUs compare
without case). Optional columns for an HS code and a country of origin are
read when present. Every SKU needs a SKU: a variant row without one is a
problem.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from app.core.audit import record
from app.core.catalog import VariantInput, add_barcode, create_product, sku_key
from app.core.importing.countries import country_code
from app.core.importing.errors import MissingColumnsError, Problem
from app.core.importing.tables import (
    Columns,
    RowProblems,
    Table,
    normalise,
    parse_decimal,
    read_table,
    write_rejected,
)
from app.core.models import Barcode, Product, Variant
from app.core.money import to_minor
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

logger = logging.getLogger(__name__)

CatalogFormat = Literal["shopify", "woocommerce"]
FORMATS: tuple[CatalogFormat, ...] = ("shopify", "woocommerce")

GRAMS_PER_UNIT = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "lb": Decimal("453.59237"),
    "lbs": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
MILLIMETRES_PER_UNIT = {
    "mm": Decimal(1),
    "cm": Decimal(10),
    "m": Decimal(1000),
    "in": Decimal("25.4"),
    "yd": Decimal("914.4"),
}
MAX_SKU = 100
MAX_BARCODE = 64
MAX_HS_CODE = 20
PRICE_PLACES = 4

_SHOPIFY_COLUMNS: dict[str, tuple[str, ...]] = {
    "handle": ("Handle", "URL handle"),
    "title": ("Title",),
    "description": ("Body (HTML)", "Description"),
    "vendor": ("Vendor",),
    "product_type": ("Type",),
    "status": ("Status",),
    "option1": ("Option1 Value",),
    "option2": ("Option2 Value",),
    "option3": ("Option3 Value",),
    "sku": ("Variant SKU", "SKU"),
    "grams": ("Variant Grams", "Weight value (grams)"),
    "price": ("Variant Price", "Price"),
    "barcode": ("Variant Barcode", "Barcode"),
    "cost": ("Cost per item",),
    "hs_code": ("Variant HS Code", "HS Code", "Harmonized System Code"),
    "country": (
        "Variant Country of Origin",
        "Country of Origin",
        "Country/Region of Origin",
    ),
}
_WOO_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("ID",),
    "type": ("Type",),
    "sku": ("SKU",),
    "name": ("Name",),
    "description": ("Description",),
    "short_description": ("Short description",),
    "price": ("Regular price",),
    "parent": ("Parent",),
    "categories": ("Categories",),
    "attribute1": ("Attribute 1 value(s)",),
    "attribute2": ("Attribute 2 value(s)",),
    "attribute3": ("Attribute 3 value(s)",),
    "barcode": ("GTIN, UPC, EAN, or ISBN", "GTIN", "EAN", "Barcode"),
    "hs_code": ("HS code", "Meta: hs_code", "Meta: _hs_code"),
    "country": ("Country of origin", "Meta: country_of_origin"),
}
_UNIT_HEADER = re.compile(r"^\s*(weight|length|width|height)\s*\(([a-z]+)\)\s*$", re.I)


@dataclass
class VariantRecord:
    """One SKU as the file gives it. None means the file leaves the field unset."""

    row: int
    sku: str
    title: str = ""
    option_values: str = ""
    price: Decimal | None = None
    barcode: str | None = None
    weight_g: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    hs_code: str | None = None
    country_of_origin: str | None = None
    standard_cost: int | None = None


@dataclass
class ProductRecord:
    """One product of the file with its variants."""

    key: str
    row: int
    title: str
    description: str = ""
    vendor: str = ""
    product_type: str = ""
    active: bool = True
    variants: list[VariantRecord] = field(default_factory=list)


@dataclass
class CatalogImportResult:
    """The outcome of a product import: what it found and changed.

    ``status`` is "imported", or "rejected" when the file had problems and
    nothing was written. ``skipped`` explains rows that were read but hold
    nothing to import (grouped products, image-only rows).
    """

    file: str
    format: str
    status: Literal["imported", "rejected"] = "imported"
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    rejects_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "status": self.status,
            "products_created": self.products_created,
            "products_updated": self.products_updated,
            "variants_created": self.variants_created,
            "variants_updated": self.variants_updated,
            "skipped": list(self.skipped),
            "problem_count": len(self.problems),
            "problems": [
                {
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "rejected_rows": list(self.rejected_rows),
            "rejects_file": self.rejects_file,
        }


# --- shared cell parsing ---------------------------------------------------


class _Cells:
    """Parses cells into typed values, recording a problem for each bad one."""

    def __init__(self, problems: RowProblems, currency: str) -> None:
        self.problems = problems
        self.currency = currency

    def price(self, row: int, field_name: str, text: str) -> Decimal | None:
        if not text:
            return None
        value = parse_decimal(text, PRICE_PLACES)
        if value is None or value < 0:
            self.problems.add(
                row,
                field_name,
                text,
                f"is not a price. Enter an amount of at most {PRICE_PLACES} "
                "decimal places such as 12.50.",
            )
        return value

    def cost(self, row: int, field_name: str, text: str) -> int | None:
        value = self.price(row, field_name, text)
        return None if value is None else to_minor(value, self.currency)

    def measure(
        self, row: int, field_name: str, text: str, unit: str, table: dict[str, Decimal]
    ) -> int | None:
        """Convert a weight or length to whole grams or millimetres, half-up."""
        if not text:
            return None
        value = parse_decimal(text, 12)
        if value is None or value < 0:
            self.problems.add(
                row, field_name, text, "is not a number. Enter one such as 0.5."
            )
            return None
        return int((value * table[unit]).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def sku(self, row: int, field_name: str, text: str) -> str | None:
        if not text:
            self.problems.add(
                row,
                field_name,
                "",
                "is empty. Every variant needs a SKU in Backroom: give it one, "
                "then import again.",
            )
            return None
        if len(text) > MAX_SKU:
            self.problems.add(
                row, field_name, text, f"is longer than {MAX_SKU} characters."
            )
            return None
        return text

    def barcode(self, row: int, field_name: str, text: str) -> str | None:
        if not text:
            return None
        if "e+" in text.lower() or len(text) > MAX_BARCODE:
            self.problems.add(
                row,
                field_name,
                text,
                "is not a barcode: a spreadsheet may have turned it into a "
                "number. Format the column as text and export the file again.",
            )
            return None
        return text

    def hs_code(self, row: int, field_name: str, text: str) -> str | None:
        if not text:
            return None
        if len(text) > MAX_HS_CODE:
            self.problems.add(
                row, field_name, text, f"is longer than {MAX_HS_CODE} characters."
            )
            return None
        return text

    def country(self, row: int, field_name: str, text: str) -> str | None:
        if not text:
            return None
        if len(text) == 2 and text.isalpha():
            return text.upper()
        code = country_code(text)
        if code is None:
            self.problems.add(
                row,
                field_name,
                text,
                "is not a country. Enter its ISO code such as CN or its name.",
            )
        return code


# --- Shopify ---------------------------------------------------------------


def read_shopify(
    table: Table, problems: RowProblems, currency: str
) -> tuple[list[ProductRecord], list[str]]:
    """Read a Shopify product CSV (2023-24 or 2025 template)."""
    columns = Columns(table, _SHOPIFY_COLUMNS, required=("title", "sku"))
    problems.columns = columns
    cells = _Cells(problems, currency)
    products: list[ProductRecord] = []
    skipped: list[str] = []
    current: ProductRecord | None = None
    for row, fields in table.rows:
        handle = columns.get(fields, "handle")
        title = columns.get(fields, "title")
        if (
            current is None
            or (handle and handle != current.key)
            or (not handle and title)
        ):
            key = handle or title
            if not title:
                problems.add(
                    row,
                    "title",
                    "",
                    f"is empty on the first row of product {key!r}. Give the "
                    "product a title.",
                )
            current = ProductRecord(
                key=key,
                row=row,
                title=title,
                description=columns.get(fields, "description"),
                vendor=columns.get(fields, "vendor"),
                product_type=columns.get(fields, "product_type"),
                active=columns.get(fields, "status").lower() != "archived",
            )
            products.append(current)

        options = [
            columns.get(fields, name) for name in ("option1", "option2", "option3")
        ]
        options = [o for o in options if o and o != "Default Title"]
        variant_cells = ("sku", "price", "grams", "barcode")
        if not any(columns.get(fields, name) for name in variant_cells) and not options:
            skipped.append(f"row {row}: an image of {current.key!r}, no variant")
            continue
        sku = cells.sku(row, "sku", columns.get(fields, "sku"))
        if sku is None:
            continue
        option_values = " / ".join(options)
        current.variants.append(
            VariantRecord(
                row=row,
                sku=sku,
                title=f"{current.title} - {option_values}"
                if option_values
                else current.title,
                option_values=option_values,
                price=cells.price(row, "price", columns.get(fields, "price")),
                barcode=cells.barcode(row, "barcode", columns.get(fields, "barcode")),
                weight_g=cells.measure(
                    row, "grams", columns.get(fields, "grams"), "g", GRAMS_PER_UNIT
                ),
                hs_code=cells.hs_code(row, "hs_code", columns.get(fields, "hs_code")),
                country_of_origin=cells.country(
                    row, "country", columns.get(fields, "country")
                ),
                standard_cost=cells.cost(row, "cost", columns.get(fields, "cost")),
            )
        )
    return products, skipped


# --- WooCommerce -----------------------------------------------------------


def _unit_columns(table: Table) -> dict[str, tuple[int, str, str]]:
    """Find columns such as "Weight (kg)": measure -> (position, unit, header)."""
    found: dict[str, tuple[int, str, str]] = {}
    for position, name in enumerate(table.header):
        match = _UNIT_HEADER.match(name.replace("\ufeff", ""))
        if match:
            found.setdefault(match[1].lower(), (position, match[2].lower(), name))
    return found


def read_woocommerce(
    table: Table, problems: RowProblems, currency: str
) -> tuple[list[ProductRecord], list[str]]:
    """Read a WooCommerce product CSV with simple, variable and variation rows."""
    columns = Columns(table, _WOO_COLUMNS, required=("type", "sku", "name"))
    problems.columns = columns
    cells = _Cells(problems, currency)
    units = _unit_columns(table)
    for what, (_position, unit, name) in units.items():
        known = GRAMS_PER_UNIT if what == "weight" else MILLIMETRES_PER_UNIT
        if unit not in known:
            problems.add(
                1,
                None,
                name,
                f"The column {name!r} has the unit {unit!r}, which Backroom does "
                f"not convert. Use one of {', '.join(known)}.",
            )

    def measure(row: int, fields: list[str], what: str) -> int | None:
        if what not in units:
            return None
        position, unit, name = units[what]
        text = fields[position].strip() if position < len(fields) else ""
        known = GRAMS_PER_UNIT if what == "weight" else MILLIMETRES_PER_UNIT
        if unit not in known:
            return None
        return cells.measure(row, name, text, unit, known)

    products: dict[str, ProductRecord] = {}
    ordered: list[ProductRecord] = []
    variations: list[tuple[int, list[str], str]] = []
    skipped: list[str] = []
    parents: dict[str, tuple[ProductRecord, VariantRecord]] = {}
    for row, fields in table.rows:
        kinds = {
            part.strip().lower() for part in columns.get(fields, "type").split(",")
        }
        name = columns.get(fields, "name")
        if "variation" in kinds:
            variations.append((row, fields, columns.get(fields, "parent")))
            continue
        if kinds & {"grouped", "external"}:
            what = "grouped" if "grouped" in kinds else "external"
            skipped.append(
                f"row {row}: {what} product {name!r} holds no stock of its own"
            )
            continue
        if not kinds & {"simple", "variable"}:
            problems.add(
                row,
                "type",
                columns.get(fields, "type"),
                "is not a product type Backroom reads. Use simple, variable or "
                "variation.",
            )
            continue

        description = columns.get(fields, "description") or columns.get(
            fields, "short_description"
        )
        product = ProductRecord(
            key=f"row {row}",
            row=row,
            title=name,
            description=description,
            product_type=columns.get(fields, "categories"),
        )
        if not name:
            problems.add(row, "name", "", "is empty. Give the product a name.")
        # The parent's weight and sizes, which its variations inherit.
        own = VariantRecord(
            row=row,
            sku=columns.get(fields, "sku"),
            title=name,
            price=cells.price(row, "price", columns.get(fields, "price")),
            barcode=cells.barcode(row, "barcode", columns.get(fields, "barcode")),
            weight_g=measure(row, fields, "weight"),
            length_mm=measure(row, fields, "length"),
            width_mm=measure(row, fields, "width"),
            height_mm=measure(row, fields, "height"),
            hs_code=cells.hs_code(row, "hs_code", columns.get(fields, "hs_code")),
            country_of_origin=cells.country(
                row, "country", columns.get(fields, "country")
            ),
        )
        ordered.append(product)
        woo_id = columns.get(fields, "id")
        if woo_id:
            parents[f"id:{woo_id}"] = (product, own)
        if own.sku:
            parents[sku_key(own.sku)] = (product, own)
        if "simple" in kinds:
            sku = cells.sku(row, "sku", own.sku)
            if sku is not None:
                product.variants.append(own)
        products[product.key] = product

    for row, fields, parent_ref in variations:
        ref = parent_ref.strip()
        found = parents.get(ref if ref.lower().startswith("id:") else sku_key(ref))
        if found is None:
            problems.add(
                row,
                "parent",
                parent_ref,
                "is not a variable product in this file. Name the parent by its "
                "SKU or as id:NN, and keep it in the same file.",
            )
            continue
        product, parent = found
        sku = cells.sku(row, "sku", columns.get(fields, "sku"))
        if sku is None:
            continue
        options = [columns.get(fields, f"attribute{n}") for n in (1, 2, 3)]
        option_values = " / ".join(o for o in options if o)
        name = columns.get(fields, "name")
        weight = measure(row, fields, "weight")
        length = measure(row, fields, "length")
        width = measure(row, fields, "width")
        height = measure(row, fields, "height")
        product.variants.append(
            VariantRecord(
                row=row,
                sku=sku,
                title=name or f"{product.title} - {option_values}",
                option_values=option_values,
                price=cells.price(row, "price", columns.get(fields, "price")),
                barcode=cells.barcode(row, "barcode", columns.get(fields, "barcode")),
                weight_g=weight if weight is not None else parent.weight_g,
                length_mm=length if length is not None else parent.length_mm,
                width_mm=width if width is not None else parent.width_mm,
                height_mm=height if height is not None else parent.height_mm,
                hs_code=cells.hs_code(row, "hs_code", columns.get(fields, "hs_code"))
                or parent.hs_code,
                country_of_origin=cells.country(
                    row, "country", columns.get(fields, "country")
                )
                or parent.country_of_origin,
            )
        )

    for product in ordered:
        if not product.variants:
            skipped.append(
                f"row {product.row}: product {product.title!r} has no variation "
                "with a SKU in the file"
            )
    return [p for p in ordered if p.variants], skipped


# --- writing ---------------------------------------------------------------


def _check_identities(
    uow: UnitOfWork, products: list[ProductRecord], problems: RowProblems
) -> dict[str, Variant]:
    """Report SKUs repeated in the file and barcodes held by another SKU.

    Returns the existing variants of the file's SKUs by SKU key.
    """
    session = uow.session
    variants = [v for p in products for v in p.variants]
    keys = {sku_key(v.sku) for v in variants}
    existing = {
        v.sku_key: v
        for v in session.scalars(select(Variant).where(Variant.sku_key.in_(keys)))
    }
    codes = {v.barcode for v in variants if v.barcode}
    owners = {
        b.code: b.variant_id
        for b in session.scalars(select(Barcode).where(Barcode.code.in_(codes)))
    }
    seen_skus: dict[str, int] = {}
    seen_codes: dict[str, str] = {}
    for v in variants:
        key = sku_key(v.sku)
        if key in seen_skus:
            problems.add(
                v.row,
                "sku",
                v.sku,
                f"is already on row {seen_skus[key]}. SKUs ignore case: give "
                "each variant its own.",
            )
            continue
        seen_skus[key] = v.row
        if not v.barcode:
            continue
        other = seen_codes.setdefault(v.barcode, key)
        owner = owners.get(v.barcode)
        own = existing.get(key)
        if other != key or (owner is not None and (own is None or owner != own.id)):
            problems.add(
                v.row,
                "barcode",
                v.barcode,
                "already belongs to another SKU. Correct the barcode.",
            )
    return existing


def import_products(
    uow: UnitOfWork,
    path: str | Path,
    fmt: CatalogFormat,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
) -> CatalogImportResult:
    """Create and update products and variants from a product CSV.

    Nothing is written when the file has problems, unless ``skip_invalid``
    is set: then the rows with problems are left out and written to a CSV
    file beside the input. The caller commits.
    """
    table = read_table(path)
    result = CatalogImportResult(file=str(table.path), format=fmt)
    problems = RowProblems(table.path)
    currency = get_shop(uow.session).currency
    try:
        if fmt == "shopify":
            products, result.skipped = read_shopify(table, problems, currency)
        else:
            products, result.skipped = read_woocommerce(table, problems, currency)
    except MissingColumnsError as exc:
        result.status = "rejected"
        result.problems = list(exc.problems)
        return result
    existing = _check_identities(uow, products, problems)

    if problems:
        result.problems = sorted(problems.problems, key=lambda p: p.row)
        result.rejected_rows = sorted(problems.rows)
        if not skip_invalid:
            result.status = "rejected"
            return result
        result.rejects_file = str(write_rejected(table, result.problems, rejects_path))
        bad = problems.rows
        for product in products:
            product.variants = [v for v in product.variants if v.row not in bad]
        products = [p for p in products if p.variants and p.row not in bad]

    for product in products:
        _write_product(uow, product, existing, result)
    logger.info(
        "imported %s products from %s: %d created, %d variants created, %d updated",
        fmt,
        table.path,
        result.products_created,
        result.variants_created,
        result.variants_updated,
    )
    return result


def _write_product(
    uow: UnitOfWork,
    product: ProductRecord,
    existing: dict[str, Variant],
    result: CatalogImportResult,
) -> None:
    session = uow.session
    known = [
        existing[sku_key(v.sku)] for v in product.variants if sku_key(v.sku) in existing
    ]
    if not known:
        created = create_product(
            uow,
            product.title or product.variants[0].sku,
            [_variant_input(v) for v in product.variants],
            description=product.description,
            vendor=product.vendor,
            product_type=product.product_type,
        )
        created.active = product.active
        session.flush()
        costs = {sku_key(v.sku): v.standard_cost for v in product.variants}
        for variant in created.variants:
            variant.standard_cost = costs.get(variant.sku_key)
            existing[variant.sku_key] = variant
        result.products_created += 1
        result.variants_created += len(product.variants)
        return

    target = session.get(Product, known[0].product_id)
    assert target is not None
    if product.title:
        target.title = product.title
    for name in ("description", "vendor", "product_type"):
        value = getattr(product, name)
        if value:
            setattr(target, name, value)
    target.active = product.active
    result.products_updated += 1
    currency = get_shop(session).currency
    for record_ in product.variants:
        key = sku_key(record_.sku)
        found = existing.get(key)
        if found is None:
            variant = Variant(
                product_id=target.id,
                sku=record_.sku,
                sku_key=key,
                title=record_.title or target.title,
            )
            session.add(variant)
            existing[key] = variant
            result.variants_created += 1
        else:
            variant = found
            result.variants_updated += 1
        _update_variant(variant, record_, currency)
        session.flush()
        if record_.barcode:
            add_barcode(session, variant, record_.barcode)
        record(
            uow, "variant.import", "variant", variant.id, detail={"sku": variant.sku}
        )


def _variant_input(v: VariantRecord) -> VariantInput:
    return VariantInput(
        sku=v.sku,
        title=v.title,
        option_values=v.option_values,
        price=v.price,
        barcode=v.barcode,
        weight_g=v.weight_g,
        length_mm=v.length_mm,
        width_mm=v.width_mm,
        height_mm=v.height_mm,
        hs_code=v.hs_code,
        country_of_origin=v.country_of_origin,
    )


def _update_variant(variant: Variant, v: VariantRecord, currency: str) -> None:
    """Copy the file's values onto a variant; values the file leaves unset stay."""
    if v.title:
        variant.title = v.title
    variant.option_values = v.option_values or variant.option_values
    if v.price is not None:
        variant.price = v.price
        variant.price_currency = currency
    for name in (
        "barcode",
        "weight_g",
        "length_mm",
        "width_mm",
        "height_mm",
        "hs_code",
        "country_of_origin",
        "standard_cost",
    ):
        value = getattr(v, name)
        if value is not None:
            setattr(variant, name, value)


def detect_format(path: str | Path) -> CatalogFormat | None:
    """Guess a product CSV's format from its header, or return None."""
    table = read_table(path)
    names = {normalise(name) for name in table.header}
    if normalise("Variant SKU") in names or normalise("URL handle") in names:
        return "shopify"
    if normalise("Regular price") in names and normalise("Parent") in names:
        return "woocommerce"
    return None
