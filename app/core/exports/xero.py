"""Xero manual journal import CSV, split into files of at most 300 lines.

Columns are those of Xero's manual journal import template, with required
columns marked by "*". Xero groups rows with the same Narration and Date into
one journal, so each Narration starts with the entry number to keep two
entries with the same description and date apart. Amount is positive for a
debit and negative for a credit, so each journal's rows sum to zero.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from app.core.exports.csvsafe import SafeCsvWriter, amount_cell, open_csv_stream
from app.core.exports.model import (
    ExportEntry,
    ExportError,
    ExportLedger,
    checked_entries,
    single_line_text,
    temporary_path_beside,
)

logger = logging.getLogger(__name__)

XERO_HEADER = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
XERO_AMOUNT_COLUMNS = ("*Amount",)
XERO_MAX_LINES = 300
_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def xero_date(entry: ExportEntry) -> str:
    """Return the entry date as "05 Jan 2024".

    Xero's manual journal import accepts dd/mm/yyyy or dd mmm yyyy. The month
    name cannot be misread as a day where the organisation's locale puts the
    month first.
    """
    day = entry.date
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year:04d}"


def xero_part_path(base: Path, number: int) -> Path:
    """Return the path of part `number` (from 1): "base-001.csv"."""
    return base.with_name(f"{base.name}-{number:03d}.csv")


def write_xero(
    ledger: ExportLedger,
    base: Path | str,
    *,
    tax_rate_name: str = "Tax Exempt",
    tracking_category: str | None = None,
    max_lines: int = XERO_MAX_LINES,
) -> list[Path]:
    """Write Xero manual journal CSV files and return their paths in order.

    `base` names the files: "out" (or "out.csv") gives out-001.csv,
    out-002.csv and so on, at most `max_lines` journal lines each, and a
    journal never spans two files. At least one file is written, even for an
    empty ledger.

    `tax_rate_name` fills the required TaxRate column. It must name a rate
    without tax as set up in the Xero organisation, because the tax is already
    a line of its own on the tax account. Typical names are "Tax Exempt" (US),
    "No VAT" (UK), "BAS Excluded" (Australia) and "No GST" (New Zealand).
    With `tracking_category`, each line's channel is written as an option of
    that Xero tracking category, which must exist in Xero. Lines whose debit
    equals their credit are left out because Xero rejects a zero amount.

    Raises ExportError naming an entry that does not balance or that has more
    than `max_lines` lines, and then writes no file. Part files left under the
    same base by an earlier, longer export are not removed.
    """
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, got {max_lines}")
    target_base = Path(base)
    if target_base.suffix.lower() == ".csv":
        target_base = target_base.with_suffix("")

    parts = _PartFiles(target_base)
    try:
        for rows in _journals(ledger, tax_rate_name, tracking_category):
            if len(rows) > max_lines:
                raise ExportError(
                    f"{rows.label} has {len(rows)} lines, but Xero imports at most "
                    f"{max_lines} lines per file; split it into smaller journals."
                )
            if parts.lines_in_part + len(rows) > max_lines:
                parts.start_part()
            parts.write(rows)
        paths = parts.finish()
    except BaseException:
        parts.discard()
        raise
    logger.info("Xero export wrote %d files", len(paths))
    return paths


class _PartFiles:
    """Numbered part files, written under temporary names until `finish`.

    Only one part is open at a time, so a large export needs one file handle.
    """

    def __init__(self, base: Path) -> None:
        self._base = base
        self._written: list[tuple[Path, Path]] = []
        self._stream: TextIO | None = None
        self._writer: SafeCsvWriter | None = None
        self.lines_in_part = 0
        self.start_part()

    def start_part(self) -> None:
        """Close the current part, if any, and open the next one."""
        self._close()
        final = xero_part_path(self._base, len(self._written) + 1)
        temporary = temporary_path_beside(final)
        self._written.append((temporary, final))
        self._stream = open_csv_stream(temporary)
        self._writer = SafeCsvWriter(self._stream, XERO_HEADER, XERO_AMOUNT_COLUMNS)
        self.lines_in_part = 0

    def write(self, rows: list[tuple[str, ...]]) -> None:
        """Append one journal's rows to the current part."""
        assert self._writer is not None
        for row in rows:
            self._writer.write_row(row)
        self.lines_in_part += len(rows)

    def finish(self) -> list[Path]:
        """Close the last part, move every part to its final name, return them."""
        self._close()
        for temporary, final in self._written:
            os.replace(temporary, final)
        return [final for _, final in self._written]

    def discard(self) -> None:
        """Close and delete every part that has not been moved yet."""
        self._close()
        for temporary, _ in self._written:
            temporary.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self._writer = None


class _JournalRows(list[tuple[str, ...]]):
    """Rows of one journal, with the entry's label for error messages."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label


def _journals(
    ledger: ExportLedger, tax_rate_name: str, tracking_category: str | None
) -> Iterator[_JournalRows]:
    exponent = ledger.currency_exponent
    tracking_name = single_line_text(tracking_category or "")
    for entry in checked_entries(ledger):
        narration = single_line_text(f"{entry.number} {entry.description}".strip())
        date = xero_date(entry)
        rows = _JournalRows(entry.label)
        for line in entry.lines:
            if line.amount == 0:
                continue
            channel = single_line_text(line.channel or "") if tracking_name else ""
            rows.append(
                (
                    narration,
                    date,
                    single_line_text(line.memo or entry.description),
                    line.account.code,
                    tax_rate_name,
                    amount_cell(line.amount, exponent),
                    tracking_name if channel else "",
                    channel,
                    "",
                    "",
                )
            )
        if rows:
            yield rows
