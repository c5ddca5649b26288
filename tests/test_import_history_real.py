"""The UCI Online Retail file imported once into a shop, then checked to the penny.

The import runs once per test session into a cached database; every test
here reads that database. The file's lines sum to 9,747,747.93 GBP, which
is what 1100 Channel clearing must be debited with.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.core.checks import run_checks
from app.core.importing.history import (
    find_history_channel,
)
from app.core.importing.reconcile import file_month_totals, ledger_month_totals
from app.core.models import Customer, Invoice, OrderLine, SalesOrder, Variant
from app.core.uow import UnitOfWork
from tests.realshop import LINE_TOTAL, Imported


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    status = main([*args, "--json"])
    assert status == 0
    return json.loads(capsys.readouterr().out)


def minor(text: str) -> int:
    whole, _, fraction = text.lstrip("-").partition(".")
    value = int(whole) * 100 + int(fraction)
    return -value if text.startswith("-") else value


def month_ends(months: list[str]) -> list[date]:
    ends = []
    for month in months:
        year, number = (int(part) for part in month.split("-"))
        first_of_next = date(year + number // 12, number % 12 + 1, 1)
        ends.append(first_of_next - timedelta(days=1))
    return ends


# --- the import itself -----------------------------------------------------


def test_real_file_imports_without_problems(imported: Imported) -> None:
    assert imported.first.status == "imported"
    assert imported.first.problem_count == 0


def test_real_file_reconciles(imported: Imported) -> None:
    rec = imported.first.reconciliation
    assert rec is not None
    assert rec.mismatches == []
    assert rec.reconciled is True


def test_real_file_counts(imported: Imported) -> None:
    added = imported.first.added
    assert (added.invoices, added.credit_notes, added.adjustments) == (
        22_061,
        3_836,
        3,
    )
    assert added.lines == 541_906
    assert (added.customers, added.guests) == (4_372, 3_707)
    assert added.products == 3_943


def test_real_file_credit_notes_over_invoice_listed(imported: Imported) -> None:
    rec = imported.first.reconciliation
    assert rec is not None
    assert len(rec.over_credits) == 52


# --- ledger against the file -----------------------------------------------


def test_ledger_ties_to_reader_by_month_and_account(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        channel_id = find_history_channel(uow.session)
        assert channel_id is not None
        ledger = ledger_month_totals(uow.session, channel_id)
    assert ledger == {
        key: amount
        for key, amount in file_month_totals(
            imported.report.month_account_totals
        ).items()
        if amount
    }


def test_trial_balance_clearing_equals_all_lines(
    imported: Imported, capsys: pytest.CaptureFixture[str]
) -> None:
    data = cli_json(capsys, "report", "trial-balance", "--db", str(imported.path))
    clearing = {a["code"]: a for a in data["accounts"]}["1100"]
    assert clearing["debit"] == "9747747.93"
    assert imported.report.total_amount_minor == LINE_TOTAL


def test_trial_balance_each_account_equals_its_lines(
    imported: Imported, capsys: pytest.CaptureFixture[str]
) -> None:
    data = cli_json(capsys, "report", "trial-balance", "--db", str(imported.path))
    accounts = {
        a["code"]: minor(a["credit"]) - minor(a["debit"]) for a in data["accounts"]
    }
    expected: dict[str, int] = {}
    for totals in imported.report.month_account_totals.values():
        for account, amount in totals.items():
            expected[account] = expected.get(account, 0) + amount
    expected["1100"] = -LINE_TOTAL
    assert {code: amount for code, amount in accounts.items() if amount} == {
        code: amount for code, amount in expected.items() if amount
    }


def test_trial_balance_as_of_each_month_end(
    imported: Imported, capsys: pytest.CaptureFixture[str]
) -> None:
    months = sorted(imported.report.month_account_totals)
    assert len(months) == 13
    running: dict[str, int] = {}
    mismatched = []
    for month, as_of in zip(months, month_ends(months), strict=True):
        for account, amount in imported.report.month_account_totals[month].items():
            running[account] = running.get(account, 0) + amount
            running["1100"] = running.get("1100", 0) - amount
        data = cli_json(
            capsys,
            "report",
            "trial-balance",
            "--db",
            str(imported.path),
            "--as-of",
            as_of.isoformat(),
        )
        shown = {
            a["code"]: minor(a["credit"]) - minor(a["debit"])
            for a in data["accounts"]
            if a["debit"] != "0.00" or a["credit"] != "0.00"
        }
        if shown != {code: amount for code, amount in running.items() if amount}:
            mismatched.append(as_of)
    assert mismatched == []


def test_checks_pass(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        found = [v.message for v in run_checks(uow.session)]
    assert found == []


# --- idempotence -----------------------------------------------------------


def test_second_import_adds_nothing(imported: Imported) -> None:
    assert imported.second.status == "nothing_new"
    assert imported.second.already_imported == 25_900
    assert imported.second.added.orders == 0
    assert imported.second.added.journal_entries == 0


def test_second_import_leaves_order_count(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        orders = uow.session.scalar(select(func.count()).select_from(SalesOrder))
    assert orders == 25_897


# --- the largest order and its credit note ---------------------------------


def test_large_order_and_credit_both_import(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        s = uow.session
        rows = s.execute(
            select(SalesOrder.external_id, OrderLine.quantity, OrderLine.list_amount)
            .join(OrderLine, OrderLine.order_id == SalesOrder.id)
            .where(SalesOrder.external_id.in_(["581483", "C581484"]))
            .order_by(SalesOrder.external_id)
        ).all()
        invoices = {
            i.display_number: i
            for i in s.scalars(
                select(Invoice).where(Invoice.display_number.in_(["581483", "C581484"]))
            )
        }
    assert rows == [("581483", 80_995, 16_846_960), ("C581484", -80_995, -16_846_960)]
    assert invoices["C581484"].credits_invoice_id == invoices["581483"].id
    assert invoices["C581484"].total == invoices["581483"].total


def test_case_folded_sku_keeps_common_spelling(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        variant = uow.session.scalar(select(Variant).where(Variant.sku_key == "85123A"))
    assert variant is not None
    assert variant.sku == "85123A"


def test_unknown_countries_kept_unknown(imported: Imported) -> None:
    with UnitOfWork(imported.engine, write=False) as uow:
        unknown = uow.session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.is_guest.is_(False), Customer.country.is_(None))
        )
    rec = imported.first.reconciliation
    assert rec is not None
    assert rec.unknown_countries == {
        "Channel Islands": 758,
        "Unspecified": 446,
        "European Community": 61,
    }
    assert unknown is not None and unknown > 0
