"""Reconcile an imported history file against the ledger, per month and account.

The file side comes from the reader's ``ReadReport``: each line's amount
summed by the line's local month and its account, over the rows read in
full. The ledger side sums the journal lines on the History channel by their
entry's ``entry_date`` month and account, over the entries the import wrote.
Invoices already in the books before the import are skipped on both sides,
so a second import of the same file compares nothing and a later, overlapping
export compares only its new invoices.

Both sides are "credit minus debit" in minor units, so sales are positive,
returns and fees negative, and the clearing account 1100 (which is debited
with every invoice's total) negative. The file's figure for 1100 is
therefore minus the month's total of all lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.models import Account, Invoice, JournalEntry, JournalLine, SalesOrder
from app.core.money import format_minor

CLEARING_ACCOUNT = "1100"


@dataclass(frozen=True, slots=True)
class MonthAccount:
    """One account's file and ledger totals in one local month (credit - debit)."""

    month: str
    account: str
    file_total: int
    ledger_total: int

    @property
    def difference(self) -> int:
        """Ledger total minus file total."""
        return self.ledger_total - self.file_total

    @property
    def matches(self) -> bool:
        return self.ledger_total == self.file_total


@dataclass(frozen=True, slots=True)
class OverCredit:
    """A credit note that takes its linked invoice's credits above the invoice.

    ``credited`` is the sum of this and every earlier credit note linked to
    the same invoice, positive, and exceeds ``invoice_total``.
    """

    credit_note: str
    invoice: str
    amount: int
    credited: int
    invoice_total: int


@dataclass
class Reconciliation:
    """The file against the ledger, with the counts that explain the figures.

    ``rows`` has one entry per month and account that either side has.
    ``reconciled`` is None for a memo-only import, which posts nothing.
    Counts describe the rows read in full. Rows of invoices already in the
    books are skipped unread, and the import result counts those invoices.
    """

    currency: str
    memo_only: bool
    rows: list[MonthAccount] = field(default_factory=list)
    invoices: int = 0
    credit_notes: int = 0
    adjustments: int = 0
    lines: int = 0
    customers: int = 0
    lines_without_customer: int = 0
    skus: int = 0
    duplicate_lines: int = 0
    unknown_countries: dict[str, int] = field(default_factory=dict)
    write_offs: int = 0
    over_credits: list[OverCredit] = field(default_factory=list)

    @property
    def reconciled(self) -> bool | None:
        if self.memo_only:
            return None
        return all(row.matches for row in self.rows)

    @property
    def mismatches(self) -> list[MonthAccount]:
        return [row for row in self.rows if not row.matches]

    @property
    def file_total(self) -> int:
        """The sum of every line's amount: what 1100 is debited with in total."""
        return -sum(r.file_total for r in self.rows if r.account == CLEARING_ACCOUNT)

    @property
    def ledger_clearing_total(self) -> int:
        """The History channel's net debit to 1100 in the file's months."""
        return -sum(r.ledger_total for r in self.rows if r.account == CLEARING_ACCOUNT)

    def to_json(self) -> dict[str, Any]:
        c = self.currency
        return {
            "currency": c,
            "memo_only": self.memo_only,
            "reconciled": self.reconciled,
            "file_total": format_minor(self.file_total, c),
            "ledger_clearing_total": format_minor(self.ledger_clearing_total, c),
            "counts": {
                "invoices": self.invoices,
                "credit_notes": self.credit_notes,
                "adjustments": self.adjustments,
                "lines": self.lines,
                "customers": self.customers,
                "lines_without_customer": self.lines_without_customer,
                "skus": self.skus,
                "duplicate_lines": self.duplicate_lines,
                "unknown_countries": dict(self.unknown_countries),
                "unknown_country_lines": sum(self.unknown_countries.values()),
                "write_offs": self.write_offs,
                "credit_notes_over_invoice": len(self.over_credits),
            },
            "months": [
                {
                    "month": r.month,
                    "account": r.account,
                    "file": format_minor(r.file_total, c),
                    "ledger": format_minor(r.ledger_total, c),
                    "difference": format_minor(r.difference, c),
                }
                for r in self.rows
            ],
            "credit_notes_over_invoice": [
                {
                    "credit_note": o.credit_note,
                    "invoice": o.invoice,
                    "amount": format_minor(o.amount, c),
                    "credited": format_minor(o.credited, c),
                    "invoice_total": format_minor(o.invoice_total, c),
                }
                for o in self.over_credits
            ],
        }


def file_month_totals(
    month_account_totals: Mapping[str, Mapping[str, int]],
) -> dict[tuple[str, str], int]:
    """Turn the reader's month -> account -> amount into the compared figures.

    Adds the clearing account's figure per month, minus the month's total.
    """
    totals: dict[tuple[str, str], int] = {}
    for month, accounts in month_account_totals.items():
        month_total = 0
        for account, amount in accounts.items():
            totals[(month, account)] = totals.get((month, account), 0) + amount
            month_total += amount
        key = (month, CLEARING_ACCOUNT)
        totals[key] = totals.get(key, 0) - month_total
    return totals


def ledger_month_totals(
    session: Session,
    channel_id: int,
    entry_ids: Sequence[tuple[int, int]] | None = None,
) -> dict[tuple[str, str], int]:
    """Sum the channel's journal lines by entry month and account, credit - debit.

    ``entry_ids`` limits the sum to entries whose ids fall in the given
    inclusive ranges; None sums every entry on the channel.
    """
    query = (
        select(
            JournalEntry.entry_date,
            Account.code,
            func.sum(JournalLine.credit) - func.sum(JournalLine.debit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.channel_id == channel_id)
        .group_by(JournalEntry.entry_date, Account.code)
    )
    if entry_ids is not None:
        if not entry_ids:
            return {}
        query = query.where(
            or_(*(JournalEntry.id.between(low, high) for low, high in entry_ids))
        )
    totals: dict[tuple[str, str], int] = {}
    for day, code, amount in session.execute(query):
        key = (f"{day.year:04d}-{day.month:02d}", code)
        totals[key] = totals.get(key, 0) + int(amount)
    return totals


def over_credits(
    session: Session,
    channel_id: int,
    invoice_ids: Sequence[tuple[int, int]] | None = None,
) -> list[OverCredit]:
    """List the channel's credit notes that take a linked invoice's credits too far.

    Credit notes are taken in the order they were issued, so the list names
    the ones that crossed the invoice's total and every later one.
    ``invoice_ids`` limits the list (not the sums) to credit notes whose ids
    fall in the given inclusive ranges.
    """
    original = Invoice.__table__.alias("original")
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.display_number,
            Invoice.total,
            original.c.id,
            original.c.display_number,
            original.c.total,
        )
        .join(SalesOrder, SalesOrder.id == Invoice.order_id)
        .join(original, original.c.id == Invoice.credits_invoice_id)
        .where(SalesOrder.channel_id == channel_id, Invoice.kind == "credit_note")
        .order_by(Invoice.issued_at, Invoice.id)
    )
    credited: dict[int, int] = {}
    found: list[OverCredit] = []
    for note_id, number, amount, invoice_id, invoice_number, invoice_total in rows:
        so_far = credited.get(invoice_id, 0) + int(amount)
        credited[invoice_id] = so_far
        listed = invoice_ids is None or any(
            low <= note_id <= high for low, high in invoice_ids
        )
        if listed and so_far > int(invoice_total):
            found.append(
                OverCredit(number, invoice_number, int(amount), so_far, invoice_total)
            )
    return found


def compare(
    file_totals: Mapping[tuple[str, str], int],
    ledger_totals: Mapping[tuple[str, str], int],
) -> list[MonthAccount]:
    """Pair the two sides, one row per month and account that either side has."""
    keys = sorted(set(file_totals) | set(ledger_totals))
    return [
        MonthAccount(month, account, file_totals.get(key, 0), ledger_totals.get(key, 0))
        for key in keys
        for month, account in [key]
    ]
