"""Claiming and settling outbox rows for the sync worker.

Stock rows are coalesced: per channel and SKU only the newest pending row is
sent, and once it is accepted every older row for that channel and SKU
(pending or parked) is marked ``superseded``. A row that fails is tried again
after an exponential back-off with jitter (or the wait the channel asked
for), counted in ``attempts``; after :data:`MAX_ATTEMPTS` attempts, or at
once when the channel refuses it for good, it is ``parked`` with
``last_error`` set, shown as an exception, and the other rows keep flowing.
Rows for a SKU the channel does not list are marked ``unlisted``.

Outbox statuses: ``pending``, ``origin`` (never sent), ``sent``,
``superseded``, ``parked``, ``unlisted``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, NotFound
from app.core.models import OutboxItem
from app.core.models.sync_ext import ChannelListing
from app.core.uow import UnitOfWork

MAX_ATTEMPTS = 8
BASE_DELAY_S = 10.0
MAX_DELAY_S = 3600.0
#: Outbox kinds the sync worker sends; other kinds are parked as unsupported.
MESSAGE_KINDS = ("tracking",)


@dataclass(frozen=True, slots=True)
class ListingTarget:
    """A listing that receives one SKU's figure, and the figure it shows now."""

    listing_id: int
    channel_sku: str
    product_ref: str | None
    variant_ref: str | None
    inventory_item_ref: str | None
    location_ref: str | None
    channel_quantity: int | None


@dataclass(frozen=True, slots=True)
class StockWork:
    """The newest figure of one SKU for one channel, and the rows it replaces."""

    row_id: int
    older_ids: tuple[int, ...]
    variant_id: int
    sku: str
    quantity: int
    attempts: int
    created_at: datetime
    targets: tuple[ListingTarget, ...]


@dataclass(frozen=True, slots=True)
class MessageWork:
    row_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class QueueRow:
    """An outbox row as the Channels page lists it."""

    id: int
    kind: str
    sku: str | None
    quantity: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]


def retry_delay(
    attempts: int, retry_after: float | None, rng: random.Random | None = None
) -> float:
    """Return seconds to wait before attempt ``attempts + 1``.

    Exponential back-off from :data:`BASE_DELAY_S`, capped at
    :data:`MAX_DELAY_S`, with equal jitter (half fixed, half random), so
    that many rows failing together do not retry together. A wait the
    channel asked for (Retry-After) is never shortened.
    """
    chooser = rng or random.Random()
    ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** max(attempts - 1, 0))
    delay: float = ceiling / 2 + chooser.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def _due(now: datetime) -> Any:
    # A row never tried is due at once, whatever clock wrote its timestamp.
    return or_(OutboxItem.attempts == 0, OutboxItem.next_attempt_at <= now)


def claim_stock(
    session: Session, channel_id: int, now: datetime, *, limit: int = 250
) -> tuple[list[StockWork], list[int]]:
    """Return the stock figures due for a channel, newest per SKU.

    Returns the work and the ids of rows to mark with :func:`settle_skipped`:
    rows of SKUs the channel does not list, and pending rows made obsolete by
    a newer ``origin`` row (the channel's own sale, after which the channel
    shows Backroom's figure; when it does not, import queues a newer pending
    row). A SKU whose newest row is still backing off is left alone, even
    when an older row would be due, so an old figure is never sent after a
    new one. This function only reads.
    """
    waiting = select(OutboxItem.variant_id).where(
        OutboxItem.status == "pending",
        OutboxItem.channel_id == channel_id,
        OutboxItem.kind == "stock",
    )
    if session.scalar(waiting.limit(1)) is None:
        return [], []
    # Only SKUs with a pending row matter; ``origin`` rows pile up with every
    # sale and are read for those SKUs alone.
    newest = (
        select(func.max(OutboxItem.id).label("last"))
        .where(
            OutboxItem.channel_id == channel_id,
            OutboxItem.kind == "stock",
            OutboxItem.variant_id.in_(waiting.distinct().scalar_subquery()),
            OutboxItem.status.in_(("pending", "origin")),
        )
        .group_by(OutboxItem.variant_id)
        .subquery()
    )
    rows = session.scalars(
        select(OutboxItem)
        .join(newest, OutboxItem.id == newest.c.last)
        .where(
            or_(
                OutboxItem.status == "origin",
                (OutboxItem.status == "pending") & _due(now),
            )
        )
        .order_by(OutboxItem.id)
    ).all()
    if not rows:
        return [], []
    variant_ids = [row.variant_id for row in rows if row.variant_id is not None]
    older: dict[int, list[int]] = defaultdict(list)
    for row_id, variant_id in session.execute(
        select(OutboxItem.id, OutboxItem.variant_id).where(
            OutboxItem.channel_id == channel_id,
            OutboxItem.kind == "stock",
            OutboxItem.status == "pending",
            OutboxItem.variant_id.in_(variant_ids),
        )
    ):
        if variant_id is not None:
            older[variant_id].append(row_id)
    targets: dict[int, list[ListingTarget]] = defaultdict(list)
    for listing in session.scalars(
        select(ChannelListing).where(
            ChannelListing.channel_id == channel_id,
            ChannelListing.variant_id.in_(variant_ids),
            ChannelListing.tracked.is_(True),
            or_(
                ChannelListing.product_ref.is_not(None),
                ChannelListing.inventory_item_ref.is_not(None),
            ),
        )
    ):
        assert listing.variant_id is not None
        targets[listing.variant_id].append(
            ListingTarget(
                listing_id=listing.id,
                channel_sku=listing.channel_sku,
                product_ref=listing.product_ref,
                variant_ref=listing.variant_ref,
                inventory_item_ref=listing.inventory_item_ref,
                location_ref=listing.location_ref,
                channel_quantity=listing.channel_quantity,
            )
        )
    work: list[StockWork] = []
    skipped: list[int] = []
    for row in rows:
        assert row.variant_id is not None
        replaced = tuple(i for i in older[row.variant_id] if i < row.id)
        if row.status == "origin":
            skipped.extend(replaced)
            continue
        if not targets[row.variant_id]:
            skipped.extend((row.id, *replaced))
            continue
        if len(work) >= limit:
            continue
        work.append(
            StockWork(
                row_id=row.id,
                older_ids=replaced,
                variant_id=row.variant_id,
                sku=row.sku or "",
                quantity=int(row.quantity or 0),
                attempts=row.attempts,
                created_at=row.created_at,
                targets=tuple(targets[row.variant_id]),
            )
        )
    return work, skipped


def settle_skipped(session: Session, row_ids: list[int]) -> None:
    """Mark rows that :func:`claim_stock` found need no sending.

    A row of a SKU the channel does not list becomes ``unlisted``; a
    pending row older than a newer figure becomes ``superseded``.
    """
    for row_id in row_ids:
        row = session.get(OutboxItem, row_id)
        if row is None or row.status != "pending":
            continue
        listed = session.scalar(
            select(ChannelListing.id).where(
                ChannelListing.channel_id == row.channel_id,
                ChannelListing.variant_id == row.variant_id,
            )
        )
        newer = session.scalar(
            select(OutboxItem.id).where(
                OutboxItem.channel_id == row.channel_id,
                OutboxItem.kind == "stock",
                OutboxItem.variant_id == row.variant_id,
                OutboxItem.id > row.id,
                OutboxItem.status.in_(("pending", "origin", "sent")),
            )
        )
        row.status = "superseded" if newer is not None and listed else "unlisted"


def claim_messages(
    session: Session, channel_id: int, now: datetime, *, limit: int = 50
) -> list[MessageWork]:
    """Return the due non-stock rows of a channel, oldest first."""
    rows = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.channel_id == channel_id,
            # E-mail rows belong to the mailer, not to the channel.
            OutboxItem.kind.in_(MESSAGE_KINDS),
            OutboxItem.status == "pending",
            _due(now),
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    ).all()
    return [MessageWork(r.id, r.kind, dict(r.payload or {}), r.attempts) for r in rows]


def _row(session: Session, row_id: int) -> OutboxItem:
    row = session.get(OutboxItem, row_id)
    if row is None:
        raise NotFound(f"outbox row {row_id} does not exist")
    return row


def mark_stock_sent(
    session: Session,
    work: StockWork,
    now: datetime,
    *,
    accepted: dict[int, int] | None = None,
) -> None:
    """Record that a figure was accepted; older rows for the SKU are superseded.

    ``accepted`` maps listing ids to the figure each now shows (default:
    ``work.quantity`` for every target).
    """
    row = _row(session, work.row_id)
    row.status = "sent"
    row.sent_at = now
    row.attempts += 1
    row.last_error = None
    obsolete = session.scalars(
        select(OutboxItem).where(
            OutboxItem.channel_id == row.channel_id,
            OutboxItem.kind == "stock",
            OutboxItem.variant_id == row.variant_id,
            OutboxItem.id < row.id,
            OutboxItem.status.in_(("pending", "parked")),
        )
    )
    for old in obsolete:
        old.status = "superseded"
    figures = accepted or {t.listing_id: work.quantity for t in work.targets}
    for listing_id, quantity in figures.items():
        listing = session.get(ChannelListing, listing_id)
        if listing is not None:
            listing.channel_quantity = quantity
            listing.last_pushed_at = now


def set_believed(session: Session, listing_id: int, quantity: int | None) -> None:
    """Store the figure the channel reported for a listing."""
    listing = session.get(ChannelListing, listing_id)
    if listing is not None:
        listing.channel_quantity = quantity


def mark_failed(
    session: Session,
    row_id: int,
    error: str,
    now: datetime,
    *,
    permanent: bool = False,
    retry_after: float | None = None,
    rng: random.Random | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """Count a failed attempt; park the row when it is permanent or too many.

    Returns True when the row was parked. Parking a stock row supersedes the
    older pending rows of its SKU, whose figures are older still.
    """
    row = _row(session, row_id)
    row.attempts += 1
    row.last_error = error[:2000]
    if permanent or row.attempts >= max_attempts:
        row.status = "parked"
        row.next_attempt_at = None
        if row.kind == "stock":
            for old in session.scalars(
                select(OutboxItem).where(
                    OutboxItem.channel_id == row.channel_id,
                    OutboxItem.kind == "stock",
                    OutboxItem.variant_id == row.variant_id,
                    OutboxItem.id < row.id,
                    OutboxItem.status == "pending",
                )
            ):
                old.status = "superseded"
        return True
    row.next_attempt_at = now + timedelta(
        seconds=retry_delay(row.attempts, retry_after, rng)
    )
    return False


def mark_message_sent(session: Session, row_id: int, now: datetime) -> None:
    row = _row(session, row_id)
    row.status = "sent"
    row.sent_at = now
    row.attempts += 1
    row.last_error = None


def retry_parked(uow: UnitOfWork, row_id: int) -> Changes:
    """Put a parked row back in the queue with a fresh attempt count."""
    row = _row(uow.session, row_id)
    if row.status != "parked":
        raise InvalidTransition(
            f"outbox row {row_id} is {row.status}, not parked; only parked rows "
            "can be retried"
        )
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = datetime.now(UTC)
    record(uow, "sync.retry", "outbox", row.id, detail={"error": row.last_error})
    return Changes(outbox=1)


def waiting_count(session: Session, channel_id: int) -> int:
    """Return what the worker will send: one figure per SKU plus each message."""
    skus = session.scalar(
        select(func.count(func.distinct(OutboxItem.variant_id))).where(
            OutboxItem.channel_id == channel_id,
            OutboxItem.status == "pending",
            OutboxItem.kind == "stock",
        )
    )
    messages = session.scalar(
        select(func.count(OutboxItem.id)).where(
            OutboxItem.channel_id == channel_id,
            OutboxItem.status == "pending",
            OutboxItem.kind != "stock",
        )
    )
    return int(skus or 0) + int(messages or 0)


def parked_count(session: Session, channel_id: int) -> int:
    count = session.scalar(
        select(func.count(OutboxItem.id)).where(
            OutboxItem.channel_id == channel_id, OutboxItem.status == "parked"
        )
    )
    return int(count or 0)


def queue_rows(
    session: Session,
    channel_id: int,
    *,
    statuses: tuple[str, ...] = ("pending", "parked"),
    limit: int = 500,
) -> list[QueueRow]:
    """Return a channel's outbox rows in the given states, newest first."""
    rows = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.channel_id == channel_id, OutboxItem.status.in_(statuses))
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    )
    return [
        QueueRow(
            id=r.id,
            kind=r.kind,
            sku=r.sku,
            quantity=r.quantity,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
            payload=dict(r.payload or {}),
        )
        for r in rows
    ]
