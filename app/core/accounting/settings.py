"""Accounting settings kept in the shop's settings: close thresholds, seller.

``Shop.settings["accounting"]`` contains the close checklist settings and
``Shop.settings["seller"]`` the address printed on invoices. Both are plain
JSON objects, so a missing key falls back to its default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import ValidationError
from app.core.models import Shop, TaxRegistration, Warehouse
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

#: Close checklist items that stop the close unless it is forced with a reason.
DEFAULT_BLOCKING = frozenset(
    {"rules", "negative_stock", "open_counts", "missing_label_cost"}
)


@dataclass(frozen=True, slots=True)
class CloseSettings:
    """Thresholds of the month-end checklist.

    ``unshipped_days``: an order unshipped for more than this many days at
    the end of the month is listed. ``payout_delay_days``: sales of the
    month's last this-many days may still wait for their payout, so only
    older channel clearing is listed as unmatched.
    ``bank_window_days``: a bank line may arrive up to this many days after
    the payout or refund it matches. ``blocking``: the checklist item keys
    that stop the close.
    """

    unshipped_days: int = 3
    payout_delay_days: int = 7
    bank_window_days: int = 5
    blocking: frozenset[str] = field(default=DEFAULT_BLOCKING)


def load_close_settings(shop: Shop) -> CloseSettings:
    stored: dict[str, Any] = dict((shop.settings or {}).get("accounting", {}))
    defaults = CloseSettings()
    values: dict[str, Any] = {}
    for item in fields(CloseSettings):
        if item.name in stored:
            value = stored[item.name]
            values[item.name] = (
                frozenset(value) if item.name == "blocking" else int(value)
            )
    return replace(defaults, **values)


def save_close_settings(uow: UnitOfWork, settings: CloseSettings) -> None:
    """Store the checklist settings; every day count must be 0 or more."""
    for name in ("unshipped_days", "payout_delay_days", "bank_window_days"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(name, value, f"{name} must be 0 or more days")
    shop = get_shop(uow.session)
    data = asdict(settings)
    data["blocking"] = sorted(settings.blocking)
    shop.settings = {**(shop.settings or {}), "accounting": data}
    record(uow, "settings.accounting", "shop", shop.id, detail=data)


@dataclass(frozen=True, slots=True)
class SellerDetails:
    """The seller as printed on invoices: the shop's legal name and address."""

    name: str
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""
    tax_number: str = ""
    company_number: str = ""


_ADDRESS_KEYS = (
    "line1",
    "line2",
    "city",
    "region",
    "postcode",
    "country",
    "email",
    "phone",
    "company_number",
)


def load_seller(session: Session) -> SellerDetails:
    """Return the seller details, falling back to the default warehouse address.

    The tax number is the shop's, else the home tax registration's.
    """
    shop = get_shop(session)
    stored: dict[str, str] = dict((shop.settings or {}).get("seller", {}))
    if not stored.get("line1") and shop.default_warehouse_id is not None:
        warehouse = session.get(Warehouse, shop.default_warehouse_id)
        if warehouse is not None and warehouse.line1:
            stored = {
                "line1": warehouse.line1,
                "city": warehouse.city,
                "region": warehouse.region or "",
                "postcode": warehouse.postcode or "",
                "country": warehouse.country,
                **{k: v for k, v in stored.items() if v},
            }
    tax_number = shop.tax_number or ""
    if not tax_number:
        home = session.scalar(
            select(TaxRegistration.tax_number).where(TaxRegistration.kind == "home")
        )
        tax_number = home or ""
    return SellerDetails(
        name=stored.get("name") or shop.name,
        tax_number=tax_number,
        country=stored.get("country") or shop.country,
        **{k: str(stored.get(k) or "") for k in _ADDRESS_KEYS if k != "country"},
    )


def save_seller(uow: UnitOfWork, seller: SellerDetails) -> None:
    """Store the seller's invoice name, address and tax number (audited)."""
    if not seller.name.strip():
        raise ValidationError("name", seller.name, "the seller needs a legal name")
    shop = get_shop(uow.session)
    data = {k: v.strip() for k, v in asdict(seller).items() if k != "tax_number"}
    shop.settings = {**(shop.settings or {}), "seller": data}
    if seller.tax_number.strip():
        shop.tax_number = seller.tax_number.strip()
    record(uow, "settings.seller", "shop", shop.id, detail=data)
