"""Icons and the style sheet from the repository's ``resources`` folder."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication


def resources_dir() -> Path:
    """Return the resources folder, inside a PyInstaller bundle too."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon(name: str) -> QIcon:
    """Return a navigation icon with its white variant for the selected row."""
    folder = resources_dir() / "icons"
    result = QIcon(str(folder / f"{name}.svg"))
    active = folder / f"{name}-active.svg"
    if active.exists():
        result.addFile(str(active), mode=QIcon.Mode.Selected)
    return result


def apply_style(app: QApplication) -> None:
    sheet = resources_dir() / "style" / "backroom.qss"
    if sheet.exists():
        app.setStyleSheet(sheet.read_text(encoding="utf-8"))
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "app.svg")))
