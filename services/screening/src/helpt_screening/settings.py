"""The screening service's settings: environment variables prefixed HELPT_SCREENING_."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    """Settings of the screening service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_SCREENING_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.SCREENING
    default_port: ClassVar[int] = 8001
