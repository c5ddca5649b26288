"""The accountant's month end: close checklist, year end, payouts, bank, reports.

Services take a ``UnitOfWork`` (writers) or a ``Session`` (readers) and never
commit. The modules:

* ``checklist``, ``providers``, ``close``: the month-end checklist (a list of
  item providers other modules can extend), locking and reopening months,
  and how long each close took;
* ``year_end``: the closing entry to 3200 Retained earnings;
* ``payouts``, ``payout_formats``: channel payouts from Stripe, PayPal and
  Shopify Payments files, posted to 1000, 6110/6100 and 1100;
* ``bank``: bank statement import and matching to payouts and refunds;
* ``export``: the journal as an ``ExportLedger`` for the export writers;
* ``totals``: the per-month account totals that ``ledger.post`` keeps, which
  make the trial balance and profit and loss fast;
* ``ledger_reports``, ``tax_report``, ``stock_report``, ``tables``: the
  general ledger, channel profitability, sales tax and inventory valuation
  reports, and every report as a printable table (PDF, CSV, text);
* ``invoices``: invoice and credit note documents for the PDF renderer.
"""

from app.core.accounting.bank import (
    BankReconciliation,
    import_statement,
    match_statement,
    read_statement,
)
from app.core.accounting.checklist import (
    CheckContext,
    Checklist,
    ChecklistItem,
    Provider,
    RecordRef,
    register_provider,
)
from app.core.accounting.close import (
    CloseDuration,
    CloseOutcome,
    check_month,
    close_durations,
    close_month,
    reopen_month,
    run_checklist,
)
from app.core.accounting.exceptions import AccountingError, FileFormatError
from app.core.accounting.export import ExportResult, build_export_ledger, export_ledger
from app.core.accounting.invoices import invoice_data
from app.core.accounting.ledger_reports import (
    ChannelProfitability,
    GeneralLedger,
    channel_profitability,
    general_ledger,
)
from app.core.accounting.payouts import PayoutFile, PayoutImportResult, import_payouts
from app.core.accounting.periods import Month, fiscal_year_range
from app.core.accounting.settings import (
    CloseSettings,
    SellerDetails,
    load_close_settings,
    load_seller,
    save_close_settings,
    save_seller,
)
from app.core.accounting.stock_report import InventoryValuation, inventory_valuation
from app.core.accounting.tables import ReportTable, report_table, write_report_csv
from app.core.accounting.tax_report import SalesTaxReport, sales_tax
from app.core.accounting.totals import month_balances, rebuild_month_totals
from app.core.accounting.year_end import YearEndOutcome, close_year, reopen_year

__all__ = [
    "AccountingError",
    "BankReconciliation",
    "ChannelProfitability",
    "CheckContext",
    "Checklist",
    "ChecklistItem",
    "CloseDuration",
    "CloseOutcome",
    "CloseSettings",
    "ExportResult",
    "FileFormatError",
    "GeneralLedger",
    "InventoryValuation",
    "Month",
    "PayoutFile",
    "PayoutImportResult",
    "Provider",
    "RecordRef",
    "ReportTable",
    "SalesTaxReport",
    "SellerDetails",
    "YearEndOutcome",
    "build_export_ledger",
    "channel_profitability",
    "check_month",
    "close_durations",
    "close_month",
    "close_year",
    "export_ledger",
    "fiscal_year_range",
    "general_ledger",
    "import_payouts",
    "import_statement",
    "inventory_valuation",
    "invoice_data",
    "load_close_settings",
    "load_seller",
    "match_statement",
    "month_balances",
    "read_statement",
    "rebuild_month_totals",
    "register_provider",
    "reopen_month",
    "reopen_year",
    "report_table",
    "run_checklist",
    "sales_tax",
    "save_close_settings",
    "save_seller",
    "write_report_csv",
]
