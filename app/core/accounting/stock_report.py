"""Inventory valuation by SKU and warehouse, from FIFO cost layers.

Today's valuation reads the cost layers' remaining units and value. A
valuation at an earlier date adds up the stock moves up to the end of that
shop-local day instead. Every move carries the cost that moved with it, so
both ways give the same figures for today, and both add up to 1200
Inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import CostLayer, StockMove, Variant, Warehouse
from app.core.money import format_minor
from app.core.shop import get_shop, local_day_end, shop_zone


@dataclass(frozen=True, slots=True)
class StockValueRow:
    """Units on hand and their cost in shop minor units."""

    variant_id: int
    sku: str
    title: str
    warehouse: str
    quantity: int
    value: int

    @property
    def unit_cost(self) -> Decimal | None:
        """Average cost of one unit in minor units, or None without units."""
        if not self.quantity:
            return None
        return Decimal(self.value) / self.quantity


@dataclass(frozen=True, slots=True)
class InventoryValuation:
    currency: str
    as_of: date | None
    rows: tuple[StockValueRow, ...]

    @property
    def total_quantity(self) -> int:
        return sum(r.quantity for r in self.rows)

    @property
    def total_value(self) -> int:
        return sum(r.value for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        c = self.currency
        return {
            "report": "stock",
            "currency": c,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "rows": [
                {
                    "sku": r.sku,
                    "title": r.title,
                    "warehouse": r.warehouse,
                    "quantity": r.quantity,
                    "value": format_minor(r.value, c),
                }
                for r in self.rows
            ],
            "total_quantity": self.total_quantity,
            "total_value": format_minor(self.total_value, c),
        }


def inventory_valuation(
    session: Session, *, as_of: date | None = None, warehouse: str | None = None
) -> InventoryValuation:
    """Return units and value per SKU and warehouse (see the module docstring)."""
    if as_of is None:
        query = select(
            CostLayer.variant_id,
            CostLayer.warehouse_id,
            func.sum(CostLayer.quantity_remaining),
            func.sum(CostLayer.value_remaining),
        ).group_by(CostLayer.variant_id, CostLayer.warehouse_id)
    else:
        query = (
            select(
                StockMove.variant_id,
                StockMove.warehouse_id,
                func.sum(StockMove.quantity),
                func.sum(StockMove.value),
            )
            .where(StockMove.at < local_day_end(as_of, shop_zone(session)))
            .group_by(StockMove.variant_id, StockMove.warehouse_id)
        )
    totals = [
        (v, w, int(q or 0), int(val or 0))
        for v, w, q, val in session.execute(query)
        if (q or val)
    ]
    variants = {
        v.id: v
        for v in session.scalars(
            select(Variant).where(Variant.id.in_({t[0] for t in totals}))
        )
    }
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    rows = [
        StockValueRow(
            variant_id=v,
            sku=variants[v].sku,
            title=variants[v].title,
            warehouse=codes.get(w, str(w)),
            quantity=q,
            value=val,
        )
        for v, w, q, val in totals
        if warehouse is None or codes.get(w) == warehouse
    ]
    rows.sort(key=lambda r: (r.sku.casefold(), r.warehouse))
    return InventoryValuation(get_shop(session).currency, as_of, tuple(rows))
