"""Intake's outbox on the real stack: a submission Kafka took goes out once and leaves nothing pending; what a
killed writer left is published by the relay if its case was kept, and dropped if not."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from pymongo import MongoClient

from helpt_contracts.events import HelpRequested
from helpt_contracts.examples import help_requested
from helpt_intake.outbox import pending_entry
from helpt_platform.keys import with_id_text
from helpt_platform.outbox import outbox_entry
from helpt_platform.testing import eventually, topic_events

pytestmark = pytest.mark.infra

REQUEST = {"task": "shopping", "postcode": "3010", "languages": ["nl"], "consent": True,
           "contact": {"name": "Canary Outbox", "phone": "0470 11 22 99"}}
RELAY_INTERVAL_S = 1


@pytest.fixture(scope="module")
def stack(intake_stack, ready_client):
    with intake_stack("o", outbox_grace_s=5, relay_interval_s=RELAY_INTERVAL_S) as (settings, _gdpr_url, _secret), \
            ready_client(settings) as client, MongoClient(settings.mongodb_url.get_secret_value(), uuidRepresentation="standard") as mongo:
        yield client, settings, mongo[settings.database_name]


def published(settings, request_id: uuid.UUID) -> list[HelpRequested]:
    return [e for _, e in topic_events(settings, HelpRequested.TOPIC) if e.request_id == request_id]


def left_by_a_killed_writer(db, *, kept: bool) -> HelpRequested:
    """What a submission leaves when intake is killed after writing its outbox entry (and its case, if `kept`)."""
    event = help_requested()
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    case = {"_id": event.request_id, "tenant": event.tenant, "subject_ids": [event.subject_id], "kind": "request",
            "reference": event.reference, "status": "received", "created_at": earlier}
    db["outbox"].insert_one(pending_entry(case, outbox_entry(event, source="intake", time=earlier)))
    if kept:
        db["cases"].insert_one(with_id_text(case))  # as the submitter writes it
    return event


def test_a_submission_kafka_took_is_published_once_and_leaves_nothing_pending(stack):
    client, settings, db = stack
    answer = client.post("/api/v1/help-requests", json=REQUEST, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert answer.status_code == 202
    case_id = uuid.UUID(answer.json()["id"])
    assert db["outbox"].count_documents({"_id": f"pending:{case_id}"}) == 0
    assert db["cases"].count_documents({"_id": case_id}) == 1
    time.sleep(3 * RELAY_INTERVAL_S)  # the relay has looked several times since
    assert len(published(settings, case_id)) == 1


def test_a_case_whose_writer_died_before_publishing_is_published_by_the_relay_once(stack):
    _client, settings, db = stack
    event = left_by_a_killed_writer(db, kept=True)
    eventually(lambda: published(settings, event.request_id), lambda found: len(found) == 1, "the relay's publish", seconds=60)
    eventually(lambda: db["outbox"].count_documents({"case_id": event.request_id}), lambda n: n == 0, "the entry removed", seconds=30)
    time.sleep(3 * RELAY_INTERVAL_S)
    assert len(published(settings, event.request_id)) == 1  # only once, however many rounds the relay made


def test_an_entry_whose_case_was_never_kept_is_dropped_unpublished(stack):
    _client, settings, db = stack
    event = left_by_a_killed_writer(db, kept=False)
    eventually(lambda: db["outbox"].count_documents({"case_id": event.request_id}), lambda n: n == 0, "the entry dropped", seconds=60)
    assert published(settings, event.request_id) == []  # no one was told "received": nothing is announced


def test_an_undo_whose_writer_died_half_way_is_finished_by_the_relay_and_never_published(stack):
    _client, settings, db = stack
    event = left_by_a_killed_writer(db, kept=True)
    # The submitter had settled on "undo" (Kafka refused: the person heard 503) and died before deleting the case.
    db["outbox_settled"].insert_one({"_id": f"settle:{event.request_id}", "by": "undo", "tenant": event.tenant,
                                     "subject_ids": [event.subject_id]})
    eventually(lambda: db["outbox"].count_documents({"case_id": event.request_id}), lambda n: n == 0, "the entry removed", seconds=60)
    assert db["cases"].count_documents({"_id": event.request_id}) == 0, "the undo is finished: no case without its event"
    assert published(settings, event.request_id) == []
