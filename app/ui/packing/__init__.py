"""The packing station: full-screen scan-to-pack mode (see ``station``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.ui.context import AppContext
from app.ui.packing.station import PackingStation

__all__ = ["PackingStation", "open_packing_station"]


def open_packing_station(
    ctx: AppContext, parent: QWidget | None = None
) -> PackingStation:
    """Open the station as its own full-screen window and return it."""
    station = PackingStation(ctx)
    station.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if parent is not None:
        station.setWindowIcon(parent.windowIcon())
    station.showFullScreen()
    return station
