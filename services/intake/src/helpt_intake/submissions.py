"""Taking in a help request or an offer: seal, keep, publish — all of it, or nothing.

Order matters: the personal fields are sealed by gdpr first (intake never holds plaintext at
rest, nor a key), the case is kept sealed with its event (an outbox entry), the event is published
and acknowledged by Kafka (acks=all), and only then is the person told "received". If gdpr or Kafka
fails on the way, what was written is removed again and the person hears 503 with the help desk's
number. If the process dies between keeping the case and publishing, the relay publishes the kept
event after a grace period (`helpt_intake.outbox`), and a retry with the same idempotency key gets
the case's answer instead of a 409 for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpt_contracts.events import Event
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_contracts.types import Channel
from helpt_intake.cases import case_writer
from helpt_intake.settings import IntakeSettings
from helpt_intake.status import CaseStatus
from helpt_platform.auth import Refusal
from helpt_platform.claims import claim, release
from helpt_platform.gdpr_client import GdprClient, GdprUnavailable
from helpt_platform.keys import by_id, with_id_text
from helpt_platform.logs import get_logger
from helpt_platform.outbox import outbox_entry
from helpt_intake.outbox import mark_sent, pending_entry, publish_entry, settle

__all__ = ["Intake", "Received"]

_FINAL = [CaseStatus.DONE.value, CaseStatus.CANCELLED.value]

log = get_logger(__name__)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
BuildEvent = Callable[[UUID, str, UUID, dict[PersonalField, SealedField]], Event]


@dataclass(frozen=True)
class Received:
    """What the person gets back: an id and a reference to quote on the phone."""

    id: UUID
    reference: str


def case_facts(event: Event) -> dict[str, Any]:
    """The non-personal facts of a submission that the console shows and matching works with."""
    facts = {name: getattr(event, name) for name in ("task", "tasks", "postcode", "volunteers_needed", "organisation", "networks")
             if hasattr(event, name)}
    urgency = getattr(event, "urgency", None)
    return {**facts, "urgency": urgency.value if urgency is not None else None}


def _indexes(found: dict[str, str | None]) -> list[str]:
    """The blind indexes gdpr gave (phone, e-mail), without the absent ones."""
    return [value for value in (found.get("phone"), found.get("email")) if value]


def new_reference(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


class Intake:
    """Submissions from every channel."""

    def __init__(self, settings: IntakeSettings, db: AsyncDatabase, gdpr: GdprClient,
                 publish: Callable[..., Any], kafka_ready: Callable[[], bool],
                 kafka_answers: Callable[[], Awaitable[bool]] | None = None) -> None:
        self._settings = settings
        self._db = db
        self._cases = db["cases"]
        self._keys = db["idempotency_keys"]
        self._closures = db["case_closures"]
        self._writer = case_writer(db)
        self._gdpr = gdpr
        self._publish = publish
        self._kafka_ready = kafka_ready
        self._kafka_answers = kafka_answers

    def _unavailable(self, tenant: str) -> Refusal:
        return Refusal(503, f"We cannot take your message right now. Please try again in a few minutes, "
                            f"or call {self._settings.help_phone_of(tenant)}.")

    async def submit(self, *, kind: str, tenant: str, idempotency_key: str | None,
                     personal: dict[PersonalField, str], build: BuildEvent,
                     channel: Channel, entered_by: str | None = None, subject_id: UUID | None = None) -> Received:
        """Seal, keep and publish one submission; the same idempotency key gives the same answer.

        `channel` and `entered_by` (the operator's staff id for a call) are kept on the case for
        the phone console; `build` must put the same ones on the event. `subject_id` seals for a
        person gdpr already knows (a mail's sender), so their data stays one subject's.
        """
        if tenant not in self._settings.tenant_ids:
            raise Refusal(422, f"unknown municipality: {tenant}")
        key_id = f"{tenant}:{kind}:{idempotency_key}" if idempotency_key else None
        case_id, reference = uuid4(), new_reference("H" if kind == "request" else "V")
        if key_id:
            earlier = await self._claim(key_id, tenant, case_id, reference)
            if earlier is not None:
                return earlier
        try:
            # A broker that went away after start-up is asked, not assumed: a publish to it would hang.
            if not self._kafka_ready() or (self._kafka_answers is not None and not await self._kafka_answers()):
                raise self._unavailable(tenant)
            try:  # one call to gdpr: sealed, and the contact's blind indexes for the console
                subject_id, sealed, found = await self._gdpr.seal_and_index(tenant, personal, subject_id=subject_id)
            except GdprUnavailable:
                raise self._unavailable(tenant) from None
            except Refusal as refusal:
                raise self._contact_refusal(refusal) from None
            contact_index = _indexes(found)
            event = build(case_id, reference, subject_id, sealed)
            if "contact_index" in type(event).model_fields:  # screening spots a repeat volunteer by these keyed hashes
                event = event.model_copy(update={"contact_index": contact_index})
            if getattr(event, "channel", channel) != channel or getattr(event, "entered_by", entered_by) != entered_by:
                raise ValueError("the event's channel or operator differs from the submission's")
            now = dt.datetime.now(dt.UTC)
            entry = outbox_entry(event, source=self._settings.service.value, time=now)
            case = {
                "_id": case_id, "tenant": tenant, "subject_ids": [subject_id], "kind": kind, "reference": reference,
                "channel": channel.value, "entered_by": entered_by, **case_facts(event),
                "status": CaseStatus.RECEIVED.value, "status_at": now, "contact_index": contact_index,
                "matches": {}, "applied": [], "version": 0,
                "personal": {f.value: s.model_dump() for f, s in sealed.items()}, "created_at": now,
            }
            pending = pending_entry(case, entry)
            # A DuplicateKeyError on these fresh ids means PyMongo retried an insert whose first attempt was
            # written but whose answer was lost (the store going away): the document is in.
            with contextlib.suppress(DuplicateKeyError):
                await self._db["outbox"].insert_one(pending)  # first: a case is never kept without its event on its way
            with contextlib.suppress(DuplicateKeyError):
                # Any other error here leaves the entry: the write may have been applied with its answer lost,
                # so the relay decides after the grace period (case kept: publish; not kept: drop).
                await self._cases.insert_one(with_id_text(case))
            try:
                await asyncio.wait_for(publish_entry(self._publish, entry), self._settings.publish_timeout_s)
            except TimeoutError:
                # No answer in time: the producer may still deliver it later, so undoing could leave an event
                # without its case. Keep the case; the relay publishes it (same ce_id) once Kafka answers.
                await settle(self._db, case, "relay")
                log.warning("publish not confirmed in time; the relay publishes it")
            except Exception as exc:  # noqa: BLE001 — Kafka refused: undo, and say so
                if await settle(self._db, case, "undo") == "undo":
                    await self._cases.delete_one(by_id(case_id))
                    await mark_sent(self._db, case_id)  # undone: its entry goes too
                    log.warning("publish failed; submission undone", error=type(exc).__name__)
                    raise self._unavailable(tenant) from None
                # The relay took it over (this publish outlasted the grace period): it goes out; the case stands.
                log.warning("publish failed; the relay publishes it", error=type(exc).__name__)
            else:
                await mark_sent(self._db, case_id)
        except Exception:  # a refusal, or a bug: either way the key must not stay claimed
            if key_id:
                await self._keys.delete_one({"_id": key_id, "state": "pending"})
            raise
        if key_id:
            await self._keys.update_one({"_id": key_id}, {"$set": {"state": "done", "case_id": case_id, "reference": reference}})
        log.info("submission received", kind=kind, tenant=tenant, case_id=str(case_id), channel=channel.value)
        return Received(case_id, reference)

    @staticmethod
    def _contact_refusal(refusal: Refusal) -> Refusal:
        """gdpr's 422 names the kind of value (never the value): passed on as a 422 about the contact details."""
        return Refusal(422, f"check the contact details: {refusal.reason}") if refusal.status == 422 else refusal

    async def _claim(self, key_id: str, tenant: str, case_id: UUID, reference: str, *, again: bool = True) -> Received | None:
        """None when this key is new (now claimed for `case_id`); the earlier answer when it was used before.

        A key left pending longer than the outbox's grace period belongs to an attempt that died: if it
        kept its case, that case is the answer (the relay publishes its event); if not, this attempt starts again.
        """
        try:
            await self._keys.insert_one({"_id": key_id, "tenant": tenant, "state": "pending", "at": dt.datetime.now(dt.UTC),
                                         "case_id": case_id, "reference": reference})
            return None
        except DuplicateKeyError:
            earlier = await self._keys.find_one({"_id": key_id})
        if earlier and earlier.get("state") == "done":
            return Received(earlier["case_id"], earlier["reference"])
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self._settings.outbox_grace_s)
        if earlier and earlier.get("case_id") and again and await self._keys.find_one({"_id": key_id, "at": {"$lt": cutoff}}):
            kept = await self._cases.find_one(by_id(earlier["case_id"]), {"tenant": 1, "subject_ids": 1})
            if kept is not None and await settle(self._db, kept, "relay") == "relay":
                await self._keys.update_one({"_id": key_id}, {"$set": {"state": "done"}})
                return Received(earlier["case_id"], earlier["reference"])
            await self._keys.delete_one({"_id": key_id, "state": "pending", "case_id": earlier["case_id"]})
            return await self._claim(key_id, tenant, case_id, reference, again=False)
        raise Refusal(409, "this submission is still being processed; try again in a moment")

    # --- after the submission: changes, cancellations, withdrawals --------------------------

    async def case_doc(self, tenant: str, case_id: UUID, kind: str) -> dict[str, Any]:
        """The stored case (sealed); 404 if this tenant has no such case of that kind."""
        doc = await self._cases.find_one(by_id(case_id, tenant=tenant, kind=kind))
        if doc is None:
            raise Refusal(404, f"no such {'help request' if kind == 'request' else 'volunteer'}")
        return doc

    async def close(self, *, tenant: str, case_id: UUID, kind: str, event: Event, doc: dict[str, Any] | None = None) -> None:
        """Cancel a request or withdraw a volunteer: published once (a second try is a 409), or not at all (503).

        `doc` is the case when the caller has just read it (to check who may close it)."""
        doc = doc or await self.case_doc(tenant, case_id, kind)
        if doc.get("status") in _FINAL:
            raise Refusal(409, "this case is already closed")
        if not self._kafka_ready():
            raise self._unavailable(tenant)
        if not await claim(self._closures, str(case_id), tenant=tenant, subject_ids=doc.get("subject_ids", [])):
            raise Refusal(409, "this case is already closed, or being closed")
        try:
            await self._publish(event)
        except Exception as exc:  # noqa: BLE001 — not published: leave the case as it was
            await release(self._closures, str(case_id))
            log.warning("publish failed; closing undone", error=type(exc).__name__)
            raise self._unavailable(tenant) from None
        now = dt.datetime.now(dt.UTC)
        await self._writer.write(by_id(case_id), lambda d: None if d.get("status") in _FINAL else {
            "status": CaseStatus.CANCELLED.value, "status_at": now})
        log.info("case closed", kind=kind, tenant=tenant, case_id=str(case_id))

    async def change(self, *, tenant: str, case_id: UUID, kind: str, personal: dict[PersonalField, str],
                     build: Callable[[dict[PersonalField, SealedField] | None], Event], doc: dict[str, Any] | None = None) -> None:
        """Publish what changed in an open case, personal fields sealed for the same subject, and keep it."""
        doc = doc or await self.case_doc(tenant, case_id, kind)
        if doc.get("status") in _FINAL or await self._closures.find_one({"_id": str(case_id)}, {"_id": 1}):
            raise Refusal(409, "this case is closed; it cannot change any more")
        if not self._kafka_ready():
            raise self._unavailable(tenant)
        sealed: dict[PersonalField, SealedField] | None = None
        index: list[str] = []
        if personal:
            try:
                _, sealed, found = await self._gdpr.seal_and_index(tenant, personal, subject_id=doc["subject_ids"][0])
            except GdprUnavailable:
                raise self._unavailable(tenant) from None
            except Refusal as refusal:
                raise self._contact_refusal(refusal) from None
            index = _indexes(found)
        event = build(sealed)
        try:
            await self._publish(event)
        except Exception as exc:  # noqa: BLE001
            log.warning("publish failed; change not made", error=type(exc).__name__)
            raise self._unavailable(tenant) from None
        facts = {k: v for k, v in case_facts(event).items() if v is not None}
        personal_fields = {f"personal.{f.value}": s.model_dump() for f, s in (sealed or {}).items()}

        def decide(current: dict[str, Any]) -> dict[str, Any]:
            # Earlier numbers still find the person: the indexes are added to, never replaced.
            known = list(dict.fromkeys([*(current.get("contact_index") or []), *index]))
            return {**facts, **personal_fields, **({"contact_index": known} if index else {})}

        await self._writer.write(by_id(case_id), decide)
        log.info("case changed", kind=kind, tenant=tenant, case_id=str(case_id))
