"""What the PyInstaller bundle leaves out, shared by the spec and the tests.

PyInstaller's PySide6 hooks collect every plugin of each plugin type that a
used Qt module names, and every plugin drags in its own libraries. The
virtual keyboard input method pulls in QtQuick and QML (about 17 MB), and
the GTK theme pulls in GTK, cairo and pango. Backroom draws its own style and uses only
QtCore, QtGui, QtWidgets, QtSvg and QtCharts, so the rules below keep the
plugins those need on a Linux desktop (X11 and Wayland, input methods, the
desktop portal, SVG/PNG/JPEG/GIF/ICO images) and drop the rest.

Names are destination paths inside the bundle's ``_internal`` folder, with
``/`` as separator (PyInstaller gives them in the platform's form).
"""

from __future__ import annotations

import re

#: Path of a Qt plugin in the bundle: PySide6/Qt/plugins/... on Linux and
#: macOS, PySide6/plugins/... on Windows.
PLUGINS = re.compile(r"^PySide6/(?:Qt/)?plugins/([^/]+)/(.+)$")

#: Python modules never imported by Backroom that other packages offer to
#: import (optional back ends, test suites, GUI toolkits).
EXCLUDED_MODULES: list[str] = [
    "tkinter",
    "_tkinter",
    "IPython",
    "matplotlib",
    "numpy",
    "pandas",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "setuptools",
    "pip",
    "PySide6.QtNetwork",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtMultimedia",
    "PySide6.Qt3DCore",
    "PySide6.QtTest",
    "PySide6.QtDesigner",
    "PySide6.QtUiTools",
    "PySide6.scripts",
    "PySide6.support.deprecated",
    "sqlalchemy.testing",
    "alembic.testing",
    "reportlab.graphics.testshapes",
    "psycopg2",
    # Pillow decodes only the grey-scale page images of the self-test; its
    # AVIF and WebP codecs (6 MB of libraries) and toolkit bridges stay out.
    "PIL._avif",
    "PIL.AvifImagePlugin",
    "PIL._webp",
    "PIL.WebPImagePlugin",
    "PIL.ImageTk",
    "PIL.ImageQt",
]

#: Qt plugins kept, by plugin folder; a folder not listed here is dropped.
#: Names are given without the ``lib`` prefix and the .so/.dll/.dylib suffix,
#: so the same rules serve Linux, Windows and macOS. ``None`` keeps every
#: plugin in that folder.
KEPT_PLUGINS: dict[str, set[str] | None] = {
    # X11, Wayland, Windows, macOS, and the offscreen and minimal platforms
    # the self-test uses.
    "platforms": {"qxcb", "qwayland", "qwindows", "qcocoa", "qoffscreen", "qminimal"},
    "xcbglintegrations": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "wayland-shell-integration": None,
    # Dead keys and IBus (accents, CJK input); not the QML virtual keyboard.
    "platforminputcontexts": {
        "composeplatforminputcontextplugin",
        "ibusplatforminputcontextplugin",
    },
    # File dialogs through the desktop portal; not the GTK theme.
    "platformthemes": {"qxdgdesktopportal"},
    # The native widget styles of Windows and macOS.
    "styles": None,
    "iconengines": None,
    "imageformats": {"qsvg", "qico", "qjpeg", "qgif"},
}

#: Qt libraries that only the dropped plugins and modules need, as Linux
#: (libQt6Quick.so.6), Windows (Qt6Quick.dll) and macOS (QtQuick.framework)
#: name them.
DROPPED_QT_LIBRARIES = re.compile(
    r"(^|/)(lib)?Qt6?(Qml|Quick|VirtualKeyboard|EglFS|EglFsKms|Network|Pdf"
    r"|WebEngine|Multimedia|3D)\w*(\.so|\.dll|\.dylib|\.framework/)"
)

#: Data left out: the test folders of packages and unused data files.
DROPPED_DATA = (
    re.compile(r"(^|/)tests?/"),
    # Translations of country and currency names; Backroom shows English names.
    re.compile(r"^pycountry/locales/"),
    # Qt's own translations: Backroom installs no QTranslator.
    re.compile(r"^PySide6/(?:Qt/)?translations/"),
    # The .icns is for the macOS bundle only.
    re.compile(r"^resources/icons/backroom\.icns$"),
)


def _posix(name: str) -> str:
    return name.replace("\\", "/")


def keep_plugin(name: str) -> bool:
    """Return False for a Qt plugin that Backroom does not need."""
    match = PLUGINS.match(_posix(name))
    if match is None:
        return True
    folder, filename = match.groups()
    if folder not in KEPT_PLUGINS:
        return False
    kept = KEPT_PLUGINS[folder]
    stem = re.sub(r"^lib|\.(so|dll|dylib)$", "", filename)
    return kept is None or stem in kept


def keep_binary(name: str) -> bool:
    """Return False for a shared library or plugin the bundle should not carry."""
    path = _posix(name)
    if not keep_plugin(path):
        return False
    if DROPPED_QT_LIBRARIES.search(path):
        return False
    filename = path.rsplit("/", 1)[-1]
    # GTK and its drawing stack arrive only with the GTK platform theme.
    gtk = ("libgtk-3", "libgdk-3", "libgdk_pixbuf", "libatk", "libcairo", "libpango")
    return not filename.startswith(gtk)


def keep_data(name: str) -> bool:
    """Return False for a data file the bundle should not carry."""
    path = _posix(name)
    if not keep_plugin(path):
        return False
    return not any(pattern.search(path) for pattern in DROPPED_DATA)
