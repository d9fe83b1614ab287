"""2. Pipeline throughput: events/s through screening's and matching's consumers, beside a bare aiokafka
consume→produce loop on the same broker.

N VolunteerRegistered (then N HelpRequested) are published straight onto intake's topics, all in flight
at once; the figure is N / (time from the first send until the service's store holds N: screening's
cases, matching's volunteer or request projections). The bare loop reads N messages of the same size
with a consumer group and, per message, sends it on and waits for acks=all (as a handler would),
committing per batch.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import Figure, ratio
from bench.kafka_util import create_topics, encoded, publish_all, wait_count
from bench.stack import BenchStack
from helpt_contracts.examples import help_requested, volunteer_registered

NAME = "2 pipeline throughput"


def volunteers(n: int, **overrides) -> list:
    return [encoded(volunteer_registered(tasks=["shopping"], postcode="3000", **overrides)) for _ in range(n)]


def requests(n: int, **overrides) -> list:
    return [encoded(help_requested(task="shopping", postcode="3000", **overrides)) for _ in range(n)]


async def bare_loop(bootstrap: str, messages: list, deadline_s: float) -> tuple[float, int]:
    """(events/s, processed) of a bare consume→produce loop over `messages`."""
    src, dst = f"bench.bare-in.{uuid.uuid4().hex[:6]}", f"bench.bare-out.{uuid.uuid4().hex[:6]}"
    await create_topics(bootstrap, src, dst)
    await publish_all(bootstrap, [(src, k, b, h) for _, k, b, h in messages])
    consumer = AIOKafkaConsumer(src, bootstrap_servers=bootstrap, group_id=f"bench-{src}", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    done = 0
    try:
        t0 = time.perf_counter()
        end = t0 + deadline_s
        while done < len(messages) and time.perf_counter() < end:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for rec in records:
                    await producer.send_and_wait(dst, rec.value, key=rec.key, headers=list(rec.headers))
                    done += 1
            if batch:
                await consumer.commit()
        return done / (time.perf_counter() - t0), done
    finally:
        await consumer.stop()
        await producer.stop()


async def through(stack: BenchStack, messages: list, watches: list[tuple[str, str, str]], deadline_s: float) -> dict:
    """Publish, then time each watched (db, collection) until it holds its target more documents."""
    before = {}
    for label, db, coll in watches:
        n, _ = await wait_count(stack.mongodb_url, db, coll, {}, 0, 1)
        before[label] = n
    t0 = time.perf_counter()
    publish_s = await publish_all(stack.bootstrap, messages)
    results = await asyncio.gather(*(wait_count(stack.mongodb_url, db, coll, {}, before[label] + len(messages), deadline_s)
                                     for label, db, coll in watches))
    out = {"publish_s": publish_s}
    for (label, _, _), (count, at) in zip(watches, results, strict=True):
        got = count - before[label]
        out[label] = (got / (at - t0), got)
    return out


def ensure(stack: BenchStack, *names: str) -> None:
    for name in names:
        if name not in stack.procs:
            stack.start_service(name)
    stack.wait_ready(*names)


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    n = 200 if quick else 10_000
    deadline = 150 if quick else 1800
    ensure(stack, "gdpr", "screening", "matching")
    for name in ("screening", "matching"):
        context.setdefault(f"rss_start_{name}", stack.procs[name].rss_mb())
    vols = volunteers(n)
    vol = asyncio.run(through(stack, vols, [("screening cases", "helpt_screening", "cases"),
                                            ("matching volunteers", "helpt_matching", "volunteers")], deadline))
    req = asyncio.run(through(stack, requests(n), [("matching requests", "helpt_matching", "requests")], deadline))
    bare, bare_n = asyncio.run(bare_loop(stack.bootstrap, vols, deadline))
    context["loaded_volunteers"] = context.get("loaded_volunteers", 0) + n
    context["loaded_requests"] = context.get("loaded_requests", 0) + n
    figures = []
    for label, res, what in (("screening cases", vol, "VolunteerRegistered → screening case"),
                             ("matching volunteers", vol, "VolunteerRegistered → matching projection"),
                             ("matching requests", req, "HelpRequested → matching projection (+ offer round)")):
        rate, got = res[label]
        figures.append(Figure(NAME, what, rate, "events/s", bare, "bare consume→produce loop", ratio(rate, bare),
                              "service/bare", notes=f"N={n}, {got} reached the store; published in {res['publish_s']:.1f} s; "
                                                    f"bare loop {bare_n} processed"))
    return figures
