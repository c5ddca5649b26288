"""Driving the window in tests: open it, wait for background work."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from app.core.queries.settings import users
from app.ui.context import AppContext
from app.ui.main_window import MainWindow

WAIT_MS = 30_000


def open_window(qtbot: QtBot, engine: Engine, user: str | None = None) -> MainWindow:
    """Open the main window on ``engine`` as ``user`` (default: the first)."""
    ctx = AppContext(engine, str(engine.url))
    people = ctx.read_now(users)
    ctx.set_user(next(u for u in people if user is None or u.name == user))
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    settle(qtbot, window)
    return window


def settle(qtbot: QtBot, window: MainWindow) -> None:
    """Wait until no read or write runs and the results were delivered."""
    qtbot.waitUntil(lambda: window.ctx.ops.idle, timeout=WAIT_MS)
    qtbot.wait(20)
    qtbot.waitUntil(lambda: window.ctx.ops.idle, timeout=WAIT_MS)
