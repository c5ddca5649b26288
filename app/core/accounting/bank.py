"""Bank statements: import a CSV and match its lines to payouts and refunds.

The statement format is a CSV with a header row and the columns ``date``,
``description``, ``amount`` and optionally ``reference`` (any letter case;
"Booking date", "Details", "Value" and "Ref" are accepted too). The
delimiter (comma, semicolon, tab or bar) and the decimal mark (point or
comma) are detected from the file; amounts are positive for money in.
Dates are ISO (2026-06-30) or day first (30/06/2026, 30.06.2026); a file
whose dates have a second part above 12 is read month first.

Importing the same statement twice adds nothing: each line is keyed by its
date, amount, description, reference and how many identical lines came
before it in the file.

Matching pairs each unmatched bank line with a posted payout of the same
amount (money in) or a refund paid via the bank (money out), dated from one
day before to ``bank_window_days`` after the payout or refund. A reference
that contains the payout's id wins over the date; otherwise the closest
date wins. Matching posts nothing: the payout and the refund payment
already moved the money to or from 1000 Bank.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.accounting.exceptions import FileFormatError
from app.core.accounting.parsing import (
    parse_amount,
    parse_day,
    read_rows,
    slashed_date_order,
    uses_decimal_comma,
)
from app.core.accounting.settings import load_close_settings
from app.core.audit import record
from app.core.exceptions import ValidationError
from app.core.models import Channel
from app.core.models.accounting import BankLine, Payout
from app.core.models.returns import ReturnRefund
from app.core.money import to_minor
from app.core.shop import get_shop, local_date, shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

STATEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("booking_date", "transaction_date", "value_date"),
    "description": ("details", "narrative", "text", "memo", "payee"),
    "amount": ("value", "amount_gbp", "amount_eur", "amount_usd"),
}
REFERENCE_COLUMNS = ("reference", "ref", "transaction_reference")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a statement file; ``amount`` in shop minor units (+ in)."""

    row: int
    day: date
    description: str
    amount: int
    reference: str | None


def read_statement(path: str | Path, currency: str) -> list[StatementLine]:
    """Read a bank statement CSV (see the module docstring)."""
    source = Path(path)
    name = str(source)
    header, rows = read_rows(source)
    columns: dict[str, str] = {}
    for wanted, aliases in STATEMENT_COLUMNS.items():
        found = next((a for a in (wanted, *aliases) if a in header), None)
        if found is None:
            raise FileFormatError(
                name,
                1,
                None,
                f"missing column {wanted}; a statement needs date, description and "
                f"amount (reference is optional), the header has {', '.join(header)}",
            )
        columns[wanted] = found

    reference_column = next((c for c in REFERENCE_COLUMNS if c in header), None)
    comma = uses_decimal_comma(
        (cells.get(columns["amount"], "") for _, cells in rows), name
    )
    order = slashed_date_order(cells.get(columns["date"], "") for _, cells in rows)

    lines = []
    for number, cells in rows:
        amount = parse_amount(
            cells.get(columns["amount"], ""),
            decimal_comma=comma,
            path=name,
            row=number,
            field="amount",
        )
        try:
            minor = to_minor(amount, currency)
        except ValidationError as exc:
            raise FileFormatError(name, number, "amount", str(exc)) from None
        lines.append(
            StatementLine(
                row=number,
                day=parse_day(
                    cells.get(columns["date"], ""),
                    order,
                    path=name,
                    row=number,
                    field="date",
                ),
                description=cells.get(columns["description"], ""),
                amount=minor,
                reference=(cells.get(reference_column) or None)
                if reference_column
                else None,
            )
        )
    return lines


def _fingerprint(line: StatementLine, occurrence: int) -> str:
    key = "|".join(
        (
            line.day.isoformat(),
            str(line.amount),
            line.description.strip(),
            (line.reference or "").strip(),
            str(occurrence),
        )
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StatementImport:
    statement: str
    added: int
    already_imported: int


def import_statement(
    uow: UnitOfWork, path: str | Path, *, statement: str | None = None
) -> StatementImport:
    """Store a statement's lines (idempotent); ``statement`` names it in lists."""
    session = uow.session
    currency = get_shop(session).currency
    lines = read_statement(path, currency)
    label = statement or Path(path).name

    seen: Counter[tuple[date, int, str, str]] = Counter()
    keyed = []
    for line in lines:
        identity = (
            line.day,
            line.amount,
            line.description.strip(),
            line.reference or "",
        )
        keyed.append((line, _fingerprint(line, seen[identity])))
        seen[identity] += 1

    known = set(
        session.scalars(
            select(BankLine.fingerprint).where(
                BankLine.fingerprint.in_([f for _, f in keyed])
            )
        )
    )
    added = 0
    for line, fingerprint in keyed:
        if fingerprint in known:
            continue
        session.add(
            BankLine(
                statement=label[:200],
                row_no=line.row,
                line_date=line.day,
                description=line.description,
                amount=line.amount,
                reference=line.reference,
                fingerprint=fingerprint,
            )
        )
        added += 1
    session.flush()

    record(
        uow,
        "bank.import",
        "bank_line",
        None,
        detail={"statement": label, "added": added, "lines": len(lines)},
    )
    log.info("bank statement %s: %d lines added of %d", label, added, len(lines))
    return StatementImport(label, added, len(lines) - added)


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An unmatched payout, refund or bank line; ``amount`` in shop minor units.

    ``kind`` is ``payout``, ``refund`` or ``bank_line``; money into the bank
    is positive, so a refund's amount is negative.
    """

    kind: str
    id: int
    day: date
    amount: int
    label: str


@dataclass(frozen=True, slots=True)
class Match:
    bank_line_id: int
    kind: str
    matched_id: int
    amount: int
    by_reference: bool


@dataclass(frozen=True, slots=True)
class BankReconciliation:
    """The result of matching: new matches and what is left on each side."""

    matched: tuple[Match, ...]
    unmatched_bank_lines: tuple[OpenItem, ...]
    unmatched_payouts: tuple[OpenItem, ...]
    unmatched_refunds: tuple[OpenItem, ...]


def _open_payouts(session: Session) -> list[OpenItem]:
    matched = select(BankLine.matched_id).where(BankLine.matched_kind == "payout")
    rows = session.execute(
        select(Payout, Channel.name)
        .join(Channel, Channel.id == Payout.channel_id)
        .where(Payout.journal_entry_id.is_not(None), Payout.id.not_in(matched))
        .order_by(Payout.paid_on, Payout.id)
    ).all()
    return [
        OpenItem(
            "payout",
            p.id,
            p.paid_on,
            p.amount_shop,
            f"{channel} payout {p.external_id}",
        )
        for p, channel in rows
    ]


def _open_refunds(session: Session) -> list[OpenItem]:
    matched = select(BankLine.matched_id).where(BankLine.matched_kind == "refund")
    zone = shop_zone(session)
    rows = session.scalars(
        select(ReturnRefund)
        .where(
            ReturnRefund.status == "paid",
            ReturnRefund.paid_via == "bank",
            ReturnRefund.id.not_in(matched),
        )
        .order_by(ReturnRefund.paid_at, ReturnRefund.id)
    ).all()
    items = []
    for refund in rows:
        assert refund.paid_at is not None
        items.append(
            OpenItem(
                "refund",
                refund.id,
                local_date(refund.paid_at, zone),
                -refund.total_shop,
                f"refund {refund.id} of order {refund.order_id}",
            )
        )
    return items


def _best(
    line: BankLine,
    candidates: list[OpenItem],
    window: timedelta,
    references: dict[int, str],
) -> tuple[OpenItem, bool] | None:
    fitting = [
        c
        for c in candidates
        if c.amount == line.amount
        and c.day - timedelta(days=1) <= line.line_date <= c.day + window
    ]
    if not fitting:
        return None
    text = f"{line.reference or ''} {line.description}".lower()
    for candidate in fitting:
        reference = references.get(candidate.id)
        if candidate.kind == "payout" and reference and reference.lower() in text:
            return candidate, True
    fitting.sort(key=lambda c: (abs((line.line_date - c.day).days), c.day, c.id))
    return fitting[0], False


def match_statement(
    uow: UnitOfWork, *, window_days: int | None = None, now: datetime | None = None
) -> BankReconciliation:
    """Match unmatched bank lines to payouts and bank refunds (see module docs)."""
    session = uow.session
    window = timedelta(
        days=window_days
        if window_days is not None
        else load_close_settings(get_shop(session)).bank_window_days
    )
    now = now or datetime.now(UTC)

    payouts = _open_payouts(session)
    refunds = _open_refunds(session)
    references = dict(
        session.execute(
            select(Payout.id, Payout.external_id).where(
                Payout.id.in_([p.id for p in payouts])
            )
        ).all()
    )
    lines = session.scalars(
        select(BankLine)
        .where(BankLine.matched_kind.is_(None))
        .order_by(BankLine.line_date, BankLine.id)
    ).all()

    matched: list[Match] = []
    # Lines that carry a payout's reference go first, so they are not
    # taken by a same-amount payout on a nearer date.
    ordered = sorted(
        lines,
        key=lambda ln: (
            not any(
                ref.lower() in f"{ln.reference or ''} {ln.description}".lower()
                for ref in references.values()
            )
        ),
    )
    for line in ordered:
        pool = payouts if line.amount > 0 else refunds
        best = _best(line, pool, window, references)
        if best is None:
            continue
        item, by_reference = best
        pool.remove(item)
        line.matched_kind = item.kind
        line.matched_id = item.id
        line.matched_at = now
        matched.append(Match(line.id, item.kind, item.id, line.amount, by_reference))
    session.flush()

    left = [
        OpenItem(
            "bank_line",
            ln.id,
            ln.line_date,
            ln.amount,
            f"{ln.statement} row {ln.row_no}: {ln.description}",
        )
        for ln in lines
        if ln.matched_kind is None
    ]
    if matched:
        record(uow, "bank.match", "bank_line", None, detail={"matched": len(matched)})
    return BankReconciliation(
        tuple(matched), tuple(left), tuple(payouts), tuple(refunds)
    )


def unmatch_line(uow: UnitOfWork, bank_line_id: int, reason: str) -> None:
    """Undo a match (audited), so the line and its payout or refund can pair again."""
    line = uow.session.get(BankLine, bank_line_id)
    if line is None or line.matched_kind is None:
        raise ValidationError(
            "bank_line", bank_line_id, f"bank line {bank_line_id} is not matched"
        )
    detail = {"kind": line.matched_kind, "id": line.matched_id}
    line.matched_kind = None
    line.matched_id = None
    line.matched_at = None
    record(uow, "bank.unmatch", "bank_line", bank_line_id, reason=reason, detail=detail)
