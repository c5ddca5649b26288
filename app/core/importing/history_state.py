"""The shop's records that a history import loads before it reads the file.

The History channel, the invoice numbers and customers already imported,
the catalog's SKUs and aliases, the chart of accounts and the closed
periods are loaded once, so that the import looks nothing up row by row.
The key names and limits shared by the history modules live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.core.importing.errors import ImportSetupError, MappingError
from app.core.importing.online_retail import CURRENCY, AccountMapping
from app.core.importing.reconcile import CLEARING_ACCOUNT
from app.core.models import (
    Account,
    Channel,
    Customer,
    Invoice,
    JournalEntry,
    Period,
    SalesOrder,
    Shop,
    SkuAlias,
    Variant,
)
from app.core.uow import UnitOfWork

HISTORY_CHANNEL_NAME = "History"
HISTORY_CHANNEL_KIND = "history"
INVOICE_SERIES = "history"
CREDIT_NOTE_SERIES = "history-credit"
ORDER_SOURCE = "sales_order"
ADJUSTMENT_SOURCE = "history_adjustment"
MAPPING_SETTING = "history_mapping"
DEFAULT_CHUNK_INVOICES = 4000
# Invoice.number is a 32-bit integer on PostgreSQL.
MAX_INVOICE_DIGITS = 9
# Column widths of the tables the lines go into.
MAX_INVOICE_NO = 60
MAX_STOCK_CODE = 100
MAX_DESCRIPTION = 300
MAX_CUSTOMER_ID = 100


def load_mapping(session: Session) -> AccountMapping:
    """Return the shop's saved history mapping, or the default one."""
    shop = session.get(Shop, 1)
    saved = (shop.settings or {}).get(MAPPING_SETTING) if shop else None
    if not saved:
        return AccountMapping.default()
    return AccountMapping.from_dict(saved)


def check_mapping(session: Session, mapping: AccountMapping) -> None:
    """Raise ImportSetupError when the mapping names an unusable account."""
    codes = set(session.scalars(select(Account.code)))
    rules = [("product", mapping.product)]
    rules += [(f"code {code!r}", rule) for code, rule in mapping.codes.items()]
    rules += [(f"pattern {p!r}", rule) for p, rule in mapping.patterns]
    for where, rule in rules:
        for account in (
            rule.invoice_account,
            rule.credit_note_account,
            rule.adjustment_account,
        ):
            if account == CLEARING_ACCOUNT:
                raise ImportSetupError(
                    f"The account mapping's {where} posts to {CLEARING_ACCOUNT}, "
                    "the clearing account that takes every invoice's total. Map "
                    "it to an income, expense or liability account."
                )
            if account not in codes:
                raise ImportSetupError(
                    f"The account mapping's {where} names account {account}, "
                    "which is not in the chart of accounts. Add the account or "
                    "correct the mapping."
                )


@dataclass
class ImportState:
    """The shop's records an import consults, loaded once and kept up to date.

    ``known_orders`` holds the invoice numbers of the History channel's
    orders, ``known_adjustments`` the numbers of imported bad-debt
    adjustments, ``customers`` maps CustomerID to customer id,
    ``variants`` maps SKU key to (variant id, title), ``aliases`` holds
    (variant id, kind, text) and ``known_numbers`` (series, number) of the
    history invoices. The writer adds what it creates.
    """

    currency: str
    zone_name: str
    mapping: AccountMapping
    save_mapping: bool
    channel_id: int | None
    known_orders: set[str]
    known_adjustments: set[int]
    customers: dict[str, int]
    variants: dict[str, tuple[int, str]]
    aliases: set[tuple[int, str, str]]
    accounts: dict[str, int]
    closed_months: set[tuple[int, int]]
    known_numbers: set[tuple[str, int]]


def load_state(
    engine: Engine, mapping: AccountMapping | None, save_mapping: bool
) -> ImportState:
    """Read what the import needs from the shop, in one read transaction.

    ``mapping`` replaces the shop's saved mapping, and ``save_mapping``
    marks it to be stored as the shop's mapping after the import.
    """
    with UnitOfWork(engine, write=False) as uow:
        session = uow.session
        shop = session.get(Shop, 1)
        if shop is None:
            raise ImportSetupError(
                "This database holds no shop yet. Create one with `backroom "
                "init`, then import the history."
            )
        if shop.currency != CURRENCY:
            raise ImportSetupError(
                f"The history file's amounts are in {CURRENCY} but the shop keeps "
                f"its books in {shop.currency}. Import it into a {CURRENCY} shop."
            )
        try:
            mapping = mapping or load_mapping(session)
        except MappingError as exc:
            raise ImportSetupError(
                f"The shop's saved history mapping is invalid: {exc} Give a "
                "corrected mapping with --mapping."
            ) from exc
        check_mapping(session, mapping)

        channel_id = _find_channel(session)
        known_orders: set[str] = set()
        customers: dict[str, int] = {}
        if channel_id is not None:
            known_orders = set(
                session.scalars(
                    select(SalesOrder.external_id).where(
                        SalesOrder.channel_id == channel_id
                    )
                )
            )
            customers = {
                external: customer_id
                for external, customer_id in session.execute(
                    select(Customer.external_id, Customer.id).where(
                        Customer.channel_id == channel_id,
                        Customer.external_id.is_not(None),
                    )
                )
                if external is not None
            }
        known_adjustments = {
            int(number)
            for number in session.scalars(
                select(JournalEntry.source_id).where(
                    JournalEntry.source_type == ADJUSTMENT_SOURCE
                )
            )
            if number is not None
        }
        variants = {
            key: (variant_id, title)
            for key, variant_id, title in session.execute(
                select(Variant.sku_key, Variant.id, Variant.title)
            )
        }
        aliases = {
            (variant_id, kind, text)
            for variant_id, kind, text in session.execute(
                select(SkuAlias.variant_id, SkuAlias.kind, SkuAlias.text)
            )
        }
        accounts = dict(session.execute(select(Account.code, Account.id)).all())
        if CLEARING_ACCOUNT not in accounts:
            raise ImportSetupError(
                f"Account {CLEARING_ACCOUNT} Channel clearing is missing from the "
                "chart of accounts; history is posted against it. Add it back."
            )
        known_numbers = {
            (series, int(number))
            for series, number in session.execute(
                select(Invoice.series, Invoice.number).where(
                    Invoice.series.in_((INVOICE_SERIES, CREDIT_NOTE_SERIES))
                )
            )
        }
        known_numbers |= {(ADJUSTMENT_SOURCE, n) for n in known_adjustments}
        closed = {
            (year, month)
            for year, month in session.execute(
                select(Period.year, Period.month).where(Period.status == "closed")
            )
        }
        return ImportState(
            currency=shop.currency,
            zone_name=shop.timezone,
            mapping=mapping,
            save_mapping=save_mapping,
            channel_id=channel_id,
            known_orders=known_orders,
            known_adjustments=known_adjustments,
            customers=customers,
            variants=variants,
            aliases=aliases,
            accounts=accounts,
            closed_months=closed,
            known_numbers=known_numbers,
        )


def _find_channel(session: Session) -> int | None:
    channel = session.scalar(
        select(Channel)
        .where(Channel.kind == HISTORY_CHANNEL_KIND)
        .order_by(Channel.id)
        .limit(1)
    )
    if channel is not None:
        return channel.id
    clash = session.scalar(select(Channel).where(Channel.name == HISTORY_CHANNEL_NAME))
    if clash is not None:
        raise ImportSetupError(
            f"A channel named {HISTORY_CHANNEL_NAME!r} already exists with kind "
            f"{clash.kind!r}. Rename that channel so the history can have its own."
        )
    return None


def find_history_channel(session: Session) -> int | None:
    """Return the id of the History channel, or None before the first import."""
    return session.scalar(
        select(Channel.id)
        .where(Channel.kind == HISTORY_CHANNEL_KIND)
        .order_by(Channel.id)
        .limit(1)
    )
