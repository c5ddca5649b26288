"""The packing station: a full-screen, keyboard-only packing mode.

A USB barcode scanner types like a keyboard and ends each code with Enter,
so everything goes through one line edit that keeps the focus. What Enter
does depends on the step the pack session is at:

- no order open: the code names a pick list (``PB…``) or an order;
- "item" and "serial": the code is checked against the order;
- "weight": the typed number is the parcel's weight in grams;
- "label": Enter buys and prints the label and ships; an own-account
  carrier needs the tracking number scanned from its label first;
- "done": the next code opens the next order.

A wrong item, one unit too many, a bad serial or a weight mismatch turns the
whole window red with the message in large type, and the station beeps. The
next scan clears it. Esc twice leaves the order unshipped, F5 prints the last label
again, F10 closes the station. Every write runs on the window's write
thread, one at a time in scan order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.exceptions import BackroomError
from app.core.fulfillment import batches, packing, shipping
from app.core.fulfillment.documents import commercial_invoice_pdf, label_file
from app.core.fulfillment.exceptions import PackingError
from app.core.fulfillment.packing import BatchView, PackState, ScanResult
from app.core.fulfillment.settings import fulfillment_settings
from app.core.uow import UnitOfWork
from app.sync.errors import SyncError
from app.ui.context import AppContext
from app.ui.ops import TaskControl
from app.ui.packing.labels import (
    Buyer,
    Printer,
    default_buyer,
    default_printer,
    station_carrier,
)

log = logging.getLogger(__name__)

STYLE = """
#packingStation { background: #f4f6f8; }
#packingStation[alarm="true"] { background: #d50000; }
#packingStation[alarm="true"] QLabel { color: white; }
#packingStation[alarm="ok"] { background: #e8f5e9; }
#stationOrder { font-size: 30px; font-weight: 600; }
#stationPrompt { font-size: 40px; font-weight: 700; }
#stationMessage { font-size: 26px; }
#stationScan { font-size: 28px; padding: 8px; }
#stationLines { font-size: 20px; }
"""

PROMPTS = {
    None: "Scan an order or a pick list",
    "item": "Scan the next item",
    "serial": "Scan the serial number of the {sku} just packed",
    "weight": "Put the parcel on the scale and type its weight in grams "
    "(expected {weight} g)",
    "label": "Press Enter to print the label and ship",
    "label_tracking": "Scan the tracking number from the {carrier} label",
    "done": "Shipped. Scan the next order",
    "closed": "Order left unshipped. Scan the next order",
}
_WEIGHT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(g|kg)?\s*$", re.IGNORECASE)


def parse_grams(text: str) -> int | None:
    """Return grams from "1210", "1210 g" or "1.21 kg", or None."""
    match = _WEIGHT.match(text)
    if match is None:
        return None
    value = float(match.group(1).replace(",", "."))
    if (match.group(2) or "g").lower() == "kg":
        value *= 1000
    grams = round(value)
    return grams if grams > 0 else None


class PackingStation(QWidget):
    """Full-screen packing; ``shipped`` carries each new shipment id."""

    shipped = Signal(int)
    closed = Signal()

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        buyer: Buyer | None = None,
        printer: Printer | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("packingStation")
        self.setWindowTitle("Packing station · Backroom")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.buyer = buyer or default_buyer(ctx.engine)
        self.printer = printer
        self.state: PackState | None = None
        self.batch: BatchView | None = None
        self.last_shipment: int | None = None
        self.alarm_active = False
        self.busy = 0
        self._leave_armed = False

        self.order_label = QLabel("No order open")
        self.order_label.setObjectName("stationOrder")
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("stationOrder")
        self.prompt = QLabel(PROMPTS[None])
        self.prompt.setObjectName("stationPrompt")
        self.prompt.setWordWrap(True)
        self.message = QLabel("")
        self.message.setObjectName("stationMessage")
        self.message.setWordWrap(True)
        self.lines = QTableWidget(0, 4)
        self.lines.setObjectName("stationLines")
        self.lines.setHorizontalHeaderLabels(["SKU", "Item", "Packed", "Serials"])
        self.lines.verticalHeader().setVisible(False)
        self.lines.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.lines.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.lines.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.scan_edit = QLineEdit()
        self.scan_edit.setObjectName("stationScan")
        self.scan_edit.setPlaceholderText("Scan or type, then Enter")
        self.scan_edit.returnPressed.connect(self._entered)
        self.scan_edit.installEventFilter(self)
        self.keys_hint = QLabel(
            "Enter: confirm · Esc twice: leave order · F5: print label again · "
            "F10: close station"
        )

        head = QHBoxLayout()
        head.addWidget(self.order_label, 1)
        head.addWidget(self.progress_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(16)
        layout.addLayout(head)
        layout.addWidget(self.prompt)
        layout.addWidget(self.message)
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.scan_edit)
        layout.addWidget(self.keys_hint)
        self._refocus = QTimer(self)
        self._refocus.setInterval(300)
        self._refocus.timeout.connect(self._keep_focus)
        self._refocus.start()

    # --- focus and keys -------------------------------------------------------

    def _keep_focus(self) -> None:
        if self.isVisible() and not self.scan_edit.hasFocus():
            self.scan_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.scan_edit.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.scan_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self._escape()
                return True
            if key == Qt.Key.Key_F5:
                self.reprint()
                return True
            if key == Qt.Key.Key_F10:
                self.close()
                return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event: Any) -> None:
        self._refocus.stop()
        self.closed.emit()
        super().closeEvent(event)

    # --- running work -----------------------------------------------------------

    @property
    def idle(self) -> bool:
        return self.busy == 0

    def _run(
        self,
        label: str,
        work: Callable[[UnitOfWork], Any],
        done: Callable[[Any], None],
    ) -> None:
        engine = self.ctx.engine
        user_id = self.ctx.ops.user_id

        def job(_control: TaskControl) -> Any:
            with UnitOfWork(engine, user_id=user_id) as uow:
                result = work(uow)
                uow.commit()
            return result

        self.busy += 1
        self.ctx.ops.job(
            job,
            lambda result: self._finished(done, result),
            label=label,
            parent=self,
            on_error=self._failed,
        )

    def _finished(self, done: Callable[[Any], None], result: Any) -> None:
        self.busy -= 1
        done(result)

    def _failed(self, exc: BaseException) -> None:
        self.busy -= 1
        if not isinstance(exc, BackroomError | SyncError):
            log.error("packing station task failed", exc_info=exc)
        self.alarm(str(exc))
        self._show_state()

    # --- alarm ----------------------------------------------------------------

    def _set_look(self, value: str) -> None:
        self.setProperty("alarm", value)
        self.style().unpolish(self)
        self.style().polish(self)
        for child in self.findChildren(QLabel):
            child.style().unpolish(child)
            child.style().polish(child)

    def alarm(self, text: str) -> None:
        """Turn the whole window red, show ``text`` in large type and beep."""
        self.alarm_active = True
        self.message.setText(text)
        self._set_look("true")
        QApplication.beep()

    def _clear_alarm(self) -> None:
        if self.alarm_active:
            self.alarm_active = False
            self._set_look("false")

    def _notice(self, text: str, success: bool = False) -> None:
        self.message.setText(text)
        self._set_look("ok" if success else "false")

    # --- input ------------------------------------------------------------------

    def _entered(self) -> None:
        text = self.scan_edit.text().strip()
        self.scan_edit.clear()
        self._leave_armed = False
        self._clear_alarm()
        step = self.state.step if self.state else None
        if step in (None, "done", "closed"):
            if text:
                self.open_code(text)
            return
        assert self.state is not None
        session_id = self.state.session_id
        if step in ("item", "serial"):
            if text:
                self._run(
                    "Checking the scan",
                    lambda uow: packing.scan(uow, session_id, text),
                    self._scanned,
                )
            return
        if step == "weight":
            grams = parse_grams(text)
            if grams is None:
                self.alarm(f"{text or 'nothing'} is not a weight; type the grams")
                return
            self._run(
                "Checking the weight",
                lambda uow: packing.record_weight(uow, session_id, grams),
                self._scanned,
            )
            return
        if step == "label":
            self.ship(text)

    def open_code(self, code: str) -> None:
        """Open the pick list or order that ``code`` names."""

        def work(uow: UnitOfWork) -> BatchView | PackState:
            batch = packing.open_batch(uow, code)
            if batch is not None:
                return batch
            batch_id = self.batch.batch_id if self.batch else None
            order = packing.find_order(uow.session, code, batch_id)
            if order is None:
                raise PackingError(
                    f"{code} is not an order or a pick list; scan the order number "
                    "from the pick list"
                )
            in_batch = self.batch is not None and order.id in self.batch.order_ids
            return packing.start_packing(
                uow, order.id, batch_id=batch_id if in_batch else None, code=code
            )

        self._run("Opening", work, self._opened)

    def _opened(self, result: BatchView | PackState) -> None:
        if isinstance(result, BatchView):
            self.batch = result
            self.state = None
            if not result.to_pack:
                self._notice(f"Pick list {result.ref}: every order is packed")
                self._show_state()
                return
            self._notice(
                f"Pick list {result.ref}: {len(result.to_pack)} orders to pack"
            )
            self._start_next_in_batch()
            return
        self.state = result
        self._notice(f"Order {result.order_ref} opened")
        self._show_state()

    def _start_next_in_batch(self) -> None:
        if self.batch is None:
            return
        batch_id = self.batch.batch_id

        def work(uow: UnitOfWork) -> PackState | None:
            batch = batches.get_batch(uow.session, batch_id)
            left = batches.pickable_left(uow.session, batch)
            if not left:
                return None
            return packing.start_packing(uow, left[0], batch_id=batch_id)

        def done(state: PackState | None) -> None:
            if state is None:
                self._notice("Pick list finished: every order is packed", True)
                self.batch = None
                self.state = None
                self._show_state()
                return
            self._opened(state)

        self._run("Opening the next order", work, done)

    def _scanned(self, result: ScanResult) -> None:
        self.state = result.state
        if result.alarm:
            self.alarm(result.message)
        elif result.result != "empty":
            self._notice(result.message)
        self._show_state()

    # --- shipping ---------------------------------------------------------------

    def ship(self, typed: str) -> None:
        """Buy and print the label for the packed order, then ship it."""
        assert self.state is not None
        account = station_carrier(self.ctx.engine)
        if account.kind == "own_account" and not typed:
            self._show_state()
            return
        session_id = self.state.session_id
        engine = self.ctx.engine
        buyer = self.buyer

        def work(
            _control: TaskControl,
        ) -> tuple[shipping.ShipResult, bytes, str, bytes | None]:
            with UnitOfWork(engine, write=False) as uow:
                parcel = shipping.parcel_for_pack(uow.session, session_id)
                file_format = fulfillment_settings(uow.session).label_format
            purchase = buyer(parcel, typed)
            with UnitOfWork(engine, user_id=self.ctx.ops.user_id) as uow:
                result = shipping.ship_packed(uow, session_id, purchase)
                uow.commit()
            with UnitOfWork(engine, write=False) as uow:
                label = label_file(uow.session, result.shipment_id, file_format)
                invoice = (
                    commercial_invoice_pdf(
                        uow.session, parcel.order_id, result.shipment_id
                    )
                    if parcel.international
                    else None
                )
            return result, label, file_format, invoice

        self.busy += 1
        self._notice("Buying the label…")
        self.ctx.ops.job(
            work,
            lambda result: self._finished(self._shipped, result),
            label="Buying the label",
            parent=self,
            on_error=self._failed,
        )

    def _printer(self) -> Printer:
        if self.printer is None:
            with UnitOfWork(self.ctx.engine, write=False) as uow:
                queue = fulfillment_settings(uow.session).printer_queue
            self.printer = default_printer(queue)
        return self.printer

    def _shipped(
        self, outcome: tuple[shipping.ShipResult, bytes, str, bytes | None]
    ) -> None:
        result, label, file_format, invoice = outcome
        self.last_shipment = result.shipment_id
        state = self.state
        assert state is not None
        ref = state.order_ref
        try:
            self._printer()(label, file_format, f"label-{ref}")
            if invoice is not None:
                self._printer()(invoice, "pdf", f"commercial-invoice-{ref}")
        except (BackroomError, OSError) as exc:
            log.error("label of order %s did not print: %s", ref, exc)
            self.alarm(f"Order {ref} shipped, but the label did not print: {exc}")
        self.ctx.ops.changed.emit(result.changes)
        self.shipped.emit(result.shipment_id)
        with UnitOfWork(self.ctx.engine, write=False) as uow:
            self.state = packing.pack_state(uow.session, state.session_id)
        if not self.alarm_active:
            self._notice(f"Order {ref} shipped as shipment {result.shipment_id}", True)
        self._show_state()
        if self.batch is not None:
            self._start_next_in_batch()

    def reprint(self) -> None:
        """Print the last shipment's label again (F5)."""
        if self.last_shipment is None:
            self._notice("No label printed yet in this session")
            return
        with UnitOfWork(self.ctx.engine, write=False) as uow:
            file_format = fulfillment_settings(uow.session).label_format
            data = label_file(uow.session, self.last_shipment, file_format)
        self._printer()(data, file_format, f"label-S{self.last_shipment}")
        self._notice(f"Label of shipment {self.last_shipment} sent to the printer")

    # --- leaving ----------------------------------------------------------------

    def _escape(self) -> None:
        if self.state is None or self.state.step in ("done", "closed"):
            return
        if not self._leave_armed:
            self._leave_armed = True
            self._notice(
                f"Press Esc again to leave order {self.state.order_ref} unshipped"
            )
            return
        self._leave_armed = False
        session_id = self.state.session_id
        self._run(
            "Leaving the order",
            lambda uow: packing.abandon(uow, session_id, "left at the packing station"),
            self._left,
        )

    def _left(self, state: PackState) -> None:
        self.state = state
        self.batch = None
        self._notice(f"Order {state.order_ref} left unshipped; its scans are kept")
        self._show_state()

    # --- display ----------------------------------------------------------------

    def prompt_text(self) -> str:
        state = self.state
        if state is None:
            return PROMPTS[None]
        step = state.step
        if step == "serial":
            line = state.serial_line
            return PROMPTS["serial"].format(sku=line.sku if line else "")
        if step == "weight":
            return PROMPTS["weight"].format(weight=state.expected_weight_g)
        if step == "label":
            account = station_carrier(self.ctx.engine)
            if account.kind == "own_account":
                return PROMPTS["label_tracking"].format(carrier=account.name)
        return PROMPTS[step]

    def _show_state(self) -> None:
        state = self.state
        self.prompt.setText(self.prompt_text())
        if state is None:
            self.order_label.setText(
                f"Pick list {self.batch.ref}" if self.batch else "No order open"
            )
            self.progress_label.setText("")
            self.lines.setRowCount(0)
            return
        self.order_label.setText(f"Order {state.order_ref} · {state.warehouse_code}")
        self.progress_label.setText(
            f"{state.units_packed} of {state.units_expected} units"
        )
        self.lines.setRowCount(len(state.lines))
        for row, line in enumerate(state.lines):
            values = [
                line.sku,
                line.description,
                f"{line.packed} / {line.expected}",
                ", ".join(line.serials) if line.tracks_serials else "",
            ]
            for column, value in enumerate(values):
                self.lines.setItem(row, column, QTableWidgetItem(value))
