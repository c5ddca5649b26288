"""Reading the cells of payout files and bank statements.

Amounts are read as exact decimals. A file uses either a decimal point
("1,234.56") or a decimal comma ("1.234,56"); :func:`uses_decimal_comma`
decides from all of a file's amount cells before any is read. Dates are ISO
(2026-06-30), day first (30/06/2026, 30.06.2026) or month first
(06/30/2026); :func:`slashed_date_order` decides which from every date of
the file, because a single "03/04/2026" cannot tell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from app.core.accounting.exceptions import FileFormatError

DateOrder = Literal["dmy", "mdy"]

_COMMA_DECIMAL = re.compile(r"[-+]?[0-9.\s']*[0-9],[0-9]{1,3}")
_POINT_DECIMAL = re.compile(r"[-+]?[0-9,\s']*[0-9]\.[0-9]{1,3}")
_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DELIMITERS = (",", ";", "\t", "|")


def normalise_header(name: str) -> str:
    """Return a header cell as lowercase words joined by underscores."""
    cleaned = re.sub(r"[^0-9a-z]+", "_", name.strip().lstrip("\ufeff").lower())
    return cleaned.strip("_")


def read_text(path: Path) -> str:
    """Read a text file as UTF-8 (with or without BOM), else Windows-1252."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str, path: str) -> str:
    """Return the delimiter that splits the header line into the most cells."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if not header:
        raise FileFormatError(path, None, None, "the file is empty")
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] < 2:
        raise FileFormatError(
            path,
            1,
            None,
            "the header has a single column; separate the columns with a comma, "
            "semicolon or tab",
        )
    return best


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a delimited file: normalised header and (row number, cells) pairs.

    Blank rows are left out; row numbers count from 1 at the header.
    """
    text = read_text(path)
    delimiter = sniff_delimiter(text, str(path))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [normalise_header(c) for c in cells]
            continue
        rows.append(
            (number, dict(zip(header, (c.strip() for c in cells), strict=False)))
        )
    if header is None:
        raise FileFormatError(str(path), None, None, "the file is empty")
    return header, rows


def uses_decimal_comma(values: Iterable[str], path: str) -> bool:
    """Decide from a file's amount cells whether it writes decimal commas.

    Raises FileFormatError when some cells have a decimal comma and others a
    decimal point, because then "1,234" cannot be read safely.
    """
    comma = point = False
    for value in values:
        text = value.strip()
        if _COMMA_DECIMAL.fullmatch(text):
            comma = True
        elif _POINT_DECIMAL.fullmatch(text):
            point = True
    if comma and point:
        raise FileFormatError(
            path,
            None,
            "amount",
            "some amounts use a decimal comma and others a decimal point; "
            "export the file again with one number format",
        )
    return comma


def parse_amount(
    text: str, *, decimal_comma: bool, path: str, row: int, field: str
) -> Decimal:
    """Read an amount such as "-1,234.56" (or "-1.234,56") exactly."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FileFormatError(
            path, row, field, f"{text!r} is not an amount; write it like -12.50"
        ) from None
    if not value.is_finite():
        raise FileFormatError(path, row, field, f"{text!r} is not an amount")
    return value


def slashed_date_order(values: Iterable[str]) -> DateOrder:
    """Return "mdy" when some slashed date has a second part above 12, else "dmy"."""
    for value in values:
        found = _SLASHED.fullmatch(value.strip())
        if found and int(found.group(2)) > 12:
            return "mdy"
    return "dmy"


def parse_day(text: str, order: DateOrder, *, path: str, row: int, field: str) -> date:
    """Read an ISO, day-first or month-first date (see the module docstring)."""
    value = text.strip()
    iso = _ISO.match(value)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        found = _SLASHED.fullmatch(value)
        if found:
            first, second, year = (int(g) for g in found.groups())
            if order == "mdy":
                return date(year, first, second)
            return date(year, second, first)
    except ValueError:
        pass
    raise FileFormatError(
        path,
        row,
        field,
        f"{text!r} is not a date; write it as YYYY-MM-DD or DD/MM/YYYY",
    )
