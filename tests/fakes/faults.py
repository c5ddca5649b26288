"""Shared machinery for the fake channel servers: virtual clock, fault plan, HTTP base.

A `FaultPlan` is a script of faults. Each fault is applied to the next request that
matches its method and path, in the order the requests arrive, so a test that sends
requests one after another always gets the same faults. `FakeServer` runs a
`ThreadingHTTPServer` on 127.0.0.1 with an ephemeral port, records every request,
applies the plan, and can be stopped and started again on the same port.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# A body that starts like an order list and stops in the middle of an object.
MALFORMED_BODY = b'{"orders": [{"id": 1, "name": "#10'


class FakeClock:
    """Virtual time shared by a fake server and the client under test.

    `sleep` advances the clock at once and records the duration, so a test can
    assert exactly how long a client waited. `on_sleep`, when set, runs after each
    sleep (for example to start a stopped server again).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._elapsed += seconds
        if self.on_sleep is not None:
            self.on_sleep(seconds)


class FaultKind(enum.Enum):
    STATUS = "status"  # reply with an error status and headers
    DELAY = "delay"  # wait (real time) before handling, to outlast a client timeout
    MALFORMED = "malformed"  # reply 200 with a truncated JSON body
    DROP = "drop"  # close the connection without a reply
    OVERLAP = "overlap"  # list endpoints repeat the previous page's last item


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # real seconds, for FaultKind.DELAY


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    path: str | None
    skip: int
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


class FaultPlan:
    """Deterministic script of faults, consumed by matching requests in arrival order.

    `path` matches the request path without its query string, exactly, or as a
    prefix when it ends with "*". `after` lets that many matching requests through
    untouched first; `times` is how many matching requests then get the fault.
    """

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.applied: list[tuple[str, str, FaultKind]] = []

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | None = None,
        after: int = 0,
        times: int = 1,
    ) -> Self:
        with self._lock:
            self._rules.append(_Rule(fault, method, path, after, times))
        return self

    def status(
        self,
        code: int,
        *,
        retry_after: str | None = None,
        method: str | None = None,
        path: str | None = None,
        after: int = 0,
        times: int = 1,
    ) -> Self:
        headers = (("Retry-After", retry_after),) if retry_after is not None else ()
        fault = Fault(FaultKind.STATUS, status=code, headers=headers)
        return self.add(fault, method=method, path=path, after=after, times=times)

    def delay(
        self,
        seconds: float,
        *,
        method: str | None = None,
        path: str | None = None,
        after: int = 0,
        times: int = 1,
    ) -> Self:
        fault = Fault(FaultKind.DELAY, delay=seconds)
        return self.add(fault, method=method, path=path, after=after, times=times)

    def malformed(
        self, *, method: str | None = None, path: str | None = None, after: int = 0
    ) -> Self:
        return self.add(
            Fault(FaultKind.MALFORMED), method=method, path=path, after=after
        )

    def drop(
        self, *, method: str | None = None, path: str | None = None, after: int = 0
    ) -> Self:
        return self.add(Fault(FaultKind.DROP), method=method, path=path, after=after)

    def overlap(
        self, *, method: str | None = None, path: str | None = None, after: int = 0
    ) -> Self:
        return self.add(Fault(FaultKind.OVERLAP), method=method, path=path, after=after)

    def take(self, method: str, path: str) -> Fault | None:
        """Return the fault for this request, if any, and count it as used."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining <= 0 or not rule.matches(method, path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.remaining -= 1
                self.applied.append((method, path, rule.fault.kind))
                return rule.fault
        return None

    @property
    def pending(self) -> int:
        """Number of fault applications still scripted."""
        with self._lock:
            return sum(rule.remaining for rule in self._rules)


@dataclass
class IncomingRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    fault: Fault | None = None  # only FaultKind.OVERLAP reaches the handler

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None
    ) -> Reply:
        all_headers = [("Content-Type", "application/json; charset=UTF-8")]
        all_headers.extend(headers or [])
        return cls(status, json.dumps(payload).encode("utf-8"), all_headers)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # parsed JSON body, or None
    fault: FaultKind | None


class _QuietThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class FakeServer:
    """Base of the fake channel servers: lifecycle, request log and fault handling.

    Subclasses implement `handle`. Use as a context manager, or call `start` and
    `stop`; `stop` then `start` reopens the same port.
    """

    def __init__(
        self, *, clock: FakeClock | None = None, faults: FaultPlan | None = None
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.faults = faults if faults is not None else FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self.port = 0
        self._httpd: _QuietThreadingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> None:
        if self._httpd is not None:
            return
        httpd = _QuietThreadingServer((LOOPBACK, self.port), _make_handler(self))
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def handle(self, request: IncomingRequest) -> Reply:
        raise NotImplementedError

    def requests_to(
        self, path: str, method: str | None = None
    ) -> list[RecordedRequest]:
        """Return the recorded requests to `path` (prefix match when it ends in *)."""
        rule = _Rule(Fault(FaultKind.DROP), method, path, 0, 1)
        return [r for r in self.requests if rule.matches(r.method, r.path)]


def _make_handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake %s: " + format, type(server).__name__, *args)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = IncomingRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=self.headers,
                body=body,
            )
            fault = server.faults.take(request.method, request.path)
            server.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query,
                    _json_or_none(body),
                    fault.kind if fault else None,
                )
            )
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._respond(request, fault)

        def _respond(self, request: IncomingRequest, fault: Fault | None) -> None:
            if fault is not None and fault.kind is FaultKind.DROP:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None and fault.kind is FaultKind.DELAY:
                time.sleep(fault.delay)
            if fault is not None and fault.kind is FaultKind.STATUS:
                reply = Reply.json(
                    fault.status,
                    {"errors": f"injected HTTP {fault.status}"},
                    list(fault.headers),
                )
            elif fault is not None and fault.kind is FaultKind.MALFORMED:
                reply = Reply(
                    200,
                    MALFORMED_BODY,
                    [("Content-Type", "application/json; charset=UTF-8")],
                )
            else:
                request.fault = fault
                reply = server.handle(request)
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    return Handler


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
