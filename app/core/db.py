"""Engine creation and schema migration.

A database is named by a file path or by any SQLAlchemy URL. SQLite files are
opened with foreign keys on, WAL journal, a busy timeout and full synchronous
writes, because the ledger must survive a power cut after a commit returns.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from app import __version__
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


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?(\w+)?['\"]?", re.M)


@cache
def _revisions() -> dict[str, str | None]:
    """Return revision -> down revision, read from the migration files.

    Reading the files directly keeps Alembic (and Mako) out of a normal
    start-up; Alembic is imported only when a migration has to run.
    """
    found: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        values = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if values.get("revision"):
            down = values.get("down_revision")
            found[values["revision"]] = down if down and down != "None" else None
    return found


def head_revision() -> str:
    """Return the newest migration revision among this Backroom's migration files."""
    revisions = _revisions()
    parents = {down for down in revisions.values() if down}
    heads = [rev for rev in revisions if rev not in parents]
    if len(heads) != 1:
        raise SchemaError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def _known_revision(revision: str) -> bool:
    return revision in _revisions()


def written_by(engine: Engine) -> str | None:
    """Return the Backroom version that last migrated or created the database."""
    if not inspect(engine).has_table("app_meta"):
        return None
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT value FROM app_meta WHERE key = 'written_by'")
        ).scalar()
    return str(value) if value is not None else None


def refuse_newer(engine: Engine) -> None:
    """Raise SchemaError when the database comes from a newer Backroom."""
    current = current_revision(engine)
    if current is None or _known_revision(current):
        return
    writer = written_by(engine)
    # A development build can share this build's version number and differ
    # only in its schema, so that version is not worth naming.
    named = writer is not None and writer != __version__
    raise SchemaError(
        f"this database was written by Backroom {writer if named else 'unknown'} "
        f"(schema {current}), which is newer than this Backroom {__version__} "
        f"(schema {head_revision()}); install "
        + (f"Backroom {writer} or newer" if named else "a newer Backroom")
        + " to open it"
    )


def _stamp_version(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM app_meta WHERE key = 'written_by'"))
        conn.execute(
            text("INSERT INTO app_meta (key, value) VALUES ('written_by', :v)"),
            {"v": __version__},
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest) in one transaction."""
    from alembic import command

    refuse_newer(engine)
    log.info(
        "migrating %s from %s to %s", engine.url, current_revision(engine), revision
    )
    command.upgrade(_alembic_config(engine), revision)
    if inspect(engine).has_table("app_meta"):
        _stamp_version(engine)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("shop")
