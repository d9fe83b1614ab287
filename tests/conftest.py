"""The four services on the real stack (Kafka, FerretDB), served over HTTP, for the cross-service door tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import datetime as dt
import httpx
import pytest
from fastapi import FastAPI

from helpt_contracts.events import Event
from helpt_contracts.roles import Role
from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_intake.app import create_app as create_intake
from helpt_intake.settings import IntakeSettings
from helpt_matching.app import create_app as create_matching
from helpt_matching.settings import MatchingSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.kafka import create_broker, publish_event
from helpt_platform.settings import ServiceSettings
from helpt_platform.testing import eventually, serve_in_thread
from helpt_screening.app import create_app as create_screening
from helpt_screening.settings import ScreeningSettings

TENANT = "leuven"


@dataclass
class Served:
    """One service as served for a test module."""

    name: str
    app: FastAPI
    settings: ServiceSettings
    url: str


@dataclass
class Doors:
    """gdpr, intake, screening and matching on one topic prefix, each with its own database."""

    services: dict[str, Served]
    secret: bytes
    mongodb_url: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Served:
        return self.services[name]

    def client(self, name: str) -> httpx.Client:
        if name not in self.clients:
            self.clients[name] = httpx.Client(base_url=self[name].url, timeout=60)
        return self.clients[name]

    def token(self, role: Role, *, sub: str | None = None, tenant: str = TENANT, organisation: str | None = None,
              ttl: dt.timedelta = dt.timedelta(hours=1), secret: bytes | None = None) -> str:
        if role is Role.PARTNER and organisation is None:
            organisation = "woonzorg-leuven"
        sub = sub or ("intake" if role is Role.SERVICE else f"{role.value}-1")
        return issue_token(secret or self.secret, sub=sub, role=role, tenant=tenant, organisation=organisation, ttl=ttl)

    def bearer(self, role: Role, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}

    def publish(self, *events: Event) -> None:
        settings = self["gdpr"].settings

        async def run() -> None:
            broker = create_broker(settings)
            await broker.start()
            try:
                for event in events:
                    await publish_event(broker, settings, event)
            finally:
                await broker.stop()

        asyncio.run(run())


@pytest.fixture(scope="module")
def doors_settings() -> dict[str, Any]:
    """Settings all four services share in a module's `doors`, beyond the infrastructure; a module overrides it
    (e.g. to serve two municipalities)."""
    return {}


@pytest.fixture(scope="module")
def doors(infra, tmp_path_factory, doors_settings) -> Iterator[Doors]:
    tmp = tmp_path_factory.mktemp("doors")
    run = uuid.uuid4().hex[:8]
    common = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                  topic_prefix=f"d-{run}.", jwt_secret_file=tmp / "jwt.secret", log_json=False, **doors_settings)
    with ExitStack() as stack:
        served: dict[str, Served] = {}

        def serve(name: str, app: FastAPI, settings: ServiceSettings) -> str:
            url = stack.enter_context(serve_in_thread(app))
            served[name] = Served(name, app, settings, url)
            return url

        gdpr_settings = GdprSettings(**common, mongodb_database=f"helpt_gdpr_{run}", key_dir=tmp / "keys")
        gdpr_url = serve("gdpr", create_gdpr(gdpr_settings), gdpr_settings)
        for name, create, settings in (
            ("intake", create_intake, IntakeSettings(**common, mongodb_database=f"helpt_intake_{run}", gdpr_url=gdpr_url,
                                                     smtp_port=0)),
            ("screening", create_screening, ScreeningSettings(**common, mongodb_database=f"helpt_screening_{run}",
                                                              gdpr_url=gdpr_url, link_secret_file=tmp / "s-links.secret")),
            ("matching", create_matching, MatchingSettings(**common, mongodb_database=f"helpt_matching_{run}",
                                                           gdpr_url=gdpr_url, link_secret_file=tmp / "m-links.secret",
                                                           smtp_port=0)),
        ):
            serve(name, create(settings), settings)
        for one in served.values():
            eventually(lambda: httpx.get(f"{one.url}/readyz"), lambda r: r.status_code == 200, f"{one.name} ready", 90)
        doors = Doors(served, local_secret(tmp / "jwt.secret"), infra.mongodb_url)
        try:
            yield doors
        finally:
            for client in doors.clients.values():
                client.close()
