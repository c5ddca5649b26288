"""Help > Copy diagnostic report, the error log hook and the start-up marker.

The report contains versions, paths, the integrity state and the last 200 log
lines, passed through :func:`redact` so that no password, token, key or
e-mail address reaches support.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from sqlalchemy import Engine

from app.core import backup, db, logs, paths
from app.core.backup import BackupInfo
from app.core.exceptions import BackroomError

log = logging.getLogger(__name__)

#: The line ``backroom open --exit-after-show`` prints once the window is up.
SHOWN_MARKER = "backroom: window shown"


def describe_backup(info: BackupInfo) -> str:
    """Return the date, size and shop name of a backup as a person reads them."""
    taken = info.taken_at.astimezone().strftime("%Y-%m-%d %H:%M")
    size = f"{info.size_bytes / 1_000_000:.1f} MB"
    state = "" if info.ok else ", DAMAGED"
    return f"{taken}, {size}, shop “{info.shop_name or '?'}”{state}"


#: Words that make a key name secret, matched case-insensitively as whole
#: parts of the name (``api_key``, ``shop-token``), or capitalised inside a
#: camelCase name (``accessToken``), so that "shipping" is no "pin".
_SECRET_WORDS = (
    "password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey"
    "|access[_-]?key|private[_-]?key|secret[_-]?key|consumer[_-]?key"
    "|signature|authorization|auth|cookie|session[_-]?id|credentials?|pin"
)
_CAMEL_WORDS = "Password|Passwd|Pwd|Secret|Token|Key|Signature|Auth|Cookie|Pin"
_SECRET_KEY = (
    rf"(?:(?<![A-Za-z])(?i:{_SECRET_WORDS})|(?<=[a-z])(?:{_CAMEL_WORDS}))(?![a-z])"
)
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # key=value, key: value and "key": "value", with the key naming a secret.
    (
        re.compile(
            rf"""(["']?[\w.-]*?{_SECRET_KEY}[\w.-]*["']?\s*[:=]\s*)
            (?i:bearer\s+|basic\s+|token\s+)?("[^"]*"|'[^']*'|[^\s,;&}}]+)""",
            re.VERBOSE,
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    # user:password@ in URLs.
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), r"\1:[redacted]@"),
    # Well-known token prefixes (Shopify, Stripe, GitHub, Slack, AWS, JWT).
    (
        re.compile(
            r"\b(?:shp(?:at|ca|pa|ss)_[A-Za-z0-9]+|[sr]k_(?:live|test)_[A-Za-z0-9]+"
            r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w+|xox[abprs]-[\w-]+"
            r"|AKIA[0-9A-Z]{16}|ck_[0-9a-f]{20,}|cs_[0-9a-f]{20,}"
            r"|eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]+)"
        ),
        "[redacted]",
    ),
    # Long hexadecimal strings and mixed-case letter-digit runs look like keys.
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[redacted]"),
    (
        re.compile(r"\b(?=[\w-]*[a-z])(?=[\w-]*[A-Z])(?=[\w-]*\d)[\w-]{24,}\b"),
        "[redacted]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[e-mail]"),
)


def redact(text: str, known: list[str] | None = None) -> str:
    """Replace what looks like a password, token, key or e-mail address.

    ``known`` secret values (the ``BACKROOM_SECRET_*`` environment variables
    by default) are removed wherever they appear, whatever they look like.
    """
    if known is None:
        known = [v for k, v in os.environ.items() if k.startswith("BACKROOM_SECRET_")]
    for value in sorted((v for v in known if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def diagnostic_report(
    engine: Engine, problems: list[str] | None, folder: Path | None = None
) -> str:
    """Return versions, paths, the integrity state and the last 200 log lines.

    The whole text goes through :func:`redact`, so no secret reaches support.
    """
    folder = folder or paths.backup_dir()
    found: list[BackupInfo] = []
    if db.is_sqlite(engine):
        try:
            found = backup.list_backups(engine, folder)
        except BackroomError as exc:
            log.warning("listing backups for the report failed: %s", exc)
    state = (
        "not checked yet"
        if problems is None
        else ("ok" if not problems else f"DAMAGED: {problems[0]}")
    )
    qt_platform = QGuiApplication.platformName() if QGuiApplication.instance() else ""
    session = os.environ.get("XDG_SESSION_TYPE", "")
    lines = [
        f"Backroom diagnostic report, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Versions: {logs.versions()}",
        f"Qt platform: {qt_platform}; session type: {session or 'unknown'}",
        f"Frozen bundle: {'yes' if getattr(sys, 'frozen', False) else 'no'}",
        f"Database: {engine.url.render_as_string(hide_password=True)}",
        f"Integrity: {state}",
        f"Data folder: {paths.data_dir()}",
        f"Backup folder: {folder} ({len(found)} backups"
        + (f", newest {describe_backup(found[0])})" if found else ")"),
        f"Log file: {logs.log_file()}",
        f"Settings folder: {paths.config_dir()}",
        "",
        "Last 200 log lines:",
        *logs.tail(200),
    ]
    return redact("\n".join(lines)) + "\n"


# --- start-up glue --------------------------------------------------------


def _log_uncaught(
    kind: type[BaseException], value: BaseException, trace: TracebackType | None
) -> None:
    log.critical("uncaught error", exc_info=(kind, value, trace))


def install_error_logging() -> None:
    """Log exceptions no handler caught, in Qt slots and threads too.

    PySide6 hands an exception raised in a slot to ``sys.excepthook``, which
    by default only prints it to standard error, where no report finds it.
    """
    previous = sys.excepthook

    def hook(
        kind: type[BaseException], value: BaseException, trace: TracebackType | None
    ) -> None:
        _log_uncaught(kind, value, trace)
        if previous not in (sys.__excepthook__, hook):
            previous(kind, value, trace)

    sys.excepthook = hook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        _log_uncaught(args.exc_type, args.exc_value or Exception(), args.exc_traceback)

    threading.excepthook = thread_hook


class _FirstPaint(QObject):
    """Runs a callback once, right after its widget's first paint."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self.callback: Callable[[], None] | None = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.callback is not None:
            callback, self.callback = self.callback, None
            # The timer fires after the paint event has been handled.
            QTimer.singleShot(0, callback)
        return False


def report_when_shown(window: QWidget, *, exit_after: bool) -> None:
    """Log ``window shown`` after the window's first paint.

    With ``exit_after`` it also prints ``backroom: window shown`` on standard
    output and closes the window, which ends the app: ``bench/startup.py``
    reads that line to time a cold start.
    """

    def shown() -> None:
        log.info("window shown: %s", window.windowTitle())
        if exit_after:
            print(SHOWN_MARKER, flush=True)
            window.close()

    _FirstPaint(window, shown)
