"""The owner's rate tables: carrier services, zones and weight bands.

Routing prices every candidate warehouse from these tables, offline: a
service's zone rules place the parcel in a zone (by origin warehouse,
domestic or international, destination country and distance), and the
zone's weight bands give the price. :class:`RateTable` keeps all of it in
memory for one session, so quoting runs no SQL.

CSV import (``import_rates_csv``) reads the columns ``carrier, service,
currency, zone, max_weight_g, price`` (price in major units, e.g. 3.95)
and ``import_zones_csv`` the columns ``carrier, service, zone, warehouse,
scope, countries, max_distance_km`` (empty cells mean "any"; countries
separated by spaces or semicolons).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.catalog import get_warehouse
from app.core.exceptions import NotFound, ValidationError
from app.core.models.fulfillment import ShippingRate, ShippingService, ShippingZoneRule
from app.core.money import convert, currency_exponent, parse_price, to_minor
from app.core.reference import forget
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

SCOPES = ("any", "domestic", "international")


# --- editing ----------------------------------------------------------------


def _clean_countries(countries: Iterable[str] | str | None) -> str | None:
    if countries is None:
        return None
    items = (
        countries.replace(";", " ").replace(",", " ").split()
        if isinstance(countries, str)
        else list(countries)
    )
    codes = sorted({c.strip().upper() for c in items if c.strip()})
    bad = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if bad:
        raise ValidationError(
            "countries",
            countries,
            f"countries {', '.join(bad)} are not ISO 3166 two-letter codes; "
            "write them like GB DE FR",
        )
    return ",".join(codes) or None


def find_service(session: Session, carrier: str, service: str) -> ShippingService:
    found = session.scalar(
        select(ShippingService).where(
            ShippingService.carrier == carrier.strip(),
            ShippingService.service == service.strip(),
        )
    )
    if found is None:
        raise NotFound(
            f"shipping service {carrier} / {service} does not exist; add it to the "
            "rate tables first"
        )
    return found


def add_service(
    uow: UnitOfWork, carrier: str, service: str, currency: str
) -> ShippingService:
    """Create a carrier service with an empty rate table (or return it)."""
    session = uow.session
    if not carrier.strip() or not service.strip():
        raise ValidationError(
            "service", f"{carrier}/{service}", "name the carrier and the service"
        )
    currency_exponent(currency)
    existing = session.scalar(
        select(ShippingService).where(
            ShippingService.carrier == carrier.strip(),
            ShippingService.service == service.strip(),
        )
    )
    if existing is not None:
        if existing.currency != currency.upper():
            raise ValidationError(
                "currency",
                currency,
                f"{carrier} / {service} already has rates in {existing.currency}",
            )
        return existing
    row = ShippingService(
        carrier=carrier.strip(), service=service.strip(), currency=currency.upper()
    )
    session.add(row)
    session.flush()
    forget(session)
    record(uow, "rates.service", "shipping_service", row.id)
    return row


def add_zone_rule(
    uow: UnitOfWork,
    service_id: int,
    zone: str,
    *,
    warehouse: str | int | None = None,
    scope: str = "any",
    countries: Iterable[str] | str | None = None,
    max_distance_km: int | None = None,
    position: int | None = None,
) -> ShippingZoneRule:
    """Add a zone rule after the service's existing ones (or at ``position``)."""
    session = uow.session
    if session.get(ShippingService, service_id) is None:
        raise NotFound(f"shipping service {service_id} does not exist")
    if not zone.strip():
        raise ValidationError("zone", zone, "a zone rule needs a zone name")
    if scope not in SCOPES:
        raise ValidationError(
            "scope", scope, "scope must be any, domestic or international"
        )
    if max_distance_km is not None and max_distance_km <= 0:
        raise ValidationError(
            "max_distance_km", max_distance_km, "the distance limit must be above 0 km"
        )
    if position is None:
        last = session.scalars(
            select(ShippingZoneRule.position)
            .where(ShippingZoneRule.service_id == service_id)
            .order_by(ShippingZoneRule.position.desc())
            .limit(1)
        ).first()
        position = (last or 0) + 10
    rule = ShippingZoneRule(
        service_id=service_id,
        zone=zone.strip(),
        position=position,
        warehouse_id=get_warehouse(session, warehouse).id if warehouse else None,
        scope=scope,
        countries=_clean_countries(countries),
        max_distance_km=max_distance_km,
    )
    session.add(rule)
    session.flush()
    forget(session)
    record(uow, "rates.zone", "shipping_zone_rule", rule.id)
    return rule


def set_rate(
    uow: UnitOfWork, service_id: int, zone: str, max_weight_g: int, cost_minor: int
) -> ShippingRate:
    """Set the price of a weight band, replacing the band's old price."""
    session = uow.session
    if session.get(ShippingService, service_id) is None:
        raise NotFound(f"shipping service {service_id} does not exist")
    if isinstance(max_weight_g, bool) or max_weight_g <= 0:
        raise ValidationError(
            "max_weight_g", max_weight_g, "a weight band needs a limit above 0 g"
        )
    if cost_minor < 0:
        raise ValidationError("cost", cost_minor, "a rate cannot be negative")
    row = session.scalar(
        select(ShippingRate).where(
            ShippingRate.service_id == service_id,
            ShippingRate.zone == zone.strip(),
            ShippingRate.max_weight_g == max_weight_g,
        )
    )
    if row is None:
        row = ShippingRate(
            service_id=service_id, zone=zone.strip(), max_weight_g=max_weight_g
        )
        session.add(row)
    row.cost_minor = cost_minor
    session.flush()
    forget(session)
    return row


def delete_service(uow: UnitOfWork, service_id: int) -> None:
    """Remove a service with its zone rules and rates."""
    session = uow.session
    service = session.get(ShippingService, service_id)
    if service is None:
        raise NotFound(f"shipping service {service_id} does not exist")
    session.execute(delete(ShippingRate).where(ShippingRate.service_id == service_id))
    session.execute(
        delete(ShippingZoneRule).where(ShippingZoneRule.service_id == service_id)
    )
    session.delete(service)
    session.flush()
    forget(session)
    record(
        uow,
        "rates.delete",
        "shipping_service",
        service_id,
        detail={"service": f"{service.carrier} / {service.service}"},
    )


def _rows(source: str | Path) -> list[dict[str, str]]:
    text = (
        source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source
    )
    reader = csv.DictReader(io.StringIO(text))
    return [
        {k.strip().lower(): (v or "").strip() for k, v in r.items() if k}
        for r in reader
    ]


def _require(row: dict[str, str], columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if not row.get(c)]
    if missing:
        raise ValidationError(
            missing[0],
            None,
            f"{where}: column {', '.join(missing)} is empty or missing",
        )


def import_rates_csv(uow: UnitOfWork, source: str | Path) -> int:
    """Import weight bands from CSV text or a file; return the rows imported.

    Every row is checked before any is stored, and the first bad row's
    number is in the error.
    """
    rows = _rows(source)
    label = source.name if isinstance(source, Path) else "rates CSV"
    parsed = []
    for number, row in enumerate(rows, start=2):
        where = f"{label} row {number}"
        _require(
            row,
            ("carrier", "service", "currency", "zone", "max_weight_g", "price"),
            where,
        )
        try:
            weight = int(row["max_weight_g"])
        except ValueError:
            raise ValidationError(
                "max_weight_g",
                row["max_weight_g"],
                f"{where}: max_weight_g {row['max_weight_g']!r} is not whole grams",
            ) from None
        price = parse_price(row["price"], f"{where} price")
        parsed.append((row, weight, to_minor(price, row["currency"].upper())))
    for row, weight, cost in parsed:
        service = add_service(uow, row["carrier"], row["service"], row["currency"])
        set_rate(uow, service.id, row["zone"], weight, cost)
    return len(parsed)


def import_zones_csv(uow: UnitOfWork, source: str | Path) -> int:
    """Import zone rules from CSV text or a file, in file order."""
    rows = _rows(source)
    label = source.name if isinstance(source, Path) else "zones CSV"
    count = 0
    for number, row in enumerate(rows, start=2):
        where = f"{label} row {number}"
        _require(row, ("carrier", "service", "zone"), where)
        service = find_service(uow.session, row["carrier"], row["service"])
        distance = row.get("max_distance_km") or ""
        add_zone_rule(
            uow,
            service.id,
            row["zone"],
            warehouse=row.get("warehouse") or None,
            scope=row.get("scope") or "any",
            countries=row.get("countries") or None,
            max_distance_km=int(distance) if distance else None,
        )
        count += 1
    return count


# --- quoting ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneRuleData:
    zone: str
    warehouse_id: int | None
    scope: str
    countries: frozenset[str] | None
    max_distance_km: int | None

    def matches(
        self,
        warehouse_id: int,
        domestic: bool,
        country: str,
        distance: float | None,
    ) -> bool:
        if self.warehouse_id is not None and self.warehouse_id != warehouse_id:
            return False
        if self.scope == "domestic" and not domestic:
            return False
        if self.scope == "international" and domestic:
            return False
        if self.countries is not None and country not in self.countries:
            return False
        if self.max_distance_km is not None:
            return distance is not None and distance <= self.max_distance_km
        return True


@dataclass(frozen=True, slots=True)
class ServiceData:
    id: int
    label: str
    currency: str
    zones: tuple[ZoneRuleData, ...]
    #: zone -> weight bands as (max weight g, cost minor), lightest first
    bands: dict[str, tuple[tuple[int, int], ...]]


@dataclass(frozen=True, slots=True)
class Quote:
    """The cheapest rate-table price; ``cost_minor`` in shop minor units."""

    cost_minor: int
    service: str
    zone: str


class RateTable:
    """All active services' zones and bands, for quoting without SQL."""

    def __init__(
        self,
        services: Sequence[ServiceData],
        shop_currency: str,
        fx_rates: dict[str, Decimal],
    ) -> None:
        self.services = tuple(services)
        self.shop_currency = shop_currency
        self.fx_rates = fx_rates
        self._warned: set[str] = set()

    @classmethod
    def load(
        cls, session: Session, shop_currency: str, fx_rates: dict[str, Decimal]
    ) -> RateTable:
        services = session.scalars(
            select(ShippingService)
            .where(ShippingService.active.is_(True))
            .order_by(ShippingService.id)
        ).all()
        zones: dict[int, list[ZoneRuleData]] = defaultdict(list)
        for rule in session.scalars(
            select(ShippingZoneRule).order_by(
                ShippingZoneRule.position, ShippingZoneRule.id
            )
        ):
            zones[rule.service_id].append(
                ZoneRuleData(
                    rule.zone,
                    rule.warehouse_id,
                    rule.scope,
                    frozenset(rule.countries.split(",")) if rule.countries else None,
                    rule.max_distance_km,
                )
            )
        bands: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for rate in session.scalars(
            select(ShippingRate).order_by(ShippingRate.max_weight_g)
        ):
            bands[rate.service_id][rate.zone].append(
                (rate.max_weight_g, rate.cost_minor)
            )
        return cls(
            [
                ServiceData(
                    s.id,
                    f"{s.carrier} / {s.service}",
                    s.currency,
                    tuple(zones.get(s.id, ())),
                    {z: tuple(b) for z, b in bands.get(s.id, {}).items()},
                )
                for s in services
            ],
            shop_currency,
            fx_rates,
        )

    def _in_shop_currency(self, amount: int, currency: str) -> int | None:
        if currency == self.shop_currency:
            return amount
        rate = self.fx_rates.get(currency)
        if rate is None:
            if currency not in self._warned:
                self._warned.add(currency)
                log.warning(
                    "rate table in %s is skipped: no exchange rate to %s is set",
                    currency,
                    self.shop_currency,
                )
            return None
        return convert(amount, rate, currency, self.shop_currency)

    def quote(
        self,
        warehouse_id: int,
        warehouse_country: str,
        country: str,
        distance: float | None,
        weight_g: int,
    ) -> Quote | None:
        """Return the cheapest price for a parcel, or None when no band fits."""
        domestic = warehouse_country == country
        best: Quote | None = None
        for service in self.services:
            zone = next(
                (
                    z.zone
                    for z in service.zones
                    if z.matches(warehouse_id, domestic, country, distance)
                ),
                None,
            )
            if zone is None:
                continue
            band = next(
                (
                    cost
                    for limit, cost in service.bands.get(zone, ())
                    if weight_g <= limit
                ),
                None,
            )
            if band is None:
                continue
            cost = self._in_shop_currency(band, service.currency)
            if cost is not None and (best is None or cost < best.cost_minor):
                best = Quote(cost, service.label, zone)
        return best
