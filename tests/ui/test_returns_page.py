"""The Returns page on a shop built here: scan, grade, weigh, refund, review.

The sale, on a VAT-inclusive channel at 20 %: 2 x MUG at 12.00 (400 g each)
and 1 x CAM at 30.00 (500 g, serial-tracked). MUG: 2400 paid, VAT 400, net
2000. CAM: 3000 paid, VAT 500, net 2500. Returning everything refunds 5400:
Dr 4900 4500, Dr 2200 900, Cr 2400 5400. The parcel should weigh 1300 g; the
tolerance is the larger of 20 % (260 g) and 100 g, so 300 g is a mismatch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from app.core import shipments
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.returns import ReturnLineInput, authorize
from app.core.uow import UnitOfWork
from app.ui.main_window import MainWindow
from app.ui.pages.dashboard import DashboardPage
from app.ui.pages.returns import GradeError, ReturnsPage, parse_grades
from tests.helpers import account_nets, add_channel, add_sku, capture
from tests.ui.helpers import open_window, settle

LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def sold_and_authorized(engine: Engine) -> str:
    """Capture and ship the sale, then authorize a return of every unit.

    Returns the RMA reference.
    """
    add_channel(engine, "Shop", "shopify", prices_include_tax=True)
    add_sku(engine, "MUG", 20, 250, weight_g=400)
    add_sku(engine, "CAM", 5, 1500, weight_g=500, tracks_serials=True)
    now = datetime.now(UTC)
    result = capture(
        engine,
        OrderInput(
            channel="Shop",
            external_id="R-1",
            placed_at=now - timedelta(days=3),
            ship_to=LONDON,
            customer=CustomerInput(email="ann@example.com", name="Ann Smith"),
            lines=[LineInput("MUG", 2, "12.00"), LineInput("CAM", 1, "30.00")],
        ),
    )
    with UnitOfWork(engine) as uow:
        shipments.ship(uow, result.order_id, at=now - timedelta(days=2))
        rma = authorize(
            uow,
            result.order_id,
            [
                ReturnLineInput(1, 2, "no_longer_needed"),
                ReturnLineInput(2, 1, "defective"),
            ],
        )
        uow.commit()
    return rma.reference


def returns_page(qtbot: QtBot, engine: Engine) -> tuple[MainWindow, ReturnsPage]:
    window = open_window(qtbot, engine)
    page = window.open_page("returns")
    assert isinstance(page, ReturnsPage)
    settle(qtbot, window)
    return window, page


def type_line(page: ReturnsPage, text: str) -> None:
    """Type at the bench as a scanner would: the characters, then Enter."""
    scan = page.receive_panel.scan
    assert scan.hasFocus()
    if text:
        QTest.keyClicks(scan, text)
    QTest.keyClick(scan, Qt.Key.Key_Return)


def receive_by_keys(
    qtbot: QtBot, window: MainWindow, page: ReturnsPage, rma: str
) -> None:
    page.tabs.setCurrentWidget(page.receive_panel)
    qtbot.waitUntil(page.receive_panel.scan.hasFocus)
    for text in (rma, "2", "1n1d", "1", "o", "SN-1", "300", ""):
        type_line(page, text)
    settle(qtbot, window)


def test_grades_read_counts_and_letters() -> None:
    assert parse_grades("1n 2d", 3) == [("new", 1), ("damaged", 2)]


def test_grade_letter_alone_takes_the_rest() -> None:
    assert parse_grades("1o u", 3) == [("opened", 1), ("unusable", 2)]


def test_grades_must_cover_every_unit() -> None:
    with pytest.raises(GradeError, match="grades 1 of 2 units"):
        parse_grades("1n", 2)


def test_empty_list_shows_hint(qtbot: QtBot, shop: Engine) -> None:
    _window, page = returns_page(qtbot, shop)
    assert page.list_stack.currentWidget() is page.empty
    assert "No returns yet" in page.empty.text()


def test_receive_inspect_refund_by_keys(qtbot: QtBot, shop: Engine) -> None:
    rma = sold_and_authorized(shop)
    window, page = returns_page(qtbot, shop)
    receive_by_keys(qtbot, window, page, rma)
    assert page.receive_panel.message.text().startswith(f"Recorded {rma}")

    row = next(r for r in page.rows if r.reference == rma)
    page.show_record(row.id)
    settle(qtbot, window)
    assert page.detail is not None
    assert page.detail.summary.status == "inspected"
    assert [ln.accepted for ln in page.detail.lines] == [2, 1]
    assert page.detail.inspections[-1].serials == ("SN-1",)
    assert page.detail.parcel_weight_g == 300

    page.refund_button.click()
    settle(qtbot, window)
    nets = account_nets(shop)
    assert nets["4900"] == 4500
    assert nets["2400"] == -5400
    assert page.refund_table.item(0, 1).text() == "£54.00"


def test_weight_mismatch_reaches_review_queue(qtbot: QtBot, shop: Engine) -> None:
    rma = sold_and_authorized(shop)
    window, page = returns_page(qtbot, shop)
    receive_by_keys(qtbot, window, page, rma)
    found = [s for s in page.signals if s.kind == "weight_mismatch"]
    assert len(found) == 1
    assert found[0].evidence["difference_g"] == -1000
    row = page.signals.index(found[0])
    assert "parcel 300 g" in page.queue.item(row, 5).text()

    page.tabs.setCurrentIndex(2)
    page.queue.selectRow(row)
    page.review_note.setText("scale was off")
    page.dismiss_button.click()
    settle(qtbot, window)
    assert [s for s in page.signals if s.kind == "weight_mismatch"] == []


def test_refund_before_inspection_asks_reason(qtbot: QtBot, shop: Engine) -> None:
    rma = sold_and_authorized(shop)
    window, page = returns_page(qtbot, shop)
    page.show_record(page.rows[0].id)
    settle(qtbot, window)
    page.refund_button.click()
    dialog = page.release_dialog
    assert not dialog.now_button.isEnabled()
    QTest.keyClicks(dialog.reason, "long-standing customer")
    dialog.now_button.click()
    settle(qtbot, window)
    assert page.detail is not None
    assert page.detail.summary.reference == rma
    assert page.detail.refunds[0].release_reason == "long-standing customer"
    assert account_nets(shop)["4900"] == 4500


def test_bad_grade_keeps_the_step(qtbot: QtBot, shop: Engine) -> None:
    rma = sold_and_authorized(shop)
    _window, page = returns_page(qtbot, shop)
    page.tabs.setCurrentWidget(page.receive_panel)
    qtbot.waitUntil(page.receive_panel.scan.hasFocus)
    for text in (rma, "2", "1n"):
        type_line(page, text)
    assert page.receive_panel.step == ("grade", 1)
    assert "grades 1 of 2 units" in page.receive_panel.message.text()


def test_dashboard_shows_return_figures(qtbot: QtBot, shop: Engine) -> None:
    rma = sold_and_authorized(shop)
    window, page = returns_page(qtbot, shop)
    receive_by_keys(qtbot, window, page, rma)
    page.show_record(page.rows[0].id)
    settle(qtbot, window)
    page.refund_button.click()
    settle(qtbot, window)
    dashboard = window.open_page("dashboard")
    assert isinstance(dashboard, DashboardPage)
    dashboard.refresh()
    settle(qtbot, window)
    figures = dashboard.returns
    assert figures is not None
    assert figures.processing.returns == 1
    reasons = {r.reason: (r.returns, r.units) for r in figures.reasons}
    assert reasons == {"no_longer_needed": (1, 2), "defective": (1, 1)}
    texts = [
        w.text() for w in dashboard.returns_box.findChildren(QLabel) if w.isVisible()
    ]
    assert "No longer needed" in texts
    assert any("(1 refunded)" in t for t in texts)
