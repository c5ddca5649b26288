"""Sync runs and each channel's state, as the window and the CLI show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.channels.accounts import SYNC_KINDS
from app.core.channels.queue import parked_count, waiting_count
from app.core.models import Channel
from app.core.models.sync_ext import ChannelSyncState, SyncIssue, SyncRun


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel's sync state; ``text`` is the short line the window shows."""

    channel_id: int
    name: str
    kind: str
    url: str
    connected: bool
    text: str
    waiting: int
    parked: int
    issues: int
    offline: bool
    auth_failed: bool
    last_poll_ok_at: datetime | None
    last_push_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    channel: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    orders_seen: int
    orders_captured: int
    orders_updated: int
    orders_waiting: int
    pushed: int
    failed: int
    message: str | None


def _changes(count: int) -> str:
    return f"{count} change{'s' if count != 1 else ''} waiting"


def status_text(
    *,
    connected: bool,
    offline: bool,
    auth_failed: bool,
    waiting: int,
    parked: int,
    issues: int,
) -> str:
    """Return e.g. ``offline, 12 changes waiting`` or ``up to date``."""
    if not connected:
        text = "not connected"
    elif auth_failed:
        text = f"credentials rejected, {_changes(waiting)}; enter them again"
    elif offline:
        text = f"offline, {_changes(waiting)}"
    elif waiting:
        text = _changes(waiting)
    else:
        text = "up to date"
    extras = []
    if parked:
        extras.append(f"{parked} parked")
    if issues:
        extras.append(f"{issues} to check")
    return text + (f" ({', '.join(extras)})" if extras else "")


def channel_status(session: Session, channel_id: int) -> ChannelStatus:
    channel = session.get(Channel, channel_id)
    assert channel is not None
    # Read without adding the row, so that a read-only session stays one.
    state = session.get(ChannelSyncState, channel_id) or ChannelSyncState(
        channel_id=channel_id, auth_failed=False
    )
    waiting = waiting_count(session, channel_id)
    parked = parked_count(session, channel_id)
    open_issues = int(
        session.scalar(
            select(func.count(SyncIssue.id)).where(
                SyncIssue.channel_id == channel_id, SyncIssue.resolved_at.is_(None)
            )
        )
        or 0
    )
    offline = state.offline_since is not None
    return ChannelStatus(
        channel_id=channel.id,
        name=channel.name,
        kind=channel.kind,
        url=str((channel.settings or {}).get("url", "")),
        connected=channel.connected,
        text=status_text(
            connected=channel.connected,
            offline=offline,
            auth_failed=state.auth_failed,
            waiting=waiting,
            parked=parked,
            issues=open_issues,
        ),
        waiting=waiting,
        parked=parked,
        issues=open_issues,
        offline=offline,
        auth_failed=state.auth_failed,
        last_poll_ok_at=state.last_poll_ok_at,
        last_push_at=state.last_push_at,
        last_error=state.last_error,
    )


def all_status(session: Session) -> list[ChannelStatus]:
    """Return the state of every Shopify and WooCommerce channel."""
    ids = session.scalars(
        select(Channel.id).where(Channel.kind.in_(SYNC_KINDS)).order_by(Channel.id)
    ).all()
    return [channel_status(session, channel_id) for channel_id in ids]


def start_run(
    session: Session, channel_id: int, now: datetime, since: datetime | None
) -> int:
    run = SyncRun(channel_id=channel_id, started_at=now, since=since, status="running")
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    now: datetime,
    *,
    status: str,
    orders_seen: int = 0,
    orders_captured: int = 0,
    orders_updated: int = 0,
    orders_waiting: int = 0,
    pushed: int = 0,
    failed: int = 0,
    message: str | None = None,
) -> None:
    run = session.get(SyncRun, run_id)
    if run is None:
        return
    run.finished_at = now
    run.status = status
    run.orders_seen = orders_seen
    run.orders_captured = orders_captured
    run.orders_updated = orders_updated
    run.orders_waiting = orders_waiting
    run.pushed = pushed
    run.failed = failed
    run.message = message


def recent_runs(
    session: Session, channel_id: int | None = None, *, limit: int = 50
) -> list[RunView]:
    query = select(SyncRun, Channel.name).join(
        Channel, Channel.id == SyncRun.channel_id
    )
    if channel_id is not None:
        query = query.where(SyncRun.channel_id == channel_id)
    rows = session.execute(query.order_by(SyncRun.id.desc()).limit(limit))
    return [
        RunView(
            id=run.id,
            channel=name,
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            orders_seen=run.orders_seen,
            orders_captured=run.orders_captured,
            orders_updated=run.orders_updated,
            orders_waiting=run.orders_waiting,
            pushed=run.pushed,
            failed=run.failed,
            message=run.message,
        )
        for run, name in rows
    ]
