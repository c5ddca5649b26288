"""Stock and tracking out: the outbox drained into Shopify and WooCommerce fakes.

Both channels list MUG-RED and MUG-BLUE with 500 units, as does the shop.
The first ``run_once`` links the listings and sends the starting figures;
each test then changes stock and checks what reached the fake channel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from app.core import shipments
from app.core.channels import status
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork
from app.sync.engine import SyncEngine
from app.sync.secrets import SecretStore
from app.sync.worker import SyncWorker
from tests.fakes.faults import FakeClock
from tests.fakes.shopify_server import ShopifyServer
from tests.fakes.woo_server import WooServer
from tests.helpers import violations
from tests.test_sync_helpers import (
    SHOPIFY,
    TOKEN,
    WOO,
    WOO_KEY,
    WOO_SECRET,
    MemoryKeyring,
    adjust,
    connect,
    make_sync,
    new_clock,
    orders_by_external,
    outbox,
    skus,
    store_secrets,
)

BATCH_PATH = "/wp-json/wc/v3/products/batch"
SET_QUANTITIES = "BackroomSetQuantities"


@dataclass
class World:
    engine: Engine
    clock: FakeClock
    shopify: ShopifyServer
    woo: WooServer
    sync: SyncEngine
    shopify_id: int
    woo_id: int

    def set_requests(self) -> list[dict[str, object]]:
        """Return the inventorySetQuantities inputs Shopify received, in order."""
        return [
            r.body["variables"]["input"]
            for r in self.shopify.requests_to("/admin/api/2026-07/graphql.json")
            if r.body and SET_QUANTITIES in r.body["query"]
        ]

    def woo_batches(self) -> list[list[dict[str, object]]]:
        return [r.body["update"] for r in self.woo.requests_to(BATCH_PATH, "POST")]

    def status_text(self, channel_id: int) -> str:
        with UnitOfWork(self.engine, write=False) as uow:
            return status.channel_status(uow.session, channel_id).text


@pytest.fixture
def world(make_shop) -> Iterator[World]:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "push", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", "MUG-BLUE", quantity=500)
    clock = new_clock()
    store = SecretStore(MemoryKeyring(), environ={})
    store_secrets(store)
    with (
        ShopifyServer(token=TOKEN, clock=clock, seed=False) as shopify,
        WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as woo,
    ):
        for sku in ("MUG-RED", "MUG-BLUE"):
            shopify.add_variant(sku, available=500)
            woo.add_product(sku, stock_quantity=500)
        shopify_id = connect(engine, SHOPIFY, "shopify", shopify.url, clock)
        woo_id = connect(engine, WOO, "woocommerce", woo.url, clock)
        sync = make_sync(engine, clock, secrets=store)
        sync.run_once()
        yield World(engine, clock, shopify, woo, sync, shopify_id, woo_id)


def test_starting_figures_sent_on_first_sync(world: World) -> None:
    assert world.shopify.level("MUG-RED") == 500
    assert world.woo.stock_of("MUG-BLUE") == 500
    assert world.status_text(world.shopify_id) == "up to date"
    assert world.status_text(world.woo_id) == "up to date"
    assert violations(world.engine) == []


def test_three_changes_coalesce_into_one_push(world: World) -> None:
    before = len(world.set_requests())
    adjust(world.engine, "MUG-RED", -1)
    adjust(world.engine, "MUG-RED", -1)
    adjust(world.engine, "MUG-RED", -1)

    (config,) = world.sync.configs(SHOPIFY)
    report = world.sync.push(config)

    sent = world.set_requests()[before:]
    rows = outbox(world.engine, world.shopify_id)[-3:]
    assert report.sent == 1
    assert len(sent) == 1
    assert [q["quantity"] for q in sent[0]["quantities"]] == [497]
    assert [q["changeFromQuantity"] for q in sent[0]["quantities"]] == [500]
    assert [r.status for r in rows] == ["superseded", "superseded", "sent"]
    assert world.shopify.level("MUG-RED") == 497


def test_stale_change_from_repolls_then_pushes(world: World) -> None:
    # The channel sells one unit after Backroom's last look; Backroom then
    # receives five. Setting 505 "from 500" is refused (the channel shows
    # 499), so the engine reads the sale and sets 504 from 499.
    world.clock.advance(30)
    sale = world.shopify.sell("MUG-RED", 1)
    adjust(world.engine, "MUG-RED", 5)
    before = len(world.set_requests())

    (config,) = world.sync.configs(SHOPIFY)
    report = world.sync.push(config)

    sent = world.set_requests()[before:]
    assert report.stale == 1
    assert [
        (q["quantity"], q["changeFromQuantity"]) for s in sent for q in s["quantities"]
    ] == [
        (505, 500),
        (504, 499),
    ]
    assert sale["legacyResourceId"] in orders_by_external(world.engine)
    assert world.shopify.level("MUG-RED") == 504
    assert violations(world.engine) == []


def test_figure_changed_in_channel_admin_is_overwritten(world: World) -> None:
    # Someone typed 480 into Shopify's admin: no order explains it, so after
    # walking the orders the engine starts from 480 and sets Backroom's 501.
    variant = world.shopify.variant_by_sku("MUG-BLUE")
    location = next(iter(world.shopify.locations))
    world.shopify.levels[(variant["inventoryItem"]["id"], location)]["available"] = 480
    adjust(world.engine, "MUG-BLUE", 1)

    (config,) = world.sync.configs(SHOPIFY)
    world.sync.push(config)

    assert world.shopify.level("MUG-BLUE") == 501


def test_channel_sale_not_pushed_back_to_its_channel(world: World) -> None:
    world.clock.advance(30)
    world.woo.sell("MUG-RED", 2)
    woo_batches = len(world.woo_batches())

    world.clock.advance(60)
    world.sync.run_once()

    rows = outbox(world.engine, world.woo_id)
    assert rows[-1].status == "origin"
    assert rows[-1].quantity == 498
    assert len(world.woo_batches()) == woo_batches
    assert world.woo.stock_of("MUG-RED") == 498
    assert world.shopify.level("MUG-RED") == 498
    assert violations(world.engine) == []


def test_unknown_product_parked_while_other_skus_flow(world: World) -> None:
    red = next(p for p in world.woo.products.values() if p["sku"] == "MUG-RED")
    del world.woo.products[red["id"]]
    adjust(world.engine, "MUG-RED", -1)
    adjust(world.engine, "MUG-BLUE", -1)

    (config,) = world.sync.configs(WOO)
    report = world.sync.push(config)

    red_row, blue_row = outbox(world.engine, world.woo_id)[-2:]
    assert report.parked == 1
    assert red_row.status == "parked"
    assert "woocommerce_rest_product_invalid_id" in (red_row.last_error or "")
    assert blue_row.status == "sent"
    assert world.woo.stock_of("MUG-BLUE") == 499
    assert "1 parked" in world.status_text(world.woo_id)


def test_failing_row_parked_after_eight_attempts_others_flow(world: World) -> None:
    world.woo.faults.status(503, path=BATCH_PATH, times=1000)
    adjust(world.engine, "MUG-RED", -1)
    attempts = []

    for _step in range(8):
        world.clock.advance(7200)
        world.sync.step(WOO)
        red_rows = [r for r in outbox(world.engine, world.woo_id) if r.sku == "MUG-RED"]
        attempts.append(red_rows[-1].attempts)
        adjust(world.engine, "MUG-BLUE", -1)
        world.sync.step(SHOPIFY)

    red = [r for r in outbox(world.engine, world.woo_id) if r.sku == "MUG-RED"][-1]
    assert attempts == [1, 2, 3, 4, 5, 6, 7, 8]
    assert red.status == "parked"
    assert "HTTP 503" in (red.last_error or "")
    assert world.shopify.level("MUG-BLUE") == 492
    assert world.shopify.level("MUG-RED") == 499
    assert "1 parked" in world.status_text(world.woo_id)


def test_long_retry_after_sets_next_attempt(world: World) -> None:
    world.woo.faults.status(429, retry_after="300", path=BATCH_PATH)
    adjust(world.engine, "MUG-RED", -1)
    (config,) = world.sync.configs(WOO)

    first = world.sync.push(config)
    row = outbox(world.engine, world.woo_id)[-1]
    waited = (row.next_attempt_at - world.clock.now()).total_seconds()  # type: ignore[operator]
    world.clock.advance(100)
    early = world.sync.step(WOO)
    world.clock.advance(250)
    world.sync.step(WOO)

    assert first.retried == 1
    assert waited >= 300
    assert early > 0
    assert world.woo.stock_of("MUG-RED") == 499
    assert outbox(world.engine, world.woo_id)[-1].status == "sent"


def test_offline_queue_waits_then_drains(world: World) -> None:
    world.woo.stop()
    adjust(world.engine, "MUG-RED", -1)
    adjust(world.engine, "MUG-BLUE", -1)
    adjust(world.engine, "MUG-BLUE", -1)

    world.clock.advance(120)
    world.sync.step(WOO)
    offline = world.status_text(world.woo_id)
    rows = outbox(world.engine, world.woo_id)[-3:]
    world.woo.start()
    world.clock.advance(600)
    world.sync.step(WOO)

    assert offline == "offline, 2 changes waiting"
    assert [r.attempts for r in rows] == [0, 0, 0]
    assert world.woo.stock_of("MUG-RED") == 499
    assert world.woo.stock_of("MUG-BLUE") == 498
    assert world.status_text(world.woo_id) == "up to date"


def test_tracking_sent_as_fulfillment_and_woo_completion(world: World) -> None:
    shop_order = world.shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 1, "price": "10.00"}],
        created_at=world.clock.now() - timedelta(seconds=30),
    )
    woo_order = world.woo.add_order(
        [{"sku": "MUG-BLUE", "quantity": 1, "price": "10.00"}],
        created_at=world.clock.now() - timedelta(seconds=30),
    )
    world.clock.advance(60)
    world.sync.run_once()
    local = orders_by_external(world.engine)
    for external_id, number in (
        (shop_order["legacyResourceId"], "1Z999AA10123456784"),
        (str(woo_order["id"]), "9400111899223334445566"),
    ):
        with UnitOfWork(world.engine) as uow:
            shipments.ship(
                uow,
                local[external_id].id,
                info=ShipmentInfo("UPS", tracking_number=number),
            )
            uow.commit()

    world.sync.run_once()

    (fulfillment,) = shop_order["fulfillments"]
    assert fulfillment["trackingInfo"][0]["number"] == "1Z999AA10123456784"
    assert fulfillment["trackingInfo"][0]["company"] == "UPS"
    assert world.woo.orders[woo_order["id"]]["status"] == "completed"
    (note,) = world.woo.notes[woo_order["id"]]
    assert "9400111899223334445566" in note["note"]
    assert [r.status for r in outbox(world.engine, world.shopify_id, "tracking")] == [
        "sent"
    ]


def test_worker_thread_pushes_and_stops(world: World) -> None:
    worker = SyncWorker(world.sync, channel=SHOPIFY)
    worker.start()
    adjust(world.engine, "MUG-RED", -3)
    worker.wake()
    deadline = time.monotonic() + 20
    while world.shopify.level("MUG-RED") != 497 and time.monotonic() < deadline:
        time.sleep(0.05)

    stopped = worker.stop()

    assert world.shopify.level("MUG-RED") == 497
    assert stopped is True
    assert worker.running is False
