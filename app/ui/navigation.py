"""The pages of the main window, in navigation order.

The window lists every page from this table and imports and builds a page
only when it is first shown, so a start imports the modules of one page
instead of all of them.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from app.ui.pages.base import Page


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One page: its key, its navigation label and icon, and where it is built."""

    key: str
    title: str
    icon: str
    module: str
    class_name: str

    def installed(self) -> bool:
        """Return True when the page's module exists in this build."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def page_class(self) -> type[Page]:
        found = getattr(importlib.import_module(self.module), self.class_name)
        if not (isinstance(found, type) and issubclass(found, Page)):
            raise TypeError(f"{self.module}.{self.class_name} is not a page")
        if found.key != self.key:
            raise TypeError(
                f"{self.module}.{self.class_name} has key {found.key!r}, "
                f"not {self.key!r}"
            )
        return found


PAGES = (
    PageEntry(
        "dashboard", "Dashboard", "dashboard", "app.ui.pages.dashboard", "DashboardPage"
    ),
    PageEntry("orders", "Orders", "orders", "app.ui.pages.orders", "OrdersPage"),
    PageEntry(
        "products",
        "Products and stock",
        "products",
        "app.ui.pages.products",
        "ProductsPage",
    ),
    PageEntry(
        "customers", "Customers", "customers", "app.ui.pages.customers", "CustomersPage"
    ),
    PageEntry("ledger", "Ledger", "ledger", "app.ui.pages.ledger", "LedgerPage"),
    PageEntry(
        "settings", "Settings", "settings", "app.ui.pages.settings", "SettingsPage"
    ),
    PageEntry(
        "warehouses",
        "Warehouses",
        "warehouses",
        "app.ui.pages.warehouses",
        "WarehousesPage",
    ),
    PageEntry(
        "channels", "Channels", "channels", "app.ui.pages.channels", "ChannelsPage"
    ),
    PageEntry("import", "Import", "import", "app.ui.pages.import_page", "ImportPage"),
    PageEntry("returns", "Returns", "orders", "app.ui.pages.returns", "ReturnsPage"),
)
