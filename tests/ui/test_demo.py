"""``backroom demo``: a fixed seed gives the same shop every run."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.commands.app_cmd import cmd_demo
from app.core import db
from app.core.checks import run_checks
from app.core.exceptions import ValidationError
from app.core.queries.ledger import periods
from app.core.queries.orders import OrderFilter, order_ids
from app.core.queries.settings import channels
from app.core.reports import trial_balance
from app.core.uow import UnitOfWork


def figures(path: Path) -> dict[str, Any]:
    """Return the order count, the trial balance and the rule violations."""
    engine = db.make_engine(path)
    try:
        with UnitOfWork(engine, write=False) as uow:
            s = uow.session
            return {
                "orders": len(order_ids(s, OrderFilter())),
                "oversold": len(order_ids(s, OrderFilter(oversold_only=True))),
                "trial_balance": trial_balance(s).to_json(),
                "violations": [v.message for v in run_checks(s)],
                "periods": periods(s, datetime.now(UTC).date()),
                "channels": channels(s),
            }
    finally:
        engine.dispose()


def test_demo_runs_are_identical(
    demo_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tmp_path / "again.sqlite"
    assert main(["demo", "--db", str(second), "--no-open", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    first, again = figures(demo_file), figures(second)
    assert first["orders"] == again["orders"]
    assert printed["orders"] == again["orders"]
    assert first["trial_balance"] == again["trial_balance"]


def test_demo_shop_holds_what_it_promises(demo_file: Path) -> None:
    found = figures(demo_file)
    accounts = {row["code"]: row for row in found["trial_balance"]["accounts"]}
    assert found["violations"] == []
    assert found["orders"] > 500
    assert found["oversold"] == 3
    assert accounts["5000"]["debit"] != "0.00"
    assert accounts["1110"]["debit"] != "0.00"
    assert accounts["4910"]["debit"] != "0.00"
    closed = [p for p in found["periods"] if p.status == "closed"]
    assert len(closed) == 1
    assert closed[0].lines > 0
    connected = [(c.name, c.kind, c.payment_terms) for c in found["channels"]]
    assert connected[2:] == [
        ("Own store", "shopify", "paid"),
        ("Marketplace", "woocommerce", "paid"),
        ("Wholesale", "wholesale", "credit"),
    ]


def test_demo_refuses_existing_shop(demo_file: Path) -> None:
    assert main(["demo", "--db", str(demo_file), "--no-open"]) == 2


def test_demo_error_names_the_file(demo_file: Path) -> None:
    args = argparse.Namespace(db=str(demo_file), no_open=True, json=True)
    with pytest.raises(ValidationError, match="already holds a shop"):
        cmd_demo(args)
