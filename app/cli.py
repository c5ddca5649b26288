"""The ``backroom`` command line: scripting, support and tests.

Every leaf command accepts ``--db PATH`` (a file or a SQLAlchemy URL) and,
where it prints results, ``--json``. Exit status: 0 on success, 1 when a
check finds problems, 2 on bad arguments or input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.commands import core as core_commands
from app.core.exceptions import BackroomError

log = logging.getLogger(__name__)

#: Modules that add sub-commands; each has ``register(subparsers)``.
COMMAND_MODULES = (core_commands,)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="backroom",
        description="Backroom: stock, orders, fulfillment, returns and the books.",
    )
    parser.add_argument(
        "--version", action="version", version=f"backroom {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress to standard error"
    )
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args))
    except BackroomError as exc:
        print(f"backroom {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
