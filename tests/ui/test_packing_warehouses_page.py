"""The Warehouses page: stock per warehouse, workload, weights and settings."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine

from app.core import catalog
from app.core.fulfillment import rates, rules
from app.core.fulfillment.settings import fulfillment_settings
from app.core.order_input import Address, LineInput, OrderInput
from app.core.uow import UnitOfWork
from app.ui.context import AppContext
from app.ui.pages.warehouses import WarehousesPage
from tests.helpers import NOON, add_sku, capture

LEEDS = Address(
    name="Ann Smith", line1="1 High St", city="Leeds", postcode="LS1 4AP", country="GB"
)


def two_warehouses(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        catalog.create_warehouse(
            uow,
            "MAN",
            "Manchester",
            "GB",
            city="Manchester",
            latitude=Decimal("53.4808"),
            longitude=Decimal("-2.2426"),
            daily_capacity=20,
        )
        uow.commit()
    add_sku(engine, "MUG", 5, 250, weight_g=400)
    add_sku(engine, "MUG", 7, 250, warehouse="MAN")
    capture(
        engine,
        OrderInput(
            channel="Manual",
            external_id="M1",
            placed_at=NOON,
            ship_to=LEEDS,
            lines=[LineInput("MUG", 2, "6.00")],
            warehouse="MAN",
        ),
    )


def loaded_page(qtbot, engine: Engine) -> WarehousesPage:  # type: ignore[no-untyped-def]
    ctx = AppContext(engine, "test shop")
    page = WarehousesPage(ctx)
    # The main window passes every write's changes to its pages.
    ctx.ops.changed.connect(lambda changes: page.on_changes(changes, True))
    qtbot.addWidget(page)
    page.activate()
    qtbot.waitUntil(lambda: page.data is not None and ctx.ops.idle, timeout=10000)
    return page


def cell(table, row: int, column: int) -> str:  # type: ignore[no-untyped-def]
    item = table.item(row, column)
    return "" if item is None else str(item.text())


def test_warehouses_page_shows_stock_and_workload(qtbot, shop):  # type: ignore[no-untyped-def]
    two_warehouses(shop)
    page = loaded_page(qtbot, shop)

    rows = {cell(page.loads, r, 0): r for r in range(page.loads.rowCount())}
    man = rows["MAN"]
    assert cell(page.loads, man, 3) == "20"
    assert cell(page.loads, man, 4) == "1"
    assert cell(page.loads, man, 5) == "5 %"
    assert cell(page.loads, man, 7) == "7"
    assert cell(page.loads, man, 8) == "2"
    assert cell(page.loads, rows["MAIN"], 3) == "no limit"
    headers = [
        page.stock.horizontalHeaderItem(c).text()
        for c in range(page.stock.columnCount())
    ]
    assert headers == ["SKU", "Title", "MAIN", "MAN"]
    assert cell(page.stock, 0, 2) == "5"
    assert cell(page.stock, 0, 3) == "7 (2 reserved)"


def test_warehouses_page_saves_weights_and_packing(qtbot, shop):  # type: ignore[no-untyped-def]
    two_warehouses(shop)
    page = loaded_page(qtbot, shop)
    page.weight_spins["distance"].setValue(5)
    page.half_km.setValue(250)
    page.save_weights()
    qtbot.waitUntil(lambda: page.ctx.ops.idle, timeout=10000)
    page.packaging.setValue(120)
    page.fx.setText("USD=0.79")
    page.save_packing()
    qtbot.waitUntil(lambda: page.ctx.ops.idle, timeout=10000)

    with UnitOfWork(shop, write=False) as uow:
        settings = fulfillment_settings(uow.session)
    assert settings.weights.distance == 5
    assert settings.distance_half_km == 250
    assert settings.packaging_weight_g == 120
    assert settings.fx_rates == {"USD": Decimal("0.79")}


def test_warehouses_page_lists_and_removes_rules(qtbot, shop):  # type: ignore[no-untyped-def]
    two_warehouses(shop)
    with UnitOfWork(shop) as uow:
        rules.add_rule(uow, "exclude", "MAN")
        uow.commit()
    page = loaded_page(qtbot, shop)
    assert cell(page.rule_table, 0, 1) == "MAN is excluded from routing"
    page.rule_table.selectRow(0)
    page.remove_rule()
    qtbot.waitUntil(lambda: page.rule_table.rowCount() == 0, timeout=10000)


def test_warehouses_page_offers_new_service_for_rates(qtbot, shop):  # type: ignore[no-untyped-def]
    with UnitOfWork(shop) as uow:
        rates.add_service(uow, "Parcelco", "48h", "GBP")
        uow.commit()
    page = loaded_page(qtbot, shop)
    labels = [label for _id, label, _currency in page._services()]
    assert labels == ["Parcelco / 48h"]
    assert page._services()[0][2] == "GBP"
