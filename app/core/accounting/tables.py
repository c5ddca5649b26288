"""Every report as one printable table: for the PDF, the CSV and the terminal.

:func:`report_table` turns a report dataclass (the three of
:mod:`app.core.reports` and the four of this package) into a
:class:`ReportTable` of typed cells. Amount cells stay integer minor units
until a renderer formats them: plain decimals for CSV ("1234.50"), grouped
digits for PDF and screen ("1,234.50").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from app.core.accounting.ledger_reports import ChannelProfitability, GeneralLedger
from app.core.accounting.stock_report import InventoryValuation
from app.core.accounting.tax_report import SalesTaxReport
from app.core.exports.csvsafe import open_safe_csv
from app.core.money import format_minor, round_half_up
from app.core.reports import AccountBalance, BalanceSheet, ProfitLoss, TrialBalance

Cell = str | int | Decimal | None


@dataclass(frozen=True, slots=True)
class ReportColumn:
    """A column; ``kind`` is ``text``, ``amount`` (minor units), ``count``,
    ``rate`` (a percent) or ``date``. ``weight`` widens or narrows it on
    paper relative to the default width of its kind."""

    title: str
    kind: str = "text"
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row; ``style`` is ``line``, ``heading`` (a section title) or ``total``."""

    cells: tuple[Cell, ...]
    style: str = "line"


@dataclass(frozen=True, slots=True)
class ReportTable:
    """A report ready to print: titles, columns, rows and closing notes."""

    key: str
    title: str
    shop_name: str
    currency: str
    period: str
    columns: tuple[ReportColumn, ...]
    rows: tuple[ReportRow, ...]
    notes: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        return self.key


def period_text(
    date_from: date | None, date_to: date | None, *, as_of: bool = False
) -> str:
    if as_of:
        return f"as of {date_to.isoformat()}" if date_to else "as of today"
    if date_from and date_to:
        return f"{date_from.isoformat()} to {date_to.isoformat()}"
    if date_to:
        return f"up to {date_to.isoformat()}"
    if date_from:
        return f"from {date_from.isoformat()}"
    return "all dates"


def _percent(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.1"))


# --- the reports ------------------------------------------------------------

AMOUNT = ReportColumn("Amount", "amount")


def _trial_balance(report: TrialBalance, shop: str) -> ReportTable:
    rows = [
        ReportRow((r.code, r.name, r.debit or None, r.credit or None))
        for r in report.rows
        if r.debit or r.credit
    ]
    rows.append(
        ReportRow(("", "Total", report.total_debit, report.total_credit), "total")
    )
    return ReportTable(
        "trial-balance",
        "Trial balance",
        shop,
        report.currency,
        period_text(report.date_from, report.as_of, as_of=report.date_from is None),
        (
            ReportColumn("Code", weight=0.6),
            ReportColumn("Account", weight=3.0),
            ReportColumn("Debit", "amount"),
            ReportColumn("Credit", "amount"),
        ),
        tuple(rows),
    )


def _section(
    title: str, items: Sequence[AccountBalance], total: int
) -> list[ReportRow]:
    rows = [ReportRow(("", title, None), "heading")]
    rows += [ReportRow((r.code, r.name, r.balance)) for r in items if r.balance]
    rows.append(ReportRow(("", f"Total {title.lower()}", total), "total"))
    return rows


def _profit_loss(report: ProfitLoss, shop: str) -> ReportTable:
    cogs = [r for r in report.expenses if r.code.startswith("5")]
    other = [r for r in report.expenses if not r.code.startswith("5")]
    rows = _section("Income", report.income, report.revenue)
    rows += _section("Cost of goods sold", cogs, report.cost_of_goods)
    rows.append(ReportRow(("", "Gross profit", report.gross_profit), "total"))
    rows += _section("Expenses", other, report.total_expenses - report.cost_of_goods)
    rows.append(ReportRow(("", "Net profit", report.net_profit), "total"))
    margin = _percent(report.gross_profit, report.revenue)
    notes = (
        f"Gross margin: {margin}% of income." if margin is not None else "No income.",
        "Year-end closing entries are left out, so a closed year still shows "
        "its result.",
    )
    return ReportTable(
        "profit-loss",
        "Profit and loss",
        shop,
        report.currency,
        period_text(report.date_from, report.date_to),
        (ReportColumn("Code", weight=0.6), ReportColumn("Account", weight=4.0), AMOUNT),
        tuple(rows),
        notes,
    )


def _balance_sheet(report: BalanceSheet, shop: str) -> ReportTable:
    rows = _section("Assets", report.assets, report.total_assets)
    rows += _section("Liabilities", report.liabilities, report.total_liabilities)
    equity = _section("Equity", report.equity, report.total_equity)
    equity.insert(-1, ReportRow(("", "Current earnings", report.current_earnings)))
    rows += equity
    rows.append(
        ReportRow(
            (
                "",
                "Liabilities and equity",
                report.total_liabilities + report.total_equity,
            ),
            "total",
        )
    )
    return ReportTable(
        "balance-sheet",
        "Balance sheet",
        shop,
        report.currency,
        period_text(None, report.as_of, as_of=True),
        (ReportColumn("Code", weight=0.6), ReportColumn("Account", weight=4.0), AMOUNT),
        tuple(rows),
    )


def _general_ledger(report: GeneralLedger, shop: str) -> ReportTable:
    rows: list[ReportRow] = []
    for account in report.accounts:
        rows.append(
            ReportRow(
                (
                    None,
                    None,
                    f"{account.code} {account.name}",
                    None,
                    None,
                    None,
                    None,
                    None,
                ),
                "heading",
            )
        )
        rows.append(
            ReportRow(
                (None, None, "Opening balance", None, None, account.opening, None, None)
            )
        )
        for line in account.lines:
            rows.append(
                ReportRow(
                    (
                        line.date.isoformat(),
                        line.entry_id,
                        line.description,
                        line.debit or None,
                        line.credit or None,
                        line.balance,
                        line.channel or "",
                        line.memo or "",
                    )
                )
            )
        rows.append(
            ReportRow(
                (
                    None,
                    None,
                    f"Closing balance {account.code}",
                    account.debit_total,
                    account.credit_total,
                    account.closing,
                    None,
                    None,
                ),
                "total",
            )
        )
    return ReportTable(
        "general-ledger",
        "General ledger",
        shop,
        report.currency,
        period_text(report.date_from, report.date_to),
        (
            ReportColumn("Date", "date"),
            ReportColumn("Entry", "count"),
            ReportColumn("Description", weight=3.2),
            ReportColumn("Debit", "amount"),
            ReportColumn("Credit", "amount"),
            ReportColumn("Balance", "amount"),
            ReportColumn("Channel", weight=1.0),
            ReportColumn("Memo", weight=1.6),
        ),
        tuple(rows),
        ("Balances are debit minus credit: a credit balance is negative.",),
    )


def _sales_tax(report: SalesTaxReport, shop: str) -> ReportTable:
    rows = [
        ReportRow(
            (
                r.country or "",
                r.region or "",
                r.name,
                r.rate.normalize() if r.rate is not None else None,
                r.charged,
                r.refunded,
                r.adjustments,
                r.owed,
            )
        )
        for r in report.rows
    ]
    rows.append(
        ReportRow(
            (
                "",
                "",
                "Total",
                None,
                report.total_charged,
                report.total_refunded,
                report.total_adjustments,
                report.total_owed,
            ),
            "total",
        )
    )
    return ReportTable(
        "sales-tax",
        "Sales tax",
        shop,
        report.currency,
        period_text(report.date_from, report.date_to),
        (
            ReportColumn("Country", weight=0.8),
            ReportColumn("Region", weight=0.8),
            ReportColumn("Tax", weight=1.8),
            ReportColumn("Rate %", "rate"),
            ReportColumn("Charged", "amount"),
            ReportColumn("Refunded", "amount"),
            ReportColumn("Adjustments", "amount"),
            ReportColumn("Owed", "amount"),
        ),
        tuple(rows),
        (
            "Charged: tax on sales; refunded: tax given back on credit notes and "
            "refunds; adjustments: channel tax that differs from the shop's rules.",
            "History imports carry no tax and are not included.",
        ),
    )


def _stock(report: InventoryValuation, shop: str) -> ReportTable:
    rows = [
        ReportRow(
            (
                r.sku,
                r.title,
                r.warehouse,
                r.quantity,
                round_half_up(r.unit_cost) if r.unit_cost is not None else None,
                r.value,
            )
        )
        for r in report.rows
    ]
    rows.append(
        ReportRow(
            ("Total", "", "", report.total_quantity, None, report.total_value), "total"
        )
    )
    return ReportTable(
        "stock",
        "Inventory valuation",
        shop,
        report.currency,
        period_text(None, report.as_of, as_of=True),
        (
            ReportColumn("SKU", weight=1.2),
            ReportColumn("Title", weight=2.6),
            ReportColumn("Warehouse", weight=1.0),
            ReportColumn("On hand", "count"),
            ReportColumn("Unit cost", "amount"),
            ReportColumn("Value", "amount"),
        ),
        tuple(rows),
        ("Valued at FIFO cost; the total equals account 1200 Inventory.",),
    )


def _channels(report: ChannelProfitability, shop: str) -> ReportTable:
    rows = [
        ReportRow(
            (
                p.channel,
                p.net_revenue,
                p.returns,
                p.cost_of_goods,
                p.gross_profit,
                p.fees,
                p.shipping_cost,
                p.other,
                p.contribution,
                Decimal(p.margin_percent) if p.margin_percent else None,
            )
        )
        for p in report.channels
    ]
    total = report.total_contribution
    revenue = sum(p.net_revenue for p in report.channels)
    rows.append(
        ReportRow(
            (
                "Total",
                revenue,
                sum(p.returns for p in report.channels),
                sum(p.cost_of_goods for p in report.channels),
                sum(p.gross_profit for p in report.channels),
                sum(p.fees for p in report.channels),
                sum(p.shipping_cost for p in report.channels),
                sum(p.other for p in report.channels),
                total,
                _percent(total, revenue),
            ),
            "total",
        )
    )
    return ReportTable(
        "channel-profitability",
        "Channel profitability",
        shop,
        report.currency,
        period_text(report.date_from, report.date_to),
        (
            ReportColumn("Channel"),
            ReportColumn("Net revenue", "amount"),
            ReportColumn("Returns", "amount"),
            ReportColumn("COGS", "amount"),
            ReportColumn("Gross profit", "amount"),
            ReportColumn("Fees", "amount"),
            ReportColumn("Shipping", "amount"),
            ReportColumn("Other", "amount"),
            ReportColumn("Contribution", "amount"),
            ReportColumn("Margin %", "rate"),
        ),
        tuple(rows),
        (
            "Net revenue is sales, shipping and restocking fees less returns and "
            "discounts. Contributions add up to the net profit.",
        ),
    )


Report = (
    TrialBalance
    | ProfitLoss
    | BalanceSheet
    | GeneralLedger
    | SalesTaxReport
    | InventoryValuation
    | ChannelProfitability
)


def report_table(report: Report, shop_name: str) -> ReportTable:
    """Return any of the seven reports as a printable table."""
    if isinstance(report, TrialBalance):
        return _trial_balance(report, shop_name)
    if isinstance(report, ProfitLoss):
        return _profit_loss(report, shop_name)
    if isinstance(report, BalanceSheet):
        return _balance_sheet(report, shop_name)
    if isinstance(report, GeneralLedger):
        return _general_ledger(report, shop_name)
    if isinstance(report, SalesTaxReport):
        return _sales_tax(report, shop_name)
    if isinstance(report, InventoryValuation):
        return _stock(report, shop_name)
    return _channels(report, shop_name)


# --- rendering --------------------------------------------------------------


def group_digits(text: str) -> str:
    """Put thousands separators into a plain decimal: "-1234.50" -> "-1,234.50"."""
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" if whole.isdigit() else whole
    return f"{sign}{grouped}{dot}{fraction}"


def cell_text(cell: Cell, kind: str, currency: str, *, grouped: bool) -> str:
    """Format a cell for output; amounts plain, or with grouped digits."""
    if cell is None:
        return ""
    if kind == "amount" and isinstance(cell, int | Decimal):
        text = (
            format_minor(cell, currency)
            if isinstance(cell, int)
            else format(cell.normalize(), "f")
        )
        return group_digits(text) if grouped else text
    if isinstance(cell, Decimal):
        return format(cell, "f")
    return str(cell)


def write_report_csv(table: ReportTable, path: Path | str, *, bom: bool = True) -> Path:
    """Write a report as an Excel-safe CSV (see :mod:`app.core.exports.csvsafe`)."""
    target = Path(path)
    header = [c.title for c in table.columns]
    numeric = [c.title for c in table.columns if c.kind in ("amount", "rate", "count")]
    with open_safe_csv(target, header, numeric, bom=bom) as writer:
        for row in table.rows:
            writer.write_row(
                [
                    cell_text(cell, column.kind, table.currency, grouped=False)
                    for cell, column in zip(row.cells, table.columns, strict=True)
                ]
            )
    return target


def render_text(table: ReportTable) -> str:
    """Return the report as aligned plain text for a terminal."""
    texts = [
        [
            cell_text(cell, column.kind, table.currency, grouped=True)
            for cell, column in zip(row.cells, table.columns, strict=True)
        ]
        for row in table.rows
    ]
    widths = [
        max([len(c.title), *(len(t[i]) for t in texts)])
        for i, c in enumerate(table.columns)
    ]
    widths = [min(w, 48) for w in widths]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for text, column, width in zip(cells, table.columns, widths, strict=True):
            text = text if len(text) <= width else text[: width - 1] + "…"
            numeric = column.kind in ("amount", "rate", "count")
            parts.append(text.rjust(width) if numeric else text.ljust(width))
        return "  ".join(parts).rstrip()

    out = [
        f"{table.title}: {table.shop_name}, {table.period} ({table.currency})",
        line([c.title for c in table.columns]),
    ]
    out += [line(t) for t in texts]
    out += table.notes
    return "\n".join(out)
