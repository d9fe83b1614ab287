"""Matching on the real stack: the service served on real Kafka and FerretDB; its inputs published as events, one prefix per test."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from helpt_contracts.envelope import Envelope, encode_event
from helpt_contracts.events import Event
from helpt_contracts.roles import Role
from helpt_matching.app import create_app
from helpt_matching.settings import MatchingSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.testing import eventually, serve_in_thread, topic_records

T = TypeVar("T")


@dataclass
class Matching:
    client: httpx.Client
    url: str
    settings: MatchingSettings
    secret: bytes

    def publish(self, *events: Event) -> None:
        """Publish the inputs as intake and screening would: contracts' encode_event, straight onto Kafka."""
        async def run() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
            await producer.start()
            try:
                for event in events:
                    source = "screening" if event.TOPIC.startswith("screening") else "intake"
                    key, body, headers = encode_event(event, Envelope.for_event(event, source=source))
                    await producer.send_and_wait(self.settings.topic(event.TOPIC), body, key=key,
                                                 headers=[(k, v.encode()) for k, v in headers.items()])
            finally:
                await producer.stop()

        asyncio.run(run())

    def publish_at(self, *timed: tuple[Event, dt.datetime | None]) -> None:
        """Publish events each with the time it happened (None: now), as intake, screening or gdpr would."""
        async def run() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, linger_ms=20)
            await producer.start()
            try:
                sent = []
                for event, at in timed:
                    key, body, headers = encode_event(event, Envelope.for_event(event, source=event.TOPIC.split(".", 1)[0], time=at))
                    sent.append(await producer.send(self.settings.topic(event.TOPIC), body, key=key,
                                                    headers=[(k, v.encode()) for k, v in headers.items()]))
                await asyncio.gather(*sent)
            finally:
                await producer.stop()

        asyncio.run(run())

    def store(self, read: Callable[[Any], Awaitable[T]]) -> T:
        """`await read(db)` on the service's database, with a client of the test's own."""
        async def run() -> T:
            client = AsyncMongoClient(self.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard", tz_aware=True)
            try:
                return await read(client[self.settings.database_name])
            finally:
                await client.close()

        return asyncio.run(run())

    def events_on(self, topic: str) -> list[tuple[Any, Event]]:
        return topic_records(self.settings, topic)  # type: ignore[return-value]

    def coordinator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, sub='coord-1', role=Role.COORDINATOR, tenant='leuven')}"}

    def offers(self, request_id: Any) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/matching/requests/{request_id}/offers", headers=self.coordinator())
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait_offers(self, request_id: Any, done: Callable[[list[dict]], bool], what: str, seconds: float = 90) -> list[dict]:
        return eventually(lambda: self.offers(request_id)["offers"], done, what, seconds)


@pytest.fixture
def matching(infra, tmp_path) -> Iterator[Callable[..., Matching]]:
    """Start a matching service of its own (topic prefix, database) with settings overridden per test."""
    with_stack: list[Any] = []

    def start(**overrides: Any) -> Matching:
        run = uuid.uuid4().hex[:8]
        settings = MatchingSettings(**{"kafka_bootstrap_servers": infra.bootstrap_servers, "mongodb_url": infra.mongodb_url,
                                       "topic_prefix": f"m-{run}.", "mongodb_database": f"helpt_matching_{run}",
                                       "jwt_secret_file": tmp_path / "jwt.secret", "link_secret_file": tmp_path / "links.secret",
                                       "log_json": False, "expiry_interval_s": 0.5, "relay_interval_s": 0.5, **overrides})
        server = serve_in_thread(create_app(settings))
        url = server.__enter__()
        with_stack.append(server)
        eventually(lambda: httpx.get(f"{url}/readyz"), lambda r: r.status_code == 200, "matching ready", 60)
        client = httpx.Client(base_url=url, timeout=60)
        with_stack.append(client)
        return Matching(client, url, settings, local_secret(tmp_path / "jwt.secret"))

    yield start
    for thing in reversed(with_stack):
        thing.__exit__(None, None, None)
