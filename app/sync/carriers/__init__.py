"""Carrier adapters: quote rates, buy labels and track parcels.

``base`` defines the Carrier protocol and its records, and ``easypost``
calls the EasyPost API. ``own_account`` serves carriers the shop deals with
directly, where the packer scans the tracking number from a pre-printed
label.
"""

from app.sync.carriers.base import (
    Carrier,
    CarrierAuthError,
    CarrierError,
    CarrierUnavailable,
    PurchasedLabel,
    Rate,
    ShipmentRequest,
    TrackingEvent,
    TrackingState,
    TrackingStatus,
)

__all__ = [
    "Carrier",
    "CarrierAuthError",
    "CarrierError",
    "CarrierUnavailable",
    "PurchasedLabel",
    "Rate",
    "ShipmentRequest",
    "TrackingEvent",
    "TrackingState",
    "TrackingStatus",
]
