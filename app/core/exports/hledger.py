"""hledger journal export that `hledger check --strict` accepts.

Strict mode needs every account and commodity declared. So the file starts
with a `commodity` directive for the shop currency, which also fixes the
decimal mark, and one `account` directive per account with its type tag
(A, L, E, R or X). Each journal entry becomes a cleared transaction whose code
is the entry number; every posting's amount is written out.

Account names are the same as in the Beancount export ("Assets:A1000-Bank").
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TextIO

from app.core.exports.beancount import LedgerAccountNames
from app.core.exports.model import (
    ExportLedger,
    atomic_path,
    checked_entries,
    currency_exponent,
    format_minor_units,
    format_rate,
    single_line_text,
)

logger = logging.getLogger(__name__)

ACCOUNT_TYPE_TAGS = {
    "asset": "A",
    "liability": "L",
    "equity": "E",
    "income": "R",
    "expense": "X",
}


def hledger_description(text: str) -> str:
    """Make `text` safe as a transaction description.

    A semicolon starts a comment in hledger and has no escape, so it becomes
    a comma; line breaks become spaces.
    """
    return single_line_text(text).replace(";", ",").strip()


def hledger_code(text: str) -> str:
    """Make `text` safe inside the parentheses of a transaction code."""
    return single_line_text(text).replace(")", "]").replace("(", "[").strip()


def hledger_tag_value(text: str) -> str:
    """Make `text` safe as a tag value: a comma or line break would end it."""
    return single_line_text(text).replace(",", " ").strip()


def write_hledger(ledger: ExportLedger, path: Path | str) -> list[Path]:
    """Write the ledger as an hledger journal and return `[path]`.

    Declares every account of the chart and every account a line uses. Raises
    ExportError naming the first entry that does not balance, and then leaves
    no file behind.
    """
    target = Path(path)
    names = LedgerAccountNames(ledger.accounts)

    # Declarations go first, but the accounts used are known only after
    # reading every entry, so the transactions go to a temporary file first.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as body:
        _write_transactions(ledger, body, names)
        body.seek(0)
        with (
            atomic_path(target) as temporary,
            temporary.open("w", encoding="utf-8", newline="") as out,
        ):
            _write_header(ledger, out, names)
            shutil.copyfileobj(body, out)
    return [target]


def _write_header(ledger: ExportLedger, out: TextIO, names: LedgerAccountNames) -> None:
    out.write(
        f"; Ledger export of {single_line_text(ledger.shop_name)} from "
        f"{ledger.date_from.isoformat()} to {ledger.date_to.isoformat()}\n\n"
    )
    # The sample amount sets the display precision and the decimal mark, so
    # "1.000 KWD" is read as one dinar rather than a thousand. hledger rejects
    # a sample without a decimal mark, hence "1000." for currencies without
    # minor units.
    exponent = ledger.currency_exponent
    sample = format_minor_units(1000 * 10**exponent, exponent)
    if exponent == 0:
        sample += "."
    out.write(f"commodity {sample} {ledger.currency}\n\n")
    for code, name in names.all_names().items():
        account = names.accounts[code]
        tag = ACCOUNT_TYPE_TAGS[account.type]
        title = hledger_tag_value(account.name)
        out.write(f"account {name}  ; type: {tag}, code: {hledger_tag_value(code)}, ")
        out.write(f"title: {title}\n")
    out.write("\n")


def _write_transactions(
    ledger: ExportLedger, body: TextIO, names: LedgerAccountNames
) -> None:
    currency = ledger.currency
    exponent = ledger.currency_exponent
    write = body.write
    count = 0
    for entry in checked_entries(ledger):
        write(
            f"{entry.date.isoformat()} * ({hledger_code(entry.number)}) "
            f"{hledger_description(entry.description)}  ; "
            f"source: {hledger_tag_value(entry.source)}, entry_id: {entry.entry_id}\n"
        )
        for line in entry.lines:
            account_name = names.name(line.account)
            amount = format_minor_units(line.amount, exponent)
            write(f"    {account_name}  {amount} {currency}")
            tags = []
            if line.channel:
                tags.append(f"channel: {hledger_tag_value(line.channel)}")
            if line.tax_rate is not None:
                tags.append(f"tax_rate: {format_rate(line.tax_rate)}")
            if line.fx_currency is not None and line.fx_amount is not None:
                fx_amount = format_minor_units(
                    line.fx_amount, currency_exponent(line.fx_currency)
                )
                tags.append(f"fx_amount: {fx_amount} {line.fx_currency}")
            if tags:
                write("  ; " + ", ".join(tags))
            write("\n")
            if line.memo:
                write(f"      ; {single_line_text(line.memo)}\n")
        write("\n")
        count += 1
    logger.debug("hledger export wrote %d transactions", count)
