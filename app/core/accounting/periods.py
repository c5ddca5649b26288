"""Accounting months and fiscal years as date ranges in the shop's calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.exceptions import ValidationError

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month of the books, such as 2026-06."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValidationError(
                "period", f"{self.year}-{self.month}", "month must be 1 to 12"
            )

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raise ValidationError naming the text otherwise."""
        found = _MONTH.fullmatch(text.strip())
        if found is None:
            raise ValidationError(
                "period", text, f"period {text!r} is not a month; write it as YYYY-MM"
            )
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        if self.month == 1:
            return Month(self.year - 1, 12)
        return Month(self.year, self.month - 1)

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    def __str__(self) -> str:
        return self.label


def fiscal_year_range(name: int, start_month: int) -> tuple[date, date]:
    """Return the first and last day of fiscal year ``name``.

    A fiscal year is named by the calendar year it ends in: with a start
    month of 4, fiscal year 2026 runs from 2025-04-01 to 2026-03-31; with
    a start month of 1 it is the calendar year 2026.
    """
    if not 1 <= start_month <= 12:
        raise ValidationError(
            "fiscal_year_start_month",
            start_month,
            "the fiscal year start month must be 1 to 12; fix it in Settings",
        )
    first = date(name if start_month == 1 else name - 1, start_month, 1)
    last = date(name + (1 if start_month == 1 else 0), start_month, 1) - timedelta(
        days=1
    )
    return first, last


def fiscal_year_of(day: date, start_month: int) -> int:
    """Return the name of the fiscal year that contains ``day``."""
    if start_month == 1 or day.month < start_month:
        return day.year
    return day.year + 1


def months_between(first: date, last: date) -> list[Month]:
    """Return every month from the one containing ``first`` to ``last``'s."""
    months = []
    current = Month.of(first)
    end = Month.of(last)
    while current <= end:
        months.append(current)
        current = current.next()
    return months


def local_noon(day: date, zone: ZoneInfo) -> datetime:
    """Return noon of a shop-local day in UTC, for postings dated by day only."""
    return datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)
