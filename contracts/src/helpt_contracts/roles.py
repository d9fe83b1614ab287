"""Who may do what: roles carried in bearer tokens, the scopes they grant, and reveal purposes.

The gdpr service's reveal policy refines these with conditions (own organisation, open case,
active match); this module says only what each role may ask for at all.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

__all__ = ["ROLE_SCOPES", "ActionKind", "Purpose", "Role", "Scope", "ServiceName", "scopes_for"]


class Role(StrEnum):
    """A role in a bearer token (with the token's tenant and, for partners, organisation)."""

    CITIZEN = "citizen"
    OPERATOR = "operator"
    SCREENER = "screener"
    COORDINATOR = "coordinator"
    PARTNER = "partner"
    VOLUNTEER = "volunteer"
    DPO = "dpo"
    CRISIS_LEAD = "crisis-lead"
    SERVICE = "service"


class ServiceName(StrEnum):
    """The identity of one of Helpt's own services, as caller and as event source."""

    INTAKE = "intake"
    SCREENING = "screening"
    MATCHING = "matching"
    GDPR = "gdpr"


class Scope(StrEnum):
    """A permission, named resource:action."""

    INTAKE_SUBMIT = "intake:submit"
    INTAKE_LOOKUP = "intake:lookup"
    CATALOGUE_EDIT = "catalogue:edit"
    SCREENING_READ = "screening:read"
    SCREENING_DECIDE = "screening:decide"
    MATCHING_READ = "matching:read"
    MATCHING_OVERRIDE = "matching:override"
    MATCHING_STATISTICS = "matching:statistics"
    MATCHING_POST_NEEDS = "matching:post-needs"
    MATCHING_RESPOND = "matching:respond"
    GDPR_SEAL = "gdpr:seal"
    GDPR_REVEAL = "gdpr:reveal"
    GDPR_AUDIT = "gdpr:audit"
    GDPR_EXPORT = "gdpr:export"
    GDPR_ERASE = "gdpr:erase"
    GDPR_PURGE_APPROVE = "gdpr:purge-approve"


class Purpose(StrEnum):
    """Why a caller asks gdpr to reveal personal data; every reveal states one."""

    SCREENING_CASE = "screening-case"
    """A screener works an open screening case."""
    VOLUNTEER_OFFER = "volunteer-offer"
    """Matching sends an offer to a volunteer."""
    MATCH_CONTACT = "match-contact"
    """A partner or volunteer contacts the other side of an active match."""
    CASE_FOLLOW_UP = "case-follow-up"
    """An operator or coordinator calls back about an open request."""
    SUBJECT_ACCESS = "subject-access"
    """The data protection officer answers a subject access request (GDPR art. 15)."""
    MAIL_TRIAGE = "mail-triage"
    """An operator reads a mail to the help address to turn it into a request or an offer."""


class ActionKind(StrEnum):
    """The action a reveal belongs to; gdpr checks that it is open and that the caller is part of it."""

    SCREENING_CASE = "screening-case"
    """The screening of one volunteer; its id is the volunteer id."""
    MATCH = "match"
    """One match; its id is the match id."""
    REQUEST = "request"
    """One help request; its id is the request id."""
    SUBJECT = "subject"
    """The data subject themself (self-service, subject access); its id is the subject id."""
    MAIL = "mail"
    """One mail to the help address awaiting triage; its id is the mail id."""


ROLE_SCOPES: MappingProxyType[Role, frozenset[Scope]] = MappingProxyType(
    {
        Role.CITIZEN: frozenset({Scope.INTAKE_SUBMIT}),
        Role.OPERATOR: frozenset({Scope.INTAKE_SUBMIT, Scope.INTAKE_LOOKUP, Scope.GDPR_REVEAL}),
        Role.SCREENER: frozenset({Scope.SCREENING_READ, Scope.SCREENING_DECIDE, Scope.GDPR_REVEAL}),
        Role.COORDINATOR: frozenset(
            {
                Scope.CATALOGUE_EDIT,
                Scope.MATCHING_READ,
                Scope.MATCHING_OVERRIDE,
                Scope.MATCHING_STATISTICS,
                Scope.GDPR_REVEAL,
            }
        ),
        Role.PARTNER: frozenset({Scope.INTAKE_SUBMIT, Scope.MATCHING_POST_NEEDS, Scope.MATCHING_READ, Scope.GDPR_REVEAL}),
        Role.VOLUNTEER: frozenset({Scope.MATCHING_RESPOND, Scope.GDPR_REVEAL}),
        Role.DPO: frozenset({Scope.GDPR_AUDIT, Scope.GDPR_EXPORT, Scope.GDPR_ERASE, Scope.GDPR_REVEAL}),
        Role.CRISIS_LEAD: frozenset({Scope.GDPR_PURGE_APPROVE, Scope.MATCHING_STATISTICS}),
        Role.SERVICE: frozenset({Scope.GDPR_SEAL, Scope.GDPR_REVEAL}),
    }
)


def scopes_for(role: Role) -> frozenset[Scope]:
    """The scopes a token of this role grants."""
    return ROLE_SCOPES[role]
