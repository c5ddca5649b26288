"""Read-only query services and settings services, on worked examples.

The shop sells two SKUs through two connected channels. Order 1001 is the
VAT-inclusive London order of the capture tests: 2 x MUG at 6.00, 1 x TEA at
9.99 and 3.99 shipping. It totals 25.98 with 4.34 VAT and ships at noon.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from app.core import admin, ledger, shipments
from app.core.exceptions import NotFound, ValidationError
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.queries import customers, dashboard, orders, products, settings
from app.core.queries import ledger as ledger_queries
from app.core.uow import UnitOfWork
from tests.helpers import NOON, add_channel, add_sku, capture

LONDON = Address(
    name="Ann Smith", line1="1 High St", city="London", postcode="SW1A 1AA",
    country="GB",
)  # fmt: skip
DAY = date(2026, 6, 15)


@pytest.fixture
def sold(shop: Engine) -> tuple[Engine, int]:
    """The shop after order 1001 was captured and shipped."""
    add_sku(shop, "MUG", 10, 250, reorder_point=5, price=Decimal("6.00"))
    add_sku(shop, "TEA", 2, 300, reorder_point=5)
    add_channel(shop, "Shop", "shopify", prices_include_tax=True, connected=True)
    add_channel(shop, "Market", "woocommerce", connected=True, buffer_units=2)
    result = capture(
        shop,
        OrderInput(
            channel="Shop", external_id="1001", placed_at=NOON, ship_to=LONDON,
            customer=CustomerInput(name="Ann Smith", email="ann@example.com"),
            lines=[LineInput("MUG", 2, "6.00"), LineInput("TEA", 1, "9.99")],
            shipping="3.99",
        ),
    )  # fmt: skip
    with UnitOfWork(shop) as uow:
        shipments.ship(
            uow, result.order_id, at=NOON,
            info=shipments.ShipmentInfo(carrier="DPD", tracking_number="15501"),
        )  # fmt: skip
        uow.commit()
    return shop, result.order_id


def read(engine: Engine):  # type: ignore[no-untyped-def]
    return UnitOfWork(engine, write=False)


def test_order_filter_by_text_status_and_date(sold: tuple[Engine, int]) -> None:
    engine, order_id = sold
    with read(engine) as uow:
        s = uow.session
        assert orders.order_ids(s, orders.OrderFilter()) == [order_id]
        assert orders.order_ids(s, orders.OrderFilter(text="ann@")) == [order_id]
        assert orders.order_ids(s, orders.OrderFilter(text="nobody")) == []
        assert orders.order_ids(s, orders.OrderFilter(status="open")) == []
        assert orders.order_ids(s, orders.OrderFilter(status="shipped")) == [order_id]
        assert orders.order_ids(s, orders.OrderFilter(date_from=DAY, date_to=DAY)) == [
            order_id
        ]
        assert (
            orders.order_ids(s, orders.OrderFilter(date_from=date(2026, 6, 16))) == []
        )


def test_order_row_figures(sold: tuple[Engine, int]) -> None:
    engine, order_id = sold
    with read(engine) as uow:
        [row] = orders.order_rows(uow.session, [order_id, 999])
    assert row.number == "1001"
    assert row.channel == "Shop"
    assert row.customer == "Ann Smith"
    assert row.items == 3
    assert row.total == 2598
    assert row.currency == "GBP"


def test_order_detail_story(sold: tuple[Engine, int]) -> None:
    engine, order_id = sold
    with read(engine) as uow:
        detail = orders.order_detail(uow.session, order_id)
    assert [(ln.sku, ln.quantity, ln.shipped) for ln in detail.lines] == [
        ("MUG", 2, 2),
        ("TEA", 1, 1),
    ]
    # 1200 includes 200 VAT, 999 includes 167, shipping 399 includes 67.
    assert [t.amount for t in detail.taxes] == [200, 167, 67]
    assert [t.line_no for t in detail.taxes] == [1, 2, None]
    assert [(s.units, s.tracking_number) for s in detail.shipments] == [(3, "15501")]
    assert detail.shipments[0].cogs_shop == 2 * 250 + 300
    assert [e.kind for e in detail.entries] == ["order", "shipment"]
    assert detail.entries[0].amount == 2598
    assert [t.action for t in detail.timeline] == ["order.capture", "order.ship"]
    assert detail.ship_to[:2] == ["Ann Smith", "1 High St"]
    assert not detail.can_ship
    assert not detail.can_cancel


def test_order_detail_unknown_id(shop: Engine) -> None:
    with read(shop) as uow, pytest.raises(NotFound, match="order 42"):
        orders.order_detail(uow.session, 42)


def test_variant_rows_and_low_stock(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        s = uow.session
        ids = products.variant_ids(s)
        mug, tea = products.variant_rows(s, ids)
        low = products.variant_ids(s, low_only=True)
        by_title = products.variant_ids(s, "product tea")
    assert (mug.sku, mug.on_hand, mug.reserved, mug.available) == ("MUG", 8, 0, 8)
    assert mug.stock_value == 8 * 250
    assert mug.price == Decimal("6.0000")
    assert (tea.on_hand, tea.low) == (1, True)
    assert low == [tea.id]
    assert by_title == [tea.id]


def test_stock_detail_channels_and_moves(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        s = uow.session
        [mug_id] = products.variant_ids(s, "MUG")
        detail = products.stock_detail(s, mug_id)
    assert [(lv.warehouse, lv.on_hand) for lv in detail.levels] == [("MAIN", 8)]
    # Market keeps two units back: 8 available, 6 shown.
    assert [(c.channel, c.quantity) for c in detail.channels] == [
        ("Shop", 8),
        ("Market", 6),
    ]
    assert [m.reason for m in detail.moves] == ["sale", "purchase"]
    assert [m.quantity for m in detail.moves] == [-2, 10]


def test_sku_lookup_by_code_and_text(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        s = uow.session
        found = products.lookup_sku(s, "mug")
        missing = products.lookup_sku(s, "NOPE")
        search = products.search_skus(s, "product")
    assert found is not None
    assert (found.sku, found.available) == ("MUG", 8)
    assert missing is None
    assert [m.sku for m in search] == ["MUG", "TEA"]


def test_customer_lifetime_value(sold: tuple[Engine, int]) -> None:
    engine, order_id = sold
    with read(engine) as uow:
        s = uow.session
        [customer_id] = customers.customer_ids(s, "ann")
        [row] = customers.customer_rows(s, [customer_id])
        detail = customers.customer_detail(s, customer_id)
    assert (row.name, row.orders, row.lifetime_value) == ("Ann Smith", 1, 2598)
    assert [o.id for o in detail.orders] == [order_id]


def test_dashboard_figures(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        data = dashboard.dashboard(uow.session, today=DAY)
    assert (data.today_sales.orders, data.today_sales.revenue) == (1, 2598)
    assert (data.month_sales.orders, data.month_sales.revenue) == (1, 2598)
    assert len(data.daily) == 30
    assert data.daily[-1] == dashboard.DailyRevenue(DAY, 2598, 1)
    assert [r.sku for r in data.low_stock] == ["TEA"]
    # The sale came from Shop, so only Market waits for both SKUs' figures;
    # Shop waits for the tracking number.
    assert [(c.name, c.waiting) for c in data.sync] == [("Shop", 1), ("Market", 2)]
    assert data.exceptions == []


def test_dashboard_lists_held_order(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    capture(
        engine,
        OrderInput(
            channel="Shop", external_id="1002", placed_at=NOON, ship_to=LONDON,
            lines=[LineInput("GONE", 1, "5.00")], unknown_sku="hold",
        ),
    )  # fmt: skip
    with read(engine) as uow:
        data = dashboard.dashboard(uow.session, today=DAY)
    assert [(e.kind, e.title) for e in data.exceptions] == [
        ("held", "Order 1002 (Shop) is held")
    ]


def test_journal_drill_down_to_source(sold: tuple[Engine, int]) -> None:
    engine, order_id = sold
    with read(engine) as uow:
        s = uow.session
        [cogs_entry] = ledger_queries.entry_ids(s, ledger_queries.JournalFilter("5000"))
        detail = ledger_queries.entry_detail(s, cogs_entry)
        receipts = ledger_queries.entry_ids(
            s, ledger_queries.JournalFilter(text="Received 10 x MUG")
        )
        receipt = ledger_queries.entry_detail(s, receipts[0])
    assert detail.row.kind == "shipment"
    assert detail.source is not None
    assert (detail.source.kind, detail.source.order_id) == ("order", order_id)
    assert {(ln.account, ln.debit) for ln in detail.lines if ln.debit} >= {
        ("5000", 800)
    }
    assert receipt.source is not None
    assert receipt.source.kind == "stock_move"
    assert receipt.source.variant_id is not None


def test_periods_show_closed_month(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with UnitOfWork(engine) as uow:
        ledger.close_period(uow, 2026, 6)
        uow.commit()
    with read(engine) as uow:
        months = ledger_queries.periods(uow.session, date(2026, 7, 3))
    assert [(p.year, p.month, p.status) for p in months] == [
        (2026, 7, "open"),
        (2026, 6, "closed"),
    ]
    assert months[1].lines > 0


def test_settings_lists(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        s = uow.session
        channels = settings.channels(s)
        people = settings.users(s)
        registrations = settings.registrations(s)
    assert [c.name for c in channels] == ["Manual", "POS", "Shop", "Market"]
    assert [(u.name, u.has_pin) for u in people] == [("Owner", False)]
    assert [(r.kind, r.country) for r in registrations] == [("home", "GB")]


def test_pin_is_stored_hashed(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        user_id = admin.add_user(uow, "Priya", role="staff", pin="2468")
        uow.commit()
    with read(shop) as uow:
        s = uow.session
        assert admin.verify_pin(s, user_id, "2468")
        assert not admin.verify_pin(s, user_id, "2469")
        [priya] = [u for u in settings.users(s) if u.name == "Priya"]
    assert priya.has_pin
    stored = admin.hash_pin("2468")
    assert "2468" not in stored
    assert stored.startswith("scrypt$")
    assert admin.pin_matches(stored, "2468")
    assert not admin.pin_matches("not a hash", "2468")


def test_user_checks(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        with pytest.raises(ValidationError, match="already exists"):
            admin.add_user(uow, "Owner")
        with pytest.raises(ValidationError, match="at least 4 digits"):
            admin.add_user(uow, "Tom", pin="12")
        with pytest.raises(ValidationError, match="role must be one of"):
            admin.add_user(uow, "Tom", role="boss")


def test_channel_buffer_changes_shown_quantity(sold: tuple[Engine, int]) -> None:
    engine, _ = sold
    with read(engine) as uow:
        market = next(c for c in settings.channels(uow.session) if c.name == "Market")
    with UnitOfWork(engine) as uow:
        changes = admin.set_channel_buffer(
            uow, market.id, units=1, percent=Decimal("25")
        )
        uow.commit()
    assert changes.settings
    with read(engine) as uow:
        s = uow.session
        [mug_id] = products.variant_ids(s, "MUG")
        detail = products.stock_detail(s, mug_id)
    # 8 available: 1 unit plus 25% of 8 (2) held back leaves 5.
    assert [c.quantity for c in detail.channels] == [8, 5]
    with UnitOfWork(engine) as uow, pytest.raises(ValidationError):
        admin.set_channel_buffer(uow, market.id, units=-1)


def test_update_shop_and_warehouse(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        admin.update_shop(uow, name="Corner", tax_number="GB123", allow_backorders=True)
        admin.update_warehouse(
            uow, 1, name="Leeds", city="Leeds", latitude=Decimal("53.8"),
            longitude=Decimal("-1.55"), daily_capacity=50,
        )  # fmt: skip
        uow.commit()
    with read(shop) as uow:
        [warehouse] = products.warehouses(uow.session)
        info = dashboard.get_shop(uow.session)
    assert (info.name, info.tax_number, info.allow_backorders) == (
        "Corner",
        "GB123",
        True,
    )
    assert (warehouse.name, warehouse.daily_capacity) == ("Leeds", 50)
    with UnitOfWork(shop) as uow, pytest.raises(ValidationError, match="latitude"):
        admin.update_warehouse(uow, 1, name="X", latitude=Decimal(91))
