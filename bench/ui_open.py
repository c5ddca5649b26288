"""Opening the Orders page on a shop holding the whole Online Retail history.

Figures, in one run on one machine:

- ``open_to_orders_s``: a fresh process, ``backroom open --db SHOP
  --open-page orders --exit-when-ready`` with ``QT_QPA_PLATFORM=offscreen``,
  timed from just before the process starts to the line ``backroom: page
  ready orders``, which the app prints once the Orders page has fetched and
  painted its first page of rows. The median of ``--runs`` starts.
- ``filter_ms``: in this process (a fresh interpreter, offscreen Qt), the
  Orders page is opened on the same shop, and a customer id and an invoice
  number are typed into its search box. The time runs from the search (as
  Enter sends it) until the list's model reset and its first page of rows
  are done. The figure is the slower of the two searches' medians.
- ``peak_rss_mb``: the largest maximum resident set of the timed app
  processes.

The shop is built once into bench/.cache/ (git-ignored) by the real
importer from the Online Retail file (541,909 lines, 25,900 invoices), and
reused while the data file is unchanged. The baseline, in the notes, is the
same start on an empty shop.

Usage: ``python bench/ui_open.py [--data FILE] [--runs 5] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.core import db  # noqa: E402
from app.core.importing.history import import_history  # noqa: E402
from app.core.setup import ShopSettings, create_shop  # noqa: E402
from bench.common import record  # noqa: E402

DEFAULT_DATA = (
    ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
)
CACHE = ROOT / "bench" / ".cache"
MARKER = "backroom: page ready orders"
#: A start that has not shown the Orders page after this long counts as failed.
TIMEOUT_S = 120.0
#: Searches typed into the Orders page: a CustomerID and an invoice number.
SEARCHES = ("17850", "536365")


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build_shop(data: Path, rebuild: bool) -> Path:
    """Return the cached shop with ``data`` imported, importing it when needed.

    A stamp file beside the shop records the data file's size and change
    time, so a different file rebuilds the shop.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    shop = CACHE / "online_retail.sqlite"
    stamp = CACHE / "online_retail.json"
    info = data.stat()
    expected = {"data": str(data), "bytes": info.st_size, "mtime": info.st_mtime}
    cached = shop.exists() and stamp.exists()
    if cached and not rebuild and json.loads(stamp.read_text()) == expected:
        return shop
    remove_sqlite(shop)
    stamp.unlink(missing_ok=True)
    print(f"building {shop} from {data} (once)", file=sys.stderr, flush=True)
    # The import runs in a child so that this process stays small: a child
    # forked from a large parent reports the parent's pages as its own peak.
    subprocess.run(
        [sys.executable, __file__, "--import-into", str(shop), "--data", str(data)],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(json.dumps(expected))
    return shop


def import_into(shop: Path, data: Path) -> None:
    engine = db.make_engine(shop)
    try:
        create_shop(engine, ShopSettings(name="Online Retail"))
        result = import_history(engine, data)
    finally:
        engine.dispose()
    if result.status != "imported":
        raise SystemExit(f"the import ended {result.status}: {result.problems[:5]}")


def empty_shop(folder: Path) -> Path:
    path = folder / "empty.sqlite"
    engine = db.make_engine(path)

    try:
        create_shop(engine, ShopSettings(name="Empty"))
    finally:
        engine.dispose()
    return path


def private_env(home: Path) -> dict[str, str]:
    """Return an environment whose data, settings and logs stay under ``home``."""
    env = dict(os.environ)
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        env[name] = str(home / name.lower())
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def time_open(shop: Path, env: dict[str, str]) -> float:
    """Return seconds from process start to the Orders page's ready line."""
    command = [
        sys.executable,
        "-m",
        "app",
        "open",
        "--db",
        str(shop),
        "--open-page",
        "orders",
        "--exit-when-ready",
    ]

    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    ready = None
    for line in process.stdout:
        if line.strip() == MARKER:
            ready = time.perf_counter() - started
            break

    PEAKS_MB.append(reap(process))
    if ready is None:
        raise SystemExit(
            f"{' '.join(command)} exited {process.returncode} without printing "
            f"{MARKER!r}; run it by hand to see why"
        )
    return ready


def time_parser(env: dict[str, str]) -> float:
    """Return seconds a fresh process spends importing and building the CLI parser.

    ``backroom open`` builds the parser of the window commands only, before
    any window code runs; this times that part of the start.
    """
    script = (
        "import time; started = time.perf_counter(); import app.cli; "
        "app.cli.build_parser(app.cli.WINDOW_MODULE); "
        "print(time.perf_counter() - started)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


#: The peak resident set of each timed start, in MiB.
PEAKS_MB: list[float] = []


def reap(process: subprocess.Popen[str]) -> float:
    """Wait for ``process`` (killing it after the timeout); return its peak RSS.

    ``os.wait4`` gives this one child's figure, so the import child that
    builds the shop is never counted.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.02)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


def time_filters(shop: Path, home: Path, repeat: int) -> dict[str, list[float]]:
    """Open the Orders page here and time each search, in milliseconds."""
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from app.core.queries.settings import users
    from app.ui.app import open_engine
    from app.ui.context import AppContext
    from app.ui.main_window import MainWindow
    from app.ui.pages.orders import OrdersPage

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "qt")
    )
    ctx = AppContext(open_engine(shop), str(shop))
    ctx.set_user(ctx.read_now(users)[0])
    window = MainWindow(ctx)
    window.resize(1280, 800)
    window.show()
    page = window.open_page("orders")
    assert isinstance(page, OrdersPage)

    def wait_idle() -> None:
        """Sleep in an event loop until no task runs, as the app's own loop does.

        ``idle_changed(True)`` arrives while the task delivers its result, so
        the loop ends once that delivery (the model reset) has finished.
        """
        if ctx.ops.idle:
            return
        loop = QEventLoop()
        ctx.ops.idle_changed.connect(lambda idle: idle and loop.quit())
        loop.exec()
        ctx.ops.idle_changed.disconnect()

    finished: list[float] = []
    page.model.modelReset.connect(lambda: finished.append(time.perf_counter()))
    page.model.rowsInserted.connect(lambda: finished.append(time.perf_counter()))
    wait_idle()
    timings: dict[str, list[float]] = {text: [] for text in SEARCHES}
    for _ in range(repeat):
        for text in (*SEARCHES, ""):
            page.search.setText(text)
            finished.clear()
            started = time.perf_counter()
            page.search.returnPressed.emit()
            wait_idle()
            if text:
                timings[text].append((max(finished) - started) * 1000)
                if page.model.total == 0:
                    raise SystemExit(f"searching {text!r} found no orders")
    window.close()
    ctx.ops.shutdown()
    ctx.engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV or CSV.gz")
    parser.add_argument("--runs", type=int, default=5, help="timed starts and searches")
    parser.add_argument(
        "--rebuild", action="store_true", help="import the data again into the cache"
    )
    parser.add_argument("--import-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_into is not None:
        import_into(args.import_into, args.data)
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data} does not exist; pass --data FILE")
    shop = build_shop(args.data, args.rebuild)
    # Byte-compiled modules, as an installed app (and scripts/run.sh) has.
    compileall.compile_dir(ROOT / "app", quiet=1)
    load = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="backroom-bench-") as folder:
        home = Path(folder)
        env = private_env(home)
        empty = empty_shop(home)
        time_open(shop, env)  # warms the file cache; not counted
        opens = [time_open(shop, env) for _ in range(args.runs)]
        empty_opens = [time_open(empty, env) for _ in range(args.runs)]
        parser_s = statistics.median(time_parser(env) for _ in range(args.runs))
        peak = max(PEAKS_MB)
        searches = time_filters(shop, home, args.runs)

    medians = {text: statistics.median(values) for text, values in searches.items()}
    figures = {
        "open_to_orders_s": round(statistics.median(opens), 2),
        "filter_ms": round(max(medians.values()), 1),
        "peak_rss_mb": round(peak, 1),
    }
    record(
        "ui_open",
        figures,
        notes=(
            f"`python bench/ui_open.py --data {args.data.name} --runs {args.runs}` "
            "on the shop holding the whole import (25,900 invoices, 541,909 "
            "lines), offscreen Qt. Open: median of "
            f"{args.runs} fresh processes to the Orders page's first rows "
            f"painted ({', '.join(f'{t:.2f}' for t in opens)} s); the same "
            f"start on an empty shop takes {statistics.median(empty_opens):.2f} s, "
            f"and {parser_s:.2f} s of every start go to importing and building "
            "the command-line parser before any window code runs. The app's "
            "modules are byte-compiled first, as in an installed app. "
            "Filter: median per search, the slower counted: "
            + ", ".join(f"{text!r} {ms:.1f} ms" for text, ms in medians.items())
            + ". Peak RSS: the largest of the app processes. Load average "
            f"before the run: {load:.1f}. Targets: open under 1.5 s, filter under "
            "150 ms, peak RSS under 500 MB."
        ),
    )


if __name__ == "__main__":
    main()
