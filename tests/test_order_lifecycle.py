"""Updates, partial shipments and cancellations after capture."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core import orders, shipments
from app.core.exceptions import InvalidTransition
from app.core.models import Invoice, JournalEntry, StockLevel
from app.core.order_input import Address, LineInput, OrderInput
from app.core.uow import UnitOfWork
from tests.helpers import (
    NOON,
    account_nets,
    add_channel,
    add_sku,
    capture,
    load_order,
    violations,
)

LONDON = Address(
    name="Ann", line1="1 High St", city="London", postcode="E1 6AN", country="GB"
)


def _order(engine, qty_a: int = 2, qty_b: int = 1) -> int:  # type: ignore[no-untyped-def]
    add_channel(engine, "Shop", "shopify", prices_include_tax=True, connected=True)
    add_sku(engine, "MUG", 10, 250)
    add_sku(engine, "TEA", 10, 300)
    return capture(
        engine,
        OrderInput(
            channel="Shop",
            external_id="1",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", qty_a, "6.00"), LineInput("TEA", qty_b, "12.00")],
        ),
    ).order_id


def _reserved(engine) -> int:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine, write=False) as uow:
        return sum(uow.session.scalars(select(StockLevel.reserved)))


def test_cancel_before_shipment_reverses_everything(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        orders.cancel_order(uow, order_id, reason="customer asked")
        uow.commit()
    assert account_nets(shop) == {"1200": 5500, "2000": -5500}
    assert _reserved(shop) == 0
    assert load_order(shop, order_id).status == "cancelled"
    with UnitOfWork(shop, write=False) as uow:
        kinds = uow.session.scalars(
            select(Invoice.display_number).order_by(Invoice.id)
        ).all()
        reversal = uow.session.scalar(
            select(JournalEntry).where(JournalEntry.reverses_id.is_not(None))
        )
    assert kinds == ["INV-000001", "CN-000001"]
    assert reversal is not None
    assert violations(shop) == []


def test_partial_shipment_recognises_its_share(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop, qty_a=3, qty_b=1)
    with UnitOfWork(shop) as uow:
        shipments.ship(uow, order_id, quantities={1: 1}, at=NOON)
        uow.commit()
    # Line 1: 3 x 6.00 = 1800 gross, VAT 300, net 1500; one unit recognises 500.
    nets = account_nets(shop)
    assert nets["4000"] == -500
    assert nets["5000"] == 250
    assert load_order(shop, order_id).status == "partially_shipped"
    with UnitOfWork(shop) as uow:
        shipments.ship(uow, order_id, at=NOON)
        uow.commit()
    nets = account_nets(shop)
    # Everything shipped: 1500 + 1000 (12.00 incl. 2.00 VAT) recognised.
    assert nets["4000"] == -2500
    assert "2300" not in nets
    assert load_order(shop, order_id).status == "shipped"
    assert violations(shop) == []


def test_cancel_rest_after_partial_shipment(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop, qty_a=3)
    with UnitOfWork(shop) as uow:
        shipments.ship(uow, order_id, quantities={1: 2}, at=NOON)
        uow.commit()
    with UnitOfWork(shop) as uow:
        orders.cancel_order(uow, order_id, reason="out of stock")
        uow.commit()
    nets = account_nets(shop)
    # Kept: 2 of 3 mugs, 1200 gross = 1000 net + 200 VAT.
    assert nets["4000"] == -1000
    assert nets["2200"] == -200
    assert nets["1100"] == 1200
    assert "2300" not in nets
    assert _reserved(shop) == 0
    assert violations(shop) == []


def test_update_quantity_reverses_and_reposts(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        orders.update_order(
            uow, order_id, quantities={1: 4}, reason="customer added two"
        )
        uow.commit()
    order = load_order(shop, order_id)
    assert order.lines[0].quantity == 4
    assert order.total == 4 * 600 + 1200
    assert account_nets(shop)["1100"] == 3600
    assert _reserved(shop) == 5
    with UnitOfWork(shop, write=False) as uow:
        numbers = uow.session.scalars(
            select(Invoice.display_number).order_by(Invoice.id)
        ).all()
    assert numbers == ["INV-000001", "CN-000001", "INV-000002"]
    assert violations(shop) == []


def test_update_address_reprices_tax(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        orders.update_order(
            uow, order_id, ship_to=Address(name="Ann", country="US", region="NY")
        )
        uow.commit()
    # Prices include tax; an export to the US carries none, so the gross is all revenue.
    order = load_order(shop, order_id)
    assert order.tax_total == 0
    assert account_nets(shop).get("2200") is None


def test_update_after_shipment_rejected(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        shipments.ship(uow, order_id, quantities={1: 1}, at=NOON)
        uow.commit()
    with (
        pytest.raises(InvalidTransition, match="create a return"),
        UnitOfWork(shop) as uow,
    ):
        orders.update_order(uow, order_id, quantities={1: 5})


def test_ship_cancelled_order_rejected(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        orders.cancel_order(uow, order_id)
        uow.commit()
    with pytest.raises(InvalidTransition, match="cancelled"), UnitOfWork(shop) as uow:
        shipments.ship(uow, order_id)


def test_shipment_with_tracking_queues_message_and_label_cost(shop):  # type: ignore[no-untyped-def]
    order_id = _order(shop)
    with UnitOfWork(shop) as uow:
        shipments.ship(
            uow,
            order_id,
            at=NOON,
            info=shipments.ShipmentInfo(
                carrier="Royal Mail", tracking_number="RM123GB", label_cost=395
            ),
        )
        uow.commit()
    nets = account_nets(shop)
    assert nets["6200"] == 395
    from app.core.models import OutboxItem

    with UnitOfWork(shop, write=False) as uow:
        tracking = uow.session.scalar(
            select(OutboxItem).where(OutboxItem.kind == "tracking")
        )
    assert tracking is not None
    assert tracking.payload["tracking_number"] == "RM123GB"


def test_unit_by_unit_shipments_never_go_negative(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify")
    add_sku(shop, "PEG", 10, 1)
    result = capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="P",
            placed_at=NOON,
            ship_to=Address(country="US", region="NY"),
            lines=[LineInput("PEG", 4, "0.005")],
        ),
    )
    # 4 x 0.005 = 0.02: two pence over four units ship as 1, 0, 1, 0 (cumulative
    # 0.5 -> 1, 1.0 -> 1, 1.5 -> 2, 2).
    recognised = []
    for _ in range(4):
        with UnitOfWork(shop) as uow:
            shipments.ship(uow, result.order_id, quantities={1: 1}, at=NOON)
            uow.commit()
        recognised.append(-account_nets(shop).get("4000", 0))
    assert recognised == [1, 1, 2, 2]
    assert violations(shop) == []
