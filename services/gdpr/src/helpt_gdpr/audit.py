"""The audit log: append-only, hash-chained per tenant, never holding the data itself.

Each record stores the hash of the one before it, so altering, removing or inserting a record
breaks the chain from there on; `verify` names the first broken link. Records are numbered per
tenant under a unique index, so two replicas appending at once cannot fork the chain: the loser
gets a duplicate-key error and retries on top of the winner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

__all__ = ["GENESIS", "AuditLog", "ChainReport", "now_ms", "record_hash"]

GENESIS = "0" * 64
_RETRIES = 20


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, UUID):
        return str(value)
    return value


def now_ms() -> dt.datetime:
    """Now, to the millisecond: what the store keeps (more precision would not survive a read-back)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the record's canonical JSON, without its own id and hash."""
    body = {k: v for k, v in record.items() if k not in ("_id", "hash")}
    return hashlib.sha256(json.dumps(_canonical(body), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying one tenant's chain."""

    tenant: str
    records: int
    intact: bool
    first_broken_seq: int | None = None
    problem: str | None = None


class AuditLog:
    """Appends and reads audit records of every tenant."""

    def __init__(self, records: AsyncCollection) -> None:
        self._records = records
        self._lock = asyncio.Lock()  # fewer retries within one process; the index guards across processes
        self._heads: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        await self._records.create_index([("tenant", ASCENDING), ("seq", ASCENDING)], unique=True, name="chain")
        await self._records.create_index([("tenant", ASCENDING), ("subject_id", ASCENDING)], name="by_subject")
        await self._records.create_index([("tenant", ASCENDING), ("actor", ASCENDING)], name="by_actor")

    async def append(self, tenant: str, operation: str, result: str, **fields: Any) -> dict[str, Any]:
        """Append one record: who (actor, role, organisation), what, why, result — never plaintext."""
        async with self._lock:
            for _ in range(_RETRIES):
                # The chain's head as this process last wrote it; read from the store only when unknown or when
                # another process appended meanwhile (the unique (tenant, seq) index tells). A sorted read per
                # append grows with the log on the store, and every seal and reveal appends.
                last = self._heads.get(tenant)
                if last is None:
                    last = await self._records.find_one({"tenant": tenant}, {"seq": 1, "hash": 1}, sort=[("seq", DESCENDING)])
                record = {
                    "tenant": tenant,
                    "seq": 1 if last is None else last["seq"] + 1,
                    "at": now_ms(),
                    "operation": operation,
                    "result": result,
                    **{k: v for k, v in fields.items() if v is not None},
                    "prev_hash": GENESIS if last is None else last["hash"],
                }
                record["hash"] = record_hash(record)
                try:
                    await self._records.insert_one(record)
                except DuplicateKeyError:
                    self._heads.pop(tenant, None)  # another process appended: read the head again
                    continue
                self._heads[tenant] = {"seq": record["seq"], "hash": record["hash"]}
                return record
        raise RuntimeError("could not append to the audit chain: too much contention")

    async def verify(self, tenant: str) -> ChainReport:
        """Walk the tenant's chain in order; report the first record that does not fit."""
        expected_prev, count = GENESIS, 0
        async for record in self._records.find({"tenant": tenant}, sort=[("seq", ASCENDING)]):
            count += 1
            if record["seq"] != count:
                return ChainReport(tenant, count, False, count, f"record {count} is missing")
            if record.get("prev_hash") != expected_prev:
                return ChainReport(tenant, count, False, record["seq"], "does not follow the record before it")
            if record_hash(record) != record.get("hash"):
                return ChainReport(tenant, count, False, record["seq"], "its content was changed")
            expected_prev = record["hash"]
        return ChainReport(tenant, count, True)

    async def query(
        self,
        tenant: str,
        *,
        subject_id: UUID | None = None,
        actor: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Records of a tenant by subject, actor and time, newest first."""
        criteria: dict[str, Any] = {"tenant": tenant}
        if subject_id is not None:
            criteria["subject_id"] = subject_id
        if actor is not None:
            criteria["actor"] = actor
        if since is not None or until is not None:
            criteria["at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
        cursor = self._records.find(criteria, {"_id": 0}, sort=[("seq", DESCENDING)], limit=limit)
        return [record async for record in cursor]
