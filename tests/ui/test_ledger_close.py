"""The Ledger page's Close tab and export button on a fresh shop."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from app.core.accounting.periods import Month
from app.core.models import Period
from app.core.uow import UnitOfWork
from app.ui.pages.close import CloseChecklistWidget, ExportLedgerDialog
from app.ui.pages.ledger import LedgerPage
from tests.ui.helpers import open_window, settle


def period_status(engine: Engine, month: Month) -> str | None:
    with UnitOfWork(engine, write=False) as uow:
        return uow.session.scalar(
            select(Period.status).where(
                Period.year == month.year, Period.month == month.month
            )
        )


def test_ledger_has_close_tab(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    titles = [ledger.tabs.tabText(i) for i in range(ledger.tabs.count())]
    assert "Close" in titles
    assert isinstance(ledger.tabs.widget(titles.index("Close")), CloseChecklistWidget)


def test_closing_past_month_locks_it(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    ledger.tabs.setCurrentWidget(ledger.close_tab)
    settle(qtbot, window)
    last_month = Month.of(window.ctx.fmt.local_date(datetime.now(UTC))).previous()
    ledger.close_tab.select_month(last_month)
    ledger.close_tab.run()
    settle(qtbot, window)
    assert ledger.close_tab.close_button.isEnabled()
    with qtbot.waitSignal(ledger.close_tab.month_closed, timeout=30_000):
        ledger.close_tab.close_button.click()
    settle(qtbot, window)
    assert period_status(shop, last_month) == "closed"
    assert "is closed" in ledger.close_tab.status.text()


def test_export_button_opens_dialog(qtbot: QtBot, shop: Engine) -> None:
    window = open_window(qtbot, shop)
    ledger = window.open_page("ledger")
    assert isinstance(ledger, LedgerPage)
    dialog = ledger.open_export()
    assert isinstance(dialog, ExportLedgerDialog)
    assert dialog.isVisible()
    dialog.reject()
