"""Order lists, one order's full story, and the audit timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.exceptions import NotFound
from app.core.models import (
    AuditEvent,
    Channel,
    Customer,
    DiscountApplication,
    JournalEntry,
    JournalLine,
    OrderLine,
    SalesOrder,
    Shipment,
    ShipmentLine,
    TaxLine,
    User,
    Warehouse,
)
from app.core.queries.common import like_pattern
from app.core.shop import local_day_end, local_day_start, shop_zone

STATUSES = ("open", "held", "partially_shipped", "shipped", "cancelled")


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What the order list shows; dates are shop-local and inclusive."""

    text: str = ""
    channel_id: int | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    customer_id: int | None = None
    oversold_only: bool = False


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One line of the order list; ``total`` in order currency minor units."""

    id: int
    number: str
    placed_at: datetime
    channel: str
    customer: str
    status: str
    oversold: bool
    hold_reason: str | None
    items: int
    total: int
    currency: str
    total_shop: int


def order_ids(session: Session, flt: OrderFilter) -> list[int]:
    """Return the ids of matching orders, newest first."""
    query = select(SalesOrder.id).outerjoin(
        Customer, Customer.id == SalesOrder.customer_id
    )
    if flt.text.strip():
        pattern = like_pattern(flt.text)
        query = query.where(
            or_(
                SalesOrder.external_id.ilike(pattern, escape="\\"),
                SalesOrder.ship_name.ilike(pattern, escape="\\"),
                SalesOrder.email.ilike(pattern, escape="\\"),
                Customer.name.ilike(pattern, escape="\\"),
                Customer.email.ilike(pattern, escape="\\"),
                Customer.external_id.ilike(pattern, escape="\\"),
            )
        )
    if flt.channel_id is not None:
        query = query.where(SalesOrder.channel_id == flt.channel_id)
    if flt.status:
        query = query.where(SalesOrder.status == flt.status)
    if flt.customer_id is not None:
        query = query.where(SalesOrder.customer_id == flt.customer_id)
    if flt.oversold_only:
        query = query.where(SalesOrder.oversold.is_(True))
    zone = shop_zone(session)
    if flt.date_from is not None:
        query = query.where(
            SalesOrder.placed_at >= local_day_start(flt.date_from, zone)
        )
    if flt.date_to is not None:
        query = query.where(SalesOrder.placed_at < local_day_end(flt.date_to, zone))
    query = query.order_by(SalesOrder.placed_at.desc(), SalesOrder.id.desc())
    return list(session.scalars(query))


def order_rows(session: Session, ids: Sequence[int]) -> list[OrderRow]:
    """Return list rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    items = (
        select(OrderLine.order_id, func.sum(OrderLine.quantity).label("units"))
        .where(OrderLine.order_id.in_(ids))
        .group_by(OrderLine.order_id)
        .subquery()
    )
    rows = session.execute(
        select(
            SalesOrder, Channel.name, Customer.name, Customer.external_id, items.c.units
        )
        .join(Channel, Channel.id == SalesOrder.channel_id)
        .outerjoin(Customer, Customer.id == SalesOrder.customer_id)
        .outerjoin(items, items.c.order_id == SalesOrder.id)
        .where(SalesOrder.id.in_(ids))
    ).all()
    found: dict[int, OrderRow] = {}
    for order, channel, customer, customer_ref, count in rows:
        # Imported history names customers only by the channel's customer id.
        reference = f"Customer {customer_ref}" if customer_ref else ""
        found[order.id] = OrderRow(
            id=order.id,
            number=order.external_id,
            placed_at=order.placed_at,
            channel=channel,
            customer=customer or order.ship_name or order.email or reference,
            status=order.status,
            oversold=order.oversold,
            hold_reason=order.hold_reason,
            items=int(count or 0),
            total=order.total,
            currency=order.currency,
            total_shop=order.total_shop,
        )
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True, slots=True)
class LineView:
    """An order line; amounts in order currency minor units."""

    line_no: int
    sku: str
    description: str
    quantity: int
    shipped: int
    cancelled: int
    shortfall: int
    unit_price: Decimal
    list_amount: int
    discount_amount: int
    tax_amount: int

    @property
    def open(self) -> int:
        return self.quantity - self.shipped - self.cancelled


@dataclass(frozen=True, slots=True)
class DiscountView:
    code: str
    kind: str
    value: Decimal
    amount: int
    source: str


@dataclass(frozen=True, slots=True)
class TaxView:
    """A tax line; ``rate`` in percent, amounts in order currency."""

    line_no: int | None
    name: str
    rate: Decimal
    taxable: int
    amount: int


@dataclass(frozen=True, slots=True)
class ShipmentView:
    id: int
    shipped_at: datetime
    warehouse: str
    carrier: str | None
    tracking_number: str | None
    units: int
    cogs_shop: int
    journal_entry_id: int | None


@dataclass(frozen=True, slots=True)
class EntryView:
    """A journal entry tied to a record; ``amount`` is its debit total."""

    id: int
    entry_date: date
    kind: str
    description: str
    amount: int
    reverses_id: int | None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    user: str
    action: str
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """Everything the order panel shows about one order."""

    row: OrderRow
    email: str | None
    ship_to: list[str]
    warehouse: str | None
    routing_note: str | None
    payment_terms: str
    prices_include_tax: bool
    subtotal: int
    discount_total: int
    shipping: int
    tax_total: int
    lines: list[LineView]
    discounts: list[DiscountView]
    taxes: list[TaxView]
    shipments: list[ShipmentView]
    entries: list[EntryView]
    timeline: list[TimelineEvent]

    @property
    def can_ship(self) -> bool:
        if self.row.status in ("cancelled", "held", "shipped"):
            return False
        return any(line.open - line.shortfall > 0 for line in self.lines)

    @property
    def can_cancel(self) -> bool:
        return self.row.status != "cancelled" and any(
            line.open > 0 for line in self.lines
        )


def _address(order: SalesOrder) -> list[str]:
    parts = [
        order.ship_name,
        order.ship_company or "",
        order.ship_line1,
        order.ship_line2 or "",
        " ".join(p for p in (order.ship_city, order.ship_postcode or "") if p),
        order.ship_country or "",
    ]
    return [p for p in parts if p]


def entries_for(
    session: Session, sources: Sequence[tuple[str, int]]
) -> list[EntryView]:
    """Return the journal entries posted by the given source documents."""
    if not sources:
        return []
    conditions = [
        (JournalEntry.source_type == kind) & (JournalEntry.source_id == ident)
        for kind, ident in sources
    ]
    totals = (
        select(JournalLine.entry_id, func.sum(JournalLine.debit).label("debit"))
        .group_by(JournalLine.entry_id)
        .subquery()
    )
    rows = session.execute(
        select(JournalEntry, totals.c.debit)
        .join(totals, totals.c.entry_id == JournalEntry.id)
        .where(or_(*conditions))
        .order_by(JournalEntry.entry_date, JournalEntry.id)
    ).all()
    return [
        EntryView(
            id=entry.id,
            entry_date=entry.entry_date,
            kind=entry.kind,
            description=entry.description,
            amount=int(debit or 0),
            reverses_id=entry.reverses_id,
        )
        for entry, debit in rows
    ]


def timeline(session: Session, entity: str, entity_id: int) -> list[TimelineEvent]:
    """Return the audit trail of one record, oldest first."""
    rows = session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    return [
        TimelineEvent(
            at=event.at,
            user=name or "system",
            action=event.action,
            reason=event.reason,
            detail=dict(event.detail or {}),
        )
        for event, name in rows
    ]


def _shipments(session: Session, order_id: int) -> list[ShipmentView]:
    units = (
        select(ShipmentLine.shipment_id, func.sum(ShipmentLine.quantity).label("units"))
        .group_by(ShipmentLine.shipment_id)
        .subquery()
    )
    rows = session.execute(
        select(Shipment, Warehouse.code, units.c.units)
        .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .outerjoin(units, units.c.shipment_id == Shipment.id)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.shipped_at, Shipment.id)
    ).all()
    return [
        ShipmentView(
            id=s.id,
            shipped_at=s.shipped_at,
            warehouse=code,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            units=int(count or 0),
            cogs_shop=s.cogs_shop,
            journal_entry_id=s.journal_entry_id,
        )
        for s, code, count in rows
    ]


def order_detail(session: Session, order_id: int) -> OrderDetail:
    """Return one order with lines, discounts, tax, shipments, entries, audit."""
    order = session.get(SalesOrder, order_id)
    rows = order_rows(session, [order_id])
    if order is None or not rows:
        raise NotFound(f"order {order_id} does not exist; refresh the order list")
    line_numbers = {line.id: line.line_no for line in order.lines}
    lines = [
        LineView(
            line_no=line.line_no,
            sku=line.sku,
            description=line.description,
            quantity=line.quantity,
            shipped=line.quantity_shipped,
            cancelled=line.quantity_cancelled,
            shortfall=line.shortfall,
            unit_price=line.unit_price,
            list_amount=line.list_amount,
            discount_amount=line.discount_amount,
            tax_amount=line.tax_amount,
        )
        for line in order.lines
    ]
    discounts = [
        DiscountView(d.code, d.kind, d.value, d.amount, d.source)
        for d in session.scalars(
            select(DiscountApplication)
            .where(DiscountApplication.order_id == order_id)
            .order_by(DiscountApplication.id)
        )
    ]
    taxes = [
        TaxView(
            line_no=line_numbers.get(t.order_line_id) if t.order_line_id else None,
            name=t.name,
            rate=t.rate,
            taxable=t.taxable,
            amount=t.amount,
        )
        for t in session.scalars(
            select(TaxLine).where(TaxLine.order_id == order_id).order_by(TaxLine.id)
        )
    ]
    shipments = _shipments(session, order_id)
    sources = [("sales_order", order_id)] + [("shipment", s.id) for s in shipments]
    warehouse = (
        session.get(Warehouse, order.warehouse_id) if order.warehouse_id else None
    )
    return OrderDetail(
        row=rows[0],
        email=order.email,
        ship_to=_address(order),
        warehouse=warehouse.code if warehouse else None,
        routing_note=order.routing_note,
        payment_terms=order.payment_terms,
        prices_include_tax=order.prices_include_tax,
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        shipping=order.shipping,
        tax_total=order.tax_total,
        lines=lines,
        discounts=discounts,
        taxes=taxes,
        shipments=shipments,
        entries=entries_for(session, sources),
        timeline=timeline(session, "sales_order", order_id),
    )
