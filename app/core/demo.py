"""A demo shop built from a fixed seed through the ordinary services.

:func:`build_demo` creates a homeware shop with three connected channels, two
warehouses, a catalogue of a few hundred SKUs and about three months of
orders ending today. The orders come with receipts at changing costs,
shipments (some partial), cancellations and discount codes. A few orders are
oversold and one is held; there are stock adjustments, a count, and a closed
earlier month. The same seed and the
same ``today`` give the same orders and the same trial balance; the clock
only moves today's order times back to before the present moment.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from app.core import admin, catalog, discounts, inventory, ledger, orders, setup
from app.core.catalog import VariantInput
from app.core.demo_catalog import (
    FIRST_NAMES,
    LAST_NAMES,
    LINES,
    PLACES,
    STOCKISTS,
    STYLES,
    ProductLine,
)
from app.core.models import StockLevel
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.outbox import sellable_available
from app.core.setup import ShopSettings
from app.core.shipments import ShipmentInfo, ship
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

DEMO_SEED = 20_240_601
DAYS = 92
ZONE_NAME = "Europe/London"

Progress = Callable[[str, float], None]
# Placeholder order time, replaced when the order is placed.
_UNSET = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoSku:
    variant_id: int
    sku: str
    price: Decimal
    cost: int
    weight_g: int
    popularity: int
    restock: bool


@dataclass(slots=True)
class _Pending:
    """An order waiting to ship: when, and whether only part ships first."""

    order_id: int
    ship_on: datetime
    partial: bool


@dataclass(frozen=True, slots=True)
class DemoSummary:
    orders: int
    skus: int
    shipments: int
    cancelled: int
    oversold: int
    closed_period: tuple[int, int]


@dataclass(slots=True)
class _State:
    rng: random.Random
    skus: list[DemoSku] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    orders: int = 0
    shipments: int = 0
    cancelled: int = 0
    oversold: int = 0


def _ean13(body: str) -> str:
    """Return ``body`` (12 digits) with its EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _next(state: _State, series: str, start: int) -> str:
    value = state.numbers.get(series, start)
    state.numbers[series] = value + 1
    return str(value)


def _seller(engine: Engine) -> None:
    """Give the demo the seller details that invoices must print."""
    from app.core.accounting.settings import SellerDetails, save_seller

    with UnitOfWork(engine) as uow:
        save_seller(
            uow,
            SellerDetails(
                name="Hollow Oak Homeware Ltd",
                line1="Unit 4, Holbeck Mill",
                city="Leeds",
                postcode="LS11 5QN",
                country="GB",
                email="hello@hollowoak.example",
                tax_number="GB 123 4567 89",
                company_number="01234567",
            ),
        )
        uow.commit()


def _setup(engine: Engine, state: _State) -> None:
    with UnitOfWork(engine) as uow:
        users = [
            admin.add_user(uow, "Priya", role="staff", pin="2468"),
            admin.add_user(uow, "Tom", role="packer"),
        ]
        uow.user_id = users[0]
        main = catalog.get_warehouse(uow.session, "MAIN")
        admin.update_warehouse(
            uow,
            main.id,
            name="Leeds unit 4",
            line1="Unit 4, Holbeck Mill",
            city="Leeds",
            postcode="LS11 5QN",
            latitude=Decimal("53.7760"),
            longitude=Decimal("-1.5530"),
            daily_capacity=120,
        )
        catalog.create_warehouse(
            uow,
            "BRS",
            "Bristol overflow",
            "GB",
            line1="9 Feeder Road",
            city="Bristol",
            postcode="BS2 0QS",
            latitude=Decimal("51.4590"),
            longitude=Decimal("-2.5720"),
            daily_capacity=40,
        )
        setup.add_channel(
            uow,
            "Own store",
            "shopify",
            connected=True,
            prices_include_tax=True,
            buffer_units=1,
        )
        setup.add_channel(
            uow,
            "Marketplace",
            "woocommerce",
            connected=True,
            prices_include_tax=True,
            buffer_units=2,
        )
        setup.add_channel(
            uow, "Wholesale", "wholesale", connected=True, payment_terms="credit"
        )
        discounts.create_code(uow, "WELCOME10", "percent", "10")
        discounts.create_code(
            uow, "AUTUMN5", "fixed", "5", currency="GBP", min_subtotal=3000
        )
        discounts.create_code(uow, "FREESHIP", "free_shipping", usage_limit=400)
        uow.commit()


def _catalogue(engine: Engine, state: _State, start: datetime) -> None:
    rng = state.rng
    barcode = 50_123_450_0000
    with UnitOfWork(engine) as uow:
        for line in LINES:
            styles = rng.sample(STYLES, 6)
            for style in styles:
                inputs = []
                for option in line.options:
                    barcode += 1
                    short = re.sub(r"[^A-Z0-9]", "", option.upper())[:4]
                    code = f"{line.prefix}-{style[:3].upper()}-{short}"
                    inputs.append(
                        VariantInput(
                            sku=code,
                            title=f"{style} {line.noun}, {option.lower()}",
                            option_values=option,
                            price=line.price,
                            barcode=_ean13(str(barcode)),
                            weight_g=line.weight_g + rng.randint(-15, 15),
                            length_mm=rng.randint(80, 400),
                            width_mm=rng.randint(60, 300),
                            height_mm=rng.randint(20, 200),
                            hs_code=line.hs_code,
                            country_of_origin=rng.choice(("GB", "GB", "PT", "IN")),
                            reorder_point=max(4, line.popularity * 2),
                        )
                    )
                product = catalog.create_product(
                    uow,
                    f"{style} {line.noun}",
                    inputs,
                    vendor="Hollow Oak",
                    product_type=line.noun.split()[-1].title(),
                )
                for variant in product.variants:
                    state.skus.append(_demo_sku(rng, line, variant.id, variant.sku))
        for sku in state.skus:
            _receive(uow, state, sku, start, opening=True)
        uow.commit()


def _demo_sku(rng: random.Random, line: ProductLine, vid: int, sku: str) -> DemoSku:
    return DemoSku(
        variant_id=vid,
        sku=sku,
        price=line.price,
        cost=line.cost,
        weight_g=line.weight_g,
        popularity=max(1, line.popularity + rng.randint(-2, 2)),
        restock=rng.random() > 0.03,
    )


def _receive(
    uow: UnitOfWork, state: _State, sku: DemoSku, at: datetime, *, opening: bool
) -> None:
    """Receive a batch at a cost a few percent off the usual, split 70/30."""
    rng = state.rng
    batch = sku.popularity * rng.randint(4, 7) + 6
    cost = round(sku.cost * (1 + rng.uniform(-0.08, 0.12)))
    kind = "opening" if opening else "purchase"
    reference = "opening stock" if opening else f"PO-{_next(state, 'po', 4100)}"
    main = round(batch * 0.7)
    inventory.receive(
        uow, sku.sku, "MAIN", main, cost, kind=kind, at=at, reference=reference
    )
    if batch - main:
        inventory.receive(
            uow,
            sku.sku,
            "BRS",
            batch - main,
            cost,
            kind=kind,
            at=at,
            reference=reference,
        )


def _customer(state: _State, channel: str) -> tuple[CustomerInput, Address]:
    rng = state.rng
    number = rng.randint(1, 420)
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number * 7) % len(LAST_NAMES)]
    city, postcode, street = PLACES[(number * 5) % len(PLACES)]
    name = f"{first} {last}"
    customer = CustomerInput(
        external_id=f"{channel[:2].upper()}-{number}",
        name=name,
        email=f"{first.lower()}.{last.lower()}{number}@example.com",
        country="GB",
    )
    address = Address(
        name=name,
        line1=f"{(number * 13) % 180 + 1} {street}",
        city=city,
        postcode=postcode,
        country="GB",
    )
    return customer, address


def _pick_lines(
    uow: UnitOfWork, state: _State, count: int, quantity: tuple[int, int], late: bool
) -> list[tuple[DemoSku, int]]:
    """Pick SKUs weighted by popularity; only late orders may oversell."""
    rng = state.rng
    weights = [s.popularity for s in state.skus]
    chosen: dict[str, tuple[DemoSku, int]] = {}
    for _ in range(count * 3):
        if len(chosen) == count:
            break
        sku = rng.choices(state.skus, weights)[0]
        qty = rng.randint(*quantity)
        if sku.sku in chosen:
            continue
        available = _main_available(uow, sku.variant_id)
        if available < qty + 2 and not (late and not sku.restock):
            continue
        chosen[sku.sku] = (sku, qty)
    return list(chosen.values())


def _wholesale_order(uow: UnitOfWork, state: _State, late: bool) -> OrderInput:
    """A stockist's order on credit terms, at 55% of the net retail price."""
    rng = state.rng
    name, city, postcode, street = rng.choice(STOCKISTS)
    domain = name.lower().replace(" ", "").replace("&", "")
    customer = CustomerInput(
        external_id=f"WS-{name[:4].upper()}",
        name=name,
        email=f"orders@{domain}.co.uk",
        country="GB",
    )
    ship_to = Address(
        name=name,
        company=name,
        line1=f"12 {street}",
        city=city,
        postcode=postcode,
        country="GB",
    )
    picks = _pick_lines(uow, state, rng.randint(3, 6), (6, 18), late)
    trade = Decimal("0.55") / Decimal("1.2")
    lines = [
        LineInput(s.sku, q, (s.price * trade).quantize(Decimal("0.01")))
        for s, q in picks
    ]
    return OrderInput(
        channel="Wholesale",
        lines=lines,
        placed_at=_UNSET,
        external_id=f"WS-{_next(state, 'ws', 301)}",
        customer=customer,
        ship_to=ship_to,
        shipping="0",
    )


def _retail_order(
    uow: UnitOfWork, state: _State, channel: str, late: bool
) -> OrderInput:
    """A shopper's order; the marketplace lists 5% above the own store."""
    rng = state.rng
    customer, ship_to = _customer(state, channel)
    count = rng.choices((1, 2, 3), (6, 3, 1))[0]
    picks = _pick_lines(uow, state, count, (1, 2), late)
    markup = Decimal("1.00") if channel == "Own store" else Decimal("1.05")
    lines = [
        LineInput(s.sku, q, (s.price * markup).quantize(Decimal("0.01")))
        for s, q in picks
    ]
    codes: list[str] = []
    if channel == "Own store":
        external = f"#{_next(state, 'shop', 1001)}"
        if rng.random() < 0.12:
            codes = [rng.choice(("WELCOME10", "WELCOME10", "AUTUMN5", "FREESHIP"))]
    else:
        external = f"MK-{_next(state, 'mk', 50_001)}"
    subtotal = sum(line.quantity * Decimal(str(line.unit_price)) for line in lines)
    if codes == ["AUTUMN5"] and subtotal < Decimal(30):
        codes = []
    return OrderInput(
        channel=channel,
        lines=lines,
        placed_at=_UNSET,
        external_id=external,
        customer=customer,
        ship_to=ship_to,
        shipping="3.95",
        discount_codes=codes,
    )


def _place_order(
    uow: UnitOfWork, state: _State, placed: datetime, now: datetime, late: bool
) -> None:
    rng = state.rng
    roll = rng.random()
    if roll < 0.55:
        order = _retail_order(uow, state, "Own store", late)
    elif roll < 0.93:
        order = _retail_order(uow, state, "Marketplace", late)
    else:
        order = _wholesale_order(uow, state, late)
    if not order.lines:
        return
    result = orders.capture(uow, replace(order, placed_at=placed))
    state.orders += 1
    state.oversold += result.oversold

    if rng.random() < 0.025:
        orders.cancel_order(uow, result.order_id, reason="customer changed their mind")
        state.cancelled += 1
        return
    ship_on = placed + timedelta(hours=rng.randint(14, 40))
    partial = rng.random() < 0.04
    if ship_on < now:
        state.pending.append(_Pending(result.order_id, ship_on, partial))


def _ship_due(uow: UnitOfWork, state: _State, until: datetime, now: datetime) -> None:
    due = [p for p in state.pending if p.ship_on <= until]
    state.pending = [p for p in state.pending if p.ship_on > until]
    carriers = (("Royal Mail", "Tracked 48", "RM"), ("DPD", "Next day", "15"))
    for item in due:
        # Which orders are due depends on the clock, so each shipment draws
        # from its own generator and the shared one stays in step.
        rng = random.Random(DEMO_SEED + item.order_id)
        carrier, service, prefix = rng.choice(carriers)
        info = ShipmentInfo(
            carrier=carrier,
            service=service,
            tracking_number=f"{prefix}{rng.randint(10**9, 10**10 - 1)}GB",
            label_cost=rng.choice((285, 325, 410, 545)),
        )
        order = orders.get_order(uow.session, item.order_id)
        quantities = None
        if item.partial:
            first = next(
                (ln for ln in order.lines if ln.quantity_open - ln.shortfall > 1), None
            )
            if first is not None:
                quantities = {first.line_no: 1}
                later = item.ship_on + timedelta(days=rng.randint(2, 5))
                if later < now:
                    state.pending.append(_Pending(item.order_id, later, False))
        if not any(ln.quantity_open - ln.shortfall > 0 for ln in order.lines):
            continue
        ship(uow, item.order_id, quantities=quantities, info=info, at=item.ship_on)
        state.shipments += 1


def _restock(uow: UnitOfWork, state: _State, at: datetime) -> None:
    # Loading every main-warehouse level once lets the checks below read them
    # from the session instead of one query each.
    list(
        uow.session.scalars(
            select(StockLevel).where(StockLevel.warehouse_id == _main_id(uow))
        )
    )
    for sku in state.skus:
        if not sku.restock:
            continue
        if _main_available(uow, sku.variant_id) <= sku.popularity * 2:
            _receive(uow, state, sku, at, opening=False)


def _house_keeping(uow: UnitOfWork, state: _State, day: date, at: datetime) -> None:
    """Now and then: a damaged unit, a transfer to the main warehouse."""
    rng = state.rng
    if rng.random() < 0.15:
        sku = rng.choice(state.skus)
        if sellable_available(uow.session, sku.variant_id) > 5:
            level = inventory.level(uow, sku.variant_id, _main_id(uow))
            if level.available > 1:
                inventory.adjust(
                    uow,
                    sku.sku,
                    "MAIN",
                    -1,
                    "damaged",
                    note="broken in the pick",
                    at=at,
                )
    if day.weekday() == 0:
        brs = catalog.get_warehouse(uow.session, "BRS")
        for sku in rng.sample(state.skus, 3):
            level = inventory.level(uow, sku.variant_id, brs.id)
            if level.available >= 4:
                inventory.transfer(
                    uow,
                    sku.sku,
                    "BRS",
                    "MAIN",
                    level.available // 2,
                    at=at,
                    note="weekly top-up",
                )


def _main_id(uow: UnitOfWork) -> int:
    cached = uow.session.info.get("demo_main_id")
    if cached is None:
        cached = catalog.get_warehouse(uow.session, "MAIN").id
        uow.session.info["demo_main_id"] = cached
    return int(cached)


def _main_available(uow: UnitOfWork, variant_id: int) -> int:
    """Return available at the main warehouse, where orders are routed first."""
    level = uow.session.get(StockLevel, (variant_id, _main_id(uow)))
    return level.available if level is not None else 0


def _day(
    engine: Engine,
    state: _State,
    day: date,
    zone_day: Callable[[date, time], datetime],
    now: datetime,
    today: date,
) -> None:
    rng = state.rng
    late = (today - day).days <= 3
    with UnitOfWork(engine, user_id=None) as uow:
        _restock(uow, state, zone_day(day, time(7, 30)))
        _ship_due(uow, state, zone_day(day, time(8, 0)), now)
        weekend = day.weekday() >= 5
        count = rng.randint(9, 16) if weekend else rng.randint(6, 12)
        minutes = sorted(rng.randint(8 * 60, 22 * 60) for _ in range(count))
        for index, minute in enumerate(minutes):
            placed = zone_day(day, time(minute // 60, minute % 60))
            if placed >= now:
                # Today's orders that the clock has not reached yet are moved
                # to just before now, keeping their order.
                placed = now - timedelta(seconds=40 * (count - index))
            _place_order(uow, state, placed, now, late)
        _house_keeping(uow, state, day, zone_day(day, time(17, 0)))
        uow.commit()


def _finish(engine: Engine, state: _State, today: date, now: datetime) -> None:
    """Oversold and held orders, a stock count, and a closed month."""
    with UnitOfWork(engine) as uow:
        _oversell(uow, state, now)
        customer, ship_to = _customer(state, "Marketplace")
        orders.capture(
            uow,
            OrderInput(
                channel="Marketplace",
                lines=[LineInput("MUG-OLD-GRN", 1, "12.00", description="Old mug")],
                placed_at=now - timedelta(minutes=20),
                external_id=f"MK-{_next(state, 'mk', 50_001)}",
                customer=customer,
                ship_to=ship_to,
                shipping="3.95",
                unknown_sku="hold",
            ),
        )
        state.orders += 1
        count_id = inventory.start_count(uow, "MAIN", note="shelf A count")
        for sku in state.skus[:6]:
            level = inventory.level(uow, sku.variant_id, _main_id(uow))
            counted = max(level.reserved, level.on_hand + state.rng.choice((-1, 0, 1)))
            inventory.record_count(uow, count_id, sku.sku, counted)
        inventory.post_count(uow, count_id, at=now - timedelta(minutes=10))
        closed = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        closed = (closed - timedelta(days=1)).replace(day=1)
        ledger.close_period(uow, closed.year, closed.month)
        uow.commit()


def _oversell(uow: UnitOfWork, state: _State, now: datetime) -> None:
    """Capture three channel orders for more units than any warehouse has.

    This is what happens when two channels sell the last units before the
    stock figure reaches both: the order is kept and marked oversold.
    """
    brs = catalog.get_warehouse(uow.session, "BRS").id
    scarce = sorted(
        (s for s in state.skus if not s.restock),
        key=lambda s: (_main_available(uow, s.variant_id), s.sku),
    )[:3]
    for number, sku in enumerate(scarce):
        most = max(
            _main_available(uow, sku.variant_id),
            inventory.level(uow, sku.variant_id, brs).available,
        )
        customer, ship_to = _customer(state, "Marketplace")
        result = orders.capture(
            uow,
            OrderInput(
                channel="Marketplace",
                lines=[LineInput(sku.sku, most + 1 + number % 2, sku.price)],
                placed_at=now - timedelta(minutes=90 - 20 * number),
                external_id=f"MK-{_next(state, 'mk', 50_001)}",
                customer=customer,
                ship_to=ship_to,
                shipping="3.95",
            ),
        )
        state.orders += 1
        state.oversold += result.oversold


def build_demo(
    engine: Engine,
    *,
    today: date | None = None,
    now: datetime | None = None,
    seed: int = DEMO_SEED,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create the demo shop in an empty database; return what it holds.

    ``now`` (aware) defaults to the present; ``today`` to its London date.
    Orders run from ``DAYS`` days before ``today`` up to ``now``.
    """
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ZONE_NAME)
    now = now or datetime.now(UTC)
    today = today or now.astimezone(zone).date()
    report = progress or (lambda _message, _fraction: None)
    state = _State(rng=random.Random(seed))

    def zone_day(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)

    report("Creating the shop", 0.0)
    setup.create_shop(
        engine,
        ShopSettings(
            name="Hollow Oak Homeware",
            currency="GBP",
            country="GB",
            timezone=ZONE_NAME,
            owner="Sam",
        ),
    )
    _setup(engine, state)
    _seller(engine)
    start = today - timedelta(days=DAYS)
    report("Adding the catalogue and opening stock", 0.05)
    _catalogue(engine, state, zone_day(start - timedelta(days=1), time(9, 0)))
    for number in range(DAYS + 1):
        day = start + timedelta(days=number)
        _day(engine, state, day, zone_day, now, today)
        if number % 7 == 0:
            report(f"Orders up to {day.isoformat()}", 0.1 + 0.85 * number / DAYS)
    report("Counting stock and closing a month", 0.97)
    _finish(engine, state, today, now)
    closed = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    closed = (closed - timedelta(days=1)).replace(day=1)
    report("Done", 1.0)
    return DemoSummary(
        orders=state.orders,
        skus=len(state.skus),
        shipments=state.shipments,
        cancelled=state.cancelled,
        oversold=state.oversold,
        closed_period=(closed.year, closed.month),
    )
