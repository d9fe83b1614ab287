"""The triage queue of mails to the help address: kept sealed, opened only through gdpr, triaged once.

A mail is one document in `mail_triage`, carrying `tenant` and `subject_ids` like every personal
record in Helpt (erasure, crisis purge and subject access find it). It is "open" until an
operator confirms it as a help request or an offer, or discards it. Confirming takes the mail
first with a single-document conditional update ("open" → "triaging", with a claim id), so of
two confirmations one wins and the other hears 409; a claim left behind by a crash may be taken
again after `STALE_CLAIM`. Once triaged, the mail's sealed text is dropped: the request or offer
it became carries what is needed, sealed on its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from helpt_contracts.events import Event, MailOutcome, MailReceived, MailTriaged
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_intake.mailparse import ParsedMail
from helpt_intake.settings import IntakeSettings
from helpt_intake.submissions import Received
from helpt_platform.auth import Refusal, TokenVerifier
from helpt_platform.claims import claim, release
from helpt_platform.gdpr_client import GdprClient, GdprUnavailable
from helpt_platform.kafka import publish_event
from helpt_platform.logs import get_logger
from helpt_platform.service import Runtime

__all__ = ["COLLECTION", "MailTriage", "TriageUnavailable"]

log = get_logger(__name__)
COLLECTION = "mail_triage"
STALE_CLAIM = dt.timedelta(minutes=2)
CLAIMS = "mail_claims"


class TriageUnavailable(Refusal):
    """gdpr, Kafka or the store is not there: nothing was kept or published; try again."""

    def __init__(self) -> None:
        super().__init__(503, "the mail desk is unavailable right now; nothing was changed, please try again shortly")


class MailTriage:
    """Mails awaiting triage, for one intake process (the runtime is there once the lifespan started)."""

    def __init__(self, settings: IntakeSettings, gdpr: GdprClient, runtime: Callable[[], Runtime]) -> None:
        self.settings = settings
        self.gdpr = gdpr
        self._runtime = runtime
        self._indexed = False

    @functools.cached_property
    def verifier(self) -> TokenVerifier:
        return self.settings.token_verifier()

    @property
    def _mails(self) -> Any:
        return self._runtime().db[COLLECTION]

    async def _publish(self, event: Event) -> None:
        runtime = self._runtime()
        if not runtime.kafka_started.is_set():
            raise TriageUnavailable()
        try:
            await publish_event(runtime.broker, self.settings, event)
        except Exception as exc:  # noqa: BLE001 — any failure to publish is "not now"; the type says enough
            log.warning("publish failed", event_type=event.event_type(), error=type(exc).__name__)
            raise TriageUnavailable() from None

    async def _ensure_index(self) -> None:
        # On the first mail, not at start-up: a service that never got mail has no empty collection
        # to list in its purge receipts.
        if not self._indexed:
            await self._mails.create_index([("tenant", 1), ("state", 1), ("received_at", 1)])
            self._indexed = True

    async def receive(self, tenant: str, mail: ParsedMail, size: int) -> UUID:
        """Seal the mail at gdpr, keep it as an open draft and announce it; all of it or nothing."""
        if not self._runtime().kafka_started.is_set():
            raise TriageUnavailable()
        subject_id, sealed = await self.gdpr.seal(tenant, mail.personal())
        email_index = None
        if mail.email:
            try:
                email_index = (await self.gdpr.blind_indexes(tenant, email=mail.email)).get("email")
            except GdprUnavailable:
                raise
            except Refusal:  # an address gdpr cannot normalise: the mail is still read, just not linked
                email_index = None
        mail_id = uuid4()
        await self._ensure_index()
        await self._mails.insert_one({
            "_id": mail_id, "tenant": tenant, "subject_ids": [subject_id], "state": "open",
            "received_at": dt.datetime.now(dt.UTC), "size": size, "attachments": mail.attachments,
            "shortened": mail.shortened, "email_index": email_index,
            "personal": {f.value: s.model_dump() for f, s in sealed.items()},
        })
        try:
            await self._publish(MailReceived(tenant=tenant, mail_id=mail_id, subject_id=subject_id))
        except TriageUnavailable:
            await self._mails.delete_one({"_id": mail_id})
            raise
        return mail_id

    async def open_mails(self, tenant: str, limit: int = 200) -> list[dict[str, Any]]:
        """The tenant's mails awaiting triage, oldest first, without their sealed fields."""
        cursor = self._mails.find({"tenant": tenant, "state": "open"}, {"personal": 0, "subject_ids": 0, "email_index": 0})
        return await cursor.sort("received_at", 1).limit(limit).to_list()

    async def draft(self, tenant: str, mail_id: UUID) -> dict[str, Any]:
        """One mail of the tenant, still open; 404 if there is none, 409 if it was triaged."""
        found = await self._mails.find_one({"_id": mail_id, "tenant": tenant})
        if found is None:
            raise Refusal(404, "no such mail")
        if found["state"] != "open":
            raise Refusal(409, "this mail was already triaged")
        return found

    async def earlier_mails(self, tenant: str, mail: dict[str, Any]) -> int:
        """How many other mails came from the same address (by its blind index)."""
        if not mail.get("email_index"):
            return 0
        return await self._mails.count_documents(
            {"tenant": tenant, "email_index": mail["email_index"], "_id": {"$ne": mail["_id"]}})

    @staticmethod
    def sealed_fields(mail: dict[str, Any]) -> dict[PersonalField, SealedField]:
        return {PersonalField(f): SealedField(**s) for f, s in mail.get("personal", {}).items()}

    async def triage(
        self, tenant: str, mail_id: UUID, outcome: MailOutcome, submit: Callable[[], Awaitable[Received]] | None = None,
    ) -> Received | None:
        """Take the mail, publish what it became (`submit`) and MailTriaged, then close it; 404/409/503."""
        claim = await self._claim(tenant, mail_id, outcome)
        try:
            received = await submit() if submit else None
            await self._publish(MailTriaged(tenant=tenant, mail_id=mail_id, outcome=outcome,
                                            case_id=received.id if received else None))
        except BaseException:
            await self._mails.update_one({"_id": mail_id, "claim": claim},
                                         {"$set": {"state": "open"}, "$unset": {"claim": "", "claimed_at": "", "outcome": ""}})
            await release(self._runtime().db[CLAIMS], str(mail_id))
            raise
        await self._mails.update_one({"_id": mail_id, "claim": claim}, {
            "$set": {"state": "triaged", "outcome": outcome.value, "case_id": received.id if received else None,
                     "triaged_at": dt.datetime.now(dt.UTC)},
            "$unset": {"personal": "", "claim": "", "claimed_at": ""},
        })
        log.info("mail triaged", tenant=tenant, mail_id=str(mail_id), outcome=outcome.value)
        return received

    async def _claim(self, tenant: str, mail_id: UUID, outcome: MailOutcome) -> UUID:
        """Take the mail for this operator: decided by inserting a claim (FerretDB's guarded updates race, ADR 9)."""
        found = await self._mails.find_one({"_id": mail_id, "tenant": tenant}, {"state": 1, "outcome": 1, "subject_ids": 1})
        if found is None:
            raise Refusal(404, "no such mail")
        if found["state"] == "triaged":
            raise Refusal(409, f"this mail was already triaged ({found.get('outcome', 'unknown')})")
        claims, key, now = self._runtime().db[CLAIMS], str(mail_id), dt.datetime.now(dt.UTC)
        mine = uuid4()
        fields = {"tenant": tenant, "subject_ids": found.get("subject_ids", []), "claim": mine, "outcome": outcome.value}
        if not await claim(claims, key, **fields):
            # A claim left by an operator whose request died is taken over once it is stale.
            stale = await claims.delete_one({"_id": key, "claimed_at": {"$lt": now - STALE_CLAIM}})
            if not (stale.deleted_count and await claim(claims, key, **fields)):
                raise Refusal(409, "another operator is triaging this mail right now")
        again = await self._mails.find_one({"_id": mail_id}, {"state": 1, "outcome": 1})
        if again is None or again["state"] == "triaged":  # triaged between our read and our claim
            await release(claims, key)
            raise Refusal(409, "this mail was already triaged")
        await self._mails.update_one({"_id": mail_id}, {"$set": {"state": "triaging", "claim": mine, "claimed_at": now,
                                                                 "outcome": outcome.value}})
        return mine
