"""Rule 5: a refund never exceeds what was paid for its lines and shipping.

:func:`enforce_limits` rejects a refund before it is posted, and
:func:`check_refund_limits` verifies every posted refund on a database for
``backroom check``. Limits are in order-currency minor units, tax included.
An order line's limit is what was paid for its shipped units, shipping's is
what was paid for shipping, and the order's is its total.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import OrderLine, SalesOrder
from app.core.models.returns import ReturnRefund, ReturnRefundLine
from app.core.money import format_minor
from app.core.returns.amounts import (
    RefundQuote,
    line_limit,
    line_taxes,
    shipping_paid,
    shipping_refunded,
)
from app.core.returns.exceptions import RefundLimitExceeded
from app.core.returns.states import POSTED_REFUNDS

if TYPE_CHECKING:
    from app.core.checks import Violation

RULE = 5


def _line_refunded(session: Session, order_id: int) -> dict[int, tuple[int, int]]:
    """Return order line id -> (units, paid) refunded by posted refunds."""
    rows = session.execute(
        select(
            ReturnRefundLine.order_line_id,
            func.sum(ReturnRefundLine.quantity),
            func.sum(ReturnRefundLine.paid),
        )
        .join(ReturnRefund, ReturnRefund.id == ReturnRefundLine.refund_id)
        .where(
            ReturnRefund.order_id == order_id,
            ReturnRefund.status.in_(POSTED_REFUNDS),
        )
        .group_by(ReturnRefundLine.order_line_id)
    )
    return {line_id: (int(units), int(paid)) for line_id, units, paid in rows}


def _order_refunded(session: Session, order_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(ReturnRefund.total), 0)).where(
            ReturnRefund.order_id == order_id,
            ReturnRefund.status.in_(POSTED_REFUNDS),
        )
    )
    return int(total or 0)


def order_problems(
    session: Session, order: SalesOrder, extra: RefundQuote | None = None
) -> list[str]:
    """Return what breaks rule 5 on an order, counting ``extra`` as posted too."""
    cur = order.currency
    taxes = line_taxes(session, order.id)
    refunded = _line_refunded(session, order.id)
    if extra is not None:
        merged = defaultdict(lambda: (0, 0), refunded)
        for part in extra.lines:
            units, paid = merged[part.order_line_id]
            merged[part.order_line_id] = (units + part.quantity, paid + part.paid)
        refunded = dict(merged)

    problems = []
    lines = {line.id: line for line in order.lines}
    for line_id, (units, paid) in sorted(refunded.items()):
        line: OrderLine = lines[line_id]
        if units > line.quantity_shipped:
            problems.append(
                f"order {order.external_id} line {line.line_no} ({line.sku}): "
                f"{units} units refunded but {line.quantity_shipped} shipped"
            )
        limit = line_limit(order, line, taxes.get(line.id, []))
        if paid > limit:
            problems.append(
                f"order {order.external_id} line {line.line_no} ({line.sku}): "
                f"refunds of {format_minor(paid, cur)} {cur} exceed the "
                f"{format_minor(limit, cur)} {cur} paid for its shipped units"
            )

    shipping = shipping_refunded(session, order.id) + (
        extra.shipping.paid if extra else 0
    )
    if shipping > shipping_paid(order):
        problems.append(
            f"order {order.external_id}: shipping refunds of "
            f"{format_minor(shipping, cur)} {cur} exceed the "
            f"{format_minor(shipping_paid(order), cur)} {cur} paid for shipping"
        )

    total = _order_refunded(session, order.id) + (extra.total if extra else 0)
    if total > order.total:
        problems.append(
            f"order {order.external_id}: refunds of {format_minor(total, cur)} {cur} "
            f"exceed the order total of {format_minor(order.total, cur)} {cur}"
        )
    return problems


def enforce_limits(session: Session, order: SalesOrder, quote: RefundQuote) -> None:
    """Raise RefundLimitExceeded when posting ``quote`` would break rule 5."""
    problems = order_problems(session, order, quote)
    if problems:
        raise RefundLimitExceeded(
            "; ".join(problems)
            + ". A refund never exceeds what was paid for its lines, tax and "
            "shipping included: lower the quantities or the amount"
        )


def check_refund_limits(session: Session) -> list[Violation]:
    """Return a rule-5 violation for every order whose posted refunds overpay."""
    from app.core.checks import Violation

    order_ids = session.scalars(
        select(ReturnRefund.order_id)
        .where(ReturnRefund.status.in_(POSTED_REFUNDS))
        .distinct()
        .order_by(ReturnRefund.order_id)
    ).all()
    found = []
    for order_id in order_ids:
        order = session.get(SalesOrder, order_id)
        if order is None:
            continue
        for message in order_problems(session, order):
            found.append(Violation(RULE, message, {"order": order_id}))
    return found
