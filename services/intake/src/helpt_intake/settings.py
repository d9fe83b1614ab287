"""The intake service's settings: environment variables prefixed HELPT_INTAKE_."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings
from helpt_platform.tenants import TenantProfileError


class IntakeSettings(ServiceSettings):
    """Settings of the intake service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_INTAKE_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.INTAKE
    default_port: ClassVar[int] = 8000

    gdpr_url: str = Field(default="http://127.0.0.1:8003", description="Base URL of the gdpr service.")
    default_tenant: str = Field(default="leuven", description="Municipality of pages and submissions whose address (/t/<tenant>/, host name) names none.")
    privacy_notice_version: str = Field(default="2026-03", description="Version of the privacy notice shown on every form.")
    phone_region: str = Field(default="BE", description="Country whose phone numbers may be written without +code.")
    postcode_pattern: str = Field(default=r"^\d{4}$", description="What a postcode looks like here (regular expression).")
    form_rate_limit: int = Field(default=20, ge=1, description="Forms one client may send per window before being asked to wait.")
    form_rate_window_s: int = Field(default=600, ge=1, description="The rate limit's window, in seconds.")
    call_back_after_hours: float = Field(default=4, gt=0, le=24 * 30,
                                         description="A help request still without a match after this long goes on the operators' call-back list.")
    outbox_grace_s: float = Field(default=120, ge=5, le=3600,
                                  description="A case whose event is still unsent after this long (its writer died) is published by the relay; "
                                              "longer than a publish can take, so a submission still being refused is never published.")
    publish_timeout_s: float = Field(default=15, gt=0, le=60,
                                     description="How long a submission waits for Kafka to take its event before it is undone (503).")
    relay_interval_s: float = Field(default=5, gt=0, le=300, description="How often unsent cases are looked for.")
    smtp_host: str = Field(default="127.0.0.1", description="Address the SMTP server for the help addresses binds to.")
    smtp_port: int = Field(default=2525, ge=0, le=65535, description="SMTP port for mail to the help addresses; 0 turns it off.")
    help_addresses: dict[str, str] = Field(
        default={},
        description="More help addresses → the municipality (tenant) their mail belongs to, beside those in the tenant profiles; "
                    "mail to any other address is refused.",
    )
    max_mail_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest mail accepted, in bytes (larger: 552).")

    def help_address_tenant(self, address: str) -> str | None:
        """The municipality a help address serves, if it is one of ours and that municipality is served here."""
        wanted = address.strip().lower()
        tenant = (self.tenant_profiles().for_help_address(wanted)
                  or next((t for a, t in self.help_addresses.items() if a.strip().lower() == wanted), None))
        return tenant if tenant in self.tenant_ids else None

    def help_phone_of(self, tenant: str | None = None) -> str:
        """The help desk's number of a municipality (the default one's when it is not known)."""
        profiles = self.tenant_profiles()
        return (profiles.get(tenant or self.default_tenant) or profiles[self.default_tenant]).help_phone


# Moved into the tenant profiles (docs/adr/0015): refused, so an upgrade does not silently show another name or number.
RETIRED = {"HELPT_INTAKE_CITY_NAME": "name", "HELPT_INTAKE_HELP_PHONE": "help_phone"}


def refuse_retired_settings(environ: Mapping[str, str], settings: IntakeSettings) -> None:
    """Stop with a clear message when a setting that moved into the tenant profiles is still set."""
    found = [name for name in RETIRED if name in environ]
    if found:
        fields = ", ".join(f'"{RETIRED[n]}"' for n in found)
        raise TenantProfileError(f"{', '.join(found)} is no longer read: put {fields} in the municipality's tenant profile "
                                 f"({settings.default_tenant}.json in HELPT_TENANT_DIR) and unset it — see README, 'Municipalities'")
