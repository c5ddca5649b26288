"""Order capture throughput: 10,000 orders of 1-5 lines from 4 channels.

Each order is captured through the real service in its own transaction on a
SQLite file with the production pragmas (WAL, synchronous FULL), so the
figures include the fsync of every commit.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import record

from app.core import catalog, db, inventory, orders, setup
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.uow import UnitOfWork

CHANNELS = ("Own store", "Marketplace", "Auction site", "Wholesale")
COUNTRIES = (("GB", None, "SW1A 1AA"), ("DE", None, "10115"), ("US", "NY", "10001"))


def prepare(path: Path, skus: int) -> object:
    engine = db.make_engine(path)
    setup.create_shop(engine, setup.ShopSettings(name="Bench"))
    with UnitOfWork(engine) as uow:
        setup.add_registration(uow, "oss", "GB")
        for name, kind in zip(
            CHANNELS, ("shopify", "woocommerce", "ebay", "wholesale"), strict=True
        ):
            setup.add_channel(uow, name, kind, connected=True, buffer_units=2)
        for n in range(skus):
            catalog.create_product(
                uow, f"Item {n}", [catalog.VariantInput(f"SKU-{n:04d}")]
            )
        uow.commit()
    with UnitOfWork(engine) as uow:
        for n in range(skus):
            inventory.receive(uow, f"SKU-{n:04d}", "MAIN", 100_000, 250 + n)
        uow.commit()
    return engine


def make_orders(count: int, skus: int, seed: int) -> list[OrderInput]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=1)
    result = []
    for n in range(count):
        country, region, postcode = rng.choice(COUNTRIES)
        result.append(
            OrderInput(
                channel=CHANNELS[n % len(CHANNELS)],
                external_id=f"B{n}",
                placed_at=start + timedelta(seconds=n),
                ship_to=Address(
                    name="Buyer", country=country, region=region, postcode=postcode
                ),
                customer=CustomerInput(
                    external_id=f"C{rng.randrange(2000)}", name="Buyer"
                ),
                lines=[
                    LineInput(
                        f"SKU-{rng.randrange(skus):04d}",
                        rng.randint(1, 3),
                        f"{rng.randint(199, 9999) / 100:.2f}",
                    )
                    for _ in range(rng.randint(1, 5))
                ],
                shipping="3.95",
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = prepare(Path(tmp) / "bench.sqlite", args.skus)
        inputs = make_orders(args.orders, args.skus, args.seed)
        timings = []
        started = time.perf_counter()
        for order in inputs:
            t0 = time.perf_counter()
            with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
                orders.capture(uow, order)
                uow.commit()
            timings.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    timings.sort()
    figures = {
        "orders_per_s": round(args.orders / elapsed, 1),
        "capture_p50_ms": round(statistics.median(timings), 2),
        "capture_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
    }
    record(
        "order_capture",
        figures,
        f"`python bench/order_capture.py`: {args.orders} orders of 1-5 lines from 4 "
        "connected channels, each captured in its own transaction (SQLite, WAL, "
        "synchronous FULL). Target: p95 under 20 ms.",
    )


if __name__ == "__main__":
    main()
