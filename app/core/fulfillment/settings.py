"""The owner's fulfillment settings, kept in ``Shop.settings``.

``Shop.settings["fulfillment"]`` contains routing weights, the packing checks,
the label format, the carrier accounts and exchange rates for label costs;
``Shop.settings["smtp"]`` contains the mail server. Secrets (carrier API keys,
the SMTP password) are never stored here: they live in the system keyring.
Missing keys take the defaults below, so an empty settings dict is valid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from app.core.exceptions import ValidationError
from app.core.reference import cached, forget
from app.core.shop import get_shop
from app.core.uow import UnitOfWork

LABEL_FORMATS = ("pdf", "zpl")
CARRIER_KINDS = ("easypost", "own_account")
SMTP_SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True, slots=True)
class RoutingWeights:
    """Relative weights of the four routing sub-scores (any scale, not all 0)."""

    distance: float = 2.0
    stock: float = 4.0
    cost: float = 3.0
    workload: float = 1.0

    @property
    def total(self) -> float:
        return self.distance + self.stock + self.cost + self.workload


@dataclass(frozen=True, slots=True)
class CarrierAccount:
    """A carrier the packer can ship with.

    ``kind`` is "easypost" (labels bought through the EasyPost API; the API
    key is in the keyring) or "own_account" (the packer scans the tracking
    number of a label printed elsewhere). ``flat_rates`` are the
    own-account prices as ``{"service", "cost_minor", "currency",
    "max_weight_g"}`` dicts.
    """

    name: str
    kind: str = "own_account"
    base_url: str = ""
    flat_rates: tuple[dict[str, Any], ...] = ()
    tracking_url_template: str = ""


@dataclass(frozen=True, slots=True)
class FulfillmentSettings:
    """Fulfillment settings with their defaults.

    ``distance_half_km`` is the distance at which the distance score falls
    to one half. ``packaging_weight_g`` is added to the items' weight to
    give a parcel's expected weight, and a weighed parcel passes when it is
    within ``weight_tolerance_g`` of it. ``fx_rates`` maps a currency to
    shop-currency units per one unit of it, for label costs billed in
    another currency.
    """

    weights: RoutingWeights = field(default_factory=RoutingWeights)
    distance_half_km: int = 500
    packaging_weight_g: int = 0
    weight_tolerance_g: int = 50
    weight_check: bool = True
    label_format: str = "pdf"
    default_carrier: str = ""
    carriers: tuple[CarrierAccount, ...] = ()
    fx_rates: dict[str, Decimal] = field(default_factory=dict)
    customs_signer: str = ""
    printer_queue: str = ""

    def carrier(self, name: str) -> CarrierAccount:
        for account in self.carriers:
            if account.name.casefold() == name.casefold():
                return account
        known = ", ".join(a.name for a in self.carriers) or "none yet"
        raise ValidationError(
            "carrier",
            name,
            f"carrier {name!r} is not set up (carriers: {known}); add it in "
            "Warehouses > Carriers or with `backroom fulfil carrier add`",
        )


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The shop's outgoing mail server; the password is in the keyring.

    ``security`` is "starttls" (upgrade a plain connection, usually port
    587), "ssl" (TLS from the start, usually port 465) or "none".
    """

    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    from_address: str = ""
    timeout_s: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.from_address)


def _number(raw: object, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(str(raw))
    except ValueError:
        raise ValidationError(
            name, raw, f"setting {name} is {raw!r}, not a number"
        ) from None
    if value < 0:
        raise ValidationError(name, raw, f"setting {name} cannot be negative")
    return value


def _setting(raw: dict[str, Any], name: str, default: float) -> float:
    return _number(raw.get(name), name, default)


def _decimal_rates(raw: object) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    if not isinstance(raw, dict):
        return rates
    for code, value in raw.items():
        try:
            rate = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(
                f"fx_rates.{code}",
                value,
                f"exchange rate for {code} is {value!r}, not a number",
            ) from None
        if rate <= 0:
            raise ValidationError(
                f"fx_rates.{code}", value, f"exchange rate for {code} must be above 0"
            )
        rates[str(code).upper()] = rate
    return rates


def parse_settings(raw: dict[str, Any]) -> FulfillmentSettings:
    """Build settings from the stored dict, validating every value."""
    weights_raw = raw.get("weights") or {}
    defaults = RoutingWeights()
    weights = RoutingWeights(
        *(
            _number(weights_raw.get(name), f"weights.{name}", getattr(defaults, name))
            for name in ("distance", "stock", "cost", "workload")
        )
    )
    if weights.total <= 0:
        raise ValidationError(
            "weights", weights_raw, "at least one routing weight must be above 0"
        )
    label_format = str(raw.get("label_format", "pdf")).lower()
    if label_format not in LABEL_FORMATS:
        raise ValidationError(
            "label_format", label_format, "label format must be pdf or zpl"
        )
    carriers = []
    for item in raw.get("carriers") or []:
        kind = str(item.get("kind", "own_account"))
        if kind not in CARRIER_KINDS:
            raise ValidationError(
                "carriers.kind", kind, "carrier kind must be easypost or own_account"
            )
        carriers.append(
            CarrierAccount(
                name=str(item["name"]),
                kind=kind,
                base_url=str(item.get("base_url") or ""),
                flat_rates=tuple(item.get("flat_rates") or ()),
                tracking_url_template=str(item.get("tracking_url_template") or ""),
            )
        )
    return FulfillmentSettings(
        weights=weights,
        distance_half_km=max(1, int(_setting(raw, "distance_half_km", 500))),
        packaging_weight_g=int(_setting(raw, "packaging_weight_g", 0)),
        weight_tolerance_g=int(_setting(raw, "weight_tolerance_g", 50)),
        weight_check=bool(raw.get("weight_check", True)),
        label_format=label_format,
        default_carrier=str(raw.get("default_carrier") or ""),
        carriers=tuple(carriers),
        fx_rates=_decimal_rates(raw.get("fx_rates")),
        customs_signer=str(raw.get("customs_signer") or ""),
        printer_queue=str(raw.get("printer_queue") or ""),
    )


def settings_dict(settings: FulfillmentSettings) -> dict[str, Any]:
    """Return the JSON form stored in ``Shop.settings["fulfillment"]``."""
    data = asdict(settings)
    data["fx_rates"] = {code: str(rate) for code, rate in settings.fx_rates.items()}
    data["carriers"] = [
        {**asdict(account), "flat_rates": list(account.flat_rates)}
        for account in settings.carriers
    ]
    return data


def fulfillment_settings(session: Session) -> FulfillmentSettings:
    """Return the shop's fulfillment settings."""
    return cached(session, "fulfillment_settings", _load_settings)


def _load_settings(session: Session) -> FulfillmentSettings:
    raw = get_shop(session).settings or {}
    return parse_settings(dict(raw.get("fulfillment") or {}))


def update_fulfillment_settings(uow: UnitOfWork, **changes: Any) -> FulfillmentSettings:
    """Change some fulfillment settings and store them; return the new settings.

    ``weights`` may be a RoutingWeights or a dict of the four weights;
    ``carriers`` a sequence of CarrierAccount.
    """
    session = uow.session
    current = fulfillment_settings(session)
    if isinstance(changes.get("weights"), dict):
        changes["weights"] = RoutingWeights(
            **{**asdict(current.weights), **changes["weights"]}
        )
    if "carriers" in changes:
        changes["carriers"] = tuple(changes["carriers"])
    if "fx_rates" in changes:
        changes["fx_rates"] = _decimal_rates(changes["fx_rates"])
    try:
        updated = replace(current, **changes)
    except TypeError as exc:
        raise ValidationError("settings", sorted(changes), str(exc)) from None
    data = settings_dict(updated)
    parsed = parse_settings(data)
    shop = get_shop(session)
    # JSON columns do not track changes inside the dict: assign a new one.
    shop.settings = {**(shop.settings or {}), "fulfillment": data}
    forget(session)
    return parsed


def smtp_settings(session: Session) -> SmtpSettings:
    raw = dict((get_shop(session).settings or {}).get("smtp") or {})
    security = str(raw.get("security", "starttls"))
    if security not in SMTP_SECURITY:
        raise ValidationError(
            "smtp.security", security, "SMTP security must be starttls, ssl or none"
        )
    return SmtpSettings(
        host=str(raw.get("host") or ""),
        port=int(raw.get("port") or (465 if security == "ssl" else 587)),
        security=security,
        username=str(raw.get("username") or ""),
        from_address=str(raw.get("from_address") or ""),
        timeout_s=float(raw.get("timeout_s") or 30.0),
    )


def update_smtp_settings(uow: UnitOfWork, settings: SmtpSettings) -> None:
    """Store the SMTP server settings (the password goes to the keyring)."""
    if settings.security not in SMTP_SECURITY:
        raise ValidationError(
            "smtp.security",
            settings.security,
            "SMTP security must be starttls, ssl or none",
        )
    if not 0 < settings.port < 65536:
        raise ValidationError("smtp.port", settings.port, "port must be 1 to 65535")
    shop = get_shop(uow.session)
    shop.settings = {**(shop.settings or {}), "smtp": asdict(settings)}
