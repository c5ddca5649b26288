"""Returns: the list of RMAs and their detail, a scanner-driven receiving
mode, refunds and the review queue of fraud signals.

Every read and write goes through the returns services of
:mod:`app.core.returns`, run by the context's operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.core.catalog import find_variant
from app.core.changes import Changes
from app.core.exceptions import BackroomError
from app.core.returns import (
    Grade,
    ReturnDetail,
    ReturnSummary,
    SignalView,
    StepResult,
    inspect,
    list_returns,
    pay_refund,
    receive,
    release_refund,
    request_refund,
    return_detail,
    review_queue,
    review_signal,
)
from app.core.uow import UnitOfWork
from app.ui.context import AppContext
from app.ui.pages.base import Page
from app.ui.widgets import DetailTable, heading, show_hints

#: Keys typed at the grading prompt, one letter per condition.
GRADE_KEYS = {
    "n": "new",
    "o": "opened",
    "d": "damaged",
    "u": "unusable",
    "w": "wrong_item",
    "e": "empty",
}
ACCEPTED = frozenset({"new", "opened", "damaged", "unusable"})
GRADE_HELP = "n new, o opened, d damaged, u unusable, w wrong item, e empty"
_GRADE_PART = re.compile(r"(\d*)([a-z])")


class GradeError(ValueError):
    """A grading entry that does not add up to the units received."""


def parse_grades(text: str, units: int) -> list[tuple[str, int]]:
    """Read a grading entry such as ``n``, ``2n 1d`` or ``1o1u``.

    A letter without a count takes every unit not graded yet. The counts
    must add up to ``units``.
    """
    compact = text.replace(" ", "").lower()
    parts = _GRADE_PART.findall(compact)
    if not parts or "".join(c + k for c, k in parts) != compact:
        raise GradeError(f"Invalid grade {text!r}. Type {GRADE_HELP}.")
    found: list[tuple[str, int]] = []
    left = units
    for count, key in parts:
        condition = GRADE_KEYS.get(key)
        if condition is None:
            raise GradeError(f"Invalid grade key {key!r}. Type {GRADE_HELP}.")
        quantity = int(count) if count else left
        if quantity <= 0 or quantity > left:
            raise GradeError(
                f"{text!r} grades more units than the {units} received. "
                "Enter counts that add up to it."
            )
        found.append((condition, quantity))
        left -= quantity
    if left:
        raise GradeError(
            f"{text!r} grades {units - left} of {units} units. Grade every unit."
        )
    return found


def evidence_text(evidence: dict[str, Any]) -> str:
    """Show a signal's evidence as one line: ``expected 600 g; parcel 150 g``."""
    parts = []
    for key, value in evidence.items():
        name = key.replace("_", " ")
        if key.endswith("_g") and isinstance(value, int):
            parts.append(f"{name[:-2]} {value} g")
        elif isinstance(value, list):
            shown = ", ".join(
                " ".join(f"{k}={v}" for k, v in item.items())
                if isinstance(item, dict)
                else str(item)
                for item in value[:5]
            )
            more = f" (+{len(value) - 5})" if len(value) > 5 else ""
            parts.append(f"{name}: [{shown}{more}]")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


@dataclass(slots=True)
class ReceiptOutcome:
    """The receipt and inspection that one Enter at the receiving bench recorded."""

    received: StepResult
    inspected: StepResult | None
    changes: Changes = field(default_factory=Changes)

    @property
    def signals(self) -> tuple[int, ...]:
        found = self.received.signals
        if self.inspected is not None:
            found += self.inspected.signals
        return found


def record_receipt(
    uow: UnitOfWork,
    reference: str,
    counts: dict[int, int],
    grades: list[Grade],
    weight_g: int | None,
) -> ReceiptOutcome:
    """Receive the parcel and, when units arrived, inspect them in one write."""
    received = receive(uow, reference, counts, parcel_weight_g=weight_g)
    outcome = ReceiptOutcome(received, None)
    outcome.changes.merge(received.changes)
    if any(counts.values()):
        outcome.inspected = inspect(uow, reference, grades)
        outcome.changes.merge(outcome.inspected.changes)
    return outcome


def serial_skus(session: Session, skus: list[str]) -> set[str]:
    """Return the SKUs among ``skus`` whose units carry serial numbers."""
    found = set()
    for sku in skus:
        variant = find_variant(session, sku)
        if variant is not None and variant.tracks_serials:
            found.add(sku)
    return found


class ScanField(QLineEdit):
    """The bench's input line, which emits ``escaped`` on the Escape key."""

    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class ReceivePanel(QWidget):
    """Receive and inspect a parcel from the keyboard or a barcode scanner.

    Scan the RMA reference, then per line type the units that arrived and
    their grades, scan serials for SKUs that track them, type the parcel's
    weight in grams and press Enter to record it all. Escape starts over.
    """

    recorded = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.prompt = heading("Scan the return's RMA reference", "subTitle")
        self.prompt.setWordWrap(True)
        self.scan = ScanField()
        self.scan.setPlaceholderText("Scan or type, then Enter")
        self.scan.returnPressed.connect(self.enter)
        self.scan.escaped.connect(self.start_over)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.lines = DetailTable(
            ["Line", "SKU", "Claimed", "Received", "Grades", "Serials"],
            right=(0, 2, 3),
            stretch=5,
            empty="The return's lines appear here once its RMA is scanned.",
        )
        self.lines.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        keys = QLabel(
            f"Grades: {GRADE_HELP}. A letter alone grades every unit left; "
            "2n 1d grades two new and one damaged. Escape starts over."
        )
        keys.setObjectName("hint")
        keys.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.scan)
        layout.addWidget(self.message)
        layout.addWidget(self.lines, 1)
        layout.addWidget(keys)
        self.start_over()

    # --- state ------------------------------------------------------------

    def start_over(self) -> None:
        self.detail: ReturnDetail | None = None
        self.serial_skus: set[str] = set()
        self.counts: dict[int, int] = {}
        self.grades: dict[int, list[tuple[str, int]]] = {}
        self.serials: dict[int, list[str]] = {}
        self.weight_g: int | None = None
        self.steps: list[tuple[str, int]] = [("rma", 0)]
        self.lines.setRowCount(0)
        self._show_step()

    @property
    def step(self) -> tuple[str, int]:
        return self.steps[0]

    def _line(self, line_no: int) -> Any:
        assert self.detail is not None
        return next(ln for ln in self.detail.lines if ln.line_no == line_no)

    def _show_step(self) -> None:
        kind, line_no = self.step
        if kind == "rma":
            text = "Scan the return's RMA reference"
        elif kind == "count":
            line = self._line(line_no)
            text = (
                f"Line {line_no}, {line.sku}: how many units arrived? "
                f"({line.quantity} claimed)"
            )
        elif kind == "grade":
            line = self._line(line_no)
            text = f"Line {line_no}, {line.sku}: grade the {self.counts[line_no]} units"
        elif kind == "serial":
            line = self._line(line_no)
            have = len(self.serials.get(line_no, []))
            text = (
                f"Line {line_no}, {line.sku}: scan serial {have + 1} of "
                f"{self.counts[line_no]} (Enter alone skips the rest)"
            )
        elif kind == "weight":
            expected = self.detail.expected_weight_g if self.detail else None
            hint = f", about {expected} g expected" if expected else ""
            text = f"Type the parcel's weight in grams{hint} (Enter alone skips)"
        else:
            text = "Press Enter to record the receipt and inspection"
        self.prompt.setText(text)
        self._fill_lines()
        self.scan.clear()
        self.keep_focus()

    def keep_focus(self) -> None:
        QTimer.singleShot(0, self.scan.setFocus)
        self.scan.setFocus()

    def _fill_lines(self) -> None:
        if self.detail is None:
            return
        rows = []
        for line in self.detail.lines:
            graded = self.grades.get(line.line_no, [])
            rows.append(
                [
                    str(line.line_no),
                    line.sku,
                    str(line.quantity),
                    str(self.counts.get(line.line_no, "")),
                    ", ".join(f"{q} {c.replace('_', ' ')}" for c, q in graded),
                    ", ".join(self.serials.get(line.line_no, [])),
                ]
            )
        self.lines.fill(rows)

    def _fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b3261e;")
        self.scan.selectAll()
        self.keep_focus()

    def _note(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("")

    # --- input ------------------------------------------------------------

    def enter(self) -> None:
        text = self.scan.text().strip()
        kind, line_no = self.step
        handler = {
            "rma": self._enter_rma,
            "count": self._enter_count,
            "grade": self._enter_grade,
            "serial": self._enter_serial,
            "weight": self._enter_weight,
            "confirm": self._enter_confirm,
        }[kind]
        handler(text, line_no)

    def _advance(self) -> None:
        self.steps.pop(0)
        self._show_step()

    def _enter_rma(self, text: str, _line_no: int) -> None:
        if not text:
            self.keep_focus()
            return
        try:
            detail = self.ctx.read_now(lambda s: return_detail(s, text))
        except BackroomError as exc:
            self._fail(str(exc))
            return
        if detail.summary.status != "authorized":
            self._fail(
                f"Return {detail.summary.reference} is {detail.summary.status}; "
                "only an authorized return can be received."
            )
            return
        self.detail = detail
        skus = [ln.sku for ln in detail.lines]
        self.serial_skus = self.ctx.read_now(lambda s: serial_skus(s, skus))
        self.steps = [("rma", 0)] + [("count", ln.line_no) for ln in detail.lines]
        self.steps += [("weight", 0), ("confirm", 0)]
        self._note(
            f"{detail.summary.reference}: order {detail.summary.order_external_id}, "
            f"{detail.summary.customer_name}"
        )
        self._advance()

    def _enter_count(self, text: str, line_no: int) -> None:
        line = self._line(line_no)
        if not text.isdigit():
            self._fail(f"Type the number of units of {line.sku} that arrived.")
            return
        count = int(text)
        self.counts[line_no] = count
        follow: list[tuple[str, int]] = []
        if count:
            follow.append(("grade", line_no))
            if line.sku in self.serial_skus:
                follow.append(("serial", line_no))
        self.steps[1:1] = follow
        self._note("")
        self._advance()

    def _enter_grade(self, text: str, line_no: int) -> None:
        try:
            self.grades[line_no] = parse_grades(text, self.counts[line_no])
        except GradeError as exc:
            self._fail(str(exc))
            return
        self._note("")
        self._advance()

    def _enter_serial(self, text: str, line_no: int) -> None:
        found = self.serials.setdefault(line_no, [])
        if text:
            if text in found:
                self._fail(f"Serial {text} was scanned already.")
                return
            found.append(text)
            if len(found) < self.counts[line_no]:
                self._show_step()
                return
        self._advance()

    def _enter_weight(self, text: str, _line_no: int) -> None:
        digits = text.lower().removesuffix("g").strip()
        if digits and not digits.isdigit():
            self._fail("Type the weight in whole grams, e.g. 640.")
            return
        self.weight_g = int(digits) if digits else None
        self._advance()

    def grade_records(self) -> list[Grade]:
        """Turn the entered grades into the inspection's records."""
        found = []
        for line_no, graded in self.grades.items():
            serials = list(self.serials.get(line_no, []))
            for condition, quantity in graded:
                mine = tuple(serials[:quantity])
                serials = serials[quantity:]
                found.append(Grade(line_no, condition, quantity, serials=mine))
        return found

    def _enter_confirm(self, _text: str, _line_no: int) -> None:
        assert self.detail is not None
        reference = self.detail.summary.reference
        counts = {
            ln.line_no: self.counts.get(ln.line_no, 0) for ln in self.detail.lines
        }
        grades = self.grade_records()
        weight = self.weight_g
        self.scan.setEnabled(False)
        self.ctx.ops.write(
            lambda uow: record_receipt(uow, reference, counts, grades, weight),
            self._recorded,
            label=f"Recording {reference}",
            parent=self,
            on_error=self._write_failed,
        )

    def _write_failed(self, exc: BaseException) -> None:
        self.scan.setEnabled(True)
        self._fail(f"Nothing was recorded: {exc}")

    def _recorded(self, outcome: ReceiptOutcome) -> None:
        self.scan.setEnabled(True)
        reference = outcome.received.reference
        count = len(outcome.signals)
        flagged = f"; {count} signal(s) for review" if count else ""
        self.start_over()
        self._note(f"Recorded {reference}{flagged}. Scan the next return.")
        self.recorded.emit(outcome)


class EarlyReleaseDialog(QDialog):
    """Ask whether to refund before inspection (with a reason) or to wait."""

    def __init__(self, reference: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Refund before inspection")
        self.choice = ""
        text = QLabel(
            f"Return {reference} has not been inspected. Refund now with a "
            "reason kept in the audit trail, or let the refund wait for the "
            "inspection."
        )
        text.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason, e.g. long-standing customer")
        buttons = QDialogButtonBox()
        self.now_button = buttons.addButton(
            "Refund now", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.wait_button = buttons.addButton(
            "Wait for inspection", QDialogButtonBox.ButtonRole.ActionRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.now_button.setEnabled(False)
        self.reason.textChanged.connect(
            lambda t: self.now_button.setEnabled(bool(t.strip()))
        )
        self.now_button.clicked.connect(lambda: self._choose("release"))
        self.wait_button.clicked.connect(lambda: self._choose("wait"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.reason)
        layout.addWidget(buttons)
        self.resize(440, 160)

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


class ReturnsPage(Page):
    key = "returns"

    def __init__(self, ctx, parent=None):  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        self.rows: list[ReturnSummary] = []
        self.detail: ReturnDetail | None = None
        self.signals: list[SignalView] = []

        self.table = DetailTable(
            [
                "RMA",
                "Status",
                "Order",
                "Customer",
                "Authorized",
                "Refunded",
                "Signals",
            ],
            right=(5, 6),
            stretch=3,
        )
        self.table.itemSelectionChanged.connect(self._chosen)
        self.empty = QLabel(
            "No returns yet. Authorize one from an order, or scan an RMA "
            "in Receive when a parcel arrives."
        )
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.empty)
        self.list_stack.addWidget(self.table)

        self.detail_title = heading("Select a return", "detailTitle")
        self.facts = QLabel("Pick a return to see its lines, inspection and refund.")
        self.facts.setObjectName("hint")
        self.facts.setWordWrap(True)
        self.line_table = DetailTable(
            ["#", "SKU", "Reason", "Claimed", "In", "Accepted"],
            right=(0, 3, 4, 5),
            stretch=1,
        )
        self.inspection_table = DetailTable(
            ["#", "Condition", "Units", "Serials", "Note"],
            right=(0, 2),
            stretch=3,
            empty="Not inspected yet. Scan the RMA on the Receive return tab when "
            "the parcel arrives.",
        )
        self.refund_table = DetailTable(
            ["Status", "Total", "Requested", "Issued", "Paid", "Note"],
            right=(1,),
            stretch=5,
            empty="No refund yet. Use Refund… to issue one.",
        )
        self.signal_table = DetailTable(
            ["Signal", "Status", "Score", "Evidence"],
            right=(2,),
            stretch=3,
            empty="No fraud signals for this return.",
        )
        self.hinted = (self.inspection_table, self.refund_table, self.signal_table)
        show_hints(self.hinted, False)
        self.refund_button = QPushButton("Refund…")
        self.refund_button.clicked.connect(self.refund_clicked)
        self.pay_button = QPushButton("Mark refund paid")
        self.pay_button.clicked.connect(self.pay_clicked)
        self.order_button = QPushButton("Open order")
        self.order_button.clicked.connect(self._open_order)
        for button in (self.refund_button, self.pay_button, self.order_button):
            button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refund_button)
        buttons.addWidget(self.pay_button)
        buttons.addStretch(1)
        buttons.addWidget(self.order_button)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(8, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.facts)
        for title, table in (
            ("Lines", self.line_table),
            ("Inspection", self.inspection_table),
            ("Refunds", self.refund_table),
            ("Fraud signals", self.signal_table),
        ):
            detail_layout.addWidget(heading(title))
            detail_layout.addWidget(table, 1)
        detail_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list_stack)
        splitter.addWidget(detail)
        splitter.setSizes([640, 440])

        self.receive_panel = ReceivePanel(ctx)

        self.queue = DetailTable(
            ["Signal", "Return", "Customer", "Score", "Raised", "Evidence"],
            right=(3,),
            stretch=5,
            empty="No open fraud signals. Receiving and refunding returns can "
            "raise them.",
        )
        self.review_note = QLineEdit()
        self.review_note.setPlaceholderText("Review note (kept in the audit trail)")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(lambda: self.review("dismissed"))
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.clicked.connect(lambda: self.review("confirmed"))
        review_bar = QHBoxLayout()
        review_bar.addWidget(self.review_note, 1)
        review_bar.addWidget(self.dismiss_button)
        review_bar.addWidget(self.confirm_button)
        queue_tab = QWidget()
        queue_layout = QVBoxLayout(queue_tab)
        queue_layout.addWidget(self.queue, 1)
        queue_layout.addLayout(review_bar)

        self.tabs = QTabWidget()
        self.tabs.addTab(splitter, "Returns")
        self.tabs.addTab(self.receive_panel, "Receive return")
        self.tabs.addTab(queue_tab, "Review queue")
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Returns", "pageTitle"))
        layout.addWidget(self.tabs, 1)

    # --- loading ----------------------------------------------------------

    def refresh(self) -> None:
        self.ctx.ops.read(list_returns, self._show_rows, label="Loading returns")
        self.ctx.ops.read(review_queue, self._show_queue, label="Loading signals")
        if self.detail is not None:
            self.show_record(self.detail.summary.id)

    def _show_rows(self, rows: list[ReturnSummary]) -> None:
        fmt = self.ctx.fmt
        self.rows = rows
        self.list_stack.setCurrentWidget(self.table if rows else self.empty)
        self.table.blockSignals(True)
        self.table.fill(
            [
                [
                    r.reference,
                    r.status,
                    r.order_external_id,
                    r.customer_name,
                    fmt.short_date(fmt.local_date(r.authorized_at)),
                    fmt.money(r.refunded, r.currency) if r.refunded else "",
                    fmt.number(r.open_signals) if r.open_signals else "",
                ]
                for r in rows
            ],
            ids=[r.id for r in rows],
        )
        self.table.blockSignals(False)

    def _show_queue(self, signals: list[SignalView]) -> None:
        fmt = self.ctx.fmt
        self.signals = signals
        self.queue.fill(
            [
                [
                    s.kind.replace("_", " "),
                    s.rma_reference or "",
                    s.customer_name or "",
                    fmt.number(s.score),
                    fmt.short_datetime(s.created_at),
                    evidence_text(s.evidence),
                ]
                for s in signals
            ],
            ids=[s.id for s in signals],
        )
        self.tabs.setTabText(
            2, f"Review queue ({len(signals)})" if signals else "Review queue"
        )

    def _chosen(self) -> None:
        items = self.table.selectedItems()
        if items:
            rma_id = items[0].data(Qt.ItemDataRole.UserRole)
            if isinstance(rma_id, int):
                self.show_record(rma_id)

    def show_record(self, record_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.ctx.ops.read(
            lambda s: return_detail(s, record_id),
            self.show_detail,
            label="Loading the return",
        )

    def show_detail(self, detail: ReturnDetail) -> None:
        fmt = self.ctx.fmt
        self.detail = detail
        summary = detail.summary
        self.detail_title.setText(f"{summary.reference} · {summary.status}")
        window_end = fmt.date(fmt.local_date(detail.window_ends_at))
        facts = [
            f"Order {summary.order_external_id}, {summary.customer_name}",
            f"Authorized {fmt.datetime(summary.authorized_at)}; window "
            f"{detail.window_days} days, to {window_end}",
        ]
        if summary.received_at:
            weights = ""
            if detail.parcel_weight_g is not None:
                weights = f", parcel {fmt.number(detail.parcel_weight_g)} g"
                if detail.expected_weight_g is not None:
                    weights += f" (expected {fmt.number(detail.expected_weight_g)} g)"
            facts.append(f"Received {fmt.datetime(summary.received_at)}{weights}")
        if summary.inspected_at:
            facts.append(f"Inspected {fmt.datetime(summary.inspected_at)}")
        if detail.late_reason:
            facts.append(f"Accepted late: {detail.late_reason}")
        self.facts.setText("\n".join(facts))
        show_hints(self.hinted, True)
        self.line_table.fill(
            [
                [
                    str(ln.line_no),
                    ln.sku,
                    ln.reason.replace("_", " "),
                    str(ln.quantity),
                    str(ln.received),
                    str(ln.accepted),
                ]
                for ln in detail.lines
            ]
        )
        self.inspection_table.fill(
            [
                [
                    str(i.line_no),
                    i.condition.replace("_", " "),
                    str(i.quantity),
                    ", ".join(i.serials),
                    i.note or (f"scanned {i.scanned_sku}" if i.scanned_sku else ""),
                ]
                for i in detail.inspections
            ]
        )
        self.refund_table.fill(
            [
                [
                    r.status,
                    fmt.money(r.total, r.currency) if r.status != "waiting" else "",
                    fmt.short_datetime(r.requested_at),
                    fmt.short_datetime(r.issued_at) if r.issued_at else "",
                    fmt.short_datetime(r.paid_at) if r.paid_at else "",
                    (
                        f"released early: {r.release_reason}"
                        if r.released_early
                        else ("waits for inspection" if r.status == "waiting" else "")
                    ),
                ]
                for r in detail.refunds
            ]
        )
        self.signal_table.fill(
            [
                [
                    s.kind.replace("_", " "),
                    s.status,
                    fmt.number(s.score),
                    evidence_text(s.evidence),
                ]
                for s in detail.signals
            ]
        )
        open_status = summary.status not in ("cancelled", "closed")
        self.refund_button.setEnabled(open_status)
        self.pay_button.setEnabled(any(r.status == "issued" for r in detail.refunds))
        self.order_button.setEnabled(True)

    # --- actions ----------------------------------------------------------

    def refund_clicked(self) -> None:
        detail = self.detail
        if detail is None:
            return
        if detail.summary.inspected_at is not None:
            self.refund()
            return
        dialog = EarlyReleaseDialog(detail.summary.reference, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self.refund(
                dialog.reason.text().strip() if dialog.choice == "release" else None
            )
        )
        self.release_dialog = dialog
        dialog.open()

    def refund(self, release_reason: str | None = None) -> None:
        """Refund the shown return; a waiting refund is released with the reason."""
        detail = self.detail
        if detail is None:
            return
        reference = detail.summary.reference
        waiting = next((r for r in detail.refunds if r.status == "waiting"), None)
        if waiting is not None and release_reason:
            refund_id = waiting.id
            reason = release_reason
            self.ctx.ops.write(
                lambda uow: release_refund(uow, refund_id, reason),
                lambda _r: self.show_record(detail.summary.id),
                label=f"Releasing the refund of {reference}",
                parent=self,
            )
            return
        self.ctx.ops.write(
            lambda uow: request_refund(uow, reference, release_reason=release_reason),
            lambda _r: self.show_record(detail.summary.id),
            label=f"Refunding {reference}",
            parent=self,
        )

    def pay_clicked(self) -> None:
        detail = self.detail
        if detail is None:
            return
        issued = [r.id for r in detail.refunds if r.status == "issued"]

        def pay(uow: UnitOfWork) -> Changes:
            changes = Changes()
            for refund_id in issued:
                changes.merge(pay_refund(uow, refund_id))
            return changes

        self.ctx.ops.write(pay, label="Marking the refund paid", parent=self)

    def review(self, status: str) -> None:
        rows = {i.row() for i in self.queue.selectedIndexes()}
        ids = [self.signals[row].id for row in sorted(rows)]
        if not ids:
            return
        note = self.review_note.text().strip() or None

        def act(uow: UnitOfWork) -> Changes:
            for signal_id in ids:
                review_signal(uow, signal_id, status, note)
            return Changes()

        self.ctx.ops.write(act, lambda _r: self.review_note.clear(), label="Reviewing")

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.receive_panel:
            self.receive_panel.keep_focus()

    def _open_order(self) -> None:
        if self.detail is not None:
            self.ctx.navigate("orders", self.detail.summary.order_id)

    def new_record(self) -> None:
        self.tabs.setCurrentWidget(self.receive_panel)
        self.receive_panel.keep_focus()
