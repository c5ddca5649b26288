"""Read models for the window and the command line: routing, warehouses, rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.exceptions import NotFound
from app.core.models import (
    FulfillmentRequest,
    SalesOrder,
    StockLevel,
    Variant,
    Warehouse,
)
from app.core.models.fulfillment import (
    PickBatch,
    PickBatchOrder,
    RoutingDecision,
    RoutingScore,
    ShippingRate,
    ShippingService,
    ShippingZoneRule,
)


@dataclass(frozen=True, slots=True)
class ScoreView:
    """One candidate of a routing decision; scores 0 to 1, cost in shop minor units."""

    warehouse: str
    eligible: bool
    reason: str
    distance_km: Decimal | None
    distance_score: Decimal
    stock_score: Decimal
    cost_minor: int | None
    cost_service: str | None
    cost_score: Decimal
    workload_score: Decimal
    open_picks: int
    capacity: int | None
    rank: int | None
    total: Decimal
    chosen: bool
    line_numbers: str


@dataclass(frozen=True, slots=True)
class RoutingExplanation:
    order_id: int
    order_ref: str
    decided_at: datetime
    destination: str
    summary: str
    split: bool
    weights: dict[str, Any]
    scores: tuple[ScoreView, ...]

    def to_json(self) -> dict[str, Any]:
        def num(value: Decimal | None) -> str | None:
            return None if value is None else str(value.normalize())

        return {
            "order_id": self.order_id,
            "order": self.order_ref,
            "decided_at": self.decided_at.isoformat(),
            "destination": self.destination,
            "summary": self.summary,
            "split": self.split,
            "weights": self.weights,
            "candidates": [
                {
                    "warehouse": s.warehouse,
                    "eligible": s.eligible,
                    "reason": s.reason,
                    "distance_km": num(s.distance_km),
                    "distance_score": num(s.distance_score),
                    "stock_score": num(s.stock_score),
                    "cost_minor": s.cost_minor,
                    "cost_service": s.cost_service,
                    "cost_score": num(s.cost_score),
                    "workload_score": num(s.workload_score),
                    "open_picks": s.open_picks,
                    "capacity": s.capacity,
                    "rank": s.rank,
                    "total": num(s.total),
                    "chosen": s.chosen,
                    "lines": s.line_numbers,
                }
                for s in self.scores
            ],
        }


def routing_explanation(session: Session, order_id: int) -> RoutingExplanation:
    """Return the order's newest routing decision with every candidate."""
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    decision = session.scalars(
        select(RoutingDecision)
        .where(RoutingDecision.order_id == order_id)
        .order_by(RoutingDecision.id.desc())
        .limit(1)
    ).first()
    if decision is None:
        raise NotFound(
            f"order {order.external_id} has no routing decision on record; it was "
            "routed before routing was recorded or imported as history"
        )
    rows = session.execute(
        select(RoutingScore, Warehouse.code)
        .join(Warehouse, Warehouse.id == RoutingScore.warehouse_id)
        .where(RoutingScore.decision_id == decision.id)
        .order_by(RoutingScore.chosen.desc(), RoutingScore.total.desc())
    ).all()
    return RoutingExplanation(
        order_id=order.id,
        order_ref=order.external_id,
        decided_at=decision.decided_at,
        destination=decision.destination,
        summary=decision.summary,
        split=decision.split,
        weights=dict(decision.weights),
        scores=tuple(
            ScoreView(
                warehouse=code,
                eligible=s.eligible,
                reason=s.reason,
                distance_km=s.distance_km,
                distance_score=s.distance_score,
                stock_score=s.stock_score,
                cost_minor=s.cost_minor,
                cost_service=s.cost_service,
                cost_score=s.cost_score,
                workload_score=s.workload_score,
                open_picks=s.open_picks,
                capacity=s.capacity,
                rank=s.rank,
                total=s.total,
                chosen=s.chosen,
                line_numbers=s.line_numbers,
            )
            for s, code in rows
        ),
    )


@dataclass(frozen=True, slots=True)
class WarehouseLoad:
    """A warehouse with its stock totals, capacity and open workload."""

    id: int
    code: str
    name: str
    country: str
    city: str
    latitude: Decimal | None
    longitude: Decimal | None
    capacity: int | None
    open_picks: int
    skus: int
    on_hand: int
    reserved: int
    active: bool
    quarantine: bool

    @property
    def load_percent(self) -> int | None:
        if not self.capacity:
            return None
        return round(100 * self.open_picks / self.capacity)


def warehouse_loads(session: Session) -> list[WarehouseLoad]:
    stock = {
        wid: (int(skus), int(on_hand or 0), int(reserved or 0))
        for wid, skus, on_hand, reserved in session.execute(
            select(
                StockLevel.warehouse_id,
                func.count(),
                func.sum(StockLevel.on_hand),
                func.sum(StockLevel.reserved),
            )
            .where(StockLevel.on_hand != 0)
            .group_by(StockLevel.warehouse_id)
        ).all()
    }
    picks = {
        wid: int(count)
        for wid, count in session.execute(
            select(FulfillmentRequest.warehouse_id, func.count())
            .where(FulfillmentRequest.status == "open")
            .group_by(FulfillmentRequest.warehouse_id)
        ).all()
    }
    return [
        WarehouseLoad(
            id=w.id,
            code=w.code,
            name=w.name,
            country=w.country,
            city=w.city,
            latitude=w.latitude,
            longitude=w.longitude,
            capacity=w.daily_capacity,
            open_picks=picks.get(w.id, 0),
            skus=stock.get(w.id, (0, 0, 0))[0],
            on_hand=stock.get(w.id, (0, 0, 0))[1],
            reserved=stock.get(w.id, (0, 0, 0))[2],
            active=w.active,
            quarantine=w.is_quarantine,
        )
        for w in session.scalars(select(Warehouse).order_by(Warehouse.code))
    ]


def _warehouse_codes(session: Session) -> dict[int, str]:
    rows = session.execute(select(Warehouse.id, Warehouse.code)).all()
    return {warehouse_id: code for warehouse_id, code in rows}


@dataclass(frozen=True, slots=True)
class StockRow:
    """One SKU's on hand and reserved per warehouse code."""

    variant_id: int
    sku: str
    title: str
    on_hand: dict[str, int]
    reserved: dict[str, int]


def stock_by_warehouse(
    session: Session, text: str = "", *, limit: int = 500
) -> list[StockRow]:
    """Return SKUs (matching ``text`` in SKU or title) with stock per warehouse."""
    query = select(Variant).where(Variant.active.is_(True)).order_by(Variant.sku_key)
    if text.strip():
        pattern = f"%{text.strip().upper()}%"
        query = query.where(
            Variant.sku_key.like(pattern) | func.upper(Variant.title).like(pattern)
        )
    variants = session.scalars(query.limit(limit)).all()
    codes = _warehouse_codes(session)
    levels: dict[int, list[StockLevel]] = {}
    for level in session.scalars(
        select(StockLevel).where(StockLevel.variant_id.in_([v.id for v in variants]))
    ):
        levels.setdefault(level.variant_id, []).append(level)
    return [
        StockRow(
            v.id,
            v.sku,
            v.title,
            {codes[lv.warehouse_id]: lv.on_hand for lv in levels.get(v.id, [])},
            {codes[lv.warehouse_id]: lv.reserved for lv in levels.get(v.id, [])},
        )
        for v in variants
    ]


@dataclass(frozen=True, slots=True)
class RateRow:
    """One weight band of a service; ``cost_minor`` in the service currency."""

    service_id: int
    carrier: str
    service: str
    currency: str
    zone: str
    max_weight_g: int
    cost_minor: int


@dataclass(frozen=True, slots=True)
class ZoneRow:
    service_id: int
    label: str
    zone: str
    position: int
    warehouse: str | None
    scope: str
    countries: str | None
    max_distance_km: int | None


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """A carrier service, with or without zones and rates yet."""

    id: int
    label: str
    currency: str


def service_rows(session: Session) -> list[ServiceRow]:
    rows = session.scalars(
        select(ShippingService)
        .where(ShippingService.active.is_(True))
        .order_by(ShippingService.carrier, ShippingService.service)
    )
    return [ServiceRow(s.id, f"{s.carrier} / {s.service}", s.currency) for s in rows]


def rate_rows(session: Session) -> list[RateRow]:
    rows = session.execute(
        select(ShippingService, ShippingRate)
        .join(ShippingRate, ShippingRate.service_id == ShippingService.id)
        .order_by(
            ShippingService.carrier,
            ShippingService.service,
            ShippingRate.zone,
            ShippingRate.max_weight_g,
        )
    ).all()
    return [
        RateRow(
            s.id, s.carrier, s.service, s.currency, r.zone, r.max_weight_g, r.cost_minor
        )
        for s, r in rows
    ]


def zone_rows(session: Session) -> list[ZoneRow]:
    codes = _warehouse_codes(session)
    rows = session.execute(
        select(ShippingService, ShippingZoneRule)
        .join(ShippingZoneRule, ShippingZoneRule.service_id == ShippingService.id)
        .order_by(ShippingService.id, ShippingZoneRule.position, ShippingZoneRule.id)
    ).all()
    return [
        ZoneRow(
            s.id,
            f"{s.carrier} / {s.service}",
            z.zone,
            z.position,
            codes.get(z.warehouse_id) if z.warehouse_id else None,
            z.scope,
            z.countries,
            z.max_distance_km,
        )
        for s, z in rows
    ]


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: int
    ref: str
    warehouse: str
    status: str
    created_at: datetime
    orders: int


def batches(session: Session, *, open_only: bool = True) -> list[BatchRow]:
    query = (
        select(PickBatch, Warehouse.code, func.count(PickBatchOrder.order_id))
        .join(Warehouse, Warehouse.id == PickBatch.warehouse_id)
        .outerjoin(PickBatchOrder, PickBatchOrder.batch_id == PickBatch.id)
        .group_by(PickBatch.id, Warehouse.code)
        .order_by(PickBatch.id.desc())
    )
    if open_only:
        query = query.where(PickBatch.status == "open")
    return [
        BatchRow(b.id, b.ref, code, b.status, b.created_at, int(count))
        for b, code, count in session.execute(query).all()
    ]
