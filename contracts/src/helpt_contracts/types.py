"""Value types shared by every event: identifiers, places, languages, time windows."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "Channel",
    "CompetenceCode",
    "ContractModel",
    "LanguageCode",
    "OrganisationId",
    "Postcode",
    "TaskCode",
    "TenantId",
    "TimeWindow",
    "WeeklySlot",
]

# Lower-case, DNS-label-like: safe in topic names, database names and URLs.
_SLUG = StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CODE = StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")

TenantId = Annotated[
    str,
    _SLUG,
    Field(description="The municipality (tenant) this belongs to, e.g. 'leuven'. One deployment serves several."),
]
OrganisationId = Annotated[
    str,
    _SLUG,
    Field(description="A partner care organisation's id, also used in its topic name."),
]
TaskCode = Annotated[
    str,
    _CODE,
    Field(description="A vacancy (task) code from the tenant's catalogue, e.g. 'shopping' or 'phone-chat'."),
]
CompetenceCode = Annotated[
    str,
    _CODE,
    Field(description="A competence code, e.g. 'driving-licence' or 'first-aid'."),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}$"),
    Field(description="An ISO 639 language code, lower case: 'nl', 'en', 'fr'."),
]
Postcode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$", strip_whitespace=True),
    Field(description="Postcode of the place where help is needed or offered, e.g. '3010'. Coarse, not identifying."),
]


class Channel(StrEnum):
    """How a request or an offer reached the help desk."""

    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    PARTNER = "partner"


class ContractModel(BaseModel):
    """Base of every wire model: immutable, and tolerant of fields added by newer producers."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a time on the wire must carry its time zone")
    return value.astimezone(dt.UTC)


AwareDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


class TimeWindow(ContractModel):
    """When a requester needs help: a window in absolute time."""

    start: AwareDatetime = Field(description="Earliest moment help is useful (with time zone).")
    end: AwareDatetime = Field(description="Latest moment help is useful (with time zone).")

    @model_validator(mode="after")
    def _ends_after_start(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("a time window must end after it starts")
        return self


class WeeklySlot(ContractModel):
    """A recurring moment in the week a volunteer is available, in the tenant's local time."""

    weekday: int = Field(ge=0, le=6, description="Day of the week, Monday = 0 … Sunday = 6.")
    start: dt.time = Field(description="Start of the slot, local time.")
    end: dt.time = Field(description="End of the slot, local time; after start.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> WeeklySlot:
        if self.end <= self.start:
            raise ValueError("a weekly slot must end after it starts")
        return self
