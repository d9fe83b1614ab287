"""Matching's pure logic: folding events into a volunteer's or a request's state, eligibility and ranking."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from helpt_matching.areas import Areas

__all__ = ["Candidate", "available", "fold_request", "fold_volunteer", "rank", "reach", "visit_tasks"]

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@cache
def visit_tasks() -> frozenset[str]:
    """Vacancies that are visits: offered only to volunteers who confirmed the guidelines."""
    raw = json.loads((resources.files("helpt_matching") / "data" / "visits.json").read_text(encoding="utf-8"))
    return frozenset(raw["visits"])


def _merge(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state.update({k: v for k, v in data.items() if v is not None})


def fold_volunteer(facts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A volunteer's state from their facts, oldest first: eligible only when registered, approved, not withdrawn."""
    state: dict[str, Any] = {"registered": False, "decision": None, "guidelines_confirmed": False, "withdrawn": False}
    for fact in facts:
        kind, data = fact["kind"], fact.get("data", {})
        if kind in ("registered", "updated"):
            _merge(state, data)
            state["registered"] = state["registered"] or kind == "registered"
        elif kind == "withdrawn":
            state["withdrawn"] = True
        elif kind == "decision":
            state["decision"] = data["decision"]
            state["guidelines_confirmed"] = state["guidelines_confirmed"] or bool(data.get("guidelines_confirmed"))
        elif kind == "guidelines":
            state["guidelines_confirmed"] = True
    state["eligible"] = state["registered"] and state["decision"] == "approved" and not state["withdrawn"]
    return state


def fold_request(facts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A help request's state from its facts, oldest first: open until cancelled."""
    state: dict[str, Any] = {"requested": False, "cancelled": False}
    for fact in facts:
        kind, data = fact["kind"], fact.get("data", {})
        if kind in ("requested", "updated"):
            _merge(state, data)
            state["requested"] = state["requested"] or kind == "requested"
        elif kind == "cancelled":
            state["cancelled"] = True
    state["open"] = state["requested"] and not state["cancelled"]
    return state


@dataclass(frozen=True)
class Candidate:
    volunteer_id: Any
    subject_id: Any
    distance_km: float
    last_offered: dt.datetime
    times_offered: int
    helped_before: bool = False
    """This volunteer helped the same person before (an accepted or completed match): continuity."""
    in_network: bool = False
    """The volunteer belongs to the requesting partner organisation's trusted network."""


def _moment(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def available(window: Mapping[str, Any] | None, slots: list[Mapping[str, Any]] | None, tz: dt.tzinfo) -> bool:
    """Whether a volunteer's weekly slots (local time in `tz`) overlap the request's window.

    No window means "as soon as possible" and no slots mean "any time": both are always available.
    A window of a week or more meets every slot. Overlap is strict: a slot that ends when the window
    starts does not count.
    """
    if not window or not slots:
        return True
    start, end = (_moment(window[k]) for k in ("start", "end"))
    if end - start >= dt.timedelta(days=7):
        return True
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        for slot in slots:
            if int(slot["weekday"]) != day.weekday():
                continue
            opens = dt.datetime.combine(day, dt.time.fromisoformat(str(slot["start"])), tz)
            closes = dt.datetime.combine(day, dt.time.fromisoformat(str(slot["end"])), tz)
            if opens < end and start < closes:
                return True
        day += dt.timedelta(days=1)
    return False


def reach(request: Mapping[str, Any], volunteer: Mapping[str, Any], areas: Areas) -> float | None:
    """The distance if `volunteer` may be offered `request` (all but load and fairness), else None:
    approved, offering the task, a shared language, guidelines confirmed for a visit, the competences
    asked, available in the window, and the request's area within the volunteer's reach."""
    if not volunteer.get("eligible") or request["task"] not in volunteer.get("tasks", []):
        return None
    if not set(request["languages"]) & set(volunteer.get("languages", [])):
        return None
    if request["task"] in visit_tasks() and not volunteer.get("guidelines_confirmed"):
        return None
    if not set(request.get("competences") or []) <= set(volunteer.get("competences") or []):
        return None
    if not available(request.get("window"), volunteer.get("availability"), areas.timezone):
        return None
    distance = areas.distance_km(volunteer["postcode"], request["postcode"])
    if distance is None or distance > volunteer.get("max_distance_km", 5.0):
        return None
    return distance


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Who is offered first.

    1. Continuity: a volunteer who helped this person before (a familiar face for a vulnerable person).
    2. The requesting organisation's trusted network (its own volunteers, a neighbourhood group).
    3. Nearest first, by area (100 m: the same postcode is the same distance).
    4. Fairness among equally near: offered least recently, then least often — so the closest volunteer
       is not always the one alerted, and nobody is forgotten.
    """
    return sorted(candidates, key=lambda c: (not c.helped_before, not c.in_network, round(c.distance_km, 1),
                                             c.last_offered, c.times_offered, str(c.volunteer_id)))
