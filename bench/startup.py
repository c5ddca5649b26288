"""Start-up time of the bundled app on the demo shop, and the packages' sizes.

Each run starts a fresh process, ``backroom open --db DEMO --exit-after-show``,
and times it from just before the process starts to the line ``backroom:
window shown``, which the app prints after the main window's first paint.
The first run after the build is reported on its own (``first_...``): it
reads the bundle from disk, later runs find it in the file cache. The same
start from the development virtualenv (no bundle) is the baseline.

The demo shop has three users, so the window would first ask who is at the
keyboard. The benchmark deactivates all but the owner in its copy, so the
main window opens directly, as it does in a one-person shop.

Usage: ``python bench/startup.py [--runs 5] [--build]``. Without a bundle
in dist/ (or with ``--build``) it runs scripts/build_installer.sh first,
which takes a few minutes because xz compresses the .deb.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, record

from app.core import admin, db
from app.core.queries.settings import users
from app.core.uow import UnitOfWork
from app.ui.diagnostics import SHOWN_MARKER

DIST = ROOT / "dist"
BUNDLE = DIST / "backroom"
MARKER = SHOWN_MARKER
#: A start that has not shown the window after this long counts as failed.
TIMEOUT_S = 120.0


def build() -> None:
    subprocess.run([str(ROOT / "scripts" / "build_installer.sh")], check=True)


def private_env(home: Path) -> dict[str, str]:
    """Return an environment whose data, settings and logs stay under ``home``."""
    env = dict(os.environ)
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        env[name] = str(home / name.lower())
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def make_demo(command: list[str], path: Path, env: dict[str, str]) -> None:
    """Build the demo shop with ``command`` and leave only its owner active."""
    subprocess.run(
        [*command, "demo", "--db", str(path), "--no-open", "--json"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    engine = db.make_engine(path)
    try:
        with UnitOfWork(engine) as uow:
            for person in users(uow.session):
                if person.role != "owner":
                    admin.set_user_active(uow, person.id, False)
            uow.commit()
    finally:
        engine.dispose()


def time_start(command: list[str], path: Path, env: dict[str, str]) -> float:
    """Return seconds from process start to the window-shown marker."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "open", "--db", str(path), "--exit-after-show"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    shown = None
    for line in process.stdout:
        if line.strip() == MARKER:
            shown = time.perf_counter() - started
            break
    try:
        process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if shown is None:
        raise SystemExit(
            f"{' '.join(command)} exited {process.returncode} without printing "
            f"{MARKER!r}; run it by hand to see why"
        )
    return shown


def tree_mb(folder: Path) -> float:
    """Return the size of the files under ``folder`` in MB (symlinks not followed)."""
    total = sum(
        p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    return round(total / 1e6, 1)


def file_mb(pattern: str) -> float | None:
    found = sorted(DIST.glob(pattern))
    return round(found[-1].stat().st_size / 1e6, 1) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed starts per build")
    parser.add_argument(
        "--build", action="store_true", help="rebuild the bundle and packages first"
    )
    args = parser.parse_args()
    if args.build or not (BUNDLE / "backroom").exists():
        build()
    bundled = [str(BUNDLE / "backroom")]
    venv = [sys.executable, "-m", "app"]

    with tempfile.TemporaryDirectory(prefix="backroom-bench-") as folder:
        home = Path(folder)
        env = private_env(home)
        demo = home / "demo.sqlite"
        make_demo(bundled, demo, env)
        first = time_start(bundled, demo, env)
        bundle_runs = [time_start(bundled, demo, env) for _ in range(args.runs)]
        venv_runs = [time_start(venv, demo, env) for _ in range(args.runs)]

    figures = {
        "start_to_window_s": round(statistics.median(bundle_runs), 2),
        "bundle_mb": tree_mb(BUNDLE),
        "deb_mb": file_mb("backroom_*.deb"),
        "tar_gz_mb": file_mb("backroom-*-linux-*.tar.gz"),
        "first_start_to_window_s": round(first, 2),
        "venv_start_to_window_s": round(statistics.median(venv_runs), 2),
    }
    record(
        "startup",
        figures,
        notes=(
            f"`python bench/startup.py --runs {args.runs}`: median of "
            f"{args.runs} starts of dist/backroom/backroom on the demo shop "
            f"({env.get('QT_QPA_PLATFORM') or 'display'} Qt platform) to the "
            "main window's first paint; the venv figure is the same start "
            "without the bundle. Sizes in MB of 10^6 bytes; the .deb is "
            "xz-compressed."
        ),
    )


if __name__ == "__main__":
    main()
