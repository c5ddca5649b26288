"""Trial balance, profit and loss, and balance sheet from the journal.

Dates are the shop-local ``entry_date`` of each journal entry, so ``as_of``
takes in the whole of that local day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.ledger import DEBIT_NORMAL
from app.core.models import Account, JournalEntry, JournalLine
from app.core.money import format_minor
from app.core.shop import get_shop

#: Journal entry kinds of the year-end close and of its reversal. Profit and
#: loss leaves them out, so a closed year still shows its income statement.
YEAR_END_CLOSE = "year_end.close"
YEAR_END_REOPEN = "year_end.reopen"
CLOSING_KINDS = (YEAR_END_CLOSE, YEAR_END_REOPEN)


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's debit and credit totals for a report's dates."""

    code: str
    name: str
    type: str
    contra: bool
    debit_total: int
    credit_total: int

    @property
    def balance(self) -> int:
        """Balance on the account's normal side (positive = normal)."""
        net = self.debit_total - self.credit_total
        return net if self.type in DEBIT_NORMAL else -net

    @property
    def debit(self) -> int:
        net = self.debit_total - self.credit_total
        return max(net, 0)

    @property
    def credit(self) -> int:
        net = self.debit_total - self.credit_total
        return max(-net, 0)


def balances(
    session: Session,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    channel_id: int | None = None,
    exclude_kinds: Collection[str] = (),
) -> list[AccountBalance]:
    """Return every account of the chart with its totals, zero ones included.

    ``exclude_kinds`` leaves out journal entries of those kinds. Whole months
    come from the per-month totals when they cover the whole journal.
    """
    # Imported here because the accounting package imports this module.
    from app.core.accounting.totals import month_balances

    totals = month_balances(
        session,
        date_from=date_from,
        date_to=date_to,
        channel_id=channel_id,
        exclude_kinds=exclude_kinds,
    )
    if totals is None:
        totals = _journal_sums(session, date_from, date_to, channel_id, exclude_kinds)
    accounts = session.scalars(select(Account).order_by(Account.code)).all()
    return [
        AccountBalance(
            code=a.code,
            name=a.name,
            type=a.type,
            contra=a.contra,
            debit_total=totals.get(a.id, (0, 0))[0],
            credit_total=totals.get(a.id, (0, 0))[1],
        )
        for a in accounts
    ]


def _journal_sums(
    session: Session,
    date_from: date | None,
    date_to: date | None,
    channel_id: int | None,
    exclude_kinds: Collection[str],
) -> dict[int, tuple[int, int]]:
    """Add up the journal lines per account in the dates."""
    sums = (
        select(
            JournalLine.account_id.label("account_id"),
            func.coalesce(func.sum(JournalLine.debit), 0).label("debit"),
            func.coalesce(func.sum(JournalLine.credit), 0).label("credit"),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .group_by(JournalLine.account_id)
    )
    if date_from is not None:
        sums = sums.where(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        sums = sums.where(JournalEntry.entry_date <= date_to)
    if channel_id is not None:
        sums = sums.where(JournalLine.channel_id == channel_id)
    if exclude_kinds:
        sums = sums.where(JournalEntry.kind.not_in(exclude_kinds))
    return {
        row.account_id: (int(row.debit), int(row.credit))
        for row in session.execute(sums)
    }


@dataclass(frozen=True, slots=True)
class TrialBalance:
    currency: str
    as_of: date | None
    date_from: date | None
    rows: list[AccountBalance]

    @property
    def total_debit(self) -> int:
        return sum(r.debit for r in self.rows)

    @property
    def total_credit(self) -> int:
        return sum(r.credit for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        fmt = self.currency
        return {
            "report": "trial-balance",
            "currency": fmt,
            "from": self.date_from.isoformat() if self.date_from else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "accounts": [
                {
                    "code": r.code,
                    "name": r.name,
                    "type": r.type,
                    "debit": format_minor(r.debit, fmt),
                    "credit": format_minor(r.credit, fmt),
                }
                for r in self.rows
            ],
            "total_debit": format_minor(self.total_debit, fmt),
            "total_credit": format_minor(self.total_credit, fmt),
        }


def trial_balance(
    session: Session, *, as_of: date | None = None, date_from: date | None = None
) -> TrialBalance:
    rows = balances(session, date_from=date_from, date_to=as_of)
    return TrialBalance(get_shop(session).currency, as_of, date_from, rows)


@dataclass(frozen=True, slots=True)
class ProfitLoss:
    currency: str
    date_from: date | None
    date_to: date | None
    income: list[AccountBalance]
    expenses: list[AccountBalance]

    @property
    def revenue(self) -> int:
        return sum(r.balance for r in self.income)

    @property
    def cost_of_goods(self) -> int:
        return sum(r.balance for r in self.expenses if r.code.startswith("5"))

    @property
    def gross_profit(self) -> int:
        return self.revenue - self.cost_of_goods

    @property
    def total_expenses(self) -> int:
        return sum(r.balance for r in self.expenses)

    @property
    def net_profit(self) -> int:
        return self.revenue - self.total_expenses

    def to_json(self) -> dict[str, Any]:
        c = self.currency

        def rows(items: list[AccountBalance]) -> list[dict[str, str]]:
            return [
                {"code": r.code, "name": r.name, "amount": format_minor(r.balance, c)}
                for r in items
            ]

        margin = (
            f"{self.gross_profit * 100 / self.revenue:.1f}" if self.revenue else None
        )
        return {
            "report": "profit-loss",
            "currency": c,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "income": rows(self.income),
            "expenses": rows(self.expenses),
            "revenue": format_minor(self.revenue, c),
            "cost_of_goods_sold": format_minor(self.cost_of_goods, c),
            "gross_profit": format_minor(self.gross_profit, c),
            "gross_margin_percent": margin,
            "net_profit": format_minor(self.net_profit, c),
        }


def profit_loss(
    session: Session, *, date_from: date | None = None, date_to: date | None = None
) -> ProfitLoss:
    rows = balances(
        session, date_from=date_from, date_to=date_to, exclude_kinds=CLOSING_KINDS
    )
    return ProfitLoss(
        get_shop(session).currency,
        date_from,
        date_to,
        [r for r in rows if r.type == "income"],
        [r for r in rows if r.type == "expense"],
    )


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    currency: str
    as_of: date | None
    assets: list[AccountBalance]
    liabilities: list[AccountBalance]
    equity: list[AccountBalance]
    current_earnings: int

    @property
    def total_assets(self) -> int:
        return sum(r.balance for r in self.assets)

    @property
    def total_liabilities(self) -> int:
        return sum(r.balance for r in self.liabilities)

    @property
    def total_equity(self) -> int:
        return sum(r.balance for r in self.equity) + self.current_earnings

    def to_json(self) -> dict[str, Any]:
        c = self.currency

        def rows(items: list[AccountBalance]) -> list[dict[str, str]]:
            return [
                {"code": r.code, "name": r.name, "amount": format_minor(r.balance, c)}
                for r in items
            ]

        return {
            "report": "balance-sheet",
            "currency": c,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "assets": rows(self.assets),
            "liabilities": rows(self.liabilities),
            "equity": rows(self.equity),
            "current_earnings": format_minor(self.current_earnings, c),
            "total_assets": format_minor(self.total_assets, c),
            "total_liabilities": format_minor(self.total_liabilities, c),
            "total_equity": format_minor(self.total_equity, c),
        }


def balance_sheet(session: Session, *, as_of: date | None = None) -> BalanceSheet:
    """Assets = liabilities + equity, with this year's unclosed result in equity."""
    rows = balances(session, date_to=as_of)
    earnings = sum(r.balance for r in rows if r.type == "income") - sum(
        r.balance for r in rows if r.type == "expense"
    )
    return BalanceSheet(
        get_shop(session).currency,
        as_of,
        [r for r in rows if r.type == "asset"],
        [r for r in rows if r.type == "liability"],
        [r for r in rows if r.type == "equity"],
        earnings,
    )
