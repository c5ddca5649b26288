"""Client for the Shopify GraphQL Admin API: orders, inventory, fulfillments.

Throttling follows the `extensions.cost` block of each response. The client keeps
the last `throttleStatus` it received and adds the points refilled since, at
`restoreRate`. Before sending a call whose price it has seen before, it waits
`(requested - available) / restoreRate` seconds if the bucket cannot pay. A
THROTTLED response gets the same computed wait, and then the call is sent again. A page
priced over the single-query limit (MAX_COST_EXCEEDED) is fetched again with
fewer orders, and the smaller page size is kept for this client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from app.sync.errors import (
    AuthError,
    ConfigError,
    MalformedResponse,
    PermanentError,
    QueryCostExceeded,
    RetryableError,
)
from app.sync.http import HttpClient, check_api_url

logger = logging.getLogger(__name__)

API_VERSION = "2026-07"
MAX_INPUT_ARRAY = 250  # Shopify's limit on any array argument
MAX_THROTTLE_WAITS = 8
# Nested first: arguments of the order page; longer lists are fetched afterwards.
LINE_ITEMS_PER_ORDER = 10
NESTED_PAGE = 50

_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
_TAX_LINE = f"title rate ratePercentage channelLiable priceSet {{ {_MONEY} }}"
_ADDRESS = (
    "name firstName lastName company address1 address2 city province provinceCode "
    "zip country countryCodeV2 phone"
)
_DISCOUNT_APPLICATION = (
    "__typename index allocationMethod targetSelection targetType "
    "value { __typename ... on MoneyV2 { amount currencyCode } "
    "... on PricingPercentageValue { percentage } } "
    "... on DiscountCodeApplication { code } "
    "... on AutomaticDiscountApplication { title } "
    "... on ManualDiscountApplication { title description } "
    "... on ScriptDiscountApplication { title }"
)
_LINE_ITEM = (
    "id name title sku quantity currentQuantity variantTitle requiresShipping "
    f"taxable variant {{ id }} originalUnitPriceSet {{ {_MONEY} }} "
    f"originalTotalSet {{ {_MONEY} }} discountedTotalSet {{ {_MONEY} }} "
    f"discountAllocations {{ allocatedAmountSet {{ {_MONEY} }} "
    f"discountApplication {{ index }} }} taxLines {{ {_TAX_LINE} }}"
)
_SHIPPING_LINE = (
    f"id title code source originalPriceSet {{ {_MONEY} }} "
    f"discountedPriceSet {{ {_MONEY} }} taxLines {{ {_TAX_LINE} }}"
)
_REFUND_LINE_ITEM = (
    f"quantity restockType restocked lineItem {{ id sku }} location {{ id }} "
    f"subtotalSet {{ {_MONEY} }} totalTaxSet {{ {_MONEY} }}"
)
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_ORDER = f"""
id name legacyResourceId createdAt updatedAt processedAt cancelledAt cancelReason
currencyCode presentmentCurrencyCode taxesIncluded email phone note tags
displayFinancialStatus displayFulfillmentStatus
customer {{ id firstName lastName displayName email }}
shippingAddress {{ {_ADDRESS} }}
billingAddress {{ {_ADDRESS} }}
totalPriceSet {{ {_MONEY} }} subtotalPriceSet {{ {_MONEY} }}
totalTaxSet {{ {_MONEY} }} totalDiscountsSet {{ {_MONEY} }}
totalShippingPriceSet {{ {_MONEY} }} totalRefundedSet {{ {_MONEY} }}
taxLines {{ {_TAX_LINE} }}
lineItems(first: {LINE_ITEMS_PER_ORDER}) {{ nodes {{ {_LINE_ITEM} }} {_PAGE_INFO} }}
shippingLines(first: 5) {{ nodes {{ {_SHIPPING_LINE} }} {_PAGE_INFO} }}
discountApplications(first: 5) {{ nodes {{ {_DISCOUNT_APPLICATION} }} {_PAGE_INFO} }}
refunds(first: 20) {{
  id legacyResourceId createdAt note totalRefundedSet {{ {_MONEY} }}
  refundLineItems(first: 10) {{ nodes {{ {_REFUND_LINE_ITEM} }} {_PAGE_INFO} }}
}}
fulfillments(first: 20) {{
  id name status createdAt trackingInfo {{ company number url }}
}}
"""
ORDERS_QUERY = f"""
query BackroomOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {_ORDER} }}
    {_PAGE_INFO}
  }}
}}
"""
# Connections of an order or refund that may hold more than the order page fetched:
# (owner type, field, selection of one node).
_NESTED = {
    "lineItems": ("Order", _LINE_ITEM),
    "shippingLines": ("Order", _SHIPPING_LINE),
    "discountApplications": ("Order", _DISCOUNT_APPLICATION),
    "refundLineItems": ("Refund", _REFUND_LINE_ITEM),
}
VARIANTS_QUERY = f"""
query BackroomVariants($first: Int!, $after: String) {{
  productVariants(first: $first, after: $after) {{
    nodes {{
      id sku title inventoryQuantity
      product {{ id title }}
      inventoryItem {{ id tracked }}
    }}
    {_PAGE_INFO}
  }}
}}
"""
LOCATIONS_QUERY = f"""
query BackroomLocations($first: Int!, $after: String) {{
  locations(first: $first, after: $after) {{
    nodes {{ id name isActive fulfillsOnlineOrders }}
    {_PAGE_INFO}
  }}
}}
"""
SET_QUANTITIES_MUTATION = """
mutation BackroomSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""
FULFILLMENT_STATE_QUERY = """
query BackroomFulfillmentState($id: ID!) {
  order(id: $id) {
    id name
    fulfillments(first: 50) { id status trackingInfo { company number url } }
    fulfillmentOrders(first: 50) { nodes { id status } }
  }
}
"""
FULFILLMENT_CREATE_MUTATION = """
mutation BackroomFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""


@dataclass(frozen=True)
class InventorySet:
    """One absolute quantity to set; `change_from` None skips the compare check."""

    inventory_item_gid: str
    location_gid: str
    quantity: int
    change_from: int | None


@dataclass(frozen=True)
class StaleQuantity:
    """A quantity that was not set because Shopify's figure was not `change_from`."""

    item: InventorySet
    current: int | None  # Shopify's figure when re-read; None if it could not be read


@dataclass(frozen=True)
class SetFailure:
    """A quantity that Shopify rejected for a reason other than a stale compare."""

    item: InventorySet
    code: str | None
    message: str


@dataclass(frozen=True)
class SetResult:
    """Outcome of set_inventory, one entry per item given."""

    applied: tuple[InventorySet, ...]
    stale: tuple[StaleQuantity, ...]
    failed: tuple[SetFailure, ...]


@dataclass(frozen=True)
class ShopifyLocation:
    gid: str
    name: str
    active: bool
    fulfills_online_orders: bool


@dataclass(frozen=True)
class ShopifyVariant:
    gid: str
    sku: str
    title: str
    product_gid: str
    product_title: str
    inventory_item_gid: str
    tracked: bool
    inventory_quantity: int | None


@dataclass(frozen=True)
class ShopifyFulfillment:
    gid: str
    status: str
    tracking_number: str | None
    company: str | None
    url: str | None
    created: bool  # False when an existing fulfillment had this tracking number


@dataclass(frozen=True)
class ThrottleStatus:
    """Shopify's cost bucket as last reported, and when (on the HttpClient clock)."""

    maximum_available: float
    currently_available: float
    restore_rate: float  # points per second
    observed_at: float

    def available_at(self, now: float) -> float:
        refilled = (
            self.currently_available + (now - self.observed_at) * self.restore_rate
        )
        return min(self.maximum_available, refilled)


class ShopifyClient:
    """Calls one shop's GraphQL Admin API with an Admin API access token."""

    def __init__(
        self,
        shop_url: str,
        token: str,
        api_version: str = API_VERSION,
        http: HttpClient | None = None,
    ) -> None:
        if not token:
            raise ConfigError(
                "Shopify access token is empty; paste the Admin API token of the app."
            )
        self.endpoint = (
            f"{check_api_url(shop_url)}/admin/api/{api_version}/graphql.json"
        )
        self._token = token
        self._http = http if http is not None else HttpClient()
        self._http.add_secret(token)
        self.throttle: ThrottleStatus | None = None
        self._expected_cost: dict[str, float] = {}
        # Page sizes that fit Shopify's single-query cost limit, learned per client.
        self._orders_page_limit: int | None = None
        self._nested_page_limit: dict[str, int] = {}

    # ------------------------------------------------------------- GraphQL

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        cost_key: str | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its `data`.

        Waits out Shopify's cost throttle. `cost_key` names the operation's shape
        so that its last requested cost can be used to wait before sending it
        again. Raises AuthError on ACCESS_DENIED, QueryCostExceeded on
        MAX_COST_EXCEEDED, RetryableError on INTERNAL_SERVER_ERROR or a throttle
        that does not clear, and PermanentError on any other GraphQL error.
        """
        key = cost_key or query
        for _ in range(MAX_THROTTLE_WAITS + 1):
            self._wait_for_budget(self._expected_cost.get(key))
            response = self._http.request(
                "POST",
                self.endpoint,
                json_body={"query": query, "variables": dict(variables or {})},
                headers={"X-Shopify-Access-Token": self._token},
                idempotent=idempotent,
            )
            body = response.data
            if not isinstance(body, dict):
                raise MalformedResponse(
                    f"POST {response.url} returned a GraphQL response that is not a "
                    f"JSON object ({type(body).__name__}).",
                    url=response.url,
                )
            requested = self._read_cost(body, key)
            errors = body.get("errors")
            if errors:
                wait = self._throttle_wait(errors, requested)
                if wait is None:
                    self._raise_graphql_error(response.url, errors)
                logger.info(
                    "Shopify throttled %s (cost %s); waiting %.2f s",
                    _operation_name(query),
                    requested,
                    wait,
                )
                self._http.sleep(wait)
                continue
            data = body.get("data")
            if not isinstance(data, dict):
                raise MalformedResponse(
                    f"POST {response.url} returned no `data` object and no errors.",
                    url=response.url,
                )
            return data
        raise RetryableError(
            f"POST {self._http.redact(self.endpoint)} was still throttled after "
            f"{MAX_THROTTLE_WAITS} waits; the work stays queued.",
            url=self._http.redact(self.endpoint),
            status=200,
        )

    def _wait_for_budget(self, expected_cost: float | None) -> None:
        """Sleep until the bucket, as last reported, can pay `expected_cost`."""
        throttle = self.throttle
        if expected_cost is None or throttle is None or throttle.restore_rate <= 0:
            return
        expected = min(expected_cost, throttle.maximum_available)
        available = throttle.available_at(self._http.clock())
        # The tolerance absorbs float rounding after an exact computed wait.
        if expected <= available + 1e-6:
            return
        wait = (expected - available) / throttle.restore_rate
        logger.info(
            "Shopify bucket contains %.0f of the %.0f points needed; waiting %.2f s",
            available,
            expected,
            wait,
        )
        self._http.sleep(wait)

    def _read_cost(self, body: Mapping[str, Any], key: str) -> float | None:
        extensions = body.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return None
        requested = cost.get("requestedQueryCost")
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            try:
                self.throttle = ThrottleStatus(
                    maximum_available=float(status["maximumAvailable"]),
                    currently_available=float(status["currentlyAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    observed_at=self._http.clock(),
                )
            except (KeyError, TypeError, ValueError):
                logger.warning(
                    "Ignoring an unreadable Shopify throttleStatus: %r", status
                )
        if isinstance(requested, int | float):
            self._expected_cost[key] = float(requested)
            return float(requested)
        return None

    def _throttle_wait(self, errors: Any, requested: float | None) -> float | None:
        """Return seconds to wait if the errors are THROTTLED, else None."""
        if "THROTTLED" not in _error_codes(errors):
            return None
        throttle = self.throttle
        if requested is None or throttle is None or throttle.restore_rate <= 0:
            return 1.0
        return max(
            0.0, (requested - throttle.currently_available) / throttle.restore_rate
        )

    def _raise_graphql_error(self, url: str, errors: Any) -> NoReturn:
        codes = _error_codes(errors)
        messages = "; ".join(_error_messages(errors)) or "no message"
        messages = self._http.redact(messages)
        if "MAX_COST_EXCEEDED" in codes:
            extensions = next(
                e.get("extensions") or {}
                for e in errors
                if (e.get("extensions") or {}).get("code") == "MAX_COST_EXCEEDED"
            )
            raise QueryCostExceeded(
                f"POST {url}: {messages}",
                url=url,
                requested_cost=int(extensions.get("cost") or 0),
                max_cost=int(extensions.get("maxCost") or 1000),
            )
        if "ACCESS_DENIED" in codes:
            raise AuthError(
                f"POST {url} was denied: {messages}. Grant the app the missing "
                "access scope in Shopify, then reconnect the channel.",
                url=url,
                status=200,
            )
        if "INTERNAL_SERVER_ERROR" in codes:
            raise RetryableError(
                f"POST {url} failed inside Shopify: {messages}", url=url, status=200
            )
        raise PermanentError(f"POST {url} returned GraphQL errors: {messages}", url=url)

    # -------------------------------------------------------------- orders

    def orders_updated_since(
        self, since: datetime, page_size: int = 50
    ) -> Iterator[dict[str, Any]]:
        """Yield each order updated at or after `since`, oldest update first.

        Orders are yielded as Shopify returns them; nested lists (line items,
        shipping lines, discount applications, refund line items) are complete.
        An order edited during the walk may be yielded again with its newer
        updatedAt; the same version is never yielded twice.
        """
        if since.tzinfo is None:
            raise ConfigError("orders_updated_since needs a timezone-aware datetime")
        search = (
            f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        )
        size = min(page_size, self._orders_page_limit or page_size)
        after: str | None = None
        seen: set[tuple[str, str]] = set()
        while True:
            try:
                data = self.execute(
                    ORDERS_QUERY,
                    {"first": size, "after": after, "query": search},
                    cost_key=f"orders:{size}",
                )
            except QueryCostExceeded as exc:
                size = _smaller_page(size, exc, "orders")
                self._orders_page_limit = size
                continue
            connection = _connection(data, "orders", self.endpoint)
            for order in connection["nodes"]:
                version = (order.get("id"), order.get("updatedAt"))
                if version in seen:
                    continue
                seen.add(version)
                self._complete_order(order)
                yield order
            page_info = connection["pageInfo"]
            if not page_info.get("hasNextPage"):
                return
            after = page_info.get("endCursor")

    def _complete_order(self, order: dict[str, Any]) -> None:
        """Fetch the rest of every nested list that the order page cut short."""
        for field in ("lineItems", "shippingLines", "discountApplications"):
            self._complete_connection(order["id"], field, order.get(field))
        for refund in order.get("refunds") or []:
            self._complete_connection(
                refund["id"], "refundLineItems", refund.get("refundLineItems")
            )

    def _complete_connection(
        self, owner_gid: str, field: str, connection: dict[str, Any] | None
    ) -> None:
        if not connection:
            return
        owner_type, selection = _NESTED[field]
        query = f"""
query BackroomNested($id: ID!, $first: Int!, $after: String) {{
  node(id: $id) {{
    ... on {owner_type} {{
      {field}(first: $first, after: $after) {{ nodes {{ {selection} }} {_PAGE_INFO} }}
    }}
  }}
}}"""
        size = self._nested_page_limit.get(field, NESTED_PAGE)
        while connection["pageInfo"].get("hasNextPage"):
            after = connection["pageInfo"].get("endCursor")
            try:
                data = self.execute(
                    query,
                    {"id": owner_gid, "first": size, "after": after},
                    cost_key=f"nested:{field}:{size}",
                )
            except QueryCostExceeded as exc:
                size = _smaller_page(size, exc, field)
                self._nested_page_limit[field] = size
                continue
            node = data.get("node")
            if not isinstance(node, dict):
                raise MalformedResponse(
                    f"POST {self._http.redact(self.endpoint)}: {owner_gid} vanished "
                    f"while its {field} were being read.",
                    url=self._http.redact(self.endpoint),
                )
            more = _connection(node, field, self.endpoint)
            connection["nodes"].extend(more["nodes"])
            connection["pageInfo"] = more["pageInfo"]

    # ----------------------------------------------------------- inventory

    def set_inventory(
        self,
        items: Sequence[InventorySet | tuple[str, str, int, int | None]],
        *,
        name: str = "available",
        reason: str = "correction",
        reference_document_uri: str | None = None,
    ) -> SetResult:
        """Set absolute quantities with a compare-and-swap on `change_from` each.

        Items come as InventorySet or (inventory_item_gid, location_gid, quantity,
        change_from). A stale compare is reported in `SetResult.stale` with the
        figure Shopify has now, and the other items are still set. The mutation
        is all-or-nothing per call, so after user errors the other items are read
        back and sent again only if they did not take.
        """
        pending = [
            i if isinstance(i, InventorySet) else InventorySet(*i) for i in items
        ]
        applied: list[InventorySet] = []
        stale: list[StaleQuantity] = []
        failed: list[SetFailure] = []
        for start in range(0, len(pending), MAX_INPUT_ARRAY):
            batch = pending[start : start + MAX_INPUT_ARRAY]
            while batch:
                batch = self._set_batch(
                    batch, name, reason, reference_document_uri, applied, stale, failed
                )
        return SetResult(tuple(applied), tuple(stale), tuple(failed))

    def _set_batch(
        self,
        batch: list[InventorySet],
        name: str,
        reason: str,
        reference_document_uri: str | None,
        applied: list[InventorySet],
        stale: list[StaleQuantity],
        failed: list[SetFailure],
    ) -> list[InventorySet]:
        """Send one mutation, sort its items into the lists, return what to resend."""
        payload_input: dict[str, Any] = {
            "name": name,
            "reason": reason,
            "quantities": [
                {
                    "inventoryItemId": i.inventory_item_gid,
                    "locationId": i.location_gid,
                    "quantity": i.quantity,
                    "changeFromQuantity": i.change_from,
                }
                for i in batch
            ],
        }
        if reference_document_uri is not None:
            payload_input["referenceDocumentUri"] = reference_document_uri
        data = self.execute(
            SET_QUANTITIES_MUTATION,
            {"input": payload_input, "key": str(uuid.uuid4())},
            cost_key="inventorySetQuantities",
        )
        payload = data.get("inventorySetQuantities")
        if not isinstance(payload, dict):
            raise MalformedResponse(
                f"POST {self._http.redact(self.endpoint)}: inventorySetQuantities "
                "returned no payload.",
                url=self._http.redact(self.endpoint),
            )
        user_errors = payload.get("userErrors") or []
        if not user_errors:
            applied.extend(batch)
            return []

        by_index: dict[int, dict[str, Any]] = {}
        for error in user_errors:
            index = _quantity_index(error.get("field"))
            if index is None or index >= len(batch):
                # An error about the whole input fails every item in the call.
                failed.extend(
                    SetFailure(i, error.get("code"), str(error.get("message")))
                    for i in batch
                )
                return []
            by_index.setdefault(index, error)

        current = self._read_levels(batch, name)
        resend: list[InventorySet] = []
        for index, item in enumerate(batch):
            error = by_index.get(index)
            if error is None:
                if current.get(index) == item.quantity:
                    applied.append(item)
                else:
                    resend.append(item)
            elif error.get("code") == "CHANGE_FROM_QUANTITY_STALE":
                stale.append(StaleQuantity(item, current.get(index)))
            else:
                failed.append(
                    SetFailure(item, error.get("code"), str(error.get("message")))
                )
        if resend:
            logger.info(
                "inventorySetQuantities rejected %d of %d quantities; resending %d",
                len(by_index),
                len(batch),
                len(resend),
            )
        return resend

    def _read_levels(self, items: Sequence[InventorySet], name: str) -> dict[int, int]:
        """Return Shopify's current `name` quantity for each readable item, by index."""
        parts = []
        variables: dict[str, Any] = {"names": [name]}
        declarations = ["$names: [String!]!"]
        for index, item in enumerate(items):
            declarations += [f"$item{index}: ID!", f"$location{index}: ID!"]
            variables[f"item{index}"] = item.inventory_item_gid
            variables[f"location{index}"] = item.location_gid
            parts.append(
                f"level{index}: inventoryItem(id: $item{index}) {{ "
                f"inventoryLevel(locationId: $location{index}) {{ "
                "quantities(names: $names) { name quantity } } }"
            )
        query = (
            f"query BackroomLevels({', '.join(declarations)}) {{ {' '.join(parts)} }}"
        )
        data = self.execute(query, variables, cost_key=f"levels:{len(items)}")
        levels: dict[int, int] = {}
        for index in range(len(items)):
            inventory_item = data.get(f"level{index}") or {}
            level = inventory_item.get("inventoryLevel") or {}
            for quantity in level.get("quantities") or []:
                if quantity.get("name") == name:
                    levels[index] = int(quantity["quantity"])
        return levels

    # ------------------------------------------------------- fulfillment

    def create_fulfillment(
        self,
        order_gid: str,
        tracking_number: str,
        company: str,
        url: str | None = None,
        *,
        notify_customer: bool = False,
    ) -> ShopifyFulfillment:
        """Fulfill the order's open fulfillment orders with one tracking number.

        Safe to call again after a timeout: a fulfillment that already carries
        `tracking_number` is returned (created=False) instead of a second one.
        """
        data = self.execute(FULFILLMENT_STATE_QUERY, {"id": order_gid})
        order = data.get("order")
        if not isinstance(order, dict):
            raise PermanentError(
                f"Shopify order {order_gid} was not found; check that it was not "
                "deleted on the channel.",
                url=self._http.redact(self.endpoint),
            )
        for existing in order.get("fulfillments") or []:
            for info in existing.get("trackingInfo") or []:
                if info.get("number") == tracking_number:
                    return _fulfillment(existing, created=False)

        open_orders = [
            fo["id"]
            for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []
            if fo.get("status") in ("OPEN", "IN_PROGRESS")
        ]
        if not open_orders:
            raise PermanentError(
                f"Shopify order {order.get('name') or order_gid} has no open "
                "fulfillment order, so tracking cannot be added; it may already be "
                "fulfilled or cancelled on the channel.",
                url=self._http.redact(self.endpoint),
            )
        tracking: dict[str, Any] = {"number": tracking_number, "company": company}
        if url:
            tracking["url"] = url
        data = self.execute(
            FULFILLMENT_CREATE_MUTATION,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": [
                        {"fulfillmentOrderId": fo} for fo in open_orders
                    ],
                    "trackingInfo": tracking,
                    "notifyCustomer": notify_customer,
                }
            },
            cost_key="fulfillmentCreate",
            idempotent=False,
        )
        payload = data.get("fulfillmentCreate") or {}
        errors = payload.get("userErrors") or []
        if errors:
            messages = "; ".join(str(e.get("message")) for e in errors)
            raise PermanentError(
                f"Shopify rejected the fulfillment of order "
                f"{order.get('name') or order_gid}: {messages}",
                url=self._http.redact(self.endpoint),
            )
        created = payload.get("fulfillment")
        if not isinstance(created, dict):
            raise MalformedResponse(
                f"POST {self._http.redact(self.endpoint)}: fulfillmentCreate returned "
                "neither a fulfillment nor user errors.",
                url=self._http.redact(self.endpoint),
            )
        return _fulfillment(created, created=True)

    # ------------------------------------------------------------ catalog

    def locations(self) -> list[ShopifyLocation]:
        """Return the shop's active locations, without legacy fulfillment services."""
        return [
            ShopifyLocation(
                gid=node["id"],
                name=node["name"],
                active=bool(node["isActive"]),
                fulfills_online_orders=bool(node["fulfillsOnlineOrders"]),
            )
            for node in self._walk(LOCATIONS_QUERY, "locations", 100)
        ]

    def variants_by_sku(self) -> dict[str, ShopifyVariant]:
        """Return every variant with a SKU, keyed by SKU.

        Shopify does not enforce unique SKUs. A SKU held by more than one variant
        is left out and logged, because pushing stock to a guessed variant would
        be worse than pushing none.
        """
        found: dict[str, list[ShopifyVariant]] = {}
        for node in self._walk(VARIANTS_QUERY, "productVariants", 100):
            sku = (node.get("sku") or "").strip()
            if not sku:
                continue
            variant = ShopifyVariant(
                gid=node["id"],
                sku=sku,
                title=node.get("title") or "",
                product_gid=node["product"]["id"],
                product_title=node["product"]["title"],
                inventory_item_gid=node["inventoryItem"]["id"],
                tracked=bool(node["inventoryItem"]["tracked"]),
                inventory_quantity=node.get("inventoryQuantity"),
            )
            found.setdefault(sku, []).append(variant)
        result = {}
        for sku, variants in found.items():
            if len(variants) > 1:
                logger.warning(
                    "SKU %s is on %d Shopify variants (%s); skipping it until the "
                    "duplicates are fixed in Shopify",
                    sku,
                    len(variants),
                    ", ".join(v.gid for v in variants),
                )
                continue
            result[sku] = variants[0]
        return result

    def _walk(self, query: str, field: str, page_size: int) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            data = self.execute(
                query,
                {"first": page_size, "after": after},
                cost_key=f"{field}:{page_size}",
            )
            connection = _connection(data, field, self.endpoint)
            yield from connection["nodes"]
            if not connection["pageInfo"].get("hasNextPage"):
                return
            after = connection["pageInfo"].get("endCursor")


def _connection(data: Mapping[str, Any], field: str, endpoint: str) -> dict[str, Any]:
    connection = data.get(field)
    if (
        not isinstance(connection, dict)
        or not isinstance(connection.get("nodes"), list)
        or not isinstance(connection.get("pageInfo"), dict)
    ):
        raise MalformedResponse(
            f"POST {endpoint}: `{field}` is not a connection with nodes and pageInfo.",
            url=endpoint,
        )
    return connection


def _smaller_page(size: int, exc: QueryCostExceeded, what: str) -> int:
    """Return a page size that fits the cost limit, or re-raise if none can."""
    if size <= 1 or exc.requested_cost <= 0:
        raise exc
    smaller = max(1, min(size - 1, size * exc.max_cost // exc.requested_cost))
    logger.info(
        "Shopify priced %d %s per page at %d points (limit %d); using %d",
        size,
        what,
        exc.requested_cost,
        exc.max_cost,
        smaller,
    )
    return smaller


def _error_codes(errors: Any) -> set[str]:
    if not isinstance(errors, list):
        return set()
    return {
        str((e.get("extensions") or {}).get("code"))
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
    }


def _error_messages(errors: Any) -> list[str]:
    if isinstance(errors, str):
        return [errors]
    if not isinstance(errors, list):
        return [str(errors)]
    return [str(e.get("message")) if isinstance(e, dict) else str(e) for e in errors]


def _operation_name(query: str) -> str:
    words = query.split()
    for index, word in enumerate(words[:-1]):
        if word in ("query", "mutation"):
            return words[index + 1].split("(")[0]
    return "query"


def _quantity_index(field: Any) -> int | None:
    """Return i from a user error field path ["input", "quantities", "i", ...]."""
    if (
        isinstance(field, list)
        and len(field) >= 3
        and field[:2] == ["input", "quantities"]
        and str(field[2]).isdigit()
    ):
        return int(field[2])
    return None


def _fulfillment(record: Mapping[str, Any], *, created: bool) -> ShopifyFulfillment:
    info = (record.get("trackingInfo") or [{}])[0]
    return ShopifyFulfillment(
        gid=record["id"],
        status=record.get("status") or "",
        tracking_number=info.get("number"),
        company=info.get("company"),
        url=info.get("url"),
        created=created,
    )
