"""Errors raised by the core services.

Every error names the record, field and value at fault and says what to do, so
that the window, the command line and the importers can show it unchanged.
"""

from __future__ import annotations


class BackroomError(Exception):
    """Root of every error the core raises on purpose."""


class ValidationError(BackroomError):
    """An input value is invalid; nothing was written."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(message)


class NotFound(BackroomError):
    """A record named by the caller does not exist."""


class InsufficientStock(BackroomError):
    """A local action would take available stock below zero."""

    def __init__(self, sku: str, warehouse: str, requested: int, available: int):
        self.sku = sku
        self.warehouse = warehouse
        self.requested = requested
        self.available = available
        super().__init__(
            f"SKU {sku}: {requested} requested but only {available} available in "
            f"warehouse {warehouse}; receive stock, lower the quantity or allow "
            "backorders in Settings"
        )


class PeriodClosed(BackroomError):
    """A posting or change falls into a closed accounting period."""


class InvalidTransition(BackroomError):
    """A record cannot move from its current state to the requested one."""


class UnbalancedEntry(BackroomError):
    """A journal entry's debits and credits differ."""


class SchemaError(BackroomError):
    """The database schema is missing, too old or from a newer Backroom."""
