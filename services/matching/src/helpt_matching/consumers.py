"""Matching's subscribers: requests and volunteers from intake, decisions from screening, into the projections;
those and matching's own accepted matches into the statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from faststream.kafka import KafkaRouter

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    HelpRequested,
    VolunteerDecisionReversed,
    VolunteerRejected,
    VolunteerSuspended,
    VolunteerWithdrawn,
)
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_router
from helpt_platform.logs import get_logger
from helpt_platform.service import RouterFactory, Runtime
from helpt_matching.offers import Matcher, cancellation
from helpt_matching.projections import Projections
from helpt_matching.stats import Statistics

__all__ = ["keep", "matching_router"]

log = get_logger(__name__)
_DEPARTURES = (VolunteerSuspended, VolunteerWithdrawn, VolunteerDecisionReversed, VolunteerRejected)


async def keep(projections: Projections, matcher: Matcher, statistics: Statistics, envelope: Envelope, event: Event) -> None:
    """Count and project one event, once; a new request is offered at once; a cancelled request's or a departed
    volunteer's match is called off and their open offers withdrawn (claims make each once, whatever is redelivered)."""
    # Counted first: a request is in the statistics before it can be matched (a match's time needs it).
    await statistics.record(envelope, event)
    state = await projections.apply(envelope.id, envelope.time, event)
    if state is None:
        return
    log.info("projection kept", event_type=envelope.type, aggregate_id=envelope.subject)
    if isinstance(event, HelpRequested):
        # The request as just folded; a first version has no offers yet (a redelivery finds its round claimed).
        await matcher.offer_round(event.tenant, event.request_id, dt.datetime.now(dt.UTC), request=state,
                                  earlier=[] if state.get("version") == 1 else None)
    elif isinstance(event, HelpRequestCancelled) and not state.get("open"):
        await matcher.end_request(event.tenant, event.request_id)
    elif isinstance(event, _DEPARTURES) and not state.get("eligible"):
        await matcher.end_volunteer(event.tenant, event.volunteer_id, cancellation(state), dt.datetime.now(dt.UTC))


def matching_router(parts: Callable[[Runtime], tuple[Projections, Matcher, object]],
                    statistics: Callable[[Runtime], Statistics]) -> RouterFactory:
    """Subscribers to intake.help-requests.v1, intake.volunteers.v1, screening.decisions.v1 and matching.matches.v1."""

    def build(runtime: Runtime) -> KafkaRouter:
        router = create_router(runtime.settings)
        projections, matcher, _relay = parts(runtime)
        counts = statistics(runtime)

        async def help_request_event(envelope: Envelope, event: Event) -> None:
            """Keep the open help requests; offer each new one to the nearest eligible volunteers."""
            await keep(projections, matcher, counts, envelope, event)

        async def volunteer_event(envelope: Envelope, event: Event) -> None:
            """Keep the volunteers' offers of help: tasks, area, reach, languages, load cap."""
            await keep(projections, matcher, counts, envelope, event)

        async def decision_event(envelope: Envelope, event: Event) -> None:
            """Keep screening's decisions: only approved volunteers, not suspended or withdrawn, are offered tasks."""
            await keep(projections, matcher, counts, envelope, event)

        async def match_event(envelope: Envelope, event: Event) -> None:
            """Count each request's first accepted match and how long it waited (matching's own events, as published)."""
            await counts.record(envelope, event)

        subscribe_events(router, runtime.settings, topics.HELP_REQUESTS, help_request_event)
        subscribe_events(router, runtime.settings, topics.VOLUNTEERS, volunteer_event)
        subscribe_events(router, runtime.settings, topics.SCREENING_DECISIONS, decision_event)
        subscribe_events(router, runtime.settings, topics.MATCHES, match_event)
        return router

    return build
