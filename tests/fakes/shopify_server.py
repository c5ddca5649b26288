"""Fake Shopify GraphQL Admin API (version 2026-07) on 127.0.0.1.

`POST /admin/api/2026-07/graphql.json` runs the request with graphql-core against
`shopify_schema.graphql`, after checking the `X-Shopify-Access-Token` header. Each
query is priced and charged to a leaky bucket of 2000 points, refilled at 100 points
per second on the injected clock. A query the bucket cannot pay for gets the
THROTTLED error, and one priced over 1000 points gets MAX_COST_EXCEEDED. Both come
with HTTP 200 and `extensions.cost`, as Shopify sends them.

Pricing follows Shopify's published rules: scalars and enums cost 0, an object
costs 1, a connection costs 2 plus `first` times the cost of one node, and each
mutation costs 10. The actual cost counts the objects really returned and never
exceeds the requested cost.
NOTE: Shopify's own figures can be lower than these rules give, and it does not
document how plain lists are priced; here a list costs one element's price.

State is in memory: orders (with line items, discounts, tax lines, refunds,
fulfillments and fulfillment orders), product variants with inventory items,
inventory levels per location, and locations. With `seed=True` the real sample
responses (order #1001 and its refund, products, inventory levels, locations) are
loaded and re-expressed in GraphQL shape.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    execute_sync,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.execution.values import (
    get_argument_values,
    get_directive_values,
    get_variable_values,
)

from tests.fakes.faults import (
    FakeClock,
    FakeServer,
    FaultKind,
    FaultPlan,
    IncomingRequest,
    Reply,
)

API_VERSION = "2026-07"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
SCHEMA_PATH = Path(__file__).with_name("shopify_schema.graphql")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

BUCKET_SIZE = 2000.0
RESTORE_RATE = 100.0  # points per second
MAX_QUERY_COST = 1000
MUTATION_COST = 10
MAX_PAGE_SIZE = 250
MAX_INPUT_ARRAY = 250
DOCS = "https://shopify.dev/api/usage/rate-limits"

# Reasons accepted by inventorySetQuantities, as Shopify lists them.
INVENTORY_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)

CENT = Decimal("0.01")
_MISSING = object()
_SEARCH_TERM = re.compile(
    r"(?P<field>\w+):(?P<op>>=|<=|>|<|=)?\s*(?:'(?P<q1>[^']*)'|\"(?P<q2>[^\"]*)\"|(?P<bare>\S+))"
)


class OutOfStock(Exception):
    """The fake channel rejected a sale because its own stock figure is too low."""


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_or_none(text: str | None) -> str | None:
    return iso(datetime.fromisoformat(text)) if text else None


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_bag(amount: Decimal | str, currency: str) -> dict[str, Any]:
    text = f"{Decimal(amount):.2f}"
    money = {"__typename": "MoneyV2", "amount": text, "currencyCode": currency}
    return {"shopMoney": dict(money), "presentmentMoney": dict(money)}


def _bag_from_rest(rest_set: Mapping[str, Any]) -> dict[str, Any]:
    def money(part: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "__typename": "MoneyV2",
            "amount": part["amount"],
            "currencyCode": part["currency_code"],
        }

    return {
        "shopMoney": money(rest_set["shop_money"]),
        "presentmentMoney": money(rest_set["presentment_money"]),
    }


def _bag_amount(bag: Mapping[str, Any]) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def _encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode_cursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise GraphQLError(f"Invalid cursor for pagination: {cursor!r}") from exc


def _page_size(first: int | None, last: int | None) -> int:
    if last is not None:
        raise GraphQLError("This fake supports forward pagination (first/after) only.")
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if first < 0 or first > MAX_PAGE_SIZE:
        raise GraphQLError(
            f"The 'first' argument must be between 0 and {MAX_PAGE_SIZE}."
        )
    return first


def _connection(
    items: Sequence[Any], start: int, size: int, cursor_of: Callable[[Any, int], str]
) -> dict[str, Any]:
    page = list(items[start : start + size])
    cursors = [cursor_of(item, start + i) for i, item in enumerate(page)]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, page, strict=True)],
        "nodes": page,
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _index_connection(items: Sequence[Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """Page a nested list with opaque index cursors."""
    size = _page_size(args.get("first"), args.get("last"))
    start = 0
    if args.get("after"):
        start = int(_decode_cursor(args["after"])) + 1
    return _connection(items, start, size, lambda _item, index: _encode_cursor(index))


def _resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Read a field from a stored record; a list typed as a connection is paged."""
    if isinstance(source, Mapping):
        value = source.get(info.field_name)
    else:
        value = getattr(source, info.field_name, None)
    if callable(value):
        value = value(info, **args)
    if isinstance(value, list):
        named = get_named_type(info.return_type)
        if named.name.endswith("Connection"):
            return _index_connection(value, args)
        if args.get("first") is not None:
            return value[: args["first"]]
    return value


class _CostCalculator:
    """Prices a GraphQL operation with Shopify's published cost rules."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation is OperationType.MUTATION:
            return MUTATION_COST * _count_root_fields(operation.selection_set)
        root = self.schema.query_type
        assert root is not None
        return self._selection(root, operation.selection_set, _MISSING)

    def actual(self, operation: OperationDefinitionNode, data: Any) -> int:
        if operation.operation is OperationType.MUTATION:
            return self.requested(operation)
        root = self.schema.query_type
        assert root is not None
        return self._selection(root, operation.selection_set, data or {})

    def _selection(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, data: Any
    ) -> int:
        common = 0
        by_condition: dict[str, int] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                common += self._field(parent, selection, data)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = (
                    selection.type_condition.name.value
                    if selection.type_condition
                    else parent.name
                )
                sub = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.fragments[selection.name.value]
                condition = fragment.type_condition.name.value
                sub = fragment.selection_set
            fragment_type = self.schema.get_type(condition)
            assert fragment_type is not None
            cost = self._selection(fragment_type, sub, data)
            if condition == parent.name:
                common += cost
            else:
                by_condition[condition] = by_condition.get(condition, 0) + cost
        # An abstract type is priced at its most expensive possible selection.
        return common + max(by_condition.values(), default=0)

    def _field(self, parent: GraphQLNamedType, node: FieldNode, data: Any) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", {})
        if name.startswith("__") or name not in fields:
            return 0
        field_def = fields[name]
        named = get_named_type(field_def.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        requested = data is _MISSING
        key = node.alias.value if node.alias else name
        value = (
            _MISSING
            if requested
            else (data.get(key) if isinstance(data, dict) else None)
        )

        if named.name.endswith("Connection"):
            return self._connection(field_def, named, node, value)
        if requested:
            return 1 + self._selection(named, node.selection_set, _MISSING)
        if value is None:
            return 0
        items = value if isinstance(value, list) else [value]
        return sum(1 + self._selection(named, node.selection_set, v) for v in items)

    def _connection(
        self, field_def: Any, named: GraphQLNamedType, node: FieldNode, value: Any
    ) -> int:
        assert isinstance(named, GraphQLObjectType) and node.selection_set is not None
        node_type = get_named_type(named.fields["nodes"].type)
        node_selections: list[tuple[SelectionSetNode, str]] = []
        for selection in node.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.selection_set is None:
                continue
            if selection.name.value == "nodes":
                node_selections.append((selection.selection_set, "nodes"))
            elif selection.name.value == "edges":
                for inner in selection.selection_set.selections:
                    if isinstance(inner, FieldNode) and inner.name.value == "node":
                        assert inner.selection_set is not None
                        node_selections.append((inner.selection_set, "edges"))

        if value is _MISSING:
            args = get_argument_values(field_def, node, dict(self.variables))
            count = args.get("first") or args.get("last") or 0
            per_node = max(
                (
                    1 + self._selection(node_type, s, _MISSING)
                    for s, _ in node_selections
                ),
                default=1,
            )
            return 2 + count * per_node
        if value is None:
            return 0
        total = 2
        for selection_set, source in node_selections:
            if source == "nodes":
                items = value.get("nodes") or []
            else:
                items = [edge.get("node") for edge in value.get("edges") or []]
            total += sum(
                1 + self._selection(node_type, selection_set, i) for i in items
            )
            break
        return total


def _count_root_fields(selection_set: SelectionSetNode) -> int:
    return sum(
        1
        for s in selection_set.selections
        if isinstance(s, FieldNode) and not s.name.value.startswith("__")
    )


@dataclass
class CostRecord:
    """Pricing of one GraphQL request as the fake saw it."""

    operation: str | None
    requested: int
    actual: int | None
    available_after: float
    error_code: str | None  # THROTTLED, MAX_COST_EXCEEDED or None


class ShopifyServer(FakeServer):
    """In-memory Shopify store that serves the GraphQL Admin API on 127.0.0.1."""

    def __init__(
        self,
        *,
        token: str = "shpat_test_token",
        clock: FakeClock | None = None,
        faults: FaultPlan | None = None,
        seed: bool = True,
        data_dir: Path = DEFAULT_DATA_DIR,
    ) -> None:
        super().__init__(clock=clock, faults=faults)
        self.token = token
        self.schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
        self._attach_root_resolvers()

        self.orders: dict[str, dict[str, Any]] = {}
        self.variants: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        self.levels: dict[tuple[str, str], dict[str, int]] = {}
        self.fulfillment_orders: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.cost_log: list[CostRecord] = []
        self._idempotent: dict[str, tuple[str, dict[str, Any]]] = {}
        self._next_id = 9_000_000_000
        self._next_order_number = 1001
        self._bucket = BUCKET_SIZE
        self._bucket_time = self.clock.monotonic()

        if seed:
            self._load_seed(data_dir)
        if not self.locations:
            self.add_location("Warehouse")

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: IncomingRequest) -> Reply:
        if request.path != GRAPHQL_PATH or request.method != "POST":
            return Reply.json(404, {"errors": "Not Found"})
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return Reply.json(
                401,
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
            )
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return Reply.json(
                400, {"errors": {"query": "Required parameter missing or invalid"}}
            )
        with self.lock:
            body = self._run_graphql(
                payload["query"],
                payload.get("variables") or {},
                payload.get("operationName"),
                overlap=request.fault is not None
                and request.fault.kind is FaultKind.OVERLAP,
            )
        return Reply.json(200, body)

    def _run_graphql(
        self,
        query: str,
        variables: Mapping[str, Any],
        operation_name: str | None,
        *,
        overlap: bool,
    ) -> dict[str, Any]:
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        errors = validate(self.schema, document)
        if errors:
            return {"errors": [e.formatted for e in errors]}
        operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if operation_name:
            operations = [
                o for o in operations if o.name and o.name.value == operation_name
            ]
        if len(operations) != 1:
            return {
                "errors": [{"message": "Could not determine the operation to run."}]
            }
        operation = operations[0]
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(variables)
        )
        if isinstance(coerced, list):
            return {"errors": [e.formatted for e in coerced]}

        fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        calculator = _CostCalculator(self.schema, fragments, coerced)
        requested = calculator.requested(operation)
        name = operation.name.value if operation.name else None

        if requested > MAX_QUERY_COST:
            self.cost_log.append(
                CostRecord(name, requested, None, self._refill(), "MAX_COST_EXCEEDED")
            )
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the "
                        f"single query max cost limit ({MAX_QUERY_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": MAX_QUERY_COST,
                            "documentation": DOCS,
                        },
                    }
                ]
            }

        available = self._refill()
        if requested > available + 1e-9:
            self.cost_log.append(
                CostRecord(name, requested, None, available, "THROTTLED")
            )
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": DOCS},
                    }
                ],
                "extensions": {"cost": self._cost_extension(requested, None)},
            }

        self._bucket -= requested
        result = execute_sync(
            self.schema,
            document,
            context_value={"overlap": overlap},
            variable_values=coerced,
            operation_name=operation_name,
            field_resolver=_resolve_field,
        )
        actual = min(requested, calculator.actual(operation, result.data))
        self._bucket += requested - actual
        self.cost_log.append(CostRecord(name, requested, actual, self._bucket, None))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["extensions"] = {"cost": self._cost_extension(requested, actual)}
        return body

    # ---------------------------------------------------------------- bucket

    def _refill(self) -> float:
        now = self.clock.monotonic()
        self._bucket = min(
            BUCKET_SIZE, self._bucket + (now - self._bucket_time) * RESTORE_RATE
        )
        self._bucket_time = now
        return self._bucket

    def _cost_extension(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": BUCKET_SIZE,
                # Reported rounded down, as whole points, like Shopify does.
                "currentlyAvailable": math.floor(self._bucket),
                "restoreRate": RESTORE_RATE,
            },
        }

    def set_bucket(self, currently_available: float) -> None:
        """Set the points left in the throttle bucket as of the clock's now."""
        with self.lock:
            self._bucket = currently_available
            self._bucket_time = self.clock.monotonic()

    @property
    def bucket(self) -> float:
        with self.lock:
            return self._refill()

    # ------------------------------------------------------- root resolvers

    def _attach_root_resolvers(self) -> None:
        query = self.schema.query_type
        mutation = self.schema.mutation_type
        assert query is not None and mutation is not None
        query.fields["orders"].resolve = self._resolve_orders
        query.fields["order"].resolve = self._resolve_node
        query.fields["node"].resolve = self._resolve_node
        query.fields["inventoryItem"].resolve = self._resolve_node
        query.fields["productVariants"].resolve = self._resolve_variants
        query.fields["locations"].resolve = self._resolve_locations
        mutation.fields["inventorySetQuantities"].resolve = self._resolve_set_quantities
        mutation.fields["fulfillmentCreate"].resolve = self._resolve_fulfillment_create

    def _resolve_node(self, _root: Any, info: GraphQLResolveInfo, id: str) -> Any:
        record = self.nodes.get(id)
        if record is None:
            return None
        expected = get_named_type(info.return_type).name
        if expected != "Node" and record.get("__typename") != expected:
            return None
        return record

    def _resolve_orders(
        self,
        _root: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        query: str | None = None,
        reverse: bool = False,
        sortKey: str = "ID",
    ) -> dict[str, Any]:
        size = _page_size(first, last)
        sort_field = {
            "UPDATED_AT": "updatedAt",
            "CREATED_AT": "createdAt",
            "PROCESSED_AT": "processedAt",
        }.get(sortKey)

        def sort_key(order: Mapping[str, Any]) -> list[Any]:
            value = order[sort_field] if sort_field else ""
            return [value, int(order["legacyResourceId"])]

        orders = sorted(
            (o for o in self.orders.values() if _matches_search(o, query)),
            key=sort_key,
            reverse=reverse,
        )
        start = 0
        if after:
            position = _decode_cursor(after)
            keys = [sort_key(o) for o in orders]
            if reverse:
                start = sum(1 for k in keys if k >= position)
            else:
                start = sum(1 for k in keys if k <= position)
        if info.context["overlap"] and start > 0:
            start -= 1
        return _connection(
            orders, start, size, lambda o, _i: _encode_cursor(sort_key(o))
        )

    def _resolve_variants(
        self,
        _root: Any,
        _info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        query: str | None = None,
        reverse: bool = False,
        sortKey: str = "ID",
    ) -> dict[str, Any]:
        size = _page_size(first, last)
        variants = sorted(
            self.variants.values(), key=lambda v: int(v["legacyResourceId"])
        )
        if query:
            terms = {
                m.group("field"): _term_value(m) for m in _SEARCH_TERM.finditer(query)
            }
            if "sku" in terms:
                variants = [v for v in variants if v["sku"] == terms["sku"]]
        start = 0
        if after:
            start = int(_decode_cursor(after)) + 1
        return _connection(variants, start, size, lambda _v, i: _encode_cursor(i))

    def _resolve_locations(
        self,
        _root: Any,
        _info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        includeInactive: bool = False,
        includeLegacy: bool = False,
        last: int | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        locations = [
            loc
            for loc in self.locations.values()
            if (includeInactive or loc["isActive"])
            and (includeLegacy or not loc["_legacy"])
        ]
        return _index_connection(
            locations, {"first": first, "after": after, "last": last}
        )

    # ------------------------------------------------------------ mutations

    def _resolve_set_quantities(
        self, _root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        directive = self.schema.get_directive("idempotent")
        assert directive is not None
        values = get_directive_values(
            directive, info.field_nodes[0], info.variable_values
        )
        key = values["key"] if values else None
        fingerprint = json.dumps(input, sort_keys=True)
        if key is not None and key in self._idempotent:
            stored_fingerprint, stored = self._idempotent[key]
            if stored_fingerprint == fingerprint:
                return stored
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    {
                        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        "field": None,
                        "message": "The same idempotency key cannot be used with "
                        "different operation parameters.",
                    }
                ],
            }
        # NOTE: Shopify makes the idempotency key mandatory for several inventory
        # mutations from 2026-04; this fake accepts a call without one.
        result = self._set_quantities(input)
        if key is not None:
            self._idempotent[key] = (fingerprint, result)
        return result

    def _set_quantities(self, data: Mapping[str, Any]) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []

        def error(code: str, field: list[str], message: str) -> None:
            errors.append({"code": code, "field": field, "message": message})

        name = data["name"]
        if name not in ("available", "on_hand"):
            error(
                "INVALID_NAME",
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
            )
        if data["reason"] not in INVENTORY_REASONS:
            error(
                "INVALID_REASON",
                ["input", "reason"],
                "The specified reason is invalid.",
            )
        reference = data.get("referenceDocumentUri")
        if reference and reference.startswith("gid://"):
            error(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "A Shopify global ID isn't an accepted reference document URI.",
            )
        quantities = data["quantities"]
        if len(quantities) > MAX_INPUT_ARRAY:
            raise GraphQLError(
                f"The input array size of {len(quantities)} is greater than the "
                f"maximum allowed of {MAX_INPUT_ARRAY}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )

        seen: set[tuple[str, str]] = set()
        changes: list[tuple[dict[str, int], int, dict[str, Any], dict[str, Any]]] = []
        for index, entry in enumerate(quantities):
            path = ["input", "quantities", str(index)]
            pair = (entry["inventoryItemId"], entry["locationId"])
            item = self.items.get(pair[0])
            location = self.locations.get(pair[1])
            level = self.levels.get(pair)
            quantity = entry["quantity"]
            if "changeFromQuantity" not in entry:
                # NOTE: Shopify documents that omitting changeFromQuantity is an
                # error from 2026-04 but not which code it returns.
                error(
                    "COMPARE_QUANTITY_REQUIRED",
                    [*path, "changeFromQuantity"],
                    "Pass changeFromQuantity for each quantity (null skips the check).",
                )
            elif pair in seen:
                error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    path,
                    "The combination of inventoryItemId and locationId must be unique.",
                )
            elif item is None:
                error(
                    "INVALID_INVENTORY_ITEM",
                    [*path, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                )
            elif location is None:
                error(
                    "INVALID_LOCATION",
                    [*path, "locationId"],
                    "The specified location could not be found.",
                )
            elif level is None:
                error(
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                    [*path, "locationId"],
                    "The specified inventory item is not stocked at the location.",
                )
            elif quantity < 0:
                error(
                    "INVALID_QUANTITY_NEGATIVE",
                    [*path, "quantity"],
                    "The quantity can't be negative.",
                )
            elif quantity > 1_000_000_000:
                error(
                    "INVALID_QUANTITY_TOO_HIGH",
                    [*path, "quantity"],
                    "The total quantity can't be higher than 1,000,000,000.",
                )
            elif (
                entry["changeFromQuantity"] is not None
                and entry["changeFromQuantity"] != level[name]
            ):
                error(
                    "CHANGE_FROM_QUANTITY_STALE",
                    [*path, "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value.",
                )
            else:
                assert item is not None
                assert location is not None
                assert level is not None
                changes.append((level, quantity, item, location))
            seen.add(pair)

        # The mutation is atomic: one user error and nothing is changed.
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}

        now = iso(self.clock.now())
        recorded: list[dict[str, Any]] = []
        for level, quantity, item, location in changes:
            delta = quantity - level[name]
            other = "on_hand" if name == "available" else "available"
            level[name] = quantity
            level[other] += delta
            for quantity_name in (name, other):
                recorded.append(
                    {
                        "name": quantity_name,
                        "delta": delta,
                        "quantityAfterChange": level[quantity_name],
                        "item": item,
                        "location": location,
                        "ledgerDocumentUri": None,
                    }
                )

        def changes_field(
            _info: GraphQLResolveInfo,
            inventoryItemIds: list[str] | None = None,
            locationIds: list[str] | None = None,
            quantityNames: list[str] | None = None,
        ) -> list[dict[str, Any]]:
            return [
                c
                for c in recorded
                if (inventoryItemIds is None or c["item"]["id"] in inventoryItemIds)
                and (locationIds is None or c["location"]["id"] in locationIds)
                and (quantityNames is None or c["name"] in quantityNames)
            ]

        group = {
            "__typename": "InventoryAdjustmentGroup",
            "id": gid("InventoryAdjustmentGroup", self._new_id()),
            "createdAt": now,
            "reason": data["reason"],
            "referenceDocumentUri": reference,
            "changes": changes_field,
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    def _resolve_fulfillment_create(
        self,
        _root: Any,
        _info: GraphQLResolveInfo,
        fulfillment: dict[str, Any],
        message: str | None = None,
    ) -> dict[str, Any]:
        def failed(field: list[str], text: str) -> dict[str, Any]:
            return {
                "fulfillment": None,
                "userErrors": [{"field": field, "message": text}],
            }

        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if not groups:
            return failed(
                ["fulfillment", "lineItemsByFulfillmentOrder"],
                "Line items by fulfillment order must not be empty.",
            )
        chosen: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            path = [
                "fulfillment",
                "lineItemsByFulfillmentOrder",
                str(index),
                "fulfillmentOrderId",
            ]
            fulfillment_order = self.fulfillment_orders.get(group["fulfillmentOrderId"])
            if fulfillment_order is None:
                return failed(path, "Fulfillment order does not exist.")
            if fulfillment_order["status"] not in ("OPEN", "IN_PROGRESS"):
                return failed(
                    path,
                    f"Fulfillment order {group['fulfillmentOrderId']} has an "
                    f"unfulfillable status= {fulfillment_order['status'].lower()}.",
                )
            chosen.append(fulfillment_order)
        order_ids = {fo["_order"] for fo in chosen}
        if len(order_ids) != 1:
            return failed(
                ["fulfillment"], "All fulfillment orders must belong to the same order."
            )
        order = self.orders[order_ids.pop()]

        tracking = fulfillment.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or (
            [tracking["number"]] if tracking.get("number") else []
        )
        urls = tracking.get("urls") or (
            [tracking["url"]] if tracking.get("url") else []
        )
        now = iso(self.clock.now())
        record: dict[str, Any] = {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", self._new_id()),
            "name": f"{order['name']}-F{len(order['fulfillments']) + 1}",
            "status": "SUCCESS",
            "createdAt": now,
            "updatedAt": now,
            "trackingInfo": [
                {
                    "company": tracking.get("company"),
                    "number": number,
                    "url": urls[i] if i < len(urls) else None,
                }
                for i, number in enumerate(numbers)
            ],
        }
        self.nodes[record["id"]] = record
        order["fulfillments"].append(record)
        for fulfillment_order in chosen:
            fulfillment_order["status"] = "CLOSED"
            fulfillment_order["updatedAt"] = now
        still_open = any(fo["status"] != "CLOSED" for fo in order["fulfillmentOrders"])
        order["displayFulfillmentStatus"] = (
            "PARTIALLY_FULFILLED" if still_open else "FULFILLED"
        )
        order["updatedAt"] = now
        return {"fulfillment": record, "userErrors": []}

    # ------------------------------------------------------------- helpers

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _find_order(self, order: str | int) -> dict[str, Any]:
        key = (
            order
            if isinstance(order, str) and order.startswith("gid://")
            else gid("Order", order)
        )
        if key not in self.orders:
            raise KeyError(f"No order {order!r} in the fake Shopify store")
        return self.orders[key]

    def order_by_name(self, name: str) -> dict[str, Any]:
        for order in self.orders.values():
            if order["name"] == name:
                return order
        raise KeyError(f"No order named {name!r} in the fake Shopify store")

    def variant_by_sku(self, sku: str) -> dict[str, Any]:
        for variant in self.variants.values():
            if variant["sku"] == sku:
                return variant
        raise KeyError(f"No variant with SKU {sku!r} in the fake Shopify store")

    def level(
        self, sku: str, location_id: str | None = None, name: str = "available"
    ) -> int:
        """Return the channel's quantity for a SKU at a location (default: first)."""
        item_id = self.variant_by_sku(sku)["inventoryItem"]["id"]
        if location_id is None:
            location_id = next(loc for (i, loc) in self.levels if i == item_id)
        return self.levels[(item_id, location_id)][name]

    def add_location(
        self, name: str, *, active: bool = True, legacy: bool = False
    ) -> dict[str, Any]:
        number = self._new_id()
        record: dict[str, Any] = {
            "__typename": "Location",
            "id": gid("Location", number),
            "legacyResourceId": str(number),
            "name": name,
            "isActive": active,
            "fulfillsOnlineOrders": True,
            "address": {
                "address1": None,
                "address2": None,
                "city": None,
                "country": None,
                "countryCode": None,
                "province": None,
                "provinceCode": None,
                "zip": None,
            },
            "_legacy": legacy,
        }
        self.locations[record["id"]] = record
        self.nodes[record["id"]] = record
        return record

    def add_variant(
        self,
        sku: str,
        *,
        available: int = 0,
        price: str = "10.00",
        product_title: str | None = None,
        location_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a product with one variant, stocked with `available` at one location."""
        with self.lock:
            product_id = self._new_id()
            product = {
                "__typename": "Product",
                "id": gid("Product", product_id),
                "legacyResourceId": str(product_id),
                "title": product_title or f"Product {sku}",
                "handle": sku.lower(),
                "vendor": "Backroom test",
            }
            variant = self._make_variant(
                self._new_id(),
                product,
                sku=sku,
                title="Default Title",
                price=price,
                barcode=None,
                tracked=True,
            )
            location = location_id or next(iter(self.locations))
            self.levels[(variant["inventoryItem"]["id"], location)] = {
                "available": available,
                "on_hand": available,
            }
            return variant

    def _make_variant(
        self,
        number: int,
        product: dict[str, Any],
        *,
        sku: str | None,
        title: str,
        price: str,
        barcode: str | None,
        tracked: bool,
        item_number: int | None = None,
    ) -> dict[str, Any]:
        item_id = gid("InventoryItem", item_number or number)
        variant: dict[str, Any] = {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", number),
            "legacyResourceId": str(number),
            "title": title,
            "displayName": f"{product['title']} - {title}",
            "sku": sku,
            "barcode": barcode,
            "price": price,
            "product": product,
        }
        item: dict[str, Any] = {
            "__typename": "InventoryItem",
            "id": item_id,
            "legacyResourceId": str(item_number or number),
            "sku": sku,
            "tracked": tracked,
            "variant": variant,
            "inventoryLevel": lambda _info, locationId: self._level_record(
                item_id, locationId
            ),
        }
        variant["inventoryItem"] = item
        variant["inventoryQuantity"] = lambda _info: sum(
            level["available"]
            for (i, _loc), level in self.levels.items()
            if i == item_id
        )
        self.variants[variant["id"]] = variant
        self.items[item_id] = item
        self.nodes[variant["id"]] = variant
        self.nodes[item_id] = item
        return variant

    def _level_record(self, item_id: str, location_id: str) -> dict[str, Any] | None:
        level = self.levels.get((item_id, location_id))
        if level is None:
            return None
        location_number = location_id.rsplit("/", 1)[-1]
        item_number = item_id.rsplit("/", 1)[-1]
        level_id = gid(
            "InventoryLevel", f"{location_number}?inventory_item_id={item_number}"
        )
        return {
            "__typename": "InventoryLevel",
            "id": level_id,
            "item": self.items[item_id],
            "location": self.locations[location_id],
            "updatedAt": iso(self.clock.now()),
            "quantities": lambda _info, names: [
                {
                    "id": f"{level_id}&name={n}",
                    "name": n,
                    "quantity": level[n],
                    "updatedAt": None,
                }
                for n in names
                if n in level
            ],
        }

    # ------------------------------------------------------ store changes

    def add_order(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        email: str = "buyer@example.com",
        currency: str = "USD",
        taxes_included: bool = False,
        shipping: str = "0.00",
        shipping_title: str = "Standard",
        discount_code: str | None = None,
        discount_amount: str | None = None,
        address: Mapping[str, str] | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Add an order and return it.

        Each line is a mapping with "sku", "quantity" and "price", and optionally
        "tax_rate" and "tax_title".

        A fixed discount is spread over the lines in proportion to their totals
        (the last line takes the rounding remainder); tax is rounded half-up per line.
        """
        with self.lock:
            return self._add_order(
                lines,
                email=email,
                currency=currency,
                taxes_included=taxes_included,
                shipping=Decimal(shipping),
                shipping_title=shipping_title,
                discount_code=discount_code,
                discount_amount=Decimal(discount_amount) if discount_amount else None,
                address=address,
                created_at=created_at or self.clock.now(),
                updated_at=updated_at,
            )

    def _add_order(
        self,
        lines: Sequence[Mapping[str, Any]],
        *,
        email: str,
        currency: str,
        taxes_included: bool,
        shipping: Decimal,
        shipping_title: str,
        discount_code: str | None,
        discount_amount: Decimal | None,
        address: Mapping[str, str] | None,
        created_at: datetime,
        updated_at: datetime | None,
    ) -> dict[str, Any]:
        number = self._new_id()
        order_number = self._next_order_number
        self._next_order_number += 1
        applications: list[dict[str, Any]] = []
        if discount_amount:
            applications.append(
                {
                    "__typename": "DiscountCodeApplication",
                    "code": discount_code or "DISCOUNT",
                    "index": 0,
                    "allocationMethod": "ACROSS",
                    "targetSelection": "ALL",
                    "targetType": "LINE_ITEM",
                    "value": {
                        "__typename": "MoneyV2",
                        "amount": f"{discount_amount:.2f}",
                        "currencyCode": currency,
                    },
                }
            )
        totals = [Decimal(line["price"]) * int(line["quantity"]) for line in lines]
        shares = _spread(discount_amount or Decimal(0), totals)

        line_items: list[dict[str, Any]] = []
        tax_by_title: dict[tuple[str, Decimal], Decimal] = {}
        for line, line_total, share in zip(lines, totals, shares, strict=True):
            rate = Decimal(str(line.get("tax_rate", "0")))
            taxable_amount = line_total - share
            if taxes_included:
                tax = _cents(taxable_amount * rate / (1 + rate))
            else:
                tax = _cents(taxable_amount * rate)
            title = line.get("tax_title", "Tax")
            tax_lines = []
            if rate:
                tax_lines.append(_tax_line(title, rate, tax, currency))
                tax_by_title[(title, rate)] = (
                    tax_by_title.get((title, rate), Decimal(0)) + tax
                )
            variant = next(
                (v for v in self.variants.values() if v["sku"] == line["sku"]), None
            )
            line_items.append(
                {
                    "__typename": "LineItem",
                    "id": gid("LineItem", self._new_id()),
                    "name": line.get("title", f"Item {line['sku']}"),
                    "title": line.get("title", f"Item {line['sku']}"),
                    "sku": line["sku"],
                    "quantity": int(line["quantity"]),
                    "currentQuantity": int(line["quantity"]),
                    "variantTitle": None,
                    "vendor": None,
                    "requiresShipping": True,
                    "taxable": bool(rate),
                    "originalUnitPriceSet": money_bag(Decimal(line["price"]), currency),
                    "originalTotalSet": money_bag(line_total, currency),
                    "discountedTotalSet": money_bag(line_total - share, currency),
                    "totalDiscountSet": money_bag(Decimal(0), currency),
                    "discountAllocations": (
                        [
                            {
                                "allocatedAmountSet": money_bag(share, currency),
                                "discountApplication": applications[0],
                            }
                        ]
                        if applications
                        else []
                    ),
                    "taxLines": tax_lines,
                    "variant": variant,
                }
            )
        subtotal = sum(totals, Decimal(0)) - (discount_amount or Decimal(0))
        total_tax = sum(tax_by_title.values(), Decimal(0))
        total = subtotal + shipping + (Decimal(0) if taxes_included else total_tax)
        created = iso(created_at)
        order_gid = gid("Order", number)
        place = {
            "name": "Sam Buyer",
            "address1": "1 Main Street",
            "city": "New York",
            "provinceCode": "NY",
            "zip": "10001",
            "countryCodeV2": "US",
            **(address or {}),
        }
        order: dict[str, Any] = {
            "__typename": "Order",
            "id": order_gid,
            "legacyResourceId": str(number),
            "name": f"#{order_number}",
            "createdAt": created,
            "processedAt": created,
            "updatedAt": iso(updated_at) if updated_at else created,
            "cancelledAt": None,
            "cancelReason": None,
            "currencyCode": currency,
            "presentmentCurrencyCode": currency,
            "taxesIncluded": taxes_included,
            "email": email,
            "phone": None,
            "note": None,
            "tags": [],
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "UNFULFILLED",
            "customer": None,
            "billingAddress": _address(self._new_id(), place),
            "shippingAddress": _address(self._new_id(), place),
            "lineItems": line_items,
            "shippingLines": [
                {
                    "id": gid("ShippingLine", self._new_id()),
                    "title": shipping_title,
                    "code": shipping_title,
                    "source": "shopify",
                    "carrierIdentifier": None,
                    "originalPriceSet": money_bag(shipping, currency),
                    "discountedPriceSet": money_bag(shipping, currency),
                    "taxLines": [],
                    "discountAllocations": [],
                }
            ],
            "discountApplications": applications,
            "taxLines": [
                _tax_line(t, r, a, currency) for (t, r), a in tax_by_title.items()
            ],
            "totalPriceSet": money_bag(total, currency),
            "currentTotalPriceSet": money_bag(total, currency),
            "subtotalPriceSet": money_bag(subtotal, currency),
            "totalTaxSet": money_bag(total_tax, currency),
            "totalDiscountsSet": money_bag(discount_amount or Decimal(0), currency),
            "totalShippingPriceSet": money_bag(shipping, currency),
            "totalRefundedSet": money_bag(Decimal(0), currency),
            "refunds": [],
            "fulfillments": [],
        }
        order["fulfillmentOrders"] = [
            self._fulfillment_order(order_gid, "OPEN", created)
        ]
        self.orders[order_gid] = order
        self.nodes[order_gid] = order
        return order

    def _fulfillment_order(
        self, order_gid: str, status: str, moment: str
    ) -> dict[str, Any]:
        record = {
            "__typename": "FulfillmentOrder",
            "id": gid("FulfillmentOrder", self._new_id()),
            "status": status,
            "createdAt": moment,
            "updatedAt": moment,
            "_order": order_gid,
        }
        self.fulfillment_orders[record["id"]] = record
        self.nodes[record["id"]] = record
        return record

    def edit_order(self, order: str | int, **changes: Any) -> dict[str, Any]:
        """Set top-level GraphQL fields of an order and bump its updatedAt to now."""
        with self.lock:
            record = self._find_order(order)
            for key, value in changes.items():
                if key not in record:
                    raise KeyError(f"Order has no field {key!r}")
                record[key] = value
            record["updatedAt"] = iso(self.clock.now())
            return record

    def add_refund(
        self,
        order: str | int,
        lines: Sequence[tuple[str, int]] = (),
        *,
        amount: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Refund (sku, quantity) lines at their discounted price plus tax share."""
        with self.lock:
            record = self._find_order(order)
            currency = record["currencyCode"]
            refund_lines = []
            total = Decimal(0)
            for sku, quantity in lines:
                line = next(li for li in record["lineItems"] if li["sku"] == sku)
                ratio = Decimal(quantity) / line["quantity"]
                subtotal = _cents(_bag_amount(line["discountedTotalSet"]) * ratio)
                line_tax = sum(
                    (_bag_amount(t["priceSet"]) for t in line["taxLines"]), Decimal(0)
                )
                tax = _cents(line_tax * ratio)
                total += subtotal + (Decimal(0) if record["taxesIncluded"] else tax)
                refund_lines.append(
                    {
                        "id": gid("RefundLineItem", self._new_id()),
                        "lineItem": line,
                        "quantity": quantity,
                        "restockType": "RETURN",
                        "restocked": False,
                        "location": None,
                        "priceSet": line["originalUnitPriceSet"],
                        "subtotalSet": money_bag(subtotal, currency),
                        "totalTaxSet": money_bag(tax, currency),
                    }
                )
            refunded = Decimal(amount) if amount is not None else total
            now = iso(self.clock.now())
            number = self._new_id()
            refund: dict[str, Any] = {
                "__typename": "Refund",
                "id": gid("Refund", number),
                "legacyResourceId": str(number),
                "createdAt": now,
                "updatedAt": now,
                "note": note,
                "totalRefundedSet": money_bag(refunded, currency),
                "refundLineItems": refund_lines,
                "transactions": [
                    {
                        "__typename": "OrderTransaction",
                        "id": gid("OrderTransaction", self._new_id()),
                        "kind": "REFUND",
                        "status": "SUCCESS",
                        "gateway": "manual",
                        "amountSet": money_bag(refunded, currency),
                        "processedAt": now,
                        "createdAt": now,
                    }
                ],
            }
            self.nodes[refund["id"]] = refund
            record["refunds"].append(refund)
            already = _bag_amount(record["totalRefundedSet"]) + refunded
            record["totalRefundedSet"] = money_bag(already, currency)
            full = already >= _bag_amount(record["totalPriceSet"])
            record["displayFinancialStatus"] = (
                "REFUNDED" if full else "PARTIALLY_REFUNDED"
            )
            record["updatedAt"] = now
            return refund

    def sell(
        self, sku: str, quantity: int = 1, *, location_id: str | None = None
    ) -> dict[str, Any]:
        """Sell on the channel: take the channel's own stock and record an order.

        Raises OutOfStock when the channel's figure at the location is below
        `quantity`, as a storefront refuses to sell what it shows as gone.
        """
        with self.lock:
            variant = self.variant_by_sku(sku)
            item_id = variant["inventoryItem"]["id"]
            if location_id is None:
                location_id = next(
                    (loc for (i, loc) in self.levels if i == item_id), None
                )
            level = self.levels.get((item_id, location_id or ""))
            if level is None or level["available"] < quantity:
                in_stock = 0 if level is None else level["available"]
                raise OutOfStock(
                    f"SKU {sku} shows {in_stock} available; "
                    f"a sale of {quantity} is refused"
                )
            level["available"] -= quantity
            level["on_hand"] -= quantity
            return self._add_order(
                [{"sku": sku, "quantity": quantity, "price": variant["price"]}],
                email="shopper@example.com",
                currency="USD",
                taxes_included=False,
                shipping=Decimal(0),
                shipping_title="Standard",
                discount_code=None,
                discount_amount=None,
                address=None,
                created_at=self.clock.now(),
                updated_at=None,
            )

    def generate_orders(
        self,
        count: int,
        skus: Sequence[str],
        *,
        start: datetime | None = None,
        step: timedelta = timedelta(minutes=1),
    ) -> list[dict[str, Any]]:
        """Add `count` orders of 1-3 lines, updated `step` apart, all in the past."""
        rng = random.Random(count)
        first_time = start or (self.clock.now() - step * (count + 1))
        created = []
        for index in range(count):
            moment = first_time + step * index
            lines = [
                {
                    "sku": skus[(index + n) % len(skus)],
                    "quantity": rng.randint(1, 3),
                    "price": f"{rng.randint(500, 9999) / 100:.2f}",
                    "tax_rate": "0.08",
                    "tax_title": "NY State Tax",
                }
                for n in range(rng.randint(1, 3))
            ]
            created.append(self.add_order(lines, created_at=moment))
        return created

    # ----------------------------------------------------------- seed data

    def _load_seed(self, data_dir: Path) -> None:
        shopify = data_dir / "shopify"
        for rest in _read(shopify / "locations.json")["locations"]:
            record = {
                "__typename": "Location",
                "id": gid("Location", rest["id"]),
                "legacyResourceId": str(rest["id"]),
                "name": rest["name"],
                "isActive": rest["active"],
                "fulfillsOnlineOrders": True,
                "address": {
                    "address1": rest["address1"],
                    "address2": rest["address2"],
                    "city": rest["city"],
                    "country": rest["country_name"],
                    "countryCode": rest["country_code"],
                    "province": rest["province"],
                    "provinceCode": rest["province_code"],
                    "zip": rest["zip"],
                },
                "_legacy": rest["legacy"],
            }
            self.locations[record["id"]] = record
            self.nodes[record["id"]] = record

        for rest in _read(shopify / "products.json")["products"]:
            product = {
                "__typename": "Product",
                "id": gid("Product", rest["id"]),
                "legacyResourceId": str(rest["id"]),
                "title": rest["title"],
                "handle": rest["handle"],
                "vendor": rest["vendor"],
            }
            for variant in rest["variants"]:
                self._make_variant(
                    variant["id"],
                    product,
                    sku=variant["sku"] or None,
                    title=variant["title"],
                    price=variant["price"],
                    barcode=variant.get("barcode"),
                    tracked=variant.get("inventory_management") == "shopify",
                    item_number=variant["inventory_item_id"],
                )
        for rest in _read(shopify / "inventory_levels.json")["inventory_levels"]:
            pair = (
                gid("InventoryItem", rest["inventory_item_id"]),
                gid("Location", rest["location_id"]),
            )
            if pair[0] in self.items and pair[1] in self.locations:
                self.levels[pair] = {
                    "available": rest["available"],
                    "on_hand": rest["available"],
                }

        extra_refunds = _read(shopify / "refunds.json")["refunds"]
        orders = _read(shopify / "orders.json")["orders"] + [
            _read(shopify / "order.json")["order"]
        ]
        for rest in orders:
            if gid("Order", rest["id"]) in self.orders:
                continue
            refunds = list(rest.get("refunds", []))
            known = {r["id"] for r in refunds}
            refunds += [
                r
                for r in extra_refunds
                if r["order_id"] == rest["id"] and r["id"] not in known
            ]
            self._order_from_rest(rest, refunds)
            self._next_order_number = max(
                self._next_order_number, rest["order_number"] + 1
            )

    def _order_from_rest(
        self, rest: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        currency = rest["currency"]
        applications = [
            _discount_application(i, a, currency)
            for i, a in enumerate(rest["discount_applications"])
        ]
        lines_by_id: dict[int, dict[str, Any]] = {}
        line_items = []
        for li in rest["line_items"]:
            unit = _bag_from_rest(li["price_set"])
            quantity = li["quantity"]
            allocations = [
                {
                    "allocatedAmountSet": _bag_from_rest(a["amount_set"]),
                    "discountApplication": applications[
                        a["discount_application_index"]
                    ],
                }
                for a in li["discount_allocations"]
            ]
            original = _bag_amount(unit) * quantity
            allocated = sum(
                (_bag_amount(a["allocatedAmountSet"]) for a in allocations), Decimal(0)
            )
            record = {
                "__typename": "LineItem",
                "id": gid("LineItem", li["id"]),
                "name": li["name"],
                "title": li["title"],
                "sku": li["sku"] or None,
                "quantity": quantity,
                "currentQuantity": li.get("current_quantity", quantity),
                "variantTitle": li.get("variant_title"),
                "vendor": li.get("vendor"),
                "requiresShipping": li["requires_shipping"],
                "taxable": li["taxable"],
                "originalUnitPriceSet": unit,
                "originalTotalSet": money_bag(original, currency),
                "discountedTotalSet": money_bag(original - allocated, currency),
                "totalDiscountSet": _bag_from_rest(li["total_discount_set"]),
                "discountAllocations": allocations,
                "taxLines": [_tax_line_from_rest(t) for t in li["tax_lines"]],
                "variant": self.variants.get(gid("ProductVariant", li["variant_id"])),
            }
            lines_by_id[li["id"]] = record
            line_items.append(record)

        order_gid = gid("Order", rest["id"])
        order: dict[str, Any] = {
            "__typename": "Order",
            "id": order_gid,
            "legacyResourceId": str(rest["id"]),
            "name": rest["name"],
            "createdAt": _iso_or_none(rest["created_at"]),
            "processedAt": _iso_or_none(rest["processed_at"]),
            "updatedAt": _iso_or_none(rest["updated_at"]),
            "cancelledAt": _iso_or_none(rest["cancelled_at"]),
            "cancelReason": rest["cancel_reason"].upper()
            if rest["cancel_reason"]
            else None,
            "currencyCode": currency,
            "presentmentCurrencyCode": rest["presentment_currency"],
            "taxesIncluded": rest["taxes_included"],
            "email": rest["email"],
            "phone": rest["phone"],
            "note": rest["note"],
            "tags": [t.strip() for t in rest["tags"].split(",") if t.strip()],
            "displayFinancialStatus": rest["financial_status"].upper()
            if rest["financial_status"]
            else None,
            "displayFulfillmentStatus": {
                None: "UNFULFILLED",
                "partial": "PARTIALLY_FULFILLED",
                "fulfilled": "FULFILLED",
            }.get(rest["fulfillment_status"], "UNFULFILLED"),
            "customer": _customer_from_rest(rest.get("customer")),
            "billingAddress": _address_from_rest(
                self._new_id(), rest.get("billing_address")
            ),
            "shippingAddress": _address_from_rest(
                self._new_id(), rest.get("shipping_address")
            ),
            "lineItems": line_items,
            "shippingLines": [
                {
                    "id": gid("ShippingLine", s["id"]),
                    "title": s["title"],
                    "code": s["code"],
                    "source": s["source"],
                    "carrierIdentifier": s["carrier_identifier"],
                    "originalPriceSet": _bag_from_rest(s["price_set"]),
                    "discountedPriceSet": _bag_from_rest(s["discounted_price_set"]),
                    "taxLines": [_tax_line_from_rest(t) for t in s["tax_lines"]],
                    "discountAllocations": [
                        {
                            "allocatedAmountSet": _bag_from_rest(a["amount_set"]),
                            "discountApplication": applications[
                                a["discount_application_index"]
                            ],
                        }
                        for a in s["discount_allocations"]
                    ],
                }
                for s in rest["shipping_lines"]
            ],
            "discountApplications": applications,
            "taxLines": [_tax_line_from_rest(t) for t in rest["tax_lines"]],
            "totalPriceSet": _bag_from_rest(rest["total_price_set"]),
            "currentTotalPriceSet": _bag_from_rest(rest["current_total_price_set"]),
            "subtotalPriceSet": _bag_from_rest(rest["subtotal_price_set"]),
            "totalTaxSet": _bag_from_rest(rest["total_tax_set"]),
            "totalDiscountsSet": _bag_from_rest(rest["total_discounts_set"]),
            "totalShippingPriceSet": _bag_from_rest(rest["total_shipping_price_set"]),
            "refunds": [
                self._refund_from_rest(r, lines_by_id, currency) for r in refunds
            ],
            "fulfillments": [_fulfillment_from_rest(f) for f in rest["fulfillments"]],
        }
        refunded = sum(
            (_bag_amount(r["totalRefundedSet"]) for r in order["refunds"]), Decimal(0)
        )
        order["totalRefundedSet"] = money_bag(refunded, currency)
        fulfillable = any(
            li.get("fulfillable_quantity", 0) > 0 for li in rest["line_items"]
        )
        created = order["createdAt"]
        order["fulfillmentOrders"] = [
            self._fulfillment_order(
                order_gid, "OPEN" if fulfillable else "CLOSED", created
            )
        ]
        for record in (*order["refunds"], *order["fulfillments"]):
            self.nodes[record["id"]] = record
        self.orders[order_gid] = order
        self.nodes[order_gid] = order
        return order

    def _refund_from_rest(
        self,
        rest: Mapping[str, Any],
        lines_by_id: Mapping[int, dict[str, Any]],
        currency: str,
    ) -> dict[str, Any]:
        transactions = [
            {
                "__typename": "OrderTransaction",
                "id": gid("OrderTransaction", t["id"]),
                "kind": t["kind"].upper(),
                "status": t["status"].upper(),
                "gateway": t["gateway"],
                "amountSet": money_bag(Decimal(t["amount"]), t["currency"]),
                "processedAt": _iso_or_none(t["processed_at"]),
                "createdAt": _iso_or_none(t["created_at"]),
            }
            for t in rest["transactions"]
        ]
        refunded = sum(
            (
                Decimal(t["amount"])
                for t in rest["transactions"]
                if t["kind"] == "refund" and t["status"] == "success"
            ),
            Decimal(0),
        )
        return {
            "__typename": "Refund",
            "id": gid("Refund", rest["id"]),
            "legacyResourceId": str(rest["id"]),
            "createdAt": _iso_or_none(rest["created_at"]),
            "updatedAt": _iso_or_none(rest.get("processed_at") or rest["created_at"]),
            "note": rest["note"],
            "totalRefundedSet": money_bag(refunded, currency),
            "refundLineItems": [
                {
                    "id": gid("RefundLineItem", r["id"]),
                    "lineItem": lines_by_id[r["line_item_id"]],
                    "quantity": r["quantity"],
                    "restockType": r["restock_type"].upper(),
                    "restocked": r["restock_type"] != "no_restock",
                    "location": self.locations.get(gid("Location", r["location_id"])),
                    "priceSet": lines_by_id[r["line_item_id"]]["originalUnitPriceSet"],
                    "subtotalSet": _bag_from_rest(r["subtotal_set"]),
                    "totalTaxSet": _bag_from_rest(r["total_tax_set"]),
                }
                for r in rest["refund_line_items"]
            ],
            "transactions": transactions,
        }


# ------------------------------------------------------------ conversions


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `amount` in proportion to `weights`; the last share takes the rest."""
    total = sum(weights, Decimal(0))
    if not amount or not total:
        return [Decimal(0)] * len(weights)
    shares = [_cents(amount * w / total) for w in weights[:-1]]
    return [*shares, amount - sum(shares, Decimal(0))]


def _tax_line(
    title: str, rate: Decimal, amount: Decimal, currency: str
) -> dict[str, Any]:
    return {
        "title": title,
        "rate": float(rate),
        "ratePercentage": float(rate * 100),
        "priceSet": money_bag(amount, currency),
        "channelLiable": False,
    }


def _tax_line_from_rest(rest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": rest["title"],
        "rate": rest["rate"],
        "ratePercentage": float(Decimal(str(rest["rate"])) * 100),
        "priceSet": _bag_from_rest(rest["price_set"]),
        "channelLiable": rest.get("channel_liable"),
    }


def _discount_application(
    index: int, rest: Mapping[str, Any], currency: str
) -> dict[str, Any]:
    typename = {
        "discount_code": "DiscountCodeApplication",
        "automatic": "AutomaticDiscountApplication",
        "manual": "ManualDiscountApplication",
        "script": "ScriptDiscountApplication",
    }[rest["type"]]
    if rest["value_type"] == "percentage":
        value: dict[str, Any] = {
            "__typename": "PricingPercentageValue",
            "percentage": float(rest["value"]),
        }
    else:
        value = {
            "__typename": "MoneyV2",
            "amount": rest["value"],
            "currencyCode": currency,
        }
    record = {
        "__typename": typename,
        "index": index,
        "allocationMethod": rest["allocation_method"].upper(),
        "targetSelection": rest["target_selection"].upper(),
        "targetType": rest["target_type"].upper(),
        "value": value,
        "code": rest.get("code"),
        "title": rest.get("title") or rest.get("code") or "",
        "description": rest.get("description"),
    }
    return record


def _customer_from_rest(rest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not rest:
        return None
    name = " ".join(p for p in (rest.get("first_name"), rest.get("last_name")) if p)
    return {
        "__typename": "Customer",
        "id": gid("Customer", rest["id"]),
        "legacyResourceId": str(rest["id"]),
        "firstName": rest.get("first_name"),
        "lastName": rest.get("last_name"),
        "displayName": name or rest.get("email") or "",
        "email": rest.get("email"),
        "phone": rest.get("phone"),
        "defaultEmailAddress": {"emailAddress": rest["email"]}
        if rest.get("email")
        else None,
    }


def _address(number: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "address1",
        "address2",
        "city",
        "company",
        "country",
        "countryCodeV2",
        "firstName",
        "lastName",
        "name",
        "phone",
        "province",
        "provinceCode",
        "zip",
    )
    record: dict[str, Any] = {key: fields.get(key) for key in keys}
    record["__typename"] = "MailingAddress"
    record["id"] = gid("MailingAddress", number)
    return record


def _address_from_rest(
    number: int, rest: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if not rest:
        return None
    return _address(
        number,
        {
            "address1": rest.get("address1"),
            "address2": rest.get("address2"),
            "city": rest.get("city"),
            "company": rest.get("company"),
            "country": rest.get("country"),
            "countryCodeV2": rest.get("country_code"),
            "firstName": rest.get("first_name"),
            "lastName": rest.get("last_name"),
            "name": rest.get("name"),
            "phone": rest.get("phone"),
            "province": rest.get("province"),
            "provinceCode": rest.get("province_code"),
            "zip": rest.get("zip"),
        },
    )


def _fulfillment_from_rest(rest: Mapping[str, Any]) -> dict[str, Any]:
    numbers = rest.get("tracking_numbers") or []
    urls = rest.get("tracking_urls") or []
    return {
        "__typename": "Fulfillment",
        "id": gid("Fulfillment", rest["id"]),
        "name": rest["name"],
        "status": rest["status"].upper(),
        "createdAt": _iso_or_none(rest["created_at"]),
        "updatedAt": _iso_or_none(rest["updated_at"]),
        "trackingInfo": [
            {
                "company": rest.get("tracking_company"),
                "number": n,
                "url": urls[i] if i < len(urls) else None,
            }
            for i, n in enumerate(numbers)
        ],
    }


def _term_value(match: re.Match[str]) -> str:
    return match.group("q1") or match.group("q2") or match.group("bare") or ""


def _matches_search(order: Mapping[str, Any], query: str | None) -> bool:
    """Apply the date terms of a search query, such as updated_at:>=2026-01-01."""
    if not query:
        return True
    fields = {
        "updated_at": "updatedAt",
        "created_at": "createdAt",
        "processed_at": "processedAt",
    }
    for match in _SEARCH_TERM.finditer(query):
        field = fields.get(match.group("field"))
        if field is None:
            continue
        bound = datetime.fromisoformat(_term_value(match))
        if bound.tzinfo is None:
            bound = bound.replace(tzinfo=UTC)
        value = datetime.fromisoformat(order[field])
        op = match.group("op") or "="
        ok = {
            ">=": value >= bound,
            ">": value > bound,
            "<=": value <= bound,
            "<": value < bound,
            "=": value == bound,
        }[op]
        if not ok:
            return False
    return True
