"""The sync exceptions queue and the sync log.

An issue is something the worker could not settle alone: an order with a SKU
nobody mapped, a refund without lines, a change that arrived after shipment.
Each has a key unique within its channel, so a problem met on every poll is
one entry with a count, not a flood. Stock pushes that keep failing are
parked in the outbox itself and shown next to these (see ``queue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, NotFound
from app.core.models import Channel, SyncLogEntry
from app.core.models.sync_ext import SyncIssue
from app.core.uow import UnitOfWork

#: Kinds of issue, for filtering in the window.
ISSUE_KINDS = (
    "unknown_sku",
    "currency",
    "order",
    "refund",
    "change",
    "cancel",
    "total",
)
#: Sync log levels, most severe last.
LOG_LEVELS = ("info", "warning", "error")


@dataclass(frozen=True, slots=True)
class IssueView:
    id: int
    channel_id: int
    channel: str
    kind: str
    key: str
    message: str
    external_id: str | None
    sku: str | None
    order_id: int | None
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class LogView:
    id: int
    channel: str | None
    at: datetime
    level: str
    message: str


def raise_issue(
    session: Session,
    channel_id: int,
    kind: str,
    key: str,
    message: str,
    *,
    external_id: str | None = None,
    sku: str | None = None,
    order_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> SyncIssue:
    """Add an issue, or count one more occurrence of an open one.

    An issue with the same key that was resolved before is opened again,
    because the problem came back.
    """
    moment = now or datetime.now(UTC)
    issue = session.scalar(
        select(SyncIssue).where(
            SyncIssue.channel_id == channel_id, SyncIssue.key == key
        )
    )
    if issue is None:
        issue = SyncIssue(
            channel_id=channel_id,
            kind=kind,
            key=key,
            created_at=moment,
            occurrences=0,
        )
        session.add(issue)
    elif issue.resolved_at is not None:
        issue.resolved_at = None
        issue.resolution = None
        issue.occurrences = 0
    issue.message = message
    issue.external_id = external_id
    issue.sku = sku
    issue.order_id = order_id
    issue.detail = detail or {}
    issue.occurrences += 1
    issue.last_seen_at = moment
    session.flush()
    return issue


def settle_issues(
    session: Session,
    channel_id: int,
    keys: list[str],
    resolution: str,
    *,
    now: datetime | None = None,
) -> int:
    """Resolve the open issues with these keys; return how many were open."""
    if not keys:
        return 0
    moment = now or datetime.now(UTC)
    issues = session.scalars(
        select(SyncIssue).where(
            SyncIssue.channel_id == channel_id,
            SyncIssue.key.in_(keys),
            SyncIssue.resolved_at.is_(None),
        )
    ).all()
    for issue in issues:
        issue.resolved_at = moment
        issue.resolution = resolution
    return len(issues)


def resolve_issue(uow: UnitOfWork, issue_id: int, resolution: str) -> Changes:
    """Mark an issue as dealt with by a person, with what they did."""
    issue = uow.session.get(SyncIssue, issue_id)
    if issue is None:
        raise NotFound(f"sync issue {issue_id} does not exist")
    if issue.resolved_at is not None:
        raise InvalidTransition(
            f"sync issue {issue_id} was resolved already ({issue.resolution})"
        )
    issue.resolved_at = datetime.now(UTC)
    issue.resolution = resolution.strip() or "resolved by hand"
    record(uow, "sync.resolve_issue", "sync_issue", issue.id, reason=issue.resolution)
    return Changes()


def issues(
    session: Session,
    channel_id: int | None = None,
    *,
    include_resolved: bool = False,
    limit: int = 500,
) -> list[IssueView]:
    """Return issues, newest first; open ones only unless asked otherwise."""
    query = select(SyncIssue, Channel.name).join(
        Channel, Channel.id == SyncIssue.channel_id
    )
    if channel_id is not None:
        query = query.where(SyncIssue.channel_id == channel_id)
    if not include_resolved:
        query = query.where(SyncIssue.resolved_at.is_(None))
    rows = session.execute(query.order_by(SyncIssue.last_seen_at.desc()).limit(limit))
    return [
        IssueView(
            id=issue.id,
            channel_id=issue.channel_id,
            channel=name,
            kind=issue.kind,
            key=issue.key,
            message=issue.message,
            external_id=issue.external_id,
            sku=issue.sku,
            order_id=issue.order_id,
            occurrences=issue.occurrences,
            created_at=issue.created_at,
            last_seen_at=issue.last_seen_at,
            resolved_at=issue.resolved_at,
            resolution=issue.resolution,
        )
        for issue, name in rows
    ]


def log(
    session: Session,
    channel_id: int | None,
    level: str,
    message: str,
    *,
    now: datetime | None = None,
) -> None:
    """Add a line to the sync log that the Channels page shows."""
    if level not in LOG_LEVELS:
        raise ValueError(f"sync log level {level!r} is not one of {LOG_LEVELS}")
    session.add(
        SyncLogEntry(
            channel_id=channel_id,
            at=now or datetime.now(UTC),
            level=level,
            message=message,
        )
    )


def sync_log(
    session: Session, channel_id: int | None = None, *, limit: int = 200
) -> list[LogView]:
    """Return the newest sync log lines first."""
    query = select(SyncLogEntry, Channel.name).outerjoin(
        Channel, Channel.id == SyncLogEntry.channel_id
    )
    if channel_id is not None:
        query = query.where(SyncLogEntry.channel_id == channel_id)
    rows = session.execute(
        query.order_by(SyncLogEntry.at.desc(), SyncLogEntry.id.desc()).limit(limit)
    )
    return [
        LogView(entry.id, name, entry.at, entry.level, entry.message)
        for entry, name in rows
    ]
