"""`make bench [ARGS="--quick --only 1,4"]`: every benchmark on the bench's own local stack; a table and results/latest.json."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import time
import traceback

from bench.common import Figure, table, write_results
from bench.stack import BenchStack

# In this order: the purge ends a municipality's crisis (heverlee), so it comes last but one; memory reads what
# the earlier ones loaded, then loads the rest.
BENCHMARKS = {
    "1": "bench.intake_capacity",
    "2": "bench.pipeline",
    "3": "bench.e2e_latency",
    "4": "bench.matching_scale",
    "6": "bench.memory",
    "5": "bench.purge",
}
NEEDS_STACK = {"1", "2", "3", "5", "6"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not an hour)")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers, e.g. 1,4")
    parser.add_argument("--keep-state", action="store_true", help="keep .state/bench-* (logs) after the run")
    parser.add_argument("--out", default=None, help="results file (default bench/results/latest.json)")
    args = parser.parse_args(argv)
    chosen = [k for k in BENCHMARKS if not args.only or k in args.only.split(",")]
    started = dt.datetime.now(dt.UTC)
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    context: dict = {}
    stack = None
    try:
        if NEEDS_STACK & set(chosen):
            stack = BenchStack()
            print(f"starting the bench stack in {stack.state_dir} ...", flush=True)
            stack.start()
        for key in chosen:
            module = importlib.import_module(BENCHMARKS[key])
            print(f"\n== {module.NAME} ({'quick' if args.quick else 'full'}) ==", flush=True)
            t0 = time.perf_counter()
            try:
                got = module.run(stack, args.quick, context)
            except Exception as exc:  # noqa: BLE001 — one failing benchmark must not hide the others' figures
                errors[module.NAME] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
                got = []
            durations[module.NAME] = round(time.perf_counter() - t0, 1)
            figures += got
            print(table(got) if got else "(no figures)", flush=True)
    finally:
        if stack is not None:
            stack.stop(keep=args.keep_state)
    path = write_results(figures, quick=args.quick, started=started, errors=errors,
                         path=None if args.out is None else __import__("pathlib").Path(args.out),
                         extra={"durations_s": durations, "context": {k: v for k, v in context.items() if isinstance(v, (int, float, str))}})
    print("\n" + table(figures))
    for name, error in errors.items():
        print(f"FAILED {name}: {error}", file=sys.stderr)
    print(f"\nwritten {path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
