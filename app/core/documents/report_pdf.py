"""Accounting reports as PDF: the shop's name, the report, its dates, page numbers.

Renders any :class:`app.core.accounting.tables.ReportTable`. Tables with more
than six columns are set on a landscape page. Section headings are bold on a
grey band, totals bold with a rule above, amounts right-aligned with
thousands separators and every page repeats the column titles.
"""

from __future__ import annotations

import os
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from app.core.accounting.tables import ReportTable, cell_text
from app.core.documents.fonts import (
    HEADER_FILL,
    build_numbered_pdf,
    content_width,
    page_size,
    sheet_styles,
    table_style,
)

NUMERIC_KINDS = ("amount", "rate", "count")
#: Relative widths of the column kinds; text columns share what is left.
KIND_WEIGHT = {"amount": 1.0, "rate": 0.6, "count": 0.6, "date": 0.9, "text": 1.6}


def _widths(table: ReportTable, width: float) -> list[float]:
    weights = [c.weight or KIND_WEIGHT.get(c.kind, 1.0) for c in table.columns]
    total = sum(weights)
    return [width * w / total for w in weights]


def render_report_pdf(
    table: ReportTable,
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    page_size_name: str = "A4",
) -> int:
    """Write the report and return its page count."""
    size = page_size(page_size_name)
    if len(table.columns) > 6:
        size = landscape(size)
    styles = sheet_styles()
    width = content_width(size)
    bold = styles.fonts.bold

    def story() -> list[Any]:
        header = [
            Paragraph(f"<b>{escape(c.title)}</b>", styles.cell_right)
            if c.kind in NUMERIC_KINDS
            else Paragraph(f"<b>{escape(c.title)}</b>", styles.cell)
            for c in table.columns
        ]
        data: list[list[Any]] = [header]
        commands: list[tuple[Any, ...]] = []
        for number, row in enumerate(table.rows, start=1):
            cells: list[Any] = []
            if row.style == "heading":
                # A section title spans the whole row.
                title = " ".join(str(c) for c in row.cells if c not in (None, ""))
                cells = [Paragraph(escape(title), styles.cell_bold)]
                cells += [""] * (len(table.columns) - 1)
                data.append(cells)
                commands.append(("SPAN", (0, number), (-1, number)))
                commands.append(("BACKGROUND", (0, number), (-1, number), HEADER_FILL))
                continue
            for cell, column in zip(row.cells, table.columns, strict=True):
                text = cell_text(cell, column.kind, table.currency, grouped=True)
                if column.kind in NUMERIC_KINDS:
                    cells.append(text)
                else:
                    style = styles.cell_bold if row.style != "line" else styles.cell
                    cells.append(Paragraph(escape(text), style))
            data.append(cells)
            if row.style == "total":
                commands.append(("FONTNAME", (0, number), (-1, number), bold))
            if row.style == "total":
                commands.append(
                    ("LINEABOVE", (0, number), (-1, number), 0.8, colors.black)
                )
        first_numeric = next(
            (i for i, c in enumerate(table.columns) if c.kind in NUMERIC_KINDS),
            len(table.columns),
        )
        grid = Table(data, colWidths=_widths(table, width), repeatRows=1)
        grid.setStyle(table_style(bold, numeric_from=len(table.columns)))
        numeric = [
            ("ALIGN", (i, 0), (i, -1), "RIGHT")
            for i, c in enumerate(table.columns)
            if c.kind in NUMERIC_KINDS
        ]
        grid.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (first_numeric, 1), (-1, -1), styles.fonts.regular),
                    ("FONTSIZE", (0, 1), (-1, -1), 9),
                    *numeric,
                    *commands,
                ]
            )
        )
        flowables: list[Any] = [
            Paragraph(escape(table.title), styles.title),
            Paragraph(
                f"<b>{escape(table.shop_name)}</b> · {escape(table.period)} · "
                f"amounts in {escape(table.currency)}",
                styles.body,
            ),
            Spacer(1, 4 * mm),
            grid,
        ]
        if table.notes:
            flowables.append(Spacer(1, 3 * mm))
            flowables += [Paragraph(escape(note), styles.small) for note in table.notes]
        return flowables

    return build_numbered_pdf(
        path_or_stream,
        size,
        story,
        footer_text=f"{table.shop_name} · {table.title} · {table.period}",
        title=f"{table.title}, {table.period}",
    )
