"""Customers with their order counts and lifetime value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Subquery, func, or_, select
from sqlalchemy.orm import Session

from app.core.exceptions import NotFound
from app.core.models import Channel, Customer, SalesOrder
from app.core.queries.common import like_pattern
from app.core.queries.orders import OrderFilter, OrderRow, order_ids, order_rows


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer; ``lifetime_value`` is the shop-currency total of orders
    that were not cancelled, in minor units."""

    id: int
    name: str
    email: str | None
    country: str | None
    channel: str | None
    orders: int
    lifetime_value: int
    last_order_at: datetime | None


def _totals(ids: Sequence[int] | None = None) -> Subquery:
    query = (
        select(
            SalesOrder.customer_id.label("customer_id"),
            func.count(SalesOrder.id).label("orders"),
            func.sum(SalesOrder.total_shop).label("value"),
            func.max(SalesOrder.placed_at).label("last"),
        )
        .where(SalesOrder.status != "cancelled", SalesOrder.customer_id.is_not(None))
        .group_by(SalesOrder.customer_id)
    )
    if ids is not None:
        query = query.where(SalesOrder.customer_id.in_(ids))
    return query.subquery()


def customer_ids(session: Session, text: str = "") -> list[int]:
    """Return matching customer ids, highest lifetime value first."""
    totals = _totals()
    query = select(Customer.id).outerjoin(totals, totals.c.customer_id == Customer.id)
    if text.strip():
        pattern = like_pattern(text)
        query = query.where(
            or_(
                Customer.name.ilike(pattern, escape="\\"),
                Customer.email.ilike(pattern, escape="\\"),
                Customer.company.ilike(pattern, escape="\\"),
            )
        )
    query = query.order_by(
        func.coalesce(totals.c.value, 0).desc(),
        Customer.name,
        Customer.id,
    )
    return list(session.scalars(query))


def customer_rows(session: Session, ids: Sequence[int]) -> list[CustomerRow]:
    """Return rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    totals = _totals(ids)
    rows = session.execute(
        select(
            Customer,
            Channel.name,
            totals.c.orders,
            totals.c.value,
            totals.c.last,
        )
        .outerjoin(Channel, Channel.id == Customer.channel_id)
        .outerjoin(totals, totals.c.customer_id == Customer.id)
        .where(Customer.id.in_(ids))
    ).all()
    found = {
        c.id: CustomerRow(
            id=c.id,
            name=c.name or c.email or f"Customer {c.id}",
            email=c.email,
            country=c.country,
            channel=channel,
            orders=int(orders or 0),
            lifetime_value=int(value or 0),
            last_order_at=last,
        )
        for c, channel, orders, value, last in rows
    }
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True, slots=True)
class CustomerDetail:
    row: CustomerRow
    phone: str | None
    company: str | None
    tax_number: str | None
    orders: list[OrderRow]


def customer_detail(session: Session, customer_id: int) -> CustomerDetail:
    """Return one customer with every order, newest first."""
    customer = session.get(Customer, customer_id)
    rows = customer_rows(session, [customer_id])
    if customer is None or not rows:
        raise NotFound(f"customer {customer_id} does not exist; refresh the list")
    ids = order_ids(session, OrderFilter(customer_id=customer_id))
    return CustomerDetail(
        row=rows[0],
        phone=customer.phone,
        company=customer.company,
        tax_number=customer.tax_number,
        orders=order_rows(session, ids),
    )
