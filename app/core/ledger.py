"""Posting to the double-entry ledger, reversals and accounting periods.

Every posting goes through :func:`post`, which merges the postings into one
line per account, channel and tax rate, checks that debits equal credits,
and rejects an entry dated in a closed period. Posted entries are never
edited: :func:`reverse` writes the mirror entry instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import (
    InvalidTransition,
    NotFound,
    PeriodClosed,
    UnbalancedEntry,
    ValidationError,
)
from app.core.models import Account, JournalEntry, JournalLine, Period, Shop
from app.core.reference import cached, forget
from app.core.shop import get_shop, local_date, shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

#: The default chart of accounts: code, name, type, contra.
DEFAULT_CHART: tuple[tuple[str, str, str, bool], ...] = (
    ("1000", "Bank", "asset", False),
    ("1100", "Channel clearing", "asset", False),
    ("1110", "Accounts receivable", "asset", False),
    ("1200", "Inventory", "asset", False),
    ("1300", "Input tax recoverable", "asset", False),
    ("2000", "Accounts payable", "liability", False),
    ("2200", "Sales tax payable", "liability", False),
    ("2300", "Unearned revenue", "liability", False),
    ("2400", "Refunds payable", "liability", False),
    ("2500", "Gift vouchers outstanding", "liability", False),
    ("3000", "Owner's equity", "equity", False),
    ("3100", "Opening balances", "equity", False),
    ("3200", "Retained earnings", "equity", False),
    ("4000", "Sales", "income", False),
    ("4010", "Shipping income", "income", False),
    ("4020", "Restocking fees", "income", False),
    ("4900", "Sales returns", "income", True),
    ("4910", "Sales discounts", "income", True),
    ("5000", "Cost of goods sold", "expense", False),
    ("5100", "Inventory shrinkage and adjustments", "expense", False),
    ("6100", "Channel and marketplace fees", "expense", False),
    ("6110", "Bank and payment fees", "expense", False),
    ("6200", "Shipping expense", "expense", False),
    ("6300", "Bad debts", "expense", False),
    ("8100", "Exchange gains and losses", "expense", False),
    ("8200", "Rounding differences", "expense", False),
)

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
#: Account types whose balance sits on the debit side.
DEBIT_NORMAL = frozenset({"asset", "expense"})


@dataclass(frozen=True, slots=True)
class Posting:
    """One debit or credit to an account, before lines are merged."""

    account: str
    debit: int = 0
    credit: int = 0
    channel_id: int | None = None
    tax_rate: Decimal | None = None
    memo: str | None = None
    fx_currency: str | None = None
    fx_amount: int | None = None


def account_ids(session: Session) -> Mapping[str, int]:
    """Return account code -> id."""
    return cached(session, "account_ids", _load_account_ids)


def _load_account_ids(session: Session) -> Mapping[str, int]:
    return MappingProxyType(
        dict(session.execute(select(Account.code, Account.id)).all())
    )


def _closed_months(session: Session) -> frozenset[tuple[int, int]]:
    return cached(session, "closed_months", _load_closed_months)


def _load_closed_months(session: Session) -> frozenset[tuple[int, int]]:
    rows = session.execute(
        select(Period.year, Period.month).where(Period.status == "closed")
    )
    return frozenset((y, m) for y, m in rows)


def ensure_open(session: Session, day: date, what: str = "posting") -> None:
    """Raise PeriodClosed when ``day`` falls in a closed month."""
    if (day.year, day.month) in _closed_months(session):
        raise PeriodClosed(
            f"{what} dated {day.isoformat()} falls in the closed period "
            f"{day.year}-{day.month:02d}; date it in an open period or reopen "
            f"{day.year}-{day.month:02d} with a reason"
        )


def merge_postings(postings: Iterable[Posting]) -> list[Posting]:
    """Net the postings to one line per account, channel, tax rate and currency."""
    totals: dict[tuple[str, int | None, Decimal | None, str | None], list[int]] = {}
    memos: dict[tuple[str, int | None, Decimal | None, str | None], str | None] = {}
    for p in postings:
        if p.debit < 0 or p.credit < 0:
            raise UnbalancedEntry(f"negative amount posted to {p.account}: {p}")
        key = (p.account, p.channel_id, p.tax_rate, p.fx_currency)
        slot = totals.setdefault(key, [0, 0])
        slot[0] += p.debit - p.credit
        slot[1] += (p.fx_amount or 0) * (1 if p.debit else -1)
        memos.setdefault(key, p.memo)
    merged = []
    for key, (net, fx) in totals.items():
        if net == 0 and fx == 0:
            continue
        account, channel_id, tax_rate, fx_currency = key
        merged.append(
            Posting(
                account=account,
                debit=max(net, 0),
                credit=max(-net, 0),
                channel_id=channel_id,
                tax_rate=tax_rate,
                memo=memos[key],
                fx_currency=fx_currency,
                fx_amount=abs(fx) if fx_currency else None,
            )
        )
    return merged


def post(
    uow: UnitOfWork,
    *,
    occurred_at: datetime,
    kind: str,
    description: str,
    postings: Iterable[Posting],
    source: tuple[str, int] | None = None,
    reverses_id: int | None = None,
) -> JournalEntry | None:
    """Write one balanced journal entry; return None when every line nets to zero."""
    session = uow.session
    shop = get_shop(session)
    lines = merge_postings(postings)
    if not lines:
        return None
    debit = sum(p.debit for p in lines)
    credit = sum(p.credit for p in lines)
    if debit != credit:
        raise UnbalancedEntry(
            f"journal entry '{description}' does not balance: debits {debit} "
            f"against credits {credit} (minor units)"
        )
    day = local_date(occurred_at, shop_zone(session))
    ensure_open(session, day)
    ids = account_ids(session)
    entry = JournalEntry(
        entry_date=day,
        occurred_at=occurred_at,
        recorded_at=datetime.now(UTC),
        description=description,
        kind=kind,
        source_type=source[0] if source else None,
        source_id=source[1] if source else None,
        reverses_id=reverses_id,
        user_id=uow.user_id,
    )
    for p in lines:
        account_id = ids.get(p.account)
        if account_id is None:
            raise NotFound(
                f"account {p.account} is not in the chart of accounts; add it in "
                "Settings > Accounts"
            )
        entry.lines.append(
            JournalLine(
                account_id=account_id,
                debit=p.debit,
                credit=p.credit,
                currency=shop.currency,
                channel_id=p.channel_id,
                tax_rate=p.tax_rate,
                memo=p.memo,
                fx_currency=p.fx_currency,
                fx_amount=p.fx_amount,
            )
        )
    session.add(entry)
    session.flush()
    # The per-month totals that keep reports fast change with the journal.
    # Imported here because the accounting package imports this module.
    from app.core.accounting.totals import add_entry

    add_entry(session, entry)
    return entry


def entry_postings(entry: JournalEntry, session: Session) -> list[Posting]:
    codes = {v: k for k, v in account_ids(session).items()}
    return [
        Posting(
            account=codes[line.account_id],
            debit=line.debit,
            credit=line.credit,
            channel_id=line.channel_id,
            tax_rate=line.tax_rate,
            memo=line.memo,
            fx_currency=line.fx_currency,
            fx_amount=line.fx_amount,
        )
        for line in entry.lines
    ]


def reverse(
    uow: UnitOfWork, entry_id: int, *, occurred_at: datetime, reason: str
) -> JournalEntry:
    """Post the mirror of an entry, dated ``occurred_at``, and link it."""
    session = uow.session
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise NotFound(f"journal entry {entry_id} does not exist")
    already = session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)
    )
    if already is not None:
        raise InvalidTransition(
            f"journal entry {entry_id} was already reversed by entry {already}"
        )
    mirrored = [
        Posting(
            account=p.account,
            debit=p.credit,
            credit=p.debit,
            channel_id=p.channel_id,
            tax_rate=p.tax_rate,
            memo=p.memo,
            fx_currency=p.fx_currency,
            fx_amount=p.fx_amount,
        )
        for p in entry_postings(original, session)
    ]
    reversal = post(
        uow,
        occurred_at=occurred_at,
        kind="reversal",
        description=f"Reversal of entry {entry_id}: {reason}",
        postings=mirrored,
        source=(original.source_type or "entry", original.source_id or entry_id),
        reverses_id=entry_id,
    )
    assert reversal is not None
    return reversal


# --- chart of accounts ---------------------------------------------------


def create_default_chart(session: Session) -> None:
    for code, name, type_, contra in DEFAULT_CHART:
        session.add(Account(code=code, name=name, type=type_, contra=contra))
    session.flush()


def add_account(uow: UnitOfWork, code: str, name: str, type_: str) -> Account:
    """Add an account to the chart; codes are unique."""
    code = code.strip()
    if not code.isdigit():
        raise ValidationError("code", code, f"account code {code!r} must be digits")
    if type_ not in ACCOUNT_TYPES:
        raise ValidationError(
            "type", type_, f"account type {type_!r} must be one of {ACCOUNT_TYPES}"
        )
    if code in account_ids(uow.session):
        raise ValidationError("code", code, f"account code {code} already exists")
    account = Account(code=code, name=name.strip(), type=type_)
    uow.session.add(account)
    uow.session.flush()
    forget(uow.session)
    record(uow, "account.add", "account", account.id, detail={"code": code})
    return account


def rename_account(uow: UnitOfWork, code: str, name: str) -> None:
    account = uow.session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise NotFound(f"account {code} does not exist")
    if not name.strip():
        raise ValidationError("name", name, "an account name cannot be empty")
    old = account.name
    account.name = name.strip()
    record(uow, "account.rename", "account", account.id, detail={"from": old})


# --- periods --------------------------------------------------------------


def _period(session: Session, year: int, month: int) -> Period:
    period = session.scalar(
        select(Period).where(Period.year == year, Period.month == month)
    )
    if period is None:
        period = Period(year=year, month=month, status="open")
        session.add(period)
        session.flush()
    return period


def _month_totals(session: Session, year: int, month: int) -> tuple[int, int]:
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    row = session.execute(
        select(
            func.count(JournalLine.id), func.coalesce(func.sum(JournalLine.debit), 0)
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.entry_date >= start, JournalEntry.entry_date < end)
    ).one()
    return int(row[0]), int(row[1])


def close_period(uow: UnitOfWork, year: int, month: int) -> Period:
    """Lock a month: nothing dated in it can be posted or changed afterwards."""
    if not 1 <= month <= 12:
        raise ValidationError("period", f"{year}-{month}", "month must be 1 to 12")
    session = uow.session
    # On PostgreSQL every writer holds a share lock on the shop row until it
    # commits: this waits for them, so the totals below include their lines,
    # and writers that start later wait here and then find the month closed.
    session.execute(uow.locked(select(Shop.id).where(Shop.id == 1)))
    period = _period(session, year, month)
    if period.status == "closed":
        raise InvalidTransition(f"period {year}-{month:02d} is already closed")
    count, debit = _month_totals(session, year, month)
    period.status = "closed"
    period.closed_at = datetime.now(UTC)
    period.closed_by = uow.user_id
    period.closed_line_count = count
    period.closed_debit_total = debit
    forget(session)
    record(uow, "period.close", "period", period.id, detail={"lines": count})
    return period


def reopen_period(uow: UnitOfWork, year: int, month: int, reason: str) -> Period:
    """Reopen a closed month; the reason is required and audited."""
    if not reason or not reason.strip():
        raise ValidationError(
            "reason", reason, "reopening a period needs a reason for the audit trail"
        )
    session = uow.session
    period = _period(session, year, month)
    if period.status != "closed":
        raise InvalidTransition(f"period {year}-{month:02d} is not closed")
    period.status = "open"
    period.reopen_reason = reason.strip()
    period.closed_line_count = None
    period.closed_debit_total = None
    forget(session)
    record(uow, "period.reopen", "period", period.id, reason=reason.strip())
    return period


def month_totals(session: Session, year: int, month: int) -> tuple[int, int]:
    """Return (journal line count, sum of debits) dated in a month."""
    return _month_totals(session, year, month)
