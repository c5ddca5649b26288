"""``selftest``: check that this installation works, from the ledger to the window.

It runs :mod:`app.core.selftest` in a temporary folder, then opens the main
window on that shop (offscreen when there is no display) with the start-up
integrity check and the daily backup, and closes it. It prints one line of
versions and exits 0, or names each failed step on standard error and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.commands.common import emit_json
from app.core import backup, db
from app.core.logs import versions
from app.core.selftest import SelftestFailed, SelftestShop, run_selftest

#: Maximum wait for the window's background work (integrity check, first
#: page loads, daily backup) before the window step fails.
WINDOW_TIMEOUT_S = 60.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="check this installation: an order through the ledger, a label "
        "barcode and the window",
        description="Create a throw-away shop in a temporary folder, run an order "
        "through capture, shipment and the ledger, render a label and read its "
        "barcode back, open the main window and close it. Nothing outside the "
        "temporary folder changes.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="skip the window step (for a machine without Qt's system libraries)",
    )
    parser.set_defaults(handler=cmd_selftest)


def _display_missing() -> bool:
    names = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    return sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in names
    )


def step_window(state: SelftestShop) -> str:
    """Open the main window on the self-test shop, wait for it to settle, close it."""
    engine = state.require_engine()
    if _display_missing():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    import app.ui  # noqa: F401  (applies the PySide6 reference fix first)
    from app.core.queries.settings import users
    from app.ui.context import AppContext
    from app.ui.main_window import MainWindow
    from app.ui.resources import apply_style
    from app.ui.safety import install_safety

    # Window size and last page go to the temporary folder, not the user's.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat,
        QSettings.Scope.UserScope,
        str(state.folder / "settings"),
    )
    qt_app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qt_app, QApplication)
    apply_style(qt_app)
    ctx = AppContext(engine, db.database_url(state.path))
    ctx.set_user(ctx.read_now(users)[0])
    window = MainWindow(ctx)
    backups = state.folder / "backups"
    safety = install_safety(window, folder=backups)
    window.show()
    safety.start()

    deadline = time.monotonic() + WINDOW_TIMEOUT_S
    while time.monotonic() < deadline:
        qt_app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if safety.problems is not None and ctx.ops.idle:
            break
        time.sleep(0.01)
    settled = safety.problems is not None and ctx.ops.idle
    error = window.last_error
    pages = len(window.pages)
    window.close()
    qt_app.processEvents()
    if not settled:
        raise SelftestFailed(
            f"the window was still busy after {WINDOW_TIMEOUT_S:.0f} s"
        )
    if safety.problems:
        raise SelftestFailed(f"the integrity check failed: {safety.problems[0]}")
    if error is not None:
        raise SelftestFailed(
            f"the window showed an error: {error.text()} {error.informativeText()}"
        )
    if not backup.list_backups(state.path, backups):
        raise SelftestFailed(f"the daily backup was not written to {backups}")
    return (
        f"opened the main window with {pages} pages on the "
        f"{qt_app.platformName()} platform, daily backup written, closed it"
    )


def cmd_selftest(args: argparse.Namespace) -> int:
    extra = [] if args.no_window else [("window", step_window)]
    with tempfile.TemporaryDirectory(prefix="backroom-selftest-") as folder:
        report = run_selftest(Path(folder), extra_steps=extra)
    if args.json:
        emit_json(
            {
                "ok": report.ok,
                "versions": versions(),
                "steps": [
                    {
                        "name": step.name,
                        "ok": step.ok,
                        "detail": step.detail,
                        "seconds": round(step.seconds, 3),
                    }
                    for step in report.steps
                ],
            }
        )
    else:
        print(versions())
    for step in report.failed:
        print(f"selftest: {step.name} failed: {step.detail}", file=sys.stderr)
    return 0 if report.ok else 1
