"""Chart of accounts, journal entries and lines, accounting periods."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, Money, Rate, utcnow


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    contra: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class JournalEntry(Base):
    """A posted, balanced entry; never edited, only reversed.

    ``entry_date`` is the shop-local date that decides its period;
    ``recorded_at`` is when Backroom wrote it (UTC).
    """

    __tablename__ = "journal_entry"
    __table_args__ = (
        Index("ix_journal_entry_date", "entry_date"),
        Index("ix_journal_entry_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_date: Mapped[date]
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(30))
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entry.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    lines: Mapped[list[JournalLine]] = relationship(back_populates="entry")


class JournalLine(Base):
    """One account's debit or credit in an entry, in shop minor units."""

    __tablename__ = "journal_line"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0", name="amounts_not_negative"),
        Index("ix_journal_line_account", "account_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entry.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    debit: Mapped[int] = mapped_column(Money, default=0)
    credit: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    tax_rate: Mapped[Decimal | None] = mapped_column(Rate)
    fx_currency: Mapped[str | None] = mapped_column(String(3))
    fx_amount: Mapped[int | None] = mapped_column(Money)
    memo: Mapped[str | None] = mapped_column(Text)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


class Period(Base):
    """A calendar month of the shop's books, open or closed.

    On close the count of lines and the sum of debits in the month are kept,
    so that ``backroom check`` can prove nothing in it changed afterwards.
    """

    __tablename__ = "period"
    __table_args__ = (UniqueConstraint("year", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    month: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_line_count: Mapped[int | None]
    closed_debit_total: Mapped[int | None] = mapped_column(Money)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
