"""What every page of the main window provides."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.core.changes import Changes
from app.ui.context import AppContext


class Page(QWidget):
    """A page: loads itself when first shown, refreshes on changes.

    ``key`` names the page for navigation and settings; its label and icon
    are in :data:`app.ui.navigation.PAGES`.
    """

    key = "page"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False
        self.stale = False

    def activate(self) -> None:
        """Called each time the page is shown; loads or refreshes when needed."""
        if not self.loaded or self.stale:
            self.loaded = True
            self.stale = False
            self.refresh()

    def refresh(self) -> None:
        """Reload everything the page shows."""

    def on_changes(self, changes: Changes, visible: bool) -> None:
        """Decide from a write's Changes whether to refresh; default: always."""
        if visible:
            self.refresh()
        else:
            self.stale = True

    def focus_search(self) -> None:
        """Put the cursor in the page's search field, if it has one."""

    def show_record(self, record_id: int) -> None:
        """Select and open one record on this page."""

    def new_record(self) -> None:
        """Start creating the page's main kind of record (Ctrl+N)."""
