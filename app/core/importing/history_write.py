"""Write a history file's invoices: orders, lines, invoices and journal entries.

Each chunk of whole invoices is one transaction. Its rows are built in
memory with ids taken from ``IdBlock`` and inserted table by table with
``BulkInsert``, parents before children, so no row needs a round trip.

A SKU key seen for the first time becomes a product with one variant. The
variant's SKU is the key's most frequent spelling in the file, and its
title the most frequent non-empty description. Every other description is
kept as a ``SkuAlias``: kind "note" when it only ever appears on lines at
price 0, where the shop wrote stock remarks ("damaged", "check"), else kind
"description". A SKU already in the catalog keeps its name and gets the
file's descriptions as aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select

from app.core import setup
from app.core.catalog import sku_key as catalog_sku_key
from app.core.importing.bulk import BulkInsert, IdBlock, WalCheckpointer
from app.core.importing.history_read import Collected, adjustment_number
from app.core.importing.history_state import (
    ADJUSTMENT_SOURCE,
    CREDIT_NOTE_SERIES,
    HISTORY_CHANNEL_KIND,
    HISTORY_CHANNEL_NAME,
    INVOICE_SERIES,
    ORDER_SOURCE,
    ImportState,
)
from app.core.importing.online_retail import HistoryLine, SkuName
from app.core.importing.reconcile import CLEARING_ACCOUNT
from app.core.models import (
    Base,
    Customer,
    Invoice,
    JournalEntry,
    JournalLine,
    OrderLine,
    Product,
    SalesOrder,
    SkuAlias,
    Variant,
)
from app.core.uow import UnitOfWork

IMPORT_CACHE_KIB = 65_536


@dataclass
class AddedCounts:
    """Records this import wrote."""

    orders: int = 0
    invoices: int = 0
    credit_notes: int = 0
    adjustments: int = 0
    lines: int = 0
    customers: int = 0
    guests: int = 0
    products: int = 0
    description_aliases: int = 0
    note_aliases: int = 0
    journal_entries: int = 0
    credit_notes_linked: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "orders": self.orders,
            "invoices": self.invoices,
            "credit_notes": self.credit_notes,
            "adjustments": self.adjustments,
            "lines": self.lines,
            "customers": self.customers,
            "guests": self.guests,
            "products": self.products,
            "description_aliases": self.description_aliases,
            "note_aliases": self.note_aliases,
            "journal_entries": self.journal_entries,
            "credit_notes_linked": self.credit_notes_linked,
        }


class HistoryWriter:
    """Writes chunks of whole invoices, one transaction per chunk."""

    def __init__(
        self,
        engine: Engine,
        state: ImportState,
        collected: Collected,
        memo_only: bool,
        checkpointer: WalCheckpointer,
    ) -> None:
        self.engine = engine
        self.checkpointer = checkpointer
        self.state = state
        self.groups = collected.groups
        self.memo_only = memo_only
        self.names: dict[str, SkuName] = collected.report.sku_names()
        self.descriptions = collected.report.sku_descriptions
        self.spellings = collected.spellings
        self.zero_price = collected.zero_price_descriptions
        self.added = AddedCounts()
        self.links = _CreditLinks(look_up_earlier=bool(state.known_orders))
        # SKUs that were in the catalog before this import get the file's
        # descriptions as aliases in the first chunk.
        self.alias_existing = [
            key for key in self.descriptions if key in state.variants
        ]
        self._times: dict[datetime, Any] = {}
        self._prices: dict[Decimal, Any] = {}
        self._dates: dict[date, Any] = {}
        # Inclusive id ranges of the journal entries and invoices written.
        self.entry_ids: list[tuple[int, int]] = []
        self.invoice_ids: list[tuple[int, int]] = []

    def write(self, numbers: Sequence[str]) -> None:
        """Write the invoices ``numbers`` in one transaction, then drop their lines."""
        with UnitOfWork(self.engine) as uow:
            if self.state.channel_id is None:
                channel = setup.add_channel(
                    uow, HISTORY_CHANNEL_NAME, HISTORY_CHANNEL_KIND, connected=False
                )
                self.state.channel_id = channel.id
            conn = uow.session.connection()
            chunk = _Chunk(conn, self.state)
            for key in self.alias_existing:
                variant_id, title = self.state.variants[key]
                self._aliases(chunk, key, variant_id, title)
            self.alias_existing = []
            self.links.load_earlier(
                conn,
                self.state.channel_id,
                [
                    self.groups[number]
                    for number in numbers
                    if self.groups[number][0].kind == "credit_note"
                ],
            )
            for number in numbers:
                self._add_invoice(chunk, number, self.groups[number])
            with _larger_page_cache(conn):
                chunk.flush()
            self.checkpointer.pause(conn)
            uow.commit()
        self.checkpointer.after_commit()
        for name, ranges in (
            ("journal_entry", self.entry_ids),
            ("invoice", self.invoice_ids),
        ):
            block = chunk.ids[name]
            if block.taken:
                ranges.append((block.first_id, block.next_id - 1))
        for number in numbers:
            del self.groups[number]

    def _db_time(self, chunk: _Chunk, moment: datetime) -> Any:
        value = self._times.get(moment)
        if value is None:
            value = self._times[moment] = chunk.to_db_time(moment)
        return value

    def _db_date(self, chunk: _Chunk, day: date) -> Any:
        value = self._dates.get(day)
        if value is None:
            value = self._dates[day] = chunk.to_db_date(day)
        return value

    def _add_invoice(
        self, chunk: _Chunk, number: str, lines: list[HistoryLine]
    ) -> None:
        first = lines[0]
        if first.kind == "adjustment":
            self._add_adjustment(chunk, number, lines)
            return

        added = self.added
        customer_id = self._customer(chunk, first)
        order_id = chunk.ids["sales_order"].take()
        invoice_id = chunk.ids["invoice"].take()
        moment = self._db_time(chunk, first.invoice_utc)

        variants = self.state.variants
        to_price, prices = chunk.to_db_price, self._prices
        line_block = chunk.ids["order_line"]
        first_line_id = line_block.next_id
        line_block.next_id += len(lines)
        order_lines = chunk.order_lines
        per_account: dict[str, int] = {}
        total = shipping = discount = 0
        for line_no, line in enumerate(lines):
            (
                _row,
                _number,
                _kind,
                stock_code,
                key,
                description,
                quantity,
                unit_price,
                amount,
                _local,
                _utc,
                _customer,
                _country_name,
                _country,
                account,
                line_class,
                _write_off,
            ) = line
            per_account[account] = per_account.get(account, 0) + amount
            total += amount
            variant_id = None
            if line_class == "product":
                known = variants.get(key)
                variant_id = (
                    known[0] if known is not None else self._variant(chunk, line)
                )
            elif line_class == "shipping":
                shipping += amount
            elif line_class == "discount":
                discount += amount
            price = prices.get(unit_price)
            if price is None:
                price = prices[unit_price] = to_price(unit_price)
            order_lines.append(
                (
                    first_line_id + line_no,
                    order_id,
                    line_no + 1,
                    variant_id,
                    stock_code,
                    description,
                    quantity,
                    price,
                    amount,
                    account,
                )
            )
        added.lines += len(lines)

        is_credit = first.kind == "credit_note"
        entry_id = None
        if not self.memo_only:
            entry_id = self._add_entry(
                chunk,
                per_account,
                total,
                day=first.invoice_local.date(),
                moment=moment,
                description=(
                    f"History credit note {number}"
                    if is_credit
                    else f"History invoice {number}"
                ),
                kind="history.credit_note" if is_credit else "history.invoice",
                source=(ORDER_SOURCE, order_id),
            )

        credits_id = None
        document_total = -total if is_credit else total
        if is_credit:
            credits_id = self.links.link(first.customer_id, lines)
            added.credit_notes += 1
            if credits_id is not None:
                added.credit_notes_linked += 1
        else:
            added.invoices += 1
            self.links.remember(first.customer_id, lines, invoice_id)
        chunk.invoices.append(
            (
                invoice_id,
                order_id,
                "credit_note" if is_credit else "invoice",
                CREDIT_NOTE_SERIES if is_credit else INVOICE_SERIES,
                int(number[1:] if is_credit else number),
                number,
                moment,
                document_total,
                credits_id,
                entry_id,
            )
        )
        chunk.orders.append(
            (
                order_id,
                number,
                customer_id,
                moment,
                first.country_code,
                total - shipping - discount,
                -discount,
                shipping,
                shipping,
                total,
                total,
                entry_id,
                invoice_id,
            )
        )
        added.orders += 1

    def _add_adjustment(
        self, chunk: _Chunk, number: str, lines: list[HistoryLine]
    ) -> None:
        first = lines[0]
        per_account: dict[str, int] = {}
        total = 0
        for line in lines:
            per_account[line.account_code] = (
                per_account.get(line.account_code, 0) + line.amount_minor
            )
            total += line.amount_minor
        adjustment = adjustment_number(number)
        assert adjustment is not None
        entry_id = self._add_entry(
            chunk,
            per_account,
            total,
            day=first.invoice_local.date(),
            moment=self._db_time(chunk, first.invoice_utc),
            description=f"History bad-debt adjustment {number}",
            kind="history.adjustment",
            source=(ADJUSTMENT_SOURCE, adjustment),
        )
        if entry_id is not None:
            self.added.adjustments += 1

    def _add_entry(
        self,
        chunk: _Chunk,
        per_account: dict[str, int],
        total: int,
        *,
        day: date,
        moment: Any,
        description: str,
        kind: str,
        source: tuple[str, int],
    ) -> int | None:
        """Queue one journal entry: each account's net credited, 1100 debited."""
        accounts = self.state.accounts
        channel_id = self.state.channel_id
        assert channel_id is not None
        postings = [(code, net) for code, net in per_account.items() if net]
        if not postings:
            return None
        entry_id = chunk.ids["journal_entry"].take()
        line_ids = chunk.ids["journal_line"]
        for code, net in postings:
            chunk.journal_lines.append(
                (
                    line_ids.take(),
                    entry_id,
                    accounts[code],
                    -net if net < 0 else 0,
                    net if net > 0 else 0,
                )
            )
        if total:
            chunk.journal_lines.append(
                (
                    line_ids.take(),
                    entry_id,
                    accounts[CLEARING_ACCOUNT],
                    total if total > 0 else 0,
                    -total if total < 0 else 0,
                )
            )
        chunk.entries.append(
            (
                entry_id,
                self._db_date(chunk, day),
                moment,
                description,
                kind,
                source[0],
                source[1],
            )
        )
        self.added.journal_entries += 1
        return entry_id

    # -- customers

    def _customer(self, chunk: _Chunk, first: HistoryLine) -> int:
        external = first.customer_id
        if external is None:
            guest_id = chunk.ids["customer"].take()
            chunk.customers.append((guest_id, None, first.country_code, True))
            self.added.guests += 1
            return guest_id
        customer_id = self.state.customers.get(external)
        if customer_id is None:
            customer_id = chunk.ids["customer"].take()
            self.state.customers[external] = customer_id
            chunk.customers.append((customer_id, external, first.country_code, False))
            self.added.customers += 1
        return customer_id

    # -- SKUs

    def _variant(self, chunk: _Chunk, line: HistoryLine) -> int:
        """Create the product and variant of a SKU key on its first sight."""
        key = line.sku_key
        counts = self.spellings.get(key, {line.stock_code: 1})
        spelling = max(counts.items(), key=lambda item: item[1])[0]
        named = self.names.get(key)
        title = named.name if named is not None else spelling
        product_id = chunk.ids["product"].take()
        variant_id = chunk.ids["variant"].take()
        chunk.products.append((product_id, title))
        chunk.variants.append((variant_id, product_id, spelling, key, title))
        self.state.variants[key] = (variant_id, title)
        self.added.products += 1
        self._aliases(chunk, key, variant_id, title)
        return variant_id

    def _aliases(self, chunk: _Chunk, key: str, variant_id: int, title: str) -> None:
        """Keep a SKU's other descriptions as aliases.

        A description seen only on lines at price 0 is kind "note": the shop
        wrote stock remarks there ("damaged", "check", "sold as set on
        dotcom"). The others are kind "description".
        """
        counter = self.descriptions.get(key)
        if not counter:
            return
        for text, count in counter.items():
            if text == title:
                continue
            only_at_zero = self.zero_price.get((key, text), 0) >= count
            kind = "note" if only_at_zero else "description"
            alias = (variant_id, kind, text)
            if alias in self.state.aliases:
                continue
            self.state.aliases.add(alias)
            chunk.aliases.append(
                (chunk.ids["sku_alias"].take(), variant_id, kind, text)
            )
            if kind == "note":
                self.added.note_aliases += 1
            else:
                self.added.description_aliases += 1


class _CreditLinks:
    """Finds the invoice a credit note credits.

    That is the same customer's latest earlier invoice holding the credit
    note's SKUs: the one holding the most of them, the later one on a tie.
    Invoices of this import are remembered as they are queued. Those of
    earlier imports are loaded per customer when the customer's first credit
    note comes up.
    """

    def __init__(self, look_up_earlier: bool) -> None:
        # Per customer, per SKU key: (invoice id, time) of the latest invoice.
        self.index: dict[str, dict[str, tuple[int, datetime]]] = {}
        self.look_up_earlier = look_up_earlier
        self.loaded: set[str] = set()

    def remember(
        self, customer: str | None, lines: list[HistoryLine], invoice_id: int
    ) -> None:
        if customer is None:
            return
        skus = self.index.get(customer)
        if skus is None:
            skus = self.index[customer] = {}
        ref = (invoice_id, lines[0].invoice_utc)
        for line in lines:
            held = skus.get(line.sku_key)
            if held is None or held[1] <= ref[1]:
                skus[line.sku_key] = ref

    def link(self, customer: str | None, lines: list[HistoryLine]) -> int | None:
        """Return the id of the invoice the credit note ``lines`` credits, or None."""
        skus = self.index.get(customer) if customer is not None else None
        if not skus:
            return None
        votes: dict[int, int] = {}
        times: dict[int, datetime] = {}
        moment = lines[0].invoice_utc
        for key in {line.sku_key for line in lines}:
            ref = skus.get(key)
            if ref is not None and ref[1] <= moment:
                votes[ref[0]] = votes.get(ref[0], 0) + 1
                times[ref[0]] = ref[1]
        if not votes:
            return None
        return max(votes, key=lambda found: (votes[found], times[found]))

    def load_earlier(
        self, conn: Connection, channel_id: int, credit_notes: list[list[HistoryLine]]
    ) -> None:
        """Load the earlier imports' invoices of these credit notes' customers."""
        if not self.look_up_earlier:
            return
        wanted = {
            lines[0].customer_id
            for lines in credit_notes
            if lines[0].customer_id is not None
        } - self.loaded
        self.loaded |= wanted
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            rows = conn.execute(
                select(
                    Customer.external_id,
                    OrderLine.sku,
                    Invoice.id,
                    SalesOrder.placed_at,
                )
                .join(SalesOrder, SalesOrder.customer_id == Customer.id)
                .join(Invoice, Invoice.order_id == SalesOrder.id)
                .join(OrderLine, OrderLine.order_id == SalesOrder.id)
                .where(
                    Customer.channel_id == channel_id,
                    Customer.external_id.in_(ordered[start : start + 500]),
                    Invoice.kind == "invoice",
                )
            )
            for external, sku, invoice_id, placed_at in rows:
                if external is None:
                    continue
                skus = self.index.setdefault(external, {})
                key = catalog_sku_key(sku)
                held = skus.get(key)
                if held is None or held[1] <= placed_at:
                    skus[key] = (invoice_id, placed_at)


class _Chunk:
    """Rows of one chunk, their ids, and the inserts that write them."""

    def __init__(self, conn: Connection, state: ImportState) -> None:
        self.conn = conn
        self.state = state
        models: tuple[type[Base], ...] = (
            Customer,
            Product,
            Variant,
            SkuAlias,
            JournalEntry,
            JournalLine,
            SalesOrder,
            OrderLine,
            Invoice,
        )
        self.ids = {
            _table(model).name: IdBlock(conn, _table(model)) for model in models
        }
        self.customers: list[tuple[Any, ...]] = []
        self.products: list[tuple[Any, ...]] = []
        self.variants: list[tuple[Any, ...]] = []
        self.aliases: list[tuple[Any, ...]] = []
        self.entries: list[tuple[Any, ...]] = []
        self.journal_lines: list[tuple[Any, ...]] = []
        self.orders: list[tuple[Any, ...]] = []
        self.order_lines: list[tuple[Any, ...]] = []
        self.invoices: list[tuple[Any, ...]] = []

        now = datetime.now().astimezone()
        channel_id = state.channel_id
        currency = state.currency
        self.inserts = _inserts(conn, channel_id, currency, now)
        price = self.inserts["order_line"].processor("unit_price")
        moment = self.inserts["sales_order"].processor("placed_at")
        day = self.inserts["journal_entry"].processor("entry_date")
        self.to_db_price: Callable[[Any], Any] = price or _unchanged
        self.to_db_time: Callable[[Any], Any] = moment or _unchanged
        self.to_db_date: Callable[[Any], Any] = day or _unchanged

    def flush(self) -> None:
        """Insert every queued row, parents before children."""
        inserts = self.inserts
        inserts["customer"](self.customers)
        inserts["product"](self.products)
        inserts["variant"](self.variants)
        inserts["sku_alias"](self.aliases)
        inserts["journal_entry"](self.entries)
        inserts["journal_line"](self.journal_lines)
        inserts["sales_order"](self.orders)
        inserts["order_line"](self.order_lines)
        inserts["invoice"](self.invoices)
        for block in self.ids.values():
            block.finish()


def _unchanged(value: Any) -> Any:
    return value


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _inserts(
    conn: Connection, channel_id: int | None, currency: str, now: datetime
) -> dict[str, BulkInsert]:
    """Build the chunk's inserts: the columns each row gives, the rest fixed."""
    return {
        "customer": BulkInsert(
            conn,
            _table(Customer),
            ("id", "external_id", "country", "is_guest"),
            {"channel_id": channel_id, "name": "", "created_at": now},
        ),
        "product": BulkInsert(
            conn,
            _table(Product),
            ("id", "title"),
            {"created_at": now},
        ),
        "variant": BulkInsert(
            conn,
            _table(Variant),
            ("id", "product_id", "sku", "sku_key", "title"),
            {"created_at": now},
        ),
        "sku_alias": BulkInsert(
            conn,
            _table(SkuAlias),
            ("id", "variant_id", "kind", "text"),
        ),
        "journal_entry": BulkInsert(
            conn,
            _table(JournalEntry),
            (
                "id",
                "entry_date",
                "occurred_at",
                "description",
                "kind",
                "source_type",
                "source_id",
            ),
            {"recorded_at": now},
        ),
        "journal_line": BulkInsert(
            conn,
            _table(JournalLine),
            ("id", "entry_id", "account_id", "debit", "credit"),
            {"currency": currency, "channel_id": channel_id},
        ),
        "sales_order": BulkInsert(
            conn,
            _table(SalesOrder),
            (
                "id",
                "external_id",
                "customer_id",
                "placed_at",
                "ship_country",
                "subtotal",
                "discount_total",
                "shipping",
                "shipping_net_shop",
                "total",
                "total_shop",
                "posting_entry_id",
                "invoice_id",
            ),
            {
                "channel_id": channel_id,
                "status": "shipped",
                "historical": True,
                "currency": currency,
                "tax_source": "none",
                "tax_reason": "Imported history: the file has no tax split.",
                "shipping_recognized": True,
                "created_at": now,
                "updated_at": now,
            },
        ),
        "order_line": BulkInsert(
            conn,
            _table(OrderLine),
            (
                "id",
                "order_id",
                "line_no",
                "variant_id",
                "sku",
                "description",
                "quantity",
                "unit_price",
                "list_amount",
                "account_code",
            ),
            repeats={
                "list_net": "list_amount",
                "list_net_shop": "list_amount",
                "revenue_recognized_shop": "list_amount",
                "quantity_shipped": "quantity",
            },
        ),
        "invoice": BulkInsert(
            conn,
            _table(Invoice),
            (
                "id",
                "order_id",
                "kind",
                "series",
                "number",
                "display_number",
                "issued_at",
                "total",
                "credits_invoice_id",
                "journal_entry_id",
            ),
            {"currency": currency},
        ),
    }


@contextmanager
def _larger_page_cache(conn: Connection) -> Iterator[None]:
    """Give SQLite a 64 MiB page cache while a chunk is inserted.

    The order lines' variant index takes its inserts in random order. In a
    test inserting 541,906 order lines with random variant ids, SQLite's
    default 2 MB cache took about 16% more CPU time than 64 MiB. The
    connection's own cache size is restored afterwards.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size={-IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")
