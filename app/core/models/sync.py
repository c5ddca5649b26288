"""The outbox of pushes waiting for a channel, and the sync log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, utcnow


class OutboxItem(Base):
    """One change a channel has to hear about (new stock figure, tracking).

    Rows are written in the same transaction as the change that caused them;
    the sync worker sends them, newest quantity per channel and SKU winning.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "channel_id", "next_attempt_at"),
        Index("ix_outbox_channel_variant", "channel_id", "kind", "variant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    kind: Mapped[str] = mapped_column(String(20))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id"))
    sku: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SyncLogEntry(Base):
    __tablename__ = "sync_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(10), default="info")
    message: Mapped[str] = mapped_column(Text)
