"""General ledger detail and channel profitability, from the journal lines.

Both read journal lines between two shop-local dates (both included).
Channel profitability leaves the year-end closing entries out, like profit
and loss, so it adds up to the same net profit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import Account, Channel, JournalEntry, JournalLine
from app.core.money import format_minor
from app.core.reports import CLOSING_KINDS
from app.core.shop import get_shop


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- general ledger ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One journal line on an account; ``balance`` is the running debit balance."""

    entry_id: int
    date: date
    kind: str
    description: str
    debit: int
    credit: int
    balance: int
    channel: str | None
    memo: str | None


@dataclass(frozen=True, slots=True)
class AccountLedger:
    """One account's lines in the dates, with the balance before and after.

    Balances are debit minus credit (negative for a credit balance).
    """

    code: str
    name: str
    type: str
    opening: int
    lines: tuple[LedgerLine, ...]

    @property
    def debit_total(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def credit_total(self) -> int:
        return sum(line.credit for line in self.lines)

    @property
    def closing(self) -> int:
        return self.opening + self.debit_total - self.credit_total


@dataclass(frozen=True, slots=True)
class GeneralLedger:
    currency: str
    date_from: date | None
    date_to: date | None
    accounts: tuple[AccountLedger, ...]

    def to_json(self) -> dict[str, Any]:
        c = self.currency
        return {
            "report": "general-ledger",
            "currency": c,
            "from": _iso(self.date_from),
            "to": _iso(self.date_to),
            "accounts": [
                {
                    "code": a.code,
                    "name": a.name,
                    "type": a.type,
                    "opening": format_minor(a.opening, c),
                    "debit": format_minor(a.debit_total, c),
                    "credit": format_minor(a.credit_total, c),
                    "closing": format_minor(a.closing, c),
                    "lines": [
                        {
                            "entry": line.entry_id,
                            "date": line.date.isoformat(),
                            "kind": line.kind,
                            "description": line.description,
                            "debit": format_minor(line.debit, c),
                            "credit": format_minor(line.credit, c),
                            "balance": format_minor(line.balance, c),
                            "channel": line.channel,
                            "memo": line.memo,
                        }
                        for line in a.lines
                    ],
                }
                for a in self.accounts
            ],
        }


def general_ledger(
    session: Session,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    accounts: list[str] | None = None,
) -> GeneralLedger:
    """Return every line of the accounts (default: all with activity) in the dates."""
    chart = session.scalars(select(Account).order_by(Account.code)).all()
    if accounts:
        wanted = set(accounts)
        chart = [a for a in chart if a.code in wanted]
    ids = [a.id for a in chart]

    opening: dict[int, int] = {}
    if date_from is not None:
        opening = {
            account_id: int(net)
            for account_id, net in session.execute(
                select(
                    JournalLine.account_id,
                    func.sum(JournalLine.debit - JournalLine.credit),
                )
                .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                .where(
                    JournalLine.account_id.in_(ids),
                    JournalEntry.entry_date < date_from,
                )
                .group_by(JournalLine.account_id)
            )
        }

    query = (
        select(
            JournalLine.account_id,
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.kind,
            JournalEntry.description,
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.channel_id,
            JournalLine.memo,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id.in_(ids))
        .order_by(JournalLine.account_id, JournalEntry.entry_date, JournalEntry.id)
    )
    if date_from is not None:
        query = query.where(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.entry_date <= date_to)

    channels = dict(session.execute(select(Channel.id, Channel.name)).all())
    by_account: dict[int, list[LedgerLine]] = defaultdict(list)
    running = dict(opening)
    for row in session.execute(query):
        account_id = row[0]
        balance = running.get(account_id, 0) + int(row[5]) - int(row[6])
        running[account_id] = balance
        by_account[account_id].append(
            LedgerLine(
                entry_id=row[1],
                date=row[2],
                kind=row[3],
                description=row[4],
                debit=int(row[5]),
                credit=int(row[6]),
                balance=balance,
                channel=channels.get(row[7]) if row[7] is not None else None,
                memo=row[8],
            )
        )

    result = [
        AccountLedger(
            a.code, a.name, a.type, opening.get(a.id, 0), tuple(by_account[a.id])
        )
        for a in chart
        if by_account.get(a.id) or opening.get(a.id) or accounts
    ]
    return GeneralLedger(get_shop(session).currency, date_from, date_to, tuple(result))


# --- channel profitability --------------------------------------------------

#: Accounts with their own column; any other income or expense account goes
#: to "other".
SALES, SHIPPING_INCOME, RESTOCKING = "4000", "4010", "4020"
RETURNS, DISCOUNTS = "4900", "4910"
COGS, SHIPPING_COST = "5000", "6200"
FEES = ("6100", "6110")
OWN_COLUMNS = frozenset(
    {SALES, SHIPPING_INCOME, RESTOCKING, RETURNS, DISCOUNTS, COGS, SHIPPING_COST}
)


@dataclass(frozen=True, slots=True)
class ChannelProfit:
    """One channel's income and costs in shop minor units, all positive-normal.

    ``returns`` and ``discounts`` reduce revenue; ``other`` is every other
    expense less every other income (shrinkage, rounding, exchange ...).
    """

    channel_id: int | None
    channel: str
    sales: int
    shipping_income: int
    restocking_fees: int
    returns: int
    discounts: int
    cost_of_goods: int
    fees: int
    shipping_cost: int
    other: int

    @property
    def net_revenue(self) -> int:
        return (
            self.sales
            + self.shipping_income
            + self.restocking_fees
            - self.returns
            - self.discounts
        )

    @property
    def gross_profit(self) -> int:
        return self.net_revenue - self.cost_of_goods

    @property
    def contribution(self) -> int:
        return self.gross_profit - self.fees - self.shipping_cost - self.other

    @property
    def margin_percent(self) -> str | None:
        """Contribution as a percent of net revenue, one decimal, or None."""
        if not self.net_revenue:
            return None
        return f"{self.contribution * 100 / self.net_revenue:.1f}"


@dataclass(frozen=True, slots=True)
class ChannelProfitability:
    currency: str
    date_from: date | None
    date_to: date | None
    channels: tuple[ChannelProfit, ...]

    @property
    def total_contribution(self) -> int:
        return sum(c.contribution for c in self.channels)

    def to_json(self) -> dict[str, Any]:
        c = self.currency

        def amount(value: int) -> str:
            return format_minor(value, c)

        return {
            "report": "channel-profitability",
            "currency": c,
            "from": _iso(self.date_from),
            "to": _iso(self.date_to),
            "channels": [
                {
                    "channel": p.channel,
                    "sales": amount(p.sales),
                    "shipping_income": amount(p.shipping_income),
                    "restocking_fees": amount(p.restocking_fees),
                    "returns": amount(p.returns),
                    "discounts": amount(p.discounts),
                    "net_revenue": amount(p.net_revenue),
                    "cost_of_goods_sold": amount(p.cost_of_goods),
                    "gross_profit": amount(p.gross_profit),
                    "fees": amount(p.fees),
                    "shipping_cost": amount(p.shipping_cost),
                    "other": amount(p.other),
                    "contribution": amount(p.contribution),
                    "margin_percent": p.margin_percent,
                }
                for p in self.channels
            ],
            "total_contribution": amount(self.total_contribution),
        }


def channel_profitability(
    session: Session, *, date_from: date | None = None, date_to: date | None = None
) -> ChannelProfitability:
    """Return revenue, costs and contribution per channel in the dates.

    The channels' contributions add up to the period's net profit.
    """
    query = (
        select(
            JournalLine.channel_id,
            Account.code,
            func.sum(JournalLine.debit - JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(
            Account.type.in_(("income", "expense")),
            JournalEntry.kind.not_in(CLOSING_KINDS),
        )
        .group_by(JournalLine.channel_id, Account.code)
    )
    if date_from is not None:
        query = query.where(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.entry_date <= date_to)
    nets: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for channel_id, code, net in session.execute(query):
        net = int(net or 0)
        bucket = nets[channel_id]
        if code in OWN_COLUMNS:
            bucket[code] += net
        elif code in FEES:
            bucket["fees"] += net
        else:
            # Other expenses count positive, other income negative.
            bucket["other"] += net
    names = dict(session.execute(select(Channel.id, Channel.name)).all())
    rows = []
    for channel_id in sorted(
        nets, key=lambda c: (c is None, names.get(c, "") if c else "", c or 0)
    ):
        b = nets[channel_id]
        rows.append(
            ChannelProfit(
                channel_id=channel_id,
                channel=names.get(channel_id, "No channel")
                if channel_id is not None
                else "No channel",
                sales=-b[SALES],
                shipping_income=-b[SHIPPING_INCOME],
                restocking_fees=-b[RESTOCKING],
                returns=b[RETURNS],
                discounts=b[DISCOUNTS],
                cost_of_goods=b[COGS],
                fees=b["fees"],
                shipping_cost=b[SHIPPING_COST],
                other=b["other"],
            )
        )
    return ChannelProfitability(
        get_shop(session).currency, date_from, date_to, tuple(rows)
    )
