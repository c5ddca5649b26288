"""The window end to end: welcome, products, stock, orders, shipping, periods."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from app.core.queries.common import has_shop
from app.core.reports import balances
from app.core.uow import UnitOfWork
from app.ui.app import Launcher
from app.ui.login import UserPicker
from app.ui.main_window import MainWindow
from app.ui.navigation import PAGES
from app.ui.pages.customers import CustomersPage
from app.ui.pages.dashboard import DashboardPage
from app.ui.pages.ledger import LedgerPage
from app.ui.pages.order_dialogs import NewOrderDialog, ShipDialog
from app.ui.pages.orders import OrdersPage
from app.ui.pages.products import ProductsPage
from app.ui.pages.settings import SettingsPage
from app.ui.pages.stock_dialogs import AddProductDialog, ReceiveDialog
from app.ui.welcome import WelcomeDialog
from tests.ui.helpers import WAIT_MS, open_window, settle

BARCODE = "5012345678900"


def account_balance(engine: Engine, code: str) -> int:
    with UnitOfWork(engine, write=False) as uow:
        row = next(r for r in balances(uow.session) if r.code == code)
    return row.debit_total - row.credit_total


def add_mug(qtbot: QtBot, window: MainWindow) -> ProductsPage:
    """Add the product MUG-1 through its dialog and receive 10 at 4.20."""
    products = window.open_page("products")
    assert isinstance(products, ProductsPage)
    settle(qtbot, window)
    products.new_record()
    dialog = products.findChild(AddProductDialog)
    assert dialog is not None
    dialog.title.setText("Enamel mug")
    dialog.sku.setText("MUG-1")
    dialog.price.setText("12.00")
    dialog.barcode.setText(BARCODE)
    dialog.reorder.setValue(4)
    dialog.ok_button.click()
    settle(qtbot, window)
    products.receive()
    receive = products.findChild(ReceiveDialog)
    assert receive is not None
    receive.quantity.setValue(10)
    receive.cost.setText("4.20")
    receive.ok_button.click()
    settle(qtbot, window)
    return products


def enter_order(qtbot: QtBot, window: MainWindow, quantity: int) -> None:
    window.new_order()
    dialog = window.page("orders").findChild(NewOrderDialog)
    assert dialog is not None
    assert dialog.add_sku(BARCODE)
    for _ in range(quantity - 1):
        dialog.add_sku(BARCODE)
    dialog.name.setText("Ann Smith")
    dialog.line1.setText("1 High St")
    dialog.city.setText("London")
    dialog.postcode.setText("SW1A 1AA")
    dialog._accept()
    settle(qtbot, window)


def test_welcome_creates_shop(qtbot: QtBot, tmp_path: Path) -> None:
    launcher = Launcher(tmp_path / "new.sqlite")
    welcome = launcher.start()
    assert isinstance(welcome, WelcomeDialog)
    qtbot.addWidget(welcome)
    welcome.name.setText("Corner Shop")
    qtbot.mouseClick(welcome.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: launcher.window is not None, timeout=WAIT_MS)
    window = launcher.window
    assert window is not None
    qtbot.addWidget(window)
    settle(qtbot, window)
    assert has_shop(launcher.engine)
    assert window.ctx.shop.name == "Corner Shop"
    assert window.ctx.shop.currency == "GBP"
    assert window.ctx.shop.timezone == "Europe/London"
    window.close()
    launcher.engine.dispose()


def test_welcome_rejects_empty_name(qtbot: QtBot, tmp_path: Path) -> None:
    launcher = Launcher(tmp_path / "new.sqlite")
    welcome = launcher.start()
    assert isinstance(welcome, WelcomeDialog)
    qtbot.addWidget(welcome)
    qtbot.mouseClick(welcome.create_button, Qt.MouseButton.LeftButton)
    assert "name" in welcome.message.text()
    assert not has_shop(launcher.engine)
    launcher.engine.dispose()


def test_add_product_and_receive(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    products = add_mug(qtbot, window)
    assert products.model.total == 1
    assert products.detail is not None
    assert products.detail.row.sku == "MUG-1"
    assert [lv.on_hand for lv in products.detail.levels] == [10]
    assert account_balance(shop, "1200") == 4200
    assert account_balance(shop, "2000") == -4200


def test_manual_order_moves_stock_dashboard_ledger(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    products = add_mug(qtbot, window)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    settle(qtbot, window)
    entries_before = ledger.model.total

    enter_order(qtbot, window, quantity=3)

    orders = window.page("orders")
    assert isinstance(orders, OrdersPage)
    assert orders.model.total == 1
    window.open_page("products")
    settle(qtbot, window)
    assert products.detail is not None
    assert products.detail.levels[0].reserved == 3
    assert products.detail.row.available == 7
    dashboard = window.open_page("dashboard")
    assert isinstance(dashboard, DashboardPage)
    settle(qtbot, window)
    assert dashboard.data is not None
    assert dashboard.data.today_sales.orders == 1
    # 3 x 12.00 net plus 20% VAT: 36.00 + 7.20.
    assert dashboard.data.today_sales.revenue == 4320
    assert dashboard.today_card.value.text() == "£43.20"
    window.open_page("ledger")
    settle(qtbot, window)
    assert ledger.model.total == entries_before + 1
    assert account_balance(shop, "1100") == 4320
    assert account_balance(shop, "2200") == -720


def test_ship_order_from_panel(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    products = add_mug(qtbot, window)
    enter_order(qtbot, window, quantity=3)
    orders = window.page("orders")
    assert isinstance(orders, OrdersPage)
    order_id = orders.model.row_id(0)
    assert order_id is not None
    orders.show_record(order_id)
    settle(qtbot, window)
    assert orders.panel.ship_button.isEnabled()
    orders.ship(order_id)
    dialog = orders.findChild(ShipDialog)
    assert dialog is not None
    dialog.tracking.setText("RM123456785GB")
    dialog.accept()
    settle(qtbot, window)
    detail = orders.panel.detail
    assert detail is not None
    assert detail.row.status == "shipped"
    assert [s.tracking_number for s in detail.shipments] == ["RM123456785GB"]
    assert [e.kind for e in detail.entries] == ["order", "shipment"]
    window.open_page("products")
    settle(qtbot, window)
    assert products.detail is not None
    assert products.detail.levels[0].on_hand == 7
    # Cost of goods sold at FIFO: 3 x 4.20.
    assert account_balance(shop, "5000") == 1260


def test_closed_period_rejects_order(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    add_mug(qtbot, window)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    ledger.tabs.setCurrentWidget(ledger.periods)
    settle(qtbot, window)
    today = window.ctx.fmt.local_date(datetime.now(UTC))
    ledger.periods.select_month(today.year, today.month)
    ledger.periods.close_selected()
    settle(qtbot, window)
    assert ledger.periods.rows[0].status == "closed"

    enter_order(qtbot, window, quantity=1)

    box = window.last_error
    assert box is not None
    assert box.windowTitle() == "Period closed"
    assert "Creating the order did not complete" in box.text()
    text = box.informativeText()
    assert f"closed period {today.year}-{today.month:02d}" in text
    assert "reopen" in text
    orders = window.page("orders")
    assert isinstance(orders, OrdersPage)
    assert orders.model.total == 0


def test_reopen_period_keeps_reason(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    add_mug(qtbot, window)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    ledger.tabs.setCurrentWidget(ledger.periods)
    settle(qtbot, window)
    today = window.ctx.fmt.local_date(datetime.now(UTC))
    ledger.periods.select_month(today.year, today.month)
    ledger.periods.close_selected()
    settle(qtbot, window)
    ledger.periods.reopen(today.year, today.month, "late supplier invoice")
    settle(qtbot, window)
    assert ledger.periods.rows[0].status == "open"
    assert ledger.periods.rows[0].reopen_reason == "late supplier invoice"


def test_every_page_opens_on_demo(qtbot: QtBot, demo_engine: Engine) -> None:
    window = open_window(qtbot, demo_engine)
    for index in range(len(window.pages)):
        window.show_page(index)
        settle(qtbot, window)
    dashboard = window.page("dashboard")
    assert isinstance(dashboard, DashboardPage)
    assert dashboard.data is not None
    assert len(dashboard.data.daily) == 30
    assert dashboard.data.exceptions
    for key in ("orders", "products", "customers"):
        page = window.page(key)
        assert isinstance(page, OrdersPage | ProductsPage | CustomersPage)
        assert page.model.total > 100, key
    ledger = window.page("ledger")
    assert isinstance(ledger, LedgerPage)
    assert ledger.model.total > 1000
    settings = window.page("settings")
    assert isinstance(settings, SettingsPage)
    assert settings.data is not None
    assert [c.name for c in settings.data.channels if c.connected] == [
        "Own store",
        "Marketplace",
        "Wholesale",
    ]


def test_lists_load_in_pages(qtbot: QtBot, demo_engine: Engine) -> None:
    window = open_window(qtbot, demo_engine)
    orders = window.open_page("orders")
    assert isinstance(orders, OrdersPage)
    settle(qtbot, window)
    assert orders.model.total > 100
    assert orders.model.rowCount() == 100
    orders.table.view.scrollToBottom()
    qtbot.waitUntil(lambda: orders.model.rowCount() > 100, timeout=WAIT_MS)


def test_search_filters_orders(qtbot: QtBot, demo_engine: Engine) -> None:
    window = open_window(qtbot, demo_engine)
    orders = window.open_page("orders")
    assert isinstance(orders, OrdersPage)
    settle(qtbot, window)
    orders.search.setText("WS-301")
    orders.search.returnPressed.emit()
    settle(qtbot, window)
    assert orders.model.total == 1
    orders.search.setText("no such order")
    orders.search.returnPressed.emit()
    settle(qtbot, window)
    assert orders.model.total == 0
    assert orders.table.hint.isVisible()


def test_user_with_pin_needs_it(qtbot: QtBot, demo_engine: Engine) -> None:
    window = open_window(qtbot, demo_engine)
    picker = UserPicker(window.ctx)
    qtbot.addWidget(picker)
    assert picker.needed()
    assert not picker.choose("Priya", "1111")
    assert "Wrong PIN" in picker.message.text()
    assert picker.choose("Priya", "2468")
    assert picker.chosen is not None
    assert picker.chosen.name == "Priya"


def test_every_page_opens_on_real_history(qtbot: QtBot, imported) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, imported.engine)
    for index in range(len(window.pages)):
        window.show_page(index)
        settle(qtbot, window)
    orders = window.page("orders")
    assert isinstance(orders, OrdersPage)
    assert orders.model.total == 25_897
    customers = window.page("customers")
    assert isinstance(customers, CustomersPage)
    assert customers.model.total > 4_372


def test_window_builds_pages_when_first_shown(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    first = window.current.key
    assert window.built == [first]
    assert len(window.keys) == len(PAGES)

    window.open_page("ledger")
    settle(qtbot, window)
    assert window.built == [first, "ledger"]
    assert isinstance(window.current, LedgerPage)
    assert window.nav.currentItem().text() == "Ledger"


def test_navigation_table_matches_page_classes() -> None:
    for entry in PAGES:
        assert entry.installed(), entry.module
        assert entry.page_class().key == entry.key


def test_orders_search_after_scrolling_shows_rows(
    qtbot: QtBot, demo_engine: Engine
) -> None:
    window = open_window(qtbot, demo_engine)
    orders = window.open_page("orders")
    assert isinstance(orders, OrdersPage)
    settle(qtbot, window)
    for _ in range(12):
        orders.table.view.scrollToBottom()
        settle(qtbot, window)
    assert orders.model.rowCount() > 100

    orders.search.setText("Zofia")
    orders.search.returnPressed.emit()
    settle(qtbot, window)

    assert orders.model.rowCount() > 0
    assert orders.table.view.isVisibleTo(orders)
    assert not orders.table.hint.isVisibleTo(orders)
