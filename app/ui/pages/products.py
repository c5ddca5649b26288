"""Products and stock: SKUs with stock per warehouse, the quantity each channel
is shown, the move history, and the stock dialogs."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.changes import Changes
from app.core.queries.products import (
    StockDetail,
    VariantRow,
    stock_detail,
    variant_ids,
    variant_rows,
)
from app.ui.pages.base import Page
from app.ui.pages.stock_dialogs import (
    AddProductDialog,
    AdjustDialog,
    CountDialog,
    FormDialog,
    ReceiveDialog,
    TransferDialog,
)
from app.ui.tablemodel import RIGHT, Column, LazyTableModel
from app.ui.widgets import (
    DetailTable,
    EmptyStateTable,
    SearchField,
    heading,
    show_hints,
    stretch_column,
    units_text,
)

REASONS = {
    "purchase": "Received",
    "opening": "Opening stock",
    "sale": "Shipped",
    "transfer_in": "Transfer in",
    "transfer_out": "Transfer out",
}


class ProductsPage(Page):
    key = "products"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        fmt = ctx.fmt
        self.selected_id: int | None = None
        self.detail: StockDetail | None = None
        columns: list[Column[VariantRow]] = [
            Column("SKU", lambda r: r.sku),
            Column("Product", lambda r: r.title),
            Column("Price", lambda r: fmt.price(r.price, r.price_currency), RIGHT),
            Column("On hand", lambda r: fmt.number(r.on_hand), RIGHT),
            Column("Reserved", lambda r: fmt.number(r.reserved), RIGHT),
            Column(
                "Available",
                lambda r: fmt.number(r.available),
                RIGHT,
                color=lambda r: "#b3261e" if r.low else None,
                tooltip=lambda r: (
                    f"reorder point {r.reorder_point}"
                    if r.reorder_point is not None
                    else ""
                ),
            ),
            Column("Stock value", lambda r: fmt.money(r.stock_value), RIGHT),
        ]
        self.model: LazyTableModel[VariantRow] = LazyTableModel(
            columns, lambda ids: ctx.read_now(lambda s: variant_rows(s, ids))
        )
        self.table = EmptyStateTable(
            "No SKUs match. Clear the search, or add a product with the button above."
        )
        self.table.setModel(self.model)
        self.table.view.selectionModel().selectionChanged.connect(self._selected)
        stretch_column(self.table.view, 1)
        header = self.table.view.horizontalHeader()
        for column, width in enumerate((150, 320, 90, 90, 90, 90)):
            header.resizeSection(column, width)
        self.search = SearchField("Search SKU, title or barcode (Ctrl+F)")
        self.search.search.connect(lambda _t: self.refresh())
        self.low_only = QCheckBox("Low stock only")
        self.low_only.toggled.connect(lambda _c: self.refresh())
        self.count = QLabel("")
        self.count.setObjectName("hint")

        add = QPushButton("Add product")
        add.setObjectName("primary")
        add.setToolTip("Add a product (Ctrl+N)")
        add.clicked.connect(self.new_record)
        self.buttons: list[QPushButton] = []
        title = QHBoxLayout()
        title.addWidget(heading("Products and stock", "pageTitle"))
        title.addWidget(self.count)
        title.addStretch(1)
        for text, tip, slot in (
            ("Receive…", "Receive units from a supplier (Ctrl+R)", self.receive),
            ("Adjust…", "Add or remove units with a reason", self.adjust),
            ("Transfer…", "Move units between warehouses", self.transfer),
            ("Count…", "Record a shelf count", self.count_stock),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            button.setEnabled(False)
            self.buttons.append(button)
            title.addWidget(button)
        title.addWidget(add)
        receive = QShortcut(QKeySequence("Ctrl+R"), self)
        receive.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        receive.activated.connect(self.receive)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.low_only)

        self.sku_title = heading("Select a SKU", "detailTitle")
        self.sku_facts = QLabel(
            "Pick a SKU to see its stock per warehouse, what each "
            "channel is shown and every stock move."
        )
        self.sku_facts.setObjectName("hint")
        self.sku_facts.setWordWrap(True)
        self.levels = DetailTable(
            ["Warehouse", "On hand", "Reserved", "Available"],
            right=(1, 2, 3),
            empty="No stock received yet. Use Receive… to add units.",
        )
        self.channels = DetailTable(
            ["Channel", "Buffer", "Shown"],
            right=(1, 2),
            empty="No channel is connected. Connect one on the Channels page.",
        )
        self.moves = DetailTable(
            ["When", "Warehouse", "Units", "Value", "Reason", "By", "Note"],
            right=(2, 3),
            empty="No stock has moved for this SKU yet.",
        )
        self.hinted = (self.levels, self.channels, self.moves)
        show_hints(self.hinted, False)
        self.moves.itemDoubleClicked.connect(self._open_move)
        stock_tab = QWidget()
        stock_layout = QHBoxLayout(stock_tab)
        for caption, table in (
            ("Per warehouse", self.levels),
            ("What each connected channel sees", self.channels),
        ):
            column = QVBoxLayout()
            column.addWidget(heading(caption, "subTitle"))
            column.addWidget(table)
            column.addStretch(1)
            stock_layout.addLayout(column, 1)
        tabs = QTabWidget()
        tabs.addTab(stock_tab, "Stock")
        tabs.addTab(self.moves, "Move history")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 8, 0, 0)
        right_layout.addWidget(self.sku_title)
        right_layout.addWidget(self.sku_facts)
        right_layout.addWidget(tabs, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setSizes([330, 330])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addLayout(title)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)

    def refresh(self) -> None:
        text, low = self.search.text(), self.low_only.isChecked()
        self.ctx.ops.read(
            lambda s: variant_ids(s, text, low_only=low),
            self._show_ids,
            label="Loading products",
        )

    def _show_ids(self, ids: list[int]) -> None:
        self.model.set_ids(ids)
        self.count.setText(self.ctx.fmt.count(len(ids), "SKU"))
        if self.selected_id is not None:
            self.show_record(self.selected_id)

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if not changes.variants and not changes.settings:
            return
        if not visible:
            self.stale = True
            return
        if changes.settings:
            self.refresh()
            return
        new = changes.variants - self.model.ids
        if new:
            self.selected_id = min(new)
            self.refresh()
        else:
            self.model.refresh_rows(changes.variants)
        if self.selected_id in changes.variants:
            self._load_detail(self.selected_id)

    def _selected(self, selected: QItemSelection, _old: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            variant_id = self.model.row_id(indexes[0].row())
            if variant_id is not None:
                self.selected_id = variant_id
                self._load_detail(variant_id)

    def _load_detail(self, variant_id: int) -> None:
        self.ctx.ops.read(
            lambda s: stock_detail(s, variant_id),
            self.show_detail,
            label="Loading stock",
        )

    def show_detail(self, detail: StockDetail) -> None:
        fmt = self.ctx.fmt
        self.detail = detail
        row = detail.row
        self.sku_title.setText(f"{row.sku} · {row.title}")
        facts = [f"{fmt.number(detail.sellable)} sellable"]
        if row.barcode:
            facts.append(f"barcode {row.barcode}")
        if detail.weight_g:
            facts.append(f"{fmt.number(detail.weight_g)} g")
        if detail.hs_code:
            facts.append(f"HS {detail.hs_code}")
        if row.reorder_point is not None:
            facts.append(f"reorder at {row.reorder_point}")
        facts.append(f"stock value {fmt.money(row.stock_value)}")
        self.sku_facts.setText(" · ".join(facts))
        show_hints(self.hinted, True)
        self.levels.fill(
            [
                [
                    f"{lv.warehouse} · {lv.warehouse_name}",
                    fmt.number(lv.on_hand),
                    fmt.number(lv.reserved),
                    fmt.number(lv.available),
                ]
                for lv in detail.levels
            ]
        )

        self.channels.fill(
            [
                [
                    f"{c.channel} ({c.kind})",
                    units_text(c.buffer_units)
                    + (
                        f" + {fmt.percent(c.buffer_percent)}"
                        if c.buffer_percent
                        else ""
                    ),
                    fmt.number(c.quantity),
                ]
                for c in detail.channels
            ]
        )

        self.moves.fill(
            [
                [
                    fmt.datetime(m.at),
                    m.warehouse,
                    f"{m.quantity:+d}",
                    fmt.money(m.value),
                    REASONS.get(m.reason, m.reason.replace("_", " ")),
                    m.user,
                    m.note or "",
                ]
                for m in detail.moves
            ],
            ids=[m.journal_entry_id for m in detail.moves],
        )
        for button in self.buttons:
            button.setEnabled(True)

    def _open_move(self, item) -> None:  # type: ignore[no-untyped-def]
        entry_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(entry_id, int):
            self.ctx.navigate("ledger", entry_id)

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

    # --- dialogs ----------------------------------------------------------

    def _run(self, dialog: FormDialog, label: str) -> None:
        dialog.accepted.connect(
            lambda: self.ctx.ops.write(dialog.prepared, label=label, parent=self)
        )
        dialog.open()

    def new_record(self) -> None:
        dialog = AddProductDialog(self.ctx, self)
        dialog.setObjectName("addProductDialog")
        self._run(dialog, "Adding the product")

    def receive(self) -> None:
        if self.detail is not None:
            dialog = ReceiveDialog(self.ctx, self.detail.row.sku, self)
            dialog.setObjectName("receiveDialog")
            self._run(dialog, f"Receiving {self.detail.row.sku}")

    def adjust(self) -> None:
        if self.detail is not None:
            self._run(
                AdjustDialog(self.ctx, self.detail.row.sku, self), "Adjusting stock"
            )

    def transfer(self) -> None:
        if self.detail is not None:
            self._run(
                TransferDialog(self.ctx, self.detail.row.sku, self),
                "Transferring stock",
            )

    def count_stock(self) -> None:
        if self.detail is not None:
            on_hand = {lv.warehouse: lv.on_hand for lv in self.detail.levels}
            self._run(
                CountDialog(self.ctx, self.detail.row.sku, on_hand, self),
                "Posting the count",
            )
