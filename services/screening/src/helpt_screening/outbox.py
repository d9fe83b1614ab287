"""The relay: publishes the events decisions left in their case's outbox, in order, and marks them sent.

Each outbox entry keeps its envelope, so an event republished after a crash between the send and
the mark keeps its `ce_id` and consumers deduplicate it (at-least-once, never lost). Marking is
the relay's own: nothing else writes a log entry after it was inserted.
"""

from __future__ import annotations

from helpt_platform.outbox import Publish
from helpt_platform.outbox import Relay as _Relay
from helpt_screening.cases import CaseStore

__all__ = ["Relay"]


class Relay(_Relay):
    """The platform's relay over the case log: each log entry holds at most one event, oldest first."""

    def __init__(self, store: CaseStore, publish: Publish) -> None:
        super().__init__(store.log, publish, entries=lambda entry: [entry["event"]] if entry.get("event") else [],
                         order=[("at", 1)])
