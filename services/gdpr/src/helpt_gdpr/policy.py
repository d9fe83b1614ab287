"""Who may see which personal data, for what, and under which condition: one table.

A reveal is allowed when some rule matches the caller's role (and, for a service, its name),
the stated purpose, every requested category, and the rule's condition holds for the stated
action. Everything else is denied. Every decision, either way, is audited by the caller of
`decide`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from helpt_contracts.roles import ActionKind, Purpose, Role, ServiceName
from helpt_contracts.sealed import PersonalField as F
from helpt_platform.auth import Principal

__all__ = ["POLICY", "ActionFacts", "Condition", "Decision", "Rule", "decide"]

CONTACT = frozenset({F.NAME, F.PHONE, F.ADDRESS})
EVERYTHING = frozenset(F)


class Condition(StrEnum):
    """What must hold about the action for a rule to apply."""

    ALWAYS = "always"
    SELF = "self"
    """The subject is the caller."""
    OPEN_SCREENING_CASE = "open-screening-case"
    """The action is an open screening case of this subject."""
    OWN_ORGANISATION_ACTIVE_MATCH = "own-organisation-active-match"
    """The action is an active match of the caller's organisation, and the subject is a party to it."""
    OWN_ACTIVE_MATCH = "own-active-match"
    """The action is an active match the caller is the volunteer of, and the subject is a party to it."""
    OPEN_REQUEST = "open-request"
    """The action is an open help request of this subject."""
    REGISTERED_VOLUNTEER = "registered-volunteer"
    """The subject is a volunteer who has not withdrawn (offers go to volunteers only)."""
    OPEN_MAIL = "open-mail"
    """The action is a mail of this subject still awaiting triage."""


@dataclass(frozen=True)
class Rule:
    """One row of the policy table."""

    role: Role
    purpose: Purpose
    categories: frozenset[F]
    condition: Condition
    action: ActionKind
    service: ServiceName | None = None


# role × purpose × categories → condition. Read it as: "<role> may see <categories> for <purpose>
# while <condition> holds for the <action> it names".
POLICY: tuple[Rule, ...] = (
    Rule(Role.SCREENER, Purpose.SCREENING_CASE, EVERYTHING, Condition.OPEN_SCREENING_CASE, ActionKind.SCREENING_CASE),
    Rule(Role.PARTNER, Purpose.MATCH_CONTACT, CONTACT | {F.NOTE}, Condition.OWN_ORGANISATION_ACTIVE_MATCH, ActionKind.MATCH),
    Rule(Role.VOLUNTEER, Purpose.MATCH_CONTACT, CONTACT, Condition.OWN_ACTIVE_MATCH, ActionKind.MATCH),
    Rule(Role.VOLUNTEER, Purpose.SUBJECT_ACCESS, EVERYTHING, Condition.SELF, ActionKind.SUBJECT),
    Rule(Role.OPERATOR, Purpose.CASE_FOLLOW_UP, EVERYTHING - {F.BIRTH_DATE}, Condition.OPEN_REQUEST, ActionKind.REQUEST),
    Rule(Role.COORDINATOR, Purpose.CASE_FOLLOW_UP, frozenset({F.NAME, F.PHONE, F.EMAIL}), Condition.OPEN_REQUEST, ActionKind.REQUEST),
    Rule(Role.OPERATOR, Purpose.MAIL_TRIAGE, frozenset({F.NAME, F.EMAIL, F.PHONE, F.NOTE}), Condition.OPEN_MAIL, ActionKind.MAIL),
    Rule(Role.DPO, Purpose.SUBJECT_ACCESS, EVERYTHING, Condition.ALWAYS, ActionKind.SUBJECT),
    Rule(Role.SERVICE, Purpose.VOLUNTEER_OFFER, frozenset({F.NAME, F.EMAIL, F.PHONE}), Condition.REGISTERED_VOLUNTEER,
         ActionKind.SUBJECT, service=ServiceName.MATCHING),
    Rule(Role.SERVICE, Purpose.CASE_FOLLOW_UP, frozenset({F.NAME, F.PHONE, F.EMAIL}), Condition.OPEN_REQUEST,
         ActionKind.REQUEST, service=ServiceName.INTAKE),
    # Matching mails a waiting requester "we are still looking": the address, nothing else, while the request is open.
    Rule(Role.SERVICE, Purpose.CASE_FOLLOW_UP, frozenset({F.EMAIL}), Condition.OPEN_REQUEST, ActionKind.REQUEST,
         service=ServiceName.MATCHING),
)


@dataclass(frozen=True)
class ActionFacts:
    """What gdpr knows about the action a reveal names (from the events it consumed)."""

    kind: ActionKind
    id: UUID
    known: bool = False
    open: bool = False
    subject_ids: frozenset[UUID] = field(default_factory=frozenset)
    organisation: str | None = None
    volunteer_subject_id: UUID | None = None
    tenant: str | None = None


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and why (the reason goes to the audit log and the caller; it holds no data)."""

    allowed: bool
    reason: str


def _holds(rule: Rule, who: Principal, subject_id: UUID, facts: ActionFacts) -> tuple[bool, str]:
    if rule.condition is Condition.ALWAYS:
        return True, "allowed"
    if rule.condition is Condition.SELF:
        return who.sub == str(subject_id) and facts.id == subject_id, "only one's own data"
    if not facts.known or facts.tenant != who.tenant:
        return False, f"unknown {facts.kind.value}"
    if subject_id not in facts.subject_ids:
        return False, f"the subject is not part of this {facts.kind.value}"
    if not facts.open:
        return False, f"the {facts.kind.value} is closed"
    if rule.condition is Condition.OWN_ORGANISATION_ACTIVE_MATCH:
        return bool(who.organisation) and facts.organisation == who.organisation, "not a match of the caller's organisation"
    if rule.condition is Condition.OWN_ACTIVE_MATCH:
        return facts.volunteer_subject_id is not None and str(facts.volunteer_subject_id) == who.sub, "not the caller's match"
    return True, "allowed"  # OPEN_SCREENING_CASE, OPEN_REQUEST, REGISTERED_VOLUNTEER, OPEN_MAIL: open and the subject's


def decide(who: Principal, purpose: Purpose, categories: frozenset[F], subject_id: UUID, facts: ActionFacts) -> Decision:
    """Apply the table to one reveal."""
    candidates = [
        r for r in POLICY
        if r.role is who.role and r.purpose is purpose and (r.service is None or r.service is who.service)
    ]
    if not candidates:
        return Decision(False, f"role {who.role.value} may not reveal for {purpose.value}")
    reason = "no rule allows it"
    for rule in candidates:
        if not categories <= rule.categories:
            reason = f"role {who.role.value} may not see {', '.join(sorted(c.value for c in categories - rule.categories))}"
            continue
        if rule.action is not facts.kind:
            reason = f"{purpose.value} needs a {rule.action.value} as its action"
            continue
        holds, why = _holds(rule, who, subject_id, facts)
        if holds:
            return Decision(True, "allowed")
        reason = why
    return Decision(False, reason)
