"""A background thread that runs the sync engine until it is stopped.

The window wraps :class:`SyncWorker` (it needs no Qt): ``start`` begins the
loop, ``wake`` cuts the current pause short after a local change, and
``stop`` ends the loop once the current step is done. Callbacks run on the
worker's thread; a window forwards them to its own thread with a signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.sync.engine import SyncEngine

logger = logging.getLogger(__name__)


class SyncWorker:
    """Runs ``engine.step()`` in a daemon thread, pausing as long as it returns.

    ``on_step`` is called after each step with the seconds until the next
    one; ``on_error`` with any exception a step raised (the loop goes on
    after a pause of ``error_pause_s``).
    """

    def __init__(
        self,
        engine: SyncEngine,
        *,
        channel: str | None = None,
        on_step: Callable[[float], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        error_pause_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.on_step = on_step
        self.on_error = on_error
        self.error_pause_s = error_pause_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.steps = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="backroom-sync", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Start the next step now instead of after the pause."""
        self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Ask the loop to end after its current step; return True once it has."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        logger.info("sync worker started")
        while not self._stop.is_set():
            try:
                pause = self.engine.step(self.channel)
            except Exception as exc:
                logger.exception("sync step failed")
                if self.on_error is not None:
                    self.on_error(exc)
                pause = self.error_pause_s
            self.steps += 1
            if self.on_step is not None:
                self.on_step(pause)
            if self._stop.is_set():
                break
            self._wake.wait(pause)
            self._wake.clear()
        logger.info("sync worker stopped after %d steps", self.steps)
