"""The Channels page, offscreen, against a WooCommerce fake on 127.0.0.1."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from keyring.backends import fail
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from app.core.queries.settings import users
from app.sync.engine import SyncEngine
from app.sync.secrets import SecretStore
from app.ui.context import AppContext
from app.ui.pages.channels import ChannelsPage, ConnectDialog, MapSkuDialog
from tests.fakes.woo_server import WooServer
from tests.test_sync_helpers import (
    WOO,
    WOO_KEY,
    WOO_SECRET,
    MemoryKeyring,
    make_sync,
    new_clock,
    orders_by_external,
    skus,
)

WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> Iterator[None]:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qt")
    )
    yield


@pytest.fixture
def shop(make_shop) -> Engine:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "page", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", quantity=30)
    return engine


@pytest.fixture
def woo() -> Iterator[WooServer]:
    clock = new_clock()
    with WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as server:
        server.add_product("MUG-RED", stock_quantity=30)
        server.add_product("MUG-R", stock_quantity=4)
        server.add_order(
            [{"sku": "MUG-R", "quantity": 1, "price": "9.00"}],
            created_at=clock.now() - timedelta(minutes=10),
        )
        yield server


def open_page(
    qtbot: QtBot, engine: Engine, secrets: SecretStore
) -> tuple[ChannelsPage, AppContext]:
    ctx = AppContext(engine, str(engine.url))
    ctx.set_user(ctx.read_now(users)[0])
    clock = new_clock()

    def factory(store: SecretStore) -> SyncEngine:
        clock.advance(1)
        return make_sync(engine, clock, secrets=store, outbox_check_s=0.05)

    page = ChannelsPage(ctx, secrets=secrets, engine_factory=factory)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.activate()
    settle(qtbot, ctx)
    return page, ctx


def settle(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(lambda: ctx.ops.idle, timeout=WAIT_MS)
    qtbot.wait(20)
    qtbot.waitUntil(lambda: ctx.ops.idle, timeout=WAIT_MS)


def connect_woo(qtbot: QtBot, page: ChannelsPage, ctx: AppContext, url: str) -> None:
    dialog = ConnectDialog(ctx, page.secrets, page)
    dialog.name.setText(WOO)
    dialog.kind.setCurrentIndex(dialog.kind.findData("woocommerce"))
    dialog.url.setText(url)
    dialog.fields["key"].setText(WOO_KEY)
    dialog.fields["secret"].setText(WOO_SECRET)
    dialog._accept()
    ctx.ops.write(dialog.prepared, label="Connecting the channel", parent=page)
    settle(qtbot, ctx)
    page.refresh()
    settle(qtbot, ctx)


def test_page_connects_syncs_and_maps_sku(
    qtbot: QtBot, shop: Engine, woo: WooServer
) -> None:
    secrets = SecretStore(MemoryKeyring(), environ={})
    page, ctx = open_page(qtbot, shop, secrets)
    connect_woo(qtbot, page, ctx, woo.url)
    # The first walk starts at the moment of connecting; reach back to the order.
    from app.core.channels import accounts
    from app.core.uow import UnitOfWork

    with UnitOfWork(shop) as uow:
        channel = accounts.get_channel(uow.session, WOO)
        channel.settings = {**channel.settings, "overlap_s": 3600}
        uow.commit()

    page.sync_now()
    settle(qtbot, ctx)
    held = next(iter(orders_by_external(shop).values()))
    unmatched = [
        page.unmatched.item(r, 0).text() for r in range(page.unmatched.rowCount())
    ]
    problems = [
        page.problems.item(r, 1).text() for r in range(page.problems.rowCount())
    ]

    dialog = MapSkuDialog(ctx, WOO, unmatched[0], page)
    dialog.local_sku.setText("MUG-RED")
    dialog._accept()
    ctx.ops.write(dialog.prepared, label="Mapping", parent=page)
    settle(qtbot, ctx)
    released = orders_by_external(shop)[held.external_id]

    assert secrets.get(WOO, "secret") == WOO_SECRET
    assert page.channels.rowCount() == 1
    assert page.channels.item(0, 0).text() == WOO
    assert WOO in page.message.text()
    assert "0 captured, 1 held" in page.message.text()
    assert held.status == "held"
    assert unmatched == ["MUG-R"]
    assert any("MUG-R" in text for text in problems)
    assert released.status == "open"


def test_page_tests_connection_and_reports_failure(
    qtbot: QtBot, shop: Engine, woo: WooServer
) -> None:
    secrets = SecretStore(MemoryKeyring(), environ={})
    page, ctx = open_page(qtbot, shop, secrets)
    connect_woo(qtbot, page, ctx, woo.url)

    page.test_connection()
    settle(qtbot, ctx)
    good = page.message.text()
    woo.secret = "cs_changed_on_the_store"
    page.test_connection()
    settle(qtbot, ctx)
    bad = page.message.text()

    assert "WooCommerce answered" in good
    assert "2 listings, 1 matched" in good
    assert "connection failed" in bad
    assert "401" in bad
    assert WOO_SECRET not in bad


def test_page_without_keyring_says_so(qtbot: QtBot, shop: Engine) -> None:
    secrets = SecretStore(fail.Keyring(), environ={})

    page, _ctx = open_page(qtbot, shop, secrets)

    assert "session only" in page.keyring_note.text()


def test_background_sync_starts_and_stops(
    qtbot: QtBot, shop: Engine, woo: WooServer
) -> None:
    secrets = SecretStore(MemoryKeyring(), environ={})
    page, ctx = open_page(qtbot, shop, secrets)
    connect_woo(qtbot, page, ctx, woo.url)

    page.background.setChecked(True)
    assert page.worker is not None
    worker = page.worker
    qtbot.waitUntil(lambda: worker.steps >= 2, timeout=WAIT_MS)
    running = worker.running
    disabled = not page.sync_button.isEnabled()
    page.background.setChecked(False)

    assert running is True
    assert disabled is True
    assert worker.running is False
    assert page.worker is None
    assert woo.stock_of("MUG-RED") == 30
