"""QuickBooks Online journal entry import CSV.

Columns follow Intuit's "Import journal entries" help article: Journal No.,
Journal Date, Account Name, Description, Debits, Credits and Name, plus Class
when `channel_as_class` is set. Rows that share a Journal No. form one journal
entry, and each entry's debits equal its credits. Before importing, the
QuickBooks Online company must have account numbers switched off and every
account present under the same name (see `quickbooks_account_name`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.exports.csvsafe import amount_cell, open_safe_csv
from app.core.exports.iif import QuickBooksAccounts, quickbooks_line_name
from app.core.exports.model import (
    ExportEntry,
    ExportLedger,
    checked_entries,
    single_line_text,
)

logger = logging.getLogger(__name__)

QBO_HEADER = (
    "Journal No.",
    "Journal Date",
    "Account Name",
    "Description",
    "Debits",
    "Credits",
    "Name",
)
QBO_AMOUNT_COLUMNS = ("Debits", "Credits")


def qbo_date(entry: ExportEntry, *, day_first: bool) -> str:
    """Return the entry date as MM/DD/YYYY, or DD/MM/YYYY when `day_first`."""
    day = entry.date
    if day_first:
        return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def write_qbo(
    ledger: ExportLedger,
    path: Path | str,
    *,
    day_first: bool = False,
    channel_as_class: bool = False,
    bom: bool = True,
) -> list[Path]:
    """Write the QuickBooks Online journal entry CSV to `path`; return `[path]`.

    QuickBooks Online reads dates in the company's region format: MM/DD/YYYY by
    default, DD/MM/YYYY with `day_first` (for example UK, Australian and
    Canadian companies). Lines whose debit equals their credit are left out
    because the import rejects a row with no amount, and an entry with only
    such lines is left out entirely. A/R and A/P rows get a Name (see
    `quickbooks_line_name`). Raises ExportError naming the first entry that
    does not balance, and then leaves no file behind.
    """
    target = Path(path)
    exponent = ledger.currency_exponent
    header = (*QBO_HEADER, "Class") if channel_as_class else QBO_HEADER
    accounts = QuickBooksAccounts()
    skipped = 0
    with open_safe_csv(target, header, QBO_AMOUNT_COLUMNS, bom=bom) as writer:
        for entry in checked_entries(ledger):
            lines = [line for line in entry.lines if line.amount != 0]
            if not lines:
                skipped += 1
                continue
            date = qbo_date(entry, day_first=day_first)
            for line in lines:
                account_name, account_type = accounts.lookup(line.account)
                amount = line.amount
                row = [
                    single_line_text(entry.number),
                    date,
                    account_name,
                    single_line_text(line.memo or entry.description),
                    amount_cell(amount, exponent) if amount > 0 else "",
                    amount_cell(-amount, exponent) if amount < 0 else "",
                    quickbooks_line_name(ledger, line, account_type),
                ]
                if channel_as_class:
                    row.append(single_line_text(line.channel or ""))
                writer.write_row(row)
    if skipped:
        logger.info("QuickBooks Online export left out %d zero-amount entries", skipped)
    return [target]
