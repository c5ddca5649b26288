"""Channel clients against real HTTP fakes of Shopify and WooCommerce on 127.0.0.1.

Time is virtual: the clients sleep on a FakeClock shared with the servers, so
retries and throttle waits are asserted to the exact second without waiting. The
one real wait is the injected delay that outlasts a 0.2 s read timeout.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from app.sync.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    PermanentError,
    RetryableError,
)
from app.sync.http import (
    HttpClient,
    RetryPolicy,
    check_api_url,
    parse_retry_after,
    redact_url,
)
from app.sync.shopify_client import InventorySet, ShopifyClient
from app.sync.woo_client import StockItem, WooClient
from tests.fakes.faults import FakeClock, FaultKind
from tests.fakes.shopify_server import GRAPHQL_PATH, ShopifyServer
from tests.fakes.shopify_server import OutOfStock as ShopifyOutOfStock
from tests.fakes.woo_server import OutOfStock as WooOutOfStock
from tests.fakes.woo_server import WooServer

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "shopify" / "order.json").is_file()
    or not (DATA_DIR / "woocommerce" / "orders.json").is_file(),
    reason="the shared real-data folder (../shared/data) is not on this machine",
)

KEY = "ck_5f0c2e9a41b7d3"
SECRET = "cs_8e1d7c3b90a2f6"
TOKEN = "shpat_3a9d0e7c51f24b"
ORDERS_PATH = "/wp-json/wc/v3/orders"
SEED = 7
BASE_DELAY = 0.5


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http(clock: FakeClock) -> Iterator[HttpClient]:
    session = requests.Session()
    # Environment proxies must never see test traffic meant for 127.0.0.1.
    session.trust_env = False
    client = HttpClient(
        session=session,
        timeout=(1.0, 2.0),
        retry=RetryPolicy(max_attempts=5, base_delay=BASE_DELAY),
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        rng=random.Random(SEED),
    )
    yield client
    session.close()


@pytest.fixture
def woo(clock: FakeClock) -> Iterator[WooServer]:
    with WooServer(key=KEY, secret=SECRET, clock=clock, seed=False) as server:
        yield server


@pytest.fixture
def woo_client(woo: WooServer, http: HttpClient) -> WooClient:
    return WooClient(woo.url, KEY, SECRET, http=http)


@pytest.fixture
def shopify(clock: FakeClock) -> Iterator[ShopifyServer]:
    with ShopifyServer(token=TOKEN, clock=clock, seed=False) as server:
        yield server


@pytest.fixture
def shopify_client(shopify: ShopifyServer, http: HttpClient) -> ShopifyClient:
    return ShopifyClient(shopify.url, TOKEN, http=http)


def a_day_ago(clock: FakeClock) -> datetime:
    return clock.now() - timedelta(days=1)


# ----------------------------------------------------------- HTTP helpers


def test_retry_after_parses_seconds_and_dates(clock: FakeClock) -> None:
    later = format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("7", clock.now()) == 7.0
    assert parse_retry_after(later, clock.now()) == 90.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", clock.now()) == 0.0
    assert parse_retry_after("soon", clock.now()) is None
    assert parse_retry_after(None, clock.now()) is None


def test_redact_url_hides_consumer_secret() -> None:
    url = f"https://shopify.test/wp-json/wc/v3/orders?page=2&consumer_secret={SECRET}"
    redacted = redact_url(url)
    assert SECRET not in redacted
    assert "page=2" in redacted


def test_check_api_url_rejects_remote_http() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        check_api_url("http://shopify.example.com")
    assert (
        check_api_url("https://shopify.example.com/") == "https://shopify.example.com"
    )
    assert check_api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


# ------------------------------------------------------ WooCommerce orders


def test_woo_orders_250_yielded_once(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(250, ["MUG-RED", "MUG-BLUE", "TEE-M"])

    ids = [o["id"] for o in woo_client.orders_modified_after(a_day_ago(clock))]

    assert len(ids) == 250
    assert set(ids) == set(woo.orders)
    pages = woo.requests_to(ORDERS_PATH, "GET")
    assert [r.query["page"] for r in pages] == [["1"], ["2"], ["3"]]
    assert all(r.query["per_page"] == ["100"] for r in pages)
    assert clock.sleeps == []


def test_woo_overlapping_page_yields_each_order_once(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(250, ["MUG-RED"])
    woo.faults.overlap(path=ORDERS_PATH, after=1)

    ids = [o["id"] for o in woo_client.orders_modified_after(a_day_ago(clock))]

    assert woo.faults.applied == [("GET", ORDERS_PATH, FaultKind.OVERLAP)]
    assert len(ids) == 250
    assert len(set(ids)) == 250


def test_woo_modified_after_excludes_older_orders(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    start = clock.now() - timedelta(hours=1)
    orders = woo.generate_orders(
        10, ["MUG-RED"], start=start, step=timedelta(minutes=5)
    )

    since = start + timedelta(minutes=22)  # between the 5th (20 min) and 6th (25 min)
    ids = [o["id"] for o in woo_client.orders_modified_after(since)]

    assert ids == [o["id"] for o in orders[5:]]


def test_woo_retry_after_seconds_honoured(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    woo.faults.status(429, retry_after="7", path=ORDERS_PATH)

    orders = list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert clock.sleeps == [7.0]
    assert len(orders) == 3


def test_woo_retry_after_http_date_honoured(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    retry_at = format_datetime(clock.now() + timedelta(seconds=12), usegmt=True)
    woo.faults.status(503, retry_after=retry_at, path=ORDERS_PATH)

    orders = list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert clock.sleeps == [12.0]
    assert len(orders) == 3


def test_woo_server_error_retried_with_jitter(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    woo.faults.status(500, path=ORDERS_PATH)
    # Full jitter: the first retry waits uniform(0, base delay) from the seeded rng.
    expected_wait = random.Random(SEED).uniform(0.0, BASE_DELAY)

    orders = list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert clock.sleeps == [expected_wait]
    assert 0.0 <= expected_wait <= BASE_DELAY
    assert len(orders) == 3


def test_woo_timeout_then_success(
    woo: WooServer, clock: FakeClock, http: HttpClient
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    woo.faults.delay(0.6, path=ORDERS_PATH)  # real seconds, over the 0.2 s read timeout
    http.timeout = (1.0, 0.2)
    client = WooClient(woo.url, KEY, SECRET, http=http)

    orders = list(client.orders_modified_after(a_day_ago(clock)))

    assert len(orders) == 3
    assert len(clock.sleeps) == 1
    assert len(woo.requests_to(ORDERS_PATH)) == 2


def test_woo_dropped_connection_then_success(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    woo.faults.drop(path=ORDERS_PATH)

    orders = list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert len(orders) == 3
    assert len(clock.sleeps) == 1


def test_woo_server_restart_on_same_port_recovers(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.generate_orders(3, ["MUG-RED"])
    port = woo.port
    woo.stop()
    clock.on_sleep = lambda _seconds: woo.start()

    orders = list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert len(orders) == 3
    assert woo.port == port
    assert len(clock.sleeps) == 1


def test_woo_malformed_json_names_url(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.faults.malformed(path=ORDERS_PATH)

    with pytest.raises(MalformedResponse) as caught:
        list(woo_client.orders_modified_after(a_day_ago(clock)))

    message = str(caught.value)
    assert f"{woo.url}{ORDERS_PATH}?" in message
    assert "not valid JSON" in message
    assert SECRET not in message
    assert clock.sleeps == []


def test_woo_wrong_secret_raises_auth_error(
    woo: WooServer, http: HttpClient, clock: FakeClock
) -> None:
    client = WooClient(woo.url, KEY, "cs_wrong_secret_value", http=http)

    with pytest.raises(AuthError) as caught:
        list(client.orders_modified_after(a_day_ago(clock)))

    assert caught.value.status == 401
    assert "cs_wrong_secret_value" not in str(caught.value)
    assert clock.sleeps == []


def test_woo_query_string_auth_never_logged(
    woo: WooServer,
    http: HttpClient,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    woo.generate_orders(2, ["MUG-RED"])
    woo.faults.status(502, path=ORDERS_PATH)
    client = WooClient(woo.url, KEY, SECRET, http=http, query_string_auth=True)

    with caplog.at_level(logging.DEBUG, logger="app.sync"):
        orders = list(client.orders_modified_after(a_day_ago(clock)))

    assert len(orders) == 2
    assert woo.requests_to(ORDERS_PATH)[0].query["consumer_secret"] == [SECRET]
    assert "retry 1 of 4" in caplog.text
    assert SECRET not in caplog.text
    assert KEY not in caplog.text


def test_woo_retries_give_up_with_retryable_error(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.faults.status(503, path=ORDERS_PATH, times=5)

    with pytest.raises(RetryableError) as caught:
        list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert caught.value.attempts == 5
    assert caught.value.status == 503
    assert len(clock.sleeps) == 4


def test_woo_long_retry_after_left_to_caller(
    woo: WooServer, woo_client: WooClient, clock: FakeClock
) -> None:
    woo.faults.status(429, retry_after="3600", path=ORDERS_PATH)

    with pytest.raises(RetryableError) as caught:
        list(woo_client.orders_modified_after(a_day_ago(clock)))

    assert caught.value.retry_after == 3600.0
    assert clock.sleeps == []


def test_woo_client_error_not_retried(woo_client: WooClient, clock: FakeClock) -> None:
    with pytest.raises(PermanentError) as caught:
        woo_client.refunds(424242)

    assert caught.value.status == 404
    assert "woocommerce_rest_shop_order_invalid_id" in str(caught.value)
    assert clock.sleeps == []


# ------------------------------------------------------- WooCommerce stock


def test_woo_stock_batches_split_at_100(woo: WooServer, woo_client: WooClient) -> None:
    simple = [woo.add_product(f"SIMPLE-{n:03d}", stock_quantity=1) for n in range(250)]
    big_parent = woo.add_product("HOODIE", stock_quantity=None, product_type="variable")
    small_parent = woo.add_product("CAP", stock_quantity=None, product_type="variable")
    big = [woo.add_variation(big_parent["id"], f"HOODIE-{n:03d}") for n in range(130)]
    small = [woo.add_variation(small_parent["id"], f"CAP-{n}") for n in range(5)]
    items = [StockItem(p["id"], None, 40) for p in simple]
    items += [StockItem(big_parent["id"], v["id"], 6) for v in big]
    items += [StockItem(small_parent["id"], v["id"], 3) for v in small]

    result = woo_client.update_stock(items)

    def sizes(path: str) -> list[int]:
        return [len(r.body["update"]) for r in woo.requests_to(path, "POST")]

    prefix = "/wp-json/wc/v3/products"
    assert sizes(f"{prefix}/batch") == [100, 100, 50]
    assert sizes(f"{prefix}/{big_parent['id']}/variations/batch") == [100, 30]
    assert sizes(f"{prefix}/{small_parent['id']}/variations/batch") == [5]
    assert len(result.updated) == 385
    assert result.failed == ()
    assert woo.stock_of("SIMPLE-249") == 40
    assert woo.stock_of("HOODIE-129") == 6


def test_woo_stock_unknown_product_reported(
    woo: WooServer, woo_client: WooClient
) -> None:
    known = woo.add_product("MUG-RED", stock_quantity=2)

    result = woo_client.update_stock([(known["id"], None, 9), (987654, None, 1)])

    assert result.updated == (StockItem(known["id"], None, 9),)
    assert [f.item.product_id for f in result.failed] == [987654]
    assert result.failed[0].code == "woocommerce_rest_product_invalid_id"


def test_woo_stock_last_quantity_wins_for_repeated_item(
    woo: WooServer, woo_client: WooClient
) -> None:
    product = woo.add_product("MUG-RED", stock_quantity=2)

    woo_client.update_stock([(product["id"], None, 5), (product["id"], None, 8)])

    assert woo.stock_of("MUG-RED") == 8
    assert len(woo.requests_to("/wp-json/wc/v3/products/batch")[0].body["update"]) == 1


def test_woo_products_by_sku_includes_variations(
    woo: WooServer, woo_client: WooClient
) -> None:
    mug = woo.add_product("MUG-RED", stock_quantity=4)
    tee = woo.add_product("TEE", stock_quantity=None, product_type="variable")
    tee_m = woo.add_variation(tee["id"], "TEE-M", stock_quantity=3)

    listings = woo_client.products_by_sku()

    assert sorted(listings) == ["MUG-RED", "TEE", "TEE-M"]
    assert listings["MUG-RED"].stock_quantity == 4
    assert listings["MUG-RED"].variation_id is None
    assert listings["TEE-M"].product_id == tee["id"]
    assert listings["TEE-M"].variation_id == tee_m["id"]
    assert listings["MUG-RED"].product_id == mug["id"]


def test_woo_sell_refuses_when_channel_shows_zero(woo: WooServer) -> None:
    woo.add_product("MUG-RED", stock_quantity=1)

    woo.sell("MUG-RED")

    assert woo.stock_of("MUG-RED") == 0
    with pytest.raises(WooOutOfStock):
        woo.sell("MUG-RED")


# ------------------------------------------------------ WooCommerce orders


def test_woo_complete_order_adds_note_once(
    woo: WooServer, woo_client: WooClient
) -> None:
    order = woo.add_order([{"sku": "MUG-RED", "quantity": 1, "price": "12.00"}])
    note = "Shipped with USPS, tracking 9400111899223334445566"

    woo_client.complete_order(order["id"], note)
    updated = woo_client.complete_order(order["id"], note)

    assert updated["status"] == "completed"
    assert [n["note"] for n in woo.notes[order["id"]]] == [note]
    assert woo.notes[order["id"]][0]["customer_note"] is True


@needs_data
def test_woo_real_orders_keep_skus_taxes_and_discounts(
    clock: FakeClock, http: HttpClient
) -> None:
    with WooServer(key=KEY, secret=SECRET, clock=clock, data_dir=DATA_DIR) as server:
        client = WooClient(server.url, KEY, SECRET, http=http)
        since = clock.now().replace(year=2017, month=1, day=1)
        orders = {o["id"]: o for o in client.orders_modified_after(since)}
        refunds = client.refunds(723)

    assert sorted(orders) == [723, 727]
    first = orders[727]
    assert [li["sku"] for li in first["line_items"]] == ["", "Bar3"]
    assert [li["total_tax"] for li in first["line_items"]] == ["0.45", "0.90"]
    assert first["tax_lines"][0]["label"] == "State Tax"
    assert first["tax_lines"][0]["rate_code"] == "US-CA-STATE TAX"
    assert first["tax_lines"][0]["tax_total"] == "1.35"
    assert first["total"] == "29.35"
    assert first["discount_total"] == "0.00"
    assert first["coupon_lines"] == []
    second = orders[723]
    assert [li["name"] for li in second["line_items"]] == ["Woo Album #2", "Woo Ninja"]
    assert second["total"] == "39.00"
    assert [r["total"] for r in second["refunds"]] == ["-10.00", "-9.00"]
    assert [r["amount"] for r in refunds] == ["10.00", "9.00"]
    assert refunds[1]["line_items"][0]["quantity"] == -1


# ------------------------------------------------------------ Shopify orders


def test_shopify_orders_120_yielded_once(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    for sku in ("MUG-RED", "MUG-BLUE", "TEE-M"):
        shopify.add_variant(sku, available=100)
    shopify.generate_orders(120, ["MUG-RED", "MUG-BLUE", "TEE-M"])

    orders = list(shopify_client.orders_updated_since(a_day_ago(clock)))

    ids = [o["id"] for o in orders]
    assert len(ids) == 120
    assert set(ids) == set(shopify.orders)
    updated = [o["updatedAt"] for o in orders]
    assert updated == sorted(updated)
    # The first 50-order page is priced over 1000 points and fetched again smaller.
    codes = [record.error_code for record in shopify.cost_log]
    assert codes.count("MAX_COST_EXCEEDED") == 1


def test_shopify_overlapping_page_yields_each_order_once(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    shopify.generate_orders(12, ["MUG-RED"])
    shopify.faults.overlap(path=GRAPHQL_PATH, after=1)

    ids = [o["id"] for o in shopify_client.orders_updated_since(a_day_ago(clock), 4)]

    assert shopify.faults.applied == [("POST", GRAPHQL_PATH, FaultKind.OVERLAP)]
    assert len(ids) == 12
    assert len(set(ids)) == 12


def test_shopify_edited_order_yielded_again_with_new_version(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    orders = shopify.generate_orders(6, ["MUG-RED"])
    walk = shopify_client.orders_updated_since(a_day_ago(clock), 2)
    seen = [next(walk)["id"], next(walk)["id"]]

    shopify.edit_order(orders[0]["id"], note="gift wrap")
    seen += [o["id"] for o in walk]

    assert seen.count(orders[0]["id"]) == 2
    assert len(seen) == 7


def test_shopify_order_with_25_lines_completed(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    lines = [
        {"sku": f"PART-{n:02d}", "quantity": 1, "price": "1.00"} for n in range(25)
    ]
    shopify.add_order(lines, created_at=clock.now() - timedelta(hours=1))

    (order,) = shopify_client.orders_updated_since(a_day_ago(clock))

    skus = [li["sku"] for li in order["lineItems"]["nodes"]]
    assert skus == [f"PART-{n:02d}" for n in range(25)]
    assert order["lineItems"]["pageInfo"]["hasNextPage"] is False


def test_shopify_wrong_token_raises_auth_error(
    shopify: ShopifyServer, http: HttpClient, clock: FakeClock
) -> None:
    client = ShopifyClient(shopify.url, "shpat_wrong_token_value", http=http)

    with pytest.raises(AuthError) as caught:
        client.locations()

    assert caught.value.status == 401
    assert "shpat_wrong_token_value" not in str(caught.value)
    assert clock.sleeps == []


@needs_data
def test_shopify_order_1001_keeps_skus_taxes_discounts_refunds(
    clock: FakeClock, http: HttpClient
) -> None:
    with ShopifyServer(token=TOKEN, clock=clock, data_dir=DATA_DIR) as server:
        client = ShopifyClient(server.url, TOKEN, http=http)
        since = clock.now().replace(year=2008, month=1, day=1)
        (order,) = client.orders_updated_since(since)

    assert order["id"] == "gid://shopify/Order/450789469"
    assert order["name"] == "#1001"
    assert order["legacyResourceId"] == "450789469"
    assert order["updatedAt"] == "2008-01-10T16:00:00Z"
    assert order["totalPriceSet"]["shopMoney"] == {
        "amount": "598.94",
        "currencyCode": "USD",
    }
    assert order["shippingAddress"]["countryCodeV2"] == "US"
    assert order["shippingAddress"]["provinceCode"] == "KY"
    assert order["shippingAddress"]["zip"] == "40202"
    lines = order["lineItems"]["nodes"]
    assert [li["sku"] for li in lines] == [
        "IPOD2008GREEN",
        "IPOD2008RED",
        "IPOD2008BLACK",
    ]
    assert [li["originalUnitPriceSet"]["shopMoney"]["amount"] for li in lines] == [
        "199.00",
        "199.00",
        "199.00",
    ]
    tax = lines[0]["taxLines"][0]
    assert tax["title"] == "State Tax"
    assert tax["rate"] == 0.06
    assert tax["priceSet"]["shopMoney"]["amount"] == "3.98"
    allocations = [
        li["discountAllocations"][0]["allocatedAmountSet"]["shopMoney"]["amount"]
        for li in lines
    ]
    assert allocations == ["3.34", "3.33", "3.33"]
    (discount,) = order["discountApplications"]["nodes"]
    assert discount["__typename"] == "DiscountCodeApplication"
    assert discount["code"] == "TENOFF"
    assert discount["value"] == {
        "__typename": "MoneyV2",
        "amount": "10.0",
        "currencyCode": "USD",
    }
    (refund,) = order["refunds"]
    assert refund["note"] == "it broke during shipping"
    assert refund["totalRefundedSet"]["shopMoney"]["amount"] == "209.00"
    refunded_skus = [r["lineItem"]["sku"] for r in refund["refundLineItems"]["nodes"]]
    assert refunded_skus == ["IPOD2008BLACK", "IPOD2008GREEN"]
    (fulfillment,) = order["fulfillments"]
    assert fulfillment["trackingInfo"][0]["number"] == "1Z1234512345123456"


# ---------------------------------------------------------- Shopify throttle


def test_shopify_throttled_waits_computed_time(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    shopify.add_variant("MUG-RED", available=3)
    shopify.set_bucket(100)

    variants = shopify_client.variants_by_sku()

    # productVariants(first: 100) with product and inventoryItem objects is
    # priced 2 + 100 * (1 + 1 + 1) = 302 points. The bucket contains 100 and refills
    # 100 per second, so the wait is (302 - 100) / 100 = 2.02 s.
    assert [r.requested for r in shopify.cost_log] == [302, 302]
    assert [r.error_code for r in shopify.cost_log] == ["THROTTLED", None]
    assert clock.sleeps == [pytest.approx(2.02)]
    assert list(variants) == ["MUG-RED"]


def test_shopify_waits_before_call_bucket_cannot_pay(
    shopify: ShopifyServer, shopify_client: ShopifyClient, clock: FakeClock
) -> None:
    shopify.add_variant("MUG-RED", available=3)
    shopify.add_variant("MUG-BLUE", available=3)
    shopify.set_bucket(305)

    shopify_client.variants_by_sku()
    shopify_client.variants_by_sku()

    # The first call is priced 302 and really costs 2 + 2 * 3 = 8, leaving 297
    # points; the second call waits (302 - 297) / 100 = 0.05 s before it is sent.
    assert [r.actual for r in shopify.cost_log] == [8, 8]
    assert [r.error_code for r in shopify.cost_log] == [None, None]
    assert clock.sleeps == [pytest.approx(0.05)]


# --------------------------------------------------------- Shopify inventory


def test_shopify_stale_change_from_reported_per_item(
    shopify: ShopifyServer, shopify_client: ShopifyClient
) -> None:
    red = shopify.add_variant("MUG-RED", available=5)
    blue = shopify.add_variant("MUG-BLUE", available=7)
    location = next(iter(shopify.locations))
    shopify.sell("MUG-RED", 1)  # the channel sold one since Backroom last looked

    result = shopify_client.set_inventory(
        [
            (red["inventoryItem"]["id"], location, 10, 5),
            (blue["inventoryItem"]["id"], location, 9, 7),
        ]
    )

    assert [s.item.inventory_item_gid for s in result.stale] == [
        red["inventoryItem"]["id"]
    ]
    assert result.stale[0].current == 4
    assert result.applied == (
        InventorySet(blue["inventoryItem"]["id"], location, 9, 7),
    )
    assert result.failed == ()
    assert shopify.level("MUG-RED") == 4
    assert shopify.level("MUG-BLUE") == 9


def test_shopify_set_inventory_without_compare(
    shopify: ShopifyServer, shopify_client: ShopifyClient
) -> None:
    red = shopify.add_variant("MUG-RED", available=5)
    location = next(iter(shopify.locations))

    result = shopify_client.set_inventory(
        [(red["inventoryItem"]["id"], location, 12, None)]
    )

    assert len(result.applied) == 1
    assert shopify.level("MUG-RED") == 12


def test_shopify_item_not_stocked_reported_as_failure(
    shopify: ShopifyServer, shopify_client: ShopifyClient
) -> None:
    red = shopify.add_variant("MUG-RED", available=5)
    blue = shopify.add_variant("MUG-BLUE", available=7)
    warehouse = next(iter(shopify.locations))
    store = shopify.add_location("Pop-up store")["id"]

    result = shopify_client.set_inventory(
        [
            (red["inventoryItem"]["id"], store, 3, 0),
            (blue["inventoryItem"]["id"], warehouse, 6, 7),
        ]
    )

    assert [f.code for f in result.failed] == ["ITEM_NOT_STOCKED_AT_LOCATION"]
    assert [a.inventory_item_gid for a in result.applied] == [
        blue["inventoryItem"]["id"]
    ]
    assert shopify.level("MUG-BLUE", warehouse) == 6


def test_shopify_sell_refuses_when_channel_shows_zero(shopify: ShopifyServer) -> None:
    shopify.add_variant("MUG-RED", available=1)

    shopify.sell("MUG-RED")

    assert shopify.level("MUG-RED") == 0
    with pytest.raises(ShopifyOutOfStock):
        shopify.sell("MUG-RED")


# ------------------------------------------------------- Shopify fulfillment


def test_shopify_fulfillment_created_once(
    shopify: ShopifyServer, shopify_client: ShopifyClient
) -> None:
    order = shopify.add_order([{"sku": "MUG-RED", "quantity": 2, "price": "12.00"}])

    first = shopify_client.create_fulfillment(
        order["id"],
        "1Z999AA10123456784",
        "UPS",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    )
    again = shopify_client.create_fulfillment(order["id"], "1Z999AA10123456784", "UPS")

    assert first.created is True
    assert again.created is False
    assert again.gid == first.gid
    assert len(order["fulfillments"]) == 1
    assert order["fulfillments"][0]["trackingInfo"][0]["company"] == "UPS"
    assert order["displayFulfillmentStatus"] == "FULFILLED"


def test_shopify_locations_and_duplicate_skus(
    shopify: ShopifyServer,
    shopify_client: ShopifyClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shopify.add_variant("MUG-RED", available=1)
    shopify.add_variant("TWIN", available=1)
    shopify.add_variant("TWIN", available=2)

    with caplog.at_level(logging.WARNING, logger="app.sync"):
        variants = shopify_client.variants_by_sku()
    locations = shopify_client.locations()

    assert list(variants) == ["MUG-RED"]
    assert "SKU TWIN is on 2 Shopify variants" in caplog.text
    assert [loc.name for loc in locations] == ["Warehouse"]
