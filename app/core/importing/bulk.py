"""Fast multi-row inserts with ids chosen by the caller.

Importers write hundreds of thousands of rows. ``BulkInsert`` compiles one
Core ``insert()`` per table with the columns that vary as parameters and
every other column as a literal constant, and hands the rows as plain tuples
to the driver's ``executemany``. SQLAlchemy's per-row parameter processing is
skipped, so callers pass values already in the driver's form (see
``BulkInsert.processor``). On the Online Retail file (541,909 order lines)
that processing took several times longer than SQLite's own insert work.

``IdBlock`` hands out primary keys from the table's current maximum, so no
insert needs RETURNING and rows can refer to each other before they are
written. Both must run inside one write transaction. On SQLite the
transaction already holds the database's write lock. On PostgreSQL the table
is locked against other writers, and the id sequence is moved past the ids
taken, so that later ORM inserts do not collide with them.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)

logger = logging.getLogger(__name__)


class BulkInsert:
    """An INSERT of many rows into one table, compiled once for a connection.

    ``columns`` are given per row, in this order. ``repeats`` maps further
    columns to the per-row column whose value they take, so a row need not
    carry one value several times. ``constants`` are the same for every row
    and are written into the SQL as literals. Columns in none of these keep
    their scalar default, or NULL when they have none. A column whose
    default is a callable (such as a timestamp) must be named, and so must a
    NOT NULL column without a default.
    """

    def __init__(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        constants: Mapping[str, object] | None = None,
        *,
        repeats: Mapping[str, str] | None = None,
    ) -> None:
        self.conn = conn
        self.table = table
        self.columns = tuple(columns)
        dialect = conn.dialect
        fixed = dict(constants or {})
        repeated = dict(repeats or {})
        for column in table.columns:
            if column.name in fixed or column.name in self.columns:
                continue
            if column.name in repeated:
                continue
            default = column.default
            if default is not None and default.is_scalar:
                fixed[column.name] = default.arg  # type: ignore[attr-defined]
            elif default is not None or (
                not column.nullable and not column.primary_key
            ):
                raise ValueError(
                    f"{table.name}.{column.name} needs a value: name it in "
                    "columns or constants"
                )

        values: dict[str, Any] = {name: bindparam(name) for name in self.columns}
        for name, source in repeated.items():
            values[name] = bindparam(source)
        literals: list[str] = []
        for name, value in fixed.items():
            rendered = literal(value, table.c[name].type).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
            literals.append(str(rendered))
            values[name] = literal_column(str(rendered))
        compiled = insert(table).values(values).compile(dialect=dialect)
        self.sql = str(compiled)
        self._named = not compiled.positional
        if compiled.positional:
            order = tuple(compiled.positiontup or ())
            if order != self.columns:
                self.sql = _number_placeholders(self.sql, order, self.columns, literals)
        self.rows_written = 0

    def processor(self, column: str) -> Callable[[Any], Any] | None:
        """Return the function that turns a Python value into the driver's form.

        None means the value passes unchanged. On SQLite a Decimal becomes a
        float and a datetime a string. On PostgreSQL both pass unchanged.
        """
        column_type = self.table.c[column].type
        dialect = self.conn.dialect
        return column_type.dialect_impl(dialect).bind_processor(dialect)

    def __call__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows``, each a tuple in the order of ``columns``."""
        if not rows:
            return
        if self._named:
            names = self.columns
            self.conn.exec_driver_sql(
                self.sql, [dict(zip(names, row, strict=True)) for row in rows]
            )
        else:
            self.conn.exec_driver_sql(self.sql, list(rows))
        self.rows_written += len(rows)


def _number_placeholders(
    sql: str, order: tuple[str, ...], columns: tuple[str, ...], literals: list[str]
) -> str:
    """Rewrite qmark placeholders as numbered ones (?NNN) in ``columns`` order.

    ``order`` names the parameter of each ``?`` in the SQL, and a name may
    come more than once. SQLite binds ``?3`` to the row's third value, so a
    row carries each value once.
    """
    if any("?" in text for text in literals):
        raise ValueError("a constant contains '?', so placeholders cannot be numbered")
    numbers = {name: index + 1 for index, name in enumerate(columns)}
    if set(order) != set(numbers):
        raise AssertionError(f"parameters {order} differ from the columns {columns}")
    pieces = sql.split("?")
    if len(pieces) != len(order) + 1:
        raise AssertionError(f"{sql!r} does not have {len(order)} placeholders")
    out = [pieces[0]]
    for name, piece in zip(order, pieces[1:], strict=True):
        out.append(f"?{numbers[name]}{piece}")
    return "".join(out)


class IdBlock:
    """Primary keys for new rows of one table, taken in ascending order.

    Create it inside the write transaction that inserts the rows and call
    ``finish`` before committing.
    """

    def __init__(self, conn: Connection, table: Table) -> None:
        self.conn = conn
        self.table = table
        self._postgres = conn.dialect.name == "postgresql"
        if self._postgres:
            conn.execute(text(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE'))
        highest = conn.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        self.next_id = int(highest or 0) + 1
        if self._postgres:
            self.next_id = max(self.next_id, self._sequence_next())
        self.first_id = self.next_id

    def take(self) -> int:
        taken = self.next_id
        self.next_id += 1
        return taken

    @property
    def taken(self) -> int:
        return self.next_id - self.first_id

    def finish(self) -> None:
        """Move the PostgreSQL id sequence past the ids taken."""
        if self._postgres and self.taken:
            self.conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                {"table": self.table.name, "last": self.next_id - 1},
            )

    def _sequence_next(self) -> int:
        row = self.conn.execute(
            text(
                "SELECT pg_get_serial_sequence(:table, 'id')",
            ),
            {"table": self.table.name},
        ).scalar()
        if row is None:
            return 1
        last, called = self.conn.execute(
            text(f"SELECT last_value, is_called FROM {row}")
        ).one()
        return int(last) + 1 if called else int(last)


def reserve_ids(conn: Connection, tables: Sequence[Table]) -> dict[str, IdBlock]:
    """Return an IdBlock per table, by table name."""
    return {table.name: IdBlock(conn, table) for table in tables}


def log_written(inserts: Sequence[BulkInsert]) -> None:
    for bulk in inserts:
        if bulk.rows_written:
            logger.debug("inserted %d rows into %s", bulk.rows_written, bulk.table.name)


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file on a second thread.

    A committing SQLite connection does this copy itself once the log passes
    1,000 pages, and the commit waits for it. During a bulk import the copy
    runs instead on a thread with its own connection, beside the Python work
    of the next chunk. SQLite releases the GIL while it copies. Use it as a
    context manager around the chunks: ``pause(conn)`` turns off the
    automatic copy on the chunk's connection until the end, and
    ``after_commit()`` queues a copy for the thread. A passive checkpoint
    never blocks the writer. For other databases every method does nothing.
    """

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        self.path = (
            database
            if engine.dialect.name == "sqlite" and database and database != ":memory:"
            else None
        )
        self._requests: queue.Queue[bool] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._paused: dict[int, tuple[Any, int]] = {}

    def __enter__(self) -> WalCheckpointer:
        if self.path is not None:
            self._thread = threading.Thread(
                target=self._run, name="wal-checkpoint", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._requests.put(False)
            self._thread.join()
            self._thread = None
        for driver_connection, previous in self._paused.values():
            driver_connection.execute(f"PRAGMA wal_autocheckpoint={int(previous)}")
        self._paused.clear()

    def pause(self, conn: Connection) -> None:
        """Stop ``conn`` copying the log at commit until this checkpointer ends."""
        if self.path is None:
            return
        driver_connection = conn.connection.driver_connection
        if id(driver_connection) not in self._paused:
            previous = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            self._paused[id(driver_connection)] = (driver_connection, previous or 1000)
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")

    def after_commit(self) -> None:
        if self._thread is not None:
            self._requests.put(True)

    def _run(self) -> None:
        assert self.path is not None
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            running = True
            while running:
                running = self._requests.get()
                # Requests that queued up meanwhile need one copy together.
                while running and not self._requests.empty():
                    running = self._requests.get()
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            logger.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            connection.close()
