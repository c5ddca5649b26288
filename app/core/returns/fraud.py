"""Fraud signals on returns: each stored with the figures that made it fire.

A signal is a row in ``fraud_signal`` (kind, score, evidence, status). The
checks here run at authorization, receipt and inspection; the serial
returner check runs over all customers in :mod:`app.core.returns.scoring`.
A return marked as a cancellation raises no signals, and its open ones are
dismissed. The owner reviews the open ones in :func:`review_queue` and marks
each dismissed or confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Customer
from app.core.models.returns import (
    FraudSignal,
    ReturnAuthorization,
    ReturnInspection,
    ReturnLine,
    ShippedSerial,
)
from app.core.returns.settings import ReturnSettings
from app.core.returns.states import SIGNAL_KINDS
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

SCORE_PLACES = Decimal("0.0001")


def _ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal:
    if not denominator:
        return Decimal(0)
    return (Decimal(numerator) / Decimal(denominator)).quantize(SCORE_PLACES)


def raise_signal(
    uow: UnitOfWork,
    kind: str,
    *,
    score: Decimal,
    evidence: dict[str, Any],
    rma: ReturnAuthorization | None = None,
    customer_id: int | None = None,
    order_id: int | None = None,
    at: datetime | None = None,
) -> FraudSignal | None:
    """Store a signal, or refresh the open one of the same kind and subject.

    A return's signal that has already been reviewed is not raised again for
    that return; a customer's is raised again only when the evidence changed.
    Returns None when nothing was stored (a cancellation, or already reviewed).
    """
    if kind not in SIGNAL_KINDS:
        raise ValidationError(
            "kind", kind, f"signal kind must be one of {SIGNAL_KINDS}"
        )
    if rma is not None:
        if rma.is_cancellation:
            return None
        customer_id = rma.customer_id
        order_id = rma.order_id
    session = uow.session
    query = select(FraudSignal).where(FraudSignal.kind == kind)
    if rma is not None:
        query = query.where(FraudSignal.rma_id == rma.id)
    else:
        query = query.where(
            FraudSignal.rma_id.is_(None), FraudSignal.customer_id == customer_id
        )
    previous = session.scalars(query.order_by(FraudSignal.id.desc())).first()
    score = score.quantize(SCORE_PLACES)
    if previous is not None:
        if previous.status == "open":
            previous.score = score
            previous.evidence = evidence
            return previous
        if rma is not None or previous.evidence == evidence:
            return None
    signal = FraudSignal(
        kind=kind,
        rma_id=rma.id if rma is not None else None,
        customer_id=customer_id,
        order_id=order_id,
        score=score,
        evidence=evidence,
        status="open",
        created_at=at or datetime.now(UTC),
    )
    session.add(signal)
    session.flush()
    log.info(
        "fraud signal %s raised (rma %s, customer %s, score %s)",
        kind,
        signal.rma_id,
        customer_id,
        score,
    )
    record(
        uow,
        "returns.signal",
        "fraud_signal",
        signal.id,
        detail={"kind": kind, "rma": signal.rma_id, "customer": customer_id},
    )
    return signal


def _ids(*signals: FraudSignal | None) -> list[int]:
    return [s.id for s in signals if s is not None]


# --- at authorization -------------------------------------------------------


def check_authorization(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    *,
    shipped_at: datetime,
    value_shop: int,
    settings: ReturnSettings,
) -> list[int]:
    """Raise late_return and high_value_quick_return; return the signal ids."""
    found: list[FraudSignal | None] = []
    at = rma.authorized_at
    if at > rma.window_ends_at:
        late = at - rma.window_ends_at
        days_late = Decimal(late.total_seconds()) / 86400
        found.append(
            raise_signal(
                uow,
                "late_return",
                rma=rma,
                at=at,
                score=days_late,
                evidence={
                    "shipped_at": shipped_at.isoformat(),
                    "authorized_at": at.isoformat(),
                    "window_days": rma.window_days,
                    "days_late": str(days_late.quantize(Decimal("0.01"))),
                    "late_reason": rma.late_reason,
                },
            )
        )
    since = at - shipped_at
    limit = timedelta(days=settings.high_value_days)
    if value_shop > settings.high_value_shop and since <= limit:
        found.append(
            raise_signal(
                uow,
                "high_value_quick_return",
                rma=rma,
                at=at,
                score=_ratio(value_shop, settings.high_value_shop or 1),
                evidence={
                    "value_shop": value_shop,
                    "threshold_shop": settings.high_value_shop,
                    "days_since_shipment": str(
                        (Decimal(since.total_seconds()) / 86400).quantize(
                            Decimal("0.01")
                        )
                    ),
                    "days_limit": settings.high_value_days,
                },
            )
        )
    return _ids(*found)


# --- at receipt -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeightCheck:
    """A parcel's weight against what its lines should weigh, in grams."""

    expected_g: int
    parcel_g: int
    tolerance_g: int

    @property
    def difference_g(self) -> int:
        return self.parcel_g - self.expected_g

    @property
    def fires(self) -> bool:
        return abs(self.difference_g) > self.tolerance_g


def weight_check(
    expected_g: int, parcel_g: int, settings: ReturnSettings
) -> WeightCheck:
    """Compare weights; the tolerance is the larger of the percent and the grams."""
    percent = Decimal(expected_g) * settings.weight_tolerance_percent / 100
    tolerance = max(int(percent), settings.weight_tolerance_g)
    return WeightCheck(expected_g, parcel_g, tolerance)


def check_receipt(
    uow: UnitOfWork, rma: ReturnAuthorization, settings: ReturnSettings
) -> list[int]:
    """Raise quantity_overstated, empty_box and weight_mismatch at receipt."""
    found: list[FraudSignal | None] = []
    at = rma.received_at
    claimed = sum(line.quantity for line in rma.lines)
    received = sum(line.quantity_received for line in rma.lines)
    lines = [
        {
            "line_no": line.line_no,
            "sku": line.sku,
            "claimed": line.quantity,
            "received": line.quantity_received,
            "refunded": line.quantity_refunded,
        }
        for line in rma.lines
    ]
    if received < claimed:
        found.append(
            raise_signal(
                uow,
                "quantity_overstated",
                rma=rma,
                at=at,
                score=_ratio(claimed - received, claimed),
                evidence={"claimed": claimed, "received": received, "lines": lines},
            )
        )
    if received == 0:
        found.append(
            raise_signal(
                uow,
                "empty_box",
                rma=rma,
                at=at,
                score=Decimal(1),
                evidence={
                    "claimed": claimed,
                    "received": 0,
                    "parcel_weight_g": rma.parcel_weight_g,
                },
            )
        )
    if rma.parcel_weight_g is not None and rma.expected_weight_g is not None:
        check = weight_check(rma.expected_weight_g, rma.parcel_weight_g, settings)
        if check.fires:
            found.append(
                raise_signal(
                    uow,
                    "weight_mismatch",
                    rma=rma,
                    at=at,
                    score=_ratio(abs(check.difference_g), check.tolerance_g),
                    evidence={
                        "expected_g": check.expected_g,
                        "parcel_g": check.parcel_g,
                        "difference_g": check.difference_g,
                        "tolerance_g": check.tolerance_g,
                        "tolerance_percent": str(settings.weight_tolerance_percent),
                        "tolerance_min_g": settings.weight_tolerance_g,
                    },
                )
            )
    return _ids(*found)


# --- at inspection ----------------------------------------------------------


def _inspections(session: Session, line: ReturnLine) -> list[ReturnInspection]:
    return list(
        session.scalars(
            select(ReturnInspection)
            .where(ReturnInspection.return_line_id == line.id)
            .order_by(ReturnInspection.id)
        )
    )


def serial_findings(session: Session, rma: ReturnAuthorization) -> list[dict[str, Any]]:
    """Return serials that came back but were not shipped on their order line.

    A line whose packing recorded no serials is skipped; its serials stay
    stored on the inspection for :func:`recheck_serials` to compare later.
    """
    findings: list[dict[str, Any]] = []
    for line in rma.lines:
        returned = [
            serial
            for inspection in _inspections(session, line)
            for serial in inspection.serials
        ]
        if not returned:
            continue
        shipped = set(
            session.scalars(
                select(ShippedSerial.serial).where(
                    ShippedSerial.order_line_id == line.order_line_id
                )
            )
        )
        if not shipped:
            continue
        unknown = sorted(set(returned) - shipped)
        if unknown:
            findings.append(
                {
                    "kind": "serial",
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "returned": sorted(returned),
                    "not_shipped": unknown,
                    "shipped_count": len(shipped),
                }
            )
    return findings


def _grade_findings(
    session: Session, rma: ReturnAuthorization
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (units graded, empty findings, substitution findings) of an RMA."""
    graded = 0
    empty: list[dict[str, Any]] = []
    substituted: list[dict[str, Any]] = []
    for line in rma.lines:
        for inspection in _inspections(session, line):
            graded += inspection.quantity
            finding = {
                "line_no": line.line_no,
                "sku": line.sku,
                "units": inspection.quantity,
            }
            scanned = inspection.scanned_sku
            if inspection.condition == "empty":
                empty.append(finding)
            if inspection.condition == "wrong_item":
                substituted.append(
                    {"kind": "condition", **finding, "scanned_sku": scanned}
                )
            elif scanned and scanned.strip().upper() != line.sku.strip().upper():
                substituted.append({"kind": "sku", **finding, "scanned_sku": scanned})
    return graded, empty, substituted


def check_inspection(uow: UnitOfWork, rma: ReturnAuthorization) -> list[int]:
    """Raise empty_box and substitution from the graded units."""
    session = uow.session
    at = rma.inspected_at
    graded, empty, substituted = _grade_findings(session, rma)
    substituted += serial_findings(session, rma)

    found: list[FraudSignal | None] = []
    if empty:
        units = sum(int(e["units"]) for e in empty)
        found.append(
            raise_signal(
                uow,
                "empty_box",
                rma=rma,
                at=at,
                score=_ratio(units, graded),
                evidence={"empty_units": units, "graded_units": graded, "lines": empty},
            )
        )
    if substituted:
        # A serial finding counts the serials that were never shipped.
        units = sum(
            int(s.get("units", len(s.get("not_shipped", ())))) for s in substituted
        )
        found.append(
            raise_signal(
                uow,
                "substitution",
                rma=rma,
                at=at,
                score=_ratio(units, graded or 1),
                evidence={"findings": substituted, "graded_units": graded},
            )
        )
    return _ids(*found)


def recheck_serials(uow: UnitOfWork, rma: ReturnAuthorization) -> list[int]:
    """Compare stored serials again, after packing serials were recorded."""
    if rma.inspected_at is None:
        return []
    return check_inspection(uow, rma)


# --- refunds ----------------------------------------------------------------


def check_refund_before_inspection(
    uow: UnitOfWork,
    rma: ReturnAuthorization,
    *,
    refund_id: int,
    external_id: str | None,
    amount: int,
    currency: str,
    units: int,
    at: datetime,
) -> list[int]:
    signal = raise_signal(
        uow,
        "refund_before_inspection",
        rma=rma,
        at=at,
        score=Decimal(units),
        evidence={
            "refund_id": refund_id,
            "external_id": external_id,
            "amount": amount,
            "currency": currency,
            "units_refunded": units,
            "units_received": sum(line.quantity_received for line in rma.lines),
            "rma_status": rma.status,
            "refunded_at": at.isoformat(),
        },
    )
    return _ids(signal)


def dismiss_for_cancellation(uow: UnitOfWork, rma: ReturnAuthorization) -> None:
    """Dismiss the open signals of a return found to be a cancellation."""
    rows = uow.session.scalars(
        select(FraudSignal).where(
            FraudSignal.rma_id == rma.id, FraudSignal.status == "open"
        )
    )
    for signal in rows:
        signal.status = "dismissed"
        signal.reviewed_at = datetime.now(UTC)
        signal.review_note = (
            "the refund reverses the invoice within 24 hours: a cancellation"
        )


# --- review -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignalView:
    """One signal as the review queue shows it."""

    id: int
    kind: str
    status: str
    score: Decimal
    evidence: dict[str, Any]
    created_at: datetime
    rma_id: int | None
    rma_reference: str | None
    order_id: int | None
    customer_id: int | None
    customer_name: str | None
    review_note: str | None


def review_queue(
    session: Session,
    *,
    status: str | None = "open",
    kind: str | None = None,
    customer_id: int | None = None,
    rma_id: int | None = None,
) -> list[SignalView]:
    """Return signals oldest first; ``status=None`` returns every status."""
    query = (
        select(FraudSignal, ReturnAuthorization.reference, Customer.name)
        .outerjoin(ReturnAuthorization, ReturnAuthorization.id == FraudSignal.rma_id)
        .outerjoin(Customer, Customer.id == FraudSignal.customer_id)
        .order_by(FraudSignal.created_at, FraudSignal.id)
    )
    if status is not None:
        query = query.where(FraudSignal.status == status)
    if kind is not None:
        query = query.where(FraudSignal.kind == kind)
    if customer_id is not None:
        query = query.where(FraudSignal.customer_id == customer_id)
    if rma_id is not None:
        query = query.where(FraudSignal.rma_id == rma_id)
    return [
        SignalView(
            id=s.id,
            kind=s.kind,
            status=s.status,
            score=s.score,
            evidence=dict(s.evidence),
            created_at=s.created_at,
            rma_id=s.rma_id,
            rma_reference=reference,
            order_id=s.order_id,
            customer_id=s.customer_id,
            customer_name=name,
            review_note=s.review_note,
        )
        for s, reference, name in session.execute(query)
    ]


def review_signal(
    uow: UnitOfWork, signal_id: int, status: str, note: str | None = None
) -> None:
    """Mark a signal dismissed or confirmed (or open again); audited."""
    if status not in ("open", "dismissed", "confirmed"):
        raise ValidationError(
            "status", status, "a signal is reviewed as dismissed or confirmed"
        )
    signal = uow.session.get(FraudSignal, signal_id)
    if signal is None:
        raise NotFound(f"fraud signal {signal_id} does not exist")
    before = signal.status
    signal.status = status
    signal.reviewed_at = datetime.now(UTC)
    signal.reviewed_by = uow.user_id
    signal.review_note = note
    record(
        uow,
        "returns.signal_review",
        "fraud_signal",
        signal.id,
        reason=note,
        detail={"kind": signal.kind, "from": before, "to": status},
    )


def signal_kinds_for(
    session: Session, customer_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Return customer id -> sorted kinds of their open or confirmed signals."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(FraudSignal.customer_id, FraudSignal.kind)
        .where(
            FraudSignal.customer_id.in_(customer_ids),
            FraudSignal.status.in_(("open", "confirmed")),
        )
        .distinct()
    )
    found: dict[int, set[str]] = {}
    for customer_id, kind in rows:
        if customer_id is not None:
            found.setdefault(customer_id, set()).add(kind)
    return {k: sorted(v) for k, v in found.items()}
