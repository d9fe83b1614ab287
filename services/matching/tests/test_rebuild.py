"""The rebuild on the real stack: projections and statistics refolded from the topics equal what the service built,
however often it runs, and a person erased before it stays erased."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from helpt_contracts import topics
from helpt_contracts.events import (
    HelpRequestCancelled,
    PurgeCompleted,
    SubjectErasureRequested,
    VolunteerApproved,
    VolunteerRegistered,
    VolunteerUpdated,
)
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_matching import rebuild
from helpt_platform.testing import eventually

pytestmark = pytest.mark.infra

BUILT = ("requests", "volunteers", "statistics")


def approve(registered: VolunteerRegistered) -> VolunteerApproved:
    return VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=uuid.uuid4(),
                             reason="interview-ok", guidelines_confirmed=True)


async def built(db) -> dict[str, list[dict[str, Any]]]:
    """The projections (their version counts how often the service rewrote them: not part of the state) and the statistics."""
    state = {}
    for name in BUILT:
        docs = [{k: v for k, v in doc.items() if k != "version"} async for doc in db[name].find({})]
        state[name] = sorted(docs, key=lambda doc: str(doc["_id"]))
    return state


def test_the_rebuild_refolds_what_the_service_built_and_keeps_the_erased_erased(matching, monkeypatch):
    service = matching()
    walker = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"], form_language="en")
    shopper = volunteer_registered(tasks=["shopping", "pharmacy"], postcode="3000", languages=["nl"], form_language="nl")
    erased = volunteer_registered(tasks=["drawing"], postcode="3010", languages=["fr"], form_language="fr")
    walk = help_requested(task="dog-walking", postcode="3001", languages=["en"], form_language="en")
    shop = help_requested(task="shopping", postcode="3000", languages=["nl"], form_language="nl")
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    service.publish_at((walker, yesterday), (shopper, yesterday), (erased, yesterday), (approve(walker), None),
                       (approve(erased), None), (VolunteerUpdated(tenant="leuven", volunteer_id=shopper.volunteer_id,
                                                                  max_tasks_per_week=5), None))
    eventually(lambda: service.store(lambda db: db["volunteers"].count_documents({"eligible": True})), lambda n: n == 2,
               "two eligible volunteers")
    service.publish_at((walk, yesterday), (shop, None), (HelpRequestCancelled(tenant="leuven", request_id=shop.request_id,
                                                                             reason="resolved-elsewhere"), None))
    offer = service.wait_offers(walk.request_id, lambda o: len(o) == 1, "the walk offered")[0]
    assert service.client.post("/m/" + offer["link"].split("/m/", 1)[1], data={"action": "accept"}).status_code == 200
    erasure = uuid.uuid4()
    service.publish_at((SubjectErasureRequested(tenant="leuven", purge_id=erasure, subject_id=erased.subject_id,
                                                subject_kind="volunteer"), None))
    eventually(lambda: [e for _, e in service.events_on(topics.GDPR_RECEIPTS) if isinstance(e, PurgeCompleted) and e.purge_id == erasure],
               lambda found: len(found) == 1, "the erasure carried out")

    def settled(state: dict[str, list[dict[str, Any]]]) -> bool:
        kinds = [doc["kind"] for doc in state["statistics"]]
        return kinds.count("match") == 1 and len(state["requests"]) == 2 and any(not r["open"] for r in state["requests"])

    before = eventually(lambda: service.store(built), settled, "the match counted and the cancellation projected")
    assert {str(v["_id"]) for v in before["volunteers"]} == {str(walker.volunteer_id), str(shopper.volunteer_id)}
    assert sorted(doc["kind"] for doc in before["statistics"]) == ["match", "offer", "offer", "offer", "offer", "request", "request"]

    async def lose(db) -> None:
        for name in ("requests", "volunteers", "facts", "statistics"):
            await db[name].drop()

    service.store(lose)
    assert service.store(built) == {name: [] for name in BUILT}
    settings = service.settings
    for field, value in (("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers),
                         ("MONGODB_URL", settings.mongodb_url.get_secret_value()), ("TOPIC_PREFIX", settings.topic_prefix),
                         ("MONGODB_DATABASE", settings.mongodb_database), ("LOG_JSON", "false")):
        monkeypatch.setenv(f"HELPT_MATCHING_{field}", value)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URL", raising=False)
    monkeypatch.delenv("HELPT_TOPIC_PREFIX", raising=False)

    assert rebuild.main([]) == 0
    after = service.store(built)
    assert after == before
    assert rebuild.main([]) == 0, "a second run"
    assert service.store(built) == before

    async def naming_erased(db) -> int:
        return sum([await db[name].count_documents({"subject_ids": erased.subject_id}) for name in await db.list_collection_names()]
                   + [await db["facts"].count_documents({"aggregate_id": erased.volunteer_id})])

    assert service.store(naming_erased) == 0, "the erased volunteer came back"
