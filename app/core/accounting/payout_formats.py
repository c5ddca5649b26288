"""Reading payout and activity files: Stripe, PayPal and Shopify Payments.

* Stripe "Balance change from activity" CSV: balance_transaction_id,
  created_utc, available_on_utc, currency, gross, fee, net,
  reporting_category, description. Rows of category ``payout`` are the
  payouts; the other categories are the balance transactions they cover.
* PayPal activity download (custom report fields Date, Time, TimeZone, Name,
  Type, Status, Currency, Gross, Fee, Net, Transaction ID, Reference Txn
  ID, Item Title, ...). Only Completed rows count. Withdrawals to the bank
  are the payouts, and money added from the bank is a payout with a
  negative amount. Payments the shop sent from its PayPal balance are listed
  as skipped, because they are purchases to post by hand.
* Shopify Payments payouts and balance transactions, in the REST shape
  (``{"payouts": [...]}``, ``{"transactions": [...]}``) or the GraphQL shape
  (``ShopifyPaymentsPayout`` and ``ShopifyPaymentsBalanceTransaction``
  nodes, under ``data``, ``edges``/``nodes`` or as a plain list).

Every parser returns a :class:`PayoutFile` for :func:`import_payouts`.
Amounts become minor units of their currency, exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.core.accounting.exceptions import FileFormatError
from app.core.accounting.parsing import (
    parse_amount,
    parse_day,
    read_rows,
    slashed_date_order,
    uses_decimal_comma,
)
from app.core.accounting.payouts import (
    BalanceTransaction,
    PayoutFile,
    PayoutInput,
    SkippedRow,
)
from app.core.exceptions import ValidationError
from app.core.money import to_minor

# --- shared -----------------------------------------------------------------


def _minor(value: Decimal, currency: str, path: str, row: int, field: str) -> int:
    try:
        return to_minor(value, currency)
    except ValidationError as exc:
        raise FileFormatError(path, row, field, str(exc)) from None


def _require(
    header: list[str], columns: Mapping[str, tuple[str, ...]], path: str
) -> dict[str, str]:
    """Map each wanted column to the header name the file uses, or raise."""
    found: dict[str, str] = {}
    missing = []
    for wanted, aliases in columns.items():
        name = next((a for a in (wanted, *aliases) if a in header), None)
        if name is None:
            missing.append(wanted)
        else:
            found[wanted] = name
    if missing:
        raise FileFormatError(
            path,
            1,
            None,
            f"missing columns {', '.join(missing)}; the header has {', '.join(header)}",
        )
    return found


# --- Stripe -----------------------------------------------------------------

STRIPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "balance_transaction_id": ("id",),
    "created_utc": ("created", "created_date_utc"),
    "currency": (),
    "gross": ("amount",),
    "fee": (),
    "net": (),
    "reporting_category": ("type", "category"),
}
STRIPE_KINDS = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "refund_failure": "refund",
    "partial_capture_reversal": "refund",
    "payout": "payout",
    "payout_reversal": "payout",
    "payout_failure": "payout",
    "fee": "fee",
    "network_cost": "fee",
    "stripe_fee": "fee",
    "tax": "fee",
}


def _stripe_time(text: str, path: str, row: int) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace(" UTC", ""))
    except ValueError:
        raise FileFormatError(
            path, row, "created_utc", f"{text!r} is not a date and time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_stripe_csv(path: str | Path) -> PayoutFile:
    """Read a Stripe balance activity CSV (see the module docstring)."""
    source = Path(path)
    name = str(source)
    header, rows = read_rows(source)
    columns = _require(header, STRIPE_COLUMNS, name)
    amount_cells = [
        cells.get(columns[c], "") for _, cells in rows for c in ("gross", "fee", "net")
    ]
    comma = uses_decimal_comma(amount_cells, name)
    transactions: list[BalanceTransaction] = []
    payouts: list[PayoutInput] = []
    for number, cells in rows:

        def cell(key: str, cells: dict[str, str] = cells) -> str:
            return cells.get(columns.get(key, key), "")

        external_id = cell("balance_transaction_id")
        if not external_id:
            raise FileFormatError(name, number, "balance_transaction_id", "is empty")
        currency = cell("currency").upper()
        amounts = {
            key: _minor(
                parse_amount(
                    cell(key), decimal_comma=comma, path=name, row=number, field=key
                ),
                currency,
                name,
                number,
                key,
            )
            for key in ("gross", "fee", "net")
        }
        category = cell("reporting_category").strip().lower()
        kind = STRIPE_KINDS.get(category, "adjustment")
        created = _stripe_time(cell("created_utc"), name, number)
        transactions.append(
            BalanceTransaction(
                external_id=external_id,
                kind=kind,
                occurred_at=created,
                currency=currency,
                gross=amounts["gross"],
                fee=amounts["fee"],
                net=amounts["net"],
                description=cell("description"),
            )
        )
        if kind == "payout":
            payouts.append(
                PayoutInput(
                    external_id=external_id,
                    status="paid",
                    paid_on=created.date(),
                    currency=currency,
                    amount=-amounts["net"],
                    created_at=created,
                )
            )
    return PayoutFile("stripe", name, tuple(transactions), tuple(payouts))


# --- PayPal -----------------------------------------------------------------

PAYPAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": (),
    "time": (),
    "type": (),
    "status": (),
    "currency": (),
    "gross": (),
    "fee": (),
    "net": (),
    "transaction_id": (),
}
# UTC offsets of the time zone abbreviations PayPal writes in its reports.
TIME_ZONE_OFFSETS = {
    "UTC": 0, "GMT": 0, "BST": 1, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6,
    "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AEST": 10, "AEDT": 11,
    "JST": 9,
}  # fmt: skip
_TO_BANK = re.compile(r"withdraw|transfer to bank|bank transfer|to bank account", re.I)
_FROM_BANK = re.compile(r"bank deposit to pp|add funds|transfer from bank", re.I)
_CONVERSION = re.compile(r"currency conversion", re.I)


def _paypal_time(
    day: date, time_text: str, zone_text: str, path: str, row: int
) -> datetime:
    zone_name = zone_text.strip().upper() or "UTC"
    offset = TIME_ZONE_OFFSETS.get(zone_name)
    if offset is None:
        raise FileFormatError(
            path,
            row,
            "timezone",
            f"time zone {zone_text!r} is unknown; download the report with UTC or "
            "a US or European zone",
        )
    try:
        clock = datetime.strptime(time_text.strip() or "00:00:00", "%H:%M:%S").time()
    except ValueError:
        raise FileFormatError(
            path, row, "time", f"{time_text!r} is not a time of day (HH:MM:SS)"
        ) from None
    local = datetime.combine(day, clock, tzinfo=timezone(timedelta(hours=offset)))
    return local.astimezone(UTC)


def _paypal_kind(type_text: str, gross: int) -> str | None:
    """Return the transaction kind of a PayPal row, None for a payment sent."""
    if _TO_BANK.search(type_text) or _FROM_BANK.search(type_text):
        return "payout"
    lowered = type_text.lower()
    if "refund" in lowered or ("reversal" in lowered and "fee" not in lowered):
        return "refund"
    if "fee" in lowered:
        return "fee"
    if gross > 0:
        return "charge"
    return None


def read_paypal_csv(path: str | Path) -> PayoutFile:
    """Read a PayPal activity download (see the module docstring)."""
    source = Path(path)
    name = str(source)
    header, rows = read_rows(source)
    columns = _require(header, PAYPAL_COLUMNS, name)
    comma = uses_decimal_comma(
        [
            cells.get(columns[c], "")
            for _, cells in rows
            for c in ("gross", "fee", "net")
        ],
        name,
    )
    order = slashed_date_order(cells.get(columns["date"], "") for _, cells in rows)
    transactions: list[BalanceTransaction] = []
    payouts: list[PayoutInput] = []
    skipped: list[SkippedRow] = []
    for number, cells in rows:

        def cell(key: str, cells: dict[str, str] = cells) -> str:
            return cells.get(columns.get(key, key), "")

        external_id = cell("transaction_id")
        type_text = cell("type")
        status = cell("status")
        if status.lower() != "completed":
            skipped.append(
                SkippedRow(
                    number, external_id, f"status {status or 'empty'}, not Completed"
                )
            )
            continue
        if _CONVERSION.search(type_text):
            skipped.append(
                SkippedRow(
                    number,
                    external_id,
                    "currency conversion inside PayPal; post the exchange "
                    "difference by hand",
                )
            )
            continue
        currency = cell("currency").upper()
        amounts = {
            key: _minor(
                parse_amount(
                    cell(key) or "0",
                    decimal_comma=comma,
                    path=name,
                    row=number,
                    field=key,
                ),
                currency,
                name,
                number,
                key,
            )
            for key in ("gross", "fee", "net")
        }
        # PayPal writes a fee it keeps as a negative number.
        fee = -amounts["fee"]
        kind = _paypal_kind(type_text, amounts["gross"])
        if kind is None:
            skipped.append(
                SkippedRow(
                    number,
                    external_id,
                    f"{type_text.strip()} of {cell('gross')} {currency} paid from the "
                    "PayPal balance; post this purchase by hand",
                )
            )
            continue
        day = parse_day(cell("date"), order, path=name, row=number, field="date")
        moment = _paypal_time(
            day, cell("time"), cells.get("timezone", ""), name, number
        )
        transactions.append(
            BalanceTransaction(
                external_id=external_id,
                kind=kind,
                occurred_at=moment,
                currency=currency,
                gross=amounts["gross"],
                fee=fee,
                net=amounts["net"],
                description=" ".join(
                    p
                    for p in (
                        type_text.strip(),
                        cells.get("name", ""),
                        cells.get("item_title", ""),
                    )
                    if p
                ),
                order_reference=cells.get("invoice_number") or None,
            )
        )
        if kind == "payout":
            payouts.append(
                PayoutInput(
                    external_id=external_id,
                    status="paid",
                    paid_on=day,
                    currency=currency,
                    amount=-amounts["net"],
                    created_at=moment,
                )
            )
    return PayoutFile(
        "paypal", name, tuple(transactions), tuple(payouts), tuple(skipped)
    )


# --- Shopify Payments -------------------------------------------------------

#: GraphQL payout statuses are upper case; REST ones are the lower-case words.
SHOPIFY_KINDS = {
    "charge": "charge",
    "refund": "refund",
    "payout": "payout",
    "payout_failure": "payout",
    "payout_cancellation": "payout",
}


def _gid_tail(value: object) -> str:
    """Return the numeric tail of a GraphQL global id, or the value as text."""
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("gid://") else text


def _money(value: object, currency: str | None, where: str) -> tuple[int, str]:
    """Read a REST decimal string or a GraphQL MoneyV2 object as minor units."""
    if isinstance(value, Mapping):
        amount_text = str(value.get("amount", ""))
        currency = str(value.get("currencyCode") or currency or "")
    else:
        amount_text = str(value) if value is not None else ""
    if not currency:
        raise ValueError(f"{where}: no currency given")
    try:
        amount = Decimal(amount_text)
    except ArithmeticError:
        raise ValueError(f"{where}: {amount_text!r} is not an amount") from None
    return to_minor(amount, currency.upper()), currency.upper()


def _nodes(data: Any, keys: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    """Yield the objects under any of ``keys``, however deeply wrapped.

    Handles REST lists, GraphQL connections (``edges``/``node`` or
    ``nodes``) and ``data`` wrappers.
    """
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item, keys)
        return
    if not isinstance(data, Mapping):
        return
    if "node" in data and isinstance(data["node"], Mapping):
        yield data["node"]
        return
    wrapped = False
    for key in (*keys, "data", "edges", "nodes", "shopifyPaymentsAccount"):
        if key in data:
            wrapped = True
            yield from _nodes(data[key], keys)
    if not wrapped and "id" in data:
        yield data


def _shopify_summary(
    summary: Mapping[str, Any], currency: str, where: str
) -> tuple[int, int, dict[str, str]]:
    """Return (gross total, fee total, flat summary) of a payout summary."""
    gross = fees = 0
    flat: dict[str, str] = {}
    for key, value in summary.items():
        amount, _ = _money(value, currency, f"{where} summary {key}")
        flat[key] = str(amount)
        if key.endswith(("_fee_amount", "Fee", "Fees")):
            fees += amount
        elif key.endswith(("_gross_amount", "Gross")):
            gross += amount
    flat["gross_total"] = str(gross)
    return gross, fees, flat


def _shopify_date(value: object, where: str) -> tuple[date, datetime]:
    text = str(value or "")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return day, datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.date(), moment


def shopify_payouts(data: Any, path: str = "Shopify payouts") -> list[PayoutInput]:
    """Map Shopify Payments payouts (REST or GraphQL shape) to payout inputs."""
    found = []
    for position, node in enumerate(_nodes(data, ("payouts",)), start=1):
        where = f"payout {node.get('id')}"
        try:
            net = node.get("amount", node.get("net"))
            currency = node.get("currency")
            amount, currency = _money(net, currency, where)
            day, moment = _shopify_date(node.get("date") or node.get("issuedAt"), where)
            if str(node.get("transactionType", "")).upper() == "WITHDRAWAL":
                amount = -abs(amount)
            _, fees, flat = _shopify_summary(node.get("summary") or {}, currency, where)
        except ValueError as exc:
            raise FileFormatError(path, position, None, str(exc)) from None
        found.append(
            PayoutInput(
                external_id=_gid_tail(node.get("id")),
                status=str(node.get("status", "")).lower(),
                paid_on=day,
                currency=currency,
                amount=amount,
                fees=fees if node.get("summary") else None,
                created_at=moment,
                summary=flat if node.get("summary") else {},
            )
        )
    return found


def shopify_balance_transactions(
    data: Any, path: str = "Shopify balance transactions"
) -> tuple[list[BalanceTransaction], list[SkippedRow]]:
    """Map Shopify Payments balance transactions (REST or GraphQL shape).

    Test transactions are skipped.
    """
    found: list[BalanceTransaction] = []
    skipped: list[SkippedRow] = []
    for position, node in enumerate(
        _nodes(data, ("transactions", "balanceTransactions")), start=1
    ):
        external_id = _gid_tail(node.get("id"))
        if node.get("test"):
            skipped.append(SkippedRow(position, external_id, "test transaction"))
            continue
        where = f"balance transaction {external_id}"
        try:
            gross, currency = _money(node.get("amount"), node.get("currency"), where)
            fee, _ = _money(node.get("fee", "0"), currency, where)
            net, _ = _money(node.get("net"), currency, where)
            _, moment = _shopify_date(
                node.get("processed_at") or node.get("transactionDate"), where
            )
        except ValueError as exc:
            raise FileFormatError(path, position, None, str(exc)) from None
        payout = node.get("payout_id")
        if payout is None and isinstance(node.get("associatedPayout"), Mapping):
            payout = node["associatedPayout"].get("id")
        order = node.get("source_order_id")
        if order is None and isinstance(node.get("associatedOrder"), Mapping):
            order = node["associatedOrder"].get("id")
        kind_text = str(node.get("type", "")).lower()
        found.append(
            BalanceTransaction(
                external_id=external_id,
                kind=SHOPIFY_KINDS.get(kind_text, "adjustment"),
                occurred_at=moment,
                currency=currency,
                gross=gross,
                fee=fee,
                net=net,
                description=kind_text
                + (
                    f" ({node['adjustment_reason']})"
                    if node.get("adjustment_reason")
                    else ""
                ),
                order_reference=_gid_tail(order) if order is not None else None,
                payout_reference=_gid_tail(payout) if payout is not None else None,
            )
        )
    return found, skipped


def read_shopify_json(
    payouts_path: str | Path | None, transactions_path: str | Path | None = None
) -> PayoutFile:
    """Read Shopify Payments payouts and, optionally, balance transactions files."""
    payouts: list[PayoutInput] = []
    transactions: list[BalanceTransaction] = []
    skipped: list[SkippedRow] = []
    names = []
    for file_path, is_payouts in ((payouts_path, True), (transactions_path, False)):
        if file_path is None:
            continue
        name = str(file_path)
        names.append(name)
        try:
            data = json.loads(Path(file_path).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise FileFormatError(
                name, None, None, f"cannot read JSON: {exc}"
            ) from None
        if is_payouts:
            payouts = shopify_payouts(data, name)
        else:
            transactions, skipped = shopify_balance_transactions(data, name)
    return PayoutFile(
        "shopify",
        " + ".join(names),
        tuple(transactions),
        tuple(payouts),
        tuple(skipped),
    )


READERS = {"stripe": read_stripe_csv, "paypal": read_paypal_csv}
