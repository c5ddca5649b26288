"""Channels: connect Shopify and WooCommerce, see each one's sync, fix what stuck.

The left list shows every channel with its state ("offline, 12 changes
waiting"); the tabs on the right show the selected channel's queue, its
exceptions (orders held on an unknown SKU, refunds to book by hand, parked
pushes), its unmatched listings, the sync log and the runs. Connecting,
testing and syncing call the same services as ``backroom channel`` and
``backroom sync``; anything that talks to a channel runs as a background job.

Secrets typed here go to the OS keyring through ``SecretStore``. On a
machine without a keyring they live in memory for this session, and the page
asks for them again the next time Backroom starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.channels import accounts, listings
from app.core.channels import issues as sync_issues
from app.core.channels import queue as outbox_queue
from app.core.channels import status as sync_status
from app.core.exceptions import ValidationError
from app.core.uow import UnitOfWork
from app.sync.errors import SyncError
from app.sync.secrets import FIELDS, SecretStore
from app.ui.context import AppContext
from app.ui.ops import TaskControl
from app.ui.pages.base import Page
from app.ui.pages.stock_dialogs import Action, FormDialog
from app.ui.widgets import DetailTable, heading

log = logging.getLogger(__name__)

KIND_LABELS = {"shopify": "Shopify", "woocommerce": "WooCommerce"}


if TYPE_CHECKING:
    from app.sync.engine import SyncEngine
    from app.sync.worker import SyncWorker


@dataclass(frozen=True, slots=True)
class ChannelDetail:
    """Everything the tabs show for one channel."""

    channel_id: int
    queue: list[outbox_queue.QueueRow]
    issues: list[sync_issues.IssueView]
    unmatched: list[listings.ListingView]
    log: list[sync_issues.LogView]
    runs: list[sync_status.RunView]


def load_detail(session: Session, channel_id: int) -> ChannelDetail:
    return ChannelDetail(
        channel_id=channel_id,
        queue=outbox_queue.queue_rows(session, channel_id, limit=300),
        issues=sync_issues.issues(session, channel_id),
        unmatched=listings.listings(session, channel_id, unmatched_only=True),
        log=sync_issues.sync_log(session, channel_id, limit=300),
        runs=sync_status.recent_runs(session, channel_id, limit=100),
    )


class _WorkerSignals(QObject):
    """Carries the sync worker's callbacks from its thread to the GUI thread."""

    stepped = Signal(float)
    failed = Signal(object)


# --- dialogs ---------------------------------------------------------------------


class ConnectDialog(FormDialog):
    """Name, kind, address and secrets of a new channel."""

    def __init__(
        self, ctx: AppContext, secrets: SecretStore, parent: QWidget | None = None
    ) -> None:
        intro = (
            "Backroom reads this store's orders and sends it stock and tracking. "
            "The access key is kept in the system keyring, never in the shop file."
        )
        if not secrets.persistent:
            intro += (
                " This computer has no system keyring, so Backroom asks for the key "
                "again each time it starts."
            )
        super().__init__(ctx, "Connect a channel", intro, parent)
        self.secrets = secrets
        self.name = QLineEdit()
        self.kind = QComboBox()
        for kind in accounts.SYNC_KINDS:
            self.kind.addItem(KIND_LABELS[kind], kind)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://shop.example.com")
        self.poll = QSpinBox()
        self.poll.setRange(accounts.MIN_POLL_INTERVAL_S, 3600)
        self.poll.setValue(accounts.DEFAULT_POLL_INTERVAL_S)
        self.poll.setSuffix(" s")
        self.fields: dict[str, QLineEdit] = {}
        self.form.addRow("Name", self.name)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Store address", self.url)
        self.form.addRow("Check for orders every", self.poll)
        for field, label in {f: lbl for k in FIELDS.values() for f, lbl in k}.items():
            box = QLineEdit()
            box.setEchoMode(QLineEdit.EchoMode.Password)
            self.fields[field] = box
            self.form.addRow(label[:1].upper() + label[1:], box)
        self.kind.currentIndexChanged.connect(self._show_fields)
        self._show_fields()

    def _show_fields(self) -> None:
        wanted = {field for field, _label in FIELDS[self.kind.currentData()]}
        for field, box in self.fields.items():
            box.setVisible(field in wanted)
            label = self.form.labelForField(box)
            if label is not None:
                label.setVisible(field in wanted)

    def action(self) -> Action:
        kind = str(self.kind.currentData())
        name = self.name.text().strip()
        values = {
            field: self.fields[field].text().strip() for field, _label in FIELDS[kind]
        }
        for field, value in values.items():
            if not value:
                raise ValidationError(field, "", f"enter the channel's {field}")
        url, poll = self.url.text(), self.poll.value()
        secrets = self.secrets

        def run(uow: UnitOfWork) -> Changes:
            accounts.connect_channel(uow, name, kind, url, poll_interval_s=poll)
            for field, value in values.items():
                secrets.set(name, field, value)
            return Changes(settings=True)

        return run


class SecretsDialog(FormDialog):
    """Asks for a channel's secrets that no keyring or variable holds."""

    def __init__(
        self,
        ctx: AppContext,
        secrets: SecretStore,
        name: str,
        kind: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            f"Credentials for {name}",
            f"Backroom needs the {KIND_LABELS.get(kind, kind)} credentials of "
            f"{name!r}."
            + ("" if secrets.persistent else " They are kept for this session only."),
            parent,
        )
        self.secrets = secrets
        self.channel = name
        self.boxes: dict[str, QLineEdit] = {}
        for field, label in FIELDS.get(kind, ()):
            box = QLineEdit()
            box.setEchoMode(QLineEdit.EchoMode.Password)
            self.boxes[field] = box
            self.form.addRow(label[:1].upper() + label[1:], box)

    def action(self) -> Action:
        values = {f: b.text().strip() for f, b in self.boxes.items()}
        for field, value in values.items():
            if not value:
                raise ValidationError(field, "", f"enter the channel's {field}")
        for field, value in values.items():
            self.secrets.set(self.channel, field, value)
        return lambda _uow: Changes()


class MapSkuDialog(FormDialog):
    """Sell a channel's SKU as a local SKU; releases the orders it held."""

    def __init__(
        self,
        ctx: AppContext,
        channel: str,
        channel_sku: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            f"Map a SKU of {channel}",
            "Orders held because of this SKU are released and reserved, and the "
            "channel is sent the local SKU's stock.",
            parent,
        )
        self.channel = channel
        self.channel_sku = QLineEdit(channel_sku)
        self.local_sku = QLineEdit()
        self.form.addRow("SKU on the channel", self.channel_sku)
        self.form.addRow("Local SKU", self.local_sku)

    def action(self) -> Action:
        channel = self.channel
        channel_sku = self.channel_sku.text().strip()
        local_sku = self.local_sku.text().strip()
        if not channel_sku or not local_sku:
            raise ValidationError("sku", "", "enter both SKUs")
        return lambda uow: listings.map_sku(uow, channel, channel_sku, local_sku)


# --- the page --------------------------------------------------------------------


class ChannelsPage(Page):
    key = "channels"

    def __init__(
        self,
        ctx: AppContext,
        parent: QWidget | None = None,
        *,
        secrets: SecretStore | None = None,
        engine_factory: Callable[[SecretStore], SyncEngine] | None = None,
    ) -> None:
        super().__init__(ctx, parent)
        self._secrets = secrets
        self._engine_factory = engine_factory or (
            lambda store: _sync_engine(ctx, store)
        )
        self.rows: list[sync_status.ChannelStatus] = []
        self.detail: ChannelDetail | None = None
        self.selected_id: int | None = None
        self.worker: SyncWorker | None = None
        self._signals = _WorkerSignals(self)
        self._signals.stepped.connect(self._worker_stepped)
        self._signals.failed.connect(self._worker_failed)

        self.channels = DetailTable(
            ["Channel", "Kind", "State", "Last poll"],
            empty="No store connected yet. Use Connect channel… to link a Shopify "
            "or WooCommerce store.",
        )
        self.channels.itemSelectionChanged.connect(self._selection_changed)
        self.connect_button = QPushButton("Connect channel…")
        self.connect_button.setObjectName("primary")
        self.connect_button.clicked.connect(self.connect_channel)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.clicked.connect(self.sync_now)
        self.map_button = QPushButton("Map SKU…")
        self.map_button.clicked.connect(self.map_sku)
        self.retry_button = QPushButton("Retry parked")
        self.retry_button.clicked.connect(self.retry_parked)
        self.background = QCheckBox("Sync in the background")
        self.background.toggled.connect(self.set_background)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        # Filled in when the page is first shown, because opening the keyring
        # takes tens of milliseconds that the window's start should not wait for.
        self.keyring_note = QLabel("")
        self.keyring_note.setObjectName("hint")
        self.keyring_note.setWordWrap(True)

        self.queue = DetailTable(
            ["Kind", "SKU", "Figure", "State", "Attempts", "Error"],
            right=(2, 4),
            empty="Nothing is waiting to be sent.",
        )
        self.problems = DetailTable(
            ["What", "Message", "Seen"], right=(2,), empty="No sync problems."
        )
        self.unmatched = DetailTable(
            ["SKU on the channel", "Title", "Channel shows"],
            empty="Every SKU the channel lists is matched to the catalog.",
        )
        self.unmatched.itemDoubleClicked.connect(lambda _item: self.map_sku())
        self.log = DetailTable(
            ["When", "Level", "Message"], empty="Nothing logged yet."
        )
        self.runs = DetailTable(
            ["Started", "State", "Read", "Captured", "Updated", "Sent", "Note"],
            right=(2, 3, 4, 5),
            empty="No sync has run yet.",
        )
        self.tabs = QTabWidget()
        for table, title in (
            (self.queue, "Queue"),
            (self.problems, "Exceptions"),
            (self.unmatched, "Unmatched SKUs"),
            (self.log, "Sync log"),
            (self.runs, "Runs"),
        ):
            self.tabs.addTab(table, title)

        buttons = QHBoxLayout()
        for button in (
            self.connect_button,
            self.test_button,
            self.sync_button,
            self.map_button,
            self.retry_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.background)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 12, 0)
        left_layout.addWidget(self.channels, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setSizes([420, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(heading("Channels", "pageTitle"))
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.keyring_note)
        layout.addWidget(splitter, 1)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_background)
        self._update_buttons()

    # --- loading --------------------------------------------------------------

    @property
    def secrets(self) -> SecretStore:
        """The channel secrets, opened on first use."""
        if self._secrets is None:
            self._secrets = SecretStore()
        return self._secrets

    def refresh(self) -> None:
        if not self.secrets.persistent:
            self.keyring_note.setText(
                "No system keyring on this computer: channel credentials are "
                "kept for this session only."
            )
        self.ctx.ops.read(
            sync_status.all_status, self.show_channels, label="Loading channels"
        )

    def show_channels(self, rows: list[sync_status.ChannelStatus]) -> None:
        fmt = self.ctx.fmt
        self.rows = rows
        self.channels.fill(
            [
                [
                    r.name,
                    KIND_LABELS.get(r.kind, r.kind),
                    r.text,
                    fmt.short_datetime(r.last_poll_ok_at)
                    if r.last_poll_ok_at
                    else "never",
                ]
                for r in rows
            ],
            ids=[r.channel_id for r in rows],
        )
        ids = [r.channel_id for r in rows]
        if self.selected_id not in ids:
            self.selected_id = ids[0] if ids else None
        if self.selected_id is not None:
            self.channels.blockSignals(True)
            self.channels.selectRow(ids.index(self.selected_id))
            self.channels.blockSignals(False)
            self._load_detail(self.selected_id)
        self._update_buttons()

    def _selection_changed(self) -> None:
        row = self.channels.currentRow()
        if 0 <= row < len(self.rows):
            self.selected_id = self.rows[row].channel_id
            self._load_detail(self.selected_id)
        self._update_buttons()

    def _load_detail(self, channel_id: int) -> None:
        self.ctx.ops.read(
            lambda s: load_detail(s, channel_id),
            self.show_detail,
            label="Loading the channel",
        )

    def show_detail(self, detail: ChannelDetail) -> None:
        fmt = self.ctx.fmt
        self.detail = detail
        self.queue.fill(
            [
                [
                    q.kind,
                    q.sku or str(q.payload.get("tracking_number") or ""),
                    "" if q.quantity is None else fmt.number(q.quantity),
                    q.status,
                    fmt.number(q.attempts),
                    q.last_error or "",
                ]
                for q in detail.queue
            ],
            ids=[q.id for q in detail.queue],
        )
        parked = [q for q in detail.queue if q.status == "parked"]
        self.problems.fill(
            [
                [i.kind.replace("_", " "), i.message, fmt.number(i.occurrences)]
                for i in detail.issues
            ]
            + [
                [f"parked {q.kind}", f"{q.sku or ''}: {q.last_error or ''}", "1"]
                for q in parked
            ],
            ids=[("issue", i.id) for i in detail.issues]
            + [("outbox", q.id) for q in parked],
        )
        self.unmatched.fill(
            [
                [
                    u.channel_sku,
                    u.title,
                    ""
                    if u.channel_quantity is None
                    else fmt.number(u.channel_quantity),
                ]
                for u in detail.unmatched
            ],
            ids=[u.id for u in detail.unmatched],
        )
        self.log.fill(
            [[fmt.short_datetime(e.at), e.level, e.message] for e in detail.log]
        )
        self.runs.fill(
            [
                [
                    fmt.short_datetime(r.started_at),
                    r.status,
                    fmt.number(r.orders_seen),
                    fmt.number(r.orders_captured),
                    fmt.number(r.orders_updated),
                    fmt.number(r.pushed),
                    r.message or "",
                ]
                for r in detail.runs
            ]
        )
        count = len(detail.issues) + len(parked)
        self.tabs.setTabText(1, f"Exceptions ({count})" if count else "Exceptions")
        self.tabs.setTabText(
            2, f"Unmatched SKUs ({len(detail.unmatched)})" if detail.unmatched else
            "Unmatched SKUs"
        )  # fmt: skip

    def on_changes(self, changes: Changes, visible: bool) -> None:
        if changes.settings or changes.outbox or changes.orders or changes.variants:
            super().on_changes(changes, visible)

    def _update_buttons(self) -> None:
        chosen = self.current() is not None
        for button in (self.test_button, self.map_button, self.retry_button):
            button.setEnabled(chosen)
        # One sync at a time: the background worker already syncs every channel.
        self.sync_button.setEnabled(chosen and self.worker is None)

    def current(self) -> sync_status.ChannelStatus | None:
        return next((r for r in self.rows if r.channel_id == self.selected_id), None)

    def show_record(self, record_id: int) -> None:
        self.selected_id = record_id
        self.refresh()

    def new_record(self) -> None:
        self.connect_channel()

    # --- actions ----------------------------------------------------------------

    def connect_channel(self) -> None:
        dialog = ConnectDialog(self.ctx, self.secrets, self)
        dialog.accepted.connect(
            lambda: self.ctx.ops.write(
                dialog.prepared, label="Connecting the channel", parent=self
            )
        )
        dialog.open()

    def map_sku(self) -> None:
        row = self.current()
        if row is None:
            return
        picked = self.unmatched.currentRow()
        sku = ""
        if self.detail is not None and 0 <= picked < len(self.detail.unmatched):
            sku = self.detail.unmatched[picked].channel_sku
        dialog = MapSkuDialog(self.ctx, row.name, sku, self)
        dialog.accepted.connect(
            lambda: self.ctx.ops.write(
                dialog.prepared, label=f"Mapping a SKU of {row.name}", parent=self
            )
        )
        dialog.open()

    def retry_parked(self) -> None:
        if self.detail is None:
            return
        parked = [q.id for q in self.detail.queue if q.status == "parked"]
        if not parked:
            self.message.setText("Nothing is parked for this channel.")
            return

        def run(uow: UnitOfWork) -> Changes:
            changes = Changes()
            for row_id in parked:
                changes.merge(outbox_queue.retry_parked(uow, row_id))
            return changes

        self.ctx.ops.write(run, label="Retrying parked pushes", parent=self)

    def ask_secrets(self, then: Callable[[], object]) -> bool:
        """Ask for the selected channel's missing secrets; run ``then`` after.

        Returns True when nothing was missing and ``then`` ran at once.
        """
        row = self.current()
        if row is None:
            return False
        if not self.secrets.missing(row.name, row.kind):
            then()
            return True
        dialog = SecretsDialog(self.ctx, self.secrets, row.name, row.kind, self)
        dialog.accepted.connect(then)
        dialog.open()
        return False

    def test_connection(self) -> None:
        row = self.current()
        if row is None:
            return
        name = row.name

        def work(_control: TaskControl) -> str:
            engine = self._engine_factory(self.secrets)
            try:
                message, report = engine.test(name)
            except SyncError as exc:
                return f"{name}: the connection failed: {exc}"
            unmatched = (
                f"; {len(report.unmatched)} unmatched" if report.unmatched else ""
            )
            return (
                f"{name}: {message}. {report.total} listings, {report.matched} "
                f"matched to local SKUs{unmatched}."
            )

        self.ask_secrets(
            lambda: self.ctx.ops.job(
                work, self._job_done, label=f"Testing {name}", parent=self
            )
        )

    def sync_now(self) -> None:
        row = self.current()
        if row is None:
            return
        name = row.name

        def work(_control: TaskControl) -> tuple[str, Changes]:
            engine = self._engine_factory(self.secrets)
            (run,) = engine.run_once(name)
            poll = run.poll
            changes = Changes(orders=set(poll.order_ids) if poll else set())
            changes.outbox = run.push.sent if run.push else 0
            read = (
                f"{poll.seen} orders read, {poll.captured} captured, {poll.held} held"
                if poll
                else "orders not read"
            )
            return f"{name}: {read}; {run.status}", changes

        self.ask_secrets(
            lambda: self.ctx.ops.job(
                work, self._sync_done, label=f"Syncing {name}", parent=self
            )
        )

    def _job_done(self, text: str) -> None:
        self.message.setText(text)
        self.refresh()

    def _sync_done(self, result: tuple[str, Changes]) -> None:
        text, changes = result
        self.message.setText(text)
        self.ctx.ops.changed.emit(changes)
        self.refresh()

    # --- background sync ------------------------------------------------------------

    def set_background(self, enabled: bool) -> None:
        if enabled:
            self.start_background()
        else:
            self.stop_background()

    def start_background(self) -> None:
        if self.worker is not None and self.worker.running:
            return
        missing = [r.name for r in self.rows if self.secrets.missing(r.name, r.kind)]
        if missing:
            self.message.setText(
                "Enter the credentials of "
                + ", ".join(missing)
                + " (select it and press Test connection) before syncing it."
            )
        engine = self._engine_factory(self.secrets)
        from app.sync.worker import SyncWorker  # loaded when sync starts

        self.worker = SyncWorker(
            engine,
            on_step=self._signals.stepped.emit,
            on_error=self._signals.failed.emit,
        )
        self.worker.start()
        self.background.blockSignals(True)
        self.background.setChecked(True)
        self.background.blockSignals(False)
        self._update_buttons()

    def stop_background(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()
        self.background.blockSignals(True)
        self.background.setChecked(False)
        self.background.blockSignals(False)
        self._update_buttons()

    def wake_background(self) -> None:
        """Start the worker's next step now, after a local stock change."""
        if self.worker is not None:
            self.worker.wake()

    def _worker_stepped(self, _pause: float) -> None:
        worker = self.worker
        if worker is None:
            return
        changed = worker.engine.take_changed_orders()
        if changed:
            self.ctx.ops.changed.emit(Changes(orders=changed))
        elif self.isVisible() and worker.steps % 10 == 1:
            self.refresh()

    def _worker_failed(self, exc: object) -> None:
        self.message.setText(f"Background sync failed: {exc}")


def _sync_engine(ctx: AppContext, store: SecretStore) -> SyncEngine:
    # The sync engine pulls in requests and the channel clients, which the
    # window does not need until a channel is used.
    from app.sync.engine import SyncEngine

    return SyncEngine(ctx.engine, secrets=store)
