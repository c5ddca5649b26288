"""Errors raised by the returns services.

Bad input raises the core's ``ValidationError`` and a wrong state its
``InvalidTransition``, so callers handle returns like every other service.
The classes here are the faults that only returns have.
"""

from __future__ import annotations

from app.core.exceptions import BackroomError


class ReturnsError(BackroomError):
    """Root of the errors that only the returns services raise."""


class RefundLimitExceeded(ReturnsError):
    """A refund would give back more than was paid for its lines and shipping."""
