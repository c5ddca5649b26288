"""History import speed against a plain SQLite insert of the same file.

Times, in one run and on one machine:

- ``raw_insert_s``: Python's csv module reads the (gzipped) CSV and sqlite3
  inserts every row with executemany into one plain table of text columns,
  one transaction, default pragmas. This is the floor for any importer.
- ``import_s``: ``import_history`` into a fresh shop (SQLite, WAL,
  synchronous FULL): reading and checking every row, then orders, lines,
  invoices, customers, SKUs and one journal entry per invoice, committed in
  chunks, then the reconciliation.
- ``reimport_s``: the same file imported again into that shop, which adds
  nothing.

Each timing is the best of ``--repeat`` runs (default 3), because other
processes on a shared machine slow single runs down unevenly. Peak RSS is the
process's maximum resident set over all runs.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import io
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import db  # noqa: E402
from app.core.importing.history import import_history  # noqa: E402
from app.core.setup import ShopSettings, create_shop  # noqa: E402
from bench.common import peak_rss_mb, record  # noqa: E402

DEFAULT_DATA = (
    ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
)


def raw_insert(data: Path, target: Path) -> float:
    """Parse the CSV with the csv module and executemany it into one table."""
    started = time.perf_counter()
    connection = sqlite3.connect(target)
    with data.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    with opener(data, "rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = next(reader)
        columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
        connection.execute(f"CREATE TABLE line ({columns})")
        marks = ", ".join("?" for _ in header)
        connection.executemany(f"INSERT INTO line VALUES ({marks})", reader)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def one_import(
    data: Path, folder: Path, profile: Path | None
) -> tuple[float, float, dict[str, float]]:
    """Import into a fresh shop, then again.

    Returns both times in seconds and the first import's phase times.
    """
    engine = db.make_engine(folder / "shop.sqlite")
    create_shop(engine, ShopSettings(name="Bench"))
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    first = import_history(engine, data)
    if profiler:
        profiler.disable()
    import_s = time.perf_counter() - started
    if first.status != "imported":
        raise SystemExit(f"the import ended {first.status}: {first.problems[:5]}")
    started = time.perf_counter()
    second = import_history(engine, data)
    reimport_s = time.perf_counter() - started
    if second.status != "nothing_new":
        raise SystemExit(f"the second import ended {second.status}")
    engine.dispose()
    if profiler and profile:
        profiler.dump_stats(profile)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return import_s, reimport_s, first.phase_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV or CSV.gz")
    parser.add_argument(
        "--repeat", type=int, default=3, help="number of runs; the fastest counts"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write cProfile stats of the first import to this file",
    )
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} does not exist; pass --data FILE")

    load = os.getloadavg()[0]
    raw_times, import_times, reimport_times = [], [], []
    phases: list[dict[str, float]] = []
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            raw_times.append(raw_insert(args.data, folder / "raw.sqlite"))
            imported, reimported, phase_times = one_import(
                args.data, folder, args.profile if run == 0 else None
            )
            phases.append(phase_times)
            import_times.append(imported)
            reimport_times.append(reimported)

    raw_s, import_s, reimport_s = min(raw_times), min(import_times), min(reimport_times)
    best = phases[import_times.index(import_s)]
    figures = {
        "import_s": round(import_s, 2),
        "raw_insert_s": round(raw_s, 2),
        "ratio_to_raw_insert": round(import_s / raw_s, 2),
        "reimport_s": round(reimport_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    record(
        "import_history",
        figures,
        f"`python bench/import_history.py --data {args.data.name} --repeat "
        f"{args.repeat}`: best of {args.repeat} runs each. Targets: ratio to the "
        "raw insert at most 5, re-import under half the first import, peak RSS "
        "under 1 GB. All runs: import "
        + ", ".join(f"{t:.2f}" for t in import_times)
        + " s; raw insert "
        + ", ".join(f"{t:.2f}" for t in raw_times)
        + " s; re-import "
        + ", ".join(f"{t:.2f}" for t in reimport_times)
        + " s. Ratio of each run's import to its own raw insert: "
        + ", ".join(
            f"{i / r:.2f}" for i, r in zip(import_times, raw_times, strict=True)
        )
        + ". The fastest import spent "
        + ", ".join(f"{t:.2f} s to {name}" for name, t in best.items())
        + f". The one-minute load average was {load:.1f} at the start, on "
        f"{os.cpu_count()} cores.",
    )


if __name__ == "__main__":
    main()
