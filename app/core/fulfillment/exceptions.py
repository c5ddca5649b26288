"""Errors raised by the fulfillment services."""

from __future__ import annotations

from app.core.exceptions import BackroomError


class FulfillmentError(BackroomError):
    """Root of the errors this package raises on purpose."""


class MissingExchangeRate(FulfillmentError):
    """A carrier charged in a currency the shop has no exchange rate for."""


class PackingError(FulfillmentError):
    """A packing step cannot run in the pack session's current state."""
