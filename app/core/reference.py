"""Settings read once per process instead of once per transaction.

Accounts, closed periods, tax registrations and rules, warehouses, routing
rules, shipping rates and channel buffers change rarely, yet capturing one
order reads all of them. Values built from them are kept in a process-wide
cache per database, tagged with the shop row's ``settings_version``.

Every flush that writes one of :data:`SETTINGS_TABLES` raises that number in
the same transaction (see :func:`_note_changes`). Once the change commits, a
transaction in any process reads a number its cache does not have, so it
loads the settings again. A transaction that changed settings itself
reads them fresh and keeps them to itself, because it may still roll back.

Cached values are shared between threads: they must not be changed after
loading.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.pool import Pool
from sqlalchemy.sql import ClauseElement

from app.core.models import Shop

T = TypeVar("T")

SETTINGS_TABLES = frozenset(
    {
        "shop",
        "account",
        "period",
        "channel",
        "channel_buffer",
        "tax_registration",
        "tax_rule",
        "warehouse",
        "routing_rule",
        "shipping_service",
        "shipping_zone_rule",
        "shipping_rate",
    }
)

_TXN_KEY = "transaction_scope"
_shared: WeakKeyDictionary[Pool, tuple[int, dict[Hashable, Any]]] = WeakKeyDictionary()
_lock = threading.Lock()


def transaction_scope(session: Session) -> dict[str, Any]:
    """Return a dict that lives as long as the session's current transaction."""
    transaction = session.get_transaction()
    if transaction is None:
        # Between a commit and the next statement there is no transaction
        # yet; begin it now, so that the scope belongs to it alone.
        transaction = session.begin()
    stored = session.info.get(_TXN_KEY)
    if stored is None or stored[0] is not transaction:
        stored = (transaction, {})
        session.info[_TXN_KEY] = stored
    scope: dict[str, Any] = stored[1]
    return scope


def settings_version(session: Session) -> int:
    """Return the shop's settings version as this transaction reads it."""
    # Imported here because app.core.shop imports this module.
    from app.core.shop import get_shop

    return get_shop(session).settings_version


def derived(session: Session) -> dict[Hashable, Any]:
    """Return this transaction's values worked out from the settings.

    :func:`forget` empties it, so values kept here never outlive a change.
    """
    values: dict[Hashable, Any] = transaction_scope(session).setdefault("settings", {})
    return values


def cached(session: Session, key: Hashable, load: Callable[[Session], T]) -> T:
    """Return ``load(session)``, reused while the settings version is unchanged.

    Two threads that miss at once may both load; the later one is kept.
    """
    scope = transaction_scope(session)
    local = derived(session)
    if key in local:
        value: T = local[key]
        return value
    version = settings_version(session)
    if scope.get("settings_changed"):
        local[key] = value = load(session)
        return value
    pool = session.get_bind().engine.pool
    with _lock:
        entry = _shared.get(pool)
    if entry is not None and entry[0] == version and key in entry[1]:
        local[key] = value = entry[1][key]
        return value
    value = load(session)
    with _lock:
        entry = _shared.get(pool)
        if entry is None or entry[0] != version:
            entry = (version, {})
            _shared[pool] = entry
        entry[1][key] = value
    local[key] = value
    return value


def forget(session: Session) -> None:
    """Drop what this transaction read after it changed settings itself.

    The flush hook below does the same when the change is flushed; services
    call this when they read the settings again before any flush.
    """
    scope = transaction_scope(session)
    scope["settings_changed"] = True
    scope.pop("settings", None)


def _bump(session: Session) -> None:
    forget(session)
    with session.no_autoflush:
        shop = session.get(Shop, 1)
    if shop is None:
        return
    pending = inspect(shop).attrs.settings_version.history.added
    if pending and isinstance(pending[0], ClauseElement):
        return
    # An SQL expression rather than a number, so that two writers each add one.
    shop.settings_version = Shop.settings_version + 1


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            table = getattr(type(obj), "__tablename__", None)
            if table in SETTINGS_TABLES and not _only_version(session, obj):
                _bump(session)
                return


def _only_version(session: Session, obj: object) -> bool:
    """True for the shop row when nothing but its settings version changed."""
    if not isinstance(obj, Shop) or obj in session.new:
        return False
    changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
    return changed <= {"settings_version"}


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Read settings afresh after a savepoint rolls back a change to them."""
    if session.in_transaction():
        forget(session)


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in SETTINGS_TABLES:
        _bump(state.session)
