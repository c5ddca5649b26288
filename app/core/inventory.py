"""Stock moves, levels, reservations and FIFO cost layers.

Every change of on-hand quantity is a :class:`StockMove`, applied to its
:class:`StockLevel` row and to the cost layers in the same transaction, with
the journal entry for its value and the outbox rows for connected channels.
On hand per SKU and warehouse therefore always equals the sum of its moves,
and the inventory account always equals the value left in the cost layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import inspect, select, tuple_
from sqlalchemy.orm import Session

from app.core import ledger
from app.core.audit import record
from app.core.catalog import get_variant, get_warehouse
from app.core.changes import Changes
from app.core.exceptions import InsufficientStock, InvalidTransition, ValidationError
from app.core.ledger import Posting
from app.core.models import (
    CostLayer,
    LayerConsumption,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMove,
    Variant,
    Warehouse,
)
from app.core.money import round_half_up
from app.core.outbox import queue_stock
from app.core.reference import transaction_scope
from app.core.uow import UnitOfWork

RECEIPT_CREDIT = {"purchase": "2000", "opening": "3100"}
ADJUSTMENT_REASONS = ("damaged", "lost", "found", "write_off", "correction", "count")


def _locked_levels(uow: UnitOfWork) -> dict[tuple[int, int], StockLevel]:
    """Return the stock levels this transaction has locked, by SKU and warehouse.

    The rows stay locked until the transaction ends, so a second look at the
    same level needs no query. A new transaction starts with an empty map.
    """
    rows: dict[tuple[int, int], StockLevel] = transaction_scope(uow.session).setdefault(
        "locked_levels", {}
    )
    return rows


def _attached(row: StockLevel) -> bool:
    """Return False for a row a rolled-back savepoint or a delete let go of."""
    state = inspect(row)
    return bool(state.persistent or state.pending)


def lock_levels(
    uow: UnitOfWork, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock levels of (variant id, warehouse id) pairs in one query.

    Missing levels are created at zero. Rows are locked in key order, so two
    transactions locking overlapping sets take their locks in the same order.
    """
    locked = _locked_levels(uow)
    keys = sorted(set(pairs))
    missing = [
        pair for pair in keys if pair not in locked or not _attached(locked[pair])
    ]
    if missing:
        found = _select_levels(uow, missing)
        absent = [pair for pair in missing if pair not in found]
        if absent:
            uow.insert_if_absent(
                StockLevel,
                [
                    {"variant_id": v, "warehouse_id": w, "on_hand": 0, "reserved": 0}
                    for v, w in absent
                ],
            )
            found.update(_select_levels(uow, absent))
        locked.update(found)
    return {pair: locked[pair] for pair in keys}


def _select_levels(
    uow: UnitOfWork, pairs: list[tuple[int, int]]
) -> dict[tuple[int, int], StockLevel]:
    rows = uow.session.scalars(
        uow.locked(
            select(StockLevel)
            .where(tuple_(StockLevel.variant_id, StockLevel.warehouse_id).in_(pairs))
            .order_by(StockLevel.variant_id, StockLevel.warehouse_id)
        )
    )
    return {(row.variant_id, row.warehouse_id): row for row in rows}


def level(uow: UnitOfWork, variant_id: int, warehouse_id: int) -> StockLevel:
    """Return the stock level row, locked for this transaction, creating it."""
    pair = (variant_id, warehouse_id)
    return lock_levels(uow, [pair])[pair]


def _check_quantity(quantity: int, field: str = "quantity") -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ValidationError(
            field, quantity, f"{field} must be a whole number above zero"
        )


def _move(
    uow: UnitOfWork,
    variant_id: int,
    warehouse_id: int,
    quantity: int,
    reason: str,
    *,
    value: int = 0,
    at: datetime | None = None,
    source: tuple[str, int] | None = None,
    note: str | None = None,
) -> StockMove:
    stock = level(uow, variant_id, warehouse_id)
    stock.on_hand += quantity
    move = StockMove(
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        value=value,
        reason=reason,
        note=note,
        source_type=source[0] if source else None,
        source_id=source[1] if source else None,
        user_id=uow.user_id,
        at=at or datetime.now(UTC),
    )
    uow.session.add(move)
    uow.session.flush()
    return move


def add_layer(
    session: Session,
    variant_id: int,
    warehouse_id: int,
    quantity: int,
    value: int,
    *,
    received_at: datetime,
    source: tuple[str, int | None],
    origin_layer_id: int | None = None,
) -> CostLayer:
    layer = CostLayer(
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        received_at=received_at,
        quantity_received=quantity,
        quantity_remaining=quantity,
        value_received=value,
        value_remaining=value,
        source_type=source[0],
        source_id=source[1],
        origin_layer_id=origin_layer_id,
    )
    session.add(layer)
    session.flush()
    return layer


@dataclass(frozen=True, slots=True)
class Taken:
    """Units and value taken from one cost layer."""

    layer: CostLayer
    quantity: int
    value: int


def consume_layers(
    uow: UnitOfWork, variant_id: int, warehouse_id: int, quantity: int
) -> list[Taken]:
    """Take ``quantity`` units from the oldest layers first (FIFO).

    A partial take is valued pro rata, rounded half-up; taking the last units
    of a layer takes all its remaining value, so no cent is ever left behind.
    """
    session = uow.session
    layers = session.scalars(
        uow.locked(
            select(CostLayer)
            .where(
                CostLayer.variant_id == variant_id,
                CostLayer.warehouse_id == warehouse_id,
                CostLayer.quantity_remaining > 0,
            )
            .order_by(CostLayer.received_at, CostLayer.id)
        )
    )
    taken: list[Taken] = []
    left = quantity
    for layer in layers:
        if left == 0:
            break
        qty = min(left, layer.quantity_remaining)
        if qty == layer.quantity_remaining:
            value = layer.value_remaining
        else:
            value = round_half_up(
                Decimal(layer.value_remaining) * qty / layer.quantity_remaining
            )
        layer.quantity_remaining -= qty
        layer.value_remaining -= value
        taken.append(Taken(layer, qty, value))
        left -= qty
    if left:
        raise InvalidTransition(
            f"cost layers of variant {variant_id} at warehouse {warehouse_id} hold "
            f"{quantity - left} units but {quantity} are leaving; run `backroom "
            "check` to find the mismatch"
        )
    return taken


def record_consumption(session: Session, move: StockMove, taken: list[Taken]) -> None:
    for t in taken:
        session.add(
            LayerConsumption(
                layer_id=t.layer.id,
                stock_move_id=move.id,
                quantity=t.quantity,
                value=t.value,
            )
        )


def issue(
    uow: UnitOfWork,
    variant_id: int,
    warehouse_id: int,
    quantity: int,
    reason: str,
    *,
    at: datetime | None = None,
    source: tuple[str, int] | None = None,
    note: str | None = None,
) -> tuple[StockMove, int]:
    """Take units out of a warehouse at FIFO cost; return the move and its value."""
    taken = consume_layers(uow, variant_id, warehouse_id, quantity)
    value = sum(t.value for t in taken)
    move = _move(
        uow,
        variant_id,
        warehouse_id,
        -quantity,
        reason,
        value=-value,
        at=at,
        source=source,
        note=note,
    )
    record_consumption(uow.session, move, taken)
    return move, value


def _unit_cost_minor(unit_cost: Decimal | int, quantity: int) -> int:
    if isinstance(unit_cost, int):
        return unit_cost * quantity
    if unit_cost < 0:
        raise ValidationError("unit cost", unit_cost, "unit cost cannot be negative")
    return round_half_up(unit_cost * quantity)


def receive(
    uow: UnitOfWork,
    sku: str,
    warehouse: str | int,
    quantity: int,
    unit_cost: Decimal | int,
    *,
    kind: str = "purchase",
    at: datetime | None = None,
    reference: str | None = None,
) -> Changes:
    """Receive units at a cost; ``unit_cost`` is in minor units (Decimal allowed).

    A purchase posts Dr 1200 Inventory, Cr 2000 Accounts payable; an opening
    count posts Cr 3100 Opening balances instead.
    """
    if kind not in RECEIPT_CREDIT:
        raise ValidationError("kind", kind, "receipt kind must be purchase or opening")
    _check_quantity(quantity)
    session = uow.session
    variant = get_variant(session, sku)
    wh = get_warehouse(session, warehouse)
    at = at or datetime.now(UTC)
    value = _unit_cost_minor(unit_cost, quantity)
    move = _move(
        uow, variant.id, wh.id, quantity, kind, value=value, at=at, note=reference
    )
    add_layer(
        session,
        variant.id,
        wh.id,
        quantity,
        value,
        received_at=at,
        source=("stock_move", move.id),
    )
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind=f"receipt.{kind}",
        description=f"Received {quantity} x {variant.sku} at {wh.code}"
        + (f" ({reference})" if reference else ""),
        postings=[
            Posting("1200", debit=value),
            Posting(RECEIPT_CREDIT[kind], credit=value),
        ],
        source=("stock_move", move.id),
    )
    changes = Changes(variants={variant.id})
    if entry is not None:
        move.journal_entry_id = entry.id
        changes.entries.add(entry.id)
    changes.outbox += queue_stock(session, [variant.id])
    record(uow, f"stock.{kind}", "variant", variant.id, detail={"qty": quantity})
    return changes


def _last_unit_cost(session: Session, variant: Variant, warehouse_id: int) -> int:
    layer = session.scalar(
        select(CostLayer)
        .where(CostLayer.variant_id == variant.id, CostLayer.quantity_received > 0)
        .order_by(CostLayer.received_at.desc(), CostLayer.id.desc())
        .limit(1)
    )
    if layer is not None and layer.quantity_received:
        return round_half_up(Decimal(layer.value_received) / layer.quantity_received)
    return variant.standard_cost or 0


def adjust(
    uow: UnitOfWork,
    sku: str,
    warehouse: str | int,
    delta: int,
    reason: str,
    *,
    note: str | None = None,
    unit_cost: Decimal | int | None = None,
    at: datetime | None = None,
    source: tuple[str, int] | None = None,
) -> Changes:
    """Add or remove units with a reason; the value goes to 5100.

    Removing units takes them at FIFO cost (Dr 5100, Cr 1200) and may not
    take available below zero. Found units are valued at ``unit_cost`` or
    the SKU's last receipt cost (Dr 1200, Cr 5100).
    """
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationError(
            "reason", reason, f"adjustment reason must be one of {ADJUSTMENT_REASONS}"
        )
    if not isinstance(delta, int) or delta == 0:
        raise ValidationError(
            "quantity", delta, "an adjustment needs a non-zero quantity"
        )
    session = uow.session
    variant = get_variant(session, sku)
    wh = get_warehouse(session, warehouse)
    at = at or datetime.now(UTC)
    stock = level(uow, variant.id, wh.id)
    if delta < 0:
        if stock.available + delta < 0:
            raise InsufficientStock(variant.sku, wh.code, -delta, stock.available)
        move, value = issue(
            uow, variant.id, wh.id, -delta, reason, at=at, note=note, source=source
        )
        postings = [Posting("5100", debit=value), Posting("1200", credit=value)]
    else:
        cost = (
            _unit_cost_minor(unit_cost, delta)
            if unit_cost is not None
            else _last_unit_cost(session, variant, wh.id) * delta
        )
        move = _move(
            uow,
            variant.id,
            wh.id,
            delta,
            reason,
            value=cost,
            at=at,
            note=note,
            source=source,
        )
        add_layer(
            session,
            variant.id,
            wh.id,
            delta,
            cost,
            received_at=at,
            source=("stock_move", move.id),
        )
        value = cost
        postings = [Posting("1200", debit=value), Posting("5100", credit=value)]
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind=f"adjustment.{reason}",
        description=f"Stock {reason}: {delta:+d} x {variant.sku} at {wh.code}"
        + (f" ({note})" if note else ""),
        postings=postings,
        source=("stock_move", move.id),
    )
    changes = Changes(variants={variant.id})
    if entry is not None:
        move.journal_entry_id = entry.id
        changes.entries.add(entry.id)
    changes.outbox += queue_stock(session, [variant.id])
    record(
        uow,
        "stock.adjust",
        "variant",
        variant.id,
        reason=note,
        detail={"delta": delta, "reason": reason, "warehouse": wh.code},
    )
    return changes


def transfer(
    uow: UnitOfWork,
    sku: str,
    source_warehouse: str | int,
    target_warehouse: str | int,
    quantity: int,
    *,
    at: datetime | None = None,
    note: str | None = None,
) -> Changes:
    """Move units between warehouses, carrying their cost layers along."""
    _check_quantity(quantity)
    session = uow.session
    variant = get_variant(session, sku)
    src = get_warehouse(session, source_warehouse)
    dst = get_warehouse(session, target_warehouse)
    if src.id == dst.id:
        raise ValidationError(
            "warehouse", dst.code, "a transfer needs two different warehouses"
        )
    at = at or datetime.now(UTC)
    stock = level(uow, variant.id, src.id)
    if stock.available < quantity:
        raise InsufficientStock(variant.sku, src.code, quantity, stock.available)
    taken = consume_layers(uow, variant.id, src.id, quantity)
    value = sum(t.value for t in taken)
    out_move = _move(
        uow,
        variant.id,
        src.id,
        -quantity,
        "transfer_out",
        value=-value,
        at=at,
        note=note,
    )
    record_consumption(session, out_move, taken)
    in_move = _move(
        uow,
        variant.id,
        dst.id,
        quantity,
        "transfer_in",
        value=value,
        at=at,
        note=note,
        source=("stock_move", out_move.id),
    )
    out_move.source_type, out_move.source_id = "stock_move", in_move.id
    for t in taken:
        add_layer(
            session,
            variant.id,
            dst.id,
            t.quantity,
            t.value,
            received_at=t.layer.received_at,
            source=("stock_move", in_move.id),
            origin_layer_id=t.layer.id,
        )
    changes = Changes(variants={variant.id})
    if src.is_quarantine != dst.is_quarantine:
        changes.outbox += queue_stock(session, [variant.id])
    record(
        uow,
        "stock.transfer",
        "variant",
        variant.id,
        detail={"from": src.code, "to": dst.code, "qty": quantity},
    )
    return changes


# --- reservations ---------------------------------------------------------


def reserve(uow: UnitOfWork, variant_id: int, warehouse_id: int, quantity: int) -> int:
    """Reserve up to ``quantity`` units; return how many were reserved.

    Reservations never exceed on hand: when fewer units are available the
    rest is left for the caller to record as a shortfall.
    """
    stock = level(uow, variant_id, warehouse_id)
    granted = max(0, min(quantity, stock.available))
    stock.reserved += granted
    return granted


def release(uow: UnitOfWork, variant_id: int, warehouse_id: int, quantity: int) -> None:
    stock = level(uow, variant_id, warehouse_id)
    if quantity > stock.reserved:
        raise InvalidTransition(
            f"cannot release {quantity} reserved units of variant {variant_id}: "
            f"only {stock.reserved} are reserved"
        )
    stock.reserved -= quantity


# --- stock counts ---------------------------------------------------------


def start_count(uow: UnitOfWork, warehouse: str | int, note: str | None = None) -> int:
    wh = get_warehouse(uow.session, warehouse)
    count = StockCount(warehouse_id=wh.id, status="open", note=note)
    uow.session.add(count)
    uow.session.flush()
    record(uow, "count.start", "stock_count", count.id)
    return count.id


def record_count(uow: UnitOfWork, count_id: int, sku: str, counted: int) -> None:
    """Record the counted quantity of a SKU (a later entry replaces an earlier one)."""
    session = uow.session
    count = session.get(StockCount, count_id)
    if count is None or count.status != "open":
        raise InvalidTransition(f"stock count {count_id} is not open")
    if not isinstance(counted, int) or counted < 0:
        raise ValidationError(
            "counted", counted, "a counted quantity cannot be negative"
        )
    variant = get_variant(session, sku)
    line = session.scalar(
        select(StockCountLine).where(
            StockCountLine.count_id == count_id, StockCountLine.variant_id == variant.id
        )
    )
    if line is None:
        session.add(
            StockCountLine(count_id=count_id, variant_id=variant.id, counted=counted)
        )
    else:
        line.counted = counted


def post_count(
    uow: UnitOfWork, count_id: int, *, at: datetime | None = None
) -> Changes:
    """Post a stock count: each difference becomes an adjustment with reason count.

    A count below what is reserved cannot be posted automatically, because
    reservations never exceed on hand; the message names the SKU.
    """
    session = uow.session
    count = session.get(StockCount, count_id)
    if count is None or count.status != "open":
        raise InvalidTransition(f"stock count {count_id} is not open")
    wh = session.get(Warehouse, count.warehouse_id)
    assert wh is not None
    changes = Changes()
    lines = session.scalars(
        select(StockCountLine).where(StockCountLine.count_id == count_id)
    ).all()
    for line in lines:
        variant = session.get(Variant, line.variant_id)
        assert variant is not None
        stock = level(uow, variant.id, wh.id)
        line.expected = stock.on_hand
        delta = line.counted - stock.on_hand
        if delta == 0:
            continue
        if line.counted < stock.reserved:
            raise InvalidTransition(
                f"SKU {variant.sku} counted {line.counted} at {wh.code} but "
                f"{stock.reserved} are reserved for orders; cancel or reroute those "
                "orders first, or recount"
            )
        changes.merge(
            adjust(
                uow,
                variant.sku,
                wh.id,
                delta,
                "count",
                note=f"stock count {count_id}",
                at=at,
                source=("stock_count", count_id),
            )
        )
    count.status = "posted"
    count.posted_at = at or datetime.now(UTC)
    record(uow, "count.post", "stock_count", count_id)
    return changes
