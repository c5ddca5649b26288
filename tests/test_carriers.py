"""Carrier adapters against a real HTTP server, and the offline carrier.

The EasyPost adapter talks to tests/fakes/easypost_server.py on 127.0.0.1,
which follows EasyPost's documented objects and error bodies and renders
its label files with Backroom's own label code. The fake's prices are a
base plus a price per started ounce, so every quote below is worked out by
hand in the test.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.core.documents import Address, DocLine
from app.sync.carriers import (
    Carrier,
    CarrierAuthError,
    CarrierError,
    CarrierUnavailable,
    ShipmentRequest,
    TrackingState,
)
from app.sync.carriers.easypost import DEFAULT_BASE_URL, EasyPostCarrier, inches, ounces
from app.sync.carriers.own_account import FlatRate, OwnAccountCarrier
from tests.barcodes import decode_pdf, require_zbar
from tests.fakes.easypost_server import FakeEasyPost

API_KEY = "EZTKtest0123456789"

WAREHOUSE = Address(
    name="Backroom Goods",
    company="Backroom Goods LLC",
    line1="417 Montgomery Street",
    line2="Floor 5",
    city="San Francisco",
    region="CA",
    postcode="94104",
    country="US",
    phone="415-555-0100",
)
CUSTOMER = Address(
    name="Jordan Rivera",
    line1="1600 Amphitheatre Parkway",
    city="Mountain View",
    region="CA",
    postcode="94043",
    country="US",
    email="jordan@example.com",
)


def request(**changes: object) -> ShipmentRequest:
    fields: dict[str, object] = {
        "ship_from": WAREHOUSE,
        "ship_to": CUSTOMER,
        "weight_g": 1000,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "reference": "#1042",
    }
    fields.update(changes)
    return ShipmentRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> Iterator[FakeEasyPost]:
    with FakeEasyPost(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def easypost(fake: FakeEasyPost) -> EasyPostCarrier:
    return EasyPostCarrier(
        API_KEY, base_url=fake.base_url, label_formats=("PDF", "ZPL")
    )


def recorded(fake: FakeEasyPost, method: str, path_start: str) -> list[object]:
    return [
        r for r in fake.requests if r.method == method and r.path.startswith(path_start)
    ]


# Unit conversions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "expected"), [(1000, 35.3), (28, 1.0), (620, 21.9), (1, 0.1)]
)
def test_ounces_round_up_to_a_tenth(grams: int, expected: float) -> None:
    assert ounces(grams) == expected


@pytest.mark.parametrize(("mm", "expected"), [(300, 11.9), (254, 10.0), (100, 4.0)])
def test_inches_round_up_to_a_tenth(mm: int, expected: float) -> None:
    assert inches(mm) == expected


# EasyPost: rates ----------------------------------------------------------


def test_easypost_rates_worked_example(easypost: EasyPostCarrier) -> None:
    # 1000 g = 35.3 oz, so 36 started ounces:
    # GroundAdvantage 4.50 + 36 x 0.10 = 8.10, Priority 8.00 + 36 x 0.15 = 13.40,
    # UPS Ground 11.00 + 36 x 0.12 = 15.32.
    rates = easypost.rates(request())

    assert [
        (r.carrier, r.service, r.cost_minor, r.currency, r.delivery_days) for r in rates
    ] == [
        ("USPS", "GroundAdvantage", 810, "USD", 5),
        ("USPS", "Priority", 1340, "USD", 2),
        ("UPS", "Ground", 1532, "USD", 3),
    ]
    assert all(r.id.startswith("rate_") for r in rates)


def test_easypost_sends_documented_shipment_body(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    easypost.rates(request())
    (sent,) = recorded(fake, "POST", "/v2/shipments")
    shipment = sent.body["shipment"]  # type: ignore[attr-defined]

    assert shipment["parcel"] == {
        "weight": 35.3,
        "length": 11.9,
        "width": 7.9,
        "height": 4.0,
    }
    assert shipment["to_address"] == {
        "name": "Jordan Rivera",
        "street1": "1600 Amphitheatre Parkway",
        "city": "Mountain View",
        "state": "CA",
        "zip": "94043",
        "country": "US",
        "email": "jordan@example.com",
    }
    assert shipment["from_address"]["street2"] == "Floor 5"
    assert shipment["options"] == {"label_format": "PDF", "label_size": "4x6"}
    assert shipment["reference"] == "#1042"


def test_easypost_authenticates_with_key_as_user_name(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    easypost.rates(request())
    (sent,) = recorded(fake, "POST", "/v2/shipments")
    expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()

    assert sent.headers["Authorization"] == expected  # type: ignore[attr-defined]


def test_easypost_zero_weight_is_rejected_before_sending(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    with pytest.raises(CarrierError, match="weight 0 g"):
        easypost.rates(request(weight_g=0))

    assert fake.requests == []


def test_easypost_customs_items_carry_line_totals(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    notebook = DocLine(
        sku="NB-A5",
        description="Notebook",
        quantity=2,
        unit_price_minor=1850,
        currency="GBP",
        hs_code="4820.10",
        origin_country="gb",
        weight_g=310,
    )
    easypost.rates(request(customs_lines=(notebook,), customs_signer="Anna Lee"))
    (sent,) = recorded(fake, "POST", "/v2/shipments")
    customs = sent.body["shipment"]["customs_info"]  # type: ignore[attr-defined]

    assert customs["customs_signer"] == "Anna Lee"
    assert customs["customs_certify"] is True
    assert customs["customs_items"] == [
        {
            "description": "Notebook",
            "quantity": 2,
            "value": "37.00",
            "currency": "GBP",
            "weight": 21.9,
            "hs_tariff_number": "4820.10",
            "origin_country": "GB",
            "code": "NB-A5",
        }
    ]


def test_easypost_customs_without_signer_raises(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    line = DocLine(sku="NB-A5", description="Notebook", quantity=1, currency="GBP")

    with pytest.raises(CarrierError, match="customs signer"):
        easypost.rates(request(customs_lines=(line,)))
    assert fake.requests == []


# EasyPost: buying and labels ----------------------------------------------


def test_easypost_buy_returns_tracking_cost_and_labels(
    easypost: EasyPostCarrier,
) -> None:
    require_zbar()
    cheapest = easypost.rates(request())[0]

    bought = easypost.buy(request(), cheapest.id)

    assert bought.tracking_number.startswith("9400100000000000")
    assert (bought.carrier, bought.service) == ("USPS", "GroundAdvantage")
    assert (bought.cost_minor, bought.currency) == (810, "USD")
    assert bought.carrier_ref.startswith("shp_")
    assert bought.label_pdf is not None
    assert {(d.symbology, d.value) for d in decode_pdf(bought.label_pdf)} == {
        ("CODE128", bought.tracking_number),
        ("QRCODE", bought.tracking_number),
    }
    assert bought.label_zpl is not None
    assert bought.label_zpl.startswith("^XA")
    assert f"^FD{bought.tracking_number}^FS" in bought.label_zpl


def test_easypost_buy_sends_the_chosen_rate(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    priority = easypost.rates(request())[1]

    bought = easypost.buy(request(), priority.id)
    (sent,) = recorded(fake, "POST", f"/v2/shipments/{bought.carrier_ref}/buy")

    assert sent.body == {"rate": {"id": priority.id}}  # type: ignore[attr-defined]
    assert bought.cost_minor == 1340


def test_easypost_converts_label_to_zpl(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    bought = easypost.buy(request(), easypost.rates(request())[0].id)
    (convert,) = recorded(fake, "GET", f"/v2/shipments/{bought.carrier_ref}/label")

    assert convert.query == {"file_format": ["ZPL"]}  # type: ignore[attr-defined]


def test_easypost_label_files_are_fetched_without_api_key(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    easypost.buy(request(), easypost.rates(request())[0].id)
    downloads = recorded(fake, "GET", "/files/")

    assert len(downloads) == 2
    for download in downloads:
        assert "Authorization" not in download.headers  # type: ignore[attr-defined]


def test_easypost_fetch_label_again_later(easypost: EasyPostCarrier) -> None:
    bought = easypost.buy(request(), easypost.rates(request())[0].id)

    pdf = easypost.fetch_label(bought.carrier_ref, "PDF")
    zpl = easypost.fetch_label(bought.carrier_ref, "ZPL")

    assert isinstance(pdf, bytes)
    assert pdf.startswith(b"%PDF")
    assert isinstance(zpl, str)
    assert bought.tracking_number in zpl


def test_easypost_buy_in_new_session_looks_up_rate(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    rate = easypost.rates(request())[0]
    restarted = EasyPostCarrier(API_KEY, base_url=fake.base_url)

    bought = restarted.buy(request(), rate.id)

    assert recorded(fake, "GET", f"/v2/rates/{rate.id}")
    assert bought.cost_minor == 810
    assert bought.label_pdf is not None
    assert bought.label_zpl is None


def test_easypost_buying_twice_is_rejected(easypost: EasyPostCarrier) -> None:
    rate = easypost.rates(request())[0]
    easypost.buy(request(), rate.id)

    with pytest.raises(CarrierError, match="Postage already exists") as raised:
        easypost.buy(request(), rate.id)
    assert raised.value.code == "SHIPMENT.POSTAGE.EXISTS"


def test_easypost_buy_without_rate_raises(easypost: EasyPostCarrier) -> None:
    with pytest.raises(CarrierError, match="no rate chosen"):
        easypost.buy(request(), "")


# EasyPost: tracking -------------------------------------------------------


def test_easypost_tracks_bought_parcel(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    bought = easypost.buy(request(), easypost.rates(request())[0].id)
    fake.add_tracking_event(
        bought.tracking_number,
        "in_transit",
        "Arrived at USPS Regional Facility",
        "CHICAGO",
        "US",
    )

    status = easypost.track(bought.tracking_number)

    assert status.state is TrackingState.IN_TRANSIT
    assert [(e.state, e.message, e.location) for e in status.events] == [
        (TrackingState.PRE_TRANSIT, "Pre-Shipment Info Sent to USPS", ""),
        (TrackingState.IN_TRANSIT, "Arrived at USPS Regional Facility", "CHICAGO, US"),
    ]
    assert status.estimated_delivery == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    assert status.carrier == "USPS"
    assert recorded(fake, "POST", "/v2/trackers") == []


def test_easypost_tracks_foreign_number_by_creating_tracker(
    fake: FakeEasyPost, easypost: EasyPostCarrier
) -> None:
    status = easypost.track("EZ1000000001")
    (created,) = recorded(fake, "POST", "/v2/trackers")

    assert created.body == {"tracker": {"tracking_code": "EZ1000000001"}}  # type: ignore[attr-defined]
    assert status.state is TrackingState.UNKNOWN
    assert status.events == ()


# EasyPost: errors ---------------------------------------------------------


def test_easypost_invalid_address_raises_with_field_errors(
    easypost: EasyPostCarrier,
) -> None:
    bad = Address(
        name="Nobody",
        line1="1 Nowhere Rd",
        city="Nowhere",
        postcode="00000",
        country="US",
    )

    with pytest.raises(CarrierError) as raised:
        easypost.rates(request(ship_to=bad))

    assert raised.value.code == "ADDRESS.VERIFY.FAILURE"
    assert raised.value.field_errors == (
        "address: Address not found",
        "zip: Invalid postal code",
    )
    assert "Address not found" in str(raised.value)
    assert "HTTP 422" in str(raised.value)


def test_easypost_missing_fields_listed(easypost: EasyPostCarrier) -> None:
    bad = Address(name="Nobody", line1="", city="", postcode="12345", country="US")

    with pytest.raises(CarrierError) as raised:
        easypost.rates(request(ship_to=bad))

    assert raised.value.field_errors == (
        "to_address.street1 is required",
        "to_address.city is required",
    )


def test_easypost_wrong_api_key_raises_auth_error(fake: FakeEasyPost) -> None:
    carrier = EasyPostCarrier("EZTKwrongkey999", base_url=fake.base_url)

    with pytest.raises(CarrierAuthError, match="check the API key") as raised:
        carrier.rates(request())

    assert raised.value.code == "APIKEY.INACTIVE"
    assert "EZTKwrongkey999" not in str(raised.value)


def test_easypost_unreachable_server_raises_unavailable() -> None:
    server = FakeEasyPost()
    base_url = server.base_url
    server.stop()
    carrier = EasyPostCarrier(API_KEY, base_url=base_url, timeout=(2.0, 2.0))

    with pytest.raises(CarrierUnavailable, match="did not respond"):
        carrier.rates(request())


def test_easypost_refuses_plain_http_to_remote_host() -> None:
    with pytest.raises(CarrierError, match="plain http"):
        EasyPostCarrier(API_KEY, base_url="http://api.example.com/v2")


def test_easypost_default_base_url_is_the_live_api() -> None:
    # Only the constructor runs; no request is sent.
    assert (
        EasyPostCarrier(API_KEY).base_url
        == DEFAULT_BASE_URL
        == "https://api.easypost.com/v2"
    )


def test_easypost_missing_api_key_raises() -> None:
    with pytest.raises(CarrierAuthError, match="no EasyPost API key"):
        EasyPostCarrier("", base_url="http://127.0.0.1:9/v2")


def test_easypost_unknown_label_format_raises() -> None:
    with pytest.raises(CarrierError, match="EPL2"):
        EasyPostCarrier(
            API_KEY, base_url="http://127.0.0.1:9/v2", label_formats=("EPL2",)
        )


# Own account --------------------------------------------------------------


ROYAL_MAIL = OwnAccountCarrier(
    "Royal Mail",
    "GBP",
    [
        FlatRate(
            service="Tracked 48 small parcel",
            cost_minor=299,
            currency="GBP",
            max_weight_g=2000,
            delivery_days=3,
        ),
        FlatRate(
            service="Tracked 48 medium parcel",
            cost_minor=499,
            currency="GBP",
            max_weight_g=20000,
            delivery_days=3,
        ),
    ],
    tracking_url_template="https://www.royalmail.com/track-your-item#/tracking-results/{tracking_number}",
)


def test_own_account_is_a_carrier() -> None:
    carrier: Carrier = ROYAL_MAIL

    assert carrier.name == "Royal Mail"


def test_own_account_records_scanned_number_at_zero_cost() -> None:
    plain = OwnAccountCarrier("Local courier", "GBP")

    bought = plain.buy(request(tracking_number="  JJD0099999999123456\n"), "")

    assert bought.tracking_number == "JJD0099999999123456"
    assert (bought.cost_minor, bought.currency) == (0, "GBP")
    assert bought.carrier == "Local courier"
    assert bought.label_pdf is None
    assert bought.label_zpl is None
    assert plain.rates(request()) == []


def test_own_account_quotes_flat_rates_by_weight() -> None:
    light = ROYAL_MAIL.rates(request(weight_g=1500))
    heavy = ROYAL_MAIL.rates(request(weight_g=2500))

    assert [(r.service, r.cost_minor) for r in light] == [
        ("Tracked 48 small parcel", 299),
        ("Tracked 48 medium parcel", 499),
    ]
    assert [(r.service, r.cost_minor) for r in heavy] == [
        ("Tracked 48 medium parcel", 499)
    ]


def test_own_account_buy_charges_flat_rate() -> None:
    medium = ROYAL_MAIL.rates(request(weight_g=2500))[0]

    bought = ROYAL_MAIL.buy(
        request(weight_g=2500, tracking_number="AB123456789GB"), medium.id
    )

    assert (bought.service, bought.cost_minor, bought.currency) == (
        "Tracked 48 medium parcel",
        499,
        "GBP",
    )


def test_own_account_flat_rate_over_weight_raises() -> None:
    small = ROYAL_MAIL.rates(request(weight_g=100))[0]

    with pytest.raises(CarrierError, match="up to 2000 g, this one weighs 2500 g"):
        ROYAL_MAIL.buy(
            request(weight_g=2500, tracking_number="AB123456789GB"), small.id
        )


def test_own_account_unknown_rate_raises() -> None:
    with pytest.raises(CarrierError, match="no rate 'flat:Express'"):
        ROYAL_MAIL.buy(request(tracking_number="AB123456789GB"), "flat:Express")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("AB 1234 5678 GB", "contains a space"),
        ("AB12345", "has 7 characters"),
        ("A" * 41, "has 41 characters"),
        ("AB123456789GBAB123456789GB", "scanned twice"),
        ("AB1234#5678", "contains #"),
        ("AB1234Ä5678", "contains Ä"),
    ],
)
def test_own_account_rejects_implausible_tracking_number(
    typed: str, message: str
) -> None:
    with pytest.raises(CarrierError, match=message):
        ROYAL_MAIL.buy(request(tracking_number=typed), "")


def test_own_account_track_links_carrier_page() -> None:
    status = ROYAL_MAIL.track("AB123456789GB")

    assert status.state is TrackingState.UNKNOWN
    assert (
        status.tracking_url
        == "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"currency": "XXY"}, "ISO 4217"),
        (
            {"tracking_url_template": "http://track.example.com/{tracking_number}"},
            "https://",
        ),
        ({"tracking_url_template": "https://track.example.com/"}, "tracking_number"),
        (
            {"flat_rates": [FlatRate(service="A", cost_minor=1, currency="GBP")] * 2},
            "listed twice",
        ),
        (
            {"flat_rates": [FlatRate(service="A", cost_minor=-1, currency="GBP")]},
            "negative",
        ),
    ],
)
def test_own_account_rejects_bad_settings(
    kwargs: dict[str, object], message: str
) -> None:
    settings: dict[str, object] = {"currency": "GBP", **kwargs}
    currency = settings.pop("currency")

    with pytest.raises(CarrierError, match=message):
        OwnAccountCarrier("Courier", currency, **settings)  # type: ignore[arg-type]
