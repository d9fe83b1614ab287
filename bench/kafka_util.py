"""Publishing many contract events fast (acks=all), and counting what a service stored."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from helpt_contracts.envelope import Envelope, encode_event
from helpt_contracts.events import Event


def encoded(event: Event, source: str = "intake") -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    key, body, headers = encode_event(event, Envelope.for_event(event, source=source))
    return event.TOPIC, key, body, [(k, v.encode()) for k, v in headers.items()]


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, num_partitions=1, replication_factor=1) for n in names if n not in existing]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


async def publish_all(bootstrap: str, messages: list[tuple[str, bytes | None, bytes, list]]) -> float:
    """Send every message (acks=all, idempotent), in flight together; the seconds it took."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        t0 = time.perf_counter()
        futures = [await producer.send(topic, body, key=key, headers=headers) for topic, key, body, headers in messages]
        await asyncio.gather(*futures)
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def wait_count(mongodb_url: str, db: str, collection: str, query: dict, target: int, deadline_s: float,
                     poll_s: float = 0.25) -> tuple[int, float]:
    """Poll until the collection holds `target` matching documents: (count reached, monotonic time then)."""
    client = AsyncMongoClient(mongodb_url, uuidRepresentation="standard")
    try:
        end = time.perf_counter() + deadline_s
        count = 0
        while time.perf_counter() < end:
            count = await client[db][collection].count_documents(query)
            if count >= target:
                return count, time.perf_counter()
            await asyncio.sleep(poll_s)
        return count, time.perf_counter()
    finally:
        await client.close()
