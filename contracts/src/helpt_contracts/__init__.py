"""Helpt's contracts: the only code services share about the wire.

Event models (`helpt_contracts.events`), topic names (`topics`), the envelope (`envelope`),
the sealed personal-data format (`sealed`), and roles, scopes and purposes (`roles`).
"""

from helpt_contracts import events, topics
from helpt_contracts.envelope import Envelope, EnvelopeError, decode_event, encode_event
from helpt_contracts.events import Event, event_class, event_classes
from helpt_contracts.roles import ROLE_SCOPES, Purpose, Role, Scope, ServiceName
from helpt_contracts.sealed import PersonalField, SealedField

__all__ = [
    "ROLE_SCOPES",
    "Envelope",
    "EnvelopeError",
    "Event",
    "PersonalField",
    "Purpose",
    "Role",
    "Scope",
    "SealedField",
    "ServiceName",
    "decode_event",
    "encode_event",
    "event_class",
    "event_classes",
    "events",
    "topics",
]
