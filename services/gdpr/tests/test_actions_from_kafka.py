"""gdpr learns from the events on Kafka which matches are active: a partner's access follows them."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from helpt_contracts.events import MatchAccepted, MatchCompleted
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_gdpr.app import create_app
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.kafka import create_broker, publish_event

pytestmark = pytest.mark.infra


def test_a_partner_sees_the_contact_while_its_match_is_active_and_loses_it_when_the_match_closes(gdpr_settings):
    settings = gdpr_settings()
    secret = local_secret(settings.jwt_secret_file)
    intake = {"Authorization": f"Bearer {issue_token(secret, sub='intake', role=Role.SERVICE, tenant='leuven')}"}
    partner = {"Authorization": f"Bearer {issue_token(secret, sub='p1', role=Role.PARTNER, tenant='leuven', organisation='wit-gele-kruis')}"}
    request_id, volunteer_id, match_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    match = dict(tenant="leuven", match_id=match_id, request_id=request_id, volunteer_id=volunteer_id, organisation="wit-gele-kruis")

    with TestClient(create_app(settings)) as gdpr:
        sealed = gdpr.post("/api/v1/seal", headers=intake, json={"tenant": "leuven", "fields": {"phone": "+32 16 11 22 33"}}).json()
        body = {"tenant": "leuven", "subject_id": sealed["subject_id"], "purpose": "match-contact",
                "action": {"kind": "match", "id": str(match_id)}, "sealed": sealed["sealed"]}

        def reveal_status() -> int:
            return gdpr.post("/api/v1/reveal", json=body, headers=partner).status_code

        def wait_until(status: int) -> None:
            deadline = time.monotonic() + 60
            while reveal_status() != status:
                assert time.monotonic() < deadline, f"reveal never became {status}"
                time.sleep(0.3)

        async def publish(*events):
            broker = create_broker(settings)
            await broker.start()
            try:
                for event in events:
                    await publish_event(broker, settings, event)
            finally:
                await broker.stop()

        assert reveal_status() == 403, "no match yet"
        asyncio.run(publish(
            help_requested(request_id=request_id, subject_id=uuid.UUID(sealed["subject_id"])),
            volunteer_registered(volunteer_id=volunteer_id),
            MatchAccepted(**match),
        ))
        wait_until(200)
        asyncio.run(publish(MatchCompleted(**match)))
        wait_until(403)
