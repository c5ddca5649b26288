"""``backroom channel ...`` and ``backroom sync --once`` as a script runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.cli import main
from app.core.logs import log_file
from tests.fakes.woo_server import WooServer
from tests.test_sync_helpers import (
    WOO_KEY,
    WOO_SECRET,
    MemoryKeyring,
    memory_keyring,
    new_clock,
    skus,
)

NAME = "Woo store"


@pytest.fixture
def backend() -> Iterator[MemoryKeyring]:
    yield from memory_keyring()


@pytest.fixture
def shop_db(make_shop, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    engine: Engine = make_shop(
        "cli", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", quantity=40)
    database = engine.url.database
    assert database is not None
    return database


@pytest.fixture
def woo() -> Iterator[WooServer]:
    clock = new_clock()
    with WooServer(key=WOO_KEY, secret=WOO_SECRET, clock=clock, seed=False) as server:
        server.add_product("MUG-RED", stock_quantity=40)
        server.add_product("MUG-R", stock_quantity=6)
        server.add_order(
            [{"sku": "MUG-R", "quantity": 1, "price": "9.00"}],
            created_at=clock.now() - timedelta(minutes=10),
        )
        server.add_order(
            [{"sku": "MUG-RED", "quantity": 2, "price": "9.00"}],
            created_at=clock.now() - timedelta(minutes=5),
        )
        yield server


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_channel_commands_then_sync_once(
    shop_db: str,
    woo: WooServer,
    backend: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKROOM_SECRET_WOO_STORE_KEY", WOO_KEY)
    monkeypatch.setenv("BACKROOM_SECRET_WOO_STORE_SECRET", WOO_SECRET)
    since = (new_clock().now() - timedelta(days=1)).isoformat()

    added = run_json(
        capsys, "channel", "add", NAME, "--kind", "woocommerce", "--url", woo.url,
        "--import-from", since, "--db", shop_db,
    )  # fmt: skip
    tested = run_json(capsys, "channel", "test", NAME, "--db", shop_db)
    synced = run_json(capsys, "sync", "--once", "--db", shop_db)
    mapped = run_json(
        capsys, "channel", "map-sku", NAME, "MUG-R", "MUG-RED", "--db", shop_db
    )
    rules = run_json(
        capsys, "channel", "buffer", NAME, "--sku", "MUG-RED", "--units", "2",
        "--db", shop_db,
    )  # fmt: skip
    run_json(capsys, "sync", "--once", "--db", shop_db)
    listed = run_json(capsys, "channel", "list", "--db", shop_db)

    assert added == {
        "id": 3,
        "name": NAME,
        "kind": "woocommerce",
        "url": woo.url,
        "missing_secrets": [],
    }
    assert tested == {
        "message": "WooCommerce answered: first listed SKU MUG-RED",
        "listings": 2,
        "matched": 1,
        "unmatched": ["MUG-R"],
    }
    assert isinstance(synced, list)
    assert synced[0]["captured"] == 1
    assert synced[0]["held"] == 1
    assert mapped == {"listing": 2, "released": [1]}
    assert rules == [
        {
            "sku": "MUG-RED",
            "mode": "units",
            "units": 2,
            "percent": "0",
            "target": "0.01",
            "auto_units": 0,
        }
    ]
    # 40 received, 3 sold on the channel, 2 held back: the store shows 35.
    assert woo.stock_of("MUG-RED") == 35
    assert isinstance(listed, list)
    assert listed[0]["status"] == "up to date"
    assert "BACKROOM" not in json.dumps(listed)
    log_text = log_file().read_text(encoding="utf-8") if log_file().exists() else ""
    assert WOO_SECRET not in log_text
    assert WOO_KEY not in log_text


def test_add_rejects_plain_http_to_a_remote_host(
    shop_db: str, backend: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "channel", "add", "Remote", "--kind", "shopify",
            "--url", "http://shop.example.com", "--db", shop_db,
        ]
    )  # fmt: skip

    assert code == 2
    assert "plain http" in capsys.readouterr().err


def test_missing_secret_is_named_with_its_variable(
    shop_db: str,
    woo: WooServer,
    backend: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "channel", "add", NAME, "--kind", "woocommerce", "--url", woo.url,
            "--db", shop_db,
        ]
    )  # fmt: skip

    assert code == 0
    assert "BACKROOM_SECRET_WOO_STORE_KEY" in capsys.readouterr().err


def test_issues_listed_and_resolved(
    shop_db: str,
    woo: WooServer,
    backend: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BACKROOM_SECRET_WOO_STORE_KEY", WOO_KEY)
    monkeypatch.setenv("BACKROOM_SECRET_WOO_STORE_SECRET", WOO_SECRET)
    since = (new_clock().now() - timedelta(days=1)).isoformat()
    main(
        [
            "channel", "add", NAME, "--kind", "woocommerce", "--url", woo.url,
            "--import-from", since, "--db", shop_db,
        ]
    )  # fmt: skip
    main(["sync", "--once", "--db", shop_db])
    capsys.readouterr()

    (issue,) = run_json(capsys, "channel", "issues", NAME, "--db", shop_db)  # type: ignore[misc]
    code = main(["channel", "resolve", str(issue["id"]), "--db", shop_db])
    resolved = capsys.readouterr().out
    after = run_json(capsys, "channel", "issues", "--db", shop_db)

    assert issue["kind"] == "unknown_sku"
    assert issue["sku"] == "MUG-R"
    assert code == 0
    assert resolved == f"Issue {issue['id']} resolved\n"
    assert after == []
