"""``returns``: list, show, authorize, receive, refund, dispose and analyze returns.

A thin layer over :mod:`app.core.returns` for scripting. Orders are named by
their external id (``1001``) or by ``#`` and their database id (``#12``);
returns by their RMA reference (``RMA-000123``). Times given with ``--at``
are ISO 8601; without an offset they are the shop's local time.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commands.common import add_db, emit_json, open_shop
from app.core import returns
from app.core.exceptions import NotFound, ValidationError
from app.core.models import SalesOrder
from app.core.money import format_minor
from app.core.returns.fraud import signal_kinds_for
from app.core.returns.states import CONDITIONS, DISPOSITIONS, REASONS
from app.core.shop import ensure_aware, get_shop, shop_zone
from app.core.uow import UnitOfWork


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("returns", help="return authorizations and refunds")
    commands = parser.add_subparsers(dest="returns_command", required=True)

    listing = commands.add_parser("list", help="list returns, newest first")
    add_db(listing)
    listing.add_argument("--status", help="only returns in this status")
    listing.set_defaults(handler=cmd_list)

    show = commands.add_parser("show", help="show one return in full")
    show.add_argument("rma", help="RMA reference, e.g. RMA-000123")
    add_db(show)
    show.set_defaults(handler=cmd_show)

    auth = commands.add_parser("authorize", help="authorize shipped units to return")
    auth.add_argument("order", help="order external id, or #id")
    auth.add_argument(
        "--line",
        action="append",
        required=True,
        metavar="NO:QTY[:REASON]",
        help=f"order line number, units and reason ({', '.join(REASONS)}; "
        "default other); repeat per line",
    )
    auth.add_argument("--label", help="return label reference")
    auth.add_argument("--late-reason", help="why a return after the window is allowed")
    _add_at(auth)
    add_db(auth)
    auth.set_defaults(handler=cmd_authorize)

    receive = commands.add_parser(
        "receive", help="record a returned parcel, and grade it with --grade"
    )
    receive.add_argument("rma", help="RMA reference")
    receive.add_argument(
        "--count",
        action="append",
        default=[],
        metavar="NO:QTY",
        help="units of an order line that arrived; repeat per line",
    )
    receive.add_argument("--weight", type=int, help="parcel weight in grams")
    receive.add_argument("--note", help="note for the audit trail")
    receive.add_argument(
        "--grade",
        action="append",
        default=[],
        metavar="NO:CONDITION:QTY[:SERIAL,...]",
        help=f"inspect units as {', '.join(CONDITIONS)}; repeat per condition",
    )
    _add_at(receive)
    add_db(receive)
    receive.set_defaults(handler=cmd_receive)

    refund = commands.add_parser("refund", help="refund a return")
    refund.add_argument("rma", help="RMA reference")
    refund.add_argument(
        "--release-reason", help="refund before the inspection, for this reason"
    )
    shipping = refund.add_mutually_exclusive_group()
    shipping.add_argument(
        "--shipping", dest="shipping", action="store_true", default=None,
        help="refund shipping regardless of the shipping policy",
    )  # fmt: skip
    shipping.add_argument(
        "--no-shipping", dest="shipping", action="store_false",
        help="do not refund shipping, regardless of the policy",
    )  # fmt: skip
    fee = refund.add_mutually_exclusive_group()
    fee.add_argument("--fee-percent", type=Decimal, help="restocking fee in percent")
    fee.add_argument("--fee-fixed", type=int, help="restocking fee in shop minor units")
    fee.add_argument("--no-fee", action="store_true", help="waive the restocking fee")
    refund.add_argument(
        "--pay", choices=("channel", "bank"), help="also pay the refund out this way"
    )
    _add_at(refund)
    add_db(refund)
    refund.set_defaults(handler=cmd_refund)

    dispose = commands.add_parser("dispose", help="take units out of quarantine")
    dispose.add_argument("rma", help="RMA reference")
    dispose.add_argument("--line", type=int, required=True, help="order line number")
    dispose.add_argument("--quantity", type=int, required=True, help="units")
    dispose.add_argument("--action", choices=DISPOSITIONS, required=True)
    dispose.add_argument("--warehouse", help="warehouse code to restock into")
    dispose.add_argument("--supplier-ref", help="supplier's return reference")
    dispose.add_argument("--note", help="note for the audit trail")
    _add_at(dispose)
    add_db(dispose)
    dispose.set_defaults(handler=cmd_dispose)

    analyze = commands.add_parser(
        "analyze", help="list customers whose returns are outliers"
    )
    add_db(analyze)
    analyze.add_argument(
        "--no-history", action="store_true", help="leave imported history out"
    )
    analyze.add_argument(
        "--record",
        action="store_true",
        help="store a serial_returner signal for each outlier",
    )
    analyze.set_defaults(handler=cmd_analyze)


def _add_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        help="when it happened, ISO 8601 (default: now)",
    )


def _at(session: Session, args: argparse.Namespace) -> datetime:
    if args.at is None:
        return datetime.now(UTC)
    return ensure_aware(args.at, shop_zone(session))


def _pair(text: str, option: str, parts: int = 2) -> list[str]:
    found = text.split(":", parts - 1)
    if len(found) < 2:
        raise ValidationError(
            option, text, f"{option} {text!r} must look like NO:QTY, e.g. 1:2"
        )
    return found


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError(
            option, text, f"{option}: {text!r} is not a number"
        ) from None


def _find_order(session: Session, text: str) -> SalesOrder:
    if text.startswith("#"):
        order = session.get(SalesOrder, _int(text[1:], "order"))
        if order is None:
            raise NotFound(f"order {text} does not exist")
        return order
    found = session.scalars(
        select(SalesOrder).where(SalesOrder.external_id == text)
    ).all()
    if len(found) > 1:
        raise ValidationError(
            "order",
            text,
            f"{len(found)} orders have the external id {text!r}; name one by its "
            "database id, e.g. #" + str(found[0].id),
        )
    if not found:
        raise NotFound(f"no order has the external id {text!r}")
    return found[0]


def _money(amount: int, currency: str) -> str:
    return format_minor(amount, currency)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _summary_json(s: returns.ReturnSummary) -> dict[str, Any]:
    data = _plain(asdict(s))
    data["refunded"] = _money(s.refunded, s.currency)
    return dict(data)


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        rows = returns.list_returns(uow.session, status=args.status)
    if args.json:
        emit_json({"returns": [_summary_json(r) for r in rows]})
        return 0
    for r in rows:
        flags = " refunded-before-inspection" if r.refunded_before_inspection else ""
        flags += " cancellation" if r.is_cancellation else ""
        flags += f" signals={r.open_signals}" if r.open_signals else ""
        print(
            f"{r.reference}  {r.status:<10} order {r.order_external_id:<12} "
            f"{r.units:>3} units  refunded {_money(r.refunded, r.currency)} "
            f"{r.currency}{flags}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        detail = returns.return_detail(uow.session, args.rma)
    data = _plain(asdict(detail))
    cur = detail.summary.currency
    for refund in data["refunds"]:
        for key in ("goods", "shipping", "tax", "fee", "total"):
            refund[key] = _money(refund[key], cur)
    data["summary"]["refunded"] = _money(detail.summary.refunded, cur)
    if args.json:
        emit_json(data)
        return 0
    s = detail.summary
    print(f"{s.reference} ({s.status}) order {s.order_external_id} {s.customer_name}")
    for line in detail.lines:
        print(
            f"  line {line.line_no} {line.sku}: {line.quantity} authorized "
            f"({line.reason}), {line.received} received, {line.accepted} accepted, "
            f"{line.refunded} refunded, {line.in_quarantine} in quarantine"
        )
    for refund in data["refunds"]:
        print(
            f"  refund {refund['id']} {refund['status']}: {refund['total']} {cur}"
            f" (goods {refund['goods']}, shipping {refund['shipping']}, "
            f"fee {refund['fee']})"
        )
    for signal in detail.signals:
        print(f"  signal {signal.kind} ({signal.status}) score {signal.score}")
    return 0


def cmd_authorize(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    lines = []
    for text in args.line:
        parts = _pair(text, "--line", 3)
        lines.append(
            returns.ReturnLineInput(
                _int(parts[0], "--line"),
                _int(parts[1], "--line"),
                parts[2] if len(parts) > 2 else "other",
            )
        )
    with UnitOfWork(engine) as uow:
        order = _find_order(uow.session, args.order)
        result = returns.authorize(
            uow,
            order.id,
            lines,
            at=_at(uow.session, args),
            label_reference=args.label,
            late_reason=args.late_reason,
        )
        uow.commit()
    if args.json:
        emit_json(
            {
                "rma": result.reference,
                "id": result.rma_id,
                "late": result.late,
                "signals": list(result.signals),
            }
        )
    else:
        print(f"Authorized {result.reference}")
    return 0


def _grade(text: str) -> returns.Grade:
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise ValidationError(
            "--grade", text, f"--grade {text!r} must look like NO:CONDITION:QTY"
        )
    serials = tuple(s for s in parts[3].split(",") if s) if len(parts) > 3 else ()
    return returns.Grade(
        _int(parts[0], "--grade"), parts[1], _int(parts[2], "--grade"), serials
    )


def cmd_receive(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    counts: dict[int, int] = {}
    for text in args.count:
        no, qty = _pair(text, "--count")
        counts[_int(no, "--count")] = _int(qty, "--count")
    grades = [_grade(text) for text in args.grade]
    with UnitOfWork(engine) as uow:
        at = _at(uow.session, args)
        result = returns.receive(
            uow, args.rma, counts, parcel_weight_g=args.weight, note=args.note, at=at
        )
        signals = list(result.signals)
        refunds: list[int] = []
        if grades:
            inspected = returns.inspect(uow, args.rma, grades, at=at)
            signals += inspected.signals
            refunds = [r.refund_id for r in inspected.refunds]
            result = inspected
        uow.commit()
    if args.json:
        emit_json(
            {
                "rma": result.reference,
                "status": result.status,
                "signals": signals,
                "refunds": refunds,
            }
        )
    else:
        print(f"{result.reference} is {result.status}; {len(signals)} signals")
    return 0


def _fee(args: argparse.Namespace) -> returns.RestockingFee | None:
    if args.no_fee:
        return returns.NO_FEE
    if args.fee_percent is not None:
        return returns.RestockingFee("percent", args.fee_percent)
    if args.fee_fixed is not None:
        return returns.RestockingFee("fixed", Decimal(args.fee_fixed))
    return None


def cmd_refund(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        at = _at(uow.session, args)
        result = returns.request_refund(
            uow,
            args.rma,
            release_reason=args.release_reason,
            refund_shipping=args.shipping,
            fee=_fee(args),
            at=at,
        )
        paid = False
        if args.pay and result.status == "issued":
            returns.pay_refund(uow, result.refund_id, args.pay, at=at)
            paid = True
        uow.commit()
    status = "paid" if paid else result.status
    if args.json:
        emit_json(
            {
                "refund": result.refund_id,
                "status": status,
                "total": _money(result.total, result.currency),
                "currency": result.currency,
            }
        )
    else:
        print(
            f"Refund {result.refund_id} {status}: "
            f"{_money(result.total, result.currency)} {result.currency}"
        )
    return 0


def cmd_dispose(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        result = returns.dispose(
            uow,
            args.rma,
            args.line,
            args.quantity,
            args.action,
            warehouse=args.warehouse,
            supplier_reference=args.supplier_ref,
            note=args.note,
            at=_at(uow.session, args),
        )
        currency = get_shop(uow.session).currency
        uow.commit()
    if args.json:
        emit_json(
            {
                "disposition": result.disposition_id,
                "value": _money(result.value_shop, currency),
            }
        )
    else:
        print(
            f"{args.action}: {args.quantity} units, "
            f"{_money(result.value_shop, currency)} {currency}"
        )
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=args.record) as uow:
        outliers = returns.analyze(uow.session, include_history=not args.no_history)
        if args.record:
            returns.record_serial_returners(uow, outliers)
            uow.commit()
        currency = get_shop(uow.session).currency
        kinds = signal_kinds_for(
            uow.session, [s.activity.customer_id for s in outliers]
        )
    customers = [
        {
            "customer_id": s.activity.customer_id,
            "orders": s.activity.orders,
            "returns": s.activity.returns,
            "returned_value": _money(s.activity.returned_value, currency),
            "returned_share": str(s.value_share),
            "score": str(s.score),
            "signals": sorted(
                {"serial_returner", *kinds.get(s.activity.customer_id, [])}
            ),
        }
        for s in outliers
    ]
    if args.json:
        emit_json({"customers": customers})
        return 0
    if not customers:
        print("No customer's returns stand out.")
    for c in customers:
        print(
            f"customer {c['customer_id']}: {c['returns']} returns of {c['orders']} "
            f"orders, {c['returned_value']} {currency} returned "
            f"(share {c['returned_share']}), score {c['score']}"
        )
    return 0
