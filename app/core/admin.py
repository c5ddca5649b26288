"""Settings that a person edits: users and their PINs, channel buffers, shop details.

A PIN is stored as ``scrypt$n$r$p$salt$hash`` (hex salt and hash), so that a
copy of the database does not reveal it; PINs only tell who is at the
keyboard for the audit trail, they are not an access control.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.changes import Changes
from app.core.channels.buffers import requeue_channel
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Channel, User, Warehouse
from app.core.reference import forget
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

ROLES = ("owner", "staff", "packer", "accountant")
# scrypt cost: 2**14 x 8 x 1 takes about 16 MB and a few tens of milliseconds.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """Return the stored form of a PIN (salted scrypt)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(stored: str, pin: str) -> bool:
    """Return True when ``pin`` hashes to ``stored``; False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            pin.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def _check_pin(pin: str | None) -> None:
    if pin is not None and (len(pin) < 4 or not pin.isdigit()):
        raise ValidationError(
            "pin", "****", "a PIN is at least 4 digits; leave it empty for no PIN"
        )


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist; refresh Settings > Users")
    return user


def add_user(
    uow: UnitOfWork, name: str, *, role: str = "staff", pin: str | None = None
) -> int:
    """Add a person; return their user id. Names are unique."""
    name = name.strip()
    if not name:
        raise ValidationError("name", name, "a user needs a name")
    if role not in ROLES:
        raise ValidationError("role", role, f"role must be one of {', '.join(ROLES)}")
    _check_pin(pin)
    session = uow.session
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise ValidationError(
            "name", name, f"a user named {name!r} already exists; pick another name"
        )
    user = User(name=name, role=role, pin_hash=hash_pin(pin) if pin else None)
    session.add(user)
    session.flush()
    record(uow, "user.add", "app_user", user.id, detail={"name": name, "role": role})
    return user.id


def set_pin(uow: UnitOfWork, user_id: int, pin: str | None) -> None:
    """Set or clear (``None``) a user's PIN."""
    _check_pin(pin)
    user = _get_user(uow.session, user_id)
    user.pin_hash = hash_pin(pin) if pin else None
    record(uow, "user.pin", "app_user", user.id, detail={"pin": pin is not None})


def verify_pin(session: Session, user_id: int, pin: str) -> bool:
    """Return True when the user has no PIN or ``pin`` is theirs."""
    user = _get_user(session, user_id)
    if user.pin_hash is None:
        return True
    return pin_matches(user.pin_hash, pin)


def set_user_active(uow: UnitOfWork, user_id: int, active: bool) -> None:
    user = _get_user(uow.session, user_id)
    user.active = active
    record(uow, "user.active", "app_user", user.id, detail={"active": active})


def set_channel_buffer(
    uow: UnitOfWork,
    channel_id: int,
    *,
    units: int,
    percent: Decimal = Decimal(0),
) -> Changes:
    """Set how many units (plus a percent of available) a channel never sees."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValidationError("buffer units", units, "a buffer is 0 or more units")
    if not Decimal(0) <= percent <= Decimal(100):
        raise ValidationError(
            "buffer percent", percent, "a buffer percent is between 0 and 100"
        )
    channel = uow.session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist; refresh Settings")
    old = (channel.buffer_units, str(channel.buffer_percent))
    channel.buffer_units = units
    channel.buffer_percent = percent
    forget(uow.session)
    # Every channel must hear its new figure, or rule 7 breaks.
    queued = requeue_channel(uow.session, channel)
    record(
        uow,
        "channel.buffer",
        "channel",
        channel.id,
        detail={"from": list(old), "to": [units, str(percent)]},
    )
    return Changes(settings=True, outbox=queued)


def update_shop(
    uow: UnitOfWork,
    *,
    name: str,
    tax_number: str | None,
    allow_backorders: bool,
) -> Changes:
    """Change the shop's name, tax number and backorder rule."""
    if not name.strip():
        raise ValidationError("name", name, "the shop needs a name")
    shop = get_shop(uow.session)
    shop.name = name.strip()
    shop.tax_number = (tax_number or "").strip() or None
    shop.allow_backorders = allow_backorders
    record(
        uow,
        "shop.update",
        "shop",
        shop.id,
        detail={"name": shop.name, "allow_backorders": allow_backorders},
    )
    return Changes(settings=True)


def update_warehouse(
    uow: UnitOfWork,
    warehouse_id: int,
    *,
    name: str,
    line1: str | None = None,
    city: str = "",
    postcode: str | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    daily_capacity: int | None = None,
) -> Changes:
    """Change a warehouse's name, place, coordinates and daily pick capacity."""

    warehouse = uow.session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"warehouse {warehouse_id} does not exist; refresh Settings")
    if not name.strip():
        raise ValidationError("name", name, "a warehouse needs a name")
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        raise ValidationError("latitude", latitude, "latitude is -90 to 90 degrees")
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        raise ValidationError(
            "longitude", longitude, "longitude is -180 to 180 degrees"
        )
    if daily_capacity is not None and daily_capacity < 0:
        raise ValidationError(
            "daily capacity", daily_capacity, "daily capacity is 0 or more orders"
        )
    warehouse.name = name.strip()
    if line1 is not None:
        warehouse.line1 = line1.strip()
    warehouse.city = city.strip()
    warehouse.postcode = postcode
    warehouse.latitude = latitude
    warehouse.longitude = longitude
    warehouse.daily_capacity = daily_capacity
    record(uow, "warehouse.update", "warehouse", warehouse.id, detail={"name": name})
    return Changes(settings=True)
