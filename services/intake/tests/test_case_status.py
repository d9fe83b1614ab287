"""The status rules an operator relies on to tell a caller where their request stands (no I/O)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpt_contracts.events import (
    HelpRequestCancelled,
    MatchAccepted,
    MatchCancelled,
    MatchCompleted,
    MatchDeclined,
    MatchProposed,
    RequestCancellationReason,
)
from helpt_intake.status import CaseStatus, MatchState, case_status, match_state_after

REQUEST = uuid.uuid4()


def event(kind, match_id, **extra):
    base = dict(tenant="leuven", match_id=match_id, request_id=REQUEST, volunteer_id=uuid.uuid4())
    if kind is MatchProposed:
        extra = dict(task="shopping", distance_km=1.0, offer_round=1, expires_at=dt.datetime.now(dt.UTC), **extra)
    return kind(**base, **extra)


def replay(*events, needed=1):
    """The request's status after these events, applied in order."""
    status, matches = CaseStatus.RECEIVED, {}
    for e in events:
        if hasattr(e, "match_id"):
            matches[str(e.match_id)] = match_state_after(matches.get(str(e.match_id)), e)
        status = case_status(status, matches, needed, e)
    return status


A, B = uuid.uuid4(), uuid.uuid4()


def test_a_request_goes_from_received_through_offered_and_matched_to_done():
    assert replay() is CaseStatus.RECEIVED
    assert replay(event(MatchProposed, A)) is CaseStatus.OFFERED
    assert replay(event(MatchProposed, A), event(MatchAccepted, A)) is CaseStatus.MATCHED
    assert replay(event(MatchProposed, A), event(MatchAccepted, A), event(MatchCompleted, A)) is CaseStatus.DONE


def test_a_declined_offer_leaves_the_request_offered_while_another_offer_is_open_then_waiting():
    both = (event(MatchProposed, A), event(MatchProposed, B))
    assert replay(*both, event(MatchDeclined, A, reason="declined")) is CaseStatus.OFFERED
    assert replay(*both, event(MatchDeclined, A, reason="declined"), event(MatchDeclined, B, reason="expired")) is CaseStatus.RECEIVED


def test_the_others_hearing_it_is_taken_does_not_undo_the_match():
    assert replay(event(MatchProposed, A), event(MatchProposed, B), event(MatchAccepted, A),
                  event(MatchDeclined, B, reason="taken-by-another")) is CaseStatus.MATCHED


def test_a_cancelled_match_puts_the_request_back_to_waiting_but_never_undoes_done():
    accepted = (event(MatchProposed, A), event(MatchAccepted, A))
    assert replay(*accepted, event(MatchCancelled, A, reason="volunteer-withdrawn")) is CaseStatus.RECEIVED
    assert replay(*accepted, event(MatchCompleted, A), event(MatchCancelled, A, reason="coordinator-override")) is CaseStatus.DONE


def test_a_withdrawn_request_is_cancelled_and_stays_so_whatever_matching_says_later():
    cancelled = HelpRequestCancelled(tenant="leuven", request_id=REQUEST, reason=RequestCancellationReason.NO_LONGER_NEEDED)
    assert replay(event(MatchProposed, A), cancelled) is CaseStatus.CANCELLED
    assert replay(event(MatchProposed, A), cancelled, event(MatchAccepted, A), event(MatchCompleted, A)) is CaseStatus.CANCELLED


def test_a_collective_need_is_done_only_when_enough_volunteers_completed():
    two = (event(MatchProposed, A), event(MatchProposed, B), event(MatchAccepted, A), event(MatchAccepted, B))
    assert replay(*two, event(MatchCompleted, A), needed=2) is CaseStatus.MATCHED
    assert replay(*two, event(MatchCompleted, A), event(MatchCompleted, B), needed=2) is CaseStatus.DONE


@pytest.mark.parametrize("late", [MatchProposed, MatchAccepted])
def test_a_late_or_replayed_event_never_moves_a_match_backwards(late):
    assert match_state_after(MatchState.COMPLETED, event(late, A)) is MatchState.COMPLETED
    assert match_state_after(MatchState.DECLINED, event(late, A)) is MatchState.DECLINED
    assert match_state_after(MatchState.ACCEPTED, event(MatchProposed, A)) is MatchState.ACCEPTED
