"""Refunds a channel made itself (Shopify, WooCommerce), arriving through sync.

A channel refund joins the return flow: it matches a refund made here that
the channel merely echoes back, or else attaches to an open RMA that covers
its lines, or else creates one. It is posted like any refund and paid at
once through 1100 Channel clearing, because the money has already gone.
When it precedes the inspection, the RMA is marked ``refunded before
inspection`` and a fraud signal records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.models import SalesOrder
from app.core.models.returns import ReturnAuthorization, ReturnRefund
from app.core.money import convert, format_minor
from app.core.orders import get_order
from app.core.returns import fraud
from app.core.returns.amounts import (
    RefundQuote,
    line_taxes,
    shipping_paid,
    shipping_refund,
    shipping_refunded,
)
from app.core.returns.authorization import ReturnLineInput, authorize
from app.core.returns.exceptions import RefundLimitExceeded
from app.core.returns.refund import line_refunds, post_payment, post_refund
from app.core.returns.states import BEFORE_INSPECTION
from app.core.shop import get_shop
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ChannelRefundResult:
    """A recorded channel refund.

    ``created`` is False when the same channel refund was recorded before,
    or when it matched a refund made here (``matched``).
    """

    refund_id: int
    rma_id: int
    created: bool
    matched: bool
    before_inspection: bool
    signals: tuple[int, ...]
    changes: Changes


def _check(
    lines: Mapping[int, int], amount: int, refunded_at: datetime, external_id: str
) -> None:
    if not lines:
        raise ValidationError(
            "lines",
            lines,
            "a channel refund needs the refunded lines; a refund without lines is "
            "not a return and is booked as a payment adjustment",
        )
    for line_no, quantity in lines.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationError(
                f"line {line_no} quantity", quantity, "quantity must be above zero"
            )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValidationError(
            "amount", amount, "a refund amount is whole minor units, 0 or more"
        )
    if refunded_at.tzinfo is None:
        raise ValidationError(
            "refunded_at", refunded_at, "the refund time needs a time zone"
        )
    if not external_id or not str(external_id).strip():
        raise ValidationError(
            "external_id", external_id, "the channel's refund id is missing"
        )


def _echo(
    uow: UnitOfWork, order: SalesOrder, lines: Mapping[int, int], amount: int
) -> ReturnRefund | None:
    """Find a refund made here that this channel refund reports back."""
    numbers = {line.id: line.line_no for line in order.lines}
    candidates = uow.session.scalars(
        select(ReturnRefund)
        .where(
            ReturnRefund.order_id == order.id,
            ReturnRefund.source == "shop",
            ReturnRefund.external_id.is_(None),
            ReturnRefund.total == amount,
            ReturnRefund.status.in_(("issued", "paid")),
        )
        .order_by(ReturnRefund.id)
    )
    for refund in candidates:
        if refund.status == "paid" and refund.paid_via != "channel":
            continue
        refunded = {numbers[line.order_line_id]: line.quantity for line in refund.lines}
        if refunded == dict(lines):
            return refund
    return None


def _open_rma(
    uow: UnitOfWork, order: SalesOrder, lines: Mapping[int, int]
) -> ReturnAuthorization | None:
    """Find the oldest live RMA whose unrefunded units cover the lines."""
    rmas = uow.session.scalars(
        select(ReturnAuthorization)
        .where(
            ReturnAuthorization.order_id == order.id,
            ReturnAuthorization.status != "cancelled",
        )
        .order_by(ReturnAuthorization.id)
    )
    for rma in rmas:
        by_no = {line.line_no: line for line in rma.lines}
        if all(
            no in by_no and by_no[no].quantity - by_no[no].quantity_refunded >= qty
            for no, qty in lines.items()
        ):
            return rma
    return None


def _quote(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    order: SalesOrder,
    lines: Mapping[int, int],
    amount: int,
) -> RefundQuote:
    """Split the channel's amount into lines, shipping and what it kept back.

    The lines are refunded in full. An amount above them is shipping, up to
    what is left of it. An amount below them was kept back by the channel
    and is credited to 4020 like a restocking fee.
    """
    session = uow.session
    by_no = {line.line_no: line for line in rma.lines}
    parts = line_refunds(uow, rma, order, {by_no[n].id: q for n, q in lines.items()})
    goods = sum(p.paid for p in parts)
    before = shipping_refunded(session, order.id)
    remaining = shipping_paid(order) - before
    cur = order.currency
    if amount > goods + remaining:
        raise RefundLimitExceeded(
            f"channel refund of {format_minor(amount, cur)} {cur} on order "
            f"{order.external_id} exceeds the {format_minor(goods, cur)} {cur} paid "
            f"for its lines plus {format_minor(remaining, cur)} {cur} of shipping not "
            "yet refunded; check the refund's lines on the channel"
        )
    shipping = shipping_refund(
        order,
        line_taxes(session, order.id).get(None, []),
        amount=max(amount - goods, 0),
        before=before,
    )
    kept = max(goods - amount, 0)
    shop_currency = get_shop(session).currency
    kept_shop = min(
        convert(kept, order.fx_rate, cur, shop_currency),
        sum(p.paid_shop for p in parts),
    )
    return RefundQuote(cur, parts, shipping, kept, kept_shop)


def record_channel_refund(
    uow: UnitOfWork,
    order_id: int,
    lines: Mapping[int, int],
    amount: int,
    refunded_at: datetime,
    external_id: str,
    *,
    reason: str = "other",
) -> ChannelRefundResult:
    """Record a refund the channel made: ``lines`` maps line numbers to units.

    ``amount`` is what the channel refunded, in order minor units.
    Recording the same ``external_id`` again changes nothing.
    """
    _check(lines, amount, refunded_at, external_id)
    session = uow.session
    order = get_order(session, order_id)
    external_id = str(external_id).strip()
    existing = session.scalar(
        select(ReturnRefund).where(
            ReturnRefund.channel_id == order.channel_id,
            ReturnRefund.external_id == external_id,
        )
    )
    if existing is not None:
        return ChannelRefundResult(
            existing.id,
            existing.rma_id,
            False,
            existing.source == "shop",
            existing.before_inspection,
            (),
            Changes(),
        )
    echoed = _echo(uow, order, lines, amount)
    if echoed is not None:
        return _attach_echo(uow, order, echoed, external_id, refunded_at)

    changes = Changes(orders={order.id})
    rma = _open_rma(uow, order, lines)
    matched = rma is not None
    if rma is None:
        created = authorize(
            uow,
            order.id,
            [ReturnLineInput(no, qty, reason) for no, qty in sorted(lines.items())],
            at=refunded_at,
            source="channel",
            note=f"created for channel refund {external_id}",
        )
        changes.merge(created.changes)
        rma = session.get(ReturnAuthorization, created.rma_id)
        assert rma is not None
    for line_no in lines:
        if line_no not in {line.line_no for line in rma.lines}:
            raise ValidationError("line", line_no, f"order has no line {line_no}")

    before_inspection = rma.status in BEFORE_INSPECTION
    quote = _quote(uow, rma, order, lines, amount)
    refund = ReturnRefund(
        rma_id=rma.id,
        order_id=order.id,
        channel_id=order.channel_id,
        status="waiting",
        source="channel",
        external_id=external_id,
        currency=order.currency,
        channel_amount=amount,
        requested_at=refunded_at,
        created_by=uow.user_id,
        note=f"the channel kept back {format_minor(quote.fee, order.currency)} "
        f"{order.currency}"
        if quote.fee
        else None,
    )
    session.add(refund)
    session.flush()
    changes.merge(post_refund(uow, rma, order, refund, quote, refunded_at))
    changes.merge(post_payment(uow, rma, order, refund, "channel", refunded_at))
    for waiting in session.scalars(
        select(ReturnRefund).where(
            ReturnRefund.rma_id == rma.id, ReturnRefund.status == "waiting"
        )
    ):
        waiting.status = "matched"
        waiting.matched_refund_id = refund.id
    signals: list[int] = []
    if before_inspection:
        rma.refunded_before_inspection = True
        signals = fraud.check_refund_before_inspection(
            uow,
            rma,
            refund_id=refund.id,
            external_id=external_id,
            amount=amount,
            currency=order.currency,
            units=sum(lines.values()),
            at=refunded_at,
        )
    record(
        uow,
        "return.channel_refund",
        "return_authorization",
        rma.id,
        detail={
            "refund": refund.id,
            "external_id": external_id,
            "amount": amount,
            "before_inspection": before_inspection,
        },
    )
    return ChannelRefundResult(
        refund.id, rma.id, True, matched, before_inspection, tuple(signals), changes
    )


def _attach_echo(
    uow: UnitOfWork,
    order: SalesOrder,
    refund: ReturnRefund,
    external_id: str,
    refunded_at: datetime,
) -> ChannelRefundResult:
    """Link a refund made here to the channel's id for it; pay it if unpaid."""
    session = uow.session
    refund.external_id = external_id
    refund.channel_amount = refund.total
    changes = Changes(orders={order.id})
    rma = session.get(ReturnAuthorization, refund.rma_id)
    assert rma is not None
    if refund.status == "issued":
        changes.merge(post_payment(uow, rma, order, refund, "channel", refunded_at))
    record(
        uow,
        "return.channel_refund_match",
        "return_authorization",
        rma.id,
        detail={"refund": refund.id, "external_id": external_id},
    )
    return ChannelRefundResult(
        refund.id, rma.id, False, True, refund.before_inspection, (), changes
    )
