#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system-deps.sh test
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

if [[ -z "${BACKROOM_TEST_PG_URL:-}" ]]; then
  if url=$(scripts/test-postgres.sh); then
    export BACKROOM_TEST_PG_URL="$url"
  else
    echo "PostgreSQL is not available: its tests will be skipped" >&2
  fi
fi

.venv/bin/ruff check app tests bench scripts
.venv/bin/ruff format --check app tests bench scripts
.venv/bin/mypy app/core
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest -q "$@"
