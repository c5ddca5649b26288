"""The work behind the import wizard: preview a file, check it, import it.

Nothing here touches Qt, so the page runs these functions in background
tasks (``app.ui.ops``) and tests can call them directly. They only call the
importers' public functions in ``app.core.importing`` and the query services.

A check never writes. For history it is the importer's own ``check_only``
read. The product and stock importers have no such mode, so their check
runs the import inside a transaction that is rolled back, which finds the
same problems the real import would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.importing import online_retail, tables
from app.core.importing.errors import Problem
from app.core.importing.history import (
    DEFAULT_CHUNK_INVOICES,
    HistoryImportResult,
    HistoryOptions,
    import_history,
)
from app.core.importing.online_retail import (
    LINE_CLASSES,
    AccountMapping,
    AccountRule,
    LineClass,
    column_names,
    read_history,
)
from app.core.importing.products import (
    CatalogFormat,
    CatalogImportResult,
    detect_format,
    import_products,
)
from app.core.importing.progress import Progress, ProgressCallback
from app.core.importing.sources import DateOrder, detect_date_order, open_table
from app.core.importing.stock import StockImportResult, import_stock
from app.core.queries.ledger import JournalFilter, entry_ids
from app.core.queries.orders import OrderFilter, order_ids
from app.core.queries.products import variant_ids
from app.core.shop import shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

ImportKind = Literal["history", "products", "stock"]
ImportResult = HistoryImportResult | CatalogImportResult | StockImportResult
Cancel = Callable[[], bool]

#: Data rows the preview step shows.
PREVIEW_ROWS = 20
#: Characters that make a stock code in the mapping a glob pattern.
GLOB_CHARACTERS = "*?["

KIND_TITLES: dict[str, str] = {
    "history": "Sales history",
    "products": "Products",
    "stock": "Stock counts",
}
CLASS_TITLES: dict[str, str] = {
    "product": "Products",
    "manual": "Manual lines",
    "sample": "Samples",
    "shipping": "Postage and carriage",
    "discount": "Discounts",
    "bank_charges": "Bank charges",
    "commission": "Commission and fees",
    "bad_debt": "Bad debts",
    "gift_voucher": "Gift vouchers",
}
DATE_ORDER_TITLES: dict[str, str] = {
    "iso": "year-month-day (2010-12-01 08:26)",
    "month_first": "month/day/year (12/1/2010 8:26)",
    "day_first": "day/month/year (01/12/2010 08:26)",
}
CONTAINER_TITLES: dict[str, str] = {
    "csv": "CSV",
    "csv.gz": "gzipped CSV",
    "xlsx": "Excel workbook",
}
DELIMITER_TITLES: dict[str, str] = {
    ",": "comma",
    ";": "semicolon",
    "\t": "tab",
    "|": "vertical bar",
}
HEADER_TITLES: dict[str, str] = {
    "online_retail": "Online Retail (InvoiceNo, UnitPrice, CustomerID)",
    "online_retail_ii": "Online Retail II (Invoice, Price, Customer ID)",
    "mixed": "Online Retail, mixed spellings",
}


# --- the person's choices --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Everything the wizard's steps chose, read once on the GUI thread.

    ``counted_on`` is the shop-local day a stock count was taken (None:
    now). ``chunk_invoices`` is the number of history invoices written per
    transaction. A cancel keeps the chunks already committed.
    """

    kind: ImportKind
    path: Path
    product_format: CatalogFormat = "shopify"
    memo_only: bool = False
    mapping: AccountMapping | None = None
    save_mapping: bool = False
    counted_on: date | None = None
    skip_invalid: bool = False
    chunk_invoices: int = DEFAULT_CHUNK_INVOICES


# --- preview ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilePreview:
    """The file as the importer will read it: container, text, header, rows.

    ``layout`` names the header that was recognised, or is "" when the
    header fits no known layout. ``missing`` contains one message per required
    column the header lacks. ``date_order`` is None for files without dates.
    """

    path: Path
    size_bytes: int
    container: str
    encoding: str
    delimiter: str | None
    header: list[str]
    rows: list[tuple[int, list[str]]]
    layout: str
    product_format: CatalogFormat | None = None
    date_order: DateOrder | None = None
    date_order_assumed: bool = False
    missing: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)


def preview_file(path: Path, kind: ImportKind, rows: int = PREVIEW_ROWS) -> FilePreview:
    """Read the header and the first ``rows`` data rows of ``path``.

    For history the date column is scanned until a date proves the order, as
    the importer does, which on a large file without proof reads the whole
    column. Raises UnreadableFileError when the file cannot be read.
    """
    source = open_table(path)
    reader = source.rows()
    try:
        first = list(islice(reader, rows))
    finally:
        reader.close()
    preview = FilePreview(
        path=path,
        size_bytes=path.stat().st_size,
        container=source.kind,
        encoding=source.encoding,
        delimiter=getattr(source, "delimiter", None),
        header=list(source.header),
        rows=first,
        layout="",
    )
    if kind == "history":
        return _history_preview(preview)
    if kind == "products":
        found = detect_format(path)
        layout = _product_layout(source.header, found)
        return replace(preview, layout=layout, product_format=found)
    return replace(preview, layout="SKU, warehouse, quantity, unit cost")


def _history_preview(preview: FilePreview) -> FilePreview:
    stream = read_history(preview.path)
    report = stream.report
    missing = [problem.message for problem in stream.header_problems]
    order: DateOrder | None = None
    assumed = False
    header = stream.source.header
    date_column = column_names(header).get("invoice_date")
    if date_column is not None:
        index = header.index(date_column)
        rows = stream.source.rows()
        try:
            order, assumed = detect_date_order(
                fields[index] for _, fields in rows if len(fields) > index
            )
        finally:
            rows.close()
    return replace(
        preview,
        layout="" if missing else HEADER_TITLES[report.header_variant],
        date_order=order,
        date_order_assumed=assumed,
        missing=missing,
        missing_optional=list(report.missing_optional_columns),
    )


def _product_layout(header: list[str], found: CatalogFormat | None) -> str:
    names = {tables.normalise(name) for name in header}
    if found == "shopify":
        if tables.normalise("Variant SKU") in names:
            return "Shopify product CSV, 2023-24 template"
        return "Shopify product CSV, 2025 template"
    if found == "woocommerce":
        return "WooCommerce product CSV"
    return ""


# --- account mapping -------------------------------------------------------


@dataclass(slots=True)
class MappingRow:
    """One line of the mapping table: a line class, its codes, its accounts.

    ``codes`` is the comma-separated list of stock codes and glob patterns
    (``gift_0001_*``) of the row. The ``default`` row has no codes: it takes
    every code that no other row names, and its class is "product".
    """

    line_class: LineClass
    codes: str
    invoice_account: str
    credit_note_account: str
    adjustment_account: str
    default: bool = False


def _row(rule: AccountRule, codes: list[str]) -> MappingRow:
    return MappingRow(
        rule.line_class,
        ", ".join(codes),
        rule.invoice_account,
        rule.credit_note_account,
        rule.adjustment_account,
        default=not codes,
    )


def mapping_rows(mapping: AccountMapping) -> list[MappingRow]:
    """Return the product row, then one row per distinct rule, in mapping order.

    Codes and patterns that share one rule (line class and all three
    accounts) share a row, so the table loses nothing of the mapping.
    """
    grouped: dict[AccountRule, list[str]] = {}
    for code, rule in mapping.codes.items():
        grouped.setdefault(rule, []).append(code)
    for pattern, rule in mapping.patterns:
        grouped.setdefault(rule, []).append(pattern)
    rows = [_row(mapping.product, [])]
    rows += [_row(rule, codes) for rule, codes in grouped.items()]
    return rows


def mapping_from_rows(rows: list[MappingRow]) -> AccountMapping:
    """Build the mapping the table shows, or raise ValidationError.

    Each code or pattern may appear in one row only. A code with a glob
    character (``*``, ``?`` or ``[``) becomes a pattern, tried in the
    table's order after the exact codes.
    """
    product_rows = [row for row in rows if row.default]
    if len(product_rows) != 1:
        raise ValidationError(
            "mapping",
            len(product_rows),
            f"the mapping has {len(product_rows)} rows for all other codes but "
            "needs exactly one. Restore the default mapping and edit it again",
        )
    product = product_rows[0]
    codes: dict[str, AccountRule] = {}
    patterns: list[tuple[str, AccountRule]] = []
    seen: set[str] = set()
    for row in rows:
        if row.default:
            continue
        if row.line_class not in LINE_CLASSES:
            raise ValidationError(
                "line class",
                row.line_class,
                f"line class {row.line_class!r} is invalid. Choose one of "
                + ", ".join(LINE_CLASSES),
            )
        rule = AccountRule(
            row.line_class,
            row.invoice_account,
            row.credit_note_account,
            row.adjustment_account,
        )
        for token in (part.strip() for part in row.codes.split(",")):
            if not token:
                continue
            if token in seen:
                raise ValidationError(
                    "stock code",
                    token,
                    f"stock code {token!r} is in two rows of the mapping. Keep it "
                    "in one row",
                )
            seen.add(token)
            if any(mark in token for mark in GLOB_CHARACTERS):
                patterns.append((token, rule))
            else:
                codes[token] = rule
    return AccountMapping(
        AccountRule(
            "product",
            product.invoice_account,
            product.credit_note_account,
            product.adjustment_account,
        ),
        codes,
        patterns,
    )


def default_mapping_rows() -> list[MappingRow]:
    return mapping_rows(AccountMapping.default())


# --- check -----------------------------------------------------------------


@dataclass(slots=True)
class CheckOutcome:
    """The findings of a check, made before anything is written.

    ``result`` is the importer's own result of the check (for products and
    stock, of the import that was rolled back). ``problem_count`` may exceed
    ``len(problems)`` for history, which stores a limited number.
    ``header_problem`` is True when the file cannot be imported at all
    (a required column is missing), so skipping rows cannot help.
    ``rejects_path`` is where skipping invalid rows writes them.
    """

    plan: ImportPlan
    result: ImportResult
    problems: list[Problem]
    problem_count: int
    header_problem: bool
    cancelled: bool
    rejects_path: Path

    @property
    def can_import(self) -> bool:
        return not self.cancelled and not self.header_problem


def rejects_file_for(plan: ImportPlan) -> Path:
    if plan.kind == "history":
        return online_retail.rejects_path(plan.path)
    return tables.rejects_path(plan.path)


def _stock_moment(session: Session, day: date | None) -> datetime | None:
    """Return noon of the shop-local ``day`` in UTC, as the CLI does."""
    if day is None:
        return None
    return datetime.combine(day, time(12), tzinfo=shop_zone(session)).astimezone(UTC)


def run_check(
    engine: Engine,
    plan: ImportPlan,
    *,
    user_id: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: Cancel | None = None,
) -> CheckOutcome:
    """Read and check the plan's file and list every problem, writing nothing."""
    rejects = rejects_file_for(plan)
    if plan.kind == "history":
        options = HistoryOptions(
            memo_only=plan.memo_only,
            check_only=True,
            skip_invalid=True,
            mapping=plan.mapping,
            chunk_invoices=plan.chunk_invoices,
        )
        history = import_history(
            engine, plan.path, options, progress=progress, cancel=cancel
        )
        return CheckOutcome(
            plan,
            history,
            list(history.problems),
            history.problem_count,
            header_problem=history.status == "rejected",
            cancelled=history.status == "cancelled",
            rejects_path=rejects,
        )

    result: ImportResult
    with UnitOfWork(engine, user_id=user_id) as uow:
        if plan.kind == "products":
            result = import_products(uow, plan.path, plan.product_format)
        else:
            at = _stock_moment(uow.session, plan.counted_on)
            result = import_stock(uow, plan.path, at=at)
        # Leaving without a commit rolls the trial import back.
    header_problem = bool(result.problems) and not result.rejected_rows
    return CheckOutcome(
        plan,
        result,
        list(result.problems),
        len(result.problems),
        header_problem=header_problem,
        cancelled=bool(cancel and cancel()),
        rejects_path=rejects,
    )


# --- import ----------------------------------------------------------------


@dataclass(slots=True)
class ImportOutcome:
    """The importer's result and the records it changed, for the other pages.

    ``cancelled`` is True when Cancel stopped the import: a history import
    keeps its committed chunks of whole invoices, the other imports write
    nothing.
    """

    plan: ImportPlan
    result: ImportResult
    changes: Changes
    cancelled: bool


@dataclass(frozen=True, slots=True)
class _Ids:
    orders: frozenset[int]
    entries: frozenset[int]
    variants: frozenset[int]


def _ids(engine: Engine) -> _Ids:
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        return _Ids(
            frozenset(order_ids(session, OrderFilter())),
            frozenset(entry_ids(session, JournalFilter())),
            frozenset(variant_ids(session)),
        )


def _changes(before: _Ids, after: _Ids, every_variant: bool) -> Changes:
    """Return the ids the import added, or every SKU when SKUs may have changed.

    The importers' results name no record ids, so the ids are compared
    before and after. A product or stock import also changes existing SKUs,
    so it marks every SKU as changed.
    """
    variants = after.variants if every_variant else after.variants - before.variants
    return Changes(
        orders=set(after.orders - before.orders),
        entries=set(after.entries - before.entries),
        variants=set(variants),
    )


def run_import(
    engine: Engine,
    plan: ImportPlan,
    *,
    user_id: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: Cancel | None = None,
) -> ImportOutcome:
    """Import the plan's file and return the result with what changed.

    A history import commits a chunk of whole invoices at a time and checks
    ``cancel`` before each chunk. Products and stock are one transaction,
    committed only when the import succeeded and ``cancel`` is not set.
    """
    before = _ids(engine)
    result: ImportResult
    if plan.kind == "history":
        options = HistoryOptions(
            memo_only=plan.memo_only,
            skip_invalid=plan.skip_invalid,
            mapping=plan.mapping,
            save_mapping=plan.save_mapping and plan.mapping is not None,
            chunk_invoices=plan.chunk_invoices,
        )
        result = import_history(
            engine, plan.path, options, progress=progress, cancel=cancel
        )
        cancelled = result.status == "cancelled"
    else:
        with UnitOfWork(engine, user_id=user_id) as uow:
            if plan.kind == "products":
                result = import_products(
                    uow, plan.path, plan.product_format, skip_invalid=plan.skip_invalid
                )
            else:
                at = _stock_moment(uow.session, plan.counted_on)
                result = import_stock(
                    uow, plan.path, at=at, skip_invalid=plan.skip_invalid
                )
            cancelled = bool(cancel and cancel())
            if result.status == "imported" and not cancelled:
                uow.commit()
    after = _ids(engine)
    changes = _changes(before, after, every_variant=plan.kind != "history")
    log.info(
        "wizard import of %s (%s): %s, %d orders and %d entries added",
        plan.path,
        plan.kind,
        "cancelled" if cancelled else result.status,
        len(changes.orders),
        len(changes.entries),
    )
    return ImportOutcome(plan, result, changes, cancelled)


# --- wording ----------------------------------------------------------------


def size_text(size_bytes: int) -> str:
    """Return a file size as people read it: "812 bytes", "4.2 kB", "7.6 MB"."""
    if size_bytes < 1000:
        return f"{size_bytes} bytes"
    if size_bytes < 1_000_000:
        return f"{size_bytes / 1000:.1f} kB"
    return f"{size_bytes / 1_000_000:.1f} MB"


def counted(count: int, noun: str, number: Callable[[int], str] = str) -> str:
    """Return "1 row" or "3 rows", the count formatted by ``number``."""
    return f"{number(count)} {noun if count == 1 else noun + 's'}"


# --- progress text ---------------------------------------------------------


def progress_text(progress: Progress) -> str:
    """Word a progress report, e.g. "Writing invoices: 4,000 of 25,900"."""
    if progress.unit == "bytes":
        done = f"{progress.done / 1_000_000:.1f} MB"
        total = f"{progress.total / 1_000_000:.1f} MB"
    else:
        done = f"{progress.done:,}"
        total = f"{progress.total:,} {progress.unit}"
    if progress.phase == "reading":
        head = "Reading and checking the file"
    elif progress.phase == "writing":
        head = "Writing invoices"
    else:
        head = progress.phase.capitalize()
    if progress.total <= 0:
        return f"{head}: {done}"
    return f"{head}: {done} of {total}"
