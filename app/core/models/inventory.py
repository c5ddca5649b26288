"""Stock moves, stock levels, reservations and FIFO cost layers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, Money, utcnow


class StockMove(Base):
    """An immutable change of on-hand quantity at one warehouse.

    ``quantity`` is signed (+ into the warehouse, - out of it) and ``value``
    is the cost in shop minor units that moved with it, signed the same way.
    """

    __tablename__ = "stock_move"
    __table_args__ = (
        Index("ix_stock_move_variant_wh", "variant_id", "warehouse_id"),
        Index("ix_stock_move_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    quantity: Mapped[int]
    value: Mapped[int] = mapped_column(Money, default=0)
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(Base):
    """On hand and reserved per SKU and warehouse, kept in step with moves."""

    __tablename__ = "stock_level"
    __table_args__ = (CheckConstraint("reserved >= 0", name="reserved_not_negative"),)

    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("warehouse.id"), primary_key=True, index=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Reservation(Base):
    """Stock held for one order line at one warehouse until it ships."""

    __tablename__ = "reservation"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_reservation_variant_wh", "variant_id", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    quantity: Mapped[int]


class CostLayer(Base):
    """Units received together at one cost (FIFO).

    The remaining value is kept as an integer so that the sum over all layers
    equals the inventory account exactly; consuming the last unit of a layer
    takes whatever value is left.
    """

    __tablename__ = "cost_layer"
    __table_args__ = (
        Index("ix_cost_layer_fifo", "variant_id", "warehouse_id", "received_at", "id"),
        CheckConstraint("quantity_remaining >= 0", name="remaining_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    received_at: Mapped[datetime]
    quantity_received: Mapped[int]
    quantity_remaining: Mapped[int]
    value_received: Mapped[int] = mapped_column(Money)
    value_remaining: Mapped[int] = mapped_column(Money)
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int | None]
    origin_layer_id: Mapped[int | None] = mapped_column(ForeignKey("cost_layer.id"))


class LayerConsumption(Base):
    """Units and value taken from a cost layer by a stock move."""

    __tablename__ = "layer_consumption"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("cost_layer.id"), index=True)
    stock_move_id: Mapped[int] = mapped_column(ForeignKey("stock_move.id"), index=True)
    quantity: Mapped[int]
    value: Mapped[int] = mapped_column(Money)


class StockCount(Base):
    """A counted quantity per SKU and warehouse; posting it adjusts on hand."""

    __tablename__ = "stock_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class StockCountLine(Base):
    __tablename__ = "stock_count_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_count.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    counted: Mapped[int]
    expected: Mapped[int | None]
    unit_cost: Mapped[int | None] = mapped_column(Money)
