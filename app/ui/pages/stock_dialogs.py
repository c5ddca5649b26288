"""Dialogs of the Products page: add a product, receive, adjust, transfer, count.

Each dialog only collects values; :meth:`action` returns the function that
the write thread runs with a unit of work, so every change goes through the
core services and their checks.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core import catalog, inventory
from app.core.changes import Changes
from app.core.exceptions import ValidationError
from app.core.money import currency_exponent, parse_price
from app.core.queries.products import WarehouseView, warehouses
from app.core.uow import UnitOfWork
from app.ui.context import AppContext

Action = Callable[[UnitOfWork], object]


class FormDialog(QDialog):
    """A titled form with OK and Cancel; subclasses add rows and ``action``."""

    def __init__(self, ctx: AppContext, title: str, intro: str, parent: QWidget | None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(440)
        self.form = QFormLayout()
        self.message = QLabel("")
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        hint = QLabel(intro)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def warehouse_box(self) -> QComboBox:
        box = QComboBox()
        for warehouse in self.ctx.read_now(warehouses):
            box.addItem(_warehouse_label(warehouse), warehouse.code)
        return box

    def action(self) -> Action:
        raise NotImplementedError

    def _accept(self) -> None:
        # Values that fail to parse are shown here; the service checks the rest.
        try:
            self.prepared = self.action()
        except ValidationError as exc:
            self.message.setText(str(exc))
            return
        self.accept()


def _warehouse_label(warehouse: WarehouseView) -> str:
    return f"{warehouse.code} · {warehouse.name}"


def _spin(low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _unit_cost_minor(text: str, currency: str) -> Decimal:
    """Return a major-unit cost such as "4.125" as minor units (412.5)."""
    return parse_price(text or "0", "unit cost").scaleb(currency_exponent(currency))


class AddProductDialog(FormDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(
            ctx,
            "Add product",
            "A product with one SKU. Add stock with Receive once it exists.",
            parent,
        )
        self.title = QLineEdit()
        self.sku = QLineEdit()
        self.price = QLineEdit()
        self.price.setPlaceholderText("e.g. 14.00")
        self.barcode = QLineEdit()
        self.weight = _spin(0, 1_000_000, 0)
        self.weight.setSuffix(" g")
        self.hs_code = QLineEdit()
        self.reorder = _spin(0, 1_000_000, 5)
        self.form.addRow("Title", self.title)
        self.form.addRow("SKU", self.sku)
        self.form.addRow(f"Price ({ctx.shop.currency})", self.price)
        self.form.addRow("Barcode", self.barcode)
        self.form.addRow("Weight", self.weight)
        self.form.addRow("HS code", self.hs_code)
        self.form.addRow("Reorder point", self.reorder)

    def action(self) -> Action:
        price = parse_price(self.price.text()) if self.price.text().strip() else None
        variant = catalog.VariantInput(
            sku=self.sku.text().strip(),
            price=price,
            barcode=self.barcode.text().strip() or None,
            weight_g=self.weight.value() or None,
            hs_code=self.hs_code.text().strip() or None,
            reorder_point=self.reorder.value(),
        )
        title = self.title.text()

        def run(uow: UnitOfWork) -> Changes:
            product = catalog.create_product(uow, title, [variant])
            return Changes(variants={v.id for v in product.variants})

        return run


class ReceiveDialog(FormDialog):
    def __init__(
        self, ctx: AppContext, sku: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            ctx,
            f"Receive {sku}",
            "Units arriving from a supplier. Posts Dr Inventory, Cr Accounts payable.",
            parent,
        )
        self.sku = sku
        self.warehouse = self.warehouse_box()
        self.quantity = _spin(1, 1_000_000, 10)
        self.cost = QLineEdit()
        self.cost.setPlaceholderText("cost per unit, e.g. 4.20")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("purchase order or delivery note")
        self.form.addRow("Warehouse", self.warehouse)
        self.form.addRow("Quantity", self.quantity)
        self.form.addRow(f"Unit cost ({ctx.shop.currency})", self.cost)
        self.form.addRow("Reference", self.reference)

    def action(self) -> Action:
        cost = _unit_cost_minor(self.cost.text(), self.ctx.shop.currency)
        sku, warehouse, qty = (
            self.sku,
            self.warehouse.currentData(),
            self.quantity.value(),
        )
        reference = self.reference.text().strip() or None
        return lambda uow: inventory.receive(
            uow, sku, warehouse, qty, cost, reference=reference
        )


class AdjustDialog(FormDialog):
    def __init__(
        self, ctx: AppContext, sku: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            ctx,
            f"Adjust {sku}",
            "Add or remove units with a reason "
            "(negative removes). The value goes to account 5100.",
            parent,
        )
        self.sku = sku
        self.warehouse = self.warehouse_box()
        self.delta = _spin(-1_000_000, 1_000_000, -1)
        self.reason = QComboBox()
        self.reason.addItems([r for r in inventory.ADJUSTMENT_REASONS if r != "count"])
        self.note = QLineEdit()
        self.form.addRow("Warehouse", self.warehouse)
        self.form.addRow("Units (+/−)", self.delta)
        self.form.addRow("Reason", self.reason)
        self.form.addRow("Note", self.note)

    def action(self) -> Action:
        sku, warehouse, delta = (
            self.sku,
            self.warehouse.currentData(),
            self.delta.value(),
        )
        reason, note = self.reason.currentText(), self.note.text().strip() or None
        return lambda uow: inventory.adjust(
            uow, sku, warehouse, delta, reason, note=note
        )


class TransferDialog(FormDialog):
    def __init__(
        self, ctx: AppContext, sku: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            ctx,
            f"Transfer {sku}",
            "Move units between warehouses; their FIFO cost moves with them.",
            parent,
        )
        self.sku = sku
        self.source = self.warehouse_box()
        self.target = self.warehouse_box()
        if self.target.count() > 1:
            self.target.setCurrentIndex(1)
        self.quantity = _spin(1, 1_000_000, 1)
        self.note = QLineEdit()
        self.form.addRow("From", self.source)
        self.form.addRow("To", self.target)
        self.form.addRow("Quantity", self.quantity)
        self.form.addRow("Note", self.note)

    def action(self) -> Action:
        sku, qty = self.sku, self.quantity.value()
        source, target = self.source.currentData(), self.target.currentData()
        note = self.note.text().strip() or None
        return lambda uow: inventory.transfer(uow, sku, source, target, qty, note=note)


class CountDialog(FormDialog):
    def __init__(
        self,
        ctx: AppContext,
        sku: str,
        on_hand: dict[str, int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            f"Count {sku}",
            "Enter what is on the shelf. The "
            "difference is posted as a count adjustment.",
            parent,
        )
        self.sku = sku
        self.on_hand = on_hand
        self.warehouse = self.warehouse_box()
        self.counted = _spin(0, 1_000_000, 0)
        self.expected = QLabel("")
        self.warehouse.currentIndexChanged.connect(self._expected)
        self.form.addRow("Warehouse", self.warehouse)
        self.form.addRow("Expected", self.expected)
        self.form.addRow("Counted", self.counted)
        self._expected()

    def _expected(self) -> None:
        expected = self.on_hand.get(self.warehouse.currentData(), 0)
        self.expected.setText(f"{expected} on hand in the books")
        self.counted.setValue(expected)

    def action(self) -> Action:
        sku, warehouse, counted = (
            self.sku,
            self.warehouse.currentData(),
            self.counted.value(),
        )

        def run(uow: UnitOfWork) -> Changes:
            count_id = inventory.start_count(uow, warehouse, note=f"count of {sku}")
            inventory.record_count(uow, count_id, sku, counted)
            return inventory.post_count(uow, count_id)

        return run
