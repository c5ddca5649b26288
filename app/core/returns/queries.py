"""Read-only views of returns for windows and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.models import Customer, Invoice, SalesOrder, Warehouse
from app.core.models.returns import (
    FraudSignal,
    ReturnAuthorization,
    ReturnDisposition,
    ReturnInspection,
    ReturnLine,
    ReturnRefund,
)
from app.core.returns.authorization import get_rma
from app.core.returns.fraud import SignalView, review_queue
from app.core.returns.states import POSTED_REFUNDS


@dataclass(frozen=True, slots=True)
class ReturnSummary:
    """One RMA in a list; ``refunded`` is the posted refunds' total, order currency."""

    id: int
    reference: str
    status: str
    source: str
    order_id: int
    order_external_id: str
    channel_id: int
    customer_id: int | None
    customer_name: str
    authorized_at: datetime
    received_at: datetime | None
    inspected_at: datetime | None
    units: int
    refunded: int
    currency: str
    open_signals: int
    refunded_before_inspection: bool
    is_cancellation: bool


@dataclass(frozen=True, slots=True)
class LineView:
    line_no: int
    sku: str
    reason: str
    quantity: int
    received: int
    accepted: int
    refunded: int
    restocked: int
    disposed: int
    to_supplier: int
    in_quarantine: int
    unit_weight_g: int | None


@dataclass(frozen=True, slots=True)
class InspectionView:
    line_no: int
    condition: str
    quantity: int
    serials: tuple[str, ...]
    scanned_sku: str | None
    note: str | None
    inspected_at: datetime


@dataclass(frozen=True, slots=True)
class RefundView:
    """A refund; amounts in order minor units except ``total_shop``."""

    id: int
    status: str
    source: str
    external_id: str | None
    goods: int
    shipping: int
    tax: int
    fee: int
    total: int
    total_shop: int
    currency: str
    released_early: bool
    release_reason: str | None
    before_inspection: bool
    requested_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    paid_via: str | None
    credit_note: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class DispositionView:
    line_no: int
    action: str
    quantity: int
    warehouse: str | None
    value_shop: int
    supplier_reference: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ReturnDetail:
    summary: ReturnSummary
    window_days: int
    window_ends_at: datetime
    late_reason: str | None
    label_reference: str | None
    expected_weight_g: int | None
    parcel_weight_g: int | None
    note: str | None
    lines: list[LineView]
    inspections: list[InspectionView]
    refunds: list[RefundView]
    dispositions: list[DispositionView]
    signals: list[SignalView]


def _summaries(
    session: Session, rmas: list[ReturnAuthorization]
) -> list[ReturnSummary]:
    ids = [r.id for r in rmas]
    if not ids:
        return []
    orders = {
        o.id: o
        for o in session.scalars(
            select(SalesOrder).where(SalesOrder.id.in_({r.order_id for r in rmas}))
        )
    }
    names = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_({r.customer_id for r in rmas if r.customer_id})
            )
        ).all()
    )
    units = dict(
        session.execute(
            select(ReturnLine.rma_id, func.sum(ReturnLine.quantity))
            .where(ReturnLine.rma_id.in_(ids))
            .group_by(ReturnLine.rma_id)
        ).all()
    )
    refunded = dict(
        session.execute(
            select(ReturnRefund.rma_id, func.sum(ReturnRefund.total))
            .where(
                ReturnRefund.rma_id.in_(ids), ReturnRefund.status.in_(POSTED_REFUNDS)
            )
            .group_by(ReturnRefund.rma_id)
        ).all()
    )
    signals = dict(
        session.execute(
            select(FraudSignal.rma_id, func.count(FraudSignal.id))
            .where(FraudSignal.rma_id.in_(ids), FraudSignal.status == "open")
            .group_by(FraudSignal.rma_id)
        ).all()
    )
    return [
        ReturnSummary(
            id=r.id,
            reference=r.reference,
            status=r.status,
            source=r.source,
            order_id=r.order_id,
            order_external_id=orders[r.order_id].external_id,
            channel_id=r.channel_id,
            customer_id=r.customer_id,
            customer_name=names.get(r.customer_id, "") if r.customer_id else "",
            authorized_at=r.authorized_at,
            received_at=r.received_at,
            inspected_at=r.inspected_at,
            units=int(units.get(r.id) or 0),
            refunded=int(refunded.get(r.id) or 0),
            currency=orders[r.order_id].currency,
            open_signals=int(signals.get(r.id) or 0),
            refunded_before_inspection=r.refunded_before_inspection,
            is_cancellation=r.is_cancellation,
        )
        for r in rmas
    ]


def list_returns(
    session: Session,
    *,
    status: str | None = None,
    order_id: int | None = None,
    customer_id: int | None = None,
    limit: int | None = None,
) -> list[ReturnSummary]:
    """Return RMAs newest first, optionally filtered."""
    query = select(ReturnAuthorization).order_by(ReturnAuthorization.id.desc())
    if status is not None:
        query = query.where(ReturnAuthorization.status == status)
    if order_id is not None:
        query = query.where(ReturnAuthorization.order_id == order_id)
    if customer_id is not None:
        query = query.where(ReturnAuthorization.customer_id == customer_id)
    if limit is not None:
        query = query.limit(limit)
    return _summaries(session, list(session.scalars(query)))


def expected_receipts(session: Session) -> list[ReturnSummary]:
    """Return the RMAs whose parcels the shop is waiting for, oldest first."""
    rmas = session.scalars(
        select(ReturnAuthorization)
        .where(ReturnAuthorization.status == "authorized")
        .order_by(ReturnAuthorization.authorized_at, ReturnAuthorization.id)
    )
    return _summaries(session, list(rmas))


def return_detail(session: Session, key: int | str) -> ReturnDetail:
    """Return everything about one RMA, found by id or reference."""
    rma = get_rma(session, key)
    summary = _summaries(session, [rma])[0]
    line_nos = {line.id: line.line_no for line in rma.lines}
    inspections = session.scalars(
        select(ReturnInspection)
        .where(ReturnInspection.return_line_id.in_(list(line_nos)))
        .order_by(ReturnInspection.id)
    )
    refunds = session.scalars(
        select(ReturnRefund)
        .where(ReturnRefund.rma_id == rma.id)
        .order_by(ReturnRefund.id)
    ).all()
    notes = dict(
        session.execute(
            select(Invoice.id, Invoice.display_number).where(
                Invoice.id.in_([r.credit_note_id for r in refunds if r.credit_note_id])
            )
        ).all()
    )
    warehouses = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    dispositions = session.scalars(
        select(ReturnDisposition)
        .where(ReturnDisposition.return_line_id.in_(list(line_nos)))
        .order_by(ReturnDisposition.id)
    )
    return ReturnDetail(
        summary=summary,
        window_days=rma.window_days,
        window_ends_at=rma.window_ends_at,
        late_reason=rma.late_reason,
        label_reference=rma.label_reference,
        expected_weight_g=rma.expected_weight_g,
        parcel_weight_g=rma.parcel_weight_g,
        note=rma.note,
        lines=[
            LineView(
                line_no=line.line_no,
                sku=line.sku,
                reason=line.reason,
                quantity=line.quantity,
                received=line.quantity_received,
                accepted=line.quantity_accepted,
                refunded=line.quantity_refunded,
                restocked=line.quantity_restocked,
                disposed=line.quantity_disposed,
                to_supplier=line.quantity_to_supplier,
                in_quarantine=line.quantity_in_quarantine,
                unit_weight_g=line.unit_weight_g,
            )
            for line in rma.lines
        ],
        inspections=[
            InspectionView(
                line_no=line_nos[i.return_line_id],
                condition=i.condition,
                quantity=i.quantity,
                serials=tuple(i.serials),
                scanned_sku=i.scanned_sku,
                note=i.note,
                inspected_at=i.inspected_at,
            )
            for i in inspections
        ],
        refunds=[
            RefundView(
                id=r.id,
                status=r.status,
                source=r.source,
                external_id=r.external_id,
                goods=r.goods,
                shipping=r.shipping,
                tax=r.tax,
                fee=r.fee,
                total=r.total,
                total_shop=r.total_shop,
                currency=r.currency,
                released_early=r.released_early,
                release_reason=r.release_reason,
                before_inspection=r.before_inspection,
                requested_at=r.requested_at,
                issued_at=r.issued_at,
                paid_at=r.paid_at,
                paid_via=r.paid_via,
                credit_note=notes.get(r.credit_note_id) if r.credit_note_id else None,
                note=r.note,
            )
            for r in refunds
        ],
        dispositions=[
            DispositionView(
                line_no=line_nos[d.return_line_id],
                action=d.action,
                quantity=d.quantity,
                warehouse=warehouses.get(d.warehouse_id) if d.warehouse_id else None,
                value_shop=d.value_shop,
                supplier_reference=d.supplier_reference,
                at=d.at,
            )
            for d in dispositions
        ],
        signals=review_queue(session, status=None, rma_id=rma.id),
    )
