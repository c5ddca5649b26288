"""Month-end close: each checklist item on its own case, forced close, reopen,
close time, and the year-end closing entry with its figures written out.

The sample sale, on a VAT-inclusive channel: 2 x MUG at 6.00 (1200, of which
200 VAT) and shipping 3.99 (399, of which 67 VAT): total 1599, net sales
1000, shipping income 332, tax 267. MUG costs 250, so COGS is 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from app.cli import main
from app.core import inventory, shipments
from app.core.accounting import (
    Month,
    check_month,
    close_durations,
    close_month,
    close_year,
    fiscal_year_range,
    import_payouts,
    import_statement,
    match_statement,
    register_provider,
    reopen_month,
    reopen_year,
    run_checklist,
)
from app.core.accounting.checklist import Provider, RecordRef, providers
from app.core.accounting.payout_formats import read_stripe_csv
from app.core.exceptions import InvalidTransition, PeriodClosed, ValidationError
from app.core.ledger import Posting, post
from app.core.models import (
    AuditEvent,
    JournalEntry,
    Period,
    Shop,
    StockCount,
    StockLevel,
)
from app.core.models.accounting import FiscalYear
from app.core.order_input import (
    Address,
    ChannelTax,
    CustomerInput,
    LineInput,
    OrderInput,
)
from app.core.reports import balance_sheet, profit_loss, trial_balance
from app.core.returns import (
    Grade,
    ReturnLineInput,
    authorize,
    inspect,
    receive,
    release_refund,
    request_refund,
)
from app.core.shipments import ShipmentInfo
from app.core.uow import UnitOfWork
from tests.helpers import add_channel, add_sku, capture

JUNE = Month(2026, 6)
DAY = timedelta(days=1)
# The checklist runs as if on 2 July 2026, two days after June ended.
JULY_2 = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def at(day: int, month: int = 6, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


PLACED, SHIPPED = at(10), at(11)


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def read(engine: Engine, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine, write=False) as uow:
        return query(uow.session, *args, **kwargs)


def setup_shop(engine: Engine) -> None:
    """The Shop channel (VAT included) and 20 MUG at 250 received on 1 June."""
    add_channel(engine, "Shop", "shopify", prices_include_tax=True)
    add_sku(engine, "MUG")
    step(engine, inventory.receive, "MUG", "MAIN", 20, 250, at=at(1, hour=8))


def sell(
    engine: Engine,
    external_id: str,
    *,
    placed: datetime = PLACED,
    shipped: datetime | None = SHIPPED,
    label_cost: int | None = 450,
    quantity: int = 2,
    **extra: Any,
) -> int:
    """Capture the sample sale and ship it; return the order id."""
    result = capture(
        engine,
        OrderInput(
            channel=extra.pop("channel", "Shop"),
            external_id=external_id,
            placed_at=placed,
            ship_to=LONDON,
            customer=CustomerInput(name="Ann Smith", email="ann@example.com"),
            lines=extra.pop("lines", [LineInput("MUG", quantity, "6.00")]),
            shipping="3.99",
            **extra,
        ),
    )
    if shipped is not None:
        step(
            engine,
            shipments.ship,
            result.order_id,
            at=shipped,
            info=ShipmentInfo(carrier="Royal Mail", label_cost=label_cost),
        )
    return result.order_id


def findings(engine: Engine, key: str, month: Month = JUNE) -> list[str]:
    """Return the labels of one checklist item for a month, checked on 2 July."""
    checklist = read(engine, check_month, month, now=JULY_2)
    [item] = [i for i in checklist.items if i.key == key]
    return [r.label for r in item.records]


def stripe_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "stripe.csv"
    path.write_text(
        "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
        "reporting_category,description\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path


# --- the checklist items ----------------------------------------------------


def test_builtin_providers_in_order() -> None:
    assert [p.key for p in providers()][:9] == [
        "unshipped_orders",
        "missing_label_cost",
        "returns",
        "open_counts",
        "negative_stock",
        "tax_differences",
        "channel_clearing",
        "payouts_not_banked",
        "rules",
    ]


def test_unshipped_order_listed(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", shipped=None)
    assert findings(shop, "unshipped_orders") == [
        "Order 1001 (Shop) placed 2026-06-10, open"
    ]


def test_recent_unshipped_order_not_listed(shop: Engine) -> None:
    setup_shop(shop)
    # Placed 28 June: three days before 1 July, not more than three.
    sell(shop, "1002", placed=at(28), shipped=None)
    assert findings(shop, "unshipped_orders") == []


def test_shipped_order_not_listed_as_unshipped(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1003")
    assert findings(shop, "unshipped_orders") == []


def test_missing_label_cost_listed(shop: Engine) -> None:
    setup_shop(shop)
    order_id = sell(shop, "1001", label_cost=None)
    checklist = read(shop, check_month, JUNE, now=JULY_2)
    [item] = [i for i in checklist.items if i.key == "missing_label_cost"]
    assert [r.label for r in item.records] == [
        "Shipment 1 of order 1001 shipped 2026-06-11 by Royal Mail: no label cost"
    ]
    assert item.records[0].order_id == order_id
    assert item.blocking is True


def test_label_cost_recorded_not_listed(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=450)
    sell(shop, "1002", placed=at(1, 7), shipped=at(1, 7), label_cost=None)
    assert findings(shop, "missing_label_cost") == []


def _return(shop: Engine, order_id: int) -> str:
    result = step(
        shop,
        authorize,
        order_id,
        [ReturnLineInput(1, 1, "no_longer_needed")],
        at=at(12),
    )
    step(shop, receive, result.reference, {1: 1}, at=at(14))
    return str(result.reference)


def test_received_return_not_refunded_listed(shop: Engine) -> None:
    setup_shop(shop)
    reference = _return(shop, sell(shop, "1001"))
    assert findings(shop, "returns") == [
        f"Return {reference} received 2026-06-14, not inspected or refunded"
    ]


def test_inspected_return_without_refund_listed(shop: Engine) -> None:
    setup_shop(shop)
    reference = _return(shop, sell(shop, "1001"))
    step(shop, inspect, reference, [Grade(1, "new", 1)], at=at(15))
    assert findings(shop, "returns") == [
        f"Return {reference} received 2026-06-14: 1 accepted units not refunded"
    ]


def test_refunded_return_not_listed(shop: Engine) -> None:
    setup_shop(shop)
    reference = _return(shop, sell(shop, "1001"))
    step(shop, inspect, reference, [Grade(1, "new", 1)], at=at(15))
    step(shop, request_refund, reference, at=at(16))
    assert findings(shop, "returns") == []


def test_refund_before_inspection_listed(shop: Engine) -> None:
    setup_shop(shop)
    reference = _return(shop, sell(shop, "1001"))
    waiting = step(shop, request_refund, reference, at=at(15))
    step(shop, release_refund, waiting.refund_id, "loyal customer", at=at(15))
    assert findings(shop, "returns") == [
        f"Return {reference} received 2026-06-14, not inspected or refunded",
        f"Refund {waiting.refund_id} of return {reference} issued 2026-06-15 before "
        "the goods were inspected",
    ]


def test_open_stock_count_listed(shop: Engine) -> None:
    setup_shop(shop)
    count_id = step(shop, inventory.start_count, "MAIN")
    with UnitOfWork(shop) as uow:
        uow.session.execute(
            update(StockCount)
            .where(StockCount.id == count_id)
            .values(started_at=at(12))
        )
        uow.commit()
    assert findings(shop, "open_counts") == [
        f"Stock count {count_id} at MAIN started 2026-06-12 is not posted"
    ]


def test_posted_stock_count_not_listed(shop: Engine) -> None:
    setup_shop(shop)
    count_id = step(shop, inventory.start_count, "MAIN")
    step(shop, inventory.record_count, count_id, "MUG", 20)
    step(shop, inventory.post_count, count_id, at=at(12))
    assert findings(shop, "open_counts") == []


def test_negative_stock_from_backdated_shipment(shop: Engine) -> None:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "BOWL")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "BOWL", "MAIN", 5, 300, at=at(20))
        uow.commit()
    # The sale shipped on the 10th, before the stock arrived on the 20th.
    sell(shop, "1001", lines=[LineInput("BOWL", 2, "9.00")])
    assert findings(shop, "negative_stock") == [
        "SKU BOWL at MAIN: on hand fell to -2 (first below zero 2026-06-11)"
    ]


def test_negative_stock_not_listed_when_stock_came_first(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    assert findings(shop, "negative_stock") == []


def test_negative_stock_carried_into_month_listed(shop: Engine) -> None:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "BOWL")
    with UnitOfWork(shop) as uow:
        inventory.receive(uow, "BOWL", "MAIN", 5, 300, at=at(20, 7))
        uow.commit()
    sell(
        shop,
        "1001",
        lines=[LineInput("BOWL", 2, "9.00")],
        placed=at(28, 5),
        shipped=at(29, 5),
    )
    # Below zero from 29 May until 20 July: June had no moves of its own.
    assert findings(shop, "negative_stock") == [
        "SKU BOWL at MAIN: on hand fell to -2 (first below zero 2026-06-01)"
    ]


def test_channel_tax_difference_listed(shop: Engine) -> None:
    add_channel(shop, "Woo", "woocommerce")
    add_sku(shop, "MUG", 5, 250)
    order_id = capture(
        shop,
        OrderInput(
            channel="Woo",
            external_id="T-1",
            placed_at=at(10),
            ship_to=LONDON,
            lines=[
                LineInput(
                    "MUG",
                    1,
                    "9.99",
                    channel_tax=(ChannelTax("VAT", Decimal("20"), 199),),
                )
            ],
        ),
    ).order_id
    checklist = read(shop, check_month, JUNE, now=JULY_2)
    [item] = [i for i in checklist.items if i.key == "tax_differences"]
    entry_id = item.records[0].id
    # The rules give 999 x 20 % = 200; the channel charged 199, so 1 went to 8200.
    assert [r.label for r in item.records] == [
        f"Entry {entry_id} of 2026-06-10 for order T-1: 0.01 GBP to 8200 because "
        "the channel's tax differs from the shop's rules"
    ]
    assert item.records[0].order_id == order_id


def test_no_tax_difference_not_listed(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    assert findings(shop, "tax_differences") == []


def test_clearing_without_payout_listed(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    assert findings(shop, "channel_clearing") == [
        "Shop: 15.99 GBP of the 15.99 GBP in channel clearing at 2026-06-30 is "
        "older than 7 days and not matched to a payout"
    ]


def test_recent_sale_waits_for_payout(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", placed=at(27), shipped=at(28))
    assert findings(shop, "channel_clearing") == []


def test_paid_out_clearing_not_listed(shop: Engine, tmp_path: Path) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    path = stripe_file(
        tmp_path,
        [
            "txn_1,2026-06-10 12:00:00,2026-06-12 00:00:00,gbp,15.99,0.53,15.46,"
            "charge,Order 1001",
            "po_1,2026-06-20 09:00:00,2026-06-20 00:00:00,gbp,-15.46,0.00,-15.46,"
            "payout,STRIPE PAYOUT",
        ],
    )
    step(shop, import_payouts, "Shop", read_stripe_csv(path))
    assert findings(shop, "channel_clearing") == []


def test_payout_missing_from_statement_listed(shop: Engine, tmp_path: Path) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    path = stripe_file(
        tmp_path,
        [
            "txn_1,2026-06-10 12:00:00,,gbp,15.99,0.53,15.46,charge,Order 1001",
            "po_1,2026-06-20 09:00:00,,gbp,-15.46,0.00,-15.46,payout,STRIPE PAYOUT",
        ],
    )
    step(shop, import_payouts, "Shop", read_stripe_csv(path))
    statement = tmp_path / "bank.csv"
    statement.write_text("date,description,amount\n2026-06-30,Interest,0.12\n")
    step(shop, import_statement, statement)
    assert findings(shop, "payouts_not_banked") == [
        "Payout po_1 (Shop) of 15.46 GBP on 2026-06-20 is not on the bank statement"
    ]


def test_banked_payout_not_listed(shop: Engine, tmp_path: Path) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    path = stripe_file(
        tmp_path,
        [
            "txn_1,2026-06-10 12:00:00,,gbp,15.99,0.53,15.46,charge,Order 1001",
            "po_1,2026-06-20 09:00:00,,gbp,-15.46,0.00,-15.46,payout,STRIPE PAYOUT",
        ],
    )
    step(shop, import_payouts, "Shop", read_stripe_csv(path))
    statement = tmp_path / "bank.csv"
    statement.write_text(
        "date,description,amount\n2026-06-22,STRIPE PAYMENTS,15.46\n"
        "2026-06-30,Interest,0.12\n"
    )
    step(shop, import_statement, statement)
    step(shop, match_statement)
    assert findings(shop, "payouts_not_banked") == []


def test_broken_rule_listed_and_blocks(shop: Engine) -> None:
    setup_shop(shop)
    with UnitOfWork(shop) as uow:
        uow.session.execute(update(StockLevel).values(on_hand=19))
        uow.commit()
    checklist = read(shop, check_month, JUNE, now=JULY_2)
    [item] = [i for i in checklist.items if i.key == "rules"]
    assert item.blocking is True
    assert [r.label for r in item.records][:1] == [
        "Rule 3: variant 1 at warehouse 1: on hand 19 but stock moves sum to 20"
    ]


def test_clean_shop_breaks_no_rule(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    assert findings(shop, "rules") == []


def test_provider_can_be_added_and_replaced(shop: Engine) -> None:
    def collect(ctx: Any) -> list[RecordRef]:
        return [RecordRef("sales_order", 1, f"checked {ctx.month}")]

    original = {p.key: p for p in providers()}["returns"]
    try:
        register_provider(Provider("returns", "Returns from elsewhere", collect))
        assert findings(shop, "returns") == ["checked 2026-06"]
    finally:
        register_provider(original)


# --- closing and reopening ---------------------------------------------------


def test_close_with_nothing_blocking_locks_month(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")
    outcome = step(shop, close_month, JUNE, now=JULY_2)
    assert outcome.closed is True
    assert outcome.forced is False
    assert read(shop, lambda s: s.scalar(select(Period.status))) == "closed"


def test_blocking_item_stops_close(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=None)
    outcome = step(shop, close_month, JUNE, now=JULY_2)
    assert outcome.closed is False
    assert [i.key for i in outcome.checklist.blocking] == ["missing_label_cost"]
    assert read(shop, lambda s: s.scalar(select(Period.status))) is None


def test_forced_close_is_audited(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=None)
    outcome = step(
        shop, close_month, JUNE, force_reason="label invoice comes in July", now=JULY_2
    )
    event = read(
        shop,
        lambda s: s.scalar(
            select(AuditEvent).where(AuditEvent.action == "period.close_forced")
        ),
    )
    assert outcome.closed is True
    assert outcome.forced is True
    assert event.reason == "label invoice comes in July"
    assert event.detail == {"period": "2026-06", "blocking": {"missing_label_cost": 1}}


def test_posting_into_closed_month_rejected(shop: Engine) -> None:
    setup_shop(shop)
    step(shop, close_month, JUNE, now=JULY_2)
    with pytest.raises(PeriodClosed):
        sell(shop, "1001", placed=at(20), shipped=None)


def test_reopen_is_audited(shop: Engine) -> None:
    setup_shop(shop)
    step(shop, close_month, JUNE, now=JULY_2)
    step(shop, reopen_month, JUNE, "supplier credit note dated June")
    event = read(
        shop,
        lambda s: s.scalar(
            select(AuditEvent).where(AuditEvent.action == "period.reopen")
        ),
    )
    assert event.reason == "supplier credit note dated June"
    assert read(shop, lambda s: s.scalar(select(Period.status))) == "open"


def test_close_time_from_first_run_to_lock(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=None)
    step(shop, run_checklist, JUNE, now=JULY_2)
    step(shop, close_month, JUNE, now=JULY_2 + timedelta(minutes=30))
    outcome = step(
        shop,
        close_month,
        JUNE,
        force_reason="label cost follows",
        now=JULY_2 + timedelta(minutes=95),
    )
    [duration] = read(shop, close_durations)
    assert outcome.duration_s == 95 * 60
    assert duration.period == "2026-06"
    assert duration.seconds == 95 * 60
    assert duration.forced is True


def test_second_close_after_reopen_timed_separately(shop: Engine) -> None:
    setup_shop(shop)
    step(shop, close_month, JUNE, now=JULY_2)
    step(shop, reopen_month, JUNE, "late invoice")
    step(shop, run_checklist, JUNE, now=JULY_2 + timedelta(days=3))
    step(shop, close_month, JUNE, now=JULY_2 + timedelta(days=3, minutes=10))
    durations = read(shop, close_durations)
    assert [d.seconds for d in durations] == [600.0, 0.0]


def test_closing_closed_month_rejected(shop: Engine) -> None:
    setup_shop(shop)
    step(shop, close_month, JUNE, now=JULY_2)
    with pytest.raises(InvalidTransition):
        step(shop, close_month, JUNE, now=JULY_2)


def test_cli_close_exit_codes(shop: Engine, capsys: Any) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=None)
    path = str(shop.url.database)
    blocked = main(["close", "--period", "2026-06", "--db", path, "--json"])
    data = json.loads(capsys.readouterr().out)
    forced = main(
        ["close", "--period", "2026-06", "--db", path, "--force-with-reason", "ok"]
    )
    capsys.readouterr()
    reopened = main(
        ["reopen", "--period", "2026-06", "--db", path, "--reason", "fix label"]
    )
    assert blocked == 1
    assert data["closed"] is False
    assert data["checklist"]["blocking"] == 1
    assert forced == 0
    assert reopened == 0


def test_cli_rejects_bad_period(shop: Engine, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["close", "--period", "2026-13", "--db", str(shop.url.database)])
    assert exit_info.value.code == 2
    assert "month must be 1 to 12" in capsys.readouterr().err


# --- year end ----------------------------------------------------------------


def test_fiscal_year_named_by_its_last_year() -> None:
    assert fiscal_year_range(2026, 1) == (date(2026, 1, 1), date(2026, 12, 31))
    assert fiscal_year_range(2026, 4) == (date(2025, 4, 1), date(2026, 3, 31))


def _year_shop(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001")


def test_year_end_entry_figures(shop: Engine) -> None:
    _year_shop(shop)
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    lines = [(ln.account, ln.channel, ln.debit, ln.credit) for ln in outcome.lines]
    # Sales 1000 and shipping 332 less COGS 500 and labels 450: profit 382.
    assert lines == [
        ("4000", "Shop", 1000, 0),
        ("4010", "Shop", 332, 0),
        ("5000", "Shop", 0, 500),
        ("6200", "Shop", 0, 450),
        ("3200", "Shop", 0, 382),
    ]
    assert outcome.result == 382
    assert outcome.closed is True


def test_year_end_entry_dated_last_day(shop: Engine) -> None:
    _year_shop(shop)
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    entry = read(shop, lambda s: s.get(JournalEntry, outcome.entry_id))
    assert entry.entry_date == date(2026, 12, 31)
    assert entry.kind == "year_end.close"


def test_profit_and_loss_after_year_end_unchanged(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    report = read(
        shop, profit_loss, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31)
    )
    assert report.net_profit == 382
    assert report.gross_profit == 832


def test_trial_balance_after_year_end_moves_result(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    rows = {r.code: r for r in read(shop, trial_balance, as_of=date(2026, 12, 31)).rows}
    sheet = read(shop, balance_sheet, as_of=date(2026, 12, 31))
    assert rows["4000"].credit == 0
    assert rows["3200"].credit == 382
    assert sheet.current_earnings == 0
    assert sheet.total_assets == sheet.total_liabilities + sheet.total_equity


def test_year_end_locks_months_and_opens_next_year(shop: Engine) -> None:
    _year_shop(shop)
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    closed = read(
        shop,
        lambda s: s.scalars(
            select(Period.month).where(Period.year == 2026, Period.status == "closed")
        ).all(),
    )
    years = read(
        shop, lambda s: {y.name: y.status for y in s.scalars(select(FiscalYear))}
    )
    assert len(outcome.months_locked) == 12
    assert sorted(closed) == list(range(1, 13))
    assert years == {2026: "closed", 2027: "open"}


def test_year_end_posts_into_closed_last_month(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_month, Month(2026, 12), now=datetime(2027, 1, 2, tzinfo=UTC))
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    status = read(
        shop,
        lambda s: s.scalar(
            select(Period.status).where(Period.year == 2026, Period.month == 12)
        ),
    )
    assert outcome.entry_id is not None
    assert status == "closed"


def test_year_end_blocked_by_open_month(shop: Engine) -> None:
    setup_shop(shop)
    sell(shop, "1001", label_cost=None)
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    assert outcome.closed is False
    assert outcome.entry_id is None


def test_year_end_with_fiscal_start_in_july(shop: Engine) -> None:
    with UnitOfWork(shop) as uow:
        uow.session.execute(update(Shop).values(fiscal_year_start_month=7))
        uow.commit()
    _year_shop(shop)
    outcome = step(shop, close_year, 2026, now=datetime(2026, 7, 5, tzinfo=UTC))
    entry = read(shop, lambda s: s.get(JournalEntry, outcome.entry_id))
    assert (outcome.start, outcome.end) == (date(2025, 7, 1), date(2026, 6, 30))
    assert entry.entry_date == date(2026, 6, 30)
    assert outcome.result == 382


def test_month_of_closed_year_stays_locked(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidTransition):
        step(shop, reopen_month, JUNE, "late invoice")


def test_reopen_year_reverses_closing_entry(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    step(shop, reopen_year, 2026, "auditor adjustment")
    rows = {r.code: r for r in read(shop, trial_balance, as_of=date(2026, 12, 31)).rows}
    report = read(
        shop, profit_loss, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31)
    )
    event = read(
        shop,
        lambda s: s.scalar(
            select(AuditEvent).where(AuditEvent.action == "fiscal_year.reopen")
        ),
    )
    assert rows["4000"].credit == 1000
    assert rows["3200"].credit == 0
    assert report.net_profit == 382
    assert event.reason == "auditor adjustment"


def test_close_year_twice_rejected(shop: Engine) -> None:
    _year_shop(shop)
    step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    with pytest.raises(InvalidTransition):
        step(shop, close_year, 2026, now=datetime(2027, 1, 6, tzinfo=UTC))


def test_year_end_result_with_manual_expense(shop: Engine) -> None:
    _year_shop(shop)
    with UnitOfWork(shop) as uow:
        post(
            uow,
            occurred_at=at(20),
            kind="manual",
            description="Bank charges",
            postings=[Posting("6110", debit=82), Posting("1000", credit=82)],
        )
        uow.commit()
    outcome = step(shop, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC))
    equity = [ln for ln in outcome.lines if ln.account == "3200"]
    # 382 from the Shop channel; the unassigned bank charge of 82 a loss.
    assert [(ln.channel, ln.debit, ln.credit) for ln in equity] == [
        ("Shop", 0, 382),
        (None, 82, 0),
    ]
    assert outcome.result == 300


def test_month_not_ended_cannot_close(shop: Engine) -> None:
    setup_shop(shop)
    with pytest.raises(ValidationError) as error:
        step(shop, close_month, JUNE, now=at(30, hour=20))
    assert "2026-06 ends on 2026-06-30; close it from the day after" in str(error.value)


def test_year_not_ended_cannot_close(shop: Engine) -> None:
    _year_shop(shop)
    with pytest.raises(ValidationError) as error:
        step(shop, close_year, 2026, now=datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert "fiscal year 2026 ends on 2026-12-31" in str(error.value)


def test_close_year_end_and_export_on_postgres(tmp_path: Path) -> None:
    from app.core import db
    from app.core.accounting import export_ledger
    from app.core.setup import ShopSettings, create_shop
    from tests.pg import postgres_url

    with postgres_url() as url:
        engine = db.make_engine(url)
        try:
            create_shop(engine, ShopSettings(name="Teacups"))
            setup_shop(engine)
            sell(engine, "1001", placed=datetime(2026, 5, 30, 12, tzinfo=UTC),
                 shipped=None)  # fmt: skip
            sell(engine, "1002")
            checklist = read(engine, check_month, JUNE, now=JULY_2)
            found = {i.key: len(i.records) for i in checklist.items if i.records}
            outcome = step(
                engine, close_year, 2026, now=datetime(2027, 1, 5, tzinfo=UTC)
            )
            with UnitOfWork(engine, write=False) as uow:
                result = export_ledger(uow.session, "csv", tmp_path / "pg.csv")
        finally:
            engine.dispose()
    assert found == {"unshipped_orders": 1, "channel_clearing": 1}
    assert outcome.result == 382
    # The receipt, two captures, one shipment and the closing entry.
    assert result.entries == 5


def test_checklist_rebuilds_short_month_totals(shop: Engine) -> None:
    from sqlalchemy import delete

    from app.core.accounting.totals import complete
    from app.core.models.accounting import LedgerMonthTotal

    setup_shop(shop)
    sell(shop, "1001")
    with UnitOfWork(shop) as uow:
        uow.session.execute(delete(LedgerMonthTotal))
        uow.commit()
    step(shop, run_checklist, JUNE, now=JULY_2)
    assert read(shop, complete) is True
