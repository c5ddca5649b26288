"""Errors of the accounting services: close, year end, payouts, bank, exports."""

from __future__ import annotations

from app.core.exceptions import BackroomError


class AccountingError(BackroomError):
    """Root of every error the accounting services raise on purpose."""


class FileFormatError(AccountingError):
    """A payout or bank statement file cannot be read.

    ``path`` names the file, ``row`` the 1-based line (None for the whole
    file) and ``field`` the column at fault.
    """

    def __init__(
        self, path: str, row: int | None, field: str | None, message: str
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        where = path if row is None else f"{path}, row {row}"
        if field:
            where += f", column {field!r}"
        super().__init__(f"{where}: {message}")
