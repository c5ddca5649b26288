"""``backup`` and ``restore``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.common import add_db, emit_json
from app.core import backup, db


def register(subparsers: Any) -> None:
    take = subparsers.add_parser("backup", help="back up the shop database")
    add_db(take)
    take.add_argument(
        "--dir", type=Path, help="backup folder (default: the data folder)"
    )
    take.add_argument(
        "--keep",
        type=int,
        default=backup.DEFAULT_KEEP,
        help="how many backups of this database to keep",
    )
    take.add_argument("--list", action="store_true", help="list the backups instead")
    take.set_defaults(handler=cmd_backup)

    put = subparsers.add_parser("restore", help="replace the database with a backup")
    put.add_argument("file", type=Path, help="the backup file to restore")
    add_db(put)
    put.add_argument("--dir", type=Path, help="where to keep the safety backup")
    put.set_defaults(handler=cmd_restore)


def _info(b: backup.BackupInfo) -> dict[str, Any]:
    return {
        "path": str(b.path),
        "taken_at": b.taken_at.isoformat(),
        "size_bytes": b.size_bytes,
        "shop": b.shop_name,
        "reason": b.reason,
        "ok": b.ok,
    }


def cmd_backup(args: argparse.Namespace) -> int:
    target = args.db or db.default_db_path()
    if args.list:
        found = backup.list_backups(target, args.dir)
        if args.json:
            emit_json({"backups": [_info(b) for b in found]})
        elif not found:
            print("No backups yet; take one with `backroom backup`.")
        for b in found if not args.json else []:
            state = "ok" if b.ok else "DAMAGED"
            print(
                f"{b.taken_at:%Y-%m-%d %H:%M} UTC  {b.size_bytes / 1e6:7.1f} MB  "
                f"{b.shop_name or '?':<24} {b.reason:<16} {state}  {b.path}"
            )
        return 0
    path = backup.backup(target, folder=args.dir, keep=args.keep)
    if args.json:
        emit_json(_info(backup.describe(path)))
    else:
        print(f"Backed up to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    target = args.db or db.default_db_path()
    info = backup.describe(args.file)
    safety = backup.restore(target, args.file, folder=args.dir)
    if args.json:
        emit_json(
            {"restored": _info(info), "safety_backup": str(safety) if safety else None}
        )
    else:
        print(
            f"Restored {info.shop_name!r} from {info.taken_at:%Y-%m-%d %H:%M} UTC "
            f"({info.size_bytes / 1e6:.1f} MB)."
        )
        if safety:
            print(f"The file it replaced was kept as {safety}")
    return 0
