#!/usr/bin/env bash
# Install Backroom into .venv (first run only) and run it with the given
# arguments; with none, it opens the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system-deps.sh app
if [[ ! -x .venv/bin/backroom ]]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
fi
# Byte-compile the app once per change, so that every start skips compiling
# its modules, also where PYTHONDONTWRITEBYTECODE stops Python doing it.
.venv/bin/python -m compileall -q app >/dev/null
exec .venv/bin/backroom "$@"
