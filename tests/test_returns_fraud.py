"""Fraud signals on returns: for each, a case that fires and one that does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.core.exceptions import ValidationError
from app.core.models import AuditEvent, Customer, OrderLine, SalesOrder
from app.core.models.returns import ShippedSerial
from app.core.order_input import LineInput
from app.core.returns import (
    CustomerActivity,
    Grade,
    ReturnLineInput,
    analyze,
    authorize,
    customer_activity,
    get_rma,
    inspect,
    receive,
    recheck_serials,
    record_channel_refund,
    record_serial_returners,
    return_detail,
    return_figures,
    review_queue,
    review_signal,
    score_customers,
)
from app.core.returns.scoring import robust_z_scores
from app.core.uow import UnitOfWork
from tests.helpers import NOON, add_sku, violations
from tests.test_returns import DAY, read, sample_sale, sell, step, stock_shop


@pytest.fixture
def sale(shop: Engine) -> int:
    stock_shop(shop)
    return sample_sale(shop)


def signals_of(engine: Engine, rma: Any) -> dict[str, dict[str, Any]]:
    """Return kind -> evidence of a return's signals."""
    detail = read(engine, return_detail, rma)
    return {s.kind: s.evidence for s in detail.signals}


def rma_for(engine: Engine, order_id: int, lines: dict[int, int], at: datetime) -> str:
    result = step(
        engine,
        authorize,
        order_id,
        [ReturnLineInput(no, qty) for no, qty in lines.items()],
        at=at,
    )
    return str(result.reference)


# --- quantity, weight, empty box -----------------------------------------------


def test_quantity_overstated_fires_when_fewer_arrive(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 3 * DAY)
    found = signals_of(shop, rma)
    assert found["quantity_overstated"]["claimed"] == 2
    assert found["quantity_overstated"]["received"] == 1
    assert read(shop, review_queue)[0].score == Decimal("0.5")


def test_quantity_overstated_quiet_when_all_arrive(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 2}, at=NOON + 3 * DAY)
    assert "quantity_overstated" not in signals_of(shop, rma)


def test_weight_mismatch_fires_beyond_tolerance(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 2}, parcel_weight_g=1000, at=NOON + 3 * DAY)
    # Two mugs weigh 800 g; 20 % of that is 160 g, more than the 100 g floor.
    assert signals_of(shop, rma)["weight_mismatch"] == {
        "expected_g": 800,
        "parcel_g": 1000,
        "difference_g": 200,
        "tolerance_g": 160,
        "tolerance_percent": "20",
        "tolerance_min_g": 100,
    }


def test_weight_within_tolerance_is_quiet(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 2}, parcel_weight_g=950, at=NOON + 3 * DAY)
    assert "weight_mismatch" not in signals_of(shop, rma)


def test_light_parcel_uses_gram_floor(shop: Engine, sale: int) -> None:
    quiet = rma_for(shop, sale, {2: 1}, NOON + DAY)
    step(shop, receive, quiet, {2: 1}, parcel_weight_g=110, at=NOON + 3 * DAY)
    # One tea weighs 200 g: 20 % is 40 g, so the 100 g floor applies.
    assert "weight_mismatch" not in signals_of(shop, quiet)
    loud = rma_for(shop, sale, {1: 1}, NOON + DAY)
    step(shop, receive, loud, {1: 1}, parcel_weight_g=250, at=NOON + 3 * DAY)
    assert signals_of(shop, loud)["weight_mismatch"]["difference_g"] == -150


def test_empty_box_fires_on_empty_grade(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 2}, at=NOON + 3 * DAY)
    step(
        shop,
        inspect,
        rma,
        [Grade(1, "new", 1), Grade(1, "empty", 1)],
        at=NOON + 3 * DAY,
    )
    evidence = signals_of(shop, rma)["empty_box"]
    assert (evidence["empty_units"], evidence["graded_units"]) == (1, 2)


def test_empty_box_fires_when_nothing_arrives(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {2: 1}, NOON + DAY)
    step(shop, receive, rma, {}, parcel_weight_g=90, at=NOON + 3 * DAY)
    found = signals_of(shop, rma)
    assert found["empty_box"]["received"] == 0
    assert "quantity_overstated" in found


def test_empty_box_quiet_on_full_parcel(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {2: 1}, NOON + DAY)
    step(shop, receive, rma, {2: 1}, at=NOON + 3 * DAY)
    step(shop, inspect, rma, [Grade(2, "opened", 1)], at=NOON + 3 * DAY)
    assert signals_of(shop, rma) == {}


# --- substitution ---------------------------------------------------------------


@pytest.fixture
def camera_sale(shop: Engine) -> int:
    stock_shop(shop)
    add_sku(shop, "CAM", 5, 20000, weight_g=900, tracks_serials=True)
    order_id = sell(shop, "C-1", [LineInput("CAM", 2, "450.00")])
    return order_id


def record_shipped_serials(engine: Engine, order_id: int, serials: list[str]) -> None:
    with UnitOfWork(engine) as uow:
        line = uow.session.scalar(
            select(OrderLine).where(OrderLine.order_id == order_id)
        )
        assert line is not None and line.variant_id is not None
        for serial in serials:
            uow.session.add(
                ShippedSerial(
                    order_line_id=line.id, variant_id=line.variant_id, serial=serial
                )
            )
        uow.commit()


def test_substitution_fires_on_unshipped_serial(shop: Engine, camera_sale: int) -> None:
    record_shipped_serials(shop, camera_sale, ["SN-1", "SN-2"])
    rma = rma_for(shop, camera_sale, {1: 1}, NOON + 10 * DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 11 * DAY)
    step(shop, inspect, rma, [Grade(1, "opened", 1, ("SN-9",))], at=NOON + 11 * DAY)
    finding = signals_of(shop, rma)["substitution"]["findings"][0]
    assert (finding["kind"], finding["not_shipped"]) == ("serial", ["SN-9"])


def test_substitution_quiet_on_shipped_serial(shop: Engine, camera_sale: int) -> None:
    record_shipped_serials(shop, camera_sale, ["SN-1", "SN-2"])
    rma = rma_for(shop, camera_sale, {1: 1}, NOON + 10 * DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 11 * DAY)
    step(shop, inspect, rma, [Grade(1, "opened", 1, ("SN-2",))], at=NOON + 11 * DAY)
    assert "substitution" not in signals_of(shop, rma)


def test_serials_compared_later_when_packing_records_them(
    shop: Engine, camera_sale: int
) -> None:
    rma = rma_for(shop, camera_sale, {1: 1}, NOON + 10 * DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 11 * DAY)
    step(shop, inspect, rma, [Grade(1, "opened", 1, ("SN-9",))], at=NOON + 11 * DAY)
    assert "substitution" not in signals_of(shop, rma)
    record_shipped_serials(shop, camera_sale, ["SN-1", "SN-2"])
    with UnitOfWork(shop) as uow:
        found = recheck_serials(uow, get_rma(uow.session, rma))
        uow.commit()
    assert len(found) == 1
    assert "substitution" in signals_of(shop, rma)


def test_substitution_fires_on_wrong_item(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 1}, NOON + DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 3 * DAY)
    step(
        shop,
        inspect,
        rma,
        [Grade(1, "wrong_item", 1, scanned_sku="CHEAP-MUG")],
        at=NOON + 3 * DAY,
    )
    finding = signals_of(shop, rma)["substitution"]["findings"][0]
    assert (finding["kind"], finding["scanned_sku"]) == ("condition", "CHEAP-MUG")


# --- timing ---------------------------------------------------------------------


def test_late_return_fires_after_window(shop: Engine, sale: int) -> None:
    result = step(
        shop,
        authorize,
        sale,
        [ReturnLineInput(1, 1)],
        at=NOON + 31 * DAY,
        late_reason="customer was abroad",
    )
    evidence = signals_of(shop, result.reference)["late_return"]
    assert result.late is True
    assert (evidence["window_days"], evidence["days_late"]) == (30, "1.00")
    assert evidence["late_reason"] == "customer was abroad"


def test_late_return_needs_reason(shop: Engine, sale: int) -> None:
    with pytest.raises(ValidationError, match="30-day return window on Shop ended"):
        step(shop, authorize, sale, [ReturnLineInput(1, 1)], at=NOON + 31 * DAY)


def test_return_inside_window_is_quiet(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 1}, NOON + 29 * DAY)
    assert signals_of(shop, rma) == {}


def test_high_value_quick_return_fires(shop: Engine, camera_sale: int) -> None:
    rma = rma_for(shop, camera_sale, {1: 1}, NOON + 2 * DAY)
    evidence = signals_of(shop, rma)["high_value_quick_return"]
    # One camera: 450.00 paid, above the 200.00 threshold, 2 days after shipment.
    assert evidence == {
        "value_shop": 45000,
        "threshold_shop": 20000,
        "days_since_shipment": "2.00",
        "days_limit": 3,
    }


def test_high_value_return_later_is_quiet(shop: Engine, camera_sale: int) -> None:
    rma = rma_for(shop, camera_sale, {1: 1}, NOON + 5 * DAY)
    assert "high_value_quick_return" not in signals_of(shop, rma)


def test_low_value_quick_return_is_quiet(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    assert "high_value_quick_return" not in signals_of(shop, rma)


def test_channel_refund_after_inspection_is_quiet(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {2: 1}, NOON + DAY)
    step(shop, receive, rma, {2: 1}, at=NOON + 2 * DAY)
    step(shop, inspect, rma, [Grade(2, "new", 1)], at=NOON + 2 * DAY)
    result = step(shop, record_channel_refund, sale, {2: 1}, 540, NOON + 3 * DAY, "x")
    assert result.before_inspection is False
    assert signals_of(shop, rma) == {}


# --- cancellations ----------------------------------------------------------------


def test_full_refund_within_24_hours_is_cancellation(shop: Engine, sale: int) -> None:
    result = step(
        shop,
        record_channel_refund,
        sale,
        {1: 2, 2: 1},
        3099,
        NOON + timedelta(hours=20),
        "cancel-1",
    )
    detail = read(shop, return_detail, result.rma_id)
    assert detail.summary.is_cancellation is True
    assert detail.signals == []
    assert read(shop, review_queue) == []
    assert read(shop, return_figures).reasons == []
    activity = read(shop, customer_activity)
    assert [(a.orders, a.returns) for a in activity] == []
    assert violations(shop) == []


def test_full_refund_after_24_hours_is_a_return(shop: Engine, sale: int) -> None:
    result = step(
        shop,
        record_channel_refund,
        sale,
        {1: 2, 2: 1},
        3099,
        NOON + timedelta(hours=25),
        "late-1",
    )
    detail = read(shop, return_detail, result.rma_id)
    assert detail.summary.is_cancellation is False
    assert [s.kind for s in read(shop, review_queue)] == ["refund_before_inspection"]
    activity = read(shop, customer_activity)
    # 2 mugs and a tea, net of VAT and discount: 1800 + 450.
    assert [
        (a.orders, a.invoiced_value, a.returns, a.returned_value) for a in activity
    ] == [(1, 2250, 1, 2250)]


# --- serial returners ---------------------------------------------------------------


def activity(
    customer_id: int, orders: int, returns: int, value: int
) -> CustomerActivity:
    return CustomerActivity(customer_id, orders, 10000, returns, value)


def test_robust_z_worked_example() -> None:
    shares = [Decimal(x) for x in ("0", "0", "0.1", "0.1", "0.2", "0.2", "0.9")]
    # Median 0.1; deviations 0.1 0.1 0 0 0.1 0.1 0.8 have median 0.1 (the MAD);
    # (0.9 - 0.1) / (1.4826 * 0.1) = 5.39592...
    assert robust_z_scores(shares)[-1] == Decimal("5.3959")
    assert robust_z_scores(shares)[0] == Decimal("-0.6745")


def test_robust_z_falls_back_when_mad_is_zero() -> None:
    shares = [Decimal(x) for x in ("0", "0", "0", "0", "0.5")]
    # MAD 0; mean absolute deviation 0.1, times 1.2533; 0.5 / 0.12533 = 3.98946...
    assert robust_z_scores(shares)[-1] == Decimal("3.9895")
    assert robust_z_scores([Decimal(0)] * 3) == [Decimal(0)] * 3


def test_serial_returner_scoring_picks_outlier() -> None:
    population = [
        activity(1, 10, 0, 0),
        activity(2, 10, 0, 0),
        activity(3, 10, 1, 1000),
        activity(4, 10, 1, 1000),
        activity(5, 10, 2, 2000),
        activity(6, 10, 2, 2000),
        activity(7, 10, 3, 9000),
        # Fewer than 5 orders: never scored, however much comes back.
        activity(8, 4, 4, 10000),
    ]
    scores = score_customers(population, min_orders=5, threshold=Decimal("3.5"))
    top = scores[0]
    assert [s.activity.customer_id for s in scores if s.outlier] == [7]
    assert (top.value_share, top.count_share) == (Decimal("0.9"), Decimal("0.3"))
    # Value: (0.9 - 0.1) / 0.14826; count: (0.3 - 0.1) / 0.14826.
    assert (top.value_z, top.count_z, top.score) == (
        Decimal("5.3959"),
        Decimal("1.3490"),
        Decimal("5.3959"),
    )
    assert 8 not in {s.activity.customer_id for s in scores}


def test_serial_returner_quiet_in_even_population() -> None:
    population = [activity(i, 10, 1, 1000 + i) for i in range(1, 8)]
    scores = score_customers(population, min_orders=5, threshold=Decimal("3.5"))
    assert [s for s in scores if s.outlier] == []


# --- history ----------------------------------------------------------------------


def add_history(
    engine: Engine,
    email: str,
    documents: list[tuple[str, datetime, list[tuple[str, int, str]]]],
) -> int:
    """Insert historical invoices and credit notes for one customer.

    Each document is (number, placed at, [(SKU, quantity, unit price)]); a
    credit note's number starts with C and its quantities are negative, as
    the Online Retail history has them.
    """
    with UnitOfWork(engine) as uow:
        session = uow.session
        customer = session.scalar(select(Customer).where(Customer.email == email))
        if customer is None:
            customer = Customer(email=email, name=email.split("@")[0].title())
            session.add(customer)
            session.flush()
        for number, placed_at, lines in documents:
            order = SalesOrder(
                channel_id=1,
                external_id=number,
                customer_id=customer.id,
                status="shipped",
                historical=True,
                placed_at=placed_at,
                currency="GBP",
            )
            session.add(order)
            session.flush()
            for line_no, (sku, quantity, price) in enumerate(lines, start=1):
                amount = int(Decimal(price) * 100 * quantity)
                session.add(
                    OrderLine(
                        order_id=order.id,
                        line_no=line_no,
                        sku=sku,
                        quantity=quantity,
                        unit_price=Decimal(price),
                        list_amount=amount,
                        list_net=amount,
                        list_net_shop=amount,
                    )
                )
        uow.commit()
        return customer.id


T0 = datetime(2011, 3, 1, 9, 0, tzinfo=NOON.tzinfo)


def five_invoices(
    prefix: str,
) -> list[tuple[str, datetime, list[tuple[str, int, str]]]]:
    """Five invoices of 100.00 each, a week apart, numbered ``prefix`` 0 to 4."""
    return [
        (f"{prefix}{i}", T0 + timedelta(days=7 * i), [("85123A", 10, "10.00")])
        for i in range(5)
    ]


def history_shop(engine: Engine) -> dict[str, int]:
    """Six customers of five 100.00 invoices; F sends back three of them."""
    ids = {}
    for number, name in enumerate("ABCDEF", start=1):
        ids[name] = add_history(
            engine, f"{name.lower()}@x.test", five_invoices(f"53{number}")
        )
    for number, name in ((3, "C"), (4, "D")):
        add_history(
            engine,
            f"{name.lower()}@x.test",
            [(f"C53{number}9", T0 + DAY, [("85123A", -1, "10.00")])],
        )
    add_history(
        engine,
        "f@x.test",
        [
            (f"C536{i}", T0 + timedelta(days=7 * i + 3), [("85123A", -10, "10.00")])
            for i in range(3)
        ],
    )
    # E orders and cancels within two hours: both stay out of every figure.
    add_history(
        engine,
        "e@x.test",
        [
            ("5359", T0 + 40 * DAY, [("22423", 2, "12.75"), ("85123A", 4, "10.00")]),
            (
                "C5359",
                T0 + 40 * DAY + timedelta(hours=2),
                [("85123A", -4, "10.00"), ("22423", -2, "12.75")],
            ),
        ],
    )
    return ids


def test_history_applies_24_hour_cancellation(shop: Engine) -> None:
    ids = history_shop(shop)
    by_id = {a.customer_id: a for a in read(shop, customer_activity)}
    assert by_id[ids["E"]] == CustomerActivity(ids["E"], 5, 50000, 0, 0)
    assert by_id[ids["C"]] == CustomerActivity(ids["C"], 5, 50000, 1, 1000)
    assert by_id[ids["F"]] == CustomerActivity(ids["F"], 5, 50000, 3, 30000)


def test_history_credit_note_after_a_day_is_a_return(shop: Engine) -> None:
    add_history(shop, "g@x.test", five_invoices("537"))
    add_history(
        shop,
        "g@x.test",
        [("C5379", T0 + 4 * 7 * DAY + timedelta(hours=25), [("85123A", -10, "10.00")])],
    )
    (only,) = read(shop, customer_activity)
    assert (only.orders, only.returns, only.returned_value) == (5, 1, 10000)


def test_analyze_finds_serial_returner_in_history(shop: Engine) -> None:
    ids = history_shop(shop)
    outliers = read(shop, analyze)
    # Value shares 0 0 0.02 0.02 0 0.6: median 0.01, MAD 0.01;
    # F: (0.6 - 0.01) / 0.014826 = 39.7950...
    assert [(s.activity.customer_id, s.score) for s in outliers] == [
        (ids["F"], Decimal("39.7950"))
    ]
    with UnitOfWork(shop) as uow:
        signal_ids = record_serial_returners(uow, outliers)
        again = record_serial_returners(uow, outliers)
        uow.commit()
    assert signal_ids == again
    (queued,) = read(shop, review_queue)
    assert (queued.kind, queued.customer_id) == ("serial_returner", ids["F"])
    assert queued.evidence["value_share"] == "0.6000"


# --- review ---------------------------------------------------------------------


def test_review_signal_is_audited(shop: Engine, sale: int) -> None:
    rma = rma_for(shop, sale, {1: 2}, NOON + DAY)
    step(shop, receive, rma, {1: 1}, at=NOON + 3 * DAY)
    (signal,) = read(shop, review_queue)
    step(shop, review_signal, signal.id, "dismissed", "second parcel on its way")
    assert read(shop, review_queue) == []
    with UnitOfWork(shop, write=False) as uow:
        event = uow.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "returns.signal_review")
        )
    assert event is not None
    assert (event.reason, event.detail["to"]) == (
        "second parcel on its way",
        "dismissed",
    )
