"""``backroom`` with no sub-command opens the window; ``backroom demo`` builds
the demo shop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.commands.common import add_db, emit_json
from app.core import db
from app.core.exceptions import ValidationError


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="create a demo shop (three months of orders) and open it",
        description="Build a demo shop from a fixed seed, so every run holds the "
        "same orders and the same trial balance for the same day.",
    )
    add_db(demo)
    demo.add_argument(
        "--no-open", action="store_true", help="only create the demo; do not open it"
    )
    demo.set_defaults(handler=cmd_demo)

    window = subparsers.add_parser("open", help="open the window on a shop database")
    add_db(window, json_output=False)
    window.add_argument(
        "--exit-after-show",
        action="store_true",
        help="print 'backroom: window shown' once the main window has painted, "
        "then quit (for timing the start-up)",
    )
    window.add_argument(
        "--open-page",
        metavar="KEY",
        help="show this page first: dashboard, orders, products, customers, "
        "ledger, settings, warehouses or import",
    )
    window.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="with --open-page, print 'backroom: page ready KEY' once the page's "
        "first rows are loaded and painted, then quit (for timing)",
    )
    window.set_defaults(handler=cmd_open)


def cmd_open(args: argparse.Namespace) -> int:
    if args.exit_when_ready and not args.open_page:
        raise ValidationError(
            "exit-when-ready",
            True,
            "--exit-when-ready needs --open-page to name the page to wait for",
        )
    return launch(
        args.db,
        exit_after_show=args.exit_after_show,
        open_page=args.open_page,
        exit_when_ready=args.exit_when_ready,
    )


def default_demo_path() -> Path:
    return db.default_db_path().with_name("demo.sqlite")


def cmd_demo(args: argparse.Namespace) -> int:
    from app.core.queries.common import has_shop

    target: str | Path = args.db or default_demo_path()
    engine = db.make_engine(target)
    if has_shop(engine):
        engine.dispose()
        if args.db is not None:
            raise ValidationError(
                "db",
                args.db,
                f"{args.db} already holds a shop; give a new file with --db, or "
                "delete that file first",
            )
        _remove_sqlite(Path(target))
        engine = db.make_engine(target)

    def progress(text: str, fraction: float) -> None:
        if not args.json:
            print(f"{fraction:4.0%}  {text}", flush=True)

    try:
        from app.core.demo import build_demo  # large; only the demo needs it

        summary = build_demo(engine, progress=progress)
    finally:
        engine.dispose()
    where = db.database_url(target)
    if args.json:
        emit_json(
            {
                "db": where,
                "orders": summary.orders,
                "skus": summary.skus,
                "shipments": summary.shipments,
                "cancelled": summary.cancelled,
                "oversold": summary.oversold,
                "closed_period": "{:04d}-{:02d}".format(*summary.closed_period),
            }
        )
    else:
        print(
            f"Demo shop ready in {where}: {summary.orders} orders, {summary.skus} "
            f"SKUs, {summary.shipments} shipments"
        )
    if args.no_open:
        return 0
    return launch(str(target))


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


def launch(
    target: str | None = None,
    *,
    exit_after_show: bool = False,
    open_page: str | None = None,
    exit_when_ready: bool = False,
) -> int:
    """Open the desktop window (imports Qt only now, so the CLI stays light)."""
    from app.ui.app import display_missing, run_app

    if display_missing():
        print(
            "backroom: no display to open the window on; run it in a desktop "
            "session, or set QT_QPA_PLATFORM=offscreen for a headless test",
            file=sys.stderr,
        )
        return 2
    return run_app(
        target,
        exit_after_show=exit_after_show,
        open_page=open_page,
        exit_when_ready=exit_when_ready,
    )
