"""Customers whose returns stand out: the serial returner analysis.

The analysis works on one small record per customer, :class:`CustomerActivity`
(orders, invoiced value, returns, returned value), so that any source of
history can feed it. Two sources are built in: the shop's own orders and
returns, and imported historical orders whose credit notes have an external
id starting with ``C`` (the Online Retail layout). Both apply the
cancellation rule: a credit note (or refund) that exactly reverses an
invoice of the same customer within 24 hours cancels that sale, so neither
counts.

Among customers with at least ``serial_returner_min_orders`` orders, each
customer's returned share of value and of count gets a robust z-score,
``(x - median) / (1.4826 * MAD)``. A score above
``serial_returner_threshold`` makes the customer an outlier. Values are
shop-currency minor units net of tax.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.core.catalog import sku_key
from app.core.models import OrderLine, SalesOrder
from app.core.models.returns import ReturnAuthorization, ReturnLine
from app.core.money import cumulative_share
from app.core.returns import fraud
from app.core.returns.settings import ReturnSettings, load_settings
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

#: MAD scaled by this estimates the standard deviation of normal data.
MAD_SCALE = Decimal("1.4826")
#: When more than half the values equal the median, the MAD is 0. The mean
#: absolute deviation scaled by sqrt(pi / 2) is used instead.
MEAN_AD_SCALE = Decimal("1.2533")
CANCELLATION_WINDOW = timedelta(hours=24)
CREDIT_NOTE_PREFIX = "C"
ADJUSTMENT_PREFIX = "A"
PLACES = Decimal("0.0001")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CustomerActivity:
    """One customer's sales and returns; values in shop minor units net of tax."""

    customer_id: int
    orders: int
    invoiced_value: int
    returns: int
    returned_value: int


def combine(*sources: Iterable[CustomerActivity]) -> list[CustomerActivity]:
    """Add up the activity of the same customer from several sources."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for source in sources:
        for a in source:
            t = totals[a.customer_id]
            t[0] += a.orders
            t[1] += a.invoiced_value
            t[2] += a.returns
            t[3] += a.returned_value
    return [
        CustomerActivity(cid, t[0], t[1], t[2], t[3])
        for cid, t in sorted(totals.items())
    ]


# --- the shop's own orders and returns ----------------------------------------


def shop_activity(session: Session) -> list[CustomerActivity]:
    """Return activity from orders captured here and their returns.

    Cancelled orders and orders whose refunds were a cancellation are left
    out. A return counts its claimed units until it is received, and then
    the units that arrived or were refunded.
    """
    cancelled_sales = select(ReturnAuthorization.order_id).where(
        ReturnAuthorization.is_cancellation.is_(True)
    )
    order_rows = session.execute(
        select(
            SalesOrder.customer_id,
            func.count(func.distinct(SalesOrder.id)),
            func.coalesce(
                func.sum(OrderLine.list_net_shop - OrderLine.discount_net_shop), 0
            ),
        )
        .join(OrderLine, OrderLine.order_id == SalesOrder.id)
        .where(
            SalesOrder.historical.is_(False),
            SalesOrder.customer_id.is_not(None),
            SalesOrder.status != "cancelled",
            SalesOrder.id.not_in(cancelled_sales),
        )
        .group_by(SalesOrder.customer_id)
    )
    orders: dict[int, tuple[int, int]] = {
        cid: (int(n), int(v)) for cid, n, v in order_rows if cid is not None
    }
    returns: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = session.execute(
        select(ReturnAuthorization, ReturnLine, OrderLine)
        .join(ReturnLine, ReturnLine.rma_id == ReturnAuthorization.id)
        .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .where(
            ReturnAuthorization.status != "cancelled",
            ReturnAuthorization.is_cancellation.is_(False),
            ReturnAuthorization.customer_id.is_not(None),
        )
        .order_by(ReturnAuthorization.id)
    )
    seen: set[int] = set()
    for rma, line, order_line in rows:
        assert rma.customer_id is not None
        slot = returns[rma.customer_id]
        if rma.id not in seen:
            seen.add(rma.id)
            slot[0] += 1
        units = (
            line.quantity
            if rma.status == "authorized"
            else max(line.quantity_received, line.quantity_refunded)
        )
        value = order_line.list_net_shop - order_line.discount_net_shop
        slot[1] += cumulative_share(value, units, order_line.quantity)
    customers = sorted(set(orders) | set(returns))
    return [
        CustomerActivity(
            cid,
            orders.get(cid, (0, 0))[0],
            orders.get(cid, (0, 0))[1],
            returns[cid][0] if cid in returns else 0,
            returns[cid][1] if cid in returns else 0,
        )
        for cid in customers
        if cid is not None
    ]


# --- imported history ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HistoryOrder:
    id: int
    customer_id: int
    external_id: str
    placed_at: datetime
    value: int

    @property
    def is_credit_note(self) -> bool:
        return self.external_id.startswith(CREDIT_NOTE_PREFIX)


Signature = tuple[tuple[str, int, Decimal], ...]


def _signatures(session: Session, order_ids: Sequence[int]) -> dict[int, Signature]:
    """Return order id -> its lines as sorted (SKU, |quantity|, unit price)."""
    lines: dict[int, dict[tuple[str, Decimal], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for start in range(0, len(order_ids), _CHUNK):
        chunk = order_ids[start : start + _CHUNK]
        rows = session.execute(
            select(
                OrderLine.order_id,
                OrderLine.sku,
                OrderLine.quantity,
                OrderLine.unit_price,
            ).where(OrderLine.order_id.in_(chunk))
        )
        for order_id, sku, quantity, price in rows:
            key = (sku_key(sku), Decimal(price).normalize())
            lines[order_id][key] += abs(int(quantity))
    return {
        order_id: tuple(sorted((sku, qty, price) for (sku, price), qty in by.items()))
        for order_id, by in lines.items()
    }


def _cancellation_pairs(session: Session, orders: Sequence[_HistoryOrder]) -> set[int]:
    """Return ids of credit notes and invoices that cancel each other.

    A credit note cancels an invoice of the same customer placed at most 24
    hours before it when their lines match exactly (SKU, quantity, price).
    Each invoice is cancelled at most once.
    """
    by_customer: dict[int, list[_HistoryOrder]] = defaultdict(list)
    for order in orders:
        by_customer[order.customer_id].append(order)
    candidates: list[tuple[_HistoryOrder, list[_HistoryOrder]]] = []
    for customer_orders in by_customer.values():
        credit_notes = [o for o in customer_orders if o.is_credit_note]
        if not credit_notes:
            continue
        invoices = [o for o in customer_orders if not o.is_credit_note]
        for note in credit_notes:
            earliest = note.placed_at - CANCELLATION_WINDOW
            near = [
                inv for inv in invoices if earliest <= inv.placed_at <= note.placed_at
            ]
            if near:
                candidates.append((note, near))
    if not candidates:
        return set()
    ids = sorted({o.id for note, near in candidates for o in (note, *near)})
    signatures = _signatures(session, ids)
    paired: set[int] = set()
    for note, near in sorted(candidates, key=lambda c: (c[0].placed_at, c[0].id)):
        signature = signatures.get(note.id)
        # The latest matching invoice is the one the credit note most likely undoes.
        for invoice in sorted(near, key=lambda o: (o.placed_at, o.id), reverse=True):
            if invoice.id in paired:
                continue
            if signature and signatures.get(invoice.id) == signature:
                paired.update((note.id, invoice.id))
                break
    return paired


def history_activity(session: Session) -> list[CustomerActivity]:
    """Return activity from historical orders; ``C...`` orders are credit notes.

    Bad-debt adjustments (``A...``) are neither orders nor returns. An
    order's value is its lines' net amount, or their list amount when the
    import stored no net amounts.
    """
    net = func.sum(OrderLine.list_net_shop - OrderLine.discount_net_shop)
    rows = session.execute(
        select(
            SalesOrder.id,
            SalesOrder.customer_id,
            SalesOrder.external_id,
            SalesOrder.placed_at,
            func.coalesce(net, 0),
            func.coalesce(func.sum(OrderLine.list_amount), 0),
        )
        .join(OrderLine, OrderLine.order_id == SalesOrder.id)
        .where(
            and_(
                SalesOrder.historical.is_(True),
                SalesOrder.customer_id.is_not(None),
                SalesOrder.status != "cancelled",
            )
        )
        .group_by(
            SalesOrder.id,
            SalesOrder.customer_id,
            SalesOrder.external_id,
            SalesOrder.placed_at,
        )
    )
    orders = [
        _HistoryOrder(
            order_id,
            int(customer_id or 0),
            str(external_id),
            placed_at,
            abs(int(net_value)) if net_value else abs(int(list_value)),
        )
        for order_id, customer_id, external_id, placed_at, net_value, list_value in rows
        if customer_id is not None
        and not str(external_id).startswith(ADJUSTMENT_PREFIX)
    ]
    cancelled = _cancellation_pairs(session, orders)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for order in orders:
        if order.id in cancelled:
            continue
        slot = totals[order.customer_id]
        if order.is_credit_note:
            slot[2] += 1
            slot[3] += order.value
        else:
            slot[0] += 1
            slot[1] += order.value
    log.info(
        "history analysis: %d orders, %d cancelled in pairs, %d customers",
        len(orders),
        len(cancelled),
        len(totals),
    )
    return [
        CustomerActivity(cid, t[0], t[1], t[2], t[3])
        for cid, t in sorted(totals.items())
    ]


# --- scoring ---------------------------------------------------------------


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def robust_z_scores(values: Sequence[Decimal]) -> list[Decimal]:
    """Return ``(x - median) / (1.4826 * MAD)`` for each value.

    With a MAD of 0, the scale is the mean absolute deviation times 1.2533.
    When that is 0 too, every value equals the median and every score is 0.
    """
    if not values:
        return []
    median = _median(values)
    deviations = [abs(v - median) for v in values]
    scale = MAD_SCALE * _median(deviations)
    if scale == 0:
        scale = MEAN_AD_SCALE * sum(deviations, Decimal(0)) / len(deviations)
    if scale == 0:
        return [Decimal(0) for _ in values]
    return [((v - median) / scale).quantize(PLACES) for v in values]


@dataclass(frozen=True, slots=True)
class CustomerScore:
    """A customer's returned shares and their robust z-scores."""

    activity: CustomerActivity
    value_share: Decimal
    count_share: Decimal
    value_z: Decimal
    count_z: Decimal
    outlier: bool

    @property
    def score(self) -> Decimal:
        return max(self.value_z, self.count_z)


def _share(part: int, whole: int) -> Decimal:
    if whole <= 0:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(PLACES)


def score_customers(
    activity: Iterable[CustomerActivity],
    *,
    min_orders: int,
    threshold: Decimal,
) -> list[CustomerScore]:
    """Score every customer with at least ``min_orders`` orders, highest first."""
    eligible = [a for a in activity if a.orders >= min_orders]
    value_shares = [_share(a.returned_value, a.invoiced_value) for a in eligible]
    count_shares = [_share(a.returns, a.orders) for a in eligible]
    value_z = robust_z_scores(value_shares)
    count_z = robust_z_scores(count_shares)
    scores = [
        CustomerScore(a, vs, cs, vz, cz, outlier=vz > threshold or cz > threshold)
        for a, vs, cs, vz, cz in zip(
            eligible, value_shares, count_shares, value_z, count_z, strict=True
        )
    ]
    return sorted(scores, key=lambda s: (-s.score, s.activity.customer_id))


def customer_activity(
    session: Session, *, include_history: bool = True
) -> list[CustomerActivity]:
    sources = [shop_activity(session)]
    if include_history:
        sources.append(history_activity(session))
    return combine(*sources)


def analyze(
    session: Session,
    *,
    settings: ReturnSettings | None = None,
    include_history: bool = True,
) -> list[CustomerScore]:
    """Return the customers whose returns are outliers, highest score first."""
    settings = settings or load_settings(session)
    scores = score_customers(
        customer_activity(session, include_history=include_history),
        min_orders=settings.serial_returner_min_orders,
        threshold=settings.serial_returner_threshold,
    )
    return [s for s in scores if s.outlier]


def record_serial_returners(
    uow: UnitOfWork, outliers: Iterable[CustomerScore]
) -> list[int]:
    """Store a serial_returner signal for each outlier; return the signal ids."""
    found = []
    for s in outliers:
        a = s.activity
        signal = fraud.raise_signal(
            uow,
            "serial_returner",
            customer_id=a.customer_id,
            score=s.score,
            evidence={
                "orders": a.orders,
                "invoiced_value": a.invoiced_value,
                "returns": a.returns,
                "returned_value": a.returned_value,
                "value_share": str(s.value_share),
                "count_share": str(s.count_share),
                "value_z": str(s.value_z),
                "count_z": str(s.count_z),
            },
        )
        if signal is not None:
            found.append(signal.id)
    return found
