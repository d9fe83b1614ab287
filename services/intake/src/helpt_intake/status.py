"""A case's status, as the phone console shows it: pure rules, no I/O.

A help request is `received` until matching offers it to a volunteer (`offered`), `matched` once a
volunteer accepted, `done` when enough matches are completed (one, or `volunteers_needed` for a
collective need), and `cancelled` when the request is withdrawn. `done` and `cancelled` are final.

The case keeps the state of each of its matches, and its status is derived from them all, so the
rules stay simple whatever order offers to different volunteers end in:

- a declined or expired offer, or a cancelled match, no longer counts: the request is `offered`
  while another offer is open, `matched` while another match stands, else `received` (waiting);
- a match moves only forward (proposed → accepted → completed); declined, cancelled and
  completed are final for that match, so a late or replayed event cannot undo them.

An offer of help (a volunteer's case) keeps `received`: screening's decisions are not tracked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    MatchAccepted,
    MatchCancelled,
    MatchCompleted,
    MatchDeclined,
    MatchProposed,
)

__all__ = ["FINAL", "CaseStatus", "MatchState", "case_status", "match_state_after"]


class CaseStatus(StrEnum):
    """Where a case stands, as an operator tells a caller."""

    RECEIVED = "received"
    OFFERED = "offered"
    MATCHED = "matched"
    DONE = "done"
    CANCELLED = "cancelled"


FINAL = frozenset({CaseStatus.DONE, CaseStatus.CANCELLED})


class MatchState(StrEnum):
    """Where one match of a request stands."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


_STATE_OF: dict[type[Event], MatchState] = {
    MatchProposed: MatchState.PROPOSED,
    MatchAccepted: MatchState.ACCEPTED,
    MatchCompleted: MatchState.COMPLETED,
    MatchDeclined: MatchState.DECLINED,
    MatchCancelled: MatchState.CANCELLED,
}
_RANK = {MatchState.PROPOSED: 0, MatchState.ACCEPTED: 1}
_MATCH_FINAL = frozenset({MatchState.COMPLETED, MatchState.DECLINED, MatchState.CANCELLED})


def match_state_after(current: MatchState | None, event: Event) -> MatchState | None:
    """The match's state once `event` is applied; None when the event is not about a match."""
    new = _STATE_OF.get(type(event))
    if new is None or current is None:
        return new if new is not None else current
    if current in _MATCH_FINAL:
        return current
    if new in _MATCH_FINAL or _RANK[new] > _RANK[current]:
        return new
    return current


def case_status(current: CaseStatus, matches: Mapping[str, MatchState], volunteers_needed: int,
                event: Event | None = None) -> CaseStatus:
    """The request's status given its matches' states (and a cancellation, if `event` is one)."""
    if current in FINAL:
        return current
    if isinstance(event, HelpRequestCancelled):
        return CaseStatus.CANCELLED
    states = list(matches.values())
    if states.count(MatchState.COMPLETED) >= volunteers_needed:
        return CaseStatus.DONE
    if MatchState.ACCEPTED in states or MatchState.COMPLETED in states:
        return CaseStatus.MATCHED
    if MatchState.PROPOSED in states:
        return CaseStatus.OFFERED
    return CaseStatus.RECEIVED
