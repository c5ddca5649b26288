"""QuickBooks Desktop IIF export of the ledger as general journal transactions.

Layout of the file:

* `!ACCNT` list rows define every account the transactions use, by name, with
  the QuickBooks account type from `quickbooks_account_type`.
* `!CUST` and `!VEND` rows define the names put on accounts receivable and
  accounts payable lines, because QuickBooks requires a customer on every A/R
  line and a vendor on every A/P line of a journal entry.
* `!CLASS` rows define the channels when `channel_as_class` is set.
* Each journal entry is one `TRNS` row (its first line), one `SPL` row per
  further line and an `ENDTRNS` row. TRNSTYPE is `GENERAL JOURNAL`, DATE is
  MM/DD/YYYY, AMOUNT is signed (debit positive, credit negative), so the
  amounts of each transaction sum to zero.

The file is tab separated with CRLF line endings and encoded as Windows-1252
without a byte order mark; characters that Windows-1252 lacks become "?".
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from app.core.exports.model import (
    ExportAccount,
    ExportEntry,
    ExportError,
    ExportLedger,
    ExportLine,
    atomic_path,
    checked_entries,
    format_minor_units,
    single_line_text,
)

logger = logging.getLogger(__name__)

IIF_ENCODING = "cp1252"
CRLF = "\r\n"
TRANSACTION_COLUMNS = (
    "TRNSID",
    "TRNSTYPE",
    "DATE",
    "ACCNT",
    "NAME",
    "CLASS",
    "AMOUNT",
    "DOCNUM",
    "MEMO",
)
GENERAL_JOURNAL = "GENERAL JOURNAL"


def quickbooks_account_type(account: ExportAccount) -> str:
    """Return the QuickBooks account type for one of our accounts.

    The type follows from our account type and, for numeric codes, the code
    ranges of the default chart of accounts:

    =========  ==============================  ===============
    our type   code                            QuickBooks type
    =========  ==============================  ===============
    asset      1000-1099 (bank accounts)       BANK
    asset      1110-1119 (receivables)         AR
    asset      any other                       OCASSET
    liability  2000-2099 (payables)            AP
    liability  any other                       OCLIAB
    equity     any                             EQUITY
    income     8000-9999 (other income)        EXINC
    income     any other                       INC
    expense    5000-5999 (cost of goods sold)  COGS
    expense    8000-9999 (other expense)       EXEXP
    expense    any other                       EXP
    =========  ==============================  ===============
    """
    number = int(account.code) if account.code.isdigit() else None

    def within(low: int, high: int) -> bool:
        return number is not None and low <= number <= high

    if account.type == "asset":
        if within(1000, 1099):
            return "BANK"
        if within(1110, 1119):
            return "AR"
        return "OCASSET"
    if account.type == "liability":
        return "AP" if within(2000, 2099) else "OCLIAB"
    if account.type == "equity":
        return "EQUITY"
    if account.type == "income":
        return "EXINC" if within(8000, 9999) else "INC"
    if within(5000, 5999):
        return "COGS"
    return "EXEXP" if within(8000, 9999) else "EXP"


def quickbooks_account_name(account: ExportAccount) -> str:
    """Return the account name as QuickBooks should match it.

    A colon separates a parent from a sub-account in QuickBooks, so a colon in
    our name becomes a dash instead of creating a hierarchy.
    """
    return single_line_text(account.name).replace(":", "-").strip()


class QuickBooksAccounts:
    """Cache of QuickBooks names and types per account code.

    QuickBooks matches accounts by name, so two of our accounts that end up
    with the same name would merge; `lookup` raises ExportError instead.
    """

    def __init__(self) -> None:
        self._by_code: dict[str, tuple[str, str]] = {}
        self._code_by_name: dict[str, str] = {}

    def lookup(self, account: ExportAccount) -> tuple[str, str]:
        """Return `(QuickBooks name, QuickBooks type)` for `account`."""
        known = self._by_code.get(account.code)
        if known is not None:
            return known
        name = quickbooks_account_name(account)
        other = self._code_by_name.setdefault(name.casefold(), account.code)
        if other != account.code:
            raise ExportError(
                f"Accounts {other} and {account.code} are both named {name!r}, and "
                "QuickBooks matches accounts by name; rename one of them and "
                "export again."
            )
        known = (name, quickbooks_account_type(account))
        self._by_code[account.code] = known
        return known

    def used(self) -> dict[str, str]:
        """Return QuickBooks type by QuickBooks name, in first-use order."""
        return dict(self._by_code.values())


def quickbooks_line_name(
    ledger: ExportLedger, line: ExportLine, account_type: str
) -> str:
    """Return the customer or vendor for an A/R or A/P line, else "".

    Our journal lines carry no customer, so the line's channel is used in its
    place, because the marketplace owes the shop or is owed by it. Lines
    without a channel get "<shop name> customers" or "<shop name> suppliers".
    """
    if account_type not in ("AR", "AP"):
        return ""
    if line.channel:
        return single_line_text(line.channel).strip()
    kind = "customers" if account_type == "AR" else "suppliers"
    return f"{single_line_text(ledger.shop_name).strip()} {kind}"


def iif_text(text: str) -> str:
    """Make a text field safe for one IIF cell.

    Tabs and line breaks become spaces and double quotes become single quotes.
    A field containing a comma is wrapped in double quotes, as QuickBooks' own
    IIF export does.
    """
    cleaned = single_line_text(text).replace('"', "'")
    if "," in cleaned:
        return f'"{cleaned}"'
    return cleaned


def iif_date(entry: ExportEntry) -> str:
    """Return the entry date as MM/DD/YYYY."""
    day = entry.date
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


class _UsedLists:
    """Accounts, names and classes the transactions referred to, in first-use order."""

    def __init__(self) -> None:
        self.accounts = QuickBooksAccounts()
        self.customers: dict[str, None] = {}
        self.vendors: dict[str, None] = {}
        self.classes: dict[str, None] = {}


def write_iif(
    ledger: ExportLedger, path: Path | str, *, channel_as_class: bool = False
) -> list[Path]:
    """Write the ledger as a QuickBooks Desktop IIF file and return `[path]`.

    With `channel_as_class`, each line's channel goes into the CLASS column
    (turn on class tracking in QuickBooks first). Raises ExportError naming the
    first entry that does not balance, and then leaves no file behind.

    NOTE: QuickBooks Desktop limits the length of account names and of the
    journal entry number (DOCNUM). This writer does not shorten them, so the
    import may cut or reject a long name or number.
    NOTE: QuickBooks reportedly rejects a journal entry with lines on two
    different A/R or A/P accounts. That is untested here, and the default
    chart has one account of each.
    """
    target = Path(path)
    used = _UsedLists()

    # The list rows must precede the transactions, but which accounts are used
    # is known only after reading every entry, so the transactions go to a
    # temporary file first and are copied after the lists.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as body:
        _write_transactions(ledger, body, used, channel_as_class=channel_as_class)
        body.seek(0)
        with (
            atomic_path(target) as temporary,
            temporary.open(
                "w", encoding=IIF_ENCODING, errors="replace", newline=""
            ) as out,
        ):
            _write_lists(out, used)
            _write_row(out, ["!TRNS", *TRANSACTION_COLUMNS])
            _write_row(out, ["!SPL", "SPLID", *TRANSACTION_COLUMNS[1:]])
            _write_row(out, ["!ENDTRNS"])
            shutil.copyfileobj(body, out)
    return [target]


def _write_row(out: TextIO, cells: Iterable[str]) -> None:
    out.write("\t".join(cells))
    out.write(CRLF)


def _write_lists(out: TextIO, used: _UsedLists) -> None:
    accounts = used.accounts.used()
    if accounts:
        _write_row(out, ["!ACCNT", "NAME", "ACCNTTYPE"])
        for name, account_type in accounts.items():
            _write_row(out, ["ACCNT", iif_text(name), account_type])
    if used.customers:
        _write_row(out, ["!CUST", "NAME"])
        for name in used.customers:
            _write_row(out, ["CUST", iif_text(name)])
    if used.vendors:
        _write_row(out, ["!VEND", "NAME"])
        for name in used.vendors:
            _write_row(out, ["VEND", iif_text(name)])
    if used.classes:
        _write_row(out, ["!CLASS", "NAME"])
        for name in used.classes:
            _write_row(out, ["CLASS", iif_text(name)])


def _write_transactions(
    ledger: ExportLedger,
    body: TextIO,
    used: _UsedLists,
    *,
    channel_as_class: bool,
) -> None:
    exponent = ledger.currency_exponent
    count = 0
    for entry in checked_entries(ledger):
        date = iif_date(entry)
        number = iif_text(entry.number)
        for position, line in enumerate(entry.lines):
            account_name, account_type = used.accounts.lookup(line.account)

            name = quickbooks_line_name(ledger, line, account_type)
            if account_type == "AR":
                used.customers[name] = None
            elif account_type == "AP":
                used.vendors[name] = None

            class_name = ""
            if channel_as_class and line.channel:
                class_name = single_line_text(line.channel).strip()
                used.classes[class_name] = None

            _write_row(
                body,
                (
                    "TRNS" if position == 0 else "SPL",
                    "",
                    GENERAL_JOURNAL,
                    date,
                    iif_text(account_name),
                    iif_text(name),
                    iif_text(class_name),
                    format_minor_units(line.amount, exponent),
                    number,
                    iif_text(line.memo or entry.description),
                ),
            )
        _write_row(body, ("ENDTRNS",))
        count += 1
    logger.debug("IIF export wrote %d transactions", count)
