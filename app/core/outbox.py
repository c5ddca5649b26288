"""Queueing what channels must hear about, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.channels.buffers import visible_quantity
from app.core.models import Channel, OutboxItem, StockLevel, Variant, Warehouse
from app.core.money import round_half_up
from app.core.reference import derived
from app.core.uow import insert_rows


def connected_channels(session: Session) -> list[Channel]:
    values = derived(session)
    cached = values.get("connected_channels")
    if cached is None:
        cached = list(
            session.scalars(
                select(Channel).where(Channel.connected.is_(True)).order_by(Channel.id)
            )
        )
        values["connected_channels"] = cached
    return cached


def sellable_by_variant(session: Session, variant_ids: Iterable[int]) -> dict[int, int]:
    """Return on hand minus reserved per variant, outside quarantine, in one query."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(
            StockLevel.variant_id,
            func.sum(StockLevel.on_hand - StockLevel.reserved),
        )
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.variant_id.in_(ids), Warehouse.is_quarantine.is_(False))
        .group_by(StockLevel.variant_id)
    ).all()
    found = {variant_id: int(total or 0) for variant_id, total in rows}
    return {variant_id: found.get(variant_id, 0) for variant_id in ids}


def sellable_available(session: Session, variant_id: int) -> int:
    """Return on hand minus reserved over all warehouses except quarantine."""
    total = session.scalar(
        select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.variant_id == variant_id, Warehouse.is_quarantine.is_(False))
    )
    return int(total or 0)


def channel_quantity(channel: Channel, available: int) -> int:
    """Return what a channel is shown: max(0, available - its buffer)."""
    buffer = channel.buffer_units
    if channel.buffer_percent:
        buffer += round_half_up(
            Decimal(max(available, 0)) * channel.buffer_percent / 100
        )
    return max(0, available - buffer)


def queue_stock(
    session: Session,
    variant_ids: Iterable[int],
    *,
    exclude_channel_id: int | None = None,
) -> int:
    """Queue each SKU's new channel quantity for every connected channel.

    Returns the number of rows queued for sending. The channel an order came
    from already counted its own sale, so its row is written with status
    ``origin``: never sent, but kept so that ``backroom check`` can compare
    every channel's newest figure with the stock.
    """
    channels = connected_channels(session)
    if not channels:
        return 0
    now = datetime.now(UTC)
    rows = [
        {
            "channel_id": channel.id,
            "kind": "stock",
            "variant_id": variant_id,
            "sku": _sku(session, variant_id),
            "quantity": visible_quantity(session, channel, variant_id, available),
            "payload": {"available": available},
            "status": "origin" if channel.id == exclude_channel_id else "pending",
            "created_at": now,
            "next_attempt_at": now,
        }
        for variant_id, available in sellable_by_variant(session, variant_ids).items()
        for channel in channels
    ]
    insert_rows(session, OutboxItem, rows)
    return sum(row["channel_id"] != exclude_channel_id for row in rows)


def _sku(session: Session, variant_id: int) -> str:
    variant = session.get(Variant, variant_id)
    assert variant is not None
    return variant.sku


def queue_message(
    session: Session, channel_id: int, kind: str, payload: dict[str, Any]
) -> None:
    """Queue a non-stock push (tracking, order status) for one channel."""
    now = datetime.now(UTC)
    session.add(
        OutboxItem(
            channel_id=channel_id,
            kind=kind,
            payload=payload,
            status="pending",
            created_at=now,
            next_attempt_at=now,
        )
    )
