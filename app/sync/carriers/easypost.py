"""EasyPost REST API v2: rates, label purchase, label formats and tracking.

The flow follows EasyPost's documented objects. ``rates`` creates a
Shipment (``POST /shipments`` with from/to Address and Parcel), whose
``rates`` list the services. ``buy`` sends ``POST /shipments/{id}/buy``
with ``{"rate": {"id": ...}}``; the bought Shipment carries
``tracking_code``, ``selected_rate`` and a ``postage_label`` whose
``label_url`` points at the label file. Other formats come from
``GET /shipments/{id}/label?file_format=ZPL``, which fills
``label_zpl_url``. ``track`` reads a Tracker and its ``tracking_details``.

Authentication is HTTP basic with the API key as the user name. The key is
sent only to ``base_url``; label files are fetched without it.
Parcel weights go out in ounces and dimensions in inches, rounded up to a
tenth, as EasyPost documents for Parcel. Nothing here retries on its own:
a purchase sent twice buys two labels.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import requests

from app.core.documents import Address
from app.core.exceptions import ValidationError
from app.core.money import format_minor, to_minor
from app.sync.carriers.base import (
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
from app.sync.errors import ConfigError
from app.sync.http import check_api_url

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.easypost.com/v2"
GRAMS_PER_OUNCE = Decimal("28.349523125")
MM_PER_INCH = Decimal("25.4")
LABEL_FORMATS = ("PDF", "ZPL")


def _tenths_up(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_CEILING))


def ounces(weight_g: int) -> float:
    """Convert grams to ounces rounded up to a tenth, e.g. 1000 g -> 35.3 oz."""
    return _tenths_up(Decimal(weight_g) / GRAMS_PER_OUNCE)


def inches(length_mm: int) -> float:
    """Convert millimetres to inches rounded up to a tenth, e.g. 300 mm -> 11.9."""
    return _tenths_up(Decimal(length_mm) / MM_PER_INCH)


def address_body(address: Address) -> dict[str, str]:
    """Return the EasyPost Address fields of ``address``, empty ones left out."""
    fields = {
        "name": address.name,
        "company": address.company,
        "street1": address.line1,
        "street2": address.line2,
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country": address.country.upper(),
        "phone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


def _customs_info(request: ShipmentRequest) -> dict[str, Any]:
    if not request.customs_signer:
        raise CarrierError(
            "a parcel with customs lines needs the name of the person who "
            "certifies the customs declaration; set the customs signer in the "
            "shop settings"
        )
    items = []
    for line in request.customs_lines:
        if not line.currency:
            raise CarrierError(f"customs line {line.sku} has no currency")
        items.append(
            {
                "description": line.description,
                "quantity": line.quantity,
                # CustomsItem value and weight are totals for the line.
                "value": format_minor(
                    line.unit_price_minor * line.quantity, line.currency
                ),
                "currency": line.currency,
                "weight": ounces(line.weight_g * line.quantity),
                "hs_tariff_number": line.hs_code,
                "origin_country": line.origin_country.upper(),
                "code": line.sku,
            }
        )
    return {
        "contents_type": request.contents_type,
        "customs_certify": True,
        "customs_signer": request.customs_signer,
        "non_delivery_option": "return",
        "restriction_type": "none",
        "customs_items": items,
    }


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        logger.warning("EasyPost sent an unreadable timestamp %r", value)
        return None


def _money(amount: object, currency: str, what: str) -> int:
    try:
        return to_minor(Decimal(str(amount)), currency)
    except (InvalidOperation, ValidationError) as exc:
        raise CarrierError(
            f"EasyPost sent {what} {amount!r} {currency!r}, which is not an amount "
            f"in an ISO 4217 currency ({exc})"
        ) from None


def _error_message(response: requests.Response) -> tuple[str, str, list[str]]:
    """Return (code, message, field errors) of an EasyPost error response."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")[:200]
        return "", text or response.reason or "no message", []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", str(body)[:200], []
    field_errors: list[str] = []
    for item in error.get("errors") or []:
        if isinstance(item, dict):
            text = f"{item.get('field', '?')}: {item.get('message', '')}"
            if item.get("suggestion"):
                text += f" (suggestion: {item['suggestion']})"
            field_errors.append(text)
        else:
            field_errors.append(str(item))
    return str(error.get("code", "")), str(error.get("message", "")), field_errors


class EasyPostCarrier:
    """A carrier account reached through EasyPost.

    ``label_formats`` lists the label files fetched after a purchase, from
    "PDF" and "ZPL". ``base_url`` is the API root; tests point it at a
    server on 127.0.0.1.
    """

    name = "EasyPost"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        label_formats: tuple[str, ...] = ("PDF",),
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        if not api_key:
            raise CarrierAuthError(
                "no EasyPost API key is set; paste the key from the EasyPost "
                "dashboard into the carrier settings"
            )
        unknown = [f for f in label_formats if f not in LABEL_FORMATS]
        if unknown or not label_formats:
            raise CarrierError(
                f"label formats {label_formats!r} are not supported; use "
                f"{' and/or '.join(LABEL_FORMATS)}"
            )
        try:
            self.base_url = check_api_url(base_url)
        except ConfigError as exc:
            raise CarrierError(str(exc)) from None
        self.label_formats = label_formats
        self.timeout = timeout
        self._api_key = api_key
        self._session = session if session is not None else requests.Session()
        # Rate ids seen in this session, mapped to their shipment ids.
        self._rate_shipments: dict[str, str] = {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        action: str,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(
                method,
                url,
                json=body,
                params=params,
                auth=(self._api_key, ""),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            logger.error("EasyPost %s %s failed: %s", method, path, type(exc).__name__)
            raise CarrierUnavailable(
                f"EasyPost did not respond while trying to {action} "
                f"({type(exc).__name__} on {method} {url}); check the internet "
                "connection and try again"
            ) from None

        if response.status_code >= 400:
            code, message, field_errors = _error_message(response)
            detail = message + (f" ({'; '.join(field_errors)})" if field_errors else "")
            text = (
                f"EasyPost could not {action}: {detail} "
                f"[{code or 'no code'}, HTTP {response.status_code}]"
            )
            logger.error("EasyPost %s %s: %s", method, path, text)
            if response.status_code in (401, 403):
                raise CarrierAuthError(
                    text + "; check the API key in the carrier settings",
                    code=code,
                    field_errors=field_errors,
                )
            if response.status_code == 429 or response.status_code >= 500:
                raise CarrierUnavailable(
                    text + "; try again in a few minutes",
                    code=code,
                    field_errors=field_errors,
                )
            raise CarrierError(text, code=code, field_errors=field_errors)

        try:
            data = response.json()
        except ValueError:
            raise CarrierError(
                f"EasyPost responded to {method} {url} with a body that is not JSON; "
                "check the configured API address"
            ) from None
        if not isinstance(data, dict):
            raise CarrierError(
                f"EasyPost responded to {method} {url} with {type(data).__name__}"
            )
        return data

    def rates(self, shipment_request: ShipmentRequest) -> list[Rate]:
        """Create an EasyPost Shipment and return its rates, cheapest first."""
        if shipment_request.weight_g <= 0:
            raise CarrierError(
                f"parcel weight {shipment_request.weight_g} g is not positive; "
                "weigh the parcel first"
            )
        parcel: dict[str, Any] = {"weight": ounces(shipment_request.weight_g)}
        dimensions = (
            shipment_request.length_mm,
            shipment_request.width_mm,
            shipment_request.height_mm,
        )
        if all(d > 0 for d in dimensions):
            parcel.update(
                zip(("length", "width", "height"), map(inches, dimensions), strict=True)
            )
        shipment: dict[str, Any] = {
            "from_address": address_body(shipment_request.ship_from),
            "to_address": address_body(shipment_request.ship_to),
            "parcel": parcel,
            "options": {"label_format": self.label_formats[0], "label_size": "4x6"},
        }
        if shipment_request.reference:
            shipment["reference"] = shipment_request.reference
        if shipment_request.customs_lines:
            shipment["customs_info"] = _customs_info(shipment_request)

        data = self._request(
            "POST", "/shipments", body={"shipment": shipment}, action="quote rates"
        )
        shipment_id = str(data.get("id", ""))
        rates = [self._rate(item) for item in data.get("rates") or []]
        if not rates:
            messages = "; ".join(
                f"{m.get('carrier', '?')}: {m.get('message', '')}"
                for m in data.get("messages") or []
                if isinstance(m, dict)
            )
            raise CarrierError(
                f"EasyPost returned no rates for shipment {shipment_id}"
                + (f" ({messages})" if messages else "")
                + "; check the addresses, weight and the carrier accounts in EasyPost"
            )
        for rate in rates:
            self._rate_shipments[rate.id] = shipment_id
        logger.info("EasyPost shipment %s: %d rates", shipment_id, len(rates))
        return sorted(rates, key=lambda r: (r.currency, r.cost_minor))

    def _rate(self, item: Mapping[str, Any]) -> Rate:
        currency = str(item.get("currency") or "USD").upper()
        days = item.get("delivery_days")
        return Rate(
            id=str(item["id"]),
            carrier=str(item.get("carrier", "")),
            service=str(item.get("service", "")),
            cost_minor=_money(item.get("rate"), currency, "rate"),
            currency=currency,
            delivery_days=int(days) if isinstance(days, int | float) else None,
        )

    def _shipment_for_rate(self, rate_id: str) -> str:
        shipment_id = self._rate_shipments.get(rate_id)
        if shipment_id:
            return shipment_id
        rate = self._request("GET", f"/rates/{rate_id}", action=f"find rate {rate_id}")
        shipment_id = str(rate.get("shipment_id") or "")
        if not shipment_id:
            raise CarrierError(
                f"EasyPost rate {rate_id} belongs to no shipment; quote the rates again"
            )
        return shipment_id

    def buy(self, shipment_request: ShipmentRequest, rate_id: str) -> PurchasedLabel:
        """Buy the label for ``rate_id``, a rate returned by ``rates``.

        A label file that fails to download after the purchase is logged and
        left as None, so that the tracking number is never lost. Fetch the
        file again with ``fetch_label``.
        """
        if not rate_id:
            raise CarrierError("no rate chosen; pick one of the quoted services")
        shipment_id = self._shipment_for_rate(rate_id)
        logger.info("buying EasyPost rate %s for shipment %s", rate_id, shipment_id)
        try:
            data = self._request(
                "POST",
                f"/shipments/{shipment_id}/buy",
                body={"rate": {"id": rate_id}},
                action=f"buy the label for shipment {shipment_id}",
            )
        except CarrierUnavailable as exc:
            raise CarrierUnavailable(
                f"{exc}. The label may have been bought anyway: open shipment "
                f"{shipment_id} in EasyPost before buying again",
                code=exc.code,
                field_errors=exc.field_errors,
            ) from None

        tracking = str(data.get("tracking_code") or "")
        selected = data.get("selected_rate") or {}
        if not tracking or not isinstance(selected, dict):
            raise CarrierError(
                f"EasyPost bought shipment {shipment_id} but sent no tracking code; "
                "open the shipment in EasyPost"
            )
        currency = str(selected.get("currency") or "USD").upper()
        cost_minor = _money(selected.get("rate"), currency, "rate")
        logger.info("EasyPost shipment %s bought, tracking %s", shipment_id, tracking)

        files = self._fetch_bought_labels(shipment_id, data.get("postage_label") or {})
        pdf = files.get("PDF")
        zpl = files.get("ZPL")
        return PurchasedLabel(
            tracking_number=tracking,
            carrier=str(selected.get("carrier", "")),
            service=str(selected.get("service", "")),
            cost_minor=cost_minor,
            currency=currency,
            label_pdf=pdf if isinstance(pdf, bytes) else None,
            label_zpl=zpl if isinstance(zpl, str) else None,
            carrier_ref=shipment_id,
        )

    def _fetch_bought_labels(
        self, shipment_id: str, postage_label: Mapping[str, Any]
    ) -> dict[str, bytes | str]:
        files: dict[str, bytes | str] = {}
        for file_format in self.label_formats:
            try:
                url = postage_label.get(f"label_{file_format.lower()}_url")
                if file_format == self.label_formats[0] and not url:
                    url = postage_label.get("label_url")
                files[file_format] = (
                    self._download(str(url), file_format)
                    if url
                    else self.fetch_label(shipment_id, file_format)
                )
            except CarrierError as exc:
                logger.error(
                    "EasyPost shipment %s: %s label not fetched: %s",
                    shipment_id,
                    file_format,
                    exc,
                )
        return files

    def fetch_label(self, shipment_id: str, file_format: str) -> bytes | str:
        """Return a bought label as PDF bytes or ZPL text.

        Uses EasyPost's label conversion, which fills the format's URL on the
        Shipment's PostageLabel.
        """
        if file_format not in LABEL_FORMATS:
            raise CarrierError(
                f"label format {file_format!r} is not one of {LABEL_FORMATS}"
            )
        data = self._request(
            "GET",
            f"/shipments/{shipment_id}/label",
            params={"file_format": file_format},
            action=f"convert the label of shipment {shipment_id} to {file_format}",
        )
        postage_label = data.get("postage_label") or {}
        url = postage_label.get(f"label_{file_format.lower()}_url")
        if not url:
            raise CarrierError(
                f"EasyPost sent no {file_format} label URL for shipment {shipment_id}"
            )
        return self._download(str(url), file_format)

    def _download(self, url: str, file_format: str) -> bytes | str:
        if urlsplit(url).scheme not in ("http", "https"):
            raise CarrierError(f"EasyPost label URL {url!r} is not http(s)")
        try:
            # No auth: label files are public links, often on another host.
            response = self._session.get(url, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise CarrierUnavailable(
                f"label file {url} could not be downloaded ({type(exc).__name__}); "
                "fetch it again later"
            ) from None
        if response.status_code != 200:
            raise CarrierError(
                f"label file {url} returned HTTP {response.status_code}; "
                "fetch it again later"
            )
        if file_format == "PDF":
            if not response.content.startswith(b"%PDF"):
                raise CarrierError(f"label file {url} is not a PDF")
            return response.content
        text = response.content.decode("utf-8", "replace")
        if "^XA" not in text:
            raise CarrierError(f"label file {url} is not ZPL (no ^XA)")
        return text

    def track(self, tracking_number: str) -> TrackingStatus:
        """Return the newest EasyPost Tracker of ``tracking_number``.

        Labels bought through EasyPost have a Tracker already; for any other
        number a Tracker is created, which EasyPost may bill.
        """
        if not tracking_number.strip():
            raise CarrierError("tracking number is empty")
        listing = self._request(
            "GET",
            "/trackers",
            params={"tracking_codes[]": tracking_number},
            action=f"look up tracking number {tracking_number}",
        )
        trackers = [t for t in listing.get("trackers") or [] if isinstance(t, dict)]
        if trackers:
            tracker = trackers[0]
        else:
            tracker = self._request(
                "POST",
                "/trackers",
                body={"tracker": {"tracking_code": tracking_number}},
                action=f"start tracking {tracking_number}",
            )
        return self._tracking_status(tracking_number, tracker)

    def _tracking_status(
        self, tracking_number: str, tracker: Mapping[str, Any]
    ) -> TrackingStatus:
        events = []
        for detail in tracker.get("tracking_details") or []:
            if not isinstance(detail, dict):
                continue
            where = detail.get("tracking_location") or {}
            location = ", ".join(
                str(where[key])
                for key in ("city", "state", "zip", "country")
                if where.get(key)
            )
            events.append(
                TrackingEvent(
                    occurred_at=_parse_time(detail.get("datetime")),
                    state=TrackingState.parse(detail.get("status")),
                    message=str(detail.get("message") or ""),
                    location=location,
                )
            )
        return TrackingStatus(
            tracking_number=str(tracker.get("tracking_code") or tracking_number),
            carrier=str(tracker.get("carrier") or ""),
            state=TrackingState.parse(tracker.get("status")),
            events=tuple(events),
            estimated_delivery=_parse_time(tracker.get("est_delivery_date")),
            tracking_url=str(tracker.get("public_url") or ""),
        )
