"""Invoices and credit notes, numbered from gap-free series.

A number is taken from its series inside the transaction that issues the
document, with the series row locked, so a rolled-back transaction gives its
number back and two machines never issue the same one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.core.exceptions import NotFound
from app.core.models import Invoice, SalesOrder, Sequence
from app.core.uow import UnitOfWork

SERIES_PREFIX = {"invoice": "INV-", "credit_note": "CN-", "manual_order": "M"}


def next_number(uow: UnitOfWork, series: str) -> int:
    """Take the next number of a series; callers hold the transaction open."""
    session = uow.session
    row = session.scalar(uow.locked(select(Sequence).where(Sequence.name == series)))
    if row is None:
        row = Sequence(name=series, prefix=SERIES_PREFIX.get(series, ""), next_value=1)
        session.add(row)
        session.flush()
    number = row.next_value
    row.next_value = number + 1
    return number


def _issue(
    uow: UnitOfWork,
    order: SalesOrder,
    kind: str,
    total: int,
    tax_total: int,
    entry_id: int | None,
    credits: int | None = None,
) -> Invoice:
    session = uow.session
    number = next_number(uow, kind)
    invoice = Invoice(
        order_id=order.id,
        kind=kind,
        series=kind,
        number=number,
        display_number=f"{SERIES_PREFIX[kind]}{number:06d}",
        issued_at=order.placed_at
        if kind == "invoice" and not order.invoice_id
        else datetime.now(UTC),
        currency=order.currency,
        total=total,
        tax_total=tax_total,
        credits_invoice_id=credits,
        journal_entry_id=entry_id,
    )
    session.add(invoice)
    session.flush()
    return invoice


def issue_invoice(uow: UnitOfWork, order: SalesOrder, entry_id: int | None) -> Invoice:
    return _issue(uow, order, "invoice", order.total, order.tax_total, entry_id)


def issue_credit_note(
    uow: UnitOfWork,
    order: SalesOrder,
    invoice_id: int,
    entry_id: int | None,
    *,
    full: bool,
    amount: int | None = None,
    tax: int = 0,
) -> Invoice:
    """Credit an invoice in full, or by ``amount`` (order minor units)."""
    original = uow.session.get(Invoice, invoice_id)
    if original is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    total = original.total if full else (amount or 0)
    tax_total = original.tax_total if full else tax
    return _issue(
        uow, order, "credit_note", total, tax_total, entry_id, credits=invoice_id
    )
