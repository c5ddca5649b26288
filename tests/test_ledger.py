"""Periods, reversals, reports and the rule checks on the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from app.core import ledger
from app.core.checks import run_checks
from app.core.exceptions import (
    InvalidTransition,
    PeriodClosed,
    UnbalancedEntry,
    ValidationError,
)
from app.core.ledger import Posting
from app.core.models import AuditEvent, JournalLine
from app.core.reports import balance_sheet, profit_loss, trial_balance
from app.core.uow import UnitOfWork
from tests.helpers import NOON, account_nets


def _post(engine, when: datetime, amount: int = 1000) -> int:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        entry = ledger.post(
            uow,
            occurred_at=when,
            kind="manual",
            description="owner pays in",
            postings=[Posting("1000", debit=amount), Posting("3000", credit=amount)],
        )
        uow.commit()
    assert entry is not None
    return entry.id


def test_unbalanced_entry_rejected(shop):  # type: ignore[no-untyped-def]
    with (
        pytest.raises(UnbalancedEntry, match="debits 100 against credits 99"),
        UnitOfWork(shop) as uow,
    ):
        ledger.post(
            uow,
            occurred_at=NOON,
            kind="manual",
            description="bad",
            postings=[Posting("1000", debit=100), Posting("3000", credit=99)],
        )


def test_postings_merge_to_one_line_per_account(shop):  # type: ignore[no-untyped-def]
    with UnitOfWork(shop) as uow:
        entry = ledger.post(
            uow,
            occurred_at=NOON,
            kind="manual",
            description="x",
            postings=[
                Posting("1000", debit=60),
                Posting("1000", debit=40),
                Posting("3000", credit=100),
            ],
        )
        uow.commit()
    assert entry is not None
    assert len(entry.lines) == 2


def test_local_midnight_decides_period(shop):  # type: ignore[no-untyped-def]
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (BST).
    entry_id = _post(shop, datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    with UnitOfWork(shop, write=False) as uow:
        entry = uow.session.get(ledger.JournalEntry, entry_id)
        assert entry is not None
        assert entry.entry_date == date(2026, 6, 1)
        may = trial_balance(uow.session, as_of=date(2026, 5, 31))
        june = trial_balance(uow.session, as_of=date(2026, 6, 1))
    assert next(r for r in may.rows if r.code == "1000").debit == 0
    assert next(r for r in june.rows if r.code == "1000").debit == 1000


def test_closed_period_refuses_postings_and_reopen_is_audited(shop):  # type: ignore[no-untyped-def]
    _post(shop, datetime(2026, 4, 10, tzinfo=UTC))
    with UnitOfWork(shop) as uow:
        ledger.close_period(uow, 2026, 4)
        uow.commit()
    with pytest.raises(PeriodClosed, match="closed period 2026-04"):
        _post(shop, datetime(2026, 4, 20, tzinfo=UTC))
    with pytest.raises(ValidationError, match="reason"), UnitOfWork(shop) as uow:
        ledger.reopen_period(uow, 2026, 4, " ")
    with UnitOfWork(shop) as uow:
        ledger.reopen_period(uow, 2026, 4, "late supplier invoice")
        uow.commit()
    _post(shop, datetime(2026, 4, 20, tzinfo=UTC))
    with UnitOfWork(shop, write=False) as uow:
        reasons = uow.session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "period.reopen")
        ).all()
    assert reasons == ["late supplier invoice"]


def test_check_detects_change_in_closed_period(shop):  # type: ignore[no-untyped-def]
    _post(shop, datetime(2026, 4, 10, tzinfo=UTC))
    with UnitOfWork(shop) as uow:
        ledger.close_period(uow, 2026, 4)
        uow.commit()
    with UnitOfWork(shop) as uow:
        uow.session.execute(update(JournalLine).values(debit=JournalLine.debit + 1))
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        rules = {v.rule for v in run_checks(uow.session)}
    assert rules == {1, 6}


def test_reversal_mirrors_and_cannot_repeat(shop):  # type: ignore[no-untyped-def]
    entry_id = _post(shop, NOON, 700)
    with UnitOfWork(shop) as uow:
        ledger.reverse(uow, entry_id, occurred_at=NOON, reason="typo")
        uow.commit()
    assert account_nets(shop) == {}
    with (
        pytest.raises(InvalidTransition, match="already reversed"),
        UnitOfWork(shop) as uow,
    ):
        ledger.reverse(uow, entry_id, occurred_at=NOON, reason="again")


def test_reports_balance(shop):  # type: ignore[no-untyped-def]
    _post(shop, NOON, 10_000)
    with UnitOfWork(shop) as uow:
        ledger.post(
            uow,
            occurred_at=NOON,
            kind="manual",
            description="sale",
            postings=[Posting("1000", debit=1200), Posting("4000", credit=1200)],
        )
        ledger.post(
            uow,
            occurred_at=NOON,
            kind="manual",
            description="fee",
            postings=[Posting("6110", debit=30), Posting("1000", credit=30)],
        )
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        tb = trial_balance(uow.session)
        pl = profit_loss(uow.session)
        bs = balance_sheet(uow.session)
    assert tb.total_debit == tb.total_credit == 11_200
    assert len(tb.rows) == len(ledger.DEFAULT_CHART)
    assert pl.net_profit == 1170
    assert bs.total_assets == bs.total_liabilities + bs.total_equity == 11_170
    assert tb.to_json()["accounts"][0] == {
        "code": "1000",
        "name": "Bank",
        "type": "asset",
        "debit": "111.70",
        "credit": "0.00",
    }


def test_chart_accepts_new_and_renamed_accounts(shop):  # type: ignore[no-untyped-def]
    with UnitOfWork(shop) as uow:
        ledger.add_account(uow, "6400", "Packaging", "expense")
        ledger.rename_account(uow, "1000", "Current account")
        uow.commit()
    with (
        pytest.raises(ValidationError, match="already exists"),
        UnitOfWork(shop) as uow,
    ):
        ledger.add_account(uow, "6400", "Boxes", "expense")
    with UnitOfWork(shop, write=False) as uow:
        rows = {r.code: r.name for r in trial_balance(uow.session).rows}
    assert rows["6400"] == "Packaging"
    assert rows["1000"] == "Current account"
