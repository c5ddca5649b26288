"""The first steps of the import wizard: the step bar, the file, the preview
and the account mapping."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.importing.online_retail import LINE_CLASSES, LineClass
from app.core.importing.products import FORMATS, CatalogFormat
from app.core.queries.settings import AccountView
from app.ui.fmt import Formatter
from app.ui.pages.import_tasks import (
    CLASS_TITLES,
    CONTAINER_TITLES,
    DATE_ORDER_TITLES,
    DELIMITER_TITLES,
    FilePreview,
    ImportKind,
    MappingRow,
    size_text,
)
from app.ui.widgets import configure_table, heading

STEP_TITLES = ("File", "Preview", "Mapping", "Check", "Import", "Report")
FILE_FILTER = "Tables (*.csv *.gz *.xlsx *.txt);;All files (*)"
KIND_HINTS: dict[str, str] = {
    "history": (
        "Invoice lines in the Online Retail layout (InvoiceNo, StockCode, "
        "Quantity, InvoiceDate, UnitPrice, CustomerID, Country) as CSV, gzipped "
        "CSV or Excel. Each invoice becomes a shipped order with its invoice and "
        "journal entry. Credit note numbers start with C."
    ),
    "products": (
        "A product export from Shopify or WooCommerce (CSV). Every variant "
        "becomes a SKU; SKUs already in the catalog are updated, never doubled."
    ),
    "stock": (
        "Opening stock with the columns SKU, Warehouse, Quantity and Unit cost. "
        "Each row is received at its cost: Dr 1200 Inventory, Cr 3100 Opening "
        "balances."
    ),
}
FORMAT_TITLES: dict[str, str] = {"shopify": "Shopify", "woocommerce": "WooCommerce"}
NEXT_STEPS = (
    ("Preview", "the first rows as Backroom reads them: header, encoding, dates."),
    (
        "Mapping",
        "for history, the ledger account of each kind of stock code, editable.",
    ),
    (
        "Check",
        "every problem with its row, column and value, before anything is "
        "written. You may skip the bad rows, which go to a rejects file.",
    ),
    (
        "Import",
        "with progress and Cancel. History is committed in chunks of whole "
        "invoices, so a cancel keeps only complete invoices.",
    ),
    (
        "Report",
        "what was added, and the file against the ledger per month and account.",
    ),
)


def panel() -> QFrame:
    frame = QFrame()
    frame.setObjectName("panel")
    return frame


class StepBar(QWidget):
    """The wizard's steps in a row: done, current (a chip) and to come."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Every step gets the current step's padding, so the row does not
        # shift when the current step moves on.
        self.setStyleSheet("QLabel { padding: 3px 10px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(0)
        self.labels: list[QLabel] = []
        for number, title in enumerate(STEP_TITLES, start=1):
            if number > 1:
                arrow = QLabel("›")
                arrow.setObjectName("hint")
                arrow.setStyleSheet("padding: 0")
                layout.addWidget(arrow)
            label = QLabel(f"{number}  {title}")
            self.labels.append(label)
            layout.addWidget(label)
        layout.addStretch(1)

    def set_current(self, index: int, skipped: frozenset[int] = frozenset()) -> None:
        for position, label in enumerate(self.labels):
            title = STEP_TITLES[position]
            number = position + 1
            if position == index:
                label.setObjectName("chip")
                label.setText(f"{number}  {title}")
            elif position in skipped:
                label.setObjectName("hint")
                label.setText(f"{number}  {title} (not needed)")
            elif position < index:
                label.setObjectName("")
                label.setText(f"✓ {title}")
            else:
                label.setObjectName("hint")
                label.setText(f"{number}  {title}")
            # The style sheet picks the object name up only on a re-polish.
            label.style().unpolish(label)
            label.style().polish(label)


# --- step 1: the file --------------------------------------------------------


class ChooseStep(QWidget):
    """The first step: the kind of import, the file and that kind's options."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kinds = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        kinds = panel()
        kinds_layout = QGridLayout(kinds)
        kinds_layout.setContentsMargins(16, 12, 16, 12)
        kinds_layout.setHorizontalSpacing(12)
        kinds_layout.setColumnStretch(1, 1)
        for row, kind in enumerate(("history", "products", "stock")):
            button = QRadioButton(
                {"history": "Sales history", "products": "Products"}.get(
                    kind, "Stock counts"
                )
            )
            button.setObjectName(f"kind_{kind}")
            self.kinds.addButton(button, row)
            self.kind_buttons[kind] = button
            hint = QLabel(KIND_HINTS[kind])
            hint.setObjectName("hint")
            hint.setWordWrap(True)
            kinds_layout.addWidget(button, row, 0, Qt.AlignmentFlag.AlignTop)
            kinds_layout.addWidget(hint, row, 1)
        self.kind_buttons["history"].setChecked(True)
        self.kinds.idToggled.connect(self._kind_toggled)

        self.path = QLineEdit()
        self.path.setPlaceholderText("Path of the file to import")
        self.path.setClearButtonEnabled(True)
        self.path.textChanged.connect(lambda _text: self._path_changed())
        browse = QPushButton("Choose file…")
        browse.clicked.connect(self.browse)
        self.file_note = QLabel("")
        self.file_note.setObjectName("hint")
        self.file_note.setWordWrap(True)
        file_box = panel()
        file_layout = QVBoxLayout(file_box)
        file_layout.setContentsMargins(16, 12, 16, 12)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        file_layout.addLayout(path_row)
        file_layout.addWidget(self.file_note)

        self.memo_only = QCheckBox(
            "Memo only: write the orders and customers for reports, post nothing "
            "to the ledger"
        )
        self.product_format = QComboBox()
        for name in FORMATS:
            self.product_format.addItem(FORMAT_TITLES[name], name)
        self.format_note = QLabel("Detected from the header on the next step.")
        self.format_note.setObjectName("hint")
        self.counted_on = QDateEdit(QDate.currentDate())
        self.counted_on.setCalendarPopup(True)
        self.counted_on.setDisplayFormat("d MMM yyyy")
        self.counted_note = QLabel(
            "The stock moves, cost layers and journal entry are dated this day."
        )
        self.counted_note.setObjectName("hint")
        options = panel()
        self.options_layout = QGridLayout(options)
        self.options_layout.setContentsMargins(16, 12, 16, 12)
        self.options_layout.setColumnStretch(2, 1)
        self.options_layout.addWidget(self.memo_only, 0, 0, 1, 3)
        self.format_label = QLabel("Format")
        self.options_layout.addWidget(self.format_label, 1, 0)
        self.options_layout.addWidget(self.product_format, 1, 1)
        self.options_layout.addWidget(self.format_note, 1, 2)
        self.counted_label = QLabel("Counted on")
        self.options_layout.addWidget(self.counted_label, 2, 0)
        self.options_layout.addWidget(self.counted_on, 2, 1)
        self.options_layout.addWidget(self.counted_note, 2, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading("What to import"))
        layout.addWidget(kinds)
        layout.addWidget(heading("File"))
        layout.addWidget(file_box)
        layout.addWidget(heading("Options"))
        layout.addWidget(options)
        layout.addWidget(heading("What happens next"))
        layout.addWidget(self._next_steps())
        layout.addStretch(1)
        self._kind_toggled(0, True)
        self._path_changed()

    @staticmethod
    def _next_steps() -> QFrame:
        box = panel()
        grid = QGridLayout(box)
        grid.setContentsMargins(16, 12, 16, 12)
        grid.setHorizontalSpacing(12)
        grid.setColumnStretch(1, 1)
        for row, (title, text) in enumerate(NEXT_STEPS):
            name = QLabel(f"{row + 2}  {title}")
            name.setObjectName("subTitle")
            note = QLabel(text)
            note.setObjectName("hint")
            note.setWordWrap(True)
            grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(note, row, 1)
        return box

    @property
    def kind(self) -> ImportKind:
        for kind, button in self.kind_buttons.items():
            if button.isChecked():
                return kind  # type: ignore[return-value]
        return "history"

    def set_kind(self, kind: ImportKind) -> None:
        self.kind_buttons[kind].setChecked(True)

    @property
    def file(self) -> Path | None:
        text = self.path.text().strip()
        return Path(text).expanduser() if text else None

    def format_choice(self) -> CatalogFormat:
        value = self.product_format.currentData()
        return "woocommerce" if value == "woocommerce" else "shopify"

    def set_format(self, fmt: CatalogFormat) -> None:
        self.product_format.setCurrentIndex(self.product_format.findData(fmt))

    def browse(self) -> None:
        start = str(self.file.parent) if self.file else str(Path.home())
        chosen, _filter = QFileDialog.getOpenFileName(
            self, "Choose the file to import", start, FILE_FILTER
        )
        if chosen:
            self.path.setText(chosen)

    def problem(self) -> str | None:
        """Return why the chosen file cannot be read, or None when it can."""
        path = self.file
        if path is None:
            return "Choose a file to start."
        if not path.exists():
            return f"{path} does not exist. Check the path or choose the file again."
        if not path.is_file():
            return f"{path} is a folder. Choose a file in it."
        return None

    def _path_changed(self) -> None:
        problem = self.problem()
        path = self.file
        if problem is None and path is not None:
            size = size_text(path.stat().st_size)
            self.file_note.setObjectName("hint")
            self.file_note.setText(
                f"{path.name}: {size}. Nothing is written until "
                "the Import step, and the next steps show how the file reads and "
                "every problem in it."
            )
        elif path is None:
            self.file_note.setObjectName("hint")
            self.file_note.setText(
                "No file chosen yet. Pick the export with Choose file…, or paste its "
                "path. CSV, gzipped CSV (.csv.gz) and Excel (.xlsx) files are read."
            )
        else:
            self.file_note.setObjectName("error")
            self.file_note.setText(problem or "")
        self.file_note.style().unpolish(self.file_note)
        self.file_note.style().polish(self.file_note)
        self.changed.emit()

    def _kind_toggled(self, _id: int, checked: bool) -> None:
        if not checked:
            return
        kind = self.kind
        self.memo_only.setVisible(kind == "history")
        visibility: tuple[tuple[QWidget, bool], ...] = (
            (self.format_label, kind == "products"),
            (self.product_format, kind == "products"),
            (self.format_note, kind == "products"),
            (self.counted_label, kind == "stock"),
            (self.counted_on, kind == "stock"),
            (self.counted_note, kind == "stock"),
        )
        for widget, visible in visibility:
            widget.setVisible(visible)
        self.changed.emit()


# --- step 2: the preview -----------------------------------------------------


class PreviewStep(QWidget):
    """The preview step: format, text encoding, header and first rows as read."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        facts = panel()
        self.facts = QGridLayout(facts)
        self.facts.setContentsMargins(16, 12, 16, 12)
        self.facts.setHorizontalSpacing(16)
        self.facts.setColumnStretch(1, 1)
        self.values: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        names = ("File", "Read as", "Header", "Dates", "Columns")
        for row, name in enumerate(names):
            caption = QLabel(name)
            caption.setObjectName("subTitle")
            value = QLabel("")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            self.facts.addWidget(value, row, 1)
            self.values[name] = value
            self.captions[name] = caption

        self.table = QTableWidget(0, 0)
        configure_table(self.table)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setMaximumSectionSize(320)

        self.rows_title = heading("First rows as read")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(facts)
        layout.addWidget(self.rows_title)
        layout.addWidget(self.table, 1)
        self.preview: FilePreview | None = None

    def _set(self, name: str, text: str, error: bool = False) -> None:
        label = self.values[name]
        label.setText(text)
        label.setObjectName("error" if error else "")
        label.style().unpolish(label)
        label.style().polish(label)

    def show_preview(
        self, preview: FilePreview, kind: ImportKind, fmt: Formatter
    ) -> None:
        self.preview = preview
        size = size_text(preview.size_bytes)
        self._set("File", f"{preview.path.name} ({size}) in {preview.path.parent}")
        container = CONTAINER_TITLES.get(preview.container, preview.container)
        read_as = f"{container}, text encoding {preview.encoding.upper()}"
        if preview.delimiter and preview.container != "xlsx":
            delimiter = DELIMITER_TITLES.get(preview.delimiter, repr(preview.delimiter))
            read_as += f", fields separated by {delimiter}"
        self._set("Read as", read_as)
        header = preview.layout or "not recognised"
        header += f": {fmt.number(len(preview.header))} columns"
        self._set("Header", header, error=not preview.layout)
        dates_shown = kind == "history"
        self.values["Dates"].setVisible(dates_shown)
        self.captions["Dates"].setVisible(dates_shown)
        if preview.date_order is not None:
            text = DATE_ORDER_TITLES[preview.date_order]
            if preview.date_order_assumed:
                text += ", assumed because no date in the file proves the order"
            self._set("Dates", f"Read as {text}, shop-local time")
        else:
            self._set("Dates", "No date column found", error=dates_shown)
        self._set(
            "Columns", self._columns_text(preview, kind), error=bool(preview.missing)
        )

        self.table.clear()
        self.table.setColumnCount(len(preview.header) + 1)
        self.table.setHorizontalHeaderLabels(["Row", *preview.header])
        self.table.setRowCount(len(preview.rows))
        for r, (number, fields) in enumerate(preview.rows):
            self.table.setItem(r, 0, QTableWidgetItem(str(number)))
            for c, text in enumerate(fields[: len(preview.header)], start=1):
                item = QTableWidgetItem(text)
                if len(text) > 40:
                    item.setToolTip(text)
                self.table.setItem(r, c, item)
        shown = len(preview.rows)
        self.rows_title.setText(
            f"First {shown} rows as read" if shown else "The file has no data rows"
        )

    @staticmethod
    def _columns_text(preview: FilePreview, kind: ImportKind) -> str:
        if preview.missing:
            return " ".join(preview.missing)
        if kind == "history":
            text = "Every required column was found."
            if preview.missing_optional:
                text += " Not in the file, left empty: " + ", ".join(
                    preview.missing_optional
                )
            return text
        if kind == "products":
            if preview.product_format is None:
                return (
                    "The header is neither Shopify's nor WooCommerce's, so the check "
                    "uses the format chosen on the first step."
                )
            return "Columns are matched by their names in the template."
        return (
            "Columns SKU, Warehouse, Quantity and Unit cost are matched by name "
            "(also Variant SKU, Location, Qty, Cost). The check lists any missing."
        )


# --- step 3: the account mapping -------------------------------------------


class MappingStep(QWidget):
    """The history mapping: each line class's stock codes and ledger accounts."""

    COLUMNS = ("Line class", "Stock codes", "Invoices", "Credit notes", "Adjustments")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = QLabel(
            "A line's stock code decides its line class and the account its amount "
            "is credited to (a negative amount is debited). Codes that no row "
            "names are products. Every invoice's total is debited to 1100 Channel "
            "clearing. Patterns such as gift_0001_* match many codes. Credit note "
            "numbers start with C, bad-debt adjustments with A."
        )
        intro.setObjectName("hint")
        intro.setWordWrap(True)

        self.table = QTableWidget(0, len(self.COLUMNS))
        configure_table(self.table)
        self.table.setEditTriggers(QTableWidget.EditTrigger.AllEditTriggers)
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setDefaultSectionSize(36)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 175), (2, 236), (3, 236), (4, 236)):
            header.resizeSection(column, width)

        add = QPushButton("Add a row")
        add.clicked.connect(
            lambda: self.add_row(MappingRow("product", "", "4000", "4900", "4000"))
        )
        self.remove = QPushButton("Remove the row")
        self.remove.clicked.connect(self.remove_row)
        self.reset = QPushButton("Restore the default")
        self.save = QCheckBox("Save as this shop's mapping for later imports")
        self.save.setChecked(True)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove)
        buttons.addWidget(self.reset)
        buttons.addStretch(1)
        buttons.addWidget(self.save)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.accounts: list[AccountView] = []
        self.loaded = False

    def set_accounts(self, accounts: list[AccountView]) -> None:
        # 1100 takes every invoice's total, so no line may post to it.
        self.accounts = [a for a in accounts if a.code != "1100"]

    def set_rows(self, rows: list[MappingRow]) -> None:
        self.table.setRowCount(0)
        for row in rows:
            self.add_row(row)
        self.loaded = True

    def add_row(self, row: MappingRow) -> None:
        position = self.table.rowCount()
        self.table.insertRow(position)
        if row.default:
            item = QTableWidgetItem("Products (every other code)")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setData(Qt.ItemDataRole.UserRole, "default")
            self.table.setItem(position, 0, item)
            codes = QTableWidgetItem("any code no other row names")
            codes.setFlags(codes.flags() & ~Qt.ItemFlag.ItemIsEditable)
            codes.setForeground(self.palette().placeholderText())
            self.table.setItem(position, 1, codes)
        else:
            classes = QComboBox()
            for name in LINE_CLASSES:
                classes.addItem(CLASS_TITLES[name], name)
            classes.setCurrentIndex(classes.findData(row.line_class))
            self.table.setCellWidget(position, 0, classes)
            self.table.setItem(position, 1, QTableWidgetItem(row.codes))
        for column, code in (
            (2, row.invoice_account),
            (3, row.credit_note_account),
            (4, row.adjustment_account),
        ):
            self.table.setCellWidget(position, column, self._account_box(code))

    def _account_box(self, code: str) -> QComboBox:
        box = QComboBox()
        for account in self.accounts:
            box.addItem(f"{account.code} {account.name}", account.code)
        found = box.findData(code)
        if found < 0:
            box.addItem(f"{code} (not in the chart)", code)
            found = box.count() - 1
        box.setCurrentIndex(found)
        return box

    def remove_row(self) -> None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if row < 0 or (item is not None and item.data(Qt.ItemDataRole.UserRole)):
            return
        self.table.removeRow(row)

    def _account_at(self, row: int, column: int) -> str:
        box = self.table.cellWidget(row, column)
        assert isinstance(box, QComboBox)
        return str(box.currentData())

    def rows(self) -> list[MappingRow]:
        """Return the table's rows as the person left them."""
        found: list[MappingRow] = []
        for position in range(self.table.rowCount()):
            first = self.table.item(position, 0)
            default = first is not None and first.data(Qt.ItemDataRole.UserRole)
            line_class: LineClass = "product"
            codes = ""
            if not default:
                classes = self.table.cellWidget(position, 0)
                assert isinstance(classes, QComboBox)
                line_class = classes.currentData()
                codes_item = self.table.item(position, 1)
                codes = codes_item.text() if codes_item is not None else ""
            invoice, credit_note, adjustment = (
                self._account_at(position, column) for column in (2, 3, 4)
            )
            found.append(
                MappingRow(
                    line_class,
                    codes,
                    invoice,
                    credit_note,
                    adjustment,
                    default=bool(default),
                )
            )
        return found
