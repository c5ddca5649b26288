"""Packing by scan and shipping: scans, serials, weight, labels, ledger, outbox.

Worked example: order W1 on the Wholesale channel (which e-mails its own
customers, so Backroom does) for 2 x MUG (400 g, cost 2.50) and 1 x CAM
(a camera, 300 g, cost 50.00, tracks serial numbers), packaging 100 g:
expected weight 2 x 400 + 300 + 100 = 1200 g, tolerance 50 g.

The EasyPost fake prices USPS GroundAdvantage at 4.50 USD plus 0.10 per
started ounce; 1210 g is 42.7 oz, so 43 ounces: 8.80 USD. At 0.80 GBP per
USD the label costs 7.04 GBP, posted Dr 6200 / Cr 2000.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import keyring
import pytest
from keyring.backend import KeyringBackend
from sqlalchemy import Engine, select

from app.core.fulfillment import packing, shipping
from app.core.fulfillment.exceptions import MissingExchangeRate, PackingError
from app.core.fulfillment.settings import (
    CarrierAccount,
    fulfillment_settings,
    update_fulfillment_settings,
)
from app.core.models import OutboxItem, SalesOrder, Shipment, Warehouse
from app.core.models.fulfillment import PackScan, PackSession, ShipmentLabel
from app.core.models.returns import ShippedSerial
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.uow import UnitOfWork
from app.sync.carriers.own_account import OwnAccountCarrier
from app.sync.labels import buy_label, make_carrier, store_carrier_api_key
from tests.fakes.easypost_server import FakeEasyPost
from tests.helpers import NOON, account_nets, add_channel, add_sku, capture, violations

MUG_EAN = "5012345678900"
CAM_EAN = "5012345678917"
LEEDS = Address(
    name="Ann Smith",
    line1="1 High St",
    city="Leeds",
    postcode="LS1 4AP",
    country="GB",
)


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps secrets in memory for one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def packing_shop(engine: Engine) -> Engine:
    """Set up the worked example's shop: SKUs, stock, channel and settings."""
    with UnitOfWork(engine) as uow:
        main = uow.session.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
        assert main is not None
        main.line1, main.city, main.postcode = "Unit 4, Mill Lane", "Leeds", "LS9 8AB"
        update_fulfillment_settings(
            uow,
            packaging_weight_g=100,
            weight_tolerance_g=50,
            fx_rates={"USD": "0.80"},
        )
        uow.commit()
    add_channel(engine, "Wholesale", "wholesale")
    add_sku(engine, "MUG", 5, 250, barcode=MUG_EAN, weight_g=400)
    add_sku(engine, "CAM", 3, 5000, barcode=CAM_EAN, weight_g=300, tracks_serials=True)
    add_sku(engine, "TEA", 5, 100, barcode="5012345678924", weight_g=100)
    return engine


def capture_w1(engine: Engine, external_id: str = "W1") -> int:
    result = capture(
        engine,
        OrderInput(
            channel="Wholesale",
            external_id=external_id,
            placed_at=NOON,
            ship_to=LEEDS,
            customer=CustomerInput(name="Ann Smith", email="ann@example.com"),
            lines=[LineInput("MUG", 2, "6.00"), LineInput("CAM", 1, "120.00")],
        ),
    )
    return result.order_id


def start(engine: Engine, order_id: int) -> int:
    with UnitOfWork(engine) as uow:
        state = packing.start_packing(uow, order_id)
        uow.commit()
    return state.session_id


def scan(engine: Engine, session_id: int, code: str) -> packing.ScanResult:
    with UnitOfWork(engine) as uow:
        result = packing.scan(uow, session_id, code)
        uow.commit()
    return result


def weigh(engine: Engine, session_id: int, grams: int) -> packing.ScanResult:
    with UnitOfWork(engine) as uow:
        result = packing.record_weight(uow, session_id, grams)
        uow.commit()
    return result


def pack_w1(engine: Engine, order_id: int) -> int:
    session_id = start(engine, order_id)
    for code in (MUG_EAN, MUG_EAN, CAM_EAN, "SN-001"):
        assert scan(engine, session_id, code).result == "ok"
    assert weigh(engine, session_id, 1210).result == "ok"
    return session_id


def test_packing_run_with_faults_ships_by_easypost(shop, memory_keyring):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    order_id = capture_w1(shop)
    session_id = start(shop, order_id)

    results = [
        scan(shop, session_id, code)
        for code in ("9999999999999", "5012345678924", MUG_EAN, "mug", MUG_EAN)
    ]
    assert [r.result for r in results] == [
        "unknown_code",
        "wrong_item",
        "ok",
        "ok",
        "extra_unit",
    ]
    assert results[1].message == "WRONG ITEM: TEA is not on order W1"
    assert results[4].message.startswith("ONE TOO MANY: order W1 takes 2 x MUG")
    assert results[4].alarm is True
    assert results[3].state.step == "item"

    camera = scan(shop, session_id, CAM_EAN)
    assert camera.state.step == "serial"
    assert scan(shop, session_id, MUG_EAN).result == "serial_expected"
    serial = scan(shop, session_id, "SN-001")
    assert serial.result == "ok"
    assert serial.state.step == "weight"
    assert serial.state.expected_weight_g == 1200

    heavy = weigh(shop, session_id, 1500)
    assert heavy.result == "weight_mismatch"
    assert heavy.state.step == "weight"
    assert weigh(shop, session_id, 1210).state.step == "label"

    store_carrier_api_key("EasyPost", "EZTKtest0123456789")
    with FakeEasyPost() as fake, UnitOfWork(shop) as uow:
        account = CarrierAccount("EasyPost", kind="easypost", base_url=fake.base_url)
        carrier = make_carrier(account, "GBP")
        parcel = shipping.parcel_for_pack(uow.session, session_id)
        purchase = buy_label(carrier, parcel, service="GroundAdvantage")
        shipped = shipping.ship_packed(uow, session_id, purchase, at=NOON)
        uow.commit()

    assert parcel.weight_g == 1210
    assert purchase.cost_minor == 880
    assert purchase.currency == "USD"
    assert shipped.label_cost_shop == 704
    assert shipped.email_queued is True
    nets = account_nets(shop)
    assert nets["6200"] == 704
    # COGS: 2 x 2.50 + 1 x 50.00 at FIFO.
    assert nets["5000"] == 5500
    # Accounts payable: stock bought (12.50 + 150.00 + 5.00) plus the label.
    assert nets["2000"] == -(1250 + 15000 + 500 + 704)

    with UnitOfWork(shop, write=False) as uow:
        session = uow.session
        shipment = session.get(Shipment, shipped.shipment_id)
        assert shipment is not None
        outbox = {
            row.kind: row
            for row in session.scalars(
                select(OutboxItem).where(OutboxItem.kind.in_(("tracking", "email")))
            )
        }
        serials = session.scalars(select(ShippedSerial)).all()
        labels = sorted(
            row.file_format
            for row in session.scalars(
                select(ShipmentLabel).where(
                    ShipmentLabel.shipment_id == shipped.shipment_id
                )
            )
        )
        verdicts = [
            (scan_row.kind, scan_row.result)
            for scan_row in session.scalars(
                select(PackScan)
                .where(PackScan.pack_session_id == session_id)
                .order_by(PackScan.id)
            )
        ]
        pack = session.get(PackSession, session_id)
        order = session.get(SalesOrder, order_id)
        assert pack is not None and order is not None

    tracking = shipment.tracking_number
    assert tracking is not None and tracking.startswith("94001")
    assert (shipment.carrier, shipment.service) == ("USPS", "GroundAdvantage")
    assert shipment.label_cost == 704
    assert outbox["tracking"].payload["tracking_number"] == tracking
    assert outbox["email"].payload["to"] == "ann@example.com"
    assert tracking in outbox["email"].payload["body"]
    assert [(s.serial, s.shipment_id) for s in serials] == [
        ("SN-001", shipped.shipment_id)
    ]
    assert labels == ["PDF", "ZPL"]
    assert verdicts == [
        ("order", "ok"),
        ("item", "unknown_code"),
        ("item", "wrong_item"),
        ("item", "ok"),
        ("item", "ok"),
        ("item", "extra_unit"),
        ("item", "ok"),
        ("serial", "serial_expected"),
        ("serial", "ok"),
        ("weight", "weight_mismatch"),
        ("weight", "ok"),
        ("tracking", "ok"),
    ]
    assert pack.status == "shipped"
    assert order.status == "shipped"
    assert violations(shop) == []


def test_label_cost_without_exchange_rate_is_rejected(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    with UnitOfWork(shop) as uow:
        update_fulfillment_settings(uow, fx_rates={})
        uow.commit()
    session_id = pack_w1(shop, capture_w1(shop))
    purchase = shipping.LabelPurchase(
        carrier="USPS",
        service="Priority",
        tracking_number="9400100000000000000001",
        cost_minor=1200,
        currency="USD",
    )
    with UnitOfWork(shop) as uow, pytest.raises(MissingExchangeRate, match="no USD"):
        shipping.ship_packed(uow, session_id, purchase, at=NOON)
    with UnitOfWork(shop, write=False) as uow:
        assert uow.session.scalars(select(Shipment)).all() == []


def test_own_account_carrier_takes_typed_tracking(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    add_channel(shop, "Web", "shopify")
    result = capture(
        shop,
        OrderInput(
            channel="Web",
            external_id="1001",
            placed_at=NOON,
            ship_to=LEEDS,
            email="bob@example.com",
            lines=[LineInput("MUG", 1, "6.00")],
        ),
    )
    session_id = start(shop, result.order_id)
    scan(shop, session_id, MUG_EAN)
    weigh(shop, session_id, 500)
    carrier = OwnAccountCarrier("Royal Mail", "GBP")
    with UnitOfWork(shop) as uow:
        parcel = shipping.parcel_for_pack(uow.session, session_id)
        purchase = buy_label(carrier, parcel, tracking_number="RM123456785GB")
        shipped = shipping.ship_packed(uow, session_id, purchase, at=NOON)
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        kinds = sorted(row.kind for row in uow.session.scalars(select(OutboxItem)))
        shipment = uow.session.get(Shipment, shipped.shipment_id)
        assert shipment is not None
    assert shipment.tracking_number == "RM123456785GB"
    assert shipped.label_cost_shop == 0
    # Shopify e-mails its own customers: a tracking row, no e-mail row.
    assert "tracking" in kinds
    assert "email" not in kinds
    assert violations(shop) == []


def test_flat_rate_label_cost_posts_to_6200(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    with UnitOfWork(shop) as uow:
        account = CarrierAccount(
            "Royal Mail",
            flat_rates=({"service": "Tracked 48", "cost_minor": 350},),
        )
        update_fulfillment_settings(uow, carriers=[account])
        settings = fulfillment_settings(uow.session)
        uow.commit()
    session_id = pack_w1(shop, capture_w1(shop))
    carrier = make_carrier(settings.carrier("royal mail"), "GBP")
    with UnitOfWork(shop) as uow:
        parcel = shipping.parcel_for_pack(uow.session, session_id)
        purchase = buy_label(carrier, parcel, tracking_number="RM987654321GB")
        shipping.ship_packed(uow, session_id, purchase, at=NOON)
        uow.commit()
    assert purchase.service == "Tracked 48"
    assert account_nets(shop)["6200"] == 350


def test_weight_mismatch_confirmed_by_second_entry(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    session_id = start(shop, capture_w1(shop))
    for code in (MUG_EAN, MUG_EAN, CAM_EAN, "SN-9"):
        scan(shop, session_id, code)
    assert weigh(shop, session_id, 1400).result == "weight_mismatch"
    confirmed = weigh(shop, session_id, 1400)
    assert confirmed.result == "weight_confirmed"
    assert confirmed.alarm is False
    assert confirmed.state.step == "label"


def test_serial_shipped_before_is_a_duplicate(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    first = pack_w1(shop, capture_w1(shop, "W1"))
    with UnitOfWork(shop) as uow:
        shipping.ship_packed(
            uow,
            first,
            shipping.LabelPurchase(
                carrier="Royal Mail", service="", tracking_number="RM111111111GB"
            ),
            at=NOON,
        )
        uow.commit()
    second = start(shop, capture_w1(shop, "W2"))
    scan(shop, second, CAM_EAN)
    duplicate = scan(shop, second, "SN-001")
    assert duplicate.result == "duplicate_serial"
    assert duplicate.state.step == "serial"


def test_shipping_before_packing_is_complete_is_rejected(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    session_id = start(shop, capture_w1(shop))
    scan(shop, session_id, MUG_EAN)
    with UnitOfWork(shop) as uow, pytest.raises(PackingError, match="1 x MUG, 1 x CAM"):
        shipping.parcel_for_pack(uow.session, session_id)


def test_abandoned_session_keeps_scans_and_reopens(shop):  # type: ignore[no-untyped-def]
    packing_shop(shop)
    order_id = capture_w1(shop)
    session_id = start(shop, order_id)
    scan(shop, session_id, MUG_EAN)
    with UnitOfWork(shop) as uow:
        closed = packing.abandon(uow, session_id, "parcel damaged")
        uow.commit()
    assert closed.step == "closed"
    again = start(shop, order_id)
    assert again != session_id
    with UnitOfWork(shop, write=False) as uow:
        state = packing.pack_state(uow.session, again)
    assert state.units_packed == 0


def test_fx_rate_settings_round_trip(shop):  # type: ignore[no-untyped-def]
    with UnitOfWork(shop) as uow:
        update_fulfillment_settings(uow, fx_rates={"usd": "0.7912"})
        uow.commit()
    with UnitOfWork(shop, write=False) as uow:
        settings = fulfillment_settings(uow.session)
    assert settings.fx_rates == {"USD": Decimal("0.7912")}
