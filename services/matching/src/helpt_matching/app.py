"""Composition root of the matching service."""

from __future__ import annotations

from fastapi import FastAPI

from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import create_service_app
from helpt_matching.settings import MatchingSettings


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    """The matching service's HTTP app with its Kafka broker, store and subscribers."""
    return create_service_app(
        settings or MatchingSettings(),
        title="Helpt matching",
        description="Matches help requests with approved volunteers by area, task, language and competence.",
        kafka_consumers=[gdpr_command_router],
    )
