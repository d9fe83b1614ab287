"""A decision taken while Kafka is down is kept, shown as pending, and published once Kafka is back.

This test stops and restarts a Kafka of its own (deploy/local's LocalStack in a temporary state
directory), never the session's shared broker; the store is the session's.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from helpt_contracts.events import VolunteerApproved
from helpt_contracts.examples import volunteer_registered
from helpt_contracts.roles import Role
from helpt_localstack.stack import LocalStack
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.testing import eventually, serve_in_thread
from helpt_screening.app import create_app
from helpt_screening.settings import ScreeningSettings

pytestmark = pytest.mark.infra


@pytest.fixture
def own_kafka(infra, tmp_path):
    stack = LocalStack(tmp_path / "stack", kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_a_decision_taken_while_kafka_is_stopped_is_published_once_after_it_restarts(infra, own_kafka, tmp_path, kafka_tools):
    run = uuid.uuid4().hex[:8]
    settings = ScreeningSettings(kafka_bootstrap_servers=own_kafka.bootstrap_servers, mongodb_url=infra.mongodb_url,
                                 topic_prefix=f"o-{run}.", mongodb_database=f"helpt_screening_{run}",
                                 jwt_secret_file=tmp_path / "jwt.secret", link_secret_file=tmp_path / "links.secret",
                                 gdpr_url="http://127.0.0.1:1", relay_interval_s=0.5, log_json=False)
    screener = {"Authorization": f"Bearer {issue_token(local_secret(tmp_path / 'jwt.secret'), sub='s1', role=Role.SCREENER, tenant='leuven')}"}
    event = volunteer_registered()
    case_url = f"/api/v1/screening/cases/{event.volunteer_id}"
    with serve_in_thread(create_app(settings)) as url, httpx.Client(base_url=url, timeout=120) as client:
        kafka_tools.ready(url)
        kafka_tools.publish(settings, event)
        eventually(lambda: client.get(case_url, headers=screener), lambda r: r.status_code == 200, "the case")

        own_kafka.stop()  # Kafka (and this stack's unused FerretDB) go down; the store stays up
        answer = client.post(f"{case_url}/decision", headers=screener, json={"decision": "approve", "reason": "interview-ok"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "approved" and answer.json()["pending_publication"] is True
        assert client.get(case_url, headers=screener).json()["pending_publication"] is True

        own_kafka.start()  # same ports, same data directory
        case = eventually(lambda: client.get(case_url, headers=screener).json(), lambda c: not c["pending_publication"],
                          "the decision to be published after Kafka restarted", seconds=180)
        assert case["publications"][0]["type"] == VolunteerApproved.event_type()
    approvals = [e for _, e in kafka_tools.events_on(settings, VolunteerApproved.TOPIC) if e.volunteer_id == event.volunteer_id]
    assert len(approvals) == 1
