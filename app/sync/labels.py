"""Buying a parcel's label through the shop's carrier accounts.

The carrier accounts are in the fulfillment settings; an API key is read
from the system keyring (service "Backroom", user
``carrier:<name>:api_key``) and never stored in the database. The core
supplies the parcel (``app.core.fulfillment.shipping``) and records the
purchase; this module sits between them, because it calls the network.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors

from app.core.fulfillment.settings import CarrierAccount
from app.core.fulfillment.shipping import LabelPurchase, Parcel
from app.sync.carriers.base import Carrier, CarrierError, Rate, ShipmentRequest
from app.sync.carriers.easypost import DEFAULT_BASE_URL, EasyPostCarrier
from app.sync.carriers.own_account import FlatRate, OwnAccountCarrier

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Backroom"


def api_key_user(carrier_name: str) -> str:
    """Return the keyring user name of a carrier's API key."""
    return f"carrier:{carrier_name}:api_key"


def carrier_api_key(carrier_name: str) -> str | None:
    try:
        return keyring.get_password(KEYRING_SERVICE, api_key_user(carrier_name))
    except keyring.errors.KeyringError as exc:
        raise CarrierError(
            f"the system keyring could not be read for carrier {carrier_name} "
            f"({exc}); unlock it or set up a keyring backend"
        ) from None


def store_carrier_api_key(carrier_name: str, api_key: str) -> None:
    keyring.set_password(KEYRING_SERVICE, api_key_user(carrier_name), api_key)


def make_carrier(
    account: CarrierAccount,
    shop_currency: str,
    *,
    label_format: str = "pdf",
    api_key: str | None = None,
) -> Carrier:
    """Return the adapter for a carrier account.

    An EasyPost account fetches the label in ``label_format`` first and
    the other format as well, so that either can be printed later.
    """
    if account.kind == "easypost":
        formats = ("ZPL", "PDF") if label_format.lower() == "zpl" else ("PDF", "ZPL")
        return EasyPostCarrier(
            api_key if api_key is not None else carrier_api_key(account.name) or "",
            base_url=account.base_url or DEFAULT_BASE_URL,
            label_formats=formats,
        )
    flat_rates = [
        FlatRate(
            service=str(rate["service"]),
            cost_minor=int(rate["cost_minor"]),
            currency=str(rate.get("currency") or shop_currency).upper(),
            max_weight_g=(
                int(rate["max_weight_g"]) if rate.get("max_weight_g") else None
            ),
        )
        for rate in account.flat_rates
    ]
    return OwnAccountCarrier(
        account.name,
        shop_currency,
        flat_rates,
        tracking_url_template=account.tracking_url_template,
    )


def shipment_request(parcel: Parcel, tracking_number: str = "") -> ShipmentRequest:
    return ShipmentRequest(
        ship_from=parcel.ship_from,
        ship_to=parcel.ship_to,
        weight_g=parcel.weight_g,
        reference=parcel.order_ref,
        customs_lines=tuple(parcel.customs_lines),
        customs_signer=parcel.customs_signer,
        tracking_number=tracking_number,
    )


def _choose(rates: list[Rate], service: str | None, carrier: str) -> Rate | None:
    if not rates:
        return None
    if service:
        wanted = service.casefold()
        found = next((r for r in rates if r.service.casefold() == wanted), None)
        if found is None:
            offered = ", ".join(r.service for r in rates)
            raise CarrierError(
                f"{carrier} offers no service {service!r} for this parcel "
                f"(offered: {offered}); choose one of those"
            )
        return found
    return rates[0]


def buy_label(
    carrier: Carrier,
    parcel: Parcel,
    *,
    service: str | None = None,
    tracking_number: str = "",
) -> LabelPurchase:
    """Quote the parcel, buy the chosen service (default: cheapest) and return it.

    ``tracking_number`` is what the packer scanned for an own-account
    carrier; API carriers return their own.
    """
    request = shipment_request(parcel, tracking_number)
    rates = carrier.rates(request)
    chosen = _choose(rates, service, carrier.name)
    label = carrier.buy(request, chosen.id if chosen else "")
    tracking_url = ""
    if isinstance(carrier, OwnAccountCarrier):
        tracking_url = carrier.tracking_url(label.tracking_number)
    log.info(
        "label bought for order %s: %s %s, tracking %s",
        parcel.order_ref,
        label.carrier,
        label.service,
        label.tracking_number,
    )
    return LabelPurchase(
        carrier=label.carrier or carrier.name,
        service=label.service,
        tracking_number=label.tracking_number,
        cost_minor=label.cost_minor,
        currency=label.currency,
        label_pdf=label.label_pdf,
        label_zpl=label.label_zpl,
        carrier_ref=label.carrier_ref,
        tracking_url=tracking_url,
    )
