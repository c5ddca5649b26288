"""Errors raised by the importers, and the problem record they collect per row."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.exceptions import BackroomError


class ImportingError(BackroomError):
    """Root of every error raised by ``app.core.importing``."""


class UnreadableFileError(ImportingError):
    """The file cannot be opened or decoded as a table."""


class CellValueError(ImportingError, ValueError):
    """A cell's text is not a valid value of the expected kind.

    The message describes the fault in words that fit after the column name,
    for example ``"is not a whole number"``.
    """


class MappingError(ImportingError):
    """An account mapping loaded from settings is invalid."""


class MissingColumnsError(ImportingError):
    """The header lacks one or more required columns, so no row can be read."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(problem.message for problem in problems))
        self.problems = problems


class ReadCancelled(ImportingError):
    """The caller's cancel callback asked the reader to stop."""


class ImportSetupError(ImportingError):
    """The shop or the import's options rule the import out before any row is read.

    Examples: the file's currency is not the shop's, or the account mapping
    names an account missing from the chart of accounts.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault found in an input file, worded for the person who fixes it.

    ``row`` is the 1-based row number as a spreadsheet shows it (the header is
    row 1). ``column`` is the header name as written in the file, or None when
    the fault concerns the whole row. ``value`` is the offending text.
    """

    file: str
    row: int
    column: str | None
    value: str
    message: str
