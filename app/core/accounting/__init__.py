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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from app.core.accounting.export import (
        ExportResult,
        build_export_ledger,
        export_ledger,
    )
    from app.core.accounting.invoices import invoice_data
    from app.core.accounting.ledger_reports import (
        ChannelProfitability,
        GeneralLedger,
        channel_profitability,
        general_ledger,
    )
    from app.core.accounting.payouts import (
        PayoutFile,
        PayoutImportResult,
        import_payouts,
    )
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

# Names load their module on first use, so that importing one submodule
# (the ledger's month totals, the close checklist) does not import them all.
_SOURCES = {
    "AccountingError": "exceptions",
    "BankReconciliation": "bank",
    "ChannelProfitability": "ledger_reports",
    "CheckContext": "checklist",
    "Checklist": "checklist",
    "ChecklistItem": "checklist",
    "CloseDuration": "close",
    "CloseOutcome": "close",
    "CloseSettings": "settings",
    "ExportResult": "export",
    "FileFormatError": "exceptions",
    "GeneralLedger": "ledger_reports",
    "InventoryValuation": "stock_report",
    "Month": "periods",
    "PayoutFile": "payouts",
    "PayoutImportResult": "payouts",
    "Provider": "checklist",
    "RecordRef": "checklist",
    "ReportTable": "tables",
    "SalesTaxReport": "tax_report",
    "SellerDetails": "settings",
    "YearEndOutcome": "year_end",
    "build_export_ledger": "export",
    "channel_profitability": "ledger_reports",
    "check_month": "close",
    "close_durations": "close",
    "close_month": "close",
    "close_year": "year_end",
    "export_ledger": "export",
    "fiscal_year_range": "periods",
    "general_ledger": "ledger_reports",
    "import_payouts": "payouts",
    "import_statement": "bank",
    "inventory_valuation": "stock_report",
    "invoice_data": "invoices",
    "load_close_settings": "settings",
    "load_seller": "settings",
    "match_statement": "bank",
    "month_balances": "totals",
    "read_statement": "bank",
    "rebuild_month_totals": "totals",
    "register_provider": "checklist",
    "reopen_month": "close",
    "reopen_year": "year_end",
    "report_table": "tables",
    "run_checklist": "close",
    "sales_tax": "tax_report",
    "save_close_settings": "settings",
    "save_seller": "settings",
    "write_report_csv": "tables",
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
