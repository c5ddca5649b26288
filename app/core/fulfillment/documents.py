"""Mapping database records onto the dataclasses the document renderers take.

The renderers in :mod:`app.core.documents` never read the database; these
functions do, and return the frozen ``*Data`` records. :func:`label_file`
returns the bytes of a shipment's label: the carrier's own file when one
was bought in that format, otherwise Backroom's rendering of the label.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.documents import (
    Address,
    CommercialInvoiceData,
    DocLine,
    LabelData,
    PackingSlipData,
)
from app.core.documents.commercial_invoice import render_commercial_invoice_pdf
from app.core.documents.label import render_label_pdf
from app.core.documents.packing_slip import render_packing_slip_pdf
from app.core.documents.zpl import render_label_zpl
from app.core.exceptions import NotFound, ValidationError
from app.core.fulfillment.settings import fulfillment_settings
from app.core.models import (
    Bin,
    Customer,
    Invoice,
    OrderLine,
    SalesOrder,
    Shipment,
    ShipmentLine,
    Variant,
    VariantBin,
    Warehouse,
)
from app.core.models.fulfillment import ShipmentLabel
from app.core.shop import get_shop, shop_zone

FORMATS = ("pdf", "zpl")


def _order(session: Session, order_id: int) -> SalesOrder:
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    return order


def _warehouse(session: Session, warehouse_id: int | None) -> Warehouse:
    warehouse = session.get(Warehouse, warehouse_id) if warehouse_id else None
    if warehouse is None:
        raise NotFound(f"warehouse {warehouse_id} does not exist")
    return warehouse


def warehouse_address(session: Session, warehouse: Warehouse) -> Address:
    """Return the sender address: the shop's name at the warehouse's address."""
    shop = get_shop(session)
    return Address(
        name=shop.name,
        company=warehouse.name if warehouse.name != shop.name else "",
        line1=warehouse.line1,
        city=warehouse.city,
        region=warehouse.region or "",
        postcode=warehouse.postcode or "",
        country=warehouse.country,
    )


def order_address(order: SalesOrder) -> Address:
    """Return the order's shipping address; raise if it has no country."""
    if not order.ship_country:
        raise ValidationError(
            "ship_country",
            None,
            f"order {order.external_id} has no shipping address; add it before "
            "printing documents",
        )
    return Address(
        name=order.ship_name,
        company=order.ship_company or "",
        line1=order.ship_line1,
        line2=order.ship_line2 or "",
        city=order.ship_city,
        region=order.ship_region or "",
        postcode=order.ship_postcode or "",
        country=order.ship_country,
        phone=order.ship_phone or "",
        email=order.email or "",
    )


def _bins(session: Session, warehouse_id: int | None) -> dict[int, str]:
    if warehouse_id is None:
        return {}
    rows = session.execute(
        select(VariantBin.variant_id, Bin.code)
        .join(Bin, Bin.id == VariantBin.bin_id)
        .where(VariantBin.warehouse_id == warehouse_id)
    ).all()
    return {variant_id: code for variant_id, code in rows}


def unit_price_net(order: SalesOrder, line: OrderLine) -> int:
    """Return one unit's price after discounts and without tax, order currency."""
    return round((line.list_net - line.discount_net) / line.quantity)


def doc_lines(
    session: Session,
    order: SalesOrder,
    quantities: Mapping[int, int] | None = None,
    *,
    warehouse_id: int | None = None,
) -> list[DocLine]:
    """Return the order's lines as DocLines.

    ``quantities`` maps order line id to the units to list (default: every
    unit ordered and not cancelled). ``warehouse_id`` limits the lines to
    those routed there and fills their bin codes.
    """
    variants = {
        v.id: v
        for v in session.scalars(
            select(Variant).where(
                Variant.id.in_([ln.variant_id for ln in order.lines if ln.variant_id])
            )
        )
    }
    bins = _bins(session, warehouse_id)
    lines = []
    for line in order.lines:
        if warehouse_id is not None and (line.warehouse_id or order.warehouse_id) != (
            warehouse_id
        ):
            continue
        if quantities is None:
            quantity = line.quantity - line.quantity_cancelled
        else:
            quantity = quantities.get(line.id, 0)
        if quantity <= 0:
            continue
        variant = variants.get(line.variant_id or 0)
        lines.append(
            DocLine(
                sku=line.sku,
                description=line.description or (variant.title if variant else ""),
                quantity=quantity,
                unit_price_minor=unit_price_net(order, line),
                currency=order.currency,
                hs_code=(variant.hs_code or "") if variant else "",
                origin_country=(variant.country_of_origin or "") if variant else "",
                weight_g=(variant.weight_g or 0) if variant else 0,
                bin_code=bins.get(line.variant_id or 0, ""),
                barcode=(variant.barcode or "") if variant else "",
            )
        )
    return lines


def shipment_quantities(session: Session, shipment_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ShipmentLine.order_line_id, ShipmentLine.quantity).where(
            ShipmentLine.shipment_id == shipment_id
        )
    ).all()
    found: dict[int, int] = {}
    for line_id, quantity in rows:
        found[line_id] = found.get(line_id, 0) + quantity
    return found


def _shipment(session: Session, shipment_id: int) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    return shipment


def label_data(session: Session, shipment_id: int) -> LabelData:
    """Return the label of a shipment; it needs a tracking number."""
    shipment = _shipment(session, shipment_id)
    order = _order(session, shipment.order_id)
    if not shipment.tracking_number:
        raise ValidationError(
            "tracking_number",
            None,
            f"shipment {shipment.id} of order {order.external_id} has no tracking "
            "number, so it has no label; buy a label or enter the tracking number",
        )
    weight = shipment.weight_g
    if weight is None:
        weight = sum(
            line.weight_g * line.quantity
            for line in doc_lines(
                session, order, shipment_quantities(session, shipment.id)
            )
        )
    return LabelData(
        shipment_ref=f"S{shipment.id}",
        order_ref=order.external_id,
        tracking_number=shipment.tracking_number,
        carrier=shipment.carrier or "",
        service=shipment.service or "",
        weight_g=weight,
        ship_from=warehouse_address(
            session, _warehouse(session, shipment.warehouse_id)
        ),
        ship_to=order_address(order),
        created_at=shipment.shipped_at.astimezone(shop_zone(session)),
    )


def label_file(
    session: Session, shipment_id: int, file_format: str = "pdf", *, own: bool = False
) -> bytes:
    """Return the label as PDF or ZPL bytes.

    The carrier's label stored at purchase is returned when it exists in the
    requested format and ``own`` is not set. Otherwise the label is rendered
    from the shipment's data.
    """
    fmt = file_format.lower()
    if fmt not in FORMATS:
        raise ValidationError("format", file_format, "label format must be pdf or zpl")
    if not own:
        stored = session.scalar(
            select(ShipmentLabel.data).where(
                ShipmentLabel.shipment_id == shipment_id,
                ShipmentLabel.file_format == fmt.upper(),
            )
        )
        if stored is not None:
            return bytes(stored)
    data = label_data(session, shipment_id)
    if fmt == "zpl":
        return render_label_zpl(data).encode("utf-8")
    out = io.BytesIO()
    render_label_pdf(data, out)
    return out.getvalue()


def packing_slip_data(
    session: Session, order_id: int, shipment_id: int | None = None
) -> PackingSlipData:
    """Return the packing slip of an order, or of one shipment of it."""
    order = _order(session, order_id)
    quantities = shipment_quantities(session, shipment_id) if shipment_id else None
    warehouse_id = (
        _shipment(session, shipment_id).warehouse_id
        if shipment_id
        else order.warehouse_id
    )
    shop = get_shop(session)
    return PackingSlipData(
        shop_name=shop.name,
        order_ref=order.external_id,
        order_date=order.placed_at.astimezone(shop_zone(session)).date(),
        ship_to=order_address(order),
        lines=doc_lines(session, order, quantities),
        note=order.note or "",
        shop_address=warehouse_address(session, _warehouse(session, warehouse_id)),
    )


def packing_slip_pdf(
    session: Session, order_id: int, shipment_id: int | None = None
) -> bytes:
    out = io.BytesIO()
    render_packing_slip_pdf(packing_slip_data(session, order_id, shipment_id), out)
    return out.getvalue()


def crosses_border(session: Session, order_id: int, warehouse_id: int | None) -> bool:
    """Return True when the order ships to another country than the warehouse's."""
    order = _order(session, order_id)
    warehouse = _warehouse(session, warehouse_id or order.warehouse_id)
    return bool(order.ship_country) and order.ship_country != warehouse.country


def _shipping_net(order: SalesOrder) -> int:
    charged = order.shipping - order.shipping_discount
    return charged - order.shipping_tax if order.prices_include_tax else charged


def commercial_invoice_data(
    session: Session, order_id: int, shipment_id: int | None = None
) -> CommercialInvoiceData:
    """Return the customs invoice for an order or one of its shipments.

    Values are the order's prices after discounts and without tax, in the
    order currency. Raises ValidationError when the parcel does not cross
    a border.
    """
    order = _order(session, order_id)
    shipment = _shipment(session, shipment_id) if shipment_id else None
    warehouse = _warehouse(
        session, shipment.warehouse_id if shipment else order.warehouse_id
    )
    if not crosses_border(session, order.id, warehouse.id):
        raise ValidationError(
            "ship_country",
            order.ship_country,
            f"order {order.external_id} ships within {warehouse.country}; a "
            "commercial invoice is only needed for parcels sent abroad",
        )
    quantities = shipment_quantities(session, shipment.id) if shipment else None
    invoice = session.get(Invoice, order.invoice_id) if order.invoice_id else None
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    shop = get_shop(session)
    zone = shop_zone(session)
    settings = fulfillment_settings(session)
    issued = shipment.shipped_at if shipment else datetime.now(UTC)
    return CommercialInvoiceData(
        invoice_number=invoice.display_number if invoice else f"CI-{order.external_id}",
        invoice_date=issued.astimezone(zone).date(),
        order_ref=order.external_id,
        exporter=warehouse_address(session, warehouse),
        consignee=order_address(order),
        lines=doc_lines(session, order, quantities),
        currency=order.currency,
        shipping_minor=_shipping_net(order)
        if not shipment or _first(session, shipment)
        else 0,
        exporter_tax_id=shop.tax_number or "",
        importer_tax_id=(customer.tax_number or "") if customer else "",
        carrier=(shipment.carrier or "") if shipment else "",
        tracking_number=(shipment.tracking_number or "") if shipment else "",
        signer_name=settings.customs_signer,
    )


def _first(session: Session, shipment: Shipment) -> bool:
    """Return True for the order's first shipment, which carries the freight."""
    first = session.scalar(
        select(Shipment.id)
        .where(Shipment.order_id == shipment.order_id)
        .order_by(Shipment.id)
        .limit(1)
    )
    return first == shipment.id


def commercial_invoice_pdf(
    session: Session, order_id: int, shipment_id: int | None = None
) -> bytes:
    out = io.BytesIO()
    render_commercial_invoice_pdf(
        commercial_invoice_data(session, order_id, shipment_id), out
    )
    return out.getvalue()
