"""Sending the queued customer e-mails through the shop's SMTP server.

Shipping queues outbox rows of kind ``email`` (see
``app.core.fulfillment.email``); :class:`Mailer` sends them with
``smtplib``, over STARTTLS, TLS from the start ("ssl") or plain SMTP
("none", for a relay on this machine), as set in ``Shop.settings["smtp"]``.
The password is read from the system keyring (service "Backroom", user
``smtp:<username>@<host>``), never from the database.

A row that cannot be sent because the server is unreachable or answers
with a temporary (4xx) error stays pending and is tried again later with a
growing delay; while the server is unreachable the run stops at the first
row, so an offline machine just waits. A permanent (5xx) refusal marks the
row failed with the server's reply.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import keyring
import keyring.errors
from sqlalchemy import Engine, or_, select

from app.core.fulfillment.email import EMAIL_KIND
from app.core.fulfillment.settings import SmtpSettings, smtp_settings
from app.core.models import OutboxItem
from app.core.uow import UnitOfWork
from app.sync.errors import ConfigError, SyncError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Backroom"
#: Delay before the first retry; it doubles per attempt up to MAX_DELAY.
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=2)


class MailError(SyncError):
    """A message could not be handed to the SMTP server."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


def password_user(settings: SmtpSettings) -> str:
    """Return the keyring user name under which the SMTP password is stored."""
    return f"smtp:{settings.username}@{settings.host}"


def keyring_password(settings: SmtpSettings) -> str | None:
    if not settings.username:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, password_user(settings))
    except keyring.errors.KeyringError as exc:
        raise ConfigError(
            f"the system keyring could not be read ({exc}); unlock it or set "
            "up a keyring backend, then try again"
        ) from None


def store_password(settings: SmtpSettings, password: str) -> None:
    """Save the SMTP password in the system keyring."""
    keyring.set_password(KEYRING_SERVICE, password_user(settings), password)


def build_message(
    settings: SmtpSettings, to: str, subject: str, body: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = settings.from_address.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def _connect(settings: SmtpSettings, context: ssl.SSLContext | None) -> smtplib.SMTP:
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout_s,
            context=context or ssl.create_default_context(),
        )
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
    if settings.security == "starttls":
        client.starttls(context=context or ssl.create_default_context())
    return client


def send_message(
    settings: SmtpSettings,
    password: str | None,
    message: EmailMessage,
    *,
    context: ssl.SSLContext | None = None,
) -> None:
    """Send one message; raise MailError saying whether a retry may help.

    ``context`` replaces the default TLS context (which checks the server's
    certificate against the system's CAs), e.g. to trust a private CA.
    """
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings, context) as client:
            if settings.username:
                client.login(settings.username, password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"the mail server {where} rejected the login of {settings.username!r} "
            f"({exc.smtp_code}); check the user name and the password in the "
            "mail settings",
            temporary=False,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        raise MailError(
            f"the mail server {where} rejected the recipient "
            f"{', '.join(exc.recipients)} ({', '.join(map(str, sorted(codes)))})",
            temporary=all(400 <= c < 500 for c in codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise MailError(
            f"the mail server {where} responded {exc.smtp_code} {text}",
            temporary=400 <= exc.smtp_code < 500,
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"the mail server {where} could not be reached ({type(exc).__name__}: "
            f"{exc}); the message waits and is sent when the server answers",
            temporary=True,
        ) from None


@dataclass(frozen=True, slots=True)
class MailRun:
    """The outcome of one pass over the queue."""

    sent: int
    failed: int
    waiting: int
    error: str = ""


class Mailer:
    """Drains pending ``email`` outbox rows of one shop database."""

    def __init__(
        self,
        engine: Engine,
        *,
        password: Callable[[SmtpSettings], str | None] = keyring_password,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.password = password
        self.tls_context = tls_context
        self.clock = clock

    def send_pending(self, limit: int = 50) -> MailRun:
        """Send up to ``limit`` due messages, each committed on its own."""
        now = self.clock()
        with UnitOfWork(self.engine, write=False) as uow:
            settings = smtp_settings(uow.session)
            due = uow.session.scalars(
                select(OutboxItem.id)
                .where(
                    OutboxItem.kind == EMAIL_KIND,
                    OutboxItem.status == "pending",
                    or_(
                        OutboxItem.next_attempt_at.is_(None),
                        OutboxItem.next_attempt_at <= now,
                    ),
                )
                .order_by(OutboxItem.id)
                .limit(limit)
            ).all()
        if not due:
            return MailRun(0, 0, 0)
        if not settings.configured:
            message = (
                "no outgoing mail server is set; enter it in Settings > Mail so "
                f"that {len(due)} waiting e-mails can be sent"
            )
            log.warning(message)
            return MailRun(0, 0, len(due), message)
        password = self.password(settings)
        sent = failed = 0
        for position, item_id in enumerate(due):
            try:
                self._send_one(settings, password, item_id)
            except MailError as exc:
                if exc.temporary:
                    log.warning("e-mail %s waits: %s", item_id, exc)
                    return MailRun(sent, failed, len(due) - position, str(exc))
                log.error("e-mail %s failed: %s", item_id, exc)
                failed += 1
                continue
            sent += 1
        return MailRun(sent, failed, 0)

    def _send_one(
        self, settings: SmtpSettings, password: str | None, item_id: int
    ) -> None:
        with UnitOfWork(self.engine) as uow:
            item = uow.session.get(OutboxItem, item_id)
            if item is None or item.status != "pending":
                return
            payload = item.payload
            message = build_message(
                settings,
                str(payload["to"]),
                str(payload["subject"]),
                str(payload["body"]),
            )
            try:
                send_message(settings, password, message, context=self.tls_context)
            except MailError as exc:
                item.attempts += 1
                item.last_error = str(exc)
                if exc.temporary:
                    delay = min(FIRST_DELAY * 2 ** (item.attempts - 1), MAX_DELAY)
                    item.next_attempt_at = self.clock() + delay
                else:
                    item.status = "failed"
                uow.commit()
                raise
            item.status = "sent"
            item.attempts += 1
            item.sent_at = self.clock()
            item.last_error = None
            uow.commit()
            log.info("e-mail %s for order %s sent", item_id, payload.get("order_id"))
