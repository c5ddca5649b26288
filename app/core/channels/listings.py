"""A channel's products and the local SKUs they sell.

A listing is matched to a local SKU by an explicit mapping (made by a
person, kept across refreshes) or else by the same SKU, ignoring case.
Listings without a SKU on the channel get a placeholder key such as
``product:93`` so that they can be mapped too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.catalog import find_variant, get_variant, sku_key
from app.core.changes import Changes
from app.core.channels.accounts import get_channel
from app.core.channels.buffers import queue_channel_stock, visible_quantity
from app.core.channels.issues import log, settle_issues
from app.core.exceptions import ValidationError
from app.core.models import Channel, Variant
from app.core.models.sync_ext import ChannelListing
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ListingInput:
    """One product or variant as the channel reports it.

    The ``*_ref`` fields are the channel's own ids (Shopify global ids,
    WooCommerce numbers as text). ``quantity`` is the channel's stock figure
    at the location Backroom sets, or None when it cannot be read.
    """

    channel_sku: str
    title: str = ""
    product_ref: str | None = None
    variant_ref: str | None = None
    inventory_item_ref: str | None = None
    location_ref: str | None = None
    quantity: int | None = None
    tracked: bool = True


@dataclass(frozen=True, slots=True)
class ListingReport:
    """Outcome of :func:`update_listings`."""

    total: int
    matched: int
    unmatched: tuple[str, ...]
    linked_now: tuple[int, ...]  # variant ids newly linked; their figures are queued
    changes: Changes = field(default_factory=Changes)


@dataclass(frozen=True, slots=True)
class ListingView:
    id: int
    channel_sku: str
    title: str
    sku: str | None
    mapped_by_hand: bool
    channel_quantity: int | None
    target_quantity: int | None
    tracked: bool
    last_pushed_at: datetime | None


@dataclass(frozen=True, slots=True)
class MapResult:
    listing_id: int
    released_orders: tuple[int, ...]
    changes: Changes


def resolve_sku(session: Session, channel_id: int, channel_sku: str) -> Variant | None:
    """Return the local SKU a channel's SKU sells: the mapping, else the same SKU."""
    key = sku_key(channel_sku)
    variant_id = session.scalar(
        select(ChannelListing.variant_id).where(
            ChannelListing.channel_id == channel_id,
            ChannelListing.channel_sku_key == key,
        )
    )
    if variant_id is not None:
        return session.get(Variant, variant_id)
    if not channel_sku.strip():
        return None
    return find_variant(session, channel_sku)


def listing_by_sku(
    session: Session, channel_id: int, channel_sku: str
) -> ChannelListing | None:
    return session.scalar(
        select(ChannelListing).where(
            ChannelListing.channel_id == channel_id,
            ChannelListing.channel_sku_key == sku_key(channel_sku),
        )
    )


def update_listings(
    uow: UnitOfWork,
    channel_id: int,
    listings: Sequence[ListingInput],
    *,
    now: datetime | None = None,
) -> ListingReport:
    """Store the channel's listings and match them to local SKUs.

    The channel's figure replaces the one Backroom believed, because it is
    what the channel shows now. A listing matched for the first time gets
    its current figure queued, so the channel learns Backroom's stock.
    """
    session = uow.session
    moment = now or datetime.now(UTC)
    channel = session.get(Channel, channel_id)
    assert channel is not None
    existing = {
        row.channel_sku_key: row
        for row in session.scalars(
            select(ChannelListing).where(ChannelListing.channel_id == channel_id)
        )
    }
    linked_now: set[int] = set()
    matched = 0
    unmatched: list[str] = []
    for item in listings:
        key = sku_key(item.channel_sku)
        if not key:
            continue
        row = existing.get(key)
        if row is None:
            row = ChannelListing(
                channel_id=channel_id, channel_sku=item.channel_sku, channel_sku_key=key
            )
            session.add(row)
            existing[key] = row
        had_refs = row.product_ref is not None or row.inventory_item_ref is not None
        previous = (row.variant_id, had_refs)
        row.title = item.title
        row.product_ref = item.product_ref
        row.variant_ref = item.variant_ref
        row.inventory_item_ref = item.inventory_item_ref
        row.location_ref = item.location_ref
        row.tracked = item.tracked
        row.channel_quantity = item.quantity
        row.seen_at = moment
        if not row.mapped_by_hand:
            variant = find_variant(session, item.channel_sku)
            row.variant_id = variant.id if variant else None
        if row.variant_id is None:
            unmatched.append(item.channel_sku)
            continue
        matched += 1
        if previous != (row.variant_id, True):
            linked_now.add(row.variant_id)
    session.flush()
    count = queue_channel_stock(
        session, channel, linked_now, now=moment, reason="listed"
    )
    if linked_now or unmatched:
        log(
            session,
            channel_id,
            "info",
            f"{channel.name}: {len(listings)} listings, {matched} matched to local "
            f"SKUs, {len(unmatched)} unmatched",
            now=moment,
        )
    return ListingReport(
        total=len(listings),
        matched=matched,
        unmatched=tuple(sorted(unmatched)),
        linked_now=tuple(sorted(linked_now)),
        changes=Changes(variants=linked_now, outbox=count),
    )


def note_channel_sale(
    session: Session, channel_id: int, channel_sku: str, quantity: int
) -> None:
    """Lower the believed channel figure: the channel counted its own sale."""
    row = listing_by_sku(session, channel_id, channel_sku)
    if row is not None and row.channel_quantity is not None:
        row.channel_quantity -= quantity


def map_sku(
    uow: UnitOfWork,
    channel_name: str,
    channel_sku: str,
    local_sku: str,
    *,
    now: datetime | None = None,
) -> MapResult:
    """Map a channel's SKU to a local SKU and release the orders it held.

    The mapping survives listing refreshes. Held orders of this channel whose
    only unknown SKUs are now known are released and reserved; the open
    ``unknown SKU`` issues for it are resolved; the SKU's figure is queued.
    """
    from app.core.channels.order_import import release_held_orders

    session = uow.session
    moment = now or datetime.now(UTC)
    channel = get_channel(session, channel_name)
    variant = get_variant(session, local_sku)
    key = sku_key(channel_sku)
    if not key:
        raise ValidationError("channel_sku", channel_sku, "the channel SKU is empty")
    row = listing_by_sku(session, channel.id, channel_sku)
    if row is None:
        row = ChannelListing(
            channel_id=channel.id,
            channel_sku=channel_sku.strip(),
            channel_sku_key=key,
            seen_at=moment,
        )
        session.add(row)
    row.variant_id = variant.id
    row.mapped_by_hand = True
    session.flush()
    released, changes = release_held_orders(uow, channel, now=moment)
    settle_issues(
        session,
        channel.id,
        [f"sku:{key}"],
        f"mapped to {variant.sku}",
        now=moment,
    )
    changes.outbox += queue_channel_stock(
        session, channel, [variant.id], now=moment, reason="mapped"
    )
    changes.variants.add(variant.id)
    log(
        session,
        channel.id,
        "info",
        f"{channel.name}: SKU {channel_sku} mapped to {variant.sku}"
        + (f"; released {len(released)} held order(s)" if released else ""),
        now=moment,
    )
    record(
        uow,
        "channel.map_sku",
        "channel",
        channel.id,
        detail={"channel_sku": channel_sku, "sku": variant.sku},
    )
    return MapResult(row.id, tuple(released), changes)


def listings(
    session: Session, channel_id: int, *, unmatched_only: bool = False
) -> list[ListingView]:
    """Return a channel's listings with the figure each should show."""
    from app.core.outbox import sellable_available

    channel = session.get(Channel, channel_id)
    assert channel is not None
    query = (
        select(ChannelListing, Variant.sku)
        .outerjoin(Variant, Variant.id == ChannelListing.variant_id)
        .where(ChannelListing.channel_id == channel_id)
    )
    if unmatched_only:
        query = query.where(ChannelListing.variant_id.is_(None))
    result = []
    for row, sku in session.execute(query.order_by(ChannelListing.channel_sku_key)):
        target = None
        if row.variant_id is not None:
            target = visible_quantity(
                session,
                channel,
                row.variant_id,
                sellable_available(session, row.variant_id),
            )
        result.append(
            ListingView(
                id=row.id,
                channel_sku=row.channel_sku,
                title=row.title,
                sku=sku,
                mapped_by_hand=row.mapped_by_hand,
                channel_quantity=row.channel_quantity,
                target_quantity=target,
                tracked=row.tracked,
                last_pushed_at=row.last_pushed_at,
            )
        )
    return result
