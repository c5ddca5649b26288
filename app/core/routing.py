"""Choosing the warehouse an order ships from.

This is the simple rule the core starts with: the warehouse named on the
order, else the shop's default warehouse when it can ship every line, else
the first active warehouse that can, else the default one (the order is then
short there). Shipping-cost, distance and workload scoring build on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from app.core.catalog import get_warehouse
from app.core.exceptions import NotFound
from app.core.models import StockLevel, Warehouse
from app.core.shop import get_shop
from app.core.uow import UnitOfWork


def _can_ship(uow: UnitOfWork, warehouse_id: int, needs: Mapping[int, int]) -> bool:
    if not needs:
        return True
    rows = uow.session.execute(
        select(StockLevel.variant_id, StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.warehouse_id == warehouse_id,
            StockLevel.variant_id.in_(list(needs)),
        )
    )
    have = dict(rows.all())
    return all(have.get(v, 0) >= q for v, q in needs.items())


def choose_warehouse(
    uow: UnitOfWork, needs: Mapping[int, int], requested: str | None = None
) -> tuple[int, str]:
    """Return (warehouse id, reason) for an order needing ``variant -> qty``."""
    session = uow.session
    if requested:
        return get_warehouse(session, requested).id, f"warehouse {requested} requested"
    shop = get_shop(session)
    warehouses = session.scalars(
        select(Warehouse)
        .where(Warehouse.active.is_(True), Warehouse.is_quarantine.is_(False))
        .order_by(Warehouse.id)
    ).all()
    if not warehouses:
        raise NotFound(
            "the shop has no warehouse yet; add one in Settings > Warehouses"
        )
    default_id = shop.default_warehouse_id or warehouses[0].id
    ordered = sorted(warehouses, key=lambda w: (w.id != default_id, w.id))
    for warehouse in ordered:
        if _can_ship(uow, warehouse.id, needs):
            why = "default warehouse" if warehouse.id == default_id else "has all lines"
            return warehouse.id, f"{warehouse.code}: {why}"
    default = next(w for w in warehouses if w.id == default_id)
    return default_id, f"{default.code}: no warehouse has every line in stock"
