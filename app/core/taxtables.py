"""Tax-rate tables in WooCommerce's tax-rate CSV layout, and the default tables.

The layout is the one that WooCommerce's tax-rate importer reads (class
``WC_Tax_Rate_Importer``, version 2.3.0). A header row comes first. Every row
then has ten columns in this order, whatever the header names them: country
code, state code, postcodes, cities, rate %, tax name, priority, compound,
shipping, tax class. A ``*`` or an empty cell in the first four columns means
any.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pycountry

from app.core.tax import TaxError, TaxRate

logger = logging.getLogger(__name__)

#: Column names as WooCommerce's export writes them, used in error messages.
COLUMNS = (
    "Country code",
    "State code",
    "Postcode / ZIP",
    "City",
    "Rate %",
    "Tax name",
    "Priority",
    "Compound",
    "Shipping",
    "Tax class",
)

#: The folder of the default tables shipped with Backroom.
DEFAULT_TABLE_DIR = Path(__file__).resolve().parents[2] / "resources" / "tax"

#: Default tables, each with the name stored as every rate's ``source``.
DEFAULT_TABLES = ("eu_gb_vat_standard.csv", "us_state_base.csv")

# WooCommerce shows a rate with an empty name as "Tax".
_DEFAULT_NAME = "Tax"


@dataclass(frozen=True, slots=True)
class TableProblem:
    """One invalid cell or row of a tax-rate table; ``row`` counts from 1."""

    file: str
    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, column {self.column!r}: {self.message}"


class TaxTableError(TaxError):
    """A tax-rate table has invalid rows; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[TableProblem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        message = (
            f"{len(self.problems)} problem(s) in tax-rate table {first.file}; "
            f"correct these cells and import the file again:\n{listing}"
        )
        super().__init__(first.column, first.value, message)


def _read_source(path_or_text: str | Path) -> tuple[str, str]:
    """Return (file label, text). A str with a line break is CSV text itself."""
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        return "<text>", path_or_text
    path = Path(path_or_text)
    try:
        return str(path), path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problem = TableProblem(
            str(path), 1, "", "", f"cannot be read as a UTF-8 CSV file ({exc})"
        )
        raise TaxTableError([problem]) from exc


def _any_or(cell: str) -> str | None:
    value = cell.strip()
    return None if value in ("", "*") else value


def _pattern_list(cell: str, *, upper: bool) -> str | None:
    """Join a ``;``-separated list without blanks or bare ``*`` entries."""
    parts = [part.strip() for part in cell.split(";")]
    patterns = [
        part.upper() if upper else part for part in parts if part not in ("", "*")
    ]
    return ";".join(patterns) if patterns else None


def _class_slug(cell: str) -> str:
    """Turn a tax-class cell into a slug; ``standard`` and ``---`` become ``""``."""
    slug = re.sub(r"[^a-z0-9]+", "-", cell.strip().lower()).strip("-")
    return "" if slug == "standard" else slug


class _RowReader:
    """Parse the cells of one row, collecting problems instead of raising."""

    def __init__(self, file: str, row: int, problems: list[TableProblem]) -> None:
        self.file = file
        self.row = row
        self.problems = problems

    def problem(self, column: int, value: str, message: str) -> None:
        self.problems.append(
            TableProblem(self.file, self.row, COLUMNS[column], value, message)
        )

    def country(self, cell: str) -> str:
        code = cell.strip().upper()
        if code in ("", "*"):
            return "*"
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            self.problem(
                0,
                cell,
                f"country code {cell!r} is not ISO 3166-1 alpha-2; "
                "write a code like GB or * for any country",
            )
        return code

    def postcodes(self, cell: str) -> str | None:
        patterns = _pattern_list(cell, upper=True)
        for pattern in (patterns or "").split(";"):
            low, separator, high = pattern.partition("...")
            if separator and not (low.isdigit() and high.isdigit()):
                self.problem(
                    2,
                    cell,
                    f"postcode range {pattern!r} is not numeric; "
                    "write ranges of digits like 90001...90099",
                )
        return patterns

    def rate(self, cell: str) -> Decimal:
        try:
            value = Decimal(cell.strip())
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0 or value > 100:
            self.problem(
                4,
                cell,
                f"rate {cell!r} is not a percentage from 0 to 100; "
                "write it like 20.0000",
            )
            return Decimal(0)
        return value

    def priority(self, cell: str) -> int:
        text = cell.strip()
        if not text.isdigit() or int(text) < 1:
            self.problem(
                6,
                cell,
                f"priority {cell!r} is not an integer of 1 or more; write 1 for "
                "the main rate and 2 and up for rates added on top",
            )
            return 1
        return int(text)

    def flag(self, column: int, cell: str) -> bool:
        text = cell.strip()
        if text not in ("0", "1"):
            self.problem(
                column,
                cell,
                f"{COLUMNS[column].lower()} flag {cell!r} is not 0 or 1; "
                "write 1 for yes and 0 for no",
            )
            return False
        return text == "1"


def _parse_row(reader: _RowReader, cells: list[str], source: str) -> TaxRate:
    country = reader.country(cells[0])
    postcode = reader.postcodes(cells[2])
    rate = reader.rate(cells[4])
    priority = reader.priority(cells[6])
    compound = reader.flag(7, cells[7])
    shipping = reader.flag(8, cells[8])
    return TaxRate(
        country=country,
        region=None if _any_or(cells[1]) is None else cells[1].strip().upper(),
        postcode=postcode,
        city=_pattern_list(cells[3], upper=True),
        rate=rate,
        name=cells[5].strip() or _DEFAULT_NAME,
        priority=priority,
        compound=compound,
        shipping=shipping,
        source=source,
        tax_class=_class_slug(cells[9]),
    )


def parse_woocommerce_tax_csv(
    path_or_text: str | Path, *, source: str | None = None
) -> list[TaxRate]:
    """Parse a WooCommerce tax-rate CSV into rates, in file order.

    ``path_or_text`` is a path, or the CSV text itself when it is a str with a
    line break. ``source`` is stored on every rate; it defaults to the file
    name (``""`` for text). Every invalid cell of every row is collected
    first, then all of them are raised together as one ``TaxTableError``.
    """
    label, text = _read_source(path_or_text)
    if source is None:
        source = "" if label == "<text>" else Path(label).name

    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or len(header) != len(COLUMNS):
        found = 0 if header is None else len(header)
        raise TaxTableError(
            [
                TableProblem(
                    label,
                    1,
                    "(header)",
                    ",".join(header or []),
                    f"header has {found} columns, not the {len(COLUMNS)} of "
                    f"WooCommerce's tax-rate CSV ({', '.join(COLUMNS)})",
                )
            ]
        )

    rates: list[TaxRate] = []
    problems: list[TableProblem] = []
    for cells in rows:
        row_number = rows.line_num
        if not any(cell.strip() for cell in cells):
            continue
        reader = _RowReader(label, row_number, problems)
        if len(cells) != len(COLUMNS):
            problems.append(
                TableProblem(
                    label,
                    row_number,
                    "(row)",
                    ",".join(cells),
                    f"row has {len(cells)} columns, not {len(COLUMNS)}; "
                    "add or remove cells so that every row matches the header",
                )
            )
            continue
        rates.append(_parse_row(reader, cells, source))

    if problems:
        raise TaxTableError(problems)
    logger.debug("read %d tax rates from %s", len(rates), label)
    return rates


def load_default_rates() -> list[TaxRate]:
    """Read the default EU/GB VAT and US state tables shipped with Backroom."""
    rates: list[TaxRate] = []
    for name in DEFAULT_TABLES:
        rates.extend(parse_woocommerce_tax_csv(DEFAULT_TABLE_DIR / name, source=name))
    return rates
