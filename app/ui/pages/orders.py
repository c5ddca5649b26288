"""Orders: a filtered list, the order panel, new order, ship and cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QDate, QItemSelection, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
)

from app.core import orders as order_service
from app.core import shipments
from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.queries.orders import (
    STATUSES,
    OrderDetail,
    OrderFilter,
    OrderRow,
    order_detail,
    order_ids,
    order_rows,
)
from app.core.queries.settings import channels
from app.core.uow import UnitOfWork
from app.ui.pages.base import Page
from app.ui.pages.order_detail import STATUS_LABELS, OrderPanel
from app.ui.pages.order_dialogs import NewOrderDialog, ShipDialog
from app.ui.tablemodel import RIGHT, Column, LazyTableModel
from app.ui.widgets import EmptyStateTable, SearchField, heading, stretch_column

DATE_RANGES = (
    "Any date",
    "Today",
    "Last 7 days",
    "Last 30 days",
    "This month",
    "Custom",
)


class OrdersPage(Page):
    key = "orders"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        fmt = ctx.fmt
        self.customer_id: int | None = None
        self.selected_id: int | None = None
        columns: list[Column[OrderRow]] = [
            Column("Order", lambda r: r.number),
            Column("Placed", lambda r: fmt.datetime(r.placed_at)),
            Column("Channel", lambda r: r.channel),
            Column("Customer", lambda r: r.customer),
            Column(
                "Status",
                lambda r: (
                    STATUS_LABELS.get(r.status, r.status)
                    + (" · oversold" if r.oversold else "")
                ),
                color=lambda r: (
                    "#b3261e"
                    if r.oversold or r.status == "held"
                    else "#667085"
                    if r.status == "cancelled"
                    else None
                ),
            ),
            Column("Items", lambda r: fmt.number(r.items), RIGHT),
            Column("Total", lambda r: fmt.money(r.total, r.currency), RIGHT),
        ]
        self.model: LazyTableModel[OrderRow] = LazyTableModel(
            columns, lambda ids: ctx.read_now(lambda s: order_rows(s, ids))
        )
        self.table = EmptyStateTable(
            "No orders match. Clear the filters, or press Ctrl+N to enter an order."
        )
        self.table.setModel(self.model)
        self.table.view.selectionModel().selectionChanged.connect(self._selected)
        stretch_column(self.table.view, 3)
        header = self.table.view.horizontalHeader()
        for column, width in enumerate((100, 150, 120, 220, 150, 70, 110)):
            header.resizeSection(column, width)

        self.search = SearchField("Search order number, customer or e-mail (Ctrl+F)")
        self.search.search.connect(lambda _text: self.refresh())
        self.channel = QComboBox()
        self.channel.addItem("All channels", None)
        self.status = QComboBox()
        self.status.addItem("Any status", None)
        for status in STATUSES:
            self.status.addItem(STATUS_LABELS[status], status)
        self.status.addItem("Oversold", "oversold")
        self.range = QComboBox()
        self.range.addItems(DATE_RANGES)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        self.to_label = QLabel("to")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
            edit.setVisible(False)
            edit.dateChanged.connect(lambda _d: self.refresh())
        for combo in (self.channel, self.status):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.range.currentIndexChanged.connect(self._range_changed)
        self.customer_chip = QPushButton("")
        self.customer_chip.setObjectName("chip")
        self.customer_chip.setVisible(False)
        self.customer_chip.clicked.connect(self.clear_customer)
        self.count = QLabel("")
        self.count.setObjectName("hint")

        new = QPushButton("New order")
        new.setToolTip("Enter a manual order (Ctrl+N)")
        new.setObjectName("primary")
        new.clicked.connect(self.new_record)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 2)
        filters.addWidget(self.channel)
        filters.addWidget(self.status)
        filters.addWidget(self.range)
        filters.addWidget(self.date_from)
        filters.addWidget(self.to_label)
        filters.addWidget(self.date_to)
        filters.addWidget(self.customer_chip)
        self.to_label.setVisible(False)
        title = QHBoxLayout()
        title.addWidget(heading("Orders", "pageTitle"))
        title.addWidget(self.count)
        title.addStretch(1)
        title.addWidget(new)

        self.panel = OrderPanel(ctx)
        self.panel.ship_requested.connect(self.ship)
        self.panel.cancel_requested.connect(self.cancel)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([290, 370])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addLayout(title)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

    # --- filters ----------------------------------------------------------

    def _range_changed(self) -> None:
        custom = self.range.currentText() == "Custom"
        for widget in (self.date_from, self.date_to, self.to_label):
            widget.setVisible(custom)
        self.refresh()

    def _dates(self) -> tuple[date | None, date | None]:
        today = self.ctx.fmt.local_date(datetime.now(UTC))
        choice = self.range.currentText()
        if choice == "Today":
            return today, today
        if choice == "Last 7 days":
            return today - timedelta(days=6), today
        if choice == "Last 30 days":
            return today - timedelta(days=29), today
        if choice == "This month":
            return today.replace(day=1), today
        if choice == "Custom":
            return self.date_from.date().toPython(), self.date_to.date().toPython()  # type: ignore[return-value]
        return None, None

    def current_filter(self) -> OrderFilter:
        date_from, date_to = self._dates()
        status = self.status.currentData()
        return OrderFilter(
            text=self.search.text(),
            channel_id=self.channel.currentData(),
            status=None if status == "oversold" else status,
            oversold_only=status == "oversold",
            date_from=date_from,
            date_to=date_to,
            customer_id=self.customer_id,
        )

    def show_customer(self, customer_id: int, name: str) -> None:
        self.customer_id = customer_id
        self.customer_chip.setText(f"Customer: {name}  ✕")
        self.customer_chip.setVisible(True)
        self.refresh()

    def clear_customer(self) -> None:
        self.customer_id = None
        self.customer_chip.setVisible(False)
        self.refresh()

    # --- loading ----------------------------------------------------------

    def refresh(self) -> None:
        if self.channel.count() == 1:
            for channel in self.ctx.read_now(channels):
                self.channel.addItem(channel.name, channel.id)
        flt = self.current_filter()
        self.ctx.ops.read(
            lambda s: order_ids(s, flt), self._show_ids, label="Loading orders"
        )

    def _show_ids(self, ids: list[int]) -> None:
        self.model.set_ids(ids)
        self.count.setText(self.ctx.fmt.count(len(ids), "order"))
        if self.selected_id is not None:
            self.show_record(self.selected_id)

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if not changes.orders:
            return
        if visible:
            self.refresh()
            if self.selected_id in changes.orders:
                self._load_detail(self.selected_id)
        else:
            self.stale = True

    def _selected(self, selected: QItemSelection, _old: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        order_id = self.model.row_id(indexes[0].row())
        if order_id is not None and order_id != self.panel_id():
            self.selected_id = order_id
            self._load_detail(order_id)

    def panel_id(self) -> int | None:
        return self.panel.detail.row.id if self.panel.detail else None

    def _load_detail(self, order_id: int) -> None:
        self.ctx.ops.read(
            lambda s: order_detail(s, order_id),
            self.panel.show_detail,
            label="Loading the order",
        )

    def show_record(self, record_id: int) -> None:
        self.selected_id = record_id
        position = self.model.position_of(record_id)
        if position is not None:
            self.table.view.selectRow(position)
            self.table.view.scrollTo(self.model.index(position, 0))
        self._load_detail(record_id)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # --- actions ----------------------------------------------------------

    def new_record(self) -> None:
        dialog = NewOrderDialog(self.ctx, self)
        dialog.setObjectName("newOrderDialog")
        dialog.accepted.connect(lambda: self.capture(dialog))
        dialog.open()

    def capture(self, dialog: NewOrderDialog) -> None:
        order = dialog.order
        if order is None:
            return

        def done(result: order_service.CaptureResult) -> None:
            self.selected_id = result.order_id

        self.ctx.ops.write(
            lambda uow: order_service.capture(uow, order),
            done,
            label="Creating the order",
            parent=self,
        )

    def ship(self, order_id: int) -> None:
        detail = self.panel.detail
        if detail is None or detail.row.id != order_id:
            return
        dialog = ShipDialog(self.ctx, detail, self)
        dialog.setObjectName("shipDialog")
        dialog.accepted.connect(lambda: self.ship_with(detail, dialog))
        dialog.open()

    def ship_with(self, detail: OrderDetail, dialog: ShipDialog) -> None:
        # Read the dialog here, on the GUI thread: it is deleted once closed.
        quantities = dialog.quantities()
        label = f"Shipping order {detail.row.number}"
        try:
            info = dialog.info()
        except ValidationError as exc:
            self.ctx.ops.report_error(label, exc, self)
            return

        def action(uow: UnitOfWork) -> tuple[int, Changes]:
            return shipments.ship(uow, detail.row.id, quantities=quantities, info=info)

        self.ctx.ops.write(action, label=label, parent=self)

    def cancel(self, order_id: int) -> None:
        detail = self.panel.detail
        if detail is None:
            return
        reason, ok = QInputDialog.getText(
            self,
            f"Cancel order {detail.row.number}",
            "The unshipped units go back to stock and the posting is reversed.\n"
            "Reason for the audit trail:",
            text="customer asked to cancel",
        )
        if ok:
            self.cancel_with(order_id, reason.strip() or "cancelled")

    def cancel_with(self, order_id: int, reason: str) -> None:
        self.ctx.ops.write(
            lambda uow: order_service.cancel_order(uow, order_id, reason=reason),
            label="Cancelling the order",
            parent=self,
        )
