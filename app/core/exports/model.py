"""Input model for the ledger export writers, and the helpers they share.

The export writers never touch the database: a caller maps its journal rows onto
these frozen dataclasses and hands an `ExportLedger` to one of the `write_*`
functions. Amounts are integer minor units of the shop currency throughout.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

AccountType = Literal["asset", "liability", "equity", "income", "expense"]
ACCOUNT_TYPES: tuple[AccountType, ...] = (
    "asset",
    "liability",
    "equity",
    "income",
    "expense",
)

# ISO 4217 minor-unit exponents that differ from 2. Only foreign-currency
# amounts on lines need them, because the shop currency's exponent travels
# with the ledger.
# NOTE: written from the ISO 4217 current-currency list as of 2024, not read
# from a copy of the standard shipped with the project.
_EXPONENTS_OTHER_THAN_TWO: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class ExportError(Exception):
    """Root of every error the ledger export writers raise."""


@dataclass(frozen=True)
class ExportAccount:
    """One account of the chart, as the export formats need it.

    `code` is the stable account code (for example "1000"); `contra` marks an
    account whose normal balance is opposite to its type, such as sales returns.
    """

    code: str
    name: str
    type: AccountType
    contra: bool


@dataclass(frozen=True)
class ExportLine:
    """One journal line: a debit or a credit to one account.

    `debit` and `credit` are non-negative minor units of the shop currency.
    `tax_rate` is written as given (the caller decides between 0.20 and 20).
    `fx_currency` and `fx_amount` are the original foreign amount in minor units
    of `fx_currency`, both present or both None.
    """

    account: ExportAccount
    debit: int
    credit: int
    memo: str
    channel: str | None
    tax_rate: Decimal | None
    fx_currency: str | None
    fx_amount: int | None

    @property
    def amount(self) -> int:
        """Signed amount in minor units: debit positive, credit negative."""
        return self.debit - self.credit


@dataclass(frozen=True)
class ExportEntry:
    """One posted journal entry; `date` is the shop's local accounting date."""

    entry_id: int
    date: dt.date
    number: str
    description: str
    source: str
    lines: tuple[ExportLine, ...]

    @property
    def label(self) -> str:
        """Name of the entry for error messages, e.g. "journal entry J-7 (id 7)"."""
        return f"journal entry {self.number!r} (id {self.entry_id})"


@dataclass(frozen=True)
class ExportLedger:
    """Everything one export needs.

    `entries` may be a generator: every writer iterates it exactly once and
    keeps at most one entry's lines in memory, so a caller can stream rows from
    the database. `accounts` is the chart of accounts; entries may also use
    accounts missing from it.
    """

    shop_name: str
    currency: str
    currency_exponent: int
    entries: Iterable[ExportEntry]
    accounts: Sequence[ExportAccount]
    date_from: dt.date
    date_to: dt.date


def currency_exponent(code: str) -> int:
    """Return the ISO 4217 minor-unit exponent of `code` (2 unless listed)."""
    return _EXPONENTS_OTHER_THAN_TWO.get(code, 2)


def format_minor_units(minor: int, exponent: int) -> str:
    """Format integer minor units as a plain decimal string.

    The result has a dot as decimal mark, no thousands separator and exactly
    `exponent` decimals: `format_minor_units(-123450, 2) == "-1234.50"`.
    """
    if exponent == 0:
        return str(minor)
    whole, fraction = divmod(abs(minor), 10**exponent)
    sign = "-" if minor < 0 else ""
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def format_rate(rate: Decimal) -> str:
    """Format a tax rate in plain notation (never exponent notation)."""
    return format(rate, "f")


def validate_ledger(ledger: ExportLedger) -> None:
    """Raise ExportError when the ledger's currency settings are unusable."""
    if not _CURRENCY_CODE.fullmatch(ledger.currency):
        raise ExportError(
            f"Ledger currency {ledger.currency!r} is not an ISO 4217 code of three "
            "capital letters; set the shop currency (for example 'USD') and export "
            "again."
        )
    if not 0 <= ledger.currency_exponent <= 4:
        raise ExportError(
            f"Currency exponent {ledger.currency_exponent} for {ledger.currency} is "
            "outside 0..4; check the shop currency settings."
        )


def checked_entries(ledger: ExportLedger) -> Iterator[ExportEntry]:
    """Yield the ledger's entries, raising ExportError at the first bad one.

    An entry is rejected when it has no lines, a negative debit or credit, half
    of the foreign-currency pair, a foreign currency that is not an ISO 4217
    code, or debits that differ from credits.
    """
    validate_ledger(ledger)
    for entry in ledger.entries:
        check_entry(entry, ledger.currency, ledger.currency_exponent)
        yield entry


def check_entry(entry: ExportEntry, currency: str, exponent: int) -> None:
    """Raise ExportError naming `entry` when it cannot be exported."""
    if not entry.lines:
        raise ExportError(
            f"{entry.label} has no lines; delete or repost it before exporting."
        )

    debits = 0
    credits = 0
    for position, line in enumerate(entry.lines, start=1):
        if line.debit < 0 or line.credit < 0:
            raise ExportError(
                f"{entry.label}, line {position} (account {line.account.code}) has a "
                f"negative amount (debit {line.debit}, credit {line.credit} minor "
                "units); post a credit instead of a negative debit."
            )
        if (line.fx_currency is None) != (line.fx_amount is None):
            raise ExportError(
                f"{entry.label}, line {position} (account {line.account.code}) has "
                f"fx_currency={line.fx_currency!r} but fx_amount={line.fx_amount!r}; "
                "both must be set or both None."
            )
        if line.fx_currency is not None and not _CURRENCY_CODE.fullmatch(
            line.fx_currency
        ):
            raise ExportError(
                f"{entry.label}, line {position} (account {line.account.code}) has "
                f"fx_currency {line.fx_currency!r}, which is not an ISO 4217 code of "
                "three capital letters."
            )
        debits += line.debit
        credits += line.credit

    if debits != credits:
        raise ExportError(
            f"{entry.label} dated {entry.date.isoformat()} does not balance: "
            f"debits {format_minor_units(debits, exponent)} {currency}, credits "
            f"{format_minor_units(credits, exponent)} {currency}; correct the entry "
            "with a reversal and export again."
        )


_LINE_BREAKS_TO_SPACE = str.maketrans(
    {"\t": " ", "\r": " ", "\n": " ", "\v": " ", "\f": " "}
)


def single_line_text(text: str) -> str:
    """Replace tabs, line breaks, vertical tabs and form feeds with spaces."""
    return text.translate(_LINE_BREAKS_TO_SPACE)


def temporary_path_beside(path: Path) -> Path:
    """Create an empty hidden temporary file in `path`'s folder and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".part", dir=path.parent
    )
    os.close(handle)
    return Path(name)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, moved onto `path` on success.

    When the body raises, the temporary file is removed and `path` keeps its
    previous content, so a failed export never leaves half a file behind.
    """
    temporary = temporary_path_beside(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    logger.info("Wrote %s", path)
