"""Ledger exports for an accountant's tools: CSV, IIF, QuickBooks Online, Xero,
Beancount and hledger.

Each writer takes an `ExportLedger` and a target path (a base name for Xero,
which splits its output) and returns the paths it wrote. `WRITERS` maps the
format names of `backroom export ledger` to the writers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.exports.beancount import write_beancount
from app.core.exports.gl_csv import write_gl_csv
from app.core.exports.hledger import write_hledger
from app.core.exports.iif import write_iif
from app.core.exports.model import (
    ExportAccount,
    ExportEntry,
    ExportError,
    ExportLedger,
    ExportLine,
)
from app.core.exports.qbo import write_qbo
from app.core.exports.xero import write_xero

Writer = Callable[[ExportLedger, Path | str], list[Path]]

WRITERS: dict[str, Writer] = {
    "csv": write_gl_csv,
    "iif": write_iif,
    "qbo-csv": write_qbo,
    "xero-csv": write_xero,
    "beancount": write_beancount,
    "hledger": write_hledger,
}

__all__ = [
    "WRITERS",
    "ExportAccount",
    "ExportEntry",
    "ExportError",
    "ExportLedger",
    "ExportLine",
    "Writer",
    "write_beancount",
    "write_gl_csv",
    "write_hledger",
    "write_iif",
    "write_qbo",
    "write_xero",
]
