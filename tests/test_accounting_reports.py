"""Reports beyond the trial balance: sales tax, stock, general ledger, channel
profitability, and every report as text, JSON, CSV and PDF.

Worked example, all GB VAT at 20 %:

* 1001 on Shop (VAT included): 2 x MUG at 6.00 and shipping 3.99; VAT 200 on
  the goods and 67 on shipping. MUG costs 250; the label 4.50.
* 1002 on Web (VAT added): 1 x TEA at 8.00 and shipping 2.50; VAT 160 + 50.
* T-1 on Web: the channel charged 1.99 VAT on 9.99 where the rules give 2.00,
  so 0.01 is a channel tax difference.
* 1004 on Web: 1 x TEA at 8.00 (VAT 160), cancelled.
* 1003 on Shop in EUR at 0.85: 10.00 EUR including 1.67 VAT, 1.42 GBP.
* One MUG of 1001 comes back: 6.00 refunded, of which 1.00 VAT.

Charged 267 + 210 + 199 + 160 + 142 = 978, refunded 100 + 160 = 260,
adjusted +1: owed 719, which is what 2200 Sales tax payable moved.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from sqlalchemy import Engine

from app.cli import main
from app.core import db, inventory, orders, setup, shipments
from app.core.accounting import (
    channel_profitability,
    general_ledger,
    import_payouts,
    inventory_valuation,
    report_table,
    sales_tax,
    write_report_csv,
)
from app.core.accounting.payout_formats import read_stripe_csv
from app.core.accounting.tables import group_digits, render_text
from app.core.catalog import VariantInput, create_product
from app.core.documents.report_pdf import render_report_pdf
from app.core.order_input import (
    Address,
    ChannelTax,
    CustomerInput,
    LineInput,
    OrderInput,
)
from app.core.reports import balances, profit_loss, trial_balance
from app.core.returns import Grade, ReturnLineInput, authorize, inspect, request_refund
from app.core.returns import receive as receive_return
from app.core.setup import ShopSettings, create_shop
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork

LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def at(day: int, month: int = 6) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def read(engine: Engine, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine, write=False) as uow:
        return query(uow.session, *args, **kwargs)


def capture(engine: Engine, **fields: Any) -> int:
    fields.setdefault("ship_to", LONDON)
    fields.setdefault(
        "customer", CustomerInput(name="Ann Smith", email="a@example.com")
    )
    with UnitOfWork(engine) as uow:
        order_id = orders.capture(uow, OrderInput(**fields)).order_id
        uow.commit()
    return order_id


def ship(engine: Engine, order_id: int, day: int, label_cost: int | None = 450) -> None:
    step(
        engine,
        shipments.ship,
        order_id,
        at=at(day),
        info=ShipmentInfo(carrier="Royal Mail", label_cost=label_cost),
    )


@pytest.fixture(scope="module")
def tax_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("reports")
    engine = db.make_engine(folder / "shop.sqlite")
    create_shop(engine, ShopSettings(name="Teacups"))
    with UnitOfWork(engine) as uow:
        setup.add_channel(uow, "Shop", "shopify", prices_include_tax=True)
        setup.add_channel(uow, "Web", "woocommerce")
        create_product(uow, "Mug", [VariantInput("MUG", title="Mug")])
        create_product(uow, "Tea", [VariantInput("TEA", title="Tea")])
        uow.commit()
    with UnitOfWork(engine) as uow:
        inventory.receive(uow, "MUG", "MAIN", 10, 250, at=at(1))
        inventory.receive(uow, "TEA", "MAIN", 10, 300, at=at(1))
        uow.commit()
    first = capture(
        engine,
        channel="Shop",
        external_id="1001",
        placed_at=at(10),
        lines=[LineInput("MUG", 2, "6.00")],
        shipping="3.99",
    )
    ship(engine, first, 11)
    web = capture(
        engine,
        channel="Web",
        external_id="1002",
        placed_at=at(11),
        lines=[LineInput("TEA", 1, "8.00")],
        shipping="2.50",
    )
    ship(engine, web, 12)
    capture(
        engine,
        channel="Web",
        external_id="T-1",
        placed_at=at(12),
        lines=[
            LineInput(
                "MUG", 1, "9.99", channel_tax=(ChannelTax("VAT", Decimal("20"), 199),)
            )
        ],
    )
    cancelled = capture(
        engine,
        channel="Web",
        external_id="1004",
        placed_at=at(13),
        lines=[LineInput("TEA", 1, "8.00")],
    )
    step(engine, orders.cancel_order, cancelled, at=at(14))
    euro = capture(
        engine,
        channel="Shop",
        external_id="1003",
        placed_at=at(15),
        lines=[LineInput("MUG", 1, "10.00")],
        currency="EUR",
        fx_rate=Decimal("0.85"),
    )
    ship(engine, euro, 16)
    rma = step(
        engine, authorize, first, [ReturnLineInput(1, 1, "no_longer_needed")], at=at(17)
    )
    step(engine, receive_return, rma.reference, {1: 1}, at=at(18))
    step(engine, inspect, rma.reference, [Grade(1, "new", 1)], at=at(18))
    step(engine, request_refund, rma.reference, at=at(19))
    stripe = folder / "stripe.csv"
    stripe.write_text(
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
        "reporting_category,description\n"
        "txn_1,2026-06-10 12:00:00,,gbp,15.99,0.53,15.46,charge,Order 1001\n"
        "po_1,2026-06-20 09:00:00,,gbp,-15.46,0.00,-15.46,payout,STRIPE PAYOUT\n",
        encoding="utf-8",
    )
    step(engine, import_payouts, "Shop", read_stripe_csv(stripe))
    yield engine
    engine.dispose()


# --- sales tax ------------------------------------------------------------------


def test_sales_tax_by_jurisdiction(tax_shop: Engine) -> None:
    report = read(tax_shop, sales_tax)
    rows = [
        (r.country, r.region, r.name, r.rate, r.charged, r.refunded, r.adjustments)
        for r in report.rows
    ]
    assert rows == [
        ("GB", None, "VAT", Decimal("20"), 978, 260, 0),
        ("GB", None, "channel tax difference", None, 0, 0, 1),
    ]
    assert report.total_owed == 719


def test_sales_tax_owed_equals_account_2200(tax_shop: Engine) -> None:
    report = read(tax_shop, sales_tax, date_from=date(2026, 6, 1))
    rows = {r.code: r for r in read(tax_shop, balances, date_from=date(2026, 6, 1))}
    assert report.total_owed == rows["2200"].credit_total - rows["2200"].debit_total


def test_sales_tax_dates_leave_out_later_entries(tax_shop: Engine) -> None:
    report = read(tax_shop, sales_tax, date_to=date(2026, 6, 11))
    # Only 1001 (267) and 1002 (210) were captured by 11 June.
    assert (report.total_charged, report.total_refunded) == (477, 0)


def test_sales_tax_json(tax_shop: Engine) -> None:
    data = read(tax_shop, sales_tax).to_json()
    assert data["jurisdictions"][0] == {
        "country": "GB",
        "region": None,
        "name": "VAT",
        "rate": "20",
        "charged": "9.78",
        "refunded": "2.60",
        "adjustments": "0.00",
        "owed": "7.18",
    }
    assert data["total_owed"] == "7.19"


# --- stock --------------------------------------------------------------------------


def test_stock_valuation_equals_inventory_account(tax_shop: Engine) -> None:
    report = read(tax_shop, inventory_valuation)
    rows = {r.code: r for r in read(tax_shop, balances)}
    assert report.total_value == rows["1200"].debit_total - rows["1200"].credit_total


def test_stock_valuation_rows(tax_shop: Engine) -> None:
    report = read(tax_shop, inventory_valuation)
    rows = [(r.sku, r.warehouse, r.quantity, r.value) for r in report.rows]
    # MUG: 10 in, 2 + 1 shipped, 1 back into quarantine at 250.
    assert rows == [
        ("MUG", "MAIN", 7, 1750),
        ("MUG", "QUARANTINE", 1, 250),
        ("TEA", "MAIN", 9, 2700),
    ]


def test_stock_valuation_at_earlier_date(tax_shop: Engine) -> None:
    report = read(tax_shop, inventory_valuation, as_of=date(2026, 6, 11))
    rows = [(r.sku, r.quantity, r.value) for r in report.rows]
    assert rows == [("MUG", 8, 2000), ("TEA", 10, 3000)]


# --- channel profitability --------------------------------------------------------


def test_channel_contributions_add_up_to_net_profit(tax_shop: Engine) -> None:
    report = read(tax_shop, channel_profitability)
    pl = read(tax_shop, profit_loss)
    assert report.total_contribution == pl.net_profit


def test_channel_profit_figures(tax_shop: Engine) -> None:
    report = read(tax_shop, channel_profitability)
    shop = {c.channel: c for c in report.channels}["Shop"]
    # Sales: 1001 nets 1000; 1003 nets 8.33 EUR (10.00 less 1.67 VAT), 7.08 GBP.
    # COGS: three MUG shipped (750) less the one back in quarantine (250).
    # Costs: the payout fee 0.53 and two labels of 4.50.
    assert (shop.sales, shop.shipping_income, shop.returns) == (1708, 332, 500)
    assert (shop.cost_of_goods, shop.fees, shop.shipping_cost) == (500, 53, 900)
    assert shop.contribution == 87


# --- general ledger --------------------------------------------------------------


def test_general_ledger_running_balance(tax_shop: Engine) -> None:
    report = read(
        tax_shop,
        general_ledger,
        date_from=date(2026, 6, 20),
        accounts=["1100"],
    )
    [account] = report.accounts
    assert account.code == "1100"
    assert account.lines[-1].balance == account.closing
    assert (
        account.closing == account.opening + account.debit_total - account.credit_total
    )


def test_general_ledger_opening_from_earlier_lines(tax_shop: Engine) -> None:
    report = read(
        tax_shop, general_ledger, date_from=date(2026, 6, 2), accounts=["1200"]
    )
    [account] = report.accounts
    assert account.opening == 5500


# --- output formats -----------------------------------------------------------------


def test_group_digits() -> None:
    assert group_digits("-1234567.50") == "-1,234,567.50"
    assert group_digits("12.00") == "12.00"


def test_report_csv_plain_decimals(tax_shop: Engine, tmp_path: Path) -> None:
    table = report_table(read(tax_shop, sales_tax), "Teacups")
    path = write_report_csv(table, tmp_path / "tax.csv")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "Country", "Region", "Tax", "Rate %", "Charged", "Refunded", "Adjustments",
        "Owed",
    ]  # fmt: skip
    assert rows[1] == ["GB", "", "VAT", "20", "9.78", "2.60", "0.00", "7.18"]
    assert rows[-1] == ["", "", "Total", "", "9.78", "2.60", "0.01", "7.19"]


def pdf_text(path: Path) -> list[str]:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def test_report_pdf_names_shop_period_and_pages(
    tax_shop: Engine, tmp_path: Path
) -> None:
    report = read(
        tax_shop, profit_loss, date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)
    )
    path = tmp_path / "pl.pdf"
    pages = render_report_pdf(report_table(report, "Teacups"), path)
    [text] = pdf_text(path)
    assert pages == 1
    assert "Profit and loss" in text
    assert "Teacups" in text
    assert "2026-06-01 to 2026-06-30" in text
    assert "Page 1 of 1" in text
    assert "Gross margin" in text


def test_long_report_pdf_numbers_every_page(tax_shop: Engine, tmp_path: Path) -> None:
    path = tmp_path / "gl.pdf"
    pages = render_report_pdf(
        report_table(read(tax_shop, general_ledger), "Teacups"), path
    )
    texts = pdf_text(path)
    assert pages == len(texts)
    assert pages > 1
    assert f"Page {pages} of {pages}" in texts[-1]


def test_text_report_aligns_columns(tax_shop: Engine) -> None:
    text = render_text(report_table(read(tax_shop, trial_balance), "Teacups"))
    lines = text.splitlines()
    assert lines[0] == "Trial balance: Teacups, as of today (GBP)"
    assert lines[1].split() == ["Code", "Account", "Debit", "Credit"]


# --- command line -----------------------------------------------------------------


def cli(capsys: Any, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_cli_old_report_json_unchanged(tax_shop: Engine, capsys: Any) -> None:
    path = str(tax_shop.url.database)
    code, out = cli(capsys, "report", "trial-balance", "--db", path, "--json")
    data = json.loads(out)
    expected = read(tax_shop, trial_balance).to_json()
    assert code == 0
    assert data == expected


def test_cli_format_json_same_as_json_flag(tax_shop: Engine, capsys: Any) -> None:
    path = str(tax_shop.url.database)
    _, flag = cli(capsys, "report", "profit-loss", "--db", path, "--json")
    _, option = cli(capsys, "report", "profit-loss", "--db", path, "--format", "json")
    assert json.loads(flag) == json.loads(option)


@pytest.mark.parametrize(
    "name", ["sales-tax", "stock", "general-ledger", "channel-profitability"]
)
def test_cli_new_reports_json(tax_shop: Engine, capsys: Any, name: str) -> None:
    code, out = cli(
        capsys, "report", name, "--db", str(tax_shop.url.database), "--json"
    )
    assert code == 0
    assert json.loads(out)["report"] == name


@pytest.mark.parametrize(
    "name",
    ["trial-balance", "profit-loss", "balance-sheet", "sales-tax", "stock",
     "general-ledger", "channel-profitability"],
)  # fmt: skip
def test_cli_reports_as_pdf(
    tax_shop: Engine, tmp_path: Path, capsys: Any, name: str
) -> None:
    target = tmp_path / f"{name}.pdf"
    code, _ = cli(
        capsys, "report", name, "--db", str(tax_shop.url.database), "--format", "pdf",
        "-o", str(target),
    )  # fmt: skip
    assert code == 0
    assert target.read_bytes().startswith(b"%PDF")


def test_cli_csv_needs_output(tax_shop: Engine, capsys: Any) -> None:
    code = main(
        ["report", "stock", "--db", str(tax_shop.url.database), "--format", "csv"]
    )
    assert code == 2
    assert "name it with -o FILE" in capsys.readouterr().err


def test_cli_stock_text(tax_shop: Engine, capsys: Any) -> None:
    code, out = cli(capsys, "report", "stock", "--db", str(tax_shop.url.database))
    assert code == 0
    assert out.splitlines()[-2].split()[:3] == ["Total", "17", "47.00"]


# --- month totals ---------------------------------------------------------------

RANGES = [
    (None, None),
    (date(2026, 6, 1), date(2026, 6, 30)),
    (date(2026, 6, 10), date(2026, 6, 20)),
    (date(2026, 5, 15), date(2026, 6, 12)),
    (date(2026, 6, 2), None),
    (None, date(2026, 6, 11)),
    (date(2026, 7, 1), date(2026, 7, 31)),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_month_totals_match_journal(
    tax_shop: Engine, start: date | None, end: date | None
) -> None:
    from app.core.accounting.totals import month_balances
    from app.core.reports import CLOSING_KINDS, _journal_sums

    with UnitOfWork(tax_shop, write=False) as uow:
        for channel_id in (None, 3):
            for kinds in ((), CLOSING_KINDS):
                fast = month_balances(
                    uow.session,
                    date_from=start,
                    date_to=end,
                    channel_id=channel_id,
                    exclude_kinds=kinds,
                )
                exact = _journal_sums(uow.session, start, end, channel_id, kinds)
                assert fast == {k: v for k, v in exact.items() if v != (0, 0)}


def test_short_month_totals_fall_back_to_journal(shop: Engine) -> None:
    from sqlalchemy import delete

    from app.core.accounting.totals import complete, rebuild_month_totals
    from app.core.models.accounting import LedgerMonthTotal

    with UnitOfWork(shop) as uow:
        create_product(uow, "Mug", [VariantInput("MUG")])
        uow.commit()
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "MUG", "MAIN", 3, 250, at=at(1))
        uow.commit()
    before = {r.code: r.debit_total for r in read(shop, balances)}
    with UnitOfWork(shop) as uow:
        uow.session.execute(delete(LedgerMonthTotal))
        uow.commit()
    short = read(shop, complete)
    after = {r.code: r.debit_total for r in read(shop, balances)}
    with UnitOfWork(shop) as uow:
        rows = rebuild_month_totals(uow.session)
        uow.commit()
    assert short is False
    assert after == before
    assert before["1200"] == 750
    assert rows == 2
    assert read(shop, complete) is True
