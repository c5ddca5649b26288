"""Month-end close: run the checklist, lock the month, reopen it with a reason.

The core's period lock (:func:`app.core.ledger.close_period`) does the
locking. This module decides whether the month may be locked: blocking
checklist items stop the close unless it is forced with a reason, which the
audit trail keeps. Each close is a :class:`CloseRun` row from the first
checklist run to the lock, so the dashboard can show how long closes take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import ledger
from app.core.accounting import totals
from app.core.accounting.checklist import Checklist, evaluate, make_context
from app.core.accounting.periods import Month
from app.core.accounting.settings import load_close_settings
from app.core.audit import record
from app.core.exceptions import InvalidTransition, ValidationError
from app.core.models import Period
from app.core.models.accounting import CloseRun, FiscalYear
from app.core.shop import get_shop, local_date, shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)


def check_month(
    session: Session, month: Month, *, now: datetime | None = None
) -> Checklist:
    """Run the checklist for a month without recording anything (read-only)."""
    now = now or datetime.now(UTC)
    zone = shop_zone(session)
    context = make_context(
        session,
        month,
        zone=zone,
        today=local_date(now, zone),
        settings=load_close_settings(get_shop(session)),
    )
    return evaluate(context, now)


def _open_run(session: Session, month: Month) -> CloseRun | None:
    return session.scalar(
        select(CloseRun)
        .where(
            CloseRun.year == month.year,
            CloseRun.month == month.month,
            CloseRun.closed_at.is_(None),
        )
        .order_by(CloseRun.id.desc())
        .limit(1)
    )


def run_checklist(
    uow: UnitOfWork, month: Month, *, now: datetime | None = None
) -> Checklist:
    """Run the checklist and record the run; the first run starts the close clock.

    Month totals that a bulk import left short are rebuilt first.
    """
    now = now or datetime.now(UTC)
    session = uow.session
    # Journal lines written by a bulk import leave the month totals short;
    # the first close after it brings them up to date.
    if not totals.complete(session):
        totals.rebuild_month_totals(session)
    checklist = check_month(session, month, now=now)
    run = _open_run(session, month)
    if run is None:
        run = CloseRun(
            year=month.year, month=month.month, first_run_at=now, last_run_at=now
        )
        session.add(run)
    run.last_run_at = now
    run.blocking_count = sum(len(i.records) for i in checklist.blocking)
    run.warning_count = sum(len(i.records) for i in checklist.warnings)
    session.flush()
    return checklist


@dataclass(frozen=True, slots=True)
class CloseOutcome:
    """The result of a close attempt.

    ``closed`` is False when blocking items stopped it, and the checklist
    lists them. ``duration_s`` is the time from the first checklist run of this
    close to the lock.
    """

    month: Month
    closed: bool
    forced: bool
    checklist: Checklist
    duration_s: float | None


def _closed_year(session: Session, month: Month) -> FiscalYear | None:
    return session.scalar(
        select(FiscalYear).where(
            FiscalYear.status == "closed",
            FiscalYear.start_date <= month.first_day,
            FiscalYear.end_date >= month.last_day,
        )
    )


def lock_month(
    uow: UnitOfWork,
    month: Month,
    checklist: Checklist,
    *,
    force_reason: str | None,
    now: datetime,
) -> float:
    """Lock a month whose checklist was run; return the close's duration.

    A forced close is audited with its reason and the blocking items it
    went past.
    """
    session = uow.session
    period = ledger.close_period(uow, month.year, month.month)
    run = _open_run(session, month)
    assert run is not None, "run_checklist records the run before the lock"
    forced = bool(checklist.blocking)
    run.closed_at = now
    run.closed_by = uow.user_id
    run.forced = forced
    run.force_reason = force_reason if forced else None
    if forced:
        record(
            uow,
            "period.close_forced",
            "period",
            period.id,
            reason=force_reason,
            detail={
                "period": month.label,
                "blocking": {i.key: len(i.records) for i in checklist.blocking},
            },
        )
    duration = (now - run.first_run_at).total_seconds()
    log.info("closed %s after %.0f s%s", month, duration, " (forced)" if forced else "")
    return duration


def close_month(
    uow: UnitOfWork,
    month: Month,
    *,
    force_reason: str | None = None,
    now: datetime | None = None,
) -> CloseOutcome:
    """Run the checklist and lock the month unless blocking items remain.

    With blocking items and no ``force_reason`` nothing is locked, and the
    outcome lists the items. The checklist run is still recorded, so the
    caller should commit either way. Raises ValidationError for a month that
    has not ended yet and InvalidTransition for one already closed.
    """
    now = now or datetime.now(UTC)
    reason = force_reason.strip() if force_reason else None
    if force_reason is not None and not reason:
        raise ValidationError(
            "force_reason", force_reason, "a forced close needs a reason for the audit"
        )
    session = uow.session
    today = local_date(now, shop_zone(session))
    if month.last_day >= today:
        raise ValidationError(
            "period",
            month.label,
            f"{month} ends on {month.last_day}; close it from the day after",
        )
    status = session.scalar(
        select(Period.status).where(
            Period.year == month.year, Period.month == month.month
        )
    )
    if status == "closed":
        raise InvalidTransition(f"period {month} is already closed")
    checklist = run_checklist(uow, month, now=now)
    if checklist.blocking and reason is None:
        return CloseOutcome(month, False, False, checklist, None)
    duration = lock_month(uow, month, checklist, force_reason=reason, now=now)
    return CloseOutcome(month, True, bool(checklist.blocking), checklist, duration)


def reopen_month(uow: UnitOfWork, month: Month, reason: str) -> Period:
    """Reopen a closed month with a reason (audited by the core's period lock).

    A month inside a closed fiscal year stays locked until that year is
    reopened, because the year's closing entry depends on it.
    """
    year = _closed_year(uow.session, month)
    if year is not None:
        raise InvalidTransition(
            f"period {month} belongs to the closed fiscal year {year.name}; reopen "
            f"the year first (backroom reopen --year {year.name} --reason ...)"
        )
    return ledger.reopen_period(uow, month.year, month.month, reason)


@dataclass(frozen=True, slots=True)
class CloseDuration:
    """How long one month-end close took, from first checklist run to lock."""

    period: str
    started_at: datetime
    closed_at: datetime
    seconds: float
    forced: bool


def close_durations(session: Session, limit: int = 12) -> list[CloseDuration]:
    """Return the latest completed closes, newest first, for the dashboard."""
    rows = session.scalars(
        select(CloseRun)
        .where(CloseRun.closed_at.is_not(None))
        .order_by(CloseRun.closed_at.desc(), CloseRun.id.desc())
        .limit(limit)
    )
    found = []
    for run in rows:
        assert run.closed_at is not None
        found.append(
            CloseDuration(
                period=Month(run.year, run.month).label,
                started_at=run.first_run_at,
                closed_at=run.closed_at,
                seconds=(run.closed_at - run.first_run_at).total_seconds(),
                forced=run.forced,
            )
        )
    return found
