"""Read rendered PDFs back: page images, decoded barcodes and text positions.

pypdfium2 rasterises each page; pyzbar (which needs the system library
libzbar0) decodes every Code128 and QR code on it. Tests call
``require_zbar()`` first so that a machine without libzbar skips them with
the reason instead of failing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest


@dataclass(frozen=True)
class Decoded:
    """One barcode found on a page: pyzbar's type name and the decoded text."""

    page: int
    symbology: str
    value: str


@dataclass(frozen=True)
class CharBox:
    """One character of PDF text and its box in points, origin bottom left."""

    page: int
    char: str
    left: float
    bottom: float
    right: float
    top: float


def require_zbar() -> Any:
    """Return pyzbar's decoder, or skip the test when libzbar0 is missing."""
    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # pyzbar raises ImportError without libzbar
        pytest.skip(f"pyzbar cannot load libzbar ({exc}); apt install libzbar0")
    return pyzbar


def _document(pdf: bytes | Path) -> pdfium.PdfDocument:
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    return pdfium.PdfDocument(io.BytesIO(data))


def render_pages(pdf: bytes | Path, dpi: int) -> list[Any]:
    """Return every page as a PIL image at ``dpi``."""
    document = _document(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil() for page in document]
    finally:
        document.close()


def decode_pdf(pdf: bytes | Path, dpi: int = 203) -> list[Decoded]:
    """Return every barcode on every page, pages in order."""
    pyzbar = require_zbar()
    found = []
    for number, image in enumerate(render_pages(pdf, dpi), start=1):
        for symbol in pyzbar.decode(image.convert("L")):
            found.append(Decoded(number, symbol.type, symbol.data.decode("utf-8")))
    return found


def page_count(pdf: bytes | Path) -> int:
    """Return the number of pages."""
    document = _document(pdf)
    try:
        return len(document)
    finally:
        document.close()


def page_size(pdf: bytes | Path, page: int = 0) -> tuple[float, float]:
    """Return the (width, height) of a page in points."""
    document = _document(pdf)
    try:
        width, height = document[page].get_size()
        return float(width), float(height)
    finally:
        document.close()


def text_of(pdf: bytes | Path) -> str:
    """Return the text of all pages, pages joined by newlines."""
    document = _document(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def char_boxes(pdf: bytes | Path) -> list[CharBox]:
    """Return the box of every visible character on every page."""
    document = _document(pdf)
    boxes = []
    try:
        for number, page in enumerate(document, start=1):
            text_page = page.get_textpage()
            for index in range(text_page.count_chars()):
                char = text_page.get_text_range(index, 1)
                if not char.strip():
                    continue
                left, bottom, right, top = text_page.get_charbox(index)
                boxes.append(CharBox(number, char, left, bottom, right, top))
    finally:
        document.close()
    return boxes
