"""Options and output helpers shared by every command."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.core import db
from app.core.backup import migrate_safely
from app.core.exceptions import SchemaError


def add_db(parser: argparse.ArgumentParser, *, json_output: bool = True) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="shop database: a file path or a SQLAlchemy URL "
        f"(default: {db.default_db_path()})",
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON")


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def open_shop(args: argparse.Namespace) -> Engine:
    """Open the database of an existing shop, migrating it when it is older."""
    url = db.database_url(args.db)
    if (
        url.startswith("sqlite:///")
        and not Path(url.removeprefix("sqlite:///")).exists()
    ):
        raise SchemaError(
            f"{url.removeprefix('sqlite:///')} does not exist; create a shop there "
            "with `backroom init --db ...` or correct --db"
        )
    engine = db.make_engine(args.db)
    if not db.has_schema(engine):
        raise SchemaError(
            f"{db.database_url(args.db)} holds no shop; create one with "
            "`backroom init` first"
        )
    migrate_safely(engine)
    return engine


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
