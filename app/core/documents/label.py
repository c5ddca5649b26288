"""4x6 inch shipping labels as PDF.

The page is 288 x 432 pt. The header shows carrier, service, weight and
date. Below it come the sender with a QR code of the tracking number, then
the recipient in large type. The tracking number follows as Code128 with
the number printed under it, and the footer gives the order and shipment
references. Every text block is wrapped and shrunk
into a fixed box, so long names and addresses never leave the label.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCode
from reportlab.pdfgen.canvas import Canvas

from app.core.documents import (
    DocumentError,
    LabelData,
    address_lines,
    check_tracking_number,
    format_weight,
)
from app.core.documents.fonts import (
    FittedBlock,
    FontSet,
    fit_block,
    register_fonts,
    text_width,
    truncate_to_width,
)

logger = logging.getLogger(__name__)

PAGE_WIDTH = 288.0
PAGE_HEIGHT = 432.0
MARGIN = 10.0

#: Narrowest Code128 module printed, in points (0.42 mm, 3.4 dots at 203 dpi).
MIN_BAR_WIDTH = 1.2
#: Bar widths tried from widest to narrowest until the barcode fits.
BAR_WIDTHS = (1.6, 1.5, 1.4, 1.3, MIN_BAR_WIDTH)
#: Edge distance kept outside the barcode's own quiet zones.
BARCODE_EDGE = 4.0
QUIET_MODULES = 10


@dataclass(frozen=True)
class Box:
    """A rectangle on the label: left, bottom, width, height in points."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.y + self.height


# Layout of the label, top to bottom.
HEADER_RULE_Y = 376.0
FROM_BOX = Box(MARGIN, 300.0, 190.0, 64.0)
QR_BOX = Box(206.0, 300.0, 72.0, 72.0)
FROM_RULE_Y = 294.0
TO_BOX = Box(MARGIN, 150.0, PAGE_WIDTH - 2 * MARGIN, 130.0)
TO_RULE_Y = 144.0
BARCODE_Y = 66.0
BARCODE_HEIGHT = 68.0
HUMAN_READABLE_BASELINE = 50.0
FOOTER_RULE_Y = 42.0
FOOTER_BASELINE = 26.0


def barcode_for(tracking_number: str) -> Code128:
    """Build the widest Code128 of the tracking number that fits the label.

    Raises DocumentError when even bars of MIN_BAR_WIDTH are too wide.
    """
    available = PAGE_WIDTH - 2 * BARCODE_EDGE
    barcode = None
    for bar_width in BAR_WIDTHS:
        barcode = Code128(
            tracking_number,
            barWidth=bar_width,
            barHeight=BARCODE_HEIGHT,
            humanReadable=False,
            quiet=True,
            lquiet=QUIET_MODULES * bar_width,
            rquiet=QUIET_MODULES * bar_width,
        )
        if barcode.width <= available:
            return barcode
    assert barcode is not None
    raise DocumentError(
        f"tracking number {tracking_number!r} needs a barcode "
        f"{barcode.width:.0f} pt wide at the {MIN_BAR_WIDTH} pt minimum bar "
        f"width, but a 4x6 label has {available:.0f} pt; print the carrier's "
        "own label for this parcel"
    )


def _draw_block(canvas: Any, block: FittedBlock, box: Box) -> None:
    # The first baseline sits one ascent below the top of the box.
    baseline = box.top - block.size * 0.95
    for line in block.lines:
        canvas.setFont(line.font, block.size)
        canvas.drawString(box.x, baseline, line.text)
        baseline -= block.leading


def _draw_rule(canvas: Any, y: float, width: float = 1.0) -> None:
    canvas.setLineWidth(width)
    canvas.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)


def _draw_header(canvas: Any, data: LabelData, fonts: FontSet) -> None:
    left_width = 176.0
    right_edge = PAGE_WIDTH - MARGIN
    carrier = truncate_to_width(data.carrier, fonts.bold, 18, left_width)
    canvas.setFont(fonts.bold, 18)
    canvas.drawString(MARGIN, 404, carrier)
    canvas.setFont(fonts.regular, 10)
    canvas.drawString(
        MARGIN, 387, truncate_to_width(data.service, fonts.regular, 10, left_width)
    )
    canvas.setFont(fonts.bold, 14)
    canvas.drawRightString(right_edge, 404, format_weight(data.weight_g))
    canvas.setFont(fonts.regular, 8)
    canvas.drawRightString(right_edge, 387, data.created_at.strftime("%Y-%m-%d"))
    _draw_rule(canvas, HEADER_RULE_Y, 1.5)


def _draw_fitted(
    canvas: Any,
    items: list[tuple[str, str]],
    box: Box,
    sizes: tuple[float, float],
    part: str,
    data: LabelData,
) -> None:
    block = fit_block(items, box.width, box.height, *sizes)
    if block.truncated:
        logger.warning("shipment %s: %s cut to fit the label", data.shipment_ref, part)
    _draw_block(canvas, block, box)


def _draw_addresses(canvas: Any, data: LabelData, fonts: FontSet) -> None:
    international = data.ship_from.country.upper() != data.ship_to.country.upper()
    sender = address_lines(data.ship_from, include_country=international)
    recipient = address_lines(data.ship_to, include_country=international)
    if not recipient:
        raise DocumentError(
            f"shipment {data.shipment_ref} has an empty recipient address; "
            "complete the order's shipping address"
        )

    canvas.setFont(fonts.bold, 6.5)
    canvas.drawString(MARGIN, FROM_BOX.top + 4, "FROM")
    items = [(line, fonts.regular) for line in sender]
    _draw_fitted(canvas, items, FROM_BOX, (8, 5.5), "sender address", data)

    qr = QrCode(
        data.tracking_number,
        width=QR_BOX.width,
        height=QR_BOX.height,
        qrBorder=4,
        qrLevel="M",
    )
    qr.drawOn(canvas, QR_BOX.x, QR_BOX.y)
    _draw_rule(canvas, FROM_RULE_Y)

    canvas.setFont(fonts.bold, 7)
    canvas.drawString(MARGIN, TO_BOX.top + 4, "SHIP TO")
    items = [(recipient[0], fonts.bold)]
    items += [(line, fonts.regular) for line in recipient[1:]]
    if data.ship_to.phone:
        items.append((f"Tel. {data.ship_to.phone}", fonts.regular))
    _draw_fitted(canvas, items, TO_BOX, (15, 7), "recipient address", data)
    _draw_rule(canvas, TO_RULE_Y, 1.5)


def _draw_tracking(canvas: Any, data: LabelData, fonts: FontSet) -> None:
    barcode = barcode_for(data.tracking_number)
    barcode.drawOn(canvas, (PAGE_WIDTH - barcode.width) / 2, BARCODE_Y)

    size = 11.0
    while (
        size > 6
        and text_width(data.tracking_number, fonts.bold, size) > PAGE_WIDTH - 2 * MARGIN
    ):
        size -= 0.5
    canvas.setFont(fonts.bold, size)
    canvas.drawCentredString(
        PAGE_WIDTH / 2, HUMAN_READABLE_BASELINE, data.tracking_number
    )
    _draw_rule(canvas, FOOTER_RULE_Y)


def _draw_footer(canvas: Any, data: LabelData, fonts: FontSet) -> None:
    half = (PAGE_WIDTH - 2 * MARGIN) / 2 - 4
    canvas.setFont(fonts.regular, 8)
    order = truncate_to_width(f"Order {data.order_ref}", fonts.regular, 8, half)
    shipment = truncate_to_width(
        f"Shipment {data.shipment_ref}", fonts.regular, 8, half
    )
    canvas.drawString(MARGIN, FOOTER_BASELINE, order)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, FOOTER_BASELINE, shipment)


def _draw_label(canvas: Any, data: LabelData, fonts: FontSet) -> None:
    check_tracking_number(data.tracking_number)
    _draw_header(canvas, data, fonts)
    _draw_addresses(canvas, data, fonts)
    _draw_tracking(canvas, data, fonts)
    _draw_footer(canvas, data, fonts)
    canvas.showPage()


def _open_canvas(target: str | os.PathLike[str] | IO[bytes], title: str) -> Any:
    out = os.fspath(target) if isinstance(target, str | os.PathLike) else target
    canvas = Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    canvas.setTitle(title)
    canvas.setAuthor("Backroom")
    return canvas


def render_label_pdf(
    data: LabelData, path_or_stream: str | os.PathLike[str] | IO[bytes]
) -> None:
    """Write one 4x6 label to a file path or a binary stream.

    Raises DocumentError when the tracking number cannot be barcoded.
    """
    fonts = register_fonts()
    canvas = _open_canvas(path_or_stream, f"Label {data.tracking_number}")
    _draw_label(canvas, data, fonts)
    canvas.save()


def render_labels_pdf(
    labels: Sequence[LabelData], path_or_stream: str | os.PathLike[str] | IO[bytes]
) -> None:
    """Write several labels into one PDF, one label per page.

    Every label is checked before anything is written, so one bad tracking
    number does not leave half a batch on disk.
    """
    if not labels:
        raise DocumentError("no labels to print; select at least one shipment")
    for data in labels:
        check_tracking_number(data.tracking_number)
        barcode_for(data.tracking_number)
    fonts = register_fonts()
    canvas = _open_canvas(path_or_stream, f"{len(labels)} labels")
    for data in labels:
        _draw_label(canvas, data, fonts)
    canvas.save()
