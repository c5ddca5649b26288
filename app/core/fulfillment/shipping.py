"""Recording a bought (or typed) label as a shipment.

The caller buys the label through a carrier adapter in ``app.sync``. This
module supplies the parcel to buy it for (:func:`parcel_for_pack`,
:func:`parcel_for_order`) and records the result (:func:`ship_packed`,
:func:`ship_order`) in one transaction: the core's
shipment (FIFO COGS, revenue, label cost Dr 6200 / Cr 2000, tracking to
the channel), the serial numbers scanned, the label files, the customer
e-mail where the channel does not send one, and the pack session's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import shipments
from app.core.changes import Changes
from app.core.documents import Address, DocLine
from app.core.exceptions import InvalidTransition, NotFound
from app.core.fulfillment.batches import close_finished_batches, to_pick
from app.core.fulfillment.documents import (
    crosses_border,
    doc_lines,
    order_address,
    warehouse_address,
)
from app.core.fulfillment.email import queue_tracking_email
from app.core.fulfillment.exceptions import MissingExchangeRate
from app.core.fulfillment.packing import check_ready, pack_state
from app.core.fulfillment.settings import fulfillment_settings
from app.core.models import SalesOrder, Warehouse
from app.core.models.fulfillment import PackScan, PackSession, ShipmentLabel
from app.core.models.returns import ShippedSerial
from app.core.money import convert, currency_exponent
from app.core.shipments import ShipmentInfo
from app.core.shop import get_shop
from app.core.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Parcel:
    """The parcel data a carrier needs to quote and buy one label.

    ``quantities`` maps order line id to the units in the parcel;
    ``customs_lines`` is empty unless the parcel crosses a border.
    """

    order_id: int
    order_ref: str
    warehouse_id: int
    ship_from: Address
    ship_to: Address
    weight_g: int
    quantities: Mapping[int, int]
    customs_lines: Sequence[DocLine]
    customs_signer: str
    international: bool


@dataclass(frozen=True, kw_only=True)
class LabelPurchase:
    """A label bought from a carrier, or a tracking number typed by the packer.

    ``cost_minor`` is in minor units of ``currency``, the carrier's billing
    currency; it is converted to the shop currency for the books.
    """

    carrier: str
    service: str
    tracking_number: str
    cost_minor: int = 0
    currency: str = ""
    label_pdf: bytes | None = None
    label_zpl: str | None = None
    carrier_ref: str = ""
    tracking_url: str = ""


@dataclass(frozen=True, slots=True)
class ShipResult:
    shipment_id: int
    label_cost_shop: int
    email_queued: bool
    changes: Changes


def label_cost_in_shop_currency(session: Session, amount: int, currency: str) -> int:
    """Convert a label cost to shop minor units with the configured rate."""
    shop = get_shop(session)
    code = (currency or shop.currency).upper()
    if code == shop.currency or amount == 0:
        return amount
    currency_exponent(code)
    rate = fulfillment_settings(session).fx_rates.get(code)
    if rate is None:
        raise MissingExchangeRate(
            f"the label costs {amount} minor units of {code} but the shop keeps "
            f"its books in {shop.currency} and has no {code} exchange rate; add "
            f"one ({shop.currency} per 1 {code}) in Warehouses > Carriers, or "
            "with `backroom fulfil fx-rate`"
        )
    return convert(amount, rate, code, shop.currency)


def _parcel(
    session: Session,
    order: SalesOrder,
    warehouse_id: int,
    quantities: Mapping[int, int],
    weight_g: int,
) -> Parcel:
    warehouse = session.get(Warehouse, warehouse_id)
    assert warehouse is not None
    international = crosses_border(session, order.id, warehouse_id)
    settings = fulfillment_settings(session)
    return Parcel(
        order_id=order.id,
        order_ref=order.external_id,
        warehouse_id=warehouse_id,
        ship_from=warehouse_address(session, warehouse),
        ship_to=order_address(order),
        weight_g=weight_g,
        quantities=dict(quantities),
        customs_lines=doc_lines(session, order, quantities) if international else (),
        customs_signer=settings.customs_signer,
        international=international,
    )


def parcel_for_pack(session: Session, pack_session_id: int) -> Parcel:
    """Return the parcel of a fully packed session (weighed, if checked)."""
    state = pack_state(session, pack_session_id)
    check_ready(state)
    order = session.get(SalesOrder, state.order_id)
    assert order is not None
    weight = state.measured_weight_g or state.expected_weight_g
    return _parcel(
        session,
        order,
        state.warehouse_id,
        {line.line_id: line.packed for line in state.lines},
        weight,
    )


def parcel_for_order(
    session: Session,
    order_id: int,
    *,
    warehouse_id: int | None = None,
    weight_g: int | None = None,
) -> Parcel:
    """Return the parcel of every reserved unit of an order at one warehouse."""
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    at = warehouse_id or next(
        (
            line.warehouse_id or order.warehouse_id
            for line in order.lines
            if to_pick(order, line)
        ),
        None,
    )
    quantities = {
        line.id: to_pick(order, line)
        for line in order.lines
        if to_pick(order, line) and (line.warehouse_id or order.warehouse_id) == at
    }
    if at is None or not quantities:
        raise InvalidTransition(
            f"order {order.external_id} has no reserved units to ship"
            + ("" if warehouse_id is None else " from that warehouse")
        )
    if weight_g is None:
        settings = fulfillment_settings(session)
        weight_g = settings.packaging_weight_g + sum(
            line.weight_g * line.quantity
            for line in doc_lines(session, order, quantities)
        )
    return _parcel(session, order, at, quantities, weight_g)


def _record(
    uow: UnitOfWork,
    parcel: Parcel,
    purchase: LabelPurchase,
    at: datetime,
) -> ShipResult:
    session = uow.session
    order = session.get(SalesOrder, parcel.order_id)
    assert order is not None
    cost = label_cost_in_shop_currency(session, purchase.cost_minor, purchase.currency)
    by_line = {line.id: line.line_no for line in order.lines}
    shipment_id, changes = shipments.ship(
        uow,
        order.id,
        quantities={
            by_line[line_id]: qty for line_id, qty in parcel.quantities.items()
        },
        info=ShipmentInfo(
            carrier=purchase.carrier or None,
            service=purchase.service or None,
            tracking_number=purchase.tracking_number or None,
            weight_g=parcel.weight_g,
            label_cost=cost or None,
        ),
        at=at,
        warehouse_id=parcel.warehouse_id,
    )
    for file_format, data in (
        ("PDF", purchase.label_pdf),
        ("ZPL", purchase.label_zpl.encode("utf-8") if purchase.label_zpl else None),
    ):
        if data:
            session.add(
                ShipmentLabel(
                    shipment_id=shipment_id,
                    file_format=file_format,
                    data=data,
                    source="carrier",
                    carrier_ref=purchase.carrier_ref or None,
                )
            )
    queued = queue_tracking_email(
        session,
        order,
        shipment_id,
        carrier=purchase.carrier,
        service=purchase.service,
        tracking_number=purchase.tracking_number,
        tracking_url=purchase.tracking_url,
    )
    if queued:
        changes.outbox += 1
    close_finished_batches(session, order.id)
    return ShipResult(shipment_id, cost, queued, changes)


def ship_packed(
    uow: UnitOfWork,
    pack_session_id: int,
    purchase: LabelPurchase,
    *,
    at: datetime | None = None,
) -> ShipResult:
    """Ship what a pack session packed, with its serial numbers and label."""
    session = uow.session
    parcel = parcel_for_pack(session, pack_session_id)
    at = at or datetime.now(UTC)
    result = _record(uow, parcel, purchase, at)
    pack = session.get(PackSession, pack_session_id)
    assert pack is not None
    serials = session.scalars(
        select(PackScan).where(
            PackScan.pack_session_id == pack.id,
            PackScan.kind == "serial",
            PackScan.result == "ok",
        )
    ).all()
    for scan in serials:
        assert scan.order_line_id is not None and scan.variant_id is not None
        session.add(
            ShippedSerial(
                order_line_id=scan.order_line_id,
                variant_id=scan.variant_id,
                serial=scan.code,
                shipment_id=result.shipment_id,
                recorded_at=scan.at,
            )
        )
    pack.status = "shipped"
    pack.finished_at = at
    pack.shipment_id = result.shipment_id
    if purchase.tracking_number:
        session.add(
            PackScan(
                pack_session_id=pack.id,
                order_id=pack.order_id,
                user_id=uow.user_id,
                at=at,
                kind="tracking",
                code=purchase.tracking_number,
                result="ok",
                message=f"shipped as shipment {result.shipment_id}",
            )
        )
    session.flush()
    return result


def ship_order(
    uow: UnitOfWork,
    order_id: int,
    purchase: LabelPurchase,
    *,
    warehouse_id: int | None = None,
    weight_g: int | None = None,
    at: datetime | None = None,
) -> ShipResult:
    """Ship every reserved unit of an order at one warehouse without scanning."""
    parcel = parcel_for_order(
        uow.session, order_id, warehouse_id=warehouse_id, weight_g=weight_g
    )
    return _record(uow, parcel, purchase, at or datetime.now(UTC))
