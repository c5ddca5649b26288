"""Connecting a sales channel and reading its sync settings.

A channel's address and options are kept in ``Channel.settings``; its access
token or API key never are (they live in the OS keyring, see
``app.sync.secrets``). The polling cursor is ``Channel.cursor``: the UTC time,
in ISO 8601, at which the last complete walk over the channel's orders
started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Channel
from app.core.models.sync_ext import ChannelSyncState
from app.core.money import currency_exponent
from app.core.reference import forget
from app.core.setup import add_channel
from app.core.uow import UnitOfWork

#: Channel kinds the sync worker talks to.
SYNC_KINDS = ("shopify", "woocommerce")
DEFAULT_POLL_INTERVAL_S = 60
#: Each walk starts this many seconds before the cursor, so that an order
#: updated during the last walk, or stamped by a clock that runs behind
#: ours, is read again. Capture is idempotent, so reading twice costs nothing.
DEFAULT_OVERLAP_S = 600
MIN_POLL_INTERVAL_S = 5
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A channel's sync settings as the sync worker reads them.

    ``location_ref`` is the Shopify location that stock is set at (None:
    the shop's first active location). ``import_from`` bounds the first walk
    over the orders, when there is no cursor yet.
    """

    id: int
    name: str
    kind: str
    url: str
    connected: bool
    poll_interval_s: int
    overlap_s: int
    location_ref: str | None
    import_from: datetime | None
    query_string_auth: bool
    cursor: datetime | None


def check_url(url: str) -> str:
    """Return the store address without a trailing slash, or raise.

    Credentials travel with every request, so plain http is accepted only
    for this machine (a test server or a local tunnel).
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "url",
            url,
            f"store address {url!r} is not a web address; enter it as "
            "https://shop.example.com",
        )
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValidationError(
            "url",
            url,
            f"store address {url!r} uses plain http, which would send the access "
            "key unencrypted; use the https:// address",
        )
    return text.rstrip("/")


def _check_kind(kind: str) -> str:
    if kind not in SYNC_KINDS:
        raise ValidationError(
            "kind",
            kind,
            f"channel kind {kind!r} cannot sync; use shopify or woocommerce",
        )
    return kind


def _check_interval(seconds: int, field: str, minimum: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < minimum:
        raise ValidationError(
            field,
            seconds,
            f"{field} must be a whole number of seconds, {minimum} or more",
        )
    return seconds


def get_channel(session: Session, name_or_id: str | int) -> Channel:
    """Find a channel by name or id, or raise NotFound."""
    if isinstance(name_or_id, int):
        channel = session.get(Channel, name_or_id)
    else:
        channel = session.scalar(select(Channel).where(Channel.name == name_or_id))
    if channel is None:
        raise NotFound(
            f"channel {name_or_id!r} does not exist; list them with "
            "`backroom channel list`"
        )
    return channel


def config_of(channel: Channel) -> ChannelConfig:
    settings = channel.settings or {}
    import_from = settings.get("import_from")
    return ChannelConfig(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        url=str(settings.get("url", "")),
        connected=channel.connected,
        poll_interval_s=channel.poll_interval_s,
        overlap_s=int(settings.get("overlap_s", DEFAULT_OVERLAP_S)),
        location_ref=settings.get("location_ref"),
        import_from=datetime.fromisoformat(import_from) if import_from else None,
        query_string_auth=bool(settings.get("query_string_auth", False)),
        cursor=read_cursor(channel),
    )


def channel_config(session: Session, name_or_id: str | int) -> ChannelConfig:
    return config_of(get_channel(session, name_or_id))


def sync_channels(session: Session, name: str | None = None) -> list[ChannelConfig]:
    """Return the connected channels the worker syncs (one, when named)."""
    query = select(Channel).where(
        Channel.connected.is_(True), Channel.kind.in_(SYNC_KINDS)
    )
    if name is not None:
        query = query.where(Channel.name == name)
    channels = session.scalars(query.order_by(Channel.id)).all()
    if name is not None and not channels:
        channel = get_channel(session, name)
        raise ValidationError(
            "channel",
            name,
            f"channel {name!r} ({channel.kind}) is not a connected Shopify or "
            "WooCommerce channel, so there is nothing to sync",
        )
    return [config_of(c) for c in channels]


def connect_channel(
    uow: UnitOfWork,
    name: str,
    kind: str,
    url: str,
    *,
    poll_interval_s: int = DEFAULT_POLL_INTERVAL_S,
    overlap_s: int = DEFAULT_OVERLAP_S,
    import_from: datetime | None = None,
    location_ref: str | None = None,
    query_string_auth: bool = False,
    now: datetime | None = None,
) -> ChannelConfig:
    """Add a connected Shopify or WooCommerce channel.

    The first walk reads orders updated since ``import_from`` (default: the
    moment of connecting, so older orders are left to an import).
    """
    _check_kind(kind)
    clean_url = check_url(url)
    _check_interval(poll_interval_s, "poll_interval_s", MIN_POLL_INTERVAL_S)
    _check_interval(overlap_s, "overlap_s", 0)
    if import_from is not None and import_from.tzinfo is None:
        raise ValidationError(
            "import_from", import_from, "the import start needs a time zone (UTC)"
        )
    session = uow.session
    if session.scalar(select(Channel.id).where(Channel.name == name.strip())):
        raise ValidationError(
            "name", name, f"a channel named {name!r} exists already; pick another name"
        )
    moment = now or datetime.now(UTC)
    channel = add_channel(uow, name, kind, connected=True)
    channel.poll_interval_s = poll_interval_s
    channel.settings = {
        "url": clean_url,
        "overlap_s": overlap_s,
        "import_from": (import_from or moment).astimezone(UTC).isoformat(),
        "location_ref": location_ref,
        "query_string_auth": query_string_auth,
        "fx_rates": {},
    }
    session.add(ChannelSyncState(channel_id=channel.id))
    session.flush()
    record(uow, "channel.connect", "channel", channel.id, detail={"url": clean_url})
    return config_of(channel)


def configure_channel(
    uow: UnitOfWork,
    name: str,
    *,
    url: str | None = None,
    poll_interval_s: int | None = None,
    overlap_s: int | None = None,
    location_ref: str | None = None,
    connected: bool | None = None,
) -> ChannelConfig:
    """Change a channel's sync settings; options left None stay as they are."""
    channel = get_channel(uow.session, name)
    settings = dict(channel.settings or {})
    if url is not None:
        settings["url"] = check_url(url)
    if poll_interval_s is not None:
        channel.poll_interval_s = _check_interval(
            poll_interval_s, "poll_interval_s", MIN_POLL_INTERVAL_S
        )
    if overlap_s is not None:
        settings["overlap_s"] = _check_interval(overlap_s, "overlap_s", 0)
    if location_ref is not None:
        settings["location_ref"] = location_ref or None
    if connected is not None:
        channel.connected = connected
        forget(uow.session)
    channel.settings = settings
    uow.session.flush()
    record(uow, "channel.configure", "channel", channel.id)
    return config_of(channel)


def set_fx_rate(
    uow: UnitOfWork, name: str, currency: str, rate: Decimal | str
) -> Changes:
    """Set the rate (shop currency per one ``currency``) for this channel's orders.

    Orders in a currency other than the shop's wait until a rate is known;
    the next sync run imports them at this rate.
    """
    code = currency.strip().upper()
    currency_exponent(code)
    try:
        value = Decimal(str(rate))
    except InvalidOperation:
        raise ValidationError("rate", rate, f"rate {rate!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValidationError("rate", rate, "an exchange rate must be above zero")
    channel = get_channel(uow.session, name)
    settings = dict(channel.settings or {})
    rates = dict(settings.get("fx_rates") or {})
    rates[code] = str(value)
    settings["fx_rates"] = rates
    channel.settings = settings
    record(
        uow,
        "channel.fx_rate",
        "channel",
        channel.id,
        detail={"currency": code, "rate": str(value)},
    )
    return Changes(settings=True)


def fx_rate(channel: Channel, currency: str) -> Decimal | None:
    """Return the owner's rate for ``currency`` on this channel, if set."""
    rates = (channel.settings or {}).get("fx_rates") or {}
    value = rates.get(currency.upper())
    return Decimal(value) if value else None


def read_cursor(channel: Channel) -> datetime | None:
    if not channel.cursor:
        return None
    moment = datetime.fromisoformat(channel.cursor)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def save_cursor(session: Session, channel_id: int, moment: datetime) -> None:
    """Store the start of a complete walk as the channel's cursor."""
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist")
    channel.cursor = moment.astimezone(UTC).isoformat()


def walk_since(config: ChannelConfig, now: datetime) -> datetime:
    """Return where the next walk over the orders starts: cursor less overlap."""
    if config.cursor is not None:
        return config.cursor - timedelta(seconds=config.overlap_s)
    start = config.import_from or now
    return start - timedelta(seconds=config.overlap_s)


def sync_state(session: Session, channel_id: int) -> ChannelSyncState:
    """Return the channel's sync state row, adding it when missing."""
    state = session.get(ChannelSyncState, channel_id)
    if state is None:
        state = ChannelSyncState(channel_id=channel_id)
        session.add(state)
        session.flush()
    return state
