"""Products, variants (one SKU each), barcodes, warehouses and bins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, Money, Rate, utcnow


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    product_type: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    variants: Mapped[list[Variant]] = relationship(back_populates="product")


class Variant(Base):
    """One sellable SKU.

    ``sku_key`` is the case-folded SKU that uniqueness and look-ups use;
    ``sku`` keeps the spelling the owner typed.
    """

    __tablename__ = "variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    sku_key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    option_values: Mapped[str] = mapped_column(String(300), default="")
    price: Mapped[Decimal | None]
    price_currency: Mapped[str | None] = mapped_column(String(3))
    barcode: Mapped[str | None] = mapped_column(String(64))
    weight_g: Mapped[int | None]
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    height_mm: Mapped[int | None]
    hs_code: Mapped[str | None] = mapped_column(String(20))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    tracks_serials: Mapped[bool] = mapped_column(default=False)
    standard_cost: Mapped[int | None] = mapped_column(Money)
    reorder_point: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")


class Barcode(Base):
    """Every barcode that identifies a variant (EAN, UPC, the shop's own)."""

    __tablename__ = "barcode"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)


class SkuAlias(Base):
    """Other names a SKU has been known by (descriptions, old spellings)."""

    __tablename__ = "sku_alias"
    __table_args__ = (UniqueConstraint("variant_id", "kind", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(300))


class Warehouse(Base):
    __tablename__ = "warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str | None] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[Decimal | None] = mapped_column(Rate)
    longitude: Mapped[Decimal | None] = mapped_column(Rate)
    daily_capacity: Mapped[int | None]
    is_quarantine: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Bin(Base):
    __tablename__ = "bin"
    __table_args__ = (UniqueConstraint("warehouse_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    code: Mapped[str] = mapped_column(String(40))


class VariantBin(Base):
    """The bin a SKU is picked from in a warehouse."""

    __tablename__ = "variant_bin"

    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouse.id"), primary_key=True
    )
    bin_id: Mapped[int] = mapped_column(ForeignKey("bin.id"))
