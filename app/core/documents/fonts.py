"""Fonts and typesetting helpers shared by every document.

Documents embed DejaVu Sans, so that names in any Latin, Greek or Cyrillic
script print the same in every viewer. When DejaVu is not installed they fall
back to Bitstream Vera, which ships inside reportlab and covers Latin-1 only.
This module also wraps and shrinks text into fixed boxes and builds the
page-numbered A4/Letter documents.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, TableStyle

from app.core.documents import DocumentError

logger = logging.getLogger(__name__)

#: Folders searched for DejaVuSans.ttf, in order.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "LETTER": LETTER}
ELLIPSIS = "…"


@dataclass(frozen=True)
class FontSet:
    """Registered reportlab font names; ``family`` resolves <b> in paragraphs."""

    family: str
    regular: str
    bold: str


def _find_font_file(name: str, dirs: Sequence[Path]) -> Path | None:
    for folder in dirs:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=4)
def register_fonts(dirs: tuple[Path, ...] = FONT_DIRS) -> FontSet:
    """Register DejaVu Sans (or the bundled Vera) with reportlab once.

    Raises DocumentError only when neither font can be loaded.
    """
    regular = _find_font_file("DejaVuSans.ttf", dirs)
    bold = _find_font_file("DejaVuSans-Bold.ttf", dirs)
    if regular is not None and bold is not None:
        family, files = "DejaVuSans", (regular, bold)
    else:
        bundled = Path(reportlab.__file__).parent / "fonts"
        logger.warning(
            "DejaVuSans.ttf not found in %s; using reportlab's Vera, which "
            "prints only Latin-1 letters. Install fonts-dejavu-core.",
            ", ".join(str(d) for d in dirs),
        )
        family, files = "Vera", (bundled / "Vera.ttf", bundled / "VeraBd.ttf")
    names = (family, f"{family}-Bold")
    try:
        for font_name, path in zip(names, files, strict=True):
            if font_name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(font_name, os.fspath(path)))
    except (TTFError, OSError) as exc:
        raise DocumentError(
            f"cannot load font {files[0]}: {exc}; reinstall fonts-dejavu-core"
        ) from exc
    pdfmetrics.registerFontFamily(
        family, normal=names[0], bold=names[1], italic=names[0], boldItalic=names[1]
    )
    return FontSet(family=family, regular=names[0], bold=names[1])


def text_width(text: str, font: str, size: float) -> float:
    """Return the width of ``text`` in points."""
    return float(pdfmetrics.stringWidth(text, font, size))


def _split_word(word: str, font: str, size: float, width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and text_width(current + char, font, size) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``.

    Lines break at spaces; a single word wider than the box is cut between
    characters, so no line ever exceeds the width.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _split_word(word, font, size, width)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines


def truncate_to_width(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` and end it with an ellipsis so that it fits ``width``."""
    if text_width(text, font, size) <= width:
        return text
    while text and text_width(text + ELLIPSIS, font, size) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


@dataclass(frozen=True)
class FittedLine:
    """One typeset line of a fitted block."""

    text: str
    font: str


@dataclass(frozen=True)
class FittedBlock:
    """Lines that fit a box at ``size`` points with ``leading`` between baselines."""

    lines: tuple[FittedLine, ...]
    size: float
    leading: float
    truncated: bool

    @property
    def height(self) -> float:
        return self.leading * len(self.lines)


def fit_block(
    items: Sequence[tuple[str, str]],
    width: float,
    height: float,
    max_size: float,
    min_size: float,
    leading_ratio: float = 1.2,
) -> FittedBlock:
    """Wrap ``(text, font)`` items into a box, shrinking the type to fit.

    The size steps down by half a point from ``max_size``. If the text does
    not fit even at ``min_size``, the block keeps as many lines as fit and
    ends the last one with an ellipsis, so text never leaves the box. Such a
    block is marked ``truncated``, and the caller logs the cut.
    """
    size = max_size
    while True:
        leading = size * leading_ratio
        lines = [
            FittedLine(piece, font)
            for text, font in items
            for piece in wrap_text(text, font, size, width)
        ]
        if leading * len(lines) <= height:
            return FittedBlock(tuple(lines), size, leading, truncated=False)
        if size - 0.5 < min_size:
            break
        size -= 0.5

    keep = max(1, int(height // leading))
    kept_lines = list(lines[:keep])
    last = kept_lines[-1]
    kept_lines[-1] = FittedLine(
        truncate_to_width(last.text + ELLIPSIS, last.font, size, width), last.font
    )
    return FittedBlock(tuple(kept_lines), size, leading, truncated=True)


def page_size(name: str) -> tuple[float, float]:
    """Return the (width, height) in points of ``"A4"`` or ``"Letter"``."""
    try:
        return PAGE_SIZES[name.upper()]
    except KeyError:
        raise DocumentError(
            f"page size {name!r} is not supported; use 'A4' or 'Letter'"
        ) from None


@dataclass(frozen=True)
class SheetStyles:
    """Paragraph styles of the A4/Letter documents."""

    fonts: FontSet
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    cell_bold: ParagraphStyle


@lru_cache(maxsize=1)
def sheet_styles() -> SheetStyles:
    """Return the shared paragraph styles, registering the fonts first."""
    fonts = register_fonts()

    def style(name: str, size: float, bold: bool = False, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=fonts.bold if bold else fonts.regular,
            fontSize=size,
            leading=size * 1.25,
            **kw,
        )

    return SheetStyles(
        fonts=fonts,
        title=style("title", 18, bold=True, spaceAfter=2 * mm),
        heading=style("heading", 11, bold=True, spaceBefore=4 * mm, spaceAfter=2 * mm),
        body=style("body", 9.5),
        small=style("small", 8),
        cell=style("cell", 9),
        cell_right=style("cell_right", 9, alignment=TA_RIGHT),
        cell_bold=style("cell_bold", 9, bold=True),
    )


MARGIN: float = 15 * mm
FOOTER_Y: float = 8 * mm
# SimpleDocTemplate's frame pads its content by 6 pt on every side.
FRAME_PADDING = 6.0


def content_width(size: tuple[float, float]) -> float:
    """Return the width in points that flowables get on a page of ``size``."""
    return size[0] - 2 * (MARGIN + FRAME_PADDING)


def build_numbered_pdf(
    target: str | os.PathLike[str] | IO[bytes],
    size: tuple[float, float],
    make_story: Callable[[], list[Any]],
    footer_text: str,
    title: str,
) -> int:
    """Lay out a story on numbered pages and write the PDF to ``target``.

    The story is laid out twice: once to count the pages, once to write
    "page N of M" in each footer. ``make_story`` must return fresh flowables
    each time, because reportlab consumes them. Returns the page count.
    """
    styles = sheet_styles()

    def document(out: str | os.PathLike[str] | IO[bytes]) -> SimpleDocTemplate:
        return SimpleDocTemplate(
            out,
            pagesize=size,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 4 * mm,
            title=title,
            author="Backroom",
        )

    def footer(total: int | None) -> Callable[[Any, Any], None]:
        def draw(canvas: Any, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(styles.fonts.regular, 8)
            canvas.drawString(MARGIN + FRAME_PADDING, FOOTER_Y, footer_text)
            number = f"Page {doc.page}" + (f" of {total}" if total else "")
            canvas.drawRightString(size[0] - MARGIN - FRAME_PADDING, FOOTER_Y, number)
            canvas.restoreState()

        return draw

    counting = document(io.BytesIO())
    counting.build(make_story(), onFirstPage=footer(None), onLaterPages=footer(None))
    total = int(counting.page)

    final = document(
        os.fspath(target) if isinstance(target, str | os.PathLike) else target
    )
    final.build(make_story(), onFirstPage=footer(total), onLaterPages=footer(total))
    return total


#: Bar widths tried for barcodes on A4/Letter sheets, widest first. The
#: narrowest, 0.8 pt (0.28 mm), is within what handheld scanners read.
SHEET_BAR_WIDTHS = (1.2, 1.1, 1.0, 0.9, 0.8)


def sheet_barcode(value: str, max_width: float, bar_height: float = 26.0) -> Any:
    """Return a Code128 flowable of ``value`` no wider than ``max_width``.

    Returns None when ``value`` has characters outside printable ASCII or
    is too long even with the narrowest bars. The reason is logged, and the
    caller prints the value as text only.
    """
    if not value or not value.isascii() or not value.isprintable():
        logger.warning("no barcode for %r: only printable ASCII can be encoded", value)
        return None
    for bar_width in SHEET_BAR_WIDTHS:
        barcode = Code128(
            value,
            barWidth=bar_width,
            barHeight=bar_height,
            humanReadable=False,
            quiet=True,
            lquiet=10 * bar_width,
            rquiet=10 * bar_width,
        )
        if barcode.width <= max_width:
            return barcode
    logger.warning("no barcode for %r: too long for %.0f pt", value, max_width)
    return None


GRID = colors.HexColor("#9a9a9a")
HEADER_FILL = colors.HexColor("#e8e8e8")


def table_style(header_font: str, numeric_from: int) -> TableStyle:
    """Return the grid style of item tables.

    Columns from index ``numeric_from`` on are aligned right.
    """
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, 0), header_font),
            ("FONTSIZE", (0, 0), (-1, 0), 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )


def paragraph_lines(
    lines: list[str], style: Any, bold_first: bool = False
) -> Paragraph:
    """Return address-like lines as one paragraph, the first in bold if asked."""
    parts = [escape(line) for line in lines]
    if bold_first and parts:
        parts[0] = f"<b>{parts[0]}</b>"
    return Paragraph("<br/>".join(parts), style)
