"""Settings cached across transactions never outlive a change to them.

Two engines on one file stand in for two processes: each keeps its own
cache, and learns of the other's changes only through the shop's settings
version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from app.core import catalog, db, ledger, orders, setup
from app.core.channels import buffers
from app.core.exceptions import PeriodClosed
from app.core.fulfillment import rules
from app.core.models import Channel, OutboxItem, Shop, TaxRule
from app.core.order_input import Address, LineInput, OrderInput
from app.core.tax import TaxRate
from app.core.uow import UnitOfWork
from tests.helpers import NOON, add_channel, add_sku, capture, load_order

LONDON = Address(name="A Buyer", country="GB", postcode="SW1A 1AA")


def second_engine(engine: Engine) -> Engine:
    """Open the same file again, as another process would."""
    return db.make_engine(engine.url.database)


def order(number: int, sku: str = "MUG", at: datetime = NOON) -> OrderInput:
    return OrderInput(
        channel="Shop",
        external_id=str(number),
        placed_at=at,
        ship_to=LONDON,
        lines=[LineInput(sku, 1, "12.00")],
    )


def replace_gb_vat(uow: UnitOfWork, rate: str, name: str) -> None:
    setup.import_tax_rates(
        uow, [TaxRate("GB", None, None, None, Decimal(rate), name)], replace=True
    )


def version(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(Shop.settings_version)) or 0)


@pytest.fixture
def pair(shop: Engine) -> tuple[Engine, Engine]:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_channel(shop, "Market", "woocommerce", connected=True)
    add_sku(shop, "MUG", 50, 250)
    other = second_engine(shop)
    yield shop, other
    other.dispose()


def test_tax_rule_changed_elsewhere_applies_to_next_order(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    first = capture(engine, order(1))
    assert load_order(engine, first.order_id).tax_total == 200  # 20 % inside 12.00

    with UnitOfWork(other) as uow:
        replace_gb_vat(uow, "5", "Reduced VAT")
        uow.commit()

    second = capture(engine, order(2))
    # 12.00 includes 5 % VAT: 1200 * 5 / 105 = 57.14, rounded to 57.
    assert load_order(engine, second.order_id).tax_total == 57


def test_period_closed_elsewhere_refuses_next_posting(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    capture(engine, order(1))
    with UnitOfWork(other) as uow:
        ledger.close_period(uow, NOON.year, NOON.month)
        uow.commit()

    with pytest.raises(PeriodClosed):
        capture(engine, order(2))


def test_buffer_set_elsewhere_shapes_next_queued_figure(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    capture(engine, order(1))
    with UnitOfWork(other) as uow:
        buffers.set_buffer(uow, "Market", "MUG", "units", units=10)
        uow.commit()

    capture(engine, order(2))
    with UnitOfWork(engine, write=False) as uow:
        newest = uow.session.scalars(
            select(OutboxItem)
            .where(OutboxItem.sku == "MUG", OutboxItem.kind == "stock")
            .order_by(OutboxItem.id.desc())
        ).first()
    assert newest is not None
    # 50 received, 2 sold: 48 available, 10 held back for the Market.
    assert newest.quantity == 38


def test_warehouse_excluded_elsewhere_is_not_routed_to(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    with UnitOfWork(engine) as uow:
        setup_warehouse(uow, "NORTH")
        rules.set_priority_order(uow, ["MAIN", "NORTH"])
        uow.commit()
    add_sku(engine, "MUG", 50, 250, warehouse="NORTH")
    with UnitOfWork(engine, write=False) as uow:
        main = catalog.get_warehouse(uow.session, "MAIN").id
        north = catalog.get_warehouse(uow.session, "NORTH").id
    first = capture(engine, order(1))
    assert load_order(engine, first.order_id).warehouse_id == main
    with UnitOfWork(other) as uow:
        rules.add_rule(uow, "exclude", "MAIN")
        uow.commit()

    # Without the exclusion MAIN would win again: it comes first by priority.
    second = capture(engine, order(2))
    assert load_order(engine, second.order_id).warehouse_id == north


def setup_warehouse(uow: UnitOfWork, code: str) -> None:
    catalog.create_warehouse(uow, code, f"{code.title()} store", country="GB")


def test_rolled_back_change_is_never_reused(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    capture(engine, order(1))
    with UnitOfWork(engine) as uow:
        replace_gb_vat(uow, "50", "Wrong VAT")
        uow.rollback()
    # Another writer commits a different change, so the version moves on
    # from the number the rolled-back transaction saw.
    with UnitOfWork(other) as uow:
        replace_gb_vat(uow, "5", "Reduced VAT")
        uow.commit()

    result = capture(engine, order(2))
    assert load_order(engine, result.order_id).tax_total == 57


def test_change_is_seen_in_its_own_transaction(pair) -> None:  # type: ignore[no-untyped-def]
    engine, _ = pair
    capture(engine, order(1))
    with UnitOfWork(engine) as uow:
        replace_gb_vat(uow, "5", "Reduced VAT")
        result = orders.capture(uow, order(2))
        uow.commit()
    assert load_order(engine, result.order_id).tax_total == 57


def test_only_settings_changes_raise_the_version(pair) -> None:  # type: ignore[no-untyped-def]
    engine, _ = pair
    before = version(engine)
    capture(engine, order(1))
    capture(engine, order(2))
    assert version(engine) == before

    with UnitOfWork(engine) as uow:
        uow.session.add(
            TaxRule(country="FR", rate=Decimal("20"), name="TVA", source="test")
        )
        uow.commit()
    after_add = version(engine)
    assert after_add > before

    with UnitOfWork(engine) as uow:
        setup.import_tax_rates(
            uow, [TaxRate("FR", None, None, None, Decimal("10"), "TVA")], replace=True
        )
        uow.commit()
    # A bulk delete raises it too.
    assert version(engine) > after_add


def test_two_writers_each_raise_the_version(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    before = version(engine)
    for target, rate in ((engine, "7"), (other, "8"), (engine, "9")):
        with UnitOfWork(target) as uow:
            uow.session.add(
                TaxRule(country="FR", rate=Decimal(rate), name="TVA", source="test")
            )
            uow.commit()
    assert version(engine) == version(other) == before + 3


def test_long_session_sees_changes_between_transactions(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    with UnitOfWork(engine) as uow:
        orders.capture(uow, order(1))
        uow.commit()
        with UnitOfWork(other) as elsewhere:
            ledger.close_period(elsewhere, NOON.year, NOON.month)
            elsewhere.commit()
        with pytest.raises(PeriodClosed):
            orders.capture(uow, order(2, at=datetime(2026, 6, 20, tzinfo=UTC)))


def test_session_reused_after_commit_sees_closed_month(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    with UnitOfWork(engine) as uow:
        uow.commit()
        ledger.ensure_open(uow.session, NOON.date())
        uow.commit()
        with UnitOfWork(other) as elsewhere:
            ledger.close_period(elsewhere, NOON.year, NOON.month)
            elsewhere.commit()
        with pytest.raises(PeriodClosed):
            ledger.ensure_open(uow.session, NOON.date())


def test_session_reused_after_commit_queues_new_channel(pair) -> None:  # type: ignore[no-untyped-def]
    engine, other = pair
    with UnitOfWork(engine) as uow:
        orders.capture(uow, order(1))
        uow.commit()
        with UnitOfWork(other) as elsewhere:
            setup.add_channel(elsewhere, "Stall", "woocommerce", connected=True)
            elsewhere.commit()
        orders.capture(uow, order(2))
        uow.commit()
    with UnitOfWork(engine, write=False) as uow:
        queued_for = set(
            uow.session.scalars(
                select(Channel.name)
                .join(OutboxItem, OutboxItem.channel_id == Channel.id)
                .where(OutboxItem.sku == "MUG")
            )
        )
    assert "Stall" in queued_for


def test_settings_change_undone_by_savepoint_is_dropped(pair) -> None:  # type: ignore[no-untyped-def]
    engine, _ = pair
    with UnitOfWork(engine) as uow:
        orders.capture(uow, order(1))
        savepoint = uow.session.begin_nested()
        replace_gb_vat(uow, "50", "Wrong VAT")
        orders.capture(uow, order(2))
        savepoint.rollback()
        result = orders.capture(uow, order(3))
        uow.commit()
    assert load_order(engine, result.order_id).tax_total == 200
