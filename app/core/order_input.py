"""What a channel, the POS or a person hands to order capture."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class ChannelTax:
    """A tax line exactly as the channel charged it; ``rate`` in percent."""

    name: str
    rate: Decimal
    amount: int


@dataclass(frozen=True, slots=True)
class Address:
    name: str = ""
    line1: str = ""
    line2: str | None = None
    city: str = ""
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    phone: str | None = None
    company: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """The buyer; ``external_id`` is the channel's customer id when it has one."""

    external_id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    tax_number: str | None = None


@dataclass(frozen=True, slots=True)
class LineInput:
    """One ordered SKU.

    ``unit_price`` is in major units with at most four decimals, on the
    order's price basis. ``discount`` is a channel's own discount on this line
    in order minor units; ``channel_tax`` the tax the channel charged on it.
    """

    sku: str
    quantity: int
    unit_price: Decimal | str | int
    description: str = ""
    external_id: str | None = None
    discount: int = 0
    channel_tax: tuple[ChannelTax, ...] | None = None


@dataclass(frozen=True, slots=True)
class OrderInput:
    """An order to capture.

    ``channel`` is the channel's name. ``fx_rate`` is shop currency per one
    unit of the order currency and is required when the two differ.
    ``shipping`` is the shipping charge in major units on the order's price
    basis. When a channel supplies tax (``channel_tax`` on lines or
    ``shipping_tax``), the order keeps those lines as charged.
    ``local`` marks a sale made here (manual entry, POS): such a sale may not
    take available below zero; a channel's sale is kept even when oversold.
    """

    channel: str
    lines: Sequence[LineInput]
    placed_at: datetime
    external_id: str | None = None
    currency: str | None = None
    fx_rate: Decimal | None = None
    ship_to: Address | None = None
    customer: CustomerInput | None = None
    email: str | None = None
    shipping: Decimal | str | int = 0
    shipping_discount: int = 0
    shipping_tax: tuple[ChannelTax, ...] | None = None
    discount_codes: Sequence[str] = ()
    prices_include_tax: bool | None = None
    tax_rounding: Literal["line", "order"] | None = None
    payment_terms: Literal["paid", "credit"] | None = None
    local: bool | None = None
    unknown_sku: Literal["reject", "hold"] = "reject"
    warehouse: str | None = None
    note: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
