"""Screening's domain: case states, what a screener may decide when, with which reasons, and the pre-check flags (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from helpt_contracts.events import ScreeningReason as R

__all__ = [
    "ALLOWED",
    "CLOSED",
    "OPEN",
    "Action",
    "Flag",
    "Requirement",
    "State",
    "check_reason",
    "default_requirements",
    "pre_checks",
    "queue_order",
]


class State(StrEnum):
    """Where a screening case stands."""

    OPEN = "open"
    INFORMATION_REQUESTED = "information-requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


OPEN = frozenset({State.OPEN, State.INFORMATION_REQUESTED})
"""A screener works the case; gdpr reveals its details (the screening action is open)."""
CLOSED = frozenset(State) - OPEN


class Action(StrEnum):
    """What a screener does to a case."""

    APPROVE = "approve"
    REJECT = "reject"
    ASK_FOR_INFORMATION = "ask-for-information"
    SUSPEND = "suspend"
    REVERSE = "reverse"


@dataclass(frozen=True)
class Allowed:
    """From which states an action may be taken, where it leads and which reason codes fit it."""

    source: frozenset[State]
    target: State | None  # None: back to open (a reversal)
    reasons: frozenset[R]


ALLOWED: Mapping[Action, Allowed] = {
    Action.APPROVE: Allowed(OPEN, State.APPROVED, frozenset({R.IDENTITY_VERIFIED, R.INTERVIEW_OK, R.REFERENCES_OK, R.OTHER})),
    Action.REJECT: Allowed(OPEN, State.REJECTED, frozenset({R.INCOMPLETE_INFORMATION, R.DUPLICATE_REGISTRATION,
                                                            R.DOES_NOT_MEET_PROFILE, R.SAFETY_CONCERN, R.OTHER})),
    Action.ASK_FOR_INFORMATION: Allowed(frozenset({State.OPEN}), State.INFORMATION_REQUESTED,
                                        frozenset({R.INCOMPLETE_INFORMATION, R.DOES_NOT_MEET_PROFILE, R.OTHER})),
    Action.SUSPEND: Allowed(frozenset({State.APPROVED}), State.SUSPENDED,
                            frozenset({R.COMPLAINT_RECEIVED, R.SAFETY_CONCERN, R.OTHER})),
    Action.REVERSE: Allowed(frozenset({State.APPROVED, State.REJECTED, State.SUSPENDED}), None,
                            frozenset({R.DECISION_REVERSED, R.OTHER})),
}


def check_reason(action: Action, reason: R) -> str | None:
    """Why `reason` does not fit `action` (a 422), or None when it does."""
    allowed = ALLOWED[action].reasons
    if reason in allowed:
        return None
    return f"reason {reason.value} does not fit {action.value}; choose one of {', '.join(sorted(r.value for r in allowed))}"


@dataclass(frozen=True)
class Requirement:
    """What a vacancy asks of a volunteer."""

    min_age: int | None
    competences: frozenset[str]


@cache
def default_requirements() -> Mapping[str, Requirement]:
    """Screening's copy of the default catalogue's requirements per vacancy (see docs/adr/0008)."""
    raw = json.loads(resources.files("helpt_screening").joinpath("data/requirements.json").read_text("utf-8"))
    return {code: Requirement(r.get("min_age"), frozenset(r.get("competences") or ()))
            for code, r in raw["requirements"].items()}


class FlagCode(StrEnum):
    """Pre-check findings: a reason to look closer, never a decision."""

    REPEAT_REGISTRATION = "repeat-registration"
    NO_CONTACT = "no-contact"
    IMPLAUSIBLE_CONTACT = "implausible-contact"
    UNDER_AGE = "under-age"
    MISSING_COMPETENCE = "missing-competence"
    UNKNOWN_VACANCY = "unknown-vacancy"


@dataclass(frozen=True)
class Flag:
    """One finding, with non-personal detail (a vacancy code, a competence, an earlier case id)."""

    code: FlagCode
    detail: str

    def as_doc(self) -> dict[str, str]:
        return {"code": self.code.value, "detail": self.detail}


# AES-GCM adds a 16-byte tag and nothing else: a sealed field's length says how long the text
# was, which is a non-personal fact already visible on the wire. Shorter than these cannot be real.
_TAG = 16
_SHORTEST = {"name": 2, "phone": 8, "email": 6}


def pre_checks(facts: Mapping[str, Any], sealed_lengths: Mapping[str, int], earlier_cases: Iterable[str],
               requirements: Mapping[str, Requirement]) -> list[Flag]:
    """The flags on a case: repeat registration, missing or implausible contact, vacancy requirements not met."""
    flags = [Flag(FlagCode.REPEAT_REGISTRATION, case) for case in sorted(earlier_cases)]
    if not ({"phone", "email"} & set(sealed_lengths)):
        flags.append(Flag(FlagCode.NO_CONTACT, "neither phone nor e-mail"))
    for field, shortest in _SHORTEST.items():
        size = sealed_lengths.get(field)
        if size is not None and size - _TAG < shortest:
            flags.append(Flag(FlagCode.IMPLAUSIBLE_CONTACT, f"{field} too short"))
    if "name" not in sealed_lengths:
        flags.append(Flag(FlagCode.IMPLAUSIBLE_CONTACT, "no name"))
    stated = set(facts.get("competences") or ())
    for task in facts.get("tasks") or ():
        need = requirements.get(task)
        if need is None:
            flags.append(Flag(FlagCode.UNKNOWN_VACANCY, task))
            continue
        if need.min_age is not None and need.min_age >= 18 and not facts.get("is_adult"):
            flags.append(Flag(FlagCode.UNDER_AGE, f"{task} requires {need.min_age}+"))
        elif need.min_age is not None and not facts.get("is_adult"):
            flags.append(Flag(FlagCode.UNDER_AGE, f"{task} requires {need.min_age}+; check the age"))
        for competence in sorted(need.competences - stated):
            flags.append(Flag(FlagCode.MISSING_COMPETENCE, f"{task} requires {competence}"))
    return flags


def queue_order(cases: Iterable[Mapping[str, Any]], demand: Mapping[str, int]) -> list[Mapping[str, Any]]:
    """Cases by need: the highest unmet demand among a case's vacancies first, then the longest waiting."""
    def need(case: Mapping[str, Any]) -> int:
        return max((demand.get(task, 0) for task in case.get("facts", {}).get("tasks") or ()), default=0)

    return sorted(cases, key=lambda c: (-need(c), c["registered_at"], str(c["_id"])))
