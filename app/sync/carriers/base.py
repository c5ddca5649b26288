"""The carrier adapter interface: rates, label purchase and tracking.

Adapters turn a ShipmentRequest into carrier calls and return the plain
records below. Money is integer minor units plus an ISO 4217 code, weights
are grams and dimensions millimetres; each adapter converts to its API's
units. Every error an adapter raises on purpose derives from CarrierError.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app.core.documents import Address, DocLine
from app.sync.errors import SyncError


class CarrierError(SyncError):
    """A failed carrier call. The message names the failure and the next step.

    ``code`` is the carrier's machine-readable error code when it sent one,
    and ``field_errors`` its per-field messages as ``"field: message"``.
    """

    def __init__(
        self, message: str, *, code: str = "", field_errors: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.field_errors = tuple(field_errors)


class CarrierAuthError(CarrierError):
    """The carrier rejected the account's API key."""


class CarrierUnavailable(CarrierError):
    """No response from the carrier: network failure, timeout, HTTP 429 or 5xx.

    Trying again later may succeed. After a failed purchase the label may
    have been bought anyway, so check the carrier account before buying again.
    """


@dataclass(frozen=True, kw_only=True)
class ShipmentRequest:
    """One parcel to rate or buy a label for.

    ``customs_lines`` describe the contents of a parcel that crosses a
    border (HS code, origin, unit value and unit weight per line).
    ``tracking_number`` is a number the packer scanned or typed from a
    pre-printed label; only carriers without an API use it.
    """

    ship_from: Address
    ship_to: Address
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0
    reference: str = ""
    customs_lines: Sequence[DocLine] = ()
    contents_type: str = "merchandise"
    customs_signer: str = ""
    tracking_number: str = ""


@dataclass(frozen=True, kw_only=True)
class Rate:
    """A price quote for one service; ``id`` is passed back to ``buy``."""

    id: str
    carrier: str
    service: str
    cost_minor: int
    currency: str
    delivery_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class PurchasedLabel:
    """A bought label. ``carrier_ref`` is the carrier's id of the shipment."""

    tracking_number: str
    carrier: str
    service: str
    cost_minor: int
    currency: str
    label_pdf: bytes | None
    label_zpl: str | None
    carrier_ref: str


class TrackingState(enum.StrEnum):
    """Parcel state, in the status names EasyPost uses for trackers."""

    UNKNOWN = "unknown"
    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    RETURN_TO_SENDER = "return_to_sender"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    ERROR = "error"

    @classmethod
    def parse(cls, value: object) -> TrackingState:
        """Return the state named ``value``, or UNKNOWN for anything else."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True, kw_only=True)
class TrackingEvent:
    """One scan or status change reported by the carrier."""

    occurred_at: datetime | None
    state: TrackingState
    message: str
    location: str = ""


@dataclass(frozen=True, kw_only=True)
class TrackingStatus:
    """The latest known state of a parcel, with its events oldest first."""

    tracking_number: str
    carrier: str
    state: TrackingState
    events: tuple[TrackingEvent, ...] = field(default_factory=tuple)
    estimated_delivery: datetime | None = None
    tracking_url: str = ""


class Carrier(Protocol):
    """A carrier account that can quote, buy labels and track parcels."""

    name: str

    def rates(self, shipment_request: ShipmentRequest) -> list[Rate]:
        """Return the services and prices available for the parcel."""
        ...

    def buy(self, shipment_request: ShipmentRequest, rate_id: str) -> PurchasedLabel:
        """Buy the label for the quoted rate ``rate_id``."""
        ...

    def track(self, tracking_number: str) -> TrackingStatus:
        """Return the parcel's latest tracking state."""
        ...
