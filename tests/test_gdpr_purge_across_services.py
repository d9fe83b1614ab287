"""intake, screening and matching answer gdpr's erasure and purge commands on real Kafka and the real store."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import CrisisPurgeRequested, Event, PurgeCompleted, PurgeScope, SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import ServiceName
from helpt_intake.app import create_app as create_intake
from helpt_intake.settings import IntakeSettings
from helpt_matching.app import create_app as create_matching
from helpt_matching.settings import MatchingSettings
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_broker, create_router, publish_event
from helpt_platform.mongo import create_mongo_client, service_database
from helpt_platform.settings import ServiceSettings
from helpt_screening.app import create_app as create_screening
from helpt_screening.settings import ScreeningSettings

pytestmark = pytest.mark.infra
DEADLINE_S = 60
A, B = "leuven", "gent"
JAN, AN, PIET, VEERLE, BRAM = (uuid.uuid4() for _ in range(5))


class GdprSideSettings(ServiceSettings):
    """Stands in for the gdpr service: sends the commands, collects the receipts."""

    service: ClassVar[ServiceName] = ServiceName.GDPR
    default_port: ClassVar[int] = 0


SEEDS: dict[ServiceName, dict[str, list[dict[str, Any]]]] = {
    ServiceName.INTAKE: {
        "help_requests": [
            {"_id": "r-jan", "tenant": A, "subject_ids": [JAN]},
            {"_id": "r-an", "tenant": A, "subject_ids": [AN]},
            {"_id": "r-b-bram", "tenant": B, "subject_ids": [BRAM]},
        ],
        "contacts": [{"_id": "c-jan-text", "tenant": A, "subject_ids": [str(JAN)]}],
    },
    ServiceName.SCREENING: {
        "cases": [
            {"_id": "k-piet", "tenant": A, "subject_ids": [PIET]},
            {"_id": "k-b-veerle", "tenant": B, "subject_ids": [VEERLE]},
        ],
    },
    ServiceName.MATCHING: {
        "matches": [
            {"_id": "m-jan-piet", "tenant": A, "subject_ids": [JAN, PIET]},
            {"_id": "m-an-piet", "tenant": A, "subject_ids": [AN, PIET]},
            {"_id": "m-b", "tenant": B, "subject_ids": [BRAM, VEERLE]},
        ],
        "offers": [{"_id": "o-piet", "tenant": A, "subject_ids": [PIET]}],
    },
}


@pytest.fixture
def service_settings(infra, unique_name) -> dict[ServiceName, ServiceSettings]:
    common = dict(
        kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
        topic_prefix=f"{unique_name}.", log_json=False,
    )
    db = f"helpt_{unique_name}".replace("-", "_")
    return {
        ServiceName.INTAKE: IntakeSettings(**common, mongodb_database=f"{db}_intake", smtp_port=0),
        ServiceName.SCREENING: ScreeningSettings(**common, mongodb_database=f"{db}_screening"),
        ServiceName.MATCHING: MatchingSettings(**common, mongodb_database=f"{db}_matching"),
        ServiceName.GDPR: GdprSideSettings(**common),
    }


@contextlib.contextmanager
def running_services(settings: dict[ServiceName, ServiceSettings]) -> Iterator[None]:
    factories = {ServiceName.INTAKE: create_intake, ServiceName.SCREENING: create_screening, ServiceName.MATCHING: create_matching}
    with contextlib.ExitStack() as stack:
        for name, create in factories.items():
            stack.enter_context(TestClient(create(settings[name])))  # runs the lifespan: broker, store, subscribers
        yield


class GdprSide:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.receipts: asyncio.Queue[tuple[Envelope, PurgeCompleted]] = asyncio.Queue()
        router = create_router(settings)
        subscribe_events(router, settings, topics.GDPR_RECEIPTS, self.receipt)
        self.broker = create_broker(settings, routers=[router])

    async def receipt(self, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, PurgeCompleted)
        self.receipts.put_nowait((envelope, event))

    async def command(self, command: Event, correlation_id: str) -> dict[ServiceName, tuple[Envelope, PurgeCompleted]]:
        """Send a command; the receipts of the three services, by service."""
        await publish_event(self.broker, self.settings, command, correlation_id=correlation_id)
        got: dict[ServiceName, tuple[Envelope, PurgeCompleted]] = {}
        while len(got) < 3:
            envelope, receipt = await asyncio.wait_for(self.receipts.get(), DEADLINE_S)
            if receipt.purge_id == command.purge_id:  # type: ignore[attr-defined]
                got[receipt.service] = (envelope, receipt)
        return got


@contextlib.asynccontextmanager
async def gdpr_side(settings: ServiceSettings) -> AsyncIterator[GdprSide]:
    side = GdprSide(settings)
    await side.broker.start()
    try:
        yield side
    finally:
        await side.broker.stop()


async def seed(client: AsyncMongoClient, settings: dict[ServiceName, ServiceSettings]) -> dict[ServiceName, AsyncDatabase]:
    dbs = {name: service_database(client, settings[name]) for name in SEEDS}
    for name, collections in SEEDS.items():
        for collection, docs in collections.items():
            await dbs[name][collection].insert_many(docs)
    return dbs


async def left(dbs: dict[ServiceName, AsyncDatabase]) -> dict[ServiceName, set[str]]:
    return {
        name: {doc["_id"] for coll in await db.list_collection_names() async for doc in db[coll].find({}, {"_id": 1})}
        for name, db in dbs.items()
    }


async def test_an_erasure_then_a_crisis_purge_empty_every_service_of_that_subject_then_tenant_and_spare_the_other_tenant(
    service_settings,
):
    client = create_mongo_client(service_settings[ServiceName.INTAKE])
    try:
        dbs = await seed(client, service_settings)
        with running_services(service_settings):
            async with gdpr_side(service_settings[ServiceName.GDPR]) as gdpr:
                erasure = SubjectErasureRequested(tenant=A, purge_id=uuid.uuid4(), subject_id=JAN, subject_kind=SubjectKind.REQUESTER)
                erased = await gdpr.command(erasure, correlation_id="erase-jan")
                after_erasure = await left(dbs)

                purge = CrisisPurgeRequested(tenant=A, purge_id=uuid.uuid4(), approvals=2)
                purged = await gdpr.command(purge, correlation_id="purge-leuven")
                after_purge = await left(dbs)
    finally:
        await client.close()

    assert {name: receipt.counts for name, (_, receipt) in erased.items()} == {
        ServiceName.INTAKE: {"contacts": 1, "help_requests": 1},
        ServiceName.SCREENING: {"cases": 0},
        ServiceName.MATCHING: {"matches": 1, "offers": 0},
    }
    assert all(receipt.scope is PurgeScope.SUBJECT and receipt.tenant == A for _, receipt in erased.values())
    assert all(envelope.correlation_id == "erase-jan" for envelope, _ in erased.values())
    assert after_erasure == {
        ServiceName.INTAKE: {"r-an", "r-b-bram"},
        ServiceName.SCREENING: {"k-piet", "k-b-veerle"},
        ServiceName.MATCHING: {"m-an-piet", "m-b", "o-piet"},
    }

    assert {name: receipt.counts for name, (_, receipt) in purged.items()} == {
        ServiceName.INTAKE: {"contacts": 0, "help_requests": 1},
        ServiceName.SCREENING: {"cases": 1},
        ServiceName.MATCHING: {"matches": 1, "offers": 1},
    }
    assert all(receipt.scope is PurgeScope.TENANT for _, receipt in purged.values())
    assert all(envelope.correlation_id == "purge-leuven" for envelope, _ in purged.values())
    assert after_purge == {
        ServiceName.INTAKE: {"r-b-bram"},
        ServiceName.SCREENING: {"k-b-veerle"},
        ServiceName.MATCHING: {"m-b"},
    }
