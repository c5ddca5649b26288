"""Backups, restore, integrity checks and migrations that never lose the books."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app import __version__
from app.cli import main
from app.core import backup, db
from app.core.exceptions import SchemaError
from tests.helpers import account_nets, add_sku


def _file(engine: Engine) -> Path:
    return backup.sqlite_path(engine)


def test_backup_and_restore_round_trip(shop: Engine, tmp_path: Path) -> None:
    add_sku(shop, "MUG", 3, 100)
    saved = backup.backup(shop, folder=tmp_path / "b")
    add_sku(shop, "MUG", 5, 100)
    assert account_nets(shop)["1200"] == 800
    shop.dispose()
    safety = backup.restore(_file(shop), saved, folder=tmp_path / "b")
    assert account_nets(shop)["1200"] == 300
    assert safety is not None
    assert backup.describe(safety).shop_name == "Shop"


def test_list_shows_date_size_and_shop(shop: Engine, tmp_path: Path) -> None:
    first = datetime(2026, 3, 1, 9, tzinfo=UTC)
    backup.backup(shop, folder=tmp_path, now=first)
    backup.backup(shop, folder=tmp_path, now=first + timedelta(hours=1))
    found = backup.list_backups(shop, tmp_path)
    assert [b.taken_at for b in found] == [first + timedelta(hours=1), first]
    assert {b.shop_name for b in found} == {"Shop"}
    assert all(b.size_bytes > 0 and b.ok for b in found)


def test_only_newest_backups_kept(shop: Engine, tmp_path: Path) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for day in range(5):
        backup.backup(shop, folder=tmp_path, keep=3, now=start + timedelta(days=day))
    stamps = [b.taken_at.day for b in backup.list_backups(shop, tmp_path)]
    assert stamps == [5, 4, 3]


def test_daily_backup_only_when_due(shop: Engine, tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert backup.backup_if_due(shop, folder=tmp_path, now=now) is not None
    assert (
        backup.backup_if_due(shop, folder=tmp_path, now=now + timedelta(hours=5))
        is None
    )
    assert (
        backup.backup_if_due(shop, folder=tmp_path, now=now + timedelta(days=1))
        is not None
    )


def test_truncated_file_is_detected(shop: Engine, tmp_path: Path) -> None:
    add_sku(shop, "MUG", 3, 100)
    saved = backup.backup(shop, folder=tmp_path)
    broken = tmp_path / "broken.sqlite"
    data = saved.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    assert backup.integrity_errors(broken) != []
    with pytest.raises(backup.BackupError, match="not a readable Backroom backup"):
        backup.restore(_file(shop), broken, folder=tmp_path)
    assert backup.integrity_errors(_file(shop)) == []


def test_failed_migration_restores_backup(shop: Engine, tmp_path: Path) -> None:
    add_sku(shop, "MUG", 3, 100)
    with shop.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    def broken_upgrade(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM journal_line"))
        raise RuntimeError("simulated failure in a migration step")

    # Pretend the database is one revision behind so that a migration runs.
    original_head = db.head_revision
    db.head_revision = lambda: "0002"  # type: ignore[assignment]
    try:
        with pytest.raises(backup.MigrationFailed, match="was restored"):
            backup.migrate_safely(shop, folder=tmp_path, upgrade=broken_upgrade)
    finally:
        db.head_revision = original_head  # type: ignore[assignment]
    assert account_nets(shop) == {"1200": 300, "2000": -300}
    assert [b.reason for b in backup.list_backups(shop, tmp_path)] == [
        "before-migration"
    ]


def test_migration_from_first_revision_keeps_data(shop: Engine, tmp_path: Path) -> None:
    add_sku(shop, "MUG", 3, 100)
    assert db.current_revision(shop) == db.head_revision()
    assert backup.migrate_safely(shop, folder=tmp_path) is None
    assert account_nets(shop)["1200"] == 300


def test_newer_database_refused_naming_versions(shop: Engine) -> None:
    with shop.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        conn.execute(
            text("UPDATE app_meta SET value = '9.1.0' WHERE key = 'written_by'")
        )
    with pytest.raises(
        SchemaError, match=r"Backroom 9\.1\.0 \(schema 0999\).*newer than"
    ):
        backup.migrate_safely(shop)


def test_newer_schema_from_same_version_asks_for_newer(shop: Engine) -> None:
    with shop.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaError) as raised:
        backup.migrate_safely(shop)
    assert "install a newer Backroom" in str(raised.value)
    assert f"install Backroom {__version__}" not in str(raised.value)


def test_backup_and_restore_commands(shop: Engine, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = str(_file(shop))
    assert main(["backup", "--db", path, "--dir", str(tmp_path)]) == 0
    saved = backup.list_backups(shop, tmp_path)[0].path
    shop.dispose()
    assert main(["restore", str(saved), "--db", path, "--dir", str(tmp_path)]) == 0
    assert "Restored 'Shop'" in capsys.readouterr().out
    assert (
        main(["backup", "--list", "--db", path, "--dir", str(tmp_path), "--json"]) == 0
    )


def test_restore_over_damaged_file_keeps_its_bytes(
    shop: Engine, tmp_path: Path
) -> None:
    add_sku(shop, "MUG", 3, 100)
    saved = backup.backup(shop, folder=tmp_path)
    shop.dispose()
    path = _file(shop)
    damaged = path.read_bytes()[:8192] + b"\0" * 4096
    path.write_bytes(damaged)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    safety = backup.restore(path, saved, folder=tmp_path)
    assert safety is not None
    assert safety.read_bytes() == damaged
    assert account_nets(shop)["1200"] == 300


def test_prune_removes_abandoned_partial_copies(shop: Engine, tmp_path: Path) -> None:
    stem = Path(str(shop.url.database)).stem
    abandoned = tmp_path / f"{stem}-20260301-000000-daily.sqlite.part"
    in_progress = tmp_path / f"{stem}-20260302-000000-daily.sqlite.part"
    for part in (abandoned, in_progress):
        part.write_bytes(b"partial copy")
    two_hours_ago = datetime.now(UTC).timestamp() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))

    backup.backup(shop, folder=tmp_path, keep=3)

    assert not abandoned.exists()
    assert in_progress.exists()
