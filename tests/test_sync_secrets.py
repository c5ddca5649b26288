"""Channel secrets: keyring, session memory, environment, and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import Engine, text

from app.core.channels import issues, status
from app.core.uow import UnitOfWork
from app.sync.secrets import SERVICE, MissingSecret, SecretStore, env_name
from tests.fakes.shopify_server import ShopifyServer
from tests.fakes.woo_server import WooServer
from tests.test_sync_helpers import (
    SHOPIFY,
    TOKEN,
    WOO,
    WOO_KEY,
    WOO_SECRET,
    MemoryKeyring,
    connect,
    make_sync,
    memory_keyring,
    new_clock,
    skus,
)


@pytest.fixture
def backend() -> Iterator[MemoryKeyring]:
    yield from memory_keyring()


def test_secret_stored_under_backroom_and_channel_field(backend: MemoryKeyring) -> None:
    store = SecretStore(environ={})

    persistent = store.set("Main store", "token", TOKEN)

    assert persistent is True
    assert store.persistent is True
    assert backend.passwords == {(SERVICE, "Main store:token"): TOKEN}
    assert SecretStore(environ={}).get("Main store", "token") == TOKEN


def test_delete_forgets_secret(backend: MemoryKeyring) -> None:
    store = SecretStore(environ={})
    store.set("Main store", "token", TOKEN)

    store.delete("Main store", "token")

    assert backend.passwords == {}
    assert store.get("Main store", "token") is None


def test_no_keyring_keeps_secret_for_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with caplog.at_level(logging.WARNING, logger="app.sync.secrets"):
            store = SecretStore(environ={})
    finally:
        keyring.set_keyring(previous)
    persistent = store.set("Main store", "token", TOKEN)

    assert persistent is False
    assert store.persistent is False
    assert store.problem == "this machine has no system keyring"
    assert "asked for again" in caplog.text
    assert store.get("Main store", "token") == TOKEN
    assert SecretStore(fail.Keyring(), environ={}).get("Main store", "token") is None


def test_broken_keyring_falls_back_to_memory() -> None:
    previous = keyring.get_keyring()

    class Broken(MemoryKeyring):
        priority = 1  # type: ignore[assignment]

    broken = Broken()
    keyring.set_keyring(broken)
    try:

        def boom() -> None:
            raise RuntimeError("no D-Bus session")

        original = keyring.get_keyring
        keyring.get_keyring = boom  # type: ignore[assignment]
        try:
            store = SecretStore(environ={})
        finally:
            keyring.get_keyring = original  # type: ignore[assignment]
    finally:
        keyring.set_keyring(previous)

    assert store.persistent is False
    assert "could not be opened" in (store.problem or "")


def test_environment_variable_overrides(backend: MemoryKeyring) -> None:
    name = env_name("Main store", "token")
    store = SecretStore(environ={name: "shpat_from_env"})
    store.set("Main store", "token", TOKEN)

    assert name == "BACKROOM_SECRET_MAIN_STORE_TOKEN"
    assert store.get("Main store", "token") == "shpat_from_env"


def test_missing_fields_and_prompt(backend: MemoryKeyring) -> None:
    store = SecretStore(environ={})
    asked: list[str] = []

    def prompt(label: str) -> str:
        asked.append(label)
        return "typed-value-1234"

    missing = store.missing("Woo", "woocommerce")
    done = store.ask_missing("Woo", "woocommerce", prompt)

    assert missing == ["key", "secret"]
    assert done == ["key", "secret"]
    assert asked == [
        "consumer key for channel 'Woo': ",
        "consumer secret for channel 'Woo': ",
    ]
    assert store.missing("Woo", "woocommerce") == []


def test_missing_secret_names_env_variable() -> None:
    store = SecretStore(fail.Keyring(), environ={})

    with pytest.raises(MissingSecret) as caught:
        store.require("Main store", "token")

    assert "BACKROOM_SECRET_MAIN_STORE_TOKEN" in str(caught.value)


def db_bytes(engine: Engine) -> bytes:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = engine.url.database
    assert database is not None
    path = Path(database)
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_secrets_never_in_database_logs_or_errors(
    make_shop,  # type: ignore[no-untyped-def]
    backend: MemoryKeyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine: Engine = make_shop(
        "secrets", currency="USD", country="US", timezone="America/New_York"
    )
    skus(engine, "MUG-RED", quantity=10)
    clock = new_clock()
    store = SecretStore(environ={})
    store.set(SHOPIFY, "token", TOKEN)
    store.set(WOO, "key", WOO_KEY)
    store.set(WOO, "secret", WOO_SECRET)
    with (
        ShopifyServer(token=TOKEN, clock=clock, seed=False) as shopify,
        WooServer(
            key=WOO_KEY, secret="cs_other_secret_value", clock=clock, seed=False
        ) as woo,
    ):
        shopify.add_variant("MUG-RED", available=10)
        shopify.generate_orders(3, ["MUG-RED"])
        woo.add_product("MUG-RED", stock_quantity=10)
        woo.faults.status(500, path="/wp-json/wc/v3/orders", times=10)
        connect(engine, SHOPIFY, "shopify", shopify.url, clock)
        connect(engine, WOO, "woocommerce", woo.url, clock)
        sync = make_sync(engine, clock, secrets=store)
        with caplog.at_level(logging.DEBUG):
            reports = sync.run_once()
            clock.advance(timedelta(hours=1).total_seconds())
            woo.secret = WOO_SECRET
            reports += sync.run_once()
        with UnitOfWork(engine, write=False) as uow:
            logged = [entry.message for entry in issues.sync_log(uow.session)]
            states = [s.last_error or "" for s in status.all_status(uow.session)]
            run_messages = [
                row[0] or ""
                for row in uow.session.execute(text("SELECT message FROM sync_run"))
            ]

    texts = [
        caplog.text,
        *logged,
        *states,
        *run_messages,
        *(r.poll.message for r in reports if r.poll),
        *(r.push.message for r in reports if r.push),
    ]
    stored = db_bytes(engine)
    assert any("401" in t or "rejected" in t for t in texts)
    for secret in (TOKEN, WOO_KEY, WOO_SECRET):
        assert secret.encode() not in stored
        assert all(secret not in t for t in texts)
