"""First run: create a shop (name, currency, country, time zone) or open the demo."""

from __future__ import annotations

from zoneinfo import available_timezones

import pycountry
from babel.core import get_global
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.setup import ShopSettings

COMMON_CURRENCIES = (
    "GBP",
    "EUR",
    "USD",
    "CAD",
    "AUD",
    "NZD",
    "CHF",
    "SEK",
    "DKK",
    "NOK",
    "PLN",
    "CZK",
    "JPY",
)


class WelcomeDialog(QDialog):
    """Emits ``create_requested`` with settings, or ``demo_requested``."""

    create_requested = Signal(object)
    demo_requested = Signal()

    def __init__(self, db_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeDialog")
        self.setWindowTitle("Welcome to Backroom")
        self.setMinimumWidth(520)
        title = QLabel("Welcome to Backroom")
        title.setObjectName("pageTitle")
        intro = QLabel(
            "Stock, orders and the books of your shop in one place, working "
            "offline. Create your shop, or look around a demo shop first."
        )
        intro.setWordWrap(True)
        intro.setObjectName("hint")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Hollow Oak Homeware")
        self.owner = QLineEdit("Owner")
        self.currency = QComboBox()
        self.currency.setEditable(True)
        self.currency.addItems(list(COMMON_CURRENCIES))
        self.country = QComboBox()
        for country in sorted(pycountry.countries, key=lambda c: c.name):
            self.country.addItem(f"{country.name} ({country.alpha_2})", country.alpha_2)
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(available_timezones()))
        self.country.currentIndexChanged.connect(self._country_changed)
        self.country.setCurrentIndex(max(0, self.country.findData("GB")))
        form = QFormLayout()
        form.addRow("Shop name", self.name)
        form.addRow("Your name", self.owner)
        form.addRow("Currency of the books", self.currency)
        form.addRow("Country", self.country)
        form.addRow("Time zone", self.timezone)
        self.message = QLabel("")
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        where = QLabel(f"Database: {db_label}")
        where.setObjectName("hint")
        where.setWordWrap(True)
        self.create_button = QPushButton("Create shop")
        self.create_button.setObjectName("primary")
        self.create_button.setDefault(True)
        self.demo_button = QPushButton("Open the demo shop")
        self.create_button.clicked.connect(self._create)
        self.demo_button.clicked.connect(self.demo_requested.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(where)
        layout.addLayout(buttons)

    def _country_changed(self) -> None:
        code = self.country.currentData()
        zones = get_global("territory_zones").get(code, [])
        if zones:
            self.timezone.setCurrentText(zones[0])
        currencies = get_global("territory_currencies").get(code, [])
        current = [c[0] for c in currencies if c[2] is None and c[3]]
        if current:
            self.currency.setCurrentText(current[0])

    def settings(self) -> ShopSettings:
        return ShopSettings(
            name=self.name.text().strip(),
            currency=self.currency.currentText().strip().upper(),
            country=self.country.currentData() or "",
            timezone=self.timezone.currentText().strip(),
            owner=self.owner.text().strip() or "Owner",
        )

    def _create(self) -> None:
        if not self.name.text().strip():
            self.message.setText("Give the shop a name; it appears on invoices.")
            return
        self.message.setText("")
        self.create_requested.emit(self.settings())

    def show_problem(self, text: str) -> None:
        self.message.setText(text)
