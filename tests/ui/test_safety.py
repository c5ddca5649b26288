"""Start-up checks, backups and restore in the window; the diagnostic report."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, text

from app.core import backup, db, logs, paths
from app.core.exceptions import SchemaError
from app.ui.app import Launcher
from app.ui.main_window import MainWindow
from app.ui.safety import (
    DamagedShopFile,
    ReadOnlyShop,
    RestoreDialog,
    SafetyController,
    install_safety,
    open_database,
    open_with_recovery,
)
from tests.helpers import account_nets, add_sku
from tests.ui.helpers import WAIT_MS, open_window, settle

DAY1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)


def file_of(engine: Engine) -> Path:
    return backup.sqlite_path(engine)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_table_page(path: Path, table: str) -> None:
    """Overwrite one table's root page, leaving the schema and the shop row readable."""
    conn = sqlite3.connect(path)
    try:
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)


Answer = str | Callable[[QDialog], str]


class Answers:
    """Stands in for a person at start-up: records each dialog, returns a result.

    A result is what :func:`app.ui.safety.exec_dialog` returns, or a
    function that works the dialog and returns that.
    """

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.dialogs: list[QDialog] = []

    def __call__(self, dialog: QDialog) -> str:
        self.dialogs.append(dialog)
        answer = self.answers.pop(0)
        return answer(dialog) if callable(answer) else answer


def three_backups(shop: Engine, folder: Path) -> tuple[Path, Path, Path]:
    """Back up MUG x3 on day 1, MUG x5 on day 2, and a damaged copy on day 3."""
    add_sku(shop, "MUG", 3, 100)
    first = backup.backup(shop, folder=folder, now=DAY1)
    add_sku(shop, "MUG", 2, 100)
    second = backup.backup(shop, folder=folder, now=DAY2)
    third = backup.backup(shop, folder=folder, now=DAY3)
    truncate(third)
    return first, second, third


# --- before the window opens ----------------------------------------------


def test_truncated_file_offers_newest_good_backup(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    _first, second, _third = three_backups(shop, folder)
    add_sku(shop, "MUG", 4, 100)
    shop.dispose()
    path = file_of(shop)
    truncate(path)
    answers = Answers("restoreNewest")

    engine = open_with_recovery(
        path,
        lambda target: open_database(target, folder=folder),
        folder=folder,
        ask=answers,
    )

    assert engine is not None
    box = answers.dialogs[0]
    assert isinstance(box, QMessageBox)
    assert box.objectName() == "damagedDialog"
    taken = DAY2.astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"newest good backup is from {taken}" in box.informativeText()
    assert "shop “Shop”" in box.informativeText()
    assert backup.integrity_errors(path) == []
    assert account_nets(engine)["1200"] == 500
    kept = list((folder / "damaged").glob("shop-*.sqlite"))
    assert len(kept) == 1
    assert backup.integrity_errors(kept[0]) != []
    assert second.exists()
    engine.dispose()


def test_damaged_file_left_alone_when_declined(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    three_backups(shop, folder)
    shop.dispose()
    path = file_of(shop)
    truncate(path)
    damaged = path.read_bytes()
    answers = Answers("closeDamaged")

    result = open_with_recovery(
        path,
        lambda target: open_database(target, folder=folder),
        folder=folder,
        ask=answers,
    )

    assert result is None
    assert path.read_bytes() == damaged
    assert len(answers.dialogs) == 1


def test_restore_chosen_backup_at_start(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    three_backups(shop, folder)
    shop.dispose()
    path = file_of(shop)
    truncate(path)
    states: dict[str, object] = {}

    def pick_day1(chooser: QDialog) -> str:
        assert isinstance(chooser, RestoreDialog)
        states["taken"] = [b.taken_at for b in chooser.backups]
        states["state"] = [chooser.table.item(r, 4).text() for r in range(3)]
        chooser.table.selectRow(0)
        states["damaged_enabled"] = chooser.ok_button.isEnabled()
        chooser.table.selectRow(2)
        states["good_enabled"] = chooser.ok_button.isEnabled()
        return "accepted"

    engine = open_with_recovery(
        path,
        lambda target: open_database(target, folder=folder),
        folder=folder,
        ask=Answers("chooseBackup", pick_day1),
    )

    assert states["taken"] == [DAY3, DAY2, DAY1]
    assert states["state"] == ["damaged", "ok", "ok"]
    assert states["damaged_enabled"] is False
    assert states["good_enabled"] is True
    assert engine is not None
    assert account_nets(engine)["1200"] == 300
    engine.dispose()


def test_garbage_file_is_damaged_not_new(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite"
    path.write_bytes(b"these are not the books you are looking for" * 200)
    with pytest.raises(DamagedShopFile, match="is damaged"):
        open_database(path, folder=tmp_path / "backups")


def test_launcher_recovers_truncated_file(
    qtbot: QtBot, shop: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The launcher uses the default backup folder: keep it private to this test.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    add_sku(shop, "MUG", 3, 100)
    backup.backup(shop, now=DAY1)
    shop.dispose()
    path = file_of(shop)
    truncate(path)

    launcher = open_with_recovery(path, Launcher, ask=Answers("restoreNewest"))

    assert launcher is not None
    window = launcher.start()
    qtbot.addWidget(window)
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: launcher.safety is not None, timeout=WAIT_MS)
    assert launcher.safety is not None
    with qtbot.waitSignal(launcher.safety.integrity_checked, timeout=WAIT_MS) as seen:
        pass
    assert seen.args == [[]]
    assert account_nets(launcher.engine)["1200"] == 300
    settle(qtbot, window)
    window.close()
    launcher.engine.dispose()


def test_newer_database_refused_naming_versions(qtbot: QtBot, shop: Engine) -> None:
    with shop.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        conn.execute(
            text("UPDATE app_meta SET value = '9.1.0' WHERE key = 'written_by'")
        )
    shop.dispose()
    answers = Answers("ok")

    result = open_with_recovery(file_of(shop), open_database, ask=answers)

    assert result is None
    box = answers.dialogs[0]
    assert isinstance(box, QMessageBox)
    assert box.windowTitle() == "Newer database"
    assert "Backroom 9.1.0 (schema 0999)" in box.text()
    assert "this Backroom 0.1.0" in box.text()


def test_failed_migration_shown_with_restored_backup(qtbot: QtBot) -> None:
    answers = Answers("ok")

    def make(_target: str) -> None:
        raise backup.MigrationFailed(
            "updating the database schema failed (disk full); the backup taken "
            "just before, /b/shop-1.sqlite, was restored"
        )

    assert open_with_recovery("shop.sqlite", make, ask=answers) is None
    box = answers.dialogs[0]
    assert isinstance(box, QMessageBox)
    assert box.windowTitle() == "Database update failed"
    assert "/b/shop-1.sqlite, was restored" in box.text()


def test_newer_database_error_is_schema_error(shop: Engine) -> None:
    with shop.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    shop.dispose()
    with pytest.raises(SchemaError, match="newer than this Backroom"):
        open_database(file_of(shop))


# --- the open window ------------------------------------------------------


def safe_window(
    qtbot: QtBot, engine: Engine, folder: Path
) -> tuple[MainWindow, SafetyController]:
    window = open_window(qtbot, engine)
    safety = install_safety(window, folder=folder)
    with qtbot.waitSignal(safety.integrity_checked, timeout=WAIT_MS):
        safety.start()
    settle(qtbot, window)
    return window, safety


def test_daily_backup_once_per_day(qtbot: QtBot, shop: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    window, safety = safe_window(qtbot, shop, folder)
    assert [b.reason for b in backup.list_backups(shop, folder)] == ["daily"]

    safety.timer.timeout.emit()
    settle(qtbot, window)

    assert safety.timer.isActive()
    assert len(backup.list_backups(shop, folder)) == 1


def test_corrupt_page_turns_window_read_only(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    add_sku(shop, "MUG", 3, 100)
    good = backup.backup(shop, folder=folder, now=DAY1)
    shop.dispose()
    damage_table_page(file_of(shop), "tax_rule")
    window = open_window(qtbot, shop)
    safety = install_safety(window, folder=folder)

    with qtbot.waitSignal(safety.integrity_checked, timeout=WAIT_MS) as seen:
        safety.start()

    assert seen.args[0] != []
    assert safety.banner is not None
    assert safety.banner.isVisible()
    assert "Read-only" in safety.banner.text()
    assert window.stack.isVisible()
    assert not safety.timer.isActive()
    assert isinstance(window.ctx.ops.read_only, ReadOnlyShop)
    dialog = safety.damaged_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.findChild(QObject, "restoreNewest") is not None
    taken = DAY1.astimezone().strftime("%Y-%m-%d %H:%M")
    assert taken in dialog.informativeText()

    # A write is rejected with the reason instead of touching the file.
    failures: list[BaseException] = []
    window.ctx.ops.write(lambda uow: None, label="Saving", on_error=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert isinstance(failures[0], ReadOnlyShop)
    assert "read-only" in str(failures[0])

    # Restoring the offered backup reopens a writable window.
    with qtbot.waitSignal(safety.reopened, timeout=WAIT_MS) as reopened:
        dialog.findChild(QObject, "restoreNewest").click()  # type: ignore[union-attr]
    new_window = reopened.args[0]
    qtbot.addWidget(new_window)
    new_safety = new_window.safety
    qtbot.waitUntil(lambda: new_safety.problems is not None, timeout=WAIT_MS)
    assert new_safety.problems == []
    assert new_window.ctx.ops.read_only is None
    assert account_nets(new_window.ctx.engine)["1200"] == 300
    assert list((folder / "damaged").glob("shop-*.sqlite"))
    assert good.exists()
    settle(qtbot, new_window)
    new_window.close()
    new_window.ctx.engine.dispose()


def test_restore_round_trip_from_file_menu(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    add_sku(shop, "MUG", 3, 100)
    window, safety = safe_window(qtbot, shop, folder)
    with qtbot.waitSignal(safety.backed_up, timeout=WAIT_MS) as saved:
        safety.backup_action.trigger()
    manual = saved.args[0]
    add_sku(shop, "MUG", 5, 100)
    assert account_nets(shop)["1200"] == 800

    safety.restore_action.trigger()
    dialog = safety.restore_dialog
    assert dialog is not None
    rows = [dialog.table.item(r, 3).text() for r in range(dialog.table.rowCount())]
    assert sorted(rows) == ["daily", "manual"]
    manual_row = next(r for r, b in enumerate(dialog.backups) if b.path == manual)
    assert dialog.table.item(manual_row, 2).text() == "Shop"
    assert dialog.table.item(manual_row, 1).text().endswith(" MB")
    dialog.table.selectRow(manual_row)
    with qtbot.waitSignal(safety.reopened, timeout=WAIT_MS) as reopened:
        dialog.ok_button.click()

    new_window = reopened.args[0]
    qtbot.addWidget(new_window)
    assert not window.isVisible()
    assert new_window.isVisible()
    assert new_window.ctx.user is not None
    assert new_window.ctx.user.name == "Owner"
    assert account_nets(new_window.ctx.engine)["1200"] == 300
    before = [
        b for b in backup.list_backups(shop, folder) if b.reason == "before-restore"
    ]
    assert len(before) == 1
    kept = db.make_engine(before[0].path)
    assert account_nets(kept)["1200"] == 800
    kept.dispose()
    new_safety = new_window.safety
    qtbot.waitUntil(lambda: new_safety.problems is not None, timeout=WAIT_MS)
    settle(qtbot, new_window)
    new_window.close()
    new_window.ctx.engine.dispose()


class UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_data_folder_asks_desktop(
    qtbot: QtBot, shop: Engine, tmp_path: Path
) -> None:
    _window, safety = safe_window(qtbot, shop, tmp_path / "backups")
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        safety.data_folder_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(paths.data_dir())]


#: Each secret and the log line that carries it.
SECRETS = (
    ("shpat_0123456789abcdef0123", "shopify token=shpat_0123456789abcdef0123"),
    ("hunter2!", "smtp password: hunter2!"),
    ("ck_5f0e9a8b7c6d5e4f3a2b1c0d", "woo consumer_key=ck_5f0e9a8b7c6d5e4f3a2b1c0d"),
    (
        "Zq8xLmN3pR5tV7wY9aB2cD4e",
        'sent header Authorization: "Bearer Zq8xLmN3pR5tV7wY9aB2cD4e"',
    ),
    ("s3cr3tpw", "connecting to postgresql+psycopg://bob:s3cr3tpw@db.local/shop"),
    ("ann.smith@example.com", "mailed the invoice to ann.smith@example.com"),
    ("PlainWordsSecret", "the value was PlainWordsSecret"),
)


def test_diagnostic_report_has_no_secrets(
    qtbot: QtBot, shop: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.setup_logging()
    monkeypatch.setenv("BACKROOM_SECRET_MAIN_STORE_TOKEN", "PlainWordsSecret")
    sample = logging.getLogger("tests.diagnostics")
    for _secret, line in SECRETS:
        sample.warning(line)
    sample.warning("order SELFTEST-1 shipped with 2 x MUG at 12.00")
    _window, safety = safe_window(qtbot, shop, tmp_path / "backups")

    safety.report_action.trigger()
    report = QGuiApplication.clipboard().text()

    for secret, _line in SECRETS:
        assert secret not in report, secret
    assert "order SELFTEST-1 shipped with 2 x MUG at 12.00" in report
    assert "shopify token=[redacted]" in report
    assert logs.versions() in report
    assert f"Data folder: {paths.data_dir()}" in report
    assert f"Log file: {logs.log_file()}" in report
    assert "Integrity: ok" in report
    assert "(1 backups, newest" in report
