"""Discount codes: kinds, limits and how the discount is spread over lines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.core import discounts
from app.core.exceptions import ValidationError
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.uow import UnitOfWork
from tests.helpers import NOON, add_sku, capture, load_order

EXPORT = Address(name="Bo", country="US", region="NY")  # no tax: figures stay simple


def _code(engine, code: str, kind: str, value: str | int = 0, **limits: object) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        discounts.create_code(uow, code, kind, value, **limits)  # type: ignore[arg-type]
        uow.commit()


def _order(
    engine,
    codes: list[str],
    *,
    customer: str = "c1",
    shipping: str = "4.00",  # type: ignore[no-untyped-def]
    lines: list[LineInput] | None = None,
):
    return capture(
        engine,
        OrderInput(
            channel="Manual",
            placed_at=NOON,
            ship_to=EXPORT,
            customer=CustomerInput(email=f"{customer}@example.test", name=customer),
            lines=lines or [LineInput("MUG", 1, "30.00"), LineInput("TEA", 2, "5.00")],
            shipping=shipping,
            discount_codes=codes,
        ),
    )


@pytest.fixture
def stocked(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 50, 100)
    add_sku(shop, "TEA", 50, 100)
    return shop


def test_percent_code_spread_by_line_totals(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "TEN", "percent", 10)
    order = load_order(stocked, _order(stocked, ["ten"]).order_id)
    # Subtotal 4000, 10 % = 400 split 3000:1000 -> 300 and 100.
    assert [line.discount_amount for line in order.lines] == [300, 100]
    assert order.total == 4000 - 400 + 400


def test_fixed_code_remainder_goes_to_largest_share(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "FIVE", "fixed", "3.33", currency="GBP")
    order = load_order(stocked, _order(stocked, ["FIVE"]).order_id)
    # 333 x 3000/4000 = 249.75 and 333 x 1000/4000 = 83.25: 249 + 83 = 332, the
    # missing unit goes to the larger remainder.
    assert [line.discount_amount for line in order.lines] == [250, 83]


def test_free_shipping_code(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "SHIPFREE", "free_shipping")
    order = load_order(stocked, _order(stocked, ["SHIPFREE"]).order_id)
    assert order.shipping_discount == 400
    assert order.total == 4000


def test_minimum_subtotal_enforced(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "BIG", "percent", 5, min_subtotal=5000)
    with pytest.raises(ValidationError, match="at least 5000"):
        _order(stocked, ["BIG"])


def test_validity_window(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "LATER", "percent", 5, starts_at=NOON + timedelta(days=1))
    _code(stocked, "GONE", "percent", 5, ends_at=NOON - timedelta(days=1))
    with pytest.raises(ValidationError, match="valid from"):
        _order(stocked, ["LATER"])
    with pytest.raises(ValidationError, match="expired"):
        _order(stocked, ["GONE"])


def test_total_usage_limit(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "ONCE", "percent", 5, usage_limit=1)
    _order(stocked, ["ONCE"], customer="a")
    with pytest.raises(ValidationError, match="limit of 1 uses"):
        _order(stocked, ["ONCE"], customer="b")


def test_per_customer_limit(stocked) -> None:  # type: ignore[no-untyped-def]
    _code(stocked, "WELCOME", "percent", 5, per_customer_limit=1)
    _order(stocked, ["WELCOME"], customer="a")
    _order(stocked, ["WELCOME"], customer="b")
    with pytest.raises(ValidationError, match="already used WELCOME 1 times"):
        _order(stocked, ["WELCOME"], customer="a")


def test_unknown_code_rejected(stocked) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="'NOPE' does not exist"):
        _order(stocked, ["NOPE"])


def test_bad_code_definitions_rejected(shop) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="0 to 100"):
        _code(shop, "HALF", "percent", Decimal("150"))
    with pytest.raises(ValidationError, match="needs a currency"):
        _code(shop, "FIX", "fixed", 5)
