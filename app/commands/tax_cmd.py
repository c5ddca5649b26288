"""``tax``: tax registrations and rate tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.commands.common import add_db, emit_json, open_shop
from app.core import setup
from app.core.models import TaxRegistration, TaxRule
from app.core.taxtables import parse_woocommerce_tax_csv
from app.core.uow import UnitOfWork


def register(subparsers: Any) -> None:
    tax = subparsers.add_parser("tax", help="tax registrations and rate tables")
    actions = tax.add_subparsers(dest="action", required=True)

    load = actions.add_parser(
        "import", help="import rates from a WooCommerce tax-rate CSV"
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--replace",
        action="store_true",
        help="drop the existing rules of the countries in the file first",
    )
    add_db(load)
    load.set_defaults(handler=cmd_import)

    show = actions.add_parser("list", help="list tax rules and registrations")
    show.add_argument("--country", help="only this ISO country code")
    add_db(show)
    show.set_defaults(handler=cmd_list)

    reg = actions.add_parser("register", help="add a tax registration")
    reg.add_argument("kind", choices=("home", "oss", "us_state", "country"))
    reg.add_argument("country", help="ISO country code (for oss: the home state)")
    reg.add_argument("--region", help="state code, for us_state registrations")
    add_db(reg)
    reg.set_defaults(handler=cmd_register)


def cmd_import(args: argparse.Namespace) -> int:
    rates = parse_woocommerce_tax_csv(args.file)
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        count = setup.import_tax_rates(uow, rates, replace=args.replace)
        uow.commit()
    if args.json:
        emit_json({"imported": count, "file": str(args.file)})
    else:
        print(f"Imported {count} tax rules from {args.file}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        query = select(TaxRule).order_by(TaxRule.country, TaxRule.priority, TaxRule.id)
        if args.country:
            query = query.where(TaxRule.country == args.country.upper())
        rules = uow.session.scalars(query).all()
        regs = uow.session.scalars(select(TaxRegistration)).all()
    data = {
        "registrations": [
            {"kind": r.kind, "country": r.country, "region": r.region} for r in regs
        ],
        "rules": [
            {
                "country": r.country,
                "region": r.region,
                "postcode": r.postcode,
                "rate": f"{r.rate.normalize():f}",
                "name": r.name,
                "priority": r.priority,
                "compound": r.compound,
                "shipping": r.shipping,
                "source": r.source,
            }
            for r in rules
        ],
    }
    if args.json:
        emit_json(data)
        return 0
    for reg in data["registrations"]:
        print(f"registered: {reg['kind']} {reg['country']} {reg['region'] or ''}")
    for rule in data["rules"]:
        where = "/".join(
            p for p in (rule["country"], rule["region"], rule["postcode"]) if p
        )
        print(f"{where:<24} {rule['rate']:>7} %  {rule['name']}  (p{rule['priority']})")
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        setup.add_registration(uow, args.kind, args.country, args.region)
        uow.commit()
    print(f"Registered {args.kind} {args.country.upper()} {args.region or ''}".rstrip())
    return 0
