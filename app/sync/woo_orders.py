"""WooCommerce REST orders (wc/v3) to ChannelOrderData, with no HTTP.

WooCommerce reports line amounts without tax even when the store's prices
include tax. For such an order the gross figures (amount plus its tax) are
passed on, so the captured order keeps the price basis the customer saw.
Dates are read from the ``*_gmt`` fields, which are UTC without an offset.
A line's remaining quantity is the ordered quantity less the units its
refunds name (refund lines carry negative quantities and point at the order
line through the ``_refunded_item_id`` meta entry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.core.channels.order_import import (
    ChannelLine,
    ChannelOrderData,
    ChannelRefund,
    OrderState,
)
from app.core.money import line_total, to_minor
from app.core.order_input import Address, ChannelTax, CustomerInput

#: Key under which the adapter stores an order's refunds inside its record.
REFUNDS_KEY = "_backroom_refunds"
PRICE_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.0001")
OPEN_STATUSES = frozenset({"processing", "on-hold", "completed", "refunded"})
CANCELLED_STATUSES = frozenset({"cancelled", "trash"})


def parse_gmt(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    return Decimal(str(value))


def _state(status: str) -> OrderState:
    if status in OPEN_STATUSES:
        return "open"
    if status in CANCELLED_STATUSES:
        return "cancelled"
    return "unpaid"  # pending, failed, checkout-draft


def _rates(order: Mapping[str, Any]) -> dict[int, tuple[str, Decimal | None]]:
    """Return rate id -> (label, percent, or None when the store omits it)."""
    rates = {}
    for tax in order.get("tax_lines") or []:
        percent = tax.get("rate_percent")
        rates[int(tax.get("rate_id") or 0)] = (
            str(tax.get("label") or tax.get("rate_code") or "Tax"),
            Decimal(str(percent)) if percent not in (None, "") else None,
        )
    return rates


def _derived_percents(
    order: Mapping[str, Any], rates: Mapping[int, tuple[str, Decimal | None]]
) -> dict[int, Decimal]:
    """Work out a percent for rates the store did not state: tax over taxed amount."""
    tax: dict[int, Decimal] = {}
    base: dict[int, Decimal] = {}
    items = [*(order.get("line_items") or []), *(order.get("shipping_lines") or [])]
    for item in items:
        for part in item.get("taxes") or []:
            rate_id = int(part.get("id") or 0)
            tax[rate_id] = tax.get(rate_id, Decimal(0)) + _decimal(part.get("total"))
            base[rate_id] = base.get(rate_id, Decimal(0)) + _decimal(item.get("total"))
    result = {}
    for rate_id, (_label, percent) in rates.items():
        if percent is not None:
            result[rate_id] = percent
        elif base.get(rate_id):
            result[rate_id] = (tax[rate_id] * 100 / base[rate_id]).quantize(
                PERCENT_PLACES
            )
        else:
            result[rate_id] = Decimal(0)
    return result


def _taxes(
    parts: Sequence[Mapping[str, Any]],
    labels: Mapping[int, tuple[str, Decimal | None]],
    percents: Mapping[int, Decimal],
    currency: str,
) -> tuple[ChannelTax, ...]:
    result = []
    for part in parts:
        amount = to_minor(_decimal(part.get("total")), currency)
        rate_id = int(part.get("id") or 0)
        if not amount and not percents.get(rate_id):
            continue
        label = labels.get(rate_id, ("Tax", None))[0]
        result.append(ChannelTax(label, percents.get(rate_id, Decimal(0)), amount))
    return tuple(result)


def _refunded_units(refunds: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    units: dict[str, int] = {}
    for refund in refunds:
        for line_id, quantity in _refund_lines(refund):
            units[line_id] = units.get(line_id, 0) + quantity
    return units


def _refund_lines(refund: Mapping[str, Any]) -> list[tuple[str, int]]:
    lines = []
    for item in refund.get("line_items") or []:
        line_id = next(
            (
                str(meta.get("value"))
                for meta in item.get("meta_data") or []
                if meta.get("key") == "_refunded_item_id"
            ),
            None,
        )
        quantity = abs(int(item.get("quantity") or 0))
        if line_id and quantity:
            lines.append((line_id, quantity))
    return lines


def _line(
    item: Mapping[str, Any],
    include_tax: bool,
    currency: str,
    labels: Mapping[int, tuple[str, Decimal | None]],
    percents: Mapping[int, Decimal],
    refunded: Mapping[str, int],
) -> ChannelLine:
    line_id = str(item.get("id"))
    quantity = int(item.get("quantity") or 0)
    subtotal = _decimal(item.get("subtotal"))
    total = _decimal(item.get("total"))
    if include_tax:
        subtotal += _decimal(item.get("subtotal_tax"))
        total += _decimal(item.get("total_tax"))
    unit_price = (subtotal / quantity).quantize(PRICE_PLACES) if quantity else subtotal
    # The discount is what the line lost against its list amount; rounding the
    # unit price to four decimals moves the list amount by under a cent for
    # quantities below 100.
    listed = line_total(quantity, unit_price, currency) if quantity else 0
    discount = max(listed - to_minor(total, currency), 0)
    sku = (item.get("sku") or "").strip()
    if not sku:
        sku = f"product:{item.get('product_id')}"
        if item.get("variation_id"):
            sku += f"/variation:{item.get('variation_id')}"
    return ChannelLine(
        external_id=line_id,
        sku=sku,
        title=str(item.get("name") or sku),
        quantity=quantity,
        current_quantity=max(quantity - refunded.get(line_id, 0), 0),
        unit_price=unit_price,
        discount=discount,
        taxes=_taxes(item.get("taxes") or [], labels, percents, currency),
    )


def _address(record: Mapping[str, Any] | None, phone: str | None) -> Address | None:
    if not record or not (record.get("address_1") or record.get("country")):
        return None
    name = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
    return Address(
        name=name,
        line1=record.get("address_1") or "",
        line2=record.get("address_2") or None,
        city=record.get("city") or "",
        region=record.get("state") or None,
        postcode=record.get("postcode") or None,
        country=record.get("country") or None,
        phone=record.get("phone") or phone,
        company=record.get("company") or None,
    )


def parse_order(order: Mapping[str, Any]) -> ChannelOrderData:
    """Turn one wc/v3 order, its refunds under REFUNDS_KEY, into order data."""
    currency = str(order.get("currency") or "")
    include_tax = bool(order.get("prices_include_tax"))
    refunds_raw = list(order.get(REFUNDS_KEY) or [])
    refunded = _refunded_units(refunds_raw)
    labels = _rates(order)
    percents = _derived_percents(order, labels)
    lines = tuple(
        _line(item, include_tax, currency, labels, percents, refunded)
        for item in order.get("line_items") or []
    )
    shipping = Decimal(0)
    shipping_taxes: list[Mapping[str, Any]] = []
    for item in order.get("shipping_lines") or []:
        shipping += _decimal(item.get("total"))
        if include_tax:
            shipping += _decimal(item.get("total_tax"))
        shipping_taxes.extend(item.get("taxes") or [])
    billing = order.get("billing") or {}
    ship_to = _address(order.get("shipping"), billing.get("phone")) or _address(
        billing, billing.get("phone")
    )
    name = " ".join(
        p for p in (billing.get("first_name"), billing.get("last_name")) if p
    )
    customer_id = int(order.get("customer_id") or 0)
    customer = None
    if customer_id or billing.get("email"):
        customer = CustomerInput(
            external_id=str(customer_id) if customer_id else None,
            name=name,
            email=billing.get("email") or None,
            phone=billing.get("phone") or None,
            country=billing.get("country") or None,
        )
    refunds = tuple(
        ChannelRefund(
            external_id=str(refund.get("id")),
            refunded_at=parse_gmt(refund.get("date_created_gmt")) or datetime.now(UTC),
            amount=to_minor(_decimal(refund.get("amount")), currency),
            lines=tuple(_refund_lines(refund)),
            note=str(refund.get("reason") or ""),
        )
        for refund in refunds_raw
    )
    unsupported = tuple(
        f"fee line {fee.get('name') or ''!r} of {fee.get('total')} {currency}"
        for fee in order.get("fee_lines") or []
    )
    placed = parse_gmt(order.get("date_created_gmt"))
    updated = parse_gmt(order.get("date_modified_gmt")) or placed
    assert placed is not None and updated is not None
    return ChannelOrderData(
        external_id=str(order.get("id")),
        name=f"#{order.get('number') or order.get('id')}",
        updated_at=updated,
        placed_at=placed,
        state=_state(str(order.get("status") or "")),
        currency=currency,
        prices_include_tax=include_tax,
        lines=lines,
        total=to_minor(_decimal(order.get("total")), currency),
        shipping=shipping,
        shipping_tax=_taxes(shipping_taxes, labels, percents, currency),
        customer=customer,
        ship_to=ship_to,
        email=billing.get("email") or None,
        refunds=refunds,
        unsupported=unsupported,
        payload=dict(order),
    )
