"""Documents from database records, through ``backroom print`` and ``fulfil``.

Every PDF is rendered and its barcodes decoded back to exactly the values
encoded: the pick list's batch, SKU and order codes, the label's tracking
number as Code128 and QR code.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import Engine, select

from app.cli import main
from app.core import catalog
from app.core.fulfillment import shipping
from app.core.fulfillment.settings import CarrierAccount, update_fulfillment_settings
from app.core.models import Warehouse
from app.core.models.fulfillment import ShipmentLabel
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.uow import UnitOfWork
from app.sync.labels import buy_label, make_carrier
from tests.barcodes import decode_pdf, text_of
from tests.fakes.easypost_server import FakeEasyPost
from tests.helpers import NOON, add_sku, capture

LEEDS = Address(
    name="Ann Smith", line1="1 High St", city="Leeds", postcode="LS1 4AP", country="GB"
)
BOSTON = Address(
    name="Carl Jones",
    line1="10 Main St",
    city="Boston",
    region="MA",
    postcode="02108",
    country="US",
)


def _db(engine: Engine) -> str:
    return str(engine.url.database)


def run(engine: Engine, *argv: str, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    code = main([*argv, "--db", _db(engine), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)  # type: ignore[no-any-return]


def document_shop(engine: Engine) -> Engine:
    with UnitOfWork(engine) as uow:
        main_wh = uow.session.scalar(select(Warehouse).where(Warehouse.code == "MAIN"))
        assert main_wh is not None
        main_wh.line1, main_wh.city, main_wh.postcode = "Unit 4", "Leeds", "LS9 8AB"
        uow.commit()
    add_sku(
        engine,
        "MUG-BLUE",
        10,
        250,
        weight_g=400,
        hs_code="6912.00",
        country_of_origin="GB",
    )
    add_sku(
        engine,
        "TEA-01",
        10,
        100,
        weight_g=200,
        hs_code="0902.10",
        country_of_origin="IN",
    )
    add_sku(
        engine, "SPOON", 10, 50, weight_g=30, hs_code="8215.99", country_of_origin="CN"
    )
    with UnitOfWork(engine) as uow:
        catalog.assign_bin(uow, "MUG-BLUE", "MAIN", "A-10")
        catalog.assign_bin(uow, "TEA-01", "MAIN", "A-2")
        catalog.assign_bin(uow, "SPOON", "MAIN", "B-1")
        uow.commit()
    return engine


def order(engine: Engine, ref: str, lines: list[LineInput], to: Address = LEEDS) -> int:
    return capture(
        engine,
        OrderInput(
            channel="Manual",
            external_id=ref,
            placed_at=NOON,
            ship_to=to,
            customer=CustomerInput(name=to.name, email="buyer@example.com"),
            lines=lines,
        ),
    ).order_id


def ship_with_tracking(engine: Engine, order_id: int, tracking: str) -> int:
    with UnitOfWork(engine) as uow:
        result = shipping.ship_order(
            uow,
            order_id,
            shipping.LabelPurchase(
                carrier="Royal Mail", service="Tracked 48", tracking_number=tracking
            ),
            at=NOON,
        )
        uow.commit()
    return result.shipment_id


def test_pick_list_barcodes_decode_to_batch_orders_skus(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order(
        shop, "D1", [LineInput("MUG-BLUE", 2, "6.00"), LineInput("TEA-01", 1, "4.00")]
    )
    order(shop, "D2", [LineInput("SPOON", 3, "1.00"), LineInput("TEA-01", 2, "4.00")])
    out = tmp_path / "picks.pdf"

    data = run(
        shop, "print", "pick-list", "--warehouse", "MAIN", "-o", str(out), capsys=capsys
    )

    assert data["batch"] == "PB000001"
    assert sorted(data["orders"]) == ["D1", "D2"]
    codes = [d for d in decode_pdf(out) if d.symbology == "CODE128"]
    assert sorted({d.value for d in codes}) == [
        "D1",
        "D2",
        "MUG-BLUE",
        "PB000001",
        "SPOON",
        "TEA-01",
    ]
    text = text_of(out)
    # The pick route walks the bins in natural order, B-1.
    route = text[text.index("Pick route") : text.index("Sort into orders")]
    assert route.index("TEA-01") < route.index("MUG-BLUE") < route.index("SPOON")
    # TEA-01 is picked once for both orders: 1 + 2 units.
    assert re.search(r"D1 × 1\s+D2 × 2", route) is not None

    # Every waiting order is in the open batch now, so a second batch is empty.
    code = main(
        [
            "print",
            "pick-list",
            "--warehouse",
            "MAIN",
            "-o",
            str(tmp_path / "x.pdf"),
            "--db",
            _db(shop),
        ]
    )
    assert code == 2
    assert "no orders are waiting to be picked at MAIN" in capsys.readouterr().err


def test_label_pdf_and_zpl_carry_tracking_number(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order_id = order(shop, "L1", [LineInput("MUG-BLUE", 1, "6.00")])
    shipment_id = ship_with_tracking(shop, order_id, "RM123456785GB")
    pdf = tmp_path / "label.pdf"
    zpl = tmp_path / "label.zpl"

    data = run(shop, "print", "label", "--order", "L1", "-o", str(pdf), capsys=capsys)
    run(
        shop,
        "print",
        "label",
        "--shipment",
        str(shipment_id),
        "--format",
        "zpl",
        "-o",
        str(zpl),
        capsys=capsys,
    )

    assert data["tracking_number"] == "RM123456785GB"
    decoded = sorted((d.symbology, d.value) for d in decode_pdf(pdf))
    assert decoded == [("CODE128", "RM123456785GB"), ("QRCODE", "RM123456785GB")]
    program = zpl.read_text(encoding="utf-8")
    assert program.startswith("^XA\n")
    assert program.endswith("^XZ\n")
    assert program.count("^XA") == 1
    assert program.count("^FD") == program.count("^FS") - program.count("^GB")
    assert re.search(r"\^BCN,170,N,N,N,A\^FDRM123456785GB\^FS", program) is not None
    assert "^BQN,2,6^FDMA,RM123456785GB^FS" in program


def test_packing_slip_lists_shipped_units(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order_id = order(
        shop, "P1", [LineInput("MUG-BLUE", 2, "6.00"), LineInput("SPOON", 1, "1.00")]
    )
    ship_with_tracking(shop, order_id, "RM000000017GB")
    out = tmp_path / "slip.pdf"
    run(shop, "print", "packing-slip", "--order", "P1", "-o", str(out), capsys=capsys)
    text = text_of(out)
    assert "P1" in text
    assert "MUG-BLUE" in text
    assert "SPOON" in text


def test_commercial_invoice_only_for_abroad(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order(shop, "C1", [LineInput("TEA-01", 2, "4.00")], to=BOSTON)
    order(shop, "C2", [LineInput("TEA-01", 1, "4.00")])
    out = tmp_path / "invoice.pdf"

    run(
        shop,
        "print",
        "commercial-invoice",
        "--order",
        "C1",
        "-o",
        str(out),
        capsys=capsys,
    )
    code = main(
        [
            "print",
            "commercial-invoice",
            "--order",
            "C2",
            "-o",
            str(tmp_path / "domestic.pdf"),
            "--db",
            _db(shop),
        ]
    )

    text = text_of(out)
    assert "0902.10" in text
    assert "UNITED STATES" in text.upper()
    assert code == 2
    assert "ships within GB" in capsys.readouterr().err


def test_easypost_label_is_stored_and_printed(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order_id = order(shop, "E1", [LineInput("MUG-BLUE", 1, "6.00")])
    with FakeEasyPost() as fake, UnitOfWork(shop) as uow:
        update_fulfillment_settings(uow, fx_rates={"USD": "0.80"})
        carrier = make_carrier(
            CarrierAccount("EasyPost", kind="easypost", base_url=fake.base_url),
            "GBP",
            api_key="EZTKtest0123456789",
        )
        parcel = shipping.parcel_for_order(uow.session, order_id)
        purchase = buy_label(carrier, parcel)
        result = shipping.ship_order(uow, order_id, purchase, at=NOON)
        uow.commit()
    out = tmp_path / "carrier.pdf"
    run(shop, "print", "label", "--order", "E1", "-o", str(out), capsys=capsys)
    with UnitOfWork(shop, write=False) as uow:
        stored = uow.session.scalar(
            select(ShipmentLabel.data).where(
                ShipmentLabel.shipment_id == result.shipment_id,
                ShipmentLabel.file_format == "PDF",
            )
        )
    assert out.read_bytes() == stored
    assert {d.value for d in decode_pdf(out)} == {purchase.tracking_number}


def test_fulfil_explain_shows_scores(shop, capsys):  # type: ignore[no-untyped-def]
    document_shop(shop)
    order(shop, "X1", [LineInput("MUG-BLUE", 1, "6.00")])
    data = run(shop, "fulfil", "explain", "X1", capsys=capsys)
    assert data["order"] == "X1"
    assert data["summary"].startswith("MAIN: best score among warehouses")
    assert [c["warehouse"] for c in data["candidates"]] == ["MAIN"]
    assert data["candidates"][0]["stock_score"] == "1"
    assert data["weights"] == {
        "distance": 2.0,
        "stock": 4.0,
        "cost": 3.0,
        "workload": 1.0,
    }


def test_fulfil_rates_rules_and_settings_commands(shop, tmp_path, capsys):  # type: ignore[no-untyped-def]
    bands = tmp_path / "bands.csv"
    bands.write_text(
        "carrier,service,currency,zone,max_weight_g,price\n"
        "Royal Mail,Tracked 48,GBP,UK,1000,3.95\n"
        "Royal Mail,Tracked 48,GBP,UK,2000,5.25\n",
        encoding="utf-8",
    )
    zones = tmp_path / "zones.csv"
    zones.write_text(
        "carrier,service,zone,warehouse,scope,countries,max_distance_km\n"
        "Royal Mail,Tracked 48,UK,,domestic,GB,\n",
        encoding="utf-8",
    )
    listed = run(
        shop,
        "fulfil",
        "rates",
        "--import",
        str(bands),
        "--zones",
        str(zones),
        capsys=capsys,
    )
    assert listed["imported"] == {"bands": 2, "zones": 1}
    assert [r["price"] for r in listed["rates"]] == ["3.95", "5.25"]
    assert listed["zones"][0]["countries"] == "GB"

    rules = run(shop, "fulfil", "rule", "exclude", "MAIN", capsys=capsys)
    assert [r["text"] for r in rules] == ["MAIN is excluded from routing"]

    settings = run(
        shop,
        "fulfil",
        "settings",
        "--weights",
        "1,1,1,1",
        "--fx",
        "USD=0.79",
        "--label-format",
        "zpl",
        capsys=capsys,
    )
    assert settings["weights"] == {
        "distance": 1.0,
        "stock": 1.0,
        "cost": 1.0,
        "workload": 1.0,
    }
    assert settings["fx_rates"] == {"USD": "0.79"}
    assert settings["label_format"] == "zpl"
