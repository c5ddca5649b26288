"""Where Backroom keeps its files, by the platform's conventions (platformdirs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "Backroom"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def backup_dir() -> Path:
    return data_dir() / "backups"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
