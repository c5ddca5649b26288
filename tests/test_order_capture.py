"""Order capture worked examples: every figure written out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core import discounts, setup, shipments
from app.core.exceptions import InsufficientStock, PeriodClosed, ValidationError
from app.core.ledger import close_period
from app.core.models import (
    Invoice,
    JournalLine,
    OutboxItem,
    StockLevel,
    TaxLine,
    TaxRule,
)
from app.core.order_input import (
    Address,
    ChannelTax,
    CustomerInput,
    LineInput,
    OrderInput,
)
from app.core.tax import UnknownDestination
from app.core.uow import UnitOfWork
from tests.helpers import (
    NOON,
    account_nets,
    add_channel,
    add_sku,
    capture,
    load_order,
    violations,
)

LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def ship_all(engine, order_id):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        shipment_id, _ = shipments.ship(uow, order_id, at=NOON)
        uow.commit()
    return shipment_id


def test_uk_order_with_vat_included(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "MUG", 10, 250)
    add_sku(shop, "TEA", 10, 300)
    result = capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="1001",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 2, "6.00"), LineInput("TEA", 1, "9.99")],
            shipping="3.99",
        ),
    )
    order = load_order(shop, result.order_id)
    # 1200 includes 200 VAT; 999 includes 166.5 -> 167;
    # shipping 399 includes 66.5 -> 67.
    assert [line.tax_amount for line in order.lines] == [200, 167]
    assert order.shipping_tax == 67
    assert order.tax_total == 434
    assert order.total == 2598
    assert account_nets(shop)["1100"] == 2598
    assert account_nets(shop)["2200"] == -434
    assert account_nets(shop)["2300"] == -2164

    ship_all(shop, result.order_id)
    nets = account_nets(shop)
    assert nets["4000"] == -1832  # 1000 + 832 net of VAT
    assert nets["4010"] == -332
    assert nets["5000"] == 2 * 250 + 300
    assert "2300" not in nets
    assert violations(shop) == []


def test_new_york_order_with_code_and_taxable_shipping(make_shop):  # type: ignore[no-untyped-def]
    engine = make_shop(
        "nyshop", currency="USD", country="US", timezone="America/New_York", region="NY"
    )
    with UnitOfWork(engine) as uow:
        uow.session.add(
            TaxRule(
                country="US",
                region="NY",
                postcode="100*;101*;102*",
                rate=Decimal("4.875"),
                name="NYC local",
                priority=2,
                shipping=True,
                source="test",
            )
        )
        discounts.create_code(uow, "SAVE10", "percent", 10)
        uow.commit()
    add_channel(engine, "Web", "woocommerce")
    add_sku(engine, "LAMP", 5, 1200)
    add_sku(engine, "BULB", 5, 300)
    result = capture(
        engine,
        OrderInput(
            channel="Web",
            external_id="W-1",
            placed_at=NOON,
            ship_to=Address(
                name="Bo",
                line1="5 Ave",
                city="New York",
                region="NY",
                postcode="10001",
                country="US",
            ),
            lines=[LineInput("LAMP", 2, "25.00"), LineInput("BULB", 1, "10.00")],
            shipping="7.95",
            discount_codes=["save10"],
        ),
    )
    order = load_order(engine, result.order_id)
    # Subtotal 6000, 10 % = 600 spread 500 / 100; taxable 4500, 900 and shipping 795.
    assert [line.discount_amount for line in order.lines] == [500, 100]
    # State 4 %: 180, 36, 31.8 -> 32.
    # NYC 4.875 %: 219.375 -> 219, 43.875 -> 44, 38.756 -> 39.
    assert [line.tax_amount for line in order.lines] == [399, 80]
    assert order.shipping_tax == 71
    assert order.total == 4500 + 900 + 795 + 550
    with UnitOfWork(engine, write=False) as uow:
        tax_lines = uow.session.execute(
            select(JournalLine.tax_rate, JournalLine.credit).where(
                JournalLine.tax_rate.is_not(None)
            )
        ).all()
    assert sorted((str(r.normalize()), c) for r, c in tax_lines) == [
        ("4", 248),
        ("4.875", 302),
    ]
    ship_all(engine, result.order_id)
    nets = account_nets(engine)
    assert nets["4000"] == -6000
    assert nets["4910"] == 600
    assert nets["4010"] == -795
    assert nets["1100"] == 6745


def test_oss_order_to_germany_charges_german_vat(shop):  # type: ignore[no-untyped-def]
    with UnitOfWork(shop) as uow:
        setup.add_registration(uow, "oss", "GB")
        uow.commit()
    add_channel(shop, "Web", "woocommerce")
    add_sku(shop, "MUG", 5, 250)
    result = capture(
        shop,
        OrderInput(
            channel="Web",
            external_id="DE-1",
            placed_at=NOON,
            ship_to=Address(
                name="Jo", line1="Str 1", city="Berlin", postcode="10115", country="DE"
            ),
            lines=[LineInput("MUG", 1, "100.00")],
            shipping="5.00",
        ),
    )
    order = load_order(shop, result.order_id)
    assert order.tax_total == 1900 + 95
    assert order.total == 12495
    with UnitOfWork(shop, write=False) as uow:
        rows = uow.session.scalars(
            select(TaxLine).where(TaxLine.order_id == order.id)
        ).all()
    assert {(t.country, t.rate.normalize()) for t in rows} == {("DE", Decimal("19"))}


def test_foreign_currency_order_booked_at_its_rate(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "EU store", "woocommerce")
    add_sku(shop, "MUG", 5, 250)
    result = capture(
        shop,
        OrderInput(
            channel="EU store",
            external_id="E-1",
            placed_at=NOON,
            currency="EUR",
            fx_rate=Decimal("0.85"),
            ship_to=Address(
                name="Jo", line1="Str 1", city="Berlin", postcode="10115", country="DE"
            ),
            lines=[LineInput("MUG", 2, "50.00")],
            shipping="4.99",
        ),
    )
    order = load_order(shop, result.order_id)
    # No OSS registration: a GB shop's sale to Germany carries no VAT here.
    assert order.tax_total == 0
    assert order.total == 10499  # EUR cents
    assert order.total_shop == 8500 + 424  # 10000 x 0.85, 499 x 0.85 = 424.15
    with UnitOfWork(shop, write=False) as uow:
        line = uow.session.scalar(
            select(JournalLine).where(JournalLine.fx_currency == "EUR")
        )
    assert line is not None
    assert (line.debit, line.fx_amount) == (8924, 10499)


def test_channel_tax_one_cent_off_posts_difference(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Woo", "woocommerce")
    add_sku(shop, "MUG", 5, 250)
    result = capture(
        shop,
        OrderInput(
            channel="Woo",
            external_id="T-1",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[
                LineInput(
                    "MUG",
                    1,
                    "9.99",
                    channel_tax=(ChannelTax("VAT", Decimal("20"), 199),),
                )
            ],
        ),
    )
    order = load_order(shop, result.order_id)
    # Our rules: 999 x 20 % = 199.8 -> 200; the channel charged 199.
    assert order.tax_total == 199
    assert order.total == 1198
    assert order.tax_difference_shop == -1
    nets = account_nets(shop)
    assert nets["2200"] == -200
    assert nets["8200"] == 1
    assert nets["1100"] == 1198


def test_capture_twice_changes_nothing(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify", connected=True)
    add_sku(shop, "MUG", 5, 250)
    order = OrderInput(
        channel="Shop",
        external_id="1",
        placed_at=NOON,
        ship_to=LONDON,
        lines=[LineInput("MUG", 1, "5.00")],
    )
    first = capture(shop, order)
    before = account_nets(shop)
    second = capture(shop, order)
    assert second.order_id == first.order_id
    assert second.created is False
    assert account_nets(shop) == before


def test_channel_oversell_is_kept_and_marked(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify", connected=True)
    add_sku(shop, "MUG", 1, 250)
    result = capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="9",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 3, "5.00")],
        ),
    )
    order = load_order(shop, result.order_id)
    assert result.oversold is True
    assert order.lines[0].shortfall == 2
    with UnitOfWork(shop, write=False) as uow:
        level = uow.session.scalar(select(StockLevel))
    assert (level.on_hand, level.reserved) == (1, 1)
    assert violations(shop) == []


def test_manual_order_cannot_oversell(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 1, 250)
    with pytest.raises(
        InsufficientStock, match="MUG: 2 requested but only 1 available"
    ):
        capture(
            shop,
            OrderInput(
                channel="Manual",
                placed_at=NOON,
                ship_to=LONDON,
                lines=[LineInput("MUG", 2, "5.00")],
            ),
        )
    assert account_nets(shop) == {"1200": 250, "2000": -250}


def test_sale_queues_stock_for_other_channels(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify", connected=True)
    add_channel(shop, "Woo", "woocommerce", connected=True, buffer_units=1)
    add_sku(shop, "MUG", 5, 250)
    capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="1",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 2, "5.00")],
        ),
    )
    with UnitOfWork(shop, write=False) as uow:
        rows = uow.session.execute(
            select(OutboxItem.channel_id, OutboxItem.quantity, OutboxItem.status)
            .order_by(OutboxItem.id.desc())
            .limit(2)
        ).all()
    # Woo (buffer 1) is told 3 - 1 = 2; Shopify's own row is kept but not sent.
    assert sorted(rows) == [(3, 3, "origin"), (4, 2, "pending")]


def test_invoice_numbers_are_gap_free(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 250)
    for _ in range(2):
        capture(
            shop,
            OrderInput(
                channel="Manual",
                placed_at=NOON,
                ship_to=LONDON,
                lines=[LineInput("MUG", 1, "5.00")],
            ),
        )
    with pytest.raises(ValidationError):
        capture(
            shop,
            OrderInput(
                channel="Manual",
                placed_at=NOON,
                ship_to=LONDON,
                lines=[LineInput("MUG", 1, "5.00001")],
            ),
        )
    capture(
        shop,
        OrderInput(
            channel="Manual",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 1, "5.00")],
        ),
    )
    with UnitOfWork(shop, write=False) as uow:
        numbers = uow.session.scalars(
            select(Invoice.display_number)
            .where(Invoice.kind == "invoice")
            .order_by(Invoice.id)
        ).all()
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (
            LineInput("NOPE", 1, "5.00"),
            "line 1 sku",
            "'NOPE' on line 1 is not in the catalog",
        ),
        (LineInput("MUG", 0, "5.00"), "line 1 quantity", "quantity above zero"),
        (LineInput("MUG", -2, "5.00"), "line 1 quantity", "quantity above zero"),
        (LineInput("MUG", 1, "1.23456"), "line 1 unit price", "more than 4 decimals"),
        (LineInput("MUG", 1, "abc"), "line 1 unit price", "is not a number"),
    ],
)
def test_bad_line_rejected_with_field(shop, line, field, message):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 250)
    before = account_nets(shop)
    with pytest.raises(ValidationError, match=message) as caught:
        capture(
            shop,
            OrderInput(channel="Manual", placed_at=NOON, ship_to=LONDON, lines=[line]),
        )
    assert caught.value.field == field
    assert account_nets(shop) == before


def test_unit_price_with_three_decimals_rounds_line(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Trade", "wholesale")
    add_sku(shop, "PEG", 1000, 1)
    result = capture(
        shop,
        OrderInput(
            channel="Trade",
            external_id="T1",
            placed_at=NOON,
            ship_to=Address(country="US", region="NY"),
            lines=[LineInput("PEG", 7, "0.125")],
        ),
    )
    # 7 x 0.125 = 0.875 -> 88 pence, half-up; export to the US carries no tax.
    assert load_order(shop, result.order_id).total == 88


def test_unknown_region_rejected_when_tax_depends_on_it(make_shop):  # type: ignore[no-untyped-def]
    engine = make_shop(
        "us", currency="USD", country="US", timezone="America/New_York", region="NY"
    )
    add_sku(engine, "MUG", 5, 250)
    with pytest.raises(UnknownDestination, match="XX"):
        capture(
            engine,
            OrderInput(
                channel="Manual",
                placed_at=NOON,
                ship_to=Address(country="US", region="XX"),
                lines=[LineInput("MUG", 1, "5.00")],
            ),
        )


def test_unknown_country_rejected(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 250)
    with pytest.raises(UnknownDestination, match="QQ"):
        capture(
            shop,
            OrderInput(
                channel="Manual",
                placed_at=NOON,
                ship_to=Address(country="QQ"),
                lines=[LineInput("MUG", 1, "5")],
            ),
        )


def test_order_in_closed_period_rejected(shop):  # type: ignore[no-untyped-def]
    add_sku(shop, "MUG", 5, 250)
    with UnitOfWork(shop) as uow:
        close_period(uow, 2026, 5)
        uow.commit()
    with pytest.raises(PeriodClosed, match="closed period 2026-05"):
        capture(
            shop,
            OrderInput(
                channel="Manual",
                placed_at=datetime(2026, 5, 31, 22, 30, tzinfo=UTC),
                ship_to=LONDON,
                lines=[LineInput("MUG", 1, "5")],
            ),
        )


def test_unknown_sku_from_channel_holds_order(shop):  # type: ignore[no-untyped-def]
    add_channel(shop, "Shop", "shopify")
    result = capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="H1",
            placed_at=NOON,
            ship_to=LONDON,
            unknown_sku="hold",
            customer=CustomerInput(name="Ann"),
            lines=[LineInput("GHOST-1", 1, "5.00")],
        ),
    )
    order = load_order(shop, result.order_id)
    assert result.held is True
    assert "GHOST-1" in (order.hold_reason or "")


def test_manual_order_backordered_when_allowed(shop):  # type: ignore[no-untyped-def]
    from app.core.models import Shop

    with UnitOfWork(shop) as uow:
        shop_row = uow.session.get(Shop, 1)
        assert shop_row is not None
        shop_row.allow_backorders = True
        uow.commit()
    add_sku(shop, "MUG", 1, 250)
    result = capture(
        shop,
        OrderInput(
            channel="Manual",
            placed_at=NOON,
            ship_to=LONDON,
            lines=[LineInput("MUG", 3, "5.00")],
        ),
    )
    order = load_order(shop, result.order_id)
    assert order.lines[0].shortfall == 2
    assert result.oversold is False
    assert violations(shop) == []
