"""The UCI Online Retail year imported once per test session into a shop.

Every test module that needs a shop holding a real year of history uses the
``imported`` fixture from here, so the import (about 15 s) runs once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.core import db
from app.core.importing.history import HistoryImportResult, import_history
from app.core.importing.online_retail import ReadReport
from app.core.setup import ShopSettings, create_shop

REAL_FILE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "online_retail"
    / "online_retail.csv.gz"
)
LINE_TOTAL = 974_774_793


@dataclass
class Imported:
    engine: Engine
    path: Path
    first: HistoryImportResult
    second: HistoryImportResult

    @property
    def report(self) -> ReadReport:
        assert self.first.report is not None
        return self.first.report


@pytest.fixture(scope="session")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    if not REAL_FILE.exists():
        pytest.skip(f"real data file {REAL_FILE} is not present on this machine")
    path = tmp_path_factory.mktemp("online_retail") / "shop.sqlite"
    engine = db.make_engine(path)
    create_shop(engine, ShopSettings(name="Online Retail"))
    first = import_history(engine, REAL_FILE)
    second = import_history(engine, REAL_FILE)
    yield Imported(engine, path, first, second)
    engine.dispose()
