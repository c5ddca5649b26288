"""The rotating file log: version, start, stop and every error caught."""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from collections import deque
from pathlib import Path

from app import __version__
from app.core.paths import log_dir

LOG_NAME = "backroom.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file() -> Path:
    return log_dir() / LOG_NAME


def setup_logging(*, verbose: bool = False, to_file: bool = True) -> Path | None:
    """Send INFO and above to the rotating file, warnings (or all) to stderr."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_backroom", False):
            root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter(FORMAT))
    console._backroom = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if not to_file:
        return None
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "cannot write the log file %s: %s", path, exc
        )
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._backroom = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return path


def versions() -> str:
    """Return one line naming Backroom's, Python's and the key libraries' versions."""
    import sqlalchemy

    parts = [f"Backroom {__version__}", f"Python {platform.python_version()}"]
    parts.append(f"SQLAlchemy {sqlalchemy.__version__}")
    try:
        import PySide6

        parts.append(f"PySide6 {PySide6.__version__}")
    except ImportError:
        parts.append("PySide6 missing")
    parts.append(f"{platform.system()} {platform.release()}")
    return ", ".join(parts)


def tail(lines: int = 200) -> list[str]:
    """Return the last lines of the current log file."""
    path = log_file()
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
