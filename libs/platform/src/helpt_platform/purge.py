"""Every service's answer to gdpr's commands: delete what it holds, then send a receipt.

The convention that makes one responder enough for every service: **every document a service
stores about a person carries `tenant` (the tenant id) and `subject_ids` (a list of the subject
UUIDs it concerns, stored as BSON UUIDs; a match lists both the requester and the volunteer)**.
Collection names are lower-case `[a-z0-9_.-]`, at most 64 characters: they appear in receipts.

- `SubjectErasureRequested`: in every collection of the service's database (`system.*` aside),
  delete `{"tenant": t, "subject_ids": subject_id}` — every document that concerns the subject.
- `CrisisPurgeRequested`: in every collection, delete `{"tenant": t}`.
- Then publish `PurgeCompleted(service, scope, counts={collection: deleted})` on
  gdpr.receipts.v1 with the command's correlation id.
- `SubjectAccessRequested` (GDPR art. 15): read `{"tenant": t, "subject_ids": subject_id}` from
  every collection and answer with `SubjectDataExported`, the documents as JSON with their
  personal fields still sealed; only gdpr opens them, for the data protection officer.

Idempotent by nature: a redelivered command deletes nothing more and sends the same kind of
receipt (gdpr keeps one per purge id and service). One `delete_many` per collection (in chunks where
the store refuses that many at once: `helpt_platform.mongo.delete_all`), no transaction: FerretDB has
none, and a retry after a partial run only finishes the job.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from faststream.kafka import KafkaRouter

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import (
    CrisisPurgeRequested,
    Event,
    PurgeCompleted,
    PurgeScope,
    SubjectAccessRequested,
    SubjectDataExported,
    SubjectErasureRequested,
)
from helpt_contracts.roles import ServiceName
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_router, publish_event
from helpt_platform.logs import get_logger
from helpt_platform.mongo import delete_all
from helpt_platform.service import Runtime

__all__ = ["GdprCommand", "carry_out_gdpr_command", "export_subject", "gdpr_command_router", "json_safe"]

log = get_logger(__name__)
GdprCommand = SubjectErasureRequested | CrisisPurgeRequested
PublishReceipt = Callable[[PurgeCompleted], Awaitable[object]]


class _DeleteResult(Protocol):
    @property
    def deleted_count(self) -> int: ...


class _Collection(Protocol):
    async def delete_many(self, filter: Mapping[str, Any]) -> _DeleteResult: ...

    def find(self, filter: Mapping[str, Any]) -> Any: ...


class Store(Protocol):
    """What the responder needs of a database (PyMongo's `AsyncDatabase` is one)."""

    async def list_collection_names(self) -> list[str]: ...

    def __getitem__(self, name: str) -> _Collection: ...


async def carry_out_gdpr_command(
    command: GdprCommand, db: Store, publish: PublishReceipt, *, service: ServiceName
) -> PurgeCompleted:
    """Delete what `command` covers from every collection of `db`, publish the receipt, return it."""
    scope, selector = _selector(command)
    counts: dict[str, int] = {}
    for name in sorted(await db.list_collection_names()):
        if name.startswith("system."):
            continue
        deleted = await delete_all(db[name], selector)
        key = _count_key(name)
        counts[key] = counts.get(key, 0) + deleted
    receipt = PurgeCompleted(tenant=command.tenant, purge_id=command.purge_id, service=service, scope=scope, counts=counts)
    await publish(receipt)
    log.info("gdpr command carried out", purge_id=str(command.purge_id), scope=scope.value, deleted=sum(counts.values()))
    return receipt


def json_safe(value: Any) -> Any:
    """A stored document as plain JSON (UUIDs and times as text, bytes as base64)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # UUID, ObjectId, Decimal128, …


async def export_subject(
    command: SubjectAccessRequested, db: Store, publish: Callable[[SubjectDataExported], Awaitable[object]],
    *, service: ServiceName,
) -> SubjectDataExported:
    """Gather every document of `db` on the subject and publish them (still sealed) to gdpr."""
    selector = {"tenant": command.tenant, "subject_ids": {"$in": [command.subject_id, str(command.subject_id)]}}
    documents: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(await db.list_collection_names()):
        if not name.startswith("system."):
            found = [json_safe(doc) async for doc in db[name].find(selector)]
            if found:
                documents.setdefault(_count_key(name), []).extend(found)
    answer = SubjectDataExported(tenant=command.tenant, access_id=command.access_id, service=service, documents=documents)
    await publish(answer)
    log.info("subject data exported", access_id=str(command.access_id), documents=sum(map(len, documents.values())))
    return answer


def _selector(command: GdprCommand) -> tuple[PurgeScope, dict[str, Any]]:
    if isinstance(command, SubjectErasureRequested):
        # The convention stores UUIDs; the text form too is matched, so a slip in one service's
        # store cannot leave a subject's documents behind.
        subject = {"$in": [command.subject_id, str(command.subject_id)]}
        return PurgeScope.SUBJECT, {"tenant": command.tenant, "subject_ids": subject}
    return PurgeScope.TENANT, {"tenant": command.tenant}


def _count_key(collection: str) -> str:
    # The receipt must go out whatever a collection is called; the contract allows only this.
    return re.sub(r"[^a-z0-9_.-]", "_", collection.lower())[:64] or "_"


def gdpr_command_router(runtime: Runtime) -> KafkaRouter:
    """The service's subscriber to gdpr.commands.v1, answering with the runtime's store and broker."""
    router = create_router(runtime.settings)

    async def gdpr_command(envelope: Envelope, event: Event) -> None:
        """Erase a subject or purge a tenant from this service's store, or export a subject's documents; answer gdpr."""
        if not isinstance(event, GdprCommand | SubjectAccessRequested):
            log.warning("not a gdpr command; skipped", event_type=envelope.type)
            return

        async def publish(answer: Event) -> None:
            await publish_event(runtime.broker, runtime.settings, answer, correlation_id=envelope.correlation_id)

        if isinstance(event, SubjectAccessRequested):
            await export_subject(event, runtime.db, publish, service=runtime.settings.service)
        else:
            await carry_out_gdpr_command(event, runtime.db, publish, service=runtime.settings.service)

    subscribe_events(router, runtime.settings, topics.GDPR_COMMANDS, gdpr_command)
    return router
