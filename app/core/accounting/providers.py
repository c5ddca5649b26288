"""The built-in month-end checklist items.

Every provider takes a :class:`CheckContext` and returns the records at
fault; importing this module registers them in checklist order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, select

from app.core.accounting.checklist import (
    CheckContext,
    Provider,
    RecordRef,
    register_provider,
)
from app.core.checks import run_checks
from app.core.models import (
    Account,
    Channel,
    JournalEntry,
    JournalLine,
    SalesOrder,
    Shipment,
    StockCount,
    StockMove,
    Variant,
    Warehouse,
)
from app.core.models.accounting import BankLine, Payout
from app.core.models.returns import ReturnAuthorization, ReturnLine, ReturnRefund
from app.core.money import format_minor
from app.core.shop import get_shop, local_date, local_day_start

#: Memo that order capture writes on the 2200/8200 lines of a channel's tax
#: that differs from the shop's own tax rules.
TAX_DIFFERENCE_MEMO = "channel tax differs"
UNSHIPPED_STATUSES = ("open", "partially_shipped", "held")


def money(amount: int, currency: str) -> str:
    return f"{format_minor(amount, currency)} {currency}"


def _local(ctx: CheckContext, moment: datetime) -> date:
    return local_date(moment, ctx.zone)


# --- orders and shipments ---------------------------------------------------


def _unshipped_reference(ctx: CheckContext) -> date:
    return min(ctx.month.last_day, ctx.today)


def unshipped_orders(ctx: CheckContext) -> list[RecordRef]:
    """Orders still unshipped that were placed more than N days before month end."""
    reference = _unshipped_reference(ctx)
    cutoff = local_day_start(
        reference - timedelta(days=ctx.settings.unshipped_days), ctx.zone
    )
    rows = ctx.session.execute(
        select(SalesOrder, Channel.name)
        .join(Channel, Channel.id == SalesOrder.channel_id)
        .where(
            SalesOrder.status.in_(UNSHIPPED_STATUSES),
            SalesOrder.historical.is_(False),
            SalesOrder.placed_at < cutoff,
        )
        .order_by(SalesOrder.placed_at, SalesOrder.id)
    ).all()
    return [
        RecordRef(
            "sales_order",
            order.id,
            f"Order {order.external_id} ({channel}) placed "
            f"{_local(ctx, order.placed_at).isoformat()}, {order.status}",
            order_id=order.id,
        )
        for order, channel in rows
    ]


def unshipped_note(ctx: CheckContext) -> str:
    return (
        f"Orders placed more than {ctx.settings.unshipped_days} days before "
        f"{_unshipped_reference(ctx).isoformat()} and not yet shipped; their "
        "revenue stays in 2300 Unearned revenue until they ship."
    )


def missing_label_costs(ctx: CheckContext) -> list[RecordRef]:
    rows = ctx.session.execute(
        select(Shipment, SalesOrder.external_id)
        .join(SalesOrder, SalesOrder.id == Shipment.order_id)
        .where(
            Shipment.label_cost.is_(None),
            Shipment.shipped_at >= ctx.start,
            Shipment.shipped_at < ctx.end,
            SalesOrder.historical.is_(False),
        )
        .order_by(Shipment.shipped_at, Shipment.id)
    ).all()
    return [
        RecordRef(
            "shipment",
            shipment.id,
            f"Shipment {shipment.id} of order {external_id} shipped "
            f"{_local(ctx, shipment.shipped_at).isoformat()}"
            + (f" by {shipment.carrier}" if shipment.carrier else "")
            + ": no label cost",
            order_id=shipment.order_id,
        )
        for shipment, external_id in rows
    ]


# --- returns ----------------------------------------------------------------


def open_returns(ctx: CheckContext) -> list[RecordRef]:
    """Returns received but not refunded, and refunds whose goods are uninspected.

    A return counts as received but not refunded when it was received by the
    month end and, now, either still waits for its inspection or was
    inspected with accepted units that no refund covers. A refund released
    before the inspection counts while its return is still uninspected.
    """
    session = ctx.session
    found: list[RecordRef] = []
    rmas = session.scalars(
        select(ReturnAuthorization)
        .where(
            ReturnAuthorization.status.in_(("received", "inspected")),
            ReturnAuthorization.received_at < ctx.end,
            ReturnAuthorization.is_cancellation.is_(False),
        )
        .order_by(ReturnAuthorization.received_at, ReturnAuthorization.id)
    ).all()
    for rma in rmas:
        assert rma.received_at is not None
        received = _local(ctx, rma.received_at).isoformat()
        if rma.status == "received":
            found.append(
                RecordRef(
                    "return_authorization",
                    rma.id,
                    f"Return {rma.reference} received {received}, not inspected "
                    "or refunded",
                    order_id=rma.order_id,
                )
            )
            continue
        unrefunded = session.scalar(
            select(
                func.coalesce(
                    func.sum(
                        ReturnLine.quantity_accepted - ReturnLine.quantity_refunded
                    ),
                    0,
                )
            ).where(ReturnLine.rma_id == rma.id)
        )
        if int(unrefunded or 0) > 0:
            found.append(
                RecordRef(
                    "return_authorization",
                    rma.id,
                    f"Return {rma.reference} received {received}: {unrefunded} "
                    "accepted units not refunded",
                    order_id=rma.order_id,
                )
            )
    early = session.execute(
        select(ReturnRefund, ReturnAuthorization.reference)
        .join(ReturnAuthorization, ReturnAuthorization.id == ReturnRefund.rma_id)
        .where(
            ReturnRefund.before_inspection.is_(True),
            ReturnRefund.status.in_(("issued", "paid")),
            ReturnRefund.issued_at < ctx.end,
            ReturnAuthorization.status.in_(("authorized", "received")),
        )
        .order_by(ReturnRefund.issued_at, ReturnRefund.id)
    ).all()
    for refund, reference in early:
        assert refund.issued_at is not None
        found.append(
            RecordRef(
                "return_refund",
                refund.id,
                f"Refund {refund.id} of return {reference} issued "
                f"{_local(ctx, refund.issued_at).isoformat()} before the goods "
                "were inspected",
                order_id=refund.order_id,
            )
        )
    return found


# --- stock ------------------------------------------------------------------


def open_counts(ctx: CheckContext) -> list[RecordRef]:
    rows = ctx.session.execute(
        select(StockCount, Warehouse.code)
        .join(Warehouse, Warehouse.id == StockCount.warehouse_id)
        .where(StockCount.status == "open", StockCount.started_at < ctx.end)
        .order_by(StockCount.started_at, StockCount.id)
    ).all()
    return [
        RecordRef(
            "stock_count",
            count.id,
            f"Stock count {count.id} at {code} started "
            f"{_local(ctx, count.started_at).isoformat()} is not posted",
        )
        for count, code in rows
    ]


def negative_stock(ctx: CheckContext) -> list[RecordRef]:
    """SKUs whose on hand went below zero at any moment of the month.

    On hand is rebuilt from the stock moves in the order they happened
    (time, then id): a running sum per SKU and warehouse over every move
    before the month's end. A negative balance carried into the month counts
    too, even when the month has no moves.
    """
    session = ctx.session
    key = (StockMove.variant_id, StockMove.warehouse_id)
    running = func.sum(StockMove.quantity).over(
        partition_by=key,
        order_by=(StockMove.at, StockMove.id),
        rows=(None, 0),
    )
    history = (
        select(
            StockMove.variant_id.label("variant_id"),
            StockMove.warehouse_id.label("warehouse_id"),
            StockMove.at.label("at"),
            running.label("on_hand"),
        )
        .where(StockMove.at < ctx.end)
        .subquery()
    )
    lowest: dict[tuple[int, int], tuple[int, datetime]] = {}
    rows = session.execute(
        select(
            history.c.variant_id,
            history.c.warehouse_id,
            history.c.at,
            history.c.on_hand,
        )
        .where(history.c.at >= ctx.start, history.c.on_hand < 0)
        .order_by(history.c.at)
    )
    for variant_id, warehouse_id, at, on_hand in rows:
        slot = (variant_id, warehouse_id)
        if slot not in lowest or on_hand < lowest[slot][0]:
            first = lowest[slot][1] if slot in lowest else at
            lowest[slot] = (int(on_hand), first)
    opening = session.execute(
        select(
            StockMove.variant_id, StockMove.warehouse_id, func.sum(StockMove.quantity)
        )
        .where(StockMove.at < ctx.start)
        .group_by(StockMove.variant_id, StockMove.warehouse_id)
        .having(func.sum(StockMove.quantity) < 0)
    )
    for variant_id, warehouse_id, quantity in opening:
        slot = (variant_id, warehouse_id)
        if slot not in lowest or int(quantity) < lowest[slot][0]:
            lowest[slot] = (int(quantity), ctx.start)
    if not lowest:
        return []
    skus = dict(
        session.execute(
            select(Variant.id, Variant.sku).where(
                Variant.id.in_({v for v, _ in lowest})
            )
        ).all()
    )
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    found = []
    for (variant_id, warehouse_id), (quantity, first) in sorted(lowest.items()):
        found.append(
            RecordRef(
                "variant",
                variant_id,
                f"SKU {skus.get(variant_id, variant_id)} at "
                f"{codes.get(warehouse_id, warehouse_id)}: on hand fell to "
                f"{quantity} (first below zero {_local(ctx, first).isoformat()})",
            )
        )
    return found


# --- ledger -----------------------------------------------------------------


def _month_lines(ctx: CheckContext):  # type: ignore[no-untyped-def]
    return and_(
        JournalEntry.entry_date >= ctx.month.first_day,
        JournalEntry.entry_date <= ctx.month.last_day,
    )


def tax_differences(ctx: CheckContext) -> list[RecordRef]:
    """Orders whose channel charged other tax than the shop's rules, this month.

    These are the 8200 Rounding differences lines with the capture memo,
    and the order's ``tax_difference_shop`` is how much the channel differed.
    """
    session = ctx.session
    currency = get_shop(session).currency
    rows = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.entry_date,
            JournalEntry.source_type,
            JournalEntry.source_id,
            JournalLine.debit - JournalLine.credit,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(
            Account.code == "8200",
            JournalLine.memo.like(f"{TAX_DIFFERENCE_MEMO}%"),
            _month_lines(ctx),
        )
        .order_by(JournalEntry.entry_date, JournalEntry.id)
    ).all()
    order_ids = {sid for _, _, stype, sid, _ in rows if stype == "sales_order"}
    orders = {
        o.id: o
        for o in session.scalars(select(SalesOrder).where(SalesOrder.id.in_(order_ids)))
    }
    found = []
    for entry_id, day, source_type, source_id, net in rows:
        order = (
            orders.get(source_id)
            if source_type == "sales_order" and source_id is not None
            else None
        )
        what = f"order {order.external_id}" if order else f"entry {entry_id}"
        found.append(
            RecordRef(
                "journal_entry",
                entry_id,
                f"Entry {entry_id} of {day.isoformat()} for {what}: "
                f"{money(int(net), currency)} to 8200 because the channel's tax "
                "differs from the shop's rules",
                order_id=order.id if order else None,
            )
        )
    return found


def clearing_account_id(ctx: CheckContext) -> int | None:
    return ctx.session.scalar(select(Account.id).where(Account.code == "1100"))


def unmatched_clearing(ctx: CheckContext) -> list[RecordRef]:
    """Channels whose clearing (1100) contains money older than the payout delay.

    The balance at month end less the sales of the month's last
    ``payout_delay_days`` days is money the channel should already have paid
    out. A negative balance means more was paid out than was sold.
    """
    session = ctx.session
    account_id = clearing_account_id(ctx)
    if account_id is None:
        return []
    currency = get_shop(session).currency
    last = ctx.month.last_day
    recent_from = last - timedelta(days=max(ctx.settings.payout_delay_days, 1) - 1)
    totals = session.execute(
        select(
            JournalLine.channel_id,
            func.sum(JournalLine.debit - JournalLine.credit),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id == account_id, JournalEntry.entry_date <= last)
        .group_by(JournalLine.channel_id)
    ).all()
    recent = dict(
        session.execute(
            select(JournalLine.channel_id, func.sum(JournalLine.debit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(
                JournalLine.account_id == account_id,
                JournalEntry.entry_date >= recent_from,
                JournalEntry.entry_date <= last,
            )
            .group_by(JournalLine.channel_id)
        ).all()
    )
    names = dict(session.execute(select(Channel.id, Channel.name)).all())
    found = []
    for channel_id, balance in sorted(totals, key=lambda r: r[0] or 0):
        balance = int(balance or 0)
        older = balance - int(recent.get(channel_id) or 0)
        name = names.get(channel_id, "no channel") if channel_id else "no channel"
        if balance < 0:
            label = (
                f"{name}: channel clearing is {money(balance, currency)} at "
                f"{last.isoformat()}; more was paid out than was sold"
            )
        elif older > 0:
            label = (
                f"{name}: {money(older, currency)} of the "
                f"{money(balance, currency)} in channel clearing at "
                f"{last.isoformat()} is older than "
                f"{ctx.settings.payout_delay_days} days and not matched to a payout"
            )
        else:
            continue
        found.append(RecordRef("channel", channel_id, label))
    return found


def clearing_note(ctx: CheckContext) -> str:
    return (
        "Import the channels' payouts (backroom payouts import) to move their "
        f"money from 1100 to the bank; sales of the last "
        f"{ctx.settings.payout_delay_days} days of the month may still be waiting."
    )


def payouts_not_banked(ctx: CheckContext) -> list[RecordRef]:
    """Posted payouts of the month that an imported bank statement should show.

    A payout counts only when the bank statements imported so far reach
    ``bank_window_days`` past its date, so a statement not yet imported
    raises nothing.
    """
    session = ctx.session
    covered_to = session.scalar(select(func.max(BankLine.line_date)))
    if covered_to is None:
        return []
    window = timedelta(days=ctx.settings.bank_window_days)
    matched = exists().where(
        BankLine.matched_kind == "payout", BankLine.matched_id == Payout.id
    )
    rows = session.execute(
        select(Payout, Channel.name)
        .join(Channel, Channel.id == Payout.channel_id)
        .where(
            Payout.journal_entry_id.is_not(None),
            Payout.paid_on >= ctx.month.first_day,
            Payout.paid_on <= ctx.month.last_day,
            ~matched,
        )
        .order_by(Payout.paid_on, Payout.id)
    ).all()
    currency = get_shop(session).currency
    return [
        RecordRef(
            "payout",
            payout.id,
            f"Payout {payout.external_id} ({channel}) of "
            f"{money(payout.amount_shop, currency)} on {payout.paid_on.isoformat()} "
            "is not on the bank statement",
        )
        for payout, channel in rows
        if payout.paid_on + window <= covered_to
    ]


def broken_rules(ctx: CheckContext) -> list[RecordRef]:
    return [
        RecordRef("violation", None, f"Rule {v.rule}: {v.message}")
        for v in run_checks(ctx.session)
    ]


for _provider in (
    Provider(
        "unshipped_orders",
        "Orders captured but not shipped",
        unshipped_orders,
        unshipped_note,
    ),
    Provider(
        "missing_label_cost",
        "Shipments without a label cost",
        missing_label_costs,
        lambda ctx: "Record each label's cost so 6200 Shipping expense is complete.",
    ),
    Provider(
        "returns",
        "Returns not refunded, refunds not inspected",
        open_returns,
        lambda ctx: "Inspect received returns and refund the accepted units.",
    ),
    Provider(
        "open_counts",
        "Stock counts started but not posted",
        open_counts,
        lambda ctx: "Post or cancel the count so stock and 1200 Inventory agree.",
    ),
    Provider(
        "negative_stock",
        "SKUs whose stock went below zero",
        negative_stock,
        lambda ctx: (
            "A sale or move was dated before the stock arrived; COGS may "
            "be wrong. Check the dates of the moves."
        ),
    ),
    Provider(
        "tax_differences",
        "Channel tax differences posted",
        tax_differences,
        lambda ctx: (
            "The channel charged other tax than the shop's rules; the "
            "difference went to 8200. Check the rates before filing the tax return."
        ),
    ),
    Provider(
        "channel_clearing",
        "Channel clearing not matched to payouts",
        unmatched_clearing,
        clearing_note,
    ),
    Provider(
        "payouts_not_banked",
        "Payouts missing from the bank statement",
        payouts_not_banked,
        lambda ctx: "Import the bank statement (backroom bank import) and match it.",
    ),
    Provider(
        "rules",
        "The seven rules",
        broken_rules,
        lambda ctx: "backroom check lists the same problems.",
    ),
):
    register_provider(_provider)
