"""Order amounts: line totals, discount shares, tax, shipping and the total.

Everything here is in minor units of the order currency. Line totals are
quantity x unit price rounded half-up; discounts are spread over the lines in
proportion to their totals by the largest remainder, so the shares always add
up to the discount and a later refund can prorate them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.core.discounts import AppliedDiscount
from app.core.money import allocate, round_half_up
from app.core.order_input import ChannelTax
from app.core.tax import (
    Destination,
    Jurisdiction,
    TaxLineInput,
    TaxRate,
    compute_tax,
)


@dataclass(frozen=True, slots=True)
class Component:
    """One rate's tax on a line (or on shipping), as charged."""

    name: str
    rate: Decimal
    priority: int
    compound: bool
    taxable: int
    amount: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    """Amounts of one line; ``list_net`` - ``discount_net`` is its net revenue."""

    list_amount: int
    discount_amount: int
    tax_amount: int
    list_net: int
    discount_net: int
    components: tuple[Component, ...]


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    subtotal: int
    discount_total: int
    shipping: int
    shipping_discount: int
    shipping_tax: int
    shipping_net: int
    shipping_discount_net: int
    shipping_components: tuple[Component, ...]
    tax_total: int
    computed_tax_total: int
    total: int
    tax_source: str


@dataclass(frozen=True, slots=True)
class PricingRequest:
    """Inputs of :func:`price_order`; amounts in order minor units."""

    list_amounts: Sequence[int]
    line_discounts: Sequence[int]
    line_channel_tax: Sequence[tuple[ChannelTax, ...] | None]
    shipping: int
    shipping_discount: int
    shipping_channel_tax: tuple[ChannelTax, ...] | None
    code_discounts: Sequence[AppliedDiscount]
    prices_include_tax: bool
    rounding: str
    rates: Sequence[TaxRate]
    destination: Destination | None
    jurisdiction: Jurisdiction | None


def _rate_components(result_components: Sequence[object]) -> tuple[Component, ...]:
    return tuple(
        Component(
            name=c.name,  # type: ignore[attr-defined]
            rate=c.rate,  # type: ignore[attr-defined]
            priority=c.priority,  # type: ignore[attr-defined]
            compound=c.compound,  # type: ignore[attr-defined]
            taxable=c.taxable,  # type: ignore[attr-defined]
            amount=c.amount,  # type: ignore[attr-defined]
        )
        for c in result_components
        if c.amount or c.rate  # type: ignore[attr-defined]
    )


def _channel_components(
    taxes: tuple[ChannelTax, ...], taxable: int
) -> tuple[Component, ...]:
    return tuple(
        Component(t.name, t.rate, i + 1, False, taxable, t.amount)
        for i, t in enumerate(taxes)
    )


def _net_parts(
    include_tax: bool, taxable: int, tax: int, discount: int, rate_sum: Decimal
) -> tuple[int, int]:
    """Return (list_net, discount_net) so that their difference is the net."""
    net = taxable - tax if include_tax else taxable
    if not include_tax:
        return net + discount, discount
    if taxable:
        discount_net = round_half_up(Decimal(discount) * net / taxable)
    else:
        discount_net = round_half_up(Decimal(discount) * 100 / (100 + rate_sum))
    return net + discount_net, discount_net


def price_order(request: PricingRequest) -> PricedOrder:
    """Work out every amount of an order from its lines, discounts and tax."""
    r = request
    count = len(r.list_amounts)
    subtotal = sum(r.list_amounts)
    merchandise_codes = sum(d.amount for d in r.code_discounts if not d.on_shipping)
    weights = [a - d for a, d in zip(r.list_amounts, r.line_discounts, strict=True)]
    shares = allocate(merchandise_codes, weights)
    discounts = [d + s for d, s in zip(r.line_discounts, shares, strict=True)]
    shipping_discount = min(
        r.shipping,
        r.shipping_discount + sum(d.amount for d in r.code_discounts if d.on_shipping),
    )
    taxables = [a - d for a, d in zip(r.list_amounts, discounts, strict=True)]
    ship_taxable = r.shipping - shipping_discount

    computed = None
    if r.jurisdiction is not None and r.destination is not None:
        inputs = [TaxLineInput(key=str(i), amount=t) for i, t in enumerate(taxables)]
        inputs.append(
            TaxLineInput(key="shipping", amount=ship_taxable, is_shipping=True)
        )
        computed = compute_tax(
            inputs,
            r.rates,
            r.jurisdiction.rated_destination(r.destination),
            prices_include_tax=r.prices_include_tax,
            rounding="order" if r.rounding == "order" else "line",
        )
    computed_tax_total = sum(t.tax for t in computed.lines) if computed else 0

    channel_supplied = any(t is not None for t in r.line_channel_tax) or (
        r.shipping_channel_tax is not None
    )
    line_components: list[tuple[Component, ...]] = []
    for i in range(count):
        if channel_supplied:
            line_components.append(
                _channel_components(r.line_channel_tax[i] or (), taxables[i])
            )
        elif computed is not None:
            line_components.append(_rate_components(computed.lines[i].components))
        else:
            line_components.append(())
    if channel_supplied:
        ship_components = _channel_components(
            r.shipping_channel_tax or (), ship_taxable
        )
    elif computed is not None:
        ship_components = _rate_components(computed.lines[-1].components)
    else:
        ship_components = ()

    priced = []
    for i in range(count):
        tax = sum(c.amount for c in line_components[i])
        rate_sum = sum((c.rate for c in line_components[i]), Decimal(0))
        list_net, discount_net = _net_parts(
            r.prices_include_tax, taxables[i], tax, discounts[i], rate_sum
        )
        priced.append(
            PricedLine(
                list_amount=r.list_amounts[i],
                discount_amount=discounts[i],
                tax_amount=tax,
                list_net=list_net,
                discount_net=discount_net,
                components=line_components[i],
            )
        )
    shipping_tax = sum(c.amount for c in ship_components)
    ship_rate = sum((c.rate for c in ship_components), Decimal(0))
    shipping_net, shipping_discount_net = _net_parts(
        r.prices_include_tax, ship_taxable, shipping_tax, shipping_discount, ship_rate
    )
    tax_total = sum(p.tax_amount for p in priced) + shipping_tax
    gross = sum(taxables) + ship_taxable
    total = gross if r.prices_include_tax else gross + tax_total
    if channel_supplied:
        source = "channel"
        if computed is None:
            computed_tax_total = tax_total
    else:
        source = "rules" if computed is not None else "none"
    return PricedOrder(
        lines=tuple(priced),
        subtotal=subtotal,
        discount_total=sum(discounts),
        shipping=r.shipping,
        shipping_discount=shipping_discount,
        shipping_tax=shipping_tax,
        shipping_net=shipping_net,
        shipping_discount_net=shipping_discount_net,
        shipping_components=ship_components,
        tax_total=tax_total,
        computed_tax_total=computed_tax_total,
        total=total,
        tax_source=source,
    )
