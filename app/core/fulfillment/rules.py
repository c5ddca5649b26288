"""The owner's routing rules: priority order, channel-only and exclusions.

Rules apply on top of the routing score (see ``scoring``). An excluded
warehouse is never a candidate. A channel with "only" rules ships only from
the warehouses they name. Among warehouses that can ship the whole order, a
better (lower) priority rank wins before the score is compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.catalog import get_warehouse
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Channel, Warehouse
from app.core.models.fulfillment import RoutingRule
from app.core.reference import forget
from app.core.uow import UnitOfWork

KINDS = ("priority", "only", "exclude")


@dataclass(frozen=True, slots=True)
class RuleView:
    id: int
    kind: str
    warehouse: str
    channel: str | None
    rank: int | None
    note: str

    @property
    def text(self) -> str:
        """The rule as a sentence, e.g. "orders from Wholesale ship only from LEEDS"."""
        if self.kind == "priority":
            return f"{self.warehouse} has priority {self.rank}"
        if self.kind == "only":
            return f"orders from {self.channel} ship only from {self.warehouse}"
        if self.channel:
            return f"{self.warehouse} never ships orders from {self.channel}"
        return f"{self.warehouse} is excluded from routing"


def _channel(session: Session, name: str) -> Channel:
    channel = session.scalar(select(Channel).where(Channel.name == name))
    if channel is None:
        raise NotFound(f"channel {name!r} does not exist; check the channel name")
    return channel


def add_rule(
    uow: UnitOfWork,
    kind: str,
    warehouse: str | int,
    *,
    channel: str | None = None,
    rank: int | None = None,
    note: str | None = None,
) -> RoutingRule:
    """Add a routing rule; a new priority for a warehouse replaces its old one."""
    session = uow.session
    if kind not in KINDS:
        raise ValidationError(
            "kind", kind, "a routing rule is priority, only or exclude"
        )
    wh = get_warehouse(session, warehouse)
    channel_row = _channel(session, channel) if channel else None
    if kind == "only" and channel_row is None:
        raise ValidationError(
            "channel", channel, "an 'only' rule names the channel it applies to"
        )
    if kind == "priority":
        if rank is None or isinstance(rank, bool) or rank < 1:
            raise ValidationError(
                "rank", rank, "a priority rule needs a rank of 1 or more (1 = first)"
            )
        for old in session.scalars(
            select(RoutingRule).where(
                RoutingRule.kind == "priority", RoutingRule.warehouse_id == wh.id
            )
        ):
            session.delete(old)
    rule = RoutingRule(
        kind=kind,
        warehouse_id=wh.id,
        channel_id=channel_row.id if channel_row else None,
        rank=rank if kind == "priority" else None,
        note=note,
    )
    session.add(rule)
    session.flush()
    forget(session)
    record(
        uow,
        "routing.rule_add",
        "routing_rule",
        rule.id,
        detail={"kind": kind, "warehouse": wh.code, "channel": channel},
    )
    return rule


def set_priority_order(uow: UnitOfWork, warehouses: Sequence[str]) -> None:
    """Replace every priority rule: the first code gets rank 1, and so on."""
    session = uow.session
    for old in session.scalars(
        select(RoutingRule).where(RoutingRule.kind == "priority")
    ):
        session.delete(old)
    session.flush()
    for rank, code in enumerate(warehouses, start=1):
        add_rule(uow, "priority", code, rank=rank)


def remove_rule(uow: UnitOfWork, rule_id: int) -> None:
    session = uow.session
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"routing rule {rule_id} does not exist")
    session.delete(rule)
    session.flush()
    forget(session)
    record(uow, "routing.rule_remove", "routing_rule", rule_id)


def list_rules(session: Session) -> list[RuleView]:
    rows = session.execute(
        select(RoutingRule, Warehouse.code, Channel.name)
        .join(Warehouse, Warehouse.id == RoutingRule.warehouse_id)
        .outerjoin(Channel, Channel.id == RoutingRule.channel_id)
        .where(RoutingRule.active.is_(True))
        .order_by(RoutingRule.kind, RoutingRule.rank, RoutingRule.id)
    ).all()
    return [
        RuleView(rule.id, rule.kind, code, name, rule.rank, rule.note or "")
        for rule, code, name in rows
    ]
