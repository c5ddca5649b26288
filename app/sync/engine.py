"""The sync engine: walks each channel's orders and drains its outbox.

Orders in. Each channel is polled every ``Channel.poll_interval_s`` seconds.
A walk reads every order updated since the cursor less the overlap window,
imports each order in its own transaction, and only then moves the cursor to
the moment the walk started. The newest order's time is never used, so an
order stamped by a clock behind ours, or updated while the walk was paging,
is read again by the next walk. Capture is idempotent by ``(channel,
external id)``, so reading an order twice costs a comparison. A process
killed in the middle of a walk leaves the cursor where it was; the next run
walks the same window again.

Stock and tracking out. Every step claims the due outbox rows of each
channel: the newest figure per SKU (see ``app.core.channels.queue``) and
the tracking messages. Shopify figures are sent with ``changeFromQuantity``
set to the figure Backroom believes the channel shows. When Shopify reports a
different figure, the channel sold something Backroom has not seen, so the
engine walks that channel's orders and sends again. When the figures still
differ after that, the channel's own figure is taken as the starting point
and the figure is sent once more. WooCommerce has no compare-and-set, so the
engine walks its orders before pushing when the last walk is older than
``poll_before_push_s``.

Failures. 429, 5xx and timeouts are retried by the HTTP client with
back-off and jitter; what still fails counts an attempt on each row and sets
``next_attempt_at``. A channel that cannot be reached (connection refused,
name not resolved) is marked offline: nothing is sent and no attempt is
counted, and the engine tries again after a growing pause. Rejected
credentials stop the channel until they are entered again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import requests
from sqlalchemy import Engine, select

from app.core.channels import accounts, buffers, issues, listings, queue, status
from app.core.channels.accounts import ChannelConfig
from app.core.channels.listings import ListingReport
from app.core.channels.order_import import (
    hold_unreadable,
    import_order,
    is_unchanged,
    waiting_orders,
)
from app.core.exceptions import BackroomError
from app.core.models.sync_ext import ChannelBuffer, ChannelSyncState, SyncRun
from app.core.uow import UnitOfWork
from app.sync.adapters import ChannelAdapter, StockPush, StockPushResult, make_adapter
from app.sync.errors import (
    AuthError,
    MalformedResponse,
    PermanentError,
    RetryableError,
    SyncError,
)
from app.sync.http import HttpClient, RetryPolicy
from app.sync.secrets import MissingSecret, SecretStore

logger = logging.getLogger(__name__)


class Clock(Protocol):
    """The source of time and waits for the engine; tests pass a virtual clock."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Timings and limits of the engine; durations in seconds."""

    #: How often the loop looks for new outbox rows between polls.
    outbox_check_s: float = 0.5
    listings_refresh_s: float = 6 * 3600
    buffers_refresh_s: float = 3600
    #: First pause after a channel went offline; it doubles up to the maximum.
    offline_retry_s: float = 5.0
    offline_retry_max_s: float = 120.0
    #: First pause after another channel-wide failure; it doubles up to an hour.
    failure_retry_s: float = 30.0
    auth_retry_s: float = 300.0
    push_batch: int = 250
    push_batches_per_step: int = 20
    http_timeout: tuple[float, float] = (5.0, 30.0)
    http_attempts: int = 3
    #: A Retry-After longer than this is not slept through: the rows wait instead.
    max_retry_after_s: float = 30.0
    compare_and_set: bool = True
    max_attempts: int = queue.MAX_ATTEMPTS
    poll_before_push_s: float = 10.0
    #: Let requests read proxy settings from the environment.
    trust_env: bool = True


@dataclass(slots=True)
class PollReport:
    channel: str
    status: str = "ok"  # ok, offline, failed, auth, skipped
    seen: int = 0
    captured: int = 0
    held: int = 0
    updated: int = 0
    cancelled: int = 0
    waiting: int = 0
    skipped: int = 0
    message: str = ""
    run_id: int | None = None
    order_ids: set[int] = field(default_factory=set)
    started_at: datetime | None = None
    since: datetime | None = None


@dataclass(slots=True)
class PushReport:
    channel: str
    status: str = "ok"  # ok, offline, failed, auth, skipped
    sent: int = 0
    tracking: int = 0
    stale: int = 0
    retried: int = 0
    parked: int = 0
    message: str = ""


@dataclass(slots=True)
class RunReport:
    """One pass over a channel by ``run_once``."""

    channel: str
    poll: PollReport | None = None
    push: PushReport | None = None
    listings: ListingReport | None = None
    status: str = ""


@dataclass(slots=True)
class _Stale:
    pushes: list[tuple[StockPush, int | None]] = field(default_factory=list)


AdapterFactory = Callable[[ChannelConfig], ChannelAdapter]
_STATE_TIMES = (
    "retry_at",
    "last_poll_started_at",
    "last_poll_ok_at",
    "listings_refreshed_at",
    "buffers_refreshed_at",
)


class SyncEngine:
    """Polls channels and sends their queued pushes over one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        secrets: SecretStore | None = None,
        clock: Clock | None = None,
        options: SyncOptions | None = None,
        adapter_factory: AdapterFactory | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.secrets = secrets if secrets is not None else SecretStore()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.options = options or SyncOptions()
        self.rng = rng or random.Random()
        self._factory = adapter_factory or self._make_adapter
        self._adapters: dict[int, tuple[tuple[Any, ...], ChannelAdapter]] = {}
        self._lock = threading.Lock()
        self._changed_orders: set[int] = set()

    def take_changed_orders(self) -> set[int]:
        """Return the orders captured or changed since the last call; forget them."""
        with self._lock:
            found, self._changed_orders = self._changed_orders, set()
        return found

    # --- adapters -------------------------------------------------------------

    def _make_adapter(self, config: ChannelConfig) -> ChannelAdapter:
        session = requests.Session()
        session.trust_env = self.options.trust_env
        http = HttpClient(
            session=session,
            timeout=self.options.http_timeout,
            retry=RetryPolicy(
                max_attempts=self.options.http_attempts,
                max_retry_after=self.options.max_retry_after_s,
            ),
            clock=self.clock.monotonic,
            sleep=self.clock.sleep,
            now=self.clock.now,
            rng=self.rng,
        )
        return make_adapter(config, self.secrets, http)

    def adapter(self, config: ChannelConfig) -> ChannelAdapter:
        """Return the channel's adapter, rebuilt when its settings changed."""
        key = (config.kind, config.url, config.location_ref, config.query_string_auth)
        cached = self._adapters.get(config.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        made = self._factory(config)
        self._adapters[config.id] = (key, made)
        return made

    def credentials_changed(self, channel: str) -> None:
        """Forget the channel's adapter and let it try its new credentials."""
        with UnitOfWork(self.engine) as uow:
            config = accounts.channel_config(uow.session, channel)
            state = accounts.sync_state(uow.session, config.id)
            state.auth_failed = False
            state.retry_at = None
            uow.commit()
        self._adapters.pop(config.id, None)

    # --- configs and state ------------------------------------------------------

    def configs(self, channel: str | None = None) -> list[ChannelConfig]:
        with UnitOfWork(self.engine, write=False) as uow:
            return accounts.sync_channels(uow.session, channel)

    def _fresh(self, config: ChannelConfig) -> ChannelConfig:
        with UnitOfWork(self.engine, write=False) as uow:
            return accounts.channel_config(uow.session, config.id)

    def _state_times(self, channel_id: int) -> dict[str, datetime | None]:
        with UnitOfWork(self.engine, write=False) as uow:
            state = uow.session.get(ChannelSyncState, channel_id)
            if state is None:
                return dict.fromkeys(_STATE_TIMES)
            return {name: getattr(state, name) for name in _STATE_TIMES}

    def _channel_ok(self, config: ChannelConfig) -> None:
        now = self.clock.now()
        with UnitOfWork(self.engine, write=False) as uow:
            state = uow.session.get(ChannelSyncState, config.id)
            clean = state is not None and (
                state.offline_since is None
                and not state.auth_failed
                and state.failures == 0
                and state.retry_at is None
                and state.last_error is None
            )
        if clean:
            return
        with UnitOfWork(self.engine) as uow:
            state = accounts.sync_state(uow.session, config.id)
            if state.offline_since is not None:
                gone = (now - state.offline_since).total_seconds()
                issues.log(
                    uow.session,
                    config.id,
                    "info",
                    f"{config.name}: reachable again after {gone:.0f} s offline",
                    now=now,
                )
                logger.info("channel %s is reachable again", config.name)
            state.offline_since = None
            state.auth_failed = False
            state.failures = 0
            state.retry_at = None
            state.last_error = None
            uow.commit()

    def _channel_failed(self, config: ChannelConfig, exc: Exception, stage: str) -> str:
        """Record a channel-wide failure and when to try again; return the status."""
        now = self.clock.now()
        text = str(exc)
        with UnitOfWork(self.engine) as uow:
            session = uow.session
            state = accounts.sync_state(session, config.id)
            state.failures += 1
            state.last_error = f"{stage}: {text}"[:2000]
            if isinstance(exc, AuthError | MissingSecret):
                result = "auth"
                state.auth_failed = True
                delay = self.options.auth_retry_s
                self._adapters.pop(config.id, None)
                issues.log(
                    session, config.id, "error", f"{config.name}: {text}", now=now
                )
            elif isinstance(exc, RetryableError) and exc.offline:
                result = "offline"
                if state.offline_since is None:
                    state.offline_since = now
                    issues.log(
                        session,
                        config.id,
                        "warning",
                        f"{config.name}: offline ({text}); changes wait in the queue",
                        now=now,
                    )
                delay = min(
                    self.options.offline_retry_max_s,
                    self.options.offline_retry_s * 2 ** min(state.failures - 1, 10),
                )
            else:
                result = "failed"
                delay = min(
                    3600.0,
                    self.options.failure_retry_s * 2 ** min(state.failures - 1, 10),
                )
                if isinstance(exc, RetryableError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                issues.log(
                    session,
                    config.id,
                    "error",
                    f"{config.name}: {stage} failed: {text}",
                    now=now,
                )
            state.retry_at = now + timedelta(seconds=delay)
            uow.commit()
        logger.warning(
            "channel %s: %s failed (%s); next try in %.0f s",
            config.name,
            stage,
            text,
            delay,
        )
        return result

    # --- listings and buffers -------------------------------------------------

    def refresh_listings(self, config: ChannelConfig) -> ListingReport:
        """Read the channel's listings and match them to local SKUs."""
        found = self.adapter(config).listings()
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            report = listings.update_listings(uow, config.id, found, now=now)
            accounts.sync_state(uow.session, config.id).listings_refreshed_at = now
            uow.commit()
        return report

    def test(self, channel: str) -> tuple[str, ListingReport]:
        """Check a channel's connection and refresh its listings."""
        (config,) = self.configs(channel)
        self._adapters.pop(config.id, None)
        adapter = self.adapter(config)
        message = adapter.check()
        report = self.refresh_listings(config)
        self._channel_ok(config)
        return message, report

    def _refresh_buffers_if_due(self, config: ChannelConfig) -> None:
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            session = uow.session
            has_auto = session.scalar(
                select(ChannelBuffer.id).where(
                    ChannelBuffer.channel_id == config.id, ChannelBuffer.mode == "auto"
                )
            )
            state = accounts.sync_state(session, config.id)
            last = state.buffers_refreshed_at
            due = last is None or (now - last).total_seconds() >= (
                self.options.buffers_refresh_s
            )
            if has_auto and due:
                changed = buffers.refresh_auto_buffers(uow, config.id, now=now)
                if changed:
                    issues.log(
                        session,
                        config.id,
                        "info",
                        f"{config.name}: automatic buffers resized for "
                        f"{len(changed)} SKU(s)",
                        now=now,
                    )
            if due:
                state.buffers_refreshed_at = now
            uow.commit()

    # --- orders in ------------------------------------------------------------

    def poll(self, config: ChannelConfig) -> PollReport:
        """Walk the channel's orders once; failures are recorded, not raised."""
        report = PollReport(config.name)
        try:
            self._walk(config, report)
        except (SyncError, BackroomError) as exc:
            report.status = self._channel_failed(config, exc, "reading orders")
            report.message = str(exc)
            self._finish_run(
                config.id,
                report,
                "offline" if report.status == "offline" else "failed",
            )
            return report
        self._channel_ok(config)
        return report

    def _walk(self, config: ChannelConfig, report: PollReport) -> None:
        config = self._fresh(config)
        adapter = self.adapter(config)
        report.started_at = start = self.clock.now()
        report.since = since = accounts.walk_since(config, start)
        seen: set[str] = set()
        for record in adapter.orders_since(since):
            report.seen += 1
            external_id = self._import_record(config, adapter, record, report)
            seen.add(external_id)
        with UnitOfWork(self.engine, write=False) as uow:
            retry = [
                dict(row.payload or {})
                for row in waiting_orders(uow.session, config.id)
                if row.external_id not in seen
            ]
        for record in retry:
            self._import_record(config, adapter, record, report)
        self._finish_run(config.id, report, "ok", cursor=start)

    def _finish_run(
        self,
        channel_id: int,
        report: PollReport,
        outcome: str,
        *,
        cursor: datetime | None = None,
    ) -> None:
        """Record the walk: cursor, poll times and, unless it found nothing, a run.

        A walk that read no order and failed nowhere leaves no run row, so a
        quiet channel polled every minute does not fill the table.
        """
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            session = uow.session
            state = accounts.sync_state(session, channel_id)
            state.last_poll_started_at = report.started_at or now
            if cursor is not None:
                accounts.save_cursor(session, channel_id, cursor)
                state.last_poll_ok_at = now
            if outcome != "ok" or report.seen or report.waiting:
                report.run_id = status.start_run(
                    session, channel_id, report.started_at or now, report.since
                )
                status.finish_run(
                    session,
                    report.run_id,
                    now,
                    status=outcome,
                    orders_seen=report.seen,
                    orders_captured=report.captured + report.held,
                    orders_updated=report.updated + report.cancelled,
                    orders_waiting=report.waiting,
                    message=report.message or None,
                )
            uow.commit()

    def _import_record(
        self,
        config: ChannelConfig,
        adapter: ChannelAdapter,
        record: Mapping[str, Any],
        report: PollReport,
    ) -> str:
        """Import one channel record in its own transaction; return its id."""
        fallback_id = str(record.get("legacyResourceId") or record.get("id") or "?")
        try:
            data = adapter.parse(record)
        except (
            KeyError,
            ValueError,
            TypeError,
            ArithmeticError,
            AttributeError,
        ) as exc:
            reason = (
                f"{config.name} order {fallback_id} could not be read "
                f"({type(exc).__name__}: {exc}); it is kept and read again each sync"
            )
            logger.warning("%s", reason)
            with UnitOfWork(self.engine) as uow:
                hold_unreadable(
                    uow,
                    config.id,
                    fallback_id,
                    dict(record),
                    reason,
                    now=self.clock.now(),
                )
                uow.commit()
            report.waiting += 1
            return fallback_id
        with UnitOfWork(self.engine, write=False) as uow:
            if is_unchanged(uow.session, config.id, data):
                return data.external_id
        with UnitOfWork(self.engine) as uow:
            outcome = import_order(uow, config.id, data, now=self.clock.now())
            uow.commit()
        if outcome.order_id is not None and outcome.action != "unchanged":
            report.order_ids.add(outcome.order_id)
            with self._lock:
                self._changed_orders.add(outcome.order_id)
        if outcome.action == "captured":
            report.captured += 1
        elif outcome.action == "held":
            report.held += 1
        elif outcome.action == "updated":
            report.updated += 1
        elif outcome.action == "cancelled":
            report.cancelled += 1
        elif outcome.action == "waiting":
            report.waiting += 1
        elif outcome.action == "skipped":
            report.skipped += 1
        return data.external_id

    # --- stock and tracking out -------------------------------------------------

    def push(self, config: ChannelConfig) -> PushReport:
        """Send the channel's due tracking messages and stock figures."""
        report = PushReport(config.name)
        try:
            adapter = self.adapter(config)
            self._send_messages(config, adapter, report)
            self._send_all_stock(config, adapter, report)
        except (SyncError, BackroomError) as exc:
            report.status = self._channel_failed(config, exc, "sending")
            report.message = str(exc)
            return report
        if report.sent or report.tracking or report.parked:
            now = self.clock.now()
            with UnitOfWork(self.engine) as uow:
                accounts.sync_state(uow.session, config.id).last_push_at = now
                parts = [f"sent {report.sent} stock figure(s)"]
                if report.tracking:
                    parts.append(f"{report.tracking} tracking number(s)")
                if report.parked:
                    parts.append(f"parked {report.parked}")
                issues.log(
                    uow.session,
                    config.id,
                    "warning" if report.parked else "info",
                    f"{config.name}: " + ", ".join(parts),
                    now=now,
                )
                uow.commit()
            self._channel_ok(config)
        return report

    def _send_messages(
        self, config: ChannelConfig, adapter: ChannelAdapter, report: PushReport
    ) -> None:
        with UnitOfWork(self.engine, write=False) as uow:
            messages = queue.claim_messages(uow.session, config.id, self.clock.now())
        for message in messages:
            payload = message.payload
            number = str(payload.get("tracking_number") or "")
            problem = None
            if message.kind not in queue.MESSAGE_KINDS:
                problem = f"outbox kind {message.kind!r} is not sent to {config.kind}"
            elif not number or not payload.get("external_id"):
                problem = "the tracking row names no order or no tracking number"
            if problem is None:
                try:
                    adapter.push_tracking(
                        str(payload["external_id"]),
                        payload.get("carrier"),
                        number,
                        payload.get("url"),
                    )
                except PermanentError as exc:
                    problem = str(exc)
                except (RetryableError, MalformedResponse) as exc:
                    if not (isinstance(exc, RetryableError) and exc.offline):
                        self._row_failed(message.row_id, str(exc), exc)
                        report.retried += 1
                    raise
            now = self.clock.now()
            with UnitOfWork(self.engine) as uow:
                if problem is None:
                    queue.mark_message_sent(uow.session, message.row_id, now)
                    report.tracking += 1
                else:
                    queue.mark_failed(
                        uow.session, message.row_id, problem, now, permanent=True
                    )
                    report.parked += 1
                uow.commit()

    def _row_failed(self, row_id: int, text: str, exc: Exception | None) -> bool:
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        with UnitOfWork(self.engine) as uow:
            parked = queue.mark_failed(
                uow.session,
                row_id,
                text,
                self.clock.now(),
                retry_after=retry_after,
                rng=self.rng,
                max_attempts=self.options.max_attempts,
            )
            uow.commit()
        return parked

    def _claim(
        self, config: ChannelConfig, only: set[int] | None = None
    ) -> list[queue.StockWork]:
        with UnitOfWork(self.engine, write=False) as uow:
            works, skipped = queue.claim_stock(
                uow.session, config.id, self.clock.now(), limit=self.options.push_batch
            )
        if skipped:
            with UnitOfWork(self.engine) as uow:
                queue.settle_skipped(uow.session, skipped)
                uow.commit()
        if only is not None:
            works = [w for w in works if w.variant_id in only]
        return works

    def _send_all_stock(
        self, config: ChannelConfig, adapter: ChannelAdapter, report: PushReport
    ) -> None:
        for _batch in range(self.options.push_batches_per_step):
            works = self._claim(config)
            if not works:
                return
            if not adapter.compares and self._walk_is_old(config):
                self._walk(config, PollReport(config.name))
                works = self._claim(config)
            stale = self._send_stock(config, adapter, works, report)
            if stale:
                self._resolve_stale(config, adapter, works, stale, report)
            if len(works) < self.options.push_batch:
                return

    def _walk_is_old(self, config: ChannelConfig) -> bool:
        last = self._state_times(config.id)["last_poll_ok_at"]
        if last is None:
            return True
        age = (self.clock.now() - last).total_seconds()
        return age >= self.options.poll_before_push_s

    def _resolve_stale(
        self,
        config: ChannelConfig,
        adapter: ChannelAdapter,
        works: Sequence[queue.StockWork],
        stale: list[tuple[StockPush, int | None]],
        report: PushReport,
    ) -> None:
        """Walk the orders behind stale figures, then send those SKUs again."""
        report.stale += len(stale)
        variant_of = {work.row_id: work.variant_id for work in works}
        variants = {variant_of[push.row_id] for push, _current in stale}
        self._walk(config, PollReport(config.name))
        again = self._claim(config, variants)
        left = self._send_stock(config, adapter, again, report)
        if not left:
            return
        # The orders do not explain the channel's figure (an edit in the
        # channel's admin, say), so the channel's figure is the starting point.
        with UnitOfWork(self.engine) as uow:
            for push, current in left:
                if current is not None:
                    queue.set_believed(uow.session, push.target.listing_id, current)
            uow.commit()
        for push, current in left:
            logger.warning(
                "channel %s: SKU %s shows %s on the channel, not the %s Backroom "
                "expected; sending from the channel's figure",
                config.name,
                push.target.channel_sku,
                current,
                push.change_from,
            )
        variant_of = {work.row_id: work.variant_id for work in again}
        last = self._claim(config, {variant_of[push.row_id] for push, _ in left})
        for push, _current in self._send_stock(config, adapter, last, report):
            self._row_failed(
                push.row_id,
                f"the channel's figure for {push.target.channel_sku} changed again "
                "while it was being set; trying again later",
                None,
            )
            report.retried += 1

    def _send_stock(
        self,
        config: ChannelConfig,
        adapter: ChannelAdapter,
        works: Sequence[queue.StockWork],
        report: PushReport,
    ) -> list[tuple[StockPush, int | None]]:
        """Send one batch and settle every row; return the stale pushes."""
        if not works:
            return []
        compare = adapter.compares and self.options.compare_and_set
        pushes = [
            StockPush(
                work.row_id,
                target,
                work.quantity,
                target.channel_quantity if compare else None,
            )
            for work in works
            for target in work.targets
        ]
        try:
            result = adapter.push_stock(pushes)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            result = StockPushResult((), (), tuple((p, str(exc)) for p in pushes))
        except (RetryableError, MalformedResponse) as exc:
            if isinstance(exc, RetryableError) and exc.offline:
                raise
            for work in works:
                report.retried += 1
                if self._row_failed(work.row_id, str(exc), exc):
                    report.parked += 1
            raise
        return self._settle(works, result, report)

    def _settle(
        self,
        works: Sequence[queue.StockWork],
        result: StockPushResult,
        report: PushReport,
    ) -> list[tuple[StockPush, int | None]]:
        applied: dict[int, dict[int, int]] = {}
        for push in result.applied:
            applied.setdefault(push.row_id, {})[push.target.listing_id] = push.quantity
        failed: dict[int, list[str]] = {}
        for push, reason in result.failed:
            failed.setdefault(push.row_id, []).append(
                f"{push.target.channel_sku}: {reason}"
            )
        stale_rows = {push.row_id for push, _current in result.stale}
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            session = uow.session
            for work in works:
                accepted = applied.get(work.row_id, {})
                if work.row_id in failed:
                    for listing_id, quantity in accepted.items():
                        queue.set_believed(session, listing_id, quantity)
                    queue.mark_failed(
                        session,
                        work.row_id,
                        "; ".join(failed[work.row_id]),
                        now,
                        permanent=True,
                    )
                    report.parked += 1
                elif work.row_id in stale_rows:
                    for listing_id, quantity in accepted.items():
                        queue.set_believed(session, listing_id, quantity)
                elif len(accepted) == len(work.targets):
                    queue.mark_stock_sent(session, work, now, accepted=accepted)
                    report.sent += 1
                else:
                    queue.mark_failed(
                        session,
                        work.row_id,
                        "the channel did not confirm every listing of this SKU",
                        now,
                        rng=self.rng,
                        max_attempts=self.options.max_attempts,
                    )
                    report.retried += 1
            uow.commit()
        return list(result.stale)

    # --- one pass, and the loop's step -------------------------------------------

    def run_once(self, channel: str | None = None) -> list[RunReport]:
        """Refresh listings when due, walk every channel's orders, then send.

        All walks come before all pushes, so a sale read from one channel
        reaches the others in the same pass.
        """
        runs: list[tuple[ChannelConfig, RunReport]] = []
        for config in self.configs(channel):
            run = RunReport(config.name)
            run.poll = self.poll(config)
            if run.poll.status in ("ok", "failed"):
                run.listings = self._refresh_listings_if_due(config)
            runs.append((config, run))
        for config, run in runs:
            assert run.poll is not None
            if run.poll.status in ("ok", "failed"):
                run.push = self.push(config)
                self._record_push(run.poll, run.push)
            self._refresh_buffers_if_due(config)
            run.status = self.status_text(config.id)
        return [run for _config, run in runs]

    def step(self, channel: str | None = None) -> float:
        """Do what is due on every channel; return seconds until more is due.

        Walks whose interval has passed come first, then every reachable
        channel's outbox is drained.
        """
        waits = [self.options.outbox_check_s]
        ready: list[tuple[ChannelConfig, PollReport | None]] = []
        for config in self.configs(channel):
            now = self.clock.now()
            times = self._state_times(config.id)
            retry_at = times["retry_at"]
            if retry_at is not None and retry_at > now:
                waits.append((retry_at - now).total_seconds())
                continue
            last = times["last_poll_started_at"]
            next_poll = (
                now
                if last is None or times["last_poll_ok_at"] is None
                else last + timedelta(seconds=config.poll_interval_s)
            )
            poll = None
            if next_poll <= now:
                poll = self.poll(config)
                if poll.status not in ("ok", "failed"):
                    continue
                next_poll = now + timedelta(seconds=config.poll_interval_s)
            self._refresh_listings_if_due(config)
            waits.append((next_poll - now).total_seconds())
            ready.append((config, poll))
        for config, poll in ready:
            push = self.push(config)
            if poll is not None:
                self._record_push(poll, push)
            self._refresh_buffers_if_due(config)
        return max(0.0, min(waits))

    def _refresh_listings_if_due(self, config: ChannelConfig) -> ListingReport | None:
        """Read the listings when they are older than ``listings_refresh_s``.

        This runs after a walk, so the figures the channel reports already
        count the sales that walk captured.
        """
        last = self._state_times(config.id)["listings_refreshed_at"]
        if last is not None:
            age = (self.clock.now() - last).total_seconds()
            if age < self.options.listings_refresh_s:
                return None
        try:
            return self.refresh_listings(config)
        except (SyncError, BackroomError) as exc:
            self._channel_failed(config, exc, "reading listings")
            return None

    def _record_push(self, poll: PollReport, push: PushReport) -> None:
        if poll.run_id is None:
            return
        with UnitOfWork(self.engine) as uow:
            run = uow.session.get(SyncRun, poll.run_id)
            if run is not None:
                run.pushed = push.sent + push.tracking
                run.failed = push.parked + push.retried
                if push.status != "ok":
                    run.message = push.message or run.message
            uow.commit()

    def status_text(self, channel_id: int) -> str:
        with UnitOfWork(self.engine, write=False) as uow:
            return status.channel_status(uow.session, channel_id).text
