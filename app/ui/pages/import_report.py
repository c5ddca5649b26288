"""The import wizard's last step: what was written and how it reconciles."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from babel.dates import format_date
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.importing.history import HistoryImportResult
from app.core.importing.products import CatalogImportResult
from app.core.importing.reconcile import Reconciliation
from app.core.importing.stock import StockImportResult
from app.ui.fmt import Formatter
from app.ui.pages.import_tasks import ImportOutcome, counted
from app.ui.widgets import Card, DetailTable, heading

OPENING_ACCOUNT = "3100"
INVENTORY_ACCOUNT = "1200"


def month_text(month: str, fmt: Formatter) -> str:
    """Turn "2010-12" into the locale's short month, e.g. "Dec 2010"."""
    year, number = (int(part) for part in month.split("-"))
    return format_date(date(year, number, 1), format="MMM yyyy", locale=fmt.locale)


def reconciliation_rows(
    reconciliation: Reconciliation, fmt: Formatter, names: Mapping[str, str]
) -> list[list[str]]:
    """Return Month, Account, File, Ledger and Difference for each compared row."""
    currency = reconciliation.currency
    rows = []
    for row in reconciliation.rows:
        name = names.get(row.account, "")
        difference = "" if row.matches else fmt.money(row.difference, currency)
        ledger = (
            "not posted"
            if reconciliation.memo_only
            else fmt.money(row.ledger_total, currency)
        )
        rows.append(
            [
                month_text(row.month, fmt),
                f"{row.account} {name}".strip(),
                fmt.money(row.file_total, currency),
                ledger,
                difference or "matches",
            ]
        )
    return rows


def history_counts(result: HistoryImportResult, fmt: Formatter) -> list[list[str]]:
    """Return What, Added and In the file for the counts behind the figures.

    The file's counts cover the rows read in full: invoices already in the
    books are skipped unread, and rejected rows are left out.
    """
    n = fmt.number
    added = result.added
    reconciliation = result.reconciliation

    def file_count(name: str) -> str:
        if reconciliation is None:
            return ""
        return n(getattr(reconciliation, name))

    rows = [
        ["Invoices", n(added.invoices), file_count("invoices")],
        ["Credit notes", n(added.credit_notes), file_count("credit_notes")],
        ["Bad-debt adjustments", n(added.adjustments), file_count("adjustments")],
        ["Lines", n(added.lines), file_count("lines")],
        ["Customers", n(added.customers), file_count("customers")],
        ["SKUs", n(added.products), file_count("skus")],
        ["Guests (no CustomerID)", n(added.guests), ""],
        ["Credit notes linked", n(added.credit_notes_linked), ""],
        ["Journal entries", n(added.journal_entries), ""],
        ["Already in the books", "", n(result.already_imported)],
        ["Rows left out", "", n(len(result.rejected_rows))],
    ]
    if reconciliation is not None:
        unknown = sum(reconciliation.unknown_countries.values())
        rows += [
            ["Lines without a customer", "", n(reconciliation.lines_without_customer)],
            ["Duplicate lines (kept)", "", n(reconciliation.duplicate_lines)],
            ["Write-offs at price 0", "", n(reconciliation.write_offs)],
            ["Lines, unknown country", "", n(unknown)],
            ["Credit notes over invoice", "", n(len(reconciliation.over_credits))],
        ]
    return rows


class ReportStep(QWidget):
    """Headline, figures and tables of a finished (or cancelled) import."""

    another_requested = Signal()
    show_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = heading("")
        self.badge = QLabel("")
        self.badge.setObjectName("badge")
        top = QHBoxLayout()
        top.addWidget(self.headline)
        top.addWidget(self.badge)
        top.addStretch(1)

        self.cards = QHBoxLayout()
        self.cards.setSpacing(12)
        self.body = QHBoxLayout()
        self.body.setSpacing(16)
        self.notes = QLabel("")
        self.notes.setObjectName("hint")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        another = QPushButton("Import another file")
        another.clicked.connect(self.another_requested.emit)
        self.show_button = QPushButton("")
        self.show_button.setObjectName("primary")
        self.show_button.clicked.connect(
            lambda: self.show_requested.emit(self.show_button.property("page"))
        )
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(another)
        buttons.addWidget(self.show_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(self.cards)
        layout.addLayout(self.body, 1)
        layout.addWidget(self.notes)
        layout.addLayout(buttons)
        self.left: DetailTable | None = None
        self.right: DetailTable | None = None

    # --- building blocks --------------------------------------------------

    def _clear(self) -> None:
        for box in (self.cards, self.body):
            while box.count():
                item = box.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        self.left = self.right = None

    def _card(self, caption: str, value: str, note: str = "") -> None:
        card = Card(caption)
        card.set(value, note)
        self.cards.addWidget(card)

    def _table(
        self,
        title: str,
        headers: list[str],
        rows: list[list[str]],
        right: tuple[int, ...],
        stretch: int,
        empty: str,
        stretch_column: int | None = None,
    ) -> DetailTable:
        column = QWidget()
        box = QVBoxLayout(column)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(heading(title))
        table = DetailTable(headers, right=right, stretch=stretch_column)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.fill(rows)
        if rows:
            box.addWidget(table, 1)
        else:
            hint = QLabel(empty)
            hint.setObjectName("emptyHint")
            hint.setWordWrap(True)
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(hint, 1)
        self.body.addWidget(column, stretch)
        return table

    def _set_badge(self, text: str, bad: bool) -> None:
        self.badge.setText(text)
        self.badge.setVisible(bool(text))
        self.badge.setProperty("tone", "bad" if bad else "")
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)

    def _set_show(self, text: str, page: str) -> None:
        self.show_button.setText(text)
        self.show_button.setProperty("page", page)

    # --- per kind ---------------------------------------------------------

    def show_outcome(
        self, outcome: ImportOutcome, fmt: Formatter, names: Mapping[str, str]
    ) -> None:
        self._clear()
        result = outcome.result
        if isinstance(result, HistoryImportResult):
            self._history(outcome, result, fmt, names)
        elif isinstance(result, CatalogImportResult):
            self._products(outcome, result, fmt)
        else:
            assert isinstance(result, StockImportResult)
            self._stock(outcome, result, fmt, names)

    def _history(
        self,
        outcome: ImportOutcome,
        result: HistoryImportResult,
        fmt: Formatter,
        names: Mapping[str, str],
    ) -> None:
        n = fmt.number
        added = result.added
        name = outcome.plan.path.name
        notes: list[str] = []
        if outcome.cancelled:
            chunks = counted(result.chunks_committed, "chunk", n)
            self.headline.setText(
                f"Cancelled after {chunks}: {n(added.orders)} whole invoices from "
                f"{name} were committed"
            )
            notes.append(
                "The file's figures include the invoices not written yet. Import "
                "the same file again to add the rest. The invoices already in the "
                "books are skipped."
            )
        elif result.status == "rejected":
            self.headline.setText(
                f"Nothing was written: {n(result.problem_count)} problems in {name}"
            )
            notes.append("Go back to the check, correct the file or skip the rows.")
        elif result.status == "nothing_new":
            self.headline.setText(f"Nothing new in {name}")
            notes.append(
                f"Its {n(result.already_imported)} invoice numbers are already in "
                "the books and were left alone."
            )
        else:
            self.headline.setText(
                f"Imported {n(added.orders)} invoices and credit notes from {name}"
            )
        reconciliation = result.reconciliation
        if reconciliation is None or reconciliation.reconciled is None:
            self._set_badge(
                "Memo only: nothing posted" if result.memo_only else "", False
            )
        elif reconciliation.reconciled:
            self._set_badge("Reconciled: every month and account matches", False)
        else:
            count = len(reconciliation.mismatches)
            self._set_badge(f"Not reconciled: {n(count)} differences", True)

        currency = reconciliation.currency if reconciliation else fmt.currency
        file_total = reconciliation.file_total if reconciliation else 0
        posted = reconciliation.ledger_clearing_total if reconciliation else 0
        self._card(
            "Invoices added",
            n(added.invoices),
            f"and {counted(added.credit_notes, 'credit note', n)}",
        )
        self._card(
            "Lines added",
            n(added.lines),
            f"{counted(len(result.rejected_rows), 'row', n)} left out",
        )
        self._card("File total", fmt.money(file_total, currency), "every line's amount")
        self._card(
            "Debited to 1100",
            fmt.money(posted, currency),
            "not posted: memo only" if result.memo_only else "Channel clearing",
        )

        rows = reconciliation_rows(reconciliation, fmt, names) if reconciliation else []
        self.left = self._table(
            "File against the ledger, per month and account (credit − debit)",
            ["Month", "Account", "File", "Ledger", "Difference"],
            rows,
            right=(2, 3, 4),
            stretch=5,
            empty="The file had no lines to compare.",
            stretch_column=1,
        )
        self.right = self._table(
            "Counts",
            ["What", "Added", "In the file"],
            history_counts(result, fmt),
            right=(1, 2),
            stretch=3,
            empty="",
            stretch_column=0,
        )
        if result.rejects_file:
            notes.append(
                f"{n(len(result.rejected_rows))} rows of "
                f"{n(result.rejected_invoices)} invoices were left out and written "
                f"to {result.rejects_file}."
            )
        notes += result.notes
        self.notes.setText("\n".join(notes))
        self._set_show("Show the orders", "orders")

    def _products(
        self, outcome: ImportOutcome, result: CatalogImportResult, fmt: Formatter
    ) -> None:
        n = fmt.number
        name = outcome.plan.path.name
        if outcome.cancelled:
            self.headline.setText(f"Cancelled: nothing from {name} was written")
        elif result.status == "rejected":
            self.headline.setText(
                f"Nothing was written: {n(len(result.problems))} problems in {name}"
            )
        else:
            self.headline.setText(f"Imported the products of {name}")

        self._set_badge("", False)
        self._card("Products created", n(result.products_created))
        self._card("Products updated", n(result.products_updated))
        self._card("SKUs created", n(result.variants_created))
        self._card("SKUs updated", n(result.variants_updated))

        skipped = [[line] for line in result.skipped]
        skipped += [[f"row {p.row}: {p.message}"] for p in result.problems]
        self.left = self._table(
            "Rows skipped or left out",
            ["Row and reason"],
            skipped,
            right=(),
            stretch=1,
            empty="Every row of the file was imported.",
        )

        notes = []
        if result.rejects_file:
            notes.append(
                f"{n(len(result.rejected_rows))} rows with problems were written "
                f"to {result.rejects_file}."
            )
        self.notes.setText("\n".join(notes))
        self._set_show("Show the products", "products")

    def _stock(
        self,
        outcome: ImportOutcome,
        result: StockImportResult,
        fmt: Formatter,
        names: Mapping[str, str],
    ) -> None:
        n = fmt.number
        name = outcome.plan.path.name
        if outcome.cancelled:
            self.headline.setText(f"Cancelled: nothing from {name} was written")
        elif result.status == "rejected":
            self.headline.setText(
                f"Nothing was written: {n(len(result.problems))} problems in {name}"
            )
        else:
            self.headline.setText(f"Received the stock counts of {name}")

        self._set_badge("", False)
        value = fmt.money(result.value)
        self._card("Rows received", n(result.rows_received))
        self._card("Units", n(result.units))
        self._card("Value at cost", value)
        self._card("Journal entries", n(len(result.entries)))

        posted = []
        if result.rows_received:
            posted = [
                [
                    f"{INVENTORY_ACCOUNT} {names.get(INVENTORY_ACCOUNT, '')}".strip(),
                    value,
                    "",
                ],
                [
                    f"{OPENING_ACCOUNT} {names.get(OPENING_ACCOUNT, '')}".strip(),
                    "",
                    value,
                ],
            ]
        self.left = self._table(
            "Posted to the ledger",
            ["Account", "Debit", "Credit"],
            posted,
            right=(1, 2),
            stretch=1,
            empty="Nothing was posted.",
            stretch_column=0,
        )
        self.right = self._table(
            "Rows left out",
            ["Row", "Problem"],
            [[str(p.row), p.message] for p in result.problems],
            right=(0,),
            stretch=1,
            empty="Every row of the file was received.",
            stretch_column=1,
        )

        notes = []
        if result.rejects_file:
            notes.append(
                f"{n(len(result.rejected_rows))} rows with problems were written "
                f"to {result.rejects_file}."
            )
        self.notes.setText("\n".join(notes))
        self._set_show("Show the stock", "products")
