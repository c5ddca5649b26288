"""Keeping the books safe in the window: start-up checks, backups, restore, help.

Before the window opens, :func:`open_database` rejects a database from a
newer Backroom and migrates an older one with a backup taken first
(:func:`app.core.backup.migrate_safely`). A file SQLite cannot read raises
:class:`DamagedShopFile`. :func:`open_with_recovery` shows the matching
dialog and, for a damaged file, offers the newest good backup.

Once the window is up, :class:`SafetyController` runs the integrity check
on a background thread. When it fails, the window turns read-only (a banner,
and every write through :class:`app.ui.ops.Operations` is rejected) and a
dialog offers the newest good backup. The controller also owns the daily
backup timer, File > Back up now / Restore from backup, and Help > Open
data folder / Copy diagnostic report.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from app.core import backup, db, paths
from app.core.backup import BackupError, BackupInfo, DamagedDatabase, MigrationFailed
from app.core.exceptions import BackroomError, SchemaError
from app.core.queries.settings import users
from app.ui.context import AppContext
from app.ui.diagnostics import describe_backup, diagnostic_report
from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often the window checks whether the daily backup is due.
DAILY_CHECK_MS = 60 * 60 * 1000
#: Folder inside the backup folder where damaged files are kept for support.
DAMAGED_FOLDER = "damaged"


class ReadOnlyShop(BackroomError):
    """The window rejects writes because the shop file failed its integrity check."""


# --- opening a database ---------------------------------------------------


def _sqlite_file(engine: Engine) -> Path | None:
    return backup.sqlite_path(engine) if db.is_sqlite(engine) else None


class DamagedShopFile(DamagedDatabase):
    """SQLite cannot read the shop file; ``problems`` lists what it reported."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(
            f"the shop file {path} is damaged ({problems[0]}); restore a backup"
        )
        self.path = path
        self.problems = problems


def open_database(target: str | Path, *, folder: Path | None = None) -> Engine:
    """Open a shop database for the window, migrating it safely first.

    Raises SchemaError for a database from a newer Backroom, MigrationFailed
    when the migration failed (its backup is then restored) and
    DamagedShopFile when SQLite cannot read the file. A file that exists but
    contains no readable schema is checked too, so a damaged shop is never
    mistaken for a new, empty one.
    """
    engine = db.make_engine(target)
    path = _sqlite_file(engine)
    try:
        if db.has_schema(engine):
            backup.migrate_safely(engine, folder=folder)
        elif path is not None and path.exists() and path.stat().st_size > 0:
            problems = backup.integrity_errors(path)
            if problems:
                raise DamagedShopFile(path, problems)
    except (DatabaseError, BackupError) as exc:
        engine.dispose()
        problems = backup.integrity_errors(path) if path is not None else []
        if path is None or not problems:
            raise
        raise DamagedShopFile(path, problems) from exc
    except BackroomError:
        engine.dispose()
        raise
    return engine


def set_aside_damaged(path: Path, folder: Path | None = None) -> Path:
    """Move a damaged database and its WAL files into the backup folder.

    The bytes are copied as they are, because SQLite's backup API cannot read
    a damaged file. Returns the copy of the main file.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    keep = (folder or paths.backup_dir()) / DAMAGED_FOLDER
    keep.mkdir(parents=True, exist_ok=True)
    main_copy = keep / f"{path.stem}-{stamp}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.copy2(source, Path(f"{main_copy}{suffix}"))
            source.unlink()
    log.warning("moved the damaged database %s to %s", path, main_copy)
    return main_copy


def restore_backup(
    path: Path, chosen: Path, *, folder: Path | None = None
) -> Path | None:
    """Restore ``chosen`` over ``path``; returns the copy kept of the old file.

    A healthy file is backed up by :func:`app.core.backup.restore` first; a
    damaged one is moved aside byte for byte. Every connection to ``path``
    must be closed.
    """
    if path.exists() and backup.integrity_errors(path):
        problems = backup.integrity_errors(chosen, full=True)
        if problems:
            raise BackupError(
                f"backup {chosen} is damaged ({problems[0]}); choose an older backup"
            )
        kept = set_aside_damaged(path, folder)
        backup.restore(path, chosen, folder=folder)
        return kept
    return backup.restore(path, chosen, folder=folder)


def damaged_box(
    parent: QWidget | None, path: Path, problems: list[str], newest: BackupInfo | None
) -> QMessageBox:
    """Build the dialog for a damaged shop file, offering the newest good backup."""
    box = QMessageBox(parent)
    box.setObjectName("damagedDialog")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Shop file damaged")
    box.setText(
        f"The shop file {path.name} is damaged, so Backroom will not write to it."
    )

    detail = f"SQLite reports: {problems[0] if problems else 'unknown damage'}."
    if newest is not None:
        detail += (
            f"\n\nThe newest good backup is from {describe_backup(newest)}. "
            "Restoring it keeps a copy of the damaged file in the backup folder; "
            "work done after that backup has to be entered again."
        )
        restore = box.addButton(
            "Restore newest good backup", QMessageBox.ButtonRole.AcceptRole
        )
        restore.setObjectName("restoreNewest")
        box.setDefaultButton(restore)
    else:
        detail += (
            f"\n\nNo good backup was found in {paths.backup_dir()}. Keep the file "
            "as it is and send Help > Copy diagnostic report to support."
        )

    box.setInformativeText(detail)
    box.setDetailedText("\n".join(problems[:50]))
    choose = box.addButton("Choose a backup…", QMessageBox.ButtonRole.ActionRole)
    choose.setObjectName("chooseBackup")
    close = box.addButton("Close", QMessageBox.ButtonRole.RejectRole)
    close.setObjectName("closeDamaged")
    return box


def exec_dialog(dialog: QDialog) -> str:
    """Show a dialog modally and return its result as text.

    For a message box the result is the object name of the button pressed.
    For any other dialog it is ``"accepted"`` or ``""``.
    """
    result = dialog.exec()
    if isinstance(dialog, QMessageBox):
        clicked = dialog.clickedButton()
        return clicked.objectName() if clicked is not None else ""
    return "accepted" if result == QDialog.DialogCode.Accepted else ""


def _message(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("startupMessage")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text[:1].upper() + text[1:])
    box.addButton(QMessageBox.StandardButton.Ok).setObjectName("ok")
    return box


def open_with_recovery(
    target: str | Path,
    make: Callable[[str], T],
    *,
    folder: Path | None = None,
    ask: Callable[[QDialog], str] = exec_dialog,
) -> T | None:
    """Call ``make(target)`` and turn start-up failures into dialogs.

    ``make`` opens the shop (it calls :func:`open_database`). A newer
    database or a failed migration ends with a message and None. A damaged
    file offers the newest good backup (or a chosen one); after a restore
    ``make`` runs again. ``ask`` shows each dialog and returns its result
    (see :func:`exec_dialog`), and tests pass their own.
    """
    while True:
        try:
            return make(str(target))
        except SchemaError as exc:
            log.error("cannot open %s: %s", target, exc)
            ask(_message(None, "Newer database", str(exc)))
            return None
        except MigrationFailed as exc:
            log.error("migration of %s failed: %s", target, exc)
            ask(_message(None, "Database update failed", str(exc)))
            return None
        except DamagedDatabase as exc:
            path = getattr(exc, "path", None) or backup.sqlite_path(target)
            problems = getattr(exc, "problems", None) or [str(exc)]
            log.error("the shop file %s is damaged: %s", path, problems[0])
            newest = backup.newest_good_backup(path, folder)
            result = ask(damaged_box(None, path, problems, newest))
            chosen = newest.path if result == "restoreNewest" and newest else None
            if result == "chooseBackup":
                dialog = RestoreDialog(backup.list_backups(path, folder))
                if ask(dialog) == "accepted":
                    chosen = dialog.selected_path()
            if chosen is None:
                return None
            try:
                restore_backup(path, chosen, folder=folder)
            except BackupError as failure:
                log.error("restoring %s failed: %s", chosen, failure)
                ask(_message(None, "Restore failed", str(failure)))
                return None


# --- choosing a backup ----------------------------------------------------


class RestoreDialog(QDialog):
    """Lists backups with date, size, shop name and state; one is chosen."""

    COLUMNS = ("Taken", "Size", "Shop", "Reason", "State")

    def __init__(self, found: list[BackupInfo], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("restoreDialog")
        self.setWindowTitle("Restore from backup")
        self.backups = found
        self.table = QTableWidget(len(found), len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, info in enumerate(found):
            cells = (
                info.taken_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                f"{info.size_bytes / 1_000_000:.1f} MB",
                info.shop_name or "?",
                info.reason,
                "ok" if info.ok else "damaged",
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.itemSelectionChanged.connect(self._update)

        hint = QLabel(
            "Restoring replaces the shop with the chosen backup. The current file "
            "is backed up first, so this can be undone by restoring that copy."
            if found
            else f"No backups yet in {paths.backup_dir()}."
        )
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Restore")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table)
        layout.addWidget(self.buttons)
        self.resize(640, 360)

        good = next((row for row, b in enumerate(found) if b.ok and b.shop_name), None)
        if good is not None:
            self.table.selectRow(good)
        self._update()

    def selected(self) -> BackupInfo | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self.backups[min(rows)] if rows else None

    def selected_path(self) -> Path | None:
        info = self.selected()
        return info.path if info is not None else None

    def _update(self) -> None:
        info = self.selected()
        self.ok_button.setEnabled(info is not None and info.ok)


# --- the open window ------------------------------------------------------


class _Relay(QObject):
    """Carries a background thread's result to the GUI thread."""

    done = Signal(object)


def _menu(window: MainWindow, title: str) -> QMenu:
    """Return the window's menu with ``title`` (no ampersand), creating it."""
    bar = window.menuBar()
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and menu.title().replace("&", "") == title:
            return menu
    return bar.addMenu(f"&{title}")


class SafetyController(QObject):
    """Backups, restore, the integrity check and help actions of one window.

    ``folder`` is the backup folder (default: the data folder's). When the
    shop is restored, ``on_reopen`` receives the new window.
    """

    integrity_checked = Signal(object)
    backed_up = Signal(object)
    reopened = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        *,
        folder: Path | None = None,
        on_reopen: Callable[[MainWindow], None] | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.folder = folder
        self.on_reopen = on_reopen
        self.path = _sqlite_file(window.ctx.engine)
        self.problems: list[str] | None = None
        self.banner: QLabel | None = None
        self.damaged_dialog: QMessageBox | None = None
        self.restore_dialog: RestoreDialog | None = None
        self._relay = _Relay(self)
        self._relay.done.connect(self._checked)
        self.timer = QTimer(self)
        self.timer.setInterval(DAILY_CHECK_MS)
        self.timer.timeout.connect(self.daily_backup)
        self.closed = False
        window.installEventFilter(self)
        self._actions()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A closed window has shut its task threads down: start nothing more.
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.closed = True
            self.timer.stop()
        return False

    # --- menus

    def _actions(self) -> None:
        file_menu = _menu(self.window, "File")
        self.backup_action = QAction("Back up now", self.window)
        self.backup_action.triggered.connect(self.backup_now)
        self.restore_action = QAction("Restore from backup…", self.window)
        self.restore_action.triggered.connect(self.choose_restore)
        file_menu.addAction(self.backup_action)
        file_menu.addAction(self.restore_action)
        if self.path is None:
            for action in (self.backup_action, self.restore_action):
                action.setEnabled(False)
                action.setToolTip("Back up a PostgreSQL shop with pg_dump")
        help_menu = _menu(self.window, "Help")
        self.data_folder_action = QAction("Open data folder", self.window)
        self.data_folder_action.triggered.connect(self.open_data_folder)
        self.report_action = QAction("Copy diagnostic report", self.window)
        self.report_action.triggered.connect(self.copy_report)
        help_menu.addAction(self.data_folder_action)
        help_menu.addAction(self.report_action)

    # --- integrity check

    def start(self) -> None:
        """Start the background integrity check; the daily timer follows it."""
        if self.path is None:
            self._checked([])
            return
        path = self.path

        def run() -> None:
            try:
                problems = backup.integrity_errors(path)
            except Exception as exc:
                log.exception("integrity check of %s failed to run", path)
                problems = [f"the check could not run: {exc}"]
            try:
                self._relay.done.emit(problems)
            except RuntimeError:
                # The window was closed and deleted while the check ran.
                log.info("integrity check of %s finished after the window closed", path)

        threading.Thread(target=run, name="backroom-integrity", daemon=True).start()

    def _checked(self, problems: list[str]) -> None:
        self.problems = problems
        if self.closed:
            self.integrity_checked.emit(problems)
            return
        if problems:
            log.error("integrity check of %s failed: %s", self.path, problems[0])
            self.make_read_only(problems)
            self.offer_restore(problems)
        else:
            log.info("integrity check of %s passed", self.path)
            self.timer.start()
            self.daily_backup()
        self.integrity_checked.emit(problems)

    @property
    def read_only(self) -> bool:
        return bool(self.problems)

    def make_read_only(self, problems: list[str]) -> None:
        """Reject every write from now on and show why above the pages."""
        self.timer.stop()
        self.window.ctx.ops.read_only = ReadOnlyShop(
            f"the shop file is damaged ({problems[0]}), so Backroom opened it "
            "read-only; restore a backup with File > Restore from backup"
        )
        banner = QLabel(
            "Read-only: the shop file failed its integrity check, so nothing can be "
            "saved. Restore a backup with File > Restore from backup."
        )
        banner.setObjectName("readOnlyBanner")
        banner.setWordWrap(True)
        banner.setStyleSheet(
            "background: #b3261e; color: white; padding: 8px 14px; font-weight: 600;"
        )
        old = self.window.takeCentralWidget()
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(banner)
        layout.addWidget(old, 1)
        self.window.setCentralWidget(holder)
        # Widgets put into a window that is already shown stay hidden until shown.
        old.show()
        holder.show()
        self.banner = banner

    def offer_restore(self, problems: list[str]) -> None:
        assert self.path is not None
        newest = backup.newest_good_backup(self.path, self.folder)
        box = damaged_box(self.window, self.path, problems, newest)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def answered() -> None:
            clicked = box.clickedButton()
            name = clicked.objectName() if clicked is not None else ""
            if name == "restoreNewest" and newest is not None:
                self.restore(newest.path)
            elif name == "chooseBackup":
                self.choose_restore()

        box.finished.connect(lambda _result: answered())
        box.open()
        self.damaged_dialog = box

    # --- backups

    def daily_backup(self) -> None:
        """Take the daily backup on the write thread when one is due."""
        if self.path is None or self.read_only or self.closed:
            return
        path, folder = self.path, self.folder
        self.window.ctx.ops.job(
            lambda _control: backup.backup_if_due(path, folder=folder),
            self._daily_done,
            label="Daily backup",
            on_error=lambda exc: self._backup_failed("Daily backup", exc),
        )

    def _daily_done(self, saved: Path | None) -> None:
        if saved is not None:
            self.window.statusBar().showMessage(f"Daily backup saved: {saved}", 8000)
            self.backed_up.emit(saved)

    def backup_now(self) -> None:
        if self.path is None:
            return
        path, folder = self.path, self.folder
        self.window.ctx.ops.job(
            lambda _control: backup.backup(path, folder=folder),
            self._backup_done,
            label="Backing up the shop",
            parent=self.window,
            on_error=lambda exc: self._backup_failed("Backing up the shop", exc),
        )

    def _backup_done(self, saved: Path) -> None:
        self.window.statusBar().showMessage(f"Backed up to {saved}", 8000)
        self.backed_up.emit(saved)

    def _backup_failed(self, label: str, exc: BaseException) -> None:
        log.error("%s failed: %s", label, exc)
        self.window.statusBar().showMessage(f"{label} failed: {exc}", 15000)
        if label != "Daily backup":
            self.window.ctx.ops.report_error(label, exc, self.window)

    # --- restore

    def choose_restore(self) -> RestoreDialog | None:
        """Open the list of backups; restoring the chosen one reopens the shop."""
        if self.path is None:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            found = backup.list_backups(self.path, self.folder)
        finally:
            QApplication.restoreOverrideCursor()
        dialog = RestoreDialog(found, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def chosen() -> None:
            info = dialog.selected()
            if info is not None:
                self.restore(info.path)

        dialog.accepted.connect(chosen)
        dialog.open()
        self.restore_dialog = dialog
        return dialog

    def restore(self, chosen: Path) -> MainWindow | None:
        """Close the shop, restore ``chosen`` over it and open it again."""
        assert self.path is not None
        old = self.window
        ctx = old.ctx
        user = ctx.user.name if ctx.user is not None else None

        ctx.ops.shutdown()
        ctx.engine.dispose()
        failure: BackupError | None = None
        kept = None
        try:
            kept = restore_backup(self.path, chosen, folder=self.folder)
        except BackupError as exc:
            log.error("restoring %s failed: %s", chosen, exc)
            failure = exc
        else:
            log.info(
                "restored %s from %s; kept the old file as %s", self.path, chosen, kept
            )
        # The old window's task threads are shut down, so a new window opens
        # on the file even when the restore failed and left it unchanged.
        window = reopen_window(ctx, user)

        install_safety(window, folder=self.folder, on_reopen=self.on_reopen).start()
        if failure is not None:
            show_message(window, "Restore failed", str(failure))
        else:
            window.statusBar().showMessage(
                f"Restored the backup {chosen.name}"
                + (f"; the file it replaced is kept as {kept}" if kept else ""),
                15000,
            )
        if self.on_reopen is not None:
            self.on_reopen(window)
        self.reopened.emit(window)
        old.close()
        return window

    # --- help

    def open_data_folder(self) -> bool:
        folder = paths.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        if not opened:
            log.warning("no program opened the data folder %s", folder)
            self.window.statusBar().showMessage(f"The data folder is {folder}", 15000)
        return bool(opened)

    def copy_report(self) -> str:
        report = diagnostic_report(self.window.ctx.engine, self.problems, self.folder)
        QGuiApplication.clipboard().setText(report)
        self.window.statusBar().showMessage(
            "Diagnostic report copied; paste it into your message to support.", 8000
        )
        return report


def show_message(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    box = _message(parent, title, text)
    box.open()
    return box


def reopen_window(old: AppContext, user_name: str | None) -> MainWindow:
    """Open a new window on the same database as ``old``, as the same user."""
    engine = db.make_engine(old.engine.url.render_as_string(hide_password=False))
    ctx = AppContext(engine, old.db_label)
    people = ctx.read_now(lambda session: users(session, active_only=True))
    if people:
        ctx.set_user(next((u for u in people if u.name == user_name), people[0]))
    window = MainWindow(ctx)
    window.set_user_label()
    window.show()
    return window


def install_safety(
    window: MainWindow,
    *,
    folder: Path | None = None,
    on_reopen: Callable[[MainWindow], None] | None = None,
) -> SafetyController:
    """Add the backup, restore and help actions to ``window``; call ``start()``."""
    controller = SafetyController(window, folder=folder, on_reopen=on_reopen)
    window.safety = controller  # type: ignore[attr-defined]
    return controller
