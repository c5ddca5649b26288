"""Products, variants and warehouses: creating them and finding them by SKU."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Barcode, Bin, Product, Variant, VariantBin, Warehouse
from app.core.uow import UnitOfWork


def sku_key(sku: str) -> str:
    """Return the case-folded form that SKU identity and look-ups use."""
    return sku.strip().upper()


@dataclass(frozen=True, slots=True)
class VariantInput:
    """A SKU to create; weights in grams, dimensions in millimetres."""

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
    tracks_serials: bool = False
    reorder_point: int | None = None


def find_variant(session: Session, sku: str) -> Variant | None:
    return session.scalar(select(Variant).where(Variant.sku_key == sku_key(sku)))


def find_variants(session: Session, skus: Iterable[str]) -> dict[str, Variant]:
    """Return the variants of many SKUs in one query, keyed by the SKU given."""
    keys = {sku: sku_key(sku) for sku in skus}
    if not keys:
        return {}
    found = {
        variant.sku_key: variant
        for variant in session.scalars(
            select(Variant).where(Variant.sku_key.in_(set(keys.values())))
        )
    }
    return {sku: found[key] for sku, key in keys.items() if key in found}


def get_variant(session: Session, sku: str) -> Variant:
    variant = find_variant(session, sku)
    if variant is None:
        raise NotFound(
            f"SKU {sku!r} is not in the catalog; add the product first or correct "
            "the SKU"
        )
    return variant


def variant_by_barcode(session: Session, code: str) -> Variant | None:
    """Find a variant by any of its barcodes, or by its SKU as a fallback."""
    found = session.get(Barcode, code.strip())
    if found is not None:
        return session.get(Variant, found.variant_id)
    return find_variant(session, code)


def get_warehouse(session: Session, code: str | int) -> Warehouse:
    if isinstance(code, int):
        warehouse = session.get(Warehouse, code)
    else:
        warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise NotFound(
            f"warehouse {code!r} does not exist; create it in Settings > Warehouses"
        )
    return warehouse


def _check_variant(v: VariantInput, shop_currency: str) -> None:
    if not v.sku or not v.sku.strip():
        raise ValidationError("sku", v.sku, "a SKU cannot be empty")
    if len(v.sku.strip()) > 100:
        raise ValidationError("sku", v.sku, "a SKU is at most 100 characters")
    for field in ("weight_g", "length_mm", "width_mm", "height_mm"):
        value = getattr(v, field)
        if value is not None and value < 0:
            raise ValidationError(field, value, f"{field} cannot be negative")
    if v.country_of_origin is not None and len(v.country_of_origin) != 2:
        raise ValidationError(
            "country_of_origin",
            v.country_of_origin,
            "country of origin must be an ISO 3166 two-letter code such as CN",
        )


def create_product(
    uow: UnitOfWork,
    title: str,
    variants: list[VariantInput],
    *,
    description: str = "",
    vendor: str = "",
    product_type: str = "",
) -> Product:
    """Create a product with its variants; SKUs are unique regardless of case."""
    from app.core.shop import get_shop

    session = uow.session
    currency = get_shop(session).currency
    if not title.strip():
        raise ValidationError("title", title, "a product needs a title")
    if not variants:
        raise ValidationError("variants", variants, "a product needs at least one SKU")
    seen: set[str] = set()
    product = Product(
        title=title.strip(),
        description=description,
        vendor=vendor,
        product_type=product_type,
    )
    session.add(product)
    for v in variants:
        _check_variant(v, currency)
        key = sku_key(v.sku)
        if key in seen or find_variant(session, v.sku) is not None:
            raise ValidationError(
                "sku", v.sku, f"SKU {v.sku!r} already exists (SKUs ignore case)"
            )
        seen.add(key)
        variant = Variant(
            product=product,
            sku=v.sku.strip(),
            sku_key=key,
            title=v.title or title.strip(),
            option_values=v.option_values,
            price=v.price,
            price_currency=currency if v.price is not None else None,
            barcode=v.barcode,
            weight_g=v.weight_g,
            length_mm=v.length_mm,
            width_mm=v.width_mm,
            height_mm=v.height_mm,
            hs_code=v.hs_code,
            country_of_origin=v.country_of_origin.upper()
            if v.country_of_origin
            else None,
            tracks_serials=v.tracks_serials,
            reorder_point=v.reorder_point,
        )
        session.add(variant)
        session.flush()
        if v.barcode:
            add_barcode(session, variant, v.barcode)
    session.flush()
    record(uow, "product.create", "product", product.id, detail={"title": title})
    return product


def add_barcode(session: Session, variant: Variant, code: str) -> None:
    code = code.strip()
    existing = session.get(Barcode, code)
    if existing is not None and existing.variant_id != variant.id:
        raise ValidationError(
            "barcode", code, f"barcode {code} already belongs to another SKU"
        )
    if existing is None:
        session.add(Barcode(code=code, variant_id=variant.id))


def create_warehouse(
    uow: UnitOfWork,
    code: str,
    name: str,
    country: str,
    *,
    line1: str = "",
    city: str = "",
    postcode: str | None = None,
    region: str | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    daily_capacity: int | None = None,
    is_quarantine: bool = False,
) -> Warehouse:
    session = uow.session
    if not code.strip():
        raise ValidationError("code", code, "a warehouse needs a short code")
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)):
        raise ValidationError("code", code, f"warehouse {code} already exists")
    warehouse = Warehouse(
        code=code.strip(),
        name=name.strip() or code,
        country=country.upper(),
        line1=line1,
        city=city,
        postcode=postcode,
        region=region,
        latitude=latitude,
        longitude=longitude,
        daily_capacity=daily_capacity,
        is_quarantine=is_quarantine,
    )
    session.add(warehouse)
    session.flush()
    record(uow, "warehouse.create", "warehouse", warehouse.id, detail={"code": code})
    return warehouse


def assign_bin(uow: UnitOfWork, sku: str, warehouse: str, bin_code: str) -> None:
    """Set the bin a SKU is picked from, creating the bin when new."""
    session = uow.session
    variant = get_variant(session, sku)
    wh = get_warehouse(session, warehouse)
    bin_ = session.scalar(
        select(Bin).where(Bin.warehouse_id == wh.id, Bin.code == bin_code)
    )
    if bin_ is None:
        bin_ = Bin(warehouse_id=wh.id, code=bin_code)
        session.add(bin_)
        session.flush()
    link = session.get(VariantBin, (variant.id, wh.id))
    if link is None:
        session.add(
            VariantBin(variant_id=variant.id, warehouse_id=wh.id, bin_id=bin_.id)
        )
    else:
        link.bin_id = bin_.id
