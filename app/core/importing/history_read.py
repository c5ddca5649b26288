"""Read a history file for import: group its new lines by invoice and check them.

Lines of invoices already in the books are skipped by the reader. The rest
are kept in memory, grouped by invoice number in the order the file first
names them, and checked for what the reader cannot see on its own (see
``_LineChecks``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.importing.errors import Problem
from app.core.importing.history_state import (
    ADJUSTMENT_SOURCE,
    CREDIT_NOTE_SERIES,
    INVOICE_SERIES,
    MAX_CUSTOMER_ID,
    MAX_DESCRIPTION,
    MAX_INVOICE_DIGITS,
    MAX_INVOICE_NO,
    MAX_STOCK_CODE,
    ImportState,
)
from app.core.importing.online_retail import (
    HistoryLine,
    ReadReport,
    column_names,
    read_history,
)
from app.core.importing.progress import Progress, ProgressCallback


@dataclass
class Collected:
    """The file's new invoices and what the checks found in them."""

    report: ReadReport
    groups: dict[str, list[HistoryLine]]
    already: set[str]
    spellings: dict[str, dict[str, int]]
    zero_price_descriptions: Counter[tuple[str, str]]
    problems: list[Problem]
    problem_invoices: dict[str, int]
    spanning_days: int = 0


def collect(
    path: str | Path,
    state: ImportState,
    memo_only: bool,
    progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> Collected:
    """Read the whole file, keeping the lines of invoices not yet in the books.

    The lines are checked on the way (see ``_LineChecks``), so each line is
    visited once here.
    """
    reading_progress = None
    stream_unit = "bytes"
    if progress is not None:
        report_progress = progress

        def reading_progress(done: int, total: int) -> None:
            report_progress(Progress("reading", done, total, stream_unit))

    skip = state.known_orders | {f"A{n}" for n in state.known_adjustments}
    stream = read_history(
        path,
        state.mapping,
        progress=reading_progress,
        cancel=cancel,
        time_zone=state.zone_name,
        skip_invoices=skip,
    )
    stream_unit = stream.source.progress_unit
    known_orders, known_adjustments = state.known_orders, state.known_adjustments
    groups: dict[str, list[HistoryLine]] = {}
    already: set[str] = set()
    checks = _LineChecks(stream.report, state)
    check_line = checks.check_line
    spellings, zero_price = checks.spellings, checks.zero_price
    variants = state.variants
    # Lines of one invoice usually follow each other and share one string
    # object for the number, so the dict is consulted when the number changes.
    last_number: str | None = None
    group: list[HistoryLine] | None = None
    first: HistoryLine | None = None
    for chunk in stream:
        for line in chunk:
            number = line.invoice_no
            if number is not last_number:
                last_number = number
                group = groups.get(number)
                if group is None and number not in already:
                    if number in known_orders or (
                        line.kind == "adjustment"
                        and adjustment_number(number) in known_adjustments
                    ):
                        already.add(number)
                    else:
                        group = groups[number] = []
                first = group[0] if group else line
            if group is None:
                continue
            group.append(line)

            assert first is not None
            if (
                line.customer_id != first.customer_id
                or line.invoice_local is not first.invoice_local
                or len(line.description) > MAX_DESCRIPTION
                or len(line.stock_code) > MAX_STOCK_CODE
            ):
                check_line(line, first)
            if line.line_class == "product":
                key = line.sku_key
                if key not in variants:
                    counts = spellings.get(key)
                    if counts is None:
                        spellings[key] = {line.stock_code: 1}
                    else:
                        counts[line.stock_code] = counts.get(line.stock_code, 0) + 1
                if line.description and not line.unit_price:
                    zero_price[(key, line.description)] += 1

    collected = Collected(
        report=stream.report,
        groups=groups,
        already=already,
        spellings=spellings,
        zero_price_descriptions=zero_price,
        problems=checks.problems,
        problem_invoices=checks.problem_invoices,
        spanning_days=checks.spanning_days,
    )
    checks.check_invoices(groups, memo_only)
    return collected


def adjustment_number(number: str) -> int | None:
    body = number[1:]
    if body.isascii() and body.isdigit() and len(body) <= MAX_INVOICE_DIGITS:
        return int(body)
    return None


class _LineChecks:
    """Problems the reader cannot see, and the counts that name new SKUs.

    Checks: the invoice number's digits, the widths of the columns the text
    goes into, one customer per invoice, and (unless memo-only, which posts
    nothing) that no invoice falls in a closed period. Spellings of each new
    SKU key and descriptions seen at price 0 are counted for naming.
    """

    def __init__(self, report: ReadReport, state: ImportState) -> None:
        self.names = column_names(report.header)
        self.file = report.file
        self.state = state
        self.problems: list[Problem] = []
        self.problem_invoices: dict[str, int] = {}
        self.spellings: dict[str, dict[str, int]] = {}
        self.zero_price: Counter[tuple[str, str]] = Counter()
        self.spanning_days = 0

    def add(self, line: HistoryLine, field_name: str, value: str, fault: str) -> None:
        """Record that ``value`` has ``fault``, worded to fit after the value."""
        column = self.names.get(field_name, field_name)
        shown = value if len(value) <= 40 else value[:37] + "..."
        quoted = f" {shown!r}" if value else ""
        self.problems.append(
            Problem(self.file, line.row, column, value, f"{column}{quoted} {fault}")
        )
        found = self.problem_invoices.get(line.invoice_no)
        if found is None or line.row < found:
            self.problem_invoices[line.invoice_no] = line.row

    def check_line(self, line: HistoryLine, first: HistoryLine) -> None:
        """Check a line that differs from its invoice's first line or is long."""
        if line.customer_id != first.customer_id:
            self.add(
                line,
                "customer_id",
                line.customer_id or "",
                f"differs from {first.customer_id or '(empty)'} on row "
                f"{first.row} of invoice {line.invoice_no}. An invoice has one "
                "customer: correct the rows.",
            )
        if line.invoice_local.date() != first.invoice_local.date():
            self.spanning_days += 1
        for field_name, text, limit in (
            ("stock_code", line.stock_code, MAX_STOCK_CODE),
            ("description", line.description, MAX_DESCRIPTION),
        ):
            if len(text) > limit:
                self.add(line, field_name, text, _too_long(text, limit))

    def check_invoices(
        self, groups: dict[str, list[HistoryLine]], memo_only: bool
    ) -> None:
        """Check each invoice's number, date and customer, once per invoice."""
        closed = set() if memo_only else self.state.closed_months
        numbers_used: dict[tuple[str, int], str] = {}
        for number, lines in groups.items():
            first = lines[0]
            bad_number = _number_problem(number, first.kind, numbers_used, self.state)
            day = first.invoice_local.date()
            customer = first.customer_id
            for line in lines if bad_number else ():
                self.add(line, "invoice_no", number, bad_number or "")
            for line in lines if (day.year, day.month) in closed else ():
                self.add(
                    line,
                    "invoice_date",
                    str(line.invoice_local),
                    f"falls in the closed period {day.year}-{day.month:02d}. "
                    "Reopen the period, or import with --memo-only, then import "
                    "again.",
                )
            if customer is not None and len(customer) > MAX_CUSTOMER_ID:
                for line in lines:
                    self.add(
                        line,
                        "customer_id",
                        customer,
                        _too_long(customer, MAX_CUSTOMER_ID),
                    )


def _too_long(text: str, limit: int) -> str:
    return (
        f"has {len(text)} characters, more than the {limit} Backroom keeps. "
        "Shorten it, then import again."
    )


def _number_problem(
    number: str,
    kind: str,
    used: dict[tuple[str, int], str],
    state: ImportState,
) -> str | None:
    """Word what is wrong with an invoice number, or return None.

    The digits become ``Invoice.number`` in the history series, so two
    spellings of one number ("0536365" and "536365") cannot both be kept.
    """
    body = number if kind == "invoice" else number[1:]
    if len(number) > MAX_INVOICE_NO:
        return (
            f"has {len(number)} characters, more than the {MAX_INVOICE_NO} an "
            "invoice number may have. Shorten it, then import again."
        )
    if not (body.isascii() and body.isdigit()) or len(body) > MAX_INVOICE_DIGITS:
        return (
            f"is not a number of at most {MAX_INVOICE_DIGITS} digits after its "
            "C or A prefix. Backroom keeps that number as the history "
            "invoice's number: correct it, then import again."
        )
    series = {"invoice": INVOICE_SERIES, "credit_note": CREDIT_NOTE_SERIES}.get(
        kind, ADJUSTMENT_SOURCE
    )
    key = (series, int(body))
    other = used.setdefault(key, number)
    if other != number or key in state.known_numbers:
        return (
            f"has the same number as invoice {other if other != number else body} "
            "already in the file or the books. Correct the invoice number, then "
            "import again."
        )
    return None
