"""Returns: authorizations (RMA), inspections, refunds, dispositions, fraud signals.

Amounts named without ``_shop`` are minor units of the order's currency on the
order's price basis, like the order lines they come from. Amounts named
``*_shop`` are shop-currency minor units as posted. Quantities are whole units.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, Money, Rate, utcnow


class ReturnAuthorization(Base):
    """A return authorization (RMA) for shipped units of one order.

    While its status is ``authorized`` it is the expected receipt: the lines
    and quantities the shop waits for. ``reference`` (``RMA-000123``) is what
    the label and the packing slip carry and what the bench scans.
    ``is_cancellation`` marks refunds that exactly reverse the invoice within
    24 hours; such a return stays out of return figures and fraud signals.
    """

    __tablename__ = "return_authorization"
    __table_args__ = (Index("ix_return_authorization_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="authorized")
    source: Mapped[str] = mapped_column(String(10), default="shop")
    authorized_at: Mapped[datetime]
    window_days: Mapped[int]
    window_ends_at: Mapped[datetime]
    late_reason: Mapped[str | None] = mapped_column(Text)
    label_reference: Mapped[str | None] = mapped_column(String(100))
    expected_weight_g: Mapped[int | None]
    received_at: Mapped[datetime | None]
    parcel_weight_g: Mapped[int | None]
    inspected_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    refunded_before_inspection: Mapped[bool] = mapped_column(default=False)
    is_cancellation: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="rma", order_by="ReturnLine.line_no"
    )


class ReturnLine(Base):
    """One order line's units on an RMA and what happened to them.

    ``line_no`` is the order line's number. ``quantity_accepted`` counts the
    units inspected as the item sold (new, opened, damaged, unusable). Those
    units went into quarantine at ``cost_returned_shop`` and leave it through
    the restocked, disposed and supplier counts.
    """

    __tablename__ = "return_line"
    __table_args__ = (
        UniqueConstraint("rma_id", "order_line_id"),
        CheckConstraint(
            "quantity > 0 AND quantity_received >= 0 AND quantity_accepted >= 0 "
            "AND quantity_refunded >= 0",
            name="quantities_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(
        ForeignKey("return_authorization.id"), index=True
    )
    line_no: Mapped[int]
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    unit_weight_g: Mapped[int | None]
    quantity_received: Mapped[int] = mapped_column(default=0)
    quantity_accepted: Mapped[int] = mapped_column(default=0)
    quantity_refunded: Mapped[int] = mapped_column(default=0)
    quantity_restocked: Mapped[int] = mapped_column(default=0)
    quantity_disposed: Mapped[int] = mapped_column(default=0)
    quantity_to_supplier: Mapped[int] = mapped_column(default=0)
    cost_returned_shop: Mapped[int] = mapped_column(Money, default=0)
    note: Mapped[str | None] = mapped_column(Text)

    rma: Mapped[ReturnAuthorization] = relationship(back_populates="lines")

    @property
    def quantity_in_quarantine(self) -> int:
        return (
            self.quantity_accepted
            - self.quantity_restocked
            - self.quantity_disposed
            - self.quantity_to_supplier
        )


class ReturnInspection(Base):
    """Units of a return line graded in one condition, with their evidence."""

    __tablename__ = "return_inspection"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_line_id: Mapped[int] = mapped_column(
        ForeignKey("return_line.id"), index=True
    )
    condition: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int]
    serials: Mapped[list[str]] = mapped_column(JSON, default=list)
    scanned_sku: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    inspected_at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class ReturnRefund(Base):
    """Money given back for returned units, made here or on the channel.

    A ``waiting`` refund waits for the inspection and has posted nothing. An
    ``issued`` one is posted and owed in 2400 Refunds payable, a ``paid`` one
    has cleared 2400. A ``matched`` refund was waiting when the channel's own
    refund took its place, and a ``declined`` one found nothing to refund.
    ``goods`` and ``shipping`` are what was paid for the refunded lines and
    shipping, tax included, and ``total = goods + shipping - fee``.
    """

    __tablename__ = "return_refund"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        CheckConstraint("total >= 0 AND fee >= 0", name="amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[int] = mapped_column(
        ForeignKey("return_authorization.id"), index=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    source: Mapped[str] = mapped_column(String(10), default="shop")
    external_id: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    goods: Mapped[int] = mapped_column(Money, default=0)
    shipping: Mapped[int] = mapped_column(Money, default=0)
    tax: Mapped[int] = mapped_column(Money, default=0)
    fee: Mapped[int] = mapped_column(Money, default=0)
    total: Mapped[int] = mapped_column(Money, default=0)
    fee_shop: Mapped[int] = mapped_column(Money, default=0)
    total_shop: Mapped[int] = mapped_column(Money, default=0)
    shipping_net_shop: Mapped[int] = mapped_column(Money, default=0)
    shipping_discount_net_shop: Mapped[int] = mapped_column(Money, default=0)
    channel_amount: Mapped[int | None] = mapped_column(Money)
    #: Requested overrides kept while the refund waits: refund_shipping, fee.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    released_early: Mapped[bool] = mapped_column(default=False)
    release_reason: Mapped[str | None] = mapped_column(Text)
    before_inspection: Mapped[bool] = mapped_column(default=False)
    matched_refund_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_refund.id")
    )
    requested_at: Mapped[datetime]
    issued_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    paid_via: Mapped[str | None] = mapped_column(String(10))
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    payment_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    lines: Mapped[list[ReturnRefundLine]] = relationship(
        back_populates="refund", order_by="ReturnRefundLine.id"
    )
    taxes: Mapped[list[ReturnRefundTax]] = relationship(
        back_populates="refund", order_by="ReturnRefundTax.id"
    )


class ReturnRefundLine(Base):
    """An order line's refunded units: their share of its amounts.

    ``paid`` is what the customer paid for these units, tax included:
    ``list_amount - discount_amount``, plus ``tax_amount`` when the order's
    prices exclude tax.
    """

    __tablename__ = "return_refund_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("return_refund.id"), index=True)
    return_line_id: Mapped[int] = mapped_column(ForeignKey("return_line.id"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int]
    list_amount: Mapped[int] = mapped_column(Money)
    discount_amount: Mapped[int] = mapped_column(Money, default=0)
    tax_amount: Mapped[int] = mapped_column(Money, default=0)
    paid: Mapped[int] = mapped_column(Money)
    list_net_shop: Mapped[int] = mapped_column(Money)
    discount_net_shop: Mapped[int] = mapped_column(Money, default=0)
    tax_shop: Mapped[int] = mapped_column(Money, default=0)
    restocking_fee_applies: Mapped[bool] = mapped_column(default=True)

    refund: Mapped[ReturnRefund] = relationship(back_populates="lines")


class ReturnRefundTax(Base):
    """Tax reversed by a refund, per tax line of the order (shipping when no line)."""

    __tablename__ = "return_refund_tax"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("return_refund.id"), index=True)
    tax_line_id: Mapped[int] = mapped_column(ForeignKey("tax_line.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"))
    rate: Mapped[Decimal] = mapped_column(Rate)
    amount: Mapped[int] = mapped_column(Money)
    amount_shop: Mapped[int] = mapped_column(Money)

    refund: Mapped[ReturnRefund] = relationship(back_populates="taxes")


class ReturnDisposition(Base):
    """Units of a return line leaving quarantine: restock, dispose or supplier."""

    __tablename__ = "return_disposition"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_line_id: Mapped[int] = mapped_column(
        ForeignKey("return_line.id"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    value_shop: Mapped[int] = mapped_column(Money, default=0)
    stock_move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"))
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    supplier_reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class FraudSignal(Base):
    """A reason to look twice at a return or a customer, with the numbers behind it.

    ``evidence`` contains the figures that made the signal fire (amounts in
    minor units, weights in grams, ratios as decimal strings). ``score`` is
    the signal's size on its own scale, for sorting the review queue.
    """

    __tablename__ = "fraud_signal"
    __table_args__ = (
        Index("ix_fraud_signal_queue", "status", "created_at"),
        Index("ix_fraud_signal_kind", "kind", "rma_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    rma_id: Mapped[int | None] = mapped_column(ForeignKey("return_authorization.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    score: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    review_note: Mapped[str | None] = mapped_column(Text)


class ShippedSerial(Base):
    """A serial number scanned for an order line at packing.

    The packing station writes these rows; inspection compares the serials
    that come back against them.
    """

    __tablename__ = "shipped_serial"
    __table_args__ = (UniqueConstraint("order_line_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    serial: Mapped[str] = mapped_column(String(100), index=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
