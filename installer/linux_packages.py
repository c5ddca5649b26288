"""The Debian packages the bundle needs on the target, and why.

PyInstaller copies most shared libraries into the bundle, but leaves out
those that must match the machine: the C library, the OpenGL/EGL drivers,
libxcb (it talks to the running X server) and the Wayland client libraries.
``SYSTEM_LIBRARIES`` maps each such library (as ``ldd`` names it) to the
package that provides it on Debian 12 and Ubuntu 22.04 or newer.
``tests/test_installer.py`` checks that the built bundle needs nothing else.
"""

from __future__ import annotations

#: Library file name -> Debian package.
SYSTEM_LIBRARIES: dict[str, str] = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libresolv.so.2": "libc6",
    "libutil.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libgl1",
    "libGLdispatch.so.0": "libgl1",
    "libOpenGL.so.0": "libgl1",
    "libEGL.so.1": "libegl1",
    "libxcb.so.1": "libxcb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}

#: Packages needed at run time beyond the libraries: fontconfig's settings
#: and a font for the window and the PDFs, and zbar for the self-test's
#: barcode check (pyzbar loads it with ctypes, which ldd does not see).
RUNTIME_PACKAGES = ("libfontconfig1", "fonts-dejavu-core", "libzbar0")


def depends(glibc: str) -> str:
    """Return the .deb's Depends field for a bundle built against ``glibc``."""
    packages = sorted(set(SYSTEM_LIBRARIES.values()) - {"libc6"})
    return ", ".join([f"libc6 (>= {glibc})", *packages, *RUNTIME_PACKAGES])
