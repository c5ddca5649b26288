"""Buffers: what each channel is shown, pushed to a real Shopify fake.

The shop holds 20 units of MUG-RED; Shopify and WooCommerce are connected,
each polled every 60 seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from app.core.channels import accounts, buffers
from app.core.models import Channel
from app.core.order_input import Address, LineInput, OrderInput
from app.core.uow import UnitOfWork
from app.sync.engine import SyncEngine
from app.sync.secrets import SecretStore
from tests.fakes.faults import FakeClock
from tests.fakes.shopify_server import ShopifyServer
from tests.helpers import capture, violations
from tests.test_sync_helpers import (
    SHOPIFY,
    TOKEN,
    WOO,
    MemoryKeyring,
    adjust,
    connect,
    make_sync,
    new_clock,
    outbox,
    skus,
    store_secrets,
)


@dataclass
class Shop:
    engine: Engine
    clock: FakeClock
    shopify: ShopifyServer
    sync: SyncEngine
    shopify_id: int

    def push(self) -> None:
        (config,) = self.sync.configs(SHOPIFY)
        self.sync.push(config)

    def shown(self, channel: str = SHOPIFY, sku: str = "MUG-RED") -> int:
        from app.core.catalog import get_variant
        from app.core.outbox import sellable_available

        with UnitOfWork(self.engine, write=False) as uow:
            session = uow.session
            found = accounts.get_channel(session, channel)
            variant = get_variant(session, sku)
            return buffers.visible_quantity(
                session, found, variant.id, sellable_available(session, variant.id)
            )


@pytest.fixture
def shop(make_shop) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "buffers", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", quantity=20)
    clock = new_clock()
    store = SecretStore(MemoryKeyring(), environ={})
    store_secrets(store, woo=False)
    with ShopifyServer(token=TOKEN, clock=clock, seed=False) as shopify:
        shopify.add_variant("MUG-RED", available=20)
        shopify_id = connect(engine, SHOPIFY, "shopify", shopify.url, clock)
        # A WooCommerce channel that is never reached: its polling interval
        # counts in the automatic buffer's exposure window.
        connect(engine, WOO, "woocommerce", "http://127.0.0.1:9", clock)
        sync = make_sync(engine, clock, secrets=store)
        sync.run_once(SHOPIFY)
        yield Shop(engine, clock, shopify, sync, shopify_id)


def set_rule(shop: Shop, sku: str | None, mode: str, **values: object) -> None:
    with UnitOfWork(shop.engine) as uow:
        buffers.set_buffer(uow, SHOPIFY, sku, mode, now=shop.clock.now(), **values)  # type: ignore[arg-type]
        uow.commit()


# --- the model ----------------------------------------------------------------


def test_auto_buffer_worked_examples() -> None:
    # λ = 2 units/h, T = 60 s + 30 s: μ = 0.05. P(N > 0) = 0.0488 is not
    # under 1 %, P(N > 1) = 1 - e^-0.05 (1 + 0.05) = 0.0012 is: b = 1.
    assert buffers.auto_buffer(2, 90, 0.01) == 1
    # λ = 10 units/h: μ = 0.25. P(N > 1) = 1 - e^-0.25 (1.25) = 0.0265,
    # P(N > 2) = 1 - e^-0.25 (1 + 0.25 + 0.03125) = 0.0022: b = 2.
    assert buffers.auto_buffer(10, 90, 0.01) == 2
    # At a 5 % target the first case needs no buffer: 0.0488 < 0.05.
    assert buffers.auto_buffer(2, 90, 0.05) == 0
    assert buffers.auto_buffer(0, 90, 0.01) == 0


def test_auto_buffer_large_mean_does_not_underflow() -> None:
    # μ = 1000: the 1 % tail of a Poisson(1000) starts near 1000 + 2.33 x 31.6.
    b = buffers.auto_buffer(40_000, 90, 0.01)

    assert 1070 <= b <= 1080


# --- rules pushed to the channel ----------------------------------------------------


def test_fixed_units_buffer_pushed(shop: Shop) -> None:
    set_rule(shop, "MUG-RED", "units", units=3)
    queued = outbox(shop.engine, shop.shopify_id)[-1]

    shop.push()

    assert queued.quantity == 17
    assert shop.shopify.level("MUG-RED") == 17
    assert violations(shop.engine) == []


def test_percent_buffer_rounds_half_up(shop: Shop) -> None:
    adjust(shop.engine, "MUG-RED", 5)  # 25 available
    set_rule(shop, "MUG-RED", "percent", percent=Decimal("10"))

    shop.push()

    # 10 % of 25 is 2.5 units, held back as 3: the channel sees 22.
    assert shop.shown() == 22
    assert shop.shopify.level("MUG-RED") == 22
    assert violations(shop.engine) == []


def test_keep_last_shows_zero_at_or_below_n(shop: Shop) -> None:
    set_rule(shop, "MUG-RED", "keep_last", units=3)
    adjust(shop.engine, "MUG-RED", -16)  # 4 available
    shop.push()
    at_four = shop.shopify.level("MUG-RED")

    adjust(shop.engine, "MUG-RED", -1)  # 3 available
    shop.push()

    assert at_four == 4
    assert shop.shopify.level("MUG-RED") == 0
    assert violations(shop.engine) == []


def test_sku_rule_overrides_channel_rule(shop: Shop) -> None:
    set_rule(shop, None, "units", units=5)
    set_rule(shop, "MUG-RED", "units", units=1)

    assert shop.shown() == 19


def test_clearing_a_rule_restores_channel_default(shop: Shop) -> None:
    set_rule(shop, "MUG-RED", "units", units=4)
    with UnitOfWork(shop.engine) as uow:
        buffers.clear_buffer(uow, SHOPIFY, "MUG-RED")
        uow.commit()

    shop.push()

    assert shop.shopify.level("MUG-RED") == 20
    assert violations(shop.engine) == []


def test_auto_buffer_sized_from_sales_elsewhere(shop: Shop) -> None:
    # 48 units sold on WooCommerce over the last 24 hours: 2 units an hour.
    # Shopify hears of them within T = 60 s (WooCommerce's polling) + 30 s
    # (push delay), so b = 1 (see the worked example); WooCommerce itself
    # sold nothing elsewhere and needs none.
    adjust(shop.engine, "MUG-RED", 100)
    now = shop.clock.now()
    for number in range(48):
        capture(
            shop.engine,
            OrderInput(
                channel=WOO,
                external_id=f"W{number}",
                placed_at=now - timedelta(hours=24) + timedelta(minutes=30 * number),
                lines=[LineInput("MUG-RED", 1, "10.00", channel_tax=())],
                ship_to=Address(name="Sam", country="US", region="OR"),
            ),
        )
    set_rule(shop, None, "auto")
    with UnitOfWork(shop.engine, write=False) as uow:
        (rule,) = buffers.buffers(uow.session, shop.shopify_id)
        woo = uow.session.get(Channel, accounts.get_channel(uow.session, WOO).id)
        assert woo is not None
        exposure = buffers.exposure_seconds(uow.session, woo)

    shop.push()

    assert rule.mode == "auto"
    assert rule.auto_units == 1
    assert exposure == 90
    assert shop.shown() == 71  # 120 - 48 sold = 72 available, less 1
    assert shop.shopify.level("MUG-RED") == 71
    assert violations(shop.engine) == []


def test_auto_rate_measured_per_hour(shop: Shop) -> None:
    now = shop.clock.now()
    for number in range(6):
        capture(
            shop.engine,
            OrderInput(
                channel=WOO,
                external_id=f"R{number}",
                placed_at=now - timedelta(hours=3) + timedelta(minutes=30 * number),
                lines=[LineInput("MUG-RED", 1, "10.00", channel_tax=())],
                ship_to=Address(name="Sam", country="US", region="OR"),
            ),
        )
    from app.core.catalog import get_variant

    with UnitOfWork(shop.engine, write=False) as uow:
        variant = get_variant(uow.session, "MUG-RED")
        rate = buffers.sales_rate(
            uow.session,
            variant.id,
            exclude_channel_id=shop.shopify_id,
            now=now,
            days=28,
        )
        own = buffers.sales_rate(
            uow.session,
            variant.id,
            exclude_channel_id=accounts.get_channel(uow.session, WOO).id,
            now=now,
            days=28,
        )

    # Six units since the first order three hours ago: 2 units an hour.
    assert rate == Decimal("2")
    assert own == Decimal("0")
