"""WooCommerce tax-rate CSV parsing and the default tax tables."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from app.core.tax import Destination, TaxError, TaxRate, matching_rates
from app.core.taxtables import (
    DEFAULT_TABLE_DIR,
    TaxTableError,
    load_default_rates,
    parse_woocommerce_tax_csv,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
WOO_CSV = DATA / "woocommerce" / "csv"
TAX_DATA = DATA / "tax"

needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason="shared real-data folder is absent"
)

HEADER = "Country code,State code,Postcode / ZIP,City,Rate %,Tax name,Priority,Compound,Shipping,Tax class\n"  # noqa: E501


# WooCommerce's own sample files -----------------------------------------------


@needs_data
@pytest.mark.realdata
@pytest.mark.parametrize(
    "file_name", ["sample_tax_rates.csv", "test_importer_sample_tax_rates.csv"]
)
def test_woocommerce_sample_parses(file_name: str) -> None:
    rates = parse_woocommerce_tax_csv(WOO_CSV / file_name)

    assert len(rates) == 5
    assert rates[0] == TaxRate(
        country="GB",
        region=None,
        postcode=None,
        city=None,
        rate=Decimal("20"),
        name="VAT",
        priority=1,
        compound=True,
        shipping=True,
        source=file_name,
        tax_class="",
    )
    assert [rate.tax_class for rate in rates] == [
        "",
        "reduced-rate",
        "zero-rate",
        "",
        "",
    ]
    assert rates[1].rate == Decimal("5")
    assert rates[2].rate == Decimal("0")
    assert rates[3].country == "US"
    assert rates[3].rate == Decimal("10")


@needs_data
@pytest.mark.realdata
def test_woocommerce_sample_alabama_row() -> None:
    alabama = parse_woocommerce_tax_csv(WOO_CSV / "sample_tax_rates.csv")[4]

    assert alabama.region == "AL"
    assert alabama.postcode == "12345;123456"
    assert alabama.city is None
    assert alabama.rate == Decimal("2")
    assert alabama.name == "US AL"
    assert alabama.priority == 2


@needs_data
@pytest.mark.realdata
def test_woocommerce_sample_rates_add_up_by_priority() -> None:
    rates = parse_woocommerce_tax_csv(WOO_CSV / "sample_tax_rates.csv")

    picked = matching_rates(rates, Destination("US", "AL", "12345"))

    assert [(rate.name, rate.priority) for rate in picked] == [("US", 1), ("US AL", 2)]


# Parsing text and collecting problems -----------------------------------------


def test_csv_text_parses_like_a_file() -> None:
    text = HEADER + "US,ca,90001...90099; 90210,Los Angeles;*,2.5,LA,2,0,0,standard\n"

    (rate,) = parse_woocommerce_tax_csv(text, source="la.csv")

    assert rate == TaxRate(
        country="US",
        region="CA",
        postcode="90001...90099;90210",
        city="LOS ANGELES",
        rate=Decimal("2.5"),
        name="LA",
        priority=2,
        compound=False,
        shipping=False,
        source="la.csv",
        tax_class="",
    )


def test_empty_tax_name_defaults_to_tax() -> None:
    (rate,) = parse_woocommerce_tax_csv(HEADER + "FR,,,,20,,1,0,1,\n")

    assert rate.name == "Tax"
    assert rate.country == "FR"
    assert rate.source == ""


def test_blank_rows_are_skipped() -> None:
    text = HEADER + "\nFR,,,,20,VAT,1,0,1,\n,,,,,,,,,\n"

    rates = parse_woocommerce_tax_csv(text)

    assert len(rates) == 1


def test_bad_rows_are_collected_into_one_error() -> None:
    text = (
        HEADER
        + "GB,*,*,*,20.0000,VAT,1,0,1,\n"
        + "GB,*,*,*,twenty,VAT,1,0,1,\n"
        + "XX,*,*,*,5,VAT,1,2,1,\n"
        + "DE,*,*,*,19,VAT,one,0,yes,\n"
    )

    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv(text)

    problems = [(p.row, p.column, p.value) for p in caught.value.problems]
    assert problems == [
        (3, "Rate %", "twenty"),
        (4, "Country code", "XX"),
        (4, "Compound", "2"),
        (5, "Priority", "one"),
        (5, "Shipping", "yes"),
    ]


def test_table_error_message_lists_every_problem() -> None:
    text = HEADER + "GB,*,*,*,twenty,VAT,1,0,1,\nXX,*,*,*,5,VAT,1,0,1,\n"

    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv(text)

    message = str(caught.value)
    assert (
        "<text> row 2, column 'Rate %': rate 'twenty' is not a percentage from 0 to 100"
        in message
    )
    assert "<text> row 3, column 'Country code': country code 'XX'" in message
    assert caught.value.field == "Rate %"
    assert caught.value.value == "twenty"


def test_table_error_is_a_tax_error() -> None:
    assert issubclass(TaxTableError, TaxError)


def test_table_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + "GB,*,*,*,-5,VAT,1,0,1,\n", encoding="utf-8")

    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv(path)

    assert f"{path} row 2, column 'Rate %'" in str(caught.value)


def test_short_row_is_reported() -> None:
    text = HEADER + "GB,*,*,*,20\n"

    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv(text)

    assert caught.value.problems[0].column == "(row)"
    assert caught.value.problems[0].row == 2


def test_non_numeric_postcode_range_is_reported() -> None:
    text = HEADER + "GB,*,CF1...CF9,*,20,VAT,1,0,1,\n"

    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv(text)

    assert caught.value.problems[0].column == "Postcode / ZIP"


def test_header_with_wrong_column_count_is_rejected() -> None:
    with pytest.raises(TaxTableError) as caught:
        parse_woocommerce_tax_csv("Country,Rate\nGB,20\n")

    assert caught.value.problems[0].column == "(header)"


# Default tables ---------------------------------------------------------------


def default_rate(country: str, region: str | None = None) -> TaxRate:
    for rate in load_default_rates():
        if rate.country == country and rate.region == region and not rate.postcode:
            return rate
    raise AssertionError(f"no default rate for {country} {region}")


def test_default_tables_have_german_vat() -> None:
    assert default_rate("DE").rate == Decimal("19")


def test_default_tables_have_uk_vat() -> None:
    assert default_rate("GB").rate == Decimal("20")


def test_default_tables_have_california_state_rate() -> None:
    california = default_rate("US", "CA")

    assert california.rate == Decimal("7.25")
    assert california.name == "CA State Tax"


def test_default_tables_mark_their_source() -> None:
    assert default_rate("DE").source == "eu_gb_vat_standard.csv"
    assert default_rate("US", "NY").source == "us_state_base.csv"


def test_default_tables_cover_eu_gb_and_us_states() -> None:
    rates = load_default_rates()

    vat_countries = {rate.country for rate in rates if rate.country != "US"}
    us_states = {rate.region for rate in rates if rate.country == "US"}
    assert len(vat_countries) == 28
    assert len(us_states) == 51


def test_default_tables_list_heligoland_exception() -> None:
    heligoland = [rate for rate in load_default_rates() if rate.postcode == "27498"]

    assert len(heligoland) == 1
    assert heligoland[0].country == "DE"
    assert heligoland[0].rate == Decimal("0")


def test_default_tables_list_ceuta_as_ranges() -> None:
    (ceuta,) = [r for r in load_default_rates() if r.name == "VAT (Ceuta)"]

    assert ceuta.postcode == "51001...51005;51070...51071;51081"


def test_default_tables_send_canary_islands_to_exception() -> None:
    spain = [rate for rate in load_default_rates() if rate.country == "ES"]

    (picked,) = matching_rates(spain, Destination("ES", postcode="35001"))

    assert picked.name == "VAT (Canary Islands)"


def test_default_tables_send_madeira_prefix_to_exception() -> None:
    portugal = [rate for rate in load_default_rates() if rate.country == "PT"]

    (picked,) = matching_rates(portugal, Destination("PT", postcode="9000-123"))

    assert picked.name == "VAT (Madeira)"
    assert picked.rate == Decimal("22")


# The build script -------------------------------------------------------------


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_tax_tables", REPO / "scripts" / "build_tax_tables.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("regex", "patterns"),
    [
        ("27498", ["27498"]),
        ("699[123]", ["6991...6993"]),
        (r"(35\d{3}|38\d{3})", ["35000...35999", "38000...38999"]),
        ("(5100[1-5]|5107[0-1]|51081)", ["51001...51005", "51070...51071", "51081"]),
        (r"971\d{2,}", ["971*"]),
        (r"9[0-4]\d{2,}", ["90*", "91*", "92*", "93*", "94*"]),
    ],
)
def test_build_script_translates_postcode_regex(
    regex: str, patterns: list[str]
) -> None:
    assert load_build_script().regex_to_postcodes(regex) == patterns


@needs_data
@pytest.mark.realdata
def test_build_script_reproduces_committed_tables(tmp_path: Path) -> None:
    readme = (DEFAULT_TABLE_DIR / "README.md").read_text(encoding="utf-8")
    built = re.search(r"Built on (\d{4}-\d{2}-\d{2})", readme)
    assert built is not None

    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_tax_tables.py"),
            "--data-dir",
            str(TAX_DATA),
            "--out",
            str(tmp_path),
            "--as-of",
            built.group(1),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    for name in ("eu_gb_vat_standard.csv", "us_state_base.csv", "README.md"):
        rebuilt = (tmp_path / name).read_text(encoding="utf-8")
        assert rebuilt == (DEFAULT_TABLE_DIR / name).read_text(encoding="utf-8")
