"""Screening's subscribers: intake's volunteers open, change and close cases; requests and matches feed the demand."""

from __future__ import annotations

from faststream.kafka import KafkaRouter

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_router
from helpt_platform.logs import get_logger
from helpt_platform.service import Runtime
from helpt_screening.cases import Applied, CaseStore
from helpt_screening.demand import Demand
from helpt_screening.domain import default_requirements

__all__ = ["keep_case", "screening_router"]

log = get_logger(__name__)


async def keep_case(store: CaseStore, envelope: Envelope, event: Event) -> Applied:
    """Open, update or close the case of one volunteer event, once."""
    outcome = await store.apply(envelope.id, envelope.time, event)
    if outcome is Applied.UNKNOWN_CASE:
        log.info("event for a case not held here; skipped", event_type=envelope.type, case_id=envelope.subject)
    elif outcome is Applied.REPEATED:
        log.info("redelivery dropped", event_type=envelope.type, case_id=envelope.subject)
    elif outcome is Applied.APPLIED:
        log.info("screening case kept", event_type=envelope.type, case_id=envelope.subject)
    return outcome


def screening_router(runtime: Runtime) -> KafkaRouter:
    """Subscribers to intake.volunteers.v1, intake.help-requests.v1 and matching.matches.v1."""
    router = create_router(runtime.settings)
    store = CaseStore(runtime.db, default_requirements())
    demand = Demand(runtime.db)

    async def volunteer_event(envelope: Envelope, event: Event) -> None:
        """Open a screening case for a new volunteer, keep it up to date, close it when they withdraw."""
        await keep_case(store, envelope, event)

    async def help_request_event(envelope: Envelope, event: Event) -> None:
        """Count open help requests per vacancy: the screening queue puts the most needed first."""
        await demand.apply(envelope.id, envelope.time, event)

    async def match_event(envelope: Envelope, event: Event) -> None:
        """A request matched (or its match cancelled) needs fewer (or more) volunteers."""
        await demand.apply(envelope.id, envelope.time, event)

    subscribe_events(router, runtime.settings, topics.VOLUNTEERS, volunteer_event)
    subscribe_events(router, runtime.settings, topics.HELP_REQUESTS, help_request_event)
    subscribe_events(router, runtime.settings, topics.MATCHES, match_event)
    return router
