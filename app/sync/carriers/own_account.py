"""Carriers the shop deals with directly, with no API in between.

The shop buys postage at the counter or prints labels in the carrier's own
tool, and the packer scans or types the tracking number from that label.
This adapter quotes the owner's flat rates, if any, then checks the typed
number and records it. It sends nothing over the network, so tracking
returns only the carrier's tracking page, when the owner configured one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from app.core.exceptions import ValidationError
from app.core.money import currency_exponent
from app.sync.carriers.base import (
    CarrierError,
    PurchasedLabel,
    Rate,
    ShipmentRequest,
    TrackingState,
    TrackingStatus,
)

logger = logging.getLogger(__name__)

#: Shortest and longest tracking numbers accepted. The shortest real ones
#: (some domestic couriers) have 8 characters; UPS has 18, USPS up to 34.
MIN_TRACKING_LENGTH = 8
MAX_TRACKING_LENGTH = 40
_TRACKING_CHARS = re.compile(r"[A-Za-z0-9-]+")
PLACEHOLDER = "{tracking_number}"


@dataclass(frozen=True, kw_only=True)
class FlatRate:
    """One of the owner's fixed prices; ``max_weight_g`` None means no limit."""

    service: str
    cost_minor: int
    currency: str
    max_weight_g: int | None = None
    delivery_days: int | None = None

    @property
    def rate_id(self) -> str:
        return f"flat:{self.service}"


def check_tracking_number(value: str) -> str:
    """Return the scanned or typed tracking number, stripped, or raise.

    It must be 8 to 40 letters, digits or dashes with no spaces, and not the
    same number scanned twice in a row.
    """
    number = value.strip()
    if not number:
        raise CarrierError("tracking number is empty; scan or type it from the label")
    if re.search(r"\s", number):
        raise CarrierError(
            f"tracking number {number!r} contains a space; scan it again or "
            "type it without spaces"
        )
    if not MIN_TRACKING_LENGTH <= len(number) <= MAX_TRACKING_LENGTH:
        raise CarrierError(
            f"tracking number {number!r} has {len(number)} characters; carriers "
            f"use {MIN_TRACKING_LENGTH} to {MAX_TRACKING_LENGTH}. Check it against "
            "the label"
        )
    half = len(number) // 2
    if len(number) % 2 == 0 and number[:half] == number[half:]:
        raise CarrierError(
            f"tracking number {number!r} is {number[:half]!r} twice; it was "
            "probably scanned twice, so scan it once more"
        )
    if not _TRACKING_CHARS.fullmatch(number):
        bad = sorted(
            {c for c in number if not (c.isascii() and (c.isalnum() or c == "-"))}
        )
        raise CarrierError(
            f"tracking number {number!r} contains {' '.join(bad)}; carriers use "
            "only letters, digits and dashes"
        )
    return number


def _check_flat_rates(carrier: str, flat_rates: Sequence[FlatRate]) -> None:
    services = [rate.service for rate in flat_rates]
    duplicates = sorted({s for s in services if services.count(s) > 1})
    if duplicates:
        raise CarrierError(
            f"carrier {carrier}: flat rates for {', '.join(duplicates)} are listed "
            "twice; keep one price per service"
        )
    negative = [rate.service for rate in flat_rates if rate.cost_minor < 0]
    if negative:
        raise CarrierError(
            f"carrier {carrier}: flat rates for {', '.join(negative)} are negative"
        )


class OwnAccountCarrier:
    """A carrier account without an API, such as postage bought at the counter.

    ``currency`` is the shop currency, used for the zero cost recorded when
    no flat rate is chosen. ``tracking_url_template`` is the carrier's
    tracking page with ``{tracking_number}`` where the number goes.
    """

    def __init__(
        self,
        name: str,
        currency: str,
        flat_rates: Sequence[FlatRate] = (),
        *,
        tracking_url_template: str = "",
    ) -> None:
        if not name.strip():
            raise CarrierError(
                "carrier name is empty; name the carrier, e.g. Royal Mail"
            )
        try:
            currency_exponent(currency)
        except ValidationError as exc:
            raise CarrierError(f"carrier {name}: {exc}") from None
        _check_flat_rates(name, flat_rates)
        if tracking_url_template and (
            PLACEHOLDER not in tracking_url_template
            or not tracking_url_template.startswith("https://")
        ):
            raise CarrierError(
                f"tracking page {tracking_url_template!r} must start with https:// "
                f"and contain {PLACEHOLDER}"
            )

        self.name = name
        self.currency = currency.upper()
        self.flat_rates = tuple(flat_rates)
        self.tracking_url_template = tracking_url_template

    def rates(self, shipment_request: ShipmentRequest) -> list[Rate]:
        """Return the flat rates whose weight limit the parcel is within."""
        return [
            Rate(
                id=rate.rate_id,
                carrier=self.name,
                service=rate.service,
                cost_minor=rate.cost_minor,
                currency=rate.currency,
                delivery_days=rate.delivery_days,
            )
            for rate in self.flat_rates
            if rate.max_weight_g is None
            or shipment_request.weight_g <= rate.max_weight_g
        ]

    def buy(self, shipment_request: ShipmentRequest, rate_id: str) -> PurchasedLabel:
        """Record the typed tracking number at the chosen flat rate.

        An empty ``rate_id`` records the shipment at zero cost. The label
        itself was printed elsewhere, so no label file is returned.
        """
        tracking = check_tracking_number(shipment_request.tracking_number)
        service, cost, currency = "", 0, self.currency
        if rate_id:
            rate = next((r for r in self.flat_rates if r.rate_id == rate_id), None)
            if rate is None:
                known = ", ".join(r.rate_id for r in self.flat_rates) or "none"
                raise CarrierError(
                    f"carrier {self.name} has no rate {rate_id!r} (rates: {known}); "
                    "quote the rates again"
                )
            if (
                rate.max_weight_g is not None
                and shipment_request.weight_g > rate.max_weight_g
            ):
                raise CarrierError(
                    f"{self.name} {rate.service} takes parcels up to "
                    f"{rate.max_weight_g} g, this one weighs "
                    f"{shipment_request.weight_g} g; choose another service"
                )
            service, cost, currency = rate.service, rate.cost_minor, rate.currency
        logger.info("%s shipment recorded with tracking %s", self.name, tracking)
        return PurchasedLabel(
            tracking_number=tracking,
            carrier=self.name,
            service=service,
            cost_minor=cost,
            currency=currency,
            label_pdf=None,
            label_zpl=None,
            carrier_ref=tracking,
        )

    def tracking_url(self, tracking_number: str) -> str:
        """Return the carrier's tracking page for the number, or "" if none is set."""
        if not self.tracking_url_template:
            return ""
        return self.tracking_url_template.replace(
            PLACEHOLDER, quote(tracking_number, safe="")
        )

    def track(self, tracking_number: str) -> TrackingStatus:
        """Return state UNKNOWN with the carrier's tracking page, if configured.

        Without an API there are no tracking events to read.
        """
        number = check_tracking_number(tracking_number)
        return TrackingStatus(
            tracking_number=number,
            carrier=self.name,
            state=TrackingState.UNKNOWN,
            tracking_url=self.tracking_url(number),
        )
