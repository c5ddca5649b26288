"""Backups of the shop database, restore, integrity checks and safe migration.

Backups use SQLite's online backup API, so a copy taken while the app runs
is consistent. A backup is taken before every migration, daily while the app
runs and on demand; the newest ``keep`` files are kept. Restoring first backs
up the file it replaces.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.core import db
from app.core.exceptions import BackroomError
from app.core.paths import backup_dir

log = logging.getLogger(__name__)

DEFAULT_KEEP = 14
_NAME = re.compile(
    r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})(?:-(?P<reason>[a-z-]+))?\.sqlite$"
)


class BackupError(BackroomError):
    """A backup or restore could not be made; the current file is unchanged."""


class DamagedDatabase(BackroomError):
    """The integrity check found the database file damaged."""


class MigrationFailed(BackroomError):
    """A schema migration failed and the pre-migration backup was restored."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A backup file with the facts a person needs before restoring it."""

    path: Path
    taken_at: datetime
    size_bytes: int
    shop_name: str | None
    reason: str
    ok: bool


def sqlite_path(target: str | Path | Engine) -> Path:
    """Return the file behind a path, URL or engine; reject non-SQLite databases."""
    url = make_url(
        db.database_url(
            target.url.render_as_string(hide_password=False)
            if isinstance(target, Engine)
            else target
        )
    )
    if (
        url.get_backend_name() != "sqlite"
        or not url.database
        or url.database == ":memory:"
    ):
        raise BackupError(
            f"{url.render_as_string(hide_password=True)} is not a SQLite file; "
            "back up a PostgreSQL shop with pg_dump"
        )
    return Path(url.database)


def _copy(source: Path, dest: Path) -> None:
    """Copy a live SQLite database with the online backup API."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(dest.suffix + ".part")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        out = sqlite3.connect(partial)
        try:
            src.backup(out, pages=1024)
            # A copy is a single file: WAL mode would leave -wal and -shm
            # files beside it whenever it is opened.
            out.execute("PRAGMA journal_mode=DELETE")
        finally:
            out.close()
    finally:
        src.close()
    partial.replace(dest)


def integrity_errors(path: Path, *, full: bool = False) -> list[str]:
    """Run ``PRAGMA quick_check`` (or ``integrity_check``); return its complaints."""
    if not path.exists():
        return [f"{path} does not exist"]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            pragma = "integrity_check" if full else "quick_check"
            rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def backup(
    target: str | Path | Engine,
    *,
    reason: str = "manual",
    folder: Path | None = None,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> Path:
    """Copy the database into the backup folder and prune old copies."""
    if keep < 1:
        raise BackupError(
            f"keep must be at least 1, not {keep}; the new backup is kept"
        )
    source = sqlite_path(target)
    if not source.exists():
        raise BackupError(f"{source} does not exist; nothing to back up")
    folder = folder or default_folder(source)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    dest = folder / f"{source.stem}-{stamp}-{reason}.sqlite"
    try:
        _copy(source, dest)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"backing up {source} to {dest} failed: {exc}") from exc
    log.info("backed up %s to %s (%s)", source, dest, reason)
    prune(folder, source.stem, keep)
    return dest


def default_folder(database: Path) -> Path:
    """Return where backups of a database go when no folder is given.

    The shop in the user data folder keeps its backups in the data folder's
    ``backups``; a database elsewhere keeps them in ``backups`` beside it.
    """
    if database.resolve().parent == db.default_db_path().resolve().parent:
        return backup_dir()
    return database.resolve().parent / "backups"


#: Seconds after which an unfinished copy counts as abandoned.
PART_MAX_AGE_S = 3600


def prune(folder: Path, stem: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of one database."""
    mine = sorted(
        (p for p in folder.glob(f"{stem}-*.sqlite") if _NAME.match(p.name)),
        key=lambda p: _NAME.match(p.name).group("stamp"),  # type: ignore[union-attr]
    )
    removed = mine[: max(0, len(mine) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
        log.info("removed old backup %s", path)
    # A copy cut off by a crash leaves its .part file. One untouched for an
    # hour is not being written by any running backup.
    stale_before = time.time() - PART_MAX_AGE_S
    for part in folder.glob(f"{stem}-*.sqlite.part"):
        if part.stat().st_mtime < stale_before:
            part.unlink(missing_ok=True)
            log.info("removed unfinished backup %s", part)
            removed.append(part)
    return removed


def describe(path: Path) -> BackupInfo:
    """Read a backup's date, size and shop name without changing it."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist; choose a backup file")
    match = _NAME.match(path.name)
    taken = (
        datetime.strptime(match.group("stamp"), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        if match
        else datetime.fromtimestamp(path.stat().st_mtime, UTC)
    )
    shop_name = None
    ok = not integrity_errors(path)
    if ok:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT name FROM shop WHERE id = 1").fetchone()
                shop_name = row[0] if row else None
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            ok = False
    return BackupInfo(
        path=path,
        taken_at=taken,
        size_bytes=path.stat().st_size,
        shop_name=shop_name,
        reason=(match.group("reason") or "") if match else "",
        ok=ok,
    )


def list_backups(
    target: str | Path | Engine, folder: Path | None = None
) -> list[BackupInfo]:
    """Return the backups of one database, newest first."""
    source = sqlite_path(target)
    stem = source.stem
    folder = folder or default_folder(source)
    files = [p for p in folder.glob(f"{stem}-*.sqlite") if _NAME.match(p.name)]
    return sorted((describe(p) for p in files), key=lambda b: b.taken_at, reverse=True)


def newest_good_backup(
    target: str | Path | Engine, folder: Path | None = None
) -> BackupInfo | None:
    return next((b for b in list_backups(target, folder) if b.ok and b.shop_name), None)


def backup_if_due(
    target: str | Path | Engine,
    *,
    folder: Path | None = None,
    every: timedelta = timedelta(days=1),
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> Path | None:
    """Take the daily backup when the newest one is older than ``every``."""
    now = now or datetime.now(UTC)
    source = sqlite_path(target)
    stem = source.stem
    stamps = [
        datetime.strptime(m.group("stamp"), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        for p in (folder or default_folder(source)).glob(f"{stem}-*.sqlite")
        if (m := _NAME.match(p.name))
    ]
    # The file names carry the time, so no backup needs opening here.
    if stamps and now - max(stamps) < every:
        return None
    return backup(target, reason="daily", folder=folder, keep=keep, now=now)


def restore(
    target: str | Path,
    backup_file: Path,
    *,
    folder: Path | None = None,
    keep: int = DEFAULT_KEEP,
) -> Path | None:
    """Replace the database with a backup; the current file is backed up first.

    Returns the safety backup of the replaced file (None when there was no
    file). The caller must have closed every connection to the database.
    """
    dest = sqlite_path(target)
    if not backup_file.is_file():
        raise BackupError(f"{backup_file} does not exist; choose a backup file")
    problems = integrity_errors(backup_file, full=True)
    if problems:
        raise BackupError(
            f"{backup_file} is not a readable Backroom backup ({problems[0]}); "
            "choose another backup file"
        )
    info = describe(backup_file)
    if info.shop_name is None:
        raise BackupError(
            f"{backup_file} contains no Backroom shop; choose another file"
        )
    safety = None
    if dest.exists():
        if integrity_errors(dest):
            # A damaged file cannot go through the backup API; keep its bytes.
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            aside = folder or default_folder(dest)
            safety = aside / "damaged" / f"{dest.stem}-{stamp}.sqlite"
            safety.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dest, safety)
        else:
            safety = backup(dest, reason="before-restore", folder=folder, keep=keep + 1)
    for suffix in ("-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    try:
        _copy(backup_file, dest)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"restoring {backup_file} over {dest} failed: {exc}") from exc
    log.info("restored %s from %s", dest, backup_file)
    return safety


def migrate_safely(
    engine: Engine,
    *,
    folder: Path | None = None,
    upgrade: Callable[[Engine], None] = db.upgrade,
) -> Path | None:
    """Bring an existing database to the newest schema, backing it up first.

    When the migration fails, the backup is restored and MigrationFailed
    names it. Returns the backup taken, or None when nothing needed doing.
    """
    db.refuse_newer(engine)
    if db.current_revision(engine) == db.head_revision():
        return None
    if not db.is_sqlite(engine):
        upgrade(engine)
        return None
    saved = backup(
        engine, reason="before-migration", folder=folder, keep=DEFAULT_KEEP + 1
    )
    path = sqlite_path(engine)
    try:
        upgrade(engine)
    except Exception as exc:
        engine.dispose()
        restore_error = None
        try:
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            _copy(saved, path)
        except (sqlite3.Error, OSError) as again:
            restore_error = again
        log.exception("migration of %s failed", path)
        if restore_error is not None:
            raise MigrationFailed(
                f"updating the database schema failed ({exc}) and restoring the backup "
                f"{saved} also failed ({restore_error}); copy that backup over {path} "
                "by hand"
            ) from exc
        raise MigrationFailed(
            f"updating the database schema failed ({exc}); the backup taken just "
            f"before, {saved}, was restored, so the shop is as it was. Report this "
            "with Help > Copy diagnostic report"
        ) from exc
    return saved
