"""The packing station driven like a USB scanner: keystrokes ending in Enter.

The run packs order W1 of the packing worked example (2 x MUG, 1 x CAM
with a serial number; expected weight 1200 g) with a wrong item, one unit
too many, a serial, a weight mismatch and a label bought from the EasyPost
fake, and checks the ledger and the outbox afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.core.fulfillment.settings import CarrierAccount, update_fulfillment_settings
from app.core.models import OutboxItem, SalesOrder
from app.core.models.returns import ShippedSerial
from app.core.uow import UnitOfWork
from app.sync.labels import store_carrier_api_key
from app.ui.context import AppContext
from app.ui.packing.station import PackingStation, parse_grams
from tests.barcodes import decode_pdf
from tests.fakes.easypost_server import FakeEasyPost
from tests.helpers import account_nets, violations
from tests.test_fulfillment_packing import (
    CAM_EAN,
    MUG_EAN,
    MemoryKeyring,
    capture_w1,
    packing_shop,
)
from tests.ui.helpers import open_window


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def beeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count QApplication.beep() calls instead of sounding them."""
    calls: list[int] = []
    monkeypatch.setattr(QApplication, "beep", staticmethod(lambda: calls.append(1)))
    return calls


def scan(qtbot, station: PackingStation, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` into the focused scan field and press Enter, as a scanner does."""
    qtbot.keyClicks(station.scan_edit, text)
    qtbot.keyClick(station.scan_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.idle and station.ctx.ops.idle, timeout=15000)


def test_packing_station_run_ends_shipped(qtbot, shop, memory_keyring, beeps):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    order_id = capture_w1(shop)
    printed: list[tuple[bytes, str, str]] = []
    with FakeEasyPost() as fake:
        store_carrier_api_key("EasyPost", "EZTKtest0123456789")
        with UnitOfWork(shop) as uow:
            update_fulfillment_settings(
                uow,
                carriers=[
                    CarrierAccount("EasyPost", kind="easypost", base_url=fake.base_url)
                ],
                default_carrier="EasyPost",
            )
            uow.commit()
        ctx = AppContext(shop, "test shop")
        station = PackingStation(
            ctx, printer=lambda data, fmt, stem: printed.append((data, fmt, stem))
        )
        qtbot.addWidget(station)
        station.show()
        qtbot.waitUntil(station.scan_edit.hasFocus)

        assert station.prompt.text() == "Scan an order or a pick list"
        scan(qtbot, station, "W1")
        assert station.order_label.text() == "Order W1 · MAIN"
        assert station.prompt.text() == "Scan the next item"

        scan(qtbot, station, "5012345678924")
        assert station.alarm_active is True
        assert station.property("alarm") == "true"
        assert station.message.text() == "WRONG ITEM: TEA is not on order W1"
        assert len(beeps) == 1

        scan(qtbot, station, MUG_EAN)
        assert station.alarm_active is False
        scan(qtbot, station, MUG_EAN)
        assert station.progress_label.text() == "2 of 3 units"
        scan(qtbot, station, MUG_EAN)
        assert station.alarm_active is True
        assert station.message.text().startswith("ONE TOO MANY")
        assert len(beeps) == 2

        scan(qtbot, station, CAM_EAN)
        assert station.prompt.text() == "Scan the serial number of the CAM just packed"
        scan(qtbot, station, "SN-001")
        assert station.prompt.text() == (
            "Put the parcel on the scale and type its weight in grams (expected 1200 g)"
        )
        scan(qtbot, station, "1500")
        assert station.alarm_active is True
        assert station.message.text().startswith("WEIGHT MISMATCH")
        assert len(beeps) == 3
        scan(qtbot, station, "1.21 kg")
        assert station.prompt.text() == "Press Enter to print the label and ship"

        scan(qtbot, station, "")
        qtbot.waitUntil(
            lambda: station.state is not None and station.state.step == "done",
            timeout=15000,
        )

    assert station.prompt.text() == "Shipped. Scan the next order"
    assert station.scan_edit.hasFocus()
    assert [(fmt, stem) for _data, fmt, stem in printed] == [("pdf", "label-W1")]
    with UnitOfWork(shop, write=False) as uow:
        order = uow.session.get(SalesOrder, order_id)
        assert order is not None
        outbox = {
            row.kind: row.payload
            for row in uow.session.scalars(
                select(OutboxItem).where(OutboxItem.kind.in_(("tracking", "email")))
            )
        }
        serials = [s.serial for s in uow.session.scalars(select(ShippedSerial))]
    tracking = outbox["tracking"]["tracking_number"]
    assert {d.value for d in decode_pdf(printed[0][0])} == {tracking}
    assert order.status == "shipped"
    assert tracking in outbox["email"]["body"]
    assert serials == ["SN-001"]
    # 1210 g = 42.7 oz: 4.50 + 43 x 0.10 = 8.80 USD at 0.80 = 7.04 GBP.
    nets = account_nets(shop)
    assert nets["6200"] == 704
    assert nets["5000"] == 5500
    assert violations(shop) == []


def test_packing_station_escape_twice_leaves_order(qtbot, shop, beeps):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    capture_w1(shop)
    ctx = AppContext(shop, "test shop")
    station = PackingStation(ctx, printer=lambda *_args: None)
    qtbot.addWidget(station)
    station.show()
    scan(qtbot, station, "W1")
    scan(qtbot, station, MUG_EAN)

    qtbot.keyClick(station.scan_edit, Qt.Key.Key_Escape)
    assert station.message.text() == "Press Esc again to leave order W1 unshipped"
    qtbot.keyClick(station.scan_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: station.idle, timeout=15000)

    assert station.state is not None
    assert station.state.step == "closed"
    assert station.prompt.text() == "Order left unshipped. Scan the next order"


def test_own_account_station_waits_for_tracking(qtbot, shop, beeps):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    capture_w1(shop)
    ctx = AppContext(shop, "test shop")
    printed: list[str] = []
    station = PackingStation(ctx, printer=lambda _d, fmt, stem: printed.append(stem))
    qtbot.addWidget(station)
    station.show()
    for code in ("W1", MUG_EAN, MUG_EAN, CAM_EAN, "SN-7", "1200"):
        scan(qtbot, station, code)
    assert (
        station.prompt.text() == "Scan the tracking number from the Own carrier label"
    )
    scan(qtbot, station, "")
    assert station.state is not None
    assert station.state.step == "label"
    scan(qtbot, station, "RM123456785GB")
    qtbot.waitUntil(
        lambda: station.state is not None and station.state.step == "done",
        timeout=15000,
    )
    assert printed == ["label-W1"]


def test_parse_grams_reads_scale_entries() -> None:
    assert parse_grams("1210") == 1210
    assert parse_grams("1210 g") == 1210
    assert parse_grams("1,21kg") == 1210
    assert parse_grams("heavy") is None
    assert parse_grams("0") is None


def test_f9_opens_packing_station_from_main_window(qtbot, shop):  # type: ignore[no-untyped-def]
    window = open_window(qtbot, shop)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F9)
    page = window.page("warehouses")
    qtbot.waitUntil(lambda: getattr(page, "station", None) is not None, timeout=5000)
    station = page.station  # type: ignore[attr-defined]
    assert isinstance(station, PackingStation)
    assert station.isFullScreen()
    # The station deletes itself on close.
    station.close()
