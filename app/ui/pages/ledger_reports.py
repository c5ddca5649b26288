"""The Reports and Periods tabs of the Ledger page."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import ledger
from app.core.queries.ledger import PeriodView, periods
from app.core.reports import (
    AccountBalance,
    BalanceSheet,
    ProfitLoss,
    TrialBalance,
    balance_sheet,
    profit_loss,
    trial_balance,
)
from app.ui.context import AppContext
from app.ui.widgets import DetailTable, heading

REPORTS = ("Trial balance", "Profit and loss", "Balance sheet")
Row = list[str]


class ReportsTab(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False
        self.kind = QComboBox()
        self.kind.addItems(REPORTS)
        today = QDate.currentDate()
        self.date_from = QDateEdit(QDate(today.year(), today.month(), 1))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.dateChanged.connect(lambda _d: self.refresh())
        self.kind.currentIndexChanged.connect(lambda _i: self.refresh())
        self.from_label = QLabel("From")
        self.to_label = QLabel("to")
        self.table = DetailTable(["Code", "Account", "Debit", "Credit"], right=(2, 3))
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        bar = QHBoxLayout()
        bar.addWidget(self.kind)
        bar.addWidget(self.from_label)
        bar.addWidget(self.date_from)
        bar.addWidget(self.to_label)
        bar.addWidget(self.date_to)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def refresh(self) -> None:
        self.loaded = True
        kind = self.kind.currentText()
        ranged = kind == "Profit and loss"
        self.from_label.setVisible(ranged)
        self.date_from.setVisible(ranged)
        self.to_label.setText("to" if ranged else "As of")
        start: date = self.date_from.date().toPython()  # type: ignore[assignment]
        end: date = self.date_to.date().toPython()  # type: ignore[assignment]
        if kind == "Trial balance":
            self.ctx.ops.read(lambda s: trial_balance(s, as_of=end), self._trial)
        elif kind == "Profit and loss":
            self.ctx.ops.read(
                lambda s: profit_loss(s, date_from=start, date_to=end), self._profit
            )
        else:
            self.ctx.ops.read(lambda s: balance_sheet(s, as_of=end), self._balance)

    def _set(
        self, headers: list[str], rows: list[Row], bold: set[int], summary: str
    ) -> None:
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.fill(rows)
        font = QFont()
        font.setBold(True)
        for r in bold:
            for c in range(len(headers)):
                item = self.table.item(r, c)
                if item is not None:
                    item.setFont(font)
        self.summary.setText(summary)

    def _trial(self, report: TrialBalance) -> None:
        money = self.ctx.fmt.money
        rows = [
            [
                r.code,
                r.name,
                money(r.debit) if r.debit else "",
                money(r.credit) if r.credit else "",
            ]
            for r in report.rows
            if r.debit or r.credit
        ]
        rows.append(
            ["", "Total", money(report.total_debit), money(report.total_credit)]
        )
        balanced = report.total_debit == report.total_credit
        self._set(
            ["Code", "Account", "Debit", "Credit"],
            rows,
            {len(rows) - 1},
            "Debits equal credits."
            if balanced
            else "Debits and credits differ: run Check.",
        )

    def _section(
        self, title: str, items: list[AccountBalance], total: int
    ) -> list[Row]:
        money = self.ctx.fmt.money
        rows: list[Row] = [["", title, ""]]
        rows += [[r.code, r.name, money(r.balance)] for r in items if r.balance]
        rows.append(["", f"Total {title.lower()}", money(total)])
        return rows

    def _profit(self, report: ProfitLoss) -> None:
        money = self.ctx.fmt.money
        rows = self._section("Income", report.income, report.revenue)
        rows += self._section("Expenses", report.expenses, report.total_expenses)
        rows.append(["", "Gross profit", money(report.gross_profit)])
        rows.append(["", "Net profit", money(report.net_profit)])
        bold = {i for i, r in enumerate(rows) if not r[0]}
        margin = (
            f"Gross margin {report.gross_profit * 100 / report.revenue:.1f}%."
            if report.revenue
            else "No income in these dates."
        )
        self._set(["Code", "Account", "Amount"], rows, bold, margin)

    def _balance(self, report: BalanceSheet) -> None:
        money = self.ctx.fmt.money
        rows = self._section("Assets", report.assets, report.total_assets)
        rows += self._section(
            "Liabilities", report.liabilities, report.total_liabilities
        )
        equity = self._section("Equity", report.equity, report.total_equity)
        equity.insert(-1, ["", "Current earnings", money(report.current_earnings)])
        rows += equity
        bold = {i for i, r in enumerate(rows) if not r[0]}
        balanced = report.total_assets == report.total_liabilities + report.total_equity
        self._set(
            ["Code", "Account", "Amount"],
            rows,
            bold,
            "Assets equal liabilities plus equity."
            if balanced
            else "Assets differ from liabilities plus equity: run Check.",
        )


class PeriodsTab(QWidget):
    """Months of the books; closing one locks every posting dated in it."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False
        self.rows: list[PeriodView] = []
        self.table = DetailTable(
            ["Month", "Status", "Journal lines", "Closed", "By", "Reopen reason"],
            right=(2,),
        )
        self.table.itemSelectionChanged.connect(self._chosen)
        self.close_button = QPushButton("Close period")
        self.reopen_button = QPushButton("Reopen period…")
        self.close_button.clicked.connect(self.close_selected)
        self.reopen_button.clicked.connect(self.reopen_selected)
        for button in (self.close_button, self.reopen_button):
            button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(heading("Accounting periods", "subTitle"))
        bar.addStretch(1)
        bar.addWidget(self.close_button)
        bar.addWidget(self.reopen_button)
        hint = QLabel(
            "A closed month takes no new postings and nothing dated in it "
            "changes. Reopening asks for a reason, kept in the audit trail."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        self.loaded = True
        today = self.ctx.fmt.local_date(_utcnow())
        self.ctx.ops.read(lambda s: periods(s, today), self._show)

    def _show(self, rows: list[PeriodView]) -> None:
        fmt = self.ctx.fmt
        self.rows = rows
        self.table.fill(
            [
                [
                    date(p.year, p.month, 1).strftime("%B %Y"),
                    p.status.title(),
                    fmt.number(p.lines),
                    fmt.datetime(p.closed_at) if p.closed_at else "",
                    p.closed_by or "",
                    p.reopen_reason or "",
                ]
                for p in rows
            ]
        )
        self._chosen()

    def selected(self) -> PeriodView | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def select_month(self, year: int, month: int) -> None:
        for row, period in enumerate(self.rows):
            if (period.year, period.month) == (year, month):
                self.table.selectRow(row)

    def _chosen(self) -> None:
        period = self.selected()
        self.close_button.setEnabled(period is not None and period.status != "closed")
        self.reopen_button.setEnabled(period is not None and period.status == "closed")

    def close_selected(self) -> None:
        period = self.selected()
        if period is None:
            return
        year, month = period.year, period.month
        self.ctx.ops.write(
            lambda uow: ledger.close_period(uow, year, month),
            lambda _p: self.refresh(),
            label=f"Closing {year}-{month:02d}",
            parent=self,
        )

    def reopen_selected(self) -> None:
        period = self.selected()
        if period is None:
            return
        reason, ok = QInputDialog.getText(
            self,
            "Reopen period",
            f"Why reopen {period.year}-{period.month:02d}?\n"
            "The reason is kept in the audit trail.",
        )
        if ok:
            self.reopen(period.year, period.month, reason)

    def reopen(self, year: int, month: int, reason: str) -> None:
        self.ctx.ops.write(
            lambda uow: ledger.reopen_period(uow, year, month, reason),
            lambda _p: self.refresh(),
            label=f"Reopening {year}-{month:02d}",
            parent=self,
        )


def _utcnow():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)
