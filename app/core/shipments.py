"""Shipping an order: consume the reservation, post COGS, recognise revenue.

A shipment takes the shipped units out of the warehouse at FIFO cost (Dr 5000
Cost of goods sold, Cr 1200 Inventory) and moves the shipped lines' revenue
out of 2300 Unearned revenue: Cr 4000 Sales at list price, Dr 4910 Sales
discounts for their share of discounts, and on the first shipment Cr 4010
Shipping income (Dr 4910 for a shipping discount). A partial shipment
recognises its share; the last units of a line take whatever is left, so no
cent stays behind in 2300.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import inventory, ledger
from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, ValidationError
from app.core.ledger import Posting
from app.core.models import (
    FulfillmentRequest,
    OrderLine,
    Reservation,
    SalesOrder,
    Shipment,
    ShipmentLine,
)
from app.core.money import cumulative_share
from app.core.orders import get_order
from app.core.outbox import queue_message
from app.core.shop import local_date, shop_zone
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ShipmentInfo:
    """Carrier details of a shipment; ``label_cost`` in shop minor units."""

    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    weight_g: int | None = None
    label_cost: int | None = None


def _share(total: int, done: int, shipped_after: int, quantity: int) -> int:
    """Return this shipment's part of ``total`` for a line.

    The share is rounded on the cumulative units shipped, not on this
    shipment's units alone, so the parts never go negative and the last
    shipment takes exactly what is left.
    """
    return cumulative_share(total, shipped_after, quantity) - done


def _line_warehouse(order: SalesOrder, line: OrderLine) -> int | None:
    return line.warehouse_id or order.warehouse_id


def _plan(
    order: SalesOrder,
    quantities: Mapping[int, int] | None,
    warehouse_id: int | None = None,
) -> dict[int, int]:
    """Return line id -> units to ship; default: everything reserved.

    With ``warehouse_id`` the default takes only that warehouse's lines.
    """
    plan: dict[int, int] = {}
    by_no = {line.line_no: line for line in order.lines}
    if quantities is None:
        for line in order.lines:
            at_warehouse = _line_warehouse(order, line)
            if warehouse_id is not None and at_warehouse != warehouse_id:
                continue
            ship = line.quantity_open - line.shortfall
            if ship > 0 and line.variant_id is not None:
                plan[line.id] = ship
        return plan
    for line_no, qty in quantities.items():
        chosen = by_no.get(line_no)
        if chosen is None:
            raise ValidationError("line", line_no, f"order has no line {line_no}")
        line = chosen
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ValidationError(f"line {line_no} quantity", qty, "must be above zero")
        if qty > line.quantity_open - line.shortfall:
            raise ValidationError(
                f"line {line_no} quantity",
                qty,
                f"line {line_no} ({line.sku}) has "
                f"{line.quantity_open - line.shortfall} reserved units left to ship, "
                f"not {qty}",
            )
        plan[line.id] = qty
    return plan


def ship(
    uow: UnitOfWork,
    order_id: int,
    *,
    quantities: Mapping[int, int] | None = None,
    info: ShipmentInfo | None = None,
    at: datetime | None = None,
    warehouse_id: int | None = None,
) -> tuple[int, Changes]:
    """Ship reserved units (by line number; default all); return the shipment id.

    A shipment leaves one warehouse. An order split over several ships
    each warehouse's lines separately: pass ``warehouse_id`` (or
    ``quantities`` naming only that warehouse's lines).
    """
    session = uow.session
    order = get_order(session, order_id)
    if order.status in ("cancelled", "held"):
        raise InvalidTransition(
            f"order {order.external_id} is {order.status}"
            + (f" ({order.hold_reason})" if order.hold_reason else "")
            + "; it cannot ship"
        )
    plan = _plan(order, quantities, warehouse_id)
    if not plan:
        raise InvalidTransition(
            f"order {order.external_id} has no reserved units to ship; receive stock "
            "and re-reserve, or cancel the shortfall"
        )
    info = info or ShipmentInfo()
    at = at or datetime.now(UTC)
    ledger.ensure_open(session, local_date(at, shop_zone(session)), "a shipment")
    shipment = Shipment(
        order_id=order.id,
        warehouse_id=_shipping_warehouse(order, plan),
        shipped_at=at,
        carrier=info.carrier,
        service=info.service,
        tracking_number=info.tracking_number,
        weight_g=info.weight_g,
        label_cost=info.label_cost,
        created_by=uow.user_id,
    )
    session.add(shipment)
    session.flush()
    changes = Changes(orders={order.id})
    revenue = discount = cogs = 0
    lines = {line.id: line for line in order.lines}
    for line_id, qty in sorted(plan.items()):
        line = lines[line_id]
        cost, move_id = _take_stock(uow, line, qty, shipment.id, at)
        cogs += cost
        after = line.quantity_shipped + qty
        units = line.quantity - line.quantity_cancelled
        rev = _share(line.list_net_shop, line.revenue_recognized_shop, after, units)
        disc = _share(
            line.discount_net_shop, line.discount_recognized_shop, after, units
        )
        line.quantity_shipped = after
        line.revenue_recognized_shop += rev
        line.discount_recognized_shop += disc
        revenue += rev
        discount += disc
        session.add(
            ShipmentLine(
                shipment_id=shipment.id,
                order_line_id=line.id,
                quantity=qty,
                cost=cost,
                stock_move_id=move_id,
            )
        )
        assert line.variant_id is not None
        changes.variants.add(line.variant_id)
    shipping = shipping_discount = 0
    if not order.shipping_recognized:
        shipping = order.shipping_net_shop
        shipping_discount = order.shipping_discount_net_shop
        order.shipping_recognized = True
    shipment.cogs_shop = cogs
    channel = order.channel_id
    postings = [
        Posting(
            "2300",
            debit=revenue - discount + shipping - shipping_discount,
            channel_id=channel,
        ),
        Posting("4000", credit=revenue, channel_id=channel),
        Posting("4910", debit=discount + shipping_discount, channel_id=channel),
        Posting("4010", credit=shipping, channel_id=channel),
        Posting("5000", debit=cogs, channel_id=channel),
        Posting("1200", credit=cogs, channel_id=channel),
    ]
    if info.label_cost:
        postings += [
            Posting("6200", debit=info.label_cost, channel_id=channel, memo="label"),
            Posting("2000", credit=info.label_cost, channel_id=channel, memo="label"),
        ]
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind="shipment",
        description=f"Order {order.external_id} shipped"
        + (f" ({info.carrier} {info.tracking_number})" if info.tracking_number else ""),
        postings=postings,
        source=("shipment", shipment.id),
    )
    if entry is not None:
        shipment.journal_entry_id = entry.id
        changes.entries.add(entry.id)
    _update_status(session, order)
    if info.tracking_number:
        queue_message(
            session,
            order.channel_id,
            "tracking",
            {
                "order_id": order.id,
                "external_id": order.external_id,
                "shipment_id": shipment.id,
                "carrier": info.carrier,
                "tracking_number": info.tracking_number,
            },
        )
        changes.outbox += 1
    record(uow, "order.ship", "sales_order", order.id, detail={"shipment": shipment.id})
    return shipment.id, changes


def _take_stock(
    uow: UnitOfWork, line: OrderLine, qty: int, shipment_id: int, at: datetime
) -> tuple[int, int]:
    """Consume the line's reservation and issue its units at FIFO cost."""
    session = uow.session
    res = session.scalar(
        select(Reservation).where(
            Reservation.order_line_id == line.id, Reservation.quantity > 0
        )
    )
    if res is None or res.quantity < qty:
        raise InvalidTransition(
            f"line {line.line_no} ({line.sku}) has only "
            f"{res.quantity if res else 0} reserved units, not {qty}"
        )
    inventory.release(uow, res.variant_id, res.warehouse_id, qty)
    res.quantity -= qty
    move, value = inventory.issue(
        uow,
        res.variant_id,
        res.warehouse_id,
        qty,
        "sale",
        at=at,
        source=("shipment", shipment_id),
    )
    return value, move.id


def _shipping_warehouse(order: SalesOrder, plan: Mapping[int, int]) -> int:
    """Return the one warehouse the planned lines ship from, or raise."""
    lines = {line.id: line for line in order.lines}
    found = {_line_warehouse(order, lines[line_id]) for line_id in plan}
    if len(found) > 1 or None in found:
        raise InvalidTransition(
            f"order {order.external_id}: the lines to ship are reserved at "
            f"{len(found)} warehouses (ids {sorted(w or 0 for w in found)}); ship "
            "each warehouse's lines as a separate shipment"
        )
    warehouse_id = found.pop()
    assert warehouse_id is not None
    return warehouse_id


def _update_status(session: Session, order: SalesOrder) -> None:
    open_units = sum(line.quantity_open for line in order.lines)
    shipped = sum(line.quantity_shipped for line in order.lines)
    if open_units == 0:
        order.status = "shipped"
        for req in order_requests(session, order.id):
            req.status = "done"
    elif shipped:
        order.status = "partially_shipped"
        # A split order's request is done once its warehouse has shipped
        # every line it holds.
        for req in order_requests(session, order.id):
            if not any(
                line.quantity_open
                for line in order.lines
                if _line_warehouse(order, line) == req.warehouse_id
            ):
                req.status = "done"
    order.updated_at = datetime.now(UTC)


def order_requests(session: Session, order_id: int) -> list[FulfillmentRequest]:
    return list(
        session.scalars(
            select(FulfillmentRequest).where(
                FulfillmentRequest.order_id == order_id,
                FulfillmentRequest.status == "open",
            )
        )
    )
