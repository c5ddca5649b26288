"""Save one PNG of every page of the window, offscreen, for the docs.

Usage: python scripts/screenshots.py --db DEMO.sqlite --out docs/screenshots

Each page is shown at 1280x800 on the shop's first user, with a record
selected where the page has a detail panel, then saved as a 256-colour PNG
(Pillow) to keep the files small.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.core.queries.orders import OrderFilter, order_ids
from app.core.queries.settings import users
from app.ui.app import open_engine
from app.ui.context import AppContext
from app.ui.main_window import MainWindow
from app.ui.resources import apply_style

SIZE = (1280, 800)


def settle(app: QApplication, window: MainWindow, seconds: float = 10.0) -> None:
    """Process events until no task runs (and a little longer for painting)."""
    deadline = time.monotonic() + seconds
    quiet = 0
    while time.monotonic() < deadline and quiet < 5:
        app.processEvents()
        quiet = quiet + 1 if window.ctx.ops.idle else 0
        time.sleep(0.02)


def pick_records(window: MainWindow) -> dict[str, int]:
    """Choose the records each detail panel shows: a partly shipped order."""
    chosen: dict[str, int] = {}
    for status in ("partially_shipped", "shipped"):
        ids = window.ctx.read_now(
            lambda s, st=status: order_ids(s, OrderFilter(status=st))
        )
        if ids:
            chosen["orders"] = ids[0]
            break
    return chosen


def shoot(db: str, out: Path) -> list[Path]:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp()
    )
    app.setOrganizationName("BackroomScreenshots")
    apply_style(app)
    ctx = AppContext(open_engine(db), db)
    ctx.set_user(ctx.read_now(users)[0])
    window = MainWindow(ctx)
    window.set_user_label()
    window.resize(*SIZE)
    window.show()
    records = pick_records(window)
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for index, page in enumerate(window.pages):
        window.show_page(index)
        settle(app, window)
        if page.key in records:
            page.show_record(records[page.key])
        elif page.key == "ledger":
            page.journal.view.selectRow(0)  # type: ignore[attr-defined]
        elif hasattr(page, "table") and hasattr(page.table, "view"):
            page.table.view.selectRow(0)
        settle(app, window)
        path = out / f"{index + 1:02d}-{page.key}.png"
        window.grab().save(str(path))
        image = Image.open(path).convert("RGB")
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )
        saved.append(path)
    window.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="shop database (file or URL)")
    parser.add_argument("--out", required=True, type=Path, help="folder for PNGs")
    args = parser.parse_args()
    for path in shoot(args.db, args.out):
        print(f"{path} {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
