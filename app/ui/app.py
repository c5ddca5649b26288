"""Starting the desktop app: pick the database, welcome, user, main window.

``Launcher`` holds the steps so that tests drive them one by one:
:meth:`Launcher.start` shows the welcome screen when the database holds no
shop, otherwise the user picker and then the main window.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import Engine

from app.core import db
from app.core.logs import versions
from app.core.queries.common import has_shop
from app.core.setup import ShopSettings, create_shop
from app.ui.context import AppContext
from app.ui.diagnostics import install_error_logging, report_when_shown
from app.ui.errors import show_error
from app.ui.login import UserPicker
from app.ui.main_window import MainWindow
from app.ui.ops import Operations, TaskControl
from app.ui.resources import apply_style
from app.ui.safety import (
    SafetyController,
    install_safety,
    open_database,
    open_with_recovery,
)
from app.ui.welcome import WelcomeDialog

log = logging.getLogger(__name__)


def demo_db_path() -> Path:
    """Return where ``backroom demo`` and the welcome screen keep the demo."""
    return db.default_db_path().with_name("demo.sqlite")


def open_engine(target: str | Path) -> Engine:
    """Open a database, migrating an existing shop safely (see app.ui.safety)."""
    return open_database(target)


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite file with its WAL and shared-memory companions."""
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


class Launcher(QObject):
    """Runs the start-up steps for one database and keeps the windows alive."""

    window_opened = Signal(object)

    def __init__(self, target: str | Path) -> None:
        super().__init__()
        self.target = str(target)
        self.engine = open_engine(target)
        self.window: MainWindow | None = None
        self.safety: SafetyController | None = None
        self.welcome: WelcomeDialog | None = None
        self.ops = Operations(self.engine, self)
        self.ops.error_handler = lambda label, exc, parent: show_error(
            parent, label, exc
        )

    def start(self) -> QWidget:
        if has_shop(self.engine):
            return self.open_shop()
        self.welcome = WelcomeDialog(db.database_url(self.target))
        self.welcome.create_requested.connect(self.create)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.show()
        return self.welcome

    def create(self, settings: ShopSettings) -> None:
        engine = self.engine
        self.ops.job(
            lambda _control: create_shop(engine, settings),
            lambda _result: self._created(),
            label="Creating the shop",
            parent=self.welcome,
        )

    def _created(self) -> None:
        if self.welcome is not None:
            self.welcome.close()
        self.open_shop()

    def open_demo(self) -> None:
        path = demo_db_path()

        def work(control: TaskControl) -> None:
            remove_sqlite(path)
            engine = db.make_engine(path)
            try:
                from app.core.demo import build_demo  # large; loaded on use

                build_demo(engine, progress=control.report)
            finally:
                engine.dispose()

        self.ops.job(
            work,
            lambda _r: self._switch(path),
            label="Building the demo shop",
            parent=self.welcome,
        )

    def _switch(self, path: Path) -> None:
        if self.welcome is not None:
            self.welcome.close()
        self.engine.dispose()
        self.target = str(path)
        self.engine = open_engine(path)
        self.ops.engine = self.engine
        self.open_shop()

    def open_shop(self) -> QWidget:
        QSettings().setValue("db/last", self.target)
        ctx = AppContext(self.engine, db.database_url(self.target))
        picker = UserPicker(ctx)
        if picker.needed():
            picker.accepted.connect(lambda: self._show_window(ctx, picker))
            picker.show()
            self.picker = picker
            return picker
        picker.choose(picker.users[0].name)
        return self._show_window(ctx, picker)

    def _show_window(self, ctx: AppContext, picker: UserPicker) -> MainWindow:
        if picker.chosen is not None:
            ctx.set_user(picker.chosen)
        self.window = MainWindow(ctx)
        self.window.set_user_label()
        self.window.show()
        self.safety = install_safety(self.window, on_reopen=self._reopened)
        self.safety.start()
        self.window_opened.emit(self.window)
        return self.window

    def _reopened(self, window: MainWindow) -> None:
        """Adopt the window opened on the restored shop after a restore."""
        self.window = window
        self.engine = window.ctx.engine
        self.ops.engine = self.engine
        self.safety = getattr(window, "safety", None)


def default_target() -> str:
    last = QSettings().value("db/last")
    if isinstance(last, str) and last and ("://" in last or Path(last).exists()):
        return last
    return str(db.default_db_path())


def display_missing() -> bool:
    """Return True on Linux without X11, Wayland or a chosen Qt platform.

    Qt aborts without a display with a message about xcb libraries, which
    hides the real cause, so the launcher checks first.
    """
    if not sys.platform.startswith("linux"):
        return False
    names = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    return not any(os.environ.get(name) for name in names)


def print_when_ready(window: MainWindow, key: str) -> None:
    """Print ``backroom: page ready KEY`` once page ``key`` has loaded, then quit.

    The page counts as loaded when it is the current page and no background
    read or write runs, because then its first rows are fetched and shown.
    The window is painted once more before the line is printed.
    bench/ui_open.py times the start-up to this line.
    """
    keys = window.keys
    if key not in keys:
        print(
            f"backroom: no page {key!r}; pages are {', '.join(keys)}",
            file=sys.stderr,
            flush=True,
        )
        window.close()
        return
    timer = QTimer(window)

    def poll() -> None:
        if window.current.key != key or not window.ctx.ops.idle:
            return
        timer.stop()
        window.repaint()
        print(f"backroom: page ready {key}", flush=True)
        log.info("page ready: %s", key)
        window.close()

    timer.timeout.connect(poll)
    timer.start(5)


def run_app(
    target: str | Path | None = None,
    *,
    exit_after_show: bool = False,
    open_page: str | None = None,
    exit_when_ready: bool = False,
) -> int:
    """Open the window on ``target`` (default: the last database used).

    With ``exit_after_show`` the app prints ``backroom: window shown`` once
    the main window has painted and quits (bench/startup.py times it).
    ``open_page`` names the page shown first (it becomes the remembered
    page); with ``exit_when_ready`` the app quits once that page has loaded
    (see :func:`print_when_ready`).
    """
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("Backroom")
    app.setApplicationName("Backroom")
    # Wayland compositors match the window to backroom.desktop (menu entry and
    # icon) by this name.
    app.setDesktopFileName("backroom")
    assert isinstance(app, QApplication)
    apply_style(app)
    install_error_logging()
    log.info("start: window (%s)", versions())
    launcher = open_with_recovery(target or default_target(), Launcher)
    if launcher is None:
        log.info("stop: window, the shop was not opened")
        return 1
    launcher.window_opened.connect(
        lambda window: report_when_shown(window, exit_after=exit_after_show)
    )
    if open_page:
        QSettings().setValue("window/page", open_page)
        if exit_when_ready:
            launcher.window_opened.connect(
                lambda window: print_when_ready(window, open_page)
            )
    launcher.start()
    code = app.exec()
    launcher.engine.dispose()
    log.info("stop: window, exit status %s", code)
    return int(code)
