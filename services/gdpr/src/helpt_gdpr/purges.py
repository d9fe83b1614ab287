"""Erasure of one subject and the end-of-crisis purge of a tenant, with receipts and a report.

Keys go first: once a subject's or tenant's key is destroyed, every sealed copy anywhere is
unreadable, whatever happens next. Then gdpr announces the command on `gdpr.commands.v1` and
collects a `PurgeCompleted` receipt from every service it knows; the report says which arrived,
when, with what counts, and which are missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import CrisisPurgeRequested, Event, PurgeCompleted, PurgeScope, SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import Role, Scope, ServiceName
from helpt_gdpr.audit import now_ms
from helpt_gdpr.keeper import Denied, Keeper
from helpt_platform.auth import Principal
from helpt_platform.logs import get_logger

__all__ = ["RECEIVERS", "Purges"]

log = get_logger(__name__)
_COMMANDS: dict[str, type[Event]] = {c.__name__: c for c in (SubjectErasureRequested, CrisisPurgeRequested)}

# Every service that holds data and must answer a purge with a receipt.
RECEIVERS = (ServiceName.INTAKE, ServiceName.SCREENING, ServiceName.MATCHING)
Publish = Callable[[Event], Awaitable[object]]


class Purges:
    """Erasures and purges: approvals, key destruction, announcements, receipts, reports."""

    def __init__(self, db: AsyncDatabase, keeper: Keeper, publish: Publish, tenants: tuple[str, ...],
                 approval_window: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self._purges = db["purges"]
        self._approvals = db["purge_approvals"]
        self._tombstones = db["purged_tenants"]
        self._access = db["subject_access"]  # exports hold sealed copies: erased along with the rest
        self._keeper = keeper
        self._publish = publish
        self._tenants = tenants
        self._window = approval_window

    async def erase_subject(self, who: Principal, subject_id: UUID, kind: SubjectKind) -> dict[str, Any]:
        """GDPR art. 17 for one subject: destroy the key, forget the actions, tell every service."""
        if not who.has(Scope.GDPR_ERASE):
            raise Denied(403, f"role {who.role.value} may not erase")
        keys = await self._keeper.custody.destroy_subject(who.tenant, subject_id)
        actions = await self._keeper.actions.forget_subject(who.tenant, subject_id)
        exports = (await self._access.delete_many({"tenant": who.tenant, "subject_ids": subject_id})).deleted_count
        purge_id = uuid4()
        await self._keeper.audit.append(who.tenant, "subject-erasure", "done", actor=who.sub, role=who.role.value,
                                        subject_id=subject_id, purge_id=purge_id, keys_destroyed=keys)
        return await self._announce(
            SubjectErasureRequested(tenant=who.tenant, purge_id=purge_id, subject_id=subject_id, subject_kind=kind),
            PurgeScope.SUBJECT, who, {"data_keys": keys, "actions": actions, "subject_access": exports},
        )

    async def approve_crisis_end(self, who: Principal, tenant: str) -> dict[str, Any]:
        """One crisis lead's approval; the second, by another person within the window, purges the tenant."""
        if who.role is not Role.CRISIS_LEAD or who.tenant != tenant:
            raise Denied(403, "only a crisis lead of this tenant may approve the end of the crisis")
        if await self._tombstones.find_one({"_id": tenant}):
            raise Denied(410, "this tenant's crisis was already ended and its data destroyed")
        if tenant not in self._tenants and await self._keeper.custody.count(tenant) == 0:
            raise Denied(404, "unknown tenant")
        now = now_ms()
        cutoff = now - self._window
        # Approvals older than the window no longer count: start afresh.
        await self._approvals.delete_one({"_id": tenant, "opened_at": {"$lt": cutoff}})
        already = await self._approvals.find_one({"_id": tenant, "approvals.by": who.sub})
        try:
            pending = None if already else await self._approvals.find_one_and_update(
                {"_id": tenant, "approvals.by": {"$ne": who.sub}},
                {"$push": {"approvals": {"by": who.sub, "at": now}}, "$inc": {"count": 1}, "$setOnInsert": {"opened_at": now}},
                upsert=True, return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # the same person approving twice at once: the upsert collides
            pending = None
        if pending is None:
            raise Denied(409, "this crisis lead already approved; the second approval must come from another crisis lead")
        await self._keeper.audit.append(tenant, "crisis-end-approval", "recorded", actor=who.sub, role=who.role.value,
                                        approvals=pending["count"])
        if pending["count"] < 2:
            return {"tenant": tenant, "status": "awaiting-second-approval", "approvals": pending["count"],
                    "expires_at": (pending["opened_at"] + self._window).isoformat()}
        # Exactly one caller turns the approvals into a purge, however many approve at once.
        claimed = await self._approvals.find_one_and_delete({"_id": tenant, "count": {"$gte": 2}})
        if claimed is None:
            raise Denied(409, "the purge is already under way")
        return await self._purge_tenant(who, tenant, approvals=claimed["count"])

    async def _purge_tenant(self, who: Principal, tenant: str, approvals: int) -> dict[str, Any]:
        purge_id = uuid4()
        await self._tombstones.insert_one({"_id": tenant, "purge_id": purge_id, "purged_at": now_ms()})
        keys, tenant_key_existed = await self._keeper.custody.destroy_tenant(tenant)
        actions = await self._keeper.actions.forget_tenant(tenant)
        exports = (await self._access.delete_many({"tenant": tenant})).deleted_count
        await self._keeper.audit.append(tenant, "crisis-purge", "done", actor=who.sub, role=who.role.value,
                                        purge_id=purge_id, keys_destroyed=keys, tenant_key_destroyed=tenant_key_existed)
        return await self._announce(CrisisPurgeRequested(tenant=tenant, purge_id=purge_id, approvals=approvals),
                                    PurgeScope.TENANT, who, {"data_keys": keys, "tenant_key": int(tenant_key_existed), "actions": actions,
                                     "subject_access": exports})

    async def _announce(self, command: Event, scope: PurgeScope, who: Principal, own_counts: dict[str, int]) -> dict[str, Any]:
        record = {
            "_id": command.purge_id, "tenant": command.tenant, "scope": scope.value, "requested_by": who.sub,
            "requested_at": now_ms(), "expected": [s.value for s in RECEIVERS], "receipts": {},
            "gdpr": own_counts, "announced": False,
        }
        if scope is PurgeScope.SUBJECT:
            record["subject_id"] = command.subject_id
        # The command itself is kept with the record: if Kafka is down now, `announce_pending`
        # sends it later. The keys are already gone either way.
        record["command"] = {"type": type(command).__name__, "body": command.model_dump(mode="json")}
        await self._purges.insert_one(record)
        try:
            await self._announce_now(command)
        except Exception as exc:  # noqa: BLE001 — not announced yet is a state, not an error
            log.warning("purge not announced yet; it will be retried", purge_id=str(command.purge_id), error=type(exc).__name__)
        return await self.report(command.tenant, command.purge_id)

    async def _announce_now(self, command: Event) -> None:
        await self._publish(command)
        await self._purges.update_one({"_id": command.purge_id}, {"$set": {"announced": True}})

    async def announce_pending(self) -> int:
        """Send every erasure or purge an outage left unannounced; how many were sent."""
        sent = 0
        async for record in self._purges.find({"announced": False}):
            command = _COMMANDS[record["command"]["type"]].model_validate(record["command"]["body"])
            await self._announce_now(command)
            sent += 1
        return sent

    async def record_receipt(self, receipt: PurgeCompleted) -> None:
        """Keep one service's receipt; a repeated receipt keeps the first arrival time."""
        await self._purges.update_one(
            {"_id": receipt.purge_id, f"receipts.{receipt.service.value}": {"$exists": False}},
            {"$set": {f"receipts.{receipt.service.value}": {"counts": receipt.counts, "at": now_ms()}}},
        )

    async def report(self, tenant: str, purge_id: UUID) -> dict[str, Any]:
        """What was destroyed, which receipts arrived and when, which are missing."""
        record = await self._purges.find_one({"_id": purge_id, "tenant": tenant})
        if record is None:
            raise Denied(404, "no such erasure or purge")
        missing = [s for s in record["expected"] if s not in record["receipts"]]
        return {
            "purge_id": str(purge_id), "tenant": tenant, "scope": record["scope"],
            "requested_at": record["requested_at"].isoformat(), "announced": record["announced"],
            "destroyed_by_gdpr": record["gdpr"],
            "receipts": {s: {"counts": r["counts"], "at": r["at"].isoformat()} for s, r in sorted(record["receipts"].items())},
            "missing": missing, "complete": record["announced"] and not missing,
        }
