"""Errors raised by the channel clients in app.sync.

Every class derives from SyncError. Messages name the request (method and URL with
credentials removed), say what failed and what to do next, and never contain a
token, key or secret.
"""

from __future__ import annotations


class SyncError(Exception):
    """Root of every error raised by the channel clients."""


class ConfigError(SyncError):
    """A client was given settings that cannot work, so no request was sent."""


class AuthError(SyncError):
    """The channel rejected the credentials, or the app lacks a permission."""

    def __init__(self, message: str, *, url: str, status: int | None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class RetryableError(SyncError):
    """A call failed in a way that may succeed later, and this client stopped trying.

    Raised after the retry budget is used up, or at once when the channel requests
    a wait longer than the client is allowed to sleep. `retry_after` is the wait in
    seconds the channel asked for, when it asked for one. `offline` is True when
    the last attempt never reached the server (connection refused, host name not
    resolved, connect timeout), so the machine or the channel is unreachable.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        offline: bool = False,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after
        self.attempts = attempts
        self.offline = offline


class PermanentError(SyncError):
    """The channel refused the request; sending it again unchanged fails again."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class QueryCostExceeded(PermanentError):
    """A Shopify GraphQL query asked for more cost points than one query may use."""

    def __init__(
        self, message: str, *, url: str, requested_cost: int, max_cost: int
    ) -> None:
        super().__init__(message, url=url, status=200)
        self.requested_cost = requested_cost
        self.max_cost = max_cost


class MalformedResponse(SyncError):
    """A response arrived but its body is not what the API documents."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
