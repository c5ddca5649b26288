"""Returned goods in quarantine, and what happens to them afterwards.

Accepted units come back into a quarantine warehouse (``QUARANTINE``, created
on first use) at the cost their sale took out of stock: Dr 1200 Inventory,
Cr 5000 Cost of goods sold. Quarantine stock is not offered to channels.
A disposition takes units out again: ``restock`` transfers them to a
sellable warehouse (no posting; the channels hear of the new stock through
the outbox), ``dispose`` writes them off (Dr 5100, Cr 1200) and
``return_to_supplier`` sends them back for a supplier credit (Dr 2000
Accounts payable, Cr 1200), both at the FIFO value of the quarantine layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.core import inventory, ledger
from app.core.audit import record
from app.core.catalog import get_warehouse
from app.core.changes import Changes
from app.core.exceptions import InsufficientStock, InvalidTransition, ValidationError
from app.core.ledger import Posting
from app.core.models import (
    OrderLine,
    ShipmentLine,
    StockMove,
    Warehouse,
)
from app.core.models.returns import ReturnAuthorization, ReturnDisposition, ReturnLine
from app.core.outbox import queue_stock
from app.core.returns.amounts import increment
from app.core.returns.authorization import close_if_done, get_rma
from app.core.returns.states import DISPOSITIONS
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

QUARANTINE_CODE = "QUARANTINE"
#: Journal lines of each disposition that leaves the books' inventory.
DISPOSAL_DEBIT = {"dispose": "5100", "return_to_supplier": "2000"}
MOVE_REASONS = {"dispose": "write_off", "return_to_supplier": "return_to_supplier"}


def quarantine_warehouse(uow: UnitOfWork) -> Warehouse:
    """Return the quarantine warehouse, creating ``QUARANTINE`` on first use."""
    session = uow.session
    found = session.scalar(select(Warehouse).where(Warehouse.code == QUARANTINE_CODE))
    if found is None:
        found = session.scalar(
            select(Warehouse)
            .where(Warehouse.is_quarantine.is_(True), Warehouse.active.is_(True))
            .order_by(Warehouse.id)
        )
    if found is None:
        found = Warehouse(
            code=QUARANTINE_CODE,
            name="Returns quarantine",
            country=get_shop(session).country,
            is_quarantine=True,
        )
        session.add(found)
        session.flush()
        record(
            uow,
            "warehouse.create",
            "warehouse",
            found.id,
            detail={"code": QUARANTINE_CODE},
        )
    elif not found.is_quarantine:
        raise InvalidTransition(
            f"warehouse {found.code} is not marked as quarantine, so returned goods "
            "cannot wait there; mark it as quarantine in Settings > Warehouses"
        )
    return found


def _sale_cost(uow: UnitOfWork, order_line_id: int) -> tuple[int, int]:
    """Return (units shipped, their cost in shop minor units) for an order line."""
    row = uow.session.execute(
        select(
            func.coalesce(func.sum(ShipmentLine.quantity), 0),
            func.coalesce(func.sum(ShipmentLine.cost), 0),
        ).where(ShipmentLine.order_line_id == order_line_id)
    ).one()
    return int(row[0]), int(row[1])


def _accepted_before(uow: UnitOfWork, line: ReturnLine) -> int:
    """Return units of the same order line already taken back on other RMAs."""
    total = uow.session.scalar(
        select(func.coalesce(func.sum(ReturnLine.quantity_accepted), 0)).where(
            ReturnLine.order_line_id == line.order_line_id, ReturnLine.id != line.id
        )
    )
    return int(total or 0)


def take_into_quarantine(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    line: ReturnLine,
    quantity: int,
    at: datetime,
) -> Changes:
    """Put accepted units into quarantine at the cost their sale recorded.

    The cost is the shipment lines' cost shared by units with cumulative
    rounding, so taking back every shipped unit returns exactly what the
    shipments took out of 1200.
    """
    session = uow.session
    warehouse = quarantine_warehouse(uow)
    shipped, cost_total = _sale_cost(uow, line.order_line_id)
    before = _accepted_before(uow, line) + line.quantity_accepted
    value = increment(cost_total, before, before + quantity, shipped)
    stock = inventory.level(uow, line.variant_id, warehouse.id)
    stock.on_hand += quantity
    move = StockMove(
        variant_id=line.variant_id,
        warehouse_id=warehouse.id,
        quantity=quantity,
        value=value,
        reason="return",
        note=rma.reference,
        source_type="return_line",
        source_id=line.id,
        user_id=uow.user_id,
        at=at,
    )
    session.add(move)
    session.flush()
    inventory.add_layer(
        session,
        line.variant_id,
        warehouse.id,
        quantity,
        value,
        received_at=at,
        source=("stock_move", move.id),
    )
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind="return.receipt",
        description=f"Return {rma.reference}: {quantity} x {line.sku} into quarantine",
        postings=[
            Posting("1200", debit=value, channel_id=rma.channel_id),
            Posting("5000", credit=value, channel_id=rma.channel_id),
        ],
        source=("return_authorization", rma.id),
    )
    line.quantity_accepted += quantity
    line.cost_returned_shop += value
    changes = Changes(variants={line.variant_id})
    if entry is not None:
        move.journal_entry_id = entry.id
        changes.entries.add(entry.id)
    # Quarantine stock is not sellable, so the figure a channel sees does not
    # change; queueing it anyway keeps every moved SKU in each channel's queue.
    changes.outbox += queue_stock(session, [line.variant_id])
    return changes


@dataclass(frozen=True, slots=True)
class DispositionResult:
    disposition_id: int
    value_shop: int
    changes: Changes


def _target_warehouse(
    uow: UnitOfWork, line: ReturnLine, warehouse: str | int | None
) -> Warehouse:
    session = uow.session
    if warehouse is not None:
        target = get_warehouse(session, warehouse)
    else:
        order_line = session.get(OrderLine, line.order_line_id)
        target_id = (
            order_line.warehouse_id
            if order_line is not None and order_line.warehouse_id is not None
            else get_shop(session).default_warehouse_id
        )
        if target_id is None:
            raise ValidationError(
                "warehouse", None, "name the warehouse to restock the units into"
            )
        target = get_warehouse(session, target_id)
    if target.is_quarantine:
        raise ValidationError(
            "warehouse",
            target.code,
            f"warehouse {target.code} is a quarantine warehouse; restock into a "
            "sellable one",
        )
    return target


def _restock(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    line: ReturnLine,
    quantity: int,
    disposition: ReturnDisposition,
    warehouse: str | int | None,
) -> Changes:
    """Transfer units from quarantine to a sellable warehouse."""
    quarantine = quarantine_warehouse(uow)
    target = _target_warehouse(uow, line, warehouse)
    changes = inventory.transfer(
        uow,
        line.sku,
        quarantine.id,
        target.id,
        quantity,
        at=disposition.at,
        note=f"return {rma.reference}",
    )

    out_move = uow.session.scalars(
        select(StockMove)
        .where(
            StockMove.variant_id == line.variant_id,
            StockMove.warehouse_id == quarantine.id,
            StockMove.reason == "transfer_out",
        )
        .order_by(StockMove.id.desc())
    ).first()
    if out_move is not None:
        disposition.stock_move_id = out_move.id
        disposition.value_shop = -out_move.value
    disposition.warehouse_id = target.id
    line.quantity_restocked += quantity
    return changes


def _take_out(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    line: ReturnLine,
    quantity: int,
    disposition: ReturnDisposition,
) -> Changes:
    """Issue units out of quarantine at FIFO value: written off or to the supplier."""
    action = disposition.action
    quarantine = quarantine_warehouse(uow)
    stock = inventory.level(uow, line.variant_id, quarantine.id)
    if stock.available < quantity:
        raise InsufficientStock(line.sku, quarantine.code, quantity, stock.available)
    reference = disposition.supplier_reference
    move, value = inventory.issue(
        uow,
        line.variant_id,
        quarantine.id,
        quantity,
        MOVE_REASONS[action],
        at=disposition.at,
        source=("return_line", line.id),
        note=f"return {rma.reference}"
        + (f" supplier {reference}" if reference else ""),
    )

    outcome = "written off" if action == "dispose" else "returned to the supplier"
    entry = ledger.post(
        uow,
        occurred_at=disposition.at,
        kind=f"return.{action}",
        description=f"Return {rma.reference}: {quantity} x {line.sku} {outcome}",
        postings=[
            Posting(DISPOSAL_DEBIT[action], debit=value, channel_id=rma.channel_id),
            Posting("1200", credit=value, channel_id=rma.channel_id),
        ],
        source=("return_authorization", rma.id),
    )
    changes = Changes(variants={line.variant_id})
    if entry is not None:
        move.journal_entry_id = entry.id
        disposition.journal_entry_id = entry.id
        changes.entries.add(entry.id)
    disposition.stock_move_id = move.id
    disposition.value_shop = value
    changes.outbox += queue_stock(uow.session, [line.variant_id])

    if action == "dispose":
        line.quantity_disposed += quantity
    else:
        line.quantity_to_supplier += quantity
    return changes


def dispose_units(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    line: ReturnLine,
    quantity: int,
    action: str,
    *,
    warehouse: str | int | None = None,
    supplier_reference: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> DispositionResult:
    """Take units of a return line out of quarantine by ``action``."""
    if action not in DISPOSITIONS:
        raise ValidationError(
            "action", action, f"disposition must be one of {DISPOSITIONS}"
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError("quantity", quantity, "quantity must be above zero")
    if quantity > line.quantity_in_quarantine:
        raise ValidationError(
            f"line {line.line_no} quantity",
            quantity,
            f"return {rma.reference} line {line.line_no} ({line.sku}) has "
            f"{line.quantity_in_quarantine} units in quarantine, not {quantity}",
        )

    disposition = ReturnDisposition(
        return_line_id=line.id,
        action=action,
        quantity=quantity,
        supplier_reference=supplier_reference,
        note=note,
        at=at or datetime.now(UTC),
        user_id=uow.user_id,
    )
    if action == "restock":
        changes = _restock(uow, rma, line, quantity, disposition, warehouse)
    else:
        changes = _take_out(uow, rma, line, quantity, disposition)
    changes.variants.add(line.variant_id)
    uow.session.add(disposition)
    uow.session.flush()

    record(
        uow,
        f"return.{action}",
        "return_authorization",
        rma.id,
        reason=note,
        detail={
            "line_no": line.line_no,
            "sku": line.sku,
            "quantity": quantity,
            "disposition": disposition.id,
        },
    )
    return DispositionResult(disposition.id, disposition.value_shop, changes)


def dispose(
    uow: UnitOfWork,
    key: int | str,
    line_no: int,
    quantity: int,
    action: str,
    *,
    warehouse: str | int | None = None,
    supplier_reference: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> DispositionResult:
    """Restock, dispose of or return to the supplier units of a return line.

    ``line_no`` is the order line's number; ``warehouse`` is where ``restock``
    puts the units (default: the warehouse the line shipped from).
    """
    session = uow.session
    rma = get_rma(session, key)
    line = next((ln for ln in rma.lines if ln.line_no == line_no), None)
    if line is None:
        raise ValidationError(
            "line", line_no, f"return {rma.reference} has no line {line_no}"
        )
    at = at or datetime.now(UTC)
    result = dispose_units(
        uow,
        rma,
        line,
        quantity,
        action,
        warehouse=warehouse,
        supplier_reference=supplier_reference,
        note=note,
        at=at,
    )
    close_if_done(uow, rma, at)
    return result
