"""Shipping documents: rendered, rasterised and read back.

Labels and pick lists are rendered to PDF, rasterised with pypdfium2 and
their barcodes decoded with pyzbar back to the exact values encoded. Text
positions come from the PDF's own text layer, so a test can tell whether a
long address stayed on the label. ZPL is checked as text against the ZPL II
rules it must follow.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from reportlab.graphics.barcode.code128 import Code128

from app.core.documents import (
    Address,
    CommercialInvoiceData,
    DocLine,
    DocumentError,
    LabelData,
    PackingSlipData,
    PickListData,
    address_lines,
    format_money,
    format_weight,
)
from app.core.documents.commercial_invoice import (
    invoice_totals,
    render_commercial_invoice_pdf,
)
from app.core.documents.fonts import register_fonts
from app.core.documents.label import (
    BARCODE_HEIGHT,
    BARCODE_Y,
    MARGIN,
    MIN_BAR_WIDTH,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    TO_RULE_Y,
    barcode_for,
    render_label_pdf,
    render_labels_pdf,
)
from app.core.documents.packing_slip import render_packing_slip_pdf
from app.core.documents.pick_list import pick_route, render_pick_list_pdf
from app.core.documents.zpl import (
    PrinterError,
    build_lp_command,
    code128_modules,
    escape_field,
    render_label_zpl,
    send_raw_to_printer,
)
from tests.barcodes import (
    char_boxes,
    decode_pdf,
    page_count,
    page_size,
    require_zbar,
    text_of,
)

SHOP = Address(
    name="Paper & Thread",
    company="Paper & Thread Ltd",
    line1="Unit 4, Canal Wharf",
    line2="Sheepcote Street",
    city="Birmingham",
    postcode="B16 8AE",
    country="GB",
    phone="+44 121 496 0000",
)
BERLIN = Address(
    name="Dr. Maximiliane Theodora von Hohenzollern-Sigmaringen",
    company="Königliche Porzellan-Manufaktur Berlin GmbH & Co. KG — Abteilung Einkauf",
    line1="Wegelystraße 1, Hinterhaus, 3. Obergeschoss links, bei Familie Müller",
    line2="c/o Empfangsbüro im Erdgeschoss",
    city="Berlin-Charlottenburg-Wilmersdorf",
    postcode="10623",
    country="DE",
    phone="+49 30 390090",
)
LONDON = Address(
    name="Sam Taylor",
    line1="221B Baker Street",
    city="London",
    postcode="NW1 6XE",
    country="GB",
)
LINES = (
    DocLine(
        sku="NB-A5-DOT-SAGE",
        description="A5 dotted notebook, sage linen cover, 192 pages, lay-flat binding",
        quantity=2,
        unit_price_minor=1850,
        currency="GBP",
        hs_code="4820.10",
        origin_country="GB",
        weight_g=310,
        bin_code="A-02-3",
    ),
    DocLine(
        sku="PEN-FP-F-BLK",
        description="Fountain pen, fine nib, black",
        quantity=1,
        unit_price_minor=4200,
        currency="GBP",
        hs_code="9608.30",
        origin_country="DE",
        weight_g=45,
        bin_code="C-10-1",
    ),
    DocLine(
        sku="INK-30-BLUE",
        description="Bottled ink 30 ml, blue-black",
        quantity=3,
        unit_price_minor=995,
        currency="GBP",
        hs_code="3215.90",
        origin_country="JP",
        weight_g=120,
        bin_code="C-2-4",
    ),
    DocLine(
        sku="WRAP-KRAFT",
        description="Gift wrap (kraft paper, twine & wax seal)",
        quantity=1,
        unit_price_minor=350,
        currency="GBP",
        hs_code="4823.90",
        origin_country="GB",
        weight_g=60,
    ),
)


def label(tracking: str = "1Z999AA10123456784", ship_to: Address = BERLIN) -> LabelData:
    return LabelData(
        shipment_ref="SHP-2026-000417",
        order_ref="#1042",
        tracking_number=tracking,
        carrier="DHL Parcel",
        service="Europaket International",
        weight_g=2380,
        ship_from=SHOP,
        ship_to=ship_to,
        created_at=datetime(2026, 12, 4, 14, 5),
    )


def pdf_bytes(render: object, *args: object, **kwargs: object) -> bytes:
    stream = io.BytesIO()
    render(*args, stream, **kwargs)  # type: ignore[operator]
    return stream.getvalue()


def words(text: str) -> list[str]:
    return text.split()


# Labels: barcodes ----------------------------------------------------------


@pytest.mark.parametrize("dpi", [203, 300])
def test_label_barcodes_decode_to_tracking_number(dpi: int) -> None:
    require_zbar()
    pdf = pdf_bytes(render_label_pdf, label())

    found = Counter((d.symbology, d.value) for d in decode_pdf(pdf, dpi))

    assert found == Counter(
        {("CODE128", "1Z999AA10123456784"): 1, ("QRCODE", "1Z999AA10123456784"): 1}
    )


def test_label_page_is_four_by_six_inches() -> None:
    pdf = pdf_bytes(render_label_pdf, label())

    assert page_size(pdf) == (288.0, 432.0)


def test_label_prints_tracking_number_under_barcode() -> None:
    pdf = pdf_bytes(render_label_pdf, label())
    boxes = [b for b in char_boxes(pdf) if b.top < BARCODE_Y and b.bottom > 40]

    assert "".join(b.char for b in boxes) == "1Z999AA10123456784"


def test_label_barcode_bars_are_at_least_minimum_width() -> None:
    # USPS tracking number behind its routing prefix: 420, ZIP, 22 digits.
    barcode = barcode_for("420627049400100000000000000042")

    assert barcode.barWidth >= MIN_BAR_WIDTH
    assert barcode.width <= PAGE_WIDTH


def test_label_30_digit_tracking_number_decodes() -> None:
    require_zbar()
    tracking = "420627049400100000000000000042"
    pdf = pdf_bytes(render_label_pdf, label(tracking))

    values = {(d.symbology, d.value) for d in decode_pdf(pdf, 203)}

    assert ("CODE128", tracking) in values
    assert ("QRCODE", tracking) in values


def test_label_tracking_too_long_for_label_raises() -> None:
    tracking = "A1B2C3D4E5F6G7H8J9K0" * 2

    with pytest.raises(DocumentError, match="4x6 label"):
        render_label_pdf(label(tracking), io.BytesIO())


@pytest.mark.parametrize(
    "tracking", ["", "1Z 999 AA1", "AB^FS123", "AB~123", "AB>5123", "TRÄCK123"]
)
def test_label_rejects_tracking_number_a_barcode_cannot_carry(tracking: str) -> None:
    with pytest.raises(DocumentError, match="tracking number"):
        render_label_pdf(label(tracking), io.BytesIO())


# Labels: text stays on the page ----------------------------------------------


def assert_inside_label(pdf: bytes) -> None:
    for box in char_boxes(pdf):
        assert box.left >= MARGIN - 0.5, box
        assert box.right <= PAGE_WIDTH - MARGIN + 0.5, box
        assert box.bottom >= 0, box
        assert box.top <= PAGE_HEIGHT, box
        overlaps_barcode = (
            box.bottom < BARCODE_Y + BARCODE_HEIGHT and box.top > BARCODE_Y
        )
        assert not overlaps_barcode, box


def test_label_long_address_shrinks_and_keeps_every_word() -> None:
    pdf = pdf_bytes(render_label_pdf, label())
    text = " ".join(words(text_of(pdf)))

    assert_inside_label(pdf)
    for line in address_lines(BERLIN, include_country=True):
        assert " ".join(words(line)) in text.replace("- ", "-"), line


def test_label_recipient_stays_above_barcode_rule() -> None:
    pdf = pdf_bytes(render_label_pdf, label())
    recipient = [
        b
        for b in char_boxes(pdf)
        if b.top < 290 and b.bottom > BARCODE_Y + BARCODE_HEIGHT
    ]

    assert recipient
    assert min(b.bottom for b in recipient) > TO_RULE_Y


def test_label_absurd_address_is_cut_with_ellipsis() -> None:
    require_zbar()
    huge = Address(
        name="Name " * 60,
        company="Company " * 60,
        line1="Street " * 80,
        line2="Building " * 80,
        city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 3,
        postcode="LL61 5UJ",
        country="GB",
    )
    pdf = pdf_bytes(render_label_pdf, label(ship_to=huge))

    assert_inside_label(pdf)
    assert "…" in text_of(pdf)
    assert ("CODE128", "1Z999AA10123456784") in {
        (d.symbology, d.value) for d in decode_pdf(pdf)
    }


def test_label_cut_is_logged_by_shipment_not_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = Address(name="Secret " * 200, line1="1 Road", city="Leeds", country="GB")

    with caplog.at_level(logging.WARNING, logger="app.core.documents.label"):
        render_label_pdf(label(ship_to=huge), io.BytesIO())

    assert "shipment SHP-2026-000417: recipient address cut" in caplog.text
    assert "Secret" not in caplog.text


def test_label_empty_recipient_raises() -> None:
    empty = Address(name="", line1="", city="", country="")

    with pytest.raises(DocumentError, match="empty recipient address"):
        render_label_pdf(label(ship_to=empty), io.BytesIO())


def test_label_unbroken_long_word_is_split_inside_margins() -> None:
    address = Address(
        name="X" * 300, line1="1 Road", city="Leeds", postcode="LS1 1AA", country="GB"
    )

    assert_inside_label(pdf_bytes(render_label_pdf, label(ship_to=address)))


def test_label_domestic_parcel_omits_country_line() -> None:
    text = text_of(pdf_bytes(render_label_pdf, label(ship_to=LONDON)))

    assert "UNITED KINGDOM" not in text


def test_label_batch_has_one_page_per_label(tmp_path: Path) -> None:
    require_zbar()
    numbers = ["1Z999AA10123456784", "JJD0099999999123456", "AB123456789GB"]
    path = tmp_path / "labels.pdf"

    render_labels_pdf([label(n) for n in numbers], path)
    decoded = decode_pdf(path)

    assert page_count(path) == 3
    for page, number in enumerate(numbers, start=1):
        assert {(d.symbology, d.value) for d in decoded if d.page == page} == {
            ("CODE128", number),
            ("QRCODE", number),
        }


def test_label_batch_with_bad_tracking_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "labels.pdf"

    with pytest.raises(DocumentError, match="AB 12"):
        render_labels_pdf([label("1Z999AA10123456784"), label("AB 12")], path)
    assert not path.exists()


def test_fonts_fall_back_to_vera_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.core.documents.fonts"):
        fonts = register_fonts((tmp_path,))

    assert fonts.regular == "Vera"
    assert "DejaVuSans.ttf not found" in caplog.text


def test_fonts_use_dejavu_when_installed() -> None:
    if not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").is_file():
        pytest.skip("DejaVu Sans is not installed (apt install fonts-dejavu-core)")

    assert register_fonts().regular == "DejaVuSans"


# ZPL ----------------------------------------------------------------------


def field_data(zpl: str) -> list[str]:
    """Return the data of every ^FD...^FS field, one per line of the program."""
    return [
        line.split("^FD", 1)[1].removesuffix("^FS")
        for line in zpl.splitlines()
        if "^FD" in line
    ]


def test_zpl_is_well_formed() -> None:
    zpl = render_label_zpl(label())
    lines = zpl.strip().splitlines()

    assert lines[0] == "^XA"
    assert lines[-1] == "^XZ"
    assert "^CI28" in lines
    assert zpl.count("^XA") == 1
    assert zpl.count("^XZ") == 1
    for line in lines:
        if line.startswith("^FO"):
            assert line.endswith("^FS"), line


SAMPLE_ZPL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "zpl"


def field_origins(zpl: str) -> list[tuple[int, int]]:
    return [(int(x), int(y)) for x, y in re.findall(r"\^F[OT](\d+),(\d+)", zpl)]


def test_zpl_fields_stay_inside_4x6_like_real_labels() -> None:
    samples = sorted(SAMPLE_ZPL.glob("*.zpl")) if SAMPLE_ZPL.is_dir() else []
    if not samples:
        pytest.skip(f"real ZPL samples not found in {SAMPLE_ZPL}")
    sample_origins = [
        origin
        for path in samples
        for origin in field_origins(path.read_text("utf-8-sig"))
    ]
    ours = field_origins(render_label_zpl(label()))

    # The carriers' 4x6 samples place every field inside 812 x 1218 dots.
    assert max(x for x, _ in sample_origins) < 812
    assert max(y for _, y in sample_origins) < 1218
    assert max(x for x, _ in ours) < 812
    assert max(y for _, y in ours) < 1218
    assert "^PW812" in render_label_zpl(label())


def test_zpl_barcode_field_carries_tracking_number() -> None:
    zpl = render_label_zpl(label())

    assert re.search(r"\^BCN,\d+,N,N,N,A\^FD1Z999AA10123456784\^FS", zpl)
    assert "^FDMA,1Z999AA10123456784^FS" in zpl


def test_zpl_escapes_caret_tilde_and_underscore() -> None:
    hostile = Address(
        name="Caret^XZ Tilde~JA Under_score",
        line1="Back\\slash 1",
        city="Leeds",
        postcode="LS1 1AA",
        country="GB",
    )
    zpl = render_label_zpl(label(ship_to=hostile))

    assert "Caret_5EXZ" in zpl
    assert "Tilde_7EJA" in zpl
    assert "Under_5Fscore" in zpl
    assert "Back\\\\slash 1" in zpl
    for data in field_data(zpl):
        assert "^" not in data, data
        assert "~" not in data, data


def test_zpl_escape_field_worked_example() -> None:
    assert escape_field("a^b~c_d\\e\tf") == "a_5Eb_7Ec_5Fd\\\\e f"


def test_zpl_long_address_fits_its_field_block() -> None:
    huge = Address(
        name="Name " * 60,
        line1="Street " * 80,
        city="Leeds",
        postcode="LS1 1AA",
        country="GB",
    )
    zpl = render_label_zpl(label(ship_to=huge))
    block = next(line for line in zpl.splitlines() if line.startswith("^FO30,400"))
    match = re.match(r"\^FO30,400\^A0N,(\d+),\d+\^FB(\d+),(\d+),(\d+)", block)
    assert match is not None, block
    size, width, count, gap = map(int, match.groups())
    data = block.split("^FD", 1)[1]

    assert data.count("\\&") + 1 == count
    assert count * (size + gap) <= 396
    assert width == 752
    assert data.removesuffix("^FS").endswith("...")


def test_zpl_keeps_utf8_text() -> None:
    zpl = render_label_zpl(label())

    assert "Wegelystraße" in zpl
    assert "^CI28" in zpl


@pytest.mark.parametrize(
    "value",
    [
        "1Z999AA10123456784",
        "9400100000000000000042",
        "AB123456789GB",
        "JJD0099999999123456",
        "X",
    ],
)
def test_code128_module_estimate_matches_reportlab(value: str) -> None:
    barcode = Code128(value, barWidth=1, quiet=False)

    assert code128_modules(value) == round(barcode.width)


def test_lp_command_for_queue() -> None:
    assert build_lp_command("Zebra_GK420d") == ["lp", "-d", "Zebra_GK420d", "-o", "raw"]


@pytest.mark.parametrize("queue", ["", "two words", "a/b", "x#1"])
def test_lp_command_rejects_invalid_queue_name(queue: str) -> None:
    with pytest.raises(PrinterError, match="invalid"):
        build_lp_command(queue)


def test_send_raw_without_lp_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(PrinterError, match="`lp` was not found"):
        send_raw_to_printer("^XA^XZ", "Zebra")


def fake_lp(folder: Path, script: str) -> None:
    path = folder / "lp"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_send_raw_to_unknown_queue_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lp(tmp_path, 'echo "lp: The printer or class does not exist." >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    with pytest.raises(PrinterError, match="'Nowhere' is unknown to CUPS"):
        send_raw_to_printer("^XA^XZ", "Nowhere")


def test_send_raw_passes_zpl_unchanged_to_lp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lp(
        tmp_path,
        f'echo "$@" > "{tmp_path}/args"\ncat > "{tmp_path}/data"\n'
        'echo "request id is Zebra-12 (1 file(s))"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    zpl = render_label_zpl(label())

    output = send_raw_to_printer(zpl, "Zebra")

    assert output == "request id is Zebra-12 (1 file(s))"
    assert (tmp_path / "args").read_text().split() == ["-d", "Zebra", "-o", "raw"]
    assert (tmp_path / "data").read_bytes() == zpl.encode("utf-8")


# Formatting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (11235, "GBP", "en", "£112.35"),
        (1250, "EUR", "de_DE", "12,50\xa0€"),
        (1500, "JPY", "en", "¥1,500"),
        (-995, "USD", "en_US", "-$9.95"),
    ],
)
def test_format_money_worked_examples(
    amount: int, currency: str, locale: str, expected: str
) -> None:
    assert format_money(amount, currency, locale) == expected


def test_format_money_without_currency_raises() -> None:
    with pytest.raises(DocumentError, match="no currency"):
        format_money(100, "")


@pytest.mark.parametrize(
    ("grams", "expected"),
    [(850, "850 g"), (1000, "1.00 kg"), (1085, "1.09 kg"), (2380, "2.38 kg")],
)
def test_format_weight_worked_examples(grams: int, expected: str) -> None:
    assert format_weight(grams) == expected


def test_address_lines_follow_postal_order_per_country() -> None:
    us = Address(
        name="A",
        line1="1 Main St",
        city="Springfield",
        region="IL",
        postcode="62704",
        country="US",
    )

    assert address_lines(us, include_country=False)[-1] == "Springfield, IL 62704"
    assert address_lines(LONDON, include_country=False)[-2:] == ["London", "NW1 6XE"]
    assert address_lines(BERLIN, include_country=True)[-2:] == [
        "10623 Berlin-Charlottenburg-Wilmersdorf",
        "GERMANY",
    ]


# Packing slip -------------------------------------------------------------


def slip(**changes: object) -> PackingSlipData:
    fields: dict[str, object] = {
        "shop_name": "Paper & Thread",
        "order_ref": "#1042",
        "order_date": date(2026, 12, 3),
        "ship_to": BERLIN,
        "lines": LINES,
        "note": "Happy birthday, Max!",
        "shop_address": SHOP,
        "show_prices": True,
    }
    fields.update(changes)
    return PackingSlipData(**fields)  # type: ignore[arg-type]


def test_packing_slip_amounts_carry_currency() -> None:
    text = text_of(pdf_bytes(render_packing_slip_pdf, slip(), locale="en_GB"))

    for amount in ["£18.50", "£37.00", "£42.00", "£9.95", "£29.85", "£3.50", "£112.35"]:
        assert amount in text, amount
    for match in re.finditer(r"\d+\.\d\d\b", text):
        assert text[match.start() - 1] == "£", text[match.start() - 5 : match.end()]


def test_packing_slip_counts_items() -> None:
    text = " ".join(
        words(text_of(pdf_bytes(render_packing_slip_pdf, slip(show_prices=False))))
    )

    assert "Items 7" in text


def test_packing_slip_without_prices_shows_no_amounts() -> None:
    text = text_of(pdf_bytes(render_packing_slip_pdf, slip(show_prices=False)))

    assert "£" not in text
    assert "Happy birthday, Max!" in text


@pytest.mark.parametrize(
    ("name", "size"), [("A4", (595.28, 841.89)), ("Letter", (612.0, 792.0))]
)
def test_packing_slip_page_size(name: str, size: tuple[float, float]) -> None:
    width, height = page_size(
        pdf_bytes(render_packing_slip_pdf, slip(), page_size_name=name)
    )

    assert (round(width, 2), round(height, 2)) == size


def test_packing_slip_unknown_page_size_raises() -> None:
    with pytest.raises(DocumentError, match="'A5' is not supported"):
        render_packing_slip_pdf(slip(), io.BytesIO(), "A5")


def test_packing_slip_order_barcode_decodes() -> None:
    require_zbar()
    pdf = pdf_bytes(render_packing_slip_pdf, slip())

    assert [(d.symbology, d.value) for d in decode_pdf(pdf, 203)] == [
        ("CODE128", "#1042")
    ]


def test_packing_slip_mixed_currencies_raise() -> None:
    lines = (
        *LINES,
        DocLine(
            sku="USD-ITEM",
            description="x",
            quantity=1,
            unit_price_minor=100,
            currency="USD",
        ),
    )

    with pytest.raises(DocumentError, match="USD-ITEM in USD"):
        render_packing_slip_pdf(slip(lines=lines), io.BytesIO())


def test_packing_slip_prints_markup_literally() -> None:
    lines = (DocLine(sku="TEA-1", description="<b>Tea & Biscuits</b>", quantity=1),)
    text = text_of(
        pdf_bytes(render_packing_slip_pdf, slip(lines=lines, show_prices=False))
    )

    assert "<b>Tea & Biscuits</b>" in text


# Pick list ----------------------------------------------------------------


def batch(
    orders: Sequence[tuple[str, Sequence[DocLine]]] | None = None,
) -> PickListData:
    return PickListData(
        batch_ref="PB-20261204-01",
        created_at=datetime(2026, 12, 4, 9, 0),
        warehouse="Birmingham (main)",
        orders=orders
        or [
            ("#1042", LINES),
            (
                "#1043",
                (
                    DocLine(
                        sku="PEN-FP-F-BLK",
                        description="Fountain pen",
                        quantity=2,
                        bin_code="C-10-1",
                    ),
                    DocLine(
                        sku="NB-A5-DOT-SAGE",
                        description="A5 notebook",
                        quantity=1,
                        bin_code="A-02-3",
                    ),
                    DocLine(
                        sku="CARD-XMAS-6",
                        description="Cards",
                        quantity=4,
                        bin_code="A-10-1",
                    ),
                    DocLine(
                        sku="CARD-BDAY-6",
                        description="Cards",
                        quantity=1,
                        bin_code="A-10-1",
                    ),
                ),
            ),
        ],
    )


def test_pick_list_barcodes_decode_to_orders_and_skus() -> None:
    require_zbar()
    pdf = pdf_bytes(render_pick_list_pdf, batch())

    found = Counter((d.symbology, d.value) for d in decode_pdf(pdf, 203))

    expected = [
        "PB-20261204-01",
        "#1042",
        "#1043",
        "NB-A5-DOT-SAGE",
        "PEN-FP-F-BLK",
        "INK-30-BLUE",
        "WRAP-KRAFT",
        "CARD-XMAS-6",
        "CARD-BDAY-6",
    ]
    assert found == Counter({("CODE128", value): 1 for value in expected})


def test_pick_route_sorted_by_bin_then_sku() -> None:
    route = [(row.bin_code, row.sku) for row in pick_route(batch())]

    assert route == [
        ("A-02-3", "NB-A5-DOT-SAGE"),
        ("A-10-1", "CARD-BDAY-6"),
        ("A-10-1", "CARD-XMAS-6"),
        ("C-2-4", "INK-30-BLUE"),
        ("C-10-1", "PEN-FP-F-BLK"),
        ("", "WRAP-KRAFT"),
    ]


def test_pick_route_merges_quantities_per_sku() -> None:
    notebook = next(row for row in pick_route(batch()) if row.sku == "NB-A5-DOT-SAGE")

    assert notebook.quantity == 3
    assert notebook.per_order == {"#1042": 2, "#1043": 1}


def test_pick_list_order_lines_by_bin() -> None:
    text = text_of(pdf_bytes(render_pick_list_pdf, batch()))
    order_part = text.split("Sort into orders", 1)[1]
    second = order_part.split("Order #1043", 1)[1]

    positions = [
        second.index(sku)
        for sku in ("NB-A5-DOT-SAGE", "CARD-BDAY-6", "CARD-XMAS-6", "PEN-FP-F-BLK")
    ]
    assert positions == sorted(positions)


def test_pick_list_numbers_pages() -> None:
    orders = [
        (
            f"#{2000 + n}",
            (
                DocLine(
                    sku=f"SKU-{n:03d}",
                    description="Tea towel, linen",
                    quantity=1,
                    bin_code=f"D-{n}",
                ),
            ),
        )
        for n in range(40)
    ]
    pdf = pdf_bytes(render_pick_list_pdf, batch(orders))
    pages = page_count(pdf)
    text = text_of(pdf)

    assert pages > 2
    assert "Page 1 of " + str(pages) in text
    assert f"Page {pages} of {pages}" in text


def test_pick_list_wraps_long_descriptions_inside_margins() -> None:
    long_line = DocLine(
        sku="QUILT-KING",
        description="Hand-stitched king size quilt in washed linen, " * 8,
        quantity=1,
        bin_code="Z-9",
    )
    pdf = pdf_bytes(render_pick_list_pdf, batch([("#3000", (long_line,))]))
    width, _ = page_size(pdf)

    for box in char_boxes(pdf):
        assert box.left >= 40, box
        assert box.right <= width - 40, box


def test_pick_list_non_ascii_sku_printed_without_barcode() -> None:
    require_zbar()
    line = DocLine(
        sku="CAFÉ-1", description="Café au lait bowl", quantity=1, bin_code="A-1"
    )
    pdf = pdf_bytes(render_pick_list_pdf, batch([("#3001", (line,))]))

    assert "CAFÉ-1" in text_of(pdf)
    assert {d.value for d in decode_pdf(pdf)} == {"PB-20261204-01", "#3001"}


def test_pick_list_same_order_twice_raises() -> None:
    with pytest.raises(DocumentError, match="#1042"):
        render_pick_list_pdf(batch([("#1042", LINES), ("#1042", LINES)]), io.BytesIO())


def test_pick_list_zero_quantity_raises() -> None:
    line = DocLine(sku="X-1", description="x", quantity=0)

    with pytest.raises(DocumentError, match="X-1 has quantity 0"):
        render_pick_list_pdf(batch([("#1", (line,))]), io.BytesIO())


# Commercial invoice -------------------------------------------------------


def invoice(**changes: object) -> CommercialInvoiceData:
    fields: dict[str, object] = {
        "invoice_number": "INV-2026-00871",
        "invoice_date": date(2026, 12, 4),
        "order_ref": "#1042",
        "exporter": SHOP,
        "consignee": BERLIN,
        "lines": LINES,
        "currency": "GBP",
        "shipping_minor": 1295,
        "exporter_tax_id": "GB123456789000",
        "importer_tax_id": "DE811222333",
        "signer_name": "Anna Lee",
    }
    fields.update(changes)
    return CommercialInvoiceData(**fields)  # type: ignore[arg-type]


def test_commercial_invoice_totals_worked_example() -> None:
    # Goods: 2 x 18.50 + 42.00 + 3 x 9.95 + 3.50 = 112.35; freight 12.95.
    totals = invoice_totals(invoice())

    assert totals == {
        "goods": 11235,
        "shipping": 1295,
        "insurance": 0,
        "total": 12530,
        "net_weight_g": 620 + 45 + 360 + 60,
    }


def test_commercial_invoice_prints_totals_with_currency() -> None:
    text = text_of(pdf_bytes(render_commercial_invoice_pdf, invoice(), locale="en_GB"))

    for expected in [
        "£112.35",
        "£12.95",
        "£0.00",
        "£125.30",
        "1.09 kg",
        "Total invoice value (GBP)",
    ]:
        assert expected in text, expected
    amounts = text
    for line in LINES:
        amounts = amounts.replace(line.hs_code, "")
    for match in re.finditer(r"\d+\.\d\d\b", amounts):
        preceding = amounts[max(0, match.start() - 1) : match.start()]
        following = amounts[match.end() : match.end() + 3]
        assert preceding == "£" or following == " kg", match.group()


def test_commercial_invoice_lists_customs_fields() -> None:
    text = text_of(pdf_bytes(render_commercial_invoice_pdf, invoice()))

    for expected in [
        "4820.10",
        "9608.30",
        "3215.90",
        "4823.90",
        "JP",
        "DAP",
        "Sale of goods",
        "GB123456789000",
        "DE811222333",
    ]:
        assert expected in text, expected


def test_commercial_invoice_names_every_incomplete_line() -> None:
    lines = (
        *LINES,
        DocLine(
            sku="NO-HS",
            description="x",
            quantity=1,
            unit_price_minor=100,
            currency="GBP",
            origin_country="GB",
            weight_g=10,
        ),
        DocLine(
            sku="NO-ORIGIN",
            description="y",
            quantity=1,
            unit_price_minor=100,
            currency="GBP",
            hs_code="4820.10",
            weight_g=10,
        ),
    )

    with pytest.raises(DocumentError) as raised:
        render_commercial_invoice_pdf(invoice(lines=lines), io.BytesIO())

    assert "NO-HS: HS code is missing" in str(raised.value)
    assert "NO-ORIGIN: country of origin is missing" in str(raised.value)


def test_commercial_invoice_on_letter_paper() -> None:
    width, height = page_size(
        pdf_bytes(render_commercial_invoice_pdf, invoice(), page_size_name="Letter")
    )

    assert (width, height) == (612.0, 792.0)
