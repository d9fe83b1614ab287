"""The gdpr-command responder, with a hand-written fake store; the wiring through FastStream's test broker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from faststream.kafka import TestKafkaBroker

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import CrisisPurgeRequested, Event, PurgeCompleted, PurgeScope, SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import ServiceName
from helpt_intake.settings import IntakeSettings
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_broker, create_router, publish_event
from helpt_platform.purge import carry_out_gdpr_command, gdpr_command_router
from helpt_platform.service import Runtime

LEUVEN, GENT = "leuven", "gent"
JAN, AN, PIET = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@dataclass
class Deleted:
    deleted_count: int


class FakeCollection:
    """Only the query shapes the responder sends: equality, and `$in`, on scalar or list fields."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    async def delete_many(self, filter: dict[str, Any]) -> Deleted:
        kept = [doc for doc in self.docs if not all(_matches(doc.get(f), cond) for f, cond in filter.items())]
        deleted, self.docs[:] = len(self.docs) - len(kept), kept
        return Deleted(deleted)


def _matches(value: Any, cond: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    wanted = cond["$in"] if isinstance(cond, dict) else [cond]
    return any(v in wanted for v in values)


class FakeStore:
    def __init__(self, collections: dict[str, list[dict[str, Any]]]) -> None:
        self.collections = {name: FakeCollection(docs) for name, docs in collections.items()}

    async def list_collection_names(self) -> list[str]:
        return list(self.collections)

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections[name]

    def left(self, name: str) -> list[str]:
        return [doc["_id"] for doc in self.collections[name].docs]


def seeded() -> FakeStore:
    return FakeStore(
        {
            "requests": [
                {"_id": "r-jan", "tenant": LEUVEN, "subject_ids": [JAN]},
                {"_id": "r-an", "tenant": LEUVEN, "subject_ids": [AN]},
                {"_id": "r-gent-jan", "tenant": GENT, "subject_ids": [JAN]},
            ],
            "matches": [
                {"_id": "m-jan-piet", "tenant": LEUVEN, "subject_ids": [JAN, PIET]},
                {"_id": "m-an-piet", "tenant": LEUVEN, "subject_ids": [AN, PIET]},
                {"_id": "m-gent", "tenant": GENT, "subject_ids": [PIET]},
            ],
            "notes": [{"_id": "n-jan-as-text", "tenant": LEUVEN, "subject_ids": [str(JAN)]}],
            "system.profile": [{"_id": "p", "tenant": LEUVEN}],
        }
    )


def erasure(subject: uuid.UUID = JAN, tenant: str = LEUVEN) -> SubjectErasureRequested:
    return SubjectErasureRequested(tenant=tenant, purge_id=uuid.uuid4(), subject_id=subject, subject_kind=SubjectKind.REQUESTER)


def crisis_purge(tenant: str = LEUVEN) -> CrisisPurgeRequested:
    return CrisisPurgeRequested(tenant=tenant, purge_id=uuid.uuid4(), approvals=2)


class Sent(list[PurgeCompleted]):
    async def __call__(self, receipt: PurgeCompleted) -> None:
        self.append(receipt)


async def test_erasing_a_subject_deletes_every_document_about_them_and_nothing_else():
    store, sent = seeded(), Sent()
    await carry_out_gdpr_command(erasure(JAN), store, sent, service=ServiceName.MATCHING)
    assert store.left("requests") == ["r-an", "r-gent-jan"]
    assert store.left("matches") == ["m-an-piet", "m-gent"]
    assert store.left("notes") == []


async def test_the_erasure_receipt_counts_what_each_collection_lost_and_names_the_service():
    command, sent = erasure(JAN), Sent()
    receipt = await carry_out_gdpr_command(command, seeded(), sent, service=ServiceName.MATCHING)
    assert sent == [receipt]
    assert receipt == PurgeCompleted(
        tenant=LEUVEN, purge_id=command.purge_id, service=ServiceName.MATCHING, scope=PurgeScope.SUBJECT,
        counts={"matches": 1, "notes": 1, "requests": 1},
    )


async def test_a_crisis_purge_deletes_the_whole_tenant_and_another_tenants_documents_survive():
    store, sent = seeded(), Sent()
    command = crisis_purge(LEUVEN)
    await carry_out_gdpr_command(command, store, sent, service=ServiceName.INTAKE)
    assert store.left("requests") == ["r-gent-jan"]
    assert store.left("matches") == ["m-gent"]
    assert store.left("notes") == []
    assert sent[0].scope is PurgeScope.TENANT
    assert sent[0].counts == {"matches": 2, "notes": 1, "requests": 2}


async def test_system_collections_are_left_alone():
    store = seeded()
    receipt = await carry_out_gdpr_command(crisis_purge(LEUVEN), store, Sent(), service=ServiceName.INTAKE)
    assert store.left("system.profile") == ["p"]
    assert "system.profile" not in receipt.counts


async def test_a_redelivered_command_deletes_nothing_more_and_sends_a_receipt_again():
    store, sent, command = seeded(), Sent(), erasure(AN)
    await carry_out_gdpr_command(command, store, sent, service=ServiceName.SCREENING)
    await carry_out_gdpr_command(command, store, sent, service=ServiceName.SCREENING)
    first, second = sent
    assert (second.purge_id, second.service, second.scope) == (first.purge_id, first.service, first.scope)
    assert sum(first.counts.values()) == 2 and sum(second.counts.values()) == 0


async def test_a_collection_name_the_receipt_contract_refuses_is_reported_under_a_safe_name():
    store = FakeStore({"HelpRequests": [{"_id": "x", "tenant": LEUVEN, "subject_ids": [JAN]}]})
    receipt = await carry_out_gdpr_command(erasure(JAN), store, Sent(), service=ServiceName.INTAKE)
    assert receipt.counts == {"helprequests": 1}


async def test_the_service_answers_a_gdpr_command_on_kafka_with_a_receipt_under_the_same_correlation_id():
    settings = IntakeSettings(topic_prefix="unit.")
    store = seeded()
    broker = create_broker(settings)
    broker.include_router(gdpr_command_router(Runtime(settings, broker, mongo=None, db=store)))  # type: ignore[arg-type]
    receipts: list[tuple[Envelope, Event]] = []
    collector = create_router(settings)

    async def receipt(envelope: Envelope, event: Event) -> None:
        receipts.append((envelope, event))

    subscribe_events(collector, settings, topics.GDPR_RECEIPTS, receipt)
    broker.include_router(collector)
    command = crisis_purge(GENT)
    async with TestKafkaBroker(broker):
        await publish_event(broker, settings, command, correlation_id="purge-gent-1")
    ((envelope, event),) = receipts
    assert envelope.correlation_id == "purge-gent-1" and envelope.source == "/helpt/intake"
    assert event == PurgeCompleted(
        tenant=GENT, purge_id=command.purge_id, service=ServiceName.INTAKE, scope=PurgeScope.TENANT,
        counts={"matches": 1, "notes": 0, "requests": 1},
    )
    assert store.left("requests") == ["r-jan", "r-an"]
