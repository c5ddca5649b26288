"""Invoice and credit note documents: the figures, the required fields, the PDF.

The sale, on a VAT-inclusive channel with a 10 % code: 2 x MUG at 12.00 and
1 x TEA at 6.00, shipping 3.99. The code's 3.00 is shared 2.40 / 0.60. MUG
pays 21.60, of which VAT 3.60, net 18.00; TEA pays 5.40, VAT 0.90, net
4.50; shipping 3.99 includes 0.67 VAT, net 3.32. Total 30.99, VAT 5.17.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from sqlalchemy import Engine

from app.cli import main
from app.core import discounts, inventory, orders, shipments
from app.core.accounting import SellerDetails, invoice_data, save_seller
from app.core.documents import DocumentError
from app.core.documents.invoice_pdf import render_invoice_pdf
from app.core.exceptions import NotFound, ValidationError
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.returns import Grade, ReturnLineInput, authorize, inspect, request_refund
from app.core.returns import receive as receive_return
from app.core.uow import UnitOfWork
from tests.helpers import add_channel, add_sku

LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)
SELLER = SellerDetails(
    name="Teacups Ltd",
    line1="2 Mill Lane",
    city="Leeds",
    postcode="LS1 4AP",
    country="GB",
    email="hello@teacups.example",
    tax_number="GB123456789",
    company_number="01234567",
)


def at(day: int) -> datetime:
    return datetime(2026, 6, day, 12, 0, tzinfo=UTC)


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def document(engine: Engine, number: str) -> Any:
    with UnitOfWork(engine, write=False) as uow:
        return invoice_data(uow.session, number)


def sell(engine: Engine, external_id: str, **fields: Any) -> int:
    with UnitOfWork(engine) as uow:
        order_id = orders.capture(
            uow,
            OrderInput(
                channel=fields.pop("channel", "Shop"),
                external_id=external_id,
                placed_at=at(10),
                ship_to=LONDON,
                customer=CustomerInput(
                    name="Ann Smith", email="ann@example.com", tax_number="GB987654321"
                ),
                lines=fields.pop(
                    "lines", [LineInput("MUG", 2, "12.00"), LineInput("TEA", 1, "6.00")]
                ),
                shipping=fields.pop("shipping", "3.99"),
                discount_codes=fields.pop("codes", ["SAVE10"]),
                **fields,
            ),
        ).order_id
        uow.commit()
    return order_id


@pytest.fixture
def sold(shop: Engine) -> Engine:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_channel(shop, "Trade", "wholesale", payment_terms="credit")
    add_sku(shop, "MUG", title="Mug")
    add_sku(shop, "TEA", title="Breakfast tea")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "MUG", "MAIN", 10, 250, at=at(1))
        inventory.receive(uow, "TEA", "MAIN", 10, 300, at=at(1))
        discounts.create_code(uow, "SAVE10", "percent", 10)
        save_seller(uow, SELLER)
        uow.commit()
    sell(shop, "1001")
    return shop


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


# --- the figures --------------------------------------------------------------------


def test_invoice_lines_net_of_tax(sold: Engine) -> None:
    data = document(sold, "INV-000001")
    lines = [
        (ln.description, ln.quantity, ln.net, ln.rates, ln.tax) for ln in data.lines
    ]
    assert lines == [
        ("Mug", 2, 1800, (Decimal("20"),), 360),
        ("Breakfast tea", 1, 450, (Decimal("20"),), 90),
        ("Shipping", 1, 332, (Decimal("20"),), 67),
    ]
    assert data.lines[0].unit_net == Decimal(900)


def test_invoice_totals_per_rate(sold: Engine) -> None:
    data = document(sold, "INV-000001")
    assert [(s.name, s.rate, s.net, s.tax) for s in data.tax_summary] == [
        ("VAT", Decimal("20"), 2582, 517)
    ]
    assert (data.total_net, data.total_tax, data.total) == (2582, 517, 3099)


def test_invoice_parties(sold: Engine) -> None:
    data = document(sold, "inv-000001")
    assert data.seller.name == "Teacups Ltd"
    assert data.seller.address == ["2 Mill Lane", "Leeds", "LS1 4AP", "UNITED KINGDOM"]
    assert data.seller.tax_number == "GB123456789"
    assert data.buyer.name == "Ann Smith"
    assert data.buyer.tax_number == "GB987654321"
    assert (data.number, data.issue_date, data.currency) == (
        "INV-000001",
        date(2026, 6, 10),
        "GBP",
    )


def test_unknown_invoice_number(sold: Engine) -> None:
    with pytest.raises(NotFound):
        document(sold, "INV-999999")


def test_missing_seller_address_rejected(shop: Engine) -> None:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "MUG")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "MUG", "MAIN", 10, 250, at=at(1))
        uow.commit()
    sell(shop, "1001", lines=[LineInput("MUG", 1, "6.00")], codes=[])
    with pytest.raises(ValidationError) as error:
        document(shop, "INV-000001")
    assert "the shop has no address for its invoices" in str(error.value)


def test_missing_tax_number_rejected_when_taxed(shop: Engine) -> None:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "MUG")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "MUG", "MAIN", 10, 250, at=at(1))
        save_seller(
            uow, SellerDetails(name="Teacups", line1="2 Mill Lane", city="Leeds")
        )
        uow.commit()
    sell(shop, "1001", lines=[LineInput("MUG", 1, "6.00")], codes=[])
    with pytest.raises(ValidationError) as error:
        document(shop, "INV-000001")
    assert "charges tax but the shop has no tax number" in str(error.value)


def test_refund_credit_note_lines(sold: Engine) -> None:
    step(sold, shipments.ship, 1, at=at(11))
    rma = step(
        sold, authorize, 1, [ReturnLineInput(1, 1, "no_longer_needed")], at=at(12)
    )
    step(sold, receive_return, rma.reference, {1: 1}, at=at(13))
    step(sold, inspect, rma.reference, [Grade(1, "new", 1)], at=at(13))
    step(sold, request_refund, rma.reference, at=at(14))
    data = document(sold, "CN-000001")
    lines = [(ln.description, ln.quantity, ln.net, ln.tax) for ln in data.lines]
    # One MUG paid 10.80 of which 1.80 VAT.
    assert lines == [("Return: Mug", 1, 900, 180)]
    assert (data.kind, data.total, data.total_tax) == ("credit_note", 1080, 180)
    assert data.credited_number == "INV-000001"


def test_cancellation_credit_note_repeats_invoice(sold: Engine) -> None:
    step(sold, orders.cancel_order, 1, at=at(11))
    invoice = document(sold, "INV-000001")
    credit = document(sold, "CN-000001")
    assert [ln.net for ln in credit.lines] == [ln.net for ln in invoice.lines]
    assert credit.total == 3099


def test_foreign_currency_invoice_states_tax_in_books(sold: Engine) -> None:
    sell(
        sold,
        "1002",
        lines=[LineInput("MUG", 1, "10.00")],
        codes=[],
        shipping="0",
        currency="EUR",
        fx_rate=Decimal("0.85"),
    )
    data = document(sold, "INV-000002")
    # 10.00 EUR includes 1.67 VAT; at 0.85 that is 1.42 GBP (1.4195).
    assert (data.currency, data.total_tax) == ("EUR", 167)
    assert (data.books_currency, data.tax_in_books) == ("GBP", 142)
    # Net 8.33 EUR is 7.08 GBP (7.0805).
    assert [(s.rate, s.net, s.tax) for s in data.books_summary] == [
        (Decimal("20"), 708, 142)
    ]


def test_foreign_invoice_pdf_states_sterling(sold: Engine, tmp_path: Path) -> None:
    sell(
        sold,
        "1002",
        lines=[LineInput("MUG", 1, "10.00")],
        codes=[],
        shipping="0",
        currency="EUR",
        fx_rate=Decimal("0.85"),
    )
    path = tmp_path / "eur.pdf"
    render_invoice_pdf(document(sold, "INV-000002"), path)
    text = " ".join(pdf_text(path).split())
    assert "In GBP at 0.85 GBP per EUR: VAT 20 %: net £7.08, tax £1.42" in text


def test_credit_terms_invoice_is_due(sold: Engine) -> None:
    sell(sold, "T-1", channel="Trade", lines=[LineInput("TEA", 5, "4.00")], codes=[])
    assert document(sold, "INV-000002").amount_due is True
    assert document(sold, "INV-000001").amount_due is False


# --- the PDF ----------------------------------------------------------------------


def test_invoice_pdf_has_required_fields(sold: Engine, tmp_path: Path) -> None:
    path = tmp_path / "inv.pdf"
    pages = render_invoice_pdf(document(sold, "INV-000001"), path)
    text = pdf_text(path)
    assert pages == 1
    for expected in (
        "Invoice",
        "INV-000001",
        "Teacups Ltd",
        "2 Mill Lane",
        "Tax number: GB123456789",
        "Company number: 01234567",
        "Ann Smith",
        "Tax number: GB987654321",
        "20 %",
        "£25.82",
        "£5.17",
        "£30.99",
        "Currency",
        "GBP",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_credit_note_pdf_names_invoice(sold: Engine, tmp_path: Path) -> None:
    step(sold, orders.cancel_order, 1, at=at(11))
    path = tmp_path / "cn.pdf"
    render_invoice_pdf(document(sold, "CN-000001"), path)
    text = pdf_text(path)
    assert "Credit note" in text
    assert "Credits invoice" in text
    assert "INV-000001" in text
    assert "Total credited (GBP)" in text


def test_pdf_rejects_figures_that_do_not_add_up(sold: Engine, tmp_path: Path) -> None:
    from dataclasses import replace

    data = replace(document(sold, "INV-000001"), total_tax=500)
    with pytest.raises(DocumentError) as error:
        render_invoice_pdf(data, tmp_path / "bad.pdf")
    assert "net 2582 plus tax 500 is not the total 3099" in str(error.value)


def test_cli_invoice_print(sold: Engine, tmp_path: Path, capsys: Any) -> None:
    target = tmp_path / "inv.pdf"
    code = main(
        ["invoice", "print", "INV-000001", "-o", str(target), "--db",
         str(sold.url.database)]
    )  # fmt: skip
    assert code == 0
    assert target.read_bytes().startswith(b"%PDF")
    assert "Wrote INV-000001" in capsys.readouterr().out


def test_cli_invoice_seller_sets_tax_number(shop: Engine, capsys: Any) -> None:
    code = main(
        ["invoice", "seller", "--db", str(shop.url.database), "--tax-number",
         "GB555", "--line1", "1 Quay", "--city", "Hull", "--json"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert '"tax_number": "GB555"' in out
    assert '"line1": "1 Quay"' in out
