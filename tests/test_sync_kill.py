"""Kill test: ``backroom sync`` killed with SIGKILL in the middle of a walk.

The fakes run in this process on 127.0.0.1 and follow real time (the
subprocess sleeps for real, so the Shopify throttle must refill for real).
The first ``backroom sync`` is killed once it has captured part of a
three-page WooCommerce walk; ``backroom sync --once`` then runs until the
queue is empty. Every order must be captured exactly once and every channel
must show Backroom's figure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app.core.catalog import get_variant
from app.core.channels import accounts, buffers
from app.core.models import SalesOrder
from app.core.outbox import sellable_available
from app.core.uow import UnitOfWork
from tests.fakes.shopify_server import ShopifyServer
from tests.fakes.woo_server import WooServer
from tests.helpers import violations
from tests.test_sync_helpers import (
    SHOPIFY,
    TOKEN,
    WOO,
    WOO_KEY,
    WOO_SECRET,
    adjust,
    order_count,
    skus,
)

REPO = Path(__file__).resolve().parents[1]
SHOPIFY_ORDERS = 20
WOO_ORDERS = 250


class RealClock:
    """The FakeClock interface over real time, for servers a subprocess calls."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.on_sleep = None

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        raise NotImplementedError("real time cannot be advanced")

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)


def environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BACKROOM_SECRET_")
    }
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["BACKROOM_SECRET_SHOPIFY_STORE_TOKEN"] = TOKEN
    env["BACKROOM_SECRET_WOO_STORE_KEY"] = WOO_KEY
    env["BACKROOM_SECRET_WOO_STORE_SECRET"] = WOO_SECRET
    return env


def channel_figures(engine: Engine, channel: str, sku: str) -> int:
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        variant = get_variant(session, sku)
        return buffers.visible_quantity(
            session,
            accounts.get_channel(session, channel),
            variant.id,
            sellable_available(session, variant.id),
        )


def duplicates(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        rows = uow.session.execute(
            select(SalesOrder.external_id, func.count(SalesOrder.id))
            .group_by(SalesOrder.channel_id, SalesOrder.external_id)
            .having(func.count(SalesOrder.id) > 1)
        ).all()
    return len(rows)


@pytest.mark.slow
def test_sync_killed_mid_walk_then_resumed(make_shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "kill", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", "MUG-BLUE", quantity=1000)
    database = engine.url.database
    assert database is not None
    clock = RealClock()
    with (
        ShopifyServer(token=TOKEN, clock=clock, seed=False) as shopify,  # type: ignore[arg-type]
        WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as woo,  # type: ignore[arg-type]
    ):
        for sku in ("MUG-RED", "MUG-BLUE"):
            shopify.add_variant(sku, available=1000)
            woo.add_product(sku, stock_quantity=1000)
        for number in range(SHOPIFY_ORDERS):
            shopify.sell(("MUG-RED", "MUG-BLUE")[number % 2])
        for number in range(WOO_ORDERS):
            woo.sell(("MUG-RED", "MUG-BLUE")[number % 2])
        # The second and third pages of the WooCommerce walk answer slowly,
        # so the kill lands in the middle of the walk.
        woo.faults.delay(
            1.5, method="GET", path="/wp-json/wc/v3/orders", after=1, times=2
        )
        since = datetime.now(UTC) - timedelta(days=1)
        with UnitOfWork(engine) as uow:
            accounts.connect_channel(
                uow, SHOPIFY, "shopify", shopify.url, import_from=since
            )
            accounts.connect_channel(
                uow, WOO, "woocommerce", woo.url, import_from=since
            )
            uow.commit()
        adjust(engine, "MUG-RED", -5)
        env = environment(tmp_path)
        command = [sys.executable, "-m", "app", "sync", "--db", database]

        first = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while order_count(engine) < SHOPIFY_ORDERS + 40 and time.monotonic() < deadline:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            time.sleep(0.05)
        first.kill()
        _out, first_err = first.communicate(timeout=30)
        at_kill = order_count(engine)

        outputs = []
        for _attempt in range(3):
            result = subprocess.run(
                [*command, "--once", "--json"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            outputs.append(result)
            summaries = json.loads(result.stdout)
            if all(s["status"] == "up to date" for s in summaries):
                break

        figures = {
            (channel, sku): channel_figures(engine, channel, sku)
            for channel in (SHOPIFY, WOO)
            for sku in ("MUG-RED", "MUG-BLUE")
        }
        shown = {
            (SHOPIFY, sku): shopify.level(sku) for sku in ("MUG-RED", "MUG-BLUE")
        } | {(WOO, sku): woo.stock_of(sku) for sku in ("MUG-RED", "MUG-BLUE")}

    assert first.returncode == -9
    assert SHOPIFY_ORDERS < at_kill < SHOPIFY_ORDERS + WOO_ORDERS
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert order_count(engine) == SHOPIFY_ORDERS + WOO_ORDERS
    assert duplicates(engine) == 0
    # 1000 each, 135 of MUG-RED and 135 of MUG-BLUE sold, 5 MUG-RED written off.
    assert figures[(SHOPIFY, "MUG-RED")] == 860
    assert figures[(SHOPIFY, "MUG-BLUE")] == 865
    assert shown == figures
    assert violations(engine) == []
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = Path(database).read_bytes()
    logs = b"".join(p.read_bytes() for p in (tmp_path.rglob("*.log*")))
    printed = first_err + "".join(r.stdout + r.stderr for r in outputs).encode()
    for secret in (TOKEN, WOO_KEY, WOO_SECRET):
        assert secret.encode() not in stored
        assert secret.encode() not in logs
        assert secret.encode() not in printed


def test_sigterm_stops_sync_after_current_step(make_shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "term", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", quantity=50)
    database = engine.url.database
    assert database is not None
    clock = RealClock()
    with WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as woo:  # type: ignore[arg-type]
        woo.add_product("MUG-RED", stock_quantity=50)
        for _number in range(3):
            woo.sell("MUG-RED")
        with UnitOfWork(engine) as uow:
            accounts.connect_channel(
                uow,
                WOO,
                "woocommerce",
                woo.url,
                import_from=datetime.now(UTC) - timedelta(days=1),
            )
            uow.commit()
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "sync", "--db", database],
            cwd=REPO,
            env=environment(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while order_count(engine) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)

    assert order_count(engine) == 3
    assert process.returncode == 0
    assert b"backroom sync: stopped" in err
