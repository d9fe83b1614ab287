"""1. Intake capacity: accepted API submissions per second (202, acks=all), one and two intake processes,
beside a bare aiokafka producer sending events of the same size at the same concurrency (acks=all)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import Figure, ratio
from bench.load import api_sender, closed_loop, help_request_body
from bench.stack import BenchStack, CpuMeter

NAME = "1 intake capacity"
TOPIC = "intake.help-requests.v1"


async def _one_real_event(stack: BenchStack) -> tuple[bytes | None, bytes, list]:
    """The key, value and headers of an event intake really published: the bare producer sends this size."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), 30)
        return msg.key, msg.value, list(msg.headers)
    finally:
        await consumer.stop()


async def bare_producer(stack: BenchStack, concurrency: int, seconds: float, key: bytes | None, value: bytes,
                        headers: list):
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    topic = f"bench.bare-producer.{uuid.uuid4().hex[:6]}"
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)  # the topic exists before timing

        async def send(i: int) -> bool:
            await producer.send_and_wait(topic, value, key=uuid.uuid4().bytes, headers=headers)
            return True

        return await closed_loop(send, concurrency, seconds)
    finally:
        await producer.stop()


async def api_load(urls: list[str], concurrency: int, seconds: float):
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        send = api_sender(client, urls, "/api/v1/help-requests", lambda i: help_request_body(), statuses=statuses)
        result = await closed_loop(send, concurrency, seconds)
    result.statuses = statuses
    return result


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    concurrency, seconds = (16, 5.0) if quick else (32, 20.0)
    for name in ("gdpr", "intake"):
        if name not in stack.procs:
            stack.start_service(name)
            stack.wait_ready(name)
    # Kafka's JIT compiles its request paths in the broker's first minute: unmeasured, intake warms it up for the
    # bare producer that comes after it as much as for itself (a cold broker cost 7 ms of CPU a submission, a warm one 3).
    asyncio.run(api_load([stack.procs["intake"].url], concurrency, seconds))
    meter = CpuMeter(stack)
    with meter:
        one = asyncio.run(api_load([stack.procs["intake"].url], concurrency, seconds))
    cpu_one = meter.per(one.finished)
    key, value, headers = asyncio.run(_one_real_event(stack))
    with meter:
        bare = asyncio.run(bare_producer(stack, concurrency, seconds, key, value, headers))
    cpu_bare = meter.per(bare.finished, "message")
    stack.start_service("intake", "intake-2")
    stack.wait_ready("intake-2")
    with meter:
        two = asyncio.run(api_load([stack.procs["intake"].url, stack.procs["intake-2"].url], concurrency, seconds))
    cpu_two = meter.per(two.finished)
    stack.stop_service("intake-2")
    context["intake_one_rate"] = one.rate
    note = f"concurrency {concurrency}, {seconds:.0f} s after 1 s warm-up (and an unmeasured round first); event {len(value)} B; statuses one={one.statuses} two={two.statuses}"
    print(f"  1 process: {cpu_one}\n  bare producer: {cpu_bare}\n  2 processes: {cpu_two}", flush=True)
    r1 = ratio(one.rate, bare.rate)
    r2 = ratio(two.rate, one.rate)
    return [
        Figure(NAME, "intake, 1 process: accepted/s", one.rate, "req/s", bare.rate, "bare aiokafka acks=all", r1,
               "intake/bare", "≥ 0.5 × bare", None if r1 is None else r1 >= 0.5, f"{note}; {cpu_one}; bare: {cpu_bare}"),
        Figure(NAME, "intake, 2 processes: accepted/s", two.rate, "req/s", one.rate, "1 process", r2,
               "two/one", "≥ 1.8 × one", None if r2 is None else r2 >= 1.8, f"{note}; {cpu_two}"),
        Figure(NAME, "intake, 1 process: p50 latency", one.p(50), "ms", bare.p(50), "bare send p50", ratio(one.p(50), bare.p(50)), "intake/bare"),
        Figure(NAME, "intake, 1 process: p99 latency", one.p(99), "ms", bare.p(99), "bare send p99", ratio(one.p(99), bare.p(99)), "intake/bare"),
        Figure(NAME, "intake, 2 processes: p50 latency", two.p(50), "ms", one.p(50), "1 process p50", ratio(two.p(50), one.p(50)), "two/one"),
        Figure(NAME, "intake, 2 processes: p99 latency", two.p(99), "ms", one.p(99), "1 process p99", ratio(two.p(99), one.p(99)), "two/one"),
    ]
