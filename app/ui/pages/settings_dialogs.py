"""Dialogs of the Settings page: registrations, warehouses, channels,
discount codes and users. Each returns the service call to run."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox, QWidget

from app.core import admin, catalog, discounts, setup
from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.money import parse_price
from app.core.queries.settings import ChannelSettings
from app.core.uow import UnitOfWork
from app.ui.context import AppContext
from app.ui.pages.stock_dialogs import Action, FormDialog


def _decimal_or_none(text: str, field: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    return parse_price(text, field)


class RegistrationDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add tax registration",
            "Where the shop is registered "
            "to charge tax: an EU OSS number, a US state, another country.",
            parent,
        )
        self.kind = QComboBox()
        self.kind.addItems(["oss", "us_state", "country", "home"])
        self.country = QLineEdit()
        self.country.setMaxLength(2)
        self.region = QLineEdit()
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Country (ISO code)", self.country)
        self.form.addRow("Region or state", self.region)

    def action(self) -> Action:
        kind, country = self.kind.currentText(), self.country.text().strip()
        region = self.region.text().strip() or None

        def run(uow: UnitOfWork) -> Changes:
            setup.add_registration(uow, kind, country, region)
            return Changes(settings=True)

        return run


class WarehouseDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add warehouse",
            "Coordinates and daily capacity let "
            "orders be routed to the nearest warehouse that can pick "
            "them.",
            parent,
        )
        self.code = QLineEdit()
        self.name = QLineEdit()
        self.city = QLineEdit()
        self.country = QLineEdit(ctx.shop.country)
        self.latitude = QLineEdit()
        self.longitude = QLineEdit()
        self.capacity = QSpinBox()
        self.capacity.setRange(0, 1_000_000)
        self.quarantine = QCheckBox("Quarantine (stock here is never sold)")
        for label, widget in (
            ("Code", self.code),
            ("Name", self.name),
            ("City", self.city),
            ("Country", self.country),
            ("Latitude", self.latitude),
            ("Longitude", self.longitude),
            ("Orders per day", self.capacity),
        ):
            self.form.addRow(label, widget)
        self.form.addRow("", self.quarantine)

    def action(self) -> Action:
        values = (self.code.text(), self.name.text(), self.country.text())
        latitude = _decimal_or_none(self.latitude.text(), "latitude")
        longitude = _decimal_or_none(self.longitude.text(), "longitude")
        capacity = self.capacity.value() or None
        city, quarantine = self.city.text().strip(), self.quarantine.isChecked()

        def run(uow: UnitOfWork) -> Changes:
            catalog.create_warehouse(
                uow,
                *values,
                city=city,
                latitude=latitude,
                longitude=longitude,
                daily_capacity=capacity,
                is_quarantine=quarantine,
            )
            return Changes(settings=True)

        return run


class BufferDialog(FormDialog):
    def __init__(
        self, ctx: AppContext, channel: ChannelSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            ctx,
            f"Buffer for {channel.name}",
            "A channel is shown "
            "available minus its buffer, so the last units stay safe "
            "while it has not heard of a sale elsewhere.",
            parent,
        )
        self.channel = channel
        self.units = QSpinBox()
        self.units.setRange(0, 100_000)
        self.units.setValue(channel.buffer_units)
        self.percent = QLineEdit(f"{channel.buffer_percent.normalize():f}")
        self.form.addRow("Units held back", self.units)
        self.form.addRow("Plus percent of available", self.percent)

    def action(self) -> Action:
        percent = _decimal_or_none(self.percent.text(), "buffer percent") or Decimal(0)
        channel_id, units = self.channel.id, self.units.value()
        return lambda uow: admin.set_channel_buffer(
            uow, channel_id, units=units, percent=percent
        )


class DiscountDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add discount code",
            "Percent and fixed codes apply "
            "to the goods; free shipping takes the shipping charge.",
            parent,
        )
        self.code = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItems(list(discounts.KINDS))
        self.value = QLineEdit("10")
        self.limit = QSpinBox()
        self.limit.setRange(0, 1_000_000)
        self.limit.setSpecialValueText("no limit")
        self.form.addRow("Code", self.code)
        self.form.addRow("Kind", self.kind)
        self.form.addRow(f"Value (percent or {ctx.shop.currency})", self.value)
        self.form.addRow("Usage limit", self.limit)

    def action(self) -> Action:
        code, kind = self.code.text(), self.kind.currentText()
        value = _decimal_or_none(self.value.text(), "value") or Decimal(0)
        limit = self.limit.value() or None
        currency = self.ctx.shop.currency if kind == "fixed" else None

        def run(uow: UnitOfWork) -> Changes:
            discounts.create_code(
                uow, code, kind, value, currency=currency, usage_limit=limit
            )
            return Changes(settings=True)

        return run


class UserDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add user",
            "People pick their name when Backroom "
            "starts, so the audit trail says who did what. A PIN is "
            "optional.",
            parent,
        )
        self.name = QLineEdit()
        self.role = QComboBox()
        self.role.addItems(list(admin.ROLES))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("4 or more digits, or empty")
        self.form.addRow("Name", self.name)
        self.form.addRow("Role", self.role)
        self.form.addRow("PIN", self.pin)

    def action(self) -> Action:
        name, role, pin = (
            self.name.text(),
            self.role.currentText(),
            self.pin.text() or None,
        )
        if pin is not None and (len(pin) < 4 or not pin.isdigit()):
            raise ValidationError("pin", "****", "a PIN is at least 4 digits")

        def run(uow: UnitOfWork) -> Changes:
            admin.add_user(uow, name, role=role, pin=pin)
            return Changes(settings=True)

        return run
