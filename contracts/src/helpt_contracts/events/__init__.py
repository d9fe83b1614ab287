"""Every v1 event. Importing this package registers them all."""

from helpt_contracts.events.base import EVENT_TYPE_PREFIX, Event, UnknownEventType, event_class, event_classes
from helpt_contracts.events.gdpr import (
    CrisisPurgeRequested,
    PurgeCompleted,
    PurgeScope,
    SubjectAccessRequested,
    SubjectDataExported,
    SubjectErasureRequested,
    SubjectKind,
)
from helpt_contracts.events.intake import (
    HelpRequestCancelled,
    HelpRequested,
    HelpRequestUpdated,
    RequestCancellationReason,
    Urgency,
    VolunteerRegistered,
    VolunteerUpdated,
    VolunteerWithdrawn,
    WithdrawalReason,
)
from helpt_contracts.events.matching import (
    MatchAccepted,
    MatchCancellationReason,
    MatchCancelled,
    MatchCompleted,
    MatchDeclineReason,
    MatchDeclined,
    MatchProposed,
)
from helpt_contracts.events.screening import (
    ScreeningReason,
    VolunteerApproved,
    VolunteerRejected,
    VolunteerSuspended,
)

__all__ = [
    "EVENT_TYPE_PREFIX",
    "CrisisPurgeRequested",
    "Event",
    "HelpRequestCancelled",
    "HelpRequestUpdated",
    "HelpRequested",
    "MatchAccepted",
    "MatchCancellationReason",
    "MatchCancelled",
    "MatchCompleted",
    "MatchDeclineReason",
    "MatchDeclined",
    "MatchProposed",
    "PurgeCompleted",
    "PurgeScope",
    "RequestCancellationReason",
    "ScreeningReason",
    "SubjectAccessRequested",
    "SubjectDataExported",
    "SubjectErasureRequested",
    "SubjectKind",
    "UnknownEventType",
    "Urgency",
    "VolunteerApproved",
    "VolunteerRegistered",
    "VolunteerRejected",
    "VolunteerSuspended",
    "VolunteerUpdated",
    "VolunteerWithdrawn",
    "WithdrawalReason",
    "event_class",
    "event_classes",
]
