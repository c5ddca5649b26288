"""The serial returner analysis over a real year of history (UCI Online Retail).

The file's invoices become historical orders the way an import stores them:
``historical=True``, the invoice number as external id (credit notes start
with C and carry negative quantities), one customer per CustomerID. Lines
without a customer are left out, as the analysis is per customer.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from app.core.models import Customer, OrderLine, SalesOrder
from app.core.returns import analyze, customer_activity
from app.core.uow import UnitOfWork
from tests.conftest import shared_data

LONDON = ZoneInfo("Europe/London")


def load_history(engine: Engine) -> dict[str, int]:
    """Insert the file's customer invoices; return CustomerID -> customer id."""
    path = shared_data("online_retail", "online_retail.csv.gz")
    invoices: dict[str, dict[str, object]] = {}
    lines: dict[str, list[tuple[str, int, Decimal]]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["CustomerID"]:
                continue
            number = row["InvoiceNo"]
            invoices.setdefault(
                number, {"customer": row["CustomerID"], "at": row["InvoiceDate"]}
            )
            lines[number].append(
                (row["StockCode"], int(row["Quantity"]), Decimal(row["UnitPrice"]))
            )
    with UnitOfWork(engine) as uow:
        session = uow.session
        customers = sorted({str(i["customer"]) for i in invoices.values()})
        session.execute(
            insert(Customer),
            [{"external_id": c, "name": f"Customer {c}"} for c in customers],
        )
        ids = dict(session.execute(select(Customer.external_id, Customer.id)).all())
        session.execute(
            insert(SalesOrder),
            [
                {
                    "channel_id": 1,
                    "external_id": number,
                    "customer_id": ids[str(data["customer"])],
                    "status": "shipped",
                    "historical": True,
                    "placed_at": datetime.fromisoformat(str(data["at"]))
                    .replace(tzinfo=LONDON)
                    .astimezone(ZoneInfo("UTC")),
                    "currency": "GBP",
                }
                for number, data in invoices.items()
            ],
        )
        orders = dict(
            session.execute(select(SalesOrder.external_id, SalesOrder.id)).all()
        )
        rows = []
        for number, items in lines.items():
            for line_no, (sku, quantity, price) in enumerate(items, start=1):
                amount = int((price * quantity * 100).to_integral_value())
                rows.append(
                    {
                        "order_id": orders[number],
                        "line_no": line_no,
                        "sku": sku,
                        "quantity": quantity,
                        "unit_price": price,
                        "list_amount": amount,
                        "list_net": amount,
                        "list_net_shop": amount,
                    }
                )
        # A Core insert skips the ORM's per-row bookkeeping for 400,000 lines.
        session.connection().execute(insert(OrderLine.__table__), rows)
        uow.commit()
    return {k: v for k, v in ids.items() if k is not None}


@pytest.mark.realdata
@pytest.mark.slow
def test_analysis_over_online_retail_year(shop: Engine) -> None:
    ids = load_history(shop)
    with UnitOfWork(shop, write=False) as uow:
        activity = {a.customer_id: a for a in customer_activity(uow.session)}
        outliers = analyze(uow.session)
    # 74,215 jars ordered at 10:01 and credited at 10:17: a cancellation, so
    # customer 12346 has neither an order nor a return left.
    assert ids["12346"] not in activity
    # 80,995 paper crafts ordered and credited 12 minutes apart on 2011-12-09.
    assert activity[ids["16446"]].returns == 0
    assert activity[ids["16446"]].orders == 1
    assert len(activity) > 4000
    assert 0 < len(outliers) < len(activity) // 10
    assert all(s.activity.orders >= 5 for s in outliers)
    assert all(s.score > Decimal("3.5") for s in outliers)
