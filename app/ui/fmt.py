"""Locale-aware display of money, numbers and dates for the window.

Amounts arrive as integer minor units with their ISO 4217 code and are shown
with babel for the user's locale; timestamps arrive in UTC and are shown in
the shop's time zone.
"""

from __future__ import annotations

import locale as pylocale
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from PySide6.QtCore import QLocale

from app.core.money import from_minor


def pick_locale(country: str) -> str:
    """Return the user's locale, or English in the shop's country without one.

    Qt reports ``C`` when the system sets no locale (containers, CI); the
    shop's country then picks the English variant (en_GB, en_US, ...).
    """
    names = [QLocale.system().name(), pylocale.getlocale()[0] or ""]
    for name in names:
        if name and name not in ("C", "POSIX", "C.UTF-8"):
            try:
                return str(Locale.parse(name.split(".")[0]))
            except (UnknownLocaleError, ValueError):
                continue
    try:
        return str(Locale.parse(f"en_{country.upper()}"))
    except (UnknownLocaleError, ValueError):
        return "en_GB"


class Formatter:
    """Formats figures for one shop: its currency, its time zone, a locale."""

    def __init__(self, currency: str, timezone: str, locale: str) -> None:
        self.currency = currency
        self.zone = ZoneInfo(timezone)
        self.locale = locale

    def money(self, minor: int, currency: str | None = None) -> str:
        """Format minor units, e.g. 123450 GBP -> "£1,234.50"."""
        code = currency or self.currency
        return format_currency(from_minor(minor, code), code, locale=self.locale)

    def price(self, amount: Decimal | None, currency: str | None = None) -> str:
        """Format a major-unit price such as a list price."""
        if amount is None:
            return ""
        code = currency or self.currency
        return format_currency(amount, code, locale=self.locale)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def count(self, value: int, noun: str, plural: str | None = None) -> str:
        """Format a count with its noun, e.g. "1 SKU" or "1,204 SKUs"."""
        word = noun if value == 1 else (plural or f"{noun}s")
        return f"{self.number(value)} {word}"

    def percent(self, rate: Decimal) -> str:
        """Format a rate given in percent, e.g. Decimal("20") -> "20%"."""
        return format_percent(rate / 100, format="#,##0.##%", locale=self.locale)

    def date(self, day: date) -> str:
        return format_date(day, format="d MMM yyyy", locale=self.locale)

    def long_date(self, day: date) -> str:
        return format_date(day, format="full", locale=self.locale)

    def short_date(self, day: date) -> str:
        return format_date(day, format="d MMM", locale=self.locale)

    def datetime(self, moment: datetime) -> str:
        """Format a UTC moment in the shop's time zone."""
        return format_datetime(
            moment, format="d MMM yyyy HH:mm", tzinfo=self.zone, locale=self.locale
        )

    def short_datetime(self, moment: datetime) -> str:
        """Format a UTC moment in the shop's zone without the year."""
        return format_datetime(
            moment, format="d MMM HH:mm", tzinfo=self.zone, locale=self.locale
        )

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()
