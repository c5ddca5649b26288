"""Fake WooCommerce REST API (wc/v3) on 127.0.0.1.

Routes served, under /wp-json/wc/v3: GET /orders (with modified_after,
modified_before, dates_are_gmt, after, before, status, orderby, order, per_page
and page, returned with X-WP-Total, X-WP-TotalPages and Link headers),
GET and PUT /orders/<id>, GET and POST /orders/<id>/notes,
GET /orders/<id>/refunds, GET /products (with sku), GET /products/<id>,
GET /products/<id>/variations, POST /products/batch and
POST /products/<id>/variations/batch (at most 100 objects, else HTTP 413).

Every request needs the configured consumer key and secret, either as HTTP basic
auth or as the consumer_key and consumer_secret query parameters; anything else
gets HTTP 401 with WooCommerce's error body. Real WooCommerce accepts these two
forms only over HTTPS; this fake accepts them over plain HTTP on 127.0.0.1.

Dates follow WooCommerce: `date_*` fields are site-local time (UTC-3 here, as in
the sample data), `date_*_gmt` fields are UTC, both without an offset.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.fakes.faults import (
    FakeClock,
    FakeServer,
    FaultKind,
    FaultPlan,
    IncomingRequest,
    Reply,
)

API_PREFIX = "/wp-json/wc/v3"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SITE_TIMEZONE = timezone(timedelta(hours=-3))
MAX_PER_PAGE = 100
MAX_BATCH = 100
ORDER_STATUSES = frozenset(
    {
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
        "trash",
    }
)
ORDERBY = frozenset({"date", "id", "include", "title", "slug", "modified"})
CENT = Decimal("0.01")


class OutOfStock(Exception):
    """The fake channel rejected a sale because its own stock figure is too low."""


def _error(status: int, code: str, message: str, **data: Any) -> Reply:
    return Reply.json(
        status, {"code": code, "message": message, "data": {"status": status, **data}}
    )


def _local(moment: datetime) -> str:
    return moment.astimezone(SITE_TIMEZONE).strftime("%Y-%m-%dT%H:%M:%S")


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _cents(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


class WooServer(FakeServer):
    """In-memory WooCommerce store that serves the wc/v3 REST API on 127.0.0.1."""

    def __init__(
        self,
        *,
        key: str = "ck_test_key",
        secret: str = "cs_test_secret",
        clock: FakeClock | None = None,
        faults: FaultPlan | None = None,
        seed: bool = True,
        data_dir: Path = DEFAULT_DATA_DIR,
    ) -> None:
        super().__init__(clock=clock, faults=faults)
        self.key = key
        self.secret = secret
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, dict[int, dict[str, Any]]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self._next_id = 1000
        self._shift = 0
        if seed:
            self._load_seed(data_dir)

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: IncomingRequest) -> Reply:
        if not request.path.startswith(API_PREFIX):
            return self._no_route()
        if not self._authorized(request):
            return _error(
                401,
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
            )
        route = request.path[len(API_PREFIX) :].rstrip("/")
        try:
            body = request.json() if request.method in ("POST", "PUT") else None
        except ValueError:
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        overlap = request.fault is not None and request.fault.kind is FaultKind.OVERLAP
        with self.lock:
            return self._route(request, route, body, overlap)

    def _authorized(self, request: IncomingRequest) -> bool:
        header = request.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode("utf-8")
            except ValueError:
                return False
            return decoded == f"{self.key}:{self.secret}"
        return (
            request.param("consumer_key") == self.key
            and request.param("consumer_secret") == self.secret
        )

    def _route(
        self, request: IncomingRequest, route: str, body: Any, overlap: bool
    ) -> Reply:
        method = request.method
        if route == "/orders" and method == "GET":
            return self._list_orders(request, overlap)
        if match := re.fullmatch(r"/orders/(\d+)", route):
            order_id = int(match.group(1))
            if method == "GET":
                return self._get_order(order_id)
            if method == "PUT":
                return self._update_order(order_id, body)
        if match := re.fullmatch(r"/orders/(\d+)/notes", route):
            order_id = int(match.group(1))
            if method == "GET":
                return self._list_notes(order_id)
            if method == "POST":
                return self._add_note(order_id, body)
        if (match := re.fullmatch(r"/orders/(\d+)/refunds", route)) and method == "GET":
            return self._list_refunds(request, int(match.group(1)))
        if route == "/products" and method == "GET":
            return self._list_products(request)
        if route == "/products/batch" and method == "POST":
            return self._batch_products(body)
        if (match := re.fullmatch(r"/products/(\d+)", route)) and method == "GET":
            product = self.products.get(int(match.group(1)))
            if product is None:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return Reply.json(200, product)
        match = re.fullmatch(r"/products/(\d+)/variations", route)
        if match and method == "GET":
            return self._list_variations(request, int(match.group(1)))
        match = re.fullmatch(r"/products/(\d+)/variations/batch", route)
        if match and method == "POST":
            return self._batch_variations(int(match.group(1)), body)
        return self._no_route()

    @staticmethod
    def _no_route() -> Reply:
        return _error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        )

    # ------------------------------------------------------------ listing

    def _page(
        self,
        request: IncomingRequest,
        items: Sequence[Any],
        *,
        overlap: bool = False,
        default_per_page: int = 10,
    ) -> Reply:
        try:
            per_page = int(request.param("per_page") or default_per_page)
            page = int(request.param("page") or 1)
        except ValueError:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={
                    "per_page": "per_page must be between 1 (inclusive) and "
                    f"{MAX_PER_PAGE} (inclusive)"
                },
            )
        if page < 1:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): page")
        # An overlap fault acts like an order entering the filtered list ahead of
        # the walk, so this page and the later ones start one item earlier.
        if page == 1:
            self._shift = 0
        if overlap:
            self._shift += 1
        total = len(items) + self._shift
        pages = math.ceil(total / per_page)
        start = max(0, (page - 1) * per_page - self._shift)
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = []
        query = {k: v[-1] for k, v in request.query.items()}
        query.pop("consumer_key", None)
        query.pop("consumer_secret", None)
        base = f"{self.url}{request.path}"
        if page > 1:
            links.append(
                f'<{base}?{urlencode({**query, "page": page - 1})}>; rel="prev"'
            )
        if page < pages:
            links.append(
                f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"'
            )
        if links:
            headers.append(("Link", ", ".join(links)))
        return Reply.json(200, list(items[start : start + per_page]), headers)

    def _list_orders(self, request: IncomingRequest, overlap: bool) -> Reply:
        gmt = (request.param("dates_are_gmt") or "").lower() in ("1", "true")
        orders = list(self.orders.values())
        for name, field, keep_after in (
            ("modified_after", "date_modified", True),
            ("modified_before", "date_modified", False),
            ("after", "date_created", True),
            ("before", "date_created", False),
        ):
            value = request.param(name)
            if value is None:
                continue
            bound = _parse_bound(value, gmt)
            if bound is None:
                return _error(
                    400, "rest_invalid_param", f"Invalid parameter(s): {name}"
                )
            key = f"{field}_gmt" if gmt else field
            if keep_after:
                orders = [o for o in orders if o[key] > bound]
            else:
                orders = [o for o in orders if o[key] < bound]

        statuses = request.param("status")
        if statuses and statuses != "any":
            requested_statuses = set(statuses.split(","))
            orders = [o for o in orders if o["status"] in requested_statuses]
        else:
            orders = [o for o in orders if o["status"] != "trash"]

        orderby = request.param("orderby") or "date"
        if orderby not in ORDERBY:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        direction = request.param("order") or "desc"
        if direction not in ("asc", "desc"):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): order")
        sort_field = {"date": "date_created_gmt", "modified": "date_modified_gmt"}.get(
            orderby
        )
        orders.sort(
            key=lambda o: (o[sort_field] if sort_field else "", o["id"]),
            reverse=direction == "desc",
        )
        return self._page(request, orders, overlap=overlap)

    def _list_products(self, request: IncomingRequest) -> Reply:
        products = sorted(self.products.values(), key=lambda p: p["id"])
        sku = request.param("sku")
        if sku:
            products = [p for p in products if p["sku"] == sku]
        return self._page(request, products)

    def _list_variations(self, request: IncomingRequest, product_id: int) -> Reply:
        variations = sorted(
            self.variations.get(product_id, {}).values(), key=lambda v: v["id"]
        )
        return self._page(request, variations)

    def _list_refunds(self, request: IncomingRequest, order_id: int) -> Reply:
        if order_id not in self.orders:
            return _invalid_order()
        return self._page(request, self.refunds.get(order_id, []))

    # -------------------------------------------------------------- orders

    def _get_order(self, order_id: int) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return _invalid_order()
        return Reply.json(200, order)

    def _update_order(self, order_id: int, body: Any) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return _invalid_order()
        if not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        status = body.get("status")
        if status is not None and status not in ORDER_STATUSES:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): status")
        for key, value in body.items():
            if key in order and key not in ("id", "line_items", "refunds"):
                order[key] = value
        now = self.clock.now()
        if status == "completed":
            order["date_completed"] = _local(now)
            order["date_completed_gmt"] = _gmt(now)
        self._touch(order)
        return Reply.json(200, order)

    def _list_notes(self, order_id: int) -> Reply:
        if order_id not in self.orders:
            return _invalid_order()
        return Reply.json(200, list(reversed(self.notes.get(order_id, []))))

    def _add_note(self, order_id: int, body: Any) -> Reply:
        if order_id not in self.orders:
            return _invalid_order()
        if not isinstance(body, dict) or not body.get("note"):
            return _error(
                400, "rest_missing_callback_param", "Missing parameter(s): note"
            )
        now = self.clock.now()
        note = {
            "id": self._new_id(),
            "author": "system",
            "date_created": _local(now),
            "date_created_gmt": _gmt(now),
            "note": body["note"],
            "customer_note": bool(body.get("customer_note", False)),
        }
        self.notes.setdefault(order_id, []).append(note)
        return Reply.json(201, note)

    # ------------------------------------------------------------ products

    def _batch_products(self, body: Any) -> Reply:
        return self._batch(body, self.products, "woocommerce_rest_product_invalid_id")

    def _batch_variations(self, product_id: int, body: Any) -> Reply:
        return self._batch(
            body,
            self.variations.get(product_id, {}),
            "woocommerce_rest_product_variation_invalid_id",
        )

    def _batch(
        self, body: Any, records: Mapping[int, dict[str, Any]], invalid_code: str
    ) -> Reply:
        if not isinstance(body, dict):
            return _error(400, "rest_invalid_json", "Invalid JSON body passed.")
        count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if count > MAX_BATCH:
            return _error(
                413,
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {MAX_BATCH} items for this request.",
            )
        if body.get("create") or body.get("delete"):
            return _error(
                400,
                "rest_invalid_param",
                "This fake supports batch update only.",
            )
        results = []
        for change in body.get("update") or []:
            record = records.get(change.get("id"))
            quantity = change.get("stock_quantity")
            if record is None:
                results.append(
                    _item_error(change.get("id"), invalid_code, "Invalid ID.")
                )
                continue
            if quantity is not None and not isinstance(quantity, int):
                results.append(
                    _item_error(
                        record["id"],
                        "rest_invalid_param",
                        "Invalid parameter(s): stock_quantity",
                    )
                )
                continue
            if "manage_stock" in change:
                record["manage_stock"] = bool(change["manage_stock"])
            if quantity is not None:
                record["stock_quantity"] = quantity
                if record["manage_stock"]:
                    record["stock_status"] = "instock" if quantity > 0 else "outofstock"
            now = self.clock.now()
            record["date_modified"] = _local(now)
            record["date_modified_gmt"] = _gmt(now)
            results.append(record)
        return Reply.json(200, {"update": results})

    # --------------------------------------------------------- store changes

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _touch(self, order: dict[str, Any]) -> None:
        now = self.clock.now()
        order["date_modified"] = _local(now)
        order["date_modified_gmt"] = _gmt(now)

    def _find_sku(self, sku: str) -> tuple[dict[str, Any], int] | None:
        """Return (product or variation record, parent product id) for a SKU."""
        for product in self.products.values():
            if product["sku"] == sku:
                return product, product["id"]
        for parent_id, variations in self.variations.items():
            for variation in variations.values():
                if variation["sku"] == sku:
                    return variation, parent_id
        return None

    def add_product(
        self,
        sku: str,
        *,
        stock_quantity: int | None = 0,
        price: str = "10.00",
        name: str | None = None,
        product_type: str = "simple",
    ) -> dict[str, Any]:
        """Add a product; it manages its own stock unless stock_quantity is None."""
        with self.lock:
            now = self.clock.now()
            product: dict[str, Any] = {
                "id": self._new_id(),
                "name": name or f"Product {sku}",
                "slug": sku.lower(),
                "type": product_type,
                "status": "publish",
                "sku": sku,
                "price": price,
                "regular_price": price,
                "date_created": _local(now),
                "date_created_gmt": _gmt(now),
                "date_modified": _local(now),
                "date_modified_gmt": _gmt(now),
                "manage_stock": stock_quantity is not None,
                "stock_quantity": stock_quantity,
                "stock_status": "instock"
                if (stock_quantity or 0) > 0
                else "outofstock",
                "variations": [],
            }
            self.products[product["id"]] = product
            return product

    def add_variation(
        self,
        parent_id: int,
        sku: str,
        *,
        stock_quantity: int | None = 0,
        price: str = "10.00",
    ) -> dict[str, Any]:
        """Add a variation under `parent_id`, managing its own stock."""
        with self.lock:
            now = self.clock.now()
            variation: dict[str, Any] = {
                "id": self._new_id(),
                "sku": sku,
                "price": price,
                "regular_price": price,
                "date_created": _local(now),
                "date_created_gmt": _gmt(now),
                "date_modified": _local(now),
                "date_modified_gmt": _gmt(now),
                "manage_stock": stock_quantity is not None,
                "stock_quantity": stock_quantity,
                "stock_status": "instock"
                if (stock_quantity or 0) > 0
                else "outofstock",
            }
            self.variations.setdefault(parent_id, {})[variation["id"]] = variation
            parent = self.products.get(parent_id)
            if parent is not None:
                parent["type"] = "variable"
                parent["variations"].append(variation["id"])
            return variation

    def stock_of(self, sku: str) -> int | None:
        found = self._find_sku(sku)
        if found is None:
            raise KeyError(
                f"No product or variation with SKU {sku!r} in the fake store"
            )
        quantity: int | None = found[0]["stock_quantity"]
        return quantity

    def add_order(
        self,
        line_items: Sequence[Mapping[str, Any]],
        *,
        status: str = "processing",
        currency: str = "USD",
        shipping_total: str = "0.00",
        coupon: tuple[str, str] | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Add an order and return it.

        Each line is a mapping with "sku", "quantity" and "price", and optionally
        "tax_rate". A coupon (code, amount) is spread over the lines in proportion
        to their subtotals, the last line taking the rounding remainder.
        """
        with self.lock:
            return self._add_order(
                line_items,
                status,
                currency,
                Decimal(shipping_total),
                coupon,
                created_at or self.clock.now(),
            )

    def _add_order(
        self,
        line_items: Sequence[Mapping[str, Any]],
        status: str,
        currency: str,
        shipping_total: Decimal,
        coupon: tuple[str, str] | None,
        created_at: datetime,
    ) -> dict[str, Any]:
        order_id = self._new_id()
        subtotals = [Decimal(li["price"]) * int(li["quantity"]) for li in line_items]
        discount = Decimal(coupon[1]) if coupon else Decimal(0)
        total_subtotal = sum(subtotals, Decimal(0))
        shares: list[Decimal] = []
        for index, subtotal in enumerate(subtotals):
            if index == len(subtotals) - 1:
                shares.append(discount - sum(shares, Decimal(0)))
            elif total_subtotal:
                share = discount * subtotal / total_subtotal
                shares.append(share.quantize(CENT, rounding=ROUND_HALF_UP))
            else:
                shares.append(Decimal(0))

        lines = []
        taxes: dict[Decimal, Decimal] = {}
        for spec, subtotal, share in zip(line_items, subtotals, shares, strict=True):
            rate = Decimal(str(spec.get("tax_rate", "0")))
            total = subtotal - share
            tax = (total * rate).quantize(CENT, rounding=ROUND_HALF_UP)
            if rate:
                taxes[rate] = taxes.get(rate, Decimal(0)) + tax
            found = self._find_sku(spec["sku"])
            product_id, variation_id = 0, 0
            if found is not None:
                record, parent_id = found
                product_id = parent_id
                variation_id = record["id"] if record["id"] != parent_id else 0
            lines.append(
                {
                    "id": self._new_id(),
                    "name": spec.get("name", f"Item {spec['sku']}"),
                    "product_id": product_id,
                    "variation_id": variation_id,
                    "quantity": int(spec["quantity"]),
                    "tax_class": "",
                    "subtotal": _cents(subtotal),
                    "subtotal_tax": _cents(subtotal * rate),
                    "total": _cents(total),
                    "total_tax": _cents(tax),
                    "taxes": (
                        [
                            {
                                "id": _rate_id(rate),
                                "total": _cents(tax),
                                "subtotal": _cents(subtotal * rate),
                            }
                        ]
                        if rate
                        else []
                    ),
                    "meta_data": [],
                    "sku": spec["sku"],
                    "price": float(Decimal(spec["price"])),
                }
            )
        cart_tax = sum(taxes.values(), Decimal(0))
        total = total_subtotal - discount + shipping_total + cart_tax
        order = {
            "id": order_id,
            "parent_id": 0,
            "number": str(order_id),
            "order_key": f"wc_order_{order_id:013x}",
            "created_via": "checkout",
            "version": "9.4.0",
            "status": status,
            "currency": currency,
            "date_created": _local(created_at),
            "date_created_gmt": _gmt(created_at),
            "date_modified": _local(created_at),
            "date_modified_gmt": _gmt(created_at),
            "discount_total": _cents(discount),
            "discount_tax": "0.00",
            "shipping_total": _cents(shipping_total),
            "shipping_tax": "0.00",
            "cart_tax": _cents(cart_tax),
            "total": _cents(total),
            "total_tax": _cents(cart_tax),
            "prices_include_tax": False,
            "customer_id": 0,
            "customer_note": "",
            "billing": {
                "first_name": "Sam",
                "last_name": "Buyer",
                "address_1": "1 Main Street",
                "city": "Portland",
                "state": "OR",
                "postcode": "97201",
                "country": "US",
                "email": "sam@example.com",
            },
            "shipping": {
                "first_name": "Sam",
                "last_name": "Buyer",
                "address_1": "1 Main Street",
                "city": "Portland",
                "state": "OR",
                "postcode": "97201",
                "country": "US",
            },
            "payment_method": "bacs",
            "payment_method_title": "Direct bank transfer",
            "date_paid": _local(created_at),
            "date_paid_gmt": _gmt(created_at),
            "date_completed": None,
            "date_completed_gmt": None,
            "meta_data": [],
            "line_items": lines,
            "tax_lines": [
                {
                    "id": self._new_id(),
                    "rate_code": f"US-TAX-{rate}",
                    "rate_id": _rate_id(rate),
                    "label": "Tax",
                    "compound": False,
                    "tax_total": _cents(amount),
                    "shipping_tax_total": "0.00",
                    "meta_data": [],
                }
                for rate, amount in taxes.items()
            ],
            "shipping_lines": [
                {
                    "id": self._new_id(),
                    "method_title": "Flat rate",
                    "method_id": "flat_rate",
                    "total": _cents(shipping_total),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                }
            ],
            "fee_lines": [],
            "coupon_lines": (
                [
                    {
                        "id": self._new_id(),
                        "code": coupon[0],
                        "discount": _cents(discount),
                        "discount_tax": "0.00",
                        "meta_data": [],
                    }
                ]
                if coupon
                else []
            ),
            "refunds": [],
        }
        self.orders[order_id] = order
        return order

    def edit_order(self, order_id: int, **fields: Any) -> dict[str, Any]:
        """Set fields of an order and bump its date_modified to now."""
        with self.lock:
            order = self.orders[order_id]
            for key, value in fields.items():
                if key not in order:
                    raise KeyError(f"Order has no field {key!r}")
                order[key] = value
            self._touch(order)
            return order

    def add_refund(
        self,
        order_id: int,
        amount: str,
        *,
        reason: str = "",
        line_items: Sequence[tuple[int, int]] = (),
    ) -> dict[str, Any]:
        """Record a refund of `amount`; line_items are (order line id, quantity)."""
        with self.lock:
            order = self.orders[order_id]
            now = self.clock.now()
            refund_lines = []
            for line_id, quantity in line_items:
                line = next(li for li in order["line_items"] if li["id"] == line_id)
                unit = Decimal(line["total"]) / line["quantity"]
                refund_lines.append(
                    {
                        "id": self._new_id(),
                        "name": line["name"],
                        "product_id": line["product_id"],
                        "variation_id": line["variation_id"],
                        "quantity": -quantity,
                        "subtotal": _cents(-unit * quantity),
                        "total": _cents(-unit * quantity),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [
                            {
                                "id": self._new_id(),
                                "key": "_refunded_item_id",
                                "value": str(line_id),
                            }
                        ],
                        "sku": line["sku"],
                        "price": float(-unit),
                    }
                )
            refund = {
                "id": self._new_id(),
                "date_created": _local(now),
                "date_created_gmt": _gmt(now),
                "amount": _cents(Decimal(amount)),
                "reason": reason,
                "refunded_by": 1,
                "refunded_payment": False,
                "meta_data": [],
                "line_items": refund_lines,
            }
            self.refunds.setdefault(order_id, []).insert(0, refund)
            order["refunds"].insert(
                0,
                {"id": refund["id"], "reason": reason, "total": f"-{refund['amount']}"},
            )
            self._touch(order)
            return refund

    def sell(self, sku: str, quantity: int = 1) -> dict[str, Any]:
        """Sell on the channel: take the channel's own stock and record an order.

        Raises OutOfStock when the product manages stock and shows fewer than
        `quantity` units, as a storefront refuses to sell what it shows as gone.
        """
        with self.lock:
            found = self._find_sku(sku)
            if found is None:
                raise KeyError(f"No product or variation with SKU {sku!r}")
            record, _parent = found
            if record["manage_stock"]:
                in_stock = record["stock_quantity"] or 0
                if in_stock < quantity:
                    raise OutOfStock(
                        f"SKU {sku} shows {in_stock} in stock; "
                        f"a sale of {quantity} is refused"
                    )
                record["stock_quantity"] = in_stock - quantity
                if record["stock_quantity"] <= 0:
                    record["stock_status"] = "outofstock"
            line = {"sku": sku, "quantity": quantity, "price": record["price"]}
            return self._add_order(
                [line], "processing", "USD", Decimal(0), None, self.clock.now()
            )

    def generate_orders(
        self,
        count: int,
        skus: Sequence[str],
        *,
        start: datetime | None = None,
        step: timedelta = timedelta(minutes=1),
    ) -> list[dict[str, Any]]:
        """Add `count` orders of 1-3 lines, modified `step` apart, all in the past."""
        rng = random.Random(count)
        first_time = start or (self.clock.now() - step * (count + 1))
        created = []
        for index in range(count):
            lines = [
                {
                    "sku": skus[(index + n) % len(skus)],
                    "quantity": rng.randint(1, 3),
                    "price": f"{rng.randint(500, 9999) / 100:.2f}",
                    "tax_rate": "0.075",
                }
                for n in range(rng.randint(1, 3))
            ]
            created.append(self.add_order(lines, created_at=first_time + step * index))
        return created

    # ------------------------------------------------------------ seed data

    def _load_seed(self, data_dir: Path) -> None:
        woo = data_dir / "woocommerce"
        for order in _read(woo / "orders.json"):
            self.orders[order["id"]] = order
        for product in _read(woo / "products.json"):
            self.products[product["id"]] = product
        for variation in _read(woo / "product_variations.json"):
            parent_id = _parent_from_links(variation, "products")
            self.variations.setdefault(parent_id, {})[variation["id"]] = variation
        for refund in _read(woo / "refunds.json"):
            order_id = _parent_from_links(refund, "orders")
            self.refunds.setdefault(order_id, []).append(refund)
        known = [
            *self.orders,
            *self.products,
            *(v for vs in self.variations.values() for v in vs),
        ]
        self._next_id = max([self._next_id, *known])


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _parent_from_links(record: Mapping[str, Any], collection: str) -> int:
    """Read the parent id from a record's `_links.up` href, e.g. .../products/22."""
    href = record["_links"]["up"][0]["href"]
    match = re.search(rf"/{collection}/(\d+)$", href)
    if match is None:
        raise ValueError(
            f"Record {record['id']} has no {collection} parent link: {href}"
        )
    return int(match.group(1))


def _parse_bound(value: str, gmt: bool) -> str | None:
    """Return a date parameter as naive ISO text in the zone the filter compares in."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC if gmt else SITE_TIMEZONE)
    return moment.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")


def _rate_id(rate: Decimal) -> int:
    return 70 + int(rate * 1000)


def _item_error(item_id: Any, code: str, message: str) -> dict[str, Any]:
    return {
        "id": item_id if isinstance(item_id, int) else 0,
        "error": {"code": code, "message": message, "data": {"status": 400}},
    }


def _invalid_order() -> Reply:
    return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
