"""Month-end close checklist widget and the ledger export dialog.

The Ledger page hosts :class:`CloseChecklistWidget` (for instance as a tab)
and opens :class:`ExportLedgerDialog` from a button. Both only call the
services of :mod:`app.core.accounting` through the context's operations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.accounting.checklist import Checklist, RecordRef
from app.core.accounting.close import CloseOutcome, close_month, run_checklist
from app.core.accounting.export import ExportResult, export_ledger
from app.core.accounting.periods import Month
from app.ui.context import AppContext
from app.ui.widgets import heading

#: Export formats as the dialog lists them, keyed by the writer's name.
EXPORT_FORMATS = {
    "csv": "General ledger CSV",
    "iif": "QuickBooks Desktop (IIF)",
    "qbo-csv": "QuickBooks Online journal CSV",
    "xero-csv": "Xero manual journal CSV",
    "beancount": "Beancount",
    "hledger": "hledger journal",
}
BLOCKING_COLOUR = QColor("#b3261e")
WARNING_COLOUR = QColor("#8a5a00")
OK_COLOUR = QColor("#2e7d32")


def recent_months(today: date, count: int = 18) -> list[Month]:
    """Return the last ``count`` months, newest first, starting with last month."""
    months = []
    current = Month.of(today).previous()
    for _ in range(count):
        months.append(current)
        current = current.previous()
    return months


def status_text(checklist: Checklist) -> str:
    if checklist.blocking:
        count = len(checklist.blocking)
        return (
            f"{count} item{'s' if count > 1 else ''} block the close of "
            f"{checklist.month}. Fix them, or close with a reason."
        )
    if checklist.warnings:
        return (
            f"Nothing blocks the close of {checklist.month}; "
            f"{len(checklist.warnings)} item(s) to look at."
        )
    return f"Everything is in order for {checklist.month}."


class CloseChecklistWidget(QWidget):
    """Run the month-end checklist, open its records, close the month.

    ``month_closed`` carries the year and month after a successful close.
    """

    month_closed = Signal(int, int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.checklist: Checklist | None = None
        self.month_box = QComboBox()
        today = ctx.fmt.local_date(datetime.now(UTC))
        for month in recent_months(today):
            self.month_box.addItem(
                date(month.year, month.month, 1).strftime("%B %Y"), month
            )
        self.month_box.currentIndexChanged.connect(lambda _i: self._clear())
        self.run_button = QPushButton("Run checklist")
        self.run_button.clicked.connect(self.run)
        self.close_button = QPushButton("Close month")
        self.close_button.clicked.connect(lambda: self.close_selected())
        self.force_button = QPushButton("Close with a reason…")
        self.force_button.clicked.connect(self.force_close)
        for button in (self.close_button, self.force_button):
            button.setEnabled(False)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Item", "Found"])
        self.tree.setColumnWidth(0, 520)
        self.tree.itemDoubleClicked.connect(self._open_record)
        self.status = QLabel("Choose a month and run the checklist.")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(heading("Month-end close", "subTitle"))
        bar.addWidget(self.month_box)
        bar.addWidget(self.run_button)
        bar.addStretch(1)
        bar.addWidget(self.close_button)
        bar.addWidget(self.force_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)

    def month(self) -> Month:
        month = self.month_box.currentData()
        assert isinstance(month, Month)
        return month

    def select_month(self, month: Month) -> None:
        for index in range(self.month_box.count()):
            if self.month_box.itemData(index) == month:
                self.month_box.setCurrentIndex(index)
                return
        self.month_box.insertItem(
            0, date(month.year, month.month, 1).strftime("%B %Y"), month
        )
        self.month_box.setCurrentIndex(0)

    def _clear(self) -> None:
        self.checklist = None
        self.tree.clear()
        self.close_button.setEnabled(False)
        self.force_button.setEnabled(False)
        self.status.setText("Run the checklist for this month.")

    def run(self) -> None:
        """Run the checklist; the first run of a month starts its close clock."""
        month = self.month()
        self.ctx.ops.write(
            lambda uow: run_checklist(uow, month),
            self.show_checklist,
            label=f"Checking {month}",
            parent=self,
        )

    def show_checklist(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.tree.clear()
        for item in checklist.items:
            if item.ok:
                found, colour = "OK", OK_COLOUR
            elif item.blocking:
                found, colour = (
                    f"{len(item.records)}, blocks the close",
                    BLOCKING_COLOUR,
                )
            else:
                found, colour = f"{len(item.records)} to check", WARNING_COLOUR
            top = QTreeWidgetItem([item.title, found])
            top.setForeground(1, QBrush(colour))
            top.setToolTip(0, item.note)
            for record in item.records:
                child = QTreeWidgetItem([record.label, ""])
                child.setData(0, Qt.ItemDataRole.UserRole, record)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(not item.ok and len(item.records) <= 20)
        self.close_button.setEnabled(not checklist.blocking)
        self.force_button.setEnabled(bool(checklist.blocking))
        self.status.setText(status_text(checklist))

    def close_selected(self, reason: str | None = None) -> None:
        month = self.month()
        self.ctx.ops.write(
            lambda uow: close_month(uow, month, force_reason=reason),
            self._closed,
            label=f"Closing {month}",
            parent=self,
        )

    def force_close(self) -> None:
        reason, ok = QInputDialog.getText(
            self,
            "Close with blocking items",
            f"Why close {self.month()} with blocking items?\n"
            "The reason is kept in the audit trail.",
        )
        if ok and reason.strip():
            self.close_selected(reason.strip())

    def _closed(self, outcome: CloseOutcome) -> None:
        self.show_checklist(outcome.checklist)
        if outcome.closed:
            minutes = (outcome.duration_s or 0) / 60
            self.status.setText(
                f"{outcome.month} is closed"
                + (" past blocking items" if outcome.forced else "")
                + f"; the close took {minutes:.0f} minutes from the first check."
            )
            self.close_button.setEnabled(False)
            self.force_button.setEnabled(False)
            self.month_closed.emit(outcome.month.year, outcome.month.month)

    def _open_record(self, item: QTreeWidgetItem, _column: int) -> None:
        record = item.data(0, Qt.ItemDataRole.UserRole)
        if not isinstance(record, RecordRef):
            return
        if record.order_id is not None:
            self.ctx.navigate("orders", record.order_id)
        elif record.kind == "variant" and record.id is not None:
            self.ctx.navigate("products", record.id)
        elif record.kind == "journal_entry" and record.id is not None:
            self.ctx.navigate("ledger", record.id)


class ExportLedgerDialog(QDialog):
    """Choose a format, dates and a file, then export the journal."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result_paths: list[Path] = []
        self.setWindowTitle("Export the ledger")
        self.format_box = QComboBox()
        for key, label in EXPORT_FORMATS.items():
            self.format_box.addItem(label, key)
        today = QDate.currentDate()
        self.date_from = QDateEdit(QDate(today.year(), 1, 1))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
        self.opening = QCheckBox("Start with the opening balances")
        self.opening.setChecked(True)
        self.path_edit = QLineEdit()
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("From", self.date_from)
        form.addRow("To", self.date_to)
        form.addRow("", self.opening)
        form.addRow("File", path_row)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, "Export the ledger to")
        if path:
            self.path_edit.setText(path)

    def export(self) -> None:
        """Write the file on a worker thread; the dialog closes when it is done."""
        target = self.path_edit.text().strip()
        if not target:
            self.message.setText("Choose the file to write first.")
            return
        fmt = str(self.format_box.currentData())
        start: date = self.date_from.date().toPython()  # type: ignore[assignment]
        end: date = self.date_to.date().toPython()  # type: ignore[assignment]
        opening = self.opening.isChecked()
        self.buttons.setEnabled(False)
        self.message.setText("Exporting…")
        self.ctx.ops.read(
            lambda s: export_ledger(
                s, fmt, target, date_from=start, date_to=end, opening_balances=opening
            ),
            self._done,
            label="Exporting the ledger",
            parent=self,
            on_error=lambda _exc: self.buttons.setEnabled(True),
        )

    def _done(self, result: ExportResult) -> None:
        self.result_paths = list(result.paths)
        self.buttons.setEnabled(True)
        self.message.setText(
            f"Wrote {result.entries} entries to "
            + ", ".join(p.name for p in result.paths)
        )
        self.accept()
