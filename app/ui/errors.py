"""The error dialog: what failed, on which record, and what to do next.

Core errors (:class:`BackroomError`) carry a message written for people:
it names the record and value and says what to do, so the dialog shows it
as it is. Any other exception is a fault in Backroom itself; the dialog says
so and points to the log.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.exceptions import (
    BackroomError,
    InsufficientStock,
    InvalidTransition,
    NotFound,
    PeriodClosed,
    ValidationError,
)

log = logging.getLogger(__name__)

_TITLES: tuple[tuple[type[BaseException], str], ...] = (
    (PeriodClosed, "Period closed"),
    (InsufficientStock, "Not enough stock"),
    (ValidationError, "Check the input"),
    (NotFound, "Not found"),
    (InvalidTransition, "Not possible now"),
)


def error_title(exc: BaseException) -> str:
    for kind, title in _TITLES:
        if isinstance(exc, kind):
            return title
    return "Something went wrong"


def error_text(label: str, exc: BaseException) -> tuple[str, str]:
    """Return the dialog's headline and body for ``exc`` raised by ``label``."""
    headline = f"{label} did not complete."
    if isinstance(exc, BackroomError):
        body = str(exc)
        message = body[:1].upper() + body[1:]
        if not message.endswith("."):
            message += "."
        return headline, message
    return headline, (
        f"Backroom hit an internal error ({type(exc).__name__}: {exc}). Nothing "
        "was saved. Try again; if it happens again, send the log file to support."
    )


def show_error(parent: QWidget | None, label: str, exc: BaseException) -> QMessageBox:
    """Open a window-modal error box without blocking, and return it."""
    if not isinstance(exc, BackroomError):
        log.error("%s failed", label, exc_info=exc)
    headline, body = error_text(label, exc)
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(error_title(exc))
    box.setText(headline)
    box.setInformativeText(body)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()
    return box
