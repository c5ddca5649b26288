"""Product, opening stock and opening balance imports, with the figures written out."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from app.cli import main
from app.core.importing.opening import import_opening_balances
from app.core.importing.products import (
    CatalogFormat,
    CatalogImportResult,
    detect_format,
    import_products,
)
from app.core.importing.stock import StockImportResult, import_stock
from app.core.models import (
    Barcode,
    CostLayer,
    JournalEntry,
    Product,
    StockLevel,
    Variant,
)
from app.core.uow import UnitOfWork
from tests.conftest import shared_data
from tests.helpers import account_nets, violations

DATA = Path(__file__).resolve().parent / "data" / "imports"


def products(
    engine: Engine, path: Path, fmt: CatalogFormat, **kw: Any
) -> CatalogImportResult:
    with UnitOfWork(engine) as uow:
        result = import_products(uow, path, fmt, **kw)
        uow.commit()
    return result


def stock(engine: Engine, path: Path, **kw: Any) -> StockImportResult:
    with UnitOfWork(engine) as uow:
        result = import_stock(uow, path, **kw)
        uow.commit()
    return result


def variant(engine: Engine, sku: str) -> Variant:
    with UnitOfWork(engine, write=False) as uow:
        found = uow.session.scalar(
            select(Variant).where(Variant.sku_key == sku.upper())
        )
    assert found is not None
    return found


def count(engine: Engine, model: Any, *where: Any) -> int:
    with UnitOfWork(engine, write=False) as uow:
        query = select(func.count()).select_from(model).where(*where)
        return int(uow.session.scalar(query) or 0)


def db_path(engine: Engine) -> str:
    assert engine.url.database is not None
    return engine.url.database


# --- Shopify ---------------------------------------------------------------


@pytest.fixture
def shopify_sample() -> Path:
    return shared_data("shopify", "csv", "shopify_product_template_2023-24_format.csv")


def test_shopify_template_creates_products(shop: Engine, shopify_sample: Path) -> None:
    result = products(shop, shopify_sample, "shopify")
    assert (result.products_created, result.variants_created) == (3, 16)
    assert result.skipped == ["row 17: an image of 'example-pants', no variant"]


def test_shopify_variant_fields(shop: Engine, shopify_sample: Path) -> None:
    products(shop, shopify_sample, "shopify")
    shirt = variant(shop, "SRT_COT_122")
    assert shirt.title == "Example T-Shirt - Green / M"
    assert shirt.option_values == "Green / M"
    assert shirt.price == Decimal("25.0000")
    assert shirt.barcode == "463469551155"
    assert shirt.weight_g == 145


def test_shopify_grams_column_whatever_display_unit(
    shop: Engine, shopify_sample: Path
) -> None:
    products(shop, shopify_sample, "shopify")
    # 226.796185 g is 8 oz, shown in ounces but stored in grams.
    assert variant(shop, "PNT_DEN_285").weight_g == 227
    assert variant(shop, "PNT_DEN_285").standard_cost == 5_000


def test_shopify_barcode_identifies_variant(shop: Engine, shopify_sample: Path) -> None:
    products(shop, shopify_sample, "shopify")
    with UnitOfWork(shop, write=False) as uow:
        barcode = uow.session.get(Barcode, "122327648356")
    assert barcode is not None
    assert barcode.variant_id == variant(shop, "HAT_GRY_275").id


def test_shopify_reimport_updates_not_duplicates(
    shop: Engine, shopify_sample: Path
) -> None:
    products(shop, shopify_sample, "shopify")
    again = products(shop, shopify_sample, "shopify")
    assert (again.products_created, again.variants_created) == (0, 0)
    assert (again.products_updated, again.variants_updated) == (3, 16)
    assert count(shop, Variant) == 16


def test_shopify_2025_template(shop: Engine) -> None:
    result = products(shop, DATA / "shopify_2025.csv", "shopify")
    apron = variant(shop, "APR-CHR")
    assert (result.products_created, result.variants_created) == (2, 3)
    assert apron.title == "Linen Apron - Charcoal"
    assert apron.barcode == "5012345678917"
    assert apron.weight_g == 310
    assert apron.standard_cost == 950


def test_shopify_archived_product_inactive(shop: Engine) -> None:
    products(shop, DATA / "shopify_2025.csv", "shopify")
    towel = variant(shop, "TT-01")
    with UnitOfWork(shop, write=False) as uow:
        product = uow.session.get(Product, towel.product_id)
    assert product is not None
    assert product.active is False
    assert towel.option_values == ""
    assert towel.weight_g == 85


def test_shopify_existing_sku_updated_in_place(shop: Engine) -> None:
    products(shop, DATA / "shopify_2025.csv", "shopify")
    before = variant(shop, "APR-NAT")
    edited = DATA / "shopify_2025.csv"
    text = edited.read_text().replace("APR-NAT,5012345678900", "apr-nat,5012345678900")
    copy = Path(db_path(shop)).with_name("edited.csv")
    copy.write_text(text.replace(",24.00,,9.50,", ",26.00,,9.50,", 1))
    products(shop, copy, "shopify")
    after = variant(shop, "APR-NAT")
    assert after.id == before.id
    assert after.price == Decimal("26.0000")


def test_shopify_barcode_of_other_sku_rejected(shop: Engine, tmp_path: Path) -> None:
    products(shop, DATA / "shopify_2025.csv", "shopify")
    clash = tmp_path / "clash.csv"
    text = (DATA / "shopify_2025.csv").read_text()
    clash.write_text(text.replace("TT-01,,", "TT-01,5012345678900,"))
    result = products(shop, clash, "shopify")
    assert result.status == "rejected"
    assert [(p.row, p.column) for p in result.problems] == [(5, "Barcode")]


# --- WooCommerce -----------------------------------------------------------


@pytest.fixture
def woo_sample() -> Path:
    return shared_data("woocommerce", "csv", "sample_products.csv")


def test_woocommerce_sample_products(shop: Engine, woo_sample: Path) -> None:
    result = products(shop, woo_sample, "woocommerce")
    assert (result.products_created, result.variants_created) == (16, 21)
    assert result.skipped == [
        "row 24: grouped product 'Logo Collection' holds no stock of its own",
        "row 25: external product 'WordPress Pennant' holds no stock of its own",
    ]


def test_woocommerce_variations_join_parent(shop: Engine, woo_sample: Path) -> None:
    products(shop, woo_sample, "woocommerce")
    with UnitOfWork(shop, write=False) as uow:
        product = uow.session.scalar(select(Product).where(Product.title == "Hoodie"))
        assert product is not None
        skus = sorted(
            uow.session.scalars(
                select(Variant.sku).where(Variant.product_id == product.id)
            )
        )
    assert skus == [
        "woo-hoodie-blue",
        "woo-hoodie-blue-logo",
        "woo-hoodie-green",
        "woo-hoodie-red",
    ]


def test_woocommerce_pounds_and_inches(shop: Engine, woo_sample: Path) -> None:
    products(shop, woo_sample, "woocommerce")
    belt = variant(shop, "woo-belt")
    # 1.2 lb = 544.31 g; 12 in = 304.8 mm.
    assert belt.weight_g == 544
    assert belt.length_mm == 305
    assert belt.price == Decimal("65.0000")


def test_woocommerce_variation_inherits_weight(shop: Engine, woo_sample: Path) -> None:
    products(shop, woo_sample, "woocommerce")
    # The V-neck's variations have no weight; the parent's .5 lb is 226.8 g.
    assert variant(shop, "woo-vneck-tee-red").weight_g == 227
    assert variant(shop, "woo-vneck-tee-red").option_values == "Red"


def test_woocommerce_variation_without_sku_rejected(shop: Engine) -> None:
    path = shared_data("woocommerce", "csv", "test_importer_sample_products.csv")
    result = products(shop, path, "woocommerce")
    assert result.status == "rejected"
    assert [(p.row, p.column) for p in result.problems] == [(6, "SKU"), (7, "SKU")]
    assert count(shop, Variant) == 0


def test_woocommerce_skip_invalid_imports_rest(shop: Engine, tmp_path: Path) -> None:
    source = shared_data("woocommerce", "csv", "test_importer_sample_products.csv")
    path = tmp_path / "products.csv"
    path.write_bytes(source.read_bytes())
    result = products(shop, path, "woocommerce", skip_invalid=True)
    assert result.status == "imported"
    assert sorted(v.sku for v in _all_variants(shop)) == ["WOOALBUM", "WOOLOGO"]
    assert result.rejects_file == str(tmp_path / "products.rejected.csv")
    with open(result.rejects_file, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert [row[0][:6] for row in rows[1:]] == ["row 6:", "row 7:"]


def _all_variants(engine: Engine) -> list[Variant]:
    with UnitOfWork(engine, write=False) as uow:
        return list(uow.session.scalars(select(Variant)))


def test_woocommerce_customs_columns(shop: Engine) -> None:
    products(shop, DATA / "woocommerce_customs.csv", "woocommerce")
    white = variant(shop, "MUG-WHT")
    blue = variant(shop, "MUG-BLU")
    spoon = variant(shop, "SPOON")
    assert (white.hs_code, white.country_of_origin, white.weight_g) == (
        "7323.94",
        "CN",
        250,
    )
    assert (blue.country_of_origin, blue.weight_g) == ("IN", 300)
    assert (spoon.hs_code, spoon.country_of_origin) == ("8215.99", "DE")
    assert (spoon.length_mm, spoon.width_mm, spoon.height_mm) == (180, 30, 10)


def test_detect_format() -> None:
    assert detect_format(DATA / "shopify_2025.csv") == "shopify"
    assert detect_format(DATA / "woocommerce_customs.csv") == "woocommerce"


def test_products_cli(
    shop: Engine, shopify_sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "import",
            "products",
            "--format",
            "shopify",
            str(shopify_sample),
            "--db",
            db_path(shop),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["variants_created"] == 16


# --- opening stock ---------------------------------------------------------


@pytest.fixture
def catalog(shop: Engine, shopify_sample: Path) -> Engine:
    products(shop, shopify_sample, "shopify")
    return shop


def test_stock_receives_opening_balance(catalog: Engine) -> None:
    result = stock(catalog, DATA / "stock_opening.csv")
    # 10 x 7.25 + 4 x 7.25 + 3 x 8.333 (24.999, rounded to 25.00).
    assert (result.rows_received, result.units, result.value) == (3, 17, 12_650)
    nets = account_nets(catalog)
    assert nets == {"1200": 12_650, "3100": -12_650}


def test_stock_creates_cost_layers(catalog: Engine) -> None:
    stock(catalog, DATA / "stock_opening.csv")
    with UnitOfWork(catalog, write=False) as uow:
        layers = uow.session.execute(
            select(Variant.sku, CostLayer.quantity_remaining, CostLayer.value_remaining)
            .join(Variant, Variant.id == CostLayer.variant_id)
            .order_by(Variant.sku)
        ).all()
    assert layers == [
        ("HAT_GRY_275", 3, 2_500),
        ("SRT_COT_111", 10, 7_250),
        ("SRT_COT_122", 4, 2_900),
    ]


def test_stock_keeps_rules(catalog: Engine) -> None:
    stock(catalog, DATA / "stock_opening.csv")
    assert violations(catalog) == []


def test_stock_levels_on_hand(catalog: Engine) -> None:
    stock(catalog, DATA / "stock_opening.csv")
    with UnitOfWork(catalog, write=False) as uow:
        on_hand = sum(uow.session.scalars(select(StockLevel.on_hand)))
    assert on_hand == 17


def test_stock_second_import_rejected(catalog: Engine) -> None:
    stock(catalog, DATA / "stock_opening.csv")
    again = stock(catalog, DATA / "stock_opening.csv")
    assert again.status == "rejected"
    assert [p.row for p in again.problems] == [2, 3, 4]
    assert account_nets(catalog)["1200"] == 12_650


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (3, "SKU", "is not in the catalog"),
        (4, "Warehouse", "is not a warehouse code"),
        (5, "Quantity", "is not a whole number above zero"),
        (6, "Quantity", "is not a whole number above zero"),
        (7, "Unit cost", "is not a cost"),
        (8, "SKU", "is already on row 2"),
    ],
)
def test_stock_bad_row_reported(
    catalog: Engine, row: int, column: str, words: str
) -> None:
    result = stock(catalog, DATA / "stock_bad.csv")
    found = [p for p in result.problems if p.row == row]
    assert len(found) == 1
    assert found[0].column == column
    assert words in found[0].message


def test_stock_bad_file_writes_nothing(catalog: Engine) -> None:
    result = stock(catalog, DATA / "stock_bad.csv")
    assert result.status == "rejected"
    assert count(catalog, CostLayer) == 0


def test_stock_skip_invalid_receives_good_rows(catalog: Engine, tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes((DATA / "stock_bad.csv").read_bytes())
    result = stock(catalog, path, skip_invalid=True)
    assert (result.rows_received, result.value) == (1, 7_250)
    assert result.rejects_file == str(tmp_path / "stock.rejected.csv")
    assert violations(catalog) == []


def test_stock_cli_dates_the_receipt(
    catalog: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "import",
            "stock",
            str(DATA / "stock_opening.csv"),
            "--db",
            db_path(catalog),
            "--date",
            "2024-01-01",
        ]
    )
    capsys.readouterr()
    with UnitOfWork(catalog, write=False) as uow:
        days = set(uow.session.scalars(select(JournalEntry.entry_date)))
    assert status == 0
    assert days == {date(2024, 1, 1)}


# --- opening balances ------------------------------------------------------


def test_opening_balances_post_against_3100(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        result = import_opening_balances(uow, DATA / "opening_balances.csv")
        uow.commit()
    assert result.status == "posted"
    assert result.entry_date == date(2024, 1, 1)
    # Debits 12,500.00 against credits 3,200.50 + 1,840.00 leave 7,459.50.
    assert account_nets(shop) == {
        "1000": 1_250_000,
        "2000": -320_050,
        "2200": -184_000,
        "3100": -745_950,
    }


def test_opening_balances_date_option_wins(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        result = import_opening_balances(
            uow, DATA / "opening_balances.csv", on=date(2024, 3, 31)
        )
        uow.commit()
    assert result.entry_date == date(2024, 3, 31)


def test_opening_balances_twice_rejected(shop: Engine) -> None:
    for _ in range(2):
        with UnitOfWork(shop) as uow:
            result = import_opening_balances(uow, DATA / "opening_balances.csv")
            uow.commit()
    assert result.status == "rejected"
    assert "already posted as journal entry" in result.problems[0].message


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (3, "is not in the chart of accounts"),
        (4, "is Opening balances, which takes the difference"),
        (5, "is Inventory, which must equal the stock's cost layers"),
        (6, "has both a debit and a credit"),
        (7, "is not an amount"),
    ],
)
def test_opening_balances_bad_row(shop: Engine, row: int, words: str) -> None:
    with UnitOfWork(shop) as uow:
        result = import_opening_balances(uow, DATA / "opening_bad.csv")
    found = [p for p in result.problems if p.row == row]
    assert len(found) == 1
    assert words in found[0].message


def test_opening_balances_bad_file_posts_nothing(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "import",
            "opening-balances",
            str(DATA / "opening_bad.csv"),
            "--db",
            db_path(shop),
        ]
    )
    capsys.readouterr()
    assert status == 2
    assert count(shop, JournalEntry) == 0
