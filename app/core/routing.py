"""Choosing the warehouse an order ships from.

The scoring lives in :mod:`app.core.fulfillment.scoring`: distance to the
destination, stock, rate-table shipping cost and workload, with the owner's
rules on top, and a split over several warehouses when no single one can
ship every line. :func:`route_order` is what order capture calls; it also
stores the decision with every candidate's scores.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.core.fulfillment.scoring import (
    Destination,
    NeedLine,
    RoutePlan,
    plan_route,
    record_decision,
    routing_context,
)
from app.core.models import SalesOrder
from app.core.shop import get_shop
from app.core.uow import UnitOfWork


def choose_warehouse(
    uow: UnitOfWork,
    needs: Mapping[int, int],
    requested: str | None = None,
    *,
    destination: Destination | None = None,
    channel_id: int | None = None,
) -> tuple[int, str]:
    """Return (warehouse id, reason) for an order needing ``variant -> qty``.

    Without a destination the distance scores are all 0, so stock, cost and
    workload decide. A split plan returns its main warehouse.
    """
    lines = [
        NeedLine(-number, number, variant_id, qty)
        for number, (variant_id, qty) in enumerate(sorted(needs.items()), start=1)
        if qty > 0
    ]
    plan = plan_route(
        uow.session,
        lines,
        destination or Destination(None),
        channel_id=channel_id,
        requested=requested,
    )
    return plan.warehouse_id, plan.summary


def order_destination(uow: UnitOfWork, order: SalesOrder) -> Destination:
    """Return where the order goes; no address means the shop's own country."""
    if order.ship_country:
        return Destination(order.ship_country, order.ship_region, order.ship_postcode)
    shop = get_shop(uow.session)
    return Destination(shop.country, shop.region)


def route_order(uow: UnitOfWork, order: SalesOrder, requested: str | None) -> RoutePlan:
    """Plan where each open line of the order ships from and record why."""
    lines = [
        NeedLine(line.id, line.line_no, line.variant_id, line.quantity_open)
        for line in order.lines
        if line.variant_id is not None and line.quantity_open > 0
    ]
    plan = plan_route(
        uow.session,
        lines,
        order_destination(uow, order),
        channel_id=order.channel_id,
        requested=requested,
    )
    record_decision(uow.session, order.id, plan, lines)
    routing_context(uow.session).note_assigned(plan.warehouses)
    return plan
