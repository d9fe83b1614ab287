"""Composition root of the screening service."""

from __future__ import annotations

import datetime as dt
import functools

from fastapi import FastAPI

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event
from helpt_contracts.roles import Role
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.gdpr_client import GdprClient
from helpt_platform.kafka import publish_event
from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import Runtime, create_service_app
from helpt_platform.keys import id_text_job
from helpt_screening.api import router
from helpt_screening.cases import CaseStore
from helpt_screening.consumers import screening_router
from helpt_screening.demand import Demand
from helpt_screening.desk import ScreeningDesk
from helpt_screening.domain import default_requirements
from helpt_screening.guidelines import guidelines_pages
from helpt_screening.links import LinkSigner
from helpt_screening.outbox import Relay
from helpt_screening.pages import screener_pages
from helpt_screening.settings import ScreeningSettings


def create_app(settings: ScreeningSettings | None = None) -> FastAPI:
    """The screening service's HTTP app with its Kafka broker, store, subscribers and outbox relay."""
    settings = settings or ScreeningSettings()
    built: dict[str, object] = {}

    def parts(runtime: Runtime) -> tuple[ScreeningDesk, Relay]:
        # The store and broker exist once the lifespan has started; built on first use.
        if not built:
            store = CaseStore(runtime.db, default_requirements())

            async def publish(event: Event, envelope: Envelope, topic: str) -> object:
                return await publish_event(runtime.broker, settings, event, envelope=envelope, topic=topic)

            relay = Relay(store, publish)
            secret = local_secret(settings.jwt_secret_file)
            gdpr = GdprClient(settings.gdpr_url, lambda tenant: issue_token(secret, sub="screening", role=Role.SERVICE, tenant=tenant))
            links = LinkSigner(local_secret(settings.link_secret_file), dt.timedelta(days=settings.link_ttl_days))
            built["desk"] = ScreeningDesk(settings, store, Demand(runtime.db), gdpr, links, relay.wake)
            built["relay"] = relay
        return built["desk"], built["relay"]  # type: ignore[return-value]

    async def relay_job(runtime: Runtime) -> None:
        await parts(runtime)[1].run(settings.relay_interval_s, runtime.kafka_started.wait)

    app = create_service_app(
        settings,
        title="Helpt screening",
        description="Vets volunteers before they are sent to anyone: cases, pre-checks, decisions.",
        kafka_consumers=[gdpr_command_router, screening_router],
        http_routers=[router, guidelines_pages, screener_pages],
        background=[id_text_job("cases"), relay_job],
    )
    app.state.settings = settings
    app.state.desk = lambda: parts(app.state.runtime)[0]
    app.state.token_verifier = functools.cache(settings.token_verifier)
    return app
