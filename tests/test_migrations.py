"""The migrations build exactly the models' schema, up and down."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.core import db
from app.core.models import Base
from tests.pg import postgres_url


def _drift(engine) -> list[object]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_gives_models_schema(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "m.sqlite")
    db.upgrade(engine)
    assert _drift(engine) == []
    assert db.current_revision(engine) == db.head_revision()


def test_downgrade_removes_every_table(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "m.sqlite")
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}


def test_upgrade_on_postgres_matches_models() -> None:
    with postgres_url() as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        assert _drift(engine) == []
        db.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()


def test_sqlite_pragmas_are_set(tmp_path: Path) -> None:
    engine = db.make_engine(tmp_path / "p.sqlite")
    with engine.connect() as conn:
        values = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "synchronous", "busy_timeout")
        }
    assert values["foreign_keys"] == 1
    assert values["journal_mode"] == "wal"
    assert values["synchronous"] == 2  # FULL
    assert values["busy_timeout"] == db.BUSY_TIMEOUT_MS
