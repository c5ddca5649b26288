"""Read a shop's invoice-line history in the UCI Online Retail layout.

One row is one invoice line: InvoiceNo, StockCode, Description, Quantity,
InvoiceDate (local time of the shop), UnitPrice (GBP), CustomerID, Country.
The Online Retail II spelling (Invoice, Price, Customer ID) is accepted too.
Invoice numbers starting with C are credit notes, with A bad-debt
adjustments. Every row becomes a ``HistoryLine`` with its ledger account from
an ``AccountMapping``, and ``ReadReport`` collects the counts and the
per-month, per-account sums that the import's reconciliation compares
against the ledger.

``read_history`` streams lines in chunks, ``validate`` reads the whole file
and returns only the report, and ``write_rejects`` writes the rows that had
problems to a CSV file for correction. Rows with problems never reach the
output, and every problem is reported rather than stopping at the first.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal, NamedTuple, cast, get_args
from zoneinfo import ZoneInfo

from app.core.importing.countries import country_code
from app.core.importing.errors import (
    CellValueError,
    MappingError,
    MissingColumnsError,
    Problem,
    ReadCancelled,
)
from app.core.importing.sources import (
    DateOrder,
    DecimalReader,
    IntegerReader,
    LocalDateTimeReader,
    TableSource,
    detect_date_order,
    open_table,
    write_table_csv,
)

logger = logging.getLogger(__name__)

LineKind = Literal["invoice", "credit_note", "adjustment"]
LineClass = Literal[
    "product",
    "manual",
    "sample",
    "shipping",
    "discount",
    "bank_charges",
    "commission",
    "bad_debt",
    "gift_voucher",
]
HeaderVariant = Literal["online_retail", "online_retail_ii", "mixed"]

LINE_CLASSES: tuple[str, ...] = get_args(LineClass)
CURRENCY = "GBP"
DEFAULT_TIME_ZONE = "Europe/London"
# Problems kept in ReadReport.problems. problem_count keeps counting past it.
MAX_STORED_PROBLEMS = 10_000
# Unit prices keep at most this many decimal places, exactly.
PRICE_PLACES = 4

# The first character of an invoice number decides the document kind.
_KIND_BY_PREFIX: dict[str, LineKind] = {"C": "credit_note", "A": "adjustment"}


# --- account mapping -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountRule:
    """The line class and ledger account codes for one kind of stock code."""

    line_class: LineClass
    invoice_account: str
    credit_note_account: str
    adjustment_account: str

    def account_for(self, kind: LineKind) -> str:
        """Return the account code for a line on a document of ``kind``."""
        if kind == "credit_note":
            return self.credit_note_account
        if kind == "adjustment":
            return self.adjustment_account
        return self.invoice_account

    def to_dict(self) -> dict[str, str]:
        return {
            "line_class": self.line_class,
            "invoice_account": self.invoice_account,
            "credit_note_account": self.credit_note_account,
            "adjustment_account": self.adjustment_account,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> AccountRule:
        """Build a rule from its JSON form, named by ``where`` in errors.

        ``credit_note_account`` and ``adjustment_account`` default to
        ``invoice_account``.
        """
        if not isinstance(data, Mapping):
            raise MappingError(f"Account mapping {where} must be an object.")
        line_class = data.get("line_class")
        if line_class not in LINE_CLASSES:
            raise MappingError(
                f"Account mapping {where}: line_class {line_class!r} is invalid. "
                f"Use one of {', '.join(LINE_CLASSES)}."
            )
        accounts: dict[str, str] = {}
        for key in ("invoice_account", "credit_note_account", "adjustment_account"):
            value = data.get(key, data.get("invoice_account"))
            if not isinstance(value, str) or not value.strip():
                raise MappingError(
                    f"Account mapping {where}: {key} {value!r} is invalid. "
                    'Give an account code such as "4000".'
                )
            accounts[key] = value.strip()
        return cls(
            cast(LineClass, line_class),
            accounts["invoice_account"],
            accounts["credit_note_account"],
            accounts["adjustment_account"],
        )


def _rule(line_class: LineClass, invoice: str, credit_note: str) -> AccountRule:
    return AccountRule(line_class, invoice, credit_note, invoice)


# The default classification of stock codes, matched exactly (case-sensitive).
_DEFAULT_CODES: tuple[tuple[tuple[str, ...], AccountRule], ...] = (
    (("M", "m"), _rule("manual", "4000", "4900")),
    (("S",), _rule("sample", "4000", "4900")),
    (("POST", "DOT", "C2"), _rule("shipping", "4010", "4010")),
    (("D",), _rule("discount", "4910", "4910")),
    (("BANK CHARGES",), _rule("bank_charges", "6110", "6110")),
    (("AMAZONFEE", "CRUK"), _rule("commission", "6100", "6100")),
    (("B",), _rule("bad_debt", "6300", "6300")),
)
# Glob patterns (fnmatch syntax, case-sensitive) tried in order after the codes.
_DEFAULT_PATTERNS: tuple[tuple[str, AccountRule], ...] = (
    ("gift_0001_*", _rule("gift_voucher", "2500", "2500")),
)
_DEFAULT_PRODUCT = _rule("product", "4000", "4900")


@dataclass
class AccountMapping:
    """Line classes and ledger accounts of stock codes, configurable per shop.

    A stock code is looked up exactly in ``codes``, then matched against
    ``patterns`` in order. Every other code is a product and uses
    ``product``. Only product codes are case-folded into one SKU, so ``m``
    and ``M`` are separate entries.
    """

    product: AccountRule
    codes: dict[str, AccountRule] = field(default_factory=dict)
    patterns: list[tuple[str, AccountRule]] = field(default_factory=list)

    @classmethod
    def default(cls) -> AccountMapping:
        codes = {code: rule for names, rule in _DEFAULT_CODES for code in names}
        return cls(_DEFAULT_PRODUCT, codes, list(_DEFAULT_PATTERNS))

    def rule_for(self, stock_code: str) -> AccountRule:
        rule = self.codes.get(stock_code)
        if rule is not None:
            return rule
        for pattern, pattern_rule in self.patterns:
            if fnmatchcase(stock_code, pattern):
                return pattern_rule
        return self.product

    def to_dict(self) -> dict[str, object]:
        """Return the mapping as plain JSON-serialisable data."""
        return {
            "product": self.product.to_dict(),
            "codes": {code: rule.to_dict() for code, rule in self.codes.items()},
            "patterns": [
                {"pattern": pattern, **rule.to_dict()}
                for pattern, rule in self.patterns
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AccountMapping:
        """Build a mapping from ``to_dict`` output or raise MappingError."""
        product = AccountRule.from_dict(data.get("product"), "product")

        raw_codes = data.get("codes", {})
        if not isinstance(raw_codes, Mapping):
            raise MappingError("Account mapping codes must be an object.")
        codes = {
            str(code): AccountRule.from_dict(rule, f"code {code!r}")
            for code, rule in raw_codes.items()
        }

        raw_patterns = data.get("patterns", [])
        if not isinstance(raw_patterns, list):
            raise MappingError("Account mapping patterns must be a list.")
        patterns: list[tuple[str, AccountRule]] = []
        for index, entry in enumerate(raw_patterns):
            pattern = entry.get("pattern") if isinstance(entry, Mapping) else None
            if not isinstance(pattern, str) or not pattern:
                raise MappingError(
                    f"Account mapping pattern {index + 1} needs a non-empty "
                    '"pattern" such as "gift_0001_*".'
                )
            patterns.append((pattern, AccountRule.from_dict(entry, repr(pattern))))
        return cls(product, codes, patterns)


# --- records ---------------------------------------------------------------


class HistoryLine(NamedTuple):
    """One invoice line, with its ledger account and amounts in GBP.

    ``amount_minor`` is quantity × unit price in pence, rounded half away from
    zero, so a credit note's amount is the exact negative of its invoice's.
    ``invoice_local`` is the naive local time as written and ``invoice_utc``
    the aware UTC instant (see ``LocalDateTimeReader`` for clock changes).
    ``sku_key`` is the upper-cased stock code, the identity of a SKU.
    ``is_write_off`` marks a negative quantity at price 0 on an ordinary
    invoice, which the shop used to write stock off.

    A named tuple rather than a frozen dataclass, because a file has hundreds
    of thousands of lines and a frozen dataclass takes several times longer to
    construct.
    """

    row: int
    invoice_no: str
    kind: LineKind
    stock_code: str
    sku_key: str
    description: str
    quantity: int
    unit_price: Decimal
    amount_minor: int
    invoice_local: datetime
    invoice_utc: datetime
    customer_id: str | None
    country_name: str
    country_code: str | None
    account_code: str
    line_class: LineClass
    is_write_off: bool


@dataclass(frozen=True, slots=True)
class SkuName:
    """A SKU's name (its most frequent description) and its other descriptions."""

    sku_key: str
    name: str
    aliases: tuple[str, ...]


@dataclass
class ReadReport:
    """Counts, totals and problems of one read of a history file.

    The reader fills it in, and the counts are final once ``completed`` is
    True. Amounts are in minor units of ``currency``.
    ``month_account_totals`` maps a local month ("2011-07") to account code
    to summed ``amount_minor``. ``rejected_rows`` lists every row left out
    because of a problem, even past the ``MAX_STORED_PROBLEMS`` problems
    kept in ``problems``, and ``rejected_invoices`` maps the invoice number
    of those rows (where the row has one) to its first rejected row, so that
    an importer can hold back the rest of each such invoice.
    ``duplicate_lines`` counts lines whose values (every field as read, the
    row number aside) repeat an earlier line's. They are kept as lines.
    Rejected rows are not compared.
    ``invoice_numbers`` counts distinct invoice numbers of all kinds, and
    ``invoices`` only the ordinary ones.

    Rows of the invoices the caller asked to skip (``skip_invoices`` of
    ``read_history``) are counted in ``rows``, ``skipped_lines`` and
    ``skipped_invoices`` only: the other counts, the totals and the
    duplicates describe the rows read in full.
    """

    file: str
    encoding: str
    header: list[str]
    header_variant: HeaderVariant
    missing_optional_columns: list[str] = field(default_factory=list)
    currency: str = CURRENCY
    date_order: DateOrder = "iso"
    date_order_assumed: bool = False
    completed: bool = False
    rows: int = 0
    lines: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    rejected_invoices: dict[str, int] = field(default_factory=dict)
    skipped_lines: int = 0
    skipped_invoices: int = 0
    invoice_numbers: int = 0
    invoices: int = 0
    credit_notes: int = 0
    adjustments: int = 0
    lines_by_kind: dict[str, int] = field(default_factory=dict)
    customers: int = 0
    lines_without_customer: int = 0
    skus: int = 0
    duplicate_lines: int = 0
    unknown_countries: dict[str, int] = field(default_factory=dict)
    write_offs: int = 0
    empty_descriptions: int = 0
    total_amount_minor: int = 0
    month_account_totals: dict[str, dict[str, int]] = field(default_factory=dict)
    sku_descriptions: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.completed and self.problem_count == 0

    def sku_names(self) -> dict[str, SkuName]:
        """Return each SKU key's name and aliases from the descriptions counted."""
        return _names_from_counts(self.sku_descriptions)


def description_names(lines: Iterable[HistoryLine]) -> dict[str, SkuName]:
    """Name each SKU key by its most frequent non-empty description.

    Ties go to the description seen first. The other descriptions become
    aliases, most frequent first. A SKU key with only empty descriptions
    gets no entry.
    """
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        if line.description:
            counts.setdefault(line.sku_key, Counter())[line.description] += 1
    return _names_from_counts(counts)


def _names_from_counts(counts: Mapping[str, Counter[str]]) -> dict[str, SkuName]:
    names: dict[str, SkuName] = {}
    for sku_key, counter in counts.items():
        ranked = [text for text, _ in counter.most_common()]
        if ranked:
            names[sku_key] = SkuName(sku_key, ranked[0], tuple(ranked[1:]))
    return names


# --- columns ---------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    field: str
    spellings: tuple[str, ...]
    required: bool


_COLUMNS: tuple[_Column, ...] = (
    _Column("invoice_no", ("InvoiceNo", "Invoice"), True),
    _Column("stock_code", ("StockCode",), True),
    _Column("description", ("Description",), False),
    _Column("quantity", ("Quantity",), True),
    _Column("invoice_date", ("InvoiceDate",), True),
    _Column("unit_price", ("UnitPrice", "Price"), True),
    _Column("customer_id", ("CustomerID", "Customer ID"), False),
    _Column("country", ("Country",), False),
)


def _normalise_name(name: str) -> str:
    return "".join(name.split()).replace("_", "").casefold()


@dataclass(frozen=True)
class _Layout:
    """Positions of the fields in the rows of one file."""

    index: dict[str, int]
    names: dict[str, str]
    width: int
    variant: HeaderVariant
    missing_required: list[_Column]
    missing_optional: list[str]


def _resolve_layout(header: list[str]) -> _Layout:
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(_normalise_name(name), position)

    index: dict[str, int] = {}
    names: dict[str, str] = {}
    spelled: dict[str, str] = {}
    missing_required: list[_Column] = []
    missing_optional: list[str] = []
    for column in _COLUMNS:
        for spelling in column.spellings:
            found = positions.get(_normalise_name(spelling))
            if found is not None:
                index[column.field] = found
                names[column.field] = header[found]
                spelled[column.field] = spelling
                break
        else:
            if column.required:
                missing_required.append(column)
            else:
                missing_optional.append(column.spellings[0])

    forms = (spelled.get("invoice_no"), spelled.get("unit_price"))
    variant: HeaderVariant = "mixed"
    if forms == ("InvoiceNo", "UnitPrice"):
        variant = "online_retail"
    elif forms == ("Invoice", "Price"):
        variant = "online_retail_ii"

    # Trailing unnamed columns, as spreadsheet exports often add, need no field.
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    return _Layout(index, names, width, variant, missing_required, missing_optional)


def column_names(header: list[str]) -> dict[str, str]:
    """Return each field's column name as the header spells it.

    Fields are ``invoice_no``, ``stock_code``, ``description``, ``quantity``,
    ``invoice_date``, ``unit_price``, ``customer_id`` and ``country``; a
    field whose column is missing has no entry.
    """
    return dict(_resolve_layout(header).names)


def _missing_column_problems(source: TableSource, layout: _Layout) -> list[Problem]:
    found = ", ".join(repr(name) for name in source.header)
    problems = []
    for column in layout.missing_required:
        spellings = " or ".join(repr(spelling) for spelling in column.spellings)
        problems.append(
            Problem(
                file=str(source.path),
                row=1,
                column=column.spellings[0],
                value=found,
                message=(
                    f"The header has no {column.spellings[0]} column. Columns "
                    f"found: {found}. Name the column {spellings} in the header "
                    "row and import again."
                ),
            )
        )
    return problems


# --- reading rows ----------------------------------------------------------


class _LineReader:
    """Turn the fields of one row into a HistoryLine or a list of problems.

    Every cell reader caches by text, so each distinct price, quantity,
    timestamp, stock code and country is parsed once per file.
    """

    def __init__(
        self,
        source: TableSource,
        layout: _Layout,
        mapping: AccountMapping,
        dates: LocalDateTimeReader,
    ) -> None:
        self.file = str(source.path)
        self.delimiter = source.delimiter or ","
        self.layout = layout
        self.mapping = mapping
        self.dates = dates
        self.prices = DecimalReader(PRICE_PLACES)
        self.quantities = IntegerReader()
        self._codes: dict[str, tuple[str, AccountRule]] = {}
        self._countries: dict[str, str | None] = {}
        self._customers: dict[str, str | None] = {}
        self._months: dict[datetime, str] = {}

        index = layout.index
        self.i_invoice = index["invoice_no"]
        self.i_stock = index["stock_code"]
        self.i_quantity = index["quantity"]
        self.i_date = index["invoice_date"]
        self.i_price = index["unit_price"]
        self.i_description = index.get("description")
        self.i_customer = index.get("customer_id")
        self.i_country = index.get("country")
        self.read_valid = self._valid_row_reader()

    def read(self, row: int, fields: list[str]) -> HistoryLine | list[Problem]:
        line = self.read_valid(row, fields)
        if line is not None:
            return line
        return self.read_checked(row, fields)

    def _valid_row_reader(
        self,
    ) -> Callable[[int, list[str]], HistoryLine | None]:
        """Build the per-row reader for rows without problems.

        It returns None for any row that needs a closer look (a wrong field
        count, an empty or unreadable cell), and ``read_checked`` then words
        the problems. Every distinct cell text is parsed once and looked up in
        a dict afterwards. Repeated texts (invoice numbers, descriptions,
        country names) are shared between lines to save memory.
        """
        width = self.layout.width
        i_invoice, i_stock, i_quantity = self.i_invoice, self.i_stock, self.i_quantity
        i_date, i_price = self.i_date, self.i_price
        i_description, i_country = self.i_description, self.i_country
        mapping, read_customer = self.mapping, self._customer
        i_customer, customers = self.i_customer, self._customers
        make_line = tuple.__new__
        parse_quantity, parse_price = self.quantities.parse, self.prices.parse
        parse_date, month_of = self.dates.parse, self.month_of
        invoices: dict[str, tuple[str, LineKind]] = {}
        codes: dict[str, tuple[str, str, LineClass, dict[str, str]]] = {}
        quantities: dict[str, int] = {}
        prices: dict[str, tuple[Decimal, int]] = {}
        dates: dict[str, tuple[datetime, datetime]] = {}
        texts: dict[str, str] = {}
        countries: dict[str, tuple[str, str | None]] = {}
        kind_by_prefix = _KIND_BY_PREFIX

        def read_valid(row: int, fields: list[str]) -> HistoryLine | None:
            if len(fields) != width:
                return None
            text = fields[i_invoice]
            invoice = invoices.get(text)
            if invoice is None:
                invoice_no = text.strip()
                if not invoice_no:
                    return None
                invoice = (invoice_no, kind_by_prefix.get(invoice_no[0], "invoice"))
                invoices[text] = invoice
            invoice_no, kind = invoice

            text = fields[i_stock]
            coded = codes.get(text)
            if coded is None:
                stock_code = text.strip()
                if not stock_code:
                    return None
                rule = mapping.rule_for(stock_code)
                accounts = {
                    "invoice": rule.invoice_account,
                    "credit_note": rule.credit_note_account,
                    "adjustment": rule.adjustment_account,
                }
                coded = (stock_code, stock_code.upper(), rule.line_class, accounts)
                codes[text] = coded
            stock_code, sku_key, line_class, accounts = coded

            text = fields[i_quantity]
            quantity = quantities.get(text)
            if quantity is None:
                try:
                    quantity = quantities[text] = parse_quantity(text)
                except CellValueError:
                    return None
            text = fields[i_price]
            price = prices.get(text)
            if price is None:
                try:
                    price = prices[text] = parse_price(text)
                except CellValueError:
                    return None
            text = fields[i_date]
            moment = dates.get(text)
            if moment is None:
                try:
                    moment = dates[text] = parse_date(text)
                except CellValueError:
                    return None
                month_of(moment[0])

            # The price is in units of 10**-4 GBP and a penny is 100 of
            # those. Ties round away from zero.
            unit_price, price_scaled = price
            scaled = quantity * price_scaled
            if scaled >= 0:
                amount_minor = (scaled + 50) // 100
            else:
                amount_minor = -((50 - scaled) // 100)

            description = ""
            if i_description is not None:
                text = fields[i_description]
                description = texts.setdefault(text, text)
            country_name, code = "", None
            if i_country is not None:
                text = fields[i_country]
                country = countries.get(text)
                if country is None:
                    country = countries[text] = (text, country_code(text))
                country_name, code = country
            customer = None
            if i_customer is not None:
                try:
                    customer = customers[fields[i_customer]]
                except KeyError:
                    customer = read_customer(fields)
            # tuple.__new__ skips the named tuple's Python-level __new__.
            return make_line(
                HistoryLine,
                (
                    row,
                    invoice_no,
                    kind,
                    stock_code,
                    sku_key,
                    description,
                    quantity,
                    unit_price,
                    amount_minor,
                    moment[0],
                    moment[1],
                    customer,
                    country_name,
                    code,
                    accounts[kind],
                    line_class,
                    quantity < 0 and price_scaled == 0 and kind == "invoice",
                ),
            )

        return read_valid

    def read_checked(self, row: int, fields: list[str]) -> HistoryLine | list[Problem]:
        width = self.layout.width
        if len(fields) != width and (
            len(fields) < width or any(f.strip() for f in fields[width:])
        ):
            return [self._field_count_problem(row, fields)]

        problems: list[Problem] = []
        invoice_no = fields[self.i_invoice].strip()
        if not invoice_no:
            problems.append(
                self._problem(
                    row,
                    "invoice_no",
                    "is empty. Enter the line's invoice number (credit notes "
                    "start with C)",
                )
            )
        stock_code = fields[self.i_stock].strip()
        if not stock_code:
            problems.append(
                self._problem(row, "stock_code", "is empty. Enter the stock code")
            )
        try:
            quantity = self.quantities.parse(fields[self.i_quantity])
        except CellValueError as exc:
            problems.append(
                self._problem(
                    row,
                    "quantity",
                    f"{exc}. Enter a whole number such as 6 or -2",
                    fields[self.i_quantity],
                )
            )
        try:
            unit_price, price_scaled = self.prices.parse(fields[self.i_price])
        except CellValueError as exc:
            problems.append(
                self._problem(
                    row,
                    "unit_price",
                    f"{exc}. Enter a price with at most {PRICE_PLACES} decimal "
                    "places, such as 2.55",
                    fields[self.i_price],
                )
            )
        try:
            local, utc = self.dates.parse(fields[self.i_date])
        except CellValueError as exc:
            problems.append(
                self._problem(
                    row,
                    "invoice_date",
                    f"{exc}. Write the date in that form",
                    fields[self.i_date],
                )
            )
        if problems:
            return problems

        kind = _KIND_BY_PREFIX.get(invoice_no[0], "invoice")
        coded = self._codes.get(stock_code)
        if coded is None:
            coded = (stock_code.upper(), self.mapping.rule_for(stock_code))
            self._codes[stock_code] = coded
        sku_key, rule = coded

        # The price is in units of 10**-4 GBP and a penny is 100 of those.
        # Ties round away from zero.
        scaled = quantity * price_scaled
        pence, remainder = divmod(abs(scaled), 100)
        if remainder >= 50:
            pence += 1
        amount_minor = pence if scaled >= 0 else -pence

        i_description, i_country = self.i_description, self.i_country
        description = fields[i_description] if i_description is not None else ""
        country_name = fields[i_country] if i_country is not None else ""
        return HistoryLine(
            row,
            invoice_no,
            kind,
            stock_code,
            sku_key,
            description,
            quantity,
            unit_price,
            amount_minor,
            local,
            utc,
            self._customer(fields),
            country_name,
            self._country_code(country_name),
            rule.account_for(kind),
            rule.line_class,
            quantity < 0 and price_scaled == 0 and kind == "invoice",
        )

    def month_of(self, local: datetime) -> str:
        month = self._months.get(local)
        if month is None:
            month = f"{local.year:04d}-{local.month:02d}"
            self._months[local] = month
        return month

    def _customer(self, fields: list[str]) -> str | None:
        if self.i_customer is None:
            return None
        text = fields[self.i_customer]
        try:
            return self._customers[text]
        except KeyError:
            pass
        # pandas writes a numeric column with blanks as floats, so IDs read
        # "17850.0".
        customer = text.strip()
        whole, point, fraction = customer.partition(".")
        if point and whole.isdigit() and not fraction.strip("0"):
            customer = whole
        result = customer or None
        self._customers[text] = result
        return result

    def _country_code(self, name: str) -> str | None:
        try:
            return self._countries[name]
        except KeyError:
            code = country_code(name)
            self._countries[name] = code
            return code

    def _problem(
        self, row: int, field_name: str, fault: str, value: str = ""
    ) -> Problem:
        column = self.layout.names[field_name]
        quoted_value = f" {value!r}" if value else ""
        return Problem(
            file=self.file,
            row=row,
            column=column,
            value=value,
            message=f"{column}{quoted_value} {fault}, then import again.",
        )

    def _field_count_problem(self, row: int, fields: list[str]) -> Problem:
        width = self.layout.width
        delimiter = repr(self.delimiter)
        if len(fields) < width:
            fix = f"Add the missing fields, each after a {delimiter}"
        else:
            fix = f"Put double quotes around each field that contains a {delimiter}"
        return Problem(
            file=self.file,
            row=row,
            column=None,
            value=self.delimiter.join(fields),
            message=(
                f"The row has {len(fields)} fields but the header has {width}. "
                f"{fix}, then import again."
            ),
        )


class _Tally:
    """Running counts behind a ReadReport."""

    def __init__(self, reader: _LineReader) -> None:
        self.reader = reader
        self.kinds: dict[str, LineKind] = {}
        self.lines_by_kind: Counter[str] = Counter()
        self.customers: set[str] = set()
        self.without_customer = 0
        self.skus: set[str] = set()
        # The first line seen with each hash of a line's values, and the
        # values of later different lines that share a hash with it.
        self.first_by_hash: dict[int, HistoryLine] = {}
        self.collided: set[tuple[object, ...]] = set()
        self.duplicates = 0
        self.unknown_countries: Counter[str] = Counter()
        self.write_offs = 0
        self.empty_descriptions = 0
        self.total = 0
        self.month_totals: dict[str, dict[str, int]] = {}
        self.descriptions: dict[str, Counter[str]] = {}

    def add_lines(self, lines: list[HistoryLine]) -> None:
        """Count a chunk of lines.

        Lines of one invoice usually follow each other and share their
        invoice number, customer and time objects, so those are counted
        again only when they change from the previous line.
        """
        kinds, lines_by_kind = self.kinds, self.lines_by_kind
        customers, skus = self.customers, self.skus
        unknown_countries, descriptions = self.unknown_countries, self.descriptions
        month_totals, month_of = self.month_totals, self.reader.month_of
        first_by_hash, collided = self.first_by_hash, self.collided
        without_customer = write_offs = empty_descriptions = total = 0
        duplicates = 0
        last_invoice = last_customer = last_local = None
        accounts: dict[str, int] = {}
        for line in lines:
            # Every value but the row number. The strings, Decimals and
            # datetimes are shared between lines and cache their hashes. Lines
            # are kept by hash, so memory grows by a dict entry per line and
            # not by a copy of its values, and equal hashes are compared.
            values = line[1:]
            key = hash(values)
            earlier = first_by_hash.get(key)
            if earlier is None:
                first_by_hash[key] = line
            elif earlier[1:] == values or values in collided:
                duplicates += 1
            else:
                collided.add(values)
            (
                _row,
                invoice_no,
                kind,
                _stock_code,
                sku_key,
                description,
                _quantity,
                _unit_price,
                amount,
                local,
                _utc,
                customer,
                country_name,
                country,
                account,
                line_class,
                write_off,
            ) = line
            if invoice_no is not last_invoice:
                last_invoice = invoice_no
                if invoice_no not in kinds:
                    kinds[invoice_no] = kind
            lines_by_kind[kind] += 1
            if customer is None:
                without_customer += 1
            elif customer is not last_customer:
                last_customer = customer
                customers.add(customer)
            if line_class == "product":
                skus.add(sku_key)
            if country is None:
                unknown_countries[country_name] += 1
            if write_off:
                write_offs += 1
            if description:
                counter = descriptions.get(sku_key)
                if counter is None:
                    counter = descriptions[sku_key] = Counter()
                counter[description] += 1
            else:
                empty_descriptions += 1

            total += amount
            if local is not last_local:
                last_local = local
                month = month_of(local)
                accounts = month_totals.get(month) or month_totals.setdefault(month, {})
            accounts[account] = accounts.get(account, 0) + amount
        self.duplicates += duplicates
        self.without_customer += without_customer
        self.write_offs += write_offs
        self.empty_descriptions += empty_descriptions
        self.total += total

    def fill(self, report: ReadReport) -> None:
        kinds = Counter(self.kinds.values())
        report.invoice_numbers = len(self.kinds)
        report.invoices = kinds["invoice"]
        report.credit_notes = kinds["credit_note"]
        report.adjustments = kinds["adjustment"]
        report.lines_by_kind = dict(self.lines_by_kind)
        report.customers = len(self.customers)
        report.lines_without_customer = self.without_customer
        report.skus = len(self.skus)
        report.duplicate_lines = self.duplicates
        report.unknown_countries = dict(self.unknown_countries)
        report.write_offs = self.write_offs
        report.empty_descriptions = self.empty_descriptions
        report.total_amount_minor = self.total
        report.month_account_totals = {
            month: dict(sorted(accounts.items()))
            for month, accounts in sorted(self.month_totals.items())
        }
        report.sku_descriptions = self.descriptions


class HistoryStream(Iterator[list[HistoryLine]]):
    """Chunks of HistoryLines read from one file, with the report of the read.

    ``report`` fills in while the stream is consumed and is complete once the
    stream is exhausted. Rows with problems are left out of the chunks and
    recorded in the report.
    """

    def __init__(
        self,
        path: str | Path,
        mapping: AccountMapping,
        *,
        chunk_size: int,
        progress: Callable[[int, int], None] | None,
        cancel: Callable[[], bool] | None,
        time_zone: str,
        skip_invoices: Container[str] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        self.source = open_table(path)
        self.layout = _resolve_layout(self.source.header)
        self.report = ReadReport(
            file=str(self.source.path),
            encoding=self.source.encoding,
            header=list(self.source.header),
            header_variant=self.layout.variant,
            missing_optional_columns=self.layout.missing_optional,
        )
        self.header_problems = _missing_column_problems(self.source, self.layout)
        self._mapping = mapping
        self._chunk_size = chunk_size
        self._progress = progress
        self._cancel = cancel
        self._time_zone = ZoneInfo(time_zone)
        self._skip = skip_invoices
        self._chunks: Iterator[list[HistoryLine]] | None = None

    def __next__(self) -> list[HistoryLine]:
        if self._chunks is None:
            if self.header_problems:
                raise MissingColumnsError(self.header_problems)
            self._chunks = self._read()
        return next(self._chunks)

    def _read(self) -> Iterator[list[HistoryLine]]:
        source, report = self.source, self.report
        logger.info("reading history from %s", source.path)
        order, assumed = _scan_date_order(source, self.layout.index["invoice_date"])
        report.date_order, report.date_order_assumed = order, assumed
        if assumed:
            logger.warning(
                "%s: no date proves day/month or month/day order; reading month/day",
                source.path,
            )
        reader = _LineReader(
            source,
            self.layout,
            self._mapping,
            LocalDateTimeReader(order, self._time_zone),
        )
        tally = _Tally(reader)

        # The loop body runs once per row, so it calls as few functions as it
        # can: the reader's checked path runs only for rows the fast path
        # leaves.
        read_valid, read_checked = reader.read_valid, reader.read_checked
        chunk_size = self._chunk_size
        chunk: list[HistoryLine] = []
        rows_in_chunk = skipped = 0
        skip = self._skip or ()
        i_invoice = self.layout.index["invoice_no"]
        skipping: dict[str, bool] = {}
        for row, fields in source.rows():
            rows_in_chunk += 1
            skipped_row = False
            if skip and len(fields) > i_invoice:
                text = fields[i_invoice]
                found = skipping.get(text)
                if found is None:
                    found = skipping[text] = text.strip() in skip
                skipped_row = found
            if skipped_row:
                skipped += 1
            else:
                line = read_valid(row, fields)
                if line is None:
                    result = read_checked(row, fields)
                    if isinstance(result, list):
                        self._reject(row, result, fields)
                    else:
                        chunk.append(result)
                else:
                    chunk.append(line)

            if rows_in_chunk >= chunk_size:
                report.rows += rows_in_chunk
                rows_in_chunk = 0
                self._check_cancel(row)
                self._report_progress()
                if chunk:
                    tally.add_lines(chunk)
                    report.lines += len(chunk)
                    yield chunk
                    chunk = []

        report.rows += rows_in_chunk
        report.skipped_lines = skipped
        report.skipped_invoices = len(
            {text.strip() for text, skipped_row in skipping.items() if skipped_row}
        )
        tally.add_lines(chunk)
        report.lines += len(chunk)
        tally.fill(report)
        report.completed = True
        self._report_progress()
        logger.info(
            "read %d lines from %s, %d rows rejected with %d problems",
            report.lines,
            source.path,
            len(report.rejected_rows),
            report.problem_count,
        )
        if chunk:
            yield chunk

    def _reject(self, row: int, problems: list[Problem], fields: list[str]) -> None:
        report = self.report
        report.rejected_rows.append(row)
        i_invoice = self.layout.index["invoice_no"]
        if i_invoice < len(fields) and fields[i_invoice].strip():
            report.rejected_invoices.setdefault(fields[i_invoice].strip(), row)
        report.problem_count += len(problems)
        room = MAX_STORED_PROBLEMS - len(report.problems)
        if room > 0:
            report.problems.extend(problems[:room])

    def _check_cancel(self, row: int) -> None:
        if self._cancel is not None and self._cancel():
            logger.info("reading %s cancelled at row %d", self.source.path, row)
            raise ReadCancelled(
                f"Reading {self.source.path} was cancelled at row {row}; the "
                "rows after it were not read."
            )

    def _report_progress(self) -> None:
        if self._progress is not None:
            self._progress(self.source.progress_done, self.source.progress_total)


def _scan_date_order(source: TableSource, date_index: int) -> tuple[DateOrder, bool]:
    """Detect the date order, reading the file only as far as the proof."""
    rows = source.rows()
    try:
        values = (f[date_index] for _, f in rows if len(f) > date_index)
        return detect_date_order(values)
    finally:
        rows.close()


def read_history(
    path: str | Path,
    mapping: AccountMapping | None = None,
    *,
    chunk_size: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
    skip_invoices: Container[str] | None = None,
) -> HistoryStream:
    """Stream the file's invoice lines in chunks of about ``chunk_size`` rows.

    ``progress(done, total)`` is called after each chunk and at the end, in
    the source's ``progress_unit``. ``cancel()`` is checked after each chunk
    and raises ReadCancelled when it returns True. Raises UnreadableFileError
    when the file cannot be opened, and MissingColumnsError on the first
    ``next()`` when a required column is missing. The returned stream's
    ``report`` is complete once the stream is exhausted.

    Rows whose invoice number is in ``skip_invoices`` are only counted: an
    importer passes the invoice numbers it already holds, so that reading a
    file again costs little more than parsing its CSV.
    """
    return HistoryStream(
        path,
        mapping or AccountMapping.default(),
        chunk_size=chunk_size,
        progress=progress,
        cancel=cancel,
        time_zone=time_zone,
        skip_invoices=skip_invoices,
    )


def validate(
    path: str | Path,
    mapping: AccountMapping | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> ReadReport:
    """Read the whole file once and return the report with every problem.

    A missing required column is returned as problems on row 1, and then no
    other row is read.
    """
    stream = read_history(
        path, mapping, progress=progress, cancel=cancel, time_zone=time_zone
    )
    if stream.header_problems:
        stream.report.problems = list(stream.header_problems)
        stream.report.problem_count = len(stream.header_problems)
        stream.report.completed = True
        return stream.report
    for _ in stream:
        pass
    return stream.report


def rejects_path(path_in: str | Path) -> Path:
    """Return the default rejects file beside the input, ``NAME.rejected.csv``."""
    path = Path(path_in)
    name = path.name
    for suffix in (".csv.gz", ".gz", ".csv", ".xlsx"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(f"{name}.rejected.csv")


def write_rejects(
    path_in: str | Path,
    report: ReadReport,
    dest: str | Path | None = None,
    *,
    more_rows: Mapping[int, str] | None = None,
) -> Path:
    """Write the rows in ``report.rejected_rows`` to a CSV file and return its path.

    The file has an ``error`` column first, then the input's header and the
    rows' original fields, so that a person can correct the rows and import
    the file again. The rows are read again from ``path_in`` and checked again
    to word the errors, so the count of stored problems does not limit it.
    ``more_rows`` adds rows that an importer rejected after the read, each
    with its error message (for example, the other rows of an invoice that
    has a bad row).
    """
    dest_path = Path(dest) if dest is not None else rejects_path(path_in)
    source = open_table(path_in)
    layout = _resolve_layout(source.header)
    if layout.missing_required:
        raise MissingColumnsError(_missing_column_problems(source, layout))
    dates = LocalDateTimeReader(report.date_order, ZoneInfo(DEFAULT_TIME_ZONE))
    reader = _LineReader(source, layout, AccountMapping.default(), dates)
    rejected_numbers = set(report.rejected_rows)
    extra = dict(more_rows or {})

    def rejected() -> Iterator[list[str]]:
        for row, fields in source.rows():
            if row in extra and row not in rejected_numbers:
                yield [f"row {row}: {extra[row]}", *fields]
                continue
            if row not in rejected_numbers:
                continue
            result = reader.read(row, fields)
            problems = [] if isinstance(result, HistoryLine) else result
            error = " ".join(p.message for p in problems) or "Rejected on the read."
            yield [f"row {row}: {error}", *fields]

    count = write_table_csv(dest_path, ["error", *source.header], rejected())
    logger.info("wrote %d rejected rows to %s", count, dest_path)
    return dest_path
