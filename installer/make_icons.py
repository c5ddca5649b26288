"""Render resources/icons/backroom.svg to the PNG, ICO and ICNS icons installers use.

Qt's QSvgRenderer draws the SVG offscreen, so no display is needed. Pillow
packs the Windows ``.ico`` and the macOS ``.icns`` from the same PNGs.
Run it after changing the SVG: ``python installer/make_icons.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "backroom.svg"
#: Sizes of the freedesktop hicolor theme, Windows and macOS icon sets.
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

log = logging.getLogger("make_icons")


def png_path(size: int, folder: Path = ICONS) -> Path:
    return folder / f"backroom-{size}.png"


def render_pngs(svg: Path = SVG, folder: Path = ICONS) -> list[Path]:
    """Draw the SVG at every size in SIZES; return the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # QSvgRenderer and QImage need an application object to exist.
    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG file; fix it and run again")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = png_path(size, folder)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"writing {target} failed")
        written.append(target)
    app.processEvents()
    return written


def pack_ico_icns(folder: Path = ICONS) -> list[Path]:
    """Pack the PNGs into backroom.ico (Windows) and backroom.icns (macOS)."""
    from PIL import Image

    biggest = Image.open(png_path(512, folder))
    ico = folder / "backroom.ico"
    biggest.save(ico, sizes=[(s, s) for s in SIZES if s <= 256])
    icns = folder / "backroom.icns"
    biggest.save(icns)
    return [ico, icns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=ICONS, help="folder for the icon files"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in render_pngs(SVG, args.out) + pack_ico_icns(args.out):
        log.info("wrote %s (%d bytes)", path, path.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
