"""Figures, machine facts, the results file and the table."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results"


@dataclass
class Figure:
    benchmark: str  # "1 intake capacity", ...
    name: str  # what was measured
    figure: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None  # figure / baseline unless said otherwise in `ratio_meaning`
    ratio_meaning: str = ""
    target: str = ""
    met: bool | None = None  # None: no target for this line, or not measurable
    notes: str = ""


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def machine() -> dict:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "cpu_model": model, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "platform": platform.platform()}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                               cwd=Path(__file__).parent).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(figures: list[Figure], *, quick: bool, started: dt.datetime, errors: dict[str, str],
                  path: Path | None = None, extra: dict | None = None) -> Path:
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"time": started.isoformat(timespec="seconds"), "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "size": "quick" if quick else "full", "git_commit": git_commit(), "machine": machine(),
           "figures": [asdict(f) for f in figures], "errors": errors, **(extra or {})}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def table(figures: list[Figure]) -> str:
    """A Markdown table (prints well in a terminal too)."""
    rows = ["| # | measured | figure | baseline | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        base = f"{_fmt(f.baseline)} {f.unit if f.baseline is not None else ''} ({f.baseline_name})" if f.baseline_name else "—"
        met = {True: "yes", False: "**no**", None: "—"}[f.met]
        r = _fmt(f.ratio) + (f" ({f.ratio_meaning})" if f.ratio_meaning and f.ratio is not None else "")
        rows.append(f"| {f.benchmark.split()[0]} | {f.name} | {_fmt(f.figure)} {f.unit} | {base} | {r} | {f.target or '—'} | {met} |")
    return "\n".join(rows)
