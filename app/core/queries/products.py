"""SKU lists, stock per warehouse, what each channel sees, and move history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.catalog import variant_by_barcode
from app.core.exceptions import NotFound
from app.core.models import (
    Channel,
    CostLayer,
    StockLevel,
    StockMove,
    User,
    Variant,
    Warehouse,
)
from app.core.outbox import channel_quantity, sellable_available
from app.core.queries.common import like_pattern


@dataclass(frozen=True, slots=True)
class VariantRow:
    """One SKU with its stock summed over every warehouse.

    ``price`` is in major units of ``price_currency``; ``stock_value`` is the
    FIFO value left in its cost layers, in shop minor units.
    """

    id: int
    sku: str
    title: str
    barcode: str | None
    price: Decimal | None
    price_currency: str | None
    on_hand: int
    reserved: int
    reorder_point: int | None
    stock_value: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def low(self) -> bool:
        return self.reorder_point is not None and self.available <= self.reorder_point


def variant_ids(
    session: Session, text: str = "", *, low_only: bool = False
) -> list[int]:
    """Return SKU ids matching ``text`` (SKU, title or barcode), by SKU."""
    query = select(Variant.id).where(Variant.active.is_(True))
    if text.strip():
        pattern = like_pattern(text)
        query = query.where(
            or_(
                Variant.sku.ilike(pattern, escape="\\"),
                Variant.title.ilike(pattern, escape="\\"),
                Variant.barcode.ilike(pattern, escape="\\"),
            )
        )
    if low_only:
        levels = (
            select(
                StockLevel.variant_id.label("variant_id"),
                func.sum(StockLevel.on_hand - StockLevel.reserved).label("available"),
            )
            .group_by(StockLevel.variant_id)
            .subquery()
        )
        query = query.outerjoin(levels, levels.c.variant_id == Variant.id).where(
            Variant.reorder_point.is_not(None),
            func.coalesce(levels.c.available, 0) <= Variant.reorder_point,
        )
    return list(session.scalars(query.order_by(Variant.sku_key)))


def variant_rows(session: Session, ids: Sequence[int]) -> list[VariantRow]:
    """Return rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    levels = (
        select(
            StockLevel.variant_id,
            func.sum(StockLevel.on_hand).label("on_hand"),
            func.sum(StockLevel.reserved).label("reserved"),
        )
        .where(StockLevel.variant_id.in_(ids))
        .group_by(StockLevel.variant_id)
        .subquery()
    )
    values = (
        select(CostLayer.variant_id, func.sum(CostLayer.value_remaining).label("value"))
        .where(CostLayer.variant_id.in_(ids))
        .group_by(CostLayer.variant_id)
        .subquery()
    )
    rows = session.execute(
        select(Variant, levels.c.on_hand, levels.c.reserved, values.c.value)
        .outerjoin(levels, levels.c.variant_id == Variant.id)
        .outerjoin(values, values.c.variant_id == Variant.id)
        .where(Variant.id.in_(ids))
    ).all()
    found = {
        v.id: VariantRow(
            id=v.id,
            sku=v.sku,
            title=v.title,
            barcode=v.barcode,
            price=v.price,
            price_currency=v.price_currency,
            on_hand=int(on_hand or 0),
            reserved=int(reserved or 0),
            reorder_point=v.reorder_point,
            stock_value=int(value or 0),
        )
        for v, on_hand, reserved, value in rows
    }
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True, slots=True)
class LevelView:
    warehouse_id: int
    warehouse: str
    warehouse_name: str
    on_hand: int
    reserved: int
    quarantine: bool

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class ChannelView:
    """What one connected channel is shown after its buffer."""

    channel: str
    kind: str
    buffer_units: int
    buffer_percent: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class MoveView:
    """A stock move; ``value`` in shop minor units, signed like ``quantity``."""

    id: int
    at: datetime
    warehouse: str
    quantity: int
    value: int
    reason: str
    note: str | None
    source_type: str | None
    source_id: int | None
    journal_entry_id: int | None
    user: str


@dataclass(frozen=True, slots=True)
class StockDetail:
    row: VariantRow
    weight_g: int | None
    hs_code: str | None
    sellable: int
    levels: list[LevelView]
    channels: list[ChannelView]
    moves: list[MoveView]


def stock_detail(session: Session, variant_id: int, *, moves: int = 200) -> StockDetail:
    """Return one SKU's stock per warehouse, per channel and its newest moves."""
    variant = session.get(Variant, variant_id)
    rows = variant_rows(session, [variant_id])
    if variant is None or not rows:
        raise NotFound(f"SKU id {variant_id} does not exist; refresh the product list")
    levels = [
        LevelView(w.id, w.code, w.name, lvl.on_hand, lvl.reserved, w.is_quarantine)
        for lvl, w in session.execute(
            select(StockLevel, Warehouse)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.variant_id == variant_id)
            .order_by(Warehouse.id)
        )
    ]
    sellable = sellable_available(session, variant_id)
    channels = [
        ChannelView(
            c.name,
            c.kind,
            c.buffer_units,
            c.buffer_percent,
            channel_quantity(c, sellable),
        )
        for c in session.scalars(
            select(Channel).where(Channel.connected.is_(True)).order_by(Channel.id)
        )
    ]
    history = [
        MoveView(
            id=m.id,
            at=m.at,
            warehouse=code,
            quantity=m.quantity,
            value=m.value,
            reason=m.reason,
            note=m.note,
            source_type=m.source_type,
            source_id=m.source_id,
            journal_entry_id=m.journal_entry_id,
            user=user or "system",
        )
        for m, code, user in session.execute(
            select(StockMove, Warehouse.code, User.name)
            .join(Warehouse, Warehouse.id == StockMove.warehouse_id)
            .outerjoin(User, User.id == StockMove.user_id)
            .where(StockMove.variant_id == variant_id)
            .order_by(StockMove.at.desc(), StockMove.id.desc())
            .limit(moves)
        )
    ]
    return StockDetail(
        row=rows[0],
        weight_g=variant.weight_g,
        hs_code=variant.hs_code,
        sellable=sellable,
        levels=levels,
        channels=channels,
        moves=history,
    )


@dataclass(frozen=True, slots=True)
class SkuMatch:
    """A SKU found by typing or scanning, with its list price."""

    variant_id: int
    sku: str
    title: str
    price: Decimal | None
    available: int


def _match(session: Session, variant: Variant) -> SkuMatch:
    return SkuMatch(
        variant.id,
        variant.sku,
        variant.title,
        variant.price,
        sellable_available(session, variant.id),
    )


def lookup_sku(session: Session, code: str) -> SkuMatch | None:
    """Find a SKU by barcode or exact SKU, as a scanner types it."""
    if not code.strip():
        return None
    variant = variant_by_barcode(session, code)
    return _match(session, variant) if variant is not None else None


def search_skus(session: Session, text: str, *, limit: int = 20) -> list[SkuMatch]:
    """Return up to ``limit`` SKUs whose SKU or title contains ``text``."""
    ids = variant_ids(session, text)[:limit]
    variants = {
        v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(ids)))
    }
    return [_match(session, variants[i]) for i in ids if i in variants]


@dataclass(frozen=True, slots=True)
class WarehouseView:
    id: int
    code: str
    name: str
    city: str
    country: str
    latitude: Decimal | None
    longitude: Decimal | None
    daily_capacity: int | None
    quarantine: bool


def warehouses(session: Session) -> list[WarehouseView]:
    return [
        WarehouseView(
            w.id,
            w.code,
            w.name,
            w.city,
            w.country,
            w.latitude,
            w.longitude,
            w.daily_capacity,
            w.is_quarantine,
        )
        for w in session.scalars(
            select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.id)
        )
    ]
