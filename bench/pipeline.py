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
import contextlib
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient

from bench.common import Figure, ratio
from bench.kafka_util import create_topics, encoded, publish_all
from bench.stack import BenchStack, CpuMeter
from helpt_contracts import topics
from helpt_contracts.examples import help_requested, volunteer_registered

NAME = "2 pipeline throughput"


def volunteers(n: int, **overrides) -> list:
    """As intake publishes them: each with the blind indexes of a phone number and an e-mail address (distinct)."""
    return [encoded(volunteer_registered(tasks=["shopping"], postcode="3000",
                                         **{"contact_index": [uuid.uuid4().hex, uuid.uuid4().hex], **overrides}))
            for _ in range(n)]


def requests(n: int, **overrides) -> list:
    return [encoded(help_requested(task="shopping", postcode="3000", **overrides)) for _ in range(n)]


async def bare_loop(bootstrap: str, messages: list, deadline_s: float) -> tuple[float, int]:
    """(events/s, processed) of a bare consume→produce loop over `messages`; bounded by `deadline_s` in all.

    The partitions are assigned by hand (no group join, so no rebalance wait to sit through: the first
    attempt hung waiting for one), offsets are still committed to a group per batch, every Kafka call
    has its own timeout, and whatever happens the clients are stopped within a few seconds.
    """
    src, dst = f"bench.bare-in.{uuid.uuid4().hex[:6]}", f"bench.bare-out.{uuid.uuid4().hex[:6]}"
    await asyncio.wait_for(create_topics(bootstrap, src, dst), 60)
    await asyncio.wait_for(publish_all(bootstrap, [(src, k, b, h) for _, k, b, h in messages]), 120)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-{src}", enable_auto_commit=False,
                                auto_offset_reset="earliest", request_timeout_ms=10_000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                request_timeout_ms=10_000)
    done = 0
    try:
        await asyncio.wait_for(consumer.start(), 30)
        await asyncio.wait_for(producer.start(), 30)
        partitions = [TopicPartition(src, p) for p in sorted(await _partitions(consumer, src))]
        consumer.assign(partitions)
        await asyncio.wait_for(consumer.seek_to_beginning(*partitions), 30)
        t0 = time.perf_counter()
        end = t0 + deadline_s
        while done < len(messages) and (left := end - time.perf_counter()) > 0:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=int(min(500, left * 1000)), max_records=500),
                                           left + 5)
            for records in batch.values():
                for rec in records:
                    # As a handler does: one acks=all send per event, awaited before the next.
                    await asyncio.wait_for(producer.send_and_wait(dst, rec.value, key=rec.key, headers=list(rec.headers)), 30)
                    done += 1
            if batch:
                await asyncio.wait_for(consumer.commit(), 30)
        return done / (time.perf_counter() - t0), done
    finally:
        for client in (consumer, producer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop(), 10)


async def _partitions(consumer: AIOKafkaConsumer, topic: str, deadline_s: float = 30.0) -> set[int]:
    end = time.perf_counter() + deadline_s
    while time.perf_counter() < end:
        if found := consumer.partitions_for_topic(topic):
            return found
        await asyncio.wait_for(consumer._client.force_metadata_update(), 10)  # noqa: SLF001 — aiokafka has no public call
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no partitions of {topic} within {deadline_s} s")


async def through(stack: BenchStack, messages: list, watches: list[tuple[str, str, str, str]], deadline_s: float) -> dict:
    """Publish, then time each watched consumer group until it has committed past every message (at-least-once:
    a service commits an event once its handler returned, i.e. the event was applied or dead-lettered), and
    check once that its store holds them. Watching the store itself would time the bench: FerretDB counts by
    reading every document, so a count of 10,000 cases takes about a second, polled over and over.

    `watches`: (label, consumer group, database, collection). The figure per label: N / (time from the first
    send until the group committed all N)."""
    topic = messages[0][0]
    before = {label: await count(stack.mongodb_url, db, coll) for label, _, db, coll in watches}
    t0 = time.perf_counter()
    publish_s = await publish_all(stack.bootstrap, messages)
    ends = await end_offsets(stack.bootstrap, topic)
    results = await asyncio.gather(*(wait_committed(stack.bootstrap, group, topic, ends, t0 + deadline_s)
                                     for _, group, _, _ in watches))
    out = {"publish_s": publish_s}
    for (label, _, db, coll), (caught_up, at) in zip(watches, results, strict=True):
        got = await count(stack.mongodb_url, db, coll) - before[label]
        out[label] = (got / (at - t0), got, caught_up)
    return out


async def count(mongodb_url: str, db: str, coll: str) -> int:
    client = AsyncMongoClient(mongodb_url, uuidRepresentation="standard")
    try:
        return await client[db][coll].count_documents({})
    finally:
        await client.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await asyncio.wait_for(consumer.start(), 30)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        offsets = await asyncio.wait_for(consumer.end_offsets(partitions), 30)
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await asyncio.wait_for(consumer.stop(), 10)


async def wait_committed(bootstrap: str, group: str, topic: str, ends: dict[int, int], until: float,
                         poll_s: float = 0.1) -> tuple[bool, float]:
    """Poll the group's committed offsets until they reach `ends`: (caught up, perf_counter time then)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        while (now := time.perf_counter()) < until:
            try:
                committed = await asyncio.wait_for(admin.list_consumer_group_offsets(group), 10)
            except (TimeoutError, KafkaError):
                committed = {}
            have = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic}
            if all(have.get(p, -1) >= end for p, end in ends.items()):
                return True, time.perf_counter()
            await asyncio.sleep(poll_s)
        return False, now
    finally:
        await asyncio.wait_for(admin.close(), 10)


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
    meter = CpuMeter(stack)
    with meter:
        vol = asyncio.run(through(stack, vols, [("screening cases", "helpt-screening." + topics.VOLUNTEERS, "helpt_screening", "cases"),
                                                ("matching volunteers", "helpt-matching." + topics.VOLUNTEERS, "helpt_matching", "volunteers")],
                                  deadline))
    cpu_vol = meter.per(n, "volunteer")
    with meter:
        req = asyncio.run(through(stack, requests(n), [("matching requests", "helpt-matching." + topics.HELP_REQUESTS,
                                                        "helpt_matching", "requests")], deadline))
    cpu_req = meter.per(n, "request")
    with meter:
        bare, bare_n = asyncio.run(bare_loop(stack.bootstrap, vols, deadline))
    cpu_bare = meter.per(bare_n, "message")
    print(f"  volunteers: {cpu_vol}\n  requests: {cpu_req}\n  bare loop: {cpu_bare}", flush=True)
    context["loaded_volunteers"] = context.get("loaded_volunteers", 0) + n
    context["loaded_requests"] = context.get("loaded_requests", 0) + n
    figures = []
    for label, res, what, cpu in (("screening cases", vol, "VolunteerRegistered → screening case", cpu_vol),
                                  ("matching volunteers", vol, "VolunteerRegistered → matching projection", cpu_vol),
                                  ("matching requests", req, "HelpRequested → matching projection (+ offer round)", cpu_req)):
        rate, got, caught_up = res[label]
        figures.append(Figure(NAME, what, rate, "events/s", bare, "bare consume→produce loop", ratio(rate, bare),
                              "service/bare", notes=f"N={n}, {got} reached the store"
                                                    f"{'' if caught_up else f' (deadline {deadline} s hit before all were consumed)'}; "
                                                    f"published in {res['publish_s']:.1f} s; bare loop {bare_n} processed; "
                                                    f"{cpu}; bare: {cpu_bare}"))
    return figures
