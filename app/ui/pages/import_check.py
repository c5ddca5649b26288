"""The import wizard's problem report and its running view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.importing.errors import Problem
from app.core.importing.history import HistoryImportResult
from app.core.importing.products import CatalogImportResult
from app.core.importing.stock import StockImportResult
from app.ui.fmt import Formatter
from app.ui.pages.import_report import month_text
from app.ui.pages.import_steps import panel
from app.ui.pages.import_tasks import CheckOutcome, counted
from app.ui.tablemodel import RIGHT
from app.ui.widgets import DetailTable, EmptyStateTable, heading, stretch_column

Index = QModelIndex | QPersistentModelIndex
#: Problem lists up to this long wrap their messages onto several lines.
WRAPPED_PROBLEMS = 500


class ProblemModel(QAbstractTableModel):
    """Problems of a file: row, column, value and message, in file order."""

    HEADERS = ("Row", "Column", "Value", "Problem")

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[Problem] = []

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self.beginResetModel()
        self.problems = list(problems)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.problems)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == 0:
            return int(RIGHT)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        problem = self.problems[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return str(problem.row)
            if column == 1:
                return problem.column or "(whole row)"
            if column == 2:
                return problem.value
            return problem.message
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(RIGHT)
        return None


def check_summary(outcome: CheckOutcome, fmt: Formatter) -> tuple[str, str]:
    """Return the check's headline and the line of counts below it."""
    count = outcome.problem_count
    rows = len({p.row for p in outcome.problems})
    result = outcome.result
    if outcome.header_problem:
        headline = "The file cannot be imported: its header lacks a required column"
    elif count:
        headline = (
            f"{counted(count, 'problem', fmt.number)} in "
            f"{counted(rows, 'row', fmt.number)}"
        )
        if len(outcome.problems) < count:
            headline += f" (the first {fmt.number(len(outcome.problems))} listed)"
    else:
        headline = "No problems found"

    if isinstance(result, HistoryImportResult):
        report = result.report
        rows_read = report.rows if report is not None else 0
        detail = (
            f"{fmt.number(rows_read)} rows read: {fmt.number(result.to_import)} "
            f"invoices to import, {fmt.number(result.already_imported)} already "
            "in the books."
        )
    elif isinstance(result, CatalogImportResult):
        variants = result.variants_created + result.variants_updated
        detail = (
            f"{fmt.number(result.products_created)} products to create and "
            f"{fmt.number(result.products_updated)} to update, "
            f"{fmt.number(variants)} SKUs in all."
            if not count
            else "The counts of products follow once the rows read cleanly."
        )
        if result.skipped:
            skipped = counted(len(result.skipped), "row", fmt.number)
            verb = "holds" if len(result.skipped) == 1 else "hold"
            detail += f" {skipped} of the file {verb} no SKU and will be skipped."
    else:
        assert isinstance(result, StockImportResult)
        detail = (
            f"{fmt.number(result.rows_received)} rows to receive: "
            f"{fmt.number(result.units)} units at a cost of "
            f"{fmt.money(result.value)}."
            if not count
            else "The units and their value follow once the rows read cleanly."
        )
    return headline, detail


def file_facts(outcome: CheckOutcome, fmt: Formatter) -> list[list[str]]:
    """Return What and Value rows describing what the file holds."""
    n = fmt.number
    result = outcome.result
    if isinstance(result, HistoryImportResult):
        report = result.report
        if report is None:
            return []
        months = sorted(report.month_account_totals)
        span = ""
        if months:
            span = month_text(months[0], fmt)
            if len(months) > 1:
                span += f" to {month_text(months[-1], fmt)}"
        return [
            ["Rows", n(report.rows)],
            ["Invoices", n(report.invoices)],
            ["Credit notes", n(report.credit_notes)],
            ["Bad-debt adjustments", n(report.adjustments)],
            ["Lines read", n(report.lines)],
            ["Customers", n(report.customers)],
            ["SKUs", n(report.skus)],
            ["Months", span],
            [
                "Amount of the lines",
                fmt.money(report.total_amount_minor, report.currency),
            ],
            ["Already in the books", n(result.already_imported)],
        ]
    if isinstance(result, CatalogImportResult):
        if outcome.problem_count:
            return []
        return [
            ["Products to create", n(result.products_created)],
            ["Products to update", n(result.products_updated)],
            ["SKUs to create", n(result.variants_created)],
            ["SKUs to update", n(result.variants_updated)],
            ["Rows without a SKU", n(len(result.skipped))],
        ]
    assert isinstance(result, StockImportResult)
    if outcome.problem_count:
        return []
    return [
        ["Rows to receive", n(result.rows_received)],
        ["Units", n(result.units)],
        ["Value at cost", fmt.money(result.value)],
    ]


class CheckStep(QWidget):
    """Every problem in the file, before anything is written, and the skip choice."""

    skip_changed = Signal(bool)
    recheck_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = heading("")
        self.detail = QLabel("")
        self.detail.setObjectName("hint")
        self.detail.setWordWrap(True)

        self.model = ProblemModel()
        self.table = EmptyStateTable(
            "No problems: every row of the file can be imported as it is."
        )
        self.table.setModel(self.model)
        self.table.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.view.horizontalHeader()
        for column, width in enumerate((60, 120, 130)):
            header.resizeSection(column, width)
        stretch_column(self.table.view, 3)

        self.skip = QCheckBox("")
        self.skip.toggled.connect(self.skip_changed.emit)
        self.skip_note = QLabel("")
        self.skip_note.setObjectName("hint")
        self.skip_note.setWordWrap(True)
        self.skip_note.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        again = QPushButton("Check again")
        again.setToolTip("Read the file again, for example after correcting it")
        again.clicked.connect(self.recheck_requested.emit)
        choice = panel()
        choice_layout = QVBoxLayout(choice)
        choice_layout.setContentsMargins(16, 10, 16, 10)
        choice_row = QHBoxLayout()
        choice_row.addWidget(self.skip)
        choice_row.addStretch(1)
        choice_row.addWidget(again)
        choice_layout.addLayout(choice_row)
        choice_layout.addWidget(self.skip_note)

        self.facts = DetailTable(["In the file", ""], right=(1,), stretch=0)
        self.facts.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.facts.setMinimumWidth(330)

        body = QHBoxLayout()
        body.setSpacing(16)
        body.addWidget(self.table, 2)
        body.addWidget(self.facts, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addLayout(body, 1)
        layout.addWidget(choice)
        self.outcome: CheckOutcome | None = None

    def show_outcome(self, outcome: CheckOutcome, fmt: Formatter) -> None:
        self.outcome = outcome
        headline, detail = check_summary(outcome, fmt)
        self.headline.setText(headline)
        self.headline.setObjectName("sectionTitle")
        self.detail.setText(detail)
        self.model.set_problems(outcome.problems)
        self._fit_rows(len(outcome.problems))
        facts = file_facts(outcome, fmt)
        self.facts.fill(facts)
        self.facts.setVisible(bool(facts))

        has_rows = outcome.problem_count > 0 and not outcome.header_problem
        self.skip.blockSignals(True)
        self.skip.setChecked(False)
        self.skip.blockSignals(False)
        self.skip.setEnabled(has_rows)
        self.skip.setVisible(outcome.problem_count > 0)

        if outcome.header_problem:
            self.skip.setText("Skipping rows cannot help: no row can be read")
            self.skip_note.setText(
                "Name the columns as the message says, save the file, then press "
                "Check again."
            )
        elif has_rows:
            self.skip.setText("Skip the rows with problems and import the rest")
            whole = (
                " The other rows of an invoice with a bad row are left out too, so "
                "that the corrected invoice can be imported whole later."
                if outcome.plan.kind == "history"
                else ""
            )
            self.skip_note.setText(
                f"The skipped rows are written to {outcome.rejects_path} with the "
                f"reason in an error column, ready to correct and import.{whole} "
                "Or correct the file and press Check again."
            )
        else:
            self.skip_note.setText(
                "Nothing is written until you press Import. Importing the same file "
                "again later adds nothing twice."
            )

    def _fit_rows(self, count: int) -> None:
        """Wrap long messages onto more lines, unless the list is too long.

        Sizing each row to its text measures every row, so a long list keeps
        one line per problem and shows the whole message as a tooltip.
        """
        view = self.table.view
        wrap = count <= WRAPPED_PROBLEMS
        view.setWordWrap(wrap)
        mode = (
            QHeaderView.ResizeMode.ResizeToContents
            if wrap
            else QHeaderView.ResizeMode.Fixed
        )
        view.verticalHeader().setSectionResizeMode(mode)

    @property
    def ready(self) -> bool:
        """Return True when the Import button may run the import."""
        outcome = self.outcome
        if outcome is None or not outcome.can_import:
            return False
        return outcome.problem_count == 0 or self.skip.isChecked()


class RunStep(QWidget):
    """Progress of a running check or import, with its own Cancel button."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = heading("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(True)
        self.status = QLabel("Starting…")
        self.note = QLabel("")
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)

        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self._cancel)
        box = panel()
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(24, 20, 24, 20)
        box_layout.setSpacing(10)
        box_layout.addWidget(self.title)
        box_layout.addWidget(self.bar)
        box_layout.addWidget(self.status)
        box_layout.addWidget(self.note)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        box_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 40, 0, 0)
        layout.addWidget(box)
        layout.addStretch(1)

    def start(self, title: str, note: str) -> None:
        self.title.setText(title)
        self.note.setText(note)
        self.status.setText("Starting…")
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)

    def show_progress(self, text: str, fraction: float | None) -> None:
        if not self.cancel.isEnabled():
            return
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 100)
            self.bar.setValue(int(fraction * 100))
        self.status.setText(text)

    def stopping(self) -> None:
        self.cancel.setEnabled(False)
        self.status.setText(
            "Stopping after the current step. What was committed stays…"
        )

    def _cancel(self) -> None:
        self.stopping()
        self.cancel_requested.emit()
