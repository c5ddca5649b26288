"""Progress reports and cancellation shared by the importers and their callers.

An importer calls a ``ProgressCallback`` with a ``Progress`` record between
steps and checks a ``CancelToken`` to learn whether to stop. The terminal
draws the records with ``TextProgressBar``. The window's import wizard turns
them into signals for its progress dialog and cancels from the GUI thread,
which is safe because the token is a ``threading.Event``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

# The terminal bar appears only after this many seconds, so a quick import
# draws nothing, and redraws at most this often.
SHOW_AFTER_S = 0.5
REDRAW_EVERY_S = 0.1


@dataclass(frozen=True, slots=True)
class Progress:
    """How far one phase of an import has come.

    ``phase`` is a short name such as "reading" or "writing". ``done`` and
    ``total`` count ``unit`` (bytes, rows or invoices). ``total`` is 0 when
    the size is unknown.
    """

    phase: str
    done: int
    total: int
    unit: str

    @property
    def fraction(self) -> float | None:
        """The share done, from 0.0 to 1.0, or None when the total is unknown."""
        if self.total <= 0:
            return None
        return min(1.0, max(0.0, self.done / self.total))


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """A flag one thread sets and an importer checks between chunks.

    Calling the token returns whether it was cancelled, so it can be passed
    wherever a ``cancel() -> bool`` callable is expected.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()


class TextProgressBar:
    """A one-line text progress bar, redrawn in place with a carriage return.

    ``width`` is the number of characters between the brackets. The bar
    writes nothing until ``SHOW_AFTER_S`` seconds after it was created.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.width = width
        self._clock = clock
        self._started = clock()
        self._last_draw = 0.0
        self._last_phase = ""
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        now = self._clock()
        if now - self._started < SHOW_AFTER_S:
            return
        finished = progress.total > 0 and progress.done >= progress.total
        phase_changed = progress.phase != self._last_phase
        if not (finished or phase_changed) and now - self._last_draw < REDRAW_EVERY_S:
            return
        if phase_changed and self._drawn:
            self.stream.write("\n")
        self._last_phase = progress.phase
        self._last_draw = now
        self._drawn = True
        self.stream.write("\r" + render_bar(progress, self.width))
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line, if anything was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def render_bar(progress: Progress, width: int = 30) -> str:
    """Return the bar's text, such as ``writing   [#######.......]  48% ...``."""
    fraction = progress.fraction
    if fraction is None:
        return f"{progress.phase:<10} {_amount(progress.done, progress.unit)}"
    filled = int(fraction * width)
    bar = "#" * filled + "." * (width - filled)
    if progress.unit == "bytes":
        amounts = (
            f"{progress.done / 1_000_000:.1f} of {progress.total / 1_000_000:.1f} MB"
        )
    else:
        amounts = f"{progress.done:,} of {progress.total:,} {progress.unit}"
    return f"{progress.phase:<10} [{bar}] {fraction * 100:3.0f}%  {amounts}"


def _amount(count: int, unit: str) -> str:
    if unit == "bytes":
        return f"{count / 1_000_000:.1f} MB"
    return f"{count:,} {unit}"
