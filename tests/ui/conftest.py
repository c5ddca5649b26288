"""Fixtures for the window tests: offscreen Qt, private settings, demo shops."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from sqlalchemy import Engine

from app.cli import main
from app.core import db


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> Iterator[None]:
    """Keep window size and last page in a file of the test, not the user's."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qt")
    )
    yield


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo shop built once per session with ``backroom demo --no-open``."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    assert main(["demo", "--db", str(path), "--no-open", "--json"]) == 0
    return path


@pytest.fixture
def demo_engine(demo_file: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the demo shop that a test may change."""
    copy = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_file, copy)
    engine = db.make_engine(copy)
    yield engine
    engine.dispose()
