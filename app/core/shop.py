"""Reading the shop's settings and converting times to its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.exceptions import SchemaError
from app.core.models import Shop
from app.core.reference import transaction_scope
from app.core.uow import LOCK_SHOP


def get_shop(session: Session) -> Shop:
    """Return the shop row, read once per transaction."""
    scope = transaction_scope(session)
    shop = scope.get("shop")
    if shop is None:
        # Read again in every transaction: another process may have changed
        # the settings, and their version decides what the caches may reuse.
        statement = (
            select(Shop).where(Shop.id == 1).execution_options(populate_existing=True)
        )
        if session.info.get(LOCK_SHOP):
            # Held until commit, so a month cannot close between this
            # transaction's check that it is open and its commit.
            statement = statement.with_for_update(read=True)
        shop = session.scalar(statement)
        if shop is None:
            raise SchemaError(
                "this database holds no shop yet; run `backroom init` or open the "
                "app to create one"
            )
        scope["shop"] = shop
    assert isinstance(shop, Shop)
    return shop


def shop_zone(session: Session) -> ZoneInfo:
    return ZoneInfo(get_shop(session).timezone)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """Return the shop-local calendar date of an aware UTC moment."""
    return moment.astimezone(zone).date()


def local_day_end(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant just after the local day ends."""
    start_next = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start_next.astimezone(UTC)


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def ensure_aware(moment: datetime, zone: ZoneInfo) -> datetime:
    """Treat a naive datetime as shop-local time; return it in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
