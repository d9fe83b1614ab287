"""Subject access (GDPR art. 15): everything Helpt holds on one person, as one JSON document.

gdpr asks every service on `gdpr.commands.v1`; each answers with the subject's documents, still
sealed. When all have answered, gdpr opens the subject's own sealed fields (another person's
fields in a shared document, such as the other party of a match, stay withheld), adds what gdpr
itself holds and who saw the data (the audit log: the recipients), and audits the export.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from helpt_contracts.events import SubjectAccessRequested, SubjectDataExported
from helpt_contracts.roles import Scope
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_gdpr.crypto import SealBroken, open_field
from helpt_gdpr.custody import TenantUnavailable
from helpt_gdpr.keeper import Denied, Keeper
from helpt_gdpr.purges import RECEIVERS, Publish
from helpt_platform.auth import Principal
from helpt_platform.purge import json_safe

__all__ = ["WITHHELD", "SubjectAccess"]

WITHHELD = "[withheld: not this person's data]"
_FIELDS = {f.value: f for f in PersonalField}


class SubjectAccess:
    """Subject access requests and their exports."""

    def __init__(self, db: AsyncDatabase, keeper: Keeper, publish: Publish) -> None:
        self._requests = db["subject_access"]
        self._keeper = keeper
        self._publish = publish

    async def request(self, who: Principal, subject_id: UUID) -> dict[str, Any]:
        """Ask every service for what it holds on the subject."""
        if not who.has(Scope.GDPR_EXPORT):
            raise Denied(403, f"role {who.role.value} may not export a subject's data")
        access_id = uuid4()
        await self._requests.insert_one({
            "_id": access_id, "tenant": who.tenant, "subject_ids": [subject_id], "requested_by": who.sub,
            "requested_at": dt.datetime.now(dt.UTC), "expected": [s.value for s in RECEIVERS], "answers": {},
        })
        await self._keeper.audit.append(who.tenant, "subject-access-request", "recorded", actor=who.sub,
                                        role=who.role.value, subject_id=subject_id, access_id=access_id)
        try:
            await self._publish(SubjectAccessRequested(tenant=who.tenant, access_id=access_id, subject_id=subject_id))
        except Exception:  # noqa: BLE001 — nothing was asked, so nothing is left half-done
            await self._requests.delete_one({"_id": access_id})
            raise Denied(503, "the services cannot be asked right now (messaging unavailable); try again shortly") from None
        return {"access_id": str(access_id), "status": "gathering", "waiting_for": [s.value for s in RECEIVERS]}

    async def record_answer(self, answer: SubjectDataExported) -> None:
        """Keep one service's answer (the first, if it comes twice)."""
        await self._requests.update_one(
            {"_id": answer.access_id, "tenant": answer.tenant, f"answers.{answer.service.value}": {"$exists": False}},
            {"$set": {f"answers.{answer.service.value}": answer.documents}},
        )

    async def export(self, who: Principal, access_id: UUID) -> dict[str, Any]:
        """The export, once every service answered; else which are missing."""
        if not who.has(Scope.GDPR_EXPORT):
            raise Denied(403, f"role {who.role.value} may not export a subject's data")
        record = await self._requests.find_one({"_id": access_id, "tenant": who.tenant})
        if record is None:
            raise Denied(404, "no such subject access request")
        missing = [s for s in record["expected"] if s not in record["answers"]]
        if missing:
            return {"access_id": str(access_id), "complete": False, "waiting_for": missing}
        tenant, subject_id = record["tenant"], record["subject_ids"][0]
        opened: list[str] = []
        services = {
            service: {name: [await self._open(tenant, subject_id, doc, opened) for doc in docs] for name, docs in answer.items()}
            for service, answer in record["answers"].items()
        }
        recipients = [
            {k: json_safe(r.get(k)) for k in ("at", "role", "organisation", "purpose", "action", "result", "categories")}
            for r in await self._keeper.audit.query(tenant, subject_id=subject_id, limit=1000) if r["operation"] == "reveal"
        ]
        await self._keeper.audit.append(tenant, "subject-access-export", "done", actor=who.sub, role=who.role.value,
                                        subject_id=subject_id, access_id=access_id, categories=sorted(set(opened)))
        return {
            "access_id": str(access_id), "complete": True, "subject_id": str(subject_id), "tenant": tenant,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(),
            "held_by_service": services,
            "held_by_gdpr": {"data_key": await self._keeper.custody.count_subject(tenant, subject_id) > 0},
            "who_saw_it": recipients,
        }

    async def _open(self, tenant: str, subject_id: UUID, value: Any, opened: list[str]) -> Any:
        """Walk a document; open every sealed field of this subject, withhold anyone else's."""
        if isinstance(value, list):
            return [await self._open(tenant, subject_id, v, opened) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if key in _FIELDS and isinstance(item, dict) and "ciphertext" in item:
                out[key] = await self._open_one(tenant, subject_id, _FIELDS[key], item, opened)
            else:
                out[key] = await self._open(tenant, subject_id, item, opened)
        return out

    async def _open_one(self, tenant: str, subject_id: UUID, field: PersonalField, raw: dict, opened: list[str]) -> str:
        try:
            sealed = SealedField.model_validate(raw)
            key = await self._keeper.custody.key_for_opening(tenant, subject_id, sealed.kid)
            if key is None:
                return WITHHELD
            text = open_field(key, tenant, subject_id, field, sealed)
        except (ValidationError, SealBroken, TenantUnavailable):
            return WITHHELD
        opened.append(field.value)
        return text
