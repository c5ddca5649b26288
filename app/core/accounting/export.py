"""Ledger export for an accountant's tools: journal rows to ``ExportLedger``.

The journal is streamed from the database in entry order (``yield_per``), so
exporting a year of a large shop keeps only one batch of rows in memory. The
writers in :mod:`app.core.exports` read the entries once.

Opening balances: an export whose ``--from`` date is later than the first
journal entry starts with one opening entry dated the day before ``--from``
(number ``OB-<date>``, source ``opening``). It carries every asset, liability
and equity account's balance at that day, and the result of income and
expense before ``--from`` that no year-end close has moved yet goes to 3200
Retained earnings, so the opening entry balances. The entries dated from
``--from`` to ``--to`` are the period's movements and add up, per account,
to the trial balance of the same dates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.orm import Session

from app.core.exceptions import ValidationError
from app.core.exports import (
    WRITERS,
    ExportAccount,
    ExportEntry,
    ExportLedger,
    ExportLine,
)
from app.core.exports.model import AccountType
from app.core.models import Account, Channel, JournalEntry
from app.core.money import currency_exponent
from app.core.reports import balances
from app.core.shop import get_shop

log = logging.getLogger(__name__)

#: Rows fetched per round trip while streaming the journal.
BATCH_ROWS = 5000
OPENING_SOURCE = "opening"
RETAINED_EARNINGS = "3200"


@dataclass(slots=True)
class ExportCounts:
    """Entries and lines handed to the writer, filled while it writes."""

    entries: int = 0
    lines: int = 0
    opening: bool = False


def entry_number(entry_id: int) -> str:
    return f"JE-{entry_id}"


def _accounts(session: Session) -> dict[int, ExportAccount]:
    found = {}
    for account in session.scalars(select(Account).order_by(Account.code)):
        account_type: AccountType = account.type  # type: ignore[assignment]
        found[account.id] = ExportAccount(
            account.code, account.name, account_type, account.contra
        )
    return found


def _rate(value: Decimal | None) -> Decimal | None:
    return value.normalize() if value is not None else None


def _opening_entry(
    session: Session, day: date, accounts: dict[int, ExportAccount]
) -> ExportEntry | None:
    """Return the opening entry dated ``day`` (see the module docstring)."""
    by_code = {a.code: a for a in accounts.values()}
    lines: list[ExportLine] = []
    carried = 0
    retained = 0
    for row in balances(session, date_to=day):
        net = row.debit_total - row.credit_total
        if row.type in ("income", "expense"):
            carried += net
            continue
        if row.code == RETAINED_EARNINGS:
            retained += net
            continue
        if net:
            lines.append(
                _opening_line(by_code[row.code], net, "balance brought forward")
            )
    retained += carried
    if retained:
        account = by_code.get(RETAINED_EARNINGS)
        if account is None:
            raise ValidationError(
                "account",
                RETAINED_EARNINGS,
                "account 3200 Retained earnings is missing; the opening entry "
                "needs it for the result before the export's first day",
            )
        lines.append(
            _opening_line(
                account,
                retained,
                "balance brought forward, with the unclosed result before "
                f"{(day + timedelta(days=1)).isoformat()}",
            )
        )
    if not lines:
        return None
    return ExportEntry(
        entry_id=0,
        date=day,
        number=f"OB-{day.isoformat()}",
        description=f"Opening balances at {day.isoformat()}",
        source=OPENING_SOURCE,
        lines=tuple(lines),
    )


def _opening_line(account: ExportAccount, net: int, memo: str) -> ExportLine:
    return ExportLine(
        account=account,
        debit=max(net, 0),
        credit=max(-net, 0),
        memo=memo,
        channel=None,
        tax_rate=None,
        fx_currency=None,
        fx_amount=None,
    )


_JOURNAL_ROWS = text(
    "SELECT e.id, e.entry_date, e.kind, e.description, e.source_type, e.source_id, "
    "l.account_id, l.debit, l.credit, l.channel_id, l.tax_rate, l.fx_currency, "
    "l.fx_amount, l.memo "
    "FROM journal_entry e JOIN journal_line l ON l.entry_id = e.id "
    "WHERE e.entry_date >= :date_from AND e.entry_date <= :date_to "
    "ORDER BY e.entry_date, e.id, l.id"
).bindparams(bindparam("date_from", type_=Date), bindparam("date_to", type_=Date))


class _RawValues:
    """Converters for the untyped values of the journal query, with caches.

    The query is plain SQL, because SQLAlchemy's per-row type processing
    took longer than the database itself. Dates and rates repeat, so each
    distinct raw value is converted once. SQLite returns ISO date strings and
    numbers, PostgreSQL dates and Decimals: both are handled.
    """

    def __init__(self) -> None:
        self.days: dict[object, date] = {}
        self.rates: dict[object, Decimal | None] = {None: None}

    def day(self, value: object) -> date:
        found = self.days.get(value)
        if found is None:
            found = value if isinstance(value, date) else date.fromisoformat(str(value))
            self.days[value] = found
        return found

    def rate(self, value: object) -> Decimal | None:
        if value in self.rates:
            return self.rates[value]
        found = _rate(value if isinstance(value, Decimal) else Decimal(str(value)))
        self.rates[value] = found
        return found


def stream_entries(
    session: Session,
    date_from: date,
    date_to: date,
    accounts: dict[int, ExportAccount],
    counts: ExportCounts | None = None,
) -> Iterator[ExportEntry]:
    """Yield the journal entries dated in the range, one at a time, in order."""
    channels = dict(session.execute(select(Channel.id, Channel.name)).all())
    raw = _RawValues()
    rows = (
        session.connection()
        .execution_options(yield_per=BATCH_ROWS)
        .execute(_JOURNAL_ROWS, {"date_from": date_from, "date_to": date_to})
    )
    current: Any = None
    lines: list[ExportLine] = []
    for row in rows:
        if current is None or row[0] != current[0]:
            if current is not None:
                yield _entry(current, lines, raw, counts)
            current = row
            lines = []
        channel = row[9]
        lines.append(
            ExportLine(
                account=accounts[row[6]],
                debit=int(row[7]),
                credit=int(row[8]),
                memo=row[13] or "",
                channel=channels.get(channel) if channel is not None else None,
                tax_rate=raw.rate(row[10]),
                fx_currency=row[11],
                fx_amount=int(row[12]) if row[12] is not None else None,
            )
        )
    if current is not None:
        yield _entry(current, lines, raw, counts)


def _entry(
    head: Any, lines: list[ExportLine], raw: _RawValues, counts: ExportCounts | None
) -> ExportEntry:
    entry_id, day, kind, description, source_type, source_id = head[:6]
    if counts is not None:
        counts.entries += 1
        counts.lines += len(lines)
    return ExportEntry(
        entry_id=entry_id,
        date=raw.day(day),
        number=entry_number(entry_id),
        description=description or kind,
        source=f"{source_type}:{source_id}" if source_type else kind,
        lines=tuple(lines),
    )


def _with_opening(
    opening: ExportEntry | None, entries: Iterator[ExportEntry]
) -> Iterator[ExportEntry]:
    if opening is not None:
        yield opening
    yield from entries


def ledger_range(session: Session) -> tuple[date | None, date | None]:
    """Return the dates of the first and the last journal entry."""
    row = session.execute(
        select(func.min(JournalEntry.entry_date), func.max(JournalEntry.entry_date))
    ).one()
    return row[0], row[1]


def build_export_ledger(
    session: Session,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    opening_balances: bool = True,
    counts: ExportCounts | None = None,
) -> ExportLedger:
    """Map the journal between two dates (both included) to an ``ExportLedger``.

    Missing dates default to the first and last entry. The entries are a
    generator over an open query, so write the ledger before the session
    closes.
    """
    if date_from and date_to and date_from > date_to:
        raise ValidationError(
            "from", date_from, f"--from {date_from} is after --to {date_to}"
        )
    shop = get_shop(session)
    accounts = _accounts(session)
    first, last = ledger_range(session)
    start = date_from or first or date.today()
    end = date_to or last or start
    opening = None
    if opening_balances and first is not None and start > first:
        opening = _opening_entry(session, start - timedelta(days=1), accounts)
        if counts is not None:
            counts.opening = opening is not None
    return ExportLedger(
        shop_name=shop.name,
        currency=shop.currency,
        currency_exponent=currency_exponent(shop.currency),
        entries=_with_opening(
            opening, stream_entries(session, start, end, accounts, counts)
        ),
        accounts=list(accounts.values()),
        date_from=start,
        date_to=end,
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The files an export wrote, with its dates and its entry and line counts."""

    format: str
    paths: tuple[Path, ...]
    date_from: date
    date_to: date
    entries: int
    lines: int
    opening_entry: bool
    options: dict[str, Any] = field(default_factory=dict)


def export_ledger(
    session: Session,
    fmt: str,
    target: Path | str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    opening_balances: bool = True,
    **options: Any,
) -> ExportResult:
    """Write the journal between two dates in one of ``WRITERS``' formats.

    ``options`` go to the writer (``channel_as_class`` for iif and qbo-csv,
    ``day_first`` for qbo-csv, ``tax_rate_name`` and ``tracking_category``
    for xero-csv). Xero files are named ``<target>-001.csv`` and so on.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ValidationError(
            "format",
            fmt,
            f"unknown export format {fmt!r}; use one of {', '.join(WRITERS)}",
        )
    counts = ExportCounts()
    ledger = build_export_ledger(
        session,
        date_from,
        date_to,
        opening_balances=opening_balances,
        counts=counts,
    )
    paths = writer(ledger, Path(target), **options)
    log.info(
        "exported %d entries (%d lines) as %s to %s",
        counts.entries,
        counts.lines,
        fmt,
        ", ".join(str(p) for p in paths),
    )
    return ExportResult(
        fmt,
        tuple(paths),
        ledger.date_from,
        ledger.date_to,
        counts.entries,
        counts.lines,
        counts.opening,
        dict(options),
    )
