"""A stand-in for the Messenger until it is merged: it records what the back office asked to send, and sends nothing.

The real Messenger (another increment) has the same two methods and is set as `app.state.messenger`;
this one keeps each request in `message_requests` (tenant, kind, ids, actor, time, subject_ids — no
address, no text), so the back office and its tests work end to end meanwhile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from pymongo.asynchronous.database import AsyncDatabase

from helpt_matching.projections import Projections

__all__ = ["RecordedMessages"]


class RecordedMessages:
    """`Messenger` that queues into `message_requests`; False for an unknown volunteer or request."""

    def __init__(self, db: AsyncDatabase, projections: Projections) -> None:
        self.requests = db["message_requests"]
        self._projections = projections

    async def _record(self, tenant: str, kind: str, key: str, ident: UUID, found: dict[str, Any] | None, actor: str) -> bool:
        if found is None:
            return False
        await self.requests.insert_one({"_id": uuid4(), "tenant": tenant, "kind": kind, key: ident, "actor": actor,
                                        "at": dt.datetime.now(dt.UTC), "subject_ids": found.get("subject_ids", [])})
        return True

    async def still_needed(self, tenant: str, volunteer_id: UUID, actor: str) -> bool:
        found = await self._projections.volunteer(tenant, volunteer_id)
        return await self._record(tenant, "still-needed", "volunteer_id", volunteer_id, found, actor)

    async def remind_requester(self, tenant: str, request_id: UUID, actor: str) -> bool:
        found = await self._projections.request(tenant, request_id)
        return await self._record(tenant, "remind-requester", "request_id", request_id, found, actor)
