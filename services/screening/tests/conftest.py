"""Screening on the real stack: gdpr, intake and screening served on real Kafka and FerretDB, one prefix per module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from helpt_contracts.events import Event
from helpt_contracts.roles import Role
from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_intake.app import create_app as create_intake
from helpt_intake.settings import IntakeSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.kafka import create_broker, publish_event
from helpt_platform.settings import ServiceSettings
from helpt_platform.testing import eventually, republish, serve_in_thread, topic_records
from helpt_screening.app import create_app
from helpt_screening.settings import ScreeningSettings


@dataclass
class Stack:
    screening: httpx.Client
    intake: httpx.Client
    settings: ScreeningSettings
    secret: bytes
    mongodb_url: str
    gdpr_url: str = ""

    def token(self, role: Role = Role.SCREENER, sub: str = "screener-1", tenant: str = "leuven") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, sub=sub, role=role, tenant=tenant)}"}

    def case(self, case_id: Any) -> httpx.Response:
        return self.screening.get(f"/api/v1/screening/cases/{case_id}", headers=self.token())

    def wait_for_case(self, case_id: Any, done=lambda c: True, what: str = "the case") -> dict:
        answer = eventually(lambda: self.case(case_id), lambda r: r.status_code == 200 and done(r.json()), what)
        return answer.json()

    def events_on(self, topic: str) -> list[tuple[Any, Event]]:
        return events_on(self.settings, topic)

    def publish(self, *events: Event) -> None:
        publish(self.settings, *events)

    def republish(self, record: Any) -> None:
        republish(self.settings, record)


def ready(base_url: str) -> None:
    eventually(lambda: httpx.get(f"{base_url}/readyz"), lambda r: r.status_code == 200, f"{base_url} ready", 60)


def events_on(settings: ServiceSettings, topic: str) -> list[tuple[Any, Event]]:
    """Every event on `topic` as (raw record, event)."""
    return topic_records(settings, topic)  # type: ignore[return-value]


def publish(settings: ServiceSettings, *events: Event) -> None:
    async def run():
        broker = create_broker(settings)
        await broker.start()
        try:
            for event in events:
                await publish_event(broker, settings, event)
        finally:
            await broker.stop()

    asyncio.run(run())





@pytest.fixture(scope="session")
def kafka_tools() -> SimpleNamespace:
    """The helpers above, for tests (with --import-mode=importlib a test cannot import conftest)."""
    return SimpleNamespace(events_on=events_on, publish=publish, ready=ready)


@pytest.fixture(scope="module")
def stack(infra, tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("screening")
    run = uuid.uuid4().hex[:8]
    common = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                  topic_prefix=f"s-{run}.", jwt_secret_file=tmp / "jwt.secret", log_json=False)
    gdpr_settings = GdprSettings(**common, mongodb_database=f"helpt_gdpr_{run}", key_dir=tmp / "keys")
    with serve_in_thread(create_gdpr(gdpr_settings)) as gdpr_url:
        intake_settings = IntakeSettings(**common, mongodb_database=f"helpt_intake_{run}", gdpr_url=gdpr_url, smtp_port=0)
        settings = ScreeningSettings(**common, mongodb_database=f"helpt_screening_{run}", gdpr_url=gdpr_url,
                                     link_secret_file=tmp / "links.secret", relay_interval_s=0.5)
        with serve_in_thread(create_intake(intake_settings)) as intake_url, serve_in_thread(create_app(settings)) as url:
            for base in (gdpr_url, intake_url, url):
                ready(base)
            with httpx.Client(base_url=url, timeout=60) as screening, httpx.Client(base_url=intake_url, timeout=60) as intake:
                yield Stack(screening, intake, settings, local_secret(tmp / "jwt.secret"), infra.mongodb_url, gdpr_url)
