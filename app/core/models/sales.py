"""Channels, customers, sales orders, tax lines, discounts, invoices, shipments.

Order amounts are minor units of the order's currency; the ``*_shop`` columns
hold the same amounts converted to the shop currency at the order's rate, as
posted, so that later postings (shipment, cancellation, refund) reuse the
exact cents instead of converting again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, Money, Rate, utcnow


class Channel(Base):
    """A place the shop sells: its own store, a marketplace, POS, manual entry."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    connected: Mapped[bool] = mapped_column(default=False)
    payment_terms: Mapped[str] = mapped_column(String(10), default="paid")
    buffer_units: Mapped[int] = mapped_column(default=0)
    buffer_percent: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    notify_customer: Mapped[bool] = mapped_column(default=False)
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    tax_rounding: Mapped[str] = mapped_column(String(8), default="line")
    poll_interval_s: Mapped[int] = mapped_column(default=60)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cursor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    tax_number: Mapped[str | None] = mapped_column(String(64))
    is_guest: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SalesOrder(Base):
    __tablename__ = "sales_order"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_sales_order_placed", "placed_at"),
        Index("ix_sales_order_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="open")
    hold_reason: Mapped[str | None] = mapped_column(Text)
    oversold: Mapped[bool] = mapped_column(default=False)
    historical: Mapped[bool] = mapped_column(default=False)
    placed_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    fx_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(1))
    prices_include_tax: Mapped[bool] = mapped_column(default=False)
    tax_rounding: Mapped[str] = mapped_column(String(8), default="line")
    tax_source: Mapped[str] = mapped_column(String(10), default="rules")
    tax_reason: Mapped[str | None] = mapped_column(Text)
    payment_terms: Mapped[str] = mapped_column(String(10), default="paid")
    ship_name: Mapped[str] = mapped_column(String(200), default="")
    ship_company: Mapped[str | None] = mapped_column(String(200))
    ship_line1: Mapped[str] = mapped_column(String(200), default="")
    ship_line2: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(100), default="")
    ship_region: Mapped[str | None] = mapped_column(String(10))
    ship_postcode: Mapped[str | None] = mapped_column(String(20))
    ship_country: Mapped[str | None] = mapped_column(String(2))
    ship_phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    routing_note: Mapped[str | None] = mapped_column(Text)
    subtotal: Mapped[int] = mapped_column(Money, default=0)
    discount_total: Mapped[int] = mapped_column(Money, default=0)
    shipping: Mapped[int] = mapped_column(Money, default=0)
    shipping_discount: Mapped[int] = mapped_column(Money, default=0)
    shipping_tax: Mapped[int] = mapped_column(Money, default=0)
    shipping_net_shop: Mapped[int] = mapped_column(Money, default=0)
    shipping_discount_net_shop: Mapped[int] = mapped_column(Money, default=0)
    shipping_recognized: Mapped[bool] = mapped_column(default=False)
    tax_total: Mapped[int] = mapped_column(Money, default=0)
    tax_difference_shop: Mapped[int] = mapped_column(Money, default=0)
    total: Mapped[int] = mapped_column(Money, default=0)
    total_shop: Mapped[int] = mapped_column(Money, default=0)
    posting_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    # The current invoice; no foreign key because invoices point at orders.
    invoice_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no"
    )


class OrderLine(Base):
    """One SKU on an order, with its share of discounts and its tax.

    ``list_amount`` is quantity x unit price rounded half-up, on the order's
    price basis (gross when prices include tax); ``list_net`` and
    ``discount_net`` are the same figures without tax, in the order currency.
    """

    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    line_no: Mapped[int]
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300), default="")
    external_id: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal]
    list_amount: Mapped[int] = mapped_column(Money)
    discount_amount: Mapped[int] = mapped_column(Money, default=0)
    tax_amount: Mapped[int] = mapped_column(Money, default=0)
    list_net: Mapped[int] = mapped_column(Money)
    discount_net: Mapped[int] = mapped_column(Money, default=0)
    list_net_shop: Mapped[int] = mapped_column(Money)
    discount_net_shop: Mapped[int] = mapped_column(Money, default=0)
    tax_shop: Mapped[int] = mapped_column(Money, default=0)
    revenue_recognized_shop: Mapped[int] = mapped_column(Money, default=0)
    discount_recognized_shop: Mapped[int] = mapped_column(Money, default=0)
    quantity_shipped: Mapped[int] = mapped_column(default=0)
    quantity_cancelled: Mapped[int] = mapped_column(default=0)
    shortfall: Mapped[int] = mapped_column(default=0)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    account_code: Mapped[str | None] = mapped_column(String(10))

    order: Mapped[SalesOrder] = relationship(back_populates="lines")

    @property
    def quantity_open(self) -> int:
        return self.quantity - self.quantity_shipped - self.quantity_cancelled


class TaxLine(Base):
    """Tax charged on one order line (or on shipping when no line is set)."""

    __tablename__ = "tax_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"))
    is_shipping: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(10))
    rate: Mapped[Decimal] = mapped_column(Rate)
    priority: Mapped[int] = mapped_column(default=1)
    compound: Mapped[bool] = mapped_column(default=False)
    taxable: Mapped[int] = mapped_column(Money)
    amount: Mapped[int] = mapped_column(Money)
    amount_shop: Mapped[int] = mapped_column(Money, default=0)
    source: Mapped[str] = mapped_column(String(10), default="rules")


class DiscountCode(Base):
    __tablename__ = "discount_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    code_key: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    currency: Mapped[str | None] = mapped_column(String(3))
    min_subtotal: Mapped[int] = mapped_column(Money, default=0)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    usage_limit: Mapped[int | None]
    per_customer_limit: Mapped[int | None]
    times_used: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class DiscountApplication(Base):
    """A discount applied to an order (a code, a channel's discount, manual)."""

    __tablename__ = "discount_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("discount_code.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    code: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    amount: Mapped[int] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(10), default="code")


class Invoice(Base):
    """An invoice or credit note; numbers come from gap-free series."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("series", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    series: Mapped[str] = mapped_column(String(40))
    number: Mapped[int]
    display_number: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(Money)
    tax_total: Mapped[int] = mapped_column(Money, default=0)
    credits_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))


class FulfillmentRequest(Base):
    __tablename__ = "fulfillment_request"
    # Routing counts the open requests per warehouse for every order.
    __table_args__ = (
        Index("ix_fulfillment_request_status_warehouse", "status", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Shipment(Base):
    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"))
    shipped_at: Mapped[datetime]
    carrier: Mapped[str | None] = mapped_column(String(60))
    service: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    weight_g: Mapped[int | None]
    label_cost: Mapped[int | None] = mapped_column(Money)
    cogs_shop: Mapped[int] = mapped_column(Money, default=0)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ShipmentLine(Base):
    __tablename__ = "shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int]
    cost: Mapped[int] = mapped_column(Money, default=0)
    stock_move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"))
