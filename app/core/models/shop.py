"""The shop itself, its people, tax registrations and the audit trail."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, Rate, utcnow


class Shop(Base):
    """The one shop this database belongs to (always id 1)."""

    __tablename__ = "shop"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64))
    tax_number: Mapped[str | None] = mapped_column(String(64))
    allow_backorders: Mapped[bool] = mapped_column(default=False)
    fiscal_year_start_month: Mapped[int] = mapped_column(default=1)
    default_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Raised by every change to accounts, periods, channels, tax, warehouses,
    # routing and rates; see app.core.reference.
    settings_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaxRegistration(Base):
    """A registration to charge tax: home country, EU OSS, a US state."""

    __tablename__ = "tax_registration"
    __table_args__ = (UniqueConstraint("kind", "country", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(10))
    tax_number: Mapped[str | None] = mapped_column(String(64))


class TaxRule(Base):
    """One tax rate for a destination, with WooCommerce's rate semantics.

    At most one rule per priority applies to a destination (the most specific
    match); rules of different priorities add up.
    """

    __tablename__ = "tax_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str | None] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Decimal] = mapped_column(Rate)
    name: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(default=1)
    compound: Mapped[bool] = mapped_column(default=False)
    shipping: Mapped[bool] = mapped_column(default=True)
    tax_class: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(200), default="")


class User(Base):
    """A person who works in the shop; the audit trail names them."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="owner")
    active: Mapped[bool] = mapped_column(default=True)


class AuditEvent(Base):
    """A record of who changed what and when, for every change a person makes."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Sequence(Base):
    """A gap-free number series (invoices, credit notes)."""

    __tablename__ = "number_sequence"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(20), default="")
    next_value: Mapped[int] = mapped_column(default=1)


class AppMeta(Base):
    """Facts about the database file itself, such as the Backroom that wrote it."""

    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
