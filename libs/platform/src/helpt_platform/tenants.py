"""Municipalities as data: one profile file per tenant — its name, help-desk phone, languages,
and the host names and help addresses that belong to it.

Helpt ships a profile for Leuven (`data/tenants/leuven.json`); a deployment adds a municipality,
or changes one, by putting `<tenant>.json` in the directory `HELPT_TENANT_DIR` names (a file
there wins over a shipped one with the same name). Every municipality in `HELPT_TENANTS` must
have a profile: a missing or malformed one stops the service at start-up, saying which file and
what is wrong, rather than showing one municipality's name and number to another's citizens.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

__all__ = ["TenantProfile", "TenantProfileError", "TenantProfiles", "load_tenant_profiles"]

TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
HostName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9.-]{1,253}$")]
Address = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+$")]


class TenantProfile(BaseModel):
    """One municipality as its citizens and staff meet it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TenantId = Field(description="The tenant id used in tokens, events and documents; the file is named after it.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="The municipality's name on its pages: 'Leuven'.")
    help_phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)] = Field(
        description="The help desk's phone number, on every page and given when something is down.")
    languages: Annotated[tuple[Language, ...], Field(min_length=1)] = Field(
        description="Languages of the public pages, the first one the default when a browser asks for none of them.")
    hosts: tuple[HostName, ...] = Field(default=(), description="Host names whose public pages are this municipality's.")
    help_addresses: tuple[Address, ...] = Field(default=(), description="E-mail addresses whose mail is this municipality's.")

    @field_validator("languages")
    @classmethod
    def _once_each(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(languages)) != len(languages):
            raise ValueError("a language is listed twice")
        return languages


class TenantProfileError(ValueError):
    """A profile is missing or wrong; the message says which file and what to do."""


class TenantProfiles(Mapping[str, TenantProfile]):
    """The profiles of the municipalities served, by tenant id."""

    def __init__(self, profiles: Iterable[TenantProfile]) -> None:
        self._profiles = {p.id: p for p in profiles}
        self._hosts: dict[str, str] = {}
        self._addresses: dict[str, str] = {}
        for profile in self._profiles.values():
            for table, names, what in ((self._hosts, profile.hosts, "host name"),
                                       (self._addresses, profile.help_addresses, "help address")):
                for name in names:
                    if table.setdefault(name, profile.id) != profile.id:
                        raise TenantProfileError(f"the {what} {name} is claimed by both {table[name]} and {profile.id}")

    def __getitem__(self, tenant: str) -> TenantProfile:
        return self._profiles[tenant]

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def for_host(self, host: str | None) -> str | None:
        """The municipality whose pages a Host header names (port and case ignored), if one claims it."""
        name = (host or "").strip().lower()
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name  # 'a.b:8000'; an IPv6 literal keeps its colons
        return self._hosts.get(name)

    def for_help_address(self, address: str) -> str | None:
        """The municipality whose help address this is, if any."""
        return self._addresses.get(address.strip().lower())


def _shipped() -> dict[str, str]:
    folder = resources.files("helpt_platform") / "data" / "tenants"
    return {entry.name[:-5]: entry.read_text("utf-8") for entry in folder.iterdir() if entry.name.endswith(".json")}


def _read(name: str, text: str, where: str) -> TenantProfile:
    try:
        profile = TenantProfile.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise TenantProfileError(f"tenant profile {where} is not JSON: {error}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in error.errors())
        raise TenantProfileError(f"tenant profile {where} is not valid: {problems}") from None
    if profile.id != name:
        raise TenantProfileError(f"tenant profile {where} says id {profile.id!r}; name the file {profile.id}.json or fix the id")
    return profile


@lru_cache(maxsize=32)
def load_tenant_profiles(served: tuple[str, ...], directory: Path | None = None) -> TenantProfiles:
    """The profiles of the municipalities `served`: shipped ones, replaced or added to by `directory`'s files.

    Every file in `directory` is checked, also those of municipalities not served (yet), so a
    mistake shows when the file is added, not on the day the municipality is switched on.
    """
    texts = {name: (text, f"{name}.json (shipped with Helpt)") for name, text in _shipped().items()}
    if directory is not None:
        if not directory.is_dir():
            raise TenantProfileError(f"HELPT_TENANT_DIR {directory} is not a directory")
        texts |= {path.stem: (path.read_text("utf-8"), str(path)) for path in sorted(directory.glob("*.json"))}
    profiles = {name: _read(name, text, where) for name, (text, where) in texts.items()}
    missing = [t for t in served if t not in profiles]
    if missing:
        place = f"in {directory}" if directory else "in a directory named by HELPT_TENANT_DIR"
        raise TenantProfileError(f"no tenant profile for {', '.join(missing)} (served: HELPT_TENANTS); "
                                 f"add {', '.join(m + '.json' for m in missing)} {place} — see README, 'Municipalities'")
    return TenantProfiles(profiles[t] for t in served)
