"""Sales tax by jurisdiction and rate: charged, refunded, adjusted and owed.

The report is built from the journal lines of 2200 Sales tax payable, so its
total owed always equals the account's movement in the dates. Each line is
put in a jurisdiction through the order behind its entry (the order itself,
a return refund's order, or the order of a reversed entry) and that order's
tax lines of the same rate:

* charged: 2200 credits of order entries (capture, and the repost after an
  order is changed);
* refunded: 2200 debits of cancellations, reversals and refunds (credit notes);
* adjustments: the lines with the capture memo for a channel's tax that
  differs from the shop's rules (signed: a negative adjustment lowers what
  is owed);
* owed = charged - refunded + adjustments.

History imports post no tax, so their sales do not appear here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.accounting.providers import TAX_DIFFERENCE_MEMO
from app.core.models import Account, JournalEntry, JournalLine, SalesOrder, TaxLine
from app.core.models.returns import ReturnRefund
from app.core.money import format_minor
from app.core.shop import get_shop

#: Journal entry kinds whose 2200 credits are tax charged on a sale.
CHARGE_KINDS = frozenset({"order"})


@dataclass(frozen=True, slots=True)
class TaxRow:
    """Tax of one jurisdiction and rate, shop minor units; ``rate`` in percent.

    ``country`` and ``region`` are None when no order could be found for the
    entry; ``rate`` is None for channel differences, which have no rate.
    """

    country: str | None
    region: str | None
    name: str
    rate: Decimal | None
    charged: int
    refunded: int
    adjustments: int

    @property
    def owed(self) -> int:
        return self.charged - self.refunded + self.adjustments


@dataclass(frozen=True, slots=True)
class SalesTaxReport:
    currency: str
    date_from: date | None
    date_to: date | None
    rows: tuple[TaxRow, ...]

    @property
    def total_charged(self) -> int:
        return sum(r.charged for r in self.rows)

    @property
    def total_refunded(self) -> int:
        return sum(r.refunded for r in self.rows)

    @property
    def total_adjustments(self) -> int:
        return sum(r.adjustments for r in self.rows)

    @property
    def total_owed(self) -> int:
        return sum(r.owed for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        c = self.currency
        return {
            "report": "sales-tax",
            "currency": c,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "jurisdictions": [
                {
                    "country": r.country,
                    "region": r.region,
                    "name": r.name,
                    "rate": format(r.rate.normalize(), "f")
                    if r.rate is not None
                    else None,
                    "charged": format_minor(r.charged, c),
                    "refunded": format_minor(r.refunded, c),
                    "adjustments": format_minor(r.adjustments, c),
                    "owed": format_minor(r.owed, c),
                }
                for r in self.rows
            ],
            "total_charged": format_minor(self.total_charged, c),
            "total_refunded": format_minor(self.total_refunded, c),
            "total_adjustments": format_minor(self.total_adjustments, c),
            "total_owed": format_minor(self.total_owed, c),
        }


_Key = tuple[str | None, str | None, str, Decimal | None]


def _order_ids(
    session: Session, sources: set[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Map (source type, source id) of entries to the order behind them."""
    found = {(t, i): i for t, i in sources if t == "sales_order"}
    refund_ids = [i for t, i in sources if t == "return_refund"]
    if refund_ids:
        for refund_id, order_id in session.execute(
            select(ReturnRefund.id, ReturnRefund.order_id).where(
                ReturnRefund.id.in_(refund_ids)
            )
        ):
            found[("return_refund", refund_id)] = order_id
    return found


def sales_tax(
    session: Session, *, date_from: date | None = None, date_to: date | None = None
) -> SalesTaxReport:
    """Return tax charged, refunded and owed per jurisdiction and rate."""
    query = (
        select(
            JournalEntry.kind,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalLine.tax_rate,
            JournalLine.memo,
            JournalLine.debit,
            JournalLine.credit,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(Account.code == "2200")
    )
    if date_from is not None:
        query = query.where(JournalEntry.entry_date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.entry_date <= date_to)
    rows = session.execute(query).all()

    sources = {(r[1], r[2]) for r in rows if r[1] is not None and r[2] is not None}
    orders = _order_ids(session, sources)
    order_ids = set(orders.values())
    names: dict[tuple[int, Decimal], tuple[str | None, str | None, set[str]]] = {}
    for tax in session.scalars(select(TaxLine).where(TaxLine.order_id.in_(order_ids))):
        slot = names.setdefault(
            (tax.order_id, tax.rate), (tax.country, tax.region, set())
        )
        slot[2].add(tax.name)
    places: dict[int, tuple[str | None, str | None]] = {
        o.id: (o.ship_country, o.ship_region)
        for o in session.scalars(select(SalesOrder).where(SalesOrder.id.in_(order_ids)))
    }

    sums: dict[_Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for kind, source_type, source_id, line_rate, memo, debit, credit in rows:
        order_id = (
            orders.get((source_type, source_id))
            if source_type is not None and source_id is not None
            else None
        )
        place = places.get(order_id, (None, None)) if order_id else (None, None)
        net_credit = int(credit) - int(debit)
        if memo and memo.startswith(TAX_DIFFERENCE_MEMO):
            sums[(*place, "channel tax difference", None)][2] += net_credit
            continue
        known = (
            names.get((order_id, line_rate))
            if order_id is not None and line_rate is not None
            else None
        )
        key: _Key = (
            (known[0], known[1], " + ".join(sorted(known[2])), line_rate)
            if known is not None
            else (*place, "tax", line_rate)
        )
        if kind in CHARGE_KINDS:
            sums[key][0] += net_credit
        else:
            sums[key][1] -= net_credit

    report_rows = [
        TaxRow(country, region, name, rate, charged, refunded, adjusted)
        for (country, region, name, rate), (charged, refunded, adjusted) in sums.items()
    ]
    report_rows.sort(
        key=lambda r: (
            r.country or "~",
            r.region or "",
            r.rate is None,
            r.rate or 0,
            r.name,
        )
    )
    return SalesTaxReport(
        get_shop(session).currency, date_from, date_to, tuple(report_rows)
    )
