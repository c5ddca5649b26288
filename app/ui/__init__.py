"""The PySide6 desktop window. Importing it applies :mod:`app.ui.pyside_fix`."""

from app.ui import pyside_fix as _pyside_fix  # noqa: F401 - applied on import
