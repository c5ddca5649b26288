"""Ledger export writers: each file is written, parsed back and balanced.

Every test builds the same small shop ledger from a one-shot generator: sales
with tax, a discount, a return, fees, foreign-currency orders, a payout and
hostile text. It writes one format and reads it back with the tool or parser
an accountant would use.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.exports import (
    WRITERS,
    ExportAccount,
    ExportEntry,
    ExportError,
    ExportLedger,
    ExportLine,
    write_beancount,
    write_gl_csv,
    write_hledger,
    write_iif,
    write_qbo,
    write_xero,
)
from app.core.exports.beancount import LedgerAccountNames, account_component
from app.core.exports.csvsafe import SafeCsvWriter, neutralize
from app.core.exports.model import format_minor_units

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
IIF_SAMPLES = SHARED_DATA / "accounting" / "quickbooks_iif_gnucash_examples"

BANK = ExportAccount("1000", "Bank", "asset", False)
CLEARING = ExportAccount("1100", "Channel clearing", "asset", False)
RECEIVABLE = ExportAccount("1110", "Accounts receivable", "asset", False)
INVENTORY = ExportAccount("1200", "Inventory", "asset", False)
PAYABLE = ExportAccount("2000", "Accounts payable", "liability", False)
SALES_TAX = ExportAccount("2200", "Sales tax payable", "liability", False)
OWNER = ExportAccount("3000", "Owner's equity", "equity", False)
SALES = ExportAccount("4000", "Sales", "income", False)
SHIPPING_INCOME = ExportAccount("4010", "Shipping income", "income", False)
RETURNS = ExportAccount("4900", "Sales returns", "income", True)
DISCOUNTS = ExportAccount("4910", "Sales discounts", "income", True)
COGS = ExportAccount("5000", "Cost of goods sold", "expense", False)
SHRINKAGE = ExportAccount(
    "5100", "Inventory shrinkage and adjustments", "expense", False
)
CHANNEL_FEES = ExportAccount("6100", "Channel and marketplace fees", "expense", False)
BANK_FEES = ExportAccount("6110", "Bank and payment fees", "expense", False)
SHIPPING = ExportAccount("6200", "Shipping expense", "expense", False)
FX = ExportAccount("8100", "Exchange gains and losses", "expense", False)
CHART = [
    BANK,
    CLEARING,
    RECEIVABLE,
    INVENTORY,
    PAYABLE,
    SALES_TAX,
    OWNER,
    SALES,
    SHIPPING_INCOME,
    RETURNS,
    DISCOUNTS,
    COGS,
    SHRINKAGE,
    CHANNEL_FEES,
    BANK_FEES,
    SHIPPING,
    FX,
]

HYPERLINK = '=HYPERLINK("http://127.0.0.1/x","click")'
TAB_MEMO = "\tfinal value fee"

# Net debit minus credit per account code, in cents, worked out by hand from
# the entries below.
EXPECTED_CENTS = {
    "1000": 57000,  # 500.00 capital + 70.00 payout
    "1100": 10380,  # 132.00 + 108.00 - 60.00 - 4.20 - 72.00
    "1110": 9768,  # 85.37 - 0.03 + 12.34
    "1200": -4000,
    "2000": -780,
    "2200": -3000,  # -22.00 - 18.00 + 10.00
    "3000": -50000,
    "4000": -29771,  # -100.00 - 100.00 - 85.37 - 12.34
    "4010": -1000,
    "4900": 5000,
    "4910": 1000,
    "5000": 4000,
    "6100": 420,
    "6110": 200,
    "6200": 780,
    "8100": 3,
}


def line(
    account: ExportAccount,
    debit: int = 0,
    credit: int = 0,
    *,
    memo: str = "",
    channel: str | None = None,
    tax_rate: str | None = None,
    fx: tuple[str, int] | None = None,
) -> ExportLine:
    return ExportLine(
        account=account,
        debit=debit,
        credit=credit,
        memo=memo,
        channel=channel,
        tax_rate=None if tax_rate is None else Decimal(tax_rate),
        fx_currency=None if fx is None else fx[0],
        fx_amount=None if fx is None else fx[1],
    )


def entry(
    entry_id: int, day: int, description: str, source: str, *lines: ExportLine
) -> ExportEntry:
    return ExportEntry(
        entry_id=entry_id,
        date=dt.date(2024, 3, day),
        number=f"JE-{entry_id:04d}",
        description=description,
        source=source,
        lines=lines,
    )


def shop_entries() -> list[ExportEntry]:
    return [
        entry(
            1, 1, "Opening capital", "manual", line(BANK, 50000), line(OWNER, 0, 50000)
        ),
        entry(
            2,
            2,
            HYPERLINK,
            "order",
            line(CLEARING, 13200, channel="shopify"),
            line(SALES, 0, 10000, channel="shopify", tax_rate="20"),
            line(SHIPPING_INCOME, 0, 1000, channel="shopify", tax_rate="20"),
            line(SALES_TAX, 0, 2200, memo="VAT 20%", channel="shopify"),
        ),
        entry(
            3,
            3,
            "+cmd",
            "order",
            line(CLEARING, 10800, channel="ebay"),
            line(DISCOUNTS, 1000, memo="Code SPRING10", channel="ebay"),
            line(SALES, 0, 10000, channel="ebay", tax_rate="20"),
            line(SALES_TAX, 0, 1800, channel="ebay"),
        ),
        entry(
            4,
            5,
            "-2+3",
            "refund",
            line(RETURNS, 5000, channel="shopify", tax_rate="20"),
            line(SALES_TAX, 1000, channel="shopify"),
            line(CLEARING, 0, 6000, memo="Refund; order 1001", channel="shopify"),
        ),
        entry(
            5,
            6,
            "@SUM(A1)",
            "fee",
            line(CHANNEL_FEES, 420, memo=TAB_MEMO, channel="ebay"),
            line(CLEARING, 0, 420, channel="ebay"),
        ),
        entry(
            6,
            7,
            "Order 1003 Müller – naïve ☃",
            "order",
            line(RECEIVABLE, 8537, channel="amazon", fx=("EUR", 7899)),
            line(SALES, 0, 8537, channel="amazon", fx=("EUR", 7899)),
        ),
        entry(
            7,
            8,
            "Exchange difference",
            "fx",
            line(FX, 3, memo="Rounding, EUR receipt"),
            line(RECEIVABLE, 0, 3, channel="amazon"),
        ),
        entry(
            8,
            9,
            "Order 1004 (yen)",
            "order",
            line(RECEIVABLE, 1234, channel="amazon", fx=("JPY", 1850)),
            line(SALES, 0, 1234, channel="amazon", fx=("JPY", 1850)),
        ),
        entry(
            9,
            10,
            "Payout",
            "payout",
            line(BANK, 7000, channel="shopify"),
            line(BANK_FEES, 200, channel="shopify"),
            line(CHANNEL_FEES, 0, 0, memo="No fee this time", channel="shopify"),
            line(CLEARING, 0, 7200, channel="shopify"),
        ),
        entry(
            10,
            12,
            "Label bought on account",
            "shipment",
            line(SHIPPING, 780),
            line(PAYABLE, 0, 780),
        ),
        # Dated before entries above it, as a late posting would be.
        entry(
            11,
            2,
            "Cost of order 1001",
            "shipment",
            line(COGS, 4000, channel="shopify"),
            line(INVENTORY, 0, 4000, channel="shopify"),
        ),
    ]


def one_shot(entries: list[ExportEntry]) -> Iterator[ExportEntry]:
    yield from entries


def shop_ledger(entries: list[ExportEntry] | None = None) -> ExportLedger:
    """Return the shop ledger with entries as a generator that runs once."""
    return ExportLedger(
        shop_name="Test Shop",
        currency="USD",
        currency_exponent=2,
        entries=one_shot(shop_entries() if entries is None else entries),
        accounts=CHART,
        date_from=dt.date(2024, 3, 1),
        date_to=dt.date(2024, 3, 31),
    )


def cents(text: str) -> int:
    """Parse a plain decimal amount ("-12.50", "", "1234") into cents."""
    if not text:
        return 0
    return int(Decimal(text) * 100)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def by_code_name(
    totals: dict[str, int], name_of: Callable[[ExportAccount], str]
) -> dict[str, int]:
    """Translate per-name totals back to account codes for comparison."""
    code_by_name = {name_of(account): account.code for account in CHART}
    return {code_by_name[name]: amount for name, amount in totals.items()}


def test_expected_totals_match_entries() -> None:
    totals: dict[str, int] = defaultdict(int)
    for item in shop_entries():
        for posting in item.lines:
            totals[posting.account.code] += posting.debit - posting.credit
    assert dict(totals) == EXPECTED_CENTS


# General ledger CSV


def test_gl_csv_starts_with_bom(tmp_path: Path) -> None:
    [path] = write_gl_csv(shop_ledger(), tmp_path / "gl.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_gl_csv_balances_match_input(tmp_path: Path) -> None:
    [path] = write_gl_csv(shop_ledger(), tmp_path / "gl.csv")
    totals: dict[str, int] = defaultdict(int)
    for row in read_csv_rows(path):
        totals[row["Account code"]] += cents(row["Debit"]) - cents(row["Credit"])
    assert dict(totals) == EXPECTED_CENTS


def test_gl_csv_header(tmp_path: Path) -> None:
    [path] = write_gl_csv(shop_ledger(), tmp_path / "gl.csv")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    assert header == [
        "Date",
        "Entry number",
        "Description",
        "Account code",
        "Account name",
        "Debit",
        "Credit",
        "Channel",
        "Memo",
        "Tax rate",
        "FX currency",
        "FX amount",
    ]


def test_gl_csv_neutralises_hostile_text(tmp_path: Path) -> None:
    [path] = write_gl_csv(shop_ledger(), tmp_path / "gl.csv")
    rows = read_csv_rows(path)
    descriptions = {row["Entry number"]: row["Description"] for row in rows}
    memos = {row["Memo"] for row in rows}
    assert descriptions["JE-0002"] == "'" + HYPERLINK
    assert descriptions["JE-0003"] == "'+cmd"
    assert descriptions["JE-0004"] == "'-2+3"
    assert descriptions["JE-0005"] == "'@SUM(A1)"
    assert "'" + TAB_MEMO in memos
    assert descriptions["JE-0001"] == "Opening capital"


def test_gl_csv_fx_and_tax_columns(tmp_path: Path) -> None:
    [path] = write_gl_csv(shop_ledger(), tmp_path / "gl.csv")
    rows = read_csv_rows(path)
    euro = next(row for row in rows if row["FX currency"] == "EUR")
    yen = next(row for row in rows if row["FX currency"] == "JPY")
    taxed = next(
        row for row in rows if row["Entry number"] == "JE-0002" and row["Tax rate"]
    )
    assert euro["FX amount"] == "78.99"
    assert yen["FX amount"] == "1850"
    assert taxed["Tax rate"] == "20"
    assert euro["Date"] == "2024-03-07"


# QuickBooks Desktop IIF


def read_iif(path: Path) -> list[list[str]]:
    """Split an IIF file into rows of cells, decoding Windows-1252."""
    text = path.read_bytes().decode("cp1252")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    return [row.split("\t") for row in lines if row]


def iif_blocks(rows: list[list[str]]) -> list[list[dict[str, str]]]:
    """Group TRNS/SPL rows into transactions, keyed by the header columns."""
    trns_columns: list[str] = []
    spl_columns: list[str] = []
    blocks: list[list[dict[str, str]]] = []
    current: list[dict[str, str]] = []
    for row in rows:
        kind = row[0]
        if kind == "!TRNS":
            trns_columns = row
        elif kind == "!SPL":
            spl_columns = row
        elif kind in ("TRNS", "SPL"):
            columns = trns_columns if kind == "TRNS" else spl_columns
            current.append(dict(zip(columns, row, strict=False)))
        elif kind == "ENDTRNS":
            blocks.append(current)
            current = []
    return blocks


def iif_amount(cell: str) -> int:
    return cents(cell.strip())


def test_iif_bytes_have_crlf_and_no_bom(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")


def test_iif_encodes_windows_1252(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    data = path.read_bytes()
    assert "Müller – naïve ?".encode("cp1252") in data


def test_iif_balances_match_input(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    totals: dict[str, int] = defaultdict(int)
    for block in iif_blocks(read_iif(path)):
        for row in block:
            totals[row["ACCNT"]] += iif_amount(row["AMOUNT"])
    assert by_code_name(dict(totals), lambda account: account.name) == EXPECTED_CENTS


def test_iif_transactions_sum_to_zero(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    blocks = iif_blocks(read_iif(path))
    assert len(blocks) == 11
    for block in blocks:
        assert sum(iif_amount(row["AMOUNT"]) for row in block) == 0


def test_iif_rows_are_general_journal(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    blocks = iif_blocks(read_iif(path))
    sale = blocks[1]
    assert {row["TRNSTYPE"] for block in blocks for row in block} == {"GENERAL JOURNAL"}
    assert sale[0]["DATE"] == "03/02/2024"
    assert sale[0]["DOCNUM"] == "JE-0002"
    assert sale[0]["AMOUNT"] == "132.00"
    assert sale[1]["AMOUNT"] == "-100.00"


def test_iif_text_has_no_tabs_inside_cells(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    blocks = iif_blocks(read_iif(path))
    fee = blocks[4]
    assert fee[0]["MEMO"] == " final value fee"


def test_iif_account_types(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    types = {row[1]: row[2] for row in read_iif(path) if row[0] == "ACCNT"}
    assert types == {
        "Bank": "BANK",
        "Owner's equity": "EQUITY",
        "Channel clearing": "OCASSET",
        "Sales": "INC",
        "Shipping income": "INC",
        "Sales tax payable": "OCLIAB",
        "Sales discounts": "INC",
        "Sales returns": "INC",
        "Channel and marketplace fees": "EXP",
        "Accounts receivable": "AR",
        "Exchange gains and losses": "EXEXP",
        "Bank and payment fees": "EXP",
        "Shipping expense": "EXP",
        "Accounts payable": "AP",
        "Cost of goods sold": "COGS",
        "Inventory": "OCASSET",
    }


def test_iif_names_receivable_and_payable_lines(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    rows = read_iif(path)
    blocks = iif_blocks(rows)
    receivable_names = {
        row["NAME"]
        for block in blocks
        for row in block
        if row["ACCNT"] == "Accounts receivable"
    }
    payable_names = {
        row["NAME"]
        for block in blocks
        for row in block
        if row["ACCNT"] == "Accounts payable"
    }
    assert receivable_names == {"amazon"}
    assert payable_names == {"Test Shop suppliers"}
    assert ["CUST", "amazon"] in rows
    assert ["VEND", "Test Shop suppliers"] in rows


def test_iif_lists_precede_transactions(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif")
    kinds = [row[0] for row in read_iif(path)]
    assert kinds.index("!ACCNT") < kinds.index("!TRNS")
    assert max(
        i for i, kind in enumerate(kinds) if kind in ("ACCNT", "CUST", "VEND")
    ) < kinds.index("!TRNS")


def test_iif_channel_as_class(tmp_path: Path) -> None:
    [path] = write_iif(shop_ledger(), tmp_path / "ledger.iif", channel_as_class=True)
    rows = read_iif(path)
    sale = iif_blocks(rows)[1]
    classes = [row[1] for row in rows if row[0] == "CLASS"]
    assert sale[0]["CLASS"] == "shopify"
    assert classes == ["shopify", "ebay", "amazon"]


def test_iif_rejects_two_accounts_with_one_name(tmp_path: Path) -> None:
    twin = ExportAccount("6120", "Bank and payment fees", "expense", False)
    clash = entry(
        60, 4, "Fees", "fee", line(BANK_FEES, 100), line(twin, 100), line(BANK, 0, 200)
    )
    with pytest.raises(ExportError, match="6110 and 6120"):
        write_iif(shop_ledger([clash]), tmp_path / "ledger.iif")


@pytest.mark.realdata
def test_iif_parser_reads_staged_samples() -> None:
    if not IIF_SAMPLES.is_dir():
        pytest.skip(f"shared sample folder {IIF_SAMPLES} is absent")
    samples = sorted(IIF_SAMPLES.glob("*.iif"))
    assert len(samples) == 5
    for sample in samples:
        blocks = iif_blocks(read_iif(sample))
        assert len(blocks) == 1, sample.name
        assert sum(iif_amount(row["AMOUNT"]) for row in blocks[0]) == 0, sample.name


# QuickBooks Online


def test_qbo_header(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    assert header == [
        "Journal No.",
        "Journal Date",
        "Account Name",
        "Description",
        "Debits",
        "Credits",
        "Name",
    ]


def test_qbo_balances_match_input(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    totals: dict[str, int] = defaultdict(int)
    for row in read_csv_rows(path):
        totals[row["Account Name"]] += cents(row["Debits"]) - cents(row["Credits"])
    assert by_code_name(dict(totals), lambda account: account.name) == EXPECTED_CENTS


def test_qbo_journals_balance(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    per_journal: dict[str, int] = defaultdict(int)
    for row in read_csv_rows(path):
        per_journal[row["Journal No."]] += cents(row["Debits"]) - cents(row["Credits"])
    assert len(per_journal) == 11
    assert set(per_journal.values()) == {0}


def test_qbo_leaves_out_zero_lines(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    payout = [row for row in read_csv_rows(path) if row["Journal No."] == "JE-0009"]
    assert len(payout) == 3


def test_qbo_dates_and_names(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    rows = read_csv_rows(path)
    receivable = next(
        row for row in rows if row["Account Name"] == "Accounts receivable"
    )
    sales = next(row for row in rows if row["Account Name"] == "Sales")
    assert receivable["Name"] == "amazon"
    assert sales["Name"] == ""
    assert sales["Journal Date"] == "03/02/2024"


def test_qbo_day_first_dates(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv", day_first=True)
    rows = read_csv_rows(path)
    assert rows[0]["Journal Date"] == "01/03/2024"


def test_qbo_channel_as_class(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv", channel_as_class=True)
    rows = read_csv_rows(path)
    assert rows[2]["Class"] == "shopify"
    assert rows[0]["Class"] == ""


def test_qbo_neutralises_hostile_text(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    descriptions = {row["Description"] for row in read_csv_rows(path)}
    assert "'" + HYPERLINK in descriptions
    assert "'-2+3" in descriptions
    assert "-2+3" not in descriptions


def test_qbo_credits_are_positive_numbers(tmp_path: Path) -> None:
    [path] = write_qbo(shop_ledger(), tmp_path / "qbo.csv")
    credits = [row["Credits"] for row in read_csv_rows(path) if row["Credits"]]
    assert "100.00" in credits
    assert all(not cell.startswith(("'", "-")) for cell in credits)


# Xero


def test_xero_header(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream))
    assert path.name == "xero-001.csv"
    assert header == [
        "*Narration",
        "*Date",
        "Description",
        "*AccountCode",
        "*TaxRate",
        "*Amount",
        "TrackingName1",
        "TrackingOption1",
        "TrackingName2",
        "TrackingOption2",
    ]


def test_xero_balances_match_input(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero")
    totals: dict[str, int] = defaultdict(int)
    for row in read_csv_rows(path):
        totals[row["*AccountCode"]] += cents(row["*Amount"])
    assert dict(totals) == EXPECTED_CENTS


def test_xero_journals_sum_to_zero(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero")
    per_journal: dict[tuple[str, str], int] = defaultdict(int)
    for row in read_csv_rows(path):
        per_journal[(row["*Narration"], row["*Date"])] += cents(row["*Amount"])
    assert len(per_journal) == 11
    assert set(per_journal.values()) == {0}


def test_xero_dates_and_tax_rate(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero.csv", tax_rate_name="No VAT")
    rows = read_csv_rows(path)
    assert path.name == "xero-001.csv"
    assert rows[0]["*Date"] == "01 Mar 2024"
    assert {row["*TaxRate"] for row in rows} == {"No VAT"}


def test_xero_negative_amounts_stay_numbers(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero")
    amounts = [row["*Amount"] for row in read_csv_rows(path)]
    raw = path.read_text(encoding="utf-8-sig")
    assert "-100.00" in amounts
    assert ",-100.00," in raw
    assert not any(cell.startswith("'") for cell in amounts)


def test_xero_neutralises_hostile_text(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero")
    descriptions = {row["Description"] for row in read_csv_rows(path)}
    narrations = {row["*Narration"] for row in read_csv_rows(path)}
    assert "'" + HYPERLINK in descriptions
    assert "'@SUM(A1)" in descriptions
    assert "JE-0003 +cmd" in narrations


def test_xero_tracking_category(tmp_path: Path) -> None:
    [path] = write_xero(shop_ledger(), tmp_path / "xero", tracking_category="Channel")
    rows = read_csv_rows(path)
    sale = next(row for row in rows if row["*Narration"].startswith("JE-0002"))
    label = next(row for row in rows if row["*Narration"].startswith("JE-0010"))
    assert (sale["TrackingName1"], sale["TrackingOption1"]) == ("Channel", "shopify")
    assert (label["TrackingName1"], label["TrackingOption1"]) == ("", "")


def four_line_journals(count: int) -> list[ExportEntry]:
    return [
        entry(
            100 + index,
            1 + index % 28,
            f"Order {index}",
            "order",
            line(CLEARING, 1200, channel="shopify"),
            line(SALES, 0, 900, channel="shopify"),
            line(SHIPPING_INCOME, 0, 100, channel="shopify"),
            line(SALES_TAX, 0, 200, channel="shopify"),
        )
        for index in range(count)
    ]


def test_xero_split_keeps_journals_whole(tmp_path: Path) -> None:
    paths = write_xero(shop_ledger(four_line_journals(76)), tmp_path / "xero")
    files = [read_csv_rows(path) for path in paths]
    narrations = [{row["*Narration"] for row in rows} for rows in files]
    assert [path.name for path in paths] == ["xero-001.csv", "xero-002.csv"]
    assert [len(rows) for rows in files] == [300, 4]
    assert narrations[0].isdisjoint(narrations[1])
    assert sum(cents(row["*Amount"]) for row in files[0]) == 0


def test_xero_split_fills_file_with_whole_journals(tmp_path: Path) -> None:
    journals = four_line_journals(80)
    three_lines = entry(
        99,
        1,
        "Three-line order",
        "order",
        line(CLEARING, 1200),
        line(SALES, 0, 1000),
        line(SALES_TAX, 0, 200),
    )
    paths = write_xero(shop_ledger([three_lines, *journals]), tmp_path / "xero")
    sizes = [len(read_csv_rows(path)) for path in paths]
    assert sizes == [299, 24]
    assert all(size <= 300 for size in sizes)


def test_xero_rejects_journal_over_limit(tmp_path: Path) -> None:
    big = entry(
        500,
        4,
        "Huge settlement",
        "payout",
        *[line(CHANNEL_FEES, 1) for _ in range(300)],
        line(CLEARING, 0, 300),
    )
    with pytest.raises(ExportError, match="JE-0500"):
        write_xero(shop_ledger([big]), tmp_path / "xero")
    assert list(tmp_path.iterdir()) == []


def test_xero_empty_ledger_writes_header_only(tmp_path: Path) -> None:
    paths = write_xero(shop_ledger([]), tmp_path / "xero")
    assert [path.name for path in paths] == ["xero-001.csv"]
    assert read_csv_rows(paths[0]) == []


# Beancount


def bean_check_path() -> Path:
    path = Path(sys.executable).parent / "bean-check"
    if not path.exists():
        pytest.skip(f"bean-check is not installed next to {sys.executable}")
    return path


def test_beancount_passes_bean_check(tmp_path: Path) -> None:
    [path] = write_beancount(shop_ledger(), tmp_path / "ledger.beancount")
    result = subprocess.run(
        [str(bean_check_path()), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_beancount_loader_balances_match(tmp_path: Path) -> None:
    loader = pytest.importorskip("beancount.loader")
    data = pytest.importorskip("beancount.core.data")
    [path] = write_beancount(shop_ledger(), tmp_path / "ledger.beancount")
    directives, errors, options = loader.load_file(str(path))
    totals: dict[str, int] = defaultdict(int)
    for directive in directives:
        if isinstance(directive, data.Transaction):
            for posting in directive.postings:
                assert posting.units.currency == "USD"
                totals[posting.account] += int(posting.units.number * 100)
    assert errors == []
    assert options["operating_currency"] == ["USD"]
    assert by_code_name(dict(totals), beancount_name) == EXPECTED_CENTS


def beancount_name(account: ExportAccount) -> str:
    return {
        "1000": "Assets:A1000-Bank",
        "1100": "Assets:A1100-Channel-clearing",
        "1110": "Assets:A1110-Accounts-receivable",
        "1200": "Assets:A1200-Inventory",
        "2000": "Liabilities:L2000-Accounts-payable",
        "2200": "Liabilities:L2200-Sales-tax-payable",
        "3000": "Equity:E3000-Owners-equity",
        "4000": "Income:I4000-Sales",
        "4010": "Income:I4010-Shipping-income",
        "4900": "Income:I4900-Sales-returns",
        "4910": "Income:I4910-Sales-discounts",
        "5000": "Expenses:E5000-Cost-of-goods-sold",
        "5100": "Expenses:E5100-Inventory-shrinkage-and-adjustments",
        "6100": "Expenses:E6100-Channel-and-marketplace-fees",
        "6110": "Expenses:E6110-Bank-and-payment-fees",
        "6200": "Expenses:E6200-Shipping-expense",
        "8100": "Expenses:E8100-Exchange-gains-and-losses",
    }[account.code]


def test_beancount_metadata(tmp_path: Path) -> None:
    loader = pytest.importorskip("beancount.loader")
    data = pytest.importorskip("beancount.core.data")
    [path] = write_beancount(shop_ledger(), tmp_path / "ledger.beancount")
    directives, _, _ = loader.load_file(str(path))
    transactions = [d for d in directives if isinstance(d, data.Transaction)]
    sale = next(t for t in transactions if t.meta["number"] == "JE-0002")
    euro = next(t for t in transactions if t.meta["number"] == "JE-0006")
    assert sale.narration == HYPERLINK
    assert sale.postings[0].meta["channel"] == "shopify"
    assert sale.postings[1].meta["tax_rate"] == Decimal("20")
    assert str(euro.postings[0].meta["fx_amount"]) == "78.99 EUR"


def test_beancount_opens_accounts_before_first_use(tmp_path: Path) -> None:
    loader = pytest.importorskip("beancount.loader")
    data = pytest.importorskip("beancount.core.data")
    [path] = write_beancount(shop_ledger(), tmp_path / "ledger.beancount")
    directives, _, _ = loader.load_file(str(path))
    opened = {d.account: d.date for d in directives if isinstance(d, data.Open)}
    assert opened["Expenses:E5000-Cost-of-goods-sold"] == dt.date(2024, 3, 1)
    assert opened["Expenses:E5100-Inventory-shrinkage-and-adjustments"] == dt.date(
        2024, 3, 1
    )
    assert len(opened) == 17


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (ExportAccount("1000", "Bank", "asset", False), "A1000-Bank"),
        (
            ExportAccount("6300", "Café & bar tabs", "expense", False),
            "E6300-Cafe-bar-tabs",
        ),
        (
            ExportAccount("acc.7", "Übergang: PayPal", "liability", False),
            "Lacc-7-Ubergang-PayPal",
        ),
        (ExportAccount("2999", "☃☃", "liability", False), "L2999"),
    ],
)
def test_beancount_account_component(account: ExportAccount, expected: str) -> None:
    assert account_component(account) == expected


def test_ledger_account_names_stay_unique() -> None:
    names = LedgerAccountNames(
        [
            ExportAccount("1-1", "Cash", "asset", False),
            ExportAccount("1.1", "Cash", "asset", False),
        ]
    )
    assert names.all_names() == {"1-1": "Assets:A1-1-Cash", "1.1": "Assets:A1-1-Cash-2"}


# hledger


def hledger_path() -> str:
    path = shutil.which("hledger")
    if path is None:
        pytest.skip("hledger is not installed (apt-get install hledger)")
    return path


def test_hledger_check_strict_passes(tmp_path: Path) -> None:
    [path] = write_hledger(shop_ledger(), tmp_path / "ledger.journal")
    result = subprocess.run(
        [hledger_path(), "-f", str(path), "check", "--strict"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hledger_balances_match(tmp_path: Path) -> None:
    [path] = write_hledger(shop_ledger(), tmp_path / "ledger.journal")
    result = subprocess.run(
        [
            hledger_path(),
            "-f",
            str(path),
            "balance",
            "-O",
            "csv",
            "-E",
            "--flat",
            "--no-total",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(result.stdout)):
        amount = row["balance"]
        totals[row["account"]] = cents(amount.removesuffix(" USD"))
    assert by_code_name(totals, beancount_name) == EXPECTED_CENTS


@pytest.mark.parametrize(
    ("currency", "exponent", "expected_sales"),
    [("JPY", 0, "-29771 JPY"), ("KWD", 3, "-29.771 KWD")],
)
def test_hledger_currency_exponents(
    tmp_path: Path, currency: str, exponent: int, expected_sales: str
) -> None:
    ledger = ExportLedger(
        "Test Shop",
        currency,
        exponent,
        one_shot(shop_entries()),
        CHART,
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 31),
    )
    [path] = write_hledger(ledger, tmp_path / "ledger.journal")
    check = subprocess.run(
        [hledger_path(), "-f", str(path), "check", "--strict"],
        capture_output=True,
        text=True,
        check=False,
    )
    balance = subprocess.run(
        [hledger_path(), "-f", str(path), "balance", "-O", "csv", "--flat"],
        capture_output=True,
        text=True,
        check=True,
    )
    sales = next(
        row["balance"]
        for row in csv.DictReader(io.StringIO(balance.stdout))
        if row["account"] == "Income:I4000-Sales"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert sales == expected_sales


def test_hledger_keeps_description_after_semicolon(tmp_path: Path) -> None:
    memo_entry = entry(
        40,
        4,
        "Refund; order 1001",
        "refund",
        line(RETURNS, 500),
        line(CLEARING, 0, 500),
    )
    [path] = write_hledger(shop_ledger([memo_entry]), tmp_path / "ledger.journal")
    result = subprocess.run(
        [hledger_path(), "-f", str(path), "print", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["description"] == "Refund, order 1001"
    assert rows[0]["code"] == "JE-0040"


# Errors shared by every writer


def unbalanced_entries() -> list[ExportEntry]:
    broken = entry(
        77,
        20,
        "Half-posted refund",
        "refund",
        line(RETURNS, 5000),
        line(CLEARING, 0, 4999),
    )
    return [*shop_entries()[:3], broken, *shop_entries()[3:]]


@pytest.mark.parametrize("format_name", sorted(WRITERS))
def test_unbalanced_entry_raises_naming_it(tmp_path: Path, format_name: str) -> None:
    writer = WRITERS[format_name]
    with pytest.raises(
        ExportError, match=r"JE-0077.*debits 50\.00 USD, credits 49\.99 USD"
    ):
        writer(shop_ledger(unbalanced_entries()), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format_name", sorted(WRITERS))
def test_failed_export_keeps_previous_file(tmp_path: Path, format_name: str) -> None:
    writer = WRITERS[format_name]
    [first, *_] = writer(shop_ledger(), tmp_path / "out")
    before = first.read_bytes()
    with pytest.raises(ExportError):
        writer(shop_ledger(unbalanced_entries()), tmp_path / "out")
    assert first.read_bytes() == before


def test_half_fx_pair_raises(tmp_path: Path) -> None:
    odd = ExportEntry(
        entry_id=80,
        date=dt.date(2024, 3, 4),
        number="JE-0080",
        description="Order",
        source="order",
        lines=(
            ExportLine(RECEIVABLE, 100, 0, "", None, None, "EUR", None),
            ExportLine(SALES, 0, 100, "", None, None, None, None),
        ),
    )
    with pytest.raises(ExportError, match="JE-0080"):
        write_gl_csv(shop_ledger([odd]), tmp_path / "gl.csv")


def test_bad_currency_code_raises(tmp_path: Path) -> None:
    ledger = ExportLedger(
        "Shop", "usd", 2, iter(()), CHART, dt.date(2024, 1, 1), dt.date(2024, 1, 31)
    )
    with pytest.raises(ExportError, match="'usd'"):
        write_beancount(ledger, tmp_path / "ledger.beancount")


# Excel-safe CSV rules and amount formatting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tmemo", "'\tmemo"),
        ("\rmemo", "'\rmemo"),
        ("Order =1", "Order =1"),
        ("", ""),
    ],
)
def test_neutralize(text: str, expected: str) -> None:
    assert neutralize(text) == expected


def test_safe_writer_leaves_amounts_alone() -> None:
    stream = io.StringIO()
    writer = SafeCsvWriter(stream, ("Memo", "Amount"), ("Amount",))
    writer.write_row(("-refund", "-12.50"))
    assert stream.getvalue().splitlines()[1] == "'-refund,-12.50"


def test_safe_writer_rejects_text_in_amount_column() -> None:
    writer = SafeCsvWriter(io.StringIO(), ("Memo", "Amount"), ("Amount",))
    with pytest.raises(ExportError, match="=1"):
        writer.write_row(("memo", "=1+1"))


@pytest.mark.parametrize(
    ("minor", "exponent", "expected"),
    [
        (-123450, 2, "-1234.50"),
        (5, 2, "0.05"),
        (-5, 2, "-0.05"),
        (0, 2, "0.00"),
        (1234, 0, "1234"),
        (1, 3, "0.001"),
        (123456789012345, 2, "1234567890123.45"),
    ],
)
def test_format_minor_units(minor: int, exponent: int, expected: str) -> None:
    assert format_minor_units(minor, exponent) == expected
