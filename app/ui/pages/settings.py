"""Settings: the shop, tax registrations, warehouses, channels, discount
codes and users."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.core import admin
from app.core.changes import Changes
from app.core.queries import settings as q
from app.core.queries.common import ShopInfo, shop_info
from app.core.queries.products import WarehouseView, warehouses
from app.ui.pages.base import Page
from app.ui.pages.settings_dialogs import (
    BufferDialog,
    DiscountDialog,
    RegistrationDialog,
    UserDialog,
    WarehouseDialog,
)
from app.ui.pages.stock_dialogs import FormDialog
from app.ui.widgets import DetailTable, heading, units_text


@dataclass(frozen=True, slots=True)
class SettingsData:
    shop: ShopInfo
    registrations: list[q.RegistrationView]
    warehouses: list[WarehouseView]
    channels: list[q.ChannelSettings]
    discounts: list[q.DiscountView]
    users: list[q.UserView]


def load_settings(session: Session) -> SettingsData:
    return SettingsData(
        shop_info(session),
        q.registrations(session),
        warehouses(session),
        q.channels(session),
        q.discount_codes(session),
        q.users(session),
    )


class SettingsPage(Page):
    key = "settings"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        self.data: SettingsData | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._shop_tab(), "Shop")
        self.registrations = DetailTable(["Kind", "Country", "Region", "Tax number"])
        self.warehouses = DetailTable(
            [
                "Code",
                "Name",
                "City",
                "Country",
                "Coordinates",
                "Orders per day",
                "Quarantine",
            ],
            right=(5,),
        )
        self.channels = DetailTable(
            ["Channel", "Kind", "Connected", "Terms", "Prices", "Buffer"]
        )
        self.discounts = DetailTable(
            ["Code", "Kind", "Value", "Used", "Limit", "Active"],
            right=(2, 3, 4),
            empty="No discount codes yet. Use Add code… to create one.",
        )
        self.users = DetailTable(["Name", "Role", "PIN", "Active"])
        self.channels.itemDoubleClicked.connect(lambda _i: self.edit_buffer())
        for table, title, button, slot in (
            (
                self.registrations,
                "Tax registrations",
                "Add registration…",
                self.add_registration,
            ),
            (self.warehouses, "Warehouses", "Add warehouse…", self.add_warehouse),
            (self.channels, "Channels", "Edit buffer…", self.edit_buffer),
            (self.discounts, "Discount codes", "Add code…", self.add_discount),
            (self.users, "Users", "Add user…", self.add_user),
        ):
            self.tabs.addTab(self._table_tab(table, button, slot), title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Settings", "pageTitle"))
        layout.addWidget(self.tabs, 1)

    def _shop_tab(self) -> QWidget:
        tab = QWidget()
        self.shop_name = QLineEdit()
        self.tax_number = QLineEdit()
        self.backorders = QCheckBox("Allow manual orders beyond available stock")
        self.fixed = QLabel("")
        self.fixed.setObjectName("hint")
        save = QPushButton("Save")
        save.setObjectName("primary")
        save.clicked.connect(self.save_shop)
        form = QFormLayout()
        form.addRow("Shop name", self.shop_name)
        form.addRow("Tax number", self.tax_number)
        form.addRow("", self.backorders)
        form.addRow("Books", self.fixed)
        card = QFrame()
        card.setObjectName("card")
        card.setMaximumWidth(640)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(18, 14, 18, 14)
        inner.addLayout(form)
        inner.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
        self.facts = QLabel("")
        self.facts.setObjectName("card")
        self.facts.setWordWrap(True)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.facts.setContentsMargins(18, 14, 18, 14)
        row = QHBoxLayout()
        row.addWidget(card, 3, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.facts, 2)
        layout = QVBoxLayout(tab)
        layout.addLayout(row)
        layout.addStretch(1)
        return tab

    def _table_tab(
        self, table: DetailTable, button_text: str, slot: Callable[[], None]
    ) -> QWidget:
        tab = QWidget()
        button = QPushButton(button_text)
        button.clicked.connect(slot)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(button)
        layout = QVBoxLayout(tab)
        layout.addLayout(bar)
        layout.addWidget(table, 1)
        return tab

    def refresh(self) -> None:
        self.ctx.ops.read(load_settings, self.show_data, label="Loading settings")

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if changes.settings or changes.orders:
            super().on_changes(changes, visible)

    def show_data(self, data: SettingsData) -> None:
        fmt = self.ctx.fmt
        self.data = data
        self.shop_name.setText(data.shop.name)
        self.tax_number.setText(data.shop.tax_number or "")
        self.backorders.setChecked(data.shop.allow_backorders)
        self.fixed.setText(
            f"{data.shop.currency} · {data.shop.country} · "
            f"{data.shop.timezone} (fixed when the shop was created)"
        )

        connected = [c.name for c in data.channels if c.connected]
        active_codes = [d.code for d in data.discounts if d.active]
        facts = [
            (
                "Warehouses",
                ", ".join(f"{w.code} ({w.city or w.name})" for w in data.warehouses),
            ),
            ("Connected channels", ", ".join(connected) or "none yet"),
            ("Users", ", ".join(u.name for u in data.users if u.active)),
            (
                "Tax registrations",
                ", ".join(f"{r.kind} {r.country}" for r in data.registrations),
            ),
            ("Active discount codes", ", ".join(active_codes) or "none"),
        ]
        self.facts.setText(
            "<b>This shop</b><br><br>"
            + "<br>".join(
                f"<span style='color:#627d98'>{k}</span><br>{v}<br>" for k, v in facts
            )
        )

        self.registrations.fill(
            [
                [r.kind, r.country, r.region or "", r.tax_number or ""]
                for r in data.registrations
            ]
        )
        self.warehouses.fill(
            [
                [
                    w.code,
                    w.name,
                    w.city,
                    w.country,
                    f"{w.latitude}, {w.longitude}" if w.latitude is not None else "",
                    fmt.number(w.daily_capacity) if w.daily_capacity else "",
                    "yes" if w.quarantine else "",
                ]
                for w in data.warehouses
            ]
        )
        self.channels.fill(
            [
                [
                    c.name,
                    c.kind,
                    "yes" if c.connected else "no",
                    "credit" if c.payment_terms == "credit" else "paid",
                    "incl. tax" if c.prices_include_tax else "excl. tax",
                    units_text(c.buffer_units)
                    + (
                        f" + {fmt.percent(c.buffer_percent)}"
                        if c.buffer_percent
                        else ""
                    ),
                ]
                for c in data.channels
            ]
        )
        self.discounts.fill(
            [
                [
                    d.code,
                    d.kind.replace("_", " "),
                    fmt.percent(d.value)
                    if d.kind == "percent"
                    else fmt.price(d.value, d.currency)
                    if d.kind == "fixed"
                    else "",
                    fmt.number(d.times_used),
                    fmt.number(d.usage_limit) if d.usage_limit else "",
                    "yes" if d.active else "no",
                ]
                for d in data.discounts
            ]
        )
        self.users.fill(
            [
                [
                    u.name,
                    u.role,
                    "set" if u.has_pin else "none",
                    "yes" if u.active else "no",
                ]
                for u in data.users
            ]
        )

    # --- actions ----------------------------------------------------------

    def save_shop(self) -> None:
        name, number = self.shop_name.text(), self.tax_number.text()
        backorders = self.backorders.isChecked()
        self.ctx.ops.write(
            lambda uow: admin.update_shop(
                uow, name=name, tax_number=number, allow_backorders=backorders
            ),
            lambda _c: self.ctx.reload_shop(),
            label="Saving the shop",
            parent=self,
        )

    def _run(self, dialog: FormDialog, label: str) -> None:
        dialog.accepted.connect(
            lambda: self.ctx.ops.write(dialog.prepared, label=label, parent=self)
        )
        dialog.open()

    def add_registration(self) -> None:
        self._run(RegistrationDialog(self.ctx, self), "Adding the registration")

    def add_warehouse(self) -> None:
        self._run(WarehouseDialog(self.ctx, self), "Adding the warehouse")

    def edit_buffer(self) -> None:
        row = self.channels.currentRow()
        if self.data is None or not 0 <= row < len(self.data.channels):
            self.channels.selectRow(0)
            row = 0
        if self.data is not None and self.data.channels:
            channel = self.data.channels[row]
            self._run(BufferDialog(self.ctx, channel, self), f"Saving {channel.name}")

    def add_discount(self) -> None:
        self._run(DiscountDialog(self.ctx, self), "Adding the discount code")

    def add_user(self) -> None:
        self._run(UserDialog(self.ctx, self), "Adding the user")
