"""Shared pieces of the row-by-row importers (products, stock, opening balances).

``read_table`` reads a CSV, gzipped CSV or .xlsx file into rows of text.
``Columns`` finds each field's column by any of its accepted spellings.
``RowProblems`` collects problems worded the same way for every importer, so
that a file is rejected with every problem listed at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from app.core.importing.errors import MissingColumnsError, Problem
from app.core.importing.sources import open_table, write_table_csv


def normalise(name: str) -> str:
    """Return a header name without case, spaces, underscores or BOM."""
    return "".join(name.replace("\ufeff", "").split()).replace("_", "").casefold()


@dataclass(frozen=True, slots=True)
class Table:
    """A file's header and its data rows as ``(row_number, fields)``."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_table(path: str | Path) -> Table:
    """Read a whole table file, or raise UnreadableFileError when it cannot."""
    source = open_table(path)
    return Table(source.path, list(source.header), list(source.rows()))


class Columns:
    """The positions of a header's columns, by field.

    ``spellings`` maps a field to the header names accepted for it, compared
    without case, spaces and underscores. The first spelling found wins.
    """

    def __init__(
        self,
        table: Table,
        spellings: Mapping[str, tuple[str, ...]],
        required: Iterable[str] = (),
    ) -> None:
        positions: dict[str, int] = {}
        for position, name in enumerate(table.header):
            positions.setdefault(normalise(name), position)
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = {}
        for field_name, names in spellings.items():
            for spelling in names:
                found = positions.get(normalise(spelling))
                if found is not None:
                    self.index[field_name] = found
                    self.names[field_name] = table.header[found]
                    break
        missing = [f for f in required if f not in self.index]
        if missing:
            found_names = ", ".join(repr(name) for name in table.header)
            raise MissingColumnsError(
                [
                    Problem(
                        file=str(table.path),
                        row=1,
                        column=spellings[f][0],
                        value=found_names,
                        message=(
                            f"The header has no {spellings[f][0]} column. "
                            f"Columns found: {found_names}. Name the column "
                            + " or ".join(repr(s) for s in spellings[f])
                            + " and import again."
                        ),
                    )
                    for f in missing
                ]
            )

    def has(self, field_name: str) -> bool:
        return field_name in self.index

    def get(self, fields: list[str], field_name: str) -> str:
        """Return the field's text in a row, stripped, or "" when absent."""
        position = self.index.get(field_name)
        if position is None or position >= len(fields):
            return ""
        return fields[position].strip()

    def name(self, field_name: str) -> str:
        return self.names.get(field_name, field_name)


class RowProblems:
    """Problems found in one file, by row."""

    def __init__(self, path: Path, columns: Columns | None = None) -> None:
        self.path = path
        self.columns = columns
        self.problems: list[Problem] = []

    def add(self, row: int, field_name: str | None, value: str, fault: str) -> None:
        """Record that a field's ``value`` has ``fault``, worded to fit after it.

        For example ``add(5, "quantity", "six", "is not a whole number. Enter
        one such as 6")`` reads "Quantity 'six' is not a whole number. ...".
        """
        if field_name is None:
            column = None
            message = fault
        else:
            column = self.columns.name(field_name) if self.columns else field_name
            quoted = f" {value!r}" if value else ""
            message = f"{column}{quoted} {fault}"
        self.problems.append(Problem(str(self.path), row, column, value, message))

    @property
    def rows(self) -> set[int]:
        return {problem.row for problem in self.problems}

    def __bool__(self) -> bool:
        return bool(self.problems)


def rejects_path(path_in: Path) -> Path:
    """Return ``NAME.rejected.csv`` beside the input file."""
    name = path_in.name
    for suffix in (".csv.gz", ".gz", ".csv", ".xlsx"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path_in.with_name(f"{name}.rejected.csv")


def write_rejected(
    table: Table, problems: list[Problem], dest: Path | None = None
) -> Path:
    """Write the rows with problems, an ``error`` column first, and return the path.

    The rest of each row is the input's fields as read, so that a person can
    correct them and import the file again.
    """
    messages: dict[int, list[str]] = {}
    for problem in problems:
        messages.setdefault(problem.row, []).append(problem.message)
    dest_path = dest or rejects_path(table.path)
    write_table_csv(
        dest_path,
        ["error", *table.header],
        (
            [f"row {row}: " + " ".join(messages[row]), *fields]
            for row, fields in table.rows
            if row in messages
        ),
    )
    return dest_path


def parse_decimal(text: str, places: int) -> Decimal | None:
    """Parse plain decimal text with at most ``places`` decimals, or return None.

    Accepts an optional sign and digits with one point. Rejects thousands
    separators, exponents and anything else.
    """
    body = text[1:] if text[:1] in "+-" else text
    whole, _, fraction = body.partition(".")
    if not (whole or fraction) or len(fraction) > places:
        return None
    if not all(
        part == "" or (part.isascii() and part.isdigit()) for part in (whole, fraction)
    ):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
