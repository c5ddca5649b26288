"""Ledger: accounts, the journal and its drill-down to the source document,
the reports, and closing periods."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.core.queries.ledger import (
    EntryDetail,
    EntryRow,
    JournalFilter,
    entry_detail,
    entry_ids,
    entry_rows,
)
from app.core.reports import AccountBalance, balances
from app.ui.pages.base import Page
from app.ui.pages.close import CloseChecklistWidget, ExportLedgerDialog
from app.ui.pages.ledger_reports import PeriodsTab, ReportsTab
from app.ui.tablemodel import RIGHT, Column, LazyTableModel
from app.ui.widgets import (
    DetailTable,
    EmptyStateTable,
    SearchField,
    heading,
    stretch_column,
)


class LedgerPage(Page):
    key = "ledger"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        fmt = ctx.fmt
        self.account: str | None = None
        self.entry: EntryDetail | None = None
        self.accounts = DetailTable(
            ["Code", "Account", "Balance"],
            right=(2,),
            stretch=1,
            empty="No postings yet, so no account has a balance.",
        )
        self.accounts.itemSelectionChanged.connect(self._account_chosen)
        columns: list[Column[EntryRow]] = [
            Column("Date", lambda r: fmt.date(r.entry_date)),
            Column("#", lambda r: str(r.id), RIGHT),
            Column("Kind", lambda r: r.kind),
            Column("Description", lambda r: r.description),
            Column("Amount", lambda r: fmt.money(r.amount), RIGHT),
        ]
        self.model: LazyTableModel[EntryRow] = LazyTableModel(
            columns, lambda ids: ctx.read_now(lambda s: entry_rows(s, ids))
        )
        self.journal = EmptyStateTable(
            "No journal entries yet. Orders, receipts and shipments post here "
            "as they happen."
        )
        self.journal.setModel(self.model)
        self.journal.view.selectionModel().selectionChanged.connect(self._entry_chosen)
        stretch_column(self.journal.view, 3)
        header = self.journal.view.horizontalHeader()
        for column, width in enumerate((100, 60, 130, 300)):
            header.resizeSection(column, width)
        self.search = SearchField("Search descriptions (Ctrl+F)")
        self.search.search.connect(lambda _t: self.load_journal())
        self.filter_label = QLabel("All accounts")
        self.filter_label.setObjectName("hint")
        all_accounts = QPushButton("All accounts")
        all_accounts.clicked.connect(self.clear_account)

        self.entry_title = heading("Select an entry", "detailTitle")
        self.entry_facts = QLabel(
            "Pick an account, then an entry, to see its lines "
            "and the document that posted it."
        )
        self.entry_facts.setObjectName("hint")
        self.entry_facts.setWordWrap(True)
        self.lines = DetailTable(
            ["Account", "Debit", "Credit", "Channel", "Memo"], right=(1, 2), stretch=0
        )
        self.source = QPushButton("Open source document")
        self.source.setEnabled(False)
        self.source.clicked.connect(self._open_source)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(8, 8, 0, 0)
        detail_layout.addWidget(self.entry_title)
        detail_layout.addWidget(self.entry_facts)
        detail_layout.addWidget(self.lines, 1)
        detail_layout.addWidget(self.source, 0, Qt.AlignmentFlag.AlignLeft)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(8, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(all_accounts)
        middle_layout.addLayout(bar)
        middle_layout.addWidget(self.filter_label)
        middle_layout.addWidget(self.journal, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(middle)
        right.addWidget(detail)
        right.setSizes([360, 280])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.accounts)
        splitter.addWidget(right)
        splitter.setSizes([330, 700])

        self.reports = ReportsTab(ctx)
        self.periods = PeriodsTab(ctx)
        self.close_tab = CloseChecklistWidget(ctx)
        self.close_tab.month_closed.connect(lambda _y, _m: self._month_closed())
        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, "Journal")
        self.tabs.addTab(self.reports, "Reports")
        self.tabs.addTab(self.periods, "Periods")
        self.tabs.addTab(self.close_tab, "Close")
        export = QPushButton("Export ledger…")
        export.clicked.connect(self.open_export)
        self.tabs.setCornerWidget(export)
        self.tabs.currentChanged.connect(lambda _i: self._tab_shown())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Ledger", "pageTitle"))
        layout.addWidget(self.tabs, 1)

    # --- loading ----------------------------------------------------------

    def refresh(self) -> None:
        self.ctx.ops.read(balances, self._show_accounts, label="Loading accounts")
        self.load_journal()
        self._tab_shown(force=True)

    def _tab_shown(self, force: bool = False) -> None:
        widget = self.tabs.currentWidget()
        if widget is self.reports and (force or not self.reports.loaded):
            self.reports.refresh()
        elif widget is self.periods and (force or not self.periods.loaded):
            self.periods.refresh()

    def _month_closed(self) -> None:
        self.periods.loaded = False
        if self.tabs.currentWidget() is self.periods:
            self.periods.refresh()

    def open_export(self) -> ExportLedgerDialog:
        """Open the export dialog, which runs the export itself."""
        dialog = ExportLedgerDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def on_changes(self, changes: Changes, visible: bool) -> None:
        self.reports.loaded = self.periods.loaded = False
        if changes.entries or changes.settings:
            super().on_changes(changes, visible)
        elif visible:
            self._tab_shown()

    def _show_accounts(self, rows: list[AccountBalance]) -> None:
        fmt = self.ctx.fmt
        shown = [r for r in rows if r.debit_total or r.credit_total]
        self.accounts.blockSignals(True)
        self.accounts.fill(
            [[r.code, r.name, fmt.money(r.balance)] for r in shown],
            ids=[r.code for r in shown],
        )
        self.accounts.blockSignals(False)

    def load_journal(self) -> None:
        flt = JournalFilter(account=self.account, text=self.search.text())
        self.ctx.ops.read(
            lambda s: entry_ids(s, flt), self._show_ids, label="Loading the journal"
        )

    def _show_ids(self, ids: list[int]) -> None:
        self.model.set_ids(ids)
        what = f"account {self.account}" if self.account else "all accounts"
        self.filter_label.setText(f"{self.ctx.fmt.number(len(ids))} entries, {what}")

    # --- drill-down -------------------------------------------------------

    def _account_chosen(self) -> None:
        items = self.accounts.selectedItems()
        if items:
            code = items[0].data(Qt.ItemDataRole.UserRole)
            if isinstance(code, str):
                self.account = code
                self.load_journal()

    def clear_account(self) -> None:
        self.account = None
        self.accounts.clearSelection()
        self.load_journal()

    def _entry_chosen(self, selected: QItemSelection, _old: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            entry_id = self.model.row_id(indexes[0].row())
            if entry_id is not None:
                self.show_entry(entry_id)

    def show_entry(self, entry_id: int) -> None:
        self.ctx.ops.read(
            lambda s: entry_detail(s, entry_id),
            self._show_entry,
            label="Loading the entry",
        )

    def _show_entry(self, detail: EntryDetail) -> None:
        fmt = self.ctx.fmt
        self.entry = detail
        row = detail.row
        self.entry_title.setText(f"Entry #{row.id} · {row.kind}")
        facts = [
            fmt.date(row.entry_date),
            row.description,
            f"recorded {fmt.datetime(detail.recorded_at)} by {detail.user}",
        ]
        if row.reverses_id:
            facts.append(f"reverses entry #{row.reverses_id}")
        if detail.reversed_by:
            facts.append(f"reversed by entry #{detail.reversed_by}")
        self.entry_facts.setText("\n".join(facts))
        self.lines.fill(
            [
                [
                    f"{ln.account} {ln.account_name}",
                    fmt.money(ln.debit) if ln.debit else "",
                    fmt.money(ln.credit) if ln.credit else "",
                    ln.channel or "",
                    (
                        f"tax {fmt.percent(ln.tax_rate)}"
                        if ln.tax_rate is not None
                        else ""
                    )
                    + (f" {ln.memo}" if ln.memo else ""),
                ]
                for ln in detail.lines
            ]
        )
        source = detail.source
        self.source.setEnabled(source is not None and source.kind != "entry")
        self.source.setText(f"Open {source.label}" if source else "No source document")

    def _open_source(self) -> None:
        source = self.entry.source if self.entry else None
        if source is None:
            return
        if source.order_id is not None:
            self.ctx.navigate("orders", source.order_id)
        elif source.variant_id is not None:
            self.ctx.navigate("products", source.variant_id)

    def show_record(self, record_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        position = self.model.position_of(record_id)
        if position is not None:
            self.journal.view.selectRow(position)
            self.journal.view.scrollTo(self.model.index(position, 0))
        self.show_entry(record_id)

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search.setFocus()
        self.search.selectAll()
