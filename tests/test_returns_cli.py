"""``backroom returns ...`` end to end on a real shop file."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from app.cli import main
from tests.test_returns import sample_sale, stock_shop
from tests.test_returns_fraud import history_shop


def db_path(engine: Engine) -> str:
    assert engine.url.database is not None
    return engine.url.database


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_return_flow(shop: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    stock_shop(shop)
    sample_sale(shop)
    path = db_path(shop)
    authorized = run_json(
        capsys,
        "returns", "authorize", "1001",
        "--line", "1:1:damaged",
        "--at", "2026-06-17T12:00:00+00:00",
        "--db", path,
    )  # fmt: skip
    assert authorized == {"rma": "RMA-000001", "id": 1, "late": False, "signals": []}
    received = run_json(
        capsys,
        "returns", "receive", "RMA-000001",
        "--count", "1:1", "--weight", "420", "--grade", "1:opened:1",
        "--at", "2026-06-19T09:00:00",
        "--db", path,
    )  # fmt: skip
    assert received == {
        "rma": "RMA-000001",
        "status": "inspected",
        "signals": [],
        "refunds": [],
    }
    refunded = run_json(
        capsys,
        "returns", "refund", "RMA-000001", "--pay", "channel",
        "--at", "2026-06-19T10:00:00",
        "--db", path,
    )  # fmt: skip
    assert refunded == {
        "refund": 1,
        "status": "paid",
        "total": "10.80",
        "currency": "GBP",
    }
    disposed = run_json(
        capsys,
        "returns", "dispose", "RMA-000001",
        "--line", "1", "--quantity", "1", "--action", "restock",
        "--at", "2026-06-19T11:00:00",
        "--db", path,
    )  # fmt: skip
    assert disposed == {"disposition": 1, "value": "2.50"}
    listed = run_json(capsys, "returns", "list", "--db", path)
    assert isinstance(listed, dict)
    assert [
        (r["reference"], r["status"], r["refunded"]) for r in listed["returns"]
    ] == [("RMA-000001", "closed", "10.80")]
    shown = run_json(capsys, "returns", "show", "rma-000001", "--db", path)
    assert isinstance(shown, dict)
    assert [(r["status"], r["total"], r["credit_note"]) for r in shown["refunds"]] == [
        ("paid", "10.80", "CN-000001")
    ]
    assert main(["check", "--db", path]) == 0


def test_cli_bad_line_exits_2(shop: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    stock_shop(shop)
    sample_sale(shop)
    status = main(
        ["returns", "authorize", "1001", "--line", "one", "--db", db_path(shop)]
    )
    assert status == 2
    assert "--line 'one' must look like NO:QTY" in capsys.readouterr().err


def test_cli_unknown_rma_exits_2(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["returns", "show", "RMA-000404", "--db", db_path(shop)])
    assert status == 2
    assert "return 'RMA-000404' does not exist" in capsys.readouterr().err


def test_cli_analyze_lists_outliers(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = history_shop(shop)
    path = db_path(shop)
    found = run_json(capsys, "returns", "analyze", "--db", path)
    assert found == {
        "customers": [
            {
                "customer_id": ids["F"],
                "orders": 5,
                "returns": 3,
                "returned_value": "300.00",
                "returned_share": "0.6000",
                "score": "39.7950",
                "signals": ["serial_returner"],
            }
        ]
    }
    run_json(capsys, "returns", "analyze", "--record", "--db", path)
    assert main(["returns", "analyze", "--db", path]) == 0
    assert f"customer {ids['F']}: 3 returns of 5 orders" in capsys.readouterr().out
