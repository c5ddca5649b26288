"""Helpers shared by the channel sync tests (this module holds no tests).

Each test builds a real shop in a SQLite file, real fake channel servers on
127.0.0.1 and a SyncEngine whose clock, sleeps and HTTP waits run on the
servers' FakeClock, so retries and polling intervals cost no real time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import keyring
from keyring.backend import KeyringBackend
from sqlalchemy import Engine, func, select

from app.core import inventory
from app.core.channels import accounts
from app.core.models import OutboxItem, SalesOrder
from app.core.uow import UnitOfWork
from app.sync.engine import SyncEngine, SyncOptions
from app.sync.secrets import SecretStore
from tests.fakes.faults import FakeClock
from tests.helpers import add_sku

TOKEN = "shpat_5e9c1d7a3b2f48"
WOO_KEY = "ck_4b8e2d6f1a9c35"
WOO_SECRET = "cs_9d3f7a1c5e2b86"
SHOPIFY = "Shopify store"
WOO = "Woo store"
SEED = 11


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps passwords in a dict, for tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an in-memory keyring for one test and restore the previous one."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def new_clock() -> FakeClock:
    """A virtual clock that starts at the real time, to the second."""
    return FakeClock(start=datetime.now(UTC).replace(microsecond=0))


def make_sync(
    engine: Engine,
    clock: FakeClock,
    *,
    secrets: SecretStore | None = None,
    **options: object,
) -> SyncEngine:
    settings = {
        "trust_env": False,
        "http_timeout": (2.0, 5.0),
        "http_attempts": 3,
        **options,
    }
    return SyncEngine(
        engine,
        secrets=secrets if secrets is not None else SecretStore(),
        clock=clock,
        options=SyncOptions(**settings),  # type: ignore[arg-type]
        rng=random.Random(SEED),
    )


def connect(
    engine: Engine,
    name: str,
    kind: str,
    url: str,
    clock: FakeClock,
    *,
    poll_interval_s: int = 60,
    import_from: datetime | None = None,
) -> int:
    with UnitOfWork(engine) as uow:
        config = accounts.connect_channel(
            uow,
            name,
            kind,
            url,
            poll_interval_s=poll_interval_s,
            import_from=import_from or clock.now() - timedelta(days=1),
            now=clock.now(),
        )
        uow.commit()
    return config.id


def store_secrets(
    store: SecretStore, *, shopify: bool = True, woo: bool = True
) -> None:
    if shopify:
        store.set(SHOPIFY, "token", TOKEN)
    if woo:
        store.set(WOO, "key", WOO_KEY)
        store.set(WOO, "secret", WOO_SECRET)


def receive(engine: Engine, sku: str, quantity: int) -> None:
    with UnitOfWork(engine) as uow:
        inventory.receive(uow, sku, "MAIN", quantity, 500)
        uow.commit()


def adjust(engine: Engine, sku: str, delta: int) -> None:
    with UnitOfWork(engine) as uow:
        inventory.adjust(uow, sku, "MAIN", delta, reason="correction")
        uow.commit()


def skus(engine: Engine, *names: str, quantity: int = 0) -> None:
    for name in names:
        add_sku(engine, name, quantity, 500)


def order_count(engine: Engine, external_id: str | None = None) -> int:
    with UnitOfWork(engine, write=False) as uow:
        query = select(func.count(SalesOrder.id))
        if external_id is not None:
            query = query.where(SalesOrder.external_id == external_id)
        return int(uow.session.scalar(query) or 0)


def orders_by_external(engine: Engine) -> dict[str, SalesOrder]:
    with UnitOfWork(engine, write=False) as uow:
        rows = uow.session.scalars(select(SalesOrder)).all()
        for row in rows:
            _ = row.lines
        return {row.external_id: row for row in rows}


def outbox(engine: Engine, channel_id: int, kind: str = "stock") -> list[OutboxItem]:
    with UnitOfWork(engine, write=False) as uow:
        return list(
            uow.session.scalars(
                select(OutboxItem)
                .where(OutboxItem.channel_id == channel_id, OutboxItem.kind == kind)
                .order_by(OutboxItem.id)
            )
        )


D = Decimal
