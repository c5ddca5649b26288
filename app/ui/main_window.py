"""The main window: left navigation, stacked pages, shortcuts, status bar."""

from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.ui.context import AppContext
from app.ui.errors import show_error
from app.ui.pages.base import Page
from app.ui.pages.customers import CustomersPage
from app.ui.pages.dashboard import DashboardPage
from app.ui.pages.ledger import LedgerPage
from app.ui.pages.orders import OrdersPage
from app.ui.pages.products import ProductsPage
from app.ui.pages.settings import SettingsPage
from app.ui.resources import icon

log = logging.getLogger(__name__)

#: Pages other modules provide, shown when their module is installed.
OPTIONAL_PAGES = (
    ("app.ui.pages.warehouses", "WarehousesPage"),
    ("app.ui.pages.channels", "ChannelsPage"),
    ("app.ui.pages.import_page", "ImportPage"),
    ("app.ui.pages.returns", "ReturnsPage"),
)
IMPORT_MODULE = "app.ui.pages.import_page"


def optional_page_class(module_name: str, class_name: str) -> type[Page] | None:
    """Return a page class when its module is installed, else None."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    found = getattr(module, class_name, None)
    return found if isinstance(found, type) and issubclass(found, Page) else None


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(f"{ctx.shop.name} · Backroom")
        self.setMinimumSize(QSize(1100, 680))
        ctx.ops.error_handler = lambda label, exc, parent: self.show_error(
            label, exc, parent
        )
        ctx.ops.changed.connect(self.on_changes)
        ctx.navigate_requested.connect(self.navigate)
        self.last_error = None

        classes: list[type[Page]] = [
            DashboardPage,
            OrdersPage,
            ProductsPage,
            CustomersPage,
            LedgerPage,
            SettingsPage,
        ]
        for module_name, class_name in OPTIONAL_PAGES:
            extra = optional_page_class(module_name, class_name)
            if extra is not None:
                classes.append(extra)
            else:
                log.info("%s is not installed; its page is left out", module_name)
        self.has_import = any(c.__module__ == IMPORT_MODULE for c in classes)
        self.pages: list[Page] = [cls(ctx) for cls in classes]
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget()
        for number, page in enumerate(self.pages, start=1):
            item = QListWidgetItem(icon(page.icon), page.title)
            item.setToolTip(f"{page.title} (Ctrl+{number})")
            self.nav.addItem(item)
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self.show_page)

        rail = QWidget()
        rail.setFixedWidth(200)
        rail.setObjectName("rail")
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(0, 0, 0, 0)
        rail_layout.setSpacing(0)
        brand = QLabel("Backroom")
        brand.setObjectName("brand")
        self.shop_label = QLabel(ctx.shop.name)
        self.shop_label.setObjectName("shopName")
        self.shop_label.setWordWrap(True)
        rail_layout.addWidget(brand)
        rail_layout.addWidget(self.shop_label)
        rail_layout.addWidget(self.nav, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(rail)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.user_label = QLabel("")
        self.statusBar().addPermanentWidget(self.user_label)
        self._shortcuts()
        self._restore()

    # --- pages ------------------------------------------------------------

    def page(self, key: str) -> Page:
        return next(p for p in self.pages if p.key == key)

    @property
    def current(self) -> Page:
        widget = self.stack.currentWidget()
        assert isinstance(widget, Page)
        return widget

    def show_page(self, row: int) -> None:
        if not 0 <= row < len(self.pages):
            return
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
            return
        self.stack.setCurrentIndex(row)
        self.pages[row].activate()

    def open_page(self, key: str) -> Page:
        page = self.page(key)
        self.show_page(self.pages.index(page))
        return page

    def navigate(self, key: str, record_id: object) -> None:
        if key == "orders-customer" and isinstance(record_id, int):
            orders = self.open_page("orders")
            assert isinstance(orders, OrdersPage)
            customers = self.page("customers")
            name = getattr(getattr(customers, "detail", None), "row", None)
            orders.show_customer(record_id, name.name if name else f"#{record_id}")
            return
        page = self.open_page(key)
        if isinstance(record_id, int):
            page.show_record(record_id)

    def on_changes(self, changes: Changes) -> None:
        current = self.current
        for page in self.pages:
            page.on_changes(changes, page is current)
        if changes.settings:
            self.ctx.reload_shop()
            self.shop_label.setText(self.ctx.shop.name)
            self.setWindowTitle(f"{self.ctx.shop.name} · Backroom")

    def set_user_label(self) -> None:
        user = self.ctx.user
        who = f"Signed in as {user.name} ({user.role})" if user else "No user"
        self.user_label.setText(f"{who} · {self.ctx.db_label}")

    def show_error(
        self, label: str, exc: BaseException, parent: QWidget | None
    ) -> None:
        self.last_error = show_error(parent or self, label, exc)

    # --- keyboard ---------------------------------------------------------

    def _shortcuts(self) -> None:
        for number in range(1, 10):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda n=number: self._page_key(n))
        bindings = (
            (QKeySequence.StandardKey.New, self.new_order),
            ("Ctrl+Shift+N", lambda: self.current.new_record()),
            (QKeySequence.StandardKey.Find, lambda: self.current.focus_search()),
            (QKeySequence.StandardKey.Refresh, lambda: self.current.refresh()),
            ("F5", lambda: self.current.refresh()),
            ("F9", lambda: self.page("warehouses").open_station()),  # type: ignore[attr-defined]
        )
        for key, slot in bindings:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(slot)

    def _page_key(self, number: int) -> None:
        if number <= len(self.pages):
            self.show_page(number - 1)
        elif number == len(self.pages) + 1 and not self.has_import:
            self.statusBar().showMessage(
                "Import is not connected yet: this build has no import module.", 5000
            )

    def new_order(self) -> None:
        page = self.open_page("orders")
        page.new_record()

    # --- window state -----------------------------------------------------

    def _restore(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        last = settings.value("window/page", "dashboard")
        keys = [p.key for p in self.pages]
        self.show_page(keys.index(last) if last in keys else 0)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/page", self.current.key)
        self.ctx.ops.shutdown()
        super().closeEvent(event)
