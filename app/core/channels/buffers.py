"""What each channel is shown for a SKU, and the buffers that hold units back.

A channel sees ``max(0, available - buffer)``. The buffer of a SKU on a
channel comes from, in order: a rule for that SKU, a rule for the whole
channel, then the channel's own ``buffer_units`` and ``buffer_percent``.
Rules are ``units`` (a fixed count), ``percent`` (of available, rounded
half-up), ``keep_last`` (the channel sees 0 while available is N or less, and
everything above that) and ``auto`` (see :func:`auto_buffer`).

Changing a rule changes what a channel should see without any stock move, so
every change queues the new figure for that channel in the same transaction,
which keeps rule 7 (the newest queued figure is today's figure) holding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.catalog import get_variant
from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.models import Channel, OrderLine, OutboxItem, SalesOrder
from app.core.models.sync_ext import ChannelBuffer, ChannelListing
from app.core.money import round_half_up
from app.core.reference import cached, forget
from app.core.uow import UnitOfWork

MODES = ("units", "percent", "keep_last", "auto")
DEFAULT_TARGET = Decimal("0.01")
DEFAULT_WINDOW_DAYS = 28
#: Assumed seconds from a local stock change to the channel accepting the
#: new figure, added to the polling interval in the automatic buffer's
#: exposure window. The sync worker is usually far faster (see
#: docs/benchmarks.md); a channel's ``push_delay_s`` setting overrides it.
DEFAULT_PUSH_DELAY_S = 30


@dataclass(frozen=True, slots=True)
class BufferRule:
    """One channel's rule for one SKU (or for all its SKUs)."""

    mode: str
    units: int
    percent: Decimal
    auto_units: int
    auto_by_variant: dict[str, int]


@dataclass(frozen=True, slots=True)
class BufferView:
    """A buffer rule as the window and the CLI show it."""

    channel: str
    sku: str | None  # None: the channel-wide rule
    mode: str
    units: int
    percent: Decimal
    target: Decimal
    window_days: int
    auto_units: int
    auto_rate_per_hour: Decimal
    auto_computed_at: datetime | None


def apply_rule(rule: BufferRule, available: int, variant_id: int | None) -> int:
    """Return what a channel under ``rule`` is shown when ``available`` are free."""
    if rule.mode == "keep_last":
        return 0 if available <= rule.units else available
    if rule.mode == "units":
        buffer = rule.units
    elif rule.mode == "percent":
        buffer = round_half_up(Decimal(max(available, 0)) * rule.percent / 100)
    elif variant_id is not None and str(variant_id) in rule.auto_by_variant:
        buffer = int(rule.auto_by_variant[str(variant_id)])
    else:
        buffer = rule.auto_units
    return max(0, available - buffer)


def _rules(session: Session, channel_id: int) -> Mapping[int | None, BufferRule]:
    """Return one channel's rules; every channel's are read in one query."""
    return cached(session, "channel_buffers", _load_rules).get(channel_id, {})


def _load_rules(
    session: Session,
) -> Mapping[int, Mapping[int | None, BufferRule]]:
    rules: dict[int, dict[int | None, BufferRule]] = {}
    for row in session.scalars(select(ChannelBuffer)):
        rules.setdefault(row.channel_id, {})[row.variant_id] = BufferRule(
            row.mode,
            row.units,
            row.percent,
            row.auto_units,
            {k: int(v) for k, v in (row.auto_by_variant or {}).items()},
        )
    return rules


def visible_quantity(
    session: Session, channel: Channel, variant_id: int, available: int
) -> int:
    """Return what ``channel`` is shown for a SKU with ``available`` units free.

    The outbox queues this figure and ``backroom check`` (rule 7) compares
    the newest queued figure with it.
    """
    rules = _rules(session, channel.id)
    rule = rules.get(variant_id) or rules.get(None)
    if rule is None:
        # Imported here because app.core.outbox imports this module.
        from app.core.outbox import channel_quantity

        return channel_quantity(channel, available)
    return apply_rule(rule, available, variant_id)


def queue_channel_stock(
    session: Session,
    channel: Channel,
    variant_ids: Iterable[int],
    *,
    now: datetime | None = None,
    reason: str = "buffer",
) -> int:
    """Queue the current figure of each SKU for one channel; return the rows."""
    from app.core.outbox import sellable_available

    moment = now or datetime.now(UTC)
    count = 0
    for variant_id in sorted(set(variant_ids)):
        from app.core.models import Variant

        variant = session.get(Variant, variant_id)
        if variant is None:
            continue
        available = sellable_available(session, variant_id)
        session.add(
            OutboxItem(
                channel_id=channel.id,
                kind="stock",
                variant_id=variant_id,
                sku=variant.sku,
                quantity=visible_quantity(session, channel, variant_id, available),
                payload={"available": available, "reason": reason},
                status="pending",
                created_at=moment,
                next_attempt_at=moment,
            )
        )
        count += 1
    return count


def requeue_channel(
    session: Session, channel: Channel, *, now: datetime | None = None
) -> int:
    """Queue every listed or queued SKU's figure for a channel again.

    Call this after changing what decides the channel's figures (its
    ``buffer_units`` or ``buffer_percent``), so that rule 7 keeps holding.
    """
    forget(session)
    return queue_channel_stock(
        session,
        channel,
        _channel_variants(session, channel.id),
        now=now,
        reason="channel buffer",
    )


def _channel_variants(session: Session, channel_id: int) -> set[int]:
    """Return the SKUs this channel lists or has ever been queued."""
    listed = session.scalars(
        select(ChannelListing.variant_id).where(
            ChannelListing.channel_id == channel_id,
            ChannelListing.variant_id.is_not(None),
        )
    ).all()
    queued = session.scalars(
        select(OutboxItem.variant_id)
        .where(
            OutboxItem.channel_id == channel_id,
            OutboxItem.kind == "stock",
            OutboxItem.variant_id.is_not(None),
        )
        .distinct()
    ).all()
    return {v for v in (*listed, *queued) if v is not None}


def _check_rule(
    mode: str, units: int, percent: Decimal, target: Decimal, window_days: int
) -> None:
    if mode not in MODES:
        raise ValidationError(
            "mode", mode, f"buffer mode {mode!r} is unknown; use one of {MODES}"
        )
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValidationError("units", units, "buffer units must be 0 or more")
    if not Decimal(0) <= percent < 100:
        raise ValidationError(
            "percent", percent, "a buffer percentage must be from 0 up to 100"
        )
    if not Decimal(0) < target < 1:
        raise ValidationError(
            "target",
            target,
            "the oversell target is a probability above 0 and below 1, such as 0.01",
        )
    if isinstance(window_days, bool) or window_days < 1:
        raise ValidationError(
            "window_days", window_days, "the sales window is at least 1 day"
        )


def _decimal(value: Decimal | str | float | int, field: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(
            field, value, f"{field} {value!r} is not a number"
        ) from None
    if not result.is_finite():
        raise ValidationError(field, value, f"{field} {value!r} is not a number")
    return result


def set_buffer(
    uow: UnitOfWork,
    channel_name: str,
    sku: str | None,
    mode: str,
    *,
    units: int = 0,
    percent: Decimal | str | float = 0,
    target: Decimal | str | float = DEFAULT_TARGET,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> Changes:
    """Set the buffer rule of one SKU (``sku`` None: every SKU) on a channel.

    The channel's new figures are queued at once; an ``auto`` rule is sized
    at once from the sales so far.
    """
    from app.core.channels.accounts import get_channel

    session = uow.session
    percent_value = _decimal(percent, "percent")
    target_value = _decimal(target, "target")
    _check_rule(mode, units, percent_value, target_value, window_days)
    channel = get_channel(session, channel_name)
    variant_id = get_variant(session, sku).id if sku is not None else None
    row = session.scalar(
        select(ChannelBuffer).where(
            ChannelBuffer.channel_id == channel.id,
            ChannelBuffer.variant_id.is_(None)
            if variant_id is None
            else ChannelBuffer.variant_id == variant_id,
        )
    )
    if row is None:
        row = ChannelBuffer(channel_id=channel.id, variant_id=variant_id)
        session.add(row)
    moment = now or datetime.now(UTC)
    row.mode = mode
    row.units = units
    row.percent = percent_value
    row.target = target_value
    row.window_days = window_days
    row.updated_at = moment
    session.flush()
    forget(session)
    affected = (
        {variant_id}
        if variant_id is not None
        else _channel_variants(session, channel.id)
    )
    if mode == "auto":
        refresh_auto_buffers(uow, channel.id, now=moment, queue=False)
    count = queue_channel_stock(session, channel, affected, now=moment)
    record(
        uow,
        "channel.buffer",
        "channel",
        channel.id,
        detail={"sku": sku, "mode": mode, "units": units, "percent": str(percent)},
    )
    return Changes(variants=set(affected), outbox=count)


def clear_buffer(
    uow: UnitOfWork, channel_name: str, sku: str | None, *, now: datetime | None = None
) -> Changes:
    """Remove a SKU's (or the channel-wide) rule; the channel defaults apply."""
    from app.core.channels.accounts import get_channel

    session = uow.session
    channel = get_channel(session, channel_name)
    variant_id = get_variant(session, sku).id if sku is not None else None
    row = session.scalar(
        select(ChannelBuffer).where(
            ChannelBuffer.channel_id == channel.id,
            ChannelBuffer.variant_id.is_(None)
            if variant_id is None
            else ChannelBuffer.variant_id == variant_id,
        )
    )
    if row is None:
        raise ValidationError(
            "sku",
            sku,
            f"channel {channel.name!r} has no buffer rule for "
            + (f"SKU {sku!r}" if sku else "all SKUs"),
        )
    session.delete(row)
    session.flush()
    forget(session)
    affected = (
        {variant_id}
        if variant_id is not None
        else _channel_variants(session, channel.id)
    )
    count = queue_channel_stock(session, channel, affected, now=now)
    record(uow, "channel.buffer_clear", "channel", channel.id, detail={"sku": sku})
    return Changes(variants=set(affected), outbox=count)


def buffers(session: Session, channel_id: int | None = None) -> list[BufferView]:
    """Return the buffer rules, channel-wide rules first."""
    from app.core.models import Variant

    query = (
        select(ChannelBuffer, Channel.name, Variant.sku)
        .join(Channel, Channel.id == ChannelBuffer.channel_id)
        .outerjoin(Variant, Variant.id == ChannelBuffer.variant_id)
    )
    if channel_id is not None:
        query = query.where(ChannelBuffer.channel_id == channel_id)
    rows = session.execute(query.order_by(Channel.name, Variant.sku.is_not(None)))
    return [
        BufferView(
            channel=name,
            sku=sku,
            mode=row.mode,
            units=row.units,
            percent=row.percent,
            target=row.target,
            window_days=row.window_days,
            auto_units=row.auto_units,
            auto_rate_per_hour=row.auto_rate_per_hour,
            auto_computed_at=row.auto_computed_at,
        )
        for row, name, sku in rows
    ]


# --- the automatic buffer -------------------------------------------------


def auto_buffer(rate_per_hour: float, exposure_s: float, target: float) -> int:
    """Return the smallest buffer b with P(N > b) < target, N ~ Poisson(λ·T).

    The model: sales of a SKU on the other channels arrive as a Poisson
    process with rate λ (units per hour, measured over recent orders). A
    channel hears of them only after the exposure window T: the longest
    polling interval among the other channels (a sale waits at most that
    long to be seen) plus the push delay (the time to send the new figure).
    During T the channel still shows the old figure, so it oversells when
    more than b units sell elsewhere within T. N, the units sold elsewhere
    in T, is Poisson with mean μ = λ·T, and the buffer is the smallest b
    whose tail P(N > b) = 1 - Σ_{k<=b} e^-μ μ^k / k! is below the target.

    Worked example: λ = 2 units/hour and T = 60 s + 30 s = 90 s give
    μ = 0.05; P(N > 0) = 1 - e^-0.05 = 0.0488 is not below 1 %, while
    P(N > 1) = 1 - e^-0.05 × 1.05 = 0.0012 is, so b = 1.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be between 0 and 1, got {target}")
    mean = max(rate_per_hour, 0.0) * max(exposure_s, 0.0) / 3600.0
    if mean == 0:
        return 0
    cumulative = 0.0
    limit = int(mean + 50 * math.sqrt(mean) + 100)
    for b in range(limit + 1):
        # Each term in log space, so a large mean does not underflow e^-μ.
        cumulative += math.exp(-mean + b * math.log(mean) - math.lgamma(b + 1))
        if 1.0 - cumulative < target:
            return b
    return limit


def sales_rate(
    session: Session,
    variant_id: int,
    *,
    exclude_channel_id: int | None,
    now: datetime,
    days: int,
) -> Decimal:
    """Return units of a SKU sold per hour over the last ``days`` days.

    Sales on ``exclude_channel_id`` are left out, because that channel
    counts its own sales at once. Cancelled units do not count. A shop with
    less history than the window is measured over the history it has (at
    least one hour), so a new shop does not read as a slow one.
    """
    start = now - timedelta(days=days)
    conditions = [
        OrderLine.variant_id == variant_id,
        SalesOrder.placed_at >= start,
        SalesOrder.placed_at <= now,
        SalesOrder.status != "cancelled",
    ]
    if exclude_channel_id is not None:
        conditions.append(SalesOrder.channel_id != exclude_channel_id)
    units = session.scalar(
        select(
            func.coalesce(
                func.sum(OrderLine.quantity - OrderLine.quantity_cancelled), 0
            )
        )
        .join(SalesOrder, SalesOrder.id == OrderLine.order_id)
        .where(*conditions)
    )
    first = session.scalar(
        select(func.min(SalesOrder.placed_at)).where(SalesOrder.placed_at >= start)
    )
    span = now - (first if first is not None and first > start else start)
    hours = max(Decimal(span.total_seconds()) / 3600, Decimal(1))
    return (Decimal(int(units or 0)) / hours).quantize(Decimal("0.00000001"))


def exposure_seconds(session: Session, channel: Channel) -> int:
    """Return T for a channel: the longest other polling interval plus push delay."""
    from app.core.channels.accounts import SYNC_KINDS

    intervals = session.scalars(
        select(Channel.poll_interval_s).where(
            Channel.connected.is_(True),
            Channel.kind.in_(SYNC_KINDS),
            Channel.id != channel.id,
        )
    ).all()
    push_delay = int((channel.settings or {}).get("push_delay_s", DEFAULT_PUSH_DELAY_S))
    return max(intervals, default=0) + push_delay


def refresh_auto_buffers(
    uow: UnitOfWork,
    channel_id: int,
    *,
    now: datetime | None = None,
    queue: bool = True,
) -> set[int]:
    """Size every ``auto`` rule of a channel from recent sales.

    Returns the SKUs whose figure on the channel changed; with ``queue``
    their new figures are queued for the channel.
    """
    from app.core.outbox import sellable_available

    session = uow.session
    moment = now or datetime.now(UTC)
    channel = session.get(Channel, channel_id)
    if channel is None:
        return set()
    rows = session.scalars(
        select(ChannelBuffer).where(
            ChannelBuffer.channel_id == channel_id, ChannelBuffer.mode == "auto"
        )
    ).all()
    if not rows:
        return set()
    exposure = exposure_seconds(session, channel)
    explicit = set(
        session.scalars(
            select(ChannelBuffer.variant_id).where(
                ChannelBuffer.channel_id == channel_id,
                ChannelBuffer.variant_id.is_not(None),
            )
        ).all()
    )
    before = {
        v: visible_quantity(session, channel, v, sellable_available(session, v))
        for v in _channel_variants(session, channel_id)
    }

    def size(variant_id: int, row: ChannelBuffer) -> tuple[int, Decimal]:
        rate = sales_rate(
            session,
            variant_id,
            exclude_channel_id=channel_id,
            now=moment,
            days=row.window_days,
        )
        return auto_buffer(float(rate), exposure, float(row.target)), rate

    for row in rows:
        if row.variant_id is not None:
            row.auto_units, row.auto_rate_per_hour = size(row.variant_id, row)
        else:
            sized = {str(v): size(v, row)[0] for v in before if v not in explicit}
            row.auto_by_variant = sized
            row.auto_units = max(sized.values(), default=0)
        row.auto_computed_at = moment
    session.flush()
    forget(session)
    changed = {
        v
        for v, old in before.items()
        if visible_quantity(session, channel, v, sellable_available(session, v)) != old
    }
    if queue and changed:
        queue_channel_stock(session, channel, changed, now=moment, reason="auto buffer")
    return changed
