"""Pick batches: several orders picked in one walk through one warehouse.

A batch takes the orders that have reserved, unshipped units at the
warehouse and are in no other open batch there. Its pick list lists those
lines only (a split order appears on each warehouse's list with its own
lines), sorted by bin. A batch is done once every order in it has shipped
what that warehouse holds.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.core.audit import record
from app.core.catalog import get_warehouse
from app.core.documents import PickListData
from app.core.documents.pick_list import render_pick_list_pdf
from app.core.exceptions import NotFound, ValidationError
from app.core.fulfillment.documents import doc_lines
from app.core.models import OrderLine, SalesOrder, Warehouse
from app.core.models.fulfillment import PickBatch, PickBatchOrder
from app.core.shop import get_shop, shop_zone
from app.core.uow import UnitOfWork

PICKABLE_STATUSES = ("open", "partially_shipped")
BATCH_PREFIX = "PB"


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: int
    ref: str
    warehouse_id: int
    order_ids: tuple[int, ...]


def to_pick(order: SalesOrder, line: OrderLine) -> int:
    """Return the reserved units of a line still to pick."""
    if line.variant_id is None:
        return 0
    return max(0, line.quantity_open - line.shortfall)


def _line_at(order: SalesOrder, line: OrderLine, warehouse_id: int) -> bool:
    return (line.warehouse_id or order.warehouse_id) == warehouse_id


def pickable_orders(
    session: Session, warehouse_id: int, order_ids: Sequence[int] | None = None
) -> list[int]:
    """Return orders with units to pick at the warehouse, in no open batch there."""
    in_batch = (
        select(PickBatchOrder.order_id)
        .join(PickBatch, PickBatch.id == PickBatchOrder.batch_id)
        .where(PickBatch.status == "open", PickBatch.warehouse_id == warehouse_id)
    )
    query = (
        select(SalesOrder)
        .options(selectinload(SalesOrder.lines))
        .where(
            SalesOrder.status.in_(PICKABLE_STATUSES),
            SalesOrder.id.not_in(in_batch),
        )
        .order_by(SalesOrder.placed_at, SalesOrder.id)
    )
    if order_ids is not None:
        query = query.where(SalesOrder.id.in_(list(order_ids)))
    found = []
    for order in session.scalars(query):
        if any(
            to_pick(order, line) and _line_at(order, line, warehouse_id)
            for line in order.lines
        ):
            found.append(order.id)
    return found


def _warehouse_of_orders(session: Session, order_ids: Sequence[int]) -> Warehouse:
    found: set[int] = set()
    for order in session.scalars(
        select(SalesOrder)
        .options(selectinload(SalesOrder.lines))
        .where(SalesOrder.id.in_(list(order_ids)))
    ):
        for line in order.lines:
            if to_pick(order, line):
                found.add(line.warehouse_id or order.warehouse_id or 0)
    if len(found) != 1:
        codes = sorted(
            w.code
            for w in session.scalars(select(Warehouse).where(Warehouse.id.in_(found)))
        )
        raise ValidationError(
            "warehouse",
            None,
            "the orders have units to pick at "
            + (", ".join(codes) if codes else "no warehouse")
            + "; name the warehouse to batch",
        )
    return get_warehouse(session, found.pop())


def create_pick_batch(
    uow: UnitOfWork,
    warehouse: str | int | None = None,
    order_ids: Sequence[int] | None = None,
    *,
    limit: int | None = None,
) -> BatchResult:
    """Batch pickable orders of one warehouse (oldest first, up to ``limit``).

    Without a warehouse, the warehouse of the given orders is used, or the
    shop's default warehouse when no orders are given.
    """
    session = uow.session
    if warehouse is not None:
        wh = get_warehouse(session, warehouse)
    elif order_ids:
        wh = _warehouse_of_orders(session, order_ids)
    else:
        shop = get_shop(session)
        if shop.default_warehouse_id is None:
            raise ValidationError("warehouse", None, "name the warehouse to batch")
        wh = get_warehouse(session, shop.default_warehouse_id)
    chosen = pickable_orders(session, wh.id, order_ids)
    if order_ids is not None:
        missing = sorted(set(order_ids) - set(chosen))
        if missing:
            raise ValidationError(
                "orders",
                missing,
                f"orders {', '.join(map(str, missing))} have nothing to pick at "
                f"{wh.code} or are already in an open batch there",
            )
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        raise ValidationError(
            "orders", [], f"no orders are waiting to be picked at {wh.code}"
        )
    batch = PickBatch(warehouse_id=wh.id, created_by=uow.user_id)
    session.add(batch)
    session.flush()
    session.add_all(PickBatchOrder(batch_id=batch.id, order_id=o) for o in chosen)
    session.flush()
    record(
        uow,
        "pick.batch",
        "pick_batch",
        batch.id,
        detail={"warehouse": wh.code, "orders": chosen},
    )
    return BatchResult(batch.id, batch.ref, wh.id, tuple(chosen))


def find_batch(session: Session, code: str) -> PickBatch | None:
    """Return the batch a scanned reference such as ``PB000012`` names."""
    text = code.strip().upper()
    if not text.startswith(BATCH_PREFIX) or not text[len(BATCH_PREFIX) :].isdigit():
        return None
    return session.get(PickBatch, int(text[len(BATCH_PREFIX) :]))


def get_batch(session: Session, batch_id: int) -> PickBatch:
    batch = session.get(PickBatch, batch_id)
    if batch is None:
        raise NotFound(f"pick batch {batch_id} does not exist")
    return batch


def batch_order_ids(session: Session, batch_id: int) -> list[int]:
    return list(
        session.scalars(
            select(PickBatchOrder.order_id)
            .join(SalesOrder, SalesOrder.id == PickBatchOrder.order_id)
            .where(PickBatchOrder.batch_id == batch_id)
            .order_by(SalesOrder.placed_at, SalesOrder.id)
        )
    )


def pick_list_data(session: Session, batch_id: int) -> PickListData:
    """Return the batch's pick list: each order's units to pick at the warehouse."""
    batch = get_batch(session, batch_id)
    warehouse = get_warehouse(session, batch.warehouse_id)
    orders = []
    for order_id in batch_order_ids(session, batch.id):
        order = session.get(SalesOrder, order_id)
        assert order is not None
        quantities = {
            line.id: to_pick(order, line)
            for line in order.lines
            if _line_at(order, line, warehouse.id)
        }
        lines = doc_lines(session, order, quantities, warehouse_id=warehouse.id)
        if lines:
            orders.append((order.external_id, lines))
    if not orders:
        raise ValidationError(
            "batch",
            batch.ref,
            f"pick batch {batch.ref} has nothing left to pick; every order in it "
            "has shipped or was cancelled",
        )
    return PickListData(
        batch_ref=batch.ref,
        created_at=batch.created_at.astimezone(shop_zone(session)),
        warehouse=f"{warehouse.code} · {warehouse.name}",
        orders=orders,
    )


def pick_list_pdf(session: Session, batch_id: int) -> bytes:
    out = io.BytesIO()
    render_pick_list_pdf(pick_list_data(session, batch_id), out)
    return out.getvalue()


def close_finished_batches(session: Session, order_id: int) -> None:
    """Mark done every open batch of the order whose orders have all shipped."""
    batch_ids = session.scalars(
        select(PickBatchOrder.batch_id)
        .join(PickBatch, PickBatch.id == PickBatchOrder.batch_id)
        .where(PickBatchOrder.order_id == order_id, PickBatch.status == "open")
    ).all()
    for batch_id in batch_ids:
        batch = get_batch(session, batch_id)
        if not pickable_left(session, batch):
            batch.status = "done"


def pickable_left(session: Session, batch: PickBatch) -> list[int]:
    """Return the batch's orders that still have units to pick there."""
    left = []
    for order_id in batch_order_ids(session, batch.id):
        order = session.get(SalesOrder, order_id)
        assert order is not None
        if order.status in PICKABLE_STATUSES and any(
            to_pick(order, line) and _line_at(order, line, batch.warehouse_id)
            for line in order.lines
        ):
            left.append(order_id)
    return left
