"""Composition root of the matching service."""

from __future__ import annotations

import datetime as dt
import functools

from fastapi import FastAPI

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event
from helpt_platform.auth import local_secret
from helpt_platform.kafka import publish_event
from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import Runtime, create_service_app, every
from helpt_matching.api import router
from helpt_matching.areas import load_areas
from helpt_matching.consumers import matching_router
from helpt_matching.links import OfferLinks
from helpt_matching.offers import Matcher
from helpt_matching.outbox import Relay
from helpt_matching.projections import Projections
from helpt_matching.settings import MatchingSettings
from helpt_matching.stats import Statistics
from helpt_matching.stats_api import router as stats_router


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    """The matching service's HTTP app with its Kafka broker, store, subscribers, offer clock and outbox relay."""
    settings = settings or MatchingSettings()
    built: dict[str, object] = {}
    areas = functools.cache(load_areas)

    def parts(runtime: Runtime) -> tuple[Projections, Matcher, Relay]:
        # The store and broker exist once the lifespan has started; built on first use.
        if not built:
            async def publish(event: Event, envelope: Envelope, topic: str) -> object:
                # A partner's matches go to its own topic too, with the same envelope: the same event.
                return await publish_event(runtime.broker, settings, event, envelope=envelope, topic=topic)

            projections = Projections(runtime.db)
            relay = Relay(projections.claims, publish)
            built["parts"] = projections, Matcher(runtime.db, projections, areas, relay.wake,
                                                  per_round=settings.offers_per_round,
                                                  offer_ttl=dt.timedelta(seconds=settings.offer_ttl_s)), relay
        return built["parts"]  # type: ignore[return-value]

    def statistics(runtime: Runtime) -> Statistics:
        if "statistics" not in built:
            built["statistics"] = Statistics(runtime.db)
        return built["statistics"]  # type: ignore[return-value]

    async def clock(runtime: Runtime) -> None:
        await parts(runtime)[1].tick(settings.tenant_ids, dt.datetime.now(dt.UTC))

    async def relay_job(runtime: Runtime) -> None:
        await parts(runtime)[2].run(settings.relay_interval_s, runtime.kafka_started.wait)

    app = create_service_app(
        settings,
        title="Helpt matching",
        description="Matches help requests with approved volunteers by area, task, language and competence.",
        kafka_consumers=[gdpr_command_router, matching_router(parts, statistics)],
        http_routers=[router, stats_router],
        background=[every(settings.expiry_interval_s, clock), relay_job],
    )
    app.state.settings = settings
    app.state.matcher = lambda: parts(app.state.runtime)[1]
    app.state.statistics = lambda: statistics(app.state.runtime)
    app.state.links = functools.cache(
        lambda: OfferLinks(local_secret(settings.link_secret_file), dt.timedelta(hours=settings.link_ttl_hours)))
    app.state.token_verifier = functools.cache(settings.token_verifier)
    return app
