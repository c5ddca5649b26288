"""Pick lists: one walk through the warehouse for a batch of orders.

The first part is the pick route: every SKU of the batch once per bin, in
bin order then SKU, with the total quantity, a Code128 of the SKU and how
many units each order takes. The second part splits the picked items back
into orders, each with its reference as Code128, for sorting at the
packing bench. Pages are numbered "page N of M".
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.core.documents import DocLine, DocumentError, PickListData
from app.core.documents.fonts import (
    SheetStyles,
    build_numbered_pdf,
    content_width,
    page_size,
    sheet_barcode,
    sheet_styles,
    table_style,
)

NO_BIN = "—"


def bin_sort_key(bin_code: str, sku: str) -> tuple[Any, ...]:
    """Sort key: bins in natural order (A-2 before A-10), no bin last, then SKU."""
    parts = tuple(
        (0, int(piece), "") if piece.isdigit() else (1, 0, piece.casefold())
        for piece in re.findall(r"\d+|\D+", bin_code)
    )
    return (not bin_code, parts, sku.casefold(), sku)


@dataclass
class PickRow:
    """One stop on the pick route: a SKU in a bin and the orders it goes to."""

    bin_code: str
    sku: str
    description: str
    quantity: int = 0
    per_order: dict[str, int] = field(default_factory=dict)


def pick_route(data: PickListData) -> list[PickRow]:
    """Merge the batch's lines into one row per (bin, SKU), in walking order."""
    rows: dict[tuple[str, str], PickRow] = {}
    for order_ref, lines in data.orders:
        for line in lines:
            if line.quantity <= 0:
                raise DocumentError(
                    f"pick list {data.batch_ref}: order {order_ref} line {line.sku} "
                    f"has quantity {line.quantity}; only positive quantities are picked"
                )
            row = rows.setdefault(
                (line.bin_code, line.sku),
                PickRow(line.bin_code, line.sku, line.description),
            )
            row.quantity += line.quantity
            row.per_order[order_ref] = row.per_order.get(order_ref, 0) + line.quantity
    return sorted(rows.values(), key=lambda r: bin_sort_key(r.bin_code, r.sku))


def sorted_lines(lines: Sequence[DocLine]) -> list[DocLine]:
    """Return an order's lines by bin (natural order) then SKU."""
    return sorted(lines, key=lambda line: bin_sort_key(line.bin_code, line.sku))


def _header(data: PickListData, styles: SheetStyles, width: float) -> Table:
    units = sum(line.quantity for _, lines in data.orders for line in lines)
    left = [
        Paragraph(f"Pick list {escape(data.batch_ref)}", styles.title),
        Paragraph(f"Warehouse: {escape(data.warehouse)}", styles.body),
        Paragraph(f"Created: {data.created_at:%Y-%m-%d %H:%M}", styles.body),
        Paragraph(f"{len(data.orders)} orders, {units} units", styles.body),
    ]
    right: list[Any] = []
    barcode = sheet_barcode(data.batch_ref, width * 0.4, bar_height=30)
    if barcode is not None:
        right = [barcode, Paragraph(escape(data.batch_ref), styles.cell_right)]
    table = Table([[left, right]], colWidths=[width * 0.58, width * 0.42])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _item_cell(
    sku: str, description: str, styles: SheetStyles, width: float
) -> list[Any]:
    cell: list[Any] = [Paragraph(escape(sku), styles.cell_bold)]
    barcode = sheet_barcode(sku, width, bar_height=24)
    if barcode is not None:
        cell += [Spacer(1, 1.5 * mm), barcode, Spacer(1, 1.5 * mm)]
    cell.append(Paragraph(escape(description), styles.cell))
    return cell


def _route_table(data: PickListData, styles: SheetStyles, width: float) -> Table:
    widths = [width * 0.13, width * 0.52, width * 0.09, width * 0.26]
    item_width = widths[1] - 12
    rows: list[list[Any]] = [["Bin", "Item", "Qty", "For orders"]]
    for row in pick_route(data):
        orders = "<br/>".join(
            f"{escape(ref)} × {quantity}" for ref, quantity in row.per_order.items()
        )
        rows.append(
            [
                Paragraph(f"<b>{escape(row.bin_code or NO_BIN)}</b>", styles.cell),
                _item_cell(row.sku, row.description, styles, item_width),
                Paragraph(f"<b>{row.quantity}</b>", styles.cell_right),
                Paragraph(orders, styles.cell),
            ]
        )
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(table_style(styles.fonts.bold, numeric_from=2))
    table.setStyle(TableStyle([("ALIGN", (3, 0), (3, -1), "LEFT")]))
    return table


def _order_block(
    order_ref: str, lines: Sequence[DocLine], styles: SheetStyles, width: float
) -> KeepTogether:
    barcode = sheet_barcode(order_ref, width * 0.45, bar_height=26)
    title = Paragraph(f"Order {escape(order_ref)}", styles.heading)
    head = Table(
        [[title, barcode if barcode is not None else ""]],
        colWidths=[width * 0.5, width * 0.5],
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )

    rows: list[list[Any]] = [["Bin", "SKU", "Description", "Qty"]]
    for line in sorted_lines(lines):
        rows.append(
            [
                Paragraph(escape(line.bin_code or NO_BIN), styles.cell),
                Paragraph(escape(line.sku), styles.cell_bold),
                Paragraph(escape(line.description), styles.cell),
                Paragraph(str(line.quantity), styles.cell_right),
            ]
        )
    table = Table(
        rows,
        colWidths=[width * 0.13, width * 0.25, width * 0.53, width * 0.09],
        repeatRows=1,
    )
    table.setStyle(table_style(styles.fonts.bold, numeric_from=3))
    return KeepTogether([head, table, Spacer(1, 4 * mm)])


def render_pick_list_pdf(
    data: PickListData,
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    page_size_name: str = "A4",
) -> int:
    """Write the pick list for a batch and return its page count.

    Raises DocumentError for an empty batch, a non-positive quantity, an
    order listed twice or an unknown page size.
    """
    size = page_size(page_size_name)
    if not data.orders:
        raise DocumentError(f"pick list {data.batch_ref} has no orders")
    refs = [ref for ref, _ in data.orders]
    duplicates = sorted({ref for ref in refs if refs.count(ref) > 1})
    if duplicates:
        raise DocumentError(
            f"pick list {data.batch_ref} lists orders {', '.join(duplicates)} "
            "more than once; merge their lines"
        )
    styles = sheet_styles()
    width = content_width(size)

    def story() -> list[Any]:
        flowables: list[Any] = [
            _header(data, styles, width),
            Paragraph("Pick route", styles.heading),
            _route_table(data, styles, width),
            Paragraph("Sort into orders", styles.heading),
        ]
        for order_ref, lines in data.orders:
            flowables.append(_order_block(order_ref, lines, styles, width))
        return flowables

    return build_numbered_pdf(
        path_or_stream,
        size,
        story,
        footer_text=f"Pick list {data.batch_ref} · {data.warehouse}",
        title=f"Pick list {data.batch_ref}",
    )
