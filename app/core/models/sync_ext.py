"""Channel sync state: listings, per-SKU buffers, imported orders, runs, issues.

The outbox and the sync log live in ``sync.py``; these tables hold what the
sync worker needs to remember between runs. No table here ever stores a
credential: access tokens and API keys live in the OS keyring.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, Rate, utcnow


class ChannelListing(Base):
    """One product or variant on a channel, and the local SKU it sells.

    ``channel_sku_key`` is the case-folded SKU the channel shows (or a
    placeholder such as ``product:93`` for a listing without one).
    ``variant_id`` is None until the listing is matched or mapped.
    ``channel_quantity`` is the quantity Backroom believes the channel shows
    now: set from the channel's own report, from each accepted push, and
    lowered by each sale captured from that channel. Shopify pushes send it
    as ``changeFromQuantity``.
    """

    __tablename__ = "channel_listing"
    __table_args__ = (
        UniqueConstraint("channel_id", "channel_sku_key"),
        Index("ix_channel_listing_variant", "channel_id", "variant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    channel_sku: Mapped[str] = mapped_column(String(100))
    channel_sku_key: Mapped[str] = mapped_column(String(100))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"))
    mapped_by_hand: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(String(300), default="")
    product_ref: Mapped[str | None] = mapped_column(String(100))
    variant_ref: Mapped[str | None] = mapped_column(String(100))
    inventory_item_ref: Mapped[str | None] = mapped_column(String(100))
    location_ref: Mapped[str | None] = mapped_column(String(100))
    tracked: Mapped[bool] = mapped_column(default=True)
    channel_quantity: Mapped[int | None]
    last_pushed_at: Mapped[datetime | None]
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelBuffer(Base):
    """Units held back from one channel for one SKU (or for all, variant None).

    ``mode`` is ``units`` (hold back ``units``), ``percent`` (hold back
    ``percent`` of available, rounded half-up), ``keep_last`` (the channel
    sees 0 while available is ``units`` or less, and all of it above) or
    ``auto`` (hold back ``auto_units``, sized from sales velocity so that the
    chance of selling more than that elsewhere before the channel hears of it
    stays under ``target``).
    """

    __tablename__ = "channel_buffer"
    __table_args__ = (UniqueConstraint("channel_id", "variant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"))
    mode: Mapped[str] = mapped_column(String(10))
    units: Mapped[int] = mapped_column(default=0)
    percent: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    target: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.01"))
    window_days: Mapped[int] = mapped_column(default=28)
    auto_units: Mapped[int] = mapped_column(default=0)
    auto_rate_per_hour: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    auto_computed_at: Mapped[datetime | None]
    # For the channel-wide row (variant_id None) in auto mode: units per variant id.
    auto_by_variant: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelOrder(Base):
    """A channel's order as the sync worker last saw it.

    ``status`` is ``captured`` (``order_id`` set), ``waiting`` (not captured
    yet: ``reason`` says why and ``payload`` keeps the channel's own record
    so it can be imported again once the cause is fixed) or ``skipped``
    (cancelled or unpaid before it was ever captured). ``fingerprint`` hashes
    the fields that can change after capture, so an unchanged order is
    passed over. ``refunds_done`` lists the channel refund ids handled.
    """

    __tablename__ = "channel_order"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    channel_updated_at: Mapped[datetime | None]
    refunds_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any] | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelSyncState(Base):
    """The sync worker's view of one channel between runs.

    ``offline_since`` is set while the channel cannot be reached (connection
    refused, name not resolved) and cleared by the next call that gets
    through. ``auth_failed`` is set when the channel rejects the
    credentials; nothing is sent until they are entered again.
    """

    __tablename__ = "channel_sync_state"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    last_poll_started_at: Mapped[datetime | None]
    last_poll_ok_at: Mapped[datetime | None]
    last_push_at: Mapped[datetime | None]
    listings_refreshed_at: Mapped[datetime | None]
    buffers_refreshed_at: Mapped[datetime | None]
    offline_since: Mapped[datetime | None]
    auth_failed: Mapped[bool] = mapped_column(default=False)
    retry_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncRun(Base):
    """One pass of the sync worker over a channel: what it read and sent."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_channel", "channel_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default="running")
    since: Mapped[datetime | None]
    orders_seen: Mapped[int] = mapped_column(default=0)
    orders_captured: Mapped[int] = mapped_column(default=0)
    orders_updated: Mapped[int] = mapped_column(default=0)
    orders_waiting: Mapped[int] = mapped_column(default=0)
    pushed: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)


class SyncIssue(Base):
    """An entry of the sync exceptions queue: something a person must look at.

    ``key`` identifies the problem within its channel (``sku:MUG-R``,
    ``refund:123``), so meeting the same problem on every poll updates one
    entry instead of adding another.
    """

    __tablename__ = "sync_issue"
    __table_args__ = (
        UniqueConstraint("channel_id", "key"),
        Index("ix_sync_issue_open", "resolved_at", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(100))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id"))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurrences: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
