"""The unit of work: one database transaction around one service call.

Services take a ``UnitOfWork``, read and write through ``uow.session`` and call
``uow.commit()`` explicitly; leaving the ``with`` block without a commit rolls
everything back. Row locking differs between databases and is hidden here:
SQLite takes the write lock for the whole transaction up front
(``BEGIN IMMEDIATE``), PostgreSQL locks the selected rows (``SELECT ... FOR
UPDATE``) through :meth:`UnitOfWork.locked`.
"""

from __future__ import annotations

import importlib
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine, Select, insert
from sqlalchemy.orm import Session

from app.core.db import is_sqlite

S = TypeVar("S", bound=Select[Any])
#: Session flag: read the shop row with a share lock (PostgreSQL writers).
LOCK_SHOP = "lock_shop"


class UnitOfWork:
    """A transaction scope over one engine.

    ``write=True`` (the default) is for services that change data: on SQLite
    the transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on
    the busy timeout instead of failing when one upgrades a read lock.
    ``user_id`` names the person acting, for the audit trail.
    """

    def __init__(
        self, engine: Engine, *, write: bool = True, user_id: int | None = None
    ) -> None:
        self.engine = engine
        self.write = write
        self.user_id = user_id
        self._sqlite = is_sqlite(engine)
        self.session: Session

    def __enter__(self) -> Self:
        bind = self.engine
        if self._sqlite:
            bind = self.engine.execution_options(
                sqlite_begin="IMMEDIATE" if self.write else "DEFERRED"
            )
        self.session = Session(bind=bind, expire_on_commit=False, autoflush=True)
        # PostgreSQL writers hold a share lock on the shop row, which closing a
        # month locks exclusively; see app.core.shop.get_shop.
        self.session.info[LOCK_SHOP] = self.write and not self._sqlite
        self.session.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A writer that leaves without committing is rolled back. A reader is
        # only closed, which ends its transaction without expiring the objects
        # it loaded, so callers can keep reading them.
        try:
            if self.write and self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def insert_if_absent(self, model: type[Any], rows: list[dict[str, Any]]) -> None:
        """Insert the rows whose key is not taken yet; skip the others.

        Two PostgreSQL transactions may both find a row missing and insert
        it; the second then skips it instead of failing on the key.
        """
        if rows:
            statement = dialect_insert(self.session, model).on_conflict_do_nothing()
            self.session.execute(statement, rows)

    def locked(self, statement: S) -> S:
        """Return ``statement`` locking its rows until commit where needed.

        On SQLite the immediate transaction already serialises writers, so
        the statement is returned unchanged.
        """
        if self._sqlite:
            return statement
        return statement.with_for_update()


def dialect_insert(session: Session, model: type[Any]) -> Any:
    """Return the SQLite or PostgreSQL INSERT of ``model``, which has ON CONFLICT.

    The dialect module is imported when first needed: PostgreSQL's alone adds
    tens of milliseconds to every start of the window.
    """
    dialect = session.get_bind().dialect.name
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(model)


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert many rows of ``model`` in one statement, in the session's transaction.

    For rows nothing reads back as objects in the same transaction: an
    object added to the session costs one INSERT per row on SQLite, which
    cannot return many generated ids in order, while this is one
    ``executemany``. Every dict must carry the same keys.
    """
    if rows:
        session.execute(insert(model), rows)
