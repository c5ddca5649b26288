"""The order panel: header, lines, tax and discounts, shipments, the journal
entries the order posted, and its audit timeline."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.queries.orders import OrderDetail
from app.ui.context import AppContext
from app.ui.widgets import DetailTable, heading, show_hints

STATUS_LABELS = {
    "open": "Open",
    "held": "Held",
    "partially_shipped": "Partly shipped",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}

ACTION_LABELS = {
    "order.capture": "Order captured",
    "order.ship": "Shipped",
    "order.cancel": "Cancelled",
    "order.update": "Changed",
}


class OrderPanel(QWidget):
    """Shows one :class:`OrderDetail`; emits ``ship``/``cancel`` requests."""

    ship_requested = Signal(int)
    cancel_requested = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.detail: OrderDetail | None = None
        self.title = heading("Select an order", "detailTitle")
        self.status = QLabel("")
        self.status.setObjectName("badge")
        self.status.setVisible(False)
        self.summary = QLabel(
            "Pick an order on the left to see its lines, "
            "shipments, journal entries and history."
        )
        self.summary.setWordWrap(True)
        self.summary.setObjectName("hint")
        self.ship_button = QPushButton("Ship…")
        self.ship_button.setToolTip("Ship the reserved units (Ctrl+Shift+S)")
        self.cancel_button = QPushButton("Cancel order…")
        self.ship_button.clicked.connect(self._ship)
        self.cancel_button.clicked.connect(self._cancel)
        self.ship_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

        self.lines = DetailTable(
            ["#", "SKU", "Description", "Qty", "Shipped", "Short", "Price", "Amount"],
            right=(3, 4, 5, 6, 7),
        )
        self.taxes = DetailTable(
            ["Applies to", "Tax", "Rate", "Taxable", "Tax"],
            right=(2, 3, 4),
            empty="No tax was charged on this order.",
        )
        self.discounts = DetailTable(
            ["Code", "Kind", "Amount"],
            right=(2,),
            empty="No discount was applied to this order.",
        )
        self.shipments = DetailTable(
            ["Shipped", "Warehouse", "Carrier", "Tracking", "Units", "Cost of goods"],
            right=(4, 5),
            empty="Not shipped yet.",
        )
        self.entries = DetailTable(
            ["Date", "Entry", "Description", "Amount"],
            right=(3,),
            empty="No journal entries for this order.",
        )
        self.entries.itemDoubleClicked.connect(self._open_entry)
        self.timeline = DetailTable(
            ["When", "Who", "What", "Note"],
            empty="No history was recorded for this order.",
        )
        self.hinted = (
            self.taxes,
            self.discounts,
            self.shipments,
            self.entries,
            self.timeline,
        )
        show_hints(self.hinted, False)

        money_tab = QWidget()
        money_layout = QVBoxLayout(money_tab)
        money_layout.addWidget(heading("Tax lines", "subTitle"))
        money_layout.addWidget(self.taxes, 2)
        money_layout.addWidget(heading("Discounts", "subTitle"))
        money_layout.addWidget(self.discounts, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.lines, "Lines")
        self.tabs.addTab(money_tab, "Tax and discounts")
        self.tabs.addTab(self.shipments, "Shipments")
        self.tabs.addTab(self.entries, "Journal")
        self.tabs.addTab(self.timeline, "Timeline")

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status)
        top.addStretch(1)
        top.addWidget(self.ship_button)
        top.addWidget(self.cancel_button)
        self.address = QLabel("")
        self.address.setWordWrap(True)
        self.address.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.totals = QLabel("")
        self.totals.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
        )
        self.address.setFixedWidth(250)
        side = QVBoxLayout()
        side.setContentsMargins(12, 30, 0, 0)
        side.addWidget(self.address)
        side.addWidget(self.totals)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.tabs, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addLayout(body, 1)

    def clear(self) -> None:
        self.detail = None
        self.title.setText("Select an order")
        self.status.setText("")
        self.status.setVisible(False)
        self.address.setText("")
        self.totals.setText("")
        for table in (
            self.lines,
            self.taxes,
            self.discounts,
            self.shipments,
            self.entries,
            self.timeline,
        ):
            table.setRowCount(0)
        show_hints(self.hinted, False)
        self.ship_button.setEnabled(False)
        self.cancel_button.setEnabled(False)

    def show_detail(self, detail: OrderDetail) -> None:
        self.detail = detail
        fmt = self.ctx.fmt
        row = detail.row
        currency = row.currency
        self.title.setText(f"Order {row.number}")
        label = STATUS_LABELS.get(row.status, row.status)
        self.status.setText(label + (" · oversold" if row.oversold else ""))
        self.status.setVisible(True)
        self.status.setProperty(
            "tone", "bad" if row.oversold or row.status == "held" else "ok"
        )
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        basis = (
            "prices include tax" if detail.prices_include_tax else "prices exclude tax"
        )
        terms = "paid" if detail.payment_terms == "paid" else "on credit terms"
        note = f"{row.channel} · {fmt.datetime(row.placed_at)} · {terms} · {basis}"
        if detail.warehouse:
            note += f" · ships from {detail.warehouse}"
        if row.hold_reason:
            note += f"\nHeld: {row.hold_reason}"
        self.summary.setText(note)
        lines = detail.ship_to
        if lines and lines[0] == row.customer:
            lines = lines[1:]
        contact = "<br>".join(lines) or "No ship-to address"
        if detail.email:
            contact += f"<br><span style='color:#667'>{detail.email}</span>"
        self.address.setText(f"<b>{row.customer or 'Guest'}</b><br>{contact}")
        money = [
            ("Subtotal", fmt.money(detail.subtotal, currency)),
            (
                "Discounts",
                ("−" if detail.discount_total else "")
                + fmt.money(detail.discount_total, currency),
            ),
            ("Shipping", fmt.money(detail.shipping, currency)),
            ("Tax", fmt.money(detail.tax_total, currency)),
            ("<b>Total</b>", f"<b>{fmt.money(row.total, currency)}</b>"),
        ]
        cells = "".join(
            f"<tr><td>{name}&nbsp;&nbsp;</td><td align=right>{value}</td></tr>"
            for name, value in money
        )
        self.totals.setText(f"<table>{cells}</table>")
        show_hints(self.hinted, True)
        self.lines.fill(
            [
                [
                    str(ln.line_no),
                    ln.sku,
                    ln.description,
                    fmt.number(ln.quantity),
                    fmt.number(ln.shipped),
                    fmt.number(ln.shortfall) if ln.shortfall else "",
                    fmt.price(ln.unit_price, currency),
                    fmt.money(ln.list_amount - ln.discount_amount, currency),
                ]
                for ln in detail.lines
            ]
        )
        for r, ln in enumerate(detail.lines):
            if ln.shortfall:
                cell = self.lines.item(r, 5)
                if cell is not None:
                    cell.setForeground(Qt.GlobalColor.red)
        self.taxes.fill(
            [
                [
                    f"line {t.line_no}" if t.line_no else "shipping",
                    t.name,
                    fmt.percent(t.rate),
                    fmt.money(t.taxable, currency),
                    fmt.money(t.amount, currency),
                ]
                for t in detail.taxes
            ]
        )
        self.discounts.fill(
            [
                [
                    d.code or d.source,
                    d.kind.replace("_", " "),
                    fmt.money(d.amount, currency),
                ]
                for d in detail.discounts
            ]
        )
        self.shipments.fill(
            [
                [
                    fmt.datetime(s.shipped_at),
                    s.warehouse,
                    s.carrier or "",
                    s.tracking_number or "",
                    fmt.number(s.units),
                    fmt.money(s.cogs_shop),
                ]
                for s in detail.shipments
            ]
        )
        self.entries.fill(
            [
                [
                    fmt.date(e.entry_date),
                    f"#{e.id} {e.kind}",
                    e.description,
                    fmt.money(e.amount),
                ]
                for e in detail.entries
            ],
            ids=[e.id for e in detail.entries],
        )
        self.timeline.fill(
            [
                [
                    fmt.datetime(t.at),
                    t.user,
                    ACTION_LABELS.get(t.action, t.action),
                    t.reason or "",
                ]
                for t in detail.timeline
            ]
        )
        self.ship_button.setEnabled(detail.can_ship)
        self.cancel_button.setEnabled(detail.can_cancel)

    def _ship(self) -> None:
        if self.detail is not None and self.detail.can_ship:
            self.ship_requested.emit(self.detail.row.id)

    def _cancel(self) -> None:
        if self.detail is not None and self.detail.can_cancel:
            self.cancel_requested.emit(self.detail.row.id)

    def _open_entry(self, item: QTableWidgetItem) -> None:
        entry_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(entry_id, int):
            self.ctx.navigate("ledger", entry_id)
