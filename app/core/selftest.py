"""The self-test: one order through the whole core in a throw-away shop.

``backroom selftest`` runs it on an installed copy (the PyInstaller bundle
too), so a missing module, data file or shared library shows up as a named
failed step instead of a crash in front of a customer. The steps:

1. ``shop``: create a GBP shop in a temporary SQLite file (migrations run).
2. ``order``: receive 5 x SELFTEST-MUG at 2.50 and capture an order for 2
   at 12.00 (prices without VAT) plus 3.99 shipping.
3. ``shipment``: ship it with a tracking number.
4. ``ledger``: the trial balance balances, ``run_checks`` finds nothing,
   inventory is 7.50 (3 units left at 2.50), COGS 5.00 and sales 24.00.
5. ``label``: render the 4x6 label PDF and read its Code128 back with
   pypdfium2 and pyzbar (which needs the system library libzbar0).

Callers add their own steps (the window) with ``extra_steps``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from app.core import catalog, db, inventory, orders, shipments
from app.core.checks import run_checks
from app.core.exceptions import BackroomError
from app.core.order_input import Address, LineInput, OrderInput
from app.core.reports import balances, trial_balance
from app.core.setup import ShopSettings, create_shop
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

SKU = "SELFTEST-MUG"
TRACKING_NUMBER = "SELFTEST-0001-GB"
PLACED_AT = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
#: Balances after the shipment, debit minus credit in pence.
EXPECTED_NETS = {"1200": 750, "5000": 500, "4000": -2400}
#: Label raster resolution: the 203 dpi of common thermal label printers.
LABEL_DPI = 203


class SelftestFailed(BackroomError):
    """A self-test step found a wrong result; the message names it."""


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step: ``detail`` is what was checked, or why it failed."""

    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True, slots=True)
class SelftestReport:
    steps: list[StepResult]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed(self) -> list[StepResult]:
        return [step for step in self.steps if not step.ok]


@dataclass
class SelftestShop:
    """The throw-away shop the steps share; later steps read what earlier made."""

    folder: Path
    engine: Engine | None = None
    order_id: int | None = None
    shipment_id: int | None = None

    @property
    def path(self) -> Path:
        return self.folder / "selftest.sqlite"

    def require_engine(self) -> Engine:
        if self.engine is None:
            raise SelftestFailed("skipped: the shop step failed")
        return self.engine


#: A step takes the shared shop and returns a one-line note of what it checked.
Step = Callable[[SelftestShop], str]


def step_shop(state: SelftestShop) -> str:
    engine = db.make_engine(state.path)
    try:
        create_shop(engine, ShopSettings(name="Self-test shop"))
    except Exception:
        engine.dispose()
        raise
    state.engine = engine
    return f"created {state.path.name} at schema {db.head_revision()}"


def step_order(state: SelftestShop) -> str:
    engine = state.require_engine()
    with UnitOfWork(engine) as uow:
        catalog.create_product(
            uow,
            "Self-test mug",
            [catalog.VariantInput(SKU, price=Decimal("12.00"), weight_g=350)],
        )
        inventory.receive(uow, SKU, "MAIN", 5, 250, at=PLACED_AT)
        uow.commit()
    order = OrderInput(
        channel="Manual",
        external_id="SELFTEST-1",
        placed_at=PLACED_AT,
        lines=[LineInput(SKU, 2, "12.00")],
        shipping="3.99",
        prices_include_tax=False,
        ship_to=Address(
            name="Ann Smith",
            line1="1 High St",
            city="London",
            postcode="SW1A 1AA",
            country="GB",
        ),
    )
    with UnitOfWork(engine) as uow:
        result = orders.capture(uow, order)
        uow.commit()
    state.order_id = result.order_id
    return f"captured order {result.order_id} for 2 x {SKU}"


def step_shipment(state: SelftestShop) -> str:
    engine = state.require_engine()
    if state.order_id is None:
        raise SelftestFailed("skipped: the order step failed")
    info = shipments.ShipmentInfo(
        carrier="Royal Mail",
        service="Tracked 48",
        tracking_number=TRACKING_NUMBER,
        weight_g=700,
    )
    with UnitOfWork(engine) as uow:
        shipment_id, _changes = shipments.ship(
            uow, state.order_id, info=info, at=PLACED_AT
        )
        uow.commit()
    state.shipment_id = shipment_id
    return f"shipped order {state.order_id} as shipment {shipment_id}"


def step_ledger(state: SelftestShop) -> str:
    engine = state.require_engine()
    if state.shipment_id is None:
        raise SelftestFailed("skipped: the shipment step failed")
    with UnitOfWork(engine, write=False) as uow:
        report = trial_balance(uow.session)
        problems = run_checks(uow.session)
        nets = {
            row.code: row.debit_total - row.credit_total
            for row in balances(uow.session)
        }
    if report.total_debit != report.total_credit:
        raise SelftestFailed(
            f"trial balance does not balance: debits {report.total_debit}, "
            f"credits {report.total_credit} (pence)"
        )
    if problems:
        raise SelftestFailed(
            f"run_checks found {len(problems)} problem(s): {problems[0].message}"
        )
    for code, expected in EXPECTED_NETS.items():
        found = nets.get(code, 0)
        if found != expected:
            raise SelftestFailed(
                f"account {code} nets {found} pence, expected {expected}"
            )
    return (
        f"trial balance {report.total_debit} = {report.total_credit} pence, "
        "checks clean"
    )


def render_test_label() -> bytes:
    """Render the self-test's 4x6 label and return the PDF bytes."""
    from app.core.documents import Address as LabelAddress
    from app.core.documents import LabelData
    from app.core.documents.label import render_label_pdf

    data = LabelData(
        shipment_ref="SELFTEST-S1",
        order_ref="SELFTEST-1",
        tracking_number=TRACKING_NUMBER,
        carrier="Royal Mail",
        service="Tracked 48",
        weight_g=700,
        ship_from=LabelAddress(
            name="Self-test shop", line1="2 Mill Lane", city="Leeds", country="GB"
        ),
        ship_to=LabelAddress(
            name="Ann Smith",
            line1="1 High St",
            city="London",
            postcode="SW1A 1AA",
            country="GB",
        ),
        created_at=PLACED_AT,
    )
    stream = io.BytesIO()
    render_label_pdf(data, stream)
    return stream.getvalue()


def decode_barcodes(pdf: bytes, dpi: int = LABEL_DPI) -> list[tuple[str, str]]:
    """Return (symbology, text) of every barcode on every page of a PDF."""
    import pypdfium2

    try:
        from pyzbar import pyzbar
    except ImportError as exc:
        raise SelftestFailed(
            f"pyzbar cannot load the zbar library ({exc}); install the libzbar0 package"
        ) from exc
    found = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for page in document:
            image = page.render(scale=dpi / 72).to_pil().convert("L")
            for symbol in pyzbar.decode(image):
                found.append((str(symbol.type), symbol.data.decode("utf-8")))
    finally:
        document.close()
    return found


def step_label(state: SelftestShop) -> str:
    pdf = render_test_label()
    codes = decode_barcodes(pdf)
    code128 = [text for kind, text in codes if kind == "CODE128"]
    if code128 != [TRACKING_NUMBER]:
        raise SelftestFailed(
            f"the label's Code128 reads {code128!r}, expected [{TRACKING_NUMBER!r}]"
        )
    return f"label of {len(pdf)} bytes, Code128 reads {TRACKING_NUMBER}"


CORE_STEPS: tuple[tuple[str, Step], ...] = (
    ("shop", step_shop),
    ("order", step_order),
    ("shipment", step_shipment),
    ("ledger", step_ledger),
    ("label", step_label),
)


def run_selftest(
    folder: Path,
    *,
    extra_steps: Sequence[tuple[str, Step]] = (),
) -> SelftestReport:
    """Run every step in ``folder`` (a fresh, empty directory) and report each.

    A failing step does not stop the others; a step that needs an earlier
    one's result reports itself skipped. The caller removes ``folder``.
    """
    state = SelftestShop(folder)
    results = []
    try:
        for name, step in (*CORE_STEPS, *extra_steps):
            started = time.perf_counter()
            try:
                detail = step(state)
                ok = True
            except Exception as exc:
                log.warning("self-test step %s failed", name, exc_info=exc)
                detail = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, SelftestFailed):
                    detail = str(exc)
                ok = False
            results.append(StepResult(name, ok, detail, time.perf_counter() - started))
    finally:
        if state.engine is not None:
            state.engine.dispose()
    return SelftestReport(results)
