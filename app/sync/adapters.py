"""The interface between the sync engine and one channel, and its two makers.

An adapter hides one channel's API behind a few calls: read the listings,
walk the orders updated since a moment, set stock figures, send tracking.
The engine never sees a client or a URL, so a benchmark or a test can plug
in a channel model of its own that speaks this interface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app.core.channels.accounts import ChannelConfig
from app.core.channels.listings import ListingInput
from app.core.channels.order_import import ChannelOrderData
from app.core.channels.queue import ListingTarget
from app.sync import shopify_orders, woo_orders
from app.sync.errors import ConfigError, PermanentError
from app.sync.http import HttpClient
from app.sync.secrets import SecretStore
from app.sync.shopify_client import InventorySet, ShopifyClient, ShopifyLocation
from app.sync.woo_client import StockItem, WooClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StockPush:
    """One figure for one listing; ``change_from`` None skips the compare check."""

    row_id: int
    target: ListingTarget
    quantity: int
    change_from: int | None


@dataclass(frozen=True, slots=True)
class StockPushResult:
    """Per push: accepted, refused because the channel's figure moved, or failed.

    ``stale`` pairs a push with the figure the channel shows now (None when
    it could not be read). ``failed`` pairs a push with the channel's reason;
    sending it again unchanged fails again.
    """

    applied: tuple[StockPush, ...]
    stale: tuple[tuple[StockPush, int | None], ...] = ()
    failed: tuple[tuple[StockPush, str], ...] = ()


class ChannelAdapter(Protocol):
    """The calls the sync engine makes on one channel."""

    #: True when ``push_stock`` honours ``change_from`` (compare-and-set).
    compares: bool

    def check(self) -> str:
        """Make one cheap authenticated call; return what it found."""
        ...

    def listings(self) -> list[ListingInput]:
        """Return every product or variant that carries stock on the channel."""
        ...

    def orders_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Yield the channel's record of each order updated at or after ``since``."""
        ...

    def parse(self, record: Mapping[str, Any]) -> ChannelOrderData:
        """Turn a record from ``orders_since`` into ChannelOrderData."""
        ...

    def push_stock(self, pushes: Sequence[StockPush]) -> StockPushResult:
        """Set the figures; report each push's outcome."""
        ...

    def push_tracking(
        self, external_id: str, carrier: str | None, number: str, url: str | None
    ) -> None:
        """Tell the channel that an order shipped with this tracking number."""
        ...


class ShopifyAdapter:
    """A Shopify shop through the GraphQL Admin API."""

    compares = True

    def __init__(self, client: ShopifyClient, location_ref: str | None = None) -> None:
        self.client = client
        self._location_ref = location_ref
        self._locations: list[ShopifyLocation] | None = None

    def _active_locations(self) -> list[ShopifyLocation]:
        if self._locations is None:
            self._locations = [loc for loc in self.client.locations() if loc.active]
        return self._locations

    def location(self) -> str:
        """Return the location stock is set at: the configured one, else the first."""
        if self._location_ref:
            return self._location_ref
        locations = self._active_locations()
        online = [loc for loc in locations if loc.fulfills_online_orders] or locations
        if not online:
            raise PermanentError(
                "the Shopify shop has no active location to hold stock; add one in "
                "Shopify under Settings > Locations",
                url=self.client.endpoint,
            )
        self._location_ref = online[0].gid
        return self._location_ref

    def check(self) -> str:
        locations = self._active_locations()
        return f"Shopify answered: {len(locations)} active location(s)"

    def listings(self) -> list[ListingInput]:
        location = self.location()
        single = len(self._active_locations()) <= 1
        return [
            ListingInput(
                channel_sku=variant.sku,
                title=f"{variant.product_title} - {variant.title}",
                product_ref=variant.product_gid,
                variant_ref=variant.gid,
                inventory_item_ref=variant.inventory_item_gid,
                location_ref=location,
                # The variant's figure sums every location; it is this
                # location's figure only when the shop has one location.
                quantity=variant.inventory_quantity if single else None,
                tracked=variant.tracked,
            )
            for variant in self.client.variants_by_sku().values()
        ]

    def orders_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        yield from self.client.orders_updated_since(since)

    def parse(self, record: Mapping[str, Any]) -> ChannelOrderData:
        return shopify_orders.parse_order(record)

    def push_stock(self, pushes: Sequence[StockPush]) -> StockPushResult:
        if not pushes:
            return StockPushResult(())
        by_key: dict[tuple[str, str], StockPush] = {}
        items = []
        for push in pushes:
            item_ref = push.target.inventory_item_ref
            if not item_ref:
                continue
            location = push.target.location_ref or self.location()
            by_key[(item_ref, location)] = push
            items.append(
                InventorySet(item_ref, location, push.quantity, push.change_from)
            )
        result = self.client.set_inventory(items, reason="correction")

        def find(item: InventorySet) -> StockPush:
            return by_key[(item.inventory_item_gid, item.location_gid)]

        missing = tuple(
            (push, "the listing has no Shopify inventory item; refresh the listings")
            for push in pushes
            if not push.target.inventory_item_ref
        )
        return StockPushResult(
            applied=tuple(find(i) for i in result.applied),
            stale=tuple((find(s.item), s.current) for s in result.stale),
            failed=missing
            + tuple(
                (find(f.item), f"{f.code or 'error'}: {f.message}")
                for f in result.failed
            ),
        )

    def push_tracking(
        self, external_id: str, carrier: str | None, number: str, url: str | None
    ) -> None:
        self.client.create_fulfillment(
            shopify_orders.order_gid(external_id), number, carrier or "Other", url
        )


class WooAdapter:
    """A WooCommerce store through the wc/v3 REST API.

    WooCommerce has no compare-and-set on stock, so the engine reads the
    store's orders right before it pushes, and the buffer covers the rest.
    """

    compares = False

    def __init__(self, client: WooClient) -> None:
        self.client = client

    def check(self) -> str:
        first = next(iter(self.client.products_by_sku().values()), None)
        return "WooCommerce answered" + (
            f": first listed SKU {first.sku}" if first else ": no products with a SKU"
        )

    def listings(self) -> list[ListingInput]:
        return [
            ListingInput(
                channel_sku=listing.sku,
                product_ref=str(listing.product_id),
                variant_ref=str(listing.variation_id) if listing.variation_id else None,
                quantity=listing.stock_quantity,
                tracked=True,
            )
            for listing in self.client.products_by_sku().values()
        ]

    def orders_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        for order in self.client.orders_modified_after(since):
            record = dict(order)
            if order.get("refunds"):
                record[woo_orders.REFUNDS_KEY] = self.client.refunds(int(order["id"]))
            yield record

    def parse(self, record: Mapping[str, Any]) -> ChannelOrderData:
        return woo_orders.parse_order(record)

    def push_stock(self, pushes: Sequence[StockPush]) -> StockPushResult:
        by_key: dict[tuple[int, int | None], StockPush] = {}
        items = []
        bad: list[tuple[StockPush, str]] = []
        for push in pushes:
            try:
                product = int(push.target.product_ref or "")
                variation = (
                    int(push.target.variant_ref) if push.target.variant_ref else None
                )
            except ValueError:
                bad.append((push, "the listing has no WooCommerce product id"))
                continue
            by_key[(product, variation)] = push
            items.append(StockItem(product, variation, push.quantity))
        result = self.client.update_stock(items)

        def find(item: StockItem) -> StockPush:
            return by_key[(item.product_id, item.variation_id)]

        return StockPushResult(
            applied=tuple(find(i) for i in result.updated),
            failed=tuple(bad)
            + tuple((find(f.item), f"{f.code}: {f.message}") for f in result.failed),
        )

    def push_tracking(
        self, external_id: str, carrier: str | None, number: str, url: str | None
    ) -> None:
        note = f"Shipped with {carrier or 'the carrier'}, tracking number {number}"
        if url:
            note += f": {url}"
        self.client.complete_order(int(external_id), note)


def make_adapter(
    config: ChannelConfig, secrets: SecretStore, http: HttpClient
) -> ChannelAdapter:
    """Build the adapter for a connected channel from its settings and secrets."""
    if config.kind == "shopify":
        token = secrets.require(config.name, "token")
        return ShopifyAdapter(
            ShopifyClient(config.url, token, http=http), config.location_ref
        )
    if config.kind == "woocommerce":
        key = secrets.require(config.name, "key")
        secret = secrets.require(config.name, "secret")
        client = WooClient(
            config.url,
            key,
            secret,
            http=http,
            query_string_auth=config.query_string_auth,
        )
        return WooAdapter(client)
    raise ConfigError(
        f"channel {config.name!r} is of kind {config.kind!r}, which Backroom cannot "
        "sync; use shopify or woocommerce"
    )
