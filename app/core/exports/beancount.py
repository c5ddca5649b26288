"""Beancount ledger export that bean-check accepts.

The file contains the operating currency option, one `open` directive per account
dated on or before the account's first posting, and one `*` transaction per
journal entry with every posting's amount written out in the shop currency.
Entry number, source and entry id are transaction metadata; channel, memo, tax
rate and the original foreign amount are posting metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from app.core.exports.model import (
    ExportAccount,
    ExportError,
    ExportLedger,
    atomic_path,
    checked_entries,
    currency_exponent,
    format_minor_units,
    format_rate,
    single_line_text,
)

logger = logging.getLogger(__name__)

ROOT_ACCOUNTS = {
    "asset": "Assets",
    "liability": "Liabilities",
    "equity": "Equity",
    "income": "Income",
    "expense": "Expenses",
}
_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9]+")


def account_component(account: ExportAccount) -> str:
    """Build the second component of a ledger account name, e.g. "A1000-Bank".

    Beancount components must start with a capital letter or digit and contain
    only letters, digits and dashes. The component starts with the root's
    initial and the code, which keeps it valid and unique. The name follows
    without accents and apostrophes, and every other run of characters becomes
    a dash, so "Owner's equity" gives "E3000-Owners-equity".
    """
    root = _root(account)
    code = _ascii_words(account.code)
    name = _ascii_words(account.name)
    return "-".join(part for part in (root[0] + code, name) if part)


def _root(account: ExportAccount) -> str:
    root = ROOT_ACCOUNTS.get(account.type)
    if root is None:
        raise ExportError(
            f"Account {account.code} ({account.name!r}) has type {account.type!r}; "
            f"expected one of {', '.join(ROOT_ACCOUNTS)}."
        )
    return root


def _ascii_words(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("'", ""))
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")
    return _NOT_NAME_CHARACTER.sub("-", ascii_text).strip("-")


class LedgerAccountNames:
    """Plain-text ledger account names per account code, kept unique.

    Used by the Beancount and hledger writers. When two codes sanitise to the
    same name (for example codes "1.1" and "1-1"), the one seen later gets
    "-2" appended, the next "-3", and so on. The chart of accounts is named
    first, so names do not depend on which accounts a period happens to use.
    """

    def __init__(self, chart: Iterable[ExportAccount]) -> None:
        self._by_code: dict[str, str] = {}
        self._taken: set[str] = set()
        self.accounts: dict[str, ExportAccount] = {}
        for account in chart:
            self.name(account)

    def name(self, account: ExportAccount) -> str:
        """Return the ledger name of `account`, e.g. "Assets:A1000-Bank"."""
        known = self._by_code.get(account.code)
        if known is not None:
            return known
        base = f"{_root(account)}:{account_component(account)}"
        candidate = base
        suffix = 2
        while candidate.casefold() in self._taken:
            candidate = f"{base}-{suffix}"
            suffix += 1
        self._taken.add(candidate.casefold())
        self._by_code[account.code] = candidate
        self.accounts[account.code] = account
        return candidate

    def all_names(self) -> dict[str, str]:
        """Return ledger name by account code, in first-seen order."""
        return dict(self._by_code)


def beancount_string(text: str) -> str:
    """Quote `text` as a Beancount string on one line."""
    escaped = single_line_text(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_beancount(ledger: ExportLedger, path: Path | str) -> list[Path]:
    """Write the ledger as a Beancount file and return `[path]`.

    Every account of the chart and every account a line uses is opened,
    restricted to the shop currency, on the earlier of `ledger.date_from` and
    its first posting's date. Raises ExportError naming the first entry that
    does not balance, and then leaves no file behind.
    """
    target = Path(path)
    names = LedgerAccountNames(ledger.accounts)
    first_use: dict[str, dt.date] = {}

    # Open directives go first, but their dates are known only after reading
    # every entry, so the transactions go to a temporary file first.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as body:
        _write_transactions(ledger, body, names, first_use)
        body.seek(0)
        with (
            atomic_path(target) as temporary,
            temporary.open("w", encoding="utf-8", newline="") as out,
        ):
            _write_header(ledger, out, names, first_use)
            shutil.copyfileobj(body, out)
    return [target]


def _write_header(
    ledger: ExportLedger,
    out: TextIO,
    names: LedgerAccountNames,
    first_use: dict[str, dt.date],
) -> None:
    out.write(
        f"; Ledger export of {single_line_text(ledger.shop_name)} from "
        f"{ledger.date_from.isoformat()} to {ledger.date_to.isoformat()}\n"
    )
    out.write(f'option "title" {beancount_string(ledger.shop_name)}\n')
    out.write(f'option "operating_currency" "{ledger.currency}"\n\n')
    for code, name in names.all_names().items():
        opened = min(ledger.date_from, first_use.get(code, ledger.date_from))
        out.write(f"{opened.isoformat()} open {name} {ledger.currency}\n")
        account = names.accounts[code]
        out.write(f"  code: {beancount_string(account.code)}\n")
        out.write(f"  title: {beancount_string(account.name)}\n")
        if account.contra:
            out.write("  contra: TRUE\n")
    out.write("\n")


def _write_transactions(
    ledger: ExportLedger,
    body: TextIO,
    names: LedgerAccountNames,
    first_use: dict[str, dt.date],
) -> None:
    currency = ledger.currency
    exponent = ledger.currency_exponent
    write = body.write
    count = 0
    for entry in checked_entries(ledger):
        date = entry.date
        write(f"{date.isoformat()} * {beancount_string(entry.description)}\n")
        write(f"  number: {beancount_string(entry.number)}\n")
        write(f"  source: {beancount_string(entry.source)}\n")
        write(f"  entry_id: {entry.entry_id}\n")
        for line in entry.lines:
            code = line.account.code
            account_name = names.name(line.account)
            if first_use.setdefault(code, date) > date:
                first_use[code] = date
            amount = format_minor_units(line.amount, exponent)
            write(f"  {account_name}  {amount} {currency}\n")
            if line.channel:
                write(f"    channel: {beancount_string(line.channel)}\n")
            if line.memo:
                write(f"    memo: {beancount_string(line.memo)}\n")
            if line.tax_rate is not None:
                write(f"    tax_rate: {format_rate(line.tax_rate)}\n")
            if line.fx_currency is not None and line.fx_amount is not None:
                fx_amount = format_minor_units(
                    line.fx_amount, currency_exponent(line.fx_currency)
                )
                write(f"    fx_amount: {fx_amount} {line.fx_currency}\n")
        write("\n")
        count += 1
    logger.debug("Beancount export wrote %d transactions", count)
