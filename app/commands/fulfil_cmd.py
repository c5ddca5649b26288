"""``fulfil``: routing explanations, rate tables, rules, carriers, shipping, mail."""

from __future__ import annotations

import argparse
import getpass
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from app.commands.common import add_db, emit_json, open_shop
from app.commands.print_cmd import resolve_order
from app.core.catalog import get_warehouse
from app.core.exceptions import ValidationError
from app.core.fulfillment import queries, rates, rules, shipping
from app.core.fulfillment.settings import (
    CarrierAccount,
    fulfillment_settings,
    update_fulfillment_settings,
)
from app.core.money import format_minor
from app.core.shop import get_shop
from app.core.uow import UnitOfWork
from app.sync.errors import SyncError
from app.sync.labels import buy_label, make_carrier, store_carrier_api_key
from app.sync.mailer import Mailer


def register(subparsers: Any) -> None:
    fulfil = subparsers.add_parser(
        "fulfil", help="routing, rate tables, carriers, shipping and customer e-mail"
    )
    actions = fulfil.add_subparsers(dest="action", required=True)

    explain = actions.add_parser("explain", help="show why an order went where it went")
    _order(explain)
    explain.set_defaults(handler=cmd_explain)

    ship = actions.add_parser(
        "ship", help="buy or record the label and ship an order's reserved units"
    )
    _order(ship)
    ship.add_argument("--carrier", help="carrier name (default: the default carrier)")
    ship.add_argument("--service", help="carrier service (default: the cheapest)")
    ship.add_argument(
        "--tracking", default="", help="tracking number of an own-account label"
    )
    ship.add_argument("--warehouse", help="warehouse code of a split order's part")
    ship.add_argument("--weight", type=int, help="parcel weight in grams")
    ship.set_defaults(handler=cmd_ship)

    rates_cmd = actions.add_parser("rates", help="import or list the rate tables")
    add_db(rates_cmd)
    rates_cmd.add_argument("--import", dest="import_file", help="weight bands CSV")
    rates_cmd.add_argument("--zones", help="zone rules CSV")
    rates_cmd.set_defaults(handler=cmd_rates)

    rule = actions.add_parser("rule", help="add, list or remove routing rules")
    add_db(rule)
    rule.add_argument(
        "kind", nargs="?", choices=rules.KINDS, help="kind of rule to add"
    )
    rule.add_argument("warehouse", nargs="?", help="warehouse code")
    rule.add_argument("--channel", help="channel name ('only' and 'exclude')")
    rule.add_argument("--rank", type=int, help="priority rank, 1 = first")
    rule.add_argument("--remove", type=int, metavar="ID", help="remove rule ID")
    rule.set_defaults(handler=cmd_rule)

    settings = actions.add_parser(
        "settings", help="show or change fulfillment settings"
    )
    add_db(settings)
    settings.add_argument(
        "--weights",
        metavar="D,S,C,W",
        help="routing weights for distance, stock, cost and workload, e.g. 2,4,3,1",
    )
    settings.add_argument("--half-km", type=int, help="distance where the score halves")
    settings.add_argument("--packaging-g", type=int, help="packaging weight in grams")
    settings.add_argument(
        "--tolerance-g", type=int, help="weight check tolerance in grams"
    )
    settings.add_argument("--label-format", choices=("pdf", "zpl"), help="label format")
    settings.add_argument("--default-carrier", help="carrier used when none is named")
    settings.add_argument("--customs-signer", help="name signing customs declarations")
    settings.add_argument(
        "--fx",
        nargs="+",
        metavar="CUR=RATE",
        help="exchange rates for label costs: shop currency per 1 CUR, e.g. USD=0.79",
    )
    settings.set_defaults(handler=cmd_settings)

    carrier = actions.add_parser("carrier", help="add a carrier account")
    add_db(carrier)
    carrier.add_argument("name", help="carrier name, e.g. EasyPost or Royal Mail")
    carrier.add_argument(
        "--kind", choices=("easypost", "own_account"), default="own_account"
    )
    carrier.add_argument("--base-url", default="", help="API address (EasyPost)")
    carrier.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from standard input and store it in the keyring",
    )
    carrier.add_argument(
        "--tracking-url", default="", help="tracking page with {tracking_number}"
    )
    carrier.set_defaults(handler=cmd_carrier)

    mail = actions.add_parser("mail", help="send waiting customer e-mails")
    add_db(mail)
    mail.add_argument("--limit", type=int, default=50, help="send at most this many")
    mail.set_defaults(handler=cmd_mail)


def _order(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    parser.add_argument("order", help="order reference, e.g. 1001")
    parser.add_argument("--channel", help="channel of the order reference")


def _num(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def cmd_explain(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        order = resolve_order(uow.session, args.order, args.channel)
        explanation = queries.routing_explanation(uow.session, order.id)
        currency = get_shop(uow.session).currency
    if args.json:
        emit_json(explanation.to_json())
        return 0
    print(f"Order {explanation.order_ref} to {explanation.destination}")
    print(f"  {explanation.summary}")
    weights = explanation.weights
    print(
        "  weights: "
        + ", ".join(
            f"{k} {weights[k]}" for k in ("distance", "stock", "cost", "workload")
        )
    )
    print(
        f"  {'':1} {'warehouse':<10} {'km':>8} {'dist':>6} {'stock':>6} {'cost':>6} "
        f"{'work':>6} {'total':>6} {'price':>9}  note"
    )
    for s in explanation.scores:
        km = "-" if s.distance_km is None else f"{s.distance_km:.0f}"
        price = "-" if s.cost_minor is None else format_minor(s.cost_minor, currency)
        note = s.reason or (f"lines {s.line_numbers}" if s.line_numbers else "")
        print(
            f"  {'*' if s.chosen else ' '} {s.warehouse:<10} {km:>8} "
            f"{_num(s.distance_score):>6} {_num(s.stock_score):>6} "
            f"{_num(s.cost_score):>6} {_num(s.workload_score):>6} "
            f"{_num(s.total):>6} {price:>9}  {note}"
        )
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        order = resolve_order(session, args.order, args.channel)
        settings = fulfillment_settings(session)
        name = args.carrier or settings.default_carrier
        if not name:
            raise ValidationError(
                "carrier", None, "name the carrier (--carrier) or set a default carrier"
            )
        account = settings.carrier(name)
        warehouse_id = (
            get_warehouse(session, args.warehouse).id if args.warehouse else None
        )
        parcel = shipping.parcel_for_order(
            session, order.id, warehouse_id=warehouse_id, weight_g=args.weight
        )
        currency = get_shop(session).currency
    try:
        carrier = make_carrier(account, currency, label_format=settings.label_format)
        purchase = buy_label(
            carrier, parcel, service=args.service, tracking_number=args.tracking
        )
    except SyncError as exc:
        print(f"backroom fulfil ship: {exc}", file=sys.stderr)
        return 2
    with UnitOfWork(engine) as uow:
        result = shipping.ship_order(
            uow,
            order.id,
            purchase,
            warehouse_id=parcel.warehouse_id,
            weight_g=parcel.weight_g,
        )
        uow.commit()
    data = {
        "order": order.external_id,
        "shipment": result.shipment_id,
        "carrier": purchase.carrier,
        "service": purchase.service,
        "tracking_number": purchase.tracking_number,
        "label_cost": format_minor(result.label_cost_shop, currency),
        "email_queued": result.email_queued,
    }
    if args.json:
        emit_json(data)
    else:
        print(
            f"Order {order.external_id} shipped as shipment {result.shipment_id}: "
            f"{purchase.carrier} {purchase.service} {purchase.tracking_number}"
        )
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    imported = {}
    if args.import_file or args.zones:
        with UnitOfWork(engine) as uow:
            if args.import_file:
                imported["bands"] = rates.import_rates_csv(uow, Path(args.import_file))
            if args.zones:
                imported["zones"] = rates.import_zones_csv(uow, Path(args.zones))
            uow.commit()
    with UnitOfWork(engine, write=False) as uow:
        bands = queries.rate_rows(uow.session)
        zones = queries.zone_rows(uow.session)
    if args.json:
        emit_json(
            {
                "imported": imported,
                "zones": [
                    {
                        "service": z.label,
                        "zone": z.zone,
                        "warehouse": z.warehouse,
                        "scope": z.scope,
                        "countries": z.countries,
                        "max_distance_km": z.max_distance_km,
                    }
                    for z in zones
                ],
                "rates": [
                    {
                        "service": f"{r.carrier} / {r.service}",
                        "zone": r.zone,
                        "max_weight_g": r.max_weight_g,
                        "price": format_minor(r.cost_minor, r.currency),
                        "currency": r.currency,
                    }
                    for r in bands
                ],
            }
        )
        return 0
    for key, count in imported.items():
        print(f"Imported {count} {key}")
    for z in zones:
        where = ", ".join(
            part
            for part in (
                z.warehouse and f"from {z.warehouse}",
                z.scope != "any" and z.scope,
                z.countries and f"to {z.countries}",
                z.max_distance_km and f"up to {z.max_distance_km} km",
            )
            if part
        )
        print(f"  {z.label:<30} zone {z.zone:<12} {where or 'any parcel'}")
    for r in bands:
        price = format_minor(r.cost_minor, r.currency)
        print(
            f"  {r.carrier + ' / ' + r.service:<30} zone {r.zone:<12} "
            f"<= {r.max_weight_g:>6} g  {price} {r.currency}"
        )
    return 0


def cmd_rule(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        if args.remove is not None:
            rules.remove_rule(uow, args.remove)
        elif args.kind:
            if not args.warehouse:
                raise ValidationError("warehouse", None, "name the rule's warehouse")
            rules.add_rule(
                uow, args.kind, args.warehouse, channel=args.channel, rank=args.rank
            )
        uow.commit()
        listed = rules.list_rules(uow.session)
    if args.json:
        emit_json([{"id": r.id, "kind": r.kind, "text": r.text} for r in listed])
    else:
        for r in listed:
            print(f"  {r.id:>4}  {r.text}")
    return 0


def _fx(pairs: list[str]) -> dict[str, Decimal]:
    found = {}
    for pair in pairs:
        code, _, value = pair.partition("=")
        try:
            found[code.strip().upper()] = Decimal(value)
        except InvalidOperation:
            raise ValidationError(
                "fx", pair, f"exchange rate {pair!r} is not CUR=RATE, e.g. USD=0.79"
            ) from None
    return found


def cmd_settings(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    changes: dict[str, Any] = {}
    if args.weights:
        parts = args.weights.split(",")
        if len(parts) != 4:
            raise ValidationError(
                "weights", args.weights, "give four weights, e.g. 2,4,3,1"
            )
        changes["weights"] = dict(
            zip(
                ("distance", "stock", "cost", "workload"),
                map(float, parts),
                strict=True,
            )
        )
    for option, key in (
        ("half_km", "distance_half_km"),
        ("packaging_g", "packaging_weight_g"),
        ("tolerance_g", "weight_tolerance_g"),
        ("label_format", "label_format"),
        ("default_carrier", "default_carrier"),
        ("customs_signer", "customs_signer"),
    ):
        if getattr(args, option) is not None:
            changes[key] = getattr(args, option)
    with UnitOfWork(engine) as uow:
        if args.fx:
            merged = dict(fulfillment_settings(uow.session).fx_rates)
            merged.update(_fx(args.fx))
            changes["fx_rates"] = merged
        settings = (
            update_fulfillment_settings(uow, **changes)
            if changes
            else fulfillment_settings(uow.session)
        )
        uow.commit()
    data = {
        "weights": {
            "distance": settings.weights.distance,
            "stock": settings.weights.stock,
            "cost": settings.weights.cost,
            "workload": settings.weights.workload,
        },
        "distance_half_km": settings.distance_half_km,
        "packaging_weight_g": settings.packaging_weight_g,
        "weight_tolerance_g": settings.weight_tolerance_g,
        "label_format": settings.label_format,
        "default_carrier": settings.default_carrier,
        "carriers": [c.name for c in settings.carriers],
        "fx_rates": {k: str(v) for k, v in settings.fx_rates.items()},
    }
    if args.json:
        emit_json(data)
    else:
        for key, value in data.items():
            print(f"  {key}: {value}")
    return 0


def cmd_carrier(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    account = CarrierAccount(
        args.name.strip(),
        kind=args.kind,
        base_url=args.base_url,
        tracking_url_template=args.tracking_url,
    )
    if args.api_key_stdin:
        key = (
            sys.stdin.readline().strip()
            if not sys.stdin.isatty()
            else getpass.getpass(f"API key for {account.name}: ")
        )
        if not key:
            raise ValidationError("api key", None, "no API key was given")
        store_carrier_api_key(account.name, key)
    with UnitOfWork(engine) as uow:
        current = fulfillment_settings(uow.session)
        others = [
            c for c in current.carriers if c.name.casefold() != account.name.casefold()
        ]
        update_fulfillment_settings(uow, carriers=[*others, account])
        uow.commit()
    if args.json:
        emit_json({"carrier": account.name, "kind": account.kind})
    else:
        print(f"Carrier {account.name} ({account.kind}) saved")
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    run = Mailer(engine).send_pending(args.limit)
    if args.json:
        emit_json(
            {
                "sent": run.sent,
                "failed": run.failed,
                "waiting": run.waiting,
                "error": run.error,
            }
        )
    else:
        print(f"Sent {run.sent}, failed {run.failed}, waiting {run.waiting}")
        if run.error:
            print(f"  {run.error}")
    return 1 if run.failed else 0
