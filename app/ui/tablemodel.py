"""A table model that holds ids and loads rows a page at a time.

The list of ids comes from a query service (fast: one indexed column); the
rows behind them are loaded in pages of :data:`PAGE_SIZE` when the view
scrolls near the end (``canFetchMore``/``fetchMore``), so a list of ten
thousand orders opens as fast as one of ten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

PAGE_SIZE = 100


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)
Index = QModelIndex | QPersistentModelIndex

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: its title, its text, and optionally colour and tooltip."""

    title: str
    text: Callable[[R], str]
    align: Qt.AlignmentFlag = LEFT
    color: Callable[[R], str | None] | None = None
    tooltip: Callable[[R], str] | None = None
    width: int | None = None


class LazyTableModel(QAbstractTableModel, Generic[R]):
    """Rows of ``R`` keyed by id; ``load`` returns rows for a slice of ids."""

    def __init__(
        self, columns: Sequence[Column[R]], load: Callable[[Sequence[int]], list[R]]
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self._load = load
        self._ids: list[int] = []
        self._rows: dict[int, R] = {}
        self._shown = 0

    # --- contents ---------------------------------------------------------

    def set_ids(self, ids: Sequence[int]) -> None:
        """Replace the list; the first page loads at once."""
        self.beginResetModel()
        self._ids = list(ids)
        self._rows = {}
        self._shown = 0
        self.endResetModel()
        self._fetch_page()

    def refresh_rows(self, ids: set[int]) -> None:
        """Reload the shown rows among ``ids`` and signal their change."""
        shown = [i for i in self._ids[: self._shown] if i in ids]
        if not shown:
            return
        for row in self._load(shown):
            self._rows[row.id] = row
        last = self.columnCount() - 1
        for position, ident in enumerate(self._ids[: self._shown]):
            if ident in ids:
                self.dataChanged.emit(
                    self.index(position, 0),
                    self.index(position, last),
                )

    @property
    def ids(self) -> set[int]:
        return set(self._ids)

    @property
    def total(self) -> int:
        return len(self._ids)

    def row_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < self._shown else None

    def row_data(self, row: int) -> R | None:
        ident = self.row_id(row)
        return self._rows.get(ident) if ident is not None else None

    def position_of(self, ident: int) -> int | None:
        """Return the row of ``ident``, loading pages until it is shown."""
        try:
            position = self._ids.index(ident)
        except ValueError:
            return None
        while position >= self._shown and self._shown < len(self._ids):
            self._fetch_page()
        return position

    # --- Qt model API -----------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._shown < len(self._ids)

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            self._fetch_page()

    def _fetch_page(self) -> None:
        start = self._shown
        batch = self._ids[start : start + PAGE_SIZE]
        if not batch:
            return
        for row in self._load(batch):
            self._rows[row.id] = row
        self.beginInsertRows(QModelIndex(), start, start + len(batch) - 1)
        self._shown = start + len(batch)
        self.endInsertRows()

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        return self._header(section, orientation, role)

    def _header(self, section: int, orientation: Qt.Orientation, role: int) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return self._value(index, role)

    def _value(self, index: Index, role: int) -> Any:
        if not index.isValid():
            return None
        row = self.row_data(index.row())
        if row is None:
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align)
        if role == Qt.ItemDataRole.ForegroundRole and column.color is not None:
            color = column.color(row)
            return QBrush(QColor(color)) if color else None
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None
