"""Channel payouts: money a channel or payment provider sends to the bank.

A payout posts one journal entry on its date, with the channel on every
line. It debits 1000 Bank by the amount that reached the bank and 6110 Bank
and payment fees (or 6100 Channel and marketplace fees) by the fees the
provider kept, and credits 1100 Channel clearing by their sum. Charges, refunds and
adjustments are not posted again here: the sales already sit in 1100 from
order capture, and refunds paid through the channel left it when they were
paid. A payout posts once, when its status is ``paid``; importing it again
changes nothing.

The fees of a payout come from the file when it states them, as a Shopify
Payments payout's summary does. Otherwise they are the fees of the balance
transactions the payout covers. Those are the transactions that name it,
or, in activity files that do not (Stripe, PayPal), every transaction not
yet covered that happened before the payout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from app.core import ledger
from app.core.accounting.periods import local_noon
from app.core.audit import record
from app.core.changes import Changes
from app.core.exceptions import PeriodClosed, ValidationError
from app.core.ledger import Posting
from app.core.models.accounting import Payout, PayoutTransaction
from app.core.money import convert, currency_exponent, format_minor
from app.core.orders import get_channel
from app.core.shop import get_shop, shop_zone
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

FEE_ACCOUNTS = ("6100", "6110")
TRANSACTION_KINDS = ("charge", "refund", "payout", "fee", "adjustment")


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement of a provider's balance, in minor units of ``currency``.

    ``gross``, ``fee`` and ``net`` are signed from the provider balance's side:
    a charge has a positive gross and a refund a negative one. ``fee`` is
    positive when the provider keeps money, and ``net = gross - fee``. A row
    of kind ``fee`` is a fee on its own (its whole net is the fee).
    ``payout_reference`` names the payout that paid it out, when the file
    gives it.
    """

    external_id: str
    kind: str
    occurred_at: datetime
    currency: str
    gross: int
    fee: int
    net: int
    description: str = ""
    order_reference: str | None = None
    payout_reference: str | None = None

    @property
    def fee_cost(self) -> int:
        """Fees this transaction cost, positive when the provider kept money."""
        if self.kind == "fee":
            return -self.net
        return self.gross - self.net


@dataclass(frozen=True, slots=True)
class PayoutInput:
    """A payout as a file describes it.

    ``amount`` is what reached the bank (negative when money went from the
    bank to the provider). ``fees`` is the total the provider kept, when the
    file states it; None means "add up the covered transactions' fees".
    ``created_at`` is when the payout left the provider's balance, used to
    find the transactions it covers when they do not name it.
    """

    external_id: str
    status: str
    paid_on: date
    currency: str
    amount: int
    fees: int | None = None
    created_at: datetime | None = None
    summary: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A file row that imports nothing, and why."""

    row: int
    reference: str
    reason: str


@dataclass(frozen=True, slots=True)
class PayoutFile:
    """Everything read from one payout or activity file."""

    source: str
    path: str
    transactions: tuple[BalanceTransaction, ...]
    payouts: tuple[PayoutInput, ...]
    skipped: tuple[SkippedRow, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PostedPayout:
    """A payout posted by this import, amounts in shop minor units."""

    payout_id: int
    external_id: str
    paid_on: date
    amount_shop: int
    fees_shop: int
    entry_id: int


@dataclass(frozen=True, slots=True)
class PayoutImportResult:
    """The outcome of a payout import.

    ``already_posted`` and ``not_paid`` list external payout ids, the latter
    with their status. ``uncovered`` counts stored transactions that no
    payout covers yet. ``problems`` are messages about payouts that could
    not be posted or whose figures do not add up.
    """

    channel: str
    source: str
    posted: tuple[PostedPayout, ...]
    already_posted: tuple[str, ...]
    not_paid: tuple[tuple[str, str], ...]
    new_transactions: int
    uncovered: int
    skipped: tuple[SkippedRow, ...]
    problems: tuple[str, ...]
    changes: Changes


def _store_transactions(
    uow: UnitOfWork, channel_id: int, transactions: Sequence[BalanceTransaction]
) -> int:
    session = uow.session
    known = set(
        session.scalars(
            select(PayoutTransaction.external_id).where(
                PayoutTransaction.channel_id == channel_id,
                PayoutTransaction.external_id.in_(
                    {t.external_id for t in transactions}
                ),
            )
        )
    )
    added = 0
    for t in transactions:
        if t.external_id in known:
            continue
        known.add(t.external_id)
        session.add(
            PayoutTransaction(
                channel_id=channel_id,
                external_id=t.external_id,
                kind=t.kind,
                occurred_at=t.occurred_at,
                currency=t.currency,
                gross=t.gross,
                fee=t.fee,
                net=t.net,
                payout_reference=t.payout_reference,
                order_reference=t.order_reference,
                description=t.description[:1000],
            )
        )
        added += 1
    session.flush()
    return added


def _fee_cost(row: PayoutTransaction) -> int:
    return -row.net if row.kind == "fee" else row.gross - row.net


def _covered(
    uow: UnitOfWork, channel_id: int, payout: PayoutInput
) -> list[PayoutTransaction]:
    """Return the stored transactions this payout pays out (see module docstring)."""
    session = uow.session
    named = list(
        session.scalars(
            select(PayoutTransaction).where(
                PayoutTransaction.channel_id == channel_id,
                PayoutTransaction.payout_reference == payout.external_id,
                PayoutTransaction.payout_id.is_(None),
            )
        )
    )
    if named or payout.created_at is None:
        return named
    return list(
        session.scalars(
            select(PayoutTransaction).where(
                PayoutTransaction.channel_id == channel_id,
                PayoutTransaction.payout_id.is_(None),
                PayoutTransaction.payout_reference.is_(None),
                PayoutTransaction.kind != "payout",
                PayoutTransaction.occurred_at <= payout.created_at,
            )
        )
    )


def _to_shop(
    amount: int, currency: str, shop_currency: str, fx_rate: Decimal | None, what: str
) -> int:
    if currency == shop_currency:
        return amount
    if fx_rate is None or fx_rate <= 0:
        raise ValidationError(
            "fx_rate",
            fx_rate,
            f"{what} is in {currency} but the books are in {shop_currency}; give "
            f"the exchange rate ({shop_currency} per {currency}) with --fx-rate",
        )
    return convert(amount, fx_rate, currency, shop_currency)


def _signed(
    account: str,
    amount: int,
    channel_id: int,
    *,
    memo: str | None = None,
    fx_currency: str | None = None,
    fx_amount: int | None = None,
) -> Posting:
    """Return a debit for a positive amount and a credit for a negative one."""
    return Posting(
        account,
        debit=max(amount, 0),
        credit=max(-amount, 0),
        channel_id=channel_id,
        memo=memo,
        fx_currency=fx_currency,
        fx_amount=fx_amount,
    )


def _payout_postings(
    payout: Payout, shop_currency: str, fee_account: str
) -> list[Posting]:
    foreign = payout.currency if payout.currency != shop_currency else None
    return [
        _signed(
            "1000",
            payout.amount_shop,
            payout.channel_id,
            fx_currency=foreign,
            fx_amount=abs(payout.amount) if foreign else None,
        ),
        _signed(fee_account, payout.fees_shop, payout.channel_id, memo="payout fees"),
        _signed(
            "1100",
            -(payout.amount_shop + payout.fees_shop),
            payout.channel_id,
            fx_currency=foreign,
            fx_amount=abs(payout.amount + payout.fees) if foreign else None,
        ),
    ]


def _describe(source: str, payout: PayoutInput, channel: str) -> str:
    return f"{source.title()} payout {payout.external_id} for {channel}"


def _post_one(
    uow: UnitOfWork,
    channel_id: int,
    channel_name: str,
    source: str,
    payout: PayoutInput,
    row: Payout,
    *,
    fx_rate: Decimal | None,
    fee_account: str,
) -> PostedPayout:
    """Work out a paid payout's fees, post it and mark its transactions covered."""
    session = uow.session
    shop = get_shop(session)
    covered = _covered(uow, channel_id, payout)
    fees = (
        payout.fees if payout.fees is not None else sum(_fee_cost(t) for t in covered)
    )

    what = f"payout {payout.external_id}"
    row.fees = fees
    row.fx_rate = fx_rate if payout.currency != shop.currency else None
    row.amount_shop = _to_shop(
        payout.amount, payout.currency, shop.currency, fx_rate, what
    )
    row.fees_shop = _to_shop(fees, payout.currency, shop.currency, fx_rate, what)
    row.fee_account = fee_account

    entry = ledger.post(
        uow,
        occurred_at=local_noon(payout.paid_on, shop_zone(session)),
        kind="payout",
        description=_describe(source, payout, channel_name),
        postings=_payout_postings(row, shop.currency, fee_account),
        source=("payout", row.id),
    )
    assert entry is not None or (row.amount_shop == 0 and row.fees_shop == 0)
    row.journal_entry_id = entry.id if entry is not None else None
    for t in covered:
        t.payout_id = row.id
    return PostedPayout(
        row.id,
        payout.external_id,
        payout.paid_on,
        row.amount_shop,
        row.fees_shop,
        entry.id if entry is not None else 0,
    )


def _check_summary(payout: PayoutInput, currency: str) -> str | None:
    """Return a problem when a payout's stated gross less fees is not its amount."""
    gross = payout.summary.get("gross_total")
    if gross is None or payout.fees is None:
        return None
    expected = int(gross) - payout.fees
    if expected == payout.amount:
        return None
    return (
        f"payout {payout.external_id}: its summary gives gross "
        f"{format_minor(int(gross), currency)} less fees "
        f"{format_minor(payout.fees, currency)} = {format_minor(expected, currency)} "
        f"{currency}, but the amount paid is "
        f"{format_minor(payout.amount, currency)}; posted by amount and fees"
    )


def import_payouts(
    uow: UnitOfWork,
    channel: str,
    data: PayoutFile,
    *,
    fx_rate: Decimal | None = None,
    fee_account: str = "6110",
) -> PayoutImportResult:
    """Store a file's balance transactions and post its paid payouts once each.

    ``channel`` names the Backroom channel whose clearing the payouts empty.
    ``fx_rate`` (shop currency per payout currency) is required for payouts
    in another currency than the books. A payout dated in a closed period is
    not posted and is listed in ``problems``; the rest still are.
    """
    if fee_account not in FEE_ACCOUNTS:
        raise ValidationError(
            "fee_account", fee_account, "payout fees go to 6100 or 6110"
        )
    session = uow.session
    target = get_channel(session, channel)
    for amount_currency in {p.currency for p in data.payouts}:
        currency_exponent(amount_currency)
    added = _store_transactions(uow, target.id, data.transactions)
    posted: list[PostedPayout] = []
    already: list[str] = []
    not_paid: list[tuple[str, str]] = []
    problems = list(data.problems)
    changes = Changes()
    for payout in sorted(
        data.payouts,
        key=lambda p: (
            p.created_at or datetime.min.replace(tzinfo=UTC),
            p.paid_on,
            p.external_id,
        ),
    ):
        row = session.scalar(
            select(Payout).where(
                Payout.channel_id == target.id,
                Payout.external_id == payout.external_id,
            )
        )
        if row is not None and row.journal_entry_id is not None:
            already.append(payout.external_id)
            continue
        if row is None:
            row = Payout(
                channel_id=target.id,
                external_id=payout.external_id,
                source=data.source,
                currency=payout.currency,
            )
            session.add(row)
        row.status = payout.status
        row.paid_on = payout.paid_on
        row.amount = payout.amount
        row.fees = payout.fees or 0
        row.summary = dict(payout.summary)
        session.flush()
        if payout.status != "paid":
            not_paid.append((payout.external_id, payout.status))
            continue
        problem = _check_summary(payout, payout.currency)
        if problem:
            problems.append(problem)
        try:
            ledger.ensure_open(session, payout.paid_on, f"payout {payout.external_id}")
        except PeriodClosed as exc:
            problems.append(str(exc))
            continue
        done = _post_one(
            uow,
            target.id,
            target.name,
            data.source,
            payout,
            row,
            fx_rate=fx_rate,
            fee_account=fee_account,
        )
        posted.append(done)
        changes.entries.add(done.entry_id)
    uncovered = session.scalar(
        select(func.count(PayoutTransaction.id)).where(
            PayoutTransaction.channel_id == target.id,
            PayoutTransaction.payout_id.is_(None),
            PayoutTransaction.kind != "payout",
        )
    )
    record(
        uow,
        "payouts.import",
        "channel",
        target.id,
        detail={
            "source": data.source,
            "file": data.path,
            "posted": [p.external_id for p in posted],
        },
    )
    log.info(
        "payouts from %s for %s: %d posted, %d already posted, %d not paid",
        data.path,
        target.name,
        len(posted),
        len(already),
        len(not_paid),
    )
    return PayoutImportResult(
        channel=target.name,
        source=data.source,
        posted=tuple(posted),
        already_posted=tuple(already),
        not_paid=tuple(not_paid),
        new_transactions=added,
        uncovered=int(uncovered or 0),
        skipped=data.skipped,
        problems=tuple(problems),
        changes=changes,
    )
