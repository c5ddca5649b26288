"""Refunds against the original invoice lines, their postings and their payout.

A refund gives back what was paid for the returned units (list price less
their share of order discounts, plus the tax charged on them), shipping by
the shop's policy, less an optional restocking fee. The posting debits 4900
Sales returns (list price net of tax) and credits 4910 Sales discounts (their
discount share). It debits 4010 Shipping income (refunded shipping, net) and
2200 per tax rate, and credits 4020 Restocking fees and 2400 Refunds payable.
A credit note is issued against the invoice. Paying the refund clears 2400
against 1100 Channel clearing or 1000 Bank.

By default a refund waits for the inspection: :func:`request_refund` on an
uninspected return stores a ``waiting`` refund that the inspection issues.
:func:`release_refund` (or ``release_reason``) issues it earlier; the reason
is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import ledger
from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, NotFound, ValidationError
from app.core.invoicing import issue_credit_note
from app.core.ledger import Posting
from app.core.models import Channel, Invoice, SalesOrder
from app.core.models.returns import (
    ReturnAuthorization,
    ReturnLine,
    ReturnRefund,
    ReturnRefundLine,
    ReturnRefundTax,
)
from app.core.money import convert, round_half_up
from app.core.orders import get_order
from app.core.outbox import queue_message
from app.core.returns import fraud
from app.core.returns.amounts import (
    LineRefund,
    RefundQuote,
    line_refund,
    line_taxes,
    refunded_units,
    shipping_paid,
    shipping_refund,
    shipping_refunded,
)
from app.core.returns.authorization import close_if_done, get_rma
from app.core.returns.limits import enforce_limits
from app.core.returns.settings import RestockingFee, ReturnSettings, load_settings
from app.core.returns.states import (
    BEFORE_INSPECTION,
    PAYOUT_ACCOUNTS,
    POSTED_REFUNDS,
    SELLER_FAULT_REASONS,
)
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

#: A refund that gives back the whole invoice this soon after it was issued
#: is a cancellation, not a return.
CANCELLATION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """A refund after a service call; ``total`` in order minor units."""

    refund_id: int
    rma_id: int
    status: str
    total: int
    currency: str
    signals: tuple[int, ...]
    changes: Changes


# --- what to refund ---------------------------------------------------------


def refundable_units(rma: ReturnAuthorization, line: ReturnLine) -> int:
    """Return units of a return line that may still be refunded.

    After inspection: the accepted units. After receipt: the units that
    arrived. Before receipt (an early release): the authorized units.
    """
    if rma.status in ("inspected", "closed"):
        base = line.quantity_accepted
    elif rma.status == "received":
        base = line.quantity_received
    else:
        base = line.quantity
    return max(base - line.quantity_refunded, 0)


def _quantities(
    rma: ReturnAuthorization, requested: Mapping[int, int] | None
) -> dict[int, int]:
    """Return return line id -> units to refund; ``requested`` by line number."""
    by_no = {line.line_no: line for line in rma.lines}
    if requested is None:
        return {line.id: refundable_units(rma, line) for line in rma.lines}
    found: dict[int, int] = {}
    for line_no, quantity in requested.items():
        line = by_no.get(line_no)
        if line is None:
            raise ValidationError(
                "line", line_no, f"return {rma.reference} has no line {line_no}"
            )
        free = refundable_units(rma, line)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValidationError(
                f"line {line_no} quantity", quantity, "quantity must be 0 or more"
            )
        if quantity > free:
            raise ValidationError(
                f"line {line_no} quantity",
                quantity,
                f"return {rma.reference} line {line_no} ({line.sku}) has {free} "
                f"units left to refund, not {quantity}",
            )
        found[line.id] = quantity
    return found


def line_refunds(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    order: SalesOrder,
    quantities: Mapping[int, int],
) -> tuple[LineRefund, ...]:
    """Share out the order lines' amounts for the units to refund."""
    session = uow.session
    taxes = line_taxes(session, order.id)
    order_lines = {line.id: line for line in order.lines}
    found = []
    for line in rma.lines:
        quantity = quantities.get(line.id, 0)
        if quantity <= 0:
            continue
        order_line = order_lines[line.order_line_id]
        found.append(
            line_refund(
                order,
                order_line,
                taxes.get(order_line.id, []),
                return_line_id=line.id,
                reason=line.reason,
                quantity=quantity,
                before=refunded_units(session, order_line.id),
                fee_applies=line.reason not in SELLER_FAULT_REASONS,
            )
        )
    return tuple(found)


def _refunds_shipping(
    uow: UnitOfWork,
    order: SalesOrder,
    lines: tuple[LineRefund, ...],
    policy: str,
) -> bool:
    if policy == "never":
        return False
    if policy == "seller_fault":
        return any(line.reason in SELLER_FAULT_REASONS for line in lines)
    # full_return: after this refund every sold unit of the order is refunded.
    now = {line.order_line_id: line.quantity for line in lines}
    for order_line in order.lines:
        sold = order_line.quantity - order_line.quantity_cancelled
        done = refunded_units(uow.session, order_line.id) + now.get(order_line.id, 0)
        if done < sold:
            return False
    return True


def restocking_fee(
    order: SalesOrder,
    lines: tuple[LineRefund, ...],
    fee: RestockingFee,
    shop_currency: str,
) -> tuple[int, int]:
    """Return the fee in order and shop minor units, capped at what it applies to."""
    eligible = [line for line in lines if line.fee_applies]
    base = sum(line.paid for line in eligible)
    base_shop = sum(line.paid_shop for line in eligible)
    if fee.kind == "none" or base <= 0:
        return 0, 0
    if fee.kind == "percent":
        amount = round_half_up(Decimal(base) * fee.value / 100)
    elif order.currency == shop_currency:
        amount = int(fee.value)
    else:
        amount = convert(
            int(fee.value), Decimal(1) / order.fx_rate, shop_currency, order.currency
        )
    amount = min(amount, base)
    amount_shop = convert(amount, order.fx_rate, order.currency, shop_currency)
    return amount, min(amount_shop, base_shop)


def quote_refund(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    order: SalesOrder,
    quantities: Mapping[int, int],
    *,
    settings: ReturnSettings,
    refund_shipping: bool | None = None,
    fee: RestockingFee | None = None,
) -> RefundQuote:
    """Work out a refund by the shop's policy, with optional overrides."""
    lines = line_refunds(uow, rma, order, quantities)
    session = uow.session
    remaining = shipping_paid(order) - shipping_refunded(session, order.id)
    include_shipping = (
        refund_shipping
        if refund_shipping is not None
        else _refunds_shipping(uow, order, lines, settings.refund_shipping)
    )
    shipping = shipping_refund(
        order,
        line_taxes(session, order.id).get(None, []),
        amount=remaining if include_shipping and remaining > 0 else 0,
        before=shipping_refunded(session, order.id),
    )
    shop_currency = get_shop(session).currency
    fee_amount, fee_shop = restocking_fee(
        order, lines, fee if fee is not None else settings.restocking_fee, shop_currency
    )
    return RefundQuote(order.currency, lines, shipping, fee_amount, fee_shop)


def preview_refund(
    uow: UnitOfWork,
    key: int | str,
    *,
    quantities: Mapping[int, int] | None = None,
    refund_shipping: bool | None = None,
    fee: RestockingFee | None = None,
) -> RefundQuote:
    """Return the refund that issuing now would post; writes nothing."""
    rma = get_rma(uow.session, key)
    order = get_order(uow.session, rma.order_id)
    return quote_refund(
        uow,
        rma,
        order,
        _quantities(rma, quantities),
        settings=load_settings(uow.session),
        refund_shipping=refund_shipping,
        fee=fee,
    )


# --- posting ----------------------------------------------------------------


def _store_parts(
    session: Session,
    rma: ReturnAuthorization,
    refund: ReturnRefund,
    quote: RefundQuote,
) -> None:
    """Write the refund's lines and tax shares; count the refunded units."""
    by_id = {line.id: line for line in rma.lines}
    for part in quote.lines:
        session.add(
            ReturnRefundLine(
                refund_id=refund.id,
                return_line_id=part.return_line_id,
                order_line_id=part.order_line_id,
                quantity=part.quantity,
                list_amount=part.list_amount,
                discount_amount=part.discount_amount,
                tax_amount=part.tax_amount,
                paid=part.paid,
                list_net_shop=part.list_net_shop,
                discount_net_shop=part.discount_net_shop,
                tax_shop=part.tax_shop,
                restocking_fee_applies=part.fee_applies,
            )
        )
        by_id[part.return_line_id].quantity_refunded += part.quantity
    for tax in (*[t for p in quote.lines for t in p.taxes], *quote.shipping.taxes):
        session.add(
            ReturnRefundTax(
                refund_id=refund.id,
                tax_line_id=tax.tax_line_id,
                order_line_id=tax.order_line_id,
                rate=tax.rate,
                amount=tax.amount,
                amount_shop=tax.amount_shop,
            )
        )

    refund.goods = quote.goods
    refund.shipping = quote.shipping.paid
    refund.tax = quote.tax
    refund.fee = quote.fee
    refund.fee_shop = quote.fee_shop
    refund.total = quote.total
    refund.total_shop = quote.total_shop
    refund.shipping_net_shop = quote.shipping.net_shop
    refund.shipping_discount_net_shop = quote.shipping.discount_net_shop


def post_refund(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    order: SalesOrder,
    refund: ReturnRefund,
    quote: RefundQuote,
    at: datetime,
) -> Changes:
    """Check rule 5, post the refund, credit the invoice and store the figures."""
    session = uow.session
    enforce_limits(session, order, quote)
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind="return.refund",
        description=f"Refund for return {rma.reference} of order {order.external_id}",
        postings=quote.postings(order.channel_id),
        source=("return_refund", refund.id),
    )
    changes = Changes(orders={order.id})
    refund.journal_entry_id = entry.id if entry is not None else None
    if entry is not None:
        changes.entries.add(entry.id)

    _store_parts(session, rma, refund, quote)
    refund.status = "issued"
    refund.issued_at = at
    refund.before_inspection = rma.status in BEFORE_INSPECTION
    if order.invoice_id is not None and quote.total > 0:
        note = issue_credit_note(
            uow,
            order,
            order.invoice_id,
            entry.id if entry is not None else None,
            full=False,
            amount=quote.total,
            tax=quote.tax,
        )
        refund.credit_note_id = note.id
    session.flush()
    apply_cancellation_rule(uow, order)
    return changes


def apply_cancellation_rule(uow: UnitOfWork, order: SalesOrder) -> bool:
    """Mark the order's returns as a cancellation when refunds reverse the invoice.

    Refunds that together give back exactly the invoice's total, all within
    24 hours of the invoice, cancel the sale: those returns stay out of
    return figures and fraud signals, and their open signals are dismissed.
    """
    session = uow.session
    if order.invoice_id is None:
        return False
    invoice = session.get(Invoice, order.invoice_id)
    if invoice is None:
        return False
    rows = session.execute(
        select(ReturnRefund.total, ReturnRefund.issued_at).where(
            ReturnRefund.order_id == order.id,
            ReturnRefund.status.in_(POSTED_REFUNDS),
        )
    ).all()
    total = sum(int(t) for t, _ in rows)
    if total != invoice.total or not rows:
        return False
    deadline = invoice.issued_at + CANCELLATION_WINDOW
    if any(issued is None or issued > deadline for _, issued in rows):
        return False
    rmas = session.scalars(
        select(ReturnAuthorization).where(ReturnAuthorization.order_id == order.id)
    ).all()
    for rma in rmas:
        if not rma.is_cancellation:
            rma.is_cancellation = True
            fraud.dismiss_for_cancellation(uow, rma)
            record(
                uow,
                "return.cancellation",
                "return_authorization",
                rma.id,
                detail={"invoice": invoice.display_number},
            )
    return True


def _issue(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    refund: ReturnRefund,
    at: datetime,
) -> Changes | None:
    """Post a requested refund; return None when nothing is left to refund."""
    order = get_order(uow.session, rma.order_id)
    options = refund.options or {}
    requested = options.get("quantities")
    quantities = _quantities(
        rma, {int(k): int(v) for k, v in requested.items()} if requested else None
    )
    if not any(quantities.values()):
        return None
    fee_data = options.get("fee")
    quote = quote_refund(
        uow,
        rma,
        order,
        quantities,
        settings=load_settings(uow.session),
        refund_shipping=options.get("refund_shipping"),
        fee=RestockingFee(fee_data["kind"], Decimal(fee_data["value"]))
        if fee_data
        else None,
    )
    return post_refund(uow, rma, order, refund, quote, at)


def _options(
    quantities: Mapping[int, int] | None,
    refund_shipping: bool | None,
    fee: RestockingFee | None,
) -> dict[str, Any]:
    return {
        "quantities": {str(k): v for k, v in quantities.items()}
        if quantities is not None
        else None,
        "refund_shipping": refund_shipping,
        "fee": {"kind": fee.kind, "value": str(fee.value)} if fee is not None else None,
    }


def _waiting(uow: UnitOfWork, rma_id: int) -> list[ReturnRefund]:
    return list(
        uow.session.scalars(
            select(ReturnRefund)
            .where(ReturnRefund.rma_id == rma_id, ReturnRefund.status == "waiting")
            .order_by(ReturnRefund.id)
        )
    )


def request_refund(
    uow: UnitOfWork,
    key: int | str,
    *,
    release_reason: str | None = None,
    quantities: Mapping[int, int] | None = None,
    refund_shipping: bool | None = None,
    fee: RestockingFee | None = None,
    at: datetime | None = None,
) -> RefundResult:
    """Refund a return: now if inspected (or released with a reason), else later.

    ``quantities`` maps line numbers to units (default: every refundable
    unit), ``refund_shipping`` overrides the shipping policy and ``fee`` the
    restocking fee (``NO_FEE`` waives it).
    """
    session = uow.session
    rma = get_rma(session, key)
    if rma.status == "cancelled":
        raise InvalidTransition(f"return {rma.reference} is cancelled")
    if _waiting(uow, rma.id):
        raise InvalidTransition(
            f"return {rma.reference} already has a refund waiting for inspection; "
            "inspect the goods or release that refund with a reason"
        )
    if quantities is not None:
        _quantities(rma, quantities)
    at = at or datetime.now(UTC)
    reason = release_reason.strip() if release_reason else None
    refund = ReturnRefund(
        rma_id=rma.id,
        order_id=rma.order_id,
        channel_id=rma.channel_id,
        status="waiting",
        source="shop",
        currency=get_order(session, rma.order_id).currency,
        options=_options(quantities, refund_shipping, fee),
        requested_at=at,
        created_by=uow.user_id,
    )
    session.add(refund)
    session.flush()
    if rma.status in BEFORE_INSPECTION and not reason:
        record(
            uow,
            "return.refund_wait",
            "return_authorization",
            rma.id,
            detail={"refund": refund.id},
        )
        return RefundResult(
            refund.id, rma.id, "waiting", 0, refund.currency, (), Changes()
        )
    return _release(uow, rma, refund, reason, at, requested=True)


def _release(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    refund: ReturnRefund,
    reason: str | None,
    at: datetime,
    *,
    requested: bool,
) -> RefundResult:
    early = rma.status in BEFORE_INSPECTION
    changes = _issue(uow, rma, refund, at)
    if changes is None:
        if requested:
            raise InvalidTransition(
                f"return {rma.reference} has nothing left to refund: every unit that "
                "may be refunded has been"
            )
        refund.status = "declined"
        refund.note = "inspection accepted no units left to refund"
        changes = Changes()
    if early:
        refund.released_early = True
        refund.release_reason = reason
    record(
        uow,
        "return.refund_release" if early else "return.refund",
        "return_authorization",
        rma.id,
        reason=reason,
        detail={
            "refund": refund.id,
            "status": refund.status,
            "total": refund.total,
            "currency": refund.currency,
        },
    )
    return RefundResult(
        refund.id, rma.id, refund.status, refund.total, refund.currency, (), changes
    )


def release_refund(
    uow: UnitOfWork, refund_id: int, reason: str, *, at: datetime | None = None
) -> RefundResult:
    """Issue a waiting refund before the inspection; the reason is audited."""
    if not reason or not reason.strip():
        raise ValidationError(
            "reason",
            reason,
            "releasing a refund before the inspection needs a reason for the audit "
            "trail",
        )
    session = uow.session
    refund = session.get(ReturnRefund, refund_id)
    if refund is None:
        raise NotFound(f"refund {refund_id} does not exist")
    if refund.status != "waiting":
        raise InvalidTransition(f"refund {refund_id} is {refund.status}, not waiting")
    rma = get_rma(session, refund.rma_id)
    return _release(
        uow, rma, refund, reason.strip(), at or datetime.now(UTC), requested=True
    )


def issue_waiting(
    uow: UnitOfWork, rma: ReturnAuthorization, at: datetime
) -> list[RefundResult]:
    """Issue the refunds that waited for this return's inspection."""
    return [
        _release(uow, rma, refund, None, at, requested=False)
        for refund in _waiting(uow, rma.id)
    ]


def pay_refund(
    uow: UnitOfWork,
    refund_id: int,
    via: str = "channel",
    *,
    at: datetime | None = None,
) -> Changes:
    """Pay an issued refund out: Dr 2400 Refunds payable, Cr 1100 or 1000.

    Paying through a connected channel queues a ``refund`` message for it.
    """
    if via not in PAYOUT_ACCOUNTS:
        raise ValidationError("via", via, "a refund is paid via channel or bank")
    session = uow.session
    refund = session.get(ReturnRefund, refund_id)
    if refund is None:
        raise NotFound(f"refund {refund_id} does not exist")
    if refund.status != "issued":
        raise InvalidTransition(
            f"refund {refund_id} is {refund.status}; only an issued refund can be paid"
        )
    at = at or datetime.now(UTC)
    rma = get_rma(session, refund.rma_id)
    order = get_order(session, refund.order_id)
    changes = post_payment(uow, rma, order, refund, via, at)
    channel = session.get(Channel, order.channel_id)
    if via == "channel" and refund.source == "shop" and channel and channel.connected:
        queue_message(
            session,
            order.channel_id,
            "refund",
            {
                "refund_id": refund.id,
                "order_id": order.id,
                "external_id": order.external_id,
                "rma": rma.reference,
                "amount": refund.total,
                "currency": refund.currency,
                "lines": [
                    {"order_line_id": line.order_line_id, "quantity": line.quantity}
                    for line in refund.lines
                ],
                "shipping": refund.shipping,
            },
        )
        changes.outbox += 1
    record(
        uow,
        "return.refund_pay",
        "return_authorization",
        rma.id,
        detail={"refund": refund.id, "via": via},
    )
    return changes


def post_payment(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    order: SalesOrder,
    refund: ReturnRefund,
    via: str,
    at: datetime,
) -> Changes:
    shop_currency = get_shop(uow.session).currency
    foreign = order.currency != shop_currency
    entry = ledger.post(
        uow,
        occurred_at=at,
        kind="return.refund_paid",
        description=f"Refund for return {rma.reference} paid via {via}",
        postings=[
            Posting("2400", debit=refund.total_shop, channel_id=order.channel_id),
            Posting(
                PAYOUT_ACCOUNTS[via],
                credit=refund.total_shop,
                channel_id=order.channel_id,
                fx_currency=order.currency if foreign else None,
                fx_amount=refund.total if foreign else None,
            ),
        ],
        source=("return_refund", refund.id),
    )
    refund.status = "paid"
    refund.paid_at = at
    refund.paid_via = via
    changes = Changes(orders={order.id})
    if entry is not None:
        refund.payment_entry_id = entry.id
        changes.entries.add(entry.id)
    close_if_done(uow, rma, at)
    return changes
