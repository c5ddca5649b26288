"""Small helpers that tests share: each runs one service call in its own transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from app.core import catalog, inventory, orders, setup
from app.core.checks import run_checks
from app.core.models import SalesOrder
from app.core.order_input import OrderInput
from app.core.reports import balances
from app.core.uow import UnitOfWork

NOON = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def add_sku(
    engine: Engine,
    sku: str,
    quantity: int = 0,
    unit_cost: int = 0,
    warehouse: str = "MAIN",
    **fields: object,
) -> None:
    with UnitOfWork(engine) as uow:
        if catalog.find_variant(uow.session, sku) is None:
            catalog.create_product(
                uow,
                f"Product {sku}",
                [catalog.VariantInput(sku, **fields)],  # type: ignore[arg-type]
            )
        if quantity:
            inventory.receive(uow, sku, warehouse, quantity, unit_cost, at=NOON)
        uow.commit()


def add_channel(engine: Engine, name: str, kind: str, **kwargs: object) -> None:
    with UnitOfWork(engine) as uow:
        setup.add_channel(uow, name, kind, **kwargs)  # type: ignore[arg-type]
        uow.commit()


def capture(engine: Engine, order: OrderInput) -> orders.CaptureResult:
    with UnitOfWork(engine) as uow:
        result = orders.capture(uow, order)
        uow.commit()
    return result


def account_nets(engine: Engine) -> dict[str, int]:
    """Return code -> debit minus credit for every account with a balance."""
    with UnitOfWork(engine, write=False) as uow:
        rows = balances(uow.session)
    return {
        r.code: r.debit_total - r.credit_total
        for r in rows
        if r.debit_total != r.credit_total
    }


def violations(engine: Engine) -> list[str]:
    with UnitOfWork(engine, write=False) as uow:
        return [v.message for v in run_checks(uow.session)]


def load_order(engine: Engine, order_id: int) -> SalesOrder:
    with UnitOfWork(engine, write=False) as uow:
        order = uow.session.get(
            SalesOrder, order_id, options=[selectinload(SalesOrder.lines)]
        )
        assert order is not None
        return order


def order_by_external(engine: Engine, external_id: str) -> SalesOrder | None:
    with UnitOfWork(engine, write=False) as uow:
        return uow.session.scalar(
            select(SalesOrder).where(SalesOrder.external_id == external_id)
        )


D = Decimal
