"""Reports and export on a ledger of about one million journal lines.

The ledger is built through the core's services in two steps. First,
orders are captured and shipped over one year on four channels, in
transactions of a few hundred orders. Every fifth order has a discount code
and every shipment a label cost, which gives about ten journal lines per
order at some 40 ms per order on the machine in docs/benchmarks.md. Then,
because that pace would take an hour for a million lines, the order and
shipment entries are posted again through ``ledger.post`` with dates spread
over the same year, until the journal has the requested number of lines.
The database is cached under ``bench/.cache/`` and reused while it has the
requested size.

Timed on the warm database: the trial balance and the year's profit and
loss (median of three runs each), and the year's Beancount export (one run).
The baseline is one raw ``GROUP BY`` over the journal lines in SQL; the
reports read whole months from the per-month totals that ``ledger.post``
keeps (``app.core.accounting.totals``).
Targets: under 0.5 s for each report, under 20 s for the export.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from common import ROOT, record
from sqlalchemy import Engine, func, select, text

from app.core import (
    catalog,
    db,
    discounts,
    inventory,
    ledger,
    orders,
    setup,
    shipments,
)
from app.core.accounting import totals
from app.core.accounting.export import export_ledger
from app.core.models import Base, JournalEntry, JournalLine, SalesOrder
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.reports import profit_loss, trial_balance
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork

log = logging.getLogger("bench.reports")

CACHE = ROOT / "bench" / ".cache"
CHANNELS = (
    ("Own store", "shopify", True),
    ("Marketplace", "ebay", False),
    ("Web", "woocommerce", False),
    ("POS", "pos", True),
)
YEAR = 2025
PLACES = (
    Address(name="Buyer", line1="1 High St", city="London", postcode="SW1A 1AA",
            country="GB"),
    Address(name="Buyer", line1="2 Main Rd", city="Leeds", postcode="LS1 4AP",
            country="GB"),
)  # fmt: skip
SKUS = 300
ORDERS_PER_TRANSACTION = 250


def line_count(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count(JournalLine.id))) or 0)


def prepare(engine: Engine) -> None:
    setup.create_shop(engine, setup.ShopSettings(name="Bench shop"))
    with UnitOfWork(engine) as uow:
        for name, kind, included in CHANNELS:
            if kind != "pos":
                setup.add_channel(uow, name, kind, prices_include_tax=included)
        for n in range(SKUS):
            catalog.create_product(
                uow, f"Item {n}", [catalog.VariantInput(f"SKU-{n:04d}")]
            )
        discounts.create_code(uow, "SAVE10", "percent", 10)
        uow.commit()
    with UnitOfWork(engine) as uow:
        for n in range(SKUS):
            inventory.receive(
                uow,
                f"SKU-{n:04d}",
                "MAIN",
                1_000_000,
                200 + n,
                at=datetime(YEAR - 1, 12, 1, tzinfo=UTC),
            )
        uow.commit()


def order_input(number: int, rng: random.Random, placed: datetime) -> OrderInput:
    channel = CHANNELS[number % len(CHANNELS)][0]
    return OrderInput(
        channel=channel,
        external_id=f"B{number}",
        placed_at=placed,
        ship_to=rng.choice(PLACES),
        customer=CustomerInput(external_id=f"C{rng.randrange(5000)}", name="Buyer"),
        lines=[
            LineInput(
                f"SKU-{rng.randrange(SKUS):04d}",
                rng.randint(1, 3),
                f"{rng.randint(199, 9999) / 100:.2f}",
            )
            for _ in range(rng.randint(1, 4))
        ],
        shipping="3.95",
        discount_codes=["SAVE10"] if number % 5 == 0 else [],
    )


def capture_orders(engine: Engine, count: int, seed: int) -> None:
    """Capture and ship ``count`` orders through the order and shipment services."""
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, 9, tzinfo=UTC)
    began = time.perf_counter()
    minutes = 365 * 24 * 60 / count
    for first in range(0, count, ORDERS_PER_TRANSACTION):
        with UnitOfWork(engine) as uow:
            for number in range(first, min(first + ORDERS_PER_TRANSACTION, count)):
                placed = start + timedelta(minutes=minutes * number)
                result = orders.capture(uow, order_input(number, rng, placed))
                shipments.ship(
                    uow,
                    result.order_id,
                    at=placed + timedelta(hours=20),
                    info=ShipmentInfo(carrier="Royal Mail", label_cost=285),
                )
            uow.commit()
        log.info(
            "%d orders captured and shipped, %.0f s",
            min(first + ORDERS_PER_TRANSACTION, count),
            time.perf_counter() - began,
        )


def replay_entries(engine: Engine, target_lines: int, seed: int) -> None:
    """Post the order and shipment entries again until the journal is big enough."""
    rng = random.Random(seed + 1)
    with UnitOfWork(engine, write=False) as uow:
        templates = [
            (entry.kind, entry.description, ledger.entry_postings(entry, uow.session))
            for entry in uow.session.scalars(
                select(JournalEntry)
                .where(JournalEntry.kind.in_(("order", "shipment")))
                .order_by(JournalEntry.id)
                .limit(5000)
            )
        ]
    lines = line_count(engine)
    began = time.perf_counter()
    start = datetime(YEAR, 1, 1, 9, tzinfo=UTC)
    year_s = 364 * 24 * 3600
    while lines < target_lines:
        with UnitOfWork(engine) as uow:
            for _ in range(2000):
                kind, description, postings = rng.choice(templates)
                ledger.post(
                    uow,
                    occurred_at=start + timedelta(seconds=rng.randrange(year_s)),
                    kind=kind,
                    description=f"{description} (replayed)",
                    postings=postings,
                )
                lines += len(postings)
            uow.commit()
        log.info("%d journal lines, %.0f s", lines, time.perf_counter() - began)


def build(engine: Engine, target_lines: int, order_count: int, seed: int) -> None:
    with UnitOfWork(engine, write=False) as uow:
        captured = uow.session.scalar(select(func.count(SalesOrder.id))) or 0
    if captured < order_count:
        capture_orders(engine, order_count, seed)
    if line_count(engine) < target_lines:
        replay_entries(engine, target_lines, seed)


def median_time(work: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--orders", type=int, default=10_000, help="orders captured and shipped"
    )
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"reports-{args.lines}-{args.orders}-{args.seed}.sqlite"
    engine = db.make_engine(path)
    if not db.has_schema(engine):
        prepare(engine)
    else:
        db.upgrade(engine)
        # The single initial revision is regenerated while nothing is
        # released, so a cached database may lack tables added since.
        Base.metadata.create_all(engine)
    build(engine, args.lines, args.orders, args.seed)
    with UnitOfWork(engine) as uow:
        # A database cached before the month totals existed gets them now.
        if not totals.complete(uow.session):
            totals.rebuild_month_totals(uow.session)
            uow.commit()
    lines = line_count(engine)
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)

    def read(query: Callable[..., object], **kwargs: object) -> Callable[[], object]:
        def run() -> object:
            with UnitOfWork(engine, write=False) as uow:
                return query(uow.session, **kwargs)

        return run

    def raw_group_by() -> object:
        with engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT account_id, sum(debit), sum(credit) FROM journal_line "
                    "GROUP BY account_id"
                )
            ).all()

    trial = median_time(read(trial_balance))
    profit = median_time(read(profit_loss, date_from=first, date_to=last))
    raw = median_time(raw_group_by)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "year.beancount"

        def export() -> object:
            with UnitOfWork(engine, write=False) as uow:
                return export_ledger(
                    uow.session, "beancount", target, date_from=first, date_to=last
                )

        exported = median_time(export, runs=1)
    figures = {
        "trial_balance_s": round(trial, 3),
        "profit_loss_s": round(profit, 3),
        "beancount_export_s": round(exported, 2),
    }
    record(
        "reports",
        figures,
        f"`python bench/reports.py`: {lines:,} journal lines: {args.orders:,} "
        f"orders captured and shipped over {YEAR} through the services, their "
        "entries posted again through ledger.post up to the line count (SQLite, "
        "cached under bench/.cache/). Reports are the median of three runs, the "
        "export one run "
        f"of the whole year. Baseline: a raw SQL GROUP BY over all lines took "
        f"{raw:.3f} s. Targets: under 0.5 s per report, under 20 s for the export.",
    )


if __name__ == "__main__":
    main()
