"""Shopify GraphQL orders to ChannelOrderData, with no HTTP.

Amounts are read from ``presentmentMoney``, the currency the customer paid
in, which becomes the order currency. Shopify also reports each amount in
the shop's own currency (``shopMoney``); the ratio of the two order totals
is the channel's own rate, used when the shop's currency is Backroom's.
A line's remaining quantity is the smaller of ``currentQuantity`` and the
ordered quantity less the units its refunds name, so a removal counts once
whichever of the two Shopify reports it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.core.channels.order_import import (
    ChannelLine,
    ChannelOrderData,
    ChannelRefund,
)
from app.core.money import to_minor
from app.core.order_input import Address, ChannelTax, CustomerInput

RATE_PLACES = Decimal("0.00000001")


def gid_tail(gid: str | None) -> str:
    """Return the number at the end of a Shopify global id."""
    if not gid:
        return ""
    return gid.rsplit("/", 1)[-1].split("?", 1)[0]


def order_gid(external_id: str) -> str:
    return f"gid://shopify/Order/{external_id}"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _money(bag: Mapping[str, Any] | None, side: str = "presentmentMoney") -> Decimal:
    """Return an amount of a MoneyBag, in presentment money unless ``side`` differs."""
    if not bag:
        return Decimal(0)
    part = bag.get(side) or bag.get("shopMoney") or {}
    return Decimal(str(part.get("amount") or "0"))


def _currency(bag: Mapping[str, Any] | None, side: str) -> str | None:
    part = (bag or {}).get(side) or {}
    code = part.get("currencyCode")
    return str(code) if code else None


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, dict):
        return list(connection.get("nodes") or [])
    if isinstance(connection, list):
        return connection
    return []


def _percent(tax: Mapping[str, Any]) -> Decimal:
    if tax.get("ratePercentage") is not None:
        return Decimal(str(tax["ratePercentage"]))
    return Decimal(str(tax.get("rate") or 0)) * 100


def _taxes(lines: list[Mapping[str, Any]], currency: str) -> tuple[ChannelTax, ...]:
    merged: dict[tuple[str, Decimal], int] = {}
    for tax in lines:
        key = (str(tax.get("title") or "Tax"), _percent(tax))
        merged[key] = merged.get(key, 0) + to_minor(
            _money(tax.get("priceSet")), currency
        )
    return tuple(
        ChannelTax(name, rate, amount) for (name, rate), amount in merged.items()
    )


def _address(record: Mapping[str, Any] | None) -> Address | None:
    if not record:
        return None
    name = record.get("name") or " ".join(
        p for p in (record.get("firstName"), record.get("lastName")) if p
    )
    return Address(
        name=name or "",
        line1=record.get("address1") or "",
        line2=record.get("address2") or None,
        city=record.get("city") or "",
        region=record.get("provinceCode") or None,
        postcode=record.get("zip") or None,
        country=record.get("countryCodeV2") or None,
        phone=record.get("phone") or None,
        company=record.get("company") or None,
    )


def _customer(
    order: Mapping[str, Any], ship_to: Address | None
) -> CustomerInput | None:
    record = order.get("customer")
    email = order.get("email")
    if not record and not email:
        return None
    record = record or {}
    name = record.get("displayName") or " ".join(
        p for p in (record.get("firstName"), record.get("lastName")) if p
    )
    return CustomerInput(
        external_id=gid_tail(record.get("id")) or None,
        name=name or (ship_to.name if ship_to else ""),
        email=record.get("email") or email,
        phone=order.get("phone"),
        country=ship_to.country if ship_to else None,
    )


def _refunds(
    order: Mapping[str, Any], currency: str
) -> tuple[tuple[ChannelRefund, ...], dict[str, int]]:
    """Return the refunds and the units each line lost to them."""
    refunds = []
    refunded: dict[str, int] = {}
    for record in order.get("refunds") or []:
        lines = []
        for item in _nodes(record.get("refundLineItems")):
            line_id = gid_tail((item.get("lineItem") or {}).get("id"))
            quantity = int(item.get("quantity") or 0)
            if line_id and quantity:
                lines.append((line_id, quantity))
                refunded[line_id] = refunded.get(line_id, 0) + quantity
        refunds.append(
            ChannelRefund(
                external_id=str(
                    record.get("legacyResourceId") or gid_tail(record.get("id"))
                ),
                refunded_at=parse_time(record.get("createdAt")) or datetime.now(UTC),
                amount=to_minor(_money(record.get("totalRefundedSet")), currency),
                lines=tuple(lines),
                note=record.get("note") or "",
            )
        )
    return tuple(refunds), refunded


def _line(
    item: Mapping[str, Any], currency: str, refunded: Mapping[str, int]
) -> ChannelLine:
    line_id = gid_tail(item.get("id"))
    sku = (item.get("sku") or "").strip()
    if not sku:
        variant = gid_tail((item.get("variant") or {}).get("id"))
        sku = f"variant:{variant}" if variant else f"line:{line_id}"
    quantity = int(item.get("quantity") or 0)
    current = item.get("currentQuantity")
    remaining = quantity - refunded.get(line_id, 0)
    if current is not None:
        remaining = min(remaining, int(current))
    discount = sum(
        (
            _money(a.get("allocatedAmountSet"))
            for a in item.get("discountAllocations") or []
        ),
        Decimal(0),
    )
    return ChannelLine(
        external_id=line_id,
        sku=sku,
        title=item.get("name") or item.get("title") or sku,
        quantity=quantity,
        current_quantity=max(remaining, 0),
        unit_price=_money(item.get("originalUnitPriceSet")),
        discount=to_minor(discount, currency),
        taxes=_taxes(list(item.get("taxLines") or []), currency),
    )


def _settlement(
    order: Mapping[str, Any], currency: str
) -> tuple[str | None, Decimal | None]:
    total = order.get("totalPriceSet")
    shop_currency = _currency(total, "shopMoney") or order.get("currencyCode")
    if not shop_currency or shop_currency == currency:
        return shop_currency, None
    presented = _money(total, "presentmentMoney")
    settled = _money(total, "shopMoney")
    if presented <= 0 or settled <= 0:
        return shop_currency, None
    return shop_currency, (settled / presented).quantize(RATE_PLACES)


def parse_order(order: Mapping[str, Any]) -> ChannelOrderData:
    """Turn one order of ``ShopifyClient.orders_updated_since`` into order data."""
    currency = str(
        _currency(order.get("totalPriceSet"), "presentmentMoney")
        or order.get("presentmentCurrencyCode")
        or order.get("currencyCode")
    )
    refunds, refunded = _refunds(order, currency)
    lines = tuple(
        _line(item, currency, refunded) for item in _nodes(order.get("lineItems"))
    )
    shipping_lines = _nodes(order.get("shippingLines"))
    shipping = sum(
        (_money(s.get("originalPriceSet")) for s in shipping_lines), Decimal(0)
    )
    shipping_after = sum(
        (
            _money(s.get("discountedPriceSet") or s.get("originalPriceSet"))
            for s in shipping_lines
        ),
        Decimal(0),
    )
    shipping_taxes = [t for s in shipping_lines for t in s.get("taxLines") or []]
    ship_to = _address(order.get("shippingAddress")) or _address(
        order.get("billingAddress")
    )
    settlement_currency, settlement_rate = _settlement(order, currency)
    placed = parse_time(order.get("processedAt")) or parse_time(order.get("createdAt"))
    updated = parse_time(order.get("updatedAt")) or placed
    assert placed is not None and updated is not None
    return ChannelOrderData(
        external_id=str(order.get("legacyResourceId") or gid_tail(order.get("id"))),
        name=str(order.get("name") or ""),
        updated_at=updated,
        placed_at=placed,
        state="cancelled" if order.get("cancelledAt") else "open",
        currency=currency,
        prices_include_tax=bool(order.get("taxesIncluded")),
        lines=lines,
        total=to_minor(_money(order.get("totalPriceSet")), currency),
        shipping=shipping,
        shipping_discount=to_minor(shipping - shipping_after, currency),
        shipping_tax=_taxes(shipping_taxes, currency),
        settlement_currency=settlement_currency,
        settlement_rate=settlement_rate,
        customer=_customer(order, ship_to),
        ship_to=ship_to,
        email=order.get("email"),
        refunds=refunds,
        payload=dict(order),
    )
