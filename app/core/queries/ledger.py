"""Journal lists, entry drill-down to the source document, and periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.exceptions import NotFound
from app.core.models import (
    Account,
    Channel,
    JournalEntry,
    JournalLine,
    Period,
    SalesOrder,
    Shipment,
    StockMove,
    User,
    Variant,
)
from app.core.queries.common import like_pattern


@dataclass(frozen=True, slots=True)
class EntryRow:
    """A journal entry in a list; ``amount`` is its debit total (shop minor)."""

    id: int
    entry_date: date
    kind: str
    description: str
    amount: int
    reverses_id: int | None
    source_type: str | None
    source_id: int | None


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Entries shown; ``account`` is an account code, dates are inclusive."""

    account: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""


def entry_ids(session: Session, flt: JournalFilter) -> list[int]:
    """Return matching entry ids, newest first."""
    query = select(JournalEntry.id)
    if flt.account:
        query = query.where(
            JournalEntry.id.in_(
                select(JournalLine.entry_id)
                .join(Account, Account.id == JournalLine.account_id)
                .where(Account.code == flt.account)
            )
        )
    if flt.date_from is not None:
        query = query.where(JournalEntry.entry_date >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(JournalEntry.entry_date <= flt.date_to)
    if flt.text.strip():
        query = query.where(
            or_(
                JournalEntry.description.ilike(like_pattern(flt.text), escape="\\"),
                JournalEntry.kind.ilike(like_pattern(flt.text), escape="\\"),
            )
        )
    query = query.order_by(JournalEntry.entry_date.desc(), JournalEntry.id.desc())
    return list(session.scalars(query))


def entry_rows(session: Session, ids: Sequence[int]) -> list[EntryRow]:
    """Return rows for ``ids`` in the same order; unknown ids are skipped."""
    if not ids:
        return []
    totals = (
        select(JournalLine.entry_id, func.sum(JournalLine.debit).label("debit"))
        .where(JournalLine.entry_id.in_(ids))
        .group_by(JournalLine.entry_id)
        .subquery()
    )
    rows = session.execute(
        select(JournalEntry, totals.c.debit)
        .outerjoin(totals, totals.c.entry_id == JournalEntry.id)
        .where(JournalEntry.id.in_(ids))
    ).all()
    found = {
        e.id: EntryRow(
            e.id,
            e.entry_date,
            e.kind,
            e.description,
            int(debit or 0),
            e.reverses_id,
            e.source_type,
            e.source_id,
        )
        for e, debit in rows
    }
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True, slots=True)
class EntryLineView:
    """One line of an entry; ``tax_rate`` in percent."""

    account: str
    account_name: str
    debit: int
    credit: int
    channel: str | None
    tax_rate: Decimal | None
    memo: str | None


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The document an entry came from, resolved to what the window opens.

    ``kind`` is ``order``, ``stock_move`` or ``entry``; ``order_id`` and
    ``variant_id`` say which order or SKU page shows it.
    """

    kind: str
    id: int
    label: str
    order_id: int | None = None
    variant_id: int | None = None


@dataclass(frozen=True, slots=True)
class EntryDetail:
    row: EntryRow
    recorded_at: datetime
    user: str
    lines: list[EntryLineView]
    source: SourceRef | None
    reversed_by: int | None


def resolve_source(
    session: Session, source_type: str | None, source_id: int | None
) -> SourceRef | None:
    """Name the document behind ``(source_type, source_id)``."""
    if source_type is None or source_id is None:
        return None
    if source_type == "sales_order":
        order = session.get(SalesOrder, source_id)
        if order is not None:
            return SourceRef("order", order.id, f"Order {order.external_id}", order.id)
    elif source_type == "shipment":
        shipment = session.get(Shipment, source_id)
        if shipment is not None:
            order = session.get(SalesOrder, shipment.order_id)
            number = order.external_id if order else shipment.order_id
            return SourceRef(
                "order",
                shipment.id,
                f"Shipment {shipment.id} of order {number}",
                shipment.order_id,
            )
    elif source_type == "stock_move":
        move = session.get(StockMove, source_id)
        if move is not None:
            variant = session.get(Variant, move.variant_id)
            sku = variant.sku if variant else str(move.variant_id)
            return SourceRef(
                "stock_move",
                move.id,
                f"Stock move {move.id}: {move.quantity:+d} x {sku} ({move.reason})",
                variant_id=move.variant_id,
            )
    return SourceRef("entry", source_id, f"{source_type} {source_id}")


def entry_detail(session: Session, entry_id: int) -> EntryDetail:
    """Return one entry with its lines and the document that posted it."""
    entry = session.get(JournalEntry, entry_id)
    rows = entry_rows(session, [entry_id])
    if entry is None or not rows:
        raise NotFound(f"journal entry {entry_id} does not exist")
    lines = [
        EntryLineView(
            account.code,
            account.name,
            line.debit,
            line.credit,
            channel,
            line.tax_rate,
            line.memo,
        )
        for line, account, channel in session.execute(
            select(JournalLine, Account, Channel.name)
            .join(Account, Account.id == JournalLine.account_id)
            .outerjoin(Channel, Channel.id == JournalLine.channel_id)
            .where(JournalLine.entry_id == entry_id)
            .order_by(JournalLine.debit.desc(), Account.code, JournalLine.id)
        )
    ]
    user = session.get(User, entry.user_id) if entry.user_id else None
    reversed_by = session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)
    )
    return EntryDetail(
        row=rows[0],
        recorded_at=entry.recorded_at,
        user=user.name if user else "system",
        lines=lines,
        source=resolve_source(session, entry.source_type, entry.source_id),
        reversed_by=reversed_by,
    )


@dataclass(frozen=True, slots=True)
class PeriodView:
    """A month of the books; ``lines`` counts the journal lines dated in it."""

    year: int
    month: int
    status: str
    lines: int
    closed_at: datetime | None
    closed_by: str | None
    reopen_reason: str | None


def periods(session: Session, today: date) -> list[PeriodView]:
    """Return every month from the first entry to ``today``, newest first."""
    first = session.scalar(select(func.min(JournalEntry.entry_date)))
    start = (first or today).replace(day=1)
    stored = {
        (p.year, p.month): (p, name)
        for p, name in session.execute(
            select(Period, User.name).outerjoin(User, User.id == Period.closed_by)
        )
    }
    counts: dict[tuple[int, int], int] = {}
    for entry_date, count in session.execute(
        select(JournalEntry.entry_date, func.count(JournalLine.id))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalEntry.entry_date)
    ):
        key = (entry_date.year, entry_date.month)
        counts[key] = counts.get(key, 0) + int(count)
    months = set(stored) | set(counts)
    year, month = start.year, start.month
    while (year, month) <= (today.year, today.month):
        months.add((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    result = []
    for key in sorted(months, reverse=True):
        period, name = stored.get(key, (None, None))
        result.append(
            PeriodView(
                year=key[0],
                month=key[1],
                status=period.status if period else "open",
                lines=counts.get(key, 0),
                closed_at=period.closed_at
                if period and period.status == "closed"
                else None,
                closed_by=name if period and period.status == "closed" else None,
                reopen_reason=period.reopen_reason if period else None,
            )
        )
    return result
