"""Two processes capture the last unit at once: exactly one reserves it."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import db
from app.core.exceptions import InsufficientStock
from app.core.models import SalesOrder, StockLevel
from app.core.order_input import Address, LineInput, OrderInput
from app.core.setup import ShopSettings, create_shop
from app.core.uow import UnitOfWork
from tests.helpers import add_channel, add_sku, violations
from tests.pg import postgres_url


def _buy_last_unit(url: str, channel: str, number: int, barrier, results) -> None:  # type: ignore[no-untyped-def]
    from app.core import orders

    engine = db.make_engine(url)
    order = OrderInput(
        channel=channel,
        external_id=f"race-{number}",
        placed_at=datetime(2026, 6, 1, 12, tzinfo=UTC),
        ship_to=Address(name="Racer", country="GB", postcode="E1 6AN"),
        lines=[LineInput("LAST", 1, "10.00")],
    )
    barrier.wait()
    try:
        with UnitOfWork(engine) as uow:
            result = orders.capture(uow, order)
            uow.commit()
        results.put(("oversold" if result.oversold else "reserved", number))
    except InsufficientStock:
        results.put(("refused", number))
    engine.dispose()


def _race(url: str, channel: str) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_buy_last_unit, args=(url, channel, n, barrier, results))
        for n in (1, 2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return sorted(results.get(timeout=5)[0] for _ in workers)


def _prepare(url: str) -> None:
    engine = db.make_engine(url)
    create_shop(engine, ShopSettings(name="Race"))
    add_channel(engine, "Shop", "shopify", connected=True)
    add_sku(engine, "LAST", 1, 500)
    engine.dispose()


def _reserved(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    with UnitOfWork(engine, write=False) as uow:
        level = uow.session.scalar(select(StockLevel))
        assert level is not None
        orders_count = len(uow.session.scalars(select(SalesOrder.id)).all())
    engine.dispose()
    return level.reserved, orders_count


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_manual_orders_race_for_last_unit(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        url = db.database_url(tmp_path / "race.sqlite")
        _prepare(url)
        outcome = _race(url, "Manual")
        reserved = _reserved(url)
    else:
        with postgres_url() as url:
            _prepare(url)
            outcome = _race(url, "Manual")
            reserved = _reserved(url)
    assert outcome == ["refused", "reserved"]
    assert reserved == (1, 1)


def test_channel_orders_race_one_reserves_one_oversold(tmp_path: Path) -> None:
    url = db.database_url(tmp_path / "race.sqlite")
    _prepare(url)
    outcome = _race(url, "Shop")
    assert outcome == ["oversold", "reserved"]
    assert _reserved(url) == (1, 2)
    assert violations(db.make_engine(url)) == []


def test_month_close_waits_for_open_capture_on_postgres() -> None:
    """A capture in flight when a month closes is counted in the close."""
    import threading

    from app.core import orders
    from app.core.ledger import close_period
    from app.core.models import Period

    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with postgres_url() as url:
        _prepare(url)
        engine = db.make_engine(url)
        closed: list[object] = []

        def close() -> None:
            with UnitOfWork(engine) as uow:
                close_period(uow, 2026, 3)
                uow.commit()
            closed.append(True)

        closer = threading.Thread(target=close)
        with UnitOfWork(engine) as uow:
            orders.capture(
                uow,
                OrderInput(
                    channel="Shop",
                    external_id="IN-FLIGHT",
                    placed_at=at,
                    ship_to=Address(name="A Buyer", country="GB", postcode="SW1A 1AA"),
                    lines=[LineInput("LAST", 1, "9.00")],
                ),
            )
            closer.start()
            closer.join(timeout=1.0)
            # The close waits on this transaction's lock on the shop row.
            assert closed == []
            uow.commit()
        closer.join(timeout=30)
        assert closed == [True]
        with UnitOfWork(engine, write=False) as uow:
            period = uow.session.scalar(
                select(Period).where(Period.year == 2026, Period.month == 3)
            )
            assert period is not None
            assert period.closed_line_count == 3
        assert violations(engine) == []
        engine.dispose()


def test_new_sku_first_orders_race_on_postgres() -> None:
    """Two captures that both create a SKU's stock level row both succeed."""
    import threading

    from app.core import catalog, orders

    def order(number: int) -> OrderInput:
        return OrderInput(
            channel="Shop",
            external_id=f"NEW-{number}",
            placed_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
            ship_to=Address(name="A Buyer", country="GB", postcode="SW1A 1AA"),
            lines=[LineInput("NEW", 1, "9.00")],
        )

    with postgres_url() as url:
        _prepare(url)
        engine = db.make_engine(url)
        with UnitOfWork(engine) as uow:
            catalog.create_product(uow, "New thing", [catalog.VariantInput("NEW")])
            uow.commit()
        outcome: list[str] = []

        def second() -> None:
            try:
                with UnitOfWork(engine) as uow:
                    orders.capture(uow, order(2))
                    uow.commit()
                outcome.append("kept")
            except Exception as exc:  # the test reports whatever went wrong
                outcome.append(f"{type(exc).__name__}: {exc}")

        other = threading.Thread(target=second)
        with UnitOfWork(engine) as uow:
            orders.capture(uow, order(1))
            other.start()
            other.join(timeout=1.0)
            uow.commit()
        other.join(timeout=30)
        assert outcome == ["kept"]
        assert violations(engine) == []
        engine.dispose()
