"""``print``: labels, packing slips, pick lists and commercial invoices to files.

Orders are named by their reference as the channel shows it (``--order
1001``), with ``--channel`` when two channels use the same reference.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commands.common import add_db, emit_json, open_shop
from app.core.catalog import get_warehouse
from app.core.exceptions import NotFound, ValidationError
from app.core.fulfillment import batches
from app.core.fulfillment import documents as docs
from app.core.fulfillment.packing import find_order
from app.core.models import Channel, SalesOrder, Shipment
from app.core.uow import UnitOfWork


def register(subparsers: Any) -> None:
    printer = subparsers.add_parser(
        "print", help="write a label, packing slip, pick list or commercial invoice"
    )
    kinds = printer.add_subparsers(dest="document", required=True)

    label = kinds.add_parser("label", help="a shipment's 4x6 label")
    _target(label, shipment=True)
    label.add_argument(
        "--format",
        choices=("pdf", "zpl"),
        default="pdf",
        help="file format (default pdf)",
    )
    label.add_argument(
        "--own",
        action="store_true",
        help="render Backroom's own label even when the carrier's label is stored",
    )
    label.set_defaults(handler=cmd_label)

    slip = kinds.add_parser("packing-slip", help="the slip packed with an order")
    _target(slip, shipment=True)
    slip.set_defaults(handler=cmd_packing_slip)

    invoice = kinds.add_parser(
        "commercial-invoice", help="the customs invoice of a parcel sent abroad"
    )
    _target(invoice, shipment=True)
    invoice.set_defaults(handler=cmd_commercial_invoice)

    picks = kinds.add_parser(
        "pick-list", help="batch waiting orders of a warehouse and print the pick list"
    )
    add_db(picks)
    picks.add_argument("--warehouse", help="warehouse code (default: the orders')")
    picks.add_argument(
        "--orders", nargs="+", metavar="ORDER", help="order references to batch"
    )
    picks.add_argument("--channel", help="channel of the --orders references")
    picks.add_argument(
        "--batch", help="reprint an existing batch (its id or reference, e.g. PB000012)"
    )
    picks.add_argument("--limit", type=int, help="batch at most this many orders")
    picks.add_argument("-o", "--output", required=True, help="PDF file to write")
    picks.set_defaults(handler=cmd_pick_list)


def _target(parser: argparse.ArgumentParser, *, shipment: bool) -> None:
    add_db(parser)
    parser.add_argument("--order", help="order reference, e.g. 1001")
    parser.add_argument("--channel", help="channel of the order reference")
    if shipment:
        parser.add_argument("--shipment", type=int, help="shipment id")
    parser.add_argument("-o", "--output", required=True, help="file to write")


def resolve_order(session: Session, reference: str, channel: str | None) -> SalesOrder:
    """Return the order with this reference, on ``channel`` when given."""
    if channel:
        order = session.scalar(
            select(SalesOrder)
            .join(Channel, Channel.id == SalesOrder.channel_id)
            .where(SalesOrder.external_id == reference, Channel.name == channel)
        )
    else:
        order = find_order(session, reference)
    if order is None:
        raise NotFound(
            f"order {reference!r} was not found"
            + (f" on channel {channel}" if channel else "")
        )
    return order


def _order_and_shipment(
    session: Session, args: argparse.Namespace, *, need_shipment: bool
) -> tuple[SalesOrder, Shipment | None]:
    shipment = None
    if getattr(args, "shipment", None) is not None:
        shipment = session.get(Shipment, args.shipment)
        if shipment is None:
            raise NotFound(f"shipment {args.shipment} does not exist")
        order = session.get(SalesOrder, shipment.order_id)
        assert order is not None
        return order, shipment
    if not args.order:
        raise ValidationError("order", None, "name the order (--order) or --shipment")
    order = resolve_order(session, args.order, args.channel)
    if need_shipment:
        shipment = session.scalars(
            select(Shipment)
            .where(Shipment.order_id == order.id)
            .order_by(Shipment.id.desc())
            .limit(1)
        ).first()
        if shipment is None:
            raise NotFound(
                f"order {order.external_id} has not shipped yet, so it has no label"
            )
    return order, shipment


def _write(args: argparse.Namespace, data: bytes, extra: dict[str, Any]) -> int:
    path = Path(args.output)
    path.write_bytes(data)
    if args.json:
        emit_json({"file": str(path), "bytes": len(data), **extra})
    else:
        print(f"Wrote {path} ({len(data)} bytes)")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        order, shipment = _order_and_shipment(uow.session, args, need_shipment=True)
        assert shipment is not None
        data = docs.label_file(uow.session, shipment.id, args.format, own=args.own)
    return _write(
        args,
        data,
        {
            "order": order.external_id,
            "shipment": shipment.id,
            "tracking_number": shipment.tracking_number,
        },
    )


def cmd_packing_slip(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        order, shipment = _order_and_shipment(uow.session, args, need_shipment=False)
        data = docs.packing_slip_pdf(
            uow.session, order.id, shipment.id if shipment else None
        )
    return _write(args, data, {"order": order.external_id})


def cmd_commercial_invoice(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        order, shipment = _order_and_shipment(uow.session, args, need_shipment=False)
        data = docs.commercial_invoice_pdf(
            uow.session, order.id, shipment.id if shipment else None
        )
    return _write(args, data, {"order": order.external_id})


def _batch_id(session: Session, text: str) -> int:
    if text.isdigit():
        return batches.get_batch(session, int(text)).id
    found = batches.find_batch(session, text)
    if found is None:
        raise NotFound(f"pick batch {text!r} does not exist")
    return found.id


def cmd_pick_list(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        session = uow.session
        if args.batch:
            batch_id = _batch_id(session, args.batch)
        else:
            order_ids = (
                [resolve_order(session, ref, args.channel).id for ref in args.orders]
                if args.orders
                else None
            )
            warehouse = (
                get_warehouse(session, args.warehouse) if args.warehouse else None
            )
            result = batches.create_pick_batch(
                uow, warehouse.id if warehouse else None, order_ids, limit=args.limit
            )
            batch_id = result.batch_id
        data = batches.pick_list_pdf(session, batch_id)
        batch = batches.get_batch(session, batch_id)
        orders = [
            o.external_id
            for o in session.scalars(
                select(SalesOrder).where(
                    SalesOrder.id.in_(batches.batch_order_ids(session, batch_id))
                )
            )
        ]
        uow.commit()
    return _write(args, data, {"batch": batch.ref, "orders": orders})
