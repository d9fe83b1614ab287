"""The matching service's settings: environment variables prefixed HELPT_MATCHING_."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    """Settings of the matching service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_MATCHING_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.MATCHING
    default_port: ClassVar[int] = 8002
