"""Payouts from Stripe, PayPal and Shopify Payments files, and bank matching.

The Stripe worked example: charges of 15.99 (fee 0.53) and 10.00 (fee 0.30),
a refund of 5.00, a Radar fee of 1.00, then a payout of 19.16 = 15.46 + 9.70
- 5.00 - 1.00. The payout posts Dr 1000 Bank 19.16, Dr 6110 fees 1.83
(0.53 + 0.30 + 1.00) and Cr 1100 Channel clearing 20.99.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.cli import main
from app.core import inventory, shipments
from app.core.accounting import (
    FileFormatError,
    import_payouts,
    import_statement,
    match_statement,
    read_statement,
)
from app.core.accounting.payout_formats import (
    read_paypal_csv,
    read_shopify_json,
    read_stripe_csv,
    shopify_balance_transactions,
    shopify_payouts,
)
from app.core.exceptions import ValidationError
from app.core.ledger import account_ids
from app.core.models import JournalEntry, JournalLine
from app.core.models.accounting import Payout, PayoutTransaction
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.returns import (
    Grade,
    ReturnLineInput,
    authorize,
    inspect,
    pay_refund,
    request_refund,
)
from app.core.returns import receive as receive_return
from app.core.uow import UnitOfWork
from tests.conftest import shared_data
from tests.helpers import add_channel, add_sku, capture

STRIPE_HEADER = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
    "reporting_category,description"
)
STRIPE_ROWS = [
    "txn_a,2026-06-10 12:00:00,2026-06-12 00:00:00,gbp,15.99,0.53,15.46,charge,"
    "Order 1001",
    "txn_b,2026-06-11 12:00:00,2026-06-13 00:00:00,gbp,10.00,0.30,9.70,charge,"
    "Order 1002",
    "txn_c,2026-06-12 12:00:00,2026-06-12 00:00:00,gbp,-5.00,0.00,-5.00,refund,"
    "REFUND FOR CHARGE",
    "txn_d,2026-06-13 12:00:00,2026-06-13 00:00:00,gbp,-1.00,0.00,-1.00,fee,"
    "Radar screening",
    "po_1,2026-06-20 09:00:00,2026-06-20 00:00:00,gbp,-19.16,0.00,-19.16,payout,"
    "STRIPE PAYOUT",
    "txn_e,2026-06-25 12:00:00,2026-06-27 00:00:00,gbp,20.00,0.60,19.40,charge,"
    "Order 1003",
]
LONDON = Address(
    name="Ann Smith",
    line1="1 High St",
    city="London",
    postcode="SW1A 1AA",
    country="GB",
)


def step(engine: Engine, service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with UnitOfWork(engine) as uow:
        result = service(uow, *args, **kwargs)
        uow.commit()
    return result


def entry_lines(
    engine: Engine, entry_id: int
) -> list[tuple[str, int, int, int | None]]:
    """Return (account, debit, credit, channel id) of an entry's lines."""
    with UnitOfWork(engine, write=False) as uow:
        codes = {v: k for k, v in account_ids(uow.session).items()}
        rows = uow.session.execute(
            select(
                JournalLine.account_id,
                JournalLine.debit,
                JournalLine.credit,
                JournalLine.channel_id,
            )
            .where(JournalLine.entry_id == entry_id)
            .order_by(JournalLine.id)
        ).all()
    return [(codes[a], d, c, ch) for a, d, c, ch in rows]


def channel_id(engine: Engine, name: str) -> int:
    from app.core.models import Channel

    with UnitOfWork(engine, write=False) as uow:
        found = uow.session.scalar(select(Channel.id).where(Channel.name == name))
    assert found is not None
    return found


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def stripe_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "stripe.csv", STRIPE_HEADER + "\n" + "\n".join(STRIPE_ROWS))


@pytest.fixture
def usd_shop(make_shop: Callable[..., Engine]) -> Engine:
    engine = make_shop(
        "usshop", currency="USD", country="US", timezone="America/New_York"
    )
    add_channel(engine, "Shopify", "shopify")
    return engine


# --- Stripe -------------------------------------------------------------------


def test_stripe_sample_has_no_payout(usd_shop: Engine) -> None:
    data = read_stripe_csv(
        shared_data("accounting", "hledger", "csv__other__stripe.csv")
    )
    result = step(usd_shop, import_payouts, "Shopify", data)
    assert [(t.kind, t.gross, t.fee, t.net) for t in data.transactions] == [
        ("charge", 1200, 0, 1200),
        ("refund", -77, 0, -77),
    ]
    assert result.posted == ()
    assert result.new_transactions == 2
    assert result.uncovered == 2


def test_stripe_payout_posts_bank_fees_clearing(shop: Engine, stripe_csv: Path) -> None:
    add_channel(shop, "Shop", "shopify")
    result = step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    [posted] = result.posted
    shop_id = channel_id(shop, "Shop")
    assert (posted.external_id, posted.amount_shop, posted.fees_shop) == (
        "po_1",
        1916,
        183,
    )
    assert posted.paid_on == date(2026, 6, 20)
    assert entry_lines(shop, posted.entry_id) == [
        ("1000", 1916, 0, shop_id),
        ("6110", 183, 0, shop_id),
        ("1100", 0, 2099, shop_id),
    ]
    assert result.uncovered == 1


def test_stripe_payout_imported_twice_posts_once(
    shop: Engine, stripe_csv: Path
) -> None:
    add_channel(shop, "Shop", "shopify")
    step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    again = step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    with UnitOfWork(shop, write=False) as uow:
        entries = uow.session.scalars(
            select(JournalEntry.id).where(JournalEntry.kind == "payout")
        ).all()
    assert again.posted == ()
    assert again.already_posted == ("po_1",)
    assert again.new_transactions == 0
    assert len(entries) == 1


def test_stripe_next_file_covers_earlier_transactions(
    shop: Engine, stripe_csv: Path, tmp_path: Path
) -> None:
    add_channel(shop, "Shop", "shopify")
    step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    later = write(
        tmp_path,
        "stripe-july.csv",
        STRIPE_HEADER
        + "\n"
        + STRIPE_ROWS[-1]
        + "\ntxn_f,2026-07-01 12:00:00,,gbp,8.00,0.25,7.75,charge,Order 1004"
        + "\npo_2,2026-07-03 09:00:00,,gbp,-27.15,0.00,-27.15,payout,STRIPE PAYOUT\n",
    )
    result = step(shop, import_payouts, "Shop", read_stripe_csv(later))
    [posted] = result.posted
    # txn_e (fee 0.60) came with the June file, txn_f (fee 0.25) with this one.
    assert (posted.amount_shop, posted.fees_shop) == (2715, 85)
    assert result.uncovered == 0


def test_stripe_missing_column_named(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bad.csv", "id,created_utc,currency,gross\nx,2026-06-01,gbp,1"
    )
    with pytest.raises(FileFormatError) as error:
        read_stripe_csv(path)
    assert "missing columns fee, net, reporting_category" in str(error.value)


def test_stripe_bad_amount_names_row(tmp_path: Path) -> None:
    rows = [STRIPE_ROWS[0], STRIPE_ROWS[1].replace("10.00", "ten")]
    path = write(tmp_path, "bad.csv", STRIPE_HEADER + "\n" + "\n".join(rows))
    with pytest.raises(FileFormatError) as error:
        read_stripe_csv(path)
    assert str(error.value).startswith(f"{path}, row 3, column 'gross': 'ten'")


def test_payout_in_closed_period_reported(shop: Engine, stripe_csv: Path) -> None:
    from app.core.ledger import close_period

    add_channel(shop, "Shop", "shopify")
    step(shop, close_period, 2026, 6)
    result = step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    assert result.posted == ()
    assert result.problems == (
        "payout po_1 dated 2026-06-20 falls in the closed period 2026-06; date it in "
        "an open period or reopen 2026-06 with a reason",
    )


def test_fee_account_6100(shop: Engine, stripe_csv: Path) -> None:
    add_channel(shop, "Shop", "amazon")
    result = step(
        shop, import_payouts, "Shop", read_stripe_csv(stripe_csv), fee_account="6100"
    )
    assert [line[0] for line in entry_lines(shop, result.posted[0].entry_id)] == [
        "1000",
        "6100",
        "1100",
    ]


# --- PayPal -------------------------------------------------------------------


def test_paypal_sample_rows(usd_shop: Engine) -> None:
    data = read_paypal_csv(
        shared_data("accounting", "hledger", "csv__other__paypal-custom.csv")
    )
    [charge] = data.transactions
    assert (charge.external_id, charge.kind, charge.gross, charge.fee, charge.net) == (
        "68LL1662YP3134303",
        "charge",
        1000,
        59,
        941,
    )
    assert charge.occurred_at == datetime(2019, 10, 22, 12, 7, 6, tzinfo=UTC)
    assert [s.reason for s in data.skipped] == [
        "Subscription Payment of -6.99 USD paid from the PayPal balance; post this "
        "purchase by hand",
        "status Pending, not Completed",
        "PreApproved Payment Bill User Payment of -7.00 USD paid from the PayPal "
        "balance; post this purchase by hand",
        "status Pending, not Completed",
        "Subscription Payment of -2.00 USD paid from the PayPal balance; post this "
        "purchase by hand",
        "status Pending, not Completed",
    ]
    assert data.payouts == ()


def test_paypal_withdrawal_is_payout(usd_shop: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "paypal.csv",
        '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee",'
        '"Net","Transaction ID"\n'
        '"10/22/2019","05:07:06","PDT","Noble","Express Checkout Payment",'
        '"Completed","USD","10.00","-0.59","9.41","68LL1662YP3134303"\n'
        '"10/23/2019","10:00:00","PDT","","General Withdrawal","Completed","USD",'
        '"-9.41","0.00","-9.41","7WD12345"\n',
    )
    result = step(usd_shop, import_payouts, "Shopify", read_paypal_csv(path))
    [posted] = result.posted
    assert (posted.amount_shop, posted.fees_shop) == (941, 59)
    assert [line[:3] for line in entry_lines(usd_shop, posted.entry_id)] == [
        ("1000", 941, 0),
        ("6110", 59, 0),
        ("1100", 0, 1000),
    ]


def test_paypal_decimal_comma_and_day_first(usd_shop: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "paypal-de.csv",
        "Date;Time;TimeZone;Type;Status;Currency;Gross;Fee;Net;Transaction ID\n"
        "22.10.2019;05:07:06;CEST;Website Payment;Completed;USD;1.010,00;-30,59;"
        "979,41;T1\n",
    )
    [charge] = read_paypal_csv(path).transactions
    assert (charge.gross, charge.fee, charge.net) == (101000, 3059, 97941)
    assert charge.occurred_at == datetime(2019, 10, 22, 3, 7, 6, tzinfo=UTC)


# --- Shopify Payments -------------------------------------------------------------


def test_shopify_rest_payouts_post_paid_only(usd_shop: Engine) -> None:
    data = read_shopify_json(
        shared_data("shopify", "payouts.json"),
        shared_data("shopify", "payments_balance_transactions.json"),
    )
    result = step(usd_shop, import_payouts, "Shopify", data)
    assert [p.external_id for p in result.posted] == [
        "623721858",
        "725076685",
        "867808544",
    ]
    assert result.not_paid == (
        ("631321250", "scheduled"),
        ("714327683", "failed"),
        ("917000993", "failed"),
        ("39438702", "in_transit"),
        ("512467833", "failed"),
    )


def test_shopify_payout_uses_summary_fees(usd_shop: Engine) -> None:
    data = read_shopify_json(shared_data("shopify", "payouts.json"))
    result = step(usd_shop, import_payouts, "Shopify", data)
    posted = {p.external_id: p for p in result.posted}["623721858"]
    # Fees 1.32 + 0.12 - 0.23 = 1.21; gross 44.52 + 2.13 - 3.54 = 43.11.
    assert (posted.amount_shop, posted.fees_shop) == (4190, 121)
    assert [line[:3] for line in entry_lines(usd_shop, posted.entry_id)] == [
        ("1000", 4190, 0),
        ("6110", 121, 0),
        ("1100", 0, 4311),
    ]
    assert result.problems == ()


def test_shopify_transactions_linked_to_payout(usd_shop: Engine) -> None:
    data = read_shopify_json(
        shared_data("shopify", "payouts.json"),
        shared_data("shopify", "payments_balance_transactions.json"),
    )
    step(usd_shop, import_payouts, "Shopify", data)
    with UnitOfWork(usd_shop, write=False) as uow:
        payout = uow.session.scalar(
            select(Payout).where(Payout.external_id == "623721858")
        )
        linked = uow.session.scalars(
            select(PayoutTransaction.external_id).where(
                PayoutTransaction.payout_id == payout.id
            )
        ).all()
        charge = uow.session.scalar(
            select(PayoutTransaction).where(
                PayoutTransaction.external_id == "746296004"
            )
        )
    assert len(linked) == len(data.transactions)
    assert (charge.kind, charge.gross, charge.fee, charge.net) == (
        "charge",
        1000,
        200,
        800,
    )
    assert charge.order_reference == "625362839"


def test_shopify_summary_that_does_not_add_up_reported(usd_shop: Engine) -> None:
    payouts = json.loads(shared_data("shopify", "payouts.json").read_text())
    first = dict(payouts["payouts"][0], status="paid")
    result = step(
        usd_shop,
        import_payouts,
        "Shopify",
        read_shopify_json_data({"payouts": [first]}),
    )
    # 45.52 + 2.13 - 3.54 = 44.11 gross, less 1.21 fees = 42.90, not 43.12.
    assert result.problems == (
        "payout 512467833: its summary gives gross 44.11 less fees 1.21 = 42.90 USD, "
        "but the amount paid is 43.12; posted by amount and fees",
    )
    assert result.posted[0].fees_shop == 121


def read_shopify_json_data(payouts: Any) -> Any:
    from app.core.accounting.payouts import PayoutFile

    return PayoutFile("shopify", "test", (), tuple(shopify_payouts(payouts)))


GRAPHQL_PAYOUTS = {
    "data": {
        "shopifyPaymentsAccount": {
            "payouts": {
                "edges": [
                    {
                        "node": {
                            "id": "gid://shopify/ShopifyPaymentsPayout/623721858",
                            "issuedAt": "2012-11-12T12:00:00Z",
                            "status": "PAID",
                            "transactionType": "DEPOSIT",
                            "net": {"amount": "41.90", "currencyCode": "USD"},
                            "summary": {
                                "adjustmentsFee": {
                                    "amount": "0.12",
                                    "currencyCode": "USD",
                                },
                                "adjustmentsGross": {
                                    "amount": "2.13",
                                    "currencyCode": "USD",
                                },
                                "chargesFee": {"amount": "1.32", "currencyCode": "USD"},
                                "chargesGross": {
                                    "amount": "44.52",
                                    "currencyCode": "USD",
                                },
                                "refundsFee": {
                                    "amount": "-0.23",
                                    "currencyCode": "USD",
                                },
                                "refundsFeeGross": {
                                    "amount": "-3.54",
                                    "currencyCode": "USD",
                                },
                            },
                        }
                    }
                ]
            }
        }
    }
}
GRAPHQL_TRANSACTIONS = {
    "data": {
        "shopifyPaymentsAccount": {
            "balanceTransactions": {
                "nodes": [
                    {
                        "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/746296004",
                        "type": "CHARGE",
                        "test": False,
                        "amount": {"amount": "10.00", "currencyCode": "USD"},
                        "fee": {"amount": "2.00", "currencyCode": "USD"},
                        "net": {"amount": "8.00", "currencyCode": "USD"},
                        "transactionDate": "2024-01-10T12:34:56Z",
                        "associatedOrder": {"id": "gid://shopify/Order/625362839"},
                        "associatedPayout": {
                            "id": "gid://shopify/ShopifyPaymentsPayout/623721858",
                            "status": "PAID",
                        },
                    },
                    {
                        "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/1",
                        "type": "CHARGE",
                        "test": True,
                        "amount": {"amount": "1.00", "currencyCode": "USD"},
                        "fee": {"amount": "0.00", "currencyCode": "USD"},
                        "net": {"amount": "1.00", "currencyCode": "USD"},
                        "transactionDate": "2024-01-10T12:34:56Z",
                    },
                ]
            }
        }
    }
}


def test_shopify_graphql_payout_shape() -> None:
    [payout] = shopify_payouts(GRAPHQL_PAYOUTS)
    assert (payout.external_id, payout.status, payout.paid_on) == (
        "623721858",
        "paid",
        date(2012, 11, 12),
    )
    assert (payout.currency, payout.amount, payout.fees) == ("USD", 4190, 121)


def test_shopify_graphql_transactions_shape() -> None:
    found, skipped = shopify_balance_transactions(GRAPHQL_TRANSACTIONS)
    [charge] = found
    assert (charge.external_id, charge.kind, charge.fee_cost) == (
        "746296004",
        "charge",
        200,
    )
    assert (charge.order_reference, charge.payout_reference) == (
        "625362839",
        "623721858",
    )
    assert [s.reason for s in skipped] == ["test transaction"]


def test_foreign_payout_needs_rate(shop: Engine) -> None:
    add_channel(shop, "Shopify", "shopify")
    data = read_shopify_json_data(GRAPHQL_PAYOUTS)
    with pytest.raises(ValidationError) as error:
        step(shop, import_payouts, "Shopify", data)
    assert "give the exchange rate (GBP per USD) with --fx-rate" in str(error.value)


def test_foreign_payout_converted_with_rate(shop: Engine) -> None:
    add_channel(shop, "Shopify", "shopify")
    data = read_shopify_json_data(GRAPHQL_PAYOUTS)
    result = step(shop, import_payouts, "Shopify", data, fx_rate=Decimal("0.79"))
    [posted] = result.posted
    with UnitOfWork(shop, write=False) as uow:
        fx = uow.session.execute(
            select(JournalLine.fx_currency, JournalLine.fx_amount)
            .where(JournalLine.entry_id == posted.entry_id)
            .order_by(JournalLine.id)
        ).all()
    # 41.90 x 0.79 = 33.101 -> 33.10; 1.21 x 0.79 = 0.9559 -> 0.96.
    assert (posted.amount_shop, posted.fees_shop) == (3310, 96)
    assert fx == [("USD", 4190), (None, None), ("USD", 4311)]


# --- bank statements ----------------------------------------------------------------


def test_statement_semicolons_decimal_comma_day_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.csv",
        "Date;Description;Amount;Reference\n"
        "20.06.2026;STRIPE PAYOUT;1.234,56;po_1\n"
        "21.06.2026;Rent;-500,00;\n",
    )
    lines = read_statement(path, "GBP")
    assert [(ln.day, ln.amount, ln.reference) for ln in lines] == [
        (date(2026, 6, 20), 123456, "po_1"),
        (date(2026, 6, 21), -50000, None),
    ]


def test_statement_tabs_month_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.tsv",
        "date\tdescription\tamount\n06/30/2026\tInterest\t0.12\n06/01/2026\tFee\t-1,000.00\n",
    )
    lines = read_statement(path, "USD")
    assert [(ln.day, ln.amount) for ln in lines] == [
        (date(2026, 6, 30), 12),
        (date(2026, 6, 1), -100000),
    ]


def test_statement_missing_amount_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bank.csv", "date,description\n2026-06-01,x\n")
    with pytest.raises(FileFormatError) as error:
        read_statement(path, "GBP")
    assert "missing column amount" in str(error.value)


def test_statement_mixed_decimal_marks_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.csv",
        "date;description;amount\n2026-06-01;a;1,50\n2026-06-02;b;2.50\n",
    )
    with pytest.raises(FileFormatError) as error:
        read_statement(path, "GBP")
    assert "decimal comma and others a decimal point" in str(error.value)


def test_statement_imported_twice_adds_nothing(shop: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.csv",
        "date,description,amount\n2026-06-22,Card,1.00\n2026-06-22,Card,1.00\n",
    )
    first = step(shop, import_statement, path)
    second = step(shop, import_statement, path)
    assert (first.added, first.already_imported) == (2, 0)
    assert (second.added, second.already_imported) == (0, 2)


def _sale_refunded_by_bank(shop: Engine) -> int:
    """Sell 2 MUG at 6.00 (VAT included) and refund one by bank on 18 June."""
    add_sku(shop, "MUG")
    with UnitOfWork(shop) as uow:
        inventory.receive(
            uow, "MUG", "MAIN", 10, 250, at=datetime(2026, 6, 1, tzinfo=UTC)
        )
        uow.commit()
    order_id = capture(
        shop,
        OrderInput(
            channel="Shop",
            external_id="1001",
            placed_at=datetime(2026, 6, 10, 12, tzinfo=UTC),
            ship_to=LONDON,
            customer=CustomerInput(name="Ann", email="ann@example.com"),
            lines=[LineInput("MUG", 2, "6.00")],
            prices_include_tax=True,
        ),
    ).order_id
    step(shop, shipments.ship, order_id, at=datetime(2026, 6, 11, 12, tzinfo=UTC))
    rma = step(
        shop,
        authorize,
        order_id,
        [ReturnLineInput(1, 1, "no_longer_needed")],
        at=datetime(2026, 6, 12, tzinfo=UTC),
    )
    step(
        shop,
        receive_return,
        rma.reference,
        {1: 1},
        at=datetime(2026, 6, 14, tzinfo=UTC),
    )
    step(
        shop,
        inspect,
        rma.reference,
        [Grade(1, "new", 1)],
        at=datetime(2026, 6, 15, tzinfo=UTC),
    )
    refund = step(
        shop, request_refund, rma.reference, at=datetime(2026, 6, 16, tzinfo=UTC)
    )
    step(
        shop, pay_refund, refund.refund_id, "bank", at=datetime(2026, 6, 18, tzinfo=UTC)
    )
    return int(refund.refund_id)


def test_bank_matching_both_sides(
    shop: Engine, stripe_csv: Path, tmp_path: Path
) -> None:
    add_channel(shop, "Shop", "shopify")
    refund_id = _sale_refunded_by_bank(shop)
    second = write(
        tmp_path,
        "stripe2.csv",
        STRIPE_HEADER
        + "\ntxn_g,2026-06-26 12:00:00,,gbp,19.76,0.60,19.16,charge,Order 1005"
        + "\npo_2,2026-06-27 09:00:00,,gbp,-19.16,0.00,-19.16,payout,STRIPE PAYOUT\n"
        + "\npo_3,2026-06-28 09:00:00,,gbp,-7.00,0.00,-7.00,payout,STRIPE PAYOUT\n",
    )
    step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    step(shop, import_payouts, "Shop", read_stripe_csv(second))
    statement = write(
        tmp_path,
        "bank.csv",
        "date,description,amount,reference\n"
        "2026-06-19,REFUND ANN,-6.00,\n"
        "2026-06-22,STRIPE PAYMENTS UK,19.16,\n"
        "2026-06-28,STRIPE PAYMENTS UK,19.16,po_2\n"
        "2026-06-30,Rent,-500.00,\n",
    )
    step(shop, import_statement, statement)
    rec = step(shop, match_statement)
    with UnitOfWork(shop, write=False) as uow:
        payouts = dict(uow.session.execute(select(Payout.external_id, Payout.id)).all())
    matched = sorted(
        (m.kind, m.matched_id, m.amount, m.by_reference) for m in rec.matched
    )
    assert matched == [
        ("payout", payouts["po_1"], 1916, False),
        ("payout", payouts["po_2"], 1916, True),
        ("refund", refund_id, -600, False),
    ]
    assert [i.label for i in rec.unmatched_bank_lines] == ["bank.csv row 5: Rent"]
    assert [i.label for i in rec.unmatched_payouts] == ["Shop payout po_3"]
    assert rec.unmatched_refunds == ()


def test_bank_line_outside_window_not_matched(
    shop: Engine, stripe_csv: Path, tmp_path: Path
) -> None:
    add_channel(shop, "Shop", "shopify")
    step(shop, import_payouts, "Shop", read_stripe_csv(stripe_csv))
    statement = write(
        tmp_path, "bank.csv", "date,description,amount\n2026-06-26,STRIPE,19.16\n"
    )
    step(shop, import_statement, statement)
    rec = step(shop, match_statement)
    assert rec.matched == ()
    assert [i.amount for i in rec.unmatched_payouts] == [1916]


# --- command line -------------------------------------------------------------------


def test_cli_payouts_and_bank(
    shop: Engine, stripe_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    add_channel(shop, "Shop", "shopify")
    path = str(shop.url.database)
    code = main(
        [
            "payouts", "import", str(stripe_csv), "--source", "stripe",
            "--channel", "Shop", "--db", path, "--json",
        ]
    )  # fmt: skip
    payouts = json.loads(capsys.readouterr().out)
    statement = write(
        tmp_path, "bank.csv", "date;description;amount\n21.06.2026;STRIPE;19,16\n"
    )
    bank_code = main(["bank", "import", str(statement), "--db", path, "--json"])
    bank = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payouts["posted"] == [
        {"payout": "po_1", "date": "2026-06-20", "amount": "19.16", "fees": "1.83",
         "entry": payouts["posted"][0]["entry"]}
    ]  # fmt: skip
    assert bank_code == 0
    assert bank["imported"]["added"] == 1
    assert len(bank["matched"]) == 1
