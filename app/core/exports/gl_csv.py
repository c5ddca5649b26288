"""General ledger CSV: one row per journal line, for spreadsheets and auditors."""

from __future__ import annotations

from pathlib import Path

from app.core.exports.csvsafe import amount_cell, open_safe_csv
from app.core.exports.model import (
    ExportLedger,
    checked_entries,
    currency_exponent,
    format_rate,
)

GL_HEADER = (
    "Date",
    "Entry number",
    "Description",
    "Account code",
    "Account name",
    "Debit",
    "Credit",
    "Channel",
    "Memo",
    "Tax rate",
    "FX currency",
    "FX amount",
)
GL_AMOUNT_COLUMNS = ("Debit", "Credit", "Tax rate", "FX amount")


def write_gl_csv(
    ledger: ExportLedger, path: Path | str, *, bom: bool = True
) -> list[Path]:
    """Write the general ledger CSV to `path` and return `[path]`.

    Dates are ISO 8601; Debit and Credit are decimals in the shop currency;
    FX amount is a decimal in FX currency (ISO 4217 exponent). Raises
    ExportError naming the first entry that does not balance, and then leaves
    no file behind.
    """
    target = Path(path)
    exponent = ledger.currency_exponent
    with open_safe_csv(target, GL_HEADER, GL_AMOUNT_COLUMNS, bom=bom) as writer:
        for entry in checked_entries(ledger):
            date = entry.date.isoformat()
            for line in entry.lines:
                fx_amount = ""
                if line.fx_currency is not None and line.fx_amount is not None:
                    fx_amount = amount_cell(
                        line.fx_amount, currency_exponent(line.fx_currency)
                    )
                writer.write_row(
                    (
                        date,
                        entry.number,
                        entry.description,
                        line.account.code,
                        line.account.name,
                        amount_cell(line.debit, exponent),
                        amount_cell(line.credit, exponent),
                        line.channel or "",
                        line.memo,
                        "" if line.tax_rate is None else format_rate(line.tax_rate),
                        line.fx_currency or "",
                        fx_amount,
                    )
                )
    return [target]
