"""Composition root of the matching service."""

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
from helpt_platform.service import Runtime, create_service_app, every
from helpt_platform.keys import backfill_job, id_text_step
from helpt_matching.api import router
from helpt_matching.needs import NeedsMatcher
from helpt_matching.offers import REFS, mark_told, mark_winners
from helpt_matching.needs_api import router as needs_router
from helpt_matching.areas import load_areas
from helpt_matching.backoffice import Backoffice
from helpt_matching.backoffice_api import backoffice_api
from helpt_matching.backoffice_pages import backoffice_pages
from helpt_matching.consumers import matching_router
from helpt_matching.channels import channels_from
from helpt_matching.links import OfferLinks
from helpt_matching.messages import Messenger
from helpt_matching.outbox import Relay
from helpt_matching.projections import Projections
from helpt_matching.settings import MatchingSettings
from helpt_matching.stats import Statistics
from helpt_matching.stats_api import router as stats_router


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    """The matching service's HTTP app with its Kafka broker, store, subscribers, offer clock, outbox relay and messages."""
    settings = settings or MatchingSettings()
    built: dict[str, object] = {}
    areas = functools.cache(functools.partial(load_areas, directory=settings.tenant_dir))
    for tenant in settings.tenant_ids:  # a broken areas file stops the start, naming the file, not the first event
        areas(tenant)

    def parts(runtime: Runtime) -> tuple[Projections, NeedsMatcher, Relay]:
        # The store and broker exist once the lifespan has started; built on first use.
        if "parts" not in built:
            async def publish(event: Event, envelope: Envelope, topic: str) -> object:
                # A partner's matches go to its own topic too, with the same envelope: the same event.
                return await publish_event(runtime.broker, settings, event, envelope=envelope, topic=topic)

            projections = Projections(runtime.db)
            relay = Relay(projections.claims, publish)
            built["parts"] = projections, NeedsMatcher(runtime.db, projections, areas, relay.wake,
                                                       per_round=settings.offers_per_round,
                                                       offer_ttl=dt.timedelta(seconds=settings.offer_ttl_s),
                                                       spare_offers=settings.need_spare_offers), relay
        return built["parts"]  # type: ignore[return-value]

    links = functools.cache(
        lambda: OfferLinks(local_secret(settings.link_secret_file), dt.timedelta(hours=settings.link_ttl_hours)))

    def messenger(runtime: Runtime) -> Messenger:
        if "messenger" not in built:
            secret = local_secret(settings.jwt_secret_file)
            gdpr = GdprClient(settings.gdpr_url, lambda tenant: issue_token(secret, sub="matching", role=Role.SERVICE, tenant=tenant))
            # Offers are mailed while their link works: older ones are no longer looked at.
            built["messenger"] = Messenger(runtime.db, parts(runtime)[0], gdpr, links, channels_from(settings),
                                           public_url=settings.public_url, tenants=settings.tenant_ids,
                                           max_attempts=settings.message_max_attempts, retry_s=settings.message_retry_s,
                                           window=dt.timedelta(hours=settings.link_ttl_hours), areas=areas)
        return built["messenger"]  # type: ignore[return-value]

    async def messages_job(runtime: Runtime) -> None:
        await messenger(runtime).run_once(dt.datetime.now(dt.UTC))

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
        http_routers=[router, needs_router, backoffice_api, backoffice_pages, stats_router],
        background=[backfill_job(id_text_step("offers", *REFS), *map(id_text_step, ("requests", "volunteers", "needs")),
                                 mark_told, mark_winners), every(settings.expiry_interval_s, clock), relay_job, every(settings.messages_interval_s, messages_job)],
    )
    app.state.settings = settings
    app.state.matcher = lambda: parts(app.state.runtime)[1]
    app.state.messenger = lambda: messenger(app.state.runtime)
    app.state.statistics = lambda: statistics(app.state.runtime)
    app.state.areas = areas
    app.state.links = links
    app.state.token_verifier = functools.cache(settings.token_verifier)
    app.state.backoffice = functools.cache(lambda: Backoffice(app.state.runtime.db, *parts(app.state.runtime)[:2], areas,
                                                              lambda: app.state.messenger(), settings))
    return app
