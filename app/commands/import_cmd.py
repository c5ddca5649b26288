"""``import``: bring in history, products, opening stock and opening balances."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from types import FrameType
from typing import Any

from app.commands.common import add_db, emit_json, iso_date, open_shop
from app.core.importing.errors import ImportSetupError, MappingError, Problem
from app.core.importing.history import (
    DEFAULT_CHUNK_INVOICES,
    HistoryImportResult,
    HistoryOptions,
    import_history,
)
from app.core.importing.online_retail import AccountMapping
from app.core.importing.opening import import_opening_balances
from app.core.importing.products import FORMATS, import_products
from app.core.importing.progress import CancelToken, TextProgressBar
from app.core.importing.stock import import_stock
from app.core.money import format_minor
from app.core.shop import get_shop, shop_zone
from app.core.uow import UnitOfWork

# The terminal shows this many problems, and --json output lists them all.
SHOWN_PROBLEMS = 50
EXIT_CANCELLED = 130


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import", help="bring in history, products, opening stock and balances"
    )
    kinds = parser.add_subparsers(dest="kind", required=True)

    history = kinds.add_parser(
        "history",
        help="import a year of invoice lines as historical orders and postings",
    )
    history.add_argument("file", type=Path, help="CSV, gzipped CSV or .xlsx file")
    history.add_argument(
        "--format",
        choices=("online-retail",),
        default="online-retail",
        help="file layout (default: online-retail, the UCI Online Retail columns)",
    )
    add_db(history)
    history.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid invoices and write the rejected rows to "
        "NAME.rejected.csv beside the file",
    )
    history.add_argument(
        "--memo-only",
        action="store_true",
        help="write orders, lines and customers for analytics but post nothing",
    )
    history.add_argument(
        "--check-only",
        action="store_true",
        help="read and check the file, list its problems and write nothing",
    )
    history.add_argument(
        "--mapping",
        type=Path,
        metavar="JSON_FILE",
        help="account mapping to use, saved as the shop's mapping",
    )
    history.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar even when standard error is not a terminal",
    )
    history.add_argument(
        "--chunk-invoices",
        type=int,
        default=DEFAULT_CHUNK_INVOICES,
        metavar="N",
        help="invoices written per transaction (default: %(default)s)",
    )
    history.set_defaults(handler=cmd_history)

    products = kinds.add_parser("products", help="import a Shopify or WooCommerce CSV")
    products.add_argument("file", type=Path)
    products.add_argument("--format", choices=FORMATS, required=True)
    add_db(products)
    products.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows and write the others beside the file",
    )
    products.set_defaults(handler=cmd_products)

    stock = kinds.add_parser(
        "stock", help="receive opening stock (SKU, warehouse, quantity, unit cost)"
    )
    stock.add_argument("file", type=Path)
    add_db(stock)
    stock.add_argument(
        "--date",
        type=iso_date,
        help="local day the stock was counted (default: today)",
    )
    stock.add_argument(
        "--skip-invalid",
        action="store_true",
        help="receive the valid rows and write the others beside the file",
    )
    stock.set_defaults(handler=cmd_stock)

    opening = kinds.add_parser(
        "opening-balances",
        help="post account balances (account, debit, credit) against 3100",
    )
    opening.add_argument("file", type=Path)
    add_db(opening)
    opening.add_argument(
        "--date",
        type=iso_date,
        help="cut-over date (default: the file's date column, else today)",
    )
    opening.set_defaults(handler=cmd_opening_balances)


# --- history ---------------------------------------------------------------


def _load_mapping(path: Path) -> AccountMapping:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportSetupError(
            f"{path}: cannot read the mapping file ({exc.strerror})."
        ) from exc
    except json.JSONDecodeError as exc:
        raise ImportSetupError(
            f"{path}: the mapping is not valid JSON ({exc.msg} at line "
            f"{exc.lineno}). Correct it and import again."
        ) from exc
    if not isinstance(data, dict):
        raise ImportSetupError(f"{path}: the mapping must be a JSON object.")
    try:
        return AccountMapping.from_dict(data)
    except MappingError as exc:
        raise ImportSetupError(f"{path}: {exc}") from exc


@contextmanager
def _cancel_on_interrupt(token: CancelToken) -> Iterator[None]:
    """Turn the first Ctrl-C into a cancel between chunks; a second one stops."""

    def interrupted(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print(
            "\nStopping after the current chunk; press Ctrl-C again to stop now.",
            file=sys.stderr,
        )

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_history(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    mapping = _load_mapping(args.mapping) if args.mapping else None
    options = HistoryOptions(
        memo_only=args.memo_only,
        check_only=args.check_only,
        skip_invalid=args.skip_invalid,
        mapping=mapping,
        save_mapping=mapping is not None,
        chunk_invoices=args.chunk_invoices,
    )
    bar = TextProgressBar(sys.stderr) if args.progress or sys.stderr.isatty() else None
    token = CancelToken()
    try:
        with _cancel_on_interrupt(token):
            result = import_history(
                engine, args.file, options, progress=bar, cancel=token
            )
    finally:
        if bar is not None:
            bar.close()

    if args.json:
        emit_json(result.to_json())
    else:
        _print_history(result)
    if result.status == "rejected":
        return 2
    if result.status == "cancelled":
        return EXIT_CANCELLED
    reconciliation = result.reconciliation
    if reconciliation is not None and reconciliation.reconciled is False:
        return 1
    return 0


def _print_problems(problems: list[Problem], count: int) -> None:
    for problem in problems[:SHOWN_PROBLEMS]:
        print(f"  row {problem.row}: {problem.message}", file=sys.stderr)
    if count > SHOWN_PROBLEMS:
        print(
            f"  ... and {count - SHOWN_PROBLEMS} more (--json lists "
            f"{len(problems)} of them)",
            file=sys.stderr,
        )


def _print_history(result: HistoryImportResult) -> None:
    report = result.report
    if result.status == "rejected":
        print(
            f"Rejected {result.file}: {result.problem_count} problems, nothing "
            "was written. Correct the rows, or import with --skip-invalid.",
            file=sys.stderr,
        )
        _print_problems(result.problems, result.problem_count)
        return
    if result.status == "checked":
        print(
            f"Checked {result.file}: {result.to_import:,} invoices to import, "
            f"{result.already_imported:,} already in the books, "
            f"{result.problem_count:,} problems. Nothing was written."
        )
        _print_problems(result.problems, result.problem_count)
        return
    if result.status == "cancelled":
        print(
            f"Cancelled: {result.chunks_committed} chunks of whole invoices were "
            f"committed ({result.added.orders} orders). Run the same import "
            "again to add the rest.",
            file=sys.stderr,
        )
    added = result.added
    if result.status == "nothing_new":
        print(
            f"Nothing new in {result.file}: its {result.already_imported:,} "
            "invoice numbers are already in the books."
        )
    else:
        print(f"Imported {result.file}" + (" (memo only)" if result.memo_only else ""))
        print(
            f"  added: invoices {added.invoices:,}, credit notes "
            f"{added.credit_notes:,} ({added.credit_notes_linked:,} linked to an "
            f"invoice), adjustments {added.adjustments:,}, lines {added.lines:,}"
        )
        print(
            f"  new customers {added.customers:,}, guests {added.guests:,}, new "
            f"SKUs {added.products:,}, journal entries {added.journal_entries:,}"
        )
        if result.already_imported:
            print(
                f"  {result.already_imported:,} invoice numbers were already in "
                "the books and were left alone"
            )
    if result.problem_count:
        print(
            f"  {len(result.rejected_rows):,} rows of {result.rejected_invoices:,} "
            f"invoices left out with {result.problem_count:,} problems; written "
            f"to {result.rejects_file}"
        )
        _print_problems(result.problems, result.problem_count)
    reconciliation = result.reconciliation
    if reconciliation is not None and report is not None and report.lines:
        c = reconciliation.currency
        months = len({row.month for row in reconciliation.rows})
        if reconciliation.reconciled is None:
            print("  memo only: nothing posted, so there is no ledger to reconcile")
        elif reconciliation.reconciled:
            print(
                f"  reconciled: {months} months, every account matches the file; "
                f"1100 debited {format_minor(reconciliation.ledger_clearing_total, c)}"
                f" {c}"
            )
        else:
            print("  NOT reconciled; differences by month and account:")
            for row in reconciliation.mismatches[:SHOWN_PROBLEMS]:
                print(
                    f"    {row.month} {row.account}: file "
                    f"{format_minor(row.file_total, c)}, ledger "
                    f"{format_minor(row.ledger_total, c)}"
                )
        print(
            f"  in the file: exact duplicate lines {reconciliation.duplicate_lines:,} "
            f"(kept), stock write-offs {reconciliation.write_offs:,}, lines with "
            f"an unknown country {sum(reconciliation.unknown_countries.values()):,}"
            ", credit notes over their linked invoice "
            f"{len(reconciliation.over_credits):,}"
        )
    for note in result.notes:
        print(f"  note: {note}")


# --- products, stock, opening balances -------------------------------------


def cmd_products(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        result = import_products(
            uow, args.file, args.format, skip_invalid=args.skip_invalid
        )
        if result.status == "imported":
            uow.commit()
    if args.json:
        emit_json(result.to_json())
    elif result.status == "rejected":
        print(
            f"Rejected {result.file}: {len(result.problems)} problems, nothing was "
            "written.",
            file=sys.stderr,
        )
        _print_problems(result.problems, len(result.problems))
    else:
        print(
            f"Imported {result.file}: {result.products_created} products created, "
            f"{result.products_updated} updated; {result.variants_created} SKUs "
            f"created, {result.variants_updated} updated"
        )
        for line in result.skipped:
            print(f"  skipped {line}")
        if result.problems:
            print(
                f"  {len(result.problems)} problems; rows written to "
                f"{result.rejects_file}"
            )
            _print_problems(result.problems, len(result.problems))
    return 2 if result.status == "rejected" else 0


def cmd_stock(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        at = None
        if args.date is not None:
            zone = shop_zone(uow.session)
            at = datetime.combine(args.date, time(12), tzinfo=zone).astimezone(UTC)
        result = import_stock(uow, args.file, at=at, skip_invalid=args.skip_invalid)
        if result.status == "imported":
            currency = get_shop(uow.session).currency
            uow.commit()
    if args.json:
        emit_json(result.to_json())
    elif result.status == "rejected":
        print(
            f"Rejected {result.file}: {len(result.problems)} problems, nothing was "
            "written.",
            file=sys.stderr,
        )
        _print_problems(result.problems, len(result.problems))
    else:
        print(
            f"Received {result.units:,} units on {result.rows_received:,} rows at "
            f"{format_minor(result.value, currency)} {currency} "
            "(Dr 1200 Inventory, Cr 3100 Opening balances)"
        )
        if result.problems:
            print(
                f"  {len(result.problems)} problems; rows written to "
                f"{result.rejects_file}"
            )
            _print_problems(result.problems, len(result.problems))
    return 2 if result.status == "rejected" else 0


def cmd_opening_balances(args: argparse.Namespace) -> int:
    engine = open_shop(args)
    with UnitOfWork(engine) as uow:
        result = import_opening_balances(uow, args.file, on=args.date)
        if result.status == "posted":
            uow.commit()
    if args.json:
        emit_json(result.to_json())
    elif result.status == "rejected":
        print(
            f"Rejected {result.file}: {len(result.problems)} problems, nothing was "
            "posted.",
            file=sys.stderr,
        )
        _print_problems(result.problems, len(result.problems))
    else:
        c = result.currency
        print(
            f"Posted opening balances as entry {result.entry_id} on "
            f"{result.entry_date}: {result.accounts} accounts, debits "
            f"{format_minor(result.debit_total, c)}, credits "
            f"{format_minor(result.credit_total, c)}, 3100 Opening balances "
            f"takes {format_minor(result.opening_difference, c)} {c}"
        )
    return 2 if result.status == "rejected" else 0
