"""Packing slips: the list of items that goes into the parcel.

A4 or Letter. The header shows the shop, the order date and the order
reference as text and as Code128, which the packer scans to open the order.
The recipient, the items and the customer's note follow. Prices appear only
when ``show_prices`` is set, because many parcels are gifts.
"""

from __future__ import annotations

import os
from typing import IO, Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from app.core.documents import (
    DocumentError,
    PackingSlipData,
    address_lines,
    format_money,
    single_currency,
)
from app.core.documents.fonts import (
    SheetStyles,
    build_numbered_pdf,
    content_width,
    page_size,
    paragraph_lines,
    sheet_barcode,
    sheet_styles,
    table_style,
)


def _header(
    data: PackingSlipData, styles: SheetStyles, width: float, locale: str
) -> Table:
    left: list[Any] = [Paragraph(escape(data.shop_name), styles.title)]
    if data.shop_address is not None:
        lines = address_lines(data.shop_address, include_country=True)
        if lines and lines[0] == data.shop_name:
            lines = lines[1:]
        left.append(paragraph_lines(lines, styles.small))

    ordered = format_date(data.order_date, "medium", locale=locale)
    right: list[Any] = [
        Paragraph("Packing slip", styles.heading),
        Paragraph(f"<b>Order {escape(data.order_ref)}</b>", styles.body),
        Paragraph(f"Order date: {escape(ordered)}", styles.body),
    ]
    barcode = sheet_barcode(data.order_ref, width * 0.42, bar_height=30)
    if barcode is not None:
        right.extend([Spacer(1, 2 * mm), barcode])
    header = Table([[left, right]], colWidths=[width * 0.55, width * 0.45])
    header.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    return header


def _items_table(
    data: PackingSlipData, styles: SheetStyles, width: float, locale: str
) -> Table:
    currency = single_currency(data.lines, f"packing slip for order {data.order_ref}")
    if data.show_prices and not currency:
        raise DocumentError(
            f"packing slip for order {data.order_ref} shows prices but its lines "
            "have no currency; set the currency or print without prices"
        )

    header = ["SKU", "Description", "Qty"]
    widths = [width * 0.24, width * 0.62, width * 0.14]
    if data.show_prices:
        header += ["Unit price", "Total"]
        widths = [width * 0.23, width * 0.4, width * 0.07, width * 0.14, width * 0.16]
    rows: list[list[Any]] = [header]

    total_units = 0
    subtotal = 0
    for line in data.lines:
        total_units += line.quantity
        row: list[Any] = [
            Paragraph(escape(line.sku), styles.cell_bold),
            Paragraph(escape(line.description), styles.cell),
            str(line.quantity),
        ]
        if data.show_prices:
            line_total = line.quantity * line.unit_price_minor
            subtotal += line_total
            row += [
                format_money(line.unit_price_minor, currency, locale),
                format_money(line_total, currency, locale),
            ]
        rows.append(row)

    summary: list[Any] = [
        "",
        Paragraph("<b>Items</b>", styles.cell_right),
        str(total_units),
    ]
    if data.show_prices:
        summary += [
            Paragraph("<b>Subtotal</b>", styles.cell_right),
            format_money(subtotal, currency, locale),
        ]
    rows.append(summary)

    table = Table(rows, colWidths=widths, repeatRows=1)
    style = table_style(styles.fonts.bold, numeric_from=2)
    style.add("FONTNAME", (0, -1), (-1, -1), styles.fonts.bold)
    style.add("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)
    style.add("FONTNAME", (0, 1), (-1, -2), styles.fonts.regular)
    style.add("FONTSIZE", (0, 1), (-1, -1), 9)
    table.setStyle(style)
    return table


def render_packing_slip_pdf(
    data: PackingSlipData,
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    page_size_name: str = "A4",
    locale: str = "en",
) -> int:
    """Write a packing slip on A4 or Letter and return its page count.

    ``locale`` (a babel locale such as ``en_GB``) formats dates and amounts.
    Raises DocumentError for an unknown page size or mixed currencies.
    """
    size = page_size(page_size_name)
    styles = sheet_styles()
    width = content_width(size)
    if not data.lines:
        raise DocumentError(f"order {data.order_ref} has no lines to pack")

    def story() -> list[Any]:
        include_country = (
            data.shop_address is None
            or data.shop_address.country.upper() != data.ship_to.country.upper()
        )
        recipient = address_lines(data.ship_to, include_country=include_country)
        flowables: list[Any] = [
            _header(data, styles, width, locale),
            Spacer(1, 6 * mm),
            Paragraph("Ship to", styles.heading),
            paragraph_lines(recipient, styles.body, bold_first=True),
            Spacer(1, 6 * mm),
            _items_table(data, styles, width, locale),
        ]
        if data.note.strip():
            flowables += [
                Paragraph("Note", styles.heading),
                Paragraph(escape(data.note).replace("\n", "<br/>"), styles.body),
            ]
        return flowables

    return build_numbered_pdf(
        path_or_stream,
        size,
        story,
        footer_text=f"{data.shop_name} · Order {data.order_ref}",
        title=f"Packing slip {data.order_ref}",
    )
