"""Return authorizations (RMA): which shipped units may come back, and why.

An RMA names order lines, quantities and a reason per line, takes its number
from the gap-free ``rma`` series (``RMA-000123``, printed as a barcode on the
label), and while it is ``authorized`` it is the shop's expected receipt.
A line can never be authorized for more than was shipped minus what other
live RMAs hold: an RMA holds its authorized units until it is received, and
from then on the units that arrived or were refunded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, NotFound, ValidationError
from app.core.invoicing import next_number
from app.core.models import (
    Channel,
    OrderLine,
    SalesOrder,
    Shipment,
    ShipmentLine,
    Variant,
)
from app.core.models.returns import ReturnAuthorization, ReturnLine, ReturnRefund
from app.core.money import cumulative_share
from app.core.orders import get_order
from app.core.returns import fraud
from app.core.returns.settings import load_settings, window_days
from app.core.returns.states import REASONS, move_to
from app.core.uow import UnitOfWork

SERIES = "rma"
PREFIX = "RMA-"
_REFERENCE = re.compile(r"^(?:RMA)?[-\s]*0*(\d+)$")


def format_reference(number: int) -> str:
    return f"{PREFIX}{number:06d}"


def parse_reference(text: str) -> int | None:
    """Return the RMA number in a scanned or typed reference, or None.

    Accepts ``RMA-000123``, ``rma123`` and ``123``.
    """
    match = _REFERENCE.match(text.strip().upper())
    return int(match.group(1)) if match else None


def get_rma(session: Session, key: int | str) -> ReturnAuthorization:
    """Find an RMA by id (int) or by its reference (str)."""
    if isinstance(key, int):
        rma = session.get(ReturnAuthorization, key)
    else:
        number = parse_reference(key)
        rma = (
            session.scalar(
                select(ReturnAuthorization).where(ReturnAuthorization.number == number)
            )
            if number is not None
            else None
        )
    if rma is None:
        raise NotFound(
            f"return {key!r} does not exist; scan the RMA barcode on the parcel or "
            "look the return up by its order"
        )
    return rma


@dataclass(frozen=True, slots=True)
class ReturnLineInput:
    """Units of one order line (by its line number) to authorize, with a reason."""

    line_no: int
    quantity: int
    reason: str = "other"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizeResult:
    rma_id: int
    reference: str
    late: bool
    signals: tuple[int, ...]
    changes: Changes


def held_units(session: Session, order_line_id: int, exclude_rma: int | None) -> int:
    """Return the units of an order line that live RMAs hold."""
    rows = session.execute(
        select(
            ReturnAuthorization.status,
            ReturnLine.quantity,
            ReturnLine.quantity_received,
            ReturnLine.quantity_refunded,
        )
        .join(ReturnAuthorization, ReturnAuthorization.id == ReturnLine.rma_id)
        .where(
            ReturnLine.order_line_id == order_line_id,
            ReturnAuthorization.status != "cancelled",
            ReturnAuthorization.id != (exclude_rma or 0),
        )
    )
    held = 0
    for status, quantity, received, refunded in rows:
        held += quantity if status == "authorized" else max(received, refunded)
    return held


def returnable_units(session: Session, line: OrderLine) -> int:
    """Return how many shipped units of a line may still be authorized."""
    return line.quantity_shipped - held_units(session, line.id, None)


def last_shipped_at(session: Session, order_line_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(Shipment.shipped_at))
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(ShipmentLine.order_line_id == order_line_id)
    )


def _check_inputs(order: SalesOrder, lines: Sequence[ReturnLineInput]) -> None:
    if not lines:
        raise ValidationError("lines", [], "a return needs at least one line")
    seen: set[int] = set()
    numbers = {line.line_no for line in order.lines}
    for item in lines:
        if item.line_no in seen:
            raise ValidationError(
                "line", item.line_no, f"line {item.line_no} is named twice; merge them"
            )
        seen.add(item.line_no)
        if item.line_no not in numbers:
            raise ValidationError(
                "line",
                item.line_no,
                f"order {order.external_id} has no line {item.line_no}",
            )
        quantity = item.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationError(
                f"line {item.line_no} quantity",
                quantity,
                f"line {item.line_no} quantity must be a whole number above zero",
            )
        if item.reason not in REASONS:
            raise ValidationError(
                f"line {item.line_no} reason",
                item.reason,
                f"return reason {item.reason!r} must be one of {', '.join(REASONS)}",
            )


def _line_value_shop(line: OrderLine, quantity: int) -> int:
    """Return what ``quantity`` units of a line were paid, in shop minor units."""
    paid = line.list_net_shop - line.discount_net_shop + line.tax_shop
    return cumulative_share(paid, quantity, line.quantity)


def authorize(
    uow: UnitOfWork,
    order_id: int,
    lines: Sequence[ReturnLineInput],
    *,
    at: datetime | None = None,
    label_reference: str | None = None,
    late_reason: str | None = None,
    note: str | None = None,
    source: str = "shop",
) -> AuthorizeResult:
    """Authorize shipped units of an order to come back.

    A return after the channel's window needs ``late_reason`` (audited),
    except when the channel has already refunded it (``source="channel"``).
    """
    session = uow.session
    order = get_order(session, order_id)
    _check_inputs(order, lines)
    if order.status == "cancelled":
        raise InvalidTransition(
            f"order {order.external_id} is cancelled; nothing of it can be returned"
        )
    at = at or datetime.now(UTC)
    by_no = {line.line_no: line for line in order.lines}
    shipped_times: list[datetime] = []
    for item in lines:
        line = by_no[item.line_no]
        if line.variant_id is None:
            raise ValidationError(
                "line",
                item.line_no,
                f"line {item.line_no} ({line.sku}) is not a catalog SKU and never "
                "shipped from stock",
            )
        free = returnable_units(session, line)
        if item.quantity > free:
            held = held_units(session, line.id, None)
            raise ValidationError(
                f"line {item.line_no} quantity",
                item.quantity,
                f"order {order.external_id} line {item.line_no} ({line.sku}): "
                f"{line.quantity_shipped} shipped and {held} already authorized, so "
                f"at most {max(free, 0)} can be returned, not {item.quantity}",
            )
        shipped = last_shipped_at(session, line.id)
        assert shipped is not None
        shipped_times.append(shipped)
    shipped_at = max(shipped_times)
    settings = load_settings(session)
    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    days = window_days(channel, settings)
    window_ends = shipped_at + timedelta(days=days)
    late = at > window_ends
    if late and source == "shop" and not (late_reason and late_reason.strip()):
        raise ValidationError(
            "late_reason",
            late_reason,
            f"order {order.external_id} shipped on {shipped_at.date().isoformat()} and "
            f"its {days}-day return window on {channel.name} ended on "
            f"{window_ends.date().isoformat()}; give a reason to authorize it anyway",
        )
    number = next_number(uow, SERIES)
    variant_ids = {line.variant_id for line in order.lines}
    weights = {
        v.id: v.weight_g
        for v in session.scalars(select(Variant).where(Variant.id.in_(variant_ids)))
    }
    rma = ReturnAuthorization(
        number=number,
        reference=format_reference(number),
        order_id=order.id,
        channel_id=order.channel_id,
        customer_id=order.customer_id,
        status="authorized",
        source=source,
        authorized_at=at,
        window_days=days,
        window_ends_at=window_ends,
        late_reason=late_reason.strip() if late and late_reason else None,
        label_reference=label_reference,
        note=note,
        created_by=uow.user_id,
        created_at=datetime.now(UTC),
    )
    session.add(rma)
    session.flush()
    expected: int | None = 0
    value_shop = 0
    for item in lines:
        line = by_no[item.line_no]
        assert line.variant_id is not None
        weight = weights.get(line.variant_id)
        session.add(
            ReturnLine(
                rma_id=rma.id,
                line_no=line.line_no,
                order_line_id=line.id,
                variant_id=line.variant_id,
                sku=line.sku,
                reason=item.reason,
                quantity=item.quantity,
                unit_weight_g=weight,
                note=item.note,
            )
        )
        if expected is not None and weight is not None:
            expected += weight * item.quantity
        else:
            # One SKU without a weight leaves the parcel's weight unknown, so
            # the weight check is skipped for this return.
            expected = None
        value_shop += _line_value_shop(line, item.quantity)
    rma.expected_weight_g = expected
    session.flush()
    session.refresh(rma, ["lines"])
    signals = fraud.check_authorization(
        uow, rma, shipped_at=shipped_at, value_shop=value_shop, settings=settings
    )
    record(
        uow,
        "return.authorize",
        "return_authorization",
        rma.id,
        reason=rma.late_reason,
        detail={
            "reference": rma.reference,
            "order": order.id,
            "source": source,
            "lines": [
                {"line_no": i.line_no, "quantity": i.quantity, "reason": i.reason}
                for i in lines
            ],
        },
    )
    return AuthorizeResult(
        rma.id, rma.reference, late, tuple(signals), Changes(orders={order.id})
    )


def cancel_authorization(uow: UnitOfWork, key: int | str, reason: str) -> Changes:
    """Cancel an RMA whose goods have not arrived and that nothing refunded."""
    if not reason or not reason.strip():
        raise ValidationError("reason", reason, "cancelling a return needs a reason")
    session = uow.session
    rma = get_rma(session, key)
    refunds = session.scalars(
        select(ReturnRefund).where(ReturnRefund.rma_id == rma.id)
    ).all()
    if any(r.status in ("issued", "paid") for r in refunds):
        raise InvalidTransition(
            f"return {rma.reference} has been refunded, so it cannot be cancelled"
        )
    move_to(rma, "cancelled")
    for refund in refunds:
        if refund.status == "waiting":
            refund.status = "declined"
            refund.note = f"return cancelled: {reason.strip()}"
    record(
        uow,
        "return.cancel",
        "return_authorization",
        rma.id,
        reason=reason.strip(),
    )
    return Changes(orders={rma.order_id})


def close_if_done(uow: UnitOfWork, rma: ReturnAuthorization, at: datetime) -> bool:
    """Close an inspected RMA once quarantine is empty and no refund waits."""
    if rma.status != "inspected":
        return False
    if any(line.quantity_in_quarantine for line in rma.lines):
        return False
    waiting = uow.session.scalar(
        select(func.count(ReturnRefund.id)).where(
            ReturnRefund.rma_id == rma.id, ReturnRefund.status == "waiting"
        )
    )
    if waiting:
        return False
    move_to(rma, "closed")
    rma.closed_at = at
    record(uow, "return.close", "return_authorization", rma.id)
    return True
