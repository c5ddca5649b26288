"""Routing and label throughput: 10,000 routing decisions, 1,000 labels.

Routing: a US shop with three warehouses located by ZIP code (Los Angeles,
Dallas, Newark), 300 SKUs stocked unevenly so that some orders need a
split, a rate table of three distance zones and three weight bands, and
orders of 1-4 lines to random US ZIP codes (plus a few abroad). Every
decision runs ``plan_route`` in one read session, so the session's cached
context (warehouses, coordinates, rate tables, rules, workload) is reused
and each decision runs one query, the stock look-up. The baseline is the
same routing with the cache dropped before every decision.

Labels: 1,000 4x6 PDF labels with different addresses and tracking numbers,
each rendered to memory; ZPL is timed too. Targets: under 2 ms per routing
decision and under 200 ms per label.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import record
from sqlalchemy import Engine

from app.core import catalog, db, inventory, setup
from app.core.documents import Address, LabelData
from app.core.documents.label import render_label_pdf
from app.core.documents.zpl import render_label_zpl
from app.core.fulfillment import rates
from app.core.fulfillment.geo import zip_points
from app.core.fulfillment.scoring import Destination, NeedLine, plan_route
from app.core.models import Warehouse
from app.core.uow import UnitOfWork

WAREHOUSES = (
    ("LAX", "90012", "CA", 400),
    ("DAL", "75201", "TX", 300),
    ("EWR", "07102", "NJ", None),
)
ABROAD = (Destination("GB", None, "SW1A 1AA"), Destination("CA", "ON", "M5V"))


def prepare(path: Path, skus: int, seed: int) -> Engine:
    rng = random.Random(seed)
    engine = db.make_engine(path)
    setup.create_shop(
        engine,
        setup.ShopSettings(
            name="Bench", currency="USD", country="US", timezone="America/New_York"
        ),
    )
    with UnitOfWork(engine) as uow:
        for code, postcode, region, capacity in WAREHOUSES:
            catalog.create_warehouse(
                uow, code, code, "US", postcode=postcode, region=region,
                daily_capacity=capacity,
            )  # fmt: skip
        main = catalog.get_warehouse(uow.session, "MAIN")
        assert isinstance(main, Warehouse)
        main.active = False
        service = rates.add_service(uow, "USPS", "Ground", "USD")
        for zone, km in (("local", 1000), ("regional", 3000), ("national", None)):
            rates.add_zone_rule(
                uow, service.id, zone, scope="domestic", max_distance_km=km
            )
            for band, base in ((1000, 800), (5000, 1400), (20000, 2600)):
                rates.set_rate(uow, service.id, zone, band, base + (km or 5000) // 10)
        intl = rates.add_service(uow, "USPS", "International", "USD")
        rates.add_zone_rule(uow, intl.id, "world", scope="international")
        rates.set_rate(uow, intl.id, "world", 20000, 4500)
        for n in range(skus):
            catalog.create_product(
                uow,
                f"Item {n}",
                [catalog.VariantInput(f"SKU-{n:04d}", weight_g=rng.randint(50, 2000))],
            )
        uow.commit()
    with UnitOfWork(engine) as uow:
        for n in range(skus):
            for code, *_ in WAREHOUSES:
                # About one SKU in five is missing at each warehouse.
                if rng.random() < 0.8:
                    inventory.receive(uow, f"SKU-{n:04d}", code, 1000, 250)
        uow.commit()
    return engine


def make_orders(
    count: int, skus: int, seed: int, variant_ids: dict[str, int]
) -> list[tuple[list[NeedLine], Destination]]:
    rng = random.Random(seed)
    zips = sorted(zip_points())
    orders = []
    for n in range(count):
        lines = [
            NeedLine(
                -(n * 10 + i),
                i,
                variant_ids[f"SKU-{rng.randrange(skus):04d}"],
                rng.randint(1, 3),
            )
            for i in range(1, rng.randint(1, 4) + 1)
        ]
        if rng.random() < 0.05:
            destination = rng.choice(ABROAD)
        else:
            destination = Destination("US", None, rng.choice(zips))
        orders.append((lines, destination))
    return orders


def time_routing(
    engine: Engine, orders: list[tuple[list[NeedLine], Destination]], *, cached: bool
) -> tuple[list[float], int]:
    timings = []
    splits = 0
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        # Warm the process-wide ZIP table and the session context once.
        plan_route(session, orders[0][0], orders[0][1])
        for lines, destination in orders:
            if not cached:
                session.info.pop("routing_context", None)
            t0 = time.perf_counter()
            plan = plan_route(session, lines, destination)
            timings.append((time.perf_counter() - t0) * 1000)
            splits += plan.split
    return timings, splits


def labels(count: int, seed: int) -> list[LabelData]:
    rng = random.Random(seed)
    sender = Address(
        name="Bench Shop", line1="1 Warehouse Way", city="Dallas", region="TX",
        postcode="75201", country="US",
    )  # fmt: skip
    streets = ("Main St", "Oak Avenue", "Elm Street", "Sunset Boulevard", "Market St")
    return [
        LabelData(
            shipment_ref=f"S{n}",
            order_ref=f"B{n}",
            tracking_number=f"9400{rng.randrange(10**17, 10**18)}",
            carrier="USPS",
            service="GroundAdvantage",
            weight_g=rng.randint(100, 20000),
            ship_from=sender,
            ship_to=Address(
                name=f"Customer {n} " + "Longname" * rng.randint(0, 4),
                line1=f"{rng.randint(1, 9999)} {rng.choice(streets)}",
                line2="Apt 4B" if n % 3 else "",
                city="Springfield",
                region="IL",
                postcode=f"{rng.randint(10000, 99999)}",
                country="US",
            ),
            created_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--baseline-orders", type=int, default=500)
    parser.add_argument("--labels", type=int, default=1_000)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = prepare(Path(tmp) / "bench.sqlite", args.skus, args.seed)
        with UnitOfWork(engine, write=False) as uow:
            ids = {
                f"SKU-{n:04d}": catalog.get_variant(uow.session, f"SKU-{n:04d}").id
                for n in range(args.skus)
            }
        orders = make_orders(args.orders, args.skus, args.seed, ids)
        timings, splits = time_routing(engine, orders, cached=True)
        baseline, _ = time_routing(engine, orders[: args.baseline_orders], cached=False)
        engine.dispose()

    data = labels(args.labels, args.seed)
    started = time.perf_counter()
    for label in data:
        render_label_pdf(label, io.BytesIO())
    label_ms = (time.perf_counter() - started) * 1000 / len(data)
    started = time.perf_counter()
    for label in data:
        render_label_zpl(label)
    zpl_ms = (time.perf_counter() - started) * 1000 / len(data)

    timings.sort()
    figures = {
        "routing_ms_per_order": round(statistics.fmean(timings), 3),
        "routing_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 3),
        "routing_uncached_ms_per_order": round(statistics.fmean(baseline), 3),
        "split_share": round(splits / len(timings), 3),
        "label_ms_per_label": round(label_ms, 2),
        "label_zpl_ms_per_label": round(zpl_ms, 3),
    }
    record(
        "fulfillment",
        figures,
        f"`python bench/fulfillment.py`: {args.orders} routing decisions over 3 "
        f"warehouses and {args.skus} SKUs (one SQLite read session, context cached; "
        f"the uncached figure reloads it for each of {args.baseline_orders} "
        f"decisions), then {args.labels} 4x6 PDF and ZPL labels rendered in "
        "memory. Targets: under 2 ms per routing decision, under 200 ms per label.",
    )


if __name__ == "__main__":
    main()
