"""The one way the window runs work off the GUI thread.

Every user action builds a task here: :meth:`Operations.read` runs a query
service in a read-only unit of work on a small thread pool, and
:meth:`Operations.write` runs a core service in a writing unit of work on a
single worker thread, so writes happen one at a time in the order they were
asked for. Results and errors come back on the GUI thread. A progress dialog
appears only when a task is still running after half a second, and its Cancel
button stops a write before it commits or drops a read's result.
After every committed write, :attr:`Operations.changed` carries the
:class:`Changes` record the service returned, and each page decides from it
whether to refresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.changes import Changes
from app.core.exceptions import BackroomError
from app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A task shows its progress dialog only after this many milliseconds.
PROGRESS_DELAY_MS = 500


class Cancelled(BackroomError):
    """The person pressed Cancel; nothing was committed."""


class TaskControl:
    """What a running task may use: report progress and notice Cancel."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self.reporter: Callable[[str, float], None] = lambda _text, _frac: None

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the person pressed Cancel."""
        if self._cancelled.is_set():
            raise Cancelled("cancelled; nothing was saved")

    def report(self, text: str, fraction: float) -> None:
        self.check()
        self.reporter(text, fraction)


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(str, float)


def _runner(
    work: Callable[[TaskControl], Any], control: TaskControl, signals: _Signals
) -> Callable[[], None]:
    """Return the callable a pool thread runs; it only emits signals.

    The callable only touches the control and the signals object, both kept
    alive by the closure until it returns.
    """

    def run() -> None:
        try:
            result = work(control)
        except Exception as exc:
            if not isinstance(exc, BackroomError):
                log.exception("background task failed")
            signals.failed.emit(exc)
            return
        signals.finished.emit(result)

    return run


class Task(QObject):
    """A running read or write; delivers its result on the GUI thread."""

    done = Signal(object)
    error = Signal(object)

    def __init__(
        self,
        ops: Operations,
        label: str,
        parent_widget: QWidget | None,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        super().__init__(ops)
        self.ops = ops
        self.label = label
        self.control = TaskControl()
        self._parent_widget = parent_widget
        self._on_done = on_done
        self._on_error = on_error
        self._dialog: QProgressDialog | None = None
        self._finished = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show_progress)

    def start(
        self, work: Callable[[TaskControl], Any], pool: ThreadPoolExecutor
    ) -> None:
        signals = _Signals()
        signals.finished.connect(self._finish)
        signals.failed.connect(self._fail)
        signals.progress.connect(self._progress)
        self.control.reporter = signals.progress.emit
        self._signals = signals
        self._timer.start(PROGRESS_DELAY_MS)
        pool.submit(_runner(work, self.control, signals))

    @property
    def running(self) -> bool:
        return not self._finished

    def _show_progress(self) -> None:
        if self._finished:
            return
        dialog = QProgressDialog(
            f"{self.label}…", "Cancel", 0, 0, self._parent_widget or None
        )
        dialog.setWindowTitle("Backroom")
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.control.cancel)
        dialog.show()
        self._dialog = dialog

    @Slot(str, float)
    def _progress(self, text: str, fraction: float) -> None:
        if self._dialog is not None:
            self._dialog.setRange(0, 100)
            self._dialog.setValue(int(fraction * 100))
            self._dialog.setLabelText(text)

    def _close(self) -> None:
        self._finished = True
        self._timer.stop()
        if self._dialog is not None:
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
        self.ops._forget(self)

    @Slot(object)
    def _finish(self, result: Any) -> None:
        cancelled = self.control.cancelled
        self._close()
        if cancelled:
            return
        if self._on_done is not None:
            self._on_done(result)
        self.done.emit(result)

    @Slot(object)
    def _fail(self, exc: BaseException) -> None:
        self._close()
        if isinstance(exc, Cancelled):
            return
        if self._on_error is not None:
            self._on_error(exc)
        else:
            self.ops.report_error(self.label, exc, self._parent_widget)
        self.error.emit(exc)


def _rejected(error: BackroomError) -> Callable[[TaskControl], Any]:
    """Return a task body that fails with ``error`` before touching the database."""

    def work(_control: TaskControl) -> Any:
        raise error

    return work


def changes_of(result: object) -> Changes | None:
    """Find the Changes record in what a service returned."""
    if isinstance(result, Changes):
        return result
    found = getattr(result, "changes", None)
    if isinstance(found, Changes):
        return found
    if isinstance(result, tuple):
        for item in result:
            if isinstance(item, Changes):
                return item
    return None


class Operations(QObject):
    """Factory of background tasks over one database engine.

    ``user_id`` is passed into every writing unit of work, so that the audit
    trail names the person at the keyboard.
    """

    changed = Signal(object)
    failed = Signal(str, object)
    idle_changed = Signal(bool)

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.user_id: int | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="backroom-write")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="backroom-read")
        self._tasks: set[Task] = set()
        #: When set, every write and job fails with this error without running
        #: (the shop file failed its integrity check; see app.ui.safety).
        self.read_only: BackroomError | None = None
        self.error_handler: Callable[[str, BaseException, QWidget | None], None] = (
            lambda label, exc, _parent: log.error("%s failed: %s", label, exc)
        )

    @property
    def idle(self) -> bool:
        return not self._tasks

    def read(
        self,
        query: Callable[[Session], T],
        on_done: Callable[[T], None],
        *,
        label: str = "Loading",
        parent: QWidget | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Run ``query(session)`` in a read-only unit of work on the pool."""
        engine = self.engine

        def work(control: TaskControl) -> T:
            with UnitOfWork(engine, write=False) as uow:
                result = query(uow.session)
            control.check()
            return result

        return self._start(work, self._readers, label, parent, on_done, on_error)

    def write(
        self,
        action: Callable[[UnitOfWork], T],
        on_done: Callable[[T], None] | None = None,
        *,
        label: str,
        parent: QWidget | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Run ``action(uow)`` on the write thread and commit unless cancelled."""
        engine = self.engine
        user_id = self.user_id

        def work(control: TaskControl) -> T:
            with UnitOfWork(engine, user_id=user_id) as uow:
                result = action(uow)
                control.check()
                uow.commit()
            return result

        if self.read_only is not None:
            work = _rejected(self.read_only)
        task = self._start(work, self._writer, label, parent, on_done, on_error)
        task.done.connect(self._announce)
        return task

    def job(
        self,
        work: Callable[[TaskControl], T],
        on_done: Callable[[T], None] | None = None,
        *,
        label: str,
        parent: QWidget | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Run a long job that manages its own transactions on the write thread.

        The job reports progress with ``control.report(text, fraction)``,
        which also raises :class:`Cancelled` once Cancel was pressed.
        """
        if self.read_only is not None:
            work = _rejected(self.read_only)
        return self._start(work, self._writer, label, parent, on_done, on_error)

    def _start(
        self,
        work: Callable[[TaskControl], T],
        pool: ThreadPoolExecutor,
        label: str,
        parent: QWidget | None,
        on_done: Callable[[T], None] | None,
        on_error: Callable[[BaseException], None] | None,
    ) -> Task:
        task = Task(self, label, parent, on_done, on_error)
        was_idle = self.idle
        self._tasks.add(task)
        if was_idle:
            self.idle_changed.emit(False)
        task.start(work, pool)
        return task

    def _forget(self, task: Task) -> None:
        self._tasks.discard(task)
        if self.idle:
            self.idle_changed.emit(True)

    @Slot(object)
    def _announce(self, result: object) -> None:
        changes = changes_of(result)
        self.changed.emit(changes if changes is not None else Changes())

    def report_error(
        self, label: str, exc: BaseException, parent: QWidget | None
    ) -> None:
        self.failed.emit(label, exc)
        self.error_handler(label, exc, parent)

    def shutdown(self) -> None:
        """Wait for running tasks; call before the engine is disposed."""
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
