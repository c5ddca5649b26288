"""The Import page's wizard, driven step by step on real files and shops.

The hand-made history file has three good invoices and one with a bad row.
Its figures, credit minus debit in pence: December 2010 invoice 536365 has
4000 Sales 3,564 (6 x 2.55 + 6 x 3.39) and 4010 Shipping 1,800 (POST), so
1100 Channel clearing -5,364. January 2011 invoice 536367 has 4000 Sales
5,408 (32 x 1.69) and credit note C536368 has 4900 Returns -338
(-2 x 1.69), so 1100 -5,070. Invoice 536366 (rows 5 and 6) is left out
whole because row 5's quantity is "six". The file total is 10,434
(£104.34).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, func, select

from app.core.exceptions import ValidationError
from app.core.importing.history import HistoryImportResult
from app.core.importing.online_retail import AccountMapping
from app.core.importing.products import CatalogImportResult
from app.core.importing.progress import Progress
from app.core.importing.stock import StockImportResult
from app.core.models import OrderLine, SalesOrder, Shop
from app.core.queries.orders import OrderFilter, order_ids, order_rows
from app.core.uow import UnitOfWork
from app.ui.main_window import MainWindow
from app.ui.pages.import_page import (
    CHECK,
    CHOOSE,
    MAPPING,
    PREVIEW,
    REPORT,
    ImportPage,
)
from app.ui.pages.import_tasks import (
    MappingRow,
    default_mapping_rows,
    mapping_from_rows,
    mapping_rows,
)
from tests.conftest import shared_data
from tests.helpers import account_nets, add_sku
from tests.ui.helpers import open_window, settle

HEADER = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
)
HISTORY = f"""{HEADER}
536365,85123A,HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536365,POST,POSTAGE,1,12/1/2010 8:26,18.00,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,six,12/1/2010 8:28,1.85,17850,United Kingdom
536366,22632,HAND WARMER RED POLKA DOT,6,12/1/2010 8:28,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,1/14/2011 9:00,1.69,13047,France
C536368,84879,ASSORTED COLOUR BIRD ORNAMENT,-2,1/15/2011 10:00,1.69,13047,France
"""


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text(HISTORY, encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot: QtBot, shop: Engine) -> MainWindow:
    return open_window(qtbot, shop)


def import_page(qtbot: QtBot, window: MainWindow) -> ImportPage:
    page = window.open_page("import")
    assert isinstance(page, ImportPage)
    settle(qtbot, window)
    return page


def next_step(qtbot: QtBot, window: MainWindow, page: ImportPage) -> None:
    page.next.click()
    settle(qtbot, window)


def walk_to_check(
    qtbot: QtBot, window: MainWindow, path: Path, kind: str = "history"
) -> ImportPage:
    """Choose ``path`` and go through the preview (and mapping) to the check."""
    page = import_page(qtbot, window)
    page.choose.set_kind(kind)  # type: ignore[arg-type]
    page.choose.path.setText(str(path))
    next_step(qtbot, window, page)
    next_step(qtbot, window, page)
    if kind == "history":
        next_step(qtbot, window, page)
    return page


def order_count(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count(SalesOrder.id))) or 0)


def lines_by_order(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine, write=False) as uow:
        rows = uow.session.execute(
            select(SalesOrder.external_id, func.count(OrderLine.id))
            .join(OrderLine, OrderLine.order_id == SalesOrder.id)
            .group_by(SalesOrder.external_id)
        )
        return {number: int(count) for number, count in rows}


def history_result(page: ImportPage) -> HistoryImportResult:
    assert page.outcome is not None
    result = page.outcome.result
    assert isinstance(result, HistoryImportResult)
    return result


# --- the history file, step by step -----------------------------------------


def test_choose_step_needs_existing_file(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    page = import_page(qtbot, window)
    page.choose.path.setText(str(tmp_path / "missing.csv"))
    assert not page.next.isEnabled()
    assert "does not exist" in page.choose.file_note.text()


def test_preview_shows_file_as_read(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    page = import_page(qtbot, window)
    page.choose.path.setText(str(history_file))
    next_step(qtbot, window, page)
    assert page.step == PREVIEW
    assert page.preview is not None
    assert page.preview.date_order == "month_first"
    assert not page.preview.date_order_assumed
    assert page.previewer.values["Read as"].text() == (
        "CSV, text encoding UTF-8, fields separated by comma"
    )
    assert page.previewer.values["Header"].text().startswith("Online Retail (")
    assert "month/day/year" in page.previewer.values["Dates"].text()
    assert page.previewer.table.rowCount() == 7
    assert page.previewer.table.item(3, 4).text() == "six"


def test_unreadable_file_opens_error_dialog(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    page = import_page(qtbot, window)
    page.choose.path.setText(str(path))
    next_step(qtbot, window, page)
    assert page.step == CHOOSE
    assert window.last_error is not None
    assert "the file is empty" in window.last_error.informativeText()


def test_preview_blocks_missing_column(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "no_price.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n"
        "536365,85123A,HEART,6,12/1/2010 8:26,17850,United Kingdom\n",
        encoding="utf-8",
    )
    page = import_page(qtbot, window)
    page.choose.path.setText(str(path))
    next_step(qtbot, window, page)
    assert page.step == PREVIEW
    assert not page.next.isEnabled()
    assert "UnitPrice" in page.previewer.values["Columns"].text()


def test_mapping_step_shows_saved_mapping(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    page = import_page(qtbot, window)
    page.choose.path.setText(str(history_file))
    next_step(qtbot, window, page)
    next_step(qtbot, window, page)
    assert page.step == MAPPING
    assert page.mapper.rows() == default_mapping_rows()


def test_check_lists_problem_before_writing(
    qtbot: QtBot, window: MainWindow, shop: Engine, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    assert page.step == CHECK
    problems = page.checker.model.problems
    assert len(problems) == 1
    assert problems[0].row == 5
    assert problems[0].column == "Quantity"
    assert problems[0].value == "six"
    assert "not a whole number" in problems[0].message
    assert page.checker.headline.text() == "1 problem in 1 row"
    assert order_count(shop) == 0
    assert not page.next.isEnabled()
    page.checker.skip.setChecked(True)
    assert page.next.isEnabled()


def test_skip_invalid_import_reconciles(
    qtbot: QtBot, window: MainWindow, shop: Engine, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    assert page.step == REPORT
    result = history_result(page)
    reconciliation = result.reconciliation
    assert reconciliation is not None
    figures = {(r.month, r.account): r.ledger_total for r in reconciliation.rows}
    assert figures == {
        ("2010-12", "1100"): -5_364,
        ("2010-12", "4000"): 3_564,
        ("2010-12", "4010"): 1_800,
        ("2011-01", "1100"): -5_070,
        ("2011-01", "4000"): 5_408,
        ("2011-01", "4900"): -338,
    }
    assert reconciliation.reconciled is True
    assert reconciliation.file_total == 10_434
    assert page.report.badge.text() == "Reconciled: every month and account matches"
    assert lines_by_order(shop) == {"536365": 3, "536367": 1, "C536368": 1}
    assert account_nets(shop)["1100"] == 10_434


def test_report_shows_amounts_with_currency(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    table = page.report.left
    assert table is not None
    first = [table.item(0, c).text() for c in range(table.columnCount())]
    assert first == [
        "Dec 2010",
        "1100 Channel clearing",
        "-£53.64",
        "-£53.64",
        "matches",
    ]


def test_skip_invalid_writes_rejects_beside_input(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    rejects = history_file.with_name("sales.rejected.csv")
    assert history_result(page).rejects_file == str(rejects)
    with rejects.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["error", *HEADER.split(",")]
    assert [row[1:3] for row in rows[1:]] == [["536366", "22633"], ["536366", "22632"]]
    assert rows[1][0].startswith("row 5: Quantity 'six'")
    assert str(rejects) in page.report.notes.text()


def test_edited_mapping_posts_and_saves(
    qtbot: QtBot, window: MainWindow, shop: Engine, history_file: Path
) -> None:
    page = import_page(qtbot, window)
    page.choose.path.setText(str(history_file))
    next_step(qtbot, window, page)
    next_step(qtbot, window, page)
    rows = page.mapper.rows()
    shipping = next(i for i, row in enumerate(rows) if row.codes == "POST, DOT, C2")
    box = page.mapper.table.cellWidget(shipping, 2)
    box.setCurrentIndex(box.findData("4000"))  # type: ignore[union-attr]
    next_step(qtbot, window, page)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    nets = account_nets(shop)
    assert nets["4000"] == -(3_564 + 1_800 + 5_408)
    assert "4010" not in nets
    with UnitOfWork(shop, write=False) as uow:
        shop_row = uow.session.get(Shop, 1)
        assert shop_row is not None
        saved = AccountMapping.from_dict(shop_row.settings["history_mapping"])
    assert saved.rule_for("POST").invoice_account == "4000"


def test_import_refreshes_orders_page(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    orders = window.page("orders")
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    assert page.outcome is not None
    assert len(page.outcome.changes.orders) == 3
    assert orders.stale


def test_start_over_returns_to_file(
    qtbot: QtBot, window: MainWindow, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    page.report.another_requested.emit()
    assert page.step == CHOOSE
    assert page.choose.path.text() == str(history_file)


# --- cancel -------------------------------------------------------------------


def test_cancel_keeps_whole_invoices(
    qtbot: QtBot, window: MainWindow, shop: Engine, tmp_path: Path
) -> None:
    """Six invoices of three lines, one invoice per chunk, cancelled after one."""
    path = tmp_path / "six.csv"
    rows = [HEADER]
    for number in range(6):
        for line in range(3):
            rows.append(
                f"5400{number:02d},2200{line},THING {line},{line + 1},"
                f"2011-03-0{number + 1} 10:00,1.50,1300{number},United Kingdom"
            )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = walk_to_check(qtbot, window, path)
    page.chunk_invoices = 1

    def stop_after_first_chunk(record: Progress) -> None:
        if record.phase == "writing":
            page.cancel_task()

    # A direct connection runs on the import's thread, right after the chunk
    # commits and before the importer looks at the cancel flag again.
    page.progress_reported.connect(
        stop_after_first_chunk, Qt.ConnectionType.DirectConnection
    )
    next_step(qtbot, window, page)
    assert page.step == REPORT
    assert page.outcome is not None
    assert page.outcome.cancelled
    result = history_result(page)
    assert result.chunks_committed == 1
    assert lines_by_order(shop) == {"540000": 3}
    assert page.report.headline.text().startswith("Cancelled after 1 chunk:")


# --- products and stock -------------------------------------------------------


def test_products_import_shopify_sample(qtbot: QtBot, window: MainWindow) -> None:
    sample = shared_data(
        "shopify", "csv", "shopify_product_template_2023-24_format.csv"
    )
    # Built before the import, so that the import has a page to mark stale.
    products = window.page("products")
    page = walk_to_check(qtbot, window, sample, kind="products")
    assert page.preview is not None
    assert page.preview.product_format == "shopify"
    assert page.check is not None
    assert page.check.problem_count == 0
    next_step(qtbot, window, page)
    assert page.step == REPORT
    assert page.outcome is not None
    result = page.outcome.result
    assert isinstance(result, CatalogImportResult)
    assert result.products_created == 3
    assert result.variants_created == 16
    assert products.stale


def test_stock_counts_post_opening_value(
    qtbot: QtBot, window: MainWindow, shop: Engine, tmp_path: Path
) -> None:
    """10 x 7.25 + 4 x 2.50 = 82.50 received; the NOPE row is left out."""
    add_sku(shop, "MUG-1")
    add_sku(shop, "MUG-2")
    path = tmp_path / "counts.csv"
    path.write_text(
        "SKU,Warehouse,Quantity,Unit cost\n"
        "MUG-1,MAIN,10,7.25\n"
        "mug-2,MAIN,4,2.50\n"
        "NOPE,MAIN,1,1.00\n",
        encoding="utf-8",
    )
    page = walk_to_check(qtbot, window, path, kind="stock")
    assert [p.row for p in page.checker.model.problems] == [4]
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    assert page.outcome is not None
    result = page.outcome.result
    assert isinstance(result, StockImportResult)
    assert result.value == 8_250
    assert account_nets(shop)["1200"] == 8_250
    assert page.report.left is not None
    assert page.report.left.item(0, 1).text() == "£82.50"
    assert path.with_name("counts.rejected.csv").exists()


# --- the mapping table ------------------------------------------------------


def test_mapping_rows_round_trip() -> None:
    mapping = AccountMapping.default()
    assert mapping_from_rows(mapping_rows(mapping)) == mapping


def test_mapping_rows_reject_code_in_two_rows() -> None:
    rows = default_mapping_rows()
    rows.append(MappingRow("shipping", "POST", "4010", "4010", "4010"))
    with pytest.raises(ValidationError, match="POST"):
        mapping_from_rows(rows)


def test_orders_search_finds_imported_customer_id(
    qtbot: QtBot, window: MainWindow, shop: Engine, history_file: Path
) -> None:
    page = walk_to_check(qtbot, window, history_file)
    page.checker.skip.setChecked(True)
    next_step(qtbot, window, page)
    with UnitOfWork(shop, write=False) as uow:
        ids = order_ids(uow.session, OrderFilter(text="17850"))
        rows = order_rows(uow.session, ids)
    assert [(row.number, row.customer) for row in rows] == [
        ("536365", "Customer 17850")
    ]
