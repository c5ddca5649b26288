"""A channel's order in: captured the first time, compared and updated after.

The sync layer turns each channel's own order record into
:class:`ChannelOrderData` (amounts already in order minor units, SKUs as the
channel spells them) and calls :func:`import_order` once per order, in its
own transaction. Nothing here sends a request.

First sight: the order is captured through ``orders.capture`` with
``unknown_sku="hold"``, so a SKU nobody knows holds the order and names the
SKU instead of dropping it. An order in a currency other than the shop's
waits, with its record kept, until a rate is known. Later sights compare the
channel's order with the captured one: quantity and address changes before
shipment go through ``orders.update_order``, a cancellation through
``orders.cancel_order``, and refunds through the returns service.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import orders
from app.core.catalog import sku_key
from app.core.changes import Changes
from app.core.channels.accounts import fx_rate
from app.core.channels.buffers import queue_channel_stock, visible_quantity
from app.core.channels.issues import log, raise_issue, settle_issues
from app.core.channels.listings import listing_by_sku, note_channel_sale, resolve_sku
from app.core.exceptions import BackroomError
from app.core.models import Channel, OrderLine, SalesOrder
from app.core.models.sync_ext import ChannelListing, ChannelOrder
from app.core.money import format_minor, round_half_up
from app.core.order_input import (
    Address,
    ChannelTax,
    CustomerInput,
    LineInput,
    OrderInput,
)
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

OrderState = Literal["open", "cancelled", "unpaid"]
Action = Literal[
    "captured", "held", "updated", "cancelled", "unchanged", "waiting", "skipped"
]


@dataclass(frozen=True, slots=True)
class ChannelLine:
    """One line of a channel's order.

    ``sku`` is the channel's SKU, or a placeholder such as ``product:93``
    when the channel has none. ``unit_price`` is in major units of the order
    currency on the order's price basis; ``discount`` is the channel's
    discount on the line in order minor units. ``current_quantity`` is what
    is left after the channel removed or refunded units.
    """

    external_id: str
    sku: str
    title: str
    quantity: int
    current_quantity: int
    unit_price: Decimal
    discount: int = 0
    taxes: tuple[ChannelTax, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelRefund:
    """A refund made on the channel; ``lines`` are (channel line id, units)."""

    external_id: str
    refunded_at: datetime
    amount: int
    lines: tuple[tuple[str, int], ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class ChannelOrderData:
    """A channel's order, reduced to what capture and the deltas need.

    Amounts are minor units of ``currency`` except ``shipping`` and the unit
    prices (major units, as ``OrderInput`` takes them). ``state`` is
    ``unpaid`` for an order the channel has not taken payment for yet; such
    an order is left until it is paid. ``settlement_currency`` and
    ``settlement_rate`` are the channel's own conversion when it reports the
    order in a second currency (Shopify's shop money): units of
    ``settlement_currency`` per one unit of ``currency``. ``total`` is the
    channel's order total, compared with the captured one. ``unsupported``
    names parts that capture cannot take (fee lines). ``payload`` is the
    channel's own record, kept while the order waits.
    """

    external_id: str
    name: str
    updated_at: datetime
    placed_at: datetime
    state: OrderState
    currency: str
    prices_include_tax: bool
    lines: tuple[ChannelLine, ...]
    total: int
    shipping: Decimal = Decimal(0)
    shipping_discount: int = 0
    shipping_tax: tuple[ChannelTax, ...] = ()
    settlement_currency: str | None = None
    settlement_rate: Decimal | None = None
    customer: CustomerInput | None = None
    ship_to: Address | None = None
    email: str | None = None
    refunds: tuple[ChannelRefund, ...] = ()
    unsupported: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    external_id: str
    action: Action
    order_id: int | None
    message: str
    changes: Changes


# --- helpers ----------------------------------------------------------------


def fingerprint(data: ChannelOrderData) -> str:
    """Hash the parts of an order that can change after capture."""
    facts = {
        "state": data.state,
        "currency": data.currency,
        "lines": [(line.external_id, line.current_quantity) for line in data.lines],
        "ship_to": asdict(data.ship_to) if data.ship_to else None,
        "refunds": sorted(r.external_id for r in data.refunds),
    }
    text = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _prorate(amount: int, part: int, whole: int) -> int:
    return round_half_up(Decimal(amount) * part / whole) if whole else 0


def _order_rate(
    session: Session, channel: Channel, data: ChannelOrderData
) -> Decimal | None:
    """Return shop currency per order currency, or None when no rate is known."""
    shop_currency = get_shop(session).currency
    if data.currency == shop_currency:
        return Decimal(1)
    if data.settlement_currency == shop_currency and data.settlement_rate:
        return data.settlement_rate
    return fx_rate(channel, data.currency)


def _line_inputs(
    session: Session, channel: Channel, data: ChannelOrderData
) -> list[LineInput]:
    """Build capture lines; units removed before capture are left out."""
    result = []
    for line in data.lines:
        quantity = line.current_quantity
        if quantity <= 0:
            continue
        discount = line.discount
        taxes = line.taxes
        if quantity != line.quantity:
            discount = _prorate(line.discount, quantity, line.quantity)
            taxes = tuple(
                ChannelTax(t.name, t.rate, _prorate(t.amount, quantity, line.quantity))
                for t in line.taxes
            )
        variant = resolve_sku(session, channel.id, line.sku)
        result.append(
            LineInput(
                sku=variant.sku if variant is not None else line.sku,
                quantity=quantity,
                unit_price=line.unit_price,
                description=line.title,
                external_id=line.external_id,
                discount=discount,
                channel_tax=taxes,
            )
        )
    return result


def _wait(
    session: Session,
    channel: Channel,
    row: ChannelOrder,
    data: ChannelOrderData,
    kind: str,
    reason: str,
    now: datetime,
) -> ImportOutcome:
    row.status = "waiting"
    row.reason = reason
    row.payload = data.payload
    raise_issue(
        session,
        channel.id,
        kind,
        f"order:{data.external_id}",
        reason,
        external_id=data.external_id,
        now=now,
    )
    return ImportOutcome(data.external_id, "waiting", None, reason, Changes())


def _new_row(
    session: Session, channel_id: int, data: ChannelOrderData, now: datetime
) -> ChannelOrder:
    row = ChannelOrder(
        channel_id=channel_id,
        external_id=data.external_id,
        name=data.name,
        status="new",
        fingerprint="",
        refunds_done=[],
        first_seen_at=now,
    )
    session.add(row)
    return row


# --- import -----------------------------------------------------------------


def is_unchanged(session: Session, channel_id: int, data: ChannelOrderData) -> bool:
    """Tell whether this version of the order was imported already (read only)."""
    row = session.execute(
        select(ChannelOrder.status, ChannelOrder.fingerprint).where(
            ChannelOrder.channel_id == channel_id,
            ChannelOrder.external_id == data.external_id,
        )
    ).first()
    return row is not None and row[0] == "captured" and row[1] == fingerprint(data)


def import_order(
    uow: UnitOfWork,
    channel_id: int,
    data: ChannelOrderData,
    *,
    now: datetime | None = None,
) -> ImportOutcome:
    """Bring one channel order in: capture it, or apply what changed since.

    Importing the same version twice changes nothing. The caller commits.
    """
    session = uow.session
    moment = now or datetime.now(UTC)
    channel = session.get(Channel, channel_id)
    assert channel is not None
    row = session.scalar(
        select(ChannelOrder).where(
            ChannelOrder.channel_id == channel_id,
            ChannelOrder.external_id == data.external_id,
        )
    )
    if row is None:
        row = _new_row(session, channel_id, data, moment)
    version = fingerprint(data)
    if row.status == "captured" and row.fingerprint == version:
        # Nothing is written, so the overlap window costs no transaction.
        return ImportOutcome(data.external_id, "unchanged", row.order_id, "", Changes())
    row.last_seen_at = moment
    row.name = data.name or row.name
    if row.status == "captured":
        outcome = _apply_changes(uow, channel, row, data, moment)
    else:
        outcome = _first_capture(uow, channel, row, data, moment)
    if row.status == "captured":
        row.fingerprint = version
        row.channel_updated_at = data.updated_at
    session.flush()
    return outcome


def _first_capture(
    uow: UnitOfWork,
    channel: Channel,
    row: ChannelOrder,
    data: ChannelOrderData,
    now: datetime,
) -> ImportOutcome:
    session = uow.session
    if data.state != "open":
        row.status = "skipped"
        row.reason = (
            "cancelled on the channel before it was imported"
            if data.state == "cancelled"
            else "not paid on the channel yet; it is imported once paid"
        )
        row.payload = None
        return ImportOutcome(data.external_id, "skipped", None, row.reason, Changes())
    rate = _order_rate(session, channel, data)
    if rate is None:
        shop_currency = get_shop(session).currency
        return _wait(
            session,
            channel,
            row,
            data,
            "currency",
            f"{channel.name} order {data.name or data.external_id} is in "
            f"{data.currency} and no {shop_currency} rate for {data.currency} is "
            f"known; set one with `backroom channel rate {channel.name!r} "
            f"{data.currency} RATE` and sync again",
            now,
        )
    lines = _line_inputs(session, channel, data)
    if not lines:
        row.status = "skipped"
        row.reason = "every line was removed on the channel before it was imported"
        row.payload = None
        return ImportOutcome(data.external_id, "skipped", None, row.reason, Changes())
    shop_currency = get_shop(session).currency
    order_input = OrderInput(
        channel=channel.name,
        lines=lines,
        placed_at=data.placed_at,
        external_id=data.external_id,
        currency=data.currency,
        fx_rate=None if data.currency == shop_currency else rate,
        ship_to=data.ship_to,
        customer=data.customer,
        email=data.email,
        shipping=data.shipping,
        shipping_discount=data.shipping_discount,
        shipping_tax=data.shipping_tax,
        prices_include_tax=data.prices_include_tax,
        local=False,
        unknown_sku="hold",
        note=f"{channel.kind} order {data.name}" if data.name else None,
    )
    try:
        with session.begin_nested():
            result = orders.capture(uow, order_input)
    except BackroomError as exc:
        return _wait(
            session,
            channel,
            row,
            data,
            "order",
            f"{channel.name} order {data.name or data.external_id} could not be "
            f"captured: {exc}",
            now,
        )
    row.status = "captured"
    row.order_id = result.order_id
    row.reason = None
    row.payload = None
    settle_issues(
        session, channel.id, [f"order:{data.external_id}"], "captured", now=now
    )
    changes = result.changes
    if not result.created:
        # Captured before under the same id (by an import, say): only link it.
        row.refunds_done = [r.external_id for r in data.refunds]
        return ImportOutcome(
            data.external_id, "unchanged", result.order_id, "already captured", changes
        )
    _count_channel_sale(session, channel, data, lines, now)
    order = orders.get_order(session, result.order_id)
    message = f"captured {data.name or data.external_id}"
    action: Action = "captured"
    if result.held:
        action = "held"
        message = f"held {data.name or data.external_id}: {order.hold_reason}"
        for line in order.lines:
            if line.variant_id is None:
                raise_issue(
                    session,
                    channel.id,
                    "unknown_sku",
                    f"sku:{sku_key(line.sku)}",
                    f"SKU {line.sku!r} sold on {channel.name} is not in the catalog; "
                    "add the product or map the SKU on the Channels page, and the "
                    "orders it holds are released",
                    external_id=data.external_id,
                    sku=line.sku,
                    order_id=order.id,
                    now=now,
                )
    if result.oversold:
        message += " (oversold)"
    _check_total(session, channel, order, data, now)
    for part in data.unsupported:
        raise_issue(
            session,
            channel.id,
            "order",
            f"unsupported:{data.external_id}:{part}",
            f"{channel.name} order {data.name}: {part} was not imported; add it by "
            "hand if it matters for the books",
            external_id=data.external_id,
            order_id=order.id,
            now=now,
        )
    removed_before = {
        line.external_id for line in data.lines if line.current_quantity < line.quantity
    }
    done = []
    for refund in data.refunds:
        if (
            all(line_id in removed_before for line_id, _units in refund.lines)
            and refund.lines
        ):
            done.append(refund.external_id)
            continue
        changes.merge(_apply_refund(uow, channel, order, data, refund, now))
        done.append(refund.external_id)
    row.refunds_done = done
    log(
        session,
        channel.id,
        "info" if action == "captured" else "warning",
        f"{channel.name}: {message}",
        now=now,
    )
    return ImportOutcome(data.external_id, action, order.id, message, changes)


def _count_channel_sale(
    session: Session,
    channel: Channel,
    data: ChannelOrderData,
    lines: list[LineInput],
    now: datetime,
) -> None:
    """Lower the channel's believed figures; queue a correction where needed.

    The channel took the sold units off its own figure. When Backroom's
    figure for the channel differs from that (a percentage or keep-last
    buffer moves by other steps than one unit per sale), the right figure is
    queued for the channel itself.
    """
    from app.core.outbox import sellable_available

    by_line = {line.external_id: line for line in data.lines}
    touched: set[int] = set()
    for line in lines:
        channel_line = by_line.get(line.external_id or "")
        channel_sku = channel_line.sku if channel_line else line.sku
        note_channel_sale(session, channel.id, channel_sku, line.quantity)
        listing = listing_by_sku(session, channel.id, channel_sku)
        if listing is not None and listing.variant_id is not None:
            touched.add(listing.variant_id)
    stale = []
    for variant_id in sorted(touched):
        target = visible_quantity(
            session, channel, variant_id, sellable_available(session, variant_id)
        )
        believed = session.scalars(
            select(ChannelListing.channel_quantity).where(
                ChannelListing.channel_id == channel.id,
                ChannelListing.variant_id == variant_id,
                ChannelListing.tracked.is_(True),
            )
        ).all()
        if any(q is None or q != target for q in believed):
            stale.append(variant_id)
    if stale:
        queue_channel_stock(session, channel, stale, now=now, reason="own sale")


def _check_total(
    session: Session,
    channel: Channel,
    order: SalesOrder,
    data: ChannelOrderData,
    now: datetime,
) -> None:
    removed = any(line.current_quantity != line.quantity for line in data.lines)
    if removed or order.total == data.total:
        return
    raise_issue(
        session,
        channel.id,
        "total",
        f"total:{data.external_id}",
        f"{channel.name} order {data.name} totals "
        f"{format_minor(data.total, data.currency)} {data.currency} on the channel "
        f"but {format_minor(order.total, order.currency)} {order.currency} here; "
        "check its lines, discounts and tax",
        external_id=data.external_id,
        order_id=order.id,
        now=now,
    )


# --- later changes ------------------------------------------------------------


def _open_quantity(line: OrderLine) -> int:
    return line.quantity - line.quantity_cancelled


def _address_differs(order: SalesOrder, address: Address) -> bool:
    def norm(value: str | None) -> str:
        return (value or "").strip().upper()

    pairs = (
        (order.ship_name, address.name),
        (order.ship_line1, address.line1),
        (order.ship_line2, address.line2),
        (order.ship_city, address.city),
        (order.ship_region, address.region),
        (order.ship_postcode, address.postcode),
        (order.ship_country, address.country),
    )
    return any(norm(a) != norm(b) for a, b in pairs)


def _apply_changes(
    uow: UnitOfWork,
    channel: Channel,
    row: ChannelOrder,
    data: ChannelOrderData,
    now: datetime,
) -> ImportOutcome:
    session = uow.session
    assert row.order_id is not None
    order = orders.get_order(session, row.order_id)
    changes = Changes()
    action: Action = "unchanged"
    messages: list[str] = []
    shipped = any(line.quantity_shipped for line in order.lines)
    label = data.name or data.external_id

    if data.state == "cancelled":
        if order.status != "cancelled":
            try:
                with session.begin_nested():
                    changes.merge(
                        orders.cancel_order(
                            uow, order.id, reason=f"cancelled on {channel.name}", at=now
                        )
                    )
                action = "cancelled"
                messages.append(f"cancelled {label}")
            except BackroomError as exc:
                raise_issue(
                    session,
                    channel.id,
                    "cancel",
                    f"cancel:{data.external_id}",
                    f"{channel.name} cancelled order {label}, but it could not be "
                    f"cancelled here: {exc}",
                    external_id=data.external_id,
                    order_id=order.id,
                    now=now,
                )
        if not shipped:
            # Cancelling before shipment reversed the whole order; the channel's
            # refunds of it are the same money going back.
            row.refunds_done = sorted(
                {*row.refunds_done, *(r.external_id for r in data.refunds)}
            )
    elif order.status not in ("cancelled",):
        update = _quantity_and_address(uow, channel, order, data, shipped, now)
        if update is not None:
            changes.merge(update)
            action = "updated"
            messages.append(f"updated {label} to match the channel")

    done = set(row.refunds_done)
    for refund in data.refunds:
        if refund.external_id in done:
            continue
        changes.merge(_apply_refund(uow, channel, order, data, refund, now))
        done.add(refund.external_id)
        if action == "unchanged":
            action = "updated"
        messages.append(f"refund {refund.external_id} of {label}")
    row.refunds_done = sorted(done)
    message = "; ".join(messages)
    if message:
        log(session, channel.id, "info", f"{channel.name}: {message}", now=now)
    return ImportOutcome(data.external_id, action, order.id, message, changes)


def _quantity_and_address(
    uow: UnitOfWork,
    channel: Channel,
    order: SalesOrder,
    data: ChannelOrderData,
    shipped: bool,
    now: datetime,
) -> Changes | None:
    """Apply quantity and address changes made on the channel before shipment."""
    session = uow.session
    label = data.name or data.external_id
    by_external = {line.external_id: line for line in order.lines if line.external_id}
    wanted: dict[int, int] = {}
    for channel_line in data.lines:
        local = by_external.get(channel_line.external_id)
        if local is None:
            if channel_line.current_quantity > 0:
                raise_issue(
                    session,
                    channel.id,
                    "change",
                    f"added:{data.external_id}:{channel_line.external_id}",
                    f"{channel.name} order {label} gained a line after import "
                    f"({channel_line.sku} x {channel_line.current_quantity}); "
                    "add it here as a new order or edit the order by hand",
                    external_id=data.external_id,
                    sku=channel_line.sku,
                    order_id=order.id,
                    now=now,
                )
            continue
        if channel_line.current_quantity != _open_quantity(local):
            wanted[local.line_no] = channel_line.current_quantity
    address = data.ship_to
    moved = address is not None and _address_differs(order, address)
    if not wanted and not moved:
        return None
    if shipped:
        if moved:
            raise_issue(
                session,
                channel.id,
                "change",
                f"shipped:{data.external_id}",
                f"{channel.name} order {label} changed its address after it shipped "
                "here; contact the customer",
                external_id=data.external_id,
                order_id=order.id,
                now=now,
            )
        # Quantities falling after shipment are refunds, handled as such.
        return None
    if wanted and all(
        wanted.get(line.line_no, _open_quantity(line)) == 0 for line in order.lines
    ):
        with session.begin_nested():
            return orders.cancel_order(
                uow, order.id, reason=f"every line removed on {channel.name}", at=now
            )
    try:
        with session.begin_nested():
            return orders.update_order(
                uow,
                order.id,
                quantities=wanted or None,
                ship_to=address if moved else None,
                reason=f"changed on {channel.name}",
                at=now,
            )
    except BackroomError as exc:
        raise_issue(
            session,
            channel.id,
            "change",
            f"change:{data.external_id}",
            f"{channel.name} changed order {label}, but the change could not be "
            f"applied here: {exc}",
            external_id=data.external_id,
            order_id=order.id,
            now=now,
        )
        return None


def _apply_refund(
    uow: UnitOfWork,
    channel: Channel,
    order: SalesOrder,
    data: ChannelOrderData,
    refund: ChannelRefund,
    now: datetime,
) -> Changes:
    """Record a channel refund through the returns service, or queue an issue.

    Refunded units that never shipped are the channel removing them from
    the order; the quantity change covers them (see ``_quantity_and_address``).
    """
    from app.core.returns import record_channel_refund

    session = uow.session
    label = data.name or data.external_id
    amount = f"{format_minor(refund.amount, data.currency)} {data.currency}"
    key = f"refund:{refund.external_id}"
    by_external = {line.external_id: line for line in order.lines if line.external_id}
    units: dict[int, int] = {}
    shipped_lines = unshipped_lines = 0
    for line_id, quantity in refund.lines:
        local = by_external.get(line_id)
        if local is None:
            continue
        units[local.line_no] = units.get(local.line_no, 0) + quantity
        if local.quantity_shipped:
            shipped_lines += 1
        else:
            unshipped_lines += 1

    def issue(message: str) -> Changes:
        raise_issue(
            session,
            channel.id,
            "refund",
            key,
            message,
            external_id=data.external_id,
            order_id=order.id,
            detail={"refund": refund.external_id, "amount": refund.amount},
            now=now,
        )
        return Changes()

    if not refund.lines:
        return issue(
            f"{channel.name} refunded {amount} on order {label} without naming "
            "lines; a refund without returned goods is not a return, so book it "
            "by hand (Returns or a ledger entry)"
        )
    if unshipped_lines and not shipped_lines:
        log(
            session,
            channel.id,
            "info",
            f"{channel.name}: refund {refund.external_id} of {label} covers units "
            "that never shipped; the order's quantities follow the channel",
            now=now,
        )
        return Changes()
    if unshipped_lines:
        return issue(
            f"{channel.name} refunded {amount} on order {label} for shipped and "
            "unshipped units at once; record the shipped part under Returns"
        )
    try:
        with session.begin_nested():
            result = record_channel_refund(
                uow,
                order.id,
                units,
                refund.amount,
                refund.refunded_at,
                refund.external_id,
            )
    except BackroomError as exc:
        return issue(
            f"{channel.name} refunded {amount} on order {label}, but it could not "
            f"be recorded here: {exc}"
        )
    settle_issues(session, channel.id, [key], "recorded", now=now)
    return result.changes


# --- held orders --------------------------------------------------------------


def release_held_orders(
    uow: UnitOfWork, channel: Channel, *, now: datetime | None = None
) -> tuple[list[int], Changes]:
    """Link held orders' unknown lines to SKUs mapped since; release whole ones.

    A line captured with an unknown SKU has no variant and no reservation.
    Once its SKU resolves, the line gets the variant; an order whose lines
    are all known leaves ``held`` and is reserved like any other.
    """
    session = uow.session
    moment = now or datetime.now(UTC)
    held = session.scalars(
        select(SalesOrder).where(
            SalesOrder.channel_id == channel.id, SalesOrder.status == "held"
        )
    ).all()
    released: list[int] = []
    changes = Changes()
    for order in held:
        touched = False
        for line in order.lines:
            if line.variant_id is not None:
                continue
            variant = resolve_sku(session, channel.id, line.sku)
            if variant is None:
                continue
            line.variant_id = variant.id
            line.sku = variant.sku
            line.description = line.description or variant.title
            touched = True
        if not touched or any(line.variant_id is None for line in order.lines):
            continue
        reserved = orders.release_hold(uow, order.id, at=moment)
        changes.merge(reserved)
        changes.orders.add(order.id)
        released.append(order.id)
    return released, changes


def waiting_orders(session: Session, channel_id: int) -> list[ChannelOrder]:
    """Return the channel's orders that wait to be captured, oldest first."""
    rows = session.scalars(
        select(ChannelOrder)
        .where(ChannelOrder.channel_id == channel_id, ChannelOrder.status == "waiting")
        .order_by(ChannelOrder.id)
    )
    return [row for row in rows if row.payload]


def hold_unreadable(
    uow: UnitOfWork,
    channel_id: int,
    external_id: str,
    payload: dict[str, Any],
    reason: str,
    *,
    now: datetime | None = None,
) -> None:
    """Keep a channel record that could not be read, to import once it can be."""
    session = uow.session
    moment = now or datetime.now(UTC)
    row = session.scalar(
        select(ChannelOrder).where(
            ChannelOrder.channel_id == channel_id,
            ChannelOrder.external_id == external_id,
        )
    )
    if row is None:
        row = ChannelOrder(
            channel_id=channel_id,
            external_id=external_id,
            status="waiting",
            fingerprint="",
            refunds_done=[],
            first_seen_at=moment,
        )
        session.add(row)
    if row.status == "captured":
        # A later version that cannot be read leaves the captured order as is.
        row.reason = reason
    else:
        row.status = "waiting"
        row.reason = reason
        row.payload = payload
    row.last_seen_at = moment
    raise_issue(
        session,
        channel_id,
        "order",
        f"order:{external_id}",
        reason,
        external_id=external_id,
        now=moment,
    )
