"""Channel credentials: kept in the OS keyring, never in the database or a log.

Each secret is stored under service ``Backroom`` and user
``<channel name>:<field>``; the fields are ``token`` for Shopify (the custom
app's Admin API access token) and ``key`` and ``secret`` for WooCommerce (the
REST API consumer key and secret).

Where the machine has no usable keyring (``keyring.get_keyring()`` is the
``fail`` backend, or raises), secrets live in this process's memory for the
session only: the window asks for them once per session, and the command
line prompts with getpass when it runs in a terminal. For scripts, a secret
can come from the environment variable ``BACKROOM_SECRET_<CHANNEL>_<FIELD>``,
where ``<CHANNEL>`` is the channel name in capitals with every other
character than A-Z and 0-9 turned into ``_`` (channel "Main store", field
``token``: ``BACKROOM_SECRET_MAIN_STORE_TOKEN``). The environment wins over
the keyring, so a script can override a stored secret without changing it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import fail

from app.sync.errors import SyncError

logger = logging.getLogger(__name__)

SERVICE = "Backroom"
ENV_PREFIX = "BACKROOM_SECRET_"
#: The secrets each channel kind needs, with the label a prompt shows.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "shopify": (("token", "Admin API access token"),),
    "woocommerce": (("key", "consumer key"), ("secret", "consumer secret")),
}


class MissingSecret(SyncError):
    """A channel's credential is not stored and could not be asked for."""

    def __init__(self, channel: str, field: str) -> None:
        super().__init__(
            f"channel {channel!r} has no {field} stored; enter it on the Channels "
            f"page, with `backroom channel secret {channel!r}`, or set "
            f"{env_name(channel, field)} for scripts"
        )
        self.channel = channel
        self.field = field


def env_name(channel: str, field: str) -> str:
    """Return the environment variable that may hold a channel's secret."""
    channel_part = re.sub(r"[^A-Z0-9]", "_", channel.upper())
    field_part = re.sub(r"[^A-Z0-9]", "_", field.upper())
    return f"{ENV_PREFIX}{channel_part}_{field_part}"


def _usable(backend: KeyringBackend) -> bool:
    return not isinstance(backend, fail.Keyring)


class SecretStore:
    """Reads and writes channel secrets: environment, keyring, session memory.

    ``backend`` defaults to the keyring library's choice for this machine.
    ``environ`` defaults to ``os.environ``.
    """

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._memory: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._environ = environ if environ is not None else os.environ
        self.backend: KeyringBackend | None
        self.problem: str | None = None
        try:
            chosen = backend if backend is not None else keyring.get_keyring()
        except Exception as exc:  # the keyring library raises many kinds
            chosen = None
            self.problem = f"the system keyring could not be opened ({exc})"
        if chosen is not None and not _usable(chosen):
            self.problem = "this machine has no system keyring"
            chosen = None
        self.backend = chosen
        if self.problem:
            # A backend the caller chose is no news; one the machine lacks is.
            logger.log(
                logging.DEBUG if backend is not None else logging.WARNING,
                "%s; channel secrets are kept in memory for this session only and "
                "are asked for again next time",
                self.problem,
            )

    @property
    def persistent(self) -> bool:
        """True when secrets survive this session (a usable keyring)."""
        return self.backend is not None

    @staticmethod
    def _user(channel: str, field: str) -> str:
        return f"{channel}:{field}"

    def get(self, channel: str, field: str) -> str | None:
        """Return the secret, or None when no source has it."""
        from_env = self._environ.get(env_name(channel, field))
        if from_env:
            return from_env
        with self._lock:
            remembered = self._memory.get((channel, field))
        if remembered:
            return remembered
        if self.backend is None:
            return None
        try:
            return self.backend.get_password(SERVICE, self._user(channel, field))
        except keyring.errors.KeyringError as exc:
            logger.warning(
                "reading %s of channel %s from the keyring failed: %s",
                field,
                channel,
                type(exc).__name__,
            )
            return None

    def set(self, channel: str, field: str, value: str) -> bool:
        """Store a secret; return True when it went to the keyring.

        Without a usable keyring, or when writing to it fails, the secret is
        kept in memory for this session and False is returned.
        """
        if not value:
            raise ValueError(f"the {field} of channel {channel!r} is empty")
        with self._lock:
            self._memory[(channel, field)] = value
        if self.backend is None:
            return False
        try:
            self.backend.set_password(SERVICE, self._user(channel, field), value)
        except keyring.errors.KeyringError as exc:
            logger.warning(
                "storing %s of channel %s in the keyring failed (%s); it is kept "
                "for this session only",
                field,
                channel,
                type(exc).__name__,
            )
            return False
        return True

    def delete(self, channel: str, field: str) -> None:
        """Forget a secret in memory and in the keyring."""
        with self._lock:
            self._memory.pop((channel, field), None)
        if self.backend is None:
            return
        try:
            self.backend.delete_password(SERVICE, self._user(channel, field))
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            logger.warning(
                "deleting %s of channel %s from the keyring failed: %s",
                field,
                channel,
                type(exc).__name__,
            )

    def missing(self, channel: str, kind: str) -> list[str]:
        """Return the fields of a channel that no source holds."""
        return [
            field
            for field, _label in FIELDS.get(kind, ())
            if not self.get(channel, field)
        ]

    def require(self, channel: str, field: str) -> str:
        value = self.get(channel, field)
        if not value:
            raise MissingSecret(channel, field)
        return value

    def ask_missing(
        self, channel: str, kind: str, prompt: Callable[[str], str]
    ) -> list[str]:
        """Ask for each missing secret with ``prompt(label)``; return the fields set."""
        done = []
        for field, label in FIELDS.get(kind, ()):
            if self.get(channel, field):
                continue
            value = prompt(f"{label} for channel {channel!r}: ").strip()
            if value:
                self.set(channel, field, value)
                done.append(field)
        return done
