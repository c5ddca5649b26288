"""The month-end close checklist: a list of item providers and their findings.

Each provider looks at one kind of loose end (unshipped orders, shipments
without a label cost, open stock counts, ...) for one month and returns the
records at fault. Providers are registered by key; another module adds its
own with :func:`register_provider`, or replaces a built-in one by registering
the same key. Whether an item blocks the close is a shop setting
(``CloseSettings.blocking``), not a property of the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.core.accounting.periods import Month
from app.core.accounting.settings import CloseSettings
from app.core.shop import local_day_end, local_day_start

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A record a checklist item points at.

    ``kind`` is the table-like name of the record (``sales_order``,
    ``shipment``, ``stock_count``, ``variant``, ``return_authorization``,
    ``return_refund``, ``channel``, ``payout``, ``journal_entry``, or
    ``violation`` for a broken rule, which has no id). ``order_id`` is set
    when the record belongs to an order, so a screen can open that order.
    """

    kind: str
    id: int | None
    label: str
    order_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "label": self.label,
            "order_id": self.order_id,
        }


@dataclass(frozen=True, slots=True)
class CheckContext:
    """The inputs of a provider: the month as UTC instants and as local days.

    ``start`` and ``end`` are the UTC instants of the month's first local
    midnight and of the midnight after its last day (end exclusive).
    ``today`` is the shop-local date the checklist runs on.
    """

    session: Session
    month: Month
    start: datetime
    end: datetime
    zone: ZoneInfo
    today: date
    settings: CloseSettings


@dataclass(frozen=True, slots=True)
class Provider:
    """One checklist item: a key, a title and the function that finds records.

    ``note`` returns the item's explanation for this month (the threshold
    used, what to do next); it is shown beside the records.
    """

    key: str
    title: str
    collect: Callable[[CheckContext], Sequence[RecordRef]]
    note: Callable[[CheckContext], str] | None = None


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    title: str
    blocking: bool
    note: str
    records: tuple[RecordRef, ...]

    @property
    def ok(self) -> bool:
        return not self.records

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "blocking": self.blocking,
            "ok": self.ok,
            "note": self.note,
            "count": len(self.records),
            "records": [r.to_json() for r in self.records],
        }


@dataclass(frozen=True, slots=True)
class Checklist:
    """The findings of every provider for one month."""

    month: Month
    ran_at: datetime
    items: tuple[ChecklistItem, ...]

    @property
    def blocking(self) -> list[ChecklistItem]:
        """Return the items that stop the close."""
        return [i for i in self.items if i.blocking and not i.ok]

    @property
    def warnings(self) -> list[ChecklistItem]:
        return [i for i in self.items if not i.blocking and not i.ok]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.month.label,
            "ran_at": self.ran_at.isoformat(),
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "items": [i.to_json() for i in self.items],
        }


_PROVIDERS: dict[str, Provider] = {}


def register_provider(provider: Provider) -> None:
    """Add a checklist provider; one with the same key is replaced."""
    if provider.key in _PROVIDERS:
        log.info("checklist provider %s replaced", provider.key)
    _PROVIDERS[provider.key] = provider


def providers() -> list[Provider]:
    """Return the registered providers in registration order."""
    # The built-in providers register themselves when their module loads.
    from app.core.accounting import providers as _builtin  # noqa: F401

    return list(_PROVIDERS.values())


def make_context(
    session: Session,
    month: Month,
    *,
    zone: ZoneInfo,
    today: date,
    settings: CloseSettings,
) -> CheckContext:
    return CheckContext(
        session=session,
        month=month,
        start=local_day_start(month.first_day, zone),
        end=local_day_end(month.last_day, zone),
        zone=zone,
        today=today,
        settings=settings,
    )


def evaluate(context: CheckContext, ran_at: datetime) -> Checklist:
    """Run every provider for the context's month; nothing is written."""
    items = []
    for provider in providers():
        records = tuple(provider.collect(context))
        items.append(
            ChecklistItem(
                key=provider.key,
                title=provider.title,
                blocking=provider.key in context.settings.blocking,
                note=provider.note(context) if provider.note else "",
                records=records,
            )
        )
        log.debug(
            "checklist %s %s: %d records", context.month, provider.key, len(records)
        )
    return Checklist(context.month, ran_at, tuple(items))
