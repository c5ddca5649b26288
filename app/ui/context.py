"""What every page shares: the engine, the task helper, formats, the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.queries.common import ShopInfo, shop_info
from app.core.queries.settings import UserView
from app.core.uow import UnitOfWork
from app.ui.fmt import Formatter, pick_locale
from app.ui.ops import Operations

T = TypeVar("T")


class AppContext(QObject):
    """Shared state of one open shop window.

    ``navigate_requested`` asks the main window to show a page and, when the
    id is not None, one record on it (``("orders", 12)``).
    """

    navigate_requested = Signal(str, object)

    def __init__(self, engine: Engine, db_label: str, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self.db_label = db_label
        self.ops = Operations(engine, self)
        self.shop: ShopInfo = self.read_now(shop_info)
        self.fmt = Formatter(
            self.shop.currency, self.shop.timezone, pick_locale(self.shop.country)
        )
        self.user: UserView | None = None

    def read_now(self, query: Callable[[Session], T]) -> T:
        """Run a short query service on the GUI thread (one page of a table)."""
        with UnitOfWork(self.engine, write=False) as uow:
            return query(uow.session)

    def reload_shop(self) -> None:
        self.shop = self.read_now(shop_info)

    def set_user(self, user: UserView) -> None:
        self.user = user
        self.ops.user_id = user.id

    def navigate(self, page: str, record_id: int | None = None) -> None:
        self.navigate_requested.emit(page, record_id)
