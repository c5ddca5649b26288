"""Client for the WooCommerce REST API (wc/v3): orders, stock, notes, refunds.

Authentication is the store's consumer key and secret, sent as HTTP basic auth,
or as the consumer_key and consumer_secret query parameters for servers that
drop the Authorization header. WooCommerce accepts both only over HTTPS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.sync.errors import ConfigError, MalformedResponse
from app.sync.http import HttpClient, HttpResponse, check_api_url

logger = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3"
PER_PAGE = 100  # the largest page wc/v3 serves
BATCH_LIMIT = 100  # objects per batch call that WooCommerce accepts by default


@dataclass(frozen=True)
class StockItem:
    """Stock quantity for a simple product (variation_id None) or a variation."""

    product_id: int
    variation_id: int | None
    quantity: int


@dataclass(frozen=True)
class StockFailure:
    item: StockItem
    code: str
    message: str


@dataclass(frozen=True)
class StockUpdateResult:
    updated: tuple[StockItem, ...]
    failed: tuple[StockFailure, ...]


@dataclass(frozen=True)
class WooListing:
    """Product or variation that carries a SKU, with the stock the store shows."""

    sku: str
    product_id: int
    variation_id: int | None
    manage_stock: bool
    stock_quantity: int | None


class WooClient:
    """Calls one WooCommerce store's wc/v3 REST API."""

    def __init__(
        self,
        base_url: str,
        key: str,
        secret: str,
        http: HttpClient | None = None,
        *,
        query_string_auth: bool = False,
    ) -> None:
        if not key or not secret:
            raise ConfigError(
                "WooCommerce consumer key or secret is empty; create a REST API key "
                "with read/write access under WooCommerce > Settings > Advanced."
            )
        self.api_url = check_api_url(base_url) + API_PATH
        self._key = key
        self._secret = secret
        self._query_string_auth = query_string_auth
        self._http = http if http is not None else HttpClient()
        self._http.add_secret(secret)
        self._http.add_secret(key)

    # ---------------------------------------------------------- transport

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> HttpResponse:
        all_params = dict(params or {})
        auth: tuple[str, str] | None = (self._key, self._secret)
        if self._query_string_auth:
            all_params["consumer_key"] = self._key
            all_params["consumer_secret"] = self._secret
            auth = None
        return self._http.request(
            method,
            self.api_url + path,
            params=all_params or None,
            json_body=body,
            auth=auth,
            idempotent=idempotent,
        )

    def _walk(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Yield the objects of every page of a list endpoint, first page first.

        The page count is re-read from X-WP-TotalPages on every page, because
        objects created during the walk can add pages.
        """
        page = 1
        while True:
            response = self._call("GET", path, params={**params, "page": page})
            items = response.data
            if not isinstance(items, list):
                raise MalformedResponse(
                    f"GET {response.url} returned {type(items).__name__}, expected a "
                    "JSON list.",
                    url=response.url,
                )
            total_pages = _header_int(response, "X-WP-TotalPages")
            per_page = int(params.get("per_page", 10))
            for item in items:
                if not isinstance(item, dict):
                    raise MalformedResponse(
                        f"GET {response.url} listed a {type(item).__name__} where an "
                        "object was expected.",
                        url=response.url,
                    )
                yield item
            if total_pages is None:
                # Without the header (a proxy may strip it), a short page is last.
                if len(items) < per_page:
                    return
            elif not items or page >= total_pages:
                return
            page += 1

    # -------------------------------------------------------------- orders

    def orders_modified_after(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Yield each order modified after `since`, walking every page once.

        Pages are ordered by id, not by modification date: an order edited during
        the walk keeps its place, so no page shifts and no order is skipped. An
        order seen twice (pages that overlap when orders are added or removed
        during the walk) is yielded once per date_modified_gmt. Use the time the
        walk started, less a margin for clock skew, as the next `since`.
        """
        if since.tzinfo is None:
            raise ConfigError("orders_modified_after needs a timezone-aware datetime")
        params = {
            "modified_after": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
            "per_page": PER_PAGE,
        }
        seen: set[tuple[Any, Any]] = set()
        for order in self._walk("/orders", params):
            version = (order.get("id"), order.get("date_modified_gmt"))
            if version in seen:
                logger.debug("Order %s appeared on two pages; skipped", version[0])
                continue
            seen.add(version)
            yield order

    def complete_order(self, order_id: int, tracking_note: str) -> dict[str, Any]:
        """Add the tracking note for the customer, then mark the order completed.

        Safe to call again after a failure: the note is added only if the order
        has no note with the same text, and setting the status is idempotent.
        Returns the order as WooCommerce returns it after the update.
        """
        notes = self._call("GET", f"/orders/{order_id}/notes").data
        if not isinstance(notes, list):
            raise MalformedResponse(
                f"GET {self.api_url}/orders/{order_id}/notes did not return a list.",
                url=f"{self.api_url}/orders/{order_id}/notes",
            )
        if not any(
            isinstance(n, dict) and n.get("note") == tracking_note for n in notes
        ):
            self._call(
                "POST",
                f"/orders/{order_id}/notes",
                body={"note": tracking_note, "customer_note": True},
                idempotent=False,
            )
        response = self._call(
            "PUT", f"/orders/{order_id}", body={"status": "completed"}
        )
        if not isinstance(response.data, dict):
            raise MalformedResponse(
                f"PUT {response.url} did not return the updated order.",
                url=response.url,
            )
        return response.data

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        """Return every refund of an order, newest first as WooCommerce lists them."""
        return list(self._walk(f"/orders/{order_id}/refunds", {"per_page": PER_PAGE}))

    # --------------------------------------------------------------- stock

    def update_stock(
        self, items: Sequence[StockItem | tuple[int, int | None, int]]
    ) -> StockUpdateResult:
        """Set stock quantities, batching at most 100 objects per call.

        Simple products go to POST /products/batch; variations go to
        POST /products/<parent>/variations/batch, one series of calls per parent.
        Each object also sets manage_stock, since WooCommerce ignores a quantity
        on a product that does not manage stock. When an item appears twice the
        last quantity wins. Per-object errors are collected, not raised.
        """
        latest: dict[tuple[int, int | None], StockItem] = {}
        for raw in items:
            item = raw if isinstance(raw, StockItem) else StockItem(*raw)
            latest[(item.product_id, item.variation_id)] = item

        groups: dict[str, list[StockItem]] = {}
        for item in latest.values():
            if item.variation_id is None:
                path = "/products/batch"
            else:
                path = f"/products/{item.product_id}/variations/batch"
            groups.setdefault(path, []).append(item)

        updated: list[StockItem] = []
        failed: list[StockFailure] = []
        for path, group in groups.items():
            for start in range(0, len(group), BATCH_LIMIT):
                chunk = group[start : start + BATCH_LIMIT]
                self._send_stock_batch(path, chunk, updated, failed)
        return StockUpdateResult(tuple(updated), tuple(failed))

    def _send_stock_batch(
        self,
        path: str,
        chunk: Sequence[StockItem],
        updated: list[StockItem],
        failed: list[StockFailure],
    ) -> None:
        by_id = {(i.variation_id or i.product_id): i for i in chunk}
        body = {
            "update": [
                {"id": object_id, "manage_stock": True, "stock_quantity": i.quantity}
                for object_id, i in by_id.items()
            ]
        }
        # Absolute quantities make a resent batch harmless, so it may be retried.
        response = self._call("POST", path, body=body, idempotent=True)
        results = (
            response.data.get("update") if isinstance(response.data, dict) else None
        )
        if not isinstance(results, list):
            raise MalformedResponse(
                f"POST {response.url} returned no `update` list for a batch update.",
                url=response.url,
            )
        answered: set[int] = set()
        for result in results:
            if not isinstance(result, dict):
                continue
            object_id = result.get("id")
            error = result.get("error")
            if not isinstance(object_id, int) or object_id not in by_id:
                if isinstance(error, dict):
                    logger.warning(
                        "POST %s reported an error for unknown id %r: %s",
                        response.url,
                        object_id,
                        error.get("message"),
                    )
                continue
            item = by_id[object_id]
            answered.add(object_id)
            if isinstance(error, dict):
                failed.append(
                    StockFailure(
                        item, str(error.get("code")), str(error.get("message"))
                    )
                )
            else:
                updated.append(item)
        for object_id, item in by_id.items():
            if object_id not in answered:
                failed.append(
                    StockFailure(
                        item,
                        "missing_from_response",
                        f"POST {response.url} did not report object {object_id}.",
                    )
                )

    # ------------------------------------------------------------- catalog

    def products_by_sku(self) -> dict[str, WooListing]:
        """Return every product and variation with a SKU, keyed by SKU.

        Variable products are expanded into their variations. A variable parent is
        listed under its own SKU too, because it can carry stock for all of them.
        A SKU seen twice keeps its first listing. WooCommerce shows a variation
        without a SKU of its own under its parent's SKU, and the parent comes first.
        """
        listings: dict[str, WooListing] = {}
        for product in self._walk("/products", {"per_page": PER_PAGE}):
            _add_listing(listings, product, product["id"], None)
            if product.get("type") == "variable":
                variations = self._walk(
                    f"/products/{product['id']}/variations", {"per_page": PER_PAGE}
                )
                for variation in variations:
                    _add_listing(listings, variation, product["id"], variation["id"])
        return listings


def _add_listing(
    listings: dict[str, WooListing],
    record: Mapping[str, Any],
    product_id: int,
    variation_id: int | None,
) -> None:
    sku = (record.get("sku") or "").strip()
    if not sku:
        return
    if sku in listings:
        logger.warning(
            "SKU %s appears on WooCommerce products %s and %s; keeping the first",
            sku,
            listings[sku].product_id,
            product_id,
        )
        return
    quantity = record.get("stock_quantity")
    listings[sku] = WooListing(
        sku=sku,
        product_id=product_id,
        variation_id=variation_id,
        manage_stock=bool(record.get("manage_stock")),
        stock_quantity=quantity if isinstance(quantity, int) else None,
    )


def _header_int(response: HttpResponse, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    raise MalformedResponse(
        f"GET {response.url} sent {name}: {value!r}, which is not a whole number.",
        url=response.url,
    )
