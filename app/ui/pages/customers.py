"""Customers: who buys, how often and for how much, and their orders."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.core.queries.customers import (
    CustomerDetail,
    CustomerRow,
    customer_detail,
    customer_ids,
    customer_rows,
)
from app.ui.pages.base import Page
from app.ui.pages.order_detail import STATUS_LABELS
from app.ui.tablemodel import RIGHT, Column, LazyTableModel
from app.ui.widgets import (
    DetailTable,
    EmptyStateTable,
    SearchField,
    heading,
    stretch_column,
)


class CustomersPage(Page):
    key = "customers"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        fmt = ctx.fmt
        self.selected_id: int | None = None
        self.detail: CustomerDetail | None = None
        columns: list[Column[CustomerRow]] = [
            Column("Name", lambda r: r.name),
            Column("E-mail", lambda r: r.email or ""),
            Column("Channel", lambda r: r.channel or ""),
            Column("Orders", lambda r: fmt.number(r.orders), RIGHT),
            Column("Lifetime value", lambda r: fmt.money(r.lifetime_value), RIGHT),
            Column(
                "Last order",
                lambda r: (
                    fmt.date(fmt.local_date(r.last_order_at)) if r.last_order_at else ""
                ),
            ),
        ]
        self.model: LazyTableModel[CustomerRow] = LazyTableModel(
            columns, lambda ids: ctx.read_now(lambda s: customer_rows(s, ids))
        )
        self.table = EmptyStateTable(
            "No customers yet. They appear here with their first order; "
            "clear the search if you typed one."
        )
        self.table.setModel(self.model)
        self.table.view.selectionModel().selectionChanged.connect(self._selected)
        stretch_column(self.table.view, 1)
        header = self.table.view.horizontalHeader()
        for column, width in enumerate((150, 200, 95, 70, 125)):
            header.resizeSection(column, width)
        self.search = SearchField("Search name, e-mail or company (Ctrl+F)")
        self.search.search.connect(lambda _t: self.refresh())
        self.count = QLabel("")
        self.count.setObjectName("hint")

        self.name = heading("Select a customer", "detailTitle")
        self.facts = QLabel("Pick a customer to see their orders.")
        self.facts.setObjectName("hint")
        self.facts.setWordWrap(True)
        self.orders = DetailTable(["Order", "Placed", "Status", "Total"], right=(3,))
        self.orders.itemDoubleClicked.connect(self._open_order)
        self.all_orders = QPushButton("Show in Orders")
        self.all_orders.setEnabled(False)
        self.all_orders.clicked.connect(self._show_in_orders)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.name)
        top.addStretch(1)
        top.addWidget(self.all_orders)
        right_layout.addLayout(top)
        right_layout.addWidget(self.facts)
        right_layout.addWidget(self.orders, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setSizes([690, 350])
        title = QHBoxLayout()
        title.addWidget(heading("Customers", "pageTitle"))
        title.addWidget(self.count)
        title.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addLayout(title)
        layout.addWidget(self.search)
        layout.addWidget(splitter, 1)

    def refresh(self) -> None:
        text = self.search.text()
        self.ctx.ops.read(
            lambda s: customer_ids(s, text), self._show_ids, label="Loading customers"
        )

    def _show_ids(self, ids: list[int]) -> None:
        self.model.set_ids(ids)
        self.count.setText(self.ctx.fmt.count(len(ids), "customer"))
        if self.selected_id is not None:
            self.show_record(self.selected_id)

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if changes.customers or changes.orders:
            super().on_changes(changes, visible)

    def _selected(self, selected: QItemSelection, _old: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            customer_id = self.model.row_id(indexes[0].row())
            if customer_id is not None:
                self.selected_id = customer_id
                self._load(customer_id)

    def _load(self, customer_id: int) -> None:
        self.ctx.ops.read(
            lambda s: customer_detail(s, customer_id),
            self.show_detail,
            label="Loading the customer",
        )

    def show_detail(self, detail: CustomerDetail) -> None:
        fmt = self.ctx.fmt
        self.detail = detail
        row = detail.row
        self.name.setText(row.name)
        facts = [x for x in (row.email, detail.company, detail.phone, row.country) if x]
        facts.append(fmt.count(row.orders, "order"))
        facts.append(f"lifetime value {fmt.money(row.lifetime_value)}")
        self.facts.setText(" · ".join(facts))
        self.orders.fill(
            [
                [
                    o.number,
                    fmt.short_datetime(o.placed_at),
                    STATUS_LABELS.get(o.status, o.status),
                    fmt.money(o.total, o.currency),
                ]
                for o in detail.orders
            ],
            ids=[o.id for o in detail.orders],
        )
        self.all_orders.setEnabled(True)

    def _open_order(self, item: QTableWidgetItem) -> None:
        order_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(order_id, int):
            self.ctx.navigate("orders", order_id)

    def _show_in_orders(self) -> None:
        if self.detail is not None:
            self.ctx.navigate("orders-customer", self.detail.row.id)

    def show_record(self, record_id: int) -> None:
        self.selected_id = record_id
        position = self.model.position_of(record_id)
        if position is not None:
            self.table.view.selectRow(position)
        self._load(record_id)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()
