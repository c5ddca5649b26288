"""What a service call changed, so that each screen can decide to refresh."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Changes:
    """Ids touched by one service call, per kind of record."""

    orders: set[int] = field(default_factory=set)
    variants: set[int] = field(default_factory=set)
    entries: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    outbox: int = 0
    settings: bool = False

    def merge(self, other: Changes) -> Changes:
        self.orders |= other.orders
        self.variants |= other.variants
        self.entries |= other.entries
        self.customers |= other.customers
        self.outbox += other.outbox
        self.settings = self.settings or other.settings
        return self

    @property
    def stock(self) -> bool:
        return bool(self.variants)

    @property
    def ledger(self) -> bool:
        return bool(self.entries)
