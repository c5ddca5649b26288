"""The command line: init, reports and check, as a script would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from app.cli import main
from app.core import db
from app.core.models import StockLevel
from app.core.uow import UnitOfWork
from tests.helpers import add_sku


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_init_then_trial_balance_json(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    assert run("init", "--db", path, "--name", "Teacups").returncode == 0
    result = run("report", "trial-balance", "--db", path, "--json")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert data["accounts"][0] == {
        "code": "1000",
        "name": "Bank",
        "type": "asset",
        "debit": "0.00",
        "credit": "0.00",
    }
    assert len(data["accounts"]) == 26


def test_bad_currency_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["init", "--db", str(tmp_path / "s.sqlite"), "--currency", "XYZ"])
    assert code == 2
    assert "'XYZ' is not an ISO 4217 code" in capsys.readouterr().err


def test_bad_date_exits_2(tmp_path: Path) -> None:
    result = run(
        "report", "trial-balance", "--db", str(tmp_path / "x"), "--as-of", "31/12"
    )
    assert result.returncode == 2
    assert "YYYY-MM-DD" in result.stderr


def test_report_on_missing_shop_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["report", "profit-loss", "--db", str(tmp_path / "none.sqlite")])
    assert code == 2
    assert "backroom init" in capsys.readouterr().err


def test_check_reports_broken_rule_and_exits_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sqlite"
    assert main(["init", "--db", str(path)]) == 0
    engine = db.make_engine(path)
    add_sku(engine, "MUG", 3, 100)
    assert main(["check", "--db", str(path)]) == 0
    with UnitOfWork(engine) as uow:
        uow.session.execute(update(StockLevel).values(on_hand=5))
        uow.commit()
    capsys.readouterr()
    assert main(["check", "--db", str(path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert {v["rule"] for v in data["violations"]} == {3}


def test_tax_import_and_register(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "s.sqlite")
    assert main(["init", "--db", path]) == 0
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "Country code,State code,Postcode / ZIP,City,Rate %,Tax name,Priority,"
        "Compound,Shipping,Tax class\n"
        "CA,QC,,,9.975,QST,2,1,1,\n"
        "CA,,,,5,GST,1,0,1,\n"
    )
    assert main(["tax", "import", str(rates), "--db", path, "--replace"]) == 0
    assert main(["tax", "register", "country", "CA", "--db", path]) == 0
    capsys.readouterr()
    assert main(["tax", "list", "--country", "CA", "--db", path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["rate"], r["compound"]) for r in data["rules"]] == [
        ("GST", "5", False),
        ("QST", "9.975", True),
    ]
    assert {"kind": "country", "country": "CA", "region": None} in data["registrations"]


def test_tax_import_bad_file_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "s.sqlite")
    assert main(["init", "--db", path]) == 0
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "Country code,State code,Postcode / ZIP,City,Rate %,Tax name,Priority,"
        "Compound,Shipping,Tax class\nCA,,,,five,GST,1,0,1,\n"
    )
    assert main(["tax", "import", str(rates), "--db", path]) == 2
    assert "five" in capsys.readouterr().err


def test_not_a_database_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("shopping list\n")
    assert main(["check", "--db", str(bogus)]) == 2
    assert "could not be opened or read (file is not a database)" in (
        capsys.readouterr().err
    )


def test_missing_database_is_not_created(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "typo.sqlite"
    assert main(["check", "--db", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_backup_keep_below_one_rejected(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "s.sqlite")
    assert main(["init", "--db", path]) == 0
    assert main(["backup", "--db", path, "--keep", "0"]) == 2
    assert "keep must be at least 1" in capsys.readouterr().err
    assert main(["backup", "--db", path]) == 0
    assert len(list((tmp_path / "backups").glob("s-*.sqlite"))) == 1
    assert list((tmp_path / "backups").glob("*-wal")) == []


def test_tax_import_skips_repeats_and_rejects_rates_over_100(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "s.sqlite")
    assert main(["init", "--db", path]) == 0
    header = (
        "Country code,State code,Postcode / ZIP,City,Rate %,Tax name,Priority,"
        "Compound,Shipping,Tax class\n"
    )
    rates = tmp_path / "rates.csv"
    rates.write_text(header + "FR,,,,5.5,TVA reduite,1,0,1,reduced-rate\n")
    assert main(["tax", "import", str(rates), "--db", path]) == 0
    assert main(["tax", "import", str(rates), "--db", path]) == 0
    assert "Imported 0 tax rules" in capsys.readouterr().out
    rates.write_text(header + "FR,,,,250,TVA,1,0,1,\n")
    assert main(["tax", "import", str(rates), "--db", path]) == 2
    assert "'250' is not a percentage from 0 to 100" in capsys.readouterr().err
