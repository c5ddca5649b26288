"""Packing by scan: one pack session per order and warehouse, every scan recorded.

The packer scans the order (or a pick list, then each order in turn), then
every unit. A unit is matched by any of its barcodes or its SKU. After a
unit whose SKU tracks serial numbers the next scan must be that unit's
serial. The station checks, and records as a :class:`PackScan` with its
verdict, every code scanned:

- ``wrong_item``: the code is a product that is not on the order;
- ``extra_unit``: every unit of that SKU on the order is already packed;
- ``unknown_code``: the code is no barcode or SKU in the catalog;
- ``serial_expected``: a product barcode was scanned where a serial was due;
- ``duplicate_serial``: the serial was scanned before for this SKU.

The weight check compares the scale with the variants' weights plus the
packaging allowance. The packer may confirm a mismatch by entering the same
weight again, and the confirmation is recorded too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.audit import record
from app.core.catalog import sku_key
from app.core.fulfillment.batches import (
    batch_order_ids,
    find_batch,
    get_batch,
    pickable_left,
    to_pick,
)
from app.core.fulfillment.exceptions import PackingError
from app.core.fulfillment.settings import fulfillment_settings
from app.core.models import (
    Barcode,
    OrderLine,
    SalesOrder,
    Variant,
    Warehouse,
)
from app.core.models.fulfillment import PackScan, PackSession
from app.core.models.returns import ShippedSerial
from app.core.uow import UnitOfWork

OK = "ok"
ALARMS = (
    "wrong_item",
    "extra_unit",
    "unknown_code",
    "serial_expected",
    "duplicate_serial",
    "weight_mismatch",
)


@dataclass(frozen=True, slots=True)
class PackLine:
    """One order line to pack, with what has been scanned so far."""

    line_id: int
    line_no: int
    sku: str
    description: str
    variant_id: int
    expected: int
    packed: int
    tracks_serials: bool
    serials: tuple[str, ...]
    weight_g: int

    @property
    def complete(self) -> bool:
        return self.packed == self.expected and (
            not self.tracks_serials or len(self.serials) == self.expected
        )

    @property
    def serial_due(self) -> bool:
        return self.tracks_serials and len(self.serials) < self.packed


@dataclass(frozen=True, slots=True)
class PackState:
    """The progress of a pack session.

    ``step`` is what the station waits for next: "item", "serial",
    "weight", "label" or "done" (shipped), or "closed" for an abandoned
    session.
    """

    session_id: int
    order_id: int
    order_ref: str
    warehouse_id: int
    warehouse_code: str
    batch_id: int | None
    status: str
    lines: tuple[PackLine, ...]
    expected_weight_g: int
    measured_weight_g: int | None
    weight_ok: bool | None
    weight_check: bool
    shipment_id: int | None
    ship_country: str | None

    @property
    def units_expected(self) -> int:
        return sum(line.expected for line in self.lines)

    @property
    def units_packed(self) -> int:
        return sum(line.packed for line in self.lines)

    @property
    def serial_line(self) -> PackLine | None:
        return next((line for line in self.lines if line.serial_due), None)

    @property
    def step(self) -> str:
        if self.status == "shipped":
            return "done"
        if self.status != "open":
            return "closed"
        if self.serial_line is not None:
            return "serial"
        if not all(line.complete for line in self.lines):
            return "item"
        if self.weight_check and not self.weight_ok:
            return "weight"
        return "label"


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The verdict on one scan; ``alarm`` is True for every fault."""

    result: str
    message: str
    state: PackState

    @property
    def alarm(self) -> bool:
        return self.result in ALARMS


@dataclass(frozen=True, slots=True)
class BatchView:
    batch_id: int
    ref: str
    warehouse_id: int
    order_ids: tuple[int, ...]
    to_pack: tuple[int, ...]


# --- reading ------------------------------------------------------------------


def _pack_session(session: Session, session_id: int) -> PackSession:
    found = session.get(PackSession, session_id)
    if found is None:
        raise PackingError(f"pack session {session_id} does not exist")
    return found


def _order(session: Session, order_id: int) -> SalesOrder:
    order = session.get(SalesOrder, order_id)
    if order is None:
        raise PackingError(f"order {order_id} does not exist")
    return order


def _lines_at(order: SalesOrder, warehouse_id: int) -> list[OrderLine]:
    return [
        line
        for line in order.lines
        if (line.warehouse_id or order.warehouse_id) == warehouse_id
        and to_pick(order, line) > 0
    ]


def pack_state(session: Session, session_id: int) -> PackState:
    """Return the state of a pack session from its recorded scans."""
    pack = _pack_session(session, session_id)
    order = _order(session, pack.order_id)
    warehouse = session.get(Warehouse, pack.warehouse_id)
    assert warehouse is not None
    scans = session.scalars(
        select(PackScan)
        .where(PackScan.pack_session_id == pack.id, PackScan.result == OK)
        .order_by(PackScan.id)
    ).all()
    packed: dict[int, int] = {}
    serials: dict[int, list[str]] = {}
    for scan in scans:
        if scan.order_line_id is None:
            continue
        if scan.kind == "item":
            packed[scan.order_line_id] = packed.get(scan.order_line_id, 0) + 1
        elif scan.kind == "serial":
            serials.setdefault(scan.order_line_id, []).append(scan.code)
    if pack.status == "open":
        wanted = {
            line.id: to_pick(order, line) for line in _lines_at(order, warehouse.id)
        }
    else:
        wanted = dict(packed)
    variants = {
        v.id: v
        for v in session.scalars(
            select(Variant).where(
                Variant.id.in_([ln.variant_id for ln in order.lines if ln.variant_id])
            )
        )
    }
    lines = []
    for line in order.lines:
        if line.id not in wanted or line.variant_id is None:
            continue
        variant = variants[line.variant_id]
        lines.append(
            PackLine(
                line_id=line.id,
                line_no=line.line_no,
                sku=line.sku,
                description=line.description,
                variant_id=line.variant_id,
                expected=wanted[line.id],
                packed=packed.get(line.id, 0),
                tracks_serials=variant.tracks_serials,
                serials=tuple(serials.get(line.id, ())),
                weight_g=variant.weight_g or 0,
            )
        )
    settings = fulfillment_settings(session)
    return PackState(
        session_id=pack.id,
        order_id=order.id,
        order_ref=order.external_id,
        warehouse_id=warehouse.id,
        warehouse_code=warehouse.code,
        batch_id=pack.batch_id,
        status=pack.status,
        lines=tuple(lines),
        expected_weight_g=pack.expected_weight_g or 0,
        measured_weight_g=pack.measured_weight_g,
        weight_ok=_weight_ok(session, pack),
        weight_check=settings.weight_check,
        shipment_id=pack.shipment_id,
        ship_country=order.ship_country,
    )


def _weight_ok(session: Session, pack: PackSession) -> bool | None:
    last = session.scalars(
        select(PackScan)
        .where(PackScan.pack_session_id == pack.id, PackScan.kind == "weight")
        .order_by(PackScan.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    return last.result in (OK, "weight_confirmed")


# --- starting -----------------------------------------------------------------


def _scan(
    uow: UnitOfWork,
    pack: PackSession | None,
    kind: str,
    code: str,
    result: str,
    message: str,
    *,
    order_id: int | None = None,
    variant_id: int | None = None,
    line_id: int | None = None,
) -> None:
    uow.session.add(
        PackScan(
            pack_session_id=pack.id if pack else None,
            order_id=pack.order_id if pack else order_id,
            user_id=uow.user_id,
            at=datetime.now(UTC),
            kind=kind,
            code=code[:200],
            result=result,
            variant_id=variant_id,
            order_line_id=line_id,
            message=message,
        )
    )
    uow.session.flush()


def find_order(
    session: Session, code: str, batch_id: int | None = None
) -> SalesOrder | None:
    """Return the order a scanned reference names.

    The pick list prints an order's external id. When two channels use the
    same id, an order in ``batch_id`` wins, then one that is still open.
    """
    text = code.strip()
    rows = session.scalars(
        select(SalesOrder).where(SalesOrder.external_id == text).order_by(SalesOrder.id)
    ).all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    if batch_id is not None:
        in_batch = set(batch_order_ids(session, batch_id))
        matches = [o for o in rows if o.id in in_batch]
        if len(matches) == 1:
            return matches[0]
    open_rows = [o for o in rows if o.status in ("open", "partially_shipped")]
    if len(open_rows) == 1:
        return open_rows[0]
    raise PackingError(
        f"order reference {text!r} belongs to {len(rows)} orders on different "
        "channels; scan the pick list first so the station knows which one"
    )


def open_batch(uow: UnitOfWork, code: str) -> BatchView | None:
    """Return the pick batch a scanned code names, recording the scan."""
    batch = find_batch(uow.session, code)
    if batch is None:
        return None
    left = pickable_left(uow.session, batch)
    _scan(uow, None, "batch", code, OK, f"pick list {batch.ref}")
    return BatchView(
        batch.id,
        batch.ref,
        batch.warehouse_id,
        tuple(batch_order_ids(uow.session, batch.id)),
        tuple(left),
    )


def start_packing(
    uow: UnitOfWork,
    order_id: int,
    *,
    warehouse_id: int | None = None,
    batch_id: int | None = None,
    code: str | None = None,
) -> PackState:
    """Open (or resume) the pack session of an order at a warehouse.

    Without ``warehouse_id`` the batch's warehouse is used, else the
    warehouse holding the order's first line still to pick.
    """
    session = uow.session
    order = _order(session, order_id)
    if order.status in ("held", "cancelled", "shipped"):
        reason = f" ({order.hold_reason})" if order.hold_reason else ""
        raise PackingError(
            f"order {order.external_id} is {order.status}{reason}; it cannot be packed"
        )
    if warehouse_id is None and batch_id is not None:
        warehouse_id = get_batch(session, batch_id).warehouse_id
    if warehouse_id is None:
        first = next(
            (
                line.warehouse_id or order.warehouse_id
                for line in order.lines
                if to_pick(order, line)
            ),
            None,
        )
        warehouse_id = first or order.warehouse_id
    if warehouse_id is None or not _lines_at(order, warehouse_id):
        raise PackingError(
            f"order {order.external_id} has no reserved units to pack at this "
            "warehouse; check its stock and routing on the order page"
        )
    pack = session.scalar(
        select(PackSession).where(
            PackSession.order_id == order.id,
            PackSession.warehouse_id == warehouse_id,
            PackSession.status == "open",
        )
    )
    if pack is None:
        settings = fulfillment_settings(session)
        pack = PackSession(
            order_id=order.id,
            warehouse_id=warehouse_id,
            batch_id=batch_id,
            user_id=uow.user_id,
            started_at=datetime.now(UTC),
        )
        session.add(pack)
        session.flush()
        state = pack_state(session, pack.id)
        pack.expected_weight_g = settings.packaging_weight_g + sum(
            line.weight_g * line.expected for line in state.lines
        )
        record(uow, "pack.start", "sales_order", order.id, detail={"pack": pack.id})
    _scan(uow, pack, "order", code or order.external_id, OK, "order opened")
    return pack_state(session, pack.id)


def _variant_for(session: Session, code: str) -> Variant | None:
    text = code.strip()
    found = session.get(Barcode, text)
    if found is not None:
        return session.get(Variant, found.variant_id)
    return session.scalar(select(Variant).where(Variant.sku_key == sku_key(text)))


# --- scanning -----------------------------------------------------------------


def _open_session(session: Session, session_id: int) -> PackSession:
    pack = _pack_session(session, session_id)
    if pack.status != "open":
        raise PackingError(
            f"pack session {pack.id} is {pack.status}; scan the next order"
        )
    return pack


def scan(uow: UnitOfWork, session_id: int, code: str) -> ScanResult:
    """Check one scanned code against the order and record the verdict."""
    session = uow.session
    pack = _open_session(session, session_id)
    state = pack_state(session, pack.id)
    text = code.strip()
    if not text:
        return ScanResult("empty", "nothing was scanned", state)
    serial_line = state.serial_line
    if serial_line is not None:
        return _scan_serial(uow, pack, serial_line, text)

    variant = _variant_for(session, text)
    if variant is None:
        message = f"{text} is not a barcode or SKU of any product"
        _scan(uow, pack, "item", text, "unknown_code", message)
        return ScanResult("unknown_code", message, pack_state(session, pack.id))
    lines = [line for line in state.lines if line.variant_id == variant.id]
    if not lines:
        message = f"WRONG ITEM: {variant.sku} is not on order {state.order_ref}"
        _scan(uow, pack, "item", text, "wrong_item", message, variant_id=variant.id)
        return ScanResult("wrong_item", message, pack_state(session, pack.id))
    line = next((ln for ln in lines if ln.packed < ln.expected), None)
    if line is None:
        wanted = sum(ln.expected for ln in lines)
        message = (
            f"ONE TOO MANY: order {state.order_ref} takes {wanted} x {variant.sku} "
            "and all are packed; take this unit out"
        )
        _scan(uow, pack, "item", text, "extra_unit", message, variant_id=variant.id)
        return ScanResult("extra_unit", message, pack_state(session, pack.id))
    message = f"{line.sku}: {line.packed + 1} of {line.expected} packed"
    if line.tracks_serials:
        message += "; scan its serial number"
    _scan(
        uow,
        pack,
        "item",
        text,
        OK,
        message,
        variant_id=variant.id,
        line_id=line.line_id,
    )
    return ScanResult(OK, message, pack_state(session, pack.id))


def _serial_taken(session: Session, variant_id: int, serial: str) -> bool:
    shipped = session.scalar(
        select(ShippedSerial.id).where(
            ShippedSerial.variant_id == variant_id, ShippedSerial.serial == serial
        )
    )
    if shipped is not None:
        return True
    pending = session.scalar(
        select(PackScan.id)
        .join(PackSession, PackSession.id == PackScan.pack_session_id)
        .where(
            PackScan.kind == "serial",
            PackScan.result == OK,
            PackScan.variant_id == variant_id,
            PackScan.code == serial,
            PackSession.status == "open",
        )
    )
    return pending is not None


def _scan_serial(
    uow: UnitOfWork, pack: PackSession, line: PackLine, serial: str
) -> ScanResult:
    session = uow.session
    product = _variant_for(session, serial)
    if product is not None:
        result = "serial_expected"
        message = (
            f"SERIAL NUMBER EXPECTED: {serial} is the barcode of {product.sku}; "
            f"scan the serial number of the {line.sku} just packed"
        )
    elif _serial_taken(session, line.variant_id, serial):
        result = "duplicate_serial"
        message = (
            f"DUPLICATE SERIAL: {serial} of {line.sku} was scanned before; "
            "check the unit and scan its own serial number"
        )
    else:
        result = OK
        message = f"{line.sku}: serial {serial} recorded"
    _scan(
        uow,
        pack,
        "serial",
        serial,
        result,
        message,
        variant_id=line.variant_id,
        line_id=line.line_id if result == OK else None,
    )
    return ScanResult(result, message, pack_state(session, pack.id))


def record_weight(uow: UnitOfWork, session_id: int, grams: int) -> ScanResult:
    """Compare the scale's weight with the expected weight and record it.

    Entering the same mismatching weight twice in a row confirms it: the
    packer has checked the parcel and ships it anyway.
    """
    session = uow.session
    pack = _open_session(session, session_id)
    if isinstance(grams, bool) or not isinstance(grams, int) or grams <= 0:
        raise PackingError(f"weight {grams!r} is not a positive number of grams")
    tolerance = fulfillment_settings(session).weight_tolerance_g
    expected = pack.expected_weight_g or 0
    difference = grams - expected
    previous = session.scalars(
        select(PackScan)
        .where(PackScan.pack_session_id == pack.id, PackScan.kind == "weight")
        .order_by(PackScan.id.desc())
        .limit(1)
    ).first()
    pack.measured_weight_g = grams
    if abs(difference) <= tolerance:
        result, message = (
            OK,
            f"weight {grams} g is within {tolerance} g of {expected} g",
        )
    elif (
        previous is not None
        and previous.result == "weight_mismatch"
        and previous.code == str(grams)
    ):
        result = "weight_confirmed"
        message = f"weight {grams} g confirmed by the packer ({difference:+d} g)"
    else:
        result = "weight_mismatch"
        message = (
            f"WEIGHT MISMATCH: the parcel weighs {grams} g but should weigh "
            f"{expected} g ({difference:+d} g, tolerance {tolerance} g); "
            "check the contents, or enter the same weight again to confirm it"
        )
    _scan(uow, pack, "weight", str(grams), result, message)
    return ScanResult(result, message, pack_state(session, pack.id))


def abandon(uow: UnitOfWork, session_id: int, reason: str = "abandoned") -> PackState:
    """Close a pack session without shipping; its scans stay on record."""
    session = uow.session
    pack = _open_session(session, session_id)
    pack.status = "abandoned"
    pack.finished_at = datetime.now(UTC)
    _scan(uow, pack, "order", "", "abandoned", reason)
    record(
        uow,
        "pack.abandon",
        "sales_order",
        pack.order_id,
        reason=reason,
        detail={"pack": pack.id},
    )
    return pack_state(session, pack.id)


def scans(session: Session, session_id: int) -> Sequence[PackScan]:
    return session.scalars(
        select(PackScan)
        .where(PackScan.pack_session_id == session_id)
        .order_by(PackScan.id)
    ).all()


def check_ready(state: PackState) -> None:
    """Raise PackingError unless the session may be shipped now."""
    if state.status != "open":
        raise PackingError(f"pack session {state.session_id} is {state.status}")
    step = state.step
    if step == "item":
        missing = [
            f"{line.expected - line.packed} x {line.sku}"
            for line in state.lines
            if line.packed < line.expected
        ]
        raise PackingError(
            f"order {state.order_ref} is not fully packed; still to scan: "
            + ", ".join(missing)
        )
    if step == "serial":
        line = state.serial_line
        assert line is not None
        raise PackingError(f"scan the serial number of the {line.sku} just packed")
    if step == "weight":
        raise PackingError(
            f"weigh the parcel of order {state.order_ref} first (expected "
            f"{state.expected_weight_g} g)"
        )
