"""Orders in: walking Shopify and WooCommerce fakes on 127.0.0.1 into capture.

Every test runs the real SyncEngine against real HTTP fakes. The engine, the
HTTP client's back-off and the fakes share one FakeClock, so a Retry-After of
seconds or a polling interval costs no real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from app.core import shipments
from app.core.channels import accounts, issues, listings
from app.core.models import Reservation, SalesOrder
from app.core.models.returns import ReturnRefund
from app.core.models.sync_ext import ChannelOrder
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork
from app.sync.secrets import SecretStore
from tests.conftest import shared_data
from tests.fakes.faults import FakeClock
from tests.fakes.shopify_server import GRAPHQL_PATH, ShopifyServer, iso, money_bag
from tests.fakes.woo_server import WooServer
from tests.test_sync_helpers import (
    SHOPIFY,
    TOKEN,
    WOO,
    WOO_KEY,
    WOO_SECRET,
    MemoryKeyring,
    connect,
    make_sync,
    new_clock,
    order_count,
    orders_by_external,
    skus,
    store_secrets,
)

ORDERS_PATH = "/wp-json/wc/v3/orders"


@pytest.fixture
def clock() -> FakeClock:
    return new_clock()


@pytest.fixture
def store() -> SecretStore:
    secrets = SecretStore(MemoryKeyring(), environ={})
    store_secrets(secrets)
    return secrets


@pytest.fixture
def usd_shop(make_shop) -> Engine:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "usd", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", "MUG-BLUE", "TEE-M", quantity=500)
    return engine


@pytest.fixture
def shopify(clock: FakeClock) -> Iterator[ShopifyServer]:
    with ShopifyServer(token=TOKEN, clock=clock, seed=False) as server:
        for sku in ("MUG-RED", "MUG-BLUE", "TEE-M"):
            server.add_variant(sku, available=500)
        yield server


@pytest.fixture
def woo(clock: FakeClock) -> Iterator[WooServer]:
    with WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as server:
        for sku in ("MUG-RED", "MUG-BLUE", "TEE-M"):
            server.add_product(sku, stock_quantity=500)
        yield server


def channel_row(engine: Engine, channel_id: int, external_id: str) -> ChannelOrder:
    with UnitOfWork(engine, write=False) as uow:
        row = uow.session.scalar(
            select(ChannelOrder).where(
                ChannelOrder.channel_id == channel_id,
                ChannelOrder.external_id == external_id,
            )
        )
        assert row is not None
        return row


def reserved(engine: Engine, order_id: int) -> int:
    with UnitOfWork(engine, write=False) as uow:
        order = uow.session.get(SalesOrder, order_id)
        assert order is not None
        line_ids = [line.id for line in order.lines]
        rows = uow.session.scalars(
            select(Reservation.quantity).where(Reservation.order_line_id.in_(line_ids))
        ).all()
        return sum(rows)


def open_issues(engine: Engine) -> list[issues.IssueView]:
    with UnitOfWork(engine, write=False) as uow:
        return issues.issues(uow.session)


# --- walking -------------------------------------------------------------------


def test_shopify_60_orders_over_many_pages_captured_once(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    created = shopify.generate_orders(60, ["MUG-RED", "MUG-BLUE", "TEE-M"])
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)

    (first,) = sync.run_once(SHOPIFY)
    (second,) = sync.run_once(SHOPIFY)

    pages = [r for r in shopify.cost_log if r.operation == "BackroomOrders"]
    assert len(pages) > 10
    assert first.poll is not None
    assert first.poll.captured == 60
    assert order_count(usd_shop) == 60
    captured = set(orders_by_external(usd_shop))
    assert captured == {o["legacyResourceId"] for o in created}
    assert second.poll is not None
    assert second.poll.captured == 0
    assert order_count(usd_shop) == 60


def test_cursor_is_walk_start_and_next_walk_overlaps(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    # The newest order is stamped an hour in the future (a channel clock
    # running ahead); the cursor must still be the moment the walk started.
    shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 1, "price": "9.00"}],
        created_at=clock.now() + timedelta(hours=1),
    )
    channel_id = connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    walk_started = clock.now()

    sync.run_once(SHOPIFY)
    clock.advance(60)
    sync.run_once(SHOPIFY)

    with UnitOfWork(usd_shop, write=False) as uow:
        config = accounts.channel_config(uow.session, channel_id)
    assert config.cursor == walk_started + timedelta(seconds=60)
    searches = [
        r.body["variables"]["query"]
        for r in shopify.requests_to(GRAPHQL_PATH)
        if r.body and "BackroomOrders" in r.body["query"]
    ]
    # Second walk: cursor (walk_started) less the 600 s overlap.
    expected = iso(walk_started - timedelta(seconds=600))
    assert searches[-1] == f"updated_at:>='{expected}'"


def test_same_order_on_two_pages_captured_once(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    woo.generate_orders(150, ["MUG-RED", "MUG-BLUE"])
    woo.faults.overlap(path=ORDERS_PATH, after=1)
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)

    (run,) = make_sync(usd_shop, clock, secrets=store).run_once(WOO)

    assert woo.faults.pending == 0
    assert run.poll is not None
    assert run.poll.seen == 150
    assert order_count(usd_shop) == 150


def test_retry_after_429_honoured_then_captured(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    woo.faults.status(429, retry_after="7", path=ORDERS_PATH)
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)

    make_sync(usd_shop, clock, secrets=store).run_once(WOO)

    assert 7.0 in clock.sleeps
    assert order_count(usd_shop) == 3


def test_server_errors_retried_then_captured(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    shopify.generate_orders(5, ["MUG-RED"])
    shopify.faults.status(500, path=GRAPHQL_PATH, times=2)
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)

    make_sync(usd_shop, clock, secrets=store).run_once(SHOPIFY)

    assert shopify.faults.pending == 0
    assert order_count(usd_shop) == 5


def test_read_timeout_retried_then_captured(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    woo.generate_orders(2, ["MUG-RED"])
    woo.faults.delay(0.8, path=ORDERS_PATH)  # real seconds, over the 0.3 s timeout
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store, http_timeout=(1.0, 0.3))

    sync.run_once(WOO)

    assert len(woo.requests_to(ORDERS_PATH)) == 2
    assert order_count(usd_shop) == 2


def test_malformed_json_fails_walk_and_keeps_cursor(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    woo.generate_orders(2, ["MUG-RED"])
    woo.faults.malformed(path=ORDERS_PATH)
    channel_id = connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)

    (config,) = sync.configs(WOO)

    failed = sync.poll(config)
    with UnitOfWork(usd_shop, write=False) as uow:
        cursor = accounts.channel_config(uow.session, channel_id).cursor
    clock.advance(3600)
    recovered = sync.poll(config)

    assert failed.status == "failed"
    assert "not valid JSON" in failed.message
    assert cursor is None
    assert order_count(usd_shop) == 2
    assert recovered.status == "ok"


# --- what capture receives ----------------------------------------------------


def test_shopify_tax_discount_and_shipping_captured(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    # 2 x 20.00 + 1 x 10.00 = 50.00 with a 5.00 code spread 4.00 / 1.00;
    # tax 8 % on the discounted lines: 36.00 -> 2.88 and 9.00 -> 0.72;
    # shipping 4.99; total 50.00 - 5.00 + 3.60 + 4.99 = 53.59.
    order = shopify.add_order(
        [
            {"sku": "MUG-RED", "quantity": 2, "price": "20.00", "tax_rate": "0.08"},
            {"sku": "MUG-BLUE", "quantity": 1, "price": "10.00", "tax_rate": "0.08"},
        ],
        discount_code="SPRING",
        discount_amount="5.00",
        shipping="4.99",
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)

    make_sync(usd_shop, clock, secrets=store).run_once(SHOPIFY)

    captured = orders_by_external(usd_shop)[order["legacyResourceId"]]
    red, blue = captured.lines
    assert captured.total == 5359
    assert captured.tax_source == "channel"
    assert (red.list_amount, red.discount_amount, red.tax_amount) == (4000, 400, 288)
    assert (blue.list_amount, blue.discount_amount, blue.tax_amount) == (1000, 100, 72)
    assert captured.shipping == 499
    assert captured.ship_country == "US"
    assert captured.ship_region == "NY"
    assert captured.prices_include_tax is False
    assert open_issues(usd_shop) == []


def test_woo_prices_including_tax_captured_gross(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    # WooCommerce reports 2 x 10.00 net with 2.00 tax (10 %); the store shows
    # prices with tax, so the order is captured at 11.00 gross per unit.
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 2, "price": "10.00", "tax_rate": "0.10"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    woo.edit_order(order["id"], prices_include_tax=True)
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)

    make_sync(usd_shop, clock, secrets=store).run_once(WOO)

    captured = orders_by_external(usd_shop)[str(order["id"])]
    (line,) = captured.lines
    assert captured.prices_include_tax is True
    assert line.unit_price == Decimal("11.0000")
    assert line.list_amount == 2200
    assert line.tax_amount == 200
    assert captured.total == 2200


def test_unknown_sku_holds_order_naming_it_until_mapped(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    woo.add_product("MUG-R", stock_quantity=5)
    order = woo.add_order(
        [
            {"sku": "MUG-R", "quantity": 2, "price": "9.00"},
            {"sku": "TEE-M", "quantity": 1, "price": "15.00"},
        ],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)

    (run,) = sync.run_once(WOO)
    held = orders_by_external(usd_shop)[str(order["id"])]
    (issue,) = open_issues(usd_shop)
    with UnitOfWork(usd_shop) as uow:
        mapped = listings.map_sku(uow, WOO, "MUG-R", "MUG-RED")
        uow.commit()
    released = orders_by_external(usd_shop)[str(order["id"])]

    assert run.poll is not None
    assert run.poll.held == 1
    assert held.status == "held"
    assert "'MUG-R'" in (held.hold_reason or "")
    assert [line.quantity for line in held.lines] == [2, 1]
    assert issue.kind == "unknown_sku"
    assert issue.sku == "MUG-R"
    assert "MUG-R" in issue.message
    assert mapped.released_orders == (released.id,)
    assert released.status == "open"
    assert released.lines[0].sku == "MUG-RED"
    assert reserved(usd_shop, released.id) == 3
    assert open_issues(usd_shop) == []


def test_foreign_currency_order_waits_for_a_rate(
    make_shop,
    woo: WooServer,
    clock: FakeClock,
    store: SecretStore,  # type: ignore[no-untyped-def]
) -> None:
    gbp: Engine = make_shop("gbp")
    skus(gbp, "MUG-RED", quantity=50)
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 1, "price": "12.50"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    channel_id = connect(gbp, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(gbp, clock, secrets=store)

    (first,) = sync.run_once(WOO)
    waiting = channel_row(gbp, channel_id, str(order["id"]))
    (issue,) = open_issues(gbp)
    with UnitOfWork(gbp) as uow:
        accounts.set_fx_rate(uow, WOO, "USD", "0.8")
        uow.commit()
    clock.advance(3600)
    sync.run_once(WOO)
    captured = orders_by_external(gbp)[str(order["id"])]

    assert first.poll is not None
    assert first.poll.waiting == 1
    assert waiting.status == "waiting"
    assert "USD" in (waiting.reason or "")
    assert "no GBP rate" in issue.message
    assert captured.currency == "USD"
    assert captured.fx_rate == Decimal("0.8")
    assert captured.total == 1250
    assert captured.total_shop == 1000
    assert open_issues(gbp) == []


def test_shopify_presentment_currency_uses_shop_money_rate(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    order = shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 2, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    # The customer paid 18.40 EUR; Shopify settled 20.00 USD for the shop.
    order["presentmentCurrencyCode"] = "EUR"
    euro = money_bag("18.40", "EUR")
    order["totalPriceSet"] = {
        "shopMoney": money_bag("20.00", "USD")["shopMoney"],
        "presentmentMoney": euro["presentmentMoney"],
    }
    line = order["lineItems"][0]
    line["originalUnitPriceSet"] = {
        "shopMoney": money_bag("10.00", "USD")["shopMoney"],
        "presentmentMoney": money_bag("9.20", "EUR")["presentmentMoney"],
    }
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)

    make_sync(usd_shop, clock, secrets=store).run_once(SHOPIFY)

    captured = orders_by_external(usd_shop)[order["legacyResourceId"]]
    # 20.00 / 18.40 = 1.08695652 USD per EUR, quantized to 8 places.
    assert captured.currency == "EUR"
    assert captured.fx_rate == Decimal("1.08695652")
    assert captured.total == 1840
    assert captured.total_shop == 2000


# --- changes after import -----------------------------------------------------


def test_shopify_quantity_edit_after_import_updates_order(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    order = shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 3, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(SHOPIFY)
    before = orders_by_external(usd_shop)[order["legacyResourceId"]]

    clock.advance(120)
    order["lineItems"][0]["currentQuantity"] = 1
    shopify.edit_order(order["id"], note="customer asked for one")
    (run,) = sync.run_once(SHOPIFY)
    after = orders_by_external(usd_shop)[order["legacyResourceId"]]

    assert before.lines[0].quantity == 3
    assert reserved(usd_shop, before.id) == 1
    assert run.poll is not None
    assert run.poll.updated == 1
    assert after.id == before.id
    assert after.lines[0].quantity == 1
    assert reserved(usd_shop, after.id) == 1
    assert order_count(usd_shop) == 1


def test_quantity_edit_keeps_channel_tax(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    # Shopify charged no tax on 3 x 10.00; after the edit to 1 unit the order
    # is 10.00, still without tax.
    order = shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 3, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(SHOPIFY)

    clock.advance(120)
    order["lineItems"][0]["currentQuantity"] = 1
    shopify.edit_order(order["id"], note="customer asked for one")
    sync.run_once(SHOPIFY)

    assert orders_by_external(usd_shop)[order["legacyResourceId"]].total == 1000


def test_woo_address_change_before_shipment_applied(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 1, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(WOO)

    clock.advance(120)
    moved = dict(
        order["shipping"], address_1="9 New Road", city="Salem", postcode="97301"
    )
    woo.edit_order(order["id"], shipping=moved)
    sync.run_once(WOO)
    after = orders_by_external(usd_shop)[str(order["id"])]

    assert after.ship_line1 == "9 New Road"
    assert after.ship_city == "Salem"
    assert after.ship_postcode == "97301"


def test_shopify_cancellation_cancels_and_releases_stock(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    order = shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 2, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(SHOPIFY)

    clock.advance(120)
    shopify.edit_order(
        order["id"], cancelledAt=iso(clock.now()), cancelReason="CUSTOMER"
    )
    (run,) = sync.run_once(SHOPIFY)
    cancelled = orders_by_external(usd_shop)[order["legacyResourceId"]]

    assert run.poll is not None
    assert run.poll.cancelled == 1
    assert cancelled.status == "cancelled"
    assert reserved(usd_shop, cancelled.id) == 0


def test_cancelled_before_import_is_not_captured(
    usd_shop: Engine, shopify: ShopifyServer, clock: FakeClock, store: SecretStore
) -> None:
    order = shopify.add_order(
        [{"sku": "MUG-RED", "quantity": 2, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    shopify.edit_order(order["id"], cancelledAt=iso(clock.now()))
    connect(usd_shop, SHOPIFY, "shopify", shopify.url, clock)

    (run,) = make_sync(usd_shop, clock, secrets=store).run_once(SHOPIFY)

    assert run.poll is not None
    assert run.poll.skipped == 1
    assert order_count(usd_shop) == 0


def test_refund_after_shipment_recorded_through_returns(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 2, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(WOO)
    local = orders_by_external(usd_shop)[str(order["id"])]
    with UnitOfWork(usd_shop) as uow:
        shipments.ship(uow, local.id, info=ShipmentInfo("UPS", tracking_number="1Z9"))
        uow.commit()

    clock.advance(120)
    refund = woo.add_refund(
        order["id"],
        "10.00",
        reason="broken",
        line_items=[(order["line_items"][0]["id"], 1)],
    )
    sync.run_once(WOO)
    clock.advance(120)
    woo.edit_order(order["id"], customer_note="thanks")
    sync.run_once(WOO)

    with UnitOfWork(usd_shop, write=False) as uow:
        recorded = uow.session.scalars(
            select(ReturnRefund).where(ReturnRefund.external_id == str(refund["id"]))
        ).all()
    assert len(recorded) == 1
    assert recorded[0].channel_amount == 1000
    assert recorded[0].source == "channel"
    assert open_issues(usd_shop) == []


def test_refund_without_lines_goes_to_exceptions_queue(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 1, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(WOO)

    clock.advance(120)
    woo.add_refund(order["id"], "2.50", reason="goodwill")
    sync.run_once(WOO)
    clock.advance(120)
    woo.edit_order(order["id"], customer_note="again")
    sync.run_once(WOO)

    (issue,) = open_issues(usd_shop)
    assert issue.kind == "refund"
    assert "2.50 USD" in issue.message
    assert "without naming lines" in issue.message
    assert issue.occurrences == 1


def test_refund_of_unshipped_units_lowers_quantity(
    usd_shop: Engine, woo: WooServer, clock: FakeClock, store: SecretStore
) -> None:
    order = woo.add_order(
        [{"sku": "MUG-RED", "quantity": 3, "price": "10.00"}],
        created_at=clock.now() - timedelta(minutes=5),
    )
    connect(usd_shop, WOO, "woocommerce", woo.url, clock)
    sync = make_sync(usd_shop, clock, secrets=store)
    sync.run_once(WOO)

    clock.advance(120)
    woo.add_refund(order["id"], "10.00", line_items=[(order["line_items"][0]["id"], 1)])
    sync.run_once(WOO)
    local = orders_by_external(usd_shop)[str(order["id"])]

    assert local.lines[0].quantity == 2
    assert reserved(usd_shop, local.id) == 2
    assert open_issues(usd_shop) == []


# --- real channel records -------------------------------------------------------


def test_real_shopify_order_1001_parsed(clock: FakeClock, store: SecretStore) -> None:
    data_dir = shared_data("shopify", "order.json").parents[1]
    from app.sync.adapters import ShopifyAdapter
    from app.sync.http import HttpClient
    from app.sync.shopify_client import ShopifyClient

    with ShopifyServer(token=TOKEN, clock=clock, data_dir=data_dir) as server:
        client = ShopifyClient(
            server.url, TOKEN, http=HttpClient(clock=clock.monotonic, sleep=clock.sleep)
        )
        adapter = ShopifyAdapter(client)
        since = datetime(2008, 1, 1, tzinfo=UTC)
        (record,) = adapter.orders_since(since)
    data = adapter.parse(record)

    assert data.external_id == "450789469"
    assert data.name == "#1001"
    assert data.currency == "USD"
    assert [line.sku for line in data.lines] == [
        "IPOD2008GREEN",
        "IPOD2008RED",
        "IPOD2008BLACK",
    ]
    assert [line.discount for line in data.lines] == [334, 333, 333]
    assert data.lines[0].taxes[0].name == "State Tax"
    assert data.lines[0].taxes[0].rate == Decimal("6.0")
    assert data.lines[0].taxes[0].amount == 398
    assert data.total == 59894
    assert data.ship_to is not None
    assert data.ship_to.region == "KY"
    (refund,) = data.refunds
    assert refund.amount == 20900
    assert refund.note == "it broke during shipping"


def test_real_woo_orders_parsed(clock: FakeClock) -> None:
    data_dir = shared_data("woocommerce", "orders.json").parents[1]
    from app.sync.adapters import WooAdapter
    from app.sync.http import HttpClient
    from app.sync.woo_client import WooClient

    with WooServer(
        key=WOO_KEY, secret=WOO_SECRET, clock=clock, data_dir=data_dir
    ) as server:
        client = WooClient(
            server.url,
            WOO_KEY,
            WOO_SECRET,
            http=HttpClient(clock=clock.monotonic, sleep=clock.sleep),
        )
        adapter = WooAdapter(client)
        records = {
            r["id"]: r for r in adapter.orders_since(datetime(2017, 1, 1, tzinfo=UTC))
        }
    first = adapter.parse(records[727])
    second = adapter.parse(records[723])

    # Line 1 has no SKU on the store: it is named by its product id.
    assert [line.sku for line in first.lines] == ["product:93", "Bar3"]
    # 0.45 + 0.90 tax on 6.00 + 12.00: the State Tax rate works out at 7.5 %.
    assert first.lines[0].taxes[0].rate == Decimal("7.5000")
    assert [line.taxes[0].amount for line in first.lines] == [45, 90]
    assert first.shipping == Decimal("10.00")
    assert first.total == 2935
    assert [r.amount for r in second.refunds] == [1000, 900]
    assert second.refunds[1].lines[0][1] == 1
