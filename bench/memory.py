"""6. Memory: resident memory (psutil RSS, process and children) of each service process once screening and
matching hold the target volunteers and requests (fed as events), beside the same process's RSS when it
had just started (its own baseline). Loading stops at a deadline; the counts reached are reported."""

from __future__ import annotations

import asyncio

from bench.common import Figure, ratio
from bench.kafka_util import publish_all, wait_count
from bench.pipeline import ensure, requests, volunteers
from bench.stack import BenchStack

NAME = "6 memory"


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    target_v, target_r, deadline = (10_000, 1_000, 150) if quick else (100_000, 10_000, 3600)
    ensure(stack, "gdpr", "intake", "screening", "matching")
    for name in stack.procs:
        context.setdefault(f"rss_start_{name}", stack.procs[name].rss_mb())
    more_v = max(0, target_v - context.get("loaded_volunteers", 0))
    more_r = max(0, target_r - context.get("loaded_requests", 0))
    batch = volunteers(more_v) + requests(more_r)
    asyncio.run(publish_all(stack.bootstrap, batch))
    got_v, _ = asyncio.run(wait_count(stack.mongodb_url, "helpt_matching", "volunteers", {}, target_v, deadline, poll_s=2))
    got_r, _ = asyncio.run(wait_count(stack.mongodb_url, "helpt_matching", "requests", {}, target_r, 5))
    cases, _ = asyncio.run(wait_count(stack.mongodb_url, "helpt_screening", "cases", {}, target_v, 5))
    figures = []
    for name, proc in sorted(stack.procs.items()):
        rss = proc.rss_mb()
        start = context.get(f"rss_start_{name}")
        figures.append(Figure(NAME, f"{name} RSS", rss, "MB", start, "same process just started", ratio(rss, start), "loaded/start",
                              "≤ 250 MB", rss <= 250,
                              f"held when measured: matching {got_v:,} volunteers (with the e2e walkers) / {got_r:,} requests, "
                              f"screening {cases:,} cases; target {target_v:,}/{target_r:,} within {deadline} s"))
    return figures
