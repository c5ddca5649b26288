"""History import on small hand-made files, every figure written out.

history_small.csv holds one of each kind of line. Its amounts, credit minus
debit per account: 4000 Sales 230.72 (15.30 + 20.34 + 11.80 + 2 x 11.10 +
54.08 + 90.00 + 16.50 + 0.50, the last one 3 x 0.165 = 0.495 rounded
half-up), 4010 Shipping 18.00, 4910 Discounts -5.00, 4900 Returns -106.80
(-5.10 - 101.70), 6110 Bank charges 15.00, 2500 Gift vouchers 8.51, 6100
Fees -1.00 and 6300 Bad debts 11,062.06, so 1100 Channel clearing is debited
11,221.49.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, func, select

from app.cli import main
from app.core import db
from app.core.importing.errors import ImportSetupError
from app.core.importing.history import (
    MAPPING_SETTING,
    HistoryOptions,
    import_history,
)
from app.core.importing.online_retail import AccountMapping, read_history
from app.core.importing.progress import CancelToken, Progress
from app.core.ledger import close_period
from app.core.models import (
    Account,
    Channel,
    Customer,
    Invoice,
    JournalEntry,
    JournalLine,
    OrderLine,
    SalesOrder,
    Shop,
    SkuAlias,
    StockMove,
    TaxLine,
    Variant,
)
from app.core.reports import trial_balance
from app.core.setup import ShopSettings, create_shop
from app.core.uow import UnitOfWork
from tests.conftest import REPO
from tests.helpers import account_nets, violations
from tests.pg import postgres_url

DATA = Path(__file__).resolve().parent / "data" / "imports"
SMALL = DATA / "history_small.csv"


def db_path(engine: Engine) -> str:
    database = engine.url.database
    assert database is not None
    return database


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """Run ``backroom`` with --json and return the exit status and the output."""
    status = main([*args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out) if out.strip() else None


def count(engine: Engine, model: Any, *where: Any) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(
            uow.session.scalar(select(func.count()).select_from(model).where(*where))
            or 0
        )


def entry_dates(engine: Engine) -> dict[str, date]:
    """Return each history entry's entry_date by its invoice number."""
    with UnitOfWork(engine, write=False) as uow:
        rows = uow.session.execute(
            select(SalesOrder.external_id, JournalEntry.entry_date).join(
                JournalEntry, JournalEntry.id == SalesOrder.posting_entry_id
            )
        )
        return {number: day for number, day in rows}


def tb_balance(engine: Engine, code: str, as_of: date | None = None) -> int:
    """Return an account's debit minus credit in the trial balance."""
    with UnitOfWork(engine, write=False) as uow:
        rows = trial_balance(uow.session, as_of=as_of).rows
    row = next(r for r in rows if r.code == code)
    return row.debit - row.credit


# --- the small file, line by line ------------------------------------------


@pytest.fixture
def small(shop: Engine) -> Engine:
    result = import_history(shop, SMALL)
    assert result.status == "imported"
    return shop


def test_small_file_account_totals(small: Engine) -> None:
    nets = account_nets(small)
    assert nets == {
        "1100": 1_122_149,
        "2500": -851,
        "4000": -23_072,
        "4010": -1_800,
        "4900": 10_680,
        "4910": 500,
        "6100": 100,
        "6110": -1_500,
        "6300": -1_106_206,
    }


def test_small_file_passes_checks(small: Engine) -> None:
    assert violations(small) == []


def test_small_file_orders_and_invoices(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        orders = {o.external_id: o for o in s.scalars(select(SalesOrder))}
        invoices = {i.display_number: i for i in s.scalars(select(Invoice))}
        channel = s.scalar(select(Channel).where(Channel.kind == "history"))
    assert channel is not None
    assert channel.name == "History"
    assert channel.connected is False
    assert sorted(orders) == [
        "536365",
        "536366",
        "536367",
        "536400",
        "536401",
        "536402",
        "C536379",
        "C536380",
        "C536403",
    ]
    first = orders["536365"]
    assert first.historical is True
    assert first.status == "shipped"
    assert first.tax_source == "none"
    assert first.total == 5_364
    assert first.shipping == 1_800
    assert first.subtotal == 3_564
    assert invoices["536365"].series == "history"
    assert invoices["536365"].number == 536365
    assert invoices["536365"].total == 5_364
    assert invoices["C536380"].kind == "credit_note"
    assert invoices["C536380"].series == "history-credit"
    assert invoices["C536380"].number == 536380
    assert invoices["C536380"].total == 10_170


def test_small_file_discount_order(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        order = uow.session.scalar(
            select(SalesOrder).where(SalesOrder.external_id == "536367")
        )
    assert order is not None
    assert (order.subtotal, order.discount_total, order.total) == (5_408, 500, 4_908)


def test_credit_notes_link_to_earlier_invoice(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        ids = {i.display_number: i.id for i in s.scalars(select(Invoice))}
        links = {
            i.display_number: i.credits_invoice_id
            for i in s.scalars(select(Invoice).where(Invoice.kind == "credit_note"))
        }
    # C536379 credits 85123A, which 536366 holds as 85123a, later than 536365.
    assert links["C536379"] == ids["536366"]
    assert links["C536380"] == ids["536365"]
    assert links["C536403"] is None


def test_over_credit_listed_not_rejected(shop: Engine) -> None:
    result = import_history(shop, SMALL)
    assert result.reconciliation is not None
    over = result.reconciliation.over_credits
    assert [(o.credit_note, o.invoice, o.credited, o.invoice_total) for o in over] == [
        ("C536380", "536365", 10_170, 5_364)
    ]


def test_journal_entry_per_invoice(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        order = s.scalar(select(SalesOrder).where(SalesOrder.external_id == "536365"))
        assert order is not None
        entry = s.get(JournalEntry, order.posting_entry_id)
        assert entry is not None
        lines = s.execute(
            select(Account.code, JournalLine.debit, JournalLine.credit)
            .join(Account, Account.id == JournalLine.account_id)
            .where(JournalLine.entry_id == entry.id)
            .order_by(JournalLine.id)
        ).all()
        channel_ids = set(
            s.scalars(
                select(JournalLine.channel_id).where(JournalLine.entry_id == entry.id)
            )
        )
    assert entry.entry_date == date(2010, 12, 1)
    assert entry.kind == "history.invoice"
    assert channel_ids == {order.channel_id}
    assert [tuple(line) for line in lines] == [
        ("4000", 0, 3_564),
        ("4010", 0, 1_800),
        ("1100", 5_364, 0),
    ]


def test_adjustment_is_entry_only(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        entry = s.scalar(
            select(JournalEntry).where(JournalEntry.kind == "history.adjustment")
        )
        orders = s.scalar(select(func.count()).where(SalesOrder.external_id.like("A%")))
    assert entry is not None
    assert (entry.source_type, entry.source_id) == ("history_adjustment", 563185)
    assert entry.entry_date == date(2011, 8, 12)
    assert orders == 0


def test_zero_write_off_invoice_has_no_entry(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        order = s.scalar(select(SalesOrder).where(SalesOrder.external_id == "536401"))
        assert order is not None
        line = s.scalar(
            select(OrderLine).where(
                OrderLine.order_id == order.id, OrderLine.line_no == 1
            )
        )
    assert line is not None
    assert order.posting_entry_id is None
    assert (line.quantity, line.list_amount, line.quantity_shipped) == (-12, 0, -12)


def test_history_moves_no_stock(small: Engine) -> None:
    assert count(small, StockMove) == 0


def test_history_writes_no_tax_lines(small: Engine) -> None:
    assert count(small, TaxLine) == 0


def test_guest_customer_per_invoice(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        guests = uow.session.execute(
            select(Customer.country, SalesOrder.external_id)
            .join(SalesOrder, SalesOrder.customer_id == Customer.id)
            .where(Customer.is_guest.is_(True))
            .order_by(SalesOrder.external_id)
        ).all()
    assert guests == [(None, "536367"), ("GB", "536401"), ("GB", "C536403")]


def test_customers_keyed_by_customer_id(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        rows = uow.session.execute(
            select(Customer.external_id, Customer.country)
            .where(Customer.is_guest.is_(False))
            .order_by(Customer.external_id)
        ).all()
    assert rows == [("12583", "FR"), ("17850", "GB")]


def test_case_variants_share_one_sku(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        variant = s.scalar(select(Variant).where(Variant.sku_key == "85123A"))
        assert variant is not None
        skus = set(
            s.scalars(
                select(OrderLine.variant_id).where(
                    OrderLine.sku.in_(["85123A", "85123a"])
                )
            )
        )
        aliases = set(
            s.execute(
                select(SkuAlias.kind, SkuAlias.text).where(
                    SkuAlias.variant_id == variant.id
                )
            )
        )
    assert variant.sku == "85123A"
    assert variant.title == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert skus == {variant.id}
    assert aliases == {("description", "CREAM HANGING HEART T-LIGHT HOLDER")}


def test_zero_price_description_kept_as_note(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        s = uow.session
        variant = s.scalar(select(Variant).where(Variant.sku_key == "22633"))
        assert variant is not None
        aliases = set(
            s.execute(
                select(SkuAlias.kind, SkuAlias.text).where(
                    SkuAlias.variant_id == variant.id
                )
            )
        )
    assert variant.title == "HAND WARMER UNION JACK"
    assert aliases == {("note", "check")}


def test_sku_seen_only_at_price_zero_named_by_it(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        variant = uow.session.scalar(select(Variant).where(Variant.sku_key == "21134"))
    assert variant is not None
    assert variant.title == "damaged"


def test_non_product_codes_have_no_variant(small: Engine) -> None:
    with UnitOfWork(small, write=False) as uow:
        rows = uow.session.execute(
            select(OrderLine.sku, OrderLine.variant_id, OrderLine.account_code).where(
                OrderLine.sku.in_(["POST", "D", "BANK CHARGES", "gift_0001_10"])
            )
        ).all()
    assert sorted(rows) == [
        ("BANK CHARGES", None, "6110"),
        ("D", None, "4910"),
        ("POST", None, "4010"),
        ("gift_0001_10", None, "2500"),
    ]


def test_report_counts(shop: Engine) -> None:
    result = import_history(shop, SMALL)
    rec = result.reconciliation
    assert rec is not None
    counts = rec.to_json()["counts"]
    assert counts["invoices"] == 6
    assert counts["credit_notes"] == 3
    assert counts["adjustments"] == 1
    assert counts["lines"] == 19
    assert counts["duplicate_lines"] == 1
    assert counts["unknown_countries"] == {"Channel Islands": 2}
    assert counts["write_offs"] == 2
    assert counts["customers"] == 2
    assert counts["skus"] == 7


def test_report_reconciles(shop: Engine) -> None:
    result = import_history(shop, SMALL)
    rec = result.reconciliation
    assert rec is not None
    assert rec.reconciled is True
    assert rec.file_total == 1_122_149
    assert rec.ledger_clearing_total == 1_122_149


def test_report_json_rows(shop: Engine) -> None:
    result = import_history(shop, SMALL)
    data = result.to_json()
    months = {
        (row["month"], row["account"]): (row["file"], row["ledger"])
        for row in data["reconciliation"]["months"]
    }
    assert months[("2010-12", "4000")] == ("230.72", "230.72")
    assert months[("2010-12", "1100")] == ("-159.43", "-159.43")
    assert months[("2011-08", "6300")] == ("11062.06", "11062.06")
    assert data["mapping"]["codes"]["POST"]["invoice_account"] == "4010"
    assert data["added"]["guests"] == 3


# --- idempotence -----------------------------------------------------------


def test_second_import_adds_nothing(small: Engine) -> None:
    before = account_nets(small)
    result = import_history(small, SMALL)
    assert result.status == "nothing_new"
    assert result.already_imported == 10
    assert result.added.orders == 0
    assert account_nets(small) == before


def test_second_import_via_cli_exits_zero(
    small: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_cli(
        capsys, "import", "history", str(SMALL), "--db", db_path(small)
    )
    assert status == 0
    assert data["status"] == "nothing_new"


def test_overlapping_export_adds_new_only(shop: Engine) -> None:
    first = import_history(shop, DATA / "history_part1.csv")
    second = import_history(shop, DATA / "history_part2.csv")
    assert first.added.orders == 3
    assert second.already_imported == 2
    assert (second.added.invoices, second.added.credit_notes) == (1, 1)
    assert count(shop, SalesOrder) == 5


def test_overlapping_export_links_to_earlier_file(shop: Engine) -> None:
    import_history(shop, DATA / "history_part1.csv")
    import_history(shop, DATA / "history_part2.csv")
    with UnitOfWork(shop, write=False) as uow:
        s = uow.session
        note = s.scalar(select(Invoice).where(Invoice.display_number == "C536369"))
        original = s.scalar(select(Invoice).where(Invoice.display_number == "536367"))
    assert note is not None and original is not None
    assert note.credits_invoice_id == original.id


def test_overlapping_export_reconciles_new_invoices(shop: Engine) -> None:
    import_history(shop, DATA / "history_part1.csv")
    second = import_history(shop, DATA / "history_part2.csv")
    rec = second.reconciliation
    assert rec is not None
    assert rec.reconciled is True
    # 536368: 6 x 4.25; C536369: -2 x 1.69.
    assert rec.file_total == 2_550 - 338


# --- cancel and kill -------------------------------------------------------


def test_cancel_after_first_chunk_keeps_whole_invoices(shop: Engine) -> None:
    token = CancelToken()

    def on_progress(progress: Progress) -> None:
        if progress.phase == "writing":
            token.cancel()

    options = HistoryOptions(chunk_invoices=3)
    result = import_history(shop, SMALL, options, progress=on_progress, cancel=token)
    assert result.status == "cancelled"
    assert result.chunks_committed == 1
    with UnitOfWork(shop, write=False) as uow:
        lines = dict(
            uow.session.execute(
                select(SalesOrder.external_id, func.count(OrderLine.id))
                .join(OrderLine, OrderLine.order_id == SalesOrder.id)
                .group_by(SalesOrder.external_id)
            ).all()
        )
    assert lines == {"536365": 3, "536366": 3, "536367": 2}


def test_rerun_after_cancel_completes(shop: Engine) -> None:
    token = CancelToken()

    def on_progress(progress: Progress) -> None:
        if progress.phase == "writing":
            token.cancel()

    options = HistoryOptions(chunk_invoices=3)
    import_history(shop, SMALL, options, progress=on_progress, cancel=token)
    rest = import_history(shop, SMALL, options)
    assert rest.status == "imported"
    assert rest.already_imported == 3
    assert rest.reconciliation is not None
    assert rest.reconciliation.reconciled is True
    assert account_nets(shop)["1100"] == 1_122_149
    assert violations(shop) == []


def test_cancel_while_reading_writes_nothing(shop: Engine) -> None:
    token = CancelToken()
    token.cancel()
    result = import_history(shop, SMALL, cancel=token)
    assert result.status == "cancelled"
    assert count(shop, Channel, Channel.kind == "history") == 0


# --- local time ------------------------------------------------------------


@pytest.fixture
def clock(shop: Engine) -> Engine:
    result = import_history(shop, DATA / "history_clock.csv")
    assert result.status == "imported"
    return shop


@pytest.mark.parametrize(
    ("invoice", "day"),
    [
        ("548001", date(2011, 3, 27)),  # 00:30 GMT, before the clocks go forward
        ("548002", date(2011, 3, 27)),  # 01:30 does not exist; read as 02:30 BST
        ("548003", date(2011, 4, 1)),  # 00:30 BST is 23:30 UTC on 31 March
        ("558001", date(2011, 7, 1)),  # 00:30 BST is 23:30 UTC on 30 June
        ("568001", date(2011, 10, 30)),  # 01:30 occurs twice; the BST one
        ("568002", date(2011, 10, 30)),  # 00:30 BST is 23:30 UTC on 29 October
        ("568003", date(2011, 10, 31)),  # 23:30 GMT on the last day of October
        ("568004", date(2011, 11, 1)),
    ],
)
def test_entry_lands_on_local_day(clock: Engine, invoice: str, day: date) -> None:
    assert entry_dates(clock)[invoice] == day


@pytest.mark.parametrize(
    ("as_of", "clearing"),
    [
        (date(2011, 3, 26), 0),
        (date(2011, 3, 31), 101 + 102),
        (date(2011, 4, 1), 101 + 102 + 103),
        (date(2011, 6, 30), 101 + 102 + 103),
        (date(2011, 7, 1), 101 + 102 + 103 + 104),
        (date(2011, 10, 29), 101 + 102 + 103 + 104),
        (date(2011, 10, 31), 101 + 102 + 103 + 104 + 105 + 106 + 107),
        (date(2011, 11, 1), 101 + 102 + 103 + 104 + 105 + 106 + 107 + 108),
    ],
)
def test_trial_balance_as_of_month_end(
    clock: Engine, as_of: date, clearing: int
) -> None:
    assert tb_balance(clock, "1100", as_of) == clearing


def test_trial_balance_cli_as_of_bst_month_start(
    clock: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    path = db_path(clock)
    _, june = run_cli(
        capsys, "report", "trial-balance", "--db", path, "--as-of", "2011-06-30"
    )
    _, july = run_cli(
        capsys, "report", "trial-balance", "--db", path, "--as-of", "2011-07-01"
    )
    sales = {a["code"]: a for a in june["accounts"]}["4000"]
    sales_july = {a["code"]: a for a in july["accounts"]}["4000"]
    assert sales["credit"] == "3.06"
    assert sales_july["credit"] == "4.10"


# --- bad rows --------------------------------------------------------------


BAD = DATA / "history_bad.csv"


def test_bad_file_rejected_whole(shop: Engine) -> None:
    result = import_history(shop, BAD)
    assert result.status == "rejected"
    assert count(shop, SalesOrder) == 0
    assert count(shop, Channel, Channel.kind == "history") == 0


@pytest.mark.parametrize(
    ("row", "column", "value", "words"),
    [
        (3, "Quantity", "six", "is not a whole number"),
        (4, "UnitPrice", "1.85555", "more than 4 decimal places"),
        (5, "UnitPrice", "1.8x", "is not a decimal number"),
        (6, "InvoiceDate", "2010-13-45 25:00:00", "is not a date"),
        (7, "InvoiceNo", "", "is empty"),
        (8, "StockCode", "", "is empty"),
        (9, None, None, "The row has 5 fields but the header has 8"),
        (10, "InvoiceNo", "X536371", "is not a number of at most 9 digits"),
        (12, "CustomerID", "12584", "differs from 12583 on row 11"),
        (13, "Description", None, "more than the 300 Backroom keeps"),
    ],
)
def test_bad_row_reported(
    shop: Engine, row: int, column: str | None, value: str | None, words: str
) -> None:
    result = import_history(shop, BAD)
    found = [p for p in result.problems if p.row == row]
    assert len(found) == 1
    assert found[0].column == column
    if value is not None:
        assert found[0].value == value
    assert words in found[0].message


def test_bad_file_problem_count(shop: Engine) -> None:
    result = import_history(shop, BAD)
    assert result.problem_count == 10


def test_bad_file_cli_exit_two(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_cli(capsys, "import", "history", str(BAD), "--db", db_path(shop))
    assert status == 2
    assert data["problem_count"] == 10
    assert count(shop, SalesOrder) == 0


def test_skip_invalid_imports_clean_invoices(shop: Engine, tmp_path: Path) -> None:
    source = tmp_path / "history_bad.csv"
    source.write_bytes(BAD.read_bytes())
    result = import_history(shop, source, HistoryOptions(skip_invalid=True))
    assert result.status == "imported"
    assert count(shop, SalesOrder) == 2
    assert account_nets(shop)["1100"] == 11_040 + 1_008
    assert result.rejected_invoices == 9


def test_skip_invalid_writes_rejects_beside_input(shop: Engine, tmp_path: Path) -> None:
    source = tmp_path / "history_bad.csv"
    source.write_bytes(BAD.read_bytes())
    result = import_history(shop, source, HistoryOptions(skip_invalid=True))
    assert result.rejects_file == str(tmp_path / "history_bad.rejected.csv")
    with open(result.rejects_file, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][:2] == ["error", "InvoiceNo"]
    assert [r[0].split(":")[0] for r in rows[1:]] == [f"row {n}" for n in range(2, 14)]
    assert "Left out with invoice 536365, whose row 3 has a problem" in rows[1][0]


def test_skip_invalid_cli_exits_zero(
    shop: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "history_bad.csv"
    source.write_bytes(BAD.read_bytes())
    status, data = run_cli(
        capsys,
        "import",
        "history",
        str(source),
        "--db",
        db_path(shop),
        "--skip-invalid",
    )
    assert status == 0
    assert data["rejects_file"] == str(tmp_path / "history_bad.rejected.csv")
    assert data["added"]["invoices"] == 2


def test_skip_invalid_reconciles_what_it_kept(shop: Engine, tmp_path: Path) -> None:
    source = tmp_path / "history_bad.csv"
    source.write_bytes(BAD.read_bytes())
    result = import_history(shop, source, HistoryOptions(skip_invalid=True))
    assert result.reconciliation is not None
    assert result.reconciliation.reconciled is True


def test_closed_period_rejects_its_rows(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        close_period(uow, 2011, 8)
        uow.commit()
    result = import_history(shop, SMALL)
    assert result.status == "rejected"
    assert [p.row for p in result.problems] == [20]
    assert "closed period 2011-08" in result.problems[0].message


def test_closed_period_allows_memo_only(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        close_period(uow, 2010, 12)
        uow.commit()
    result = import_history(shop, SMALL, HistoryOptions(memo_only=True))
    assert result.status == "imported"


# --- memo only -------------------------------------------------------------


def test_memo_only_posts_nothing(shop: Engine) -> None:
    result = import_history(shop, SMALL, HistoryOptions(memo_only=True))
    assert result.added.orders == 9
    assert result.added.lines == 18
    assert count(shop, JournalEntry) == 0
    assert result.reconciliation is not None
    assert result.reconciliation.reconciled is None


def test_memo_only_leaves_adjustments_out(shop: Engine) -> None:
    result = import_history(shop, SMALL, HistoryOptions(memo_only=True))
    assert result.to_import == 9
    assert "1 bad-debt adjustments were left out" in result.notes[0]


def test_check_only_writes_nothing(shop: Engine) -> None:
    result = import_history(shop, SMALL, HistoryOptions(check_only=True))
    assert (result.status, result.to_import) == ("checked", 10)
    assert count(shop, SalesOrder) == 0


def test_check_only_counts_clean_invoices(shop: Engine) -> None:
    result = import_history(
        shop, BAD, HistoryOptions(check_only=True, skip_invalid=True)
    )
    assert (result.status, result.to_import, result.problem_count) == (
        "checked",
        2,
        10,
    )


def test_memo_only_keeps_customers(shop: Engine) -> None:
    import_history(shop, SMALL, HistoryOptions(memo_only=True))
    assert count(shop, Customer, Customer.is_guest.is_(False)) == 2


# --- mapping ---------------------------------------------------------------


def test_mapping_file_overrides_and_is_saved(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_cli(
        capsys,
        "import",
        "history",
        str(SMALL),
        "--db",
        db_path(shop),
        "--mapping",
        str(DATA / "mapping_fees.json"),
    )
    assert status == 0
    assert data["mapping"]["codes"]["BANK CHARGES"]["invoice_account"] == "6100"
    assert account_nets(shop)["6100"] == 100 - 1_500
    with UnitOfWork(shop, write=False) as uow:
        shop_row = uow.session.get(Shop, 1)
        assert shop_row is not None
        saved = shop_row.settings[MAPPING_SETTING]
    assert saved["codes"]["BANK CHARGES"]["invoice_account"] == "6100"


def test_saved_mapping_used_next_time(
    shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(
        capsys,
        "import",
        "history",
        str(DATA / "history_part1.csv"),
        "--db",
        db_path(shop),
        "--mapping",
        str(DATA / "mapping_fees.json"),
    )
    result = import_history(shop, SMALL)
    assert result.mapping["codes"]["BANK CHARGES"]["invoice_account"] == "6100"


def test_mapping_to_unknown_account_rejected(shop: Engine) -> None:
    mapping = AccountMapping.default()
    mapping.codes["POST"] = (
        AccountMapping.default()
        .codes["POST"]
        .__class__("shipping", "4011", "4011", "4011")
    )
    with pytest.raises(ImportSetupError, match="names account 4011"):
        import_history(shop, SMALL, HistoryOptions(mapping=mapping))


def test_mapping_to_clearing_rejected(shop: Engine) -> None:
    mapping = AccountMapping.default()
    mapping.codes["POST"] = mapping.codes["POST"].__class__(
        "shipping", "1100", "1100", "1100"
    )
    with pytest.raises(ImportSetupError, match="clearing account"):
        import_history(shop, SMALL, HistoryOptions(mapping=mapping))


def test_other_currency_shop_rejected(make_shop: Any) -> None:
    euro = make_shop("euro", currency="EUR", country="IE", timezone="Europe/Dublin")
    with pytest.raises(
        ImportSetupError, match="in GBP but the shop keeps its books in EUR"
    ):
        import_history(euro, SMALL)


# --- other inputs ----------------------------------------------------------


def test_xlsx_imports_like_csv(shop: Engine, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    with open(SMALL, encoding="utf-8", newline="") as file:
        for row in csv.reader(file):
            sheet.append(row)
    path = tmp_path / "history.xlsx"
    workbook.save(path)
    result = import_history(shop, path)
    assert result.status == "imported"
    assert account_nets(shop)["1100"] == 1_122_149


# --- a killed process, and PostgreSQL --------------------------------------------


def write_generated(path: Path, invoices: int, lines: int) -> int:
    """Write a history file of ``invoices`` invoices and return its total in pence.

    Invoice n has ``lines`` lines of quantity (n % 7) + 1 at 1.25.
    """
    total = 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "InvoiceNo",
                "StockCode",
                "Description",
                "Quantity",
                "InvoiceDate",
                "UnitPrice",
                "CustomerID",
                "Country",
            ]
        )
        for n in range(invoices):
            quantity = n % 7 + 1
            day = 1 + n % 28
            for line in range(lines):
                writer.writerow(
                    [
                        600_000 + n,
                        f"SKU{line:03d}",
                        f"ITEM {line}",
                        quantity,
                        f"2011-02-{day:02d} 10:00:00",
                        "1.25",
                        12_000 + n % 50,
                        "United Kingdom",
                    ]
                )
                total += quantity * 125
    return total


def test_killed_import_leaves_whole_invoices(shop: Engine, tmp_path: Path) -> None:
    path = tmp_path / "generated.csv"
    total = write_generated(path, invoices=20_000, lines=5)
    command = [
        sys.executable,
        "-m",
        "app",
        "import",
        "history",
        str(path),
        "--db",
        db_path(shop),
        "--chunk-invoices",
        "50",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
    )
    try:
        while process.poll() is None and count(shop, SalesOrder) == 0:
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    written = count(shop, SalesOrder)
    with UnitOfWork(shop, write=False) as uow:
        sizes = set(
            uow.session.scalars(
                select(func.count(OrderLine.id))
                .join(SalesOrder, SalesOrder.id == OrderLine.order_id)
                .group_by(SalesOrder.id)
            )
        )
    assert 0 < written < 20_000
    assert written % 50 == 0
    assert sizes == {5}
    assert violations(shop) == []

    rest = import_history(shop, path)
    assert rest.already_imported == written
    assert count(shop, SalesOrder) == 20_000
    assert account_nets(shop)["1100"] == total


def test_postgres_import_moves_id_sequences() -> None:
    with postgres_url() as url:
        engine = db.make_engine(url)
        try:
            create_shop(engine, ShopSettings())
            result = import_history(engine, SMALL, HistoryOptions(chunk_invoices=4))
            assert result.reconciliation is not None
            assert result.reconciliation.reconciled is True
            with UnitOfWork(engine) as uow:
                uow.session.add(Customer(name="Walk-in"))
                uow.commit()
            assert import_history(engine, SMALL).status == "nothing_new"
            assert account_nets(engine)["1100"] == 1_122_149
            assert violations(engine) == []
        finally:
            engine.dispose()


# --- the reader's duplicate count ----------------------------------------------


def test_duplicates_exact_when_hashes_collide(tmp_path: Path) -> None:
    # CPython hashes -1 and -2 alike, so these write-offs at price 0 (amount 0)
    # have equal hashes but different quantities: only row 4 repeats a row.
    path = tmp_path / "writeoffs.csv"
    header = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,"
        "CustomerID,Country"
    )
    row = "536401,21134,damaged,{q},2010-12-02 11:00:00,0,,United Kingdom"
    path.write_text(
        "\n".join([header, row.format(q=-1), row.format(q=-2), row.format(q=-2)]) + "\n"
    )
    stream = read_history(path)
    for _ in stream:
        pass
    assert stream.report.duplicate_lines == 1
