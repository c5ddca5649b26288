"""Creating a shop: settings, chart of accounts, tax tables, first records."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from sqlalchemy import Engine, delete, select

from app.core import db, ledger
from app.core.audit import record
from app.core.exceptions import ValidationError
from app.core.invoicing import SERIES_PREFIX
from app.core.models import (
    Channel,
    Sequence,
    Shop,
    TaxRegistration,
    TaxRule,
    User,
    Warehouse,
)
from app.core.money import currency_exponent
from app.core.reference import forget
from app.core.tax import TaxRate
from app.core.taxtables import load_default_rates
from app.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ShopSettings:
    name: str = "My shop"
    currency: str = "GBP"
    country: str = "GB"
    timezone: str = "Europe/London"
    region: str | None = None
    owner: str = "Owner"


def _validate(settings: ShopSettings) -> None:
    if not settings.name.strip():
        raise ValidationError("name", settings.name, "the shop needs a name")
    currency_exponent(settings.currency)
    if pycountry.countries.get(alpha_2=settings.country.upper()) is None:
        raise ValidationError(
            "country",
            settings.country,
            f"country {settings.country!r} is not an ISO 3166 two-letter code; "
            "use e.g. GB",
        )
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "timezone",
            settings.timezone,
            f"time zone {settings.timezone!r} is unknown; use an IANA name such as "
            "Europe/London",
        ) from None


def create_shop(engine: Engine, settings: ShopSettings) -> None:
    """Migrate an empty database to the newest schema and set up the shop.

    Creates the default chart of accounts, the home tax registration, the
    shipped default tax tables, a first warehouse, the manual and POS
    channels, and the owner user.
    """
    _validate(settings)
    db.upgrade(engine)
    with UnitOfWork(engine) as uow:
        session = uow.session
        if session.get(Shop, 1) is not None:
            raise ValidationError(
                "db", str(engine.url), "this database already holds a shop"
            )
        owner = User(name=settings.owner, role="owner")
        session.add(owner)
        session.flush()
        uow.user_id = owner.id
        shop = Shop(
            id=1,
            name=settings.name.strip(),
            currency=settings.currency.upper(),
            country=settings.country.upper(),
            region=settings.region,
            timezone=settings.timezone,
            settings={},
        )
        session.add(shop)
        ledger.create_default_chart(session)
        session.add(
            TaxRegistration(kind="home", country=shop.country, region=settings.region)
        )
        import_tax_rates(uow, load_default_rates())
        warehouse = Warehouse(code="MAIN", name="Main warehouse", country=shop.country)
        session.add(warehouse)
        session.flush()
        shop.default_warehouse_id = warehouse.id
        session.add(Channel(kind="manual", name="Manual", payment_terms="paid"))
        session.add(
            Channel(
                kind="pos", name="POS", payment_terms="paid", prices_include_tax=True
            )
        )
        # Series rows exist from the start so that two first invoices written
        # at once lock the same row instead of racing to insert it.
        for series, prefix in SERIES_PREFIX.items():
            session.add(Sequence(name=series, prefix=prefix, next_value=1))
        record(uow, "shop.create", "shop", 1, detail={"name": shop.name})
        uow.commit()


def add_channel(
    uow: UnitOfWork,
    name: str,
    kind: str,
    *,
    connected: bool = False,
    payment_terms: str = "paid",
    prices_include_tax: bool = False,
    buffer_units: int = 0,
) -> Channel:
    if not name.strip():
        raise ValidationError("name", name, "a channel needs a name")
    if payment_terms not in ("paid", "credit"):
        raise ValidationError("payment_terms", payment_terms, "use paid or credit")
    channel = Channel(
        name=name.strip(),
        kind=kind,
        connected=connected,
        payment_terms=payment_terms,
        prices_include_tax=prices_include_tax,
        buffer_units=buffer_units,
        notify_customer=kind in ("manual", "wholesale"),
    )
    uow.session.add(channel)
    uow.session.flush()
    forget(uow.session)
    record(uow, "channel.add", "channel", channel.id, detail={"kind": kind})
    return channel


def add_registration(
    uow: UnitOfWork, kind: str, country: str, region: str | None = None
) -> None:
    if kind not in ("home", "oss", "us_state", "country"):
        raise ValidationError(
            "kind", kind, "registration kind must be home, oss, us_state or country"
        )
    uow.session.add(TaxRegistration(kind=kind, country=country.upper(), region=region))
    uow.session.flush()
    forget(uow.session)
    record(uow, "tax.register", "tax_registration", None, detail={"kind": kind})


def import_tax_rates(
    uow: UnitOfWork, rates: list[TaxRate], *, replace: bool = False
) -> int:
    """Add tax rules; with ``replace`` the rules of the same countries go first."""
    session = uow.session
    if replace:
        for country in {r.country for r in rates}:
            session.execute(delete(TaxRule).where(TaxRule.country == country))
    session.flush()
    seen = {_rule_key(rule) for rule in session.scalars(select(TaxRule))}
    added = 0
    for rate in rates:
        key = (
            rate.country,
            rate.region,
            rate.postcode,
            rate.city,
            rate.rate.normalize(),
            rate.name,
            rate.priority,
            rate.tax_class,
        )
        if key in seen:
            continue
        seen.add(key)
        added += 1
        session.add(
            TaxRule(
                country=rate.country,
                region=rate.region,
                postcode=rate.postcode,
                city=rate.city,
                rate=rate.rate,
                name=rate.name,
                priority=rate.priority,
                compound=rate.compound,
                shipping=rate.shipping,
                tax_class=rate.tax_class,
                source=rate.source,
            )
        )
    session.flush()
    forget(session)
    record(uow, "tax.import", "tax_rule", None, detail={"rules": added})
    return added


def _rule_key(rule: TaxRule) -> tuple[object, ...]:
    """Return what makes two tax rules the same rule; imports skip repeats."""
    return (
        rule.country,
        rule.region,
        rule.postcode,
        rule.city,
        rule.rate.normalize(),
        rule.name,
        rule.priority,
        rule.tax_class,
    )
