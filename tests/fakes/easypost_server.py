"""A small EasyPost API v2 on 127.0.0.1, built from EasyPost's documented objects.

It serves the calls Backroom makes: ``POST /v2/shipments`` (a Shipment with
Rates), ``GET /v2/rates/{id}``, ``POST /v2/shipments/{id}/buy``,
``GET /v2/shipments/{id}/label?file_format=PDF|ZPL``, ``GET /v2/trackers``
and ``POST /v2/trackers``. Ids carry EasyPost's prefixes (``shp_``,
``rate_``, ``pl_``, ``trk_``, ``adr_``, ``prcl_``). Label files are rendered
by Backroom's own label code and served from ``/files/`` on the same server,
without authentication, as EasyPost's label links are.

Fixed rules make the figures predictable. Rates are in USD: a base price
plus a price per started ounce of parcel weight (see SERVICES). The postcode
00000 fails address verification. Requests without HTTP basic auth, or with
a key other than ``api_key``, get HTTP 401. Every request is recorded in
``requests``.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.core.documents import Address, LabelData
from app.core.documents.label import render_label_pdf
from app.core.documents.zpl import render_label_zpl

GRAMS_PER_OUNCE = Decimal("28.349523125")
NOW = "2026-12-04T10:00:00Z"

#: (carrier, service, base price, price per started ounce, delivery days)
SERVICES = (
    ("USPS", "GroundAdvantage", Decimal("4.50"), Decimal("0.10"), 5),
    ("USPS", "Priority", Decimal("8.00"), Decimal("0.15"), 2),
    ("UPS", "Ground", Decimal("11.00"), Decimal("0.12"), 3),
)


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class _State:
    api_key: str
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.counter):032x}"


class FakeEasyPost:
    """Run the fake in a thread: ``with FakeEasyPost() as fake: fake.base_url``."""

    def __init__(self, api_key: str = "EZTKtest0123456789") -> None:
        self.state = _State(api_key=api_key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v2"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    def __enter__(self) -> FakeEasyPost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket; a later request is refused."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def add_tracking_event(
        self, tracking_code: str, status: str, message: str, city: str, country: str
    ) -> None:
        """Append a TrackingDetail to the tracker of ``tracking_code``."""
        with self.state.lock:
            tracker = self.state.trackers[tracking_code]
            tracker["status"] = status
            tracker["tracking_details"].append(
                {
                    "object": "TrackingDetail",
                    "message": message,
                    "status": status,
                    "datetime": NOW,
                    "source": tracker["carrier"],
                    "tracking_location": {
                        "object": "TrackingLocation",
                        "city": city,
                        "state": None,
                        "country": country,
                        "zip": None,
                    },
                }
            )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        state = self.state
        fake = self

        class Handler(_Handler):
            pass

        Handler.state = state
        Handler.fake = fake
        return Handler


def _error(
    status: int, code: str, message: str, errors: list[Any] | None = None
) -> tuple[int, Any]:
    return status, {"error": {"code": code, "message": message, "errors": errors or []}}


def _address(fields: dict[str, Any], state: _State) -> dict[str, Any]:
    return {"id": state.new_id("adr"), "object": "Address", "mode": "test", **fields}


def _ounces(weight: float) -> Decimal:
    return Decimal(str(weight))


def _price(base: Decimal, per_ounce: Decimal, weight_oz: Decimal) -> str:
    started = weight_oz.to_integral_value(rounding=ROUND_CEILING)
    return str((base + per_ounce * started).quantize(Decimal("0.01")))


def _label_data(shipment: dict[str, Any]) -> LabelData:
    def address(a: dict[str, Any]) -> Address:
        return Address(
            name=a.get("name", ""),
            company=a.get("company", ""),
            line1=a.get("street1", ""),
            line2=a.get("street2", ""),
            city=a.get("city", ""),
            region=a.get("state", ""),
            postcode=a.get("zip", ""),
            country=a.get("country", "US"),
            phone=a.get("phone", ""),
        )

    rate = shipment["selected_rate"]
    grams = int(Decimal(str(shipment["parcel"]["weight"])) * GRAMS_PER_OUNCE)
    return LabelData(
        shipment_ref=shipment["id"],
        order_ref=shipment.get("reference") or "",
        tracking_number=shipment["tracking_code"],
        carrier=rate["carrier"],
        service=rate["service"],
        weight_g=grams,
        ship_from=address(shipment["from_address"]),
        ship_to=address(shipment["to_address"]),
        created_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
    )


class _Handler(BaseHTTPRequestHandler):
    state: _State
    fake: FakeEasyPost

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _send(
        self, status: int, body: Any, content_type: str = "application/json"
    ) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            self._send(
                *_error(400, "BAD_REQUEST", "The request body is not valid JSON.")
            )
            return
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest(
                    method, parts.path, parse_qs(parts.query), dict(self.headers), body
                )
            )

        if parts.path.startswith("/files/"):
            self._serve_file(parts.path)
            return
        if not self._authorized():
            return
        query = parse_qs(parts.query)
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("POST", r"/v2/shipments", self._create_shipment),
            ("GET", r"/v2/rates/(?P<id>rate_\w+)", self._get_rate),
            ("POST", r"/v2/shipments/(?P<id>shp_\w+)/buy", self._buy),
            ("GET", r"/v2/shipments/(?P<id>shp_\w+)/label", self._convert_label),
            ("GET", r"/v2/trackers", self._list_trackers),
            ("POST", r"/v2/trackers", self._create_tracker),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, parts.path)
            if route_method == method and match:
                with self.state.lock:
                    status, response = handler(body or {}, query, **match.groupdict())
                self._send(status, response)
                return
        self._send(
            *_error(404, "NOT_FOUND", "The requested resource could not be found.")
        )

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            self._send(
                *_error(
                    401, "APIKEY.REQUIRED", "Unauthorized. Please provide an API key."
                )
            )
            return False
        user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        if user != self.state.api_key:
            self._send(
                *_error(401, "APIKEY.INACTIVE", "This API key is no longer active.")
            )
            return False
        return True

    def _serve_file(self, path: str) -> None:
        entry = self.state.files.get(path)
        if entry is None:
            self._send(404, b"not found", "text/plain")
            return
        content_type, payload = entry
        self._send(200, payload, content_type)

    def _create_shipment(self, body: Any, query: Any) -> tuple[int, Any]:
        state = self.state
        shipment = body.get("shipment") or {}
        to_address = shipment.get("to_address") or {}
        from_address = shipment.get("from_address") or {}
        parcel = shipment.get("parcel") or {}
        if to_address.get("zip") == "00000":
            return _error(
                422,
                "ADDRESS.VERIFY.FAILURE",
                "Address not found",
                [
                    {
                        "field": "address",
                        "message": "Address not found",
                        "suggestion": None,
                    },
                    {
                        "field": "zip",
                        "message": "Invalid postal code",
                        "suggestion": None,
                    },
                ],
            )
        missing = [
            f"{name}.{key}"
            for name, address in (
                ("to_address", to_address),
                ("from_address", from_address),
            )
            for key in ("street1", "city", "country")
            if not address.get(key)
        ]
        if missing or not parcel.get("weight"):
            errors = missing + ([] if parcel.get("weight") else ["parcel.weight"])
            return _error(
                422,
                "SHIPMENT.INVALID_PARAMS",
                "Unable to create shipment, one or more parameters were invalid.",
                [f"{name} is required" for name in errors],
            )

        shipment_id = state.new_id("shp")
        weight_oz = _ounces(parcel["weight"])
        rates = []
        for carrier, service, base, per_ounce, days in SERVICES:
            rate_id = state.new_id("rate")
            rate: dict[str, Any] = {
                "id": rate_id,
                "object": "Rate",
                "mode": "test",
                "service": service,
                "carrier": carrier,
                "carrier_account_id": f"ca_{carrier.lower()}",
                "shipment_id": shipment_id,
                "rate": _price(base, per_ounce, weight_oz),
                "currency": "USD",
                "retail_rate": None,
                "retail_currency": None,
                "list_rate": None,
                "list_currency": None,
                "delivery_days": days,
                "delivery_date": None,
                "delivery_date_guaranteed": False,
                "created_at": NOW,
                "updated_at": NOW,
            }
            state.rates[rate_id] = rate
            rates.append(rate)
        record = {
            "id": shipment_id,
            "object": "Shipment",
            "mode": "test",
            "reference": shipment.get("reference"),
            "to_address": _address(to_address, state),
            "from_address": _address(from_address, state),
            "parcel": {"id": state.new_id("prcl"), "object": "Parcel", **parcel},
            "customs_info": shipment.get("customs_info"),
            "options": shipment.get("options") or {},
            "rates": rates,
            "selected_rate": None,
            "postage_label": None,
            "tracking_code": None,
            "tracker": None,
            "messages": [],
            "status": "unknown",
            "created_at": NOW,
            "updated_at": NOW,
        }
        state.shipments[shipment_id] = record
        return 201, record

    def _get_rate(self, body: Any, query: Any, id: str) -> tuple[int, Any]:
        rate = self.state.rates.get(id)
        if rate is None:
            return _error(
                404, "NOT_FOUND", "The requested resource could not be found."
            )
        return 200, rate

    def _buy(self, body: Any, query: Any, id: str) -> tuple[int, Any]:
        state = self.state
        shipment = state.shipments.get(id)
        if shipment is None:
            return _error(
                404, "NOT_FOUND", "The requested resource could not be found."
            )
        rate_id = str((body.get("rate") or {}).get("id") or "")
        rate = state.rates.get(rate_id)
        if rate is None or rate["shipment_id"] != id:
            return _error(
                422,
                "SHIPMENT.RATE.INVALID",
                f"Rate {rate_id} does not belong to shipment {id}.",
            )
        if shipment["postage_label"] is not None:
            return _error(
                422,
                "SHIPMENT.POSTAGE.EXISTS",
                "Postage already exists for this shipment.",
            )

        serial = next(state.counter)
        tracking_code = f"9400100000000000{serial:06d}"
        shipment["tracking_code"] = tracking_code
        shipment["selected_rate"] = rate
        shipment["status"] = "unknown"
        label_id = state.new_id("pl")
        file_format = str(shipment["options"].get("label_format") or "PNG").upper()
        label = {
            "id": label_id,
            "object": "PostageLabel",
            "label_date": NOW,
            "label_resolution": 300,
            "label_size": "4x6",
            "label_type": "default",
            "label_file_type": None,
            "label_url": None,
            "label_pdf_url": None,
            "label_zpl_url": None,
            "label_epl2_url": None,
            "created_at": NOW,
            "updated_at": NOW,
        }
        shipment["postage_label"] = label
        self._store_label(shipment, file_format, primary=True)

        tracker = {
            "id": state.new_id("trk"),
            "object": "Tracker",
            "mode": "test",
            "tracking_code": tracking_code,
            "status": "pre_transit",
            "signed_by": None,
            "weight": None,
            "est_delivery_date": "2026-12-09T17:00:00Z",
            "shipment_id": id,
            "carrier": rate["carrier"],
            "public_url": f"https://track.example.invalid/{tracking_code}",
            "tracking_details": [
                {
                    "object": "TrackingDetail",
                    "message": "Pre-Shipment Info Sent to USPS",
                    "status": "pre_transit",
                    "datetime": NOW,
                    "source": rate["carrier"],
                    "tracking_location": {
                        "object": "TrackingLocation",
                        "city": None,
                        "state": None,
                        "country": None,
                        "zip": None,
                    },
                }
            ],
            "created_at": NOW,
            "updated_at": NOW,
        }
        state.trackers[tracking_code] = tracker
        shipment["tracker"] = tracker
        return 200, shipment

    def _store_label(
        self, shipment: dict[str, Any], file_format: str, primary: bool
    ) -> None:
        label = shipment["postage_label"]
        data = _label_data(shipment)
        if file_format == "PDF":
            stream = io.BytesIO()
            render_label_pdf(data, stream)
            content_type, payload, suffix = "application/pdf", stream.getvalue(), "pdf"
        elif file_format == "ZPL":
            content_type, suffix = "application/zpl", "zpl"
            payload = render_label_zpl(data).encode("utf-8")
        else:
            raise ValueError(
                f"fake EasyPost renders PDF and ZPL labels, not {file_format}"
            )
        path = f"/files/postage_label/{label['id']}.{suffix}"
        self.state.files[path] = (content_type, payload)
        url = f"{self.fake.origin}{path}"
        label[f"label_{suffix}_url"] = url
        if primary:
            label["label_url"] = url
            label["label_file_type"] = content_type

    def _convert_label(self, body: Any, query: Any, id: str) -> tuple[int, Any]:
        shipment = self.state.shipments.get(id)
        if shipment is None:
            return _error(
                404, "NOT_FOUND", "The requested resource could not be found."
            )
        if shipment["postage_label"] is None:
            return _error(
                422,
                "SHIPMENT.POSTAGE.MISSING",
                "The shipment has no postage label yet.",
            )
        file_format = (query.get("file_format") or [""])[0].upper()
        if file_format not in ("PDF", "ZPL"):
            return _error(
                422,
                "SHIPMENT.LABEL.INVALID_FORMAT",
                f"file_format {file_format!r} is invalid.",
            )
        self._store_label(shipment, file_format, primary=False)
        return 200, shipment

    def _list_trackers(self, body: Any, query: Any) -> tuple[int, Any]:
        codes = query.get("tracking_codes[]") or query.get("tracking_code") or []
        trackers = [self.state.trackers[c] for c in codes if c in self.state.trackers]
        return 200, {"trackers": trackers, "has_more": False}

    def _create_tracker(self, body: Any, query: Any) -> tuple[int, Any]:
        tracking_code = (body.get("tracker") or {}).get("tracking_code") or ""
        if not tracking_code:
            return _error(
                422,
                "TRACKER.INVALID_PARAMS",
                "Missing tracking_code.",
                ["tracking_code is required"],
            )
        tracker: dict[str, Any] = {
            "id": self.state.new_id("trk"),
            "object": "Tracker",
            "mode": "test",
            "tracking_code": tracking_code,
            "status": "unknown",
            "est_delivery_date": None,
            "carrier": (body.get("tracker") or {}).get("carrier") or "USPS",
            "public_url": None,
            "tracking_details": [],
            "created_at": NOW,
            "updated_at": NOW,
        }
        self.state.trackers[tracking_code] = tracker
        return 201, tracker
