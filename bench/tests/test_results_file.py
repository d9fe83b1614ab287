"""The harness writes a well-formed results file. Run by `make bench-smoke` only (not in `make test`); it never
looks at how fast anything was. Uses benchmark 4 (pure, no stack), so it takes seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"benchmark", "name", "figure", "unit", "baseline", "baseline_name", "ratio", "ratio_meaning", "target", "met", "notes"}


def test_a_quick_run_writes_a_well_formed_results_file(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "4", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert {"time", "git_commit", "machine", "figures", "errors", "size"} <= set(doc)
    assert doc["size"] == "quick" and doc["errors"] == {}
    assert {"cpu_count", "cpu_model", "memory_gb"} <= set(doc["machine"])
    assert doc["figures"] and all(set(f) == FIELDS for f in doc["figures"])
    assert all(isinstance(f["figure"], (int, float)) and f["unit"] for f in doc["figures"])
    assert "| # | measured |" in done.stdout
