"""The shipping e-mail reaches a real SMTP server (aiosmtpd) on 127.0.0.1.

Covers plain SMTP, STARTTLS with a login whose password is in the keyring,
TLS from the start, waiting while the server is unreachable, and a
permanent refusal.
"""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import keyring
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select

from app.core.fulfillment import shipping
from app.core.fulfillment.settings import SmtpSettings, update_smtp_settings
from app.core.models import OutboxItem
from app.core.order_input import Address, CustomerInput, LineInput, OrderInput
from app.core.uow import UnitOfWork
from app.sync.mailer import Mailer, store_password
from tests.helpers import NOON, add_channel, add_sku, capture
from tests.test_fulfillment_packing import MemoryKeyring

LEEDS = Address(
    name="Ann Smith", line1="1 High St", city="Leeds", postcode="LS1 4AP", country="GB"
)


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; apt install openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def shipped_order(engine: Engine, tracking: str = "RM123456785GB") -> int:
    """Ship a wholesale order (the shop e-mails those customers itself)."""
    add_channel(engine, "Wholesale", "wholesale")
    add_sku(engine, "MUG", 5, 250, weight_g=400)
    order_id = capture(
        engine,
        OrderInput(
            channel="Wholesale",
            external_id="W1",
            placed_at=NOON,
            ship_to=LEEDS,
            customer=CustomerInput(name="Ann Smith", email="ann@example.com"),
            lines=[LineInput("MUG", 2, "6.00")],
        ),
    ).order_id
    with UnitOfWork(engine) as uow:
        shipping.ship_order(
            uow,
            order_id,
            shipping.LabelPurchase(
                carrier="Royal Mail", service="Tracked 48", tracking_number=tracking
            ),
            at=NOON,
        )
        uow.commit()
    return order_id


def set_smtp(engine: Engine, **fields: Any) -> SmtpSettings:
    settings = SmtpSettings(host="127.0.0.1", from_address="shop@example.com", **fields)
    with UnitOfWork(engine) as uow:
        update_smtp_settings(uow, settings)
        uow.commit()
    return settings


def email_rows(engine: Engine) -> list[OutboxItem]:
    with UnitOfWork(engine, write=False) as uow:
        return list(
            uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "email"))
        )


def test_tracking_email_sent_over_plain_smtp(shop):  # type: ignore[no-untyped-def]
    shipped_order(shop)
    inbox = Inbox()
    port = free_port()
    set_smtp(shop, port=port, security="none")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        run = Mailer(shop).send_pending()
    finally:
        controller.stop()

    assert (run.sent, run.failed, run.waiting) == (1, 0, 0)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ann@example.com"
    assert message["From"] == "shop@example.com"
    assert message["Subject"] == "Your order W1 from Shop has shipped"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "Tracking number: RM123456785GB" in body.decode("utf-8")
    assert "Royal Mail Tracked 48" in body.decode("utf-8")
    rows = email_rows(shop)
    assert [row.status for row in rows] == ["sent"]


def test_starttls_login_uses_keyring_password(shop, memory_keyring, certificate):  # type: ignore[no-untyped-def]
    cert, key = certificate
    shipped_order(shop)
    settings = set_smtp(shop, port=free_port(), security="starttls", username="shop")
    store_password(settings, "s3cret")
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=settings.port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        run = Mailer(shop, tls_context=client_tls).send_pending()
    finally:
        controller.stop()

    assert run.sent == 1
    assert logins == [("shop", "s3cret")]
    assert "RM123456785GB" in str(inbox.messages[0].get_payload())
    assert "s3cret" not in str(email_rows(shop)[0].payload)


def test_ssl_connection_from_the_start(shop, certificate):  # type: ignore[no-untyped-def]
    cert, key = certificate
    shipped_order(shop)
    settings = set_smtp(shop, port=free_port(), security="ssl")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=settings.port, ssl_context=server_tls
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        run = Mailer(
            shop, password=lambda _s: None, tls_context=client_tls
        ).send_pending()
    finally:
        controller.stop()
    assert run.sent == 1
    assert len(inbox.messages) == 1


def test_mail_waits_while_server_is_unreachable(shop):  # type: ignore[no-untyped-def]
    shipped_order(shop)
    port = free_port()
    set_smtp(shop, port=port, security="none", timeout_s=5)
    # Rows are queued at the real time of shipping; the mailer's clock runs
    # a little later so that the row is due.
    now = datetime.now(UTC) + timedelta(minutes=5)

    offline = Mailer(shop, clock=lambda: now).send_pending()
    row = email_rows(shop)[0]
    assert (offline.sent, offline.waiting) == (0, 1)
    assert "could not be reached" in offline.error
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at == now + timedelta(minutes=1)
    # Not due yet: nothing is tried.
    assert Mailer(shop, clock=lambda: now).send_pending().waiting == 0

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = Mailer(shop, clock=lambda: now + timedelta(minutes=2)).send_pending()
    finally:
        controller.stop()
    assert later.sent == 1
    assert email_rows(shop)[0].status == "sent"


def test_refused_recipient_marks_mail_failed(shop):  # type: ignore[no-untyped-def]
    shipped_order(shop)
    port = free_port()
    set_smtp(shop, port=port, security="none")
    controller = Controller(Inbox(refuse=True), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        run = Mailer(shop).send_pending()
    finally:
        controller.stop()
    row = email_rows(shop)[0]
    assert (run.sent, run.failed) == (0, 1)
    assert row.status == "failed"
    assert row.last_error is not None
    assert "550" in row.last_error
