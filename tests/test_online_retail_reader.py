"""Tests for reading Online Retail invoice-line history files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from app.core.importing.countries import country_code
from app.core.importing.errors import (
    CellValueError,
    MappingError,
    MissingColumnsError,
    ReadCancelled,
)
from app.core.importing.online_retail import (
    AccountMapping,
    HistoryLine,
    ReadReport,
    SkuName,
    description_names,
    read_history,
    rejects_path,
    validate,
    write_rejects,
)
from app.core.importing.sources import (
    DecimalReader,
    IntegerReader,
    LocalDateTimeReader,
    detect_date_order,
    open_table,
)

DATA = Path(__file__).resolve().parent / "data" / "online_retail"
REAL_FILE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "online_retail"
    / "online_retail.csv.gz"
)


def read_all(path: Path, **kwargs: object) -> tuple[list[HistoryLine], ReadReport]:
    stream = read_history(path, **kwargs)  # type: ignore[arg-type]
    lines = [line for chunk in stream for line in chunk]
    return lines, stream.report


def by_row(lines: list[HistoryLine]) -> dict[int, HistoryLine]:
    return {line.row: line for line in lines}


# --- a small file with every kind of line -----------------------------------


@pytest.fixture(scope="module")
def mixed() -> tuple[dict[int, HistoryLine], ReadReport]:
    lines, report = read_all(DATA / "mixed_lines.csv")
    return by_row(lines), report


@pytest.mark.parametrize(
    ("row", "kind", "line_class", "account", "amount_minor"),
    [
        (2, "invoice", "product", "4000", 1530),
        (4, "invoice", "shipping", "4010", 1800),
        (5, "invoice", "product", "4000", 1180),
        (6, "credit_note", "product", "4900", -510),
        (7, "credit_note", "discount", "4910", -500),
        (8, "invoice", "manual", "4000", 85),
        (9, "credit_note", "manual", "4900", -85),
        (10, "invoice", "product", "4000", 0),
        (11, "invoice", "bank_charges", "6110", 1500),
        (12, "invoice", "commission", "6100", 125),
        (13, "invoice", "gift_voucher", "2500", 1702),
        (14, "invoice", "sample", "4000", 300),
        (15, "adjustment", "bad_debt", "6300", 1106206),
        (16, "adjustment", "bad_debt", "6300", -1106206),
        (17, "invoice", "product", "4000", 1),
        (18, "credit_note", "product", "4900", -1),
        (19, "invoice", "shipping", "4010", 201),
        (20, "invoice", "shipping", "4010", 5000),
        (21, "invoice", "commission", "6100", -160),
    ],
)
def test_mixed_line_classification(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
    row: int,
    kind: str,
    line_class: str,
    account: str,
    amount_minor: int,
) -> None:
    line = mixed[0][row]
    assert line.kind == kind
    assert line.line_class == line_class
    assert line.account_code == account
    assert line.amount_minor == amount_minor


def test_mixed_first_line_fields(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    line = mixed[0][2]
    assert line.invoice_no == "536365"
    assert line.stock_code == "85123A"
    assert line.description == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert line.quantity == 6
    assert line.unit_price == Decimal("2.55")
    assert line.invoice_local == datetime(2010, 12, 1, 8, 26)
    assert line.invoice_utc == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert line.customer_id == "17850"
    assert line.country_name == "United Kingdom"
    assert line.country_code == "GB"
    assert line.is_write_off is False


def test_mixed_lowercase_code_shares_sku(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    line = mixed[0][5]
    assert line.stock_code == "85123a"
    assert line.sku_key == "85123A"


def test_mixed_sub_penny_prices_round_half_up(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    # 5 x 0.001 = 0.005 rounds to 1p, and 2 x 1.0025 = 2.005 rounds to 201p.
    lines = mixed[0]
    assert lines[17].unit_price == Decimal("0.001")
    assert lines[19].unit_price == Decimal("1.0025")
    assert lines[18].amount_minor == -lines[17].amount_minor


def test_mixed_write_off_and_blanks(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    line = mixed[0][10]
    assert line.is_write_off is True
    assert line.description == ""
    assert line.customer_id is None


def test_mixed_country_codes(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    lines = mixed[0]
    assert lines[8].country_code == "IE"
    assert lines[17].country_code == "ZA"
    assert lines[14].country_code is None
    assert lines[14].country_name == "Channel Islands"


def test_mixed_report_counts(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    report = mixed[1]
    assert report.completed is True
    assert report.ok is True
    assert report.encoding == "utf-8"
    assert report.header_variant == "online_retail"
    assert report.date_order == "iso"
    assert report.rows == 20
    assert report.lines == 20
    assert report.invoice_numbers == 17
    assert report.invoices == 12
    assert report.credit_notes == 3
    assert report.adjustments == 2
    assert report.lines_by_kind == {"invoice": 14, "credit_note": 4, "adjustment": 2}
    assert report.customers == 5
    assert report.lines_without_customer == 10
    assert report.skus == 3
    assert report.duplicate_lines == 1
    assert report.unknown_countries == {"Channel Islands": 1, "Unspecified": 1}
    assert report.write_offs == 1
    assert report.empty_descriptions == 1


def test_mixed_month_account_totals(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    report = mixed[1]
    assert report.month_account_totals == {
        "2010-12": {
            "2500": 1702,
            "4000": 4626,
            "4010": 7001,
            "4900": -596,
            "4910": -500,
            "6100": -35,
            "6110": 1500,
        },
        "2011-08": {"6300": 0},
    }
    assert report.total_amount_minor == 13698


def test_sku_names_pick_most_frequent(
    mixed: tuple[dict[int, HistoryLine], ReadReport],
) -> None:
    lines, report = mixed
    expected = SkuName(
        "85123A",
        "WHITE HANGING HEART T-LIGHT HOLDER",
        ("CREAM HANGING HEART T-LIGHT HOLDER",),
    )
    assert description_names(lines.values())["85123A"] == expected
    assert report.sku_names()["85123A"] == expected
    assert "21777" not in report.sku_names()


def test_gzipped_csv_reads_like_plain(tmp_path: Path) -> None:
    # The name says nothing about gzip, so only the magic bytes can tell.
    packed = tmp_path / "history.dat"
    packed.write_bytes(gzip.compress((DATA / "mixed_lines.csv").read_bytes()))
    lines, report = read_all(packed)
    assert open_table(packed).kind == "csv.gz"
    assert report.lines == 20
    assert report.total_amount_minor == 13698
    assert by_row(lines)[13].description == "Dotcomgiftshop Gift Voucher £20.00"


def test_progress_reaches_total() -> None:
    calls: list[tuple[int, int]] = []
    read_all(
        DATA / "mixed_lines.csv",
        chunk_size=5,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = (DATA / "mixed_lines.csv").stat().st_size
    assert len(calls) == 5
    assert calls[-1] == (total, total)


def test_chunks_hold_chunk_size_rows() -> None:
    sizes = [
        len(chunk) for chunk in read_history(DATA / "mixed_lines.csv", chunk_size=8)
    ]
    assert sizes == [8, 8, 4]


def test_cancel_stops_reading() -> None:
    stream = read_history(DATA / "mixed_lines.csv", chunk_size=5, cancel=lambda: True)
    with pytest.raises(ReadCancelled, match="cancelled at row 6"):
        next(stream)


# --- date spellings and clock changes ----------------------------------------


def test_us_dates_read_month_first() -> None:
    lines, report = read_all(DATA / "us_dates.csv")
    assert report.date_order == "month_first"
    assert report.date_order_assumed is False
    assert lines[0].invoice_local == datetime(2010, 12, 1, 8, 26)
    assert lines[1].invoice_local == datetime(2010, 12, 13, 14, 5)
    assert lines[2].invoice_local == datetime(2011, 1, 5, 9, 0)


def test_day_first_dates_and_retail_ii_header() -> None:
    lines, report = read_all(DATA / "day_first_dates.csv")
    assert report.header_variant == "online_retail_ii"
    assert report.date_order == "day_first"
    assert report.date_order_assumed is False
    assert lines[0].invoice_local == datetime(2010, 12, 1, 8, 26)
    assert lines[1].invoice_local == datetime(2010, 12, 13, 14, 5)
    assert lines[2].invoice_local == datetime(2011, 1, 5, 9, 0)
    assert lines[0].unit_price == Decimal("2.55")


def test_float_customer_ids_lose_point_zero() -> None:
    lines, _ = read_all(DATA / "day_first_dates.csv")
    assert lines[0].customer_id == "17850"
    assert lines[2].customer_id is None


def test_ambiguous_dates_assume_month_first() -> None:
    lines, report = read_all(DATA / "ambiguous_dates.csv")
    assert report.date_order == "month_first"
    assert report.date_order_assumed is True
    assert lines[1].invoice_local == datetime(2011, 1, 5, 9, 0)


@pytest.mark.parametrize(
    ("row", "local", "utc"),
    [
        # Spring forward: 01:00 GMT becomes 02:00 BST, so 01:30 does not exist
        # and is read 1 hour later, as 02:30 BST.
        (2, datetime(2011, 3, 27, 0, 30), datetime(2011, 3, 27, 0, 30, tzinfo=UTC)),
        (3, datetime(2011, 3, 27, 1, 30), datetime(2011, 3, 27, 1, 30, tzinfo=UTC)),
        (4, datetime(2011, 3, 27, 2, 30), datetime(2011, 3, 27, 1, 30, tzinfo=UTC)),
        (5, datetime(2011, 6, 30, 23, 30), datetime(2011, 6, 30, 22, 30, tzinfo=UTC)),
        (6, datetime(2011, 7, 1, 0, 30), datetime(2011, 6, 30, 23, 30, tzinfo=UTC)),
        # Fall back: 01:00-02:00 happens twice, and the first (BST) is taken.
        (7, datetime(2011, 10, 30, 0, 30), datetime(2011, 10, 29, 23, 30, tzinfo=UTC)),
        (8, datetime(2011, 10, 30, 1, 30), datetime(2011, 10, 30, 0, 30, tzinfo=UTC)),
        (9, datetime(2011, 10, 30, 2, 30), datetime(2011, 10, 30, 2, 30, tzinfo=UTC)),
    ],
)
def test_clock_change_times(row: int, local: datetime, utc: datetime) -> None:
    lines, _ = read_all(DATA / "clock_changes.csv")
    line = by_row(lines)[row]
    assert line.invoice_local == local
    assert line.invoice_utc == utc


def test_summer_midnight_line_counts_in_local_month() -> None:
    # 2011-07-01 00:30 local is 2011-06-30 23:30 UTC but belongs to July.
    _, report = read_all(DATA / "clock_changes.csv")
    assert report.month_account_totals["2011-07"] == {"4000": 105}
    assert report.month_account_totals["2011-06"] == {"4000": 104}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2010-12-01 08:26:00"], ("iso", False)),
        (["2010/12/01 08:26"], ("iso", False)),
        (["12/1/2010 8:26", "12/13/2010 8:26"], ("month_first", False)),
        (["01/12/2010 08:26", "13/12/2010 08:26"], ("day_first", False)),
        (["", "not a date", "13/12/2010 08:26"], ("day_first", False)),
        (["12/1/2010 8:26", "1/5/2011 9:00"], ("month_first", True)),
    ],
)
def test_detect_date_order(values: list[str], expected: tuple[str, bool]) -> None:
    assert detect_date_order(values) == expected


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("12/1/2010 8:26:00 AM", datetime(2010, 12, 1, 8, 26)),
        ("12/1/2010 1:05 PM", datetime(2010, 12, 1, 13, 5)),
        ("12/1/2010 12:10 AM", datetime(2010, 12, 1, 0, 10)),
        ("12/1/2010", datetime(2010, 12, 1, 0, 0)),
    ],
)
def test_month_first_clock_forms(text: str, local: datetime) -> None:
    reader = LocalDateTimeReader("month_first", ZoneInfo("Europe/London"))
    assert reader.parse(text)[0] == local


@pytest.mark.parametrize("text", ["13/1/2010 8:26", "12/1/10 8:26", "12/1/2010 25:00"])
def test_month_first_rejects(text: str) -> None:
    reader = LocalDateTimeReader("month_first", ZoneInfo("Europe/London"))
    with pytest.raises(CellValueError, match="month/day/year"):
        reader.parse(text)


# --- encodings, delimiters, Excel ---------------------------------------------


def test_cp1252_file_decodes_accents() -> None:
    lines, report = read_all(DATA / "cp1252.csv")
    assert report.encoding == "cp1252"
    assert lines[0].description == "CAFÉ CRÈME MUG"
    assert lines[1].description == "GIFT VOUCHER £10.00"


def test_bom_and_tab_delimiter() -> None:
    source = open_table(DATA / "bom_tab.csv")
    lines, report = read_all(DATA / "bom_tab.csv")
    assert source.delimiter == "\t"
    assert source.header[0] == "Invoice"
    assert report.encoding == "utf-8-sig"
    assert lines[0].amount_minor == 1500


def test_xlsx_written_by_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "history.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "Invoice",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "Price",
            "Customer ID",
            "Country",
        ]
    )
    sheet.append(
        [
            536365,
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            datetime(2010, 12, 1, 8, 26),
            2.55,
            17850.0,
            "United Kingdom",
        ]
    )
    sheet.append([None] * 8)
    sheet.append(
        [
            "C536379",
            "D",
            "Discount",
            -1,
            datetime(2011, 7, 1, 0, 30),
            27.5,
            14527,
            "United Kingdom",
        ]
    )
    workbook.save(path)

    lines, report = read_all(path)
    first, second = lines
    assert open_table(path).kind == "xlsx"
    assert report.rows == 2
    assert first.invoice_no == "536365"
    assert first.unit_price == Decimal("2.55")
    assert first.amount_minor == 1530
    assert first.customer_id == "17850"
    assert first.invoice_local == datetime(2010, 12, 1, 8, 26)
    assert second.row == 4
    assert second.kind == "credit_note"
    assert second.account_code == "4910"
    assert second.invoice_utc == datetime(2011, 6, 30, 23, 30, tzinfo=UTC)


# --- problems and rejects -----------------------------------------------------


@pytest.fixture(scope="module")
def bad_report() -> ReadReport:
    return validate(DATA / "bad_rows.csv")


@pytest.mark.parametrize(
    ("row", "column", "value", "fault"),
    [
        (3, "Quantity", "six", "is not a whole number"),
        (4, "UnitPrice", "1.85555", "has more than 4 decimal places"),
        (5, "UnitPrice", "1.8x", "is not a decimal number"),
        (6, "InvoiceDate", "2010-12-01 31:34:00", "is not a date and time"),
        (7, "InvoiceNo", "", "is empty"),
        (10, "Quantity", "3.5", "is not a whole number"),
        (10, "InvoiceDate", "first of December", "is not a date and time"),
    ],
)
def test_bad_cell_reported(
    bad_report: ReadReport, row: int, column: str, value: str, fault: str
) -> None:
    matches = [p for p in bad_report.problems if (p.row, p.column) == (row, column)]
    assert len(matches) == 1
    assert matches[0].value == value
    assert fault in matches[0].message
    assert "import again" in matches[0].message


def test_too_few_fields_reported(bad_report: ReadReport) -> None:
    (problem,) = [p for p in bad_report.problems if p.row == 8]
    assert problem.column is None
    assert (
        problem.value == "536367,22748,POPPY'S PLAYHOUSE KITCHEN,6,2010-12-01 08:34:00"
    )
    assert "has 5 fields but the header has 8" in problem.message


def test_bad_rows_left_out(bad_report: ReadReport) -> None:
    lines, report = read_all(DATA / "bad_rows.csv")
    assert [line.row for line in lines] == [2, 9]
    assert report.rejected_rows == [3, 4, 5, 6, 7, 8, 10]
    assert bad_report.problem_count == 8
    assert bad_report.lines == 2
    assert bad_report.ok is False


def test_missing_column_validate_reports() -> None:
    report = validate(DATA / "missing_column.csv")
    (problem,) = report.problems
    assert problem.row == 1
    assert problem.column == "UnitPrice"
    assert "'UnitPrice' or 'Price'" in problem.message
    assert "'InvoiceDate', 'CustomerID', 'Country'" in problem.message
    assert report.rows == 0


def test_missing_column_read_raises() -> None:
    stream = read_history(DATA / "missing_column.csv")
    with pytest.raises(MissingColumnsError, match="no UnitPrice column"):
        next(stream)


def test_rejects_file_has_bad_rows_only(tmp_path: Path) -> None:
    source = tmp_path / "online_retail.csv"
    shutil.copy(DATA / "bad_rows.csv", source)
    report = validate(source)

    dest = write_rejects(source, report)

    with dest.open(encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    original = list(csv.reader((DATA / "bad_rows.csv").open(newline="")))
    assert dest == tmp_path / "online_retail.rejected.csv"
    assert header == ["error", *original[0]]
    assert [row[1:] for row in rows] == [
        original[n - 1] for n in (3, 4, 5, 6, 7, 8, 10)
    ]
    assert rows[0][0].startswith("row 3: Quantity 'six' is not a whole number.")
    assert "InvoiceDate 'first of December'" in rows[-1][0]


def test_rejects_path_beside_input() -> None:
    assert rejects_path("/shop/online_retail.csv.gz") == Path(
        "/shop/online_retail.rejected.csv"
    )
    assert rejects_path("/shop/History.XLSX") == Path("/shop/History.rejected.csv")


# --- account mapping ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "line_class", "invoice", "credit_note"),
    [
        ("85123A", "product", "4000", "4900"),
        ("M", "manual", "4000", "4900"),
        ("m", "manual", "4000", "4900"),
        ("S", "sample", "4000", "4900"),
        ("POST", "shipping", "4010", "4010"),
        ("DOT", "shipping", "4010", "4010"),
        ("C2", "shipping", "4010", "4010"),
        ("D", "discount", "4910", "4910"),
        ("BANK CHARGES", "bank_charges", "6110", "6110"),
        ("AMAZONFEE", "commission", "6100", "6100"),
        ("CRUK", "commission", "6100", "6100"),
        ("B", "bad_debt", "6300", "6300"),
        ("gift_0001_40", "gift_voucher", "2500", "2500"),
        ("post", "product", "4000", "4900"),
    ],
)
def test_default_mapping_rules(
    code: str, line_class: str, invoice: str, credit_note: str
) -> None:
    rule = AccountMapping.default().rule_for(code)
    assert rule.line_class == line_class
    assert rule.account_for("invoice") == invoice
    assert rule.account_for("credit_note") == credit_note


def test_mapping_json_round_trip() -> None:
    mapping = AccountMapping.default()
    restored = AccountMapping.from_dict(json.loads(json.dumps(mapping.to_dict())))
    assert restored == mapping


def test_custom_mapping_changes_accounts() -> None:
    data = AccountMapping.default().to_dict()
    data["codes"]["POST"] = {"line_class": "shipping", "invoice_account": "4020"}  # type: ignore[index]
    lines, report = read_all(
        DATA / "mixed_lines.csv", mapping=AccountMapping.from_dict(data)
    )
    assert by_row(lines)[4].account_code == "4020"
    assert report.month_account_totals["2010-12"]["4020"] == 1800


def test_mapping_rejects_unknown_line_class() -> None:
    with pytest.raises(MappingError, match="line_class 'postage' is invalid"):
        AccountMapping.from_dict(
            {"product": {"line_class": "postage", "invoice_account": "4000"}}
        )


# --- cells and countries ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.55", (Decimal("2.55"), 25500)),
        ("-11062.06", (Decimal("-11062.06"), -110620600)),
        ("0.001", (Decimal("0.001"), 10)),
        ("15", (Decimal("15"), 150000)),
    ],
)
def test_decimal_reader_exact(text: str, expected: tuple[Decimal, int]) -> None:
    assert DecimalReader(4).parse(text) == expected


@pytest.mark.parametrize("text", ["", "1,50", "1e3", "NaN", ".", "2.5.5", "１２"])
def test_decimal_reader_rejects(text: str) -> None:
    with pytest.raises(CellValueError):
        DecimalReader(4).parse(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("6", 6), ("-80995", -80995), ("6.0", 6)]
)
def test_integer_reader_accepts(text: str, expected: int) -> None:
    assert IntegerReader().parse(text) == expected


# Every Country value of the UCI Online Retail file.
DATASET_COUNTRIES = {
    "Australia": "AU",
    "Austria": "AT",
    "Bahrain": "BH",
    "Belgium": "BE",
    "Brazil": "BR",
    "Canada": "CA",
    "Channel Islands": None,
    "Cyprus": "CY",
    "Czech Republic": "CZ",
    "Denmark": "DK",
    "EIRE": "IE",
    "European Community": None,
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Greece": "GR",
    "Hong Kong": "HK",
    "Iceland": "IS",
    "Israel": "IL",
    "Italy": "IT",
    "Japan": "JP",
    "Lebanon": "LB",
    "Lithuania": "LT",
    "Malta": "MT",
    "Netherlands": "NL",
    "Norway": "NO",
    "Poland": "PL",
    "Portugal": "PT",
    "RSA": "ZA",
    "Saudi Arabia": "SA",
    "Singapore": "SG",
    "Spain": "ES",
    "Sweden": "SE",
    "Switzerland": "CH",
    "USA": "US",
    "United Arab Emirates": "AE",
    "United Kingdom": "GB",
    "Unspecified": None,
}


@pytest.mark.parametrize(("name", "code"), sorted(DATASET_COUNTRIES.items()))
def test_country_code_dataset_names(name: str, code: str | None) -> None:
    assert country_code(name) == code


# --- the real file ------------------------------------------------------------


@dataclass
class RealRead:
    report: ReadReport
    lines: int = 0
    amount_minor: int = 0
    watched: dict[str, list[HistoryLine]] = field(default_factory=dict)
    spellings_of_85123a: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def real() -> RealRead:
    if not REAL_FILE.exists():
        pytest.skip(f"real Online Retail file not found at {REAL_FILE}")
    stream = read_history(REAL_FILE)
    result = RealRead(stream.report)
    for chunk in stream:
        for line in chunk:
            result.lines += 1
            result.amount_minor += line.amount_minor
            if line.invoice_no in ("581483", "C581484"):
                result.watched.setdefault(line.invoice_no, []).append(line)
            if line.sku_key == "85123A":
                result.spellings_of_85123a.add(line.stock_code)
    return result


@pytest.mark.realdata
def test_real_file_counts(real: RealRead) -> None:
    report = real.report
    assert real.lines == 541_909
    assert report.problem_count == 0
    assert report.invoice_numbers == 25_900
    assert report.invoices == 22_061
    assert report.credit_notes == 3_836
    assert report.adjustments == 3
    assert report.lines_by_kind["credit_note"] == 9_288
    assert report.customers == 4_372
    assert report.lines_without_customer == 135_080
    assert report.empty_descriptions == 1_454


@pytest.mark.realdata
def test_real_file_quirks(real: RealRead) -> None:
    report = real.report
    assert report.duplicate_lines == 5_268
    assert report.write_offs == 1_336
    assert report.unknown_countries == {
        "Channel Islands": 758,
        "European Community": 61,
        "Unspecified": 446,
    }
    assert report.encoding == "utf-8"
    assert report.date_order == "iso"


@pytest.mark.realdata
def test_real_file_large_order_and_credit(real: RealRead) -> None:
    (invoice,) = real.watched["581483"]
    (credit,) = real.watched["C581484"]
    assert invoice.quantity == 80_995
    assert invoice.amount_minor == 16_846_960
    assert credit.quantity == -80_995
    assert credit.kind == "credit_note"
    assert credit.account_code == "4900"
    assert credit.amount_minor == -16_846_960


@pytest.mark.realdata
def test_real_file_case_folded_sku(real: RealRead) -> None:
    assert real.spellings_of_85123a == {"85123A", "85123a"}


@pytest.mark.realdata
def test_real_file_amount_sum(real: RealRead) -> None:
    # GBP 9,747,747.93: quantity x price per line rounded half-up to the penny.
    assert real.amount_minor == 974_774_793
    assert real.report.total_amount_minor == 974_774_793
    monthly = sum(
        amount
        for accounts in real.report.month_account_totals.values()
        for amount in accounts.values()
    )
    assert monthly == 974_774_793


def test_huge_numbers_are_problems_not_crashes(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,"
        "Country\n"
        "536365,85123A,HEART,99999999999999999999,2010-12-01 08:26:00,2.55,17850,"
        "United Kingdom\n"
        "536366,85123A,HEART,2,2010-12-01 08:26:00,99999999999999999999.99,17850,"
        "United Kingdom\n"
    )
    report = validate(path)
    assert [(p.row, p.column) for p in report.problems] == [
        (2, "Quantity"),
        (3, "UnitPrice"),
    ]
