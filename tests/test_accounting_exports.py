"""Ledger exports of a real shop, read back and compared with the trial balance.

The shop, built once for this module, has sales on three channels with a
10 % discount code and VAT both included and added. It has a return
refunded through the channel, a cancelled order with its credit note, a
Stripe payout with fees, an order in euros and a sale on credit terms. May
is closed, and a July sale lies outside the June export. Formula-like text
in customer, channel, product, account and entry names rides along.

Every format is parsed back into (date, account code, signed amount) and
summed: the entries dated in the export's dates equal the trial balance of
those dates to the cent, and with the opening entry the balance-sheet
accounts equal their balances at the end date.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.cli import main
from app.core import db, discounts, inventory, ledger, orders, setup, shipments
from app.core.accounting import Month, close_month, export_ledger, import_payouts
from app.core.accounting.export import build_export_ledger
from app.core.accounting.payout_formats import read_stripe_csv
from app.core.catalog import VariantInput, create_product
from app.core.ledger import Posting
from app.core.models import Account, JournalEntry
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.reports import balances
from app.core.returns import (
    Grade,
    ReturnLineInput,
    authorize,
    inspect,
    pay_refund,
    request_refund,
)
from app.core.returns import receive as receive_return
from app.core.setup import ShopSettings, create_shop
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork

JUNE_FROM, JUNE_TO = date(2026, 6, 1), date(2026, 6, 30)
FORMATS = ("csv", "iif", "qbo-csv", "xero-csv", "beancount", "hledger")
HOSTILE = (
    '=HYPERLINK("http://evil.example","x")',
    "+SUM(1,2)",
    "-2+3",
    "@cmd",
    "\tTabbed",
)
TRADE = '=Trade "B2B"'
LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def at(day: int, month: int = 6, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def _sell(
    engine: Engine,
    external_id: str,
    channel: str,
    lines: list[LineInput],
    *,
    placed: datetime,
    shipped: datetime | None,
    customer: str = "Ann Smith",
    **extra: Any,
) -> int:
    with UnitOfWork(engine) as uow:
        order_id = orders.capture(
            uow,
            OrderInput(
                channel=channel,
                external_id=external_id,
                placed_at=placed,
                ship_to=replace(LONDON, name=customer),
                customer=CustomerInput(
                    name=customer, email=f"{external_id}@example.com"
                ),
                lines=lines,
                **extra,
            ),
        ).order_id
        uow.commit()
    if shipped is not None:
        step(
            engine,
            shipments.ship,
            order_id,
            at=shipped,
            info=ShipmentInfo(carrier="Royal Mail", label_cost=350),
        )
    return order_id


def build_shop(path: Path, stripe_dir: Path) -> Engine:
    engine = db.make_engine(path)
    create_shop(engine, ShopSettings(name="Teacups & Co"))
    with UnitOfWork(engine) as uow:
        setup.add_channel(uow, "Shop", "shopify", prices_include_tax=True)
        setup.add_channel(uow, "Web", "woocommerce")
        setup.add_channel(uow, TRADE, "wholesale", payment_terms="credit")
        create_product(uow, "Mug", [VariantInput("MUG")])
        create_product(uow, HOSTILE[3], [VariantInput("TEA")])
        discounts.create_code(uow, "SAVE10", "percent", 10)
        ledger.rename_account(uow, "6100", HOSTILE[3] + " marketplace fees")
        uow.commit()
    with UnitOfWork(engine) as uow:
        inventory.receive(uow, "MUG", "MAIN", 100, 250, at=at(1, 5, 8))
        inventory.receive(uow, "TEA", "MAIN", 100, 300, at=at(1, 5, 8))
        uow.commit()

    # May: one sale, then the month is closed.
    _sell(engine, "M-1", "Shop", [LineInput("MUG", 2, "6.00")], placed=at(20, 5),
          shipped=at(21, 5))  # fmt: skip
    with UnitOfWork(engine) as uow:
        outcome = close_month(uow, Month(2026, 5), now=at(2))
        if not outcome.closed:
            close_month(uow, Month(2026, 5), force_reason="test shop", now=at(2))
        uow.commit()

    # June.
    with UnitOfWork(engine) as uow:
        ledger.post(
            uow,
            occurred_at=at(2),
            kind="manual",
            description=HOSTILE[0],
            postings=[
                Posting("1000", debit=100_000, memo=HOSTILE[2]),
                Posting("3000", credit=100_000, memo=HOSTILE[2]),
            ],
        )
        uow.commit()
    first = _sell(
        engine,
        "1001",
        "Shop",
        [LineInput("MUG", 2, "12.00"), LineInput("TEA", 1, "6.00")],
        placed=at(10),
        shipped=at(11),
        shipping="3.99",
        discount_codes=["SAVE10"],
        customer=HOSTILE[0],
    )
    _sell(engine, "1002", "Web", [LineInput("TEA", 1, "8.00")], placed=at(11),
          shipped=at(12), shipping="2.50", customer=HOSTILE[1])  # fmt: skip
    _sell(engine, "1003", "Shop", [LineInput("MUG", 1, "10.00")], placed=at(12),
          shipped=at(13), currency="EUR", fx_rate=Decimal("0.85"),
          customer=HOSTILE[2])  # fmt: skip
    cancelled = _sell(engine, "1004", "Web", [LineInput("MUG", 3, "7.00")],
                      placed=at(14), shipped=None, customer=HOSTILE[4])  # fmt: skip
    step(
        engine,
        orders.cancel_order,
        cancelled,
        reason="customer changed mind",
        at=at(15),
    )
    _sell(engine, "1005", TRADE, [LineInput("TEA", 5, "4.00")], placed=at(19),
          shipped=at(20), customer=HOSTILE[1])  # fmt: skip

    # A return of one MUG from 1001, refunded through the channel.
    rma = step(engine, authorize, first, [ReturnLineInput(1, 1, "no_longer_needed")],
               at=at(16))  # fmt: skip
    step(engine, receive_return, rma.reference, {1: 1}, at=at(17))
    step(engine, inspect, rma.reference, [Grade(1, "new", 1)], at=at(17))
    refund = step(engine, request_refund, rma.reference, at=at(18))
    step(engine, pay_refund, refund.refund_id, "channel", at=at(18))

    # A Stripe payout for the Shop channel.
    stripe = stripe_dir / "stripe.csv"
    stripe.write_text(
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
        "reporting_category,description\n"
        "txn_1,2026-06-10 12:00:00,,gbp,30.99,0.85,30.14,charge,Order 1001\n"
        "txn_2,2026-06-18 12:00:00,,gbp,-10.80,0.00,-10.80,refund,Refund 1001\n"
        "po_1,2026-06-25 09:00:00,,gbp,-19.34,0.00,-19.34,payout,STRIPE PAYOUT\n",
        encoding="utf-8",
    )
    step(engine, import_payouts, "Shop", read_stripe_csv(stripe))

    # July, outside the June export.
    _sell(engine, "1006", "Web", [LineInput("MUG", 1, "9.00")], placed=at(2, 7),
          shipped=at(3, 7))  # fmt: skip
    return engine


@pytest.fixture(scope="module")
def rich_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("rich")
    engine = build_shop(folder / "shop.sqlite", folder)
    yield engine
    engine.dispose()


# --- reading the files back --------------------------------------------------


Row = tuple[date, str, int]


def cents(text: str) -> int:
    value = Decimal(text.strip() or "0")
    return int(value * 100)


def chart(engine: Engine) -> dict[str, str]:
    """Return account name -> code."""
    with UnitOfWork(engine, write=False) as uow:
        return dict(uow.session.execute(select(Account.name, Account.code)).all())


def read_gl_csv(path: Path, engine: Engine) -> list[Row]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return [
            (
                date.fromisoformat(r["Date"]),
                r["Account code"],
                cents(r["Debit"]) - cents(r["Credit"]),
            )
            for r in csv.DictReader(stream)
        ]


def _us_date(text: str) -> date:
    month, day, year = (int(p) for p in text.split("/"))
    return date(year, month, day)


def _unquote(text: str) -> str:
    return text[1:-1] if text.startswith('"') and text.endswith('"') else text


def read_iif(path: Path, engine: Engine) -> list[Row]:
    names = chart(engine)
    text = path.read_bytes().decode("cp1252")
    rows: list[Row] = []
    for line in text.split("\r\n"):
        cells = line.split("\t")
        if cells[0] in ("TRNS", "SPL"):
            name = _unquote(cells[4])
            rows.append((_us_date(cells[3]), names[name], cents(cells[7])))
    return rows


def _account_code(names: dict[str, str], cell: str) -> str:
    """Return the code of an account name as a CSV cell shows it.

    A name starting with a formula character comes back with the quote the
    Excel-safe writer put in front of it.
    """
    return names[cell] if cell in names else names[cell.removeprefix("'")]


def read_qbo(path: Path, engine: Engine) -> list[Row]:
    names = chart(engine)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return [
            (
                _us_date(r["Journal Date"]),
                _account_code(names, r["Account Name"]),
                cents(r["Debits"]) - cents(r["Credits"]),
            )
            for r in csv.DictReader(stream)
        ]


def read_xero(paths: list[Path], engine: Engine) -> list[Row]:
    rows: list[Row] = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for r in csv.DictReader(stream):
                day = datetime.strptime(r["*Date"], "%d %b %Y").date()
                rows.append((day, r["*AccountCode"], cents(r["*Amount"])))
    return rows


def _code_of_ledger_account(name: str) -> str:
    """Return "1000" from "Assets:A1000-Bank"."""
    return name.split(":", 1)[1].split("-", 1)[0][1:]


def read_beancount(path: Path, engine: Engine) -> list[Row]:
    from beancount import loader
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    return [
        (entry.date, _code_of_ledger_account(p.account), cents(str(p.units.number)))
        for entry in entries
        if isinstance(entry, data.Transaction)
        for p in entry.postings
    ]


def read_hledger(path: Path, engine: Engine) -> list[Row]:
    result = subprocess.run(
        ["hledger", "-f", str(path), "register", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for r in csv.DictReader(io.StringIO(result.stdout)):
        amount = r["amount"].replace("GBP", "").strip()
        rows.append(
            (date.fromisoformat(r["date"]), _code_of_ledger_account(r["account"]),
             cents(amount))
        )  # fmt: skip
    return rows


@dataclass
class Exported:
    paths: list[Path]
    rows: list[Row]


def export(engine: Engine, fmt: str, target: Path, **kwargs: Any) -> Exported:
    with UnitOfWork(engine, write=False) as uow:
        result = export_ledger(uow.session, fmt, target, **kwargs)
    paths = list(result.paths)
    readers: dict[str, Callable[..., list[Row]]] = {
        "csv": read_gl_csv,
        "iif": read_iif,
        "qbo-csv": read_qbo,
        "beancount": read_beancount,
        "hledger": read_hledger,
    }
    rows = (
        read_xero(paths, engine)
        if fmt == "xero-csv"
        else readers[fmt](paths[0], engine)
    )
    return Exported(paths, rows)


def sums(rows: list[Row], start: date | None = None) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for day, code, amount in rows:
        if start is None or day >= start:
            totals[code] += amount
    return {k: v for k, v in totals.items() if v}


def trial(engine: Engine, start: date | None, end: date | None) -> dict[str, int]:
    with UnitOfWork(engine, write=False) as uow:
        rows = balances(uow.session, date_from=start, date_to=end)
    return {
        r.code: r.debit_total - r.credit_total
        for r in rows
        if r.debit_total != r.credit_total
    }


def closing_balances(engine: Engine, start: date, end: date) -> dict[str, int]:
    """Balances the opening entry plus the period give each account at ``end``."""
    with UnitOfWork(engine, write=False) as uow:
        before = balances(uow.session, date_to=start - timedelta(days=1))
        rows = {r.code: r for r in balances(uow.session, date_to=end)}
    result = trial(engine, start, end)
    carried = sum(
        r.debit_total - r.credit_total
        for r in before
        if r.type in ("income", "expense")
    )
    for code, row in rows.items():
        if row.type in ("asset", "liability", "equity"):
            result[code] = row.debit_total - row.credit_total
    result["3200"] = result.get("3200", 0) + carried
    return {k: v for k, v in result.items() if v}


# --- the shop itself -----------------------------------------------------------


def test_shop_has_every_kind_of_entry(rich_shop: Engine) -> None:
    with UnitOfWork(rich_shop, write=False) as uow:
        kinds = set(uow.session.scalars(select(JournalEntry.kind)))
    assert kinds >= {
        "order",
        "shipment",
        "reversal",
        "return.refund",
        "return.refund_paid",
        "return.receipt",
        "payout",
        "manual",
        "receipt.purchase",
    }


# --- every format against the trial balance -----------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_period_export_equals_trial_balance(
    rich_shop: Engine, tmp_path: Path, fmt: str
) -> None:
    out = export(
        rich_shop, fmt, tmp_path / "june", date_from=JUNE_FROM, date_to=JUNE_TO
    )
    assert sums(out.rows, JUNE_FROM) == trial(rich_shop, JUNE_FROM, JUNE_TO)


@pytest.mark.parametrize("fmt", FORMATS)
def test_opening_entry_brings_balances_forward(
    rich_shop: Engine, tmp_path: Path, fmt: str
) -> None:
    out = export(
        rich_shop, fmt, tmp_path / "june", date_from=JUNE_FROM, date_to=JUNE_TO
    )
    opening_days = {day for day, _, _ in out.rows if day < JUNE_FROM}
    assert opening_days == {date(2026, 5, 31)}
    assert sums(out.rows) == closing_balances(rich_shop, JUNE_FROM, JUNE_TO)


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_export_equals_trial_balance(
    rich_shop: Engine, tmp_path: Path, fmt: str
) -> None:
    out = export(rich_shop, fmt, tmp_path / "all")
    assert sums(out.rows) == trial(rich_shop, None, None)


def test_export_without_opening_entry(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(
        rich_shop,
        "csv",
        tmp_path / "june.csv",
        date_from=JUNE_FROM,
        date_to=JUNE_TO,
        opening_balances=False,
    )
    assert min(day for day, _, _ in out.rows) >= JUNE_FROM
    assert sums(out.rows) == trial(rich_shop, JUNE_FROM, JUNE_TO)


def bean_check() -> Path:
    path = Path(sys.executable).parent / "bean-check"
    if not path.exists():
        pytest.skip(f"bean-check is not installed next to {sys.executable}")
    return path


def test_beancount_passes_bean_check(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(
        rich_shop, "beancount", tmp_path / "june.beancount", date_from=JUNE_FROM
    )
    result = subprocess.run(
        [str(bean_check()), str(out.paths[0])], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_beancount_keeps_foreign_amount(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "beancount", tmp_path / "all.beancount")
    text = out.paths[0].read_text(encoding="utf-8")
    # Order 1003: 10.00 EUR including 1.67 VAT, at 0.85: 8.50 GBP to 1100.
    assert "fx_amount: 10.00 EUR" in text


def test_hledger_check_strict(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "hledger", tmp_path / "june.journal", date_from=JUNE_FROM)
    result = subprocess.run(
        ["hledger", "-f", str(out.paths[0]), "check", "--strict"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_hledger_balance_totals_zero(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "hledger", tmp_path / "all.journal")
    result = subprocess.run(
        ["hledger", "-f", str(out.paths[0]), "balance", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    [total] = [r for r in csv.reader(io.StringIO(result.stdout)) if r[0] == "total"]
    assert total[1] in ("0", "0 GBP", "0.00 GBP")


def test_hledger_balance_per_account(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "hledger", tmp_path / "all.journal")
    result = subprocess.run(
        ["hledger", "-f", str(out.paths[0]), "balance", "--flat", "-N", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    found = {
        _code_of_ledger_account(r["account"]): cents(r["balance"].replace("GBP", ""))
        for r in rows
    }
    assert {k: v for k, v in found.items() if v} == trial(rich_shop, None, None)


def test_xero_parts_have_at_most_300_lines(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "xero-csv", tmp_path / "xero")
    for path in out.paths:
        with path.open(encoding="utf-8-sig") as stream:
            assert sum(1 for _ in stream) - 1 <= 300


def test_export_streams_entries(rich_shop: Engine) -> None:
    with UnitOfWork(rich_shop, write=False) as uow:
        ledger_data = build_export_ledger(uow.session, JUNE_FROM, JUNE_TO)
        assert isinstance(ledger_data.entries, Iterator)
        first = next(iter(ledger_data.entries))
    assert first.number == "OB-2026-05-31"


def test_export_rejects_reversed_dates(rich_shop: Engine, tmp_path: Path) -> None:
    from app.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        export(
            rich_shop, "csv", tmp_path / "x.csv", date_from=JUNE_TO, date_to=JUNE_FROM
        )


# --- hostile text ---------------------------------------------------------------


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(paths: list[Path], numeric: set[str]) -> list[tuple[str, str]]:
    cells = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                cells += [(k, v) for k, v in row.items() if k not in numeric]
    return cells


@pytest.mark.parametrize(
    ("fmt", "numeric"),
    [
        ("csv", {"Debit", "Credit", "Tax rate", "FX amount"}),
        ("qbo-csv", {"Debits", "Credits"}),
        ("xero-csv", {"*Amount"}),
    ],
)
def test_csv_exports_neutralise_hostile_text(
    rich_shop: Engine, tmp_path: Path, fmt: str, numeric: set[str]
) -> None:
    out = export(rich_shop, fmt, tmp_path / "all.csv")
    text_cells = _csv_cells(out.paths, numeric)
    dangerous = [(k, v) for k, v in text_cells if v.startswith(FORMULA_START)]
    neutralised = [
        v for _, v in text_cells if v[:1] == "'" and v[1:].startswith(FORMULA_START)
    ]
    assert dangerous == []
    assert neutralised


def test_report_csv_neutralises_hostile_text(rich_shop: Engine, tmp_path: Path) -> None:
    path = str(rich_shop.url.database)
    paths = []
    for name in ("general-ledger", "stock", "channel-profitability", "trial-balance"):
        target = tmp_path / f"{name}.csv"
        assert (
            main(["report", name, "--format", "csv", "-o", str(target), "--db", path])
            == 0
        )
        paths.append(target)
    numeric = {
        "Debit", "Credit", "Balance", "Entry", "On hand", "Unit cost", "Value",
        "Net revenue", "Returns", "COGS", "Gross profit", "Fees", "Shipping",
        "Other", "Contribution", "Margin %",
    }  # fmt: skip
    cells = _csv_cells(paths, numeric)
    assert [v for _, v in cells if v.startswith(FORMULA_START)] == []
    assert "'" + TRADE in {v for _, v in cells}


def test_csv_export_has_bom_and_dot_decimals(rich_shop: Engine, tmp_path: Path) -> None:
    out = export(rich_shop, "csv", tmp_path / "all.csv")
    raw = out.paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"1,000.00" not in raw
    assert b"1000.00" in raw


# --- command line ----------------------------------------------------------------


def test_cli_export_ledger(rich_shop: Engine, tmp_path: Path, capsys: Any) -> None:
    import json

    target = tmp_path / "june.beancount"
    code = main(
        [
            "export", "ledger", "--format", "beancount", "--from", "2026-06-01",
            "--to", "2026-06-30", "-o", str(target), "--db",
            str(rich_shop.url.database), "--json",
        ]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["opening_entry"] is True
    assert data["files"] == [str(target)]
    assert (data["from"], data["to"]) == ("2026-06-01", "2026-06-30")


# --- the imported Online Retail year -----------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_online_retail_year_exports_balance(
    imported: Any, tmp_path: Path, fmt: str
) -> None:
    engine = imported.engine
    start, end = date(2011, 1, 1), date(2011, 12, 31)
    out = export(engine, fmt, tmp_path / "year", date_from=start, date_to=end)
    assert sums(out.rows, start) == trial(engine, start, end)
    assert sum(amount for _, _, amount in out.rows) == 0
