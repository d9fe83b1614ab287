"""The matching service's settings: environment variables prefixed HELPT_MATCHING_."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    """Settings of the matching service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_MATCHING_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.MATCHING
    default_port: ClassVar[int] = 8002

    public_url: str = Field(default="http://127.0.0.1:8002", description="Base URL volunteers reach their offer links at.")
    offers_per_round: int = Field(default=3, ge=1, le=50, description="How many volunteers are offered a request at a time.")
    offer_ttl_s: float = Field(default=7200, gt=0, le=7 * 86400, description="How long an offer stays open before it rotates.")
    expiry_interval_s: float = Field(default=30, gt=0, le=3600,
                                     description="How often lapsed offers are expired and waiting requests offered again.")
    need_spare_offers: int = Field(default=0, ge=0, le=50,
                                   description="Offers a collective need gets beyond its open places (the first accepts fill them).")
    relay_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often pending match events are (re)published.")
    link_secret_file: Path = Field(default=Path(".state/local/matching-links.secret"),
                                   description="Secret that signs offer links (created on first use).")
    link_ttl_hours: float = Field(default=168, gt=0, le=2160,
                                  description="How long an offer link opens (the volunteer marks the task done through it).")
    idle_after_days: float = Field(default=7, ge=0, le=365,
                                   description="Back office: an eligible volunteer offered nothing for this long is listed as idle.")
    stale_after_hours: float = Field(default=4, ge=0, le=24 * 30,
                                     description="Back office: an open request without a match for this long is listed as stale "
                                                 "(keep it equal to intake's HELPT_INTAKE_CALL_BACK_AFTER_HOURS).")
    partner_quotas: dict[str, int] = Field(default_factory=dict,
                                           description='Back office: matches each partner organisation may hold at once, as JSON, '
                                                       'e.g. {"woonzorg-leuven": 40}; an organisation not named has no quota.')

    # -- messages to volunteers and requesters (helpt_matching.messages) --------------------------
    gdpr_url: str = Field(default="http://127.0.0.1:8003", description="Base URL of the gdpr service (reveals addresses).")
    messages_interval_s: float = Field(default=5.0, gt=0, le=3600,
                                       description="How often offers are checked for messages to queue and pending messages sent.")
    message_max_attempts: int = Field(default=6, ge=1, le=100, description="Sending attempts before a message is marked failed.")
    message_retry_s: float = Field(default=30.0, gt=0, le=86400,
                                   description="Wait before the second attempt; doubled after each failure (at most an hour).")
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server messages are sent through (`make run`: the mail catcher).")
    smtp_port: int = Field(default=1025, ge=0, le=65535, description="SMTP port; 0 turns e-mail off.")
    smtp_from: str = Field(default="Helpt <no-reply@helpt.local>", description="From address of every message.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS (required by most providers).")
    smtp_username: str | None = Field(default=None, description="SMTP user name, when the server wants one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password, with smtp_username.")
    smtp_timeout_s: float = Field(default=15.0, gt=0, le=300, description="How long one SMTP conversation may take.")
    sms_gateway_url: str | None = Field(default=None, description="HTTP SMS gateway (POST JSON {to, text}); unset: no SMS.")
    sms_gateway_token: SecretStr | None = Field(default=None, description="Bearer token for the SMS gateway.")
