"""gdpr's open-actions projection on the real store: events of one action from several topics at once, redelivered."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.events import (
    MatchAccepted,
    MatchCompleted,
    ScreeningReason,
    VolunteerApproved,
    VolunteerDecisionReversed,
    VolunteerWithdrawn,
)
from helpt_contracts.examples import volunteer_registered
from helpt_contracts.roles import ActionKind
from helpt_gdpr.actions import Actions

pytestmark = pytest.mark.infra


@pytest.fixture
async def actions(infra, unique_name):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True)
    yield Actions(client[f"{unique_name}_gdpr".replace("-", "_")]["actions"])
    await client.close()


async def test_a_registration_and_its_approval_arriving_together_and_redelivered_keep_the_subject_and_close_the_case(actions):
    registered = volunteer_registered()
    approved = VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=uuid.uuid4(), reason="interview-ok")
    delivered = [(registered, uuid.uuid4()), (approved, uuid.uuid4())]
    # Two topics, several consumers, redeliveries: the same two events applied ten times each, all at once.
    await asyncio.gather(*(actions.apply(event, event_id) for event, event_id in delivered * 10))
    facts = await actions.facts("leuven", ActionKind.SCREENING_CASE, registered.volunteer_id)
    assert facts.known and not facts.open, "approval closes the screening case, whichever came first"
    assert facts.subject_ids == frozenset({registered.subject_id}), "the subject is not lost to a concurrent write"
    subject = await actions.facts("leuven", ActionKind.SUBJECT, registered.subject_id)
    assert subject.open, "a registered, not withdrawn volunteer may still be offered tasks"


async def test_a_reversal_reopens_a_decided_case_but_never_a_withdrawn_volunteers(actions):
    registered = volunteer_registered()
    vid, case = registered.volunteer_id, uuid.uuid4()
    reverse = VolunteerDecisionReversed(tenant="leuven", volunteer_id=vid, case_id=case, reason=ScreeningReason.DECISION_REVERSED,
                                        reversed_decision="approved")
    for event in (registered, VolunteerApproved(tenant="leuven", volunteer_id=vid, case_id=case, reason="interview-ok"), reverse):
        await actions.apply(event, uuid.uuid4())
    assert (await actions.facts("leuven", ActionKind.SCREENING_CASE, vid)).open
    await actions.apply(VolunteerWithdrawn(tenant="leuven", volunteer_id=vid, reason="volunteer-withdrew"), uuid.uuid4())
    await actions.apply(reverse, uuid.uuid4())  # a later reversal, another event
    assert not (await actions.facts("leuven", ActionKind.SCREENING_CASE, vid)).open
    assert not (await actions.facts("leuven", ActionKind.SUBJECT, registered.subject_id)).open


async def test_a_match_closes_once_done_and_an_erasure_forgets_the_subjects_facts(actions):
    registered = volunteer_registered()
    await actions.apply(registered, uuid.uuid4())
    match = dict(tenant="leuven", match_id=uuid.uuid4(), request_id=uuid.uuid4(), volunteer_id=registered.volunteer_id)
    await actions.apply(MatchAccepted(**match), uuid.uuid4())
    opened = await actions.facts("leuven", ActionKind.MATCH, match["match_id"])
    assert opened.open and opened.volunteer_subject_id == registered.subject_id
    done = uuid.uuid4()
    for _ in range(3):
        await actions.apply(MatchCompleted(**match), done)
    assert not (await actions.facts("leuven", ActionKind.MATCH, match["match_id"])).open
    assert await actions.forget_subject("leuven", registered.subject_id) == 1
    assert not (await actions.facts("leuven", ActionKind.SCREENING_CASE, registered.volunteer_id)).subject_ids
