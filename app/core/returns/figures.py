"""Return figures for the dashboard: processing time and counts.

Cancelled RMAs and returns that were a cancellation (a refund of the whole
invoice within 24 hours) are left out. Units are the units claimed on the
RMA.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import Customer, OrderLine
from app.core.models.returns import ReturnAuthorization, ReturnLine, ReturnRefund
from app.core.money import cumulative_share
from app.core.returns.states import POSTED_REFUNDS


@dataclass(frozen=True, slots=True)
class ProcessingTime:
    """Time from authorization to the first posted refund.

    ``p90`` is the nearest-rank 90th percentile: the smallest time that at
    least 90 % of the refunded returns took.
    """

    returns: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    returns: int
    units: int


@dataclass(frozen=True, slots=True)
class SkuCount:
    variant_id: int
    sku: str
    returns: int
    units: int


@dataclass(frozen=True, slots=True)
class CustomerCount:
    """A customer's returns; ``value_shop`` is what the claimed units were paid."""

    customer_id: int
    name: str
    returns: int
    units: int
    value_shop: int


@dataclass(frozen=True, slots=True)
class ReturnFigures:
    processing: ProcessingTime
    reasons: list[ReasonCount]
    skus: list[SkuCount]
    customers: list[CustomerCount]


def processing_time(seconds: list[float]) -> ProcessingTime:
    """Return the median and nearest-rank p90 of durations in seconds."""
    if not seconds:
        return ProcessingTime(0, None, None)
    ordered = sorted(seconds)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    p90 = ordered[math.ceil(0.9 * n) - 1]
    return ProcessingTime(n, timedelta(seconds=median), timedelta(seconds=p90))


@dataclass(slots=True)
class _Tally:
    """Running counts: per key, [returns, units] (customers: plus value)."""

    rmas: dict[int, ReturnAuthorization] = field(default_factory=dict)
    reasons: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    skus: dict[int, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    sku_names: dict[int, str] = field(default_factory=dict)
    customers: dict[int, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    seen: set[tuple[int, str, object]] = field(default_factory=set)

    def first(self, rma_id: int, kind: str, key: object) -> int:
        """Return 1 the first time an RMA counts for a key, else 0."""
        marker = (rma_id, kind, key)
        if marker in self.seen:
            return 0
        self.seen.add(marker)
        return 1

    def add(
        self, rma: ReturnAuthorization, line: ReturnLine, order_line: OrderLine
    ) -> None:
        self.rmas[rma.id] = rma
        reason = self.reasons[line.reason]
        reason[0] += self.first(rma.id, "reason", line.reason)
        reason[1] += line.quantity

        sku = self.skus[line.variant_id]
        sku[0] += self.first(rma.id, "sku", line.variant_id)
        sku[1] += line.quantity
        self.sku_names[line.variant_id] = line.sku

        if rma.customer_id is None:
            return
        customer = self.customers[rma.customer_id]
        customer[0] += self.first(rma.id, "customer", rma.customer_id)
        customer[1] += line.quantity
        paid = (
            order_line.list_net_shop
            - order_line.discount_net_shop
            + order_line.tax_shop
        )
        customer[2] += cumulative_share(paid, line.quantity, order_line.quantity)


def _durations(session: Session, rmas: dict[int, ReturnAuthorization]) -> list[float]:
    """Return seconds from authorization to the first posted refund, per RMA."""
    first_refund = session.execute(
        select(ReturnRefund.rma_id, func.min(ReturnRefund.issued_at))
        .where(
            ReturnRefund.status.in_(POSTED_REFUNDS),
            ReturnRefund.rma_id.in_(list(rmas)),
        )
        .group_by(ReturnRefund.rma_id)
    ).all()
    return [
        (refunded - rmas[rma_id].authorized_at).total_seconds()
        for rma_id, refunded in first_refund
        if refunded is not None
    ]


def return_figures(
    session: Session,
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> ReturnFigures:
    """Return the figures for RMAs authorized from ``date_from`` until ``date_to``."""
    query = (
        select(ReturnAuthorization, ReturnLine, OrderLine)
        .join(ReturnLine, ReturnLine.rma_id == ReturnAuthorization.id)
        .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .where(
            ReturnAuthorization.status != "cancelled",
            ReturnAuthorization.is_cancellation.is_(False),
        )
        .order_by(ReturnAuthorization.id, ReturnLine.line_no)
    )
    if date_from is not None:
        query = query.where(ReturnAuthorization.authorized_at >= date_from)
    if date_to is not None:
        query = query.where(ReturnAuthorization.authorized_at < date_to)
    tally = _Tally()
    for rma, line, order_line in session.execute(query).all():
        tally.add(rma, line, order_line)

    names = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_(list(tally.customers))
            )
        ).all()
    )
    return ReturnFigures(
        processing=processing_time(_durations(session, tally.rmas)),
        reasons=sorted(
            (ReasonCount(r, v[0], v[1]) for r, v in tally.reasons.items()),
            key=lambda c: (-c.returns, -c.units, c.reason),
        ),
        skus=sorted(
            (
                SkuCount(vid, tally.sku_names[vid], v[0], v[1])
                for vid, v in tally.skus.items()
            ),
            key=lambda c: (-c.returns, -c.units, c.sku),
        ),
        customers=sorted(
            (
                CustomerCount(cid, names.get(cid, ""), v[0], v[1], v[2])
                for cid, v in tally.customers.items()
            ),
            key=lambda c: (-c.returns, -c.value_shop, c.customer_id),
        ),
    )
