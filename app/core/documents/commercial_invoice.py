"""Commercial invoices: the customs declaration for parcels sent abroad.

A4 or Letter. It names the exporter and the consignee with their tax
numbers and lists the terms: incoterm, reason for export and currency. One
row per SKU gives its HS code, country of origin, quantity, net weight and
value. The totals with freight and insurance and the exporter's declaration
close the document.
"""

from __future__ import annotations

import os
from typing import IO, Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.core.documents import (
    CommercialInvoiceData,
    DocumentError,
    address_lines,
    format_money,
    format_weight,
)
from app.core.documents.fonts import (
    SheetStyles,
    build_numbered_pdf,
    content_width,
    page_size,
    paragraph_lines,
    sheet_styles,
    table_style,
)

DECLARATION = (
    "I declare that the information on this invoice is true and correct, and "
    "that the goods described originate in the countries shown."
)


def check_customs_lines(data: CommercialInvoiceData) -> None:
    """Raise DocumentError listing every line that customs would reject."""
    problems: list[str] = []
    for line in data.lines:
        if line.quantity <= 0:
            problems.append(f"{line.sku}: quantity {line.quantity} is not positive")
        if not line.hs_code.strip():
            problems.append(f"{line.sku}: HS code is missing")
        if not line.origin_country.strip():
            problems.append(f"{line.sku}: country of origin is missing")
        if line.weight_g <= 0:
            problems.append(
                f"{line.sku}: unit weight {line.weight_g} g is not positive"
            )
        if line.currency != data.currency:
            problems.append(
                f"{line.sku}: currency {line.currency or 'missing'} differs from "
                f"the invoice currency {data.currency}"
            )
    if not data.lines:
        problems.append("the invoice has no lines")
    if problems:
        raise DocumentError(
            f"commercial invoice {data.invoice_number} cannot be printed; fix "
            "these product customs fields first: " + "; ".join(problems)
        )


def _terms(data: CommercialInvoiceData, styles: SheetStyles, locale: str) -> list[Any]:
    pairs = [
        ("Invoice no.", data.invoice_number),
        ("Date", format_date(data.invoice_date, "medium", locale=locale)),
        ("Order", data.order_ref),
        ("Currency", data.currency),
        ("Incoterm", data.incoterm),
        ("Reason for export", data.reason_for_export),
        ("Packages", str(data.package_count)),
    ]
    if data.carrier:
        pairs.append(("Carrier", data.carrier))
    if data.tracking_number:
        pairs.append(("Tracking no.", data.tracking_number))
    return [
        [
            Paragraph(f"<b>{escape(key)}</b>", styles.cell),
            Paragraph(escape(value), styles.cell),
        ]
        for key, value in pairs
    ]


def _parties(data: CommercialInvoiceData, styles: SheetStyles, width: float) -> Table:
    def party(title: str, lines: list[str], tax_id: str, tax_label: str) -> list[Any]:
        cell: list[Any] = [
            Paragraph(f"<b>{title}</b>", styles.small),
            paragraph_lines(lines, styles.body, bold_first=True),
        ]
        if tax_id:
            cell.append(Paragraph(f"{tax_label}: {escape(tax_id)}", styles.small))
        return cell

    exporter = address_lines(data.exporter, include_country=True)
    if data.exporter.phone:
        exporter.append(f"Tel. {data.exporter.phone}")
    consignee = address_lines(data.consignee, include_country=True)
    if data.consignee.phone:
        consignee.append(f"Tel. {data.consignee.phone}")
    if data.consignee.email:
        consignee.append(data.consignee.email)
    table = Table(
        [
            [
                party(
                    "EXPORTER / SHIPPER", exporter, data.exporter_tax_id, "VAT/EORI no."
                ),
                party(
                    "CONSIGNEE / IMPORTER", consignee, data.importer_tax_id, "Tax ID"
                ),
            ]
        ],
        colWidths=[width / 2, width / 2],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, 0), 0.6, colors.black),
                ("BOX", (1, 0), (1, 0), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _lines_table(
    data: CommercialInvoiceData, styles: SheetStyles, width: float, locale: str
) -> Table:
    header = [
        "Description",
        "HS code",
        "Origin",
        "Qty",
        "Net weight",
        "Unit value",
        "Total value",
    ]
    rows: list[list[Any]] = [header]
    for line in data.lines:
        rows.append(
            [
                [
                    Paragraph(escape(line.description), styles.cell),
                    Paragraph(f"SKU {escape(line.sku)}", styles.small),
                ],
                Paragraph(escape(line.hs_code), styles.cell),
                Paragraph(escape(line.origin_country.upper()), styles.cell),
                Paragraph(str(line.quantity), styles.cell_right),
                Paragraph(
                    format_weight(line.weight_g * line.quantity), styles.cell_right
                ),
                Paragraph(
                    escape(format_money(line.unit_price_minor, data.currency, locale)),
                    styles.cell_right,
                ),
                Paragraph(
                    escape(
                        format_money(
                            line.unit_price_minor * line.quantity, data.currency, locale
                        )
                    ),
                    styles.cell_right,
                ),
            ]
        )
    fractions = [0.31, 0.12, 0.08, 0.07, 0.12, 0.14, 0.16]
    table = Table(rows, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(table_style(styles.fonts.bold, numeric_from=3))
    return table


def invoice_totals(data: CommercialInvoiceData) -> dict[str, int]:
    """Return the goods value, freight, insurance and total in minor units,
    and the total net weight in grams."""
    goods = sum(line.unit_price_minor * line.quantity for line in data.lines)
    return {
        "goods": goods,
        "shipping": data.shipping_minor,
        "insurance": data.insurance_minor,
        "total": goods + data.shipping_minor + data.insurance_minor,
        "net_weight_g": sum(line.weight_g * line.quantity for line in data.lines),
    }


def _totals_table(
    data: CommercialInvoiceData, styles: SheetStyles, width: float, locale: str
) -> Table:
    totals = invoice_totals(data)

    def money(key: str) -> str:
        return format_money(totals[key], data.currency, locale)

    rows = [
        ["Total net weight", format_weight(totals["net_weight_g"])],
        ["Goods value", money("goods")],
        ["Freight", money("shipping")],
        ["Insurance", money("insurance")],
        [f"Total invoice value ({data.currency})", money("total")],
    ]
    table = Table(rows, colWidths=[width * 0.3, width * 0.16], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles.fonts.regular),
                ("FONTNAME", (0, -1), (-1, -1), styles.fonts.bold),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _declaration(
    data: CommercialInvoiceData, styles: SheetStyles, width: float, locale: str
) -> KeepTogether:
    signer = escape(data.signer_name) if data.signer_name else ""
    when = format_date(data.invoice_date, "medium", locale=locale)
    signature = Table(
        [
            ["", ""],
            [
                Paragraph(f"Signature · {signer}", styles.small),
                Paragraph(f"Date · {escape(when)}", styles.small),
            ],
        ],
        colWidths=[width * 0.6, width * 0.4],
        rowHeights=[12 * mm, None],
    )
    signature.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (0, 0), 0.6, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    flowables: list[Any] = [Paragraph("Declaration", styles.heading)]
    flowables += [Paragraph(escape(note), styles.body) for note in data.notes]
    flowables += [Paragraph(DECLARATION, styles.body), signature]
    return KeepTogether(flowables)


def render_commercial_invoice_pdf(
    data: CommercialInvoiceData,
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    page_size_name: str = "A4",
    locale: str = "en",
) -> int:
    """Write a commercial invoice and return its page count.

    Raises DocumentError naming every line with a missing customs field,
    or for an unknown page size.
    """
    size = page_size(page_size_name)
    check_customs_lines(data)
    styles = sheet_styles()
    width = content_width(size)

    def story() -> list[Any]:
        title = Paragraph("Commercial invoice", styles.title)
        terms = Table(
            _terms(data, styles, locale), colWidths=[width * 0.25, width * 0.27]
        )
        terms.setStyle(
            TableStyle(
                [
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                ]
            )
        )
        head = Table([[title, terms]], colWidths=[width * 0.5, width * 0.5])
        head.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                ]
            )
        )
        return [
            head,
            Spacer(1, 5 * mm),
            _parties(data, styles, width),
            Spacer(1, 5 * mm),
            _lines_table(data, styles, width, locale),
            Spacer(1, 3 * mm),
            _totals_table(data, styles, width, locale),
            Spacer(1, 4 * mm),
            _declaration(data, styles, width, locale),
        ]

    return build_numbered_pdf(
        path_or_stream,
        size,
        story,
        footer_text=(
            f"Commercial invoice {data.invoice_number} · Order {data.order_ref}"
        ),
        title=f"Commercial invoice {data.invoice_number}",
    )
