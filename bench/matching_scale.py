"""4. Matching at scale: `helpt_matching.assignment.assign` on synthetic Leuven instances.

Volunteers and requests are points scattered around Leuven's postcode centroids (data/areas/leuven.json,
Gaussian, σ = 800 m), so distances differ and the optimisation is not trivial (the service itself uses
centroid-to-centroid distances, where most nearby candidates tie). Each volunteer has a reach (2–10 km) and
a capacity (1–3 tasks); each request one slot. The candidate graph is the service's: each request's
slots + 20 nearest volunteers within reach (needs.py, NEAREST = 20). Figures: time of `assign` (graph
building inside it included, candidate search not), its total distance against greedy nearest-first on the
same candidates, and against the exact optimum — the same min-cost flow on the full graph (every pair
within reach) — on a scaled instance of at most 2,000 volunteers with the same volunteers:requests ratio.
"""

from __future__ import annotations

import json
import time
from importlib import resources

import numpy as np
from ortools.graph.python import min_cost_flow

from bench.common import Figure, ratio
from helpt_matching.assignment import Demand, assign

NAME = "4 matching at scale"
NEAREST = 20
SIGMA_M = 800.0
EXACT_MAX_VOLUNTEERS = 2000


def _areas() -> np.ndarray:
    data = json.loads(resources.files("helpt_matching").joinpath("data/areas/leuven.json").read_text(encoding="utf-8"))
    pts = [(a["lat"], a["lon"]) for a in data["areas"].values()]
    lat0 = float(np.mean([p[0] for p in pts]))
    lon0 = float(np.mean([p[1] for p in pts]))
    return np.array([((lon - lon0) * 111_320 * np.cos(np.radians(lat0)), (lat - lat0) * 110_540) for lat, lon in pts])


def instance(volunteers: int, requests: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    centres = _areas()
    def scatter(n: int) -> np.ndarray:
        return centres[rng.integers(0, len(centres), n)] + rng.normal(0, SIGMA_M, (n, 2))
    return {"v": scatter(volunteers).astype(np.float32), "r": scatter(requests).astype(np.float32),
            "reach": rng.choice(np.array([2000, 3000, 5000, 8000, 10000], dtype=np.float32), volunteers),
            "cap": rng.integers(1, 4, volunteers)}


def candidates(inst: dict, k: int = 1 + NEAREST, chunk: int = 256) -> list[list[tuple[int, int]]]:
    """Each request's k nearest volunteers within their reach, nearest first: (volunteer, metres)."""
    v, r, reach = inst["v"], inst["r"], inst["reach"]
    out: list[list[tuple[int, int]]] = []
    for start in range(0, len(r), chunk):
        block = r[start:start + chunk]
        d = np.sqrt((block[:, None, 0] - v[None, :, 0]) ** 2 + (block[:, None, 1] - v[None, :, 1]) ** 2)
        d[d > reach[None, :]] = np.inf
        kk = min(k, d.shape[1])
        idx = np.argpartition(d, kk - 1, axis=1)[:, :kk]
        for row, cols in enumerate(idx):
            dist = d[row, cols]
            order = np.lexsort((cols, dist))
            out.append([(int(cols[o]), int(round(float(dist[o])))) for o in order if np.isfinite(dist[o])])
    return out


def sparse_assign(inst: dict, edges: list[list[tuple[int, int]]]) -> tuple[float, int, int]:
    """(seconds, slots matched, total metres) of the service's assign on the candidate graph."""
    caps = {i: int(c) for i, c in enumerate(inst["cap"])}
    demands = [Demand(i, 1, tuple(e)) for i, e in enumerate(edges)]
    t0 = time.perf_counter()
    result = assign(demands, caps)
    return time.perf_counter() - t0, len(result.pairs), result.total_metres


def greedy(inst: dict, edges: list[list[tuple[int, int]]]) -> tuple[float, int, int]:
    """Nearest-first over all candidate pairs: the shortest remaining pair whose request and volunteer are free."""
    t0 = time.perf_counter()
    pairs = sorted((m, req, vol) for req, e in enumerate(edges) for vol, m in e)
    left = inst["cap"].astype(int).tolist()
    done = bytearray(len(edges))
    matched = total = 0
    for m, req, vol in pairs:
        if not done[req] and left[vol] > 0:
            done[req] = 1
            left[vol] -= 1
            matched += 1
            total += m
    return time.perf_counter() - t0, matched, total


def exact(inst: dict) -> tuple[float, int, int]:
    """The same min-cost flow as `assign`, on the full graph: every (request, volunteer) pair within reach."""
    t0 = time.perf_counter()
    v, r, reach, cap = inst["v"], inst["r"], inst["reach"], inst["cap"]
    d = np.sqrt((r[:, None, 0] - v[None, :, 0]) ** 2 + (r[:, None, 1] - v[None, :, 1]) ** 2)
    ri, vi = np.nonzero(d <= reach[None, :])
    metres = np.rint(d[ri, vi]).astype(np.int64)
    nr, nv = len(r), len(v)
    penalty = (int(metres.max(initial=0)) + 1) * (nv + 1)
    source, sink = 0, 1
    dem = 2 + np.arange(nr)
    vol = 2 + nr + np.arange(nv)
    tails = np.concatenate([np.full(nr, source), dem, dem[ri], vol])
    heads = np.concatenate([dem, np.full(nr, sink), vol[vi], np.full(nv, sink)])
    caps = np.concatenate([np.ones(nr), np.ones(nr), np.ones(len(ri)), np.minimum(cap, nr)]).astype(np.int64)
    costs = np.concatenate([np.zeros(nr), np.full(nr, penalty), metres, np.zeros(nv)]).astype(np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32), caps, costs)
    flow.set_node_supply(source, nr)
    flow.set_node_supply(sink, -nr)
    assert flow.solve() == flow.OPTIMAL
    first = 2 * nr
    used = flow.flows(np.arange(first, first + len(ri)))
    return time.perf_counter() - t0, int(used.sum()), int((used * metres).sum())


def run(stack, quick: bool, context: dict) -> list[Figure]:
    sizes = [(10_000, 1_000)] if quick else [(10_000, 1_000), (10_000, 10_000), (100_000, 1_000), (100_000, 10_000)]
    figures: list[Figure] = []
    for n, (nv, nr) in enumerate(sizes):
        label = f"{nv // 1000}k vol × {nr // 1000}k req"
        inst = instance(nv, nr, seed=n)
        t0 = time.perf_counter()
        edges = candidates(inst)
        search_s = time.perf_counter() - t0
        secs, matched, metres = sparse_assign(inst, edges)
        gsecs, gmatched, gmetres = greedy(inst, edges)
        note = (f"matched {matched}/{nr} (greedy {gmatched}); total {metres / 1000:,.1f} km (greedy {gmetres / 1000:,.1f} km); "
                f"candidate search {search_s:.1f} s (not timed); {sum(map(len, edges)):,} arcs")
        big = nv >= 100_000 and nr >= 10_000
        figures.append(Figure(NAME, f"assign {label}: time", secs, "s", gsecs, "greedy nearest-first time",
                              ratio(secs, gsecs), "assign/greedy", "≤ 10 s (100k×10k)" if big else "",
                              (secs <= 10) if big else None, note))
        figures.append(Figure(NAME, f"assign {label}: total distance", metres / 1000, "km", gmetres / 1000,
                              "greedy nearest-first", ratio(metres, gmetres), "assign/greedy",
                              notes=f"matched {matched} vs greedy {gmatched}"))
        # The exact optimum on a scaled instance with the same ratio (≤ 2,000 volunteers).
        sv = min(nv, EXACT_MAX_VOLUNTEERS)
        sr = max(10, round(sv * nr / nv))
        small = instance(sv, sr, seed=100 + n)
        sedges = candidates(small)
        ssecs, smatched, smetres = sparse_assign(small, sedges)
        esecs, ematched, emetres = exact(small)
        gap = ratio(smetres, emetres)
        same = smatched == ematched
        figures.append(Figure(NAME, f"assign vs exact optimum, scaled {sv}×{sr} (ratio of {label})", smetres / 1000, "km",
                              emetres / 1000, "exact min-cost flow, full graph", gap, "assign/optimum",
                              "within 1 % of optimum", (same and gap is not None and gap <= 1.01),
                              f"matched {smatched} vs optimum {ematched}; assign {ssecs:.2f} s, exact {esecs:.2f} s"))
    return figures
