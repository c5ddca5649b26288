"""The main window: left navigation, stacked pages, shortcuts, status bar."""

from __future__ import annotations

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
from app.ui.navigation import PAGES, PageEntry
from app.ui.pages.base import Page
from app.ui.resources import icon

log = logging.getLogger(__name__)


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

        self.entries: list[PageEntry] = []
        for entry in PAGES:
            if entry.installed():
                self.entries.append(entry)
            else:
                log.info("%s is not installed; its page is left out", entry.module)
        self.has_import = any(entry.key == "import" for entry in self.entries)
        self._built: dict[str, Page] = {}
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stack = QStackedWidget()
        for number, entry in enumerate(self.entries, start=1):
            item = QListWidgetItem(icon(entry.icon), entry.title)
            item.setToolTip(f"{entry.title} (Ctrl+{number})")
            self.nav.addItem(item)
            # An empty widget takes the page's place until it is first shown.
            self.stack.addWidget(QWidget())
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
        """Return the page called ``key``, building it on first use."""
        found = self._built.get(key)
        if found is not None:
            return found
        row = next(
            (n for n, entry in enumerate(self.entries) if entry.key == key), None
        )
        if row is None:
            raise KeyError(f"no page {key!r}")
        built = self.entries[row].page_class()(self.ctx)
        placeholder = self.stack.widget(row)
        self.stack.insertWidget(row, built)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self._built[key] = built
        return built

    @property
    def keys(self) -> list[str]:
        return [entry.key for entry in self.entries]

    @property
    def built(self) -> list[str]:
        """Return the keys of the pages built so far, in the order they were built."""
        return list(self._built)

    @property
    def pages(self) -> list[Page]:
        """Every page, in navigation order; builds the ones not shown yet."""
        return [self.page(key) for key in self.keys]

    @property
    def current(self) -> Page:
        widget = self.stack.currentWidget()
        assert isinstance(widget, Page)
        return widget

    def show_page(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            return
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
            return
        page = self.page(self.entries[row].key)
        self.stack.setCurrentIndex(row)
        page.activate()

    def open_page(self, key: str) -> Page:
        page = self.page(key)
        self.show_page(self.keys.index(key))
        return page

    def navigate(self, key: str, record_id: object) -> None:
        if key == "orders-customer" and isinstance(record_id, int):
            orders = self.open_page("orders")
            # Imported here, as the window imports a page only when it is shown.
            from app.ui.pages.orders import OrdersPage

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
        # A page not built yet reads everything fresh when it is first shown.
        for page in list(self._built.values()):
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
        if number <= len(self.entries):
            self.show_page(number - 1)
        elif number == len(self.entries) + 1 and not self.has_import:
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
        keys = self.keys
        self.show_page(keys.index(last) if last in keys else 0)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/page", self.current.key)
        self.ctx.ops.shutdown()
        super().closeEvent(event)
