"""Per-month account totals that keep the trial balance and P&L fast.

``add_entry`` runs inside ``ledger.post`` for every entry, in the posting
transaction, so the totals change exactly when the journal does.
``month_balances`` answers a report's question from the totals for whole
months and from the journal lines for the partial months at either end.
It returns None, so the caller adds up the journal itself, in two cases.
Either the totals cover fewer lines than the journal has (lines written by
a bulk import), or the report leaves out entry kinds other than the
year-end closing ones. ``rebuild_month_totals`` recomputes them from the
journal, for instance after a bulk import.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, cast, delete, extract, func, insert, or_, select
from sqlalchemy.orm import Session

from app.core.models import JournalEntry, JournalLine
from app.core.models.accounting import LedgerMonthTotal
from app.core.reports import CLOSING_KINDS
from app.core.uow import dialect_insert

log = logging.getLogger(__name__)

Totals = dict[int, tuple[int, int]]
_Key = tuple[int, int, int, int, bool]
_warned: set[str] = set()


def add_entry(session: Session, entry: JournalEntry) -> None:
    """Add a just-posted entry's lines to the month totals."""
    closing = entry.kind in CLOSING_KINDS
    day = entry.entry_date
    sums: dict[_Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in entry.lines:
        key = (line.account_id, line.channel_id or 0, day.year, day.month, closing)
        slot = sums[key]
        slot[0] += line.debit
        slot[1] += line.credit
        slot[2] += 1
    rows = [
        {
            "account_id": account_id,
            "channel_key": channel_key,
            "year": year,
            "month": month,
            "closing": is_closing,
            "debit": debit,
            "credit": credit,
            "line_count": count,
        }
        for (account_id, channel_key, year, month, is_closing), (
            debit,
            credit,
            count,
        ) in sums.items()
    ]
    if rows:
        _upsert(session, rows)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add the rows' amounts to existing totals, inserting the missing ones.

    SQLite and PostgreSQL do it in one INSERT ... ON CONFLICT statement, so
    two machines posting at once cannot both insert the same month's row.
    """
    dialect = session.get_bind().dialect.name
    keys = ["account_id", "channel_key", "year", "month", "closing"]
    if dialect in ("sqlite", "postgresql"):
        statement = dialect_insert(session, LedgerMonthTotal)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={
                "debit": LedgerMonthTotal.debit + statement.excluded.debit,
                "credit": LedgerMonthTotal.credit + statement.excluded.credit,
                "line_count": LedgerMonthTotal.line_count
                + statement.excluded.line_count,
            },
        )
        session.execute(statement, rows)
        return
    for row in rows:
        found = session.scalar(
            select(LedgerMonthTotal).where(
                *(getattr(LedgerMonthTotal, k) == row[k] for k in keys)
            )
        )
        if found is None:
            session.add(LedgerMonthTotal(**row))
        else:
            found.debit += row["debit"]
            found.credit += row["credit"]
            found.line_count += row["line_count"]
    session.flush()


def complete(session: Session) -> bool:
    """Return True when the totals cover every journal line."""
    lines = session.scalar(select(func.count(JournalLine.id))) or 0
    covered = session.scalar(
        select(func.coalesce(func.sum(LedgerMonthTotal.line_count), 0))
    )
    if int(covered or 0) == int(lines):
        return True
    if "short" not in _warned:
        _warned.add("short")
        log.warning(
            "month totals cover %s of %s journal lines; reports add up the journal "
            "instead until the totals are rebuilt",
            covered,
            lines,
        )
    return False


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _line_sums(
    session: Session,
    start: date | None,
    end: date | None,
    channel_id: int | None,
    exclude_kinds: Collection[str],
) -> Totals:
    query = (
        select(
            JournalLine.account_id,
            func.coalesce(func.sum(JournalLine.debit), 0),
            func.coalesce(func.sum(JournalLine.credit), 0),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .group_by(JournalLine.account_id)
    )
    if start is not None:
        query = query.where(JournalEntry.entry_date >= start)
    if end is not None:
        query = query.where(JournalEntry.entry_date <= end)
    if channel_id is not None:
        query = query.where(JournalLine.channel_id == channel_id)
    if exclude_kinds:
        query = query.where(JournalEntry.kind.not_in(exclude_kinds))
    return {a: (int(d), int(c)) for a, d, c in session.execute(query)}


def _summary_sums(
    session: Session,
    first: int | None,
    last: int | None,
    channel_id: int | None,
    leave_out_closing: bool,
) -> Totals:
    index = LedgerMonthTotal.year * 12 + LedgerMonthTotal.month - 1
    query = select(
        LedgerMonthTotal.account_id,
        func.coalesce(func.sum(LedgerMonthTotal.debit), 0),
        func.coalesce(func.sum(LedgerMonthTotal.credit), 0),
    ).group_by(LedgerMonthTotal.account_id)
    if first is not None:
        query = query.where(index >= first)
    if last is not None:
        query = query.where(index <= last)
    if channel_id is not None:
        query = query.where(LedgerMonthTotal.channel_key == channel_id)
    if leave_out_closing:
        query = query.where(LedgerMonthTotal.closing.is_(False))
    return {a: (int(d), int(c)) for a, d, c in session.execute(query)}


def _add(into: Totals, more: Totals) -> None:
    for account_id, (debit, credit) in more.items():
        old_debit, old_credit = into.get(account_id, (0, 0))
        into[account_id] = (old_debit + debit, old_credit + credit)


def month_balances(
    session: Session,
    *,
    date_from: date | None,
    date_to: date | None,
    channel_id: int | None,
    exclude_kinds: Collection[str],
) -> Totals | None:
    """Return account id -> (debit total, credit total) in the dates, or None.

    Whole months come from the totals; the days before the first whole
    month and after the last one come from the journal lines. Returns None
    when the totals do not fit the request (see the module docstring).
    """
    if exclude_kinds and set(exclude_kinds) != set(CLOSING_KINDS):
        return None
    if date_from is not None and date_to is not None and date_from > date_to:
        return {}
    if not complete(session):
        return None
    leave_out = bool(exclude_kinds)

    first_whole = None
    head: tuple[date, date] | None = None
    if date_from is not None:
        first_whole = _month_index(date_from) + (0 if date_from.day == 1 else 1)
        if date_from.day != 1:
            month_end = _next_month(date_from) - timedelta(days=1)
            head = (date_from, min(month_end, date_to) if date_to else month_end)
    last_whole = None
    tail: tuple[date, date] | None = None
    if date_to is not None:
        ends_month = (date_to + timedelta(days=1)).day == 1
        last_whole = _month_index(date_to) - (0 if ends_month else 1)
        if not ends_month:
            month_start = date_to.replace(day=1)
            tail = (max(month_start, date_from) if date_from else month_start, date_to)
    if head is not None and tail is not None and head[0] >= tail[0]:
        tail = None

    totals: Totals = {}
    if first_whole is None or last_whole is None or first_whole <= last_whole:
        _add(
            totals,
            _summary_sums(session, first_whole, last_whole, channel_id, leave_out),
        )
    for start, end in (part for part in (head, tail) if part is not None):
        _add(totals, _line_sums(session, start, end, channel_id, exclude_kinds))
    return totals


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def rebuild_month_totals(session: Session) -> int:
    """Recompute every month total from the journal; return the rows written."""
    session.execute(delete(LedgerMonthTotal))
    closing = or_(*(JournalEntry.kind == kind for kind in CLOSING_KINDS))
    year = cast(extract("year", JournalEntry.entry_date), Integer)
    month = cast(extract("month", JournalEntry.entry_date), Integer)
    channel_key = func.coalesce(JournalLine.channel_id, 0)
    grouped = (
        select(
            JournalLine.account_id,
            channel_key,
            year,
            month,
            closing,
            func.sum(JournalLine.debit),
            func.sum(JournalLine.credit),
            func.count(JournalLine.id),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .group_by(JournalLine.account_id, channel_key, year, month, closing)
    )
    result = session.execute(
        insert(LedgerMonthTotal).from_select(
            [
                "account_id",
                "channel_key",
                "year",
                "month",
                "closing",
                "debit",
                "credit",
                "line_count",
            ],
            grouped,
        )
    )
    _warned.discard("short")
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    log.info("month totals rebuilt: %d rows", count)
    return count
