"""What a refund gives back, worked out from the original order lines.

Every amount of an order line (list price, its share of order discounts, each
tax line, and their shop-currency twins) is refunded pro rata by quantity,
with cumulative rounding. After ``u`` of a line's ``Q`` units have been
refunded, exactly ``round_half_up(amount * u / Q)`` has gone back. So the
refund that brings ``u`` to ``Q`` takes the remainder, and no cent is
refunded twice or left behind. Shipping is shared the same way, by minor
units of the shipping that was paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.ledger import Posting
from app.core.models import OrderLine, SalesOrder, TaxLine
from app.core.models.returns import ReturnRefund, ReturnRefundLine
from app.core.money import cumulative_share
from app.core.returns.states import POSTED_REFUNDS


def increment(total: int, before: int, after: int, of_units: int) -> int:
    """Return the part of ``total`` for units ``before`` up to ``after``."""
    return cumulative_share(total, after, of_units) - cumulative_share(
        total, before, of_units
    )


@dataclass(frozen=True, slots=True)
class TaxShare:
    """Part of one tax line of the order, in order and shop minor units."""

    tax_line_id: int
    order_line_id: int | None
    rate: Decimal
    amount: int
    amount_shop: int


@dataclass(frozen=True, slots=True)
class LineRefund:
    """Refunded units of one order line and their share of its amounts."""

    return_line_id: int
    order_line_id: int
    line_no: int
    sku: str
    reason: str
    quantity: int
    list_amount: int
    discount_amount: int
    tax_amount: int
    paid: int
    list_net_shop: int
    discount_net_shop: int
    taxes: tuple[TaxShare, ...]
    fee_applies: bool

    @property
    def tax_shop(self) -> int:
        return sum(t.amount_shop for t in self.taxes)

    @property
    def paid_shop(self) -> int:
        return self.list_net_shop - self.discount_net_shop + self.tax_shop


@dataclass(frozen=True, slots=True)
class ShippingRefund:
    """The refunded part of the order's shipping charge."""

    paid: int = 0
    net_shop: int = 0
    discount_net_shop: int = 0
    taxes: tuple[TaxShare, ...] = ()

    @property
    def tax(self) -> int:
        return sum(t.amount for t in self.taxes)

    @property
    def tax_shop(self) -> int:
        return sum(t.amount_shop for t in self.taxes)

    @property
    def paid_shop(self) -> int:
        return self.net_shop - self.discount_net_shop + self.tax_shop


NO_SHIPPING = ShippingRefund()


@dataclass(frozen=True, slots=True)
class RefundQuote:
    """A refund before it is posted: lines, shipping and the fee kept back.

    Amounts without ``_shop`` are order-currency minor units; ``fee`` is the
    restocking fee (or what a channel kept back), credited to 4020.
    """

    currency: str
    lines: tuple[LineRefund, ...]
    shipping: ShippingRefund
    fee: int
    fee_shop: int

    @property
    def goods(self) -> int:
        return sum(line.paid for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax_amount for line in self.lines) + self.shipping.tax

    @property
    def total(self) -> int:
        return self.goods + self.shipping.paid - self.fee

    @property
    def total_shop(self) -> int:
        goods = sum(line.paid_shop for line in self.lines)
        return goods + self.shipping.paid_shop - self.fee_shop

    def postings(self, channel_id: int) -> list[Posting]:
        """Return the refund's journal lines: contra revenue, tax, fee, 2400."""
        tax_by_rate: dict[Decimal, int] = defaultdict(int)
        for tax in self._taxes():
            tax_by_rate[tax.rate] += tax.amount_shop
        postings = [
            Posting(
                "4900",
                debit=sum(line.list_net_shop for line in self.lines),
                channel_id=channel_id,
            ),
            Posting(
                "4910",
                credit=sum(line.discount_net_shop for line in self.lines)
                + self.shipping.discount_net_shop,
                channel_id=channel_id,
            ),
            Posting("4010", debit=self.shipping.net_shop, channel_id=channel_id),
            Posting("4020", credit=self.fee_shop, channel_id=channel_id),
            Posting("2400", credit=self.total_shop, channel_id=channel_id),
        ]
        postings += [
            Posting("2200", debit=amount, channel_id=channel_id, tax_rate=rate)
            for rate, amount in sorted(tax_by_rate.items())
        ]
        return postings

    def _taxes(self) -> Iterable[TaxShare]:
        for line in self.lines:
            yield from line.taxes
        yield from self.shipping.taxes


def line_taxes(session: Session, order_id: int) -> dict[int | None, list[TaxLine]]:
    """Return the order's tax lines by order line id (None: shipping)."""
    rows = session.scalars(
        select(TaxLine).where(TaxLine.order_id == order_id).order_by(TaxLine.id)
    )
    found: dict[int | None, list[TaxLine]] = defaultdict(list)
    for row in rows:
        found[None if row.is_shipping else row.order_line_id].append(row)
    return found


def refunded_units(session: Session, order_line_id: int) -> int:
    """Return the units of an order line that posted refunds have given back."""
    total = session.scalar(
        select(func.coalesce(func.sum(ReturnRefundLine.quantity), 0))
        .join(ReturnRefund, ReturnRefund.id == ReturnRefundLine.refund_id)
        .where(
            ReturnRefundLine.order_line_id == order_line_id,
            ReturnRefund.status.in_(POSTED_REFUNDS),
        )
    )
    return int(total or 0)


def shipping_refunded(session: Session, order_id: int) -> int:
    """Return the shipping (order minor units) that posted refunds gave back."""
    total = session.scalar(
        select(func.coalesce(func.sum(ReturnRefund.shipping), 0)).where(
            ReturnRefund.order_id == order_id,
            ReturnRefund.status.in_(POSTED_REFUNDS),
        )
    )
    return int(total or 0)


def paid_amount(order: SalesOrder, list_amount: int, discount: int, tax: int) -> int:
    """Return what the customer paid, given amounts on the order's price basis."""
    return list_amount - discount + (0 if order.prices_include_tax else tax)


def shipping_paid(order: SalesOrder) -> int:
    """Return what the customer paid for shipping, tax included."""
    return paid_amount(
        order, order.shipping, order.shipping_discount, order.shipping_tax
    )


def line_refund(
    order: SalesOrder,
    line: OrderLine,
    taxes: list[TaxLine],
    *,
    return_line_id: int,
    reason: str,
    quantity: int,
    before: int,
    fee_applies: bool,
) -> LineRefund:
    """Share out a line's amounts for ``quantity`` units after ``before`` units."""
    after = before + quantity
    units = line.quantity

    def part(total: int) -> int:
        return increment(total, before, after, units)

    shares = tuple(
        TaxShare(
            tax_line_id=t.id,
            order_line_id=line.id,
            rate=t.rate,
            amount=part(t.amount),
            amount_shop=part(t.amount_shop),
        )
        for t in taxes
    )
    list_amount = part(line.list_amount)
    discount = part(line.discount_amount)
    tax = sum(s.amount for s in shares)
    return LineRefund(
        return_line_id=return_line_id,
        order_line_id=line.id,
        line_no=line.line_no,
        sku=line.sku,
        reason=reason,
        quantity=quantity,
        list_amount=list_amount,
        discount_amount=discount,
        tax_amount=tax,
        paid=paid_amount(order, list_amount, discount, tax),
        list_net_shop=part(line.list_net_shop),
        discount_net_shop=part(line.discount_net_shop),
        taxes=shares,
        fee_applies=fee_applies,
    )


def line_limit(order: SalesOrder, line: OrderLine, taxes: list[TaxLine]) -> int:
    """Return what was paid for a line's shipped units, tax included.

    Each amount is shared out as refunds share it, so that refunding every
    shipped unit gives back exactly this figure.
    """
    shipped, units = line.quantity_shipped, line.quantity
    list_amount = cumulative_share(line.list_amount, shipped, units)
    discount = cumulative_share(line.discount_amount, shipped, units)
    tax = sum(cumulative_share(t.amount, shipped, units) for t in taxes)
    return paid_amount(order, list_amount, discount, tax)


def shipping_refund(
    order: SalesOrder, taxes: list[TaxLine], *, amount: int, before: int
) -> ShippingRefund:
    """Share out the shipping for ``amount`` paid minor units after ``before``."""
    if amount <= 0:
        return NO_SHIPPING
    paid = shipping_paid(order)
    after = before + amount

    def part(total: int) -> int:
        return increment(total, before, after, paid)

    return ShippingRefund(
        paid=amount,
        net_shop=part(order.shipping_net_shop),
        discount_net_shop=part(order.shipping_discount_net_shop),
        taxes=tuple(
            TaxShare(
                tax_line_id=t.id,
                order_line_id=None,
                rate=t.rate,
                amount=part(t.amount),
                amount_shop=part(t.amount_shop),
            )
            for t in taxes
        ),
    )
