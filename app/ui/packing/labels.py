"""The packing station's label purchase and printing, outside the widget.

:func:`default_buyer` buys through the shop's default carrier account, or
the first one when none is marked default. With no carrier set up, the
packer types the tracking number of a label printed elsewhere. :func:`default_printer`
sends ZPL raw to the configured CUPS queue, and otherwise saves the file in
the user's data folder and opens it in the system viewer for printing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from platformdirs import user_data_dir
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from sqlalchemy import Engine

from app.core.documents.zpl import send_raw_to_printer
from app.core.fulfillment.settings import CarrierAccount, fulfillment_settings
from app.core.fulfillment.shipping import LabelPurchase, Parcel
from app.core.shop import get_shop
from app.core.uow import UnitOfWork
from app.sync.labels import buy_label, make_carrier

log = logging.getLogger(__name__)

#: Buys a label: (parcel, typed tracking number) -> purchase.
Buyer = Callable[[Parcel, str], LabelPurchase]
#: Prints a document: (file bytes, "pdf" or "zpl", file name stem).
Printer = Callable[[bytes, str, str], None]

FALLBACK_CARRIER = CarrierAccount("Own carrier")


def station_carrier(engine: Engine) -> CarrierAccount:
    """Return the carrier the station ships with."""
    with UnitOfWork(engine, write=False) as uow:
        settings = fulfillment_settings(uow.session)
    if settings.default_carrier:
        return settings.carrier(settings.default_carrier)
    return settings.carriers[0] if settings.carriers else FALLBACK_CARRIER


def default_buyer(engine: Engine) -> Buyer:
    def buy(parcel: Parcel, tracking_number: str) -> LabelPurchase:
        with UnitOfWork(engine, write=False) as uow:
            settings = fulfillment_settings(uow.session)
            currency = get_shop(uow.session).currency
        account = station_carrier(engine)
        carrier = make_carrier(account, currency, label_format=settings.label_format)
        return buy_label(carrier, parcel, tracking_number=tracking_number)

    return buy


def labels_folder() -> Path:
    folder = Path(user_data_dir("Backroom", "Backroom")) / "labels"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_printer(queue: str) -> Printer:
    def print_file(data: bytes, file_format: str, stem: str) -> None:
        if file_format == "zpl" and queue:
            send_raw_to_printer(data.decode("utf-8"), queue)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = labels_folder() / f"{stem}-{stamp}.{file_format}"
        path.write_bytes(data)
        log.info("saved %s for printing", path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    return print_file
