"""The morning view: sales today and this month, exceptions, low stock, sync."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.models import Channel, OutboxItem, SalesOrder
from app.core.queries.products import VariantRow, variant_ids, variant_rows
from app.core.shop import (
    get_shop,
    local_date,
    local_day_end,
    local_day_start,
    shop_zone,
)

#: Outbox states the sync worker gives up on until a person looks.
PARKED_STATES = ("parked", "failed", "dead")


@dataclass(frozen=True, slots=True)
class SalesFigure:
    """Order count and order value (shop minor units) over some days."""

    orders: int
    revenue: int


@dataclass(frozen=True, slots=True)
class DailyRevenue:
    day: date
    revenue: int
    orders: int


@dataclass(frozen=True, slots=True)
class ExceptionItem:
    """Something a person has to look at.

    ``kind`` is ``oversold``, ``held``, ``failing`` or ``parked``; the order
    or channel it concerns is named in ``title`` and its id is kept for
    opening it.
    """

    kind: str
    title: str
    detail: str
    order_id: int | None = None
    channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChannelSync:
    """Pushes waiting for one connected channel.

    ``waiting`` counts what the sync worker will send after coalescing: one
    stock figure per SKU plus every other message.
    """

    channel_id: int
    name: str
    kind: str
    waiting: int
    failing: int
    parked: int
    last_sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    currency: str
    today: date
    today_sales: SalesFigure
    month_sales: SalesFigure
    daily: list[DailyRevenue]
    exceptions: list[ExceptionItem]
    low_stock: list[VariantRow]
    low_stock_total: int
    sync: list[ChannelSync]


def _orders_since(session: Session, start: datetime) -> list[tuple[datetime, int]]:
    rows = session.execute(
        select(SalesOrder.placed_at, SalesOrder.total_shop).where(
            SalesOrder.placed_at >= start, SalesOrder.status != "cancelled"
        )
    )
    return [(placed, int(total)) for placed, total in rows]


def _exceptions(session: Session, limit: int) -> list[ExceptionItem]:
    found: list[ExceptionItem] = []
    orders = session.execute(
        select(SalesOrder, Channel.name)
        .join(Channel, Channel.id == SalesOrder.channel_id)
        .where(
            or_(SalesOrder.status == "held", SalesOrder.oversold.is_(True)),
            SalesOrder.status.not_in(("cancelled", "shipped")),
        )
        .order_by(SalesOrder.placed_at.desc())
        .limit(limit)
    ).all()
    for order, channel in orders:
        if order.status == "held":
            found.append(
                ExceptionItem(
                    "held",
                    f"Order {order.external_id} ({channel}) is held",
                    order.hold_reason or "released orders ship as usual",
                    order_id=order.id,
                )
            )
        else:
            short = sum(line.shortfall for line in order.lines)
            found.append(
                ExceptionItem(
                    "oversold",
                    f"Order {order.external_id} ({channel}) is oversold",
                    f"{short} unit(s) short; receive stock or cancel the shortfall",
                    order_id=order.id,
                )
            )
    problems = session.execute(
        select(OutboxItem, Channel.name)
        .join(Channel, Channel.id == OutboxItem.channel_id)
        .where(
            or_(
                OutboxItem.status.in_(PARKED_STATES),
                (OutboxItem.status == "pending") & OutboxItem.last_error.is_not(None),
            )
        )
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    ).all()
    for item, channel in problems:
        parked = item.status in PARKED_STATES
        what = f"{item.kind} {item.sku}" if item.sku else item.kind
        found.append(
            ExceptionItem(
                "parked" if parked else "failing",
                f"{channel}: {what} {'parked' if parked else 'failing'} after "
                f"{item.attempts} attempt(s)",
                item.last_error or "no error recorded",
                channel_id=item.channel_id,
            )
        )
    return found


def sync_status(session: Session) -> list[ChannelSync]:
    """Return the queue of every connected channel."""
    result = []
    channels = session.scalars(
        select(Channel).where(Channel.connected.is_(True)).order_by(Channel.id)
    ).all()
    for channel in channels:
        mine = OutboxItem.channel_id == channel.id
        pending = OutboxItem.status == "pending"
        skus = session.scalar(
            select(func.count(func.distinct(OutboxItem.variant_id))).where(
                mine, pending, OutboxItem.kind == "stock"
            )
        )
        messages = session.scalar(
            select(func.count(OutboxItem.id)).where(
                mine, pending, OutboxItem.kind != "stock"
            )
        )
        failing = session.scalar(
            select(func.count(OutboxItem.id)).where(
                mine, pending, OutboxItem.last_error.is_not(None)
            )
        )
        parked = session.scalar(
            select(func.count(OutboxItem.id)).where(
                mine, OutboxItem.status.in_(PARKED_STATES)
            )
        )
        last_sent = session.scalar(select(func.max(OutboxItem.sent_at)).where(mine))
        result.append(
            ChannelSync(
                channel_id=channel.id,
                name=channel.name,
                kind=channel.kind,
                waiting=int(skus or 0) + int(messages or 0),
                failing=int(failing or 0),
                parked=int(parked or 0),
                last_sent_at=last_sent,
            )
        )
    return result


def dashboard(
    session: Session,
    *,
    today: date | None = None,
    days: int = 30,
    limit: int = 50,
) -> Dashboard:
    """Return the dashboard figures; ``today`` is a shop-local date."""
    zone = shop_zone(session)
    today = today or local_date(datetime.now(UTC), zone)
    first_day = min(today.replace(day=1), today - timedelta(days=days - 1))
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    end = local_day_end(today, zone)
    for placed, total in _orders_since(session, local_day_start(first_day, zone)):
        if placed >= end:
            continue
        slot = per_day[local_date(placed, zone)]
        slot[0] += 1
        slot[1] += total
    daily = [
        DailyRevenue(day, per_day[day][1], per_day[day][0])
        for day in (today - timedelta(days=n) for n in range(days - 1, -1, -1))
    ]
    month = [v for d, v in per_day.items() if d >= today.replace(day=1)]
    low_ids = variant_ids(session, low_only=True)
    low = variant_rows(session, low_ids)
    low.sort(key=lambda r: (r.available - (r.reorder_point or 0), r.sku))
    low = low[:limit]
    return Dashboard(
        currency=get_shop(session).currency,
        today=today,
        today_sales=SalesFigure(per_day[today][0], per_day[today][1]),
        month_sales=SalesFigure(sum(v[0] for v in month), sum(v[1] for v in month)),
        daily=daily,
        exceptions=_exceptions(session, limit),
        low_stock=low,
        low_stock_total=len(low_ids),
        sync=sync_status(session),
    )
