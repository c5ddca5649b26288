"""Invoice and credit note documents from the database, for the PDF renderer.

An invoice lists the order's lines and shipping as they were charged. A
credit note lists what it gives back. For a refund, that is the refund's
lines, shipping and restocking fee. A full credit (a cancelled or changed
order) repeats every line of the invoice, and a partly shipped order's
cancellation lists the cancelled units. When the
lines that can be rebuilt do not add up to the stored document total, the
document prints one summary line with the stored net and tax instead. That
happens for an invoice issued before its order was changed, for instance.
The printed totals are therefore always the ones that were posted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.accounting.settings import load_seller
from app.core.documents import Address, address_lines
from app.core.documents.invoice_pdf import (
    InvoiceData,
    InvoiceLineData,
    InvoiceParty,
    TaxSummaryLine,
)
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Customer, Invoice, OrderLine, SalesOrder, TaxLine
from app.core.models.returns import ReturnRefund, ReturnRefundLine, ReturnRefundTax
from app.core.money import convert
from app.core.shop import get_shop, local_date, shop_zone

NO_TAX = "No tax"


@dataclass(slots=True)
class _Line:
    description: str
    sku: str
    quantity: int
    net: int
    taxes: list[tuple[str, Decimal, int]]


def find_invoice(session: Session, number: str) -> Invoice:
    """Return the invoice or credit note with this display number (any case)."""
    invoice = session.scalar(
        select(Invoice).where(
            func.upper(Invoice.display_number) == number.strip().upper()
        )
    )
    if invoice is None:
        raise NotFound(
            f"invoice {number!r} does not exist; use the number printed on it, "
            "such as INV-000012 or CN-000003"
        )
    return invoice


def _tax_lines(session: Session, order_id: int) -> dict[int | None, list[TaxLine]]:
    found: dict[int | None, list[TaxLine]] = defaultdict(list)
    for tax in session.scalars(
        select(TaxLine).where(TaxLine.order_id == order_id).order_by(TaxLine.id)
    ):
        found[tax.order_line_id].append(tax)
    return found


def _order_lines(session: Session, order: SalesOrder) -> list[_Line]:
    """Return the order's lines and shipping as charged, net of tax."""
    taxes = _tax_lines(session, order.id)
    lines = []
    for line in order.lines:
        lines.append(
            _Line(
                line.description or line.sku,
                line.sku,
                line.quantity,
                line.list_net - line.discount_net,
                [(t.name, t.rate, t.amount) for t in taxes.get(line.id, [])],
            )
        )
    shipping_gross = order.shipping - order.shipping_discount
    if order.shipping:
        net = shipping_gross - (order.shipping_tax if order.prices_include_tax else 0)
        lines.append(
            _Line(
                "Shipping",
                "",
                1,
                net,
                [(t.name, t.rate, t.amount) for t in taxes.get(None, [])],
            )
        )
    return lines


def _refund_lines(session: Session, refund: ReturnRefund) -> list[_Line]:
    """Return a refund's lines, shipping and restocking fee, net of tax."""
    names = {
        t.id: t.name
        for t in session.scalars(
            select(TaxLine).where(TaxLine.order_id == refund.order_id)
        )
    }
    taxes: dict[int | None, list[tuple[str, Decimal, int]]] = defaultdict(list)
    for tax in session.scalars(
        select(ReturnRefundTax).where(ReturnRefundTax.refund_id == refund.id)
    ):
        taxes[tax.order_line_id].append(
            (names.get(tax.tax_line_id, "Tax"), tax.rate, tax.amount)
        )
    order_lines = {
        line.id: line
        for line in session.scalars(
            select(OrderLine).where(OrderLine.order_id == refund.order_id)
        )
    }
    lines = []
    for part in session.scalars(
        select(ReturnRefundLine)
        .where(ReturnRefundLine.refund_id == refund.id)
        .order_by(ReturnRefundLine.id)
    ):
        source = order_lines[part.order_line_id]
        lines.append(
            _Line(
                f"Return: {source.description or source.sku}",
                source.sku,
                part.quantity,
                part.paid - part.tax_amount,
                taxes.get(part.order_line_id, []),
            )
        )
    if refund.shipping:
        shipping_tax = sum(t[2] for t in taxes.get(None, []))
        lines.append(
            _Line(
                "Shipping refunded",
                "",
                1,
                refund.shipping - shipping_tax,
                taxes.get(None, []),
            )
        )
    if refund.fee:
        lines.append(_Line("Restocking fee (deducted)", "", 1, -refund.fee, []))
    return lines


def _cancelled_lines(session: Session, order: SalesOrder) -> list[_Line]:
    """Return the cancelled units of a partly shipped order, net of tax."""
    taxes = _tax_lines(session, order.id)
    lines = []
    for line in order.lines:
        if not line.quantity_cancelled:
            continue
        share = Decimal(line.quantity_cancelled) / line.quantity
        lines.append(
            _Line(
                f"Cancelled: {line.description or line.sku}",
                line.sku,
                line.quantity_cancelled,
                int(((line.list_net - line.discount_net) * share).to_integral_value()),
                [
                    (
                        t.name,
                        t.rate,
                        int((Decimal(t.amount) * share).to_integral_value()),
                    )
                    for t in taxes.get(line.id, [])
                ],
            )
        )
    return lines


def _summary_line(session: Session, invoice: Invoice, what: str) -> list[_Line]:
    """Return one line with the stored totals, at the order's rate if it has one."""
    if not invoice.tax_total:
        return [_Line(what, "", 1, invoice.total, [])]
    rates = set(
        session.execute(
            select(TaxLine.name, TaxLine.rate).where(
                TaxLine.order_id == invoice.order_id
            )
        ).all()
    )
    name, rate = (
        rates.pop() if len(rates) == 1 else ("Tax at several rates", Decimal(0))
    )
    return [
        _Line(
            what,
            "",
            1,
            invoice.total - invoice.tax_total,
            [(name, rate, invoice.tax_total)],
        )
    ]


def _fits(lines: list[_Line], invoice: Invoice) -> bool:
    net = sum(line.net for line in lines)
    tax = sum(amount for line in lines for _, _, amount in line.taxes)
    return bool(lines) and net + tax == invoice.total and tax == invoice.tax_total


def _document_lines(
    session: Session, invoice: Invoice, order: SalesOrder, original: Invoice | None
) -> tuple[list[_Line], list[str]]:
    notes: list[str] = []
    if invoice.kind != "credit_note":
        lines = _order_lines(session, order)
        if _fits(lines, invoice):
            return lines, notes
        return _summary_line(session, invoice, f"Order {order.external_id}"), [
            "The order was changed after this invoice; the lines show its total."
        ]
    refund = session.scalar(
        select(ReturnRefund).where(ReturnRefund.credit_note_id == invoice.id)
    )
    candidates: list[list[_Line]] = []
    if refund is not None:
        candidates.append(_refund_lines(session, refund))
    if original is not None and invoice.total == original.total:
        candidates.append(_order_lines(session, order))
    candidates.append(_cancelled_lines(session, order))
    for lines in candidates:
        if _fits(lines, invoice):
            return lines, notes
    credited = original.display_number if original else "the invoice"
    return _summary_line(session, invoice, f"Credit for {credited}"), notes


def _rates_summary(lines: list[_Line]) -> list[TaxSummaryLine]:
    by_rate: dict[tuple[str, Decimal], list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if not line.taxes:
            by_rate[(NO_TAX, Decimal(0))][0] += line.net
        for name, rate, amount in line.taxes:
            slot = by_rate[(name, rate)]
            slot[0] += line.net
            slot[1] += amount
    return [
        TaxSummaryLine(name=name, rate=rate, net=net, tax=tax)
        for (name, rate), (net, tax) in sorted(
            by_rate.items(), key=lambda kv: (-kv[0][1], kv[0][0])
        )
    ]


def _buyer(session: Session, order: SalesOrder) -> InvoiceParty:
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    address = (
        address_lines(
            Address(
                name="",
                company=order.ship_company or "",
                line1=order.ship_line1,
                line2=order.ship_line2 or "",
                city=order.ship_city,
                region=order.ship_region or "",
                postcode=order.ship_postcode or "",
                country=order.ship_country or "",
            ),
            include_country=True,
        )
        if order.ship_country
        else []
    )
    return InvoiceParty(
        name=(customer.name if customer and customer.name else order.ship_name)
        or "Customer",
        address=address,
        tax_number=(customer.tax_number or "") if customer else "",
        email=order.email or (customer.email or "" if customer else ""),
    )


def _seller(session: Session) -> InvoiceParty:
    seller = load_seller(session)
    address = (
        address_lines(
            Address(
                name="",
                line1=seller.line1,
                line2=seller.line2,
                city=seller.city,
                region=seller.region,
                postcode=seller.postcode,
                country=seller.country,
            ),
            include_country=True,
        )
        if seller.line1
        else []
    )
    return InvoiceParty(
        name=seller.name,
        address=address,
        tax_number=seller.tax_number,
        company_number=seller.company_number,
        email=seller.email,
    )


def invoice_data(session: Session, number: str) -> InvoiceData:
    """Build the printable document for an invoice or credit note number.

    Raises NotFound for an unknown number and ValidationError when the
    seller's address or, on a taxed document, tax number is missing.
    """
    invoice = find_invoice(session, number)
    order = session.get(SalesOrder, invoice.order_id)
    assert order is not None
    shop = get_shop(session)
    zone = shop_zone(session)
    seller = _seller(session)
    if not seller.address:
        raise ValidationError(
            "seller",
            None,
            "the shop has no address for its invoices; set it with `backroom "
            "invoice seller --line1 ... --city ... --postcode ...` or give the "
            "default warehouse an address",
        )
    if invoice.tax_total and not seller.tax_number:
        raise ValidationError(
            "tax_number",
            None,
            f"{invoice.display_number} charges tax but the shop has no tax number; "
            "set it with `backroom invoice seller --tax-number ...`",
        )
    original = (
        session.get(Invoice, invoice.credits_invoice_id)
        if invoice.credits_invoice_id
        else None
    )
    lines, notes = _document_lines(session, invoice, order, original)
    foreign = order.currency != shop.currency
    summary = _rates_summary(lines)
    prices = [
        InvoiceLineData(
            description=line.description,
            sku=line.sku,
            quantity=line.quantity,
            unit_net=Decimal(line.net) / line.quantity if line.quantity else Decimal(0),
            net=line.net,
            rates=tuple(rate for _, rate, _ in line.taxes if rate),
            tax=sum(amount for _, _, amount in line.taxes),
        )
        for line in lines
    ]
    return InvoiceData(
        kind=invoice.kind,
        number=invoice.display_number,
        issue_date=local_date(invoice.issued_at, zone),
        supply_date=local_date(order.placed_at, zone)
        if invoice.kind != "credit_note"
        else None,
        order_ref=order.external_id,
        currency=invoice.currency,
        seller=seller,
        buyer=_buyer(session, order),
        lines=prices,
        tax_summary=summary,
        total_net=invoice.total - invoice.tax_total,
        total_tax=invoice.tax_total,
        total=invoice.total,
        credited_number=original.display_number if original else "",
        credited_date=local_date(original.issued_at, zone) if original else None,
        payment_note=_payment_note(order, invoice),
        amount_due=invoice.kind == "invoice" and order.payment_terms == "credit",
        books_currency=shop.currency if foreign else "",
        fx_rate=order.fx_rate if foreign else None,
        tax_in_books=convert(
            invoice.tax_total, order.fx_rate, order.currency, shop.currency
        )
        if foreign
        else None,
        books_summary=[
            TaxSummaryLine(
                name=s.name,
                rate=s.rate,
                net=convert(s.net, order.fx_rate, order.currency, shop.currency),
                tax=convert(s.tax, order.fx_rate, order.currency, shop.currency),
            )
            for s in summary
        ]
        if foreign
        else [],
        notes=tuple(notes)
        + (("Prices on the order included tax.",) if order.prices_include_tax else ()),
    )


def _payment_note(order: SalesOrder, invoice: Invoice) -> str:
    if invoice.kind == "credit_note":
        return "The amount credited is refunded to the original payment method."
    if order.payment_terms == "credit":
        return (
            "Payment on account: please pay by bank transfer quoting the invoice "
            "number."
        )
    return "Paid in full at the time of the order."


def invoice_numbers(session: Session, order_id: int) -> list[str]:
    """Return the numbers of an order's invoices and credit notes, oldest first."""
    return list(
        session.scalars(
            select(Invoice.display_number)
            .where(Invoice.order_id == order_id)
            .order_by(Invoice.id)
        )
    )
