"""The event envelope: CloudEvents attributes as Kafka headers, plus tenant and correlation id.

An event travels as its JSON body (the contracts model) with these headers (CloudEvents' Kafka
binary mode, with the `ce_` prefix Kafka uses). Consumers route on `ce_type` without parsing the
body and deduplicate on `ce_id`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpt_contracts.events.base import Event, event_class
from helpt_contracts.types import AwareDatetime, TenantId

__all__ = ["HEADER_NAMES", "Envelope", "EnvelopeError", "decode_event", "encode_event"]

SPECVERSION = "1.0"
HEADER_NAMES = ("ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "ce_specversion", "tenant", "correlation_id")


class EnvelopeError(ValueError):
    """A message whose headers or body do not make a valid Helpt event."""


class Envelope(BaseModel):
    """The metadata of one event on the wire."""

    model_config = ConfigDict(frozen=True)

    id: UUID = Field(default_factory=uuid4, description="Unique id of this event (ce_id); consumers deduplicate on it.")
    type: str = Field(description="Event type (ce_type), e.g. 'be.helpt.HelpRequested.v1'.")
    source: str = Field(pattern=r"^/helpt/[a-z0-9-]+$", description="Producer (ce_source), e.g. '/helpt/intake'.")
    time: AwareDatetime = Field(description="When it happened (ce_time), RFC 3339, UTC.")
    subject: str = Field(description="The aggregate id it is about (ce_subject), the same as the Kafka key.")
    specversion: Literal["1.0"] = Field(default=SPECVERSION, description="CloudEvents spec version.")
    tenant: TenantId
    correlation_id: str = Field(min_length=1, max_length=128, description="Ties together all events of one user action.")

    @classmethod
    def for_event(
        cls,
        event: Event,
        *,
        source: str,
        correlation_id: str | None = None,
        time: dt.datetime | None = None,
    ) -> Envelope:
        """The envelope for a new event from `source` (a service name or '/helpt/<name>')."""
        return cls(
            type=event.event_type(),
            source=source if source.startswith("/") else f"/helpt/{source}",
            time=time or dt.datetime.now(dt.UTC),
            subject=event.key().decode(),
            tenant=event.tenant,
            correlation_id=correlation_id or str(uuid4()),
        )

    def to_headers(self) -> dict[str, str]:
        """The envelope as Kafka headers (names from `HEADER_NAMES`, values as text)."""
        return {
            "ce_id": str(self.id),
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "ce_specversion": self.specversion,
            "tenant": self.tenant,
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_headers(cls, headers: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]]) -> Envelope:
        """Read an envelope from Kafka headers; `EnvelopeError` names what is missing or wrong."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        text = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v for k, v in pairs}
        missing = [name for name in HEADER_NAMES if name not in text]
        if missing:
            raise EnvelopeError(f"missing headers: {', '.join(missing)}")
        try:
            return cls(**{name.removeprefix("ce_"): text[name] for name in HEADER_NAMES})
        except ValidationError as exc:
            raise EnvelopeError(f"invalid headers: {_summary(exc)}") from None


def encode_event(event: Event, envelope: Envelope) -> tuple[bytes, bytes, dict[str, str]]:
    """(key, JSON body, headers) for publishing `event`."""
    if envelope.type != event.event_type() or envelope.tenant != event.tenant:
        raise EnvelopeError("the envelope does not belong to this event")
    return event.key(), event.model_dump_json().encode(), envelope.to_headers()


def decode_event(headers: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]], body: bytes) -> tuple[Envelope, Event]:
    """Validate a consumed message into (envelope, event); `EnvelopeError` if it is not one.

    The error message never repeats the body: it may hold sealed fields, and a malformed producer
    might have put plaintext where it should not.
    """
    envelope = Envelope.from_headers(headers)
    try:
        model = event_class(envelope.type)
    except LookupError:
        raise EnvelopeError(f"unknown event type {envelope.type!r}") from None
    try:
        event = model.model_validate_json(body)
    except ValidationError as exc:
        raise EnvelopeError(f"body is not a valid {model.__name__}: {_summary(exc)}") from None
    if event.tenant != envelope.tenant:
        raise EnvelopeError("tenant header and body disagree")
    return envelope, event


def _summary(exc: ValidationError) -> str:
    # Locations and error kinds only: pydantic's default message echoes the offending input.
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['type']}" for e in exc.errors()[:5])
