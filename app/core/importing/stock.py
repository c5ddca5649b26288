"""Import opening stock: quantities and unit costs per SKU and warehouse.

Each row (columns SKU, warehouse, quantity, unit cost) is received through
``inventory.receive(..., kind="opening")``. That writes the stock move, a
FIFO cost layer and the journal entry Dr 1200 Inventory, Cr 3100 Opening
balances, so the inventory account stays equal to the cost layers. Unit
costs are in the shop currency's major units ("2.55").

A SKU and warehouse take one opening balance: a second one is a problem, so
importing the same file twice adds nothing. Later corrections go through a
stock count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from app.core import inventory
from app.core.catalog import sku_key
from app.core.exceptions import PeriodClosed
from app.core.importing.errors import MissingColumnsError, Problem
from app.core.importing.tables import (
    Columns,
    RowProblems,
    parse_decimal,
    read_table,
    write_rejected,
)
from app.core.ledger import ensure_open
from app.core.models import StockMove, Variant, Warehouse
from app.core.money import currency_exponent, round_half_up
from app.core.shop import get_shop, local_date, shop_zone
from app.core.uow import UnitOfWork

logger = logging.getLogger(__name__)

COST_PLACES = 4
_COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("SKU", "Variant SKU"),
    "warehouse": ("Warehouse", "Location", "Warehouse code"),
    "quantity": ("Quantity", "Qty", "On hand"),
    "unit_cost": ("Unit cost", "Cost", "Cost per item"),
}


@dataclass(frozen=True, slots=True)
class StockRow:
    """One opening balance to receive, with ``unit_cost`` in major units."""

    row: int
    sku: str
    warehouse: str
    quantity: int
    unit_cost: Decimal


@dataclass
class StockImportResult:
    """The outcome of a stock import: what it received, or why it rejected the file.

    ``value`` is the total cost received, in the shop currency's minor units.
    """

    file: str
    status: Literal["imported", "rejected"] = "imported"
    rows_received: int = 0
    units: int = 0
    value: int = 0
    entries: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    rejects_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "rows_received": self.rows_received,
            "units": self.units,
            "value_minor": self.value,
            "journal_entries": len(self.entries),
            "problem_count": len(self.problems),
            "problems": [
                {
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "rejected_rows": list(self.rejected_rows),
            "rejects_file": self.rejects_file,
        }


def import_stock(
    uow: UnitOfWork,
    path: str | Path,
    *,
    at: datetime | None = None,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
) -> StockImportResult:
    """Receive the file's opening stock at ``at`` (default: now).

    Unknown SKUs and warehouses, quantities that are not whole numbers above
    zero, invalid costs, a SKU and warehouse given twice or already holding
    an opening balance are problems. Nothing is written when the file has
    problems, unless ``skip_invalid`` is set: then the other rows are
    received and the rows with problems written beside the input. The
    caller commits.
    """
    session = uow.session
    table = read_table(path)
    result = StockImportResult(file=str(table.path))
    try:
        columns = Columns(table, _COLUMNS, required=_COLUMNS)
    except MissingColumnsError as exc:
        result.status = "rejected"
        result.problems = list(exc.problems)
        return result
    problems = RowProblems(table.path, columns)
    at = at or datetime.now(UTC)

    shop = get_shop(session)
    exponent = currency_exponent(shop.currency)
    variants = {
        v.sku_key: v
        for v in session.scalars(
            select(Variant).where(
                Variant.sku_key.in_(
                    {sku_key(columns.get(f, "sku")) for _, f in table.rows}
                )
            )
        )
    }
    warehouses = {w.code: w for w in session.scalars(select(Warehouse))}
    opened = {
        (variant_id, warehouse_id)
        for variant_id, warehouse_id in session.execute(
            select(StockMove.variant_id, StockMove.warehouse_id).where(
                StockMove.reason == "opening"
            )
        )
    }
    day = local_date(at, shop_zone(session))
    try:
        ensure_open(session, day, "opening stock")
    except PeriodClosed as exc:
        problems.add(table.rows[0][0] if table.rows else 1, None, "", f"{exc}.")

    rows: list[StockRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row, fields in table.rows:
        stock_row = _read_row(
            row, fields, columns, problems, variants, warehouses, exponent
        )
        if stock_row is None:
            continue
        key = (sku_key(stock_row.sku), stock_row.warehouse)
        if key in seen:
            problems.add(
                row,
                "sku",
                stock_row.sku,
                f"at warehouse {stock_row.warehouse} is already on row "
                f"{seen[key]}. Give each SKU and warehouse one row.",
            )
            continue
        seen[key] = row
        variant = variants[key[0]]
        warehouse = warehouses[stock_row.warehouse]
        if (variant.id, warehouse.id) in opened:
            problems.add(
                row,
                "sku",
                stock_row.sku,
                f"at warehouse {warehouse.code} already has an opening balance. "
                "Correct stock with a stock count instead.",
            )
            continue
        rows.append(stock_row)

    if problems:
        result.problems = sorted(problems.problems, key=lambda p: p.row)
        result.rejected_rows = sorted(problems.rows)
        if not skip_invalid:
            result.status = "rejected"
            return result
        result.rejects_file = str(write_rejected(table, result.problems, rejects_path))
        bad = problems.rows
        rows = [r for r in rows if r.row not in bad]

    for stock_row in rows:
        unit_cost_minor = stock_row.unit_cost.scaleb(exponent)
        changes = inventory.receive(
            uow,
            stock_row.sku,
            stock_row.warehouse,
            stock_row.quantity,
            unit_cost_minor,
            kind="opening",
            at=at,
            reference=f"opening stock, {table.path.name} row {stock_row.row}",
        )
        result.rows_received += 1
        result.units += stock_row.quantity
        result.value += round_half_up(unit_cost_minor * stock_row.quantity)
        result.entries.extend(sorted(changes.entries))
    logger.info(
        "received opening stock from %s: %d rows, %d units",
        table.path,
        result.rows_received,
        result.units,
    )
    return result


def _read_row(
    row: int,
    fields: list[str],
    columns: Columns,
    problems: RowProblems,
    variants: dict[str, Variant],
    warehouses: dict[str, Warehouse],
    exponent: int,
) -> StockRow | None:
    start = len(problems.problems)
    sku = columns.get(fields, "sku")
    if not sku:
        problems.add(row, "sku", "", "is empty. Enter the SKU.")
    elif sku_key(sku) not in variants:
        problems.add(
            row,
            "sku",
            sku,
            "is not in the catalog. Import the products first or correct the SKU.",
        )
    warehouse = columns.get(fields, "warehouse")
    if warehouse not in warehouses:
        known = ", ".join(sorted(warehouses))
        problems.add(
            row,
            "warehouse",
            warehouse,
            f"is not a warehouse code. Use one of {known}, or create the "
            "warehouse first.",
        )
    text = columns.get(fields, "quantity")
    quantity = parse_decimal(text, 0) if text else None
    if quantity is None or quantity <= 0:
        problems.add(
            row,
            "quantity",
            text,
            "is not a whole number above zero. Enter a count such as 12.",
        )
    text = columns.get(fields, "unit_cost")
    unit_cost = parse_decimal(text, COST_PLACES) if text else None
    if unit_cost is None or unit_cost < 0:
        problems.add(
            row,
            "unit_cost",
            text,
            f"is not a cost. Enter the cost of one unit with at most {COST_PLACES} "
            "decimal places, such as 2.55.",
        )
    if len(problems.problems) > start:
        return None
    assert quantity is not None and unit_cost is not None
    return StockRow(row, sku, warehouse, int(quantity), unit_cost)
