"""Post the opening balances of a shop moving in from other books.

The file lists account codes with a debit or a credit (columns ``account``,
``debit``, ``credit``, optionally ``date``), in the shop currency's major
units. They become one journal entry on the cut-over date, and 3100 Opening
balances takes the difference so that the entry balances. 3100 itself may
not appear in the file, and neither may 1200 Inventory: opening stock comes
in through ``import stock``, which also writes the cost layers that the
inventory account must equal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from app.core import ledger
from app.core.exceptions import PeriodClosed
from app.core.importing.errors import MissingColumnsError, Problem
from app.core.importing.tables import Columns, RowProblems, parse_decimal, read_table
from app.core.ledger import Posting
from app.core.models import Account, JournalEntry
from app.core.money import currency_exponent, format_minor, to_minor
from app.core.shop import get_shop, local_day_start, shop_zone
from app.core.uow import UnitOfWork

logger = logging.getLogger(__name__)

OPENING_ACCOUNT = "3100"
INVENTORY_ACCOUNT = "1200"
ENTRY_KIND = "opening_balances"
_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("Account", "Account code", "Code"),
    "debit": ("Debit", "Debits"),
    "credit": ("Credit", "Credits"),
    "date": ("Date",),
}


@dataclass
class OpeningBalancesResult:
    """The posted entry, or the problems that kept the file out.

    Amounts are in the shop currency's minor units. ``opening_difference``
    is what 3100 takes: positive is a credit to 3100.
    """

    file: str
    currency: str
    status: Literal["posted", "rejected"] = "posted"
    entry_id: int | None = None
    entry_date: date | None = None
    accounts: int = 0
    debit_total: int = 0
    credit_total: int = 0
    opening_difference: int = 0
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        c = self.currency
        return {
            "file": self.file,
            "status": self.status,
            "entry_id": self.entry_id,
            "entry_date": self.entry_date.isoformat() if self.entry_date else None,
            "accounts": self.accounts,
            "debit_total": format_minor(self.debit_total, c),
            "credit_total": format_minor(self.credit_total, c),
            "opening_balances_3100": format_minor(self.opening_difference, c),
            "problem_count": len(self.problems),
            "problems": [
                {
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def import_opening_balances(
    uow: UnitOfWork, path: str | Path, *, on: date | None = None
) -> OpeningBalancesResult:
    """Post the file's balances as one entry against 3100 Opening balances.

    The date is ``on`` when given, else the file's ``date`` column (the same
    on every row), else today in the shop's time zone. The file is rejected
    whole when any row has a problem or when opening balances were posted
    before. The caller commits.
    """
    session = uow.session
    shop = get_shop(session)
    currency = shop.currency
    places = currency_exponent(currency)
    table = read_table(path)
    result = OpeningBalancesResult(file=str(table.path), currency=currency)
    try:
        columns = Columns(table, _COLUMNS, required=("account", "debit", "credit"))
    except MissingColumnsError as exc:
        result.status = "rejected"
        result.problems = list(exc.problems)
        return result
    problems = RowProblems(table.path, columns)
    codes = set(session.scalars(select(Account.code)))

    postings: list[Posting] = []
    dates: dict[date, int] = {}
    for row, fields in table.rows:
        code = columns.get(fields, "account")
        amounts = []
        for side in ("debit", "credit"):
            text = columns.get(fields, side)
            value = parse_decimal(text, places) if text else None
            if text and (value is None or value < 0):
                problems.add(
                    row,
                    side,
                    text,
                    f"is not an amount. Enter it without a sign, with at most "
                    f"{places} decimal places, such as 1250.00.",
                )
                value = None
            amounts.append(to_minor(value, currency) if value is not None else 0)
        debit, credit = amounts
        if not code:
            problems.add(row, "account", "", "is empty. Enter an account code.")
        elif code == OPENING_ACCOUNT:
            problems.add(
                row,
                "account",
                code,
                "is Opening balances, which takes the difference of the other "
                "rows. Leave it out of the file.",
            )
        elif code == INVENTORY_ACCOUNT:
            problems.add(
                row,
                "account",
                code,
                "is Inventory, which must equal the stock's cost layers. Import "
                "the opening stock with `backroom import stock` instead.",
            )
        elif code not in codes:
            problems.add(
                row,
                "account",
                code,
                "is not in the chart of accounts. Add the account or correct the code.",
            )
        if debit and credit:
            problems.add(
                row,
                None,
                "",
                f"Row {row} has both a debit and a credit. Enter the account's "
                "balance on one side only.",
            )
        text = columns.get(fields, "date")
        if text:
            try:
                dates.setdefault(date.fromisoformat(text), row)
            except ValueError:
                problems.add(
                    row, "date", text, "is not a date. Write it as YYYY-MM-DD."
                )
        if debit or credit:
            postings.append(Posting(code, debit=debit, credit=credit))

    entry_date = on
    if entry_date is None and len(dates) > 1:
        first, *others = sorted(dates.items(), key=lambda item: item[1])
        for day, row in others:
            problems.add(
                row,
                "date",
                day.isoformat(),
                f"differs from {first[0].isoformat()} on row {first[1]}. Opening "
                "balances have one cut-over date.",
            )
    if entry_date is None:
        entry_date = min(dates) if dates else _today(uow)
    if not postings and not problems:
        problems.add(1, None, "", "The file has no debit or credit to post.")

    earlier = session.scalar(
        select(JournalEntry.id).where(JournalEntry.kind == ENTRY_KIND).limit(1)
    )
    if earlier is not None:
        problems.add(
            1,
            None,
            "",
            f"Opening balances were already posted as journal entry {earlier}. "
            "Reverse that entry first to post them again.",
        )
    try:
        ledger.ensure_open(session, entry_date, "opening balances")
    except PeriodClosed as exc:
        problems.add(1, None, entry_date.isoformat(), f"{exc}.")

    if problems:
        result.status = "rejected"
        result.problems = sorted(problems.problems, key=lambda p: p.row)
        return result

    debit_total = sum(p.debit for p in postings)
    credit_total = sum(p.credit for p in postings)
    difference = debit_total - credit_total
    postings.append(
        Posting(
            OPENING_ACCOUNT,
            debit=max(-difference, 0),
            credit=max(difference, 0),
        )
    )
    entry = ledger.post(
        uow,
        occurred_at=local_day_start(entry_date, shop_zone(session)),
        kind=ENTRY_KIND,
        description=f"Opening balances from {table.path.name}",
        postings=postings,
    )
    assert entry is not None
    result.entry_id = entry.id
    result.entry_date = entry.entry_date
    result.accounts = len({p.account for p in postings}) - 1
    result.debit_total = debit_total
    result.credit_total = credit_total
    result.opening_difference = difference
    logger.info(
        "posted opening balances from %s as entry %d on %s",
        table.path,
        entry.id,
        entry_date,
    )
    return result


def _today(uow: UnitOfWork) -> date:
    return datetime.now(UTC).astimezone(shop_zone(uow.session)).date()
