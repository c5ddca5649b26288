"""Entry point of the frozen app: the same ``backroom`` command as the wheel's.

PyInstaller runs this file as ``__main__`` inside the bundle. With no
arguments it opens the window; ``backroom selftest`` checks the bundle.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
