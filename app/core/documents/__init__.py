"""Shipping documents: the records they are drawn from and shared formatting.

Every renderer in this package takes one of the frozen dataclasses below, so
that documents never read the database: the caller maps its records onto
them. Money is integer minor units plus an ISO 4217 code, weights are grams.

Renderers live in their own modules: ``label`` (4x6 PDF label), ``zpl``
(ZPL II label and raw printing), ``packing_slip``, ``pick_list`` and
``commercial_invoice``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pycountry
from babel.numbers import format_currency

from app.core.exceptions import BackroomError
from app.core.money import from_minor

__all__ = [
    "Address",
    "CommercialInvoiceData",
    "DocLine",
    "DocumentError",
    "LabelData",
    "PackingSlipData",
    "PickListData",
    "address_lines",
    "check_tracking_number",
    "country_name",
    "format_money",
    "format_weight",
    "single_currency",
]


class DocumentError(BackroomError):
    """A document cannot be rendered from the data it was given."""


@dataclass(frozen=True, kw_only=True)
class Address:
    """A postal address as printed on labels and slips.

    ``country`` is an ISO 3166-1 alpha-2 code such as ``"GB"``; ``region`` is
    the state, province or county where the country's postal format uses one.
    """

    name: str
    company: str = ""
    line1: str
    line2: str = ""
    city: str
    region: str = ""
    postcode: str = ""
    country: str
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, kw_only=True)
class LabelData:
    """Everything a 4x6 shipping label shows for one parcel."""

    shipment_ref: str
    order_ref: str
    tracking_number: str
    carrier: str
    service: str
    weight_g: int
    ship_from: Address
    ship_to: Address
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class DocLine:
    """One SKU line on a packing slip, pick list or commercial invoice.

    ``unit_price_minor`` is the price of one unit in minor units of
    ``currency``; ``weight_g`` is the weight of one unit. ``hs_code`` and
    ``origin_country`` (ISO 3166-1 alpha-2) are the customs fields;
    ``bin_code`` is the storage bin the picker walks to, and ``barcode`` the
    product's own barcode (EAN, UPC) if it has one.
    """

    sku: str
    description: str
    quantity: int
    unit_price_minor: int = 0
    currency: str = ""
    hs_code: str = ""
    origin_country: str = ""
    weight_g: int = 0
    bin_code: str = ""
    barcode: str = ""


@dataclass(frozen=True, kw_only=True)
class PackingSlipData:
    """The slip packed in the parcel; prices show only when ``show_prices``."""

    shop_name: str
    order_ref: str
    order_date: date
    ship_to: Address
    lines: Sequence[DocLine]
    note: str = ""
    shop_address: Address | None = None
    show_prices: bool = False


@dataclass(frozen=True, kw_only=True)
class PickListData:
    """A batch of orders picked in one walk through ``warehouse``.

    ``orders`` pairs each order reference with its lines.
    """

    batch_ref: str
    created_at: datetime
    warehouse: str
    orders: Sequence[tuple[str, Sequence[DocLine]]]


@dataclass(frozen=True, kw_only=True)
class CommercialInvoiceData:
    """The customs invoice that travels with a parcel sent abroad.

    Every line must carry ``currency`` as its currency, an HS code, an origin
    country and a unit weight. ``shipping_minor`` and ``insurance_minor`` are
    the freight and insurance charges in ``currency``; customs value the
    parcel at the goods plus these charges. ``incoterm`` names who pays the
    import duties: DAP (the recipient) or DDP (the sender).
    """

    invoice_number: str
    invoice_date: date
    order_ref: str
    exporter: Address
    consignee: Address
    lines: Sequence[DocLine]
    currency: str
    reason_for_export: str = "Sale of goods"
    incoterm: str = "DAP"
    shipping_minor: int = 0
    insurance_minor: int = 0
    exporter_tax_id: str = ""
    importer_tax_id: str = ""
    carrier: str = ""
    tracking_number: str = ""
    package_count: int = 1
    signer_name: str = ""
    notes: Sequence[str] = field(default_factory=tuple)


# Countries whose postal format puts the city, region and postcode on one
# line in that order ("Springfield, IL 62704"); the comma is US usage.
_CITY_REGION_POSTCODE = frozenset({"US", "CA", "AU"})
# Countries that print the postcode on its own line below the town.
_POSTCODE_OWN_LINE = frozenset({"GB", "IE", "IM", "JE", "GG"})


def country_name(code: str) -> str:
    """Return the common English name of an ISO 3166-1 alpha-2 code.

    An unknown code is returned unchanged, so a label still shows the code
    from the order.
    """
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def address_lines(address: Address, *, include_country: bool) -> list[str]:
    """Format an address as printed lines in the destination's postal order.

    The country line is in capitals, as postal services ask for on parcels
    that cross a border; leave it out for domestic parcels.
    """
    lines = [address.name, address.company, address.line1, address.line2]
    country = address.country.upper()
    if country in _CITY_REGION_POSTCODE:
        town = address.city + ("," if country == "US" and address.region else "")
        lines.append(" ".join(p for p in (town, address.region, address.postcode) if p))
    elif country in _POSTCODE_OWN_LINE:
        lines.extend([address.city, address.region, address.postcode])
    else:
        lines.append(" ".join(p for p in (address.postcode, address.city) if p))
        lines.append(address.region)
    if include_country:
        lines.append(country_name(country).upper())
    return [line.strip() for line in lines if line and line.strip()]


def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """Format minor units with the currency's symbol or code, e.g. ``£12.50``."""
    if not currency:
        raise DocumentError(
            f"amount {amount_minor} has no currency; give every priced line an "
            "ISO 4217 code such as GBP"
        )
    return str(
        format_currency(from_minor(amount_minor, currency), currency, locale=locale)
    )


def format_weight(weight_g: int) -> str:
    """Format grams as ``850 g`` below a kilogram and ``1.25 kg`` from one up."""
    if weight_g < 1000:
        return f"{weight_g} g"
    kilograms = (Decimal(weight_g) / 1000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{kilograms} kg"


def single_currency(lines: Sequence[DocLine], document: str) -> str:
    """Return the one currency all priced lines share, or raise DocumentError."""
    currencies = {line.currency for line in lines if line.currency}
    if len(currencies) > 1:
        listing = ", ".join(f"{line.sku} in {line.currency}" for line in lines)
        raise DocumentError(
            f"{document} mixes currencies ({listing}); convert the lines to one "
            "currency before printing"
        )
    missing = [line.sku for line in lines if not line.currency]
    if currencies and missing:
        raise DocumentError(
            f"{document}: lines {', '.join(missing)} have no currency; "
            f"give them {currencies.pop()}"
        )
    return currencies.pop() if currencies else ""


# Printable ASCII without space; Code128 set B covers all of it, and ZPL
# needs no escaping for it apart from the three characters excluded below.
_TRACKING_RE = re.compile(r"[!-~]+")
_ZPL_SPECIAL = set("^~>_\\")
MAX_TRACKING_LENGTH = 40


def check_tracking_number(tracking_number: str) -> str:
    """Return the tracking number if a barcode can carry it, else raise.

    It must be 1 to 40 printable ASCII characters without spaces and
    without ``^ ~ > _ \\``, which ZPL reads as commands or escapes.
    """
    value = tracking_number
    if not value:
        raise DocumentError("tracking number is empty; scan or type it first")
    if len(value) > MAX_TRACKING_LENGTH:
        raise DocumentError(
            f"tracking number {value!r} has {len(value)} characters; the limit "
            f"is {MAX_TRACKING_LENGTH}. Check it was scanned once, not twice"
        )
    if not _TRACKING_RE.fullmatch(value) or _ZPL_SPECIAL & set(value):
        raise DocumentError(
            f"tracking number {value!r} contains a space, a character outside "
            "ASCII or one of ^ ~ > _ \\; carriers use letters, digits and "
            "dashes, so retype it"
        )
    return value
