"""The ``backroom`` command line: scripting, support and tests.

Every leaf command accepts ``--db PATH`` (a file or a SQLAlchemy URL) and,
where it prints results, ``--json``. Exit status: 0 on success, 1 when a
check finds problems, 2 on bad arguments or input.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from sqlalchemy.exc import SQLAlchemyError

import app.commands
from app import __version__
from app.core.exceptions import BackroomError
from app.core.logs import setup_logging, versions

log = logging.getLogger(__name__)


#: Commands that only open the window; they skip importing every other
#: command's services, which would cost most of a second at start-up.
WINDOW_COMMANDS = frozenset({"open"})
#: The one command module those commands need.
WINDOW_MODULE = "app_cmd"


def command_modules(only: str | None = None) -> list[ModuleType]:
    """Return every module in ``app.commands`` that adds sub-commands.

    Each such module has ``register(subparsers)``; ``app.commands.app_cmd``
    also has ``launch()``, which opens the window when no command is given.
    ``only`` names a single module to load instead of all of them.
    """
    if only is not None:
        return [importlib.import_module(f"app.commands.{only}")]
    modules = []
    for info in sorted(
        pkgutil.iter_modules(app.commands.__path__), key=lambda m: m.name
    ):
        module = importlib.import_module(f"app.commands.{info.name}")
        if hasattr(module, "register"):
            modules.append(module)
    return modules


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
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
    for module in command_modules(only):
        module.register(subparsers)
    return parser


def _first_word(argv: Sequence[str]) -> str | None:
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    first = _first_word(words)
    window_only = (first is None and "-h" not in words and "--help" not in words) or (
        first in WINDOW_COMMANDS
    )
    parser = build_parser(WINDOW_MODULE if window_only else None)
    args = parser.parse_args(words)
    setup_logging(verbose=args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None and args.command is None:
        from app.commands import app_cmd

        return int(app_cmd.launch())
    if handler is None:
        parser.print_help()
        return 0
    log.info("start: backroom %s (%s)", args.command, versions())
    try:
        return int(handler(args))
    except BackroomError as exc:
        log.info("backroom %s failed: %s", args.command, exc)
        print(f"backroom {args.command}: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        # The traceback goes to the log file only; the person gets the reason.
        log.info("backroom %s could not use the database", args.command, exc_info=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(
            f"backroom {args.command}: the database could not be opened or read "
            f"({reason}); check --db (a shop file made by `backroom init`, or a "
            "reachable database URL)",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # The reader of the output, such as `head`, stopped early. Standard
        # output now goes to the null device, so flushing it at exit succeeds.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        return 0
    except Exception:
        log.exception("backroom %s failed unexpectedly", args.command)
        raise
    finally:
        log.info("stop: backroom %s", args.command)


if __name__ == "__main__":
    sys.exit(main())
