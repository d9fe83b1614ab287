"""The gdpr service's settings: environment variables prefixed HELPT_GDPR_."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class GdprSettings(ServiceSettings):
    """Settings of the gdpr service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_GDPR_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.GDPR
    default_port: ClassVar[int] = 8003
