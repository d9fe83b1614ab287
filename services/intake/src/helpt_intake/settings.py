"""The intake service's settings: environment variables prefixed HELPT_INTAKE_."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of the intake service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_INTAKE_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.INTAKE
    default_port: ClassVar[int] = 8000
