"""Fulfillment: rate tables, routing rules and decisions, pick batches, packing.

Rate tables are the owner's own prices per carrier service, zone and weight
band, so that routing can compare warehouses offline. Live carrier rates are
requested only when the label is bought. Every routing decision keeps each
candidate warehouse's sub-scores, so the order can show why its warehouse
won. Packing records every scan (who, when, what, and the verdict).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, Money, Rate, utcnow


class ShippingService(Base):
    """A carrier service the owner ships with, such as "Royal Mail / Tracked 48".

    ``currency`` is the currency of its rate table.
    """

    __tablename__ = "shipping_service"
    __table_args__ = (UniqueConstraint("carrier", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(60))
    service: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(default=True)


class ShippingZoneRule(Base):
    """A rule placing parcels in a zone of a service, tried in ``position`` order.

    A rule matches when every condition it sets holds: the origin warehouse
    (None: any), ``scope`` ("any", "domestic": destination country equals
    the warehouse's, "international": it differs), ``countries`` (a comma
    list of ISO 3166 codes; None: any) and ``max_distance_km`` (None: any
    distance). The first matching rule names the zone.
    """

    __tablename__ = "shipping_zone_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_service.id"), index=True
    )
    zone: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    scope: Mapped[str] = mapped_column(String(16), default="any")
    countries: Mapped[str | None] = mapped_column(Text)
    max_distance_km: Mapped[int | None]


class ShippingRate(Base):
    """The price of a parcel up to ``max_weight_g`` in one zone of a service.

    ``cost_minor`` is in minor units of the service's currency. A parcel
    takes the band with the smallest ``max_weight_g`` at or above its weight.
    """

    __tablename__ = "shipping_rate"
    __table_args__ = (UniqueConstraint("service_id", "zone", "max_weight_g"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_service.id"), index=True
    )
    zone: Mapped[str] = mapped_column(String(40))
    max_weight_g: Mapped[int]
    cost_minor: Mapped[int] = mapped_column(Money)


class RoutingRule(Base):
    """An owner rule applied on top of the routing score.

    ``kind`` is "priority" (``rank`` orders warehouses, 1 first), "only"
    (orders of ``channel_id`` ship only from this warehouse; several rows
    for one channel allow several warehouses) or "exclude" (never route to
    this warehouse; with ``channel_id`` set, only for that channel).
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    rank: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)


class RoutingDecision(Base):
    """The reason an order went where it went: one row per routing of it.

    ``weights`` contains the score weights used. The newest decision of an
    order is the one in force.
    """

    __tablename__ = "routing_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    split: Mapped[bool] = mapped_column(default=False)
    destination: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")


class RoutingScore(Base):
    """One candidate warehouse in a routing decision, with its sub-scores.

    Scores run from 0 (worst) to 1 (best); ``total`` is their weighted
    mean. ``cost_minor`` is the rate-table price of the whole order from
    this warehouse in shop minor units (None: no rate applies).
    ``line_numbers`` lists the order lines routed to it.
    """

    __tablename__ = "routing_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("routing_decision.id"), index=True
    )
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    eligible: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    distance_km: Mapped[Decimal | None] = mapped_column(Rate)
    distance_score: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    stock_score: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    cost_minor: Mapped[int | None] = mapped_column(Money)
    cost_service: Mapped[str | None] = mapped_column(String(130))
    cost_score: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    workload_score: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    open_picks: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[int | None]
    rank: Mapped[int | None]
    total: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    chosen: Mapped[bool] = mapped_column(default=False)
    line_numbers: Mapped[str] = mapped_column(String(400), default="")


class PickBatch(Base):
    """Orders picked together in one walk through a warehouse."""

    __tablename__ = "pick_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    @property
    def ref(self) -> str:
        """The batch reference printed and barcoded on the pick list."""
        return f"PB{self.id:06d}"


class PickBatchOrder(Base):
    __tablename__ = "pick_batch_order"

    batch_id: Mapped[int] = mapped_column(ForeignKey("pick_batch.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("sales_order.id"), primary_key=True, index=True
    )


class PackSession(Base):
    """One packer packing one order's lines from one warehouse.

    ``status`` is "open", "shipped" or "abandoned". Weights are grams:
    ``expected_weight_g`` is the sum of the variants' weights plus the
    packaging allowance, ``measured_weight_g`` what the scale showed.
    """

    __tablename__ = "pack_session"
    __table_args__ = (Index("ix_pack_session_order", "order_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("pick_batch.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    expected_weight_g: Mapped[int | None]
    measured_weight_g: Mapped[int | None]
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))


class PackScan(Base):
    """One scan or entry at the packing station and its verdict.

    ``kind`` is what the station expected ("order", "batch", "item",
    "serial", "weight", "tracking"); ``result`` is "ok" or the fault
    ("wrong_item", "extra_unit", "unknown_code", "duplicate_serial",
    "weight_mismatch", ...). ``code`` is exactly what was scanned or typed.
    """

    __tablename__ = "pack_scan"

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("pack_session.id"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(20))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"))
    message: Mapped[str] = mapped_column(Text, default="")


class ShipmentLabel(Base):
    """A label file for a shipment: the carrier's bought label or our own.

    ``file_format`` is "PDF" or "ZPL"; ZPL is stored as its UTF-8 bytes.
    """

    __tablename__ = "shipment_label"
    __table_args__ = (UniqueConstraint("shipment_id", "file_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    file_format: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(20), default="carrier")
    carrier_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
