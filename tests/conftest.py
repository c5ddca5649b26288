"""Shared fixtures: a fresh shop in a real SQLite file per test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Data, logs, settings and backups of tests stay out of the user's own folders.
_HOME = __import__("tempfile").mkdtemp(prefix="backroom-tests-")
for _var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
    os.environ[_var] = os.path.join(_HOME, _var.lower())

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from app.core import db
from app.core.setup import ShopSettings, create_shop

#: Session fixtures shared by several test modules.
pytest_plugins = ["tests.realshop"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=300,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def shared_data(*parts: str) -> Path:
    """Return a path in the shared real-data folder, skipping when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data file {path} is not present on this machine")
    return path


@pytest.fixture
def make_shop(tmp_path: Path) -> Iterator[object]:
    engines: list[Engine] = []

    def factory(name: str = "shop", **kwargs: object) -> Engine:
        engine = db.make_engine(tmp_path / f"{name}.sqlite")
        create_shop(engine, ShopSettings(name=name.title(), **kwargs))  # type: ignore[arg-type]
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.dispose()


@pytest.fixture
def shop(make_shop) -> Engine:  # type: ignore[no-untyped-def]
    """A GBP shop in Europe/London with the default chart and tax tables."""
    return make_shop()  # type: ignore[no-any-return]
