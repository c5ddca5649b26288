"""Routing worked examples: coordinates, stock, rates, capacities and weights.

The US examples use a shop with three warehouses located by ZIP code
(coordinates from the ``zipcodes`` package) and a customer in San Francisco
(ZIP 94105). Great-circle distances to 94105:

    LAX  Los Angeles 90012    557.8 km   distance score 500/(500+557.8) = 0.4727
    DAL  Dallas 75201        2379.6 km   500/(500+2379.6) = 0.1736
    EWR  Newark 07102        4111.7 km   500/(500+4111.7) = 0.1084

Rate table "USPS / Ground" (USD, the shop currency): zone "local" up to
1000 km, "regional" up to 3000 km, "national" any other domestic parcel.
Bands (cents): up to 1000 g local 800, regional 1100, national 1500; up to
2000 g local 1000, regional 1400, national 1900.

Capacities: LAX 4 picks a day with 2 open (workload 0.5), DAL 4 with 1 open
(0.75), EWR no capacity set (1.0). Weights: distance 2, stock 4, cost 3,
workload 1 (the defaults), so total = (2 d + 4 s + 3 c + 1 w) / 10.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from app.core import catalog, inventory, shipments
from app.core.exceptions import InvalidTransition
from app.core.fulfillment import rates, rules
from app.core.fulfillment.scoring import (
    Candidate,
    Destination,
    NeedLine,
    RoutePlan,
    plan_route,
)
from app.core.fulfillment.settings import update_fulfillment_settings
from app.core.models import (
    Channel,
    FulfillmentRequest,
    Reservation,
    SalesOrder,
    Shipment,
    Warehouse,
)
from app.core.models.fulfillment import RoutingDecision, RoutingScore
from app.core.order_input import Address, LineInput, OrderInput
from app.core.routing import choose_warehouse
from app.core.uow import UnitOfWork
from tests.helpers import NOON, add_channel, add_sku, capture, load_order, violations

SAN_FRANCISCO = Destination("US", "CA", "94105")


def _us_shop(make_shop) -> Engine:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "us", currency="USD", country="US", timezone="America/New_York"
    )
    with UnitOfWork(engine) as uow:
        for code, postcode, region, capacity in (
            ("LAX", "90012", "CA", 4),
            ("DAL", "75201", "TX", 4),
            ("EWR", "07102", "NJ", None),
        ):
            catalog.create_warehouse(
                uow,
                code,
                code,
                "US",
                postcode=postcode,
                region=region,
                daily_capacity=capacity,
            )
        # MAIN (created with the shop) has no address; keep it out of routing.
        main = uow.session.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
        assert main is not None
        main.active = False
        update_fulfillment_settings(uow, packaging_weight_g=100)
        service = rates.add_service(uow, "USPS", "Ground", "USD")
        rates.add_zone_rule(
            uow, service.id, "local", scope="domestic", max_distance_km=1000
        )
        rates.add_zone_rule(
            uow, service.id, "regional", scope="domestic", max_distance_km=3000
        )
        rates.add_zone_rule(uow, service.id, "national", scope="domestic")
        for zone, light, heavy in (
            ("local", 800, 1000),
            ("regional", 1100, 1400),
            ("national", 1500, 1900),
        ):
            rates.set_rate(uow, service.id, zone, 1000, light)
            rates.set_rate(uow, service.id, zone, 2000, heavy)
        _open_requests(uow, {"LAX": 2, "DAL": 1})
        uow.commit()
    add_sku(engine, "MUG", weight_g=400)
    add_sku(engine, "TEA", weight_g=200)
    return engine


def _open_requests(uow: UnitOfWork, counts: dict[str, int]) -> None:
    """Give warehouses open fulfillment requests from earlier orders."""
    session = uow.session
    channel = session.scalar(select(Channel).where(Channel.name == "Manual"))
    assert channel is not None
    number = 0
    for code, count in counts.items():
        warehouse = catalog.get_warehouse(session, code)
        for _ in range(count):
            number += 1
            order = SalesOrder(
                channel_id=channel.id,
                external_id=f"EARLIER-{number}",
                placed_at=NOON,
                currency="USD",
            )
            session.add(order)
            session.flush()
            session.add(
                FulfillmentRequest(order_id=order.id, warehouse_id=warehouse.id)
            )


def _stock(engine: Engine, sku: str, **per_warehouse: int) -> None:
    with UnitOfWork(engine) as uow:
        for code, quantity in per_warehouse.items():
            inventory.receive(uow, sku, code, quantity, 100, at=NOON)
        uow.commit()


def _lines(engine: Engine, *items: tuple[str, int]) -> list[NeedLine]:
    with UnitOfWork(engine, write=False) as uow:
        return [
            NeedLine(-number, number, catalog.get_variant(uow.session, sku).id, qty)
            for number, (sku, qty) in enumerate(items, start=1)
        ]


def _plan(
    engine: Engine,
    lines: list[NeedLine],
    destination: Destination = SAN_FRANCISCO,
    channel: str | None = None,
) -> RoutePlan:
    with UnitOfWork(engine, write=False) as uow:
        channel_id = None
        if channel:
            channel_id = uow.session.scalar(
                select(Channel.id).where(Channel.name == channel)
            )
        return plan_route(uow.session, lines, destination, channel_id=channel_id)


def _code(engine: Engine, warehouse_id: int) -> str:
    with UnitOfWork(engine, write=False) as uow:
        warehouse = uow.session.get(Warehouse, warehouse_id)
        assert warehouse is not None
        return warehouse.code


def _by_code(plan: RoutePlan) -> dict[str, Candidate]:
    return {c.code: c for c in plan.candidates}


def test_routing_nearest_cheapest_warehouse_wins(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    # 2 mugs: 2 x 400 g + 100 g packaging = 900 g, the 1000 g band.
    plan = _plan(engine, _lines(engine, ("MUG", 2)))
    scores = _by_code(plan)
    lax, dal, ewr = scores["LAX"], scores["DAL"], scores["EWR"]

    assert lax.distance_km is not None
    assert dal.distance_km is not None
    assert ewr.distance_km is not None
    assert round(lax.distance_km, 1) == 557.8
    assert round(dal.distance_km, 1) == 2379.6
    assert round(ewr.distance_km, 1) == 4111.7
    assert round(lax.distance_score, 4) == 0.4727
    assert [lax.cost_minor, dal.cost_minor, ewr.cost_minor] == [800, 1100, 1500]
    # Cost score: cheapest 800 divided by each price.
    assert round(dal.cost_score, 4) == 0.7273
    assert round(ewr.cost_score, 4) == 0.5333
    assert [lax.workload_score, dal.workload_score, ewr.workload_score] == [
        0.5,
        0.75,
        1.0,
    ]
    # LAX (2 x 0.4727 + 4 x 1 + 3 x 1 + 1 x 0.5) / 10 = 0.8445
    # DAL (2 x 0.1736 + 4 + 3 x 0.7273 + 0.75) / 10 = 0.7279
    # EWR (2 x 0.1084 + 4 + 3 x 0.5333 + 1) / 10 = 0.6817
    assert round(lax.total, 4) == 0.8445
    assert round(dal.total, 4) == 0.7279
    assert round(ewr.total, 4) == 0.6817
    assert _code(engine, plan.warehouse_id) == "LAX"
    assert plan.split is False
    assert plan.summary.startswith(
        "LAX: best score among warehouses that have every line; total 0.845"
    )


def test_routing_prefers_warehouse_with_every_line(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=1, DAL=5, EWR=5)
    plan = _plan(engine, _lines(engine, ("MUG", 2)))
    scores = _by_code(plan)

    # LAX has 1 of 2 mugs: stock 0.5, total (0.9454 + 2 + 3 + 0.5) / 10.
    assert scores["LAX"].stock_score == 0.5
    assert round(scores["LAX"].total, 4) == 0.6445
    assert _code(engine, plan.warehouse_id) == "DAL"
    assert plan.split is False


def test_routing_splits_when_no_warehouse_has_everything(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5)
    _stock(engine, "TEA", DAL=5, EWR=5)
    # 2 mugs and a tea: 800 + 200 + 100 = 1100 g, the 2000 g band:
    # LAX 1000, DAL 1400, EWR 1900 cents.
    lines = _lines(engine, ("MUG", 2), ("TEA", 1))
    plan = _plan(engine, lines)
    scores = _by_code(plan)

    assert [scores[c].cost_minor for c in ("LAX", "DAL", "EWR")] == [1000, 1400, 1900]
    assert round(scores["LAX"].stock_score, 4) == 0.6667
    assert round(scores["DAL"].stock_score, 4) == 0.3333
    # Step 1 over 3 open units: LAX takes line 1 (share 2/3), total
    # (0.9454 + 2.6667 + 3 + 0.5) / 10 = 0.7112 beats DAL's 0.4574.
    # Step 2 over line 2: DAL (0.3473 + 4 + 2.1429 + 0.75) / 10 = 0.7240
    # beats EWR (0.2168 + 4 + 1.5789 + 1) / 10 = 0.6796.
    assert plan.split is True
    assert _code(engine, plan.warehouse_id) == "LAX"
    assert _code(engine, plan.warehouse_for(lines[0].line_id)) == "LAX"
    assert _code(engine, plan.warehouse_for(lines[1].line_id)) == "DAL"
    assert plan.summary == (
        "split: LAX line 1; DAL line 2 (no single warehouse has every line)"
    )


def test_routing_channel_only_rule_overrides_score(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    add_channel(engine, "Wholesale", "wholesale")
    with UnitOfWork(engine) as uow:
        rules.add_rule(uow, "only", "EWR", channel="Wholesale")
        uow.commit()
    plan = _plan(engine, _lines(engine, ("MUG", 2)), channel="Wholesale")
    scores = _by_code(plan)

    assert _code(engine, plan.warehouse_id) == "EWR"
    assert scores["LAX"].eligible is False
    assert scores["LAX"].reason == "this channel ships only from EWR"
    # The rule narrows the candidates, so EWR is the cheapest of those left.
    assert scores["EWR"].cost_score == 1.0
    # Other channels still get the best-scoring warehouse.
    assert (
        _code(engine, _plan(engine, _lines(engine, ("MUG", 2))).warehouse_id) == "LAX"
    )


def test_routing_priority_rank_beats_total(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=1)
    with UnitOfWork(engine) as uow:
        rules.set_priority_order(uow, ["EWR", "DAL"])
        uow.commit()

    # EWR ranks first but has 1 of 2 mugs, so DAL (rank 2) ships.
    plan = _plan(engine, _lines(engine, ("MUG", 2)))
    assert _code(engine, plan.warehouse_id) == "DAL"
    assert plan.summary.startswith(
        "DAL: priority 2 among warehouses that have every line"
    )
    # One mug: EWR can ship it and wins on rank over LAX's better total.
    plan = _plan(engine, _lines(engine, ("MUG", 1)))
    assert _code(engine, plan.warehouse_id) == "EWR"


def test_routing_excluded_warehouse_is_skipped(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    with UnitOfWork(engine) as uow:
        rules.add_rule(uow, "exclude", "LAX", note="roof repairs")
        uow.commit()
    plan = _plan(engine, _lines(engine, ("MUG", 2)))
    assert _code(engine, plan.warehouse_id) == "DAL"
    assert _by_code(plan)["LAX"].reason == "excluded by a routing rule"


def test_routing_weights_change_the_winner(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    with UnitOfWork(engine) as uow:
        update_fulfillment_settings(
            uow, weights={"distance": 0, "stock": 0, "cost": 0, "workload": 1}
        )
        uow.commit()
    # Only workload counts: EWR has no capacity limit and scores 1.0.
    plan = _plan(engine, _lines(engine, ("MUG", 2)))
    assert _code(engine, plan.warehouse_id) == "EWR"
    assert plan.weights.workload == 1


def test_routing_without_coordinates_scores_distance_zero(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    plan = _plan(engine, _lines(engine, ("MUG", 2)), Destination(None))
    assert {c.distance_score for c in plan.candidates} == {0.0}
    # No destination country: no rate applies, so workload decides.
    assert _code(engine, plan.warehouse_id) == "EWR"


def test_choose_warehouse_keeps_its_signature(make_shop):  # type: ignore[no-untyped-def]
    engine = _us_shop(make_shop)
    _stock(engine, "MUG", LAX=5, DAL=5, EWR=5)
    with UnitOfWork(engine, write=False) as uow:
        mug = catalog.get_variant(uow.session, "MUG").id
        warehouse_id, reason = choose_warehouse(
            uow, {mug: 2}, destination=SAN_FRANCISCO
        )
        requested_id, requested_reason = choose_warehouse(uow, {mug: 2}, "DAL")
    assert _code(engine, warehouse_id) == "LAX"
    assert reason.startswith("LAX: best score")
    assert _code(engine, requested_id) == "DAL"
    assert requested_reason == "DAL: warehouse requested on the order"


# --- capture, split reservation and per-warehouse shipments (GB shop) ------

LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def _gb_split_shop(shop: Engine) -> Engine:
    with UnitOfWork(shop) as uow:
        catalog.create_warehouse(
            uow,
            "MAN",
            "Manchester",
            "GB",
            city="Manchester",
            latitude=Decimal("53.4808"),
            longitude=Decimal("-2.2426"),
            daily_capacity=50,
        )
        uow.commit()
    add_sku(shop, "MUG", 5, 250, weight_g=400)
    add_sku(shop, "TEA", 5, 300, warehouse="MAN", weight_g=200)
    return shop


def test_capture_reserves_split_lines_per_warehouse(shop):  # type: ignore[no-untyped-def]
    _gb_split_shop(shop)
    result = capture(
        shop,
        OrderInput(
            channel="Manual",
            external_id="S1",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 2, "6.00"), LineInput("TEA", 1, "4.00")],
        ),
    )
    order = load_order(shop, result.order_id)
    with UnitOfWork(shop, write=False) as uow:
        session = uow.session
        main = catalog.get_warehouse(session, "MAIN").id
        man = catalog.get_warehouse(session, "MAN").id
        reserved = {
            (r.order_line_id, r.warehouse_id): r.quantity
            for r in session.scalars(select(Reservation))
        }
        requests = sorted(
            (r.warehouse_id, r.status)
            for r in session.scalars(
                select(FulfillmentRequest).where(
                    FulfillmentRequest.order_id == order.id
                )
            )
        )
        decision = session.scalars(
            select(RoutingDecision).where(RoutingDecision.order_id == order.id)
        ).one()
        scores = {
            s.warehouse_id: s
            for s in session.scalars(
                select(RoutingScore).where(RoutingScore.decision_id == decision.id)
            )
        }

    assert [line.warehouse_id for line in order.lines] == [main, man]
    assert order.warehouse_id == main
    assert order.routing_note == (
        "split: MAIN line 1; MAN line 2 (no single warehouse has every line)"
    )
    assert reserved == {(order.lines[0].id, main): 2, (order.lines[1].id, man): 1}
    assert requests == [(main, "open"), (man, "open")]
    assert decision.split is True
    assert decision.weights == {
        "distance": 2.0,
        "stock": 4.0,
        "cost": 3.0,
        "workload": 1.0,
    }
    assert scores[main].line_numbers == "1"
    assert scores[man].line_numbers == "2"
    assert scores[man].capacity == 50
    # MAIN has no coordinates, so it sits on the GB point (London, from
    # tzdata); MAN is 262 km from it.
    assert round(scores[man].distance_km) == 262  # type: ignore[arg-type]
    assert scores[main].stock_score == Decimal("0.666667")
    assert violations(shop) == []


def test_split_order_ships_per_warehouse(shop):  # type: ignore[no-untyped-def]
    _gb_split_shop(shop)
    result = capture(
        shop,
        OrderInput(
            channel="Manual",
            external_id="S2",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 2, "6.00"), LineInput("TEA", 1, "4.00")],
        ),
    )
    with UnitOfWork(shop) as uow:
        man = catalog.get_warehouse(uow.session, "MAN").id
        main = catalog.get_warehouse(uow.session, "MAIN").id
        with pytest.raises(InvalidTransition, match="2 warehouses"):
            shipments.ship(uow, result.order_id, at=NOON)
    with UnitOfWork(shop) as uow:
        first, _ = shipments.ship(uow, result.order_id, warehouse_id=man, at=NOON)
        uow.commit()
    order = load_order(shop, result.order_id)
    assert order.status == "partially_shipped"
    with UnitOfWork(shop, write=False) as uow:
        statuses = dict(
            uow.session.execute(
                select(
                    FulfillmentRequest.warehouse_id, FulfillmentRequest.status
                ).where(FulfillmentRequest.order_id == result.order_id)
            ).all()
        )
        shipment = uow.session.get(Shipment, first)
        assert shipment is not None
    assert shipment.warehouse_id == man
    assert statuses == {main: "open", man: "done"}

    with UnitOfWork(shop) as uow:
        second, _ = shipments.ship(uow, result.order_id, at=NOON)
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        last = uow.session.get(Shipment, second)
        assert last is not None
    assert last.warehouse_id == main
    assert load_order(shop, result.order_id).status == "shipped"
    assert violations(shop) == []
