"""Keep ``None``, ``True`` and ``False`` alive under PySide6 6.12 on CPython 3.11.

PySide6 6.12.0 treats these singletons as immortal, which they are only from
CPython 3.12 on. On 3.11 it drops one reference that it never took each time
a wrapped void method returns to Python (``label.setText``,
``processEvents``), each time C++ calls a Python override that returns None
(``data``, ``fetchMore``, ``closeEvent``), and each time
``SignalInstance.emit`` returns ``True``. A window makes thousands of such
calls a minute, and the interpreter aborts with "none_dealloc: deallocating
None" once a count reaches zero.

:func:`pin_singletons` measures whether the installed PySide has this fault
and, if so, raises the three reference counts by 2**40, which no session
can use up: the same effect immortality has on CPython 3.12. It does
nothing on 3.12 and later, or when PySide keeps the counts right.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: Added to each reference count: at one lost reference per call, far more
#: calls than a program makes.
HEADROOM = 2**40


def _loses_references() -> bool:
    """Return True when a void PySide call lowers the count of ``None``."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before


def pin_singletons() -> bool:
    """Apply the fix when needed; return True when it was applied."""
    if sys.version_info >= (3, 12) or not _loses_references():
        return False
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))
        count.value += HEADROOM
    log.info("PySide6 loses references to None/True/False here; pinned them")
    return True


PINNED = pin_singletons()
