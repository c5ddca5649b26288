"""The close checklist widget and the export dialog, driven offscreen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from app.core import inventory, shipments
from app.core.accounting.periods import Month
from app.core.models import Period
from app.core.order_input import Address, LineInput, OrderInput
from app.core.queries.settings import users
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork
from app.ui.context import AppContext
from app.ui.pages.close import CloseChecklistWidget, ExportLedgerDialog, recent_months
from tests.helpers import add_channel, add_sku, capture

WAIT_MS = 30_000
JUNE = Month(2026, 6)


def context(engine: Engine) -> AppContext:
    ctx = AppContext(engine, str(engine.url))
    ctx.set_user(ctx.read_now(users)[0])
    return ctx


def sell(engine: Engine, label_cost: int | None) -> None:
    add_channel(engine, "Shop", "shopify", prices_include_tax=True)
    add_sku(engine, "MUG")
    moment = datetime(2026, 6, 10, 12, tzinfo=UTC)
    with UnitOfWork(engine) as uow:
        inventory.receive(
            uow, "MUG", "MAIN", 5, 250, at=datetime(2026, 6, 1, tzinfo=UTC)
        )
        uow.commit()
    order_id = capture(
        engine,
        OrderInput(
            channel="Shop",
            external_id="1001",
            placed_at=moment,
            ship_to=Address(name="Ann", line1="1 High St", city="London",
                            postcode="SW1A 1AA", country="GB"),
            lines=[LineInput("MUG", 1, "6.00")],
        ),
    ).order_id  # fmt: skip
    with UnitOfWork(engine) as uow:
        shipments.ship(
            uow, order_id, at=moment, info=ShipmentInfo(label_cost=label_cost)
        )
        uow.commit()


def wait(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(lambda: ctx.ops.idle, timeout=WAIT_MS)
    qtbot.wait(20)


def test_recent_months_start_last_month() -> None:
    assert recent_months(date(2026, 1, 15), 3) == [
        Month(2025, 12),
        Month(2025, 11),
        Month(2025, 10),
    ]


def test_checklist_widget_blocks_then_closes(qtbot: QtBot, shop: Engine) -> None:
    sell(shop, label_cost=None)
    ctx = context(shop)
    widget = CloseChecklistWidget(ctx)
    qtbot.addWidget(widget)
    widget.select_month(JUNE)
    widget.run()
    wait(qtbot, ctx)
    blocking = widget.tree.topLevelItem(1)
    assert blocking.text(0) == "Shipments without a label cost"
    assert blocking.text(1) == "1, blocks the close"
    assert widget.close_button.isEnabled() is False
    assert widget.force_button.isEnabled() is True
    with qtbot.waitSignal(widget.month_closed, timeout=WAIT_MS):
        widget.close_selected("postage paid by cash")
    wait(qtbot, ctx)
    with UnitOfWork(shop, write=False) as uow:
        status = uow.session.scalar(select(Period.status))
    assert status == "closed"


def test_record_opens_its_order(qtbot: QtBot, shop: Engine) -> None:
    sell(shop, label_cost=None)
    ctx = context(shop)
    widget = CloseChecklistWidget(ctx)
    qtbot.addWidget(widget)
    widget.select_month(JUNE)
    widget.run()
    wait(qtbot, ctx)
    asked: list[tuple[str, object]] = []
    ctx.navigate_requested.connect(lambda page, record: asked.append((page, record)))
    record = widget.tree.topLevelItem(1).child(0)
    widget.tree.itemDoubleClicked.emit(record, 0)
    assert asked == [("orders", 1)]


def test_export_dialog_writes_file(qtbot: QtBot, shop: Engine, tmp_path: Path) -> None:
    sell(shop, label_cost=300)
    ctx = context(shop)
    dialog = ExportLedgerDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("hledger"))
    dialog.date_from.setDate(date(2026, 6, 1))
    dialog.date_to.setDate(date(2026, 6, 30))
    dialog.path_edit.setText(str(tmp_path / "june.journal"))
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        dialog.export()
    assert dialog.result_paths == [tmp_path / "june.journal"]
    assert "Order 1001 captured" in (tmp_path / "june.journal").read_text()
