"""Dialogs of the Orders page: a new manual order, shipping and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.money import parse_price, to_minor
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.queries.orders import OrderDetail
from app.core.queries.products import SkuMatch, lookup_sku, search_skus
from app.core.queries.settings import ChannelSettings, channels
from app.core.shipments import ShipmentInfo
from app.ui.context import AppContext
from app.ui.widgets import configure_table


def _price_text(value: Decimal | None) -> str:
    return f"{value:.2f}" if value is not None else "0.00"


class NewOrderDialog(QDialog):
    """A manual order: SKUs by typing or scanning, quantities, ship-to address.

    Type part of a SKU or title and pick from the list, or scan a barcode
    and press Enter. Scanning the same code again adds one more unit.
    """

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("New manual order")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 620)
        self.matches: dict[str, SkuMatch] = {}

        self.channel = QComboBox()
        for channel in ctx.read_now(channels):
            if channel.kind in ("manual", "pos", "wholesale"):
                self.channel.addItem(channel.name, channel)
        self.sku = QLineEdit()
        self.sku.setObjectName("skuInput")
        self.sku.setPlaceholderText("Type a SKU or product name, or scan a barcode")
        self._names = QStringListModel(self)
        completer = QCompleter(self._names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self._add_from_text)
        self.sku.setCompleter(completer)
        self.sku.textEdited.connect(self._suggest)
        self.sku.returnPressed.connect(lambda: self._add_from_text(self.sku.text()))
        add = QPushButton("Add")
        add.clicked.connect(lambda: self._add_from_text(self.sku.text()))
        self.message = QLabel("")
        self.message.setObjectName("hint")

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["SKU", "Product", "Available", "Qty", "Unit price"]
        )
        configure_table(self.table)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        remove = QPushButton("Remove line")
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))

        self.name = QLineEdit()
        self.email = QLineEdit()
        self.line1 = QLineEdit()
        self.city = QLineEdit()
        self.postcode = QLineEdit()
        self.country = QLineEdit(ctx.shop.country)
        self.country.setMaxLength(2)
        self.shipping = QLineEdit("0.00")
        self.code = QLineEdit()
        self.code.setPlaceholderText("optional discount code")
        address = QGroupBox("Customer and ship-to address")
        form = QGridLayout(address)
        for row, (label, widget) in enumerate(
            [("Name", self.name), ("E-mail", self.email), ("Street", self.line1)]
        ):
            form.addWidget(QLabel(label), row, 0)
            form.addWidget(widget, row, 1)
        for row, (label, widget) in enumerate(
            [
                ("City", self.city),
                ("Postcode", self.postcode),
                ("Country", self.country),
            ]
        ):
            form.addWidget(QLabel(label), row, 2)
            form.addWidget(widget, row, 3)
        extras = QFormLayout()
        extras.addRow(f"Shipping ({ctx.shop.currency})", self.shipping)
        extras.addRow("Discount code", self.code)

        top = QFormLayout()
        top.addRow("Channel", self.channel)
        scan = QHBoxLayout()
        scan.addWidget(self.sku, 1)
        scan.addWidget(add)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create order")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(scan)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(address)
        layout.addLayout(extras)
        layout.addWidget(buttons)
        self.order: OrderInput | None = None

    def _suggest(self, text: str) -> None:
        if len(text.strip()) < 2:
            return
        found = self.ctx.read_now(lambda s: search_skus(s, text, limit=15))
        for match in found:
            self.matches[f"{match.sku} · {match.title}"] = match
        self._names.setStringList([f"{m.sku} · {m.title}" for m in found])

    def add_sku(self, code: str, quantity: int = 1) -> bool:
        """Add a SKU by barcode, SKU or completer text; True when found."""
        match = self.matches.get(code)
        if match is None:
            match = self.ctx.read_now(lambda s: lookup_sku(s, code.split(" · ")[0]))
        if match is None:
            self.message.setText(
                f"No SKU or barcode {code!r}; check the code or add the product"
            )
            return False
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.text() == match.sku:
                spin = self.table.cellWidget(row, 3)
                if isinstance(spin, QSpinBox):
                    spin.setValue(spin.value() + quantity)
                self.message.setText(f"{match.sku}: one more")
                return True
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate(
            [match.sku, match.title, self.ctx.fmt.number(match.available)]
        ):
            cell = QTableWidgetItem(text)
            cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, column, cell)
        spin = QSpinBox()
        spin.setRange(1, 100_000)
        spin.setValue(quantity)
        self.table.setCellWidget(row, 3, spin)
        self.table.setItem(row, 4, QTableWidgetItem(_price_text(match.price)))
        self.table.resizeColumnsToContents()
        self.message.setText(f"Added {match.sku} ({match.available} available)")
        return True

    def _add_from_text(self, text: str) -> None:
        if text.strip() and self.add_sku(text.strip()):
            self.sku.clear()

    def build_order(self) -> OrderInput:
        """Turn the form into an :class:`OrderInput`; price errors name the line."""
        lines = []
        for row in range(self.table.rowCount()):
            sku_item, price_item = self.table.item(row, 0), self.table.item(row, 4)
            spin = self.table.cellWidget(row, 3)
            assert sku_item is not None and isinstance(spin, QSpinBox)
            price = price_item.text().strip() if price_item is not None else "0"
            lines.append(LineInput(sku_item.text(), spin.value(), price))
        channel: ChannelSettings | None = self.channel.currentData()
        name = self.name.text().strip()
        ship_to = None
        if self.line1.text().strip() or self.postcode.text().strip():
            ship_to = Address(
                name=name,
                line1=self.line1.text().strip(),
                city=self.city.text().strip(),
                postcode=self.postcode.text().strip() or None,
                country=self.country.text().strip().upper() or None,
            )
        customer = None
        if name or self.email.text().strip():
            customer = CustomerInput(
                name=name,
                email=self.email.text().strip() or None,
                country=self.country.text().strip().upper() or None,
            )
        return OrderInput(
            channel=channel.name if channel else "Manual",
            lines=lines,
            placed_at=datetime.now(UTC),
            ship_to=ship_to,
            customer=customer,
            shipping=self.shipping.text().strip() or "0",
            discount_codes=[self.code.text().strip()]
            if self.code.text().strip()
            else [],
        )

    def _accept(self) -> None:
        if self.table.rowCount() == 0:
            self.message.setText("Add at least one SKU before creating the order")
            return
        self.order = self.build_order()
        self.accept()


class ShipDialog(QDialog):
    """Choose how many reserved units of each line ship, and the carrier."""

    def __init__(
        self, ctx: AppContext, detail: OrderDetail, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Ship order {detail.row.number}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.detail = detail
        self.spins: dict[int, QSpinBox] = {}
        lines = QGroupBox("Units to ship (reserved units only)")
        grid = QGridLayout(lines)
        for row, line in enumerate(
            ln for ln in detail.lines if ln.open - ln.shortfall > 0
        ):
            spin = QSpinBox()
            spin.setRange(0, line.open - line.shortfall)
            spin.setValue(line.open - line.shortfall)
            self.spins[line.line_no] = spin
            grid.addWidget(QLabel(f"{line.sku}  {line.description}"), row, 0)
            grid.addWidget(spin, row, 1)
            if line.shortfall:
                grid.addWidget(QLabel(f"{line.shortfall} short"), row, 2)
        self.carrier = QComboBox()
        self.carrier.setEditable(True)
        self.carrier.addItems(["Royal Mail", "DPD", "Evri", "UPS", "DHL", "Collected"])
        self.service = QLineEdit()
        self.tracking = QLineEdit()
        self.weight = QSpinBox()
        self.weight.setRange(0, 1_000_000)
        self.weight.setSuffix(" g")
        self.currency = ctx.shop.currency
        self.label_cost = QLineEdit("0.00")
        form = QFormLayout()
        form.addRow("Carrier", self.carrier)
        form.addRow("Service", self.service)
        form.addRow("Tracking number", self.tracking)
        form.addRow("Parcel weight", self.weight)
        form.addRow(f"Label cost ({self.currency})", self.label_cost)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Ship")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(lines)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def quantities(self) -> dict[int, int] | None:
        """Return line number -> units, or None when everything reserved ships."""
        chosen = {no: spin.value() for no, spin in self.spins.items() if spin.value()}
        full = all(spin.value() == spin.maximum() for spin in self.spins.values())
        return None if full else chosen

    def info(self) -> ShipmentInfo:
        """Return the carrier details; a bad label cost raises ValidationError."""
        cost = to_minor(
            parse_price(self.label_cost.text() or "0", "label cost"), self.currency
        )
        return ShipmentInfo(
            carrier=self.carrier.currentText().strip() or None,
            service=self.service.text().strip() or None,
            tracking_number=self.tracking.text().strip() or None,
            weight_g=self.weight.value() or None,
            label_cost=cost or None,
        )
