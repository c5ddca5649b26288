"""What the Settings page lists: tax registrations, warehouses, channels,
discount codes, users and accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.models import Account, Channel, DiscountCode, TaxRegistration, User


@dataclass(frozen=True, slots=True)
class RegistrationView:
    id: int
    kind: str
    country: str
    region: str | None
    tax_number: str | None


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """A channel; ``buffer_percent`` is a percent of available stock."""

    id: int
    name: str
    kind: str
    connected: bool
    payment_terms: str
    prices_include_tax: bool
    buffer_units: int
    buffer_percent: Decimal


@dataclass(frozen=True, slots=True)
class DiscountView:
    """A discount code; ``value`` is a percent or major units of ``currency``."""

    id: int
    code: str
    kind: str
    value: Decimal
    currency: str | None
    times_used: int
    usage_limit: int | None
    ends_at: datetime | None
    active: bool


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    name: str
    role: str
    has_pin: bool
    active: bool


@dataclass(frozen=True, slots=True)
class AccountView:
    code: str
    name: str
    type: str


def registrations(session: Session) -> list[RegistrationView]:
    return [
        RegistrationView(r.id, r.kind, r.country, r.region, r.tax_number)
        for r in session.scalars(select(TaxRegistration).order_by(TaxRegistration.id))
    ]


def channels(session: Session) -> list[ChannelSettings]:
    return [
        ChannelSettings(
            c.id,
            c.name,
            c.kind,
            c.connected,
            c.payment_terms,
            c.prices_include_tax,
            c.buffer_units,
            c.buffer_percent,
        )
        for c in session.scalars(select(Channel).order_by(Channel.id))
    ]


def discount_codes(session: Session) -> list[DiscountView]:
    return [
        DiscountView(
            d.id,
            d.code,
            d.kind,
            d.value,
            d.currency,
            d.times_used,
            d.usage_limit,
            d.ends_at,
            d.active,
        )
        for d in session.scalars(select(DiscountCode).order_by(DiscountCode.code_key))
    ]


def users(session: Session, *, active_only: bool = False) -> list[UserView]:
    query = select(User).order_by(User.id)
    if active_only:
        query = query.where(User.active.is_(True))
    return [
        UserView(u.id, u.name, u.role, u.pin_hash is not None, u.active)
        for u in session.scalars(query)
    ]


def accounts(session: Session) -> list[AccountView]:
    return [
        AccountView(a.code, a.name, a.type)
        for a in session.scalars(select(Account).order_by(Account.code))
    ]
