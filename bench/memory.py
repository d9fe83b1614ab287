"""6. Memory: resident memory (psutil RSS, process and children) of each service process once screening and
matching hold the target volunteers and requests (fed as events), beside the same process's RSS when it
had just started (its own baseline). Loading stops at a deadline; the counts reached are reported."""

from __future__ import annotations

import asyncio
import time

from bench.common import Figure, ratio
from bench.kafka_util import publish_all
from bench.pipeline import count, end_offsets, ensure, requests, volunteers, wait_committed
from helpt_contracts import topics
from bench.stack import BenchStack

NAME = "6 memory"


async def load(stack: BenchStack, more_v: int, more_r: int, deadline: float) -> tuple[int, int, int]:
    """Publish the volunteers and requests still missing; wait (to the deadline) until screening's and matching's
    consumers have committed past them — Kafka's offsets, not the store's counts, which FerretDB makes by reading
    every document — then count once what matching and screening hold."""
    t0 = time.perf_counter()
    waits = []
    for topic, more, groups in ((topics.VOLUNTEERS, more_v, ("helpt-screening", "helpt-matching")),
                                (topics.HELP_REQUESTS, more_r, ("helpt-matching",))):
        if more:
            await publish_all(stack.bootstrap, volunteers(more) if topic == topics.VOLUNTEERS else requests(more))
            ends = await end_offsets(stack.bootstrap, topic)
            waits += [wait_committed(stack.bootstrap, f"{group}.{topic}", topic, ends, t0 + deadline, poll_s=1.0)
                      for group in groups]
    await asyncio.gather(*waits)
    return (await count(stack.mongodb_url, "helpt_matching", "volunteers"),
            await count(stack.mongodb_url, "helpt_matching", "requests"),
            await count(stack.mongodb_url, "helpt_screening", "cases"))


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    target_v, target_r, deadline = (10_000, 1_000, 150) if quick else (100_000, 10_000, 3600)
    ensure(stack, "gdpr", "intake", "screening", "matching")
    for name in stack.procs:
        context.setdefault(f"rss_start_{name}", stack.procs[name].rss_mb())
    more_v = max(0, target_v - context.get("loaded_volunteers", 0))
    more_r = max(0, target_r - context.get("loaded_requests", 0))
    got_v, got_r, cases = asyncio.run(load(stack, more_v, more_r, deadline))
    figures = []
    for name, proc in sorted(stack.procs.items()):
        rss = proc.rss_mb()
        start = context.get(f"rss_start_{name}")
        figures.append(Figure(NAME, f"{name} RSS", rss, "MB", start, "same process just started", ratio(rss, start), "loaded/start",
                              "≤ 250 MB", rss <= 250,
                              f"held when measured: matching {got_v:,} volunteers (with the e2e walkers) / {got_r:,} requests, "
                              f"screening {cases:,} cases; target {target_v:,}/{target_r:,} within {deadline} s"))
    return figures
