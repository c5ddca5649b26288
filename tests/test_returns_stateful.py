"""Random sequences of sales and returns; the rules and rule 5 hold after each step.

Each step is one committed service call: receive stock, capture, ship,
authorize, receive a parcel, inspect, refund (waiting, released early,
with or without fee and shipping), a channel's own refund, payout, and a
disposition. After every step the seven rules hold, no posted refund
exceeds what was paid, and quarantine stock equals what the returns say
is waiting there.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

from app.core import (
    catalog,
    db,
    discounts,
    inventory,
    orders,
    returns,
    setup,
    shipments,
)
from app.core.checks import run_checks
from app.core.exceptions import InsufficientStock, InvalidTransition, ValidationError
from app.core.models import OrderLine, SalesOrder, StockLevel, Warehouse
from app.core.models.returns import ReturnAuthorization, ReturnLine, ReturnRefund
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.returns.states import CONDITIONS, DISPOSITIONS, REASONS
from app.core.uow import UnitOfWork

SKUS = ("A-1", "B-2")
CHANNELS = ("Shop", "Web")
LONDON = Address(name="Ann", line1="1 High St", city="London", country="GB")
# Refusals a person or channel can meet; the rules must hold after them too.
EXPECTED = (
    InsufficientStock,
    InvalidTransition,
    ValidationError,
    returns.RefundLimitExceeded,
)


START = datetime(2026, 3, 2, 10, tzinfo=UTC)
_TEMPLATE: list[Path] = []


def _build_template(path: Path) -> None:
    """Create the starting shop: two channels, two SKUs, stock and shipped sales."""
    engine = db.make_engine(path)
    setup.create_shop(engine, setup.ShopSettings(name="Returns"))
    with UnitOfWork(engine) as uow:
        setup.add_channel(
            uow, "Shop", "shopify", connected=True, prices_include_tax=True
        )
        setup.add_channel(uow, "Web", "woocommerce", connected=True)
        for sku, weight in zip(SKUS, (300, 750), strict=True):
            catalog.create_product(
                uow, sku, [catalog.VariantInput(sku, weight_g=weight)]
            )
            inventory.receive(uow, sku, "MAIN", 12, 400, at=START)
        discounts.create_code(uow, "TEN", "percent", 10)
        returns.update_settings(
            uow, restocking_fee=returns.RestockingFee("percent", Decimal(15))
        )
        uow.commit()
    sales = [
        ("Shop", [LineInput("A-1", 3, "12.99"), LineInput("B-2", 1, "45.00")], True),
        ("Web", [LineInput("A-1", 2, "3.33")], False),
    ]
    for number, (channel, lines, code) in enumerate(sales, start=1):
        with UnitOfWork(engine) as uow:
            result = orders.capture(
                uow,
                OrderInput(
                    channel=channel,
                    external_id=f"start-{number}",
                    placed_at=START,
                    ship_to=LONDON,
                    customer=CustomerInput(email=f"buyer{number}@example.com"),
                    lines=lines,
                    shipping="3.99",
                    discount_codes=["TEN"] if code else [],
                ),
            )
            shipments.ship(uow, result.order_id, at=START)
            uow.commit()
    engine.dispose()


def _fresh_shop(folder: Path) -> Path:
    """Copy the starting shop into ``folder``, building it once per test run."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="backroom-returns-template-"))
        _build_template(template / "shop.sqlite")
        _TEMPLATE.append(template / "shop.sqlite")
    target = folder / "shop.sqlite"
    shutil.copyfile(_TEMPLATE[0], target)
    return target


class ReturnsMachine(RuleBasedStateMachine):
    @initialize()
    def create(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="backroom-returns-"))
        self.engine = db.make_engine(_fresh_shop(self.folder))
        self.clock = START
        self.counter = 0

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, action: Any, name: str) -> Any:
        try:
            with UnitOfWork(self.engine) as uow:
                result = action(uow)
                uow.commit()
        except EXPECTED as exc:
            event(f"{name} refused: {type(exc).__name__}")
            return None
        event(f"{name} done")
        return result

    def _tick(self, hours: int = 1) -> datetime:
        self.clock += timedelta(hours=hours)
        return self.clock

    @rule(hours=st.integers(1, 200))
    def advance(self, hours: int) -> None:
        self._tick(hours)

    @rule(sku=st.sampled_from(SKUS), qty=st.integers(1, 8), cost=st.integers(0, 900))
    def receive_stock(self, sku: str, qty: int, cost: int) -> None:
        at = self._tick()
        self._run(
            lambda uow: inventory.receive(uow, sku, "MAIN", qty, cost, at=at),
            "receive_stock",
        )

    @rule(
        channel=st.sampled_from(CHANNELS),
        lines=st.lists(
            st.tuples(
                st.sampled_from(SKUS),
                st.integers(1, 4),
                st.decimals(Decimal("0.5"), Decimal("99"), places=2),
            ),
            min_size=1,
            max_size=2,
        ),
        shipping=st.sampled_from(("0", "3.99", "4.50")),
        code=st.booleans(),
        buyer=st.integers(1, 3),
    )
    def capture(
        self,
        channel: str,
        lines: list[tuple[str, int, Decimal]],
        shipping: str,
        code: bool,
        buyer: int,
    ) -> None:
        self.counter += 1
        at = self._tick()
        order = OrderInput(
            channel=channel,
            external_id=f"{channel}-{self.counter}",
            placed_at=at,
            ship_to=LONDON,
            customer=CustomerInput(email=f"buyer{buyer}@example.com"),
            lines=[LineInput(sku, qty, price) for sku, qty, price in lines],
            shipping=shipping,
            discount_codes=["TEN"] if code else [],
        )
        self._run(lambda uow: orders.capture(uow, order), "capture")

    # --- picking records in a state where the next step makes sense ------------

    def _query(self, statement: Any) -> list[Any]:
        with UnitOfWork(self.engine, write=False) as uow:
            return list(uow.session.execute(statement).all())

    def _pick(self, data: st.DataObject, rows: list[Any]) -> Any:
        return data.draw(st.sampled_from(rows)) if rows else None

    def _rma_lines(self, rma_id: int) -> list[tuple[int, int, int]]:
        """Return (line number, authorized, received) of an RMA's lines."""
        return [
            (row.line_no, row.quantity, row.quantity_received)
            for (row,) in self._query(
                select(ReturnLine).where(ReturnLine.rma_id == rma_id)
            )
        ]

    def _exists(self, statement: Any) -> bool:
        if not hasattr(self, "engine"):
            return False
        return bool(self._query(statement.limit(1)))

    def _has_open_orders(self) -> bool:
        return self._exists(
            select(SalesOrder.id).where(
                SalesOrder.status.in_(("open", "partially_shipped"))
            )
        )

    def _has_shipped(self) -> bool:
        return self._exists(select(OrderLine.id).where(OrderLine.quantity_shipped > 0))

    def _has_live_rma(self) -> bool:
        return self._exists(
            select(ReturnAuthorization.id).where(
                ReturnAuthorization.status.in_(("authorized", "received", "inspected"))
            )
        )

    def _has_quarantine(self) -> bool:
        return self._exists(
            select(ReturnLine.id).where(ReturnLine.quantity_accepted > 0)
        )

    def _rmas(self, status: str) -> list[int]:
        return [
            rma_id
            for (rma_id,) in self._query(
                select(ReturnAuthorization.id)
                .where(ReturnAuthorization.status == status)
                .order_by(ReturnAuthorization.id)
            )
        ]

    def _refunds(self, status: str) -> list[int]:
        return [
            refund_id
            for (refund_id,) in self._query(
                select(ReturnRefund.id)
                .where(ReturnRefund.status == status)
                .order_by(ReturnRefund.id)
            )
        ]

    # --- steps -------------------------------------------------------------------

    @precondition(lambda m: m._has_open_orders())
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        open_orders = [
            order_id
            for (order_id,) in self._query(
                select(SalesOrder.id)
                .where(SalesOrder.status.in_(("open", "partially_shipped")))
                .order_by(SalesOrder.id)
            )
        ]
        order_id = self._pick(data, open_orders)
        if order_id is None:
            return
        at = self._tick()
        self._run(lambda uow: shipments.ship(uow, order_id, at=at), "ship")

    @precondition(lambda m: m._has_shipped())
    @rule(data=st.data(), extra=st.integers(0, 1))
    def authorize(self, data: st.DataObject, extra: int) -> None:
        shipped = self._query(
            select(OrderLine.order_id, OrderLine.line_no, OrderLine.quantity_shipped)
            .where(OrderLine.quantity_shipped > 0)
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        picked = self._pick(data, shipped)
        if picked is None:
            return
        order_id = picked[0]
        lines_of_order = [(no, qty) for oid, no, qty in shipped if oid == order_id]
        chosen = data.draw(
            st.lists(st.sampled_from(lines_of_order), min_size=1, unique=True)
        )
        lines = [
            returns.ReturnLineInput(
                no,
                data.draw(st.integers(1, qty)) + extra,
                data.draw(st.sampled_from(REASONS)),
            )
            for no, qty in chosen
        ]
        at = self._tick()
        self._run(
            lambda uow: returns.authorize(
                uow, order_id, lines, at=at, late_reason="stateful test"
            ),
            "authorize",
        )

    @precondition(lambda m: bool(m._rmas("authorized")))
    @rule(data=st.data(), weight=st.none() | st.integers(0, 5000))
    def receive_parcel(self, data: st.DataObject, weight: int | None) -> None:
        rma_id = self._pick(data, self._rmas("authorized"))
        if rma_id is None:
            return
        counts = {
            no: data.draw(st.integers(0, authorized))
            for no, authorized, _ in self._rma_lines(rma_id)
        }
        at = self._tick()
        self._run(
            lambda uow: returns.receive(
                uow, rma_id, counts, parcel_weight_g=weight, at=at
            ),
            "receive",
        )

    @precondition(lambda m: bool(m._rmas("received")))
    @rule(data=st.data())
    def inspect(self, data: st.DataObject) -> None:
        rma_id = self._pick(data, self._rmas("received"))
        if rma_id is None:
            return
        grades = []
        for no, _, received in self._rma_lines(rma_id):
            left = received
            while left:
                quantity = data.draw(st.integers(1, left))
                grades.append(
                    returns.Grade(no, data.draw(st.sampled_from(CONDITIONS)), quantity)
                )
                left -= quantity
        at = self._tick()
        self._run(lambda uow: returns.inspect(uow, rma_id, grades, at=at), "inspect")

    @precondition(lambda m: m._has_live_rma())
    @rule(
        data=st.data(),
        early=st.booleans(),
        shipping=st.sampled_from((None, True, False)),
        fee=st.sampled_from((None, returns.NO_FEE)),
    )
    def refund(
        self,
        data: st.DataObject,
        early: bool,
        shipping: bool | None,
        fee: returns.RestockingFee | None,
    ) -> None:
        live = [
            rma_id
            for status in ("authorized", "received", "inspected")
            for rma_id in self._rmas(status)
        ]
        rma_id = self._pick(data, live)
        if rma_id is None:
            return
        at = self._tick()
        self._run(
            lambda uow: returns.request_refund(
                uow,
                rma_id,
                release_reason="trusted" if early else None,
                refund_shipping=shipping,
                fee=fee,
                at=at,
            ),
            "refund",
        )

    @precondition(lambda m: bool(m._refunds("waiting")))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        refund_id = self._pick(data, self._refunds("waiting"))
        if refund_id is None:
            return
        at = self._tick()
        self._run(
            lambda uow: returns.release_refund(uow, refund_id, "asked", at=at),
            "release",
        )

    @precondition(lambda m: bool(m._refunds("issued")))
    @rule(data=st.data(), via=st.sampled_from(("channel", "bank")))
    def pay(self, data: st.DataObject, via: str) -> None:
        refund_id = self._pick(data, self._refunds("issued"))
        if refund_id is None:
            return
        at = self._tick()
        self._run(lambda uow: returns.pay_refund(uow, refund_id, via, at=at), "pay")

    @precondition(lambda m: m._has_shipped())
    @rule(
        data=st.data(),
        mode=st.sampled_from(("lines", "less", "shipping", "over")),
    )
    def channel_refund(self, data: st.DataObject, mode: str) -> None:
        shipped = self._query(
            select(
                OrderLine.order_id,
                OrderLine.line_no,
                OrderLine.quantity_shipped,
                OrderLine.list_amount,
                OrderLine.quantity,
            )
            .where(OrderLine.quantity_shipped > 0)
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        picked = self._pick(data, shipped)
        if picked is None:
            return
        order_id, no, qty, list_amount, quantity = picked
        units = data.draw(st.integers(1, qty))
        unit = list_amount // quantity
        amount = {
            "lines": unit * units,
            "less": unit * units // 2,
            "shipping": unit * units + 200,
            "over": list_amount * 3 + 10_000,
        }[mode]
        self.counter += 1
        at = self._tick()
        self._run(
            lambda uow: returns.record_channel_refund(
                uow, order_id, {no: units}, amount, at, f"ch-{self.counter}"
            ),
            "channel_refund",
        )

    @precondition(lambda m: m._has_quarantine())
    @rule(
        data=st.data(),
        action=st.sampled_from(DISPOSITIONS),
        extra=st.integers(0, 1),
    )
    def dispose(self, data: st.DataObject, action: str, extra: int) -> None:
        waiting = self._query(
            select(ReturnLine.rma_id, ReturnLine.line_no, ReturnLine.quantity_accepted)
            .where(ReturnLine.quantity_accepted > 0)
            .order_by(ReturnLine.id)
        )
        picked = self._pick(data, waiting)
        if picked is None:
            return
        rma_id, line_no, accepted = picked
        quantity = data.draw(st.integers(1, accepted)) + extra
        at = self._tick()
        self._run(
            lambda uow: returns.dispose(uow, rma_id, line_no, quantity, action, at=at),
            "dispose",
        )

    @precondition(lambda m: bool(m._rmas("authorized")))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        rma_id = self._pick(data, self._rmas("authorized"))
        if rma_id is None:
            return
        self._run(
            lambda uow: returns.cancel_authorization(uow, rma_id, "changed mind"),
            "cancel",
        )

    @invariant()
    def rules_hold(self) -> None:
        if not hasattr(self, "engine"):
            return
        with UnitOfWork(self.engine, write=False) as uow:
            session = uow.session
            assert [v.message for v in run_checks(session)] == []
            assert [v.message for v in returns.check_refund_limits(session)] == []
            quarantine = dict(
                session.execute(
                    select(StockLevel.variant_id, StockLevel.on_hand)
                    .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                    .where(Warehouse.is_quarantine.is_(True))
                ).all()
            )
            waiting = dict(
                session.execute(
                    select(
                        ReturnLine.variant_id,
                        func.sum(
                            ReturnLine.quantity_accepted
                            - ReturnLine.quantity_restocked
                            - ReturnLine.quantity_disposed
                            - ReturnLine.quantity_to_supplier
                        ),
                    ).group_by(ReturnLine.variant_id)
                ).all()
            )
            for variant_id in set(quarantine) | set(waiting):
                assert quarantine.get(variant_id, 0) == waiting.get(variant_id, 0)
            refunded = session.execute(
                select(ReturnLine.quantity_refunded, ReturnLine.quantity).join(
                    ReturnAuthorization, ReturnAuthorization.id == ReturnLine.rma_id
                )
            ).all()
            for done, authorized in refunded:
                assert 0 <= done <= authorized
            totals = session.scalars(select(ReturnRefund.total)).all()
            assert all(total >= 0 for total in totals)


TestReturns = ReturnsMachine.TestCase
