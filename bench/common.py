"""Helpers the benchmark scripts share: machine description and the results page."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"
sys.path.insert(0, str(ROOT))


def machine() -> str:
    """Describe the CPU, core count, memory, OS and Python of this machine."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)  # type: ignore[union-attr]
        )
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        memory = "unknown RAM"
    return (
        f"{model}, {os.cpu_count()} cores, {memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record(name: str, figures: dict[str, Any], notes: str = "") -> None:
    """Print the figures as the last line and keep them in docs/benchmarks.md."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"## {name}\n\n"
        f"Run {stamp} on {machine()}.\n\n"
        + (f"{notes}\n\n" if notes else "")
        + "```json\n"
        + json.dumps(figures, indent=2)
        + "\n```\n"
    )
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
    print(json.dumps(figures))
