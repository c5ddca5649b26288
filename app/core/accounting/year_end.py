"""Year-end close: move the year's result to 3200 Retained earnings.

One closing entry, dated the last day of the fiscal year, debits every
income account and credits every expense account by its balance for the
year, per channel. The difference, the year's profit or loss, goes to 3200
Retained earnings, also per channel. Reports keep showing the year's
income statement afterwards, because profit and loss leaves closing entries
out (``app.core.reports.CLOSING_KINDS``). The trial balance and the balance
sheet include them.

Closing a year also locks every month of it that is still open, after the
same checklist as a month-end close, and opens the next fiscal year.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core import ledger
from app.core.accounting.checklist import Checklist
from app.core.accounting.close import lock_month, run_checklist
from app.core.accounting.periods import (
    Month,
    fiscal_year_range,
    local_noon,
    months_between,
)
from app.core.audit import record
from app.core.exceptions import InvalidTransition, ValidationError
from app.core.ledger import Posting
from app.core.models import Account, Channel, JournalEntry, JournalLine, Period
from app.core.models.accounting import FiscalYear
from app.core.reports import CLOSING_KINDS, YEAR_END_CLOSE, YEAR_END_REOPEN
from app.core.shop import get_shop, local_date, shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

RETAINED_EARNINGS = "3200"


@dataclass(frozen=True, slots=True)
class ClosingLine:
    """One line of the closing entry, in shop minor units."""

    account: str
    name: str
    channel: str | None
    debit: int
    credit: int


@dataclass(frozen=True, slots=True)
class YearEndOutcome:
    """The result of a year-end close.

    ``closed`` is False when blocking checklist items of a still-open month
    stopped it (``checklists`` holds each open month's checklist).
    ``result`` is the year's profit (negative for a loss) in shop minor units.
    """

    name: int
    start: date
    end: date
    closed: bool
    forced: bool
    result: int
    entry_id: int | None
    lines: tuple[ClosingLine, ...]
    months_locked: tuple[str, ...]
    checklists: tuple[Checklist, ...] = field(default=())


def get_fiscal_year(session: Session, name: int) -> FiscalYear:
    """Return the fiscal year row, creating it (open) from the shop's start month."""
    year = session.scalar(select(FiscalYear).where(FiscalYear.name == name))
    if year is None:
        start, end = fiscal_year_range(name, get_shop(session).fiscal_year_start_month)
        year = FiscalYear(name=name, start_date=start, end_date=end, status="open")
        session.add(year)
        session.flush()
    return year


def _month_status(session: Session, month: Month) -> str:
    status = session.scalar(
        select(Period.status).where(
            Period.year == month.year, Period.month == month.month
        )
    )
    return status or "open"


def closing_lines(session: Session, start: date, end: date) -> list[ClosingLine]:
    """Return the closing entry's lines for income and expense in the dates."""
    rows = session.execute(
        select(
            Account.code,
            Account.name,
            JournalLine.channel_id,
            func.sum(JournalLine.debit - JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(
            Account.type.in_(("income", "expense")),
            JournalEntry.entry_date >= start,
            JournalEntry.entry_date <= end,
            JournalEntry.kind.not_in(CLOSING_KINDS),
        )
        .group_by(Account.code, Account.name, JournalLine.channel_id)
        .order_by(Account.code, JournalLine.channel_id)
    ).all()
    channels = dict(session.execute(select(Channel.id, Channel.name)).all())
    retained = session.scalar(
        select(Account.name).where(Account.code == RETAINED_EARNINGS)
    )
    if retained is None:
        raise ValidationError(
            "account",
            RETAINED_EARNINGS,
            "account 3200 Retained earnings is missing from the chart; add it in "
            "Settings > Accounts",
        )
    lines: list[ClosingLine] = []
    to_equity: dict[int | None, int] = defaultdict(int)
    for code, name, channel_id, net in rows:
        net = int(net or 0)
        if net == 0:
            continue
        channel = channels.get(channel_id) if channel_id is not None else None
        lines.append(ClosingLine(code, name, channel, max(-net, 0), max(net, 0)))
        to_equity[channel_id] += net
    for channel_id, net in sorted(
        to_equity.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)
    ):
        if net == 0:
            continue
        channel = channels.get(channel_id) if channel_id is not None else None
        lines.append(
            ClosingLine(RETAINED_EARNINGS, retained, channel, max(net, 0), max(-net, 0))
        )
    return lines


def _post_in_last_month(
    uow: UnitOfWork,
    end: date,
    reason: str,
    post: Callable[[], int | None],
) -> int | None:
    """Post dated ``end``, reopening and relocking its month if it is closed."""
    month = Month.of(end)
    was_closed = _month_status(uow.session, month) == "closed"
    if was_closed:
        ledger.reopen_period(uow, month.year, month.month, reason)
    entry_id = post()
    if was_closed:
        ledger.close_period(uow, month.year, month.month)
    return entry_id


class _Poster:
    """A deferred ledger posting, so the caller can wrap it in a reopen."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        at: datetime,
        kind: str,
        description: str,
        postings: list[Posting],
        source: tuple[str, int],
        reverses_id: int | None = None,
    ) -> None:
        self.uow = uow
        self.args = (at, kind, description, postings, source, reverses_id)

    def __call__(self) -> int | None:
        at, kind, description, postings, source, reverses_id = self.args
        entry = ledger.post(
            self.uow,
            occurred_at=at,
            kind=kind,
            description=description,
            postings=postings,
            source=source,
            reverses_id=reverses_id,
        )
        return entry.id if entry is not None else None


def close_year(
    uow: UnitOfWork,
    name: int,
    *,
    force_reason: str | None = None,
    now: datetime | None = None,
) -> YearEndOutcome:
    """Close fiscal year ``name`` (the calendar year it ends in).

    Runs the checklist of every month of the year that is still open. With
    blocking items and no ``force_reason`` nothing is posted or locked, and
    the outcome lists them; commit anyway, to keep the checklist runs.
    Otherwise posts the closing entry, locks the open months, marks the year
    closed and opens the next one. Raises ValidationError for a year that
    has not ended and InvalidTransition for one already closed.
    """
    now = now or datetime.now(UTC)
    reason = force_reason.strip() if force_reason else None
    session = uow.session
    year = get_fiscal_year(session, name)
    if year.status == "closed":
        raise InvalidTransition(f"fiscal year {name} is already closed")
    start, end = year.start_date, year.end_date
    if end >= local_date(now, shop_zone(session)):
        raise ValidationError(
            "year",
            name,
            f"fiscal year {name} ends on {end}; close it from the day after",
        )
    open_months = [
        m for m in months_between(start, end) if _month_status(session, m) != "closed"
    ]
    checklists = tuple(run_checklist(uow, m, now=now) for m in open_months)
    blocked = any(c.blocking for c in checklists)
    lines = closing_lines(session, start, end)
    result = sum(
        line.credit - line.debit for line in lines if line.account == RETAINED_EARNINGS
    )
    if blocked and reason is None:
        return YearEndOutcome(
            name, start, end, False, False, result, None, tuple(lines), (), checklists
        )
    channel_ids = dict(session.execute(select(Channel.name, Channel.id)).all())
    postings = [
        Posting(
            line.account,
            debit=line.debit,
            credit=line.credit,
            channel_id=channel_ids.get(line.channel) if line.channel else None,
            memo=f"year-end close of fiscal year {name}",
        )
        for line in lines
    ]
    poster = _Poster(
        uow,
        at=local_noon(end, shop_zone(session)),
        kind=YEAR_END_CLOSE,
        description=f"Year-end close of fiscal year {name} ({start} to {end})",
        postings=postings,
        source=("fiscal_year", year.id),
    )
    entry_id = _post_in_last_month(
        uow, end, f"year-end closing entry for fiscal year {name}", poster
    )
    for month, checklist in zip(open_months, checklists, strict=True):
        if _month_status(session, month) != "closed":
            lock_month(uow, month, checklist, force_reason=reason, now=now)
    year.status = "closed"
    year.closed_at = now
    year.closed_by = uow.user_id
    year.closing_entry_id = entry_id
    year.reopen_reason = None
    get_fiscal_year(session, name + 1)
    record(
        uow,
        "fiscal_year.close",
        "fiscal_year",
        year.id,
        reason=reason if blocked else None,
        detail={"result": result, "entry": entry_id, "forced": blocked},
    )
    log.info("closed fiscal year %s with result %s (entry %s)", name, result, entry_id)
    return YearEndOutcome(
        name,
        start,
        end,
        True,
        blocked,
        result,
        entry_id,
        tuple(lines),
        tuple(m.label for m in open_months),
        checklists,
    )


def reopen_year(uow: UnitOfWork, name: int, reason: str) -> FiscalYear:
    """Reopen a closed fiscal year: its closing entry is reversed (audited).

    The reversal is dated the year's last day; its months stay locked, so
    reopen the months that need changes afterwards.
    """
    if not reason or not reason.strip():
        raise ValidationError(
            "reason", reason, "reopening a fiscal year needs a reason for the audit"
        )
    session = uow.session
    year = session.scalar(select(FiscalYear).where(FiscalYear.name == name))
    if year is None or year.status != "closed":
        raise InvalidTransition(f"fiscal year {name} is not closed")
    later = session.scalar(
        select(FiscalYear.name).where(
            FiscalYear.name > name, FiscalYear.status == "closed"
        )
    )
    if later is not None:
        raise InvalidTransition(
            f"fiscal year {later} is closed too; reopen it before {name}"
        )
    if year.closing_entry_id is not None:
        original = session.get(JournalEntry, year.closing_entry_id)
        assert original is not None
        mirrored = [
            Posting(
                p.account,
                debit=p.credit,
                credit=p.debit,
                channel_id=p.channel_id,
                memo=f"reopening fiscal year {name}",
            )
            for p in ledger.entry_postings(original, session)
        ]
        poster = _Poster(
            uow,
            at=local_noon(year.end_date, shop_zone(session)),
            kind=YEAR_END_REOPEN,
            description=f"Reversal of the year-end close of fiscal year {name}: "
            f"{reason.strip()}",
            postings=mirrored,
            source=("fiscal_year", year.id),
            reverses_id=original.id,
        )
        _post_in_last_month(
            uow, year.end_date, f"reopening fiscal year {name}: {reason}", poster
        )
    year.status = "open"
    year.closing_entry_id = None
    year.reopen_reason = reason.strip()
    record(uow, "fiscal_year.reopen", "fiscal_year", year.id, reason=reason.strip())
    return year
