"""Matching's outbox: the events a decision publishes are stored in the claim that decides, and a relay sends them.

Every claim in `claims` that decides something others must hear of (`round:`, `end:`, `winner:`,
`taken:`, `done:`, `cancel:`) is inserted with `outbox` — each event with its envelope and the
topics it goes to (`matching.matches.v1`, and the partner's topic when a partner is involved) —
and `unsent: True`. The decision and its events are one insert, so a crash or a Kafka outage
after deciding loses nothing. The relay publishes pending claims oldest first and marks them sent;
a republish after a crash between send and mark keeps each event's `ce_id`, so consumers
deduplicate it (at-least-once, never lost). Marking is the relay's own write: nothing else
updates a claim after it was inserted.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpt_contracts import topics
from helpt_contracts.events import Event
from helpt_contracts.roles import ServiceName
from helpt_platform.outbox import Publish
from helpt_platform.outbox import Relay as _Relay
from helpt_platform.outbox import outbox_entry

__all__ = ["Relay", "outbox"]


def outbox(*events: Event) -> dict[str, Any]:
    """The fields a deciding claim carries so its events are published: pass as `claim(..., **outbox(...))`."""
    entries = [outbox_entry(event, source=ServiceName.MATCHING.value,
                            topics=[event.TOPIC, *([topics.partner_topic(org)] if (org := getattr(event, "organisation", None)) else [])])
               for event in events]
    return {"outbox": entries, "unsent": True} if entries else {}


class Relay(_Relay):
    """The platform's relay over matching's claims, oldest decision first."""

    def __init__(self, claims: AsyncCollection, publish: Publish) -> None:
        super().__init__(claims, publish, entries=lambda claim: claim.get("outbox", []), order=[("claimed_at", 1), ("_id", 1)])

