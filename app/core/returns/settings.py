"""The shop's return policy and fraud thresholds, kept in ``Shop.settings``.

The policy lives under ``Shop.settings["returns"]`` as JSON (decimals as
strings); each channel's return window lives in
``Channel.settings["return_window_days"]``. Missing keys take the defaults of
:class:`ReturnSettings`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.exceptions import NotFound, ValidationError
from app.core.models import Channel
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

#: When shipping is refunded. ``full_return``: when the refund completes the
#: return of every unit of the order. ``seller_fault``: whenever a refunded
#: line's reason is defective or wrong_item.
SHIPPING_POLICIES = ("never", "full_return", "seller_fault")
FEE_KINDS = ("none", "percent", "fixed")
DEFAULT_WINDOW_DAYS = 30
WINDOW_KEY = "return_window_days"
SETTINGS_KEY = "returns"


@dataclass(frozen=True, slots=True)
class RestockingFee:
    """A fee kept back from a refund.

    ``percent``: ``value`` percent of what was paid for the lines it applies
    to. ``fixed``: ``value`` shop-currency minor units per refund, converted
    at the order's rate for an order in another currency. Either is capped at
    what was paid for those lines, and never applies to lines returned as
    defective or wrong_item.
    """

    kind: str = "none"
    value: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.kind not in FEE_KINDS:
            raise ValidationError(
                "restocking_fee.kind",
                self.kind,
                f"restocking fee kind {self.kind!r} must be one of {FEE_KINDS}",
            )
        if self.value < 0 or (self.kind == "percent" and self.value > 100):
            raise ValidationError(
                "restocking_fee.value",
                self.value,
                f"restocking fee {self.value} is invalid: a percent is 0 to 100 and "
                "a fixed fee cannot be negative",
            )
        if self.kind == "fixed" and self.value != self.value.to_integral_value():
            raise ValidationError(
                "restocking_fee.value",
                self.value,
                f"a fixed restocking fee is whole minor units, not {self.value}",
            )


NO_FEE = RestockingFee()


@dataclass(frozen=True, slots=True)
class ReturnSettings:
    """Return policy and fraud thresholds.

    ``high_value_shop`` is in shop-currency minor units. The weight check
    fires when the parcel differs from the expected weight by more than
    both ``weight_tolerance_percent`` of it and ``weight_tolerance_g``.
    """

    refund_shipping: str = "full_return"
    restocking_fee: RestockingFee = field(default_factory=RestockingFee)
    weight_tolerance_percent: Decimal = Decimal(20)
    weight_tolerance_g: int = 100
    serial_returner_min_orders: int = 5
    serial_returner_threshold: Decimal = Decimal("3.5")
    high_value_shop: int = 20000
    high_value_days: int = 3
    default_window_days: int = DEFAULT_WINDOW_DAYS

    def __post_init__(self) -> None:
        if self.refund_shipping not in SHIPPING_POLICIES:
            raise ValidationError(
                "refund_shipping",
                self.refund_shipping,
                f"shipping refund policy {self.refund_shipping!r} must be one of "
                f"{SHIPPING_POLICIES}",
            )
        for name in (
            "weight_tolerance_g",
            "serial_returner_min_orders",
            "high_value_shop",
            "high_value_days",
            "default_window_days",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    name, value, f"{name} must be a whole number of 0 or more"
                )
        for name in ("weight_tolerance_percent", "serial_returner_threshold"):
            if getattr(self, name) < 0:
                raise ValidationError(name, getattr(self, name), f"{name} is negative")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["restocking_fee"] = {
            "kind": self.restocking_fee.kind,
            "value": str(self.restocking_fee.value),
        }
        data["weight_tolerance_percent"] = str(self.weight_tolerance_percent)
        data["serial_returner_threshold"] = str(self.serial_returner_threshold)
        return data


def _decimal(data: dict[str, Any], key: str, default: Decimal) -> Decimal:
    raw = data.get(key)
    if raw is None:
        return default
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError(
            f"returns.{key}",
            raw,
            f"shop setting returns.{key} is {raw!r}, not a number; correct it in "
            "Settings > Returns",
        ) from None


def settings_from_json(data: dict[str, Any]) -> ReturnSettings:
    """Build settings from their stored JSON, defaults filling missing keys."""
    base = ReturnSettings()
    fee_data = data.get("restocking_fee") or {}
    fee = RestockingFee(
        kind=str(fee_data.get("kind", "none")),
        value=_decimal(fee_data, "value", Decimal(0)),
    )
    return ReturnSettings(
        refund_shipping=str(data.get("refund_shipping", base.refund_shipping)),
        restocking_fee=fee,
        weight_tolerance_percent=_decimal(
            data, "weight_tolerance_percent", base.weight_tolerance_percent
        ),
        weight_tolerance_g=int(data.get("weight_tolerance_g", base.weight_tolerance_g)),
        serial_returner_min_orders=int(
            data.get("serial_returner_min_orders", base.serial_returner_min_orders)
        ),
        serial_returner_threshold=_decimal(
            data, "serial_returner_threshold", base.serial_returner_threshold
        ),
        high_value_shop=int(data.get("high_value_shop", base.high_value_shop)),
        high_value_days=int(data.get("high_value_days", base.high_value_days)),
        default_window_days=int(
            data.get("default_window_days", base.default_window_days)
        ),
    )


def load_settings(session: Session) -> ReturnSettings:
    shop = get_shop(session)
    return settings_from_json(dict((shop.settings or {}).get(SETTINGS_KEY) or {}))


def save_settings(uow: UnitOfWork, settings: ReturnSettings) -> None:
    """Store the return policy; the change is audited."""
    shop = get_shop(uow.session)
    stored = dict(shop.settings or {})
    before = stored.get(SETTINGS_KEY)
    stored[SETTINGS_KEY] = settings.to_json()
    # A new dict, so that SQLAlchemy sees the JSON column change.
    shop.settings = stored
    record(
        uow,
        "returns.settings",
        "shop",
        shop.id,
        detail={"before": before, "after": stored[SETTINGS_KEY]},
    )


def update_settings(uow: UnitOfWork, **changes: Any) -> ReturnSettings:
    """Change some settings by name, keeping the rest; return the new settings."""
    settings = replace(load_settings(uow.session), **changes)
    save_settings(uow, settings)
    return settings


def window_days(channel: Channel, settings: ReturnSettings) -> int:
    """Return the channel's return window in days after shipment."""
    raw = (channel.settings or {}).get(WINDOW_KEY)
    if raw is None:
        return settings.default_window_days
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(
            WINDOW_KEY,
            raw,
            f"channel {channel.name}: {WINDOW_KEY} is {raw!r}, not a whole number of "
            "days; correct it in the channel's settings",
        ) from None
    return days


def set_window_days(uow: UnitOfWork, channel_id: int, days: int) -> None:
    """Set a channel's return window (days after shipment); audited."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValidationError(
            WINDOW_KEY, days, "a return window is a whole number of days, 0 or more"
        )
    channel = uow.session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist")
    stored = dict(channel.settings or {})
    before = stored.get(WINDOW_KEY)
    stored[WINDOW_KEY] = days
    channel.settings = stored
    record(
        uow,
        "returns.window",
        "channel",
        channel.id,
        detail={"before": before, "after": days},
    )
