"""Intake's subscribers that keep case status for the phone console.

matching.matches.v1 moves a request's status; a HelpRequestCancelled on intake.help-requests.v1
(whichever channel withdrew it) cancels it. An event for a case this deployment does not hold (an
erased subject's, another deployment's) is logged and skipped, so it cannot block its partition.
"""

from __future__ import annotations

from faststream.kafka import KafkaRouter

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event
from helpt_intake.cases import Applied, CaseBook
from helpt_intake.settings import IntakeSettings
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_router
from helpt_platform.logs import get_logger
from helpt_platform.service import Runtime

__all__ = ["case_status_router", "keep_case_status"]

log = get_logger(__name__)


async def keep_case_status(book: CaseBook, envelope: Envelope, event: Event) -> Applied:
    """Apply one event to its case's status and say what became of it."""
    outcome = await book.apply(envelope.id, envelope.time, event)
    if outcome is Applied.UNKNOWN_CASE:
        log.info("event for a case not held here; skipped", event_type=envelope.type, case_id=envelope.subject)
    elif outcome is Applied.APPLIED:
        log.info("case status kept", event_type=envelope.type, case_id=envelope.subject)
    return outcome


def case_status_router(runtime: Runtime) -> KafkaRouter:
    """The subscribers to matches and help-request events, writing to the runtime's store."""
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings)
    router = create_router(settings)
    book = CaseBook(settings, runtime.db)

    async def match_event(envelope: Envelope, event: Event) -> None:
        """Move a help request's status as matching offers, matches, completes or cancels it."""
        await keep_case_status(book, envelope, event)

    async def help_request_event(envelope: Envelope, event: Event) -> None:
        """Mark a help request cancelled when it is withdrawn."""
        await keep_case_status(book, envelope, event)

    subscribe_events(router, settings, topics.MATCHES, match_event)
    subscribe_events(router, settings, topics.HELP_REQUESTS, help_request_event)
    return router
