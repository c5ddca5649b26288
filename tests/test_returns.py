"""Returns worked examples: authorization, refund figures, postings, dispositions.

The sample sale, on a VAT-inclusive channel with a 10 % code: 2 x MUG at 12.00
and 1 x TEA at 6.00, shipping 3.99. The code's 300 is shared 240 / 60 by the
lines' amounts. MUG: 2400 - 240 = 2160 paid, of which VAT 360, net 1800 =
list 2000 - discount 200. TEA: 600 - 60 = 540, VAT 90, net 450 = 500 - 50.
Shipping 399 includes 67 VAT (66.5 half-up), net 332. Total 3099.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.core import discounts, shipments
from app.core.exceptions import InvalidTransition, ValidationError
from app.core.ledger import account_ids
from app.core.models import (
    AuditEvent,
    Invoice,
    JournalEntry,
    JournalLine,
    OutboxItem,
    StockLevel,
    Warehouse,
)
from app.core.models.returns import ReturnRefund, ReturnRefundLine
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.outbox import sellable_available
from app.core.returns import (
    NO_FEE,
    Grade,
    RefundLimitExceeded,
    RestockingFee,
    ReturnLineInput,
    authorize,
    check_refund_limits,
    dispose,
    inspect,
    pay_refund,
    receive,
    record_channel_refund,
    release_refund,
    request_refund,
    return_detail,
    return_figures,
    set_window_days,
    update_settings,
)
from app.core.uow import UnitOfWork
from tests.helpers import NOON, account_nets, add_channel, add_sku, capture, violations

DAY = timedelta(days=1)
LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


# --- helpers shared with the other returns tests ----------------------------


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one service call in its own committed transaction."""
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def read(engine: Engine, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine, write=False) as uow:
        return query(uow.session, *args, **kwargs)


def stock_shop(engine: Engine) -> None:
    """Channels Shop (VAT included, connected) and Web (VAT added); MUG and TEA."""
    add_channel(engine, "Shop", "shopify", prices_include_tax=True, connected=True)
    add_channel(engine, "Web", "woocommerce")
    add_sku(engine, "MUG", 20, 250, weight_g=400)
    add_sku(engine, "TEA", 20, 300, weight_g=200)
    with UnitOfWork(engine) as uow:
        discounts.create_code(uow, "SAVE10", "percent", 10)
        uow.commit()


def sell(
    engine: Engine,
    external_id: str,
    lines: Sequence[LineInput],
    *,
    channel: str = "Shop",
    shipping: str = "0",
    codes: Sequence[str] = (),
    email: str = "ann@example.com",
    placed_at: datetime = NOON,
    ship_at: datetime | None = NOON,
    **extra: Any,
) -> int:
    """Capture an order and ship all of it; return the order id."""
    result = capture(
        engine,
        OrderInput(
            channel=channel,
            external_id=external_id,
            placed_at=placed_at,
            ship_to=extra.pop("ship_to", LONDON),
            customer=CustomerInput(email=email, name=email.split("@")[0].title()),
            lines=list(lines),
            shipping=shipping,
            discount_codes=list(codes),
            **extra,
        ),
    )
    if ship_at is not None:
        with UnitOfWork(engine) as uow:
            shipments.ship(uow, result.order_id, at=ship_at)
            uow.commit()
    return result.order_id


def sample_sale(engine: Engine, external_id: str = "1001", **kwargs: Any) -> int:
    return sell(
        engine,
        external_id,
        [LineInput("MUG", 2, "12.00"), LineInput("TEA", 1, "6.00")],
        shipping="3.99",
        codes=["SAVE10"],
        **kwargs,
    )


def entry_nets(engine: Engine, kind: str) -> dict[str, int]:
    """Return code -> debit minus credit of the newest journal entry of a kind."""
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        entry_id = session.scalar(
            select(JournalEntry.id)
            .where(JournalEntry.kind == kind)
            .order_by(JournalEntry.id.desc())
        )
        codes = {v: k for k, v in account_ids(session).items()}
        rows = session.execute(
            select(JournalLine.account_id, JournalLine.debit, JournalLine.credit).where(
                JournalLine.entry_id == entry_id
            )
        ).all()
    nets: dict[str, int] = {}
    for account_id, debit, credit in rows:
        code = codes[account_id]
        nets[code] = nets.get(code, 0) + debit - credit
    return nets


def limit_problems(engine: Engine) -> list[str]:
    return [v.message for v in read(engine, check_refund_limits)]


def return_and_inspect(
    engine: Engine,
    order_id: int,
    lines: Sequence[tuple[int, int, str]],
    *,
    at: datetime = NOON + 2 * DAY,
    condition: str = "new",
) -> str:
    """Authorize, receive and inspect every unit in ``condition``; return the RMA."""
    result = step(
        engine,
        authorize,
        order_id,
        [ReturnLineInput(no, qty, reason) for no, qty, reason in lines],
        at=at,
    )
    counts = {no: qty for no, qty, _ in lines}
    step(engine, receive, result.reference, counts, at=at + DAY)
    step(
        engine,
        inspect,
        result.reference,
        [Grade(no, condition, qty) for no, qty, _ in lines],
        at=at + DAY,
    )
    return str(result.reference)


def refund_now(engine: Engine, rma: str, **kwargs: Any) -> ReturnRefund:
    result = step(engine, request_refund, rma, at=NOON + 5 * DAY, **kwargs)
    with UnitOfWork(engine, write=False) as uow:
        refund = uow.session.get(ReturnRefund, result.refund_id)
        assert refund is not None
        return refund


@pytest.fixture
def sale(shop: Engine) -> int:
    stock_shop(shop)
    return sample_sale(shop)


# --- authorization ----------------------------------------------------------


def test_rma_numbers_are_gap_free_and_scannable(shop: Engine, sale: int) -> None:
    first = step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + DAY)
    with pytest.raises(ValidationError):
        step(shop, authorize, sale, [ReturnLineInput(1, 5)], at=NOON + DAY)
    second = step(shop, authorize, sale, [ReturnLineInput(2, 1)], at=NOON + DAY)
    assert first.reference == "RMA-000001"
    assert second.reference == "RMA-000002"
    assert read(shop, return_detail, "rma-2").summary.id == second.rma_id


def test_authorize_more_than_shipped_rejected(shop: Engine, sale: int) -> None:
    step(shop, authorize, sale, [ReturnLineInput(1, 1, "damaged")], at=NOON + DAY)
    with pytest.raises(ValidationError, match="2 shipped and 1 already authorized"):
        step(shop, authorize, sale, [ReturnLineInput(1, 2)], at=NOON + DAY)


def test_authorize_unknown_reason_rejected(shop: Engine, sale: int) -> None:
    with pytest.raises(ValidationError, match="must be one of damaged"):
        step(shop, authorize, sale, [ReturnLineInput(1, 1, "bored")], at=NOON + DAY)


def test_unshipped_units_cannot_be_returned(shop: Engine) -> None:
    stock_shop(shop)
    order_id = sell(shop, "2001", [LineInput("MUG", 1, "12.00")], ship_at=None)
    with pytest.raises(ValidationError, match="0 shipped"):
        step(shop, authorize, order_id, [ReturnLineInput(1, 1)], at=NOON + DAY)


def test_window_is_per_channel_setting(shop: Engine, sale: int) -> None:
    step(shop, set_window_days, 3, 10)
    with pytest.raises(ValidationError, match="10-day return window"):
        step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + 11 * DAY)
    result = step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + 9 * DAY)
    assert result.late is False


# --- refund figures ----------------------------------------------------------


def test_refund_shares_discount_with_vat_included(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(1, 1, "no_longer_needed")])
    refund = refund_now(shop, rma)
    # One MUG of two: list 1200 less discount 120, VAT 180 inside.
    assert (refund.goods, refund.tax, refund.shipping, refund.total) == (
        1080,
        180,
        0,
        1080,
    )
    assert entry_nets(shop, "return.refund") == {
        "4900": 1000,
        "4910": -100,
        "2200": 180,
        "2400": -1080,
    }
    assert violations(shop) == []
    assert limit_problems(shop) == []


def test_refund_issues_credit_note(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(2, 1, "no_longer_needed")])
    refund = refund_now(shop, rma)
    with UnitOfWork(shop, write=False) as uow:
        note = uow.session.get(Invoice, refund.credit_note_id)
    assert note is not None
    assert (note.kind, note.display_number, note.total, note.tax_total) == (
        "credit_note",
        "CN-000001",
        540,
        90,
    )


def test_partial_quantities_last_units_take_remainder(shop: Engine) -> None:
    stock_shop(shop)
    # VAT added: 3 x 3.33 = 999, VAT 199.8 -> 200, total 1199.
    order_id = sell(shop, "W-1", [LineInput("MUG", 3, "3.33")], channel="Web")
    first = refund_now(shop, return_and_inspect(shop, order_id, [(1, 1, "other")]))
    # 999 / 3 = 333, 200 / 3 = 66.67 -> 67.
    assert (first.goods, first.tax) == (400, 67)
    assert entry_nets(shop, "return.refund") == {
        "4900": 333,
        "2200": 67,
        "2400": -400,
    }
    second = refund_now(shop, return_and_inspect(shop, order_id, [(1, 2, "other")]))
    # The last two units take what is left: 999 - 333 = 666, 200 - 67 = 133.
    assert (second.goods, second.tax) == (799, 133)
    assert first.total + second.total == 1199
    assert account_nets(shop).get("2200", 0) == 0
    assert violations(shop) == []


def test_shipping_refunded_when_every_line_returns(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(1, 2, "other"), (2, 1, "other")])
    refund = refund_now(shop, rma)
    assert (refund.goods, refund.shipping, refund.total) == (2700, 399, 3099)
    assert entry_nets(shop, "return.refund") == {
        "4900": 2500,
        "4910": -250,
        "4010": 332,
        "2200": 517,
        "2400": -3099,
    }
    nets = account_nets(shop)
    # The sale is undone: revenue, discounts, shipping and VAT all net to zero.
    assert nets.get("4000", 0) + nets.get("4900", 0) == 0
    assert nets.get("4910", 0) == 0
    assert nets.get("4010", 0) == 0
    assert nets.get("2200", 0) == 0


def test_shipping_kept_when_policy_is_never(shop: Engine, sale: int) -> None:
    step(shop, update_settings, refund_shipping="never")
    rma = return_and_inspect(shop, sale, [(1, 2, "defective"), (2, 1, "other")])
    refund = refund_now(shop, rma)
    assert (refund.shipping, refund.total) == (0, 2700)


def test_shipping_kept_on_partial_return(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(2, 1, "defective")])
    assert refund_now(shop, rma).shipping == 0


def test_shipping_refunded_on_defective_under_seller_fault(
    shop: Engine, sale: int
) -> None:
    step(shop, update_settings, refund_shipping="seller_fault")
    rma = return_and_inspect(shop, sale, [(2, 1, "defective")])
    refund = refund_now(shop, rma)
    assert (refund.goods, refund.shipping, refund.total) == (540, 399, 939)
    assert entry_nets(shop, "return.refund") == {
        "4900": 500,
        "4910": -50,
        "4010": 332,
        "2200": 90 + 67,
        "2400": -939,
    }


def test_shipping_override_refunds_it_once(shop: Engine, sale: int) -> None:
    first = refund_now(
        shop, return_and_inspect(shop, sale, [(2, 1, "other")]), refund_shipping=True
    )
    second = refund_now(
        shop,
        return_and_inspect(shop, sale, [(1, 2, "other")]),
        refund_shipping=True,
    )
    assert first.shipping == 399
    assert second.shipping == 0


def test_restocking_fee_percent(shop: Engine, sale: int) -> None:
    step(shop, update_settings, restocking_fee=RestockingFee("percent", Decimal(10)))
    rma = return_and_inspect(shop, sale, [(1, 1, "no_longer_needed")])
    refund = refund_now(shop, rma)
    # 10 % of the 1080 paid for the mug.
    assert (refund.fee, refund.total) == (108, 972)
    assert entry_nets(shop, "return.refund") == {
        "4900": 1000,
        "4910": -100,
        "2200": 180,
        "4020": -108,
        "2400": -972,
    }


def test_restocking_fee_never_on_defective_lines(shop: Engine, sale: int) -> None:
    step(shop, update_settings, restocking_fee=RestockingFee("percent", Decimal(10)))
    rma = return_and_inspect(
        shop, sale, [(1, 1, "no_longer_needed"), (2, 1, "defective")]
    )
    refund = refund_now(shop, rma)
    # Only the mug (1080) carries the fee; the defective tea (540) does not.
    assert (refund.fee, refund.total) == (108, 1080 + 540 - 108)


def test_restocking_fee_fixed_and_waived(shop: Engine, sale: int) -> None:
    fixed = RestockingFee("fixed", Decimal(500))
    first = refund_now(
        shop, return_and_inspect(shop, sale, [(1, 1, "other")]), fee=fixed
    )
    second = refund_now(
        shop, return_and_inspect(shop, sale, [(2, 1, "other")]), fee=NO_FEE
    )
    assert (first.fee, first.total) == (500, 580)
    assert (second.fee, second.total) == (0, 540)


def test_foreign_currency_refund_posts_shop_amounts(shop: Engine) -> None:
    stock_shop(shop)
    add_channel(shop, "EU", "woocommerce")
    order_id = sell(
        shop,
        "E-1",
        [LineInput("MUG", 2, "50.00")],
        channel="EU",
        currency="EUR",
        fx_rate=Decimal("0.85"),
        ship_to=Address(name="Jo", line1="Str 1", city="Berlin", country="DE"),
    )
    refund = refund_now(shop, return_and_inspect(shop, order_id, [(1, 1, "other")]))
    step(shop, pay_refund, refund.id, "bank", at=NOON + 6 * DAY)
    # 5000 EUR cents at 0.85 is 4250 pence; no VAT on this export.
    assert (refund.total, refund.total_shop, refund.currency) == (5000, 4250, "EUR")
    with UnitOfWork(shop, write=False) as uow:
        bank = uow.session.scalar(
            select(JournalLine).where(
                JournalLine.account_id == account_ids(uow.session)["1000"]
            )
        )
    assert bank is not None
    assert (bank.credit, bank.fx_currency, bank.fx_amount) == (4250, "EUR", 5000)


# --- rule 5 -----------------------------------------------------------------


def test_refund_limit_rejects_channel_over_refund(shop: Engine, sale: int) -> None:
    before = account_nets(shop)
    with pytest.raises(RefundLimitExceeded, match=r"exceeds the 10\.80 GBP paid"):
        # The mug's 1080 plus all 399 of shipping is the most; 1480 is 1 too many.
        step(shop, record_channel_refund, sale, {1: 1}, 1480, NOON + 3 * DAY, "r-9")
    assert account_nets(shop) == before
    result = step(
        shop, record_channel_refund, sale, {1: 1}, 1479, NOON + 3 * DAY, "r-10"
    )
    assert result.created is True
    assert limit_problems(shop) == []


def test_refund_limit_check_reports_overpaid_line(shop: Engine, sale: int) -> None:
    refund = refund_now(shop, return_and_inspect(shop, sale, [(2, 1, "other")]))
    with UnitOfWork(shop) as uow:
        line = uow.session.scalar(
            select(ReturnRefundLine).where(ReturnRefundLine.refund_id == refund.id)
        )
        assert line is not None
        line.paid += 1
        uow.commit()
    assert limit_problems(shop) == [
        "order 1001 line 2 (TEA): refunds of 5.41 GBP exceed the 5.40 GBP paid for "
        "its shipped units"
    ]


def test_second_refund_of_same_units_rejected(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(2, 1, "other")])
    refund_now(shop, rma)
    with pytest.raises(InvalidTransition, match="nothing left to refund"):
        step(shop, request_refund, rma, at=NOON + 6 * DAY)


# --- waiting for inspection ----------------------------------------------------


def test_refund_waits_for_inspection(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(2, 1)], at=NOON + DAY).reference
    waiting = step(shop, request_refund, rma, at=NOON + DAY)
    before = account_nets(shop)
    assert waiting.status == "waiting"
    assert account_nets(shop) == before
    step(shop, receive, rma, {2: 1}, at=NOON + 3 * DAY)
    assert account_nets(shop) == before
    result = step(shop, inspect, rma, [Grade(2, "opened", 1)], at=NOON + 3 * DAY)
    assert [(r.refund_id, r.status, r.total) for r in result.refunds] == [
        (waiting.refund_id, "issued", 540)
    ]
    assert account_nets(shop)["2400"] == -540


def test_waiting_refund_declined_when_nothing_accepted(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(2, 1)], at=NOON + DAY).reference
    step(shop, request_refund, rma, at=NOON + DAY)
    step(shop, receive, rma, {2: 1}, at=NOON + 3 * DAY)
    result = step(shop, inspect, rma, [Grade(2, "empty", 1)], at=NOON + 3 * DAY)
    assert [r.status for r in result.refunds] == ["declined"]
    assert "2400" not in account_nets(shop)


def test_early_release_needs_reason_and_is_audited(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(2, 1)], at=NOON + DAY).reference
    waiting = step(shop, request_refund, rma, at=NOON + DAY)
    with pytest.raises(ValidationError, match="needs a reason"):
        step(shop, release_refund, waiting.refund_id, " ")
    released = step(
        shop, release_refund, waiting.refund_id, "regular customer", at=NOON + DAY
    )
    assert (released.status, released.total) == ("issued", 540)
    with UnitOfWork(shop, write=False) as uow:
        event = uow.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "return.refund_release")
        )
        refund = uow.session.get(ReturnRefund, waiting.refund_id)
    assert event is not None
    assert event.reason == "regular customer"
    assert refund is not None
    assert (refund.released_early, refund.before_inspection) == (True, True)


def test_early_release_refunds_units_before_receipt(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(1, 2)], at=NOON + DAY).reference
    result = step(
        shop, request_refund, rma, release_reason="label scanned", at=NOON + DAY
    )
    # Both mugs (2160) and no shipping, because the tea stays with the customer.
    assert (result.status, result.total) == ("issued", 2160)
    step(shop, receive, rma, {1: 2}, at=NOON + 3 * DAY)
    inspected = step(shop, inspect, rma, [Grade(1, "new", 2)], at=NOON + 3 * DAY)
    assert inspected.refunds == ()
    assert violations(shop) == []


# --- channel refunds ------------------------------------------------------------


def test_channel_refund_before_inspection_matched_and_flagged(
    shop: Engine, sale: int
) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + DAY)
    waiting = step(shop, request_refund, rma.reference, at=NOON + DAY)
    result = step(
        shop, record_channel_refund, sale, {1: 1}, 1080, NOON + 2 * DAY, "sh-77"
    )
    assert (result.rma_id, result.matched, result.before_inspection) == (
        rma.rma_id,
        True,
        True,
    )
    detail = read(shop, return_detail, rma.reference)
    assert detail.summary.refunded_before_inspection is True
    assert [s.kind for s in detail.signals] == ["refund_before_inspection"]
    assert [(r.id, r.status) for r in detail.refunds] == [
        (waiting.refund_id, "matched"),
        (result.refund_id, "paid"),
    ]
    # Paid through the channel at once: 2400 is clear, 1100 is down by 1080.
    nets = account_nets(shop)
    assert "2400" not in nets
    assert nets["1100"] == 3099 - 1080
    step(shop, receive, rma.reference, {1: 1}, at=NOON + 3 * DAY)
    inspected = step(
        shop, inspect, rma.reference, [Grade(1, "new", 1)], at=NOON + 3 * DAY
    )
    assert inspected.refunds == ()
    assert violations(shop) == []
    assert limit_problems(shop) == []


def test_channel_refund_creates_rma_when_none_open(shop: Engine, sale: int) -> None:
    result = step(
        shop,
        record_channel_refund,
        sale,
        {2: 1},
        540,
        NOON + 2 * DAY,
        "sh-1",
        reason="damaged",
    )
    detail = read(shop, return_detail, result.rma_id)
    assert (detail.summary.source, detail.summary.status) == ("channel", "authorized")
    assert [(line.line_no, line.reason, line.refunded) for line in detail.lines] == [
        (2, "damaged", 1)
    ]


def test_channel_refund_recorded_twice_changes_nothing(shop: Engine, sale: int) -> None:
    first = step(shop, record_channel_refund, sale, {2: 1}, 540, NOON + DAY, "sh-2")
    before = account_nets(shop)
    again = step(shop, record_channel_refund, sale, {2: 1}, 540, NOON + DAY, "sh-2")
    assert (again.refund_id, again.created) == (first.refund_id, False)
    assert account_nets(shop) == before


def test_channel_echo_of_own_refund_is_matched(shop: Engine, sale: int) -> None:
    refund = refund_now(shop, return_and_inspect(shop, sale, [(2, 1, "other")]))
    step(shop, pay_refund, refund.id, "channel", at=NOON + 5 * DAY)
    before = account_nets(shop)
    echo = step(shop, record_channel_refund, sale, {2: 1}, 540, NOON + 5 * DAY, "e-1")
    assert (echo.refund_id, echo.created, echo.matched) == (refund.id, False, True)
    assert account_nets(shop) == before
    with UnitOfWork(shop, write=False) as uow:
        queued = uow.session.scalar(
            select(OutboxItem).where(OutboxItem.kind == "refund")
        )
    assert queued is not None
    assert queued.payload["amount"] == 540


def test_channel_refund_below_lines_books_kept_amount(shop: Engine, sale: int) -> None:
    step(shop, record_channel_refund, sale, {1: 1}, 1000, NOON + 3 * DAY, "sh-3")
    # The channel gave back 1000 of the 1080 paid: 80 kept, credited to 4020.
    assert entry_nets(shop, "return.refund") == {
        "4900": 1000,
        "4910": -100,
        "2200": 180,
        "4020": -80,
        "2400": -1000,
    }


# --- stock and dispositions -------------------------------------------------------


def test_returned_units_come_back_at_original_cost(shop: Engine) -> None:
    add_channel(shop, "Shop", "shopify", prices_include_tax=True)
    add_sku(shop, "LAMP", 1, 250)
    add_sku(shop, "LAMP", 1, 310)
    order_id = sell(shop, "L-1", [LineInput("LAMP", 2, "20.00")])
    return_and_inspect(shop, order_id, [(1, 1, "other")])
    # The sale took 250 + 310 = 560 out of stock; one unit of two is 280.
    assert entry_nets(shop, "return.receipt") == {"1200": 280, "5000": -280}
    with UnitOfWork(shop, write=False) as uow:
        quarantine = uow.session.scalar(
            select(Warehouse).where(Warehouse.code == "QUARANTINE")
        )
        assert quarantine is not None
        level = uow.session.get(StockLevel, (1, quarantine.id))
    assert quarantine.is_quarantine is True
    assert level is not None
    assert level.on_hand == 1
    assert violations(shop) == []


def test_restock_makes_units_sellable_and_queues_stock(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(1, 2, "other")])
    before = read(shop, sellable_available, 1)
    step(shop, dispose, rma, 1, 1, "restock", at=NOON + 4 * DAY)
    assert read(shop, sellable_available, 1) == before + 1
    with UnitOfWork(shop, write=False) as uow:
        newest = uow.session.scalar(
            select(OutboxItem.quantity)
            .where(OutboxItem.kind == "stock", OutboxItem.variant_id == 1)
            .order_by(OutboxItem.id.desc())
        )
    assert newest == before + 1
    assert violations(shop) == []


def test_dispose_writes_off_at_cost(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(1, 2, "damaged")], condition="unusable")
    result = step(shop, dispose, rma, 1, 2, "dispose", at=NOON + 4 * DAY)
    assert result.value_shop == 500
    assert entry_nets(shop, "return.dispose") == {"5100": 500, "1200": -500}
    assert read(shop, return_detail, rma).summary.status == "closed"
    assert violations(shop) == []


def test_return_to_supplier_credits_payable(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(2, 1, "defective")], condition="damaged")
    step(
        shop,
        dispose,
        rma,
        2,
        1,
        "return_to_supplier",
        supplier_reference="SUP-RA-9",
        at=NOON + 4 * DAY,
    )
    assert entry_nets(shop, "return.return_to_supplier") == {
        "2000": 300,
        "1200": -300,
    }
    assert violations(shop) == []


def test_disposing_more_than_quarantine_rejected(shop: Engine, sale: int) -> None:
    rma = return_and_inspect(shop, sale, [(1, 1, "other")])
    with pytest.raises(ValidationError, match="1 units in quarantine, not 2"):
        step(shop, dispose, rma, 1, 2, "dispose", at=NOON + 4 * DAY)


def test_wrong_and_empty_units_not_stocked(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(1, 2)], at=NOON + DAY).reference
    step(shop, receive, rma, {1: 2}, at=NOON + 2 * DAY)
    step(
        shop,
        inspect,
        rma,
        [Grade(1, "wrong_item", 1), Grade(1, "empty", 1)],
        at=NOON + 2 * DAY,
    )
    assert "return.receipt" not in {
        e.kind for e in read(shop, lambda s: s.scalars(select(JournalEntry)).all())
    }
    with pytest.raises(InvalidTransition, match="nothing left to refund"):
        step(shop, request_refund, rma, at=NOON + 3 * DAY)


def test_received_counts_must_match_grades(shop: Engine, sale: int) -> None:
    rma = step(shop, authorize, sale, [ReturnLineInput(1, 2)], at=NOON + DAY).reference
    step(shop, receive, rma, {1: 2}, at=NOON + 2 * DAY)
    with pytest.raises(ValidationError, match="2 units were received but 1 graded"):
        step(shop, inspect, rma, [Grade(1, "new", 1)], at=NOON + 2 * DAY)


# --- figures ----------------------------------------------------------------------


def test_figures_processing_time_and_counts(shop: Engine, sale: int) -> None:
    other = sample_sale(shop, "1002", email="bob@example.com")
    cases = [
        (sale, [(1, 1, "damaged")], 1),
        (sale, [(2, 1, "damaged")], 2),
        (other, [(1, 2, "wrong_item"), (2, 1, "damaged")], 10),
    ]
    start = NOON + DAY
    for order_id, lines, days in cases:
        rma = step(
            shop,
            authorize,
            order_id,
            [ReturnLineInput(no, qty, reason) for no, qty, reason in lines],
            at=start,
        ).reference
        step(shop, request_refund, rma, release_reason="test", at=start + days * DAY)

    figures = read(shop, return_figures)
    assert figures.processing.returns == 3
    assert figures.processing.median == timedelta(days=2)
    assert figures.processing.p90 == timedelta(days=10)

    assert [(r.reason, r.returns, r.units) for r in figures.reasons] == [
        ("damaged", 3, 3),
        ("wrong_item", 1, 2),
    ]
    assert [(s.sku, s.returns, s.units) for s in figures.skus] == [
        ("MUG", 2, 3),
        ("TEA", 2, 2),
    ]
    # Bob: 2 mugs (2160) and a tea (540); Ann: a mug (1080) and a tea (540).
    assert [(c.name, c.returns, c.units, c.value_shop) for c in figures.customers] == [
        ("Ann", 2, 2, 1620),
        ("Bob", 1, 3, 2700),
    ]


def test_figures_date_range(shop: Engine, sale: int) -> None:
    step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + DAY)
    later = datetime(2026, 7, 1, tzinfo=UTC)
    assert read(shop, return_figures, date_from=later).reasons == []
