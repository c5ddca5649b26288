"""Regenerate the initial schema revision from the models.

Used only while no schema has been released: it rewrites
``app/migrations/versions/0001_initial.py`` so that upgrading an empty
database gives exactly the models' tables. Once a release has shipped,
schema changes get new revisions with ``alembic revision --autogenerate``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import db  # noqa: E402

TARGET = ROOT / "app" / "migrations" / "versions" / "0001_initial.py"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(Path(tmp) / "empty.sqlite")
        config = db._alembic_config(engine)
        command.revision(
            config, message="initial schema", autogenerate=True, rev_id="0001"
        )
    generated = next(TARGET.parent.glob("0001_*.py"))
    generated.rename(TARGET)
    print(TARGET)


if __name__ == "__main__":
    main()
