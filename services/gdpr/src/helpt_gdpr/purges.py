"""Erasure of one subject and the end-of-crisis purge of a tenant, with receipts and a report.

Keys go first: once a subject's or tenant's key is destroyed, every sealed copy anywhere is
unreadable, whatever happens next. Then gdpr announces the command on `gdpr.commands.v1` and
collects a `PurgeCompleted` receipt from every service it knows; the report says which arrived,
when, with what counts, and which are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from pymongo.errors import DuplicateKeyError
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import CrisisPurgeRequested, Event, PurgeCompleted, PurgeScope, SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import Role, Scope, ServiceName
from helpt_gdpr.audit import now_ms
from helpt_gdpr.keeper import Denied, Keeper
from helpt_platform.auth import Principal
from helpt_platform.logs import get_logger
from helpt_platform.mongo import delete_all

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
        # One carry-out of a purge at a time in this process: the request that started it and the background job
        # would otherwise both count the keys before either dropped them, and the report would say twice as many.
        self._carrying: dict[UUID, asyncio.Lock] = {}

    async def erase_subject(self, who: Principal, subject_id: UUID, kind: SubjectKind) -> dict[str, Any]:
        """GDPR art. 17 for one subject: destroy the key, forget the actions, tell every service."""
        if not who.has(Scope.GDPR_ERASE):
            raise Denied(403, f"role {who.role.value} may not erase")
        command = SubjectErasureRequested(tenant=who.tenant, purge_id=uuid4(), subject_id=subject_id, subject_kind=kind)
        await self._record(command, PurgeScope.SUBJECT, who)
        return await self._carry_out(command.tenant, command.purge_id)

    async def approve_crisis_end(self, who: Principal, tenant: str) -> dict[str, Any]:
        """One crisis lead's approval; the second, by another person within the window, purges the tenant.

        Who approved, and who turns two approvals into the purge, are decided by unique inserts
        (an approval per lead; the tenant's tombstone), never by a conditional update: the store
        does not apply those atomically (docs/adr/0009). A double click is one approval; two
        second approvals at once start one purge.
        """
        if who.role is not Role.CRISIS_LEAD or who.tenant != tenant:
            raise Denied(403, "only a crisis lead of this tenant may approve the end of the crisis")
        if await self._tombstones.find_one({"_id": tenant}):
            raise Denied(410, "this tenant's crisis was already ended and its data destroyed")
        if tenant not in self._tenants and not await self._keeper.custody.holds_any(tenant):
            raise Denied(404, "unknown tenant")
        now = now_ms()
        # Approvals older than the window no longer count: start afresh.
        await self._approvals.delete_many({"tenant": tenant, "at": {"$lt": now - self._window}})
        try:
            await self._approvals.insert_one({"_id": f"{tenant}:{who.sub}", "tenant": tenant, "by": who.sub, "at": now})
        except DuplicateKeyError:
            raise Denied(409, "this crisis lead already approved; the second approval must come from another crisis lead") from None
        approvals = [a async for a in self._approvals.find({"tenant": tenant}).sort("at", 1)]
        await self._keeper.audit.append(tenant, "crisis-end-approval", "recorded", actor=who.sub, role=who.role.value,
                                        approvals=len(approvals))
        if len(approvals) < 2:
            if await self._tombstones.find_one({"_id": tenant}):
                # Another approval started the purge meanwhile and cleared the approvals, maybe before this one
                # was inserted: this one is late, not the first of a new pair.
                await self._approvals.delete_one({"_id": f"{tenant}:{who.sub}"})
                raise Denied(409, "the purge is already under way")
            return {"tenant": tenant, "status": "awaiting-second-approval", "approvals": len(approvals),
                    "expires_at": (approvals[0]["at"] + self._window).isoformat()}
        command = CrisisPurgeRequested(tenant=tenant, purge_id=uuid4(), approvals=len(approvals))
        try:  # exactly one caller turns the approvals into a purge, however many approve at once
            await self._tombstones.insert_one({"_id": tenant, "purge_id": command.purge_id, "purged_at": now_ms()})
        except DuplicateKeyError:
            raise Denied(409, "the purge is already under way") from None
        await self._record(command, PurgeScope.TENANT, who)
        await delete_all(self._approvals, {"tenant": tenant})
        return await self._carry_out(tenant, command.purge_id)

    async def _record(self, command: Event, scope: PurgeScope, who: Principal) -> None:
        """Keep the command before anything is destroyed: a crash from here on is finished by `carry_out_pending`."""
        record = {
            "_id": command.purge_id, "tenant": command.tenant, "scope": scope.value, "requested_by": who.sub,
            "requested_role": who.role.value, "requested_at": now_ms(), "expected": [s.value for s in RECEIVERS],
            "receipts": {}, "gdpr": {}, "destroyed": False, "announced": False,
            "command": {"type": type(command).__name__, "body": command.model_dump(mode="json")},
        }
        if scope is PurgeScope.SUBJECT:
            record["subject_id"] = command.subject_id
        await self._purges.insert_one(record)

    async def _carry_out(self, tenant: str, purge_id: UUID) -> dict[str, Any]:
        """Destroy (if not done yet), then announce (if not done yet); the report. Safe to repeat."""
        async with self._carrying.setdefault(purge_id, asyncio.Lock()):  # kept: a lock per erasure or purge is small
            return await self._carry_out_now(tenant, purge_id)

    async def _carry_out_now(self, tenant: str, purge_id: UUID) -> dict[str, Any]:
        record = await self._purges.find_one({"_id": purge_id})
        command = _COMMANDS[record["command"]["type"]].model_validate(record["command"]["body"])
        if not record.get("destroyed", True):  # records from before this field were destroyed first
            await self._destroy(command, record)
        if not record["announced"]:
            try:
                await self._publish(command)
                await self._purges.update_one({"_id": purge_id}, {"$set": {"announced": True}})
            except Exception as exc:  # noqa: BLE001 — not announced yet is a state, not an error
                log.warning("purge not announced yet; it will be retried", purge_id=str(purge_id), error=type(exc).__name__)
        return await self.report(tenant, purge_id)

    async def _destroy(self, command: Event, record: dict[str, Any]) -> None:
        """Keys first: once gone, every sealed copy anywhere is unreadable. Each step destroys what is left,
        so a second run after a crash finishes the first (its counts are what that run found)."""
        tenant, actor = command.tenant, {"actor": record["requested_by"], "role": record.get("requested_role", "")}
        if isinstance(command, SubjectErasureRequested):
            keys = await self._keeper.custody.destroy_subject(tenant, command.subject_id)
            counts = {"data_keys": keys, "actions": await self._keeper.actions.forget_subject(tenant, command.subject_id),
                      "subject_access": (await self._access.delete_many({"tenant": tenant, "subject_ids": command.subject_id})).deleted_count}
            await self._keeper.audit.append(tenant, "subject-erasure", "done", **actor, subject_id=command.subject_id,
                                            purge_id=command.purge_id, keys_destroyed=keys)
        else:
            keys, tenant_key_existed = await self._keeper.custody.destroy_tenant(tenant)
            counts = {"data_keys": keys, "tenant_key": int(tenant_key_existed),
                      "actions": await self._keeper.actions.forget_tenant(tenant),
                      "subject_access": await delete_all(self._access, {"tenant": tenant})}
            await self._keeper.audit.append(tenant, "crisis-purge", "done", **actor, purge_id=command.purge_id,
                                            keys_destroyed=keys, tenant_key_destroyed=tenant_key_existed)
        await self._purges.update_one({"_id": command.purge_id},
                                      {"$set": {"destroyed": True}, "$inc": {f"gdpr.{k}": v for k, v in counts.items()}})

    async def announce_pending(self) -> int:
        """Finish every erasure or purge a crash or an outage left half-done; how many were announced now.

        A tombstoned tenant without its purge record (a crash between the two inserts) gets its record first."""
        async for tombstone in self._tombstones.find({}):
            if await self._purges.find_one({"_id": tombstone["purge_id"]}, {"_id": 1}) is None:
                command = CrisisPurgeRequested(tenant=tombstone["_id"], purge_id=tombstone["purge_id"], approvals=2)
                with contextlib.suppress(DuplicateKeyError):
                    await self._record(command, PurgeScope.TENANT, Principal(sub="gdpr-recovery", role=Role.SERVICE,
                                                                             tenant=tombstone["_id"]))
        sent = 0
        async for record in self._purges.find({"$or": [{"announced": False}, {"destroyed": False}]}):
            report = await self._carry_out(record["tenant"], record["_id"])
            sent += report["announced"]
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
