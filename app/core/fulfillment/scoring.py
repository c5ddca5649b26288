"""Choosing the warehouse an order ships from, or a split over several.

Each candidate warehouse gets four sub-scores from 0 (worst) to 1 (best):

- distance: ``half / (half + d)`` for a great-circle distance of ``d`` km
  to the destination, where ``half`` is the ``distance_half_km`` setting
  (default 500 km: 0 km scores 1, 500 km 0.5, 1500 km 0.25). Unknown
  coordinates score 0.
- stock: the share of the order's units that the warehouse has available
  (on hand minus reserved), counted per SKU.
- cost: the cheapest price over all candidates divided by this
  warehouse's rate-table price for the whole parcel, so the cheapest scores
  1 and twice its price 0.5. No applicable rate scores 0.
- workload: ``1 - open / capacity`` for ``open`` fulfillment requests
  against the daily capacity, at least 0; no capacity set scores 1.

The total is the weighted mean of the four with the owner's weights. One
shipment is preferred: among the eligible warehouses that can ship every
line, the best owner priority rank wins, then the highest total, then the
default warehouse, then the lowest id. When none can, lines are split
greedily: the best warehouse (by rank, then total with the stock score
taken over the lines still open) takes every line it can ship whole, and
so on until no warehouse can take another line. Lines nobody can ship
whole stay with the chosen warehouse holding most of their SKU (the first
one on a tie) and are reserved short there.

Warehouses, coordinates, rate tables, rules, workload and SKU weights are
loaded once per session into a :class:`RoutingContext`; after that a
decision runs one query, the stock look-up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.catalog import get_warehouse
from app.core.exceptions import NotFound
from app.core.fulfillment.geo import Point, distance_km, locate
from app.core.fulfillment.rates import RateTable
from app.core.fulfillment.settings import RoutingWeights, fulfillment_settings
from app.core.models import FulfillmentRequest, StockLevel, Variant, Warehouse
from app.core.models.fulfillment import RoutingDecision, RoutingRule, RoutingScore
from app.core.reference import cached, derived
from app.core.shop import get_shop

_NO_RANK = 1_000_000
_SCORE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class NeedLine:
    """One order line to route: ``quantity`` units of ``variant_id``."""

    line_id: int
    line_no: int
    variant_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Destination:
    country: str | None
    region: str | None = None
    postcode: str | None = None

    @property
    def text(self) -> str:
        parts = [self.postcode or "", self.region or "", self.country or ""]
        return " ".join(p for p in parts if p) or "unknown destination"


@dataclass(slots=True)
class WarehouseInfo:
    id: int
    code: str
    country: str
    point: Point | None
    capacity: int | None


@dataclass(slots=True)
class RoutingContext:
    """Routing inputs read once per session instead of once per order."""

    default_id: int
    warehouses: list[WarehouseInfo]
    rates: RateTable
    weights: RoutingWeights
    half_km: float
    packaging_g: int
    ranks: dict[int, int]
    excluded: set[int]
    excluded_for: dict[int, set[int]]
    only_for: dict[int, set[int]]
    workload: dict[int, int]
    variant_weights: dict[int, int] = field(default_factory=dict)
    points: dict[tuple[str, str, str], Point | None] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> RoutingContext:
        """Return the settings part from the shared cache, with today's workload."""
        settings_part = cached(session, "routing_context", cls._load_settings)
        workload = {
            int(warehouse_id): int(count)
            for warehouse_id, count in session.execute(
                select(FulfillmentRequest.warehouse_id, func.count())
                .where(FulfillmentRequest.status == "open")
                .group_by(FulfillmentRequest.warehouse_id)
            ).all()
        }
        return replace(settings_part, workload=workload, variant_weights={})

    @classmethod
    def _load_settings(cls, session: Session) -> RoutingContext:
        shop = get_shop(session)
        settings = fulfillment_settings(session)
        rows = session.scalars(
            select(Warehouse)
            .where(Warehouse.active.is_(True), Warehouse.is_quarantine.is_(False))
            .order_by(Warehouse.id)
        ).all()
        if not rows:
            raise NotFound(
                "the shop has no warehouse yet; add one in Settings > Warehouses"
            )
        warehouses = [
            WarehouseInfo(
                w.id, w.code, w.country.upper(), _warehouse_point(w), w.daily_capacity
            )
            for w in rows
        ]
        ranks: dict[int, int] = {}
        excluded: set[int] = set()
        excluded_for: dict[int, set[int]] = {}
        only_for: dict[int, set[int]] = {}
        for rule in session.scalars(
            select(RoutingRule).where(RoutingRule.active.is_(True))
        ):
            if rule.kind == "priority" and rule.rank is not None:
                ranks[rule.warehouse_id] = rule.rank
            elif rule.kind == "exclude" and rule.channel_id is None:
                excluded.add(rule.warehouse_id)
            elif rule.kind == "exclude" and rule.channel_id is not None:
                excluded_for.setdefault(rule.channel_id, set()).add(rule.warehouse_id)
            elif rule.kind == "only" and rule.channel_id is not None:
                only_for.setdefault(rule.channel_id, set()).add(rule.warehouse_id)
        default_id = shop.default_warehouse_id or warehouses[0].id
        return cls(
            default_id=default_id,
            warehouses=warehouses,
            rates=RateTable.load(session, shop.currency, settings.fx_rates),
            weights=settings.weights,
            half_km=float(settings.distance_half_km),
            packaging_g=settings.packaging_weight_g,
            ranks=ranks,
            excluded=excluded,
            excluded_for=excluded_for,
            only_for=only_for,
            workload={},
        )

    def locate(self, destination: Destination) -> Point | None:
        key = (
            (destination.country or "").upper(),
            (destination.region or "").upper(),
            (destination.postcode or "").strip()[:5],
        )
        if key not in self.points:
            self.points[key] = locate(*key)
        return self.points[key]

    def note_assigned(self, warehouse_ids: Sequence[int]) -> None:
        """Count a new open request at each warehouse for later decisions."""
        for warehouse_id in warehouse_ids:
            self.workload[warehouse_id] = self.workload.get(warehouse_id, 0) + 1


def _warehouse_point(warehouse: Warehouse) -> Point | None:
    if warehouse.latitude is not None and warehouse.longitude is not None:
        return Point(float(warehouse.latitude), float(warehouse.longitude), "exact")
    return locate(warehouse.country, warehouse.region, warehouse.postcode)


def routing_context(session: Session) -> RoutingContext:
    """Return the transaction's routing context, loading it on first use."""
    values = derived(session)
    ctx = values.get("routing_context_now")
    if ctx is None:
        ctx = RoutingContext.load(session)
        values["routing_context_now"] = ctx
    assert isinstance(ctx, RoutingContext)
    return ctx


@dataclass(frozen=True, slots=True)
class Candidate:
    """One warehouse's sub-scores for the whole order; see the module docstring."""

    warehouse_id: int
    code: str
    eligible: bool
    reason: str
    distance_km: float | None
    distance_score: float
    stock_score: float
    cost_minor: int | None
    cost_service: str | None
    cost_score: float
    workload_score: float
    open_picks: int
    capacity: int | None
    rank: int | None
    total: float

    @property
    def scores_text(self) -> str:
        return (
            f"distance {self.distance_score:.2f}, stock {self.stock_score:.2f}, "
            f"cost {self.cost_score:.2f}, workload {self.workload_score:.2f}"
        )


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """A routing result: ``lines`` maps order line id to warehouse id."""

    warehouse_id: int
    lines: Mapping[int, int]
    candidates: tuple[Candidate, ...]
    split: bool
    summary: str
    destination: str
    weights: RoutingWeights

    def warehouse_for(self, line_id: int) -> int:
        return self.lines.get(line_id, self.warehouse_id)

    @property
    def warehouses(self) -> list[int]:
        """The warehouses that ship something, the main one first."""
        found = [self.warehouse_id]
        for warehouse_id in self.lines.values():
            if warehouse_id not in found:
                found.append(warehouse_id)
        return found


def _available(
    session: Session, variant_ids: Sequence[int]
) -> dict[tuple[int, int], int]:
    if not variant_ids:
        return {}
    rows = session.execute(
        select(
            StockLevel.variant_id,
            StockLevel.warehouse_id,
            StockLevel.on_hand - StockLevel.reserved,
        ).where(StockLevel.variant_id.in_(variant_ids))
    ).all()
    return {(v, w): max(int(q), 0) for v, w, q in rows}


def _weights_of(session: Session, ctx: RoutingContext, variant_ids: set[int]) -> None:
    missing = [v for v in variant_ids if v not in ctx.variant_weights]
    if missing:
        rows = session.execute(
            select(Variant.id, Variant.weight_g).where(Variant.id.in_(missing))
        ).all()
        for variant_id, weight in rows:
            ctx.variant_weights[variant_id] = weight or 0


def _units_covered(
    needs: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouse_id: int,
) -> int:
    return sum(
        min(qty, available.get((variant_id, warehouse_id), 0))
        for variant_id, qty in needs.items()
    )


def _whole_lines(
    lines: Sequence[NeedLine],
    available: Mapping[tuple[int, int], int],
    warehouse_id: int,
) -> list[NeedLine]:
    """Return the lines the warehouse can ship in full, in line order."""
    left: dict[int, int] = {}
    whole = []
    for line in lines:
        have = left.get(line.variant_id)
        if have is None:
            have = available.get((line.variant_id, warehouse_id), 0)
        if have >= line.quantity:
            whole.append(line)
            have -= line.quantity
        left[line.variant_id] = have
    return whole


def _weighted(ctx: RoutingContext, d: float, s: float, c: float, w: float) -> float:
    weights = ctx.weights
    return (
        weights.distance * d
        + weights.stock * s
        + weights.cost * c
        + weights.workload * w
    ) / weights.total


def _eligibility(
    ctx: RoutingContext, warehouse: WarehouseInfo, channel_id: int | None
) -> tuple[bool, str]:
    if warehouse.id in ctx.excluded:
        return False, "excluded by a routing rule"
    if channel_id is not None:
        if warehouse.id in ctx.excluded_for.get(channel_id, set()):
            return False, "excluded for this channel by a routing rule"
        only = ctx.only_for.get(channel_id)
        if only is not None and warehouse.id not in only:
            codes = ", ".join(w.code for w in ctx.warehouses if w.id in only)
            return False, f"this channel ships only from {codes or 'another warehouse'}"
    return True, ""


def score_candidates(
    ctx: RoutingContext,
    lines: Sequence[NeedLine],
    destination: Destination,
    available: Mapping[tuple[int, int], int],
    channel_id: int | None,
) -> list[Candidate]:
    """Score every active warehouse for the whole order."""
    needs: dict[int, int] = {}
    for line in lines:
        needs[line.variant_id] = needs.get(line.variant_id, 0) + line.quantity
    units = sum(needs.values())
    weight = ctx.packaging_g + sum(
        ctx.variant_weights.get(v, 0) * q for v, q in needs.items()
    )
    target = ctx.locate(destination)
    country = (destination.country or "").upper()

    raw = []
    for warehouse in ctx.warehouses:
        eligible, reason = _eligibility(ctx, warehouse, channel_id)
        distance = (
            distance_km(warehouse.point, target)
            if warehouse.point is not None and target is not None
            else None
        )
        quote = (
            ctx.rates.quote(warehouse.id, warehouse.country, country, distance, weight)
            if country
            else None
        )
        raw.append((warehouse, eligible, reason, distance, quote))

    costs = [q.cost_minor for _w, ok, _r, _d, q in raw if ok and q is not None]
    cheapest = min(costs) if costs else None
    candidates = []
    for warehouse, eligible, reason, distance, quote in raw:
        if distance is None:
            distance_score = 0.0
            reason = reason or "no coordinates for the warehouse or the destination"
        else:
            distance_score = ctx.half_km / (ctx.half_km + distance)
        stock_score = (
            _units_covered(needs, available, warehouse.id) / units if units else 1.0
        )
        if quote is None or cheapest is None:
            cost_score = 0.0
        elif quote.cost_minor == 0:
            cost_score = 1.0
        else:
            cost_score = cheapest / quote.cost_minor
        open_picks = ctx.workload.get(warehouse.id, 0)
        if warehouse.capacity:
            workload_score = max(0.0, 1.0 - open_picks / warehouse.capacity)
        else:
            workload_score = 1.0
        candidates.append(
            Candidate(
                warehouse_id=warehouse.id,
                code=warehouse.code,
                eligible=eligible,
                reason=reason,
                distance_km=distance,
                distance_score=distance_score,
                stock_score=stock_score,
                cost_minor=quote.cost_minor if quote else None,
                cost_service=quote.service if quote else None,
                cost_score=cost_score,
                workload_score=workload_score,
                open_picks=open_picks,
                capacity=warehouse.capacity,
                rank=ctx.ranks.get(warehouse.id),
                total=_weighted(
                    ctx, distance_score, stock_score, cost_score, workload_score
                ),
            )
        )
    return candidates


def _key(
    ctx: RoutingContext, candidate: Candidate, total: float
) -> tuple[int, float, bool, int]:
    """Sort key: priority rank, then total, then the default warehouse, then id."""
    rank = candidate.rank if candidate.rank is not None else _NO_RANK
    # Rounded so that float noise never decides between equal scores.
    return (
        rank,
        -round(total, 9),
        candidate.warehouse_id != ctx.default_id,
        candidate.warehouse_id,
    )


def _split(
    ctx: RoutingContext,
    lines: Sequence[NeedLine],
    eligible: Sequence[Candidate],
    available: Mapping[tuple[int, int], int],
) -> list[tuple[Candidate, list[NeedLine]]]:
    """Assign lines greedily to warehouses that can ship them whole."""
    remaining = list(lines)
    stock = dict(available)
    chosen: list[tuple[Candidate, list[NeedLine]]] = []
    used: set[int] = set()
    while remaining:
        best: tuple[tuple[int, float, bool, int], Candidate, list[NeedLine]] | None = (
            None
        )
        open_units = sum(line.quantity for line in remaining)
        for candidate in eligible:
            if candidate.warehouse_id in used:
                continue
            whole = _whole_lines(remaining, stock, candidate.warehouse_id)
            if not whole:
                continue
            share = sum(line.quantity for line in whole) / open_units
            total = _weighted(
                ctx,
                candidate.distance_score,
                share,
                candidate.cost_score,
                candidate.workload_score,
            )
            key = _key(ctx, candidate, total)
            if best is None or key < best[0]:
                best = (key, candidate, whole)
        if best is None:
            break
        _, candidate, whole = best
        used.add(candidate.warehouse_id)
        for line in whole:
            slot = (line.variant_id, candidate.warehouse_id)
            stock[slot] = stock.get(slot, 0) - line.quantity
        taken = {line.line_id for line in whole}
        remaining = [line for line in remaining if line.line_id not in taken]
        chosen.append((candidate, whole))
    if not chosen:
        return []
    for line in remaining:
        holder = max(
            chosen,
            key=lambda pair: stock.get((line.variant_id, pair[0].warehouse_id), 0),
        )
        slot = (line.variant_id, holder[0].warehouse_id)
        stock[slot] = max(0, stock.get(slot, 0) - line.quantity)
        holder[1].append(line)
    return chosen


def _numbers(lines: Sequence[NeedLine]) -> str:
    return ", ".join(str(n) for n in sorted(line.line_no for line in lines))


def plan_route(
    session: Session,
    lines: Sequence[NeedLine],
    destination: Destination,
    *,
    channel_id: int | None = None,
    requested: str | None = None,
) -> RoutePlan:
    """Choose the warehouse (or a split) for lines going to ``destination``."""
    ctx = routing_context(session)
    variant_ids = sorted({line.variant_id for line in lines})
    _weights_of(session, ctx, set(variant_ids))
    available = _available(session, variant_ids)
    ordered = sorted(lines, key=lambda line: line.line_no)
    candidates = score_candidates(ctx, ordered, destination, available, channel_id)

    def plan(warehouse_id: int, assignment: dict[int, int], summary: str) -> RoutePlan:
        return RoutePlan(
            warehouse_id=warehouse_id,
            lines=assignment,
            candidates=tuple(candidates),
            split=len(set(assignment.values()) | {warehouse_id}) > 1,
            summary=summary,
            destination=destination.text,
            weights=ctx.weights,
        )

    if requested:
        warehouse = get_warehouse(session, requested)
        return plan(
            warehouse.id,
            {line.line_id: warehouse.id for line in ordered},
            f"{warehouse.code}: warehouse requested on the order",
        )
    eligible = [c for c in candidates if c.eligible]
    if not eligible:
        default = next(
            (w for w in ctx.warehouses if w.id == ctx.default_id), ctx.warehouses[0]
        )
        return plan(
            default.id,
            {line.line_id: default.id for line in ordered},
            f"{default.code}: no warehouse passes the routing rules, so the "
            "default warehouse was used",
        )
    ranked = sorted(eligible, key=lambda c: _key(ctx, c, c.total))
    full = [c for c in ranked if math.isclose(c.stock_score, 1.0)]
    if full:
        winner = full[0]
        runner = next((c for c in ranked if c is not winner), None)
        why = (
            f"priority {winner.rank} among warehouses that have every line"
            if winner.rank is not None
            else "best score among warehouses that have every line"
        )
        summary = (
            f"{winner.code}: {why}; total {winner.total:.3f} ({winner.scores_text})"
        )
        if runner is not None:
            summary += f"; next {runner.code} {runner.total:.3f}"
        return plan(
            winner.warehouse_id,
            {line.line_id: winner.warehouse_id for line in ordered},
            summary,
        )

    parts = _split(ctx, ordered, ranked, available)
    if len(parts) > 1:
        assignment = {
            line.line_id: candidate.warehouse_id
            for candidate, part_lines in parts
            for line in part_lines
        }
        described = "; ".join(
            f"{c.code} line{'s' if len(ls) > 1 else ''} {_numbers(ls)}"
            for c, ls in parts
        )
        return plan(
            parts[0][0].warehouse_id,
            assignment,
            f"split: {described} (no single warehouse has every line)",
        )
    winner = parts[0][0] if parts else ranked[0]
    return plan(
        winner.warehouse_id,
        {line.line_id: winner.warehouse_id for line in ordered},
        f"{winner.code}: no warehouse has every line; it has the most "
        f"(total {winner.total:.3f}, {winner.scores_text})",
    )


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_SCORE_PLACES)


def record_decision(
    session: Session, order_id: int, plan: RoutePlan, lines: Sequence[NeedLine]
) -> RoutingDecision:
    """Store the plan and every candidate's scores as the order's newest decision."""
    decision = RoutingDecision(
        order_id=order_id,
        weights={
            "distance": plan.weights.distance,
            "stock": plan.weights.stock,
            "cost": plan.weights.cost,
            "workload": plan.weights.workload,
        },
        split=plan.split,
        destination=plan.destination,
        summary=plan.summary,
    )
    session.add(decision)
    session.flush()
    numbers: dict[int, list[int]] = {}
    for line in lines:
        numbers.setdefault(plan.warehouse_for(line.line_id), []).append(line.line_no)
    chosen = set(plan.warehouses)
    session.add_all(
        RoutingScore(
            decision_id=decision.id,
            warehouse_id=c.warehouse_id,
            eligible=c.eligible,
            reason=c.reason,
            distance_km=_decimal(c.distance_km) if c.distance_km is not None else None,
            distance_score=_decimal(c.distance_score),
            stock_score=_decimal(c.stock_score),
            cost_minor=c.cost_minor,
            cost_service=c.cost_service,
            cost_score=_decimal(c.cost_score),
            workload_score=_decimal(c.workload_score),
            open_picks=c.open_picks,
            capacity=c.capacity,
            rank=c.rank,
            total=_decimal(c.total),
            chosen=c.warehouse_id in chosen,
            line_numbers=", ".join(
                str(n) for n in sorted(numbers.get(c.warehouse_id, []))
            ),
        )
        for c in plan.candidates
    )
    return decision
