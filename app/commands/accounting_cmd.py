"""``close``, ``reopen``, ``export``, ``payouts``, ``bank``, ``invoice`` and the
accounting names of ``report``.

``report`` itself is defined in :mod:`app.commands.core`, which calls
:func:`extend_report` to add the names sales-tax, stock, general-ledger and
channel-profitability, plus ``--format`` and ``-o``. The three original
reports keep their text and JSON output; CSV and PDF work for all seven.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from app.commands.common import add_db, emit_json, iso_date, open_shop
from app.core.accounting import bank, close, payout_formats, year_end
from app.core.accounting.export import export_ledger
from app.core.accounting.invoices import invoice_data
from app.core.accounting.ledger_reports import channel_profitability, general_ledger
from app.core.accounting.payouts import PayoutFile, PayoutImportResult, import_payouts
from app.core.accounting.periods import Month
from app.core.accounting.settings import load_seller, save_seller
from app.core.accounting.stock_report import inventory_valuation
from app.core.accounting.tables import (
    Report,
    render_text,
    report_table,
    write_report_csv,
)
from app.core.accounting.tax_report import sales_tax
from app.core.documents.invoice_pdf import render_invoice_pdf
from app.core.documents.report_pdf import render_report_pdf
from app.core.exceptions import ValidationError
from app.core.exports import WRITERS
from app.core.money import format_minor
from app.core.reports import balance_sheet, profit_loss, trial_balance
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

NEW_REPORTS = ("sales-tax", "stock", "general-ledger", "channel-profitability")
FORMATS = ("text", "json", "csv", "pdf")


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate; write it like 0.79"
        ) from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number above zero")
    return value


def register(subparsers: Any) -> None:
    _register_close(subparsers)
    _register_export(subparsers)
    _register_payouts(subparsers)
    _register_bank(subparsers)
    _register_invoice(subparsers)


# --- close and reopen ---------------------------------------------------------


def _register_close(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "close",
        help="run the month-end checklist and lock a month, or close a fiscal year",
        description="Run the month-end checklist for --period and lock the month "
        "when nothing blocks it (exit status 1 when something does). --year "
        "closes a fiscal year: the closing entry to 3200 Retained earnings, "
        "and every month of the year still open is checked and locked.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--period", type=_month, help="month to close, YYYY-MM")
    target.add_argument(
        "--year", type=int, help="fiscal year to close (the calendar year it ends in)"
    )
    add_db(parser)
    parser.add_argument(
        "--force-with-reason",
        metavar="TEXT",
        help="close despite blocking items; the reason goes to the audit trail",
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="only run the checklist (the run still counts for the close time)",
    )
    parser.set_defaults(handler=cmd_close)

    reopen = subparsers.add_parser(
        "reopen", help="reopen a closed month or fiscal year, with a reason"
    )
    target = reopen.add_mutually_exclusive_group(required=True)
    target.add_argument("--period", type=_month, help="month to reopen, YYYY-MM")
    target.add_argument("--year", type=int, help="fiscal year to reopen")
    add_db(reopen)
    reopen.add_argument(
        "--reason", required=True, help="why it is reopened (kept in the audit trail)"
    )
    reopen.set_defaults(handler=cmd_reopen)


def _print_checklist(data: dict[str, Any]) -> None:
    print(f"Checklist for {data['period']}")
    for item in data["items"]:
        if item["ok"]:
            mark = "ok  "
        elif item["blocking"]:
            mark = "STOP"
        else:
            mark = "warn"
        print(
            f"{mark} {item['title']}" + (f" ({item['count']})" if item["count"] else "")
        )
        if not item["ok"]:
            if item["note"]:
                print(f"       {item['note']}")
            for record in item["records"][:50]:
                print(f"       - {record['label']}")
            if item["count"] > 50:
                print(f"       ... and {item['count'] - 50} more")


def cmd_close(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    if args.year is not None:
        return _close_year(engine, args)
    with UnitOfWork(engine) as uow:
        if args.check_only:
            checklist = close.run_checklist(uow, args.period)
            uow.commit()
            data: dict[str, Any] = {"closed": False, "checklist": checklist.to_json()}
            blocked = bool(checklist.blocking)
        else:
            outcome = close.close_month(
                uow, args.period, force_reason=args.force_with_reason
            )
            uow.commit()
            data = {
                "closed": outcome.closed,
                "forced": outcome.forced,
                "duration_s": outcome.duration_s,
                "checklist": outcome.checklist.to_json(),
            }
            blocked = not outcome.closed
    if args.json:
        emit_json({"period": args.period.label, **data})
    else:
        _print_checklist(data["checklist"])
        if data["closed"]:
            forced = " (forced past blocking items)" if data.get("forced") else ""
            print(f"Closed {args.period}{forced}.")
        elif not args.check_only:
            print(
                f"{args.period} stays open: fix the STOP items or run again with "
                "--force-with-reason."
            )
    return 1 if blocked and not data["closed"] else 0


def _close_year(engine: Any, args: argparse.Namespace) -> int:
    with UnitOfWork(engine) as uow:
        currency = get_shop(uow.session).currency
        outcome = year_end.close_year(
            uow, args.year, force_reason=args.force_with_reason
        )
        uow.commit()
    data: dict[str, Any] = {
        "year": outcome.name,
        "from": outcome.start.isoformat(),
        "to": outcome.end.isoformat(),
        "closed": outcome.closed,
        "forced": outcome.forced,
        "result": format_minor(outcome.result, currency),
        "entry": outcome.entry_id,
        "months_locked": list(outcome.months_locked),
        "lines": [
            {
                "account": line.account,
                "name": line.name,
                "channel": line.channel,
                "debit": format_minor(line.debit, currency),
                "credit": format_minor(line.credit, currency),
            }
            for line in outcome.lines
        ],
        "checklists": [c.to_json() for c in outcome.checklists if c.blocking],
    }
    if args.json:
        emit_json(data)
    elif outcome.closed:
        forced = " past blocking items" if outcome.forced else ""
        print(
            f"Closed fiscal year {outcome.name} ({outcome.start} to {outcome.end})"
            f"{forced}: result {data['result']} {currency} to 3200 Retained "
            f"earnings, entry {outcome.entry_id}; "
            f"{len(outcome.months_locked)} months locked."
        )
        for line in data["lines"]:
            channel = line["channel"] or ""
            print(
                f"  {line['account']:<6} {line['name']:<36} {channel:<16} "
                f"{line['debit']:>14} {line['credit']:>14}"
            )
    else:
        for checklist in data["checklists"]:
            _print_checklist(checklist)
        print(
            f"Fiscal year {outcome.name} stays open: fix the STOP items or run again "
            "with --force-with-reason."
        )
    return 0 if outcome.closed else 1


def cmd_reopen(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        if args.year is not None:
            year_end.reopen_year(uow, args.year, args.reason)
            what = f"fiscal year {args.year}"
        else:
            close.reopen_month(uow, args.period, args.reason)
            what = args.period.label
        uow.commit()
    if args.json:
        emit_json({"reopened": what, "reason": args.reason})
    else:
        print(f"Reopened {what}.")
    return 0


# --- export -------------------------------------------------------------------


def _register_export(subparsers: Any) -> None:
    export = subparsers.add_parser("export", help="export data for other tools")
    kinds = export.add_subparsers(dest="export_kind", required=True)
    ledger = kinds.add_parser(
        "ledger",
        help="export the journal for an accountant's tool",
        description="Write the journal entries dated --from to --to. An export "
        "starting after the first entry begins with an opening-balance entry "
        "dated the day before --from (leave it out with --no-opening). "
        "xero-csv writes FILE-001.csv, FILE-002.csv, ... of at most 300 lines.",
    )
    ledger.add_argument("--format", required=True, choices=tuple(WRITERS))
    ledger.add_argument("--from", dest="date_from", type=iso_date, help="first day")
    ledger.add_argument("--to", dest="date_to", type=iso_date, help="last day")
    ledger.add_argument("-o", "--output", required=True, help="file to write")
    add_db(ledger)
    ledger.add_argument(
        "--no-opening", action="store_true", help="leave out the opening entry"
    )
    ledger.add_argument(
        "--channel-as-class",
        action="store_true",
        help="iif, qbo-csv: put each line's channel in the QuickBooks class column",
    )
    ledger.add_argument(
        "--day-first",
        action="store_true",
        help="qbo-csv: dates as DD/MM/YYYY for UK, Australian and Canadian companies",
    )
    ledger.add_argument(
        "--xero-tax-rate",
        default="Tax Exempt",
        help="xero-csv: the Xero tax rate name for lines without tax "
        "(for example 'No VAT' in the UK)",
    )
    ledger.set_defaults(handler=cmd_export_ledger)


def cmd_export_ledger(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    if args.format in ("iif", "qbo-csv") and args.channel_as_class:
        options["channel_as_class"] = True
    if args.format == "qbo-csv" and args.day_first:
        options["day_first"] = True
    if args.format == "xero-csv":
        options["tax_rate_name"] = args.xero_tax_rate
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        result = export_ledger(
            uow.session,
            args.format,
            args.output,
            date_from=args.date_from,
            date_to=args.date_to,
            opening_balances=not args.no_opening,
            **options,
        )
    data = {
        "format": result.format,
        "from": result.date_from.isoformat(),
        "to": result.date_to.isoformat(),
        "entries": result.entries,
        "lines": result.lines,
        "opening_entry": result.opening_entry,
        "files": [str(p) for p in result.paths],
    }
    if args.json:
        emit_json(data)
    else:
        print(
            f"Exported {result.entries} entries ({result.lines} lines) from "
            f"{data['from']} to {data['to']} as {result.format}"
            + (" with an opening-balance entry" if result.opening_entry else "")
            + ":"
        )
        for path in result.paths:
            print(f"  {path}")
    return 0


# --- payouts ------------------------------------------------------------------


def _register_payouts(subparsers: Any) -> None:
    payouts = subparsers.add_parser("payouts", help="channel payouts to the bank")
    actions = payouts.add_subparsers(dest="payouts_action", required=True)
    imp = actions.add_parser(
        "import",
        help="post payouts from a Stripe, PayPal or Shopify Payments file",
        description="Post each paid payout once: Dr 1000 Bank, Dr fees, Cr 1100 "
        "Channel clearing, on the channel given. Importing a file again posts "
        "only payouts not posted yet.",
    )
    imp.add_argument("file", help="the payouts or activity file")
    imp.add_argument("--source", required=True, choices=("stripe", "paypal", "shopify"))
    imp.add_argument("--channel", required=True, help="the Backroom channel's name")
    imp.add_argument(
        "--transactions",
        help="shopify: the balance transactions JSON that goes with the payouts",
    )
    imp.add_argument(
        "--fx-rate",
        type=_rate,
        help="books currency per payout currency, for payouts in another currency",
    )
    imp.add_argument(
        "--fee-account",
        default="6110",
        choices=("6100", "6110"),
        help="6110 Bank and payment fees (default) or 6100 Channel and "
        "marketplace fees",
    )
    add_db(imp)
    imp.set_defaults(handler=cmd_payouts_import)


def _read_payouts(args: argparse.Namespace) -> PayoutFile:
    if args.source == "shopify":
        return payout_formats.read_shopify_json(args.file, args.transactions)
    return payout_formats.READERS[args.source](args.file)


def _payout_json(result: PayoutImportResult, currency: str) -> dict[str, Any]:
    return {
        "channel": result.channel,
        "source": result.source,
        "posted": [
            {
                "payout": p.external_id,
                "date": p.paid_on.isoformat(),
                "amount": format_minor(p.amount_shop, currency),
                "fees": format_minor(p.fees_shop, currency),
                "entry": p.entry_id,
            }
            for p in result.posted
        ],
        "already_posted": list(result.already_posted),
        "not_paid": [{"payout": p, "status": s} for p, s in result.not_paid],
        "new_transactions": result.new_transactions,
        "transactions_without_payout": result.uncovered,
        "skipped": [
            {"row": s.row, "reference": s.reference, "reason": s.reason}
            for s in result.skipped
        ],
        "problems": list(result.problems),
    }


def cmd_payouts_import(args: argparse.Namespace) -> int:
    data = _read_payouts(args)
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        currency = get_shop(uow.session).currency
        result = import_payouts(
            uow, args.channel, data, fx_rate=args.fx_rate, fee_account=args.fee_account
        )
        uow.commit()
    out = _payout_json(result, currency)
    if args.json:
        emit_json(out)
    else:
        print(f"{result.source.title()} payouts for {result.channel}:")
        for p in out["posted"]:
            print(
                f"  posted {p['payout']} of {p['date']}: {p['amount']} {currency} "
                f"to the bank, fees {p['fees']} (entry {p['entry']})"
            )
        if result.already_posted:
            print(f"  {len(result.already_posted)} already posted")
        for p in out["not_paid"]:
            print(f"  {p['payout']} not posted: status {p['status']}")
        print(
            f"  {result.new_transactions} new balance transactions, "
            f"{result.uncovered} not yet paid out"
        )
        for s in result.skipped:
            print(f"  skipped row {s.row} ({s.reference}): {s.reason}")
        for problem in result.problems:
            print(f"  problem: {problem}", file=sys.stderr)
    return 1 if result.problems else 0


# --- bank ---------------------------------------------------------------------


def _register_bank(subparsers: Any) -> None:
    parser = subparsers.add_parser("bank", help="bank statements and matching")
    actions = parser.add_subparsers(dest="bank_action", required=True)
    imp = actions.add_parser(
        "import",
        help="import a bank statement CSV and match it",
        description="Columns: date, description, amount (+ money in) and an "
        "optional reference; comma, semicolon or tab separated, decimal point "
        "or comma. Lines already imported are left out. The statement is then "
        "matched to payouts and refunds.",
    )
    imp.add_argument("file", help="the statement CSV")
    imp.add_argument(
        "--window-days", type=int, help="days a bank line may follow its payout"
    )
    add_db(imp)
    imp.set_defaults(handler=cmd_bank_import)
    match = actions.add_parser(
        "match", help="match unmatched bank lines and list what is left"
    )
    match.add_argument(
        "--window-days", type=int, help="days a bank line may follow its payout"
    )
    add_db(match)
    match.set_defaults(handler=cmd_bank_match)


def _reconciliation_json(rec: bank.BankReconciliation, currency: str) -> dict[str, Any]:
    def items(found: tuple[bank.OpenItem, ...]) -> list[dict[str, Any]]:
        return [
            {
                "kind": i.kind,
                "id": i.id,
                "date": i.day.isoformat(),
                "amount": format_minor(i.amount, currency),
                "label": i.label,
            }
            for i in found
        ]

    return {
        "matched": [
            {
                "bank_line": m.bank_line_id,
                "kind": m.kind,
                "id": m.matched_id,
                "amount": format_minor(m.amount, currency),
                "by_reference": m.by_reference,
            }
            for m in rec.matched
        ],
        "unmatched_bank_lines": items(rec.unmatched_bank_lines),
        "unmatched_payouts": items(rec.unmatched_payouts),
        "unmatched_refunds": items(rec.unmatched_refunds),
    }


def _print_reconciliation(data: dict[str, Any], currency: str) -> None:
    print(f"{len(data['matched'])} lines matched.")
    for key, title in (
        ("unmatched_bank_lines", "Bank lines without a payout or refund"),
        ("unmatched_payouts", "Payouts not on the bank statement"),
        ("unmatched_refunds", "Bank refunds not on the bank statement"),
    ):
        if data[key]:
            print(f"{title}:")
            for item in data[key]:
                print(
                    f"  {item['date']} {item['amount']:>12} {currency}  {item['label']}"
                )


def _bank(args: argparse.Namespace, path: str | None) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        currency = get_shop(uow.session).currency
        imported = bank.import_statement(uow, path) if path else None
        rec = bank.match_statement(uow, window_days=args.window_days)
        uow.commit()
    data = _reconciliation_json(rec, currency)
    if imported is not None:
        data["imported"] = {
            "statement": imported.statement,
            "added": imported.added,
            "already_imported": imported.already_imported,
        }
    if args.json:
        emit_json(data)
    else:
        if imported is not None:
            print(
                f"{imported.statement}: {imported.added} lines added, "
                f"{imported.already_imported} already imported."
            )
        _print_reconciliation(data, currency)
    return 0


def cmd_bank_import(args: argparse.Namespace) -> int:
    return _bank(args, args.file)


def cmd_bank_match(args: argparse.Namespace) -> int:
    return _bank(args, None)


# --- invoices -----------------------------------------------------------------


def _register_invoice(subparsers: Any) -> None:
    parser = subparsers.add_parser("invoice", help="print invoices and credit notes")
    actions = parser.add_subparsers(dest="invoice_action", required=True)
    printer = actions.add_parser("print", help="write an invoice or credit note PDF")
    printer.add_argument("number", help="document number, such as INV-000012")
    printer.add_argument("-o", "--output", required=True, help="PDF file to write")
    printer.add_argument("--page-size", default="A4", choices=("A4", "Letter"))
    add_db(printer)
    printer.set_defaults(handler=cmd_invoice_print)
    seller = actions.add_parser(
        "seller", help="show or set the seller's name, address and tax number"
    )
    for name in (
        "name",
        "line1",
        "line2",
        "city",
        "region",
        "postcode",
        "country",
        "email",
        "phone",
        "tax-number",
        "company-number",
    ):
        seller.add_argument(f"--{name}", help=f"seller {name.replace('-', ' ')}")
    add_db(seller)
    seller.set_defaults(handler=cmd_invoice_seller)


def cmd_invoice_print(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        data = invoice_data(uow.session, args.number)
    pages = render_invoice_pdf(data, args.output, page_size_name=args.page_size)
    if args.json:
        emit_json({"number": data.number, "file": args.output, "pages": pages})
    else:
        print(f"Wrote {data.number} to {args.output} ({pages} page(s)).")
    return 0


def cmd_invoice_seller(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    keys = (
        "name",
        "line1",
        "line2",
        "city",
        "region",
        "postcode",
        "country",
        "email",
        "phone",
        "tax_number",
        "company_number",
    )
    with UnitOfWork(engine) as uow:
        current = load_seller(uow.session)
        changes = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
        if changes:
            if "country" in changes:
                changes["country"] = changes["country"].upper()
            current = replace(current, **changes)
            save_seller(uow, current)
            uow.commit()
    data = {k: getattr(current, k) for k in keys}
    if args.json:
        emit_json(data)
    else:
        for key, value in data.items():
            print(f"{key.replace('_', ' '):<15} {value}")
    return 0


# --- reports ------------------------------------------------------------------


def extend_report(report: argparse.ArgumentParser) -> None:
    """Add the accounting names and the output options to ``backroom report``.

    The core command module calls this right after defining ``report``; the
    names it already has keep their own handler for text and JSON.
    """
    base_handler = report.get_default("handler")
    for action in report._actions:
        if action.dest == "name":
            base_names = tuple(action.choices or ())
            action.choices = (*base_names, *NEW_REPORTS)
    report.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="text (default), json, csv or pdf",
    )
    report.add_argument("-o", "--output", help="file for csv and pdf output")
    report.add_argument(
        "--account",
        action="append",
        help="general-ledger: only this account code (repeat for more)",
    )
    report.add_argument("--warehouse", help="stock: only this warehouse code")
    report.add_argument("--page-size", default="A4", choices=("A4", "Letter"))
    report.set_defaults(handler=lambda args: cmd_report(args, base_names, base_handler))


def _build_report(args: argparse.Namespace, session: Any) -> Report:
    name = args.name
    end = args.date_to or args.as_of
    if name == "trial-balance":
        return trial_balance(session, as_of=end, date_from=args.date_from)
    if name == "profit-loss":
        return profit_loss(session, date_from=args.date_from, date_to=end)
    if name == "balance-sheet":
        return balance_sheet(session, as_of=end)
    if name == "sales-tax":
        return sales_tax(session, date_from=args.date_from, date_to=end)
    if name == "stock":
        return inventory_valuation(session, as_of=end, warehouse=args.warehouse)
    if name == "general-ledger":
        return general_ledger(
            session, date_from=args.date_from, date_to=end, accounts=args.account
        )
    return channel_profitability(session, date_from=args.date_from, date_to=end)


def cmd_report(
    args: argparse.Namespace,
    base_names: tuple[str, ...] = (),
    base_handler: Callable[[argparse.Namespace], int] | None = None,
) -> int:
    """Print or write a report; the core's own reports keep their text and JSON."""
    fmt = args.format or ("json" if args.json else "text")
    if args.name in base_names and fmt in ("text", "json") and base_handler:
        args.json = fmt == "json"
        return base_handler(args)
    if fmt in ("csv", "pdf") and not args.output:
        raise ValidationError(
            "output", None, f"--format {fmt} writes a file; name it with -o FILE"
        )
    engine = open_shop(args)
    with UnitOfWork(engine, write=False) as uow:
        report = _build_report(args, uow.session)
        shop_name = get_shop(uow.session).name
    if fmt == "json":
        emit_json(report.to_json())
        return 0
    table = report_table(report, shop_name)
    if fmt == "text":
        print(render_text(table))
    elif fmt == "csv":
        path = write_report_csv(table, Path(args.output))
        print(f"Wrote {table.title.lower()} to {path}")
    else:
        pages = render_report_pdf(table, args.output, page_size_name=args.page_size)
        print(f"Wrote {table.title.lower()} to {args.output} ({pages} page(s))")
    return 0
