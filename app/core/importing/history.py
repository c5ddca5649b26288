"""Import a shop's invoice-line history into orders, invoices and the ledger.

Each invoice number of an Online Retail file becomes a historical sales order
on the History channel (kind "history", not connected, created on first
use). The order is already shipped and has one order line per file line. Its
invoice keeps the file's number, in series "history", or "history-credit"
for credit notes starting with C. A number starting with A is a bad-debt
adjustment and becomes a journal entry only. No stock moves, reservations,
COGS or tax lines are written, because the file has no costs and no tax
split.

Each invoice posts one journal entry dated the invoice's local date: every
account's net amount is credited (a negative amount debited), and the
invoice's total is debited to 1100 Channel clearing, because the file has no
payments. With ``memo_only`` the orders, lines and customers are written
but no journal entries, so the adjustments are left out too.

Customers are keyed by CustomerID on the History channel. Lines without one
belong to a guest customer (``Customer.is_guest``), one per invoice, which
keeps the invoice's country. Stock codes that differ only in letter case
are one SKU, created on first sight and named by the file as a whole: the
most frequent spelling and the most frequent description, the other
descriptions kept as aliases (see ``history_write``).

The whole file is read and checked before anything is written, so a file
with problems is rejected whole unless ``skip_invalid`` is set. Then the
rows with problems, and every other row of their invoices, are left out
and can be written to a rejects file. Writing happens in chunks of whole
invoices, each one transaction. A cancel between chunks, or a killed
process, leaves only whole committed chunks, and running the same file
again adds only the invoices still missing. The History channel and invoice
number are the key.

Memory: the file's new lines are kept in memory between reading and
writing. Importing the Online Retail file (541,909 lines) peaked at about
330 MB of resident memory for the whole process in ``bench/import_history.py``.

The import takes the engine rather than a unit of work, because it commits
once per chunk.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from app.core.accounting.totals import rebuild_month_totals
from app.core.audit import record
from app.core.importing.bulk import WalCheckpointer
from app.core.importing.errors import MissingColumnsError, Problem, ReadCancelled
from app.core.importing.history_read import Collected, collect
from app.core.importing.history_state import (
    DEFAULT_CHUNK_INVOICES,
    HISTORY_CHANNEL_KIND,
    HISTORY_CHANNEL_NAME,
    MAPPING_SETTING,
    ImportState,
    check_mapping,
    find_history_channel,
    load_mapping,
    load_state,
)
from app.core.importing.history_write import AddedCounts, HistoryWriter
from app.core.importing.online_retail import (
    AccountMapping,
    HistoryLine,
    ReadReport,
    write_rejects,
)
from app.core.importing.progress import Progress, ProgressCallback
from app.core.importing.reconcile import (
    Reconciliation,
    compare,
    file_month_totals,
    ledger_month_totals,
    over_credits,
)
from app.core.models import Shop
from app.core.uow import UnitOfWork

__all__ = [
    "DEFAULT_CHUNK_INVOICES",
    "HISTORY_CHANNEL_KIND",
    "HISTORY_CHANNEL_NAME",
    "MAPPING_SETTING",
    "AddedCounts",
    "HistoryImportResult",
    "HistoryOptions",
    "check_mapping",
    "find_history_channel",
    "import_history",
    "load_mapping",
]

logger = logging.getLogger(__name__)

NO_COST_NOTE = (
    "History carries no cost of goods: its revenue has no known cost, so "
    "margins over the imported months are not meaningful, and no stock moved."
)
ImportStatus = Literal["imported", "nothing_new", "rejected", "cancelled", "checked"]


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    """How to import a history file.

    ``mapping`` replaces the shop's saved mapping for this import and, with
    ``save_mapping``, becomes the saved one. ``chunk_invoices`` is the
    number of invoices written per transaction. ``rejects_path`` is where
    ``skip_invalid`` writes the rejected rows (default: beside the input).
    ``check_only`` reads and checks the file and writes nothing, for a
    preview.
    """

    memo_only: bool = False
    check_only: bool = False
    skip_invalid: bool = False
    mapping: AccountMapping | None = None
    save_mapping: bool = False
    chunk_invoices: int = DEFAULT_CHUNK_INVOICES
    rejects_path: Path | None = None


@dataclass
class HistoryImportResult:
    """What an import read, wrote, left out and how the ledger reconciles.

    ``status`` is "imported" when something was written, and "nothing_new"
    when every invoice of the file was already in the books. It is
    "rejected" when the file had problems and nothing was written,
    "cancelled" when the caller cancelled (the committed chunks stay), and
    "checked" after a ``check_only`` read. ``problems`` holds up to
    the reader's limit of problems, ``problem_count`` all of them.
    ``rejected_rows`` are the rows left out, including the other rows of an
    invoice with a bad row. ``phase_seconds`` gives the wall time of the
    "read" (reading and checking), "write" and "reconcile" phases.
    ``already_imported`` counts the file's invoice numbers that were in the
    books before this import.
    """

    file: str
    status: ImportStatus
    mapping: dict[str, object]
    memo_only: bool
    report: ReadReport | None
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rejected_rows: list[int] = field(default_factory=list)
    rejected_invoices: int = 0
    rejects_file: str | None = None
    already_imported: int = 0
    to_import: int = 0
    added: AddedCounts = field(default_factory=AddedCounts)
    chunks_committed: int = 0
    guest_policy: str = "one guest customer per invoice without a CustomerID"
    reconciliation: Reconciliation | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        report = self.report
        return {
            "file": self.file,
            "status": self.status,
            "memo_only": self.memo_only,
            "mapping": self.mapping,
            "read": None
            if report is None
            else {
                "encoding": report.encoding,
                "header_variant": report.header_variant,
                "date_order": report.date_order,
                "date_order_assumed": report.date_order_assumed,
                "rows": report.rows,
                "lines": report.lines,
                "invoice_numbers": report.invoice_numbers,
                "empty_descriptions": report.empty_descriptions,
            },
            "problem_count": self.problem_count,
            "problems": [
                {
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "rejected_rows": len(self.rejected_rows),
            "rejected_invoices": self.rejected_invoices,
            "rejects_file": self.rejects_file,
            "already_imported": self.already_imported,
            "to_import": self.to_import,
            "added": self.added.to_json(),
            "chunks_committed": self.chunks_committed,
            "guest_policy": self.guest_policy,
            "reconciliation": None
            if self.reconciliation is None
            else self.reconciliation.to_json(),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "phase_seconds": {k: round(v, 3) for k, v in self.phase_seconds.items()},
        }


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the import.

    The import keeps hundreds of thousands of small objects alive, none of
    them in reference cycles, and each full collection would walk them all.
    The collector's earlier state is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_history(
    engine: Engine,
    path: str | Path,
    options: HistoryOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> HistoryImportResult:
    """Import an Online Retail history file into the shop's books.

    ``progress`` receives "reading" then "writing" reports. ``cancel`` is
    checked after each chunk of rows read and before each chunk of invoices
    written. Raises UnreadableFileError when the file cannot be read and
    ImportSetupError when the shop or the mapping rules the import out.
    Problems in rows are returned in the result, not raised.
    """
    options = options or HistoryOptions()
    if options.chunk_invoices < 1:
        raise ValueError(
            f"chunk_invoices must be at least 1, not {options.chunk_invoices}"
        )
    started = time.perf_counter()
    with _collector_paused():
        result = _import(engine, Path(path), options, progress, cancel)
    if result.status in ("imported", "cancelled") and not options.memo_only:
        # The bulk writes bypass ledger.post, which keeps the per-month
        # account totals the reports read; bring them up to date once.
        with UnitOfWork(engine) as uow:
            rebuild_month_totals(uow.session)
            uow.commit()
    result.seconds = time.perf_counter() - started
    logger.info(
        "history import of %s: %s, %d invoices added in %.1f s",
        path,
        result.status,
        result.added.orders + result.added.adjustments,
        result.seconds,
    )
    return result


def _import(
    engine: Engine,
    path: Path,
    options: HistoryOptions,
    progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> HistoryImportResult:
    state = load_state(
        engine, options.mapping, options.save_mapping and options.mapping is not None
    )
    result = HistoryImportResult(
        file=str(path),
        status="imported",
        mapping=state.mapping.to_dict(),
        memo_only=options.memo_only,
        report=None,
    )
    try:
        started = time.perf_counter()
        collected = collect(path, state, options.memo_only, progress, cancel)
        result.phase_seconds["read"] = time.perf_counter() - started
    except MissingColumnsError as exc:
        result.status = "rejected"
        result.problems = list(exc.problems)
        result.problem_count = len(exc.problems)
        return result
    except ReadCancelled:
        result.status = "cancelled"
        return result
    report = collected.report
    result.report = report
    result.already_imported = report.skipped_invoices + len(collected.already)

    problem_count = report.problem_count + len(collected.problems)
    if problem_count:
        result.problem_count = problem_count
        result.problems = sorted(
            [*report.problems, *collected.problems], key=lambda p: p.row
        )
        result.rejected_rows = sorted(
            set(report.rejected_rows) | {p.row for p in collected.problems}
        )
        if not options.skip_invalid:
            result.status = "rejected"
            return result
    if options.check_only:
        bad = set(report.rejected_invoices) | set(collected.problem_invoices)
        result.status = "checked"
        result.to_import = len(set(collected.groups) - bad)
        return result
    if problem_count:
        _hold_back(result, collected, path, options)

    started = time.perf_counter()
    numbers = list(collected.groups)
    if options.memo_only:
        adjustments = [
            n for n in numbers if collected.groups[n][0].kind == "adjustment"
        ]
        if adjustments:
            numbers = [n for n in numbers if n not in set(adjustments)]
            result.notes.append(
                f"{len(adjustments)} bad-debt adjustments were left out: they are "
                "journal entries only, and a memo-only import posts nothing."
            )
    result.to_import = len(numbers)
    size = options.chunk_invoices
    with WalCheckpointer(engine) as checkpointer:
        writer = HistoryWriter(
            engine, state, collected, options.memo_only, checkpointer
        )
        for start in range(0, len(numbers), size):
            if cancel is not None and cancel():
                result.status = "cancelled"
                break
            writer.write(numbers[start : start + size])
            result.chunks_committed += 1
            if progress is not None:
                done = min(start + size, len(numbers))
                progress(Progress("writing", done, len(numbers), "invoices"))
    result.added = writer.added

    result.phase_seconds["write"] = time.perf_counter() - started
    _finish(engine, state, result, report)
    if result.status == "imported" and not numbers:
        result.status = "nothing_new"
    if collected.spanning_days:
        result.notes.append(
            f"{collected.spanning_days} lines carry a different date from their "
            "invoice's first line; each invoice is dated by its first line."
        )
    result.notes.append(NO_COST_NOTE)
    started = time.perf_counter()
    result.reconciliation = _reconcile(engine, state, result, collected, writer)
    result.phase_seconds["reconcile"] = time.perf_counter() - started
    return result


def _hold_back(
    result: HistoryImportResult,
    collected: Collected,
    path: Path,
    options: HistoryOptions,
) -> None:
    """Leave out every invoice with a bad row, and write the rejects file.

    An invoice is left out whole so that it can be imported complete once
    its rows are corrected: had its good rows been imported, the invoice
    number would already be in the books and the corrected rows skipped.
    """
    report = collected.report
    bad_rows = set(report.rejected_rows) | {p.row for p in collected.problems}
    first_bad = dict(report.rejected_invoices)
    for number, row in collected.problem_invoices.items():
        first_bad[number] = min(row, first_bad.get(number, row))
    more_rows: dict[int, str] = {}
    held_lines: list[HistoryLine] = []
    for number, bad_row in first_bad.items():
        for line in collected.groups.pop(number, []):
            held_lines.append(line)
            if line.row not in bad_rows:
                more_rows[line.row] = (
                    f"Left out with invoice {number}, whose row {bad_row} has a "
                    "problem. Import it again once that row is corrected."
                )
    # Rows the reader passed but the checks found problems in.
    for problem in collected.problems:
        earlier = more_rows.get(problem.row)
        more_rows[problem.row] = (
            f"{earlier} {problem.message}" if earlier else problem.message
        )
    result.rejected_invoices = len(first_bad)
    result.rejected_rows = sorted(bad_rows | set(more_rows))
    dest = write_rejects(path, report, options.rejects_path, more_rows=more_rows)
    result.rejects_file = str(dest)

    # The held-back lines are out of the file's figures, so the
    # reconciliation compares what was offered for import.
    totals = report.month_account_totals
    for line in held_lines:
        month = f"{line.invoice_local.year:04d}-{line.invoice_local.month:02d}"
        accounts = totals.setdefault(month, {})
        accounts[line.account_code] = (
            accounts.get(line.account_code, 0) - line.amount_minor
        )


def _finish(
    engine: Engine, state: ImportState, result: HistoryImportResult, report: ReadReport
) -> None:
    """Save the mapping when asked and record the import in the audit trail."""
    wrote = bool(result.added.orders or result.added.adjustments)
    if not wrote and not state.save_mapping:
        return
    with UnitOfWork(engine) as uow:
        session = uow.session
        if state.save_mapping:
            shop = session.get(Shop, 1)
            assert shop is not None
            shop.settings = {**(shop.settings or {}), MAPPING_SETTING: result.mapping}
        if wrote:
            record(
                uow,
                "history.import",
                "channel",
                state.channel_id,
                detail={
                    "file": result.file,
                    "status": result.status,
                    "memo_only": result.memo_only,
                    "rows": report.rows,
                    "added": result.added.to_json(),
                    "already_imported": result.already_imported,
                    "rejected_rows": len(result.rejected_rows),
                },
            )
        uow.commit()


def _reconcile(
    engine: Engine,
    state: ImportState,
    result: HistoryImportResult,
    collected: Collected,
    writer: HistoryWriter | None,
) -> Reconciliation:
    report = collected.report
    reconciliation = Reconciliation(
        currency=state.currency,
        memo_only=result.memo_only,
        invoices=report.invoices,
        credit_notes=report.credit_notes,
        adjustments=report.adjustments,
        lines=report.lines,
        customers=report.customers,
        lines_without_customer=report.lines_without_customer,
        skus=report.skus,
        duplicate_lines=report.duplicate_lines,
        unknown_countries=dict(report.unknown_countries),
        write_offs=report.write_offs,
    )
    file_totals = file_month_totals(report.month_account_totals)
    if state.channel_id is None or writer is None:
        reconciliation.rows = compare(file_totals, {})
        return reconciliation
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        ledger = (
            {}
            if result.memo_only
            else ledger_month_totals(session, state.channel_id, writer.entry_ids)
        )
        reconciliation.over_credits = over_credits(
            session, state.channel_id, writer.invoice_ids
        )
    reconciliation.rows = compare(file_totals, ledger)
    return reconciliation
