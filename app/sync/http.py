"""HTTP transport shared by the channel clients.

`HttpClient` wraps one `requests.Session` and adds per-call timeouts, retry
classification, `Retry-After` handling, exponential back-off with full jitter and
an optional rate limiter. Time is read and spent only through the injected
`clock`, `sleep` and `now` callables, so tests run on virtual time.

Retry classification: HTTP 408, 429 and 5xx, timeouts and connection errors are
retryable. HTTP 401 and 403 raise AuthError, and every other 4xx raises
PermanentError. A 2xx body that is not JSON raises MalformedResponse. A request that
is not
idempotent (POST by default) is retried only when the server cannot have acted on
it: HTTP 429, or a connection that was never opened.

Nothing logged or raised contains a credential: the Authorization and
X-Shopify-Access-Token headers are never logged, credential query parameters are
replaced by "[redacted]", and every secret registered with `add_secret` is
replaced wherever it appears in a message.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

from app.sync.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    PermanentError,
    RetryableError,
)

logger = logging.getLogger(__name__)

# Query parameters whose values are credentials in the APIs Backroom calls.
CREDENTIAL_PARAMS = frozenset(
    {"consumer_key", "consumer_secret", "access_token", "oauth_signature", "token"}
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REDACTED = "[redacted]"


def check_api_url(url: str) -> str:
    """Return `url` without a trailing slash, or raise ConfigError if it is unusable.

    Credentials travel with every request, so plain http is accepted only for a
    loopback host (a test server or a tunnel on this machine).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"Invalid API URL {url!r}: expected https://host[/path]. "
            "Enter the shop's address as shown in the browser."
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"Refusing plain http for {parts.hostname}: credentials would travel "
            "unencrypted. Use the shop's https:// address."
        )
    return url.strip().rstrip("/")


def redact_url(url: str) -> str:
    """Return `url` with the values of credential query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    cleaned = [(k, REDACTED if k.lower() in CREDENTIAL_PARAMS else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe="[]")))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the wait in seconds that a Retry-After header requests, or None.

    The header holds either a number of seconds or an HTTP date; a date in the
    past means no wait. An unparseable value is treated as absent.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class RateLimiter(Protocol):
    """Hook that spaces requests out before they are sent."""

    def reserve(self, now: float) -> float:
        """Count one request starting at `now` and return seconds to wait first."""
        ...


class MinimumInterval:
    """Rate limiter that keeps at least `interval` seconds between request starts."""

    def __init__(self, interval: float) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval}")
        self._interval = interval
        self._next_free: float | None = None

    def reserve(self, now: float) -> float:
        start = now if self._next_free is None else max(now, self._next_free)
        self._next_free = start + self._interval
        return start - now


@dataclass(frozen=True)
class RetryPolicy:
    """Limits for retrying one request; all durations in seconds."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After longer than this is not slept through: RetryableError carries
    # the wait so that the caller can reschedule the work instead.
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class HttpResponse:
    """A successful (2xx) response with its JSON body parsed."""

    method: str
    url: str  # credential parameters redacted
    status: int
    headers: Mapping[str, str]
    data: Any  # None when the body is empty


@dataclass(frozen=True)
class _Failure:
    reason: str
    status: int | None
    retry_after: float | None
    may_retry: bool
    never_sent: bool = False


Timeout = float | tuple[float, float]


class HttpClient:
    """Small wrapper around `requests.Session` that retries what may succeed later."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        rate_limiter: RateLimiter | None = None,
        user_agent: str = "Backroom/0.1",
    ) -> None:
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.now = now if now is not None else _utc_now
        self.rng = rng if rng is not None else random.Random()
        self.rate_limiter = rate_limiter
        self.user_agent = user_agent
        self._secrets: set[str] = set()

    def add_secret(self, secret: str) -> None:
        """Register a credential so that it is removed from every message and log."""
        if len(secret) >= 4:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """Return `text` with credential parameters and registered secrets removed."""
        cleaned = redact_url(text) if text.startswith(("http://", "https://")) else text
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        return cleaned

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: Timeout | None = None,
        idempotent: bool | None = None,
    ) -> HttpResponse:
        """Send one request, retrying as the policy allows, and return the response.

        Raises AuthError, PermanentError, MalformedResponse, or RetryableError once
        retries are used up.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        prepared_url = requests.Request(method, url, params=params).prepare().url
        redacted_url = self.redact(prepared_url or url)
        all_headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        all_headers.update(headers or {})

        attempt = 0
        while True:
            attempt += 1
            self._wait_for_rate_limiter()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=all_headers,
                    auth=auth,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except requests.RequestException as exc:
                failure = self._classify_exception(exc, idempotent)
            else:
                outcome = self._classify_response(
                    method, redacted_url, response, idempotent
                )
                if isinstance(outcome, HttpResponse):
                    logger.debug(
                        "%s %s -> HTTP %d", method, redacted_url, outcome.status
                    )
                    return outcome
                failure = outcome

            self._pause_before_retry(method, redacted_url, failure, attempt)

    def _wait_for_rate_limiter(self) -> None:
        if self.rate_limiter is None:
            return
        wait = self.rate_limiter.reserve(self.clock())
        if wait > 0:
            self.sleep(wait)

    def _classify_exception(
        self, exc: requests.RequestException, idempotent: bool
    ) -> _Failure:
        never_sent = isinstance(exc, requests.ConnectTimeout) or _connection_refused(
            exc
        )
        if isinstance(exc, requests.Timeout):
            reason = f"timed out ({type(exc).__name__})"
        elif isinstance(exc, requests.ConnectionError):
            reason = f"connection failed ({type(exc).__name__})"
        else:
            reason = f"transfer failed ({type(exc).__name__})"
        return _Failure(reason, None, None, idempotent or never_sent, never_sent)

    def _classify_response(
        self,
        method: str,
        redacted_url: str,
        response: requests.Response,
        idempotent: bool,
    ) -> HttpResponse | _Failure:
        status = response.status_code
        if 200 <= status < 300:
            return HttpResponse(
                method=method,
                url=redacted_url,
                status=status,
                headers=response.headers,
                data=self._parse_json(method, redacted_url, response),
            )

        detail = self._error_detail(response)
        if status in (401, 403):
            raise AuthError(
                f"{method} {redacted_url} was rejected with HTTP {status}: {detail}. "
                "Check the channel's credentials and the app's permissions, then "
                "reconnect the channel.",
                url=redacted_url,
                status=status,
            )
        if status == 408 or status == 429 or status >= 500:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self.now()
            )
            # A 429 means the server refused to act, so even a POST may be resent.
            may_retry = idempotent or status == 429
            return _Failure(f"HTTP {status}: {detail}", status, retry_after, may_retry)
        raise PermanentError(
            f"{method} {redacted_url} failed with HTTP {status}: {detail}. "
            "The request was not retried because sending it again unchanged would "
            "fail the same way.",
            url=redacted_url,
            status=status,
        )

    def _pause_before_retry(
        self, method: str, redacted_url: str, failure: _Failure, attempt: int
    ) -> None:
        """Sleep before the next attempt, or raise RetryableError when to stop."""
        policy = self.retry
        stop_reason = None
        if not failure.may_retry:
            stop_reason = "the request is not idempotent and may have been processed"
        elif attempt >= policy.max_attempts:
            stop_reason = f"gave up after {attempt} attempts"
        elif (
            failure.retry_after is not None
            and failure.retry_after > policy.max_retry_after
        ):
            stop_reason = (
                f"the server asked to wait {failure.retry_after:.0f} s, longer than "
                f"the {policy.max_retry_after:.0f} s this client sleeps"
            )
        if stop_reason is not None:
            raise RetryableError(
                f"{method} {redacted_url} {failure.reason}; {stop_reason}. "
                "The work stays queued and is tried again later.",
                url=redacted_url,
                status=failure.status,
                retry_after=failure.retry_after,
                attempts=attempt,
                offline=failure.never_sent,
            )

        if failure.retry_after is not None:
            delay = failure.retry_after
        else:
            # Full jitter: uniform over [0, capped exponential back-off].
            ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            delay = self.rng.uniform(0.0, ceiling)
        logger.warning(
            "%s %s %s; retry %d of %d in %.2f s",
            method,
            redacted_url,
            failure.reason,
            attempt,
            policy.max_attempts - 1,
            delay,
        )
        self.sleep(delay)

    def _parse_json(
        self, method: str, redacted_url: str, response: requests.Response
    ) -> Any:
        body = response.content
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            snippet = self.redact(body[:80].decode("utf-8", errors="replace"))
            raise MalformedResponse(
                f"{method} {redacted_url} returned HTTP {response.status_code} with a "
                f"body that is not valid JSON ({exc}); it starts with {snippet!r}. "
                "Check that the shop URL points at the store's API and that no "
                "proxy or security plugin rewrites its responses.",
                url=redacted_url,
            ) from None

    def _error_detail(self, response: requests.Response) -> str:
        """Return a short, redacted description of an error response body."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip().replace("\n", " ")[:200]
            return self.redact(text) or response.reason or "no body"
        if isinstance(body, dict):
            parts = [
                str(body[key]) for key in ("code", "message", "errors") if key in body
            ]
            if parts:
                return self.redact(" ".join(parts)[:300])
        return self.redact(json.dumps(body)[:200])


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _connection_refused(exc: requests.RequestException) -> bool:
    """Tell whether the connection was never opened, so the server saw nothing."""
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    return isinstance(inner, NewConnectionError)
