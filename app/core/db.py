"""Engine creation and schema migration.

A database is named by a file path or by any SQLAlchemy URL. SQLite files are
opened with foreign keys on, WAL journal, a busy timeout and full synchronous
writes, because the ledger must survive a power cut after a commit returns.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from app.core.exceptions import SchemaError

log = logging.getLogger(__name__)

APP_NAME = "Backroom"
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def default_db_path() -> Path:
    """Return the shop database path in the user's data folder."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "shop.sqlite"


def database_url(target: str | Path | None) -> str:
    """Turn ``--db`` (a path, a SQLAlchemy URL or None) into a URL."""
    if target is None:
        target = default_db_path()
    text = str(target)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Transactions are begun explicitly in the "begin" hook below, so the
        # driver's own implicit BEGIN is switched off.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(target: str | Path | None = None, **kwargs: Any) -> Engine:
    """Create an engine for a path or URL; SQLite files get the pragmas above."""
    url = make_url(database_url(target))
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault(
            "timeout", BUSY_TIMEOUT_MS / 1000
        )
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """Return the newest migration revision this Backroom knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(make_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    current = current_revision(engine)
    if current is not None and script.get_revision(current) is None:
        raise SchemaError(
            f"this database is at schema revision {current}, which is newer than "
            f"this Backroom knows (newest {script.get_current_head()}); "
            "install the newer Backroom that wrote it"
        )
    log.info("migrating %s from %s to %s", engine.url, current, revision)
    command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("shop")
