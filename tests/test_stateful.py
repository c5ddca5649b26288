"""Random sequences of stock and order work; the seven rules hold after each step."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from app.core import catalog, db, inventory, ledger, orders, setup, shipments
from app.core.checks import run_checks
from app.core.exceptions import (
    InsufficientStock,
    InvalidTransition,
    PeriodClosed,
    ValidationError,
)
from app.core.models import SalesOrder
from app.core.order_input import Address, LineInput, OrderInput
from app.core.uow import UnitOfWork

SKUS = ("A-1", "B-2", "C-3")
WAREHOUSES = ("MAIN", "EAST")
CHANNELS = ("Shop", "Woo", "Manual")
# Refusals a person or channel can meet; the rules must hold after them too.
EXPECTED = (InsufficientStock, InvalidTransition, ValidationError, PeriodClosed)


class ShopMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    @initialize()
    def create(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="backroom-stateful-"))
        self.engine = db.make_engine(self.folder / "shop.sqlite")
        setup.create_shop(self.engine, setup.ShopSettings(name="Stateful"))
        self.clock = datetime(2026, 1, 5, 10, tzinfo=UTC)
        self.counter = 0
        with UnitOfWork(self.engine) as uow:
            setup.add_channel(
                uow, "Shop", "shopify", connected=True, prices_include_tax=True
            )
            setup.add_channel(uow, "Woo", "woocommerce", connected=True, buffer_units=1)
            catalog.create_warehouse(uow, "EAST", "East", "GB")
            for sku in SKUS:
                catalog.create_product(uow, sku, [catalog.VariantInput(sku)])
            uow.commit()

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, action) -> object:  # type: ignore[no-untyped-def]
        try:
            with UnitOfWork(self.engine) as uow:
                result = action(uow)
                uow.commit()
                return result
        except EXPECTED:
            return None

    @rule(hours=st.integers(1, 240))
    def advance(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)

    @rule(
        sku=st.sampled_from(SKUS),
        wh=st.sampled_from(WAREHOUSES),
        qty=st.integers(1, 6),
        cost=st.integers(0, 900),
    )
    def receive(self, sku: str, wh: str, qty: int, cost: int) -> None:
        self._run(lambda uow: inventory.receive(uow, sku, wh, qty, cost, at=self.clock))

    @rule(
        target=orders,
        channel=st.sampled_from(CHANNELS),
        lines=st.lists(
            st.tuples(st.sampled_from(SKUS), st.integers(1, 4), st.integers(0, 5000)),
            min_size=1,
            max_size=3,
        ),
        country=st.sampled_from(["GB", "DE", "US"]),
    )
    def capture(self, channel: str, lines: list[tuple[str, int, int]], country: str):  # type: ignore[no-untyped-def]
        self.counter += 1
        order = OrderInput(
            channel=channel,
            external_id=None if channel == "Manual" else f"X{self.counter}",
            placed_at=self.clock,
            ship_to=Address(
                name="B", country=country, region="NY" if country == "US" else None
            ),
            lines=[LineInput(s, q, f"{p / 100:.2f}") for s, q, p in lines],
            shipping="3.50",
        )
        result = self._run(lambda uow: orders.capture(uow, order))
        return result.order_id if result is not None else None  # type: ignore[attr-defined]

    @rule(order_id=orders, qty=st.integers(0, 5))
    def update(self, order_id: int | None, qty: int) -> None:
        if order_id is None:
            return
        self._run(
            lambda uow: orders.update_order(
                uow, order_id, quantities={1: qty}, at=self.clock
            )
        )

    @rule(order_id=orders, partial=st.booleans())
    def ship(self, order_id: int | None, partial: bool) -> None:
        if order_id is None:
            return

        def action(uow: UnitOfWork) -> object:
            order = uow.session.get(SalesOrder, order_id)
            assert order is not None
            if order.status in ("cancelled", "held"):
                return None
            plan = None
            if partial:
                first = order.lines[0]
                ready = first.quantity_open - first.shortfall
                if ready < 1:
                    return None
                plan = {first.line_no: 1}
            return shipments.ship(uow, order_id, quantities=plan, at=self.clock)

        self._run(action)

    @rule(order_id=orders)
    def cancel(self, order_id: int | None) -> None:
        if order_id is not None:
            self._run(lambda uow: orders.cancel_order(uow, order_id, at=self.clock))

    @rule(
        sku=st.sampled_from(SKUS),
        wh=st.sampled_from(WAREHOUSES),
        delta=st.integers(-3, 3).filter(bool),
    )
    def adjust(self, sku: str, wh: str, delta: int) -> None:
        self._run(
            lambda uow: inventory.adjust(
                uow, sku, wh, delta, "correction", at=self.clock
            )
        )

    @rule(sku=st.sampled_from(SKUS), qty=st.integers(1, 3), forward=st.booleans())
    def transfer(self, sku: str, qty: int, forward: bool) -> None:
        src, dst = WAREHOUSES if forward else WAREHOUSES[::-1]
        self._run(
            lambda uow: inventory.transfer(uow, sku, src, dst, qty, at=self.clock)
        )

    @rule(
        sku=st.sampled_from(SKUS),
        wh=st.sampled_from(WAREHOUSES),
        counted=st.integers(0, 8),
    )
    def count(self, sku: str, wh: str, counted: int) -> None:
        def action(uow: UnitOfWork) -> object:
            count_id = inventory.start_count(uow, wh)
            inventory.record_count(uow, count_id, sku, counted)
            return inventory.post_count(uow, count_id, at=self.clock)

        self._run(action)

    @rule()
    def close_previous_month(self) -> None:
        first = self.clock.replace(day=1)
        previous = first - timedelta(days=1)
        self._run(lambda uow: ledger.close_period(uow, previous.year, previous.month))

    @invariant()
    def rules_hold(self) -> None:
        if not hasattr(self, "engine"):
            return
        with UnitOfWork(self.engine, write=False) as uow:
            found = run_checks(uow.session)
        assert [v.message for v in found] == []


TestShopRules = ShopMachine.TestCase
