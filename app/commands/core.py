"""``init``, ``report`` and ``check``."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.accounting_cmd import extend_report
from app.commands.common import add_db, emit_json, iso_date, open_shop
from app.core import db
from app.core.checks import RULES, run_checks
from app.core.money import format_minor
from app.core.reports import balance_sheet, profit_loss, trial_balance
from app.core.setup import ShopSettings, create_shop
from app.core.uow import UnitOfWork

REPORTS = ("trial-balance", "profit-loss", "balance-sheet")


def register(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="create an empty shop")
    add_db(init)
    init.add_argument("--name", default="My shop", help="shop name")
    init.add_argument(
        "--currency", default="GBP", help="ISO 4217 currency of the books"
    )
    init.add_argument("--country", default="GB", help="ISO 3166 country of the shop")
    init.add_argument("--timezone", default="Europe/London", help="IANA time zone")
    init.set_defaults(handler=cmd_init)

    report = subparsers.add_parser("report", help="print a report")
    report.add_argument("name", choices=REPORTS)
    add_db(report)
    report.add_argument("--as-of", type=iso_date, help="last local day included")
    report.add_argument("--from", dest="date_from", type=iso_date, help="first day")
    report.add_argument("--to", dest="date_to", type=iso_date, help="last day")
    report.set_defaults(handler=cmd_report)
    extend_report(report)

    check = subparsers.add_parser("check", help="verify the ledger and stock rules")
    add_db(check)
    check.set_defaults(handler=cmd_check)


def cmd_init(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.db)
    create_shop(
        engine,
        ShopSettings(
            name=args.name,
            currency=args.currency.upper(),
            country=args.country.upper(),
            timezone=args.timezone,
        ),
    )
    if args.json:
        emit_json({"db": db.database_url(args.db), "name": args.name})
    else:
        print(f"Created shop {args.name!r} in {db.database_url(args.db)}")
    return 0


def _print_rows(title: str, rows: list[tuple[str, str, str]], currency: str) -> None:
    print(title)
    for code, name, amount in rows:
        print(f"  {code:<6} {name:<40} {amount:>16} {currency}")


def cmd_report(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        s = uow.session
        if args.name == "trial-balance":
            tb = trial_balance(
                s, as_of=args.as_of or args.date_to, date_from=args.date_from
            )
            data = tb.to_json()
            if not args.json:
                c = tb.currency
                print(f"Trial balance{f' as of {tb.as_of}' if tb.as_of else ''} ({c})")
                print(f"  {'code':<6} {'account':<40} {'debit':>14} {'credit':>14}")
                for r in tb.rows:
                    print(
                        f"  {r.code:<6} {r.name:<40} {format_minor(r.debit, c):>14} "
                        f"{format_minor(r.credit, c):>14}"
                    )
                print(
                    f"  {'':<6} {'Total':<40} {format_minor(tb.total_debit, c):>14} "
                    f"{format_minor(tb.total_credit, c):>14}"
                )
        elif args.name == "profit-loss":
            pl = profit_loss(
                s, date_from=args.date_from, date_to=args.date_to or args.as_of
            )
            data = pl.to_json()
            if not args.json:
                c = pl.currency
                _print_rows(
                    "Income",
                    [(r["code"], r["name"], r["amount"]) for r in data["income"]],
                    c,
                )
                _print_rows(
                    "Expenses",
                    [(r["code"], r["name"], r["amount"]) for r in data["expenses"]],
                    c,
                )
                gross, net = data["gross_profit"], data["net_profit"]
                print(f"Gross profit {gross} {c}; net profit {net} {c}")
        else:
            bs = balance_sheet(s, as_of=args.as_of or args.date_to)
            data = bs.to_json()
            if not args.json:
                c = bs.currency
                for part in ("assets", "liabilities", "equity"):
                    _print_rows(
                        part.title(),
                        [(r["code"], r["name"], r["amount"]) for r in data[part]],
                        c,
                    )
                print(f"Current earnings {data['current_earnings']} {c}")
                print(
                    f"Assets {data['total_assets']} = liabilities "
                    f"{data['total_liabilities']} + equity {data['total_equity']} {c}"
                )
        if args.json:
            emit_json(data)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        violations = run_checks(uow.session)
    if args.json:
        emit_json(
            {
                "ok": not violations,
                "rules": {str(k): v for k, v in RULES.items()},
                "violations": [
                    {"rule": v.rule, "message": v.message, "records": v.records}
                    for v in violations
                ],
            }
        )
    else:
        for number, text in RULES.items():
            bad = [v for v in violations if v.rule == number]
            print(f"{'FAIL' if bad else 'ok  '} rule {number}: {text}")
            for v in bad[:50]:
                print(f"       {v.message}")
            if len(bad) > 50:
                print(f"       ... and {len(bad) - 50} more")
    return 1 if violations else 0
