"""Month-end close runs, fiscal years, channel payouts and bank statement lines.

Payout amounts without ``_shop`` are minor units of the payout's currency;
``*_shop`` amounts are shop-currency minor units as posted. Bank lines are in
the shop currency, because the bank account is account 1000 of the books.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, Money, Rate, utcnow


class CloseRun(Base):
    """One attempt at closing a month, from its first checklist run to the lock.

    A month that is reopened and closed again gets a new row, so the time
    each close took stays on record. ``closed_at`` is None while the month
    is still being worked on.
    """

    __tablename__ = "close_run"
    __table_args__ = (Index("ix_close_run_period", "year", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    month: Mapped[int]
    first_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    forced: Mapped[bool] = mapped_column(default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)
    blocking_count: Mapped[int] = mapped_column(default=0)
    warning_count: Mapped[int] = mapped_column(default=0)


class FiscalYear(Base):
    """A fiscal year of the books; ``name`` is the calendar year it ends in."""

    __tablename__ = "fiscal_year"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[int] = mapped_column(unique=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closing_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class Payout(Base):
    """Money a channel or payment provider sent to the bank account.

    ``amount`` is what reached the bank, ``fees`` what the provider kept, so
    ``amount + fees`` is what left channel clearing (1100). A payout posts
    once, when its status is ``paid``; ``journal_entry_id`` marks it posted.
    """

    __tablename__ = "payout"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_payout_paid_on", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    paid_on: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(Money)
    fees: Mapped[int] = mapped_column(Money, default=0)
    fx_rate: Mapped[Decimal | None] = mapped_column(Rate)
    amount_shop: Mapped[int] = mapped_column(Money, default=0)
    fees_shop: Mapped[int] = mapped_column(Money, default=0)
    fee_account: Mapped[str] = mapped_column(String(10), default="6110")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class PayoutTransaction(Base):
    """One movement of a provider's balance: a charge, refund, fee or payout.

    Amounts are signed from the provider balance's side (+ into it).
    ``payout_id`` is set once a payout covers the transaction.
    """

    __tablename__ = "payout_transaction"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_payout_transaction_payout", "payout_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[int] = mapped_column(Money)
    fee: Mapped[int] = mapped_column(Money, default=0)
    net: Mapped[int] = mapped_column(Money)
    payout_reference: Mapped[str | None] = mapped_column(String(100))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payout.id"))
    order_reference: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")


class BankLine(Base):
    """One line of an imported bank statement, matched or not.

    ``amount`` is signed shop-currency minor units (+ money in).
    ``fingerprint`` makes importing the same statement twice a no-op.
    ``matched_kind`` is ``payout`` or ``refund`` and ``matched_id`` the id of
    that payout or return refund.
    """

    __tablename__ = "bank_line"
    __table_args__ = (Index("ix_bank_line_date", "line_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement: Mapped[str] = mapped_column(String(200))
    row_no: Mapped[int]
    line_date: Mapped[date]
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    matched_kind: Mapped[str | None] = mapped_column(String(10))
    matched_id: Mapped[int | None]
    matched_at: Mapped[datetime | None]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerMonthTotal(Base):
    """Debits, credits and line count per account, channel and month.

    The reports read whole months from here instead of adding up every
    journal line. ``ledger.post`` adds each entry's lines in the posting
    transaction. Lines written any other way (bulk imports) leave the totals
    short; the reports detect that by the line count and fall back to the
    journal. ``channel_key`` is the channel id, 0 for lines without one.
    ``closing`` marks lines of year-end closing entries and their reversals.
    """

    __tablename__ = "ledger_month_total"
    __table_args__ = (
        UniqueConstraint("account_id", "channel_key", "year", "month", "closing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    channel_key: Mapped[int] = mapped_column(default=0)
    year: Mapped[int]
    month: Mapped[int]
    closing: Mapped[bool] = mapped_column(default=False)
    debit: Mapped[int] = mapped_column(Money, default=0)
    credit: Mapped[int] = mapped_column(Money, default=0)
    line_count: Mapped[int] = mapped_column(default=0)
