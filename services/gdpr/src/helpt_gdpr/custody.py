"""Data keys: one per data subject, created here, stored only wrapped by the tenant key."""

from __future__ import annotations

import datetime as dt
from uuid import UUID, uuid4

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from helpt_gdpr.crypto import new_key, unwrap_key, wrap_key
from helpt_gdpr.tenant_keys import TenantKeyProvider
from helpt_platform.mongo import delete_all

__all__ = ["KeyCustody", "TenantUnavailable"]


class TenantUnavailable(LookupError):
    """The tenant has no key: unknown here, or its crisis was purged."""


class KeyCustody:
    """Creates, finds and destroys subjects' data keys."""

    def __init__(self, keys: AsyncCollection, tenants: TenantKeyProvider) -> None:
        self._keys = keys
        self._tenants = tenants

    async def ensure_indexes(self) -> None:
        await self._keys.create_index([("tenant", ASCENDING), ("subject_id", ASCENDING)], unique=True, name="one_key_per_subject")

    async def tenant_key(self, tenant: str) -> bytes:
        key = await self._tenants.get(tenant)
        if key is None:
            raise TenantUnavailable(tenant)
        return key

    async def key_for_sealing(self, tenant: str, subject_id: UUID, *, new: bool = False) -> tuple[str, bytes]:
        """(kid, data key) of the subject, created on first use.

        `new`: the caller just made up `subject_id`, so there is no key to look for. On FerretDB
        the look-up is a scan of every key (only a lone string `_id` is pushed down to SQLite),
        and a submission from the public form is always a new subject.
        """
        tenant_key = await self.tenant_key(tenant)
        doc = None if new else await self._keys.find_one({"tenant": tenant, "subject_id": subject_id})
        if doc is None:
            kid = f"dk-{uuid4().hex}"
            data_key = new_key()
            doc = {
                "_id": kid,
                "tenant": tenant,
                "subject_id": subject_id,
                "wrapped": wrap_key(tenant_key, tenant, subject_id, kid, data_key),
                "created_at": dt.datetime.now(dt.UTC),
            }
            try:
                await self._keys.insert_one(doc)
            except DuplicateKeyError:  # a concurrent seal for the same subject won the race
                doc = await self._keys.find_one({"tenant": tenant, "subject_id": subject_id})
                if doc is None:
                    raise
        return doc["_id"], unwrap_key(tenant_key, tenant, subject_id, doc["_id"], doc["wrapped"])

    async def key_for_opening(self, tenant: str, subject_id: UUID, kid: str) -> bytes | None:
        """The data key named `kid` of this subject, or None if it was destroyed or is not theirs."""
        tenant_key = await self.tenant_key(tenant)
        # By `_id` alone (FerretDB looks that up directly; any other filter reads every key), then checked here.
        doc = await self._keys.find_one({"_id": kid})
        if doc is None or doc.get("tenant") != tenant or doc.get("subject_id") != subject_id:
            return None
        return unwrap_key(tenant_key, tenant, subject_id, kid, doc["wrapped"])

    async def destroy_subject(self, tenant: str, subject_id: UUID) -> int:
        """Crypto-shred one subject: every sealed copy of their data becomes unreadable."""
        return (await self._keys.delete_many({"tenant": tenant, "subject_id": subject_id})).deleted_count

    async def destroy_tenant(self, tenant: str) -> tuple[int, bool]:
        """Crypto-shred a whole tenant: (data keys deleted, whether the tenant key existed)."""
        existed = await self._tenants.destroy(tenant)
        deleted = await delete_all(self._keys, {"tenant": tenant})  # a city may have more than one statement takes
        return deleted, existed

    async def count_subject(self, tenant: str, subject_id: UUID) -> int:
        """How many data keys the subject has (0 or 1)."""
        return await self._keys.count_documents({"tenant": tenant, "subject_id": subject_id})

    async def count(self, tenant: str) -> int:
        """How many data keys the tenant has."""
        return await self._keys.count_documents({"tenant": tenant})
