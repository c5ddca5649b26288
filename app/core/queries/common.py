"""Shop facts every screen needs: name, currency and time zone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core import db
from app.core.models import Shop
from app.core.shop import get_shop
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ShopInfo:
    """The shop's identity and the settings that decide how figures read."""

    name: str
    currency: str
    country: str
    timezone: str
    tax_number: str | None
    allow_backorders: bool


def shop_info(session: Session) -> ShopInfo:
    shop = get_shop(session)
    return ShopInfo(
        name=shop.name,
        currency=shop.currency,
        country=shop.country,
        timezone=shop.timezone,
        tax_number=shop.tax_number,
        allow_backorders=shop.allow_backorders,
    )


def has_shop(engine: Engine) -> bool:
    """Return True when the database holds a shop (schema and shop row)."""
    if not db.has_schema(engine):
        return False
    with UnitOfWork(engine, write=False) as uow:
        return uow.session.get(Shop, 1) is not None


def like_pattern(text: str) -> str:
    """Return a case-insensitive LIKE pattern matching ``text`` anywhere."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%")
    return "%" + escaped.replace("_", "\\_") + "%"
