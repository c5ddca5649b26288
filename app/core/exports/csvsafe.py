"""Excel-safe CSV writing shared by every CSV export.

Rules, applied to each row:

* The file is UTF-8 with a byte order mark by default, so Excel on Windows
  reads accented names correctly.
* Rows end with CRLF, and cells are quoted only when they need it (the csv
  module's "excel" dialect).
* Amount cells are written as plain decimals: a dot as decimal mark, no
  thousands separator, a leading minus for negatives ("-1234.50"). They are
  never altered, and a cell in an amount column that is not such a number
  raises ExportError, so text can never slip through unneutralised.
* Every other cell is text. Text that starts with "=", "+", "-", "@", a tab or a
  carriage return would be read by a spreadsheet as a formula (CSV or formula
  injection, as described by OWASP), so it gets a single quote in front:
  "=HYPERLINK(...)" is written as "'=HYPERLINK(...)" and "-2+3" as "'-2+3".
  The target tool then shows the quote as part of the text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from app.core.exports.model import ExportError, atomic_path, format_minor_units

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralize(text: str) -> str:
    """Prefix `text` with a single quote when a spreadsheet would run it."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def amount_cell(minor: int, exponent: int) -> str:
    """Format minor units for an amount column (dot, no thousands separator)."""
    return format_minor_units(minor, exponent)


class SafeCsvWriter:
    """CSV writer that neutralises text cells and checks amount cells.

    `amount_columns` names the header columns that hold numbers (amounts, rates);
    they must contain a plain decimal or be empty. All other columns are text.
    """

    def __init__(
        self,
        stream: TextIO,
        header: Sequence[str],
        amount_columns: Collection[str],
    ) -> None:
        unknown = set(amount_columns) - set(header)
        if unknown:
            raise ValueError(f"amount columns {sorted(unknown)} are not in the header")
        self._writer = csv.writer(stream, dialect="excel")
        self._header = tuple(header)
        self._amount_positions = frozenset(
            position for position, name in enumerate(header) if name in amount_columns
        )
        self._writer.writerow(self._header)

    def write_row(self, row: Sequence[str]) -> None:
        """Write one row, neutralising text cells and checking amount cells."""
        if len(row) != len(self._header):
            raise ValueError(
                f"row has {len(row)} cells but the header has {len(self._header)}"
            )
        cells: list[str] = []
        for position, cell in enumerate(row):
            if position in self._amount_positions:
                if cell and not _AMOUNT.fullmatch(cell):
                    raise ExportError(
                        f"Column {self._header[position]!r} expects a plain decimal "
                        f"number but got {cell!r}."
                    )
                cells.append(cell)
            else:
                cells.append(neutralize(cell))
        self._writer.writerow(cells)


@contextmanager
def open_safe_csv(
    path: Path,
    header: Sequence[str],
    amount_columns: Collection[str],
    *,
    bom: bool = True,
) -> Iterator[SafeCsvWriter]:
    """Open `path` for an Excel-safe CSV and yield its writer.

    The file appears under its final name only when the block finishes without
    an exception; `bom=False` writes UTF-8 without the byte order mark.
    """
    with atomic_path(path) as temporary, open_csv_stream(temporary, bom=bom) as stream:
        yield SafeCsvWriter(stream, header, amount_columns)


def open_csv_stream(path: Path, *, bom: bool = True) -> TextIO:
    """Open `path` for writing CSV text: UTF-8, with a BOM unless `bom=False`."""
    encoding = "utf-8-sig" if bom else "utf-8"
    return path.open("w", encoding=encoding, newline="")
