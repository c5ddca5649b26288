"""Order capture, updates and cancellation: the one path every sale takes.

:func:`capture` does all of an order's work in the caller's transaction:
customer, order and lines, discounts, tax, the reservation at the routed
warehouse, the invoice from the gap-free series, the journal entry, the
fulfillment request and one outbox row per other connected channel.
Capturing the same ``(channel, external id)`` again returns the existing
order and writes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import discounts, inventory, ledger
from app.core.audit import record
from app.core.catalog import find_variants
from app.core.changes import Changes
from app.core.exceptions import (
    InsufficientStock,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from app.core.invoicing import issue_credit_note, issue_invoice, next_number
from app.core.ledger import Posting
from app.core.models import (
    Channel,
    Customer,
    DiscountApplication,
    FulfillmentRequest,
    OrderLine,
    Reservation,
    SalesOrder,
    TaxLine,
    TaxRegistration,
    TaxRule,
    Variant,
    Warehouse,
)
from app.core.money import (
    convert,
    cumulative_share,
    currency_exponent,
    line_total,
    parse_price,
    to_minor,
)
from app.core.order_input import (
    Address,
    ChannelTax,
    CustomerInput,
    LineInput,
    OrderInput,
)
from app.core.outbox import queue_stock
from app.core.pricing import Component, PricedOrder, PricingRequest, price_order
from app.core.reference import cached, derived
from app.core.routing import route_order
from app.core.shop import get_shop, local_date, shop_zone
from app.core.tax import (
    Destination,
    Jurisdiction,
    Registration,
    TaxRate,
    jurisdiction_for,
)
from app.core.uow import UnitOfWork, insert_rows

log = logging.getLogger(__name__)

LOCAL_KINDS = frozenset({"manual", "pos"})
CLEARING = {"paid": "1100", "credit": "1110"}


@dataclass(frozen=True, slots=True)
class CaptureResult:
    order_id: int
    created: bool
    oversold: bool
    held: bool
    changes: Changes


# --- look-ups -------------------------------------------------------------


def get_channel(session: Session, name: str) -> Channel:
    cache: dict[str, Channel] = derived(session).setdefault("channels", {})
    channel = cache.get(name)
    if channel is None:
        channel = session.scalar(select(Channel).where(Channel.name == name))
        if channel is None:
            raise NotFound(
                f"channel {name!r} does not exist; add it on the Channels page or "
                "with the right --channel name"
            )
        cache[name] = channel
    return channel


def get_order(session: Session, order_id: int) -> SalesOrder:
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    return order


def _registrations(session: Session) -> tuple[Registration, ...]:
    return cached(session, "tax_registrations", _load_registrations)


def _load_registrations(session: Session) -> tuple[Registration, ...]:
    rows = session.scalars(select(TaxRegistration)).all()
    return tuple(Registration(r.kind, r.country, r.region) for r in rows)  # type: ignore[arg-type]


def _rates(session: Session, country: str) -> tuple[TaxRate, ...]:
    return cached(session, ("tax_rates", country), lambda s: _load_rates(s, country))


def _load_rates(session: Session, country: str) -> tuple[TaxRate, ...]:
    rows = session.scalars(select(TaxRule).where(TaxRule.country == country))
    return tuple(
        TaxRate(
            country=r.country,
            region=r.region,
            postcode=r.postcode,
            city=r.city,
            rate=r.rate,
            name=r.name,
            priority=r.priority,
            compound=r.compound,
            shipping=r.shipping,
            source=r.source,
            tax_class=r.tax_class,
        )
        for r in rows
    )


# --- validation -----------------------------------------------------------


def _check_line(line: LineInput, number: int) -> Decimal:
    field = f"line {number} quantity"
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
        raise ValidationError(field, line.quantity, f"{field} must be a whole number")
    if line.quantity <= 0:
        raise ValidationError(
            field,
            line.quantity,
            f"{field} is {line.quantity}; a sale needs a quantity above zero "
            "(use a return for goods coming back)",
        )
    price = parse_price(line.unit_price, f"line {number} unit price")
    if price < 0:
        raise ValidationError(
            f"line {number} unit price", price, "a unit price cannot be negative"
        )
    if line.discount < 0:
        raise ValidationError(
            f"line {number} discount", line.discount, "a discount cannot be negative"
        )
    return price


def _check_header(inp: OrderInput, shop_currency: str) -> tuple[str, Decimal]:
    if inp.placed_at.tzinfo is None:
        raise ValidationError(
            "placed_at",
            inp.placed_at,
            "the order time needs a time zone (UTC or local)",
        )
    if not inp.lines:
        raise ValidationError("lines", [], "an order needs at least one line")
    currency = (inp.currency or shop_currency).upper()
    currency_exponent(currency)
    if currency == shop_currency:
        return currency, Decimal(1)
    if inp.fx_rate is None or Decimal(inp.fx_rate) <= 0:
        raise ValidationError(
            "fx_rate",
            inp.fx_rate,
            f"the order is in {currency} but the shop keeps its books in "
            f"{shop_currency}; give the exchange rate ({shop_currency} per {currency})",
        )
    return currency, Decimal(inp.fx_rate)


# --- customers ------------------------------------------------------------


def upsert_customer(
    session: Session,
    channel: Channel,
    data: CustomerInput | None,
    ship_to: Address | None,
) -> Customer | None:
    """Find the buyer by channel id or e-mail, or create them."""
    if data is None:
        return None
    customer = None
    if data.external_id:
        customer = session.scalar(
            select(Customer).where(
                Customer.channel_id == channel.id,
                Customer.external_id == data.external_id,
            )
        )
    if customer is None and data.email:
        customer = session.scalar(
            select(Customer)
            .where(Customer.email == data.email.strip().lower())
            .limit(1)
        )
    if customer is None:
        customer = Customer(
            channel_id=channel.id if data.external_id else None,
            external_id=data.external_id,
            email=data.email.strip().lower() if data.email else None,
        )
        session.add(customer)
    customer.name = data.name or customer.name or (ship_to.name if ship_to else "")
    customer.phone = data.phone or customer.phone
    customer.country = (
        data.country or customer.country or (ship_to.country if ship_to else None)
    )
    customer.tax_number = data.tax_number or customer.tax_number
    session.flush()
    return customer


# --- pricing --------------------------------------------------------------


def _destination(
    inp_ship_to: Address | None,
    channel: Channel,
    shop_country: str,
    shop_region: str | None,
) -> Destination | None:
    if inp_ship_to is not None and inp_ship_to.country:
        return Destination(
            inp_ship_to.country.strip().upper(),
            inp_ship_to.region.strip().upper() if inp_ship_to.region else None,
            inp_ship_to.postcode,
            inp_ship_to.city or None,
        )
    if channel.kind in LOCAL_KINDS:
        return Destination(shop_country, shop_region)
    return None


def _price(
    uow: UnitOfWork,
    *,
    channel: Channel,
    list_amounts: list[int],
    lines: Sequence[LineInput],
    ship_to: Address | None,
    shipping: int,
    shipping_discount: int,
    shipping_tax: tuple[ChannelTax, ...] | None,
    applied: Sequence[discounts.AppliedDiscount],
    include_tax: bool,
    rounding: str,
) -> tuple[PricedOrder, Jurisdiction | None]:
    session = uow.session
    shop = get_shop(session)
    dest = _destination(ship_to, channel, shop.country, shop.region)
    channel_taxed = shipping_tax is not None or any(
        line.channel_tax is not None for line in lines
    )
    if dest is None:
        if not channel_taxed and _registrations(session):
            raise ValidationError(
                "ship_to.country",
                None,
                "the order has no destination country, which its tax depends on; "
                "add the shipping address",
            )
        jurisdiction = None
    else:
        jurisdiction = jurisdiction_for(shop.country, _registrations(session), dest)
    rates = _rates(session, jurisdiction.country) if jurisdiction else []
    priced = price_order(
        PricingRequest(
            list_amounts=list_amounts,
            line_discounts=[line.discount for line in lines],
            line_channel_tax=[line.channel_tax for line in lines],
            shipping=shipping,
            shipping_discount=shipping_discount,
            shipping_channel_tax=shipping_tax,
            code_discounts=applied,
            prices_include_tax=include_tax,
            rounding=rounding,
            rates=rates,
            destination=dest,
            jurisdiction=jurisdiction,
        )
    )
    return priced, jurisdiction


# --- capture --------------------------------------------------------------


def _next_manual_number(uow: UnitOfWork) -> str:
    return f"M{next_number(uow, 'manual_order'):06d}"


def capture(uow: UnitOfWork, inp: OrderInput) -> CaptureResult:
    """Capture an order; see the module docstring for everything it writes."""
    session = uow.session
    shop = get_shop(session)
    channel = get_channel(session, inp.channel)
    if inp.external_id is not None:
        existing = session.scalar(
            select(SalesOrder.id).where(
                SalesOrder.channel_id == channel.id,
                SalesOrder.external_id == str(inp.external_id),
            )
        )
        if existing is not None:
            return CaptureResult(existing, False, False, False, Changes())
    currency, fx_rate = _check_header(inp, shop.currency)
    ledger.ensure_open(
        session, local_date(inp.placed_at, shop_zone(session)), "an order"
    )
    local = inp.local if inp.local is not None else channel.kind in LOCAL_KINDS
    prices = [_check_line(line, i) for i, line in enumerate(inp.lines, start=1)]
    found = find_variants(session, [line.sku for line in inp.lines])
    variants: list[Variant | None] = []
    unknown: list[str] = []
    for number, line in enumerate(inp.lines, start=1):
        variant = found.get(line.sku)
        if variant is None:
            if inp.unknown_sku != "hold":
                raise ValidationError(
                    f"line {number} sku",
                    line.sku,
                    f"SKU {line.sku!r} on line {number} is not in the catalog; add "
                    "the product or correct the SKU",
                )
            unknown.append(line.sku)
        variants.append(variant)
    external_id = (
        str(inp.external_id)
        if inp.external_id is not None
        else _next_manual_number(uow)
    )
    customer = upsert_customer(session, channel, inp.customer, inp.ship_to)
    include_tax = (
        inp.prices_include_tax
        if inp.prices_include_tax is not None
        else channel.prices_include_tax
    )
    rounding = inp.tax_rounding or channel.tax_rounding
    list_amounts = [
        line_total(line.quantity, price, currency)
        for line, price in zip(inp.lines, prices, strict=True)
    ]
    shipping = to_minor(parse_price(inp.shipping, "shipping"), currency)
    applied = discounts.resolve(
        uow,
        list(inp.discount_codes),
        customer_id=customer.id if customer else None,
        placed_at=inp.placed_at,
        subtotal=sum(list_amounts) - sum(line.discount for line in inp.lines),
        shipping=shipping,
        currency=currency,
    )
    priced, jurisdiction = _price(
        uow,
        channel=channel,
        list_amounts=list_amounts,
        lines=inp.lines,
        ship_to=inp.ship_to,
        shipping=shipping,
        shipping_discount=inp.shipping_discount,
        shipping_tax=inp.shipping_tax,
        applied=applied,
        include_tax=include_tax,
        rounding=rounding,
    )
    order = SalesOrder(
        channel_id=channel.id,
        external_id=external_id,
        customer_id=customer.id if customer else None,
        status="open",
        placed_at=inp.placed_at.astimezone(UTC),
        currency=currency,
        fx_rate=fx_rate,
        prices_include_tax=include_tax,
        tax_rounding=rounding,
        payment_terms=inp.payment_terms or channel.payment_terms,
        email=(inp.email or (inp.customer.email if inp.customer else None)),
        note=inp.note,
        created_by=uow.user_id,
    )
    _set_address(order, inp.ship_to)
    session.add(order)
    order.lines = [
        OrderLine(
            line_no=number,
            variant_id=variant.id if variant else None,
            sku=variant.sku if variant else line.sku,
            description=line.description or (variant.title if variant else ""),
            external_id=line.external_id,
            quantity=line.quantity,
            unit_price=price,
        )
        for number, (line, price, variant) in enumerate(
            zip(inp.lines, prices, variants, strict=True), start=1
        )
    ]
    tax_rows = _apply_pricing(uow, order, priced, jurisdiction)
    for app_ in applied:
        session.add(
            DiscountApplication(
                order_id=order.id,
                code_id=app_.code_id,
                customer_id=customer.id if customer else None,
                code=app_.code,
                kind=app_.kind,
                value=app_.value,
                amount=app_.amount,
                source=app_.source,
            )
        )
    changes = _reserve_all(uow, order, local, requested=inp.warehouse)
    if unknown:
        order.status = "held"
        order.hold_reason = (
            "unknown SKU "
            + ", ".join(repr(s) for s in unknown)
            + (": add the product or map the SKU, then release the order")
        )
    entry_id = _post_order_state(
        uow, order, tax_rows, description=f"Order {external_id} captured"
    )
    if entry_id is not None:
        changes.entries.add(entry_id)
    changes.orders.add(order.id)
    if customer:
        changes.customers.add(customer.id)
    record(
        uow, "order.capture", "sales_order", order.id, detail={"channel": channel.name}
    )
    return CaptureResult(
        order.id, True, order.oversold, order.status == "held", changes
    )


def _set_address(order: SalesOrder, ship_to: Address | None) -> None:
    if ship_to is None:
        return
    order.ship_name = ship_to.name
    order.ship_company = ship_to.company
    order.ship_line1 = ship_to.line1
    order.ship_line2 = ship_to.line2
    order.ship_city = ship_to.city
    order.ship_region = ship_to.region.strip().upper() if ship_to.region else None
    order.ship_postcode = ship_to.postcode
    order.ship_country = ship_to.country.strip().upper() if ship_to.country else None
    order.ship_phone = ship_to.phone


def _apply_pricing(
    uow: UnitOfWork,
    order: SalesOrder,
    priced: PricedOrder,
    jurisdiction: Jurisdiction | None,
) -> list[dict[str, Any]]:
    """Store the priced amounts on the order and its lines; add its tax lines.

    Returns the tax lines' rows, which the order's journal entry credits.
    """
    session = uow.session
    shop = get_shop(session)

    def conv(amount: int) -> int:
        return convert(amount, order.fx_rate, order.currency, shop.currency)

    tax_shop_total = 0
    for line, p in zip(order.lines, priced.lines, strict=True):
        line.list_amount = p.list_amount
        line.discount_amount = p.discount_amount
        line.tax_amount = p.tax_amount
        line.list_net = p.list_net
        line.discount_net = p.discount_net
        line.list_net_shop = conv(p.list_net)
        line.discount_net_shop = conv(p.discount_net)
        line.tax_shop = sum(conv(c.amount) for c in p.components)
        tax_shop_total += line.tax_shop
    shipping_tax_shop = [conv(c.amount) for c in priced.shipping_components]
    tax_shop_total += sum(shipping_tax_shop)
    order.subtotal = priced.subtotal
    order.discount_total = priced.discount_total
    order.shipping = priced.shipping
    order.shipping_discount = priced.shipping_discount
    order.shipping_tax = priced.shipping_tax
    order.shipping_net_shop = conv(priced.shipping_net)
    order.shipping_discount_net_shop = conv(priced.shipping_discount_net)
    order.tax_total = priced.tax_total
    order.total = priced.total
    order.tax_source = priced.tax_source
    order.tax_reason = (
        jurisdiction.reason if jurisdiction else "no tax registration applies"
    )
    order.tax_difference_shop = tax_shop_total - conv(priced.computed_tax_total)
    order.total_shop = _revenue_shop(order) + tax_shop_total
    if order.id is None or any(line.id is None for line in order.lines):
        # Tax lines point at the order and its lines, so a new order is
        # written here, once, with every amount already set.
        session.flush()
    rows = [
        _tax_row(order, line.id, c, conv(c.amount), priced, jurisdiction)
        for line, p in zip(order.lines, priced.lines, strict=True)
        for c in p.components
    ] + [
        _tax_row(order, None, c, amount_shop, priced, jurisdiction)
        for c, amount_shop in zip(
            priced.shipping_components, shipping_tax_shop, strict=True
        )
    ]
    insert_rows(session, TaxLine, rows)
    return rows


def _tax_row(
    order: SalesOrder,
    line_id: int | None,
    c: Component,
    amount_shop: int,
    priced: PricedOrder,
    jurisdiction: Jurisdiction | None,
) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "order_line_id": line_id,
        "is_shipping": line_id is None,
        "name": c.name,
        "country": jurisdiction.country if jurisdiction else order.ship_country,
        "region": jurisdiction.region if jurisdiction else order.ship_region,
        "rate": c.rate,
        "priority": c.priority,
        "compound": c.compound,
        "taxable": c.taxable,
        "amount": c.amount,
        "amount_shop": amount_shop,
        "source": priced.tax_source,
    }


def _revenue_shop(order: SalesOrder) -> int:
    return (
        sum(line.list_net_shop - line.discount_net_shop for line in order.lines)
        + order.shipping_net_shop
        - order.shipping_discount_net_shop
    )


def _tax_postings(order: SalesOrder, tax_rows: list[dict[str, Any]]) -> list[Posting]:
    return [
        Posting(
            "2200",
            credit=row["amount_shop"],
            channel_id=order.channel_id,
            tax_rate=row["rate"],
        )
        for row in tax_rows
    ]


def _post_order_state(
    uow: UnitOfWork,
    order: SalesOrder,
    tax_rows: list[dict[str, Any]],
    *,
    description: str,
    at: datetime | None = None,
) -> int | None:
    """Post what the customer owes: Dr clearing, Cr 2200 tax, Cr 2300 the rest."""
    session = uow.session
    shop = get_shop(session)
    channel_id = order.channel_id
    postings = [
        Posting(
            CLEARING[order.payment_terms],
            debit=order.total_shop,
            channel_id=channel_id,
            fx_currency=order.currency if order.currency != shop.currency else None,
            fx_amount=order.total if order.currency != shop.currency else None,
        ),
        Posting("2300", credit=_revenue_shop(order), channel_id=channel_id),
        *_tax_postings(order, tax_rows),
    ]
    diff = order.tax_difference_shop
    if diff:
        memo = f"channel tax differs from the shop's tax rules by {diff} minor units"
        postings.append(
            Posting(
                "2200",
                debit=max(diff, 0),
                credit=max(-diff, 0),
                channel_id=channel_id,
                memo=memo,
            )
        )
        postings.append(
            Posting(
                "8200",
                debit=max(-diff, 0),
                credit=max(diff, 0),
                channel_id=channel_id,
                memo=memo,
            )
        )
    entry = ledger.post(
        uow,
        occurred_at=at or order.placed_at,
        kind="order",
        description=description,
        postings=postings,
        source=("sales_order", order.id),
    )
    order.posting_entry_id = entry.id if entry else None
    invoice = issue_invoice(uow, order, entry.id if entry else None)
    order.invoice_id = invoice.id
    return entry.id if entry else None


def _reserve_all(
    uow: UnitOfWork, order: SalesOrder, local: bool, *, requested: str | None
) -> Changes:
    """Route the order and reserve its lines; record shortfalls."""
    session = uow.session
    shop = get_shop(session)
    needs: dict[int, int] = defaultdict(int)
    for line in order.lines:
        if line.variant_id is not None:
            needs[line.variant_id] += line.quantity_open
    plan = route_order(uow, order, requested)
    order.warehouse_id = plan.warehouse_id
    order.routing_note = plan.summary
    order.oversold = False
    inventory.lock_levels(
        uow,
        [
            (line.variant_id, plan.warehouse_for(line.id))
            for line in order.lines
            if line.variant_id is not None and line.quantity_open
        ],
    )
    reservations: list[dict[str, int]] = []
    for line in sorted(order.lines, key=lambda ln: (ln.variant_id or 0, ln.line_no)):
        warehouse_id = plan.warehouse_for(line.id)
        line.warehouse_id = warehouse_id
        line.shortfall = 0
        if line.variant_id is None or line.quantity_open == 0:
            continue
        stock = inventory.level(uow, line.variant_id, warehouse_id)
        wanted = line.quantity_open
        if local and stock.available < wanted and not shop.allow_backorders:
            warehouse = session.get(Warehouse, warehouse_id)
            raise InsufficientStock(
                line.sku,
                warehouse.code if warehouse else "?",
                wanted,
                max(stock.available, 0),
            )
        granted = inventory.reserve(uow, line.variant_id, warehouse_id, wanted)
        if granted:
            reservations.append(
                {
                    "order_line_id": line.id,
                    "variant_id": line.variant_id,
                    "warehouse_id": warehouse_id,
                    "quantity": granted,
                }
            )
        line.shortfall = wanted - granted
        if line.shortfall and not local:
            order.oversold = True
    insert_rows(session, Reservation, reservations)
    requests = {
        req.warehouse_id: req
        for req in session.scalars(
            select(FulfillmentRequest).where(
                FulfillmentRequest.order_id == order.id,
                FulfillmentRequest.status == "open",
            )
        )
    }
    for warehouse_id in plan.warehouses:
        if warehouse_id not in requests:
            session.add(
                FulfillmentRequest(order_id=order.id, warehouse_id=warehouse_id)
            )
    for warehouse_id, req in requests.items():
        if warehouse_id not in plan.warehouses:
            req.status = "cancelled"
    changes = Changes(variants=set(needs))
    changes.outbox += queue_stock(session, needs, exclude_channel_id=order.channel_id)
    return changes


def _release_all(uow: UnitOfWork, order: SalesOrder) -> set[int]:
    session = uow.session
    touched: set[int] = set()
    line_ids = [line.id for line in order.lines]
    rows = session.scalars(
        select(Reservation).where(
            Reservation.order_line_id.in_(line_ids), Reservation.quantity > 0
        )
    ).all()
    for res in rows:
        inventory.release(uow, res.variant_id, res.warehouse_id, res.quantity)
        touched.add(res.variant_id)
        res.quantity = 0
    return touched


# --- update and cancel ----------------------------------------------------


def _stored_discounts(
    session: Session, order: SalesOrder
) -> list[discounts.AppliedDiscount]:
    rows = session.scalars(
        select(DiscountApplication).where(DiscountApplication.order_id == order.id)
    )
    return [
        discounts.AppliedDiscount(
            r.code_id,
            r.code,
            r.kind,
            r.value,
            r.amount,
            r.kind == "free_shipping",
            r.source,
        )
        for r in rows
        if r.source == "code"
    ]


def update_order(
    uow: UnitOfWork,
    order_id: int,
    *,
    quantities: dict[int, int] | None = None,
    ship_to: Address | None = None,
    reason: str = "order updated",
    at: datetime | None = None,
) -> Changes:
    """Change line quantities (by line number) or the address before shipment.

    The old posting is reversed and its invoice credited, then the order is
    priced, reserved, posted and invoiced again with the new figures.
    """
    session = uow.session
    order = get_order(session, order_id)
    if order.status in ("cancelled", "shipped") or any(
        line.quantity_shipped for line in order.lines
    ):
        raise InvalidTransition(
            f"order {order.external_id} has shipped or is cancelled; create a return "
            "or a new order instead of changing it"
        )
    quantities = quantities or {}
    for line_no, qty in quantities.items():
        if not any(line.line_no == line_no for line in order.lines):
            raise ValidationError("line", line_no, f"order has no line {line_no}")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise ValidationError(f"line {line_no} quantity", qty, "must be 0 or more")
    if all(quantities.get(line.line_no, line.quantity) == 0 for line in order.lines):
        raise ValidationError(
            "quantities",
            quantities,
            "an update cannot remove every line; cancel the order",
        )
    now = at or datetime.now(UTC)
    changes = Changes(orders={order.id})
    touched = _release_all(uow, order)
    if order.posting_entry_id is not None:
        reversal = ledger.reverse(
            uow, order.posting_entry_id, occurred_at=now, reason=reason
        )
        changes.entries.add(reversal.id)
    if order.invoice_id is not None:
        issue_credit_note(uow, order, order.invoice_id, None, full=True)
    kept = _kept_channel_figures(session, order, quantities)
    for row in session.scalars(select(TaxLine).where(TaxLine.order_id == order.id)):
        session.delete(row)
    for line in order.lines:
        line.quantity = quantities.get(line.line_no, line.quantity)
    if ship_to is not None:
        _set_address(order, ship_to)
    channel = session.get(Channel, order.channel_id)
    assert channel is not None
    applied = _recompute_codes(_stored_discounts(session, order), order)
    line_inputs = [
        LineInput(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=kept.discounts.get(line.id, 0),
            channel_tax=kept.line_taxes.get(line.id) if kept.channel_taxed else None,
        )
        for line in order.lines
    ]
    priced, jurisdiction = _price(
        uow,
        channel=channel,
        list_amounts=[
            line_total(ln.quantity, ln.unit_price, order.currency) for ln in order.lines
        ],
        lines=line_inputs,
        ship_to=_address_of(order),
        shipping=order.shipping,
        shipping_discount=kept.shipping_discount,
        shipping_tax=kept.shipping_taxes if kept.channel_taxed else None,
        applied=applied,
        include_tax=order.prices_include_tax,
        rounding=order.tax_rounding,
    )
    session.flush()
    tax_rows = _apply_pricing(uow, order, priced, jurisdiction)
    session.flush()
    changes.merge(_reserve_all(uow, order, channel.kind in LOCAL_KINDS, requested=None))
    changes.variants |= touched
    entry_id = _post_order_state(
        uow, order, tax_rows, description=f"Order {order.external_id} updated", at=now
    )
    if entry_id is not None:
        changes.entries.add(entry_id)
    order.updated_at = now
    record(
        uow,
        "order.update",
        "sales_order",
        order.id,
        reason=reason,
        detail={"quantities": {str(k): v for k, v in quantities.items()}},
    )
    return changes


@dataclass(frozen=True, slots=True)
class _KeptFigures:
    """A channel's own discounts and tax on an order, scaled to new quantities."""

    channel_taxed: bool
    discounts: dict[int, int]
    line_taxes: dict[int, tuple[ChannelTax, ...]]
    shipping_taxes: tuple[ChannelTax, ...]
    shipping_discount: int


def _kept_channel_figures(
    session: Session, order: SalesOrder, quantities: dict[int, int]
) -> _KeptFigures:
    """Scale what the channel charged to the new line quantities.

    A channel's order keeps the tax and discounts the channel set, prorated
    per unit, instead of being priced again by the shop's rules; shipping
    and its tax stay as charged. Discount codes of the shop's own are
    recomputed separately, so orders with codes carry no line discount here.
    """
    has_codes = bool(_stored_discounts(session, order))
    taxed = order.tax_source == "channel"
    rows = session.scalars(select(TaxLine).where(TaxLine.order_id == order.id)).all()
    discounts: dict[int, int] = {}
    line_taxes: dict[int, tuple[ChannelTax, ...]] = {}
    for line in order.lines:
        new = quantities.get(line.line_no, line.quantity)
        old = line.quantity or 1
        if not has_codes:
            discounts[line.id] = cumulative_share(line.discount_amount, new, old)
        line_taxes[line.id] = tuple(
            ChannelTax(t.name, t.rate, cumulative_share(t.amount, new, old))
            for t in rows
            if t.order_line_id == line.id
        )
    shipping_taxes = tuple(
        ChannelTax(t.name, t.rate, t.amount) for t in rows if t.order_line_id is None
    )
    return _KeptFigures(
        channel_taxed=taxed,
        discounts=discounts,
        line_taxes=line_taxes,
        shipping_taxes=shipping_taxes,
        shipping_discount=0 if has_codes else order.shipping_discount,
    )


def _recompute_codes(
    applied: list[discounts.AppliedDiscount], order: SalesOrder
) -> list[discounts.AppliedDiscount]:
    subtotal = sum(
        line_total(ln.quantity, ln.unit_price, order.currency) for ln in order.lines
    )
    result = []
    left = subtotal
    for a in applied:
        if a.kind == "percent":
            amount = min(left, round(Decimal(subtotal) * a.value / 100))
        elif a.kind == "fixed":
            amount = min(left, to_minor(a.value, order.currency))
        else:
            amount = order.shipping
        if not a.on_shipping:
            left -= amount
        result.append(
            discounts.AppliedDiscount(
                a.code_id, a.code, a.kind, a.value, amount, a.on_shipping
            )
        )
    return result


def _address_of(order: SalesOrder) -> Address | None:
    if not order.ship_country:
        return None
    return Address(
        name=order.ship_name,
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        region=order.ship_region,
        postcode=order.ship_postcode,
        country=order.ship_country,
        phone=order.ship_phone,
        company=order.ship_company,
    )


def cancel_order(
    uow: UnitOfWork,
    order_id: int,
    *,
    reason: str = "cancelled",
    at: datetime | None = None,
) -> Changes:
    """Cancel what has not shipped: release stock, reverse postings, credit note."""
    session = uow.session
    order = get_order(session, order_id)
    if order.status == "cancelled":
        raise InvalidTransition(f"order {order.external_id} is already cancelled")
    open_lines = [line for line in order.lines if line.quantity_open > 0]
    if not open_lines:
        raise InvalidTransition(
            f"order {order.external_id} has nothing left to cancel; every unit shipped"
        )
    now = at or datetime.now(UTC)
    changes = Changes(orders={order.id})
    changes.variants |= _release_all(uow, order)
    shipped_any = any(line.quantity_shipped for line in order.lines)
    if not shipped_any and order.posting_entry_id is not None:
        reversal = ledger.reverse(
            uow,
            order.posting_entry_id,
            occurred_at=now,
            reason=f"order cancelled: {reason}",
        )
        changes.entries.add(reversal.id)
        if order.invoice_id is not None:
            issue_credit_note(uow, order, order.invoice_id, reversal.id, full=True)
        for line in open_lines:
            line.quantity_cancelled += line.quantity_open
            line.shortfall = 0
        order.status = "cancelled"
    else:
        entry = _post_partial_cancel(uow, order, open_lines, now, reason)
        if entry is not None:
            changes.entries.add(entry)
        order.status = "shipped"
    for req in session.scalars(
        select(FulfillmentRequest).where(
            FulfillmentRequest.order_id == order.id, FulfillmentRequest.status == "open"
        )
    ):
        req.status = "cancelled"
    changes.outbox += queue_stock(session, changes.variants)
    order.updated_at = now
    record(uow, "order.cancel", "sales_order", order.id, reason=reason)
    return changes


def _post_partial_cancel(
    uow: UnitOfWork,
    order: SalesOrder,
    open_lines: list[OrderLine],
    now: datetime,
    reason: str,
) -> int | None:
    """Cancel the unshipped rest of a partly shipped order."""
    session = uow.session
    revenue = 0
    tax_by_rate: dict[Decimal | None, int] = defaultdict(int)
    line_taxes = session.execute(
        select(TaxLine.order_line_id, TaxLine.rate, TaxLine.amount_shop).where(
            TaxLine.order_id == order.id, TaxLine.order_line_id.is_not(None)
        )
    ).all()
    for line in open_lines:
        qty = line.quantity_open
        rev = (line.list_net_shop - line.revenue_recognized_shop) - (
            line.discount_net_shop - line.discount_recognized_shop
        )
        revenue += rev
        share = Decimal(qty) / line.quantity
        for line_id, rate, amount in line_taxes:
            if line_id == line.id:
                tax_by_rate[rate] += int((Decimal(amount) * share).to_integral_value())
        line.quantity_cancelled += qty
        line.shortfall = 0
        line.revenue_recognized_shop = line.list_net_shop
        line.discount_recognized_shop = line.discount_net_shop
    tax = sum(tax_by_rate.values())
    postings = [
        Posting("2300", debit=revenue, channel_id=order.channel_id),
        *[
            Posting("2200", debit=amount, channel_id=order.channel_id, tax_rate=rate)
            for rate, amount in tax_by_rate.items()
        ],
        Posting(
            CLEARING[order.payment_terms],
            credit=revenue + tax,
            channel_id=order.channel_id,
        ),
    ]
    entry = ledger.post(
        uow,
        occurred_at=now,
        kind="order.cancel",
        description=f"Order {order.external_id}: unshipped rest cancelled ({reason})",
        postings=postings,
        source=("sales_order", order.id),
    )
    if order.invoice_id is not None:
        issue_credit_note(
            uow,
            order,
            order.invoice_id,
            entry.id if entry else None,
            full=False,
            amount=_open_amount(order, open_lines, cancelled=True),
        )
    return entry.id if entry else None


def _open_amount(order: SalesOrder, lines: list[OrderLine], *, cancelled: bool) -> int:
    """Return what the given lines' cancelled units were charged, order currency."""
    total = 0
    for line in lines:
        charged = line.list_amount - line.discount_amount
        if not order.prices_include_tax:
            charged += line.tax_amount
        units = line.quantity_cancelled if cancelled else line.quantity_open
        total += int((Decimal(charged) * units / line.quantity).to_integral_value())
    return total


def release_hold(
    uow: UnitOfWork, order_id: int, *, at: datetime | None = None
) -> Changes:
    """Release a held order once every line has a SKU: route it and reserve stock."""
    session = uow.session
    order = get_order(session, order_id)
    if order.status != "held":
        raise InvalidTransition(f"order {order.external_id} is not held")
    missing = [line.sku for line in order.lines if line.variant_id is None]
    if missing:
        raise InvalidTransition(
            f"order {order.external_id} still has unknown SKUs "
            + ", ".join(repr(s) for s in missing)
            + "; map them to catalog SKUs first"
        )
    changes = Changes(orders={order.id})
    changes.variants |= _release_all(uow, order)
    order.status = "open"
    order.hold_reason = None
    order.updated_at = at or datetime.now(UTC)
    session.flush()
    changes.merge(_reserve_all(uow, order, False, requested=None))
    record(uow, "order.release", "sales_order", order.id)
    return changes
