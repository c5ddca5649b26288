"""Small building blocks shared by the pages: tables with an empty state,
search fields, dashboard cards and read-only detail tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QAbstractItemModel, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStackedLayout,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.tablemodel import LEFT, RIGHT


def units_text(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def configure_table(view: QTableView) -> None:
    """Give a table the look of every list in the app."""
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(26)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(LEFT)


def stretch_column(view: QTableView, column: int) -> None:
    """Let ``column`` take the spare width so the others are never clipped."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


class EmptyStateTable(QWidget):
    """A table view that shows a hint in its place while it has no rows."""

    def __init__(self, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QTableView()
        configure_table(self.view)
        self.hint = QLabel(hint)
        self.hint.setObjectName("emptyHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.hint)
        self._stack.setCurrentWidget(self.hint)

    def setModel(self, model: QAbstractItemModel) -> None:
        self.view.setModel(model)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._update)
        self._update()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def _update(self) -> None:
        # Hiding the view can make it fetch its first rows on the way out, so
        # the check runs again after each switch until the choice holds.
        for _ in range(3):
            model = self.view.model()
            empty = model is None or model.rowCount() == 0
            target = self.hint if empty else self.view
            if self._stack.currentWidget() is target:
                return
            self._stack.setCurrentWidget(target)


class SearchField(QLineEdit):
    """A search box that reports its text a moment after typing stops."""

    search = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(240)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(lambda: self.search.emit(self.text()))
        self.textChanged.connect(lambda _text: self._timer.start())
        self.returnPressed.connect(self._now)

    def _now(self) -> None:
        self._timer.stop()
        self.search.emit(self.text())


class Card(QFrame):
    """A dashboard figure: a caption, a big value and a line below it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.caption = QLabel(caption)
        self.caption.setObjectName("cardCaption")
        self.value = QLabel("…")
        self.value.setObjectName("cardValue")
        self.note = QLabel("")
        self.note.setObjectName("cardNote")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set(self, value: str, note: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)


def heading(text: str, kind: str = "sectionTitle") -> QLabel:
    label = QLabel(text)
    label.setObjectName(kind)
    return label


class DetailTable(QTableWidget):
    """A small read-only table filled from strings; right-aligns amounts."""

    def __init__(
        self,
        headers: Sequence[str],
        right: Sequence[int] = (),
        parent: QWidget | None = None,
        *,
        stretch: int | None = None,
        empty: str = "",
    ) -> None:
        super().__init__(0, len(headers), parent)
        #: Shown in the table's place while it has no rows.
        self.empty_hint = empty
        self.hint_visible = True
        self.setHorizontalHeaderLabels(list(headers))
        self._right = set(right)
        configure_table(self)
        for column in self._right:
            item = self.horizontalHeaderItem(column)
            if item is not None:
                item.setTextAlignment(RIGHT)
        self.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.horizontalHeader().setStretchLastSection(stretch is None)
        if stretch is not None:
            self.horizontalHeader().setSectionResizeMode(
                stretch, QHeaderView.ResizeMode.Stretch
            )

    def fill(
        self, rows: Sequence[Sequence[str]], ids: Sequence[object] | None = None
    ) -> None:
        self.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if len(text) > 30:
                    item.setToolTip(text)
                if c in self._right:
                    item.setTextAlignment(RIGHT)
                if ids is not None:
                    item.setData(Qt.ItemDataRole.UserRole, ids[r])
                self.setItem(r, c, item)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.rowCount() or not self.empty_hint or not self.hint_visible:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            self.viewport().rect().adjusted(12, 12, -12, -12),
            int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            | int(Qt.TextFlag.TextWordWrap),
            self.empty_hint,
        )
        painter.end()

    def show_hint(self, visible: bool) -> None:
        """Show or hide the empty hint, e.g. while no record is on display."""
        self.hint_visible = visible
        self.viewport().update()

    def fit_height(self, max_rows: int = 12) -> None:
        """Size the table to its rows (up to ``max_rows``) so no grey is left."""
        rows = min(self.rowCount(), max_rows)
        height = self.horizontalHeader().height() + 4
        height += sum(self.rowHeight(r) for r in range(rows)) or 26
        self.setFixedHeight(height)


def show_hints(tables: Iterable[DetailTable], visible: bool) -> None:
    """Show or hide the empty hints of tables that describe one record.

    Such hints speak of the record on display, so they stay hidden while
    none is.
    """
    for table in tables:
        table.show_hint(visible)
