"""Verifying the rules that always hold, on any database.

Each check returns :class:`Violation` records naming the rule and the
records at fault; an empty list means the rule holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.channels.buffers import visible_quantity
from app.core.ledger import month_totals
from app.core.models import (
    Account,
    Channel,
    CostLayer,
    Invoice,
    JournalEntry,
    JournalLine,
    OutboxItem,
    Period,
    Reservation,
    StockLevel,
    StockMove,
)
from app.core.outbox import sellable_available
from app.core.returns.limits import check_refund_limits

RULES = {
    1: "every journal entry balances, per currency",
    2: "the inventory account equals the value of the remaining cost layers",
    3: "on hand per SKU and warehouse equals the sum of its stock moves",
    4: "reservations never exceed on hand, and available is never negative",
    5: "refunds and credits never exceed what was paid or invoiced",
    6: "nothing posted in a closed period changed",
    7: "every stock change reached every connected channel's queue",
}


@dataclass(frozen=True, slots=True)
class Violation:
    rule: int
    message: str
    records: dict[str, Any] = field(default_factory=dict)


def check_balanced(session: Session) -> list[Violation]:
    rows = session.execute(
        select(
            JournalLine.entry_id,
            JournalLine.currency,
            func.sum(JournalLine.debit),
            func.sum(JournalLine.credit),
        )
        .group_by(JournalLine.entry_id, JournalLine.currency)
        .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))
    )
    return [
        Violation(
            1,
            f"journal entry {entry} does not balance in {cur}: debits {d}, credits {c}",
            {"journal_entry": entry},
        )
        for entry, cur, d, c in rows
    ]


def check_inventory_value(session: Session) -> list[Violation]:
    account = session.scalar(select(Account.id).where(Account.code == "1200"))
    ledger_value = session.scalar(
        select(
            func.coalesce(func.sum(JournalLine.debit - JournalLine.credit), 0)
        ).where(JournalLine.account_id == account)
    )
    layers = session.scalar(
        select(func.coalesce(func.sum(CostLayer.value_remaining), 0))
    )
    if int(ledger_value or 0) != int(layers or 0):
        return [
            Violation(
                2,
                f"account 1200 Inventory is {ledger_value} but the cost layers hold "
                f"{layers} (minor units)",
                {"ledger": int(ledger_value or 0), "layers": int(layers or 0)},
            )
        ]
    return []


def check_on_hand(session: Session) -> list[Violation]:
    moves = dict(
        ((v, w), int(q))
        for v, w, q in session.execute(
            select(
                StockMove.variant_id,
                StockMove.warehouse_id,
                func.sum(StockMove.quantity),
            ).group_by(StockMove.variant_id, StockMove.warehouse_id)
        )
    )
    layers = dict(
        ((v, w), int(q))
        for v, w, q in session.execute(
            select(
                CostLayer.variant_id,
                CostLayer.warehouse_id,
                func.sum(CostLayer.quantity_remaining),
            ).group_by(CostLayer.variant_id, CostLayer.warehouse_id)
        )
    )
    found = []
    levels = {
        (lv.variant_id, lv.warehouse_id): lv.on_hand
        for lv in session.scalars(select(StockLevel))
    }
    for key in set(moves) | set(levels):
        on_hand = levels.get(key, 0)
        if on_hand != moves.get(key, 0):
            found.append(
                Violation(
                    3,
                    f"variant {key[0]} at warehouse {key[1]}: on hand {on_hand} but "
                    f"stock moves sum to {moves.get(key, 0)}",
                    {"variant": key[0], "warehouse": key[1]},
                )
            )
        if on_hand != layers.get(key, 0):
            found.append(
                Violation(
                    3,
                    f"variant {key[0]} at warehouse {key[1]}: on hand {on_hand} but "
                    f"cost layers hold {layers.get(key, 0)} units",
                    {"variant": key[0], "warehouse": key[1]},
                )
            )
    return found


def check_reservations(session: Session) -> list[Violation]:
    held = dict(
        ((v, w), int(q))
        for v, w, q in session.execute(
            select(
                Reservation.variant_id,
                Reservation.warehouse_id,
                func.sum(Reservation.quantity),
            ).group_by(Reservation.variant_id, Reservation.warehouse_id)
        )
    )
    found = []
    for lv in session.scalars(select(StockLevel)):
        key = (lv.variant_id, lv.warehouse_id)
        ids = {"variant": lv.variant_id, "warehouse": lv.warehouse_id}
        if lv.reserved > lv.on_hand or lv.on_hand < 0:
            found.append(
                Violation(
                    4,
                    f"variant {key[0]} at warehouse {key[1]}: reserved {lv.reserved} "
                    f"with on hand {lv.on_hand}",
                    ids,
                )
            )
        if lv.reserved != held.get(key, 0):
            found.append(
                Violation(
                    4,
                    f"variant {key[0]} at warehouse {key[1]}: level says {lv.reserved} "
                    f"reserved but reservations add up to {held.get(key, 0)}",
                    ids,
                )
            )
    return found


def check_credits(session: Session) -> list[Violation]:
    credited = session.execute(
        select(Invoice.credits_invoice_id, func.sum(Invoice.total))
        # Imported history keeps its credit notes as the old books had them,
        # some above their invoice, and the history import's report lists them.
        .where(Invoice.kind == "credit_note", Invoice.series != "history-credit")
        .group_by(Invoice.credits_invoice_id)
    )
    found = []
    for invoice_id, total in credited:
        invoice = session.get(Invoice, invoice_id)
        if invoice is not None and int(total) > invoice.total:
            found.append(
                Violation(
                    5,
                    f"invoice {invoice.display_number} of {invoice.total} has credit "
                    f"notes totalling {total}",
                    {"invoice": invoice_id},
                )
            )
    return found


def check_closed_periods(session: Session) -> list[Violation]:
    found = []
    for period in session.scalars(select(Period).where(Period.status == "closed")):
        count, debit = month_totals(session, period.year, period.month)
        if (count, debit) != (period.closed_line_count, period.closed_debit_total):
            found.append(
                Violation(
                    6,
                    f"period {period.year}-{period.month:02d} was closed with "
                    f"{period.closed_line_count} lines and debits "
                    f"{period.closed_debit_total}, now {count} lines and {debit}",
                    {"period": f"{period.year}-{period.month:02d}"},
                )
            )
        start = date(period.year, period.month, 1)
        end = date(period.year + period.month // 12, period.month % 12 + 1, 1)
        late = session.scalars(
            select(JournalEntry.id).where(
                JournalEntry.entry_date >= start,
                JournalEntry.entry_date < end,
                JournalEntry.recorded_at > period.closed_at,
            )
        ).all()
        for entry_id in late:
            found.append(
                Violation(
                    6,
                    f"journal entry {entry_id} was recorded in "
                    f"{period.year}-{period.month:02d} after the period closed",
                    {"journal_entry": entry_id},
                )
            )
    return found


def check_outbox(session: Session) -> list[Violation]:
    """Compare the newest queued figure per channel and SKU with today's figure."""
    found = []
    channels = session.scalars(select(Channel).where(Channel.connected.is_(True))).all()
    for channel in channels:
        newest = (
            select(OutboxItem.variant_id, func.max(OutboxItem.id).label("last"))
            .where(OutboxItem.channel_id == channel.id, OutboxItem.kind == "stock")
            .group_by(OutboxItem.variant_id)
            .subquery()
        )
        rows = session.execute(
            select(OutboxItem.variant_id, OutboxItem.quantity).join(
                newest, OutboxItem.id == newest.c.last
            )
        )
        queued = dict(rows.all())
        moved = session.scalars(
            select(StockMove.variant_id)
            .where(StockMove.at >= channel.created_at)
            .distinct()
        ).all()
        for variant_id in moved:
            if variant_id not in queued:
                found.append(
                    Violation(
                        7,
                        f"variant {variant_id} changed but channel {channel.name} has "
                        "no stock row queued",
                        {"channel": channel.id, "variant": variant_id},
                    )
                )
        for queued_variant, quantity in queued.items():
            assert queued_variant is not None
            variant_id = queued_variant
            expected = visible_quantity(
                session, channel, variant_id, sellable_available(session, variant_id)
            )
            if quantity != expected:
                found.append(
                    Violation(
                        7,
                        f"channel {channel.name} was last queued {quantity} for "
                        f"variant {variant_id} but should see {expected}",
                        {"channel": channel.id, "variant": variant_id},
                    )
                )
    return found


CHECKS = (
    check_balanced,
    check_inventory_value,
    check_on_hand,
    check_reservations,
    check_credits,
    check_refund_limits,
    check_closed_periods,
    check_outbox,
)


def run_checks(session: Session) -> list[Violation]:
    """Run every rule's check and return all violations found."""
    found: list[Violation] = []
    for check in CHECKS:
        found.extend(check(session))
    return found
