"""Receiving a returned parcel and inspecting what came back.

Receiving records, per line, how many units arrived and the parcel's weight,
and checks them against what the customer claimed. Inspection grades every
received unit. Units that are the item sold (new, opened, damaged, unusable)
go into quarantine at their original cost and become refundable, while
``wrong_item`` and ``empty`` units do neither. Refunds that waited for the
inspection are issued at its end. Each step is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import InvalidTransition, ValidationError
from app.core.models.returns import ReturnAuthorization, ReturnInspection
from app.core.returns import fraud
from app.core.returns.authorization import close_if_done, get_rma
from app.core.returns.disposition import take_into_quarantine
from app.core.returns.refund import RefundResult, issue_waiting
from app.core.returns.settings import load_settings
from app.core.returns.states import ACCEPTED_CONDITIONS, CONDITIONS, move_to
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Grade:
    """Units of one return line (by order line number) found in one condition.

    ``serials`` are the serial numbers read off these units; ``scanned_sku``
    is what the bench scanned when it differs from the line's SKU.
    """

    line_no: int
    condition: str
    quantity: int
    serials: tuple[str, ...] = ()
    scanned_sku: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """An RMA after receipt or inspection, with the signals that fired."""

    rma_id: int
    reference: str
    status: str
    signals: tuple[int, ...]
    refunds: tuple[RefundResult, ...] = ()
    changes: Changes = field(default_factory=Changes)


def receive(
    uow: UnitOfWork,
    key: int | str,
    counts: Mapping[int, int],
    *,
    parcel_weight_g: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> StepResult:
    """Record a returned parcel: units counted per line number, and its weight.

    Lines missing from ``counts`` arrived with no units.
    """
    session = uow.session
    rma = get_rma(session, key)
    by_no = {line.line_no: line for line in rma.lines}
    for line_no, count in counts.items():
        line = by_no.get(line_no)
        if line is None:
            raise ValidationError(
                "line", line_no, f"return {rma.reference} has no line {line_no}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValidationError(
                f"line {line_no} count", count, "a count is a whole number, 0 or more"
            )
        if count > line.quantity:
            raise ValidationError(
                f"line {line_no} count",
                count,
                f"return {rma.reference} line {line_no} ({line.sku}) authorized "
                f"{line.quantity} units but {count} were counted; authorize the "
                "extra units on a new return first",
            )
    if parcel_weight_g is not None and (
        isinstance(parcel_weight_g, bool)
        or not isinstance(parcel_weight_g, int)
        or parcel_weight_g < 0
    ):
        raise ValidationError(
            "parcel_weight_g", parcel_weight_g, "a weight is whole grams, 0 or more"
        )
    move_to(rma, "received")
    at = at or datetime.now(UTC)
    rma.received_at = at
    rma.parcel_weight_g = parcel_weight_g
    if note:
        rma.note = f"{rma.note}\n{note}" if rma.note else note
    for line in rma.lines:
        line.quantity_received = counts.get(line.line_no, 0)
    session.flush()
    signals = fraud.check_receipt(uow, rma, load_settings(session))
    record(
        uow,
        "return.receive",
        "return_authorization",
        rma.id,
        reason=note,
        detail={
            "counts": {str(k): v for k, v in sorted(counts.items())},
            "parcel_weight_g": parcel_weight_g,
            "expected_weight_g": rma.expected_weight_g,
        },
    )
    return StepResult(
        rma.id,
        rma.reference,
        rma.status,
        tuple(signals),
        (),
        Changes(orders={rma.order_id}),
    )


def _check_grades(rma: ReturnAuthorization, grades: Sequence[Grade]) -> None:
    by_no = {line.line_no: line for line in rma.lines}
    graded: dict[int, int] = defaultdict(int)
    for grade in grades:
        line = by_no.get(grade.line_no)
        if line is None:
            raise ValidationError(
                "line",
                grade.line_no,
                f"return {rma.reference} has no line {grade.line_no}",
            )
        if grade.condition not in CONDITIONS:
            raise ValidationError(
                f"line {grade.line_no} condition",
                grade.condition,
                f"condition {grade.condition!r} must be one of {', '.join(CONDITIONS)}",
            )
        quantity = grade.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValidationError(
                f"line {grade.line_no} quantity",
                quantity,
                "a graded quantity is a whole number above zero",
            )
        if len(grade.serials) > quantity:
            raise ValidationError(
                f"line {grade.line_no} serials",
                list(grade.serials),
                f"{len(grade.serials)} serials given for {quantity} units",
            )
        graded[grade.line_no] += quantity
    for line in rma.lines:
        if graded[line.line_no] != line.quantity_received:
            raise ValidationError(
                f"line {line.line_no} grades",
                graded[line.line_no],
                f"return {rma.reference} line {line.line_no} ({line.sku}): "
                f"{line.quantity_received} units were received but "
                f"{graded[line.line_no]} graded; grade every received unit once",
            )


def inspect(
    uow: UnitOfWork,
    key: int | str,
    grades: Sequence[Grade],
    *,
    at: datetime | None = None,
) -> StepResult:
    """Grade every received unit; take accepted ones into quarantine.

    Refunds waiting for this inspection are issued for the accepted units.
    """
    session = uow.session
    rma = get_rma(session, key)
    if rma.status != "received":
        raise InvalidTransition(
            f"return {rma.reference} is {rma.status}; receive the parcel before "
            "inspecting it",
        )
    _check_grades(rma, grades)
    at = at or datetime.now(UTC)
    by_no = {line.line_no: line for line in rma.lines}
    changes = Changes(orders={rma.order_id})
    for grade in grades:
        line = by_no[grade.line_no]
        session.add(
            ReturnInspection(
                return_line_id=line.id,
                condition=grade.condition,
                quantity=grade.quantity,
                serials=[s.strip() for s in grade.serials if s.strip()],
                scanned_sku=grade.scanned_sku,
                note=grade.note,
                inspected_at=at,
                user_id=uow.user_id,
            )
        )
        if grade.condition in ACCEPTED_CONDITIONS:
            changes.merge(take_into_quarantine(uow, rma, line, grade.quantity, at))
    move_to(rma, "inspected")
    rma.inspected_at = at
    session.flush()
    signals = fraud.check_inspection(uow, rma)
    refunds = issue_waiting(uow, rma, at)
    for refund in refunds:
        changes.merge(refund.changes)
    close_if_done(uow, rma, at)
    record(
        uow,
        "return.inspect",
        "return_authorization",
        rma.id,
        detail={
            "grades": [
                {
                    "line_no": g.line_no,
                    "condition": g.condition,
                    "quantity": g.quantity,
                    "serials": list(g.serials),
                }
                for g in grades
            ]
        },
    )
    return StepResult(
        rma.id, rma.reference, rma.status, tuple(signals), tuple(refunds), changes
    )
