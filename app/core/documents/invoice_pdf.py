"""Invoices and credit notes for customers, with the fields tax authorities ask.

A4 or Letter. The document shows the seller's legal name, address and tax
number, and the buyer's name, address and tax number when they gave one. It
has the document number, its date and the date of supply. Each line shows
its quantity, net unit price, net amount, tax rate and tax, followed by the
net and tax per rate, the totals and the currency. A credit note names the
invoice it credits and shows the amounts credited as positive figures. An
invoice in a currency other than the seller's books also states the net
and the tax per rate in the books' currency, with the rate used, as HMRC's
guidance on foreign currency transactions and VAT asks of UK invoices.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from babel.numbers import format_currency
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.core.documents import DocumentError, format_money
from app.core.documents.fonts import (
    SheetStyles,
    build_numbered_pdf,
    content_width,
    page_size,
    paragraph_lines,
    sheet_styles,
    table_style,
)
from app.core.money import currency_exponent


@dataclass(frozen=True, kw_only=True)
class InvoiceParty:
    """Seller or buyer: name and printed address lines, tax number if any."""

    name: str
    address: Sequence[str] = ()
    tax_number: str = ""
    company_number: str = ""
    email: str = ""


@dataclass(frozen=True, kw_only=True)
class InvoiceLineData:
    """One line, minor units of the document currency, net of tax.

    ``unit_net`` is the net price of one unit after discounts, as a Decimal
    of minor units, because a unit price may have fractions of a cent.
    ``rates`` are percents, several when taxes stack (US state and city).
    """

    description: str
    sku: str = ""
    quantity: int = 1
    unit_net: Decimal
    net: int
    rates: tuple[Decimal, ...] = ()
    tax: int = 0


@dataclass(frozen=True, kw_only=True)
class TaxSummaryLine:
    """Net amount taxed at one rate and the tax on it."""

    name: str
    rate: Decimal
    net: int
    tax: int


@dataclass(frozen=True, kw_only=True)
class InvoiceData:
    """Everything an invoice or credit note prints.

    ``kind`` is ``invoice`` or ``credit_note``. ``total_net + total_tax``
    must equal ``total``, and the lines must add up to the totals.
    ``amount_due`` marks an invoice still to be paid (credit terms).
    ``books_currency``, ``fx_rate``, ``tax_in_books`` and ``books_summary``
    (the tax summary converted) are set for a document in a currency other
    than the seller's books.
    """

    kind: str
    number: str
    issue_date: date
    supply_date: date | None
    order_ref: str
    currency: str
    seller: InvoiceParty
    buyer: InvoiceParty
    lines: Sequence[InvoiceLineData]
    tax_summary: Sequence[TaxSummaryLine]
    total_net: int
    total_tax: int
    total: int
    credited_number: str = ""
    credited_date: date | None = None
    payment_note: str = ""
    amount_due: bool = False
    books_currency: str = ""
    fx_rate: Decimal | None = None
    tax_in_books: int | None = None
    books_summary: Sequence[TaxSummaryLine] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)


def check_invoice(data: InvoiceData) -> None:
    """Raise DocumentError naming every figure or field that does not add up."""
    problems = []
    if not data.seller.name.strip():
        problems.append("the seller has no name")
    if not data.seller.address:
        problems.append("the seller has no address")
    if data.total_tax and not data.seller.tax_number.strip():
        problems.append("tax is charged but the seller has no tax number")
    if data.total_net + data.total_tax != data.total:
        problems.append(
            f"net {data.total_net} plus tax {data.total_tax} is not the total "
            f"{data.total}"
        )
    net = sum(line.net for line in data.lines)
    tax = sum(line.tax for line in data.lines)
    if (net, tax) != (data.total_net, data.total_tax):
        problems.append(
            f"the lines add up to net {net} and tax {tax}, not {data.total_net} and "
            f"{data.total_tax}"
        )
    if not data.lines:
        problems.append("there are no lines")
    if problems:
        raise DocumentError(
            f"{_title(data).lower()} {data.number} cannot be printed: "
            + "; ".join(problems)
        )


def _title(data: InvoiceData) -> str:
    return "Credit note" if data.kind == "credit_note" else "Invoice"


def _rate_text(rate: Decimal) -> str:
    return f"{format(rate.normalize(), 'f')} %"


def _head(data: InvoiceData, styles: SheetStyles, width: float, locale: str) -> Table:
    pairs = [
        (f"{_title(data)} no.", data.number),
        ("Date", format_date(data.issue_date, "medium", locale=locale)),
    ]
    if data.supply_date and data.supply_date != data.issue_date:
        pairs.append(
            ("Date of supply", format_date(data.supply_date, "medium", locale=locale))
        )
    if data.credited_number:
        credited = data.credited_number
        if data.credited_date:
            credited += (
                f" of {format_date(data.credited_date, 'medium', locale=locale)}"
            )
        pairs.append(("Credits invoice", credited))
    pairs += [("Order", data.order_ref), ("Currency", data.currency)]
    terms = Table(
        [
            [
                Paragraph(f"<b>{escape(key)}</b>", styles.cell),
                Paragraph(escape(value), styles.cell),
            ]
            for key, value in pairs
        ],
        colWidths=[width * 0.2, width * 0.3],
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
    seller = _party(data.seller, styles)
    head = Table(
        [[[Paragraph(_title(data), styles.title), *seller], terms]],
        colWidths=[width * 0.5, width * 0.5],
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
            ]
        )
    )
    return head


def _party(party: InvoiceParty, styles: SheetStyles) -> list[Any]:
    cell: list[Any] = [
        paragraph_lines([party.name, *party.address], styles.body, bold_first=True)
    ]
    facts = []
    if party.tax_number:
        facts.append(f"Tax number: {party.tax_number}")
    if party.company_number:
        facts.append(f"Company number: {party.company_number}")
    if party.email:
        facts.append(party.email)
    if facts:
        cell.append(paragraph_lines(facts, styles.small))
    return cell


def _buyer(data: InvoiceData, styles: SheetStyles, width: float) -> Table:
    label = "Credited to" if data.kind == "credit_note" else "Bill to"
    table = Table(
        [[[Paragraph(f"<b>{label}</b>", styles.small), *_party(data.buyer, styles)]]],
        colWidths=[width * 0.5],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _unit_price(unit_net: Decimal, currency: str, locale: str) -> str:
    """Format a unit price of minor units, keeping up to four decimals."""
    major = (unit_net.scaleb(-currency_exponent(currency))).quantize(Decimal("0.0001"))
    return str(
        format_currency(
            major.normalize(), currency, locale=locale, decimal_quantization=False
        )
    )


def _lines_table(
    data: InvoiceData, styles: SheetStyles, width: float, locale: str
) -> Table:
    header = ["Description", "Qty", "Unit price net", "Net amount", "Tax rate", "Tax"]
    rows: list[list[Any]] = [header]
    for line in data.lines:
        description: list[Any] = [Paragraph(escape(line.description), styles.cell)]
        if line.sku:
            description.append(Paragraph(f"SKU {escape(line.sku)}", styles.small))
        rows.append(
            [
                description,
                Paragraph(str(line.quantity), styles.cell_right),
                Paragraph(
                    escape(_unit_price(line.unit_net, data.currency, locale)),
                    styles.cell_right,
                ),
                Paragraph(
                    escape(format_money(line.net, data.currency, locale)),
                    styles.cell_right,
                ),
                Paragraph(
                    escape(" + ".join(_rate_text(r) for r in line.rates) or "0 %"),
                    styles.cell_right,
                ),
                Paragraph(
                    escape(format_money(line.tax, data.currency, locale)),
                    styles.cell_right,
                ),
            ]
        )
    fractions = [0.37, 0.07, 0.16, 0.15, 0.12, 0.13]
    table = Table(rows, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(table_style(styles.fonts.bold, numeric_from=1))
    return table


def _summary(
    data: InvoiceData, styles: SheetStyles, width: float, locale: str
) -> KeepTogether:
    def money(amount: int) -> str:
        return format_money(amount, data.currency, locale)

    by_rate = [["Tax", "Rate", "Net", "Tax amount"]]
    by_rate += [
        [s.name, _rate_text(s.rate), money(s.net), money(s.tax)]
        for s in data.tax_summary
    ]
    rates = Table(
        by_rate,
        colWidths=[width * 0.2, width * 0.1, width * 0.14, width * 0.14],
        hAlign="LEFT",
    )
    rates.setStyle(table_style(styles.fonts.bold, numeric_from=1))
    if data.kind == "credit_note":
        label = "Total credited"
    else:
        label = "Total due" if data.amount_due else "Total"
    totals = Table(
        [
            ["Total net", money(data.total_net)],
            ["Total tax", money(data.total_tax)],
            [f"{label} ({data.currency})", money(data.total)],
        ],
        colWidths=[width * 0.24, width * 0.16],
        hAlign="RIGHT",
    )
    totals.setStyle(
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
    side = Table([[rates, totals]], colWidths=[width * 0.6, width * 0.4])
    side.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    flowables: list[Any] = [side]
    notes = list(data.notes)
    if data.tax_in_books is not None and data.books_currency:
        books = data.books_currency
        rate = format(data.fx_rate.normalize(), "f") if data.fx_rate else "?"
        per_rate = [
            f"{s.name} {_rate_text(s.rate)}: net "
            f"{format_money(s.net, books, locale)}, tax "
            f"{format_money(s.tax, books, locale)}"
            for s in data.books_summary
        ]
        notes.insert(
            0,
            f"In {books} at {rate} {books} per {data.currency}: "
            + "; ".join(per_rate)
            + f". Total tax {format_money(data.tax_in_books, books, locale)}.",
        )
    if data.payment_note:
        notes.insert(0, data.payment_note)
    if notes:
        flowables.append(Spacer(1, 3 * mm))
        flowables += [Paragraph(escape(n), styles.body) for n in notes]
    return KeepTogether(flowables)


def render_invoice_pdf(
    data: InvoiceData,
    path_or_stream: str | os.PathLike[str] | IO[bytes],
    page_size_name: str = "A4",
    locale: str = "en",
) -> int:
    """Write an invoice or credit note and return its page count.

    Raises DocumentError when a required field is missing or the figures
    do not add up (see :func:`check_invoice`).
    """
    size = page_size(page_size_name)
    check_invoice(data)
    styles = sheet_styles()
    width = content_width(size)

    def story() -> list[Any]:
        return [
            _head(data, styles, width, locale),
            Spacer(1, 6 * mm),
            _buyer(data, styles, width),
            Spacer(1, 6 * mm),
            _lines_table(data, styles, width, locale),
            Spacer(1, 4 * mm),
            _summary(data, styles, width, locale),
        ]

    seller = data.seller.name
    return build_numbered_pdf(
        path_or_stream,
        size,
        story,
        footer_text=f"{seller} · {_title(data)} {data.number}",
        title=f"{_title(data)} {data.number}",
    )
